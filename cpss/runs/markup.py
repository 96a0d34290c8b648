"""Rendering a report's blocks as Markdown or as a self-contained HTML page.

A report (:mod:`cpss.runs.report`) is a list of blocks ``(kind, payload)``: ``h1``/``h2``/``p``/
``code`` (text), ``img`` ((file name, caption)), ``table`` (a DataFrame) and ``details``
((summary, JSON text)).
"""

from __future__ import annotations

import html as html_lib
from typing import Any

import numpy as np

Block = tuple[str, Any]


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def to_markdown(blocks: list[Block]) -> str:
    """Render blocks as Markdown (GitHub flavour)."""
    lines: list[str] = []
    for kind, payload in blocks:
        if kind in ("h1", "h2"):
            lines += [("# " if kind == "h1" else "## ") + payload, ""]
        elif kind == "p":
            lines += [payload, ""]
        elif kind == "code":
            lines += ["```", payload, "```", ""]
        elif kind == "img":
            lines += [f"![{payload[1]}]({payload[0]})", ""]
        elif kind == "table":
            frame = payload
            lines += ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
            lines += ["| " + " | ".join(_text(v).replace("|", "\\|") for v in row) + " |" for row in frame.to_numpy()]
            lines.append("")
        elif kind == "details":
            lines += [f"<details><summary>{payload[0]}</summary>", "", "```json", payload[1], "```", "</details>", ""]
    return "\n".join(lines)


def to_html(blocks: list[Block]) -> str:
    """Render blocks as a self-contained HTML page (figures linked, not embedded)."""
    esc = html_lib.escape
    body = []
    for kind, payload in blocks:
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{esc(payload)}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{esc(payload)}</p>")
        elif kind == "code":
            body.append(f"<pre>{esc(payload)}</pre>")
        elif kind == "img":
            body.append(f'<p><img src="{esc(payload[0])}" alt="{esc(payload[1])}"></p>')
        elif kind == "table":
            body.append(payload.to_html(index=False, border=0))
        elif kind == "details":
            body.append(f"<details><summary>{esc(payload[0])}</summary><pre>{esc(payload[1])}</pre></details>")
    style = "body{font-family:sans-serif;max-width:60em;margin:auto}td,th{padding:2px 8px}img{max-width:100%}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{style}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
