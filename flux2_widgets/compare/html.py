"""Static HTML for a comparison: the fallback where widgets do not render, and saved notebooks.

The live view lives in ``widgets/_compare_views.py``; this one needs no ipywidgets.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

from .._sharing import sim_badge_html
from ..catalog import tier_label

if TYPE_CHECKING:  # pragma: no cover
    from .cell import Cell
    from .comparison import Comparison

__all__ = ["HEADER_CHARS", "blind_html", "cell_caption", "cell_html", "comparison_html", "short",
           "votes_html", "votes_summary_html"]

#: Longest prompt shown in a row header before it is shortened.
HEADER_CHARS = 90


def comparison_html(cmp: Comparison) -> str:
    """Static table with thumbnails, for frontends without widgets (and saved HTML)."""
    if not cmp.revealed:
        return blind_html(cmp)
    cols = len(cmp.col_labels)
    head = "".join(f'<th style="padding:4px 8px">{html.escape(lbl)}</th>' for lbl in cmp.col_labels)
    body = []
    for r, row_label in enumerate(cmp.row_labels):
        tds = []
        for c in range(cols):
            try:
                inner = cell_html(cmp.cell(r, c))
            except KeyError:
                inner = ""
            tds.append(f'<td style="vertical-align:top;padding:4px 8px">{inner}</td>')
        body.append(f'<tr><th style="text-align:left;vertical-align:top;max-width:220px;'
                    f'padding:4px 8px;font-weight:normal">{html.escape(short(row_label))}</th>'
                    f"{''.join(tds)}</tr>")
    badge = f" {sim_badge_html()}" if cmp.simulated else ""
    done = sum(c.done for c in cmp.cells)
    return (f'<div style="font:13px sans-serif"><div><b>{html.escape(cmp.title)}</b>{badge}</div>'
            f'<table style="border-collapse:collapse"><thead><tr><th></th>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>"
            f"<div>{done}/{len(cmp.cells)} done &middot; total {html.escape(cmp.total_text)}"
            f"{votes_html(cmp)}</div></div>")


def blind_html(cmp: Comparison) -> str:
    """A blind test before its vote: the images in their shuffled order, nothing else."""
    tds = []
    for place, index in zip(("Left", "Right"), cmp.order, strict=False):
        cell = cmp.cells[index]
        pic = f'<div style="color:#666">{"running" if not cell.done else cell.status}…</div>'
        src = _preview(cell) if cell.ok else None
        if src is not None:
            pic = f'<img src="{src}" style="max-width:320px;border-radius:6px"/>'
        tds.append(f'<td style="vertical-align:top;padding:4px 8px"><b>{place}</b><br>{pic}</td>')
    return (f'<div style="font:13px sans-serif"><div><b>Blind test</b>: labels, cost and latency stay '
            f'hidden until you vote (<code>cmp.vote("left" | "right" | "tie")</code>)</div>'
            f"<table><tr>{''.join(tds)}</tr></table></div>")


def short(text: str, n: int = HEADER_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def cell_caption(cell: Cell) -> str:
    """``Pro · 1k · 1024x1024 · $0.05 · 1.2s``: the cell's money as its run words it."""
    parts = [f"{tier_label(cell.request.tier)} · {cell.request.resolution}", cell.size_text, cell.cost_text]
    if cell.ok and cell.latency is not None:
        parts.append(f"{cell.latency:.1f}s")
    return " · ".join(p for p in parts if p)


def _preview(cell: Cell) -> str | None:
    """The cell's preview as a data URL: the run's own (made off the loop when it finished)."""
    run = cell.run
    if run is None or not run.preview:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(run.preview).decode()


def cell_html(cell: Cell) -> str:
    caption = f'<div style="color:#555;font-size:12px">{html.escape(cell_caption(cell))}</div>'
    src = _preview(cell) if cell.ok else None
    if src is not None:
        pic = (f'<img src="{src}" style="max-width:256px;border-radius:6px" '
               f'alt="{html.escape(cell.request.prompt[:80])}"/>')
        return f"{pic}{caption}"
    if cell.status == "failed":
        return (f'<div style="color:#b91c1c;max-width:256px">failed: {html.escape(cell.error_text)}</div>'
                f"{caption}")
    return f'<div style="color:#666">{html.escape(cell.status)}…</div>{caption}'


def votes_html(cmp: Comparison) -> str:
    if not cmp.sides or not cmp.votes:
        return ""
    return f" &middot; {votes_summary_html(cmp)}"


def votes_summary_html(cmp: Comparison) -> str:
    """``votes A: 2 · B: 1 · tie: 0 → A``, then each vote's note (a note is there to be read)."""
    if not cmp.sides:
        return ""
    tally = cmp.tally()
    parts = [f"{label}: {tally[k]}" for k, label in cmp.sides] + [f"tie: {tally['tie']}"]
    verdict = cmp.verdict
    lead = dict(cmp.sides).get(verdict, verdict)
    text = html.escape("votes " + " · ".join(parts) + (f" → {lead}" if verdict else ""))
    notes = [v for v in cmp.votes if v.get("note")]
    if notes:
        items = "".join(f"<li><b>{html.escape(v['winner'])}</b>: {html.escape(v['note'])}</li>"
                        for v in notes[-5:])
        more = f"<li>… and {len(notes) - 5} more (cmp.votes)</li>" if len(notes) > 5 else ""
        text += f'<ul class="f2w-vote-notes" style="margin:2px 0 0 16px;padding:0">{items}{more}</ul>'
    return text
