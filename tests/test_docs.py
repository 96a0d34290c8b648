"""Every ```python block in docs/ runs (blocks fenced as ```python skip are illustrations)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
SNIPPETS = [(p.name, i, code) for p in sorted(DOCS.glob("*.md")) for i, code in enumerate(BLOCK.findall(p.read_text()))]


@pytest.mark.parametrize(("doc", "index", "code"), SNIPPETS, ids=[f"{d}-{i}" for d, i, _ in SNIPPETS])
def test_doc_snippet_runs(doc, index, code, tmp_path, monkeypatch):
    if "stable_baselines3" in code:
        pytest.importorskip("stable_baselines3")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{doc}[{index}]", "exec"), {"__name__": "__doc_snippet__"})


@pytest.mark.parametrize("name", ["museum", "workshop", "ads", "routes", "lizard"])
def test_scenario_pages_are_generated_from_docstrings(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_pages", DOCS / "make_scenario_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (DOCS / "scenarios" / f"{name}.md").read_text() == module.page(name), "run `make docs`"
