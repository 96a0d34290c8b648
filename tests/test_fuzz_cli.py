"""A table of bad inputs for every command: exit 2, one line naming the culprit, nothing written.

Each case is a command line with placeholders filled from one folder of bad artefacts (configs,
floor plans, run folders, checkpoints, paths) built once per module: ``{bad}`` that folder,
``{run}`` a finished training run, ``{sim}`` a simulate run folder, ``{out}`` the case's own
``--out``. A case passes when the command exits with code 2, prints exactly one line on stderr
that starts with ``error:`` and contains the culprit, prints no traceback, leaves ``{out}`` and
any ``.partial`` folder unwritten, and changes nothing in the shared artefacts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from conftest import TINY_MUSEUM, set_args
from typer.testing import CliRunner

from cpss.runs.cli import app

runner = CliRunner()
TINY = " ".join(set_args(TINY_MUSEUM))
SIM = f"simulate museum {TINY} --out {{out}}"

# (id, command line, culprit the one error line must name)
CASES: list[tuple[str, str, str]] = [
    # ---- simulate: --set --------------------------------------------------------------------
    ("set-negative-count", f"{SIM} --set visitors.count=-1", "visitors.count"),
    ("set-word-count", f"{SIM} --set visitors.count=many", "visitors.count"),
    ("set-bool-count", f"{SIM} --set visitors.count=true", "visitors.count"),
    ("set-float-count", f"{SIM} --set visitors.count=3.5", "visitors.count"),
    ("set-huge-count", f"{SIM} --set visitors.count=99999999999999999999999999", "visitors.count"),
    ("set-tiny-tick", f"{SIM} --set world.minutes_per_step=1e-300", "minutes_per_step"),
    ("set-zero-tick", f"{SIM} --set world.minutes_per_step=0", "minutes_per_step"),
    ("set-negative-tick", f"{SIM} --set world.minutes_per_step=-1", "minutes_per_step"),
    ("set-nan-tick", f"{SIM} --set world.minutes_per_step=nan", "minutes_per_step"),
    ("set-inf-tick", f"{SIM} --set world.minutes_per_step=inf", "minutes_per_step"),
    ("set-zero-day", f"{SIM} --set world.day_minutes=0", "day_minutes"),
    ("set-share-above-1", f"{SIM} --set guides.device_share=1.5", "device_share"),
    ("set-share-nan", f"{SIM} --set guides.device_share=nan", "device_share"),
    ("set-unknown-key", f"{SIM} --set visitors.cuont=3", "visitors.cuont"),
    ("set-unknown-section", f"{SIM} --set nosuch.key=1", "nosuch"),
    ("set-section-as-scalar", f"{SIM} --set visitors=3", "visitors"),
    ("set-no-equals", f"{SIM} --set novalue", "novalue"),
    ("set-empty-key", f"{SIM} --set =3", "--set"),
    ("set-empty-part", f"{SIM} --set visitors..count=3", "--set"),
    ("set-list-for-int", f"{SIM} --set visitors.count=[1,2]", "visitors.count"),
    ("set-negative-seed", f"{SIM} --set world.seed=-3", "world.seed"),
    ("set-floor-empty", f"{SIM} --set floor.file=''", "floor.file"),
    ("set-floor-missing", f"{SIM} --set floor.file='/no/such/plan.json'", "/no/such/plan.json"),
    ("set-floor-dir", f"{SIM} --set floor.file='{{bad}}'", "{bad}"),
    ("set-floor-bad-json", f"{SIM} --set floor.file='{{bad}}/plan-bad.json'", "plan-bad.json"),
    ("set-floor-not-utf8", f"{SIM} --set floor.file='{{bad}}/plan-latin1.json'", "plan-latin1.json"),
    ("set-floor-deep", f"{SIM} --set floor.file='{{bad}}/plan-deep.json'", "plan-deep.json"),
    ("set-floor-list", f"{SIM} --set floor.file='{{bad}}/plan-list.json'", "plan-list.json"),
    ("set-floor-huge-int", f"{SIM} --set floor.file='{{bad}}/plan-huge-int.json'", "plan-huge-int.json"),
    ("set-rooms-zero", f"{SIM} --set floor.rooms=0", "floor.rooms"),
    ("set-deep-value", f"{SIM} --set visitors.count={'[' * 3000}{']' * 3000}", "visitors.count"),
    # ---- simulate: other options ------------------------------------------------------------
    ("sim-unknown-scenario", "simulate aquarium --out {out}", "aquarium"),
    ("sim-seed-negative", f"{SIM} --seed -1", "--seed"),
    ("sim-seed-word", f"{SIM} --seed abc", "--seed"),
    ("sim-steps-zero", f"{SIM} --steps 0", "--steps"),
    ("sim-steps-negative", f"{SIM} --steps -5", "--steps"),
    ("sim-steps-word", f"{SIM} --steps many", "--steps"),
    ("sim-unknown-option", f"{SIM} --stepz 3", "--stepz"),
    ("sim-unknown-policy", f"{SIM} --policy psychic", "psychic"),
    ("sim-config-missing", f"{SIM} --config nowhere.toml", "nowhere.toml"),
    ("sim-config-unknown-name", f"{SIM} --config museum-huge", "museum-huge"),
    ("sim-config-syntax", f"{SIM} --config {{bad}}/syntax.toml", "syntax.toml"),
    ("sim-config-not-utf8", f"{SIM} --config {{bad}}/latin1.toml", "latin1.toml"),
    ("sim-config-deep", f"{SIM} --config {{bad}}/deep.toml", "deep.toml"),
    ("sim-config-huge-int", f"{SIM} --config {{bad}}/huge-int.toml", "huge-int.toml"),
    ("sim-config-bad-type", f"{SIM} --config {{bad}}/bad-type.toml", "guides.device_share"),
    ("sim-config-unknown-key", f"{SIM} --config {{bad}}/unknown-key.toml", "visitors.cuont"),
    ("sim-config-dir", f"{SIM} --config {{bad}}", "{bad}"),
    ("sim-config-no-suffix", f"{SIM} --config {{bad}}/no-suffix", "no-suffix"),
    ("sim-out-under-file", f"simulate museum {TINY} --out {{bad}}/afile/run", "afile"),
    ("sim-out-is-file", f"simulate museum {TINY} --out {{bad}}/afile", "afile"),
    ("sim-out-symlink", f"simulate museum {TINY} --out {{bad}}/link", "link"),
    ("sim-out-not-empty", f"simulate museum {TINY} --out {{bad}}/full", "full"),
    ("sim-out-proc", f"simulate museum {TINY} --out /proc/cpss-run", "/proc"),
    ("sim-workshop-unknown-key", "simulate workshop --set nosuch.key=1 --out {out}", "nosuch"),
    ("sim-ads-unknown-key", "simulate ads --set nosuch.key=1 --out {out}", "nosuch"),
    ("sim-ads-unknown-policy", "simulate ads --policy psychic --out {out}", "psychic"),
    ("sim-workshop-steps-zero", "simulate workshop --steps 0 --out {out}", "--steps"),
    # ---- batch ------------------------------------------------------------------------------
    ("batch-days-zero", "batch museum --days 0 --out {out}", "--days"),
    ("batch-chunk-zero", "batch museum --days 2 --chunk 0 --out {out}", "--chunk"),
    ("batch-device-tpu", "batch museum --days 2 --device tpu --out {out}", "tpu"),
    ("batch-unknown-policy", "batch museum --days 2 --policy psychic --out {out}", "psychic"),
    ("batch-checkpoint-missing", "batch museum --days 2 --checkpoint {bad}/nowhere --out {out}", "nowhere"),
    ("batch-checkpoint-no-key", "batch museum --days 2 --checkpoint {bad}/run-no-scenario --out {out}", "scenario"),
    ("batch-unknown-scenario", "batch aquarium --days 2 --out {out}", "aquarium"),
    ("batch-bad-set", "batch museum --days 2 --set visitors.count=-1 --out {out}", "visitors.count"),
    ("batch-out-is-file", "batch museum --days 2 --out {bad}/afile", "afile"),
    # ---- demo -------------------------------------------------------------------------------
    ("demo-out-is-file", "demo --out {bad}/afile", "afile"),
    ("demo-seed-negative", "demo --seed -2 --out {out}", "--seed"),
    ("demo-config-missing", "demo --config nowhere.toml --out {out}", "nowhere.toml"),
    # ---- bandits ----------------------------------------------------------------------------
    ("bandits-seeds-zero", "bandits --seeds 0 --out {out}", "--seeds"),
    ("bandits-pulls-zero", "bandits --pulls 0 --out {out}", "--pulls"),
    ("bandits-unknown-policy", "bandits --seeds 1 --pulls 5 --policy psychic --out {out}", "psychic"),
    ("bandits-config-missing", "bandits --config nowhere.toml --out {out}", "nowhere.toml"),
    ("bandits-bad-set", "bandits --seeds 1 --pulls 5 --set nosuch.key=1 --out {out}", "nosuch"),
    # ---- train ------------------------------------------------------------------------------
    ("train-no-algo", f"train museum {TINY} --steps 10 --out {{out}}", "--algo"),
    ("train-unknown-algo", f"train museum --algo psychic {TINY} --steps 10 --out {{out}}", "psychic"),
    ("train-hp-zero-hidden", f"train museum --algo mappo --hp hidden=0 {TINY} --steps 10 --out {{out}}", "hidden"),
    ("train-hp-word-gamma", f"train museum --algo mappo --hp gamma=abc {TINY} --steps 10 --out {{out}}", "gamma"),
    ("train-hp-gamma-above-1", f"train museum --algo mappo --hp gamma=1.5 {TINY} --steps 10 --out {{out}}", "gamma"),
    ("train-hp-nan-lr", f"train museum --algo mappo --hp actor_lr=nan {TINY} --steps 10 --out {{out}}", "actor_lr"),
    ("train-hp-unknown", f"train museum --algo mappo --hp nosuch=1 {TINY} --steps 10 --out {{out}}", "nosuch"),
    ("train-hp-no-equals", f"train museum --algo mappo --hp gamma {TINY} --steps 10 --out {{out}}", "--hp"),
    (
        "train-hp-bad-layers",
        f"train museum --algo mappo --hp hidden=[64,'a'] {TINY} --steps 10 --out {{out}}",
        "hidden",
    ),
    (
        "train-hp-bool-epochs",
        f"train museum --algo mappo --hp update_epochs=true {TINY} --out {{out}}",
        "update_epochs",
    ),
    ("train-wrong-env-kind", f"train museum --algo ddpg {TINY} --steps 10 --out {{out}}", "ddpg"),
    ("train-gym-scenario", "train lizard --algo mappo --steps 10 --out {out}", "lizard"),
    ("train-steps-zero", f"train museum --algo mappo {TINY} --steps 0 --out {{out}}", "--steps"),
    ("train-device-tpu", f"train museum --algo mappo --device tpu {TINY} --out {{out}}", "tpu"),
    ("train-backend-bad", f"train museum --algo mappo --backend nope {TINY} --out {{out}}", "--backend"),
    ("train-workers-native", f"train museum --algo mappo --workers 2 {TINY} --out {{out}}", "--workers"),
    ("train-eval-every-negative", f"train museum --algo mappo --eval-every -1 {TINY} --out {{out}}", "--eval-every"),
    ("train-time-limit-zero", f"train museum --algo mappo --time-limit 0 {TINY} --out {{out}}", "--time-limit"),
    ("train-threads-zero", f"train museum --algo mappo --threads 0 {TINY} --out {{out}}", "--threads"),
    ("train-out-is-file", f"train museum --algo mappo {TINY} --steps 10 --out {{bad}}/afile", "afile"),
    ("train-out-proc", f"train museum --algo mappo {TINY} --steps 10 --out /proc/cpss-train", "/proc"),
    ("train-out-symlink", f"train museum --algo mappo {TINY} --steps 10 --out {{bad}}/link", "link"),
    ("train-bad-set", f"train museum --algo mappo {TINY} --set visitors.count=-1 --out {{out}}", "visitors.count"),
    ("resume-missing", "train museum --resume {bad}/nowhere", "nowhere"),
    ("resume-sim-folder", "train museum --resume {sim}", "algo"),
    ("resume-bad-json", "train museum --resume {bad}/run-bad-json", "run-bad-json"),
    ("resume-list-json", "train museum --resume {bad}/run-list-json", "run-list-json"),
    ("resume-other-scenario", "train workshop --resume {run}", "workshop"),
    ("resume-other-algo", "train museum --algo dqn --resume {run}", "dqn"),
    ("resume-other-seed", "train museum --seed 7 --resume {run}", "--seed 7"),
    ("resume-with-set", "train museum --set visitors.count=3 --resume {run}", "--set"),
    ("resume-with-config", "train museum --config museum-large --resume {run}", "--config"),
    ("resume-other-hp", "train museum --hp gamma=0.5 --resume {run}", "gamma"),
    ("resume-other-out", "train museum --resume {run} --out {out}", "--out"),
    # ---- eval -------------------------------------------------------------------------------
    ("eval-missing", "eval {bad}/nowhere", "nowhere"),
    ("eval-sim-folder", "eval {sim}", "checkpoint"),
    ("eval-no-scenario-key", "eval {bad}/run-no-scenario", "scenario"),
    ("eval-bad-json", "eval {bad}/run-bad-json", "run-bad-json"),
    ("eval-unknown-scenario", "eval {bad}/run-unknown-scenario", "aquarium"),
    ("eval-invalid-config", "eval {bad}/run-invalid-config", "visitors.count"),
    ("eval-empty-pt", "eval {bad}/run-empty-pt", "last.pt"),
    ("eval-random-pt", "eval {bad}/run-random-pt", "last.pt"),
    ("eval-truncated-pt", "eval {bad}/run-truncated-pt", "last.pt"),
    ("eval-foreign-pt", "eval {bad}/run-foreign-pt", "last.pt"),
    ("eval-pt-is-dir", "eval {bad}/run-dir-pt", "last.pt"),
    ("eval-episodes-zero", "eval {run} --episodes 0", "--episodes"),
    ("eval-seed-negative", "eval {run} --seed -1", "--seed"),
    # ---- viz (everything is checked before a server starts) ---------------------------------
    ("viz-unknown-scenario", "viz aquarium", "aquarium"),
    ("viz-port-zero", "viz museum --port 0", "--port"),
    ("viz-port-high", "viz museum --port 70000", "--port"),
    ("viz-config-missing", "viz museum --config nowhere.toml", "nowhere.toml"),
    ("viz-checkpoint-missing", "viz museum --checkpoint {bad}/nowhere", "nowhere"),
    ("viz-checkpoint-corrupt", "viz museum --checkpoint {bad}/run-random-pt", "last.pt"),
    # ---- sweep ------------------------------------------------------------------------------
    ("sweep-grid-no-equals", f"sweep museum {TINY} --grid visitors.count --out {{out}}", "visitors.count"),
    ("sweep-grid-unknown-key", f"sweep museum {TINY} --grid nosuch.key=1,2 --out {{out}}", "nosuch"),
    ("sweep-grid-bad-value", f"sweep museum {TINY} --grid visitors.count=-1,2 --out {{out}}", "visitors.count"),
    ("sweep-seeds-zero", f"sweep museum {TINY} --seeds 0 --out {{out}}", "--seeds"),
    ("sweep-backend-bad", f"sweep museum {TINY} --backend nope --out {{out}}", "nope"),
    ("sweep-workers-zero", f"sweep museum {TINY} --workers 0 --out {{out}}", "--workers"),
    ("sweep-unknown-policy", f"sweep museum {TINY} --policy psychic --out {{out}}", "psychic"),
    ("sweep-checkpoint-missing", f"sweep museum {TINY} --checkpoint {{bad}}/nowhere --out {{out}}", "nowhere"),
    ("sweep-out-is-file", f"sweep museum {TINY} --out {{bad}}/afile", "afile"),
    ("sweep-address-local", f"sweep museum {TINY} --address ray://x:1 --out {{out}}", "--address"),
    # ---- report -----------------------------------------------------------------------------
    ("report-missing", "report {bad}/nowhere", "nowhere"),
    ("report-a-file", "report {bad}/afile", "afile"),
    ("report-no-runs", "report {bad}/full", "full"),
    ("report-out-is-file", "report {run} --out {bad}/afile", "afile"),
    ("report-out-has-report", "report {run} --out {bad}/has-report", "--force"),
    ("report-out-symlink", "report {run} --out {bad}/link", "link"),
    # ---- scenarios --------------------------------------------------------------------------
    ("scenarios-extra-arg", "scenarios museum", "museum"),
    ("no-such-command", "simulat museum", "simulat"),
]


def _run_folder(root: Path, name: str, config: dict, pt: bytes | None = None) -> None:
    (root / name / "checkpoints").mkdir(parents=True)
    (root / name / "config.json").write_text(json.dumps(config))
    if pt is not None:
        (root / name / "checkpoints" / "last.pt").write_bytes(pt)


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory) -> dict[str, Path]:
    """The shared folder of bad artefacts, a training run and a simulate run."""
    root = tmp_path_factory.mktemp("fuzz")
    good = root / "good"
    run, sim = good / "run", good / "sim"
    tiny = set_args(TINY_MUSEUM)
    res = runner.invoke(app, ["train", "museum", "--algo", "mappo", "--steps", "64", "--out", str(run), *tiny])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["simulate", "museum", "--steps", "5", "--out", str(sim), *tiny])
    assert res.exit_code == 0, res.output

    bad = root / "bad"
    bad.mkdir()
    (bad / "afile").write_text("not a folder")
    (bad / "full").mkdir()
    (bad / "full" / "keep.txt").write_text("x")
    (bad / "has-report").mkdir()
    (bad / "has-report" / "report.md").write_text("# an earlier report\n")
    (bad / "target").mkdir()
    os.symlink(bad / "target", bad / "link")
    (bad / "syntax.toml").write_text("[visitors]\ncount = [\n")
    (bad / "latin1.toml").write_bytes("[visitors]\nname = 'caf\xe9'\n".encode("latin-1"))
    (bad / "deep.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    (bad / "huge-int.toml").write_text("[visitors]\ncount = " + "9" * 5000 + "\n")
    (bad / "bad-type.toml").write_text("[guides]\ndevice_share = 'many'\n")
    (bad / "unknown-key.toml").write_text("[visitors]\ncuont = 3\n")
    (bad / "no-suffix").write_text("[guides]\ndevice_share = -2\n")
    (bad / "plan-bad.json").write_text("{not json")
    (bad / "plan-latin1.json").write_bytes('{"rooms": "caf\xe9"}'.encode("latin-1"))
    (bad / "plan-deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (bad / "plan-list.json").write_text("[1, 2, 3]")
    (bad / "plan-huge-int.json").write_text('{"rooms": ' + "9" * 5000 + "}")

    saved = json.loads((run / "config.json").read_text())
    weights = (run / "checkpoints" / "last.pt").read_bytes()
    _run_folder(bad, "run-no-scenario", {k: v for k, v in saved.items() if k != "scenario"}, weights)
    _run_folder(bad, "run-unknown-scenario", {**saved, "scenario": "aquarium"}, weights)
    invalid = json.loads(json.dumps(saved))
    invalid["config"]["visitors"]["count"] = -4
    _run_folder(bad, "run-invalid-config", invalid, weights)
    _run_folder(bad, "run-bad-json", {}, weights)
    (bad / "run-bad-json" / "config.json").write_text("{oops")
    _run_folder(bad, "run-list-json", {}, weights)
    (bad / "run-list-json" / "config.json").write_text("[1, 2]")
    _run_folder(bad, "run-empty-pt", saved, b"")
    _run_folder(bad, "run-random-pt", saved, os.urandom(4096))
    _run_folder(bad, "run-truncated-pt", saved, weights[: len(weights) // 2])
    foreign = bad / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    _run_folder(bad, "run-foreign-pt", saved, foreign.read_bytes())
    _run_folder(bad, "run-dir-pt", saved)
    (bad / "run-dir-pt" / "checkpoints" / "last.pt").mkdir()
    return {"bad": bad, "run": run, "sim": sim, "root": root}


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if not p.is_symlink() and p.is_file()
    }


def test_the_table_is_large_and_covers_every_command():
    assert len(CASES) >= 100
    assert len({case[0] for case in CASES}) == len(CASES)
    commands = {line.split()[0] for _, line, _ in CASES}
    assert {"simulate", "batch", "demo", "bandits", "train", "eval", "viz", "sweep", "report", "scenarios"} <= commands


@pytest.mark.parametrize(("line", "culprit"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(artefacts, tmp_path, line: str, culprit: str):
    bad, run, sim = artefacts["bad"], artefacts["run"], artefacts["sim"]
    out = tmp_path / "out"
    fill = {"bad": str(bad), "run": str(run), "sim": str(sim), "out": str(out)}
    args = [part.format(**fill) for part in _split(line)]
    culprit = culprit.format(**fill)
    before = _snapshot(artefacts["root"])
    res = runner.invoke(app, args)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == 2, f"exit {res.exit_code}: {res.output[-600:]}"
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert culprit in lines[0], lines[0]
    assert "Traceback" not in res.output
    assert not out.exists()
    assert not list(tmp_path.glob(".*partial")) and not list(bad.glob(".*partial"))
    assert _snapshot(artefacts["root"]) == before


def _split(line: str) -> list[str]:
    """Split on spaces, keeping single-quoted parts (a TOML string in ``--set``) whole with quotes."""
    parts, current, quoted = [], "", False
    for char in line:
        if char == "'":
            quoted = not quoted
        if char == " " and not quoted:
            if current:
                parts.append(current)
            current = ""
        else:
            current += char
    if current:
        parts.append(current)
    return parts
