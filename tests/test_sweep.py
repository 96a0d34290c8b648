"""`cpss sweep` and `cpss report`: tidy results, resumption, failed runs, the Ray backend."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import TINY_MUSEUM, set_args
from typer.testing import CliRunner

from cpss.runs.cli import app
from cpss.runs.grid import parse_grid
from cpss.runs.sweep import plan, read_results, run_sweep, update_spec

runner = CliRunner()
TINY = set_args(TINY_MUSEUM)
GRID = ["--grid", "policy=interest,crowd_aware", "--grid", "guides.device_share=0.2,0.8"]
METRICS = ["return", "mean_satisfaction", "peak_occupancy_ratio", "congestion_minutes"]


def _sweep(out, *args):
    return runner.invoke(app, ["sweep", "museum", *TINY, "--seeds", "2", "--out", str(out), *args])


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    """The grid run in-process (one worker); the worker-pool and Ray tests compare against it."""
    out = tmp_path_factory.mktemp("sweeps") / "local"
    res = _sweep(out, *GRID, "--workers", "1")
    assert res.exit_code == 0, res.output
    return out


def _same_rows(reference, out):
    one = pd.read_csv(reference / "results.csv").set_index("run_id").sort_index()
    other = pd.read_csv(out / "results.csv").set_index("run_id").sort_index()
    assert set(other["status"]) == {"done"} and list(one.index) == list(other.index)
    pd.testing.assert_frame_equal(one[METRICS], other[METRICS])


def test_local_sweep_writes_one_tidy_row_per_run(local_sweep):
    table = pd.read_csv(local_sweep / "results.csv")
    assert len(table) == 8 and set(table["status"]) == {"done"} and table["run_id"].is_unique
    assert {"policy", "guides.device_share", "seed", "wall_seconds", "error", *METRICS} <= set(table.columns)
    points = table.groupby(["policy", "guides.device_share"])["seed"].apply(sorted)
    assert points.to_dict() == {(p, s): [0, 1] for p in ("crowd_aware", "interest") for s in (0.2, 0.8)}
    assert (table["wall_seconds"] > 0).all() and (table["length"] == TINY_MUSEUM["world"]["day_minutes"]).all()
    spec = json.loads((local_sweep / "sweep.json").read_text())
    assert spec["invocations"][0]["grid"] == {"guides.device_share": [0.2, 0.8]}
    assert next(iter(spec["configs"].values()))["visitors"]["count"] == TINY_MUSEUM["visitors"]["count"]


@pytest.mark.slow  # two worker processes import the package: about 5 s
def test_worker_pool_gives_the_same_rows_as_one_worker(local_sweep, tmp_path):
    out = tmp_path / "pool"
    res = _sweep(out, *GRID, "--workers", "2")
    assert res.exit_code == 0, res.output
    _same_rows(local_sweep, out)


def test_report_on_a_sweep(local_sweep, tmp_path):
    res = runner.invoke(
        app,
        [
            "report",
            str(local_sweep),
            "--out",
            str(tmp_path),
            "--html",
            "--metric",
            "mean_satisfaction",
            "--metric",
            "peak_occupancy_ratio",
        ],
    )
    assert res.exit_code == 0, res.output
    text = (tmp_path / "report.md").read_text()
    assert "guides.device_share=0.2,0.8" in text and "policy=interest,crowd_aware" in text
    assert "Resolved base configs" in text and f'"count": {TINY_MUSEUM["visitors"]["count"]}' in text
    figures = sorted(p.name for p in tmp_path.glob("fig_*.png"))
    assert figures == [
        f"fig_{x}__{m}.png"
        for x in ("guides_device_share", "policy")
        for m in ("mean_satisfaction", "peak_occupancy_ratio")
    ]
    assert all(f"({name})" in text for name in figures)
    assert (tmp_path / "report.html").is_file()


def test_interrupted_sweep_resumes_without_duplicates(tmp_path):
    out = tmp_path / "sweep"
    sets = [a for a in TINY if a != "--set"]
    specs, record = plan("museum", None, sets, parse_grid(["guides.device_share=0.2,0.8"]), 2, "interest")
    out.mkdir()
    update_spec(out, record)

    seen = []

    def ctrl_c_after_two_runs(row):
        seen.append(row)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(specs, out, workers=1, on_row=ctrl_c_after_two_runs)
    first = pd.read_csv(out / "results.csv")
    assert len(first) == 2 and set(first["status"]) == {"done"} and len(read_results(out)) == 2
    new = run_sweep(specs, out, workers=1)
    assert len(new) == 4 - len(first)
    final = pd.read_csv(out / "results.csv")
    assert len(final) == 4 and final["run_id"].is_unique
    kept = final.set_index("run_id").loc[first["run_id"], "wall_seconds"]
    assert kept.tolist() == first["wall_seconds"].tolist()  # finished runs were not rerun


@pytest.fixture
def fail_at_25(monkeypatch):
    """Runs whose museum holds 25 visitors fail while they run (a stand-in for a run-time failure)."""
    import agents.evaluate

    real = agents.evaluate.evaluate

    def evaluate(env, learner, *args, **kwargs):
        if env.scenario.config.visitors.count == 25:
            raise RuntimeError("the day of 25 visitors broke")
        return real(env, learner, *args, **kwargs)

    monkeypatch.setattr(agents.evaluate, "evaluate", evaluate)
    return monkeypatch


def test_failed_run_is_recorded_and_retried_on_resume(tmp_path, fail_at_25):
    out = tmp_path / "sweep"
    res = _sweep(out, "--policy", "interest", "--grid", "visitors.count=20,25", "--workers", "1")
    assert res.exit_code == 0, res.output
    assert "2 runs done, 2 failed" in res.stdout and "2 of 4 runs failed" in res.stdout
    assert "  failed: RuntimeError: the day of 25 visitors broke [test_sweep.py:" in res.stdout  # not eaten by rich
    table = pd.read_csv(out / "results.csv")
    failed = table[table["status"] == "failed"]
    assert len(table) == 4 and len(failed) == 2 and (failed["visitors.count"] == 25).all()
    assert (table.loc[table["status"] == "done", "mean_satisfaction"] > 0).all()
    res = _sweep(out, "--policy", "interest", "--grid", "visitors.count=20,25", "--workers", "1")
    assert res.exit_code == 0 and "0 runs done, 2 failed, 2 skipped" in res.output
    again = pd.read_csv(out / "results.csv")
    assert len(again) == 4 and again["run_id"].is_unique
    done = table[table["status"] == "done"].set_index("run_id")["wall_seconds"]
    assert again.set_index("run_id").loc[done.index, "wall_seconds"].tolist() == done.tolist()
    fail_at_25.undo()  # the cause is gone: the rerun retries the failed runs and they finish
    res = _sweep(out, "--policy", "interest", "--grid", "visitors.count=20,25", "--workers", "1")
    fixed = pd.read_csv(out / "results.csv")
    assert res.exit_code == 0 and "2 runs done, 0 failed, 2 skipped" in res.output, res.output
    assert len(fixed) == 4 and set(fixed["status"]) == {"done"}


def test_sweep_whose_every_run_failed_exits_1(tmp_path, fail_at_25):
    out = tmp_path / "sweep"
    res = _sweep(out, "--policy", "interest", "--grid", "visitors.count=25", "--workers", "1")
    assert res.exit_code == 1, res.output
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("all 2 runs failed; first error: RuntimeError: the day of 25 visitors broke [test_sweep.py:")
    assert "Traceback" not in res.output and "0 runs done, 2 failed" in res.stdout
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 2 and set(table["status"]) == {"failed"}
    res = _sweep(out, "--policy", "interest", "--grid", "visitors.count=25,20", "--workers", "1")
    assert res.exit_code == 0 and "2 of 4 runs failed" in res.stdout  # two runs done: a result, not an error


def test_invalid_grid_point_stops_the_sweep_before_any_run(tmp_path):
    out = tmp_path / "sweep"
    res = _sweep(out, "--policy", "interest", "--grid", "visitors.count=20,-5", "--grid", "f={},{crowd=1}")
    lines = res.stderr.strip().splitlines()
    assert res.exit_code == 2 and len(lines) == 1, res.output
    assert lines[0].startswith("error: --grid visitors.count=-5, f={}: ") and "visitors.count" in lines[0][40:]
    assert not out.exists()
    res = _sweep(out, "--policy", "interest", "--grid", "visitors.count=20", "--grid", "f={},{crowd=-1}")
    assert res.exit_code == 2 and 'f={"crowd": -1}' in res.stderr and not out.exists(), res.output


def test_parse_grid_reads_toml_literals_and_tables():
    grid = parse_grid(
        [
            "guides.device_share=0,0.5,1",
            "policy=interest,crowd_aware",
            "f={},{crowd=0}",
            "context.closures=[],[{zone=1, start=0, end=10}]",
        ]
    )
    shares = grid["guides.device_share"]
    assert shares == [0.0, 0.5, 1.0] and all(isinstance(v, float) for v in shares)
    assert grid["policy"] == ["interest", "crowd_aware"]
    assert grid["f"] == [{}, {"crowd": 0}]
    assert grid["context.closures"] == [[], [{"zone": 1, "start": 0, "end": 10}]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", "guides.device_share"], "expected KEY=V1,V2"),
        (["--grid", "guides.device_shar=0,1"], "unknown config key 'guides.device_shar'"),
        (["--grid", "f={crowd=0},{crwd=0}"], "unknown config key 'f.crwd'"),
        (["--grid", "seed=1,2"], "use --seeds"),
        (["--grid", "guides.device_share=0,0.5,0.0"], "a value is listed twice"),
        (["--grid", "policy=interest,psychic"], "unknown policy 'psychic'"),
        (["--backend", "mpi"], "--backend: must be local or ray"),
        (["--checkpoint", "/no/such/run"], "no such run folder or checkpoint"),
    ],
)
def test_sweep_bad_input(tmp_path, args, message):
    res = _sweep(tmp_path / "s", *args)
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "s").exists()


def test_ray_backend_without_ray_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    res = _sweep(tmp_path / "s", "--backend", "ray")
    assert res.exit_code == 2 and "install the 'distributed' extra" in res.output
    assert not (tmp_path / "s").exists()


def test_report_bad_target(tmp_path):
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "neither a sweep folder" in res.output


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_backend_gives_the_same_rows_as_the_local_one(local_sweep, ray_session, tmp_path):
    out = tmp_path / "ray"
    res = _sweep(out, *GRID, "--backend", "ray")
    assert res.exit_code == 0, res.output
    assert ray_session.is_initialized()  # the sweep reused the running Ray and left it up
    _same_rows(local_sweep, out)


# Run in a child process: it starts its own local Ray (whatever Ray this process holds), lists the
# TCP/UDP sockets bound by it and every process under it (GCS, raylet, agents, workers), and exits.
_RAY_SOCKETS = r"""
import json, os, socket, time
import ray
from cpss.runs.backends import ray_init

