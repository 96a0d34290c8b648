"""Small input gaps of the env adapter, the config and file loading (issue 16, item 9).

Each bad input fails with a one-line error naming what is wrong (the agent, ``seed``, the
config field or the file); through the command line it exits with code 2, one line, no
traceback. Loading a checkpoint leaves the global RNGs alone.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import TINY_MUSEUM
from typer.testing import CliRunner

import agents
import scenarios
from cpss.kit.config import ConfigError, StrictModel, build_config
from cpss.kit.env import CPSSGymEnv
from cpss.runs.cli import app
from scenarios.lizard import LizardEnv

runner = CliRunner()
BIG = 2**70
DIGITS = "9" * 5000  # more digits than Python converts to an int


@pytest.fixture(scope="module")
def envs() -> dict[str, Any]:
    """One env per scenario: museum and ads act with Discrete actions, workshop with a Box."""
    return {"museum": scenarios.make("museum", **TINY_MUSEUM), "workshop": scenarios.make("workshop")}


# ---- actions -------------------------------------------------------------------------------
ACTIONS = [
    ("museum", True, "guide_0: action True is a bool"),
    ("museum", np.True_, f"guide_0: action {np.True_!r} is a bool"),
    ("museum", np.array(False), "guide_0: action array(False) is a bool"),
    ("museum", BIG, f"guide_0: action {BIG} is outside Discrete(41)"),
    ("museum", -BIG, f"guide_0: action {-BIG} is outside Discrete(41)"),
    ("museum", [1], "guide_0: action [1] is outside Discrete(41)"),
    ("workshop", [True, False], "cobot_0: action [True, False] holds a bool"),
    ("workshop", np.array([True, False]), "cobot_0: action array([ True, False]) is a bool"),
    ("workshop", "x", "cobot_0: action 'x' is not a number array of shape (3,)"),
    ("workshop", {"a": 1}, "cobot_0: action {'a': 1} is not a number array of shape (3,)"),
    ("workshop", [[0.5], [0.5, 0.2]], "cobot_0: action [[0.5], [0.5, 0.2]] is not a number array"),
    ("workshop", [10**400, 0.0, 0.0], "cobot_0: action [1000"),
]


@pytest.mark.parametrize(("name", "action", "message"), ACTIONS, ids=[f"{c[0]}-{c[1]!r:.20}" for c in ACTIONS])
def test_bad_action_is_a_one_line_value_error(envs, name: str, action: Any, message: str) -> None:
    env = envs[name]
    env.reset(seed=0)
    agent = env.possible_agents[0]
    with pytest.raises(ValueError, match=r"^[^\n]*$") as err:
        env.step({agent: action})
    assert str(err.value).startswith(message)
    assert env.t == 0  # nothing in the world changed


@pytest.mark.parametrize("actions", [[1, 2], None, "guide_0"])
def test_actions_that_are_no_dict_are_a_value_error(envs, actions: Any) -> None:
    env = envs["museum"]
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"^actions: must be a dict \{agent: action\} \(got "):
        env.step(actions)


def test_good_actions_still_pass(envs) -> None:
    museum, workshop = envs["museum"], envs["workshop"]
    museum.reset(seed=0)
    museum.step({"guide_0": 1, "guide_1": np.int64(2)})
    workshop.reset(seed=0)
    workshop.step({workshop.possible_agents[0]: [0.5, 1, 0]})


# ---- seeds ---------------------------------------------------------------------------------
SEEDS = [("a", "seed: must be an integer >= 0 (got str 'a')"), (True, "seed: must be an integer >= 0 (got bool True)")]
SEEDS += [(1.5, "seed: must be an integer >= 0 (got float 1.5)"), (-1, "seed: must be >= 0 (got -1)")]


@pytest.mark.parametrize(("seed", "message"), SEEDS)
def test_bad_seed_names_seed(envs, seed: Any, message: str) -> None:
    with pytest.raises(ValueError) as err:
        envs["museum"].reset(seed=seed)
    assert str(err.value) == message
    gym_env = CPSSGymEnv(envs["museum"], others="interest")
    with pytest.raises(ValueError) as err:
        gym_env.reset(seed=seed)
    assert str(err.value) == message


def test_numpy_seed_is_a_seed(envs) -> None:
    env = envs["museum"]
    a = env.reset(seed=np.int64(4))[0]
    b = env.reset(seed=4)[0]
    assert all((a[k] == b[k]).all() for k in a)


# ---- config values -------------------------------------------------------------------------
class _Section(StrictModel):
    count: int = 1
    share: float = 0.5
    file: str | None = None


class _Config(StrictModel):
    section: _Section = _Section()


CONFIG = [
    ({"section.count": True}, "x.toml: section.count: Input should be a valid integer (got True)"),
    ({"section.count": 2.5}, "x.toml: section.count: Input should be a valid integer (got 2.5)"),
    ({"section.count": "3"}, "x.toml: section.count: Input should be a valid integer (got '3')"),
    ({"section.share": False}, "x.toml: section.share: Input should be a valid number (got False)"),
    ({"section.file": ""}, "x.toml: section.file: String should have at least 1 character (got '')"),
]


@pytest.mark.parametrize(("overrides", "message"), CONFIG)
def test_config_rejects_bools_and_coercions_and_empty_strings(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_config(_Config, {}, overrides=overrides, source="x.toml")
    assert str(err.value) == message


def test_config_still_takes_an_int_for_a_number() -> None:
    cfg = build_config(_Config, {"section": {"share": 1}}, overrides={"section.count": 3})
    assert cfg.section.share == 1.0 and isinstance(cfg.section.share, float) and cfg.section.count == 3


# ---- the command line: exit 2, one line, no traceback ---------------------------------------
FLOOR = '{"topics": ["a"], "entrance": "H", "doors": [{"a": "H", "b": "R"}], "zones": [ZONES], "items": [ITEMS]}'
ZONES = '{"name": "H", "area": 10, "capacity": CAP}, {"name": "R", "area": 10, "capacity": 5}'
ITEMS = '{"name": "I", "zone": "R", "topics": [1.0], "capacity": ICAP}'


def _floor(cap: str = "5", icap: str = "5") -> bytes:
    return FLOOR.replace("ZONES", ZONES.replace("CAP", cap)).replace("ITEMS", ITEMS.replace("ICAP", icap)).encode()


FILES: list[tuple[str, str, bytes, str]] = [
    # (option, file name, content, message after "<path>: ")
    ("--config", "bad-utf8.toml", b'[floor]\nfile = "\xff"\n', "not UTF-8 text: byte 0xff at offset 16"),
    ("--config", "huge.toml", f"[visitors]\ncount = {DIGITS}\n".encode(), "invalid TOML: a number has more than"),
    ("--config", "bad.toml", b"[visitors]\ncount = [\n", "invalid TOML: "),
    ("floor.file", "bad.json", b'{"zones": [', "invalid JSON: Expecting value"),
    ("floor.file", "bad-utf8.json", b'{"zones": "\xff"}', "not UTF-8 text: byte 0xff at offset 11"),
    ("floor.file", "huge.json", _floor(cap=DIGITS), "invalid JSON: a number has more than"),
    ("floor.file", "big-zone.json", _floor(cap="9" * 40), "malformed floor plan: a number is too large"),
    ("floor.file", "big-item.json", _floor(icap="9" * 40), "malformed floor plan: a number is too large"),
    ("floor.file", "bad.graphml", b"<graphml><graph>", "invalid GraphML: "),
]


def _cli(tmp_path: Path, *args: str) -> str:
    out = tmp_path / "run"
    res = runner.invoke(app, ["simulate", "museum", "--out", str(out), "--set", "world.day_minutes=20", *args])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and not out.exists()
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    return lines[0]


@pytest.mark.parametrize(("option", "name", "content", "message"), FILES, ids=[f[1] for f in FILES])
def test_bad_file_names_the_file(tmp_path: Path, option: str, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    args = ["--config", str(path)] if option == "--config" else ["--set", f'floor.file="{path}"']
    line = _cli(tmp_path, *args)
    assert line.startswith(f"error: {path}: {message}"), line


def test_the_good_floor_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_bytes(_floor())
    scenarios.make("museum", floor={"file": str(path)}, **TINY_MUSEUM).reset(seed=0)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("visitors.count=true", "visitors.count: Input should be a valid integer (got True)"),
        ("visitors.count=3.0", "visitors.count: Input should be a valid integer (got 3.0)"),
        ("guides.device_share=false", "guides.device_share: Input should be a valid number (got False)"),
        ("floor.file=", "floor.file: String should have at least 1 character (got '')"),
        ('floor.file=""', "floor.file: String should have at least 1 character (got '')"),
    ],
)
def test_bad_override_names_the_field(tmp_path: Path, override: str, message: str) -> None:
    assert _cli(tmp_path, "--set", override).endswith(message)


# ---- checkpoints ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["q_learning", "dqn"])
def test_loading_a_checkpoint_leaves_the_global_rngs_alone(tmp_path: Path, name: str) -> None:
    path = agents.make(name, LizardEnv(), seed=5).save(tmp_path / "ckpt.pt")
    torch.manual_seed(123)
    random.seed(321)
    torch_before, py_before = torch.random.get_rng_state(), random.getstate()
    learner = agents.load(path, LizardEnv())
    assert torch.equal(torch.random.get_rng_state(), torch_before)
    assert random.getstate() == py_before
    learner.load_state_dict(learner.state_dict())
    assert torch.equal(torch.random.get_rng_state(), torch_before)
