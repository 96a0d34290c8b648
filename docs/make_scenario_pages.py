"""Write docs/scenarios/<name>.md from each scenario module's docstring (the single source).

Run with ``make docs``; tests/test_docs.py fails when a page is stale.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ("museum", "workshop", "ads", "routes", "lizard")


def page(name: str) -> str:
    """The Markdown page of scenario ``name``."""
    doc = importlib.import_module(f"scenarios.{name}").__doc__ or ""
    title, _, body = doc.strip().partition("\n")
    note = f"<!-- generated from scenarios/{name}/__init__.py by `make docs`; edit the docstring -->"
    return f"# {title.rstrip('.')}\n\n{note}\n{body}\n"


def main() -> None:
    """Write every page."""
    sys.path.insert(0, str(ROOT))
    for name in MODULES:
        (ROOT / "docs" / "scenarios" / f"{name}.md").write_text(page(name))


if __name__ == "__main__":
    main()