def address(hexed):
    raw = bytes.fromhex(hexed)
    raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)

def bound():  # inode -> (protocol, ip, port) of listening TCP and bound UDP sockets
    out = {}
    for proto, state in (("tcp", "0A"), ("tcp6", "0A"), ("udp", "07"), ("udp6", "07")):
        for line in open(f"/proc/net/{proto}").read().splitlines()[1:]:
            f = line.split()
            if f[3] == state:
                ip, port = f[1].split(":")
                out[f[9]] = (proto, address(ip), int(port, 16))
    return out

def tree(root):
    parent = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            parent[int(pid)] = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
        except OSError:
            pass
    pids, grew = {root}, True
    while grew:
        more = {p for p, pp in parent.items() if pp in pids} - pids
        pids, grew = pids | more, bool(more)
    return pids

assert ray_init(None, 1)
ray.get(ray.remote(lambda: os.getpid()).remote())  # a worker process starts and serves too
time.sleep(2)
sockets, rows = bound(), []
def links(pid):  # what the process's file descriptors point to (fds come and go meanwhile)
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            yield os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass

for pid in tree(os.getpid()):
    try:
        name, held = open(f"/proc/{pid}/comm").read().strip(), list(links(pid))
    except OSError:  # the process has exited
        continue
    rows += [[name, *sockets[link[8:-1]]] for link in held if link[8:-1] in sockets]
