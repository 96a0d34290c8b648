"""Checkpoints come from disk and are not trusted: one-line errors, and no code runs from a run folder.

Native checkpoints load with ``torch.load(weights_only=True)``; every broken ``last.pt`` is an
exit code 2 with one line naming the file. An RLlib run's policy loads from its weights-only
export (``cpss_policy.json`` + ``cpss_policy.pt``); its raw checkpoint, a tree of pickles, loads
only with ``--trust-checkpoint``, so a crafted run folder runs nothing without it. Saves are
durable (``fsync`` before the rename) and ``checkpoints/last`` never goes missing.
"""

from __future__ import annotations

import builtins
import json
import os
import pickle
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import TINY_MUSEUM
from gymnasium import spaces
from typer.testing import CliRunner

import agents
from cpss.kit.config import ConfigError
from cpss.runs.cli import app
from cpss.runs.rllib_modules import save_checkpoint, write_export
from cpss.runs.rllib_policy import EXPORT_SPEC, EXPORT_WEIGHTS, load_export

runner = CliRunner()
OVERRIDES = {f"{section}.{key}": value for section, values in TINY_MUSEUM.items() for key, value in values.items()}


class _Marker:
    """Unpickling this creates ``path``: the stand-in for code a crafted pickle would run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return builtins.open, (str(self.path), "w")


def _evil_pickle(marker: Path) -> bytes:
    return pickle.dumps({"class": _Marker(marker), "ctor_args_and_kwargs": ((), {})})


@pytest.fixture(scope="module")
def museum():
    """The tiny museum's scenario, its config as config.json stores it, and its ParallelEnv."""
    import scenarios
    from cpss.runs.training import make_env

    cls = scenarios.scenario_class("museum")
    scen = cls(scenarios.load_config("museum", "museum-small", OVERRIDES))
    return SimpleNamespace(scen=scen, config=scen.config.model_dump(mode="json"), env=make_env(scen, True))


@pytest.fixture(scope="module")
def good_checkpoint(museum, tmp_path_factory) -> bytes:
    path = agents.make("ippo", museum.env, seed=0).save(tmp_path_factory.mktemp("good") / "last.pt")
    return path.read_bytes()


def _run_folder(root: Path, museum, backend: str = "native") -> Path:
    """A training run folder as ``cpss train`` writes it, without its checkpoint."""
    run = root / "run"
    (run / "checkpoints").mkdir(parents=True)
    cfg = {
        "scenario": "museum",
        "algo": "ippo",
        "seed": 0,
        "steps": 100,
        "hyperparams": {},
        "multi_agent": True,
        "others": None,
        "config": museum.config,
    }
    if backend == "rllib":
        cfg.update(algo="ppo", backend="rllib", policies="shared", workers=0)
    (run / "config.json").write_text(json.dumps(cfg))
    return run


def _one_line_error(res, *names: str) -> str:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    err = res.stderr.strip()
    assert err.count("\n") == 0, err
    for name in names:
        assert name in err, err
    return err


# ---- native checkpoints -------------------------------------------------------------------
def _write_broken(path: Path, kind: str, good: bytes, marker: Path) -> None:
    if kind == "random-bytes":
        path.write_bytes(random.Random(0).randbytes(4096))
    elif kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "foreign-dict":
        torch.save({"model": torch.zeros(3)}, path)
    elif kind == "foreign-tensor":
        torch.save(torch.zeros(3), path)
    elif kind == "malicious-pickle":
        path.write_bytes(_evil_pickle(marker))
    elif kind == "other-format":
        torch.save({"format_version": 99, "algo": "ippo", "seed": 0, "config": {}, "state": {}}, path)
    elif kind == "bad-field":
        torch.save({"format_version": 1, "algo": ["ippo"], "seed": 0, "config": {}, "state": {}}, path)
    elif kind == "state-does-not-fit":
        torch.save({"format_version": 1, "algo": "ippo", "seed": 0, "config": {}, "state": {}}, path)
    elif kind == "unknown-learner":
        torch.save({"format_version": 1, "algo": "nope", "seed": 0, "config": {}, "state": {}}, path)
    elif kind == "directory":
        path.mkdir()


