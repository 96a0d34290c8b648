"""Run folders: durable writes, leftovers of killed runs, stale statuses, reports never silently replaced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cpss.kit.config import ConfigError
from cpss.runs import runio
from cpss.runs.cli import app

runner = CliRunner()


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_atomic_writes_fsync_the_file_and_the_folder(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(runio.os, "fsync", lambda fd: synced.append(fd) or real(fd))
    runio.write_json(tmp_path / "a.json", {"x": 1})
    assert len(synced) >= 2  # the temporary file before the rename, the folder after it
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_a_killed_runs_partial_folder_is_removed_by_the_next_run(tmp_path, capsys):
    stale = tmp_path / ".run.abc123.partial"
    stale.mkdir()
    (stale / runio.OWNER).write_text(json.dumps({"pid": _dead_pid(), "host": os.uname().nodename}))
    alive = tmp_path / ".other.def456.partial"
    alive.mkdir()
    (alive / runio.OWNER).write_text(json.dumps({"pid": os.getpid(), "host": os.uname().nodename}))
    with runio.run_folder(tmp_path / "run") as tmp:
        (tmp / "x.txt").write_text("x")
    assert not stale.exists() and alive.exists()
    assert "removed" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["x.txt"]  # the owner file is gone


def test_a_run_that_raises_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), runio.run_folder(tmp_path / "run") as tmp:
        (tmp / "x.txt").write_text("x")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_status_of_a_dead_run_reads_stale(tmp_path):
    runio.write_status(tmp_path, "running", env_steps=10)
    assert runio.read_status(tmp_path)["state"] == "running"  # this process is alive
    status = json.loads((tmp_path / "status.json").read_text())
    status["pid"] = _dead_pid()
    (tmp_path / "status.json").write_text(json.dumps(status))
    assert runio.read_status(tmp_path)["state"] == "stale"
    runio.write_status(tmp_path, "done", env_steps=10)
    assert runio.read_status(tmp_path) == {"state": "done", "env_steps": 10}


def test_resuming_a_live_run_is_refused(tmp_path):
    from cpss.runs.saved import check_resume

    runio.write_status(tmp_path, "running", env_steps=1)
    saved = {"scenario": "museum", "algo": "mappo", "seed": 0, "hyperparams": {}}
    with pytest.raises(ConfigError, match="still running"):
        check_resume(tmp_path, saved)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p.symlink_to(p.parent), "symbolic link"),
        (lambda p: p.write_text("x"), "not empty"),
        (lambda p: (p.parent / "file").write_text("x"), "is not a folder"),
    ],
)
def test_check_out_refuses_before_any_work(tmp_path, setup, message):
    target = tmp_path / "out"
    setup(target)
    if message == "is not a folder":
        target = tmp_path / "file" / "out"
    with pytest.raises(ConfigError, match=message):
        runio.check_out(target)


def test_report_out_is_never_silently_replaced(tmp_path):
    from conftest import TINY_MUSEUM, set_args

    run = tmp_path / "run"
    res = runner.invoke(
        app, ["train", "museum", "--algo", "mappo", "--steps", "64", "--out", str(run), *set_args(TINY_MUSEUM)]
    )
    assert res.exit_code == 0, res.output
    report = tmp_path / "report"
    assert runner.invoke(app, ["report", str(run), "--out", str(report)]).exit_code == 0
    first = (report / "report.md").read_text()
    (report / "report.md").write_text("edited by hand\n")
    res = runner.invoke(app, ["report", str(run), "--out", str(report)])
    assert res.exit_code == 2 and "--force" in res.stderr
    assert (report / "report.md").read_text() == "edited by hand\n"
    res = runner.invoke(app, ["report", str(run), "--out", str(report), "--force"])
    assert res.exit_code == 0 and (report / "report.md").read_text() == first
    assert not [p for p in report.iterdir() if p.name.startswith(".")]
    assert "done" in first  # the run's status is in the table


def test_a_refused_new_training_run_leaves_no_folder(tmp_path: Path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["train", "museum", "--algo", "ddpg", "--steps", "10", "--out", str(out)])
    assert res.exit_code == 2 and "ddpg" in res.stderr
    assert not out.exists()
