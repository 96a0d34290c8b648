"""Every tutorial script of docs/tutorials runs end to end with its tiny budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each script runs in a fresh interpreter: 3-8 s

TUTORIALS = Path(__file__).resolve().parents[1] / "docs" / "tutorials"

CASES = {
    "01_bandits_ads.py": (
        "01_bandits_ads.md",
        "01_bandits_ads_regret.png",
        ["| UCB1 (c = 0.2) |", "True order: 2 > 0 > 4 > 1 > 3"],
    ),
    "02_q_learning_lizard.py": (
        "02_q_learning_lizard.md",
        "02_q_learning_lizard.png",
        ["| Empty 5 | 0 | -0.7 | 0 | 0 |", "= -0.7", "## The greedy path"],
    ),
    "03_dqn_museum.py": ("03_dqn_museum.md", "03_dqn_museum.png", ["| DQN (greedy) |", "heuristic: crowd_aware"]),
    "04_pg_ddpg_workshop.py": (
        "04_pg_ddpg_workshop.md",
        "04_pg_ddpg_workshop.png",
        ["| reinforce (deterministic) |", "| ddpg (deterministic) |"],
    ),
    "05_marl_museum.py": (
        "05_marl_museum.md",
        "05_marl_museum.png",
        ["| mappo (deterministic) |", "| maddpg (deterministic) |", "heuristic: interest"],
    ),
}


@pytest.mark.parametrize("script", sorted(CASES))
def test_tutorial_runs_with_a_tiny_budget(script, tmp_path):
    table, figure, expected = CASES[script]
    res = subprocess.run(
        [sys.executable, str(TUTORIALS / script), "--budget", "tiny", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=TUTORIALS.parents[1],
    )
    assert res.returncode == 0, res.stderr[-2000:]
    for text in expected:
        assert text in res.stdout, (text, res.stdout[-2000:])
    assert (tmp_path / figure).stat().st_size > 1000
    assert (tmp_path / table).read_text() in res.stdout
