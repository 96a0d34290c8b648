"""The import contract of pyproject.toml holds, and no module imports itself through others.

The contract (``[tool.importlinter]``, also run by ``make lint``): the application
(``cpss.runs``, ``cpss.viz``) over ``scenarios`` over the engines (``cpss.batched`` over
``cpss.venue``) over the world kit ``cpss.kit``; ``agents`` imports only numpy, torch, gymnasium
and pettingzoo of this project's dependencies; the world imports no learner.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cpss", "scenarios", "agents")
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def test_import_contract_is_kept():
    res = subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout, res.stdout


def test_no_import_cycles_between_modules():
    # Every import grimp sees counts: module level, inside functions (lazy), of a package's
    # __init__. Imports under `if TYPE_CHECKING:` never run and are left out.
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    edges = nx.DiGraph()
    edges.add_nodes_from(graph.modules)
    for module in graph.modules:
        edges.add_edges_from((module, imported) for imported in graph.find_modules_directly_imported_by(module))
    cycles = sorted(sorted(c) for c in nx.strongly_connected_components(edges) if len(c) > 1)
    cycles += sorted([m] for m in edges if edges.has_edge(m, m))
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)