BROKEN = [
    "random-bytes",
    "truncated",
    "empty",
    "foreign-dict",
    "foreign-tensor",
    "malicious-pickle",
    "other-format",
    "bad-field",
    "state-does-not-fit",
    "unknown-learner",
    "directory",
]


@pytest.mark.parametrize("kind", BROKEN)
def test_eval_of_a_broken_native_checkpoint_is_one_line(tmp_path, museum, good_checkpoint, kind):
    run = _run_folder(tmp_path, museum)
    marker = tmp_path / "marker"
    _write_broken(run / "checkpoints" / "last.pt", kind, good_checkpoint, marker)
    _one_line_error(runner.invoke(app, ["eval", str(run), "--episodes", "1"]), "last.pt")
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["truncated", "malicious-pickle", "foreign-dict"])
def test_sweep_checks_the_checkpoint_before_any_run(tmp_path, museum, good_checkpoint, kind):
    run = _run_folder(tmp_path, museum)
    _write_broken(run / "checkpoints" / "last.pt", kind, good_checkpoint, tmp_path / "marker")
    res = runner.invoke(app, ["sweep", "museum", "--checkpoint", str(run), "--out", str(tmp_path / "sweep")])
    _one_line_error(res, "last.pt")
    assert not (tmp_path / "sweep").exists() and not (tmp_path / "marker").exists()


def test_a_good_native_checkpoint_still_loads(tmp_path, museum, good_checkpoint):
    path = tmp_path / "last.pt"
    path.write_bytes(good_checkpoint)
    assert agents.load(path, museum.env).name == "ippo"


def test_save_fsyncs_before_the_rename(tmp_path, museum, monkeypatch):
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    path = agents.make("ippo", museum.env, seed=0).save(tmp_path / "ckpt" / "last.pt")
    assert calls[:2] == ["fsync", "replace"] and path.is_file()
    assert not list(path.parent.glob("*.tmp"))


# ---- RLlib run folders: the weights-only export ---------------------------------------------
def _plans(obs_dim: int, n_actions: int, hidden: int = 8) -> dict:
    layers = [
        {"in": obs_dim, "out": hidden, "bias": True, "activation": "tanh", "param": "encoder.encoder.net.mlp.0"},
        {"in": hidden, "out": n_actions, "bias": True, "activation": "linear", "param": "pi.net.mlp.0"},
    ]
    return {
        "shared": {
            "obs_dim": obs_dim,
            "action": {"type": "discrete", "n": n_actions},
            "layers": layers,
            "log_std_clip": None,
        }
    }