print(json.dumps({"gcs": ray.get_runtime_context().gcs_address, "sockets": rows}))
ray.shutdown()
"""


@pytest.mark.slow  # starts a Ray instance: about 10 s
def test_local_ray_listens_on_loopback_only():
    pytest.importorskip("ray")
    if not os.path.isfile("/proc/net/tcp"):
        pytest.skip("needs Linux /proc")
    env = {**os.environ, "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled")}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run(
        [sys.executable, "-c", _RAY_SOCKETS], capture_output=True, text=True, env=env, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    names = {name for name, *_ in found["sockets"]}
    assert found["gcs"].startswith("127.0.0.1:") and {"gcs_server", "raylet", "ray::IDLE"} <= names, found
    public = [s for s in found["sockets"] if not ipaddress.ip_address(s[2]).is_loopback]
    public = [s for s in public if not (s[2].startswith("::ffff:") and ipaddress.ip_address(s[2][7:]).is_loopback)]
    assert not public, f"Ray sockets reachable from other machines: {public}"


def test_report_on_training_runs_averages_seeds(tmp_path):
    for seed in (0, 1, 2):
        run = tmp_path / f"museum-dqn-seed{seed}"
        run.mkdir()
        (run / "config.json").write_text(json.dumps({"scenario": "museum", "algo": "dqn", "seed": seed}))
        steps = list(range(100, 2100, 100))
        pd.DataFrame({"env_steps": steps, "return": [s / 1000 + seed for s in steps]}).to_csv(
            run / "metrics.csv", index=False
        )
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "report.md").read_text()
    assert "(fig_learning_curves.png)" in text and (tmp_path / "fig_learning_curves.png").is_file()
    assert "dqn: " in text and "museum-dqn-seed2" in text