def _weights(plans: dict, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for mid, plan in plans.items():
        state = {}
        for layer in plan["layers"]:
            state[f"{layer['param']}.weight"] = rng.normal(size=(layer["out"], layer["in"])).astype(np.float32)
            state[f"{layer['param']}.bias"] = rng.normal(size=layer["out"]).astype(np.float32)
        out[mid] = state
    return out


def _museum_export(folder: Path, museum) -> dict:
    agent = museum.env.possible_agents[0]
    plans = _plans(int(np.prod(museum.env.observation_space(agent).shape)), int(museum.env.action_space(agent).n))
    folder.mkdir(parents=True, exist_ok=True)
    write_export(folder, plans, _weights(plans), "shared", "ppo")
    return plans


def _rllib_run(tmp_path: Path, museum, marker: Path, export: bool = False) -> Path:
    """An RLlib run folder whose raw checkpoint runs code (creates ``marker``) when unpickled."""
    run = _run_folder(tmp_path, museum, backend="rllib")
    last = run / "checkpoints" / "last"
    module = last / "learner_group" / "learner" / "rl_module" / "shared"
    module.mkdir(parents=True)
    for folder, state in ((last, "state.pkl"), (module, "module_state.pkl")):  # RLlib 2.60's layout
        (folder / "class_and_ctor_args.pkl").write_bytes(_evil_pickle(marker))
        (folder / state).write_bytes(_evil_pickle(marker))
        (folder / "metadata.json").write_text("{}")
    (last / "rllib_checkpoint.json").write_text('{"type": "Algorithm", "format": "cloudpickle"}')
    (last / "cpss_progress.json").write_text('{"env_steps": 80, "episodes": 2, "iteration": 1}')
    if export:
        _museum_export(last, museum)
    return run


def test_the_marker_pickle_is_live(tmp_path):
    marker = tmp_path / "marker"
    pickle.loads(_evil_pickle(marker))
    assert marker.exists()  # so the tests below would see it if anything unpickled the folder


@pytest.mark.parametrize(
    "command",
    [
        ["eval", "{run}", "--episodes", "1"],
        ["eval", "{run}/checkpoints/last", "--episodes", "1"],
        ["batch", "museum", "--checkpoint", "{run}", "--days", "1", "--out", "{tmp}/out"],
        ["sweep", "museum", "--checkpoint", "{run}", "--out", "{tmp}/out"],
        ["train", "museum", "--algo", "ppo", "--resume", "{run}", "--steps", "160"],
    ],
    ids=["eval", "eval-checkpoint-folder", "batch", "sweep", "train-resume"],
)
def test_a_crafted_rllib_run_runs_no_code_without_the_flag(tmp_path, museum, command):
    marker = tmp_path / "marker"
    run = _rllib_run(tmp_path, museum, marker)
    args = [a.format(run=run, tmp=tmp_path) for a in command]
    err = _one_line_error(runner.invoke(app, args), "--trust-checkpoint", "executes code")
    assert not marker.exists(), err
    assert not (tmp_path / "out").exists()


def test_the_flag_says_it_executes_code():
    for command in ("eval", "batch", "sweep", "train"):
        res = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert "--trust-checkpoint" in res.output and "EXECUTES CODE" in res.output, command


def test_eval_of_an_rllib_run_uses_its_export(tmp_path, museum):
    marker = tmp_path / "marker"
    run = _rllib_run(tmp_path, museum, marker, export=True)
    res = runner.invoke(app, ["eval", str(run), "--episodes", "1"])
    assert res.exit_code == 0, res.output
    assert "rllib-ppo" in (run / "evaluation.csv").read_text()
    assert not marker.exists()


def test_the_export_acts_like_its_network(tmp_path):
    plans = _plans(3, 4)
    write_export(tmp_path, plans, _weights(plans, seed=1), "shared", "ppo")
    env = SimpleNamespace(
        possible_agents=["a_0", "a_1"],
        observation_space=lambda a: spaces.Box(-1, 1, (3,)),
        action_space=lambda a: spaces.Discrete(4),
    )
    torch.manual_seed(7)
    before = torch.get_rng_state()
    policy = load_export(tmp_path, {"policies": "shared"}, env)
    assert torch.equal(torch.get_rng_state(), before)  # building the network draws nothing
    state = _weights(plans, seed=1)["shared"]
    obs = {"a_0": np.array([0.1, -0.5, 0.3], np.float32), "a_1": np.array([1.0, 0.0, -1.0], np.float32)}
    for agent, o in obs.items():
        hidden = np.tanh(state["encoder.encoder.net.mlp.0.weight"] @ o + state["encoder.encoder.net.mlp.0.bias"])
        logits = state["pi.net.mlp.0.weight"] @ hidden + state["pi.net.mlp.0.bias"]
        assert policy.act({agent: o})[agent] == int(np.argmax(logits))
        mask = np.ones(4, np.int8)
        mask[int(np.argmax(logits))] = 0
        masked = policy.act({agent: o}, {agent: {"action_mask": mask}})[agent]
        assert masked == int(np.argmax(np.where(mask == 1, logits, -np.inf)))


def _edit_spec(folder: Path, edit) -> None:
    spec = json.loads((folder / EXPORT_SPEC).read_text())
    edit(spec)
    (folder / EXPORT_SPEC).write_text(json.dumps(spec))


def _shared(spec: dict) -> dict:
    return spec["modules"]["shared"]


SPEC_EDITS = [
    ("missing format", lambda s: s.pop("format"), "format: missing"),
    ("unknown field", lambda s: s.update(extra=1), "extra: unknown field"),
    ("other version", lambda s: s.update(version=2), "version: expected an integer in 1..1"),
    ("bool version", lambda s: s.update(version=True), "version: expected an integer"),
    ("bad policies", lambda s: s.update(policies="all"), "policies: expected one of shared, per-agent"),
    ("modules not a dict", lambda s: s.update(modules=[]), "modules: expected an object"),
    ("bad module id", lambda s: s["modules"].update({"../x": _shared(s)}), "modules: "),
    ("obs_dim as a string", lambda s: _shared(s).update(obs_dim="23"), "modules.shared.obs_dim: expected an integer"),
    ("obs_dim huge", lambda s: _shared(s).update(obs_dim=10**12), "modules.shared.obs_dim: expected an integer"),
    ("action type", lambda s: _shared(s)["action"].update(type="tuple"), "modules.shared.action.type"),
    ("action size", lambda s: _shared(s)["action"].update(n=0), "modules.shared.action.n"),
    ("layers empty", lambda s: _shared(s).update(layers=[]), "modules.shared.layers: expected a list"),
    ("layer chain", lambda s: _shared(s)["layers"][1].update({"in": 9}), "modules.shared.layers[1].in"),
    ("activation", lambda s: _shared(s)["layers"][0].update(activation="os.system"), "layers[0].activation"),
    ("bias", lambda s: _shared(s)["layers"][0].update(bias="yes"), "modules.shared.layers[0].bias"),
    ("log_std_clip", lambda s: _shared(s).update(log_std_clip=-1), "modules.shared.log_std_clip"),
]


@pytest.mark.parametrize(("edit", "message"), [e[1:] for e in SPEC_EDITS], ids=[e[0] for e in SPEC_EDITS])
def test_every_field_of_the_spec_is_checked(tmp_path, museum, edit, message):
    _museum_export(tmp_path, museum)
    _edit_spec(tmp_path, edit)
    with pytest.raises(ConfigError) as err:
        load_export(tmp_path, {"policies": "shared"}, museum.env)
    text = str(err.value)
    assert text.startswith(f"{tmp_path / EXPORT_SPEC}: ") and message in text and "\n" not in text


def _write_weights(folder: Path, kind: str, marker: Path) -> None:
    path = folder / EXPORT_WEIGHTS
    data = torch.load(path, weights_only=True)
    if kind == "malicious-pickle":
        path.write_bytes(_evil_pickle(marker))
    elif kind == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif kind == "missing":
        path.unlink()
    elif kind == "extra-tensor":
        torch.save({**data, "shared/layers.9.weight": torch.zeros(1)}, path)
    elif kind == "wrong-shape":
        torch.save({**data, "shared/layers.0.bias": torch.zeros(3)}, path)
    elif kind == "not-finite":
        torch.save({**data, "shared/layers.0.bias": torch.full_like(data["shared/layers.0.bias"], float("nan"))}, path)
    elif kind == "integer-tensor":
        torch.save(
            {**data, "shared/layers.0.bias": torch.zeros_like(data["shared/layers.0.bias"], dtype=torch.int64)}, path
        )
    elif kind == "not-a-dict":
        torch.save([torch.zeros(1)], path)


@pytest.mark.parametrize(
    "kind",
    [
        "malicious-pickle",
        "truncated",
        "missing",
        "extra-tensor",
        "wrong-shape",
        "not-finite",
        "integer-tensor",
        "not-a-dict",
    ],
)
def test_the_weights_file_is_checked_against_the_spec(tmp_path, museum, kind):
    marker = tmp_path / "marker"
    folder = tmp_path / "last"
    _museum_export(folder, museum)
    _write_weights(folder, kind, marker)
    with pytest.raises(ConfigError) as err:
        load_export(folder, {"policies": "shared"}, museum.env)
    text = str(err.value)
    assert text.startswith(f"{folder / EXPORT_WEIGHTS}: ") and "\n" not in text, text
    assert not marker.exists()


def test_an_export_that_does_not_fit_the_env_names_the_field(tmp_path, museum):
    agent = museum.env.possible_agents[0]
    n_obs = int(np.prod(museum.env.observation_space(agent).shape))
    plans = {"guide_0": _plans(n_obs, int(museum.env.action_space(agent).n))["shared"]}
    write_export(tmp_path, plans, {"guide_0": _weights(plans)["guide_0"]}, "per-agent", "ppo")
    with pytest.raises(ConfigError, match=r"cpss_policy.json: modules: no module for agent 'guide_1'"):
        load_export(tmp_path, {}, museum.env)
    plans = {"shared": _plans(n_obs + 1, int(museum.env.action_space(agent).n))["shared"]}
    write_export(tmp_path, plans, _weights(plans), "shared", "ppo")
    with pytest.raises(ConfigError, match=rf"modules.shared.obs_dim: {n_obs + 1}, but guide_0 observes {n_obs}"):
        load_export(tmp_path, {}, museum.env)


def test_eval_of_a_broken_export_is_one_line(tmp_path, museum):
    run = _rllib_run(tmp_path, museum, tmp_path / "marker", export=True)
    (run / "checkpoints" / "last" / EXPORT_SPEC).write_text('{"format": ')
    _one_line_error(runner.invoke(app, ["eval", str(run), "--episodes", "1"]), EXPORT_SPEC)
    assert not (tmp_path / "marker").exists()


# ---- RLlib saves: checkpoints/last never goes missing ----------------------------------------
class _FakeAlgo:
    """Just what save_checkpoint uses of an RLlib Algorithm."""

    def __init__(self, weights: dict) -> None:
        self.learner_group = SimpleNamespace(get_weights=lambda module_ids: weights)

    def save_to_path(self, path: str) -> None:
        Path(path).mkdir(parents=True)
        (Path(path) / "rllib_checkpoint.json").write_text("{}")


def test_rllib_saves_swap_last_atomically(tmp_path, monkeypatch):
    import cpss.runs.rllib_modules as modules

    plans = _plans(3, 2)
    algo = _FakeAlgo(_weights(plans))
    last = tmp_path / "checkpoints" / "last"
    last.mkdir(parents=True)  # a run folder from before: `last` is the checkpoint folder itself
    (last / "old").write_text("")
    save_checkpoint(algo, last, {"env_steps": 1, "episodes": 0, "iteration": 1}, plans, "shared")
    assert last.is_symlink() and os.readlink(last) == "iteration-000001" and not (last / "old").exists()

    real_replace = os.replace

    def replace(src, dst):
        assert last.exists()
        real_replace(src, dst)
        assert last.exists()

    monkeypatch.setattr(modules.os, "replace", replace)
    for iteration in (2, 3):
        save_checkpoint(algo, last, {"env_steps": iteration, "episodes": 0, "iteration": iteration}, plans, "shared")
    assert os.readlink(last) == "iteration-000003"
    assert sorted(p.name for p in last.parent.iterdir()) == ["iteration-000003", "last"]
    assert json.loads((last / "cpss_progress.json").read_text())["iteration"] == 3
    assert (last / EXPORT_SPEC).is_file() and (last / EXPORT_WEIGHTS).is_file()


def test_viz_of_a_crafted_rllib_run_runs_no_code(tmp_path, museum):
    pytest.importorskip("solara", reason="the dashboard needs the viz extra")
    marker = tmp_path / "marker"
    run = _rllib_run(tmp_path, museum, marker)
    res = runner.invoke(app, ["viz", "museum", "--checkpoint", str(run), "--port", "8799"])
    _one_line_error(res, "cpss_policy.json", "executes code")
    assert not marker.exists()


def test_the_dashboard_drives_the_guides_with_the_export(tmp_path, museum):
    pytest.importorskip("solara", reason="the dashboard needs the viz extra")
    from scenarios.museum.dashboard import MuseumDashboard

    marker = tmp_path / "marker"
    run = _rllib_run(tmp_path, museum, marker, export=True)
    model = MuseumDashboard(checkpoint=str(run), policy="trained")
    model.step()
    assert model.learner.name == "rllib-ppo" and not marker.exists()
