"""A comparison as labelled pictures: title, column and row headers, and under each image
its tier, size, cost and latency (a grid's takes side by side, ``take 2/3``). For slides and
reports (``cmp.save_image``). A grid bigger than :data:`MAX_PIXELS` is split into pages
between whole rows, each with its headers.

Fonts are Pillow's built-in one at explicit sizes (Pillow >= 10.1), so the picture
looks the same on every machine with no font files to find. The layout (every
label's box) is kept in ``image.info["flux2_layout"]`` and the labels are written
as PNG text by :func:`save_png`, so a report tool can read them back.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..catalog import tier_label
from .html import short

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage
    from PIL import ImageFont

    from .cell import Cell, Position
    from .comparison import Comparison

__all__ = ["MAX_PIXELS", "MAX_SIDE", "comparison_image", "comparison_images", "save_pages", "save_png",
           "wrap"]

MARGIN = 16
GAP = 12
#: Between the takes of one place (closer than places are to each other).
TAKE_GAP = 6
#: Most pixels one picture holds; a bigger grid is split into pages (``to_images``).
MAX_PIXELS = 40_000_000
#: Longest side of one picture, in pixels (what image viewers and slides still open).
MAX_SIDE = 16_384
TITLE_SIZE, HEAD_SIZE, ROW_SIZE, CAPTION_SIZE = 26, 18, 15, 14
ROW_HEADER_WIDTH = 220
BACKGROUND, INK, MUTED, FAIL = (255, 255, 255), (24, 24, 27), (82, 82, 91), (185, 28, 28)
PLACEHOLDER = (228, 228, 231)
SKIPPED = (244, 244, 245)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def wrap(text: str, font: Any, width: int, max_lines: int = 3) -> list[str]:
    """Greedy word wrap to ``width`` pixels; the last line ends in "…" when cut. Never empty."""
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if font.getlength(trial) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    # a single word wider than the box: cut it
    out = []
    for item in lines:
        while font.getlength(item) > width and len(item) > 1:
            item = item[:-2] + "…"
        out.append(item)
    return out or [""]  # no words (a one-axis grid's empty label): one empty line


def _caption(cmp: Comparison, cell: Cell) -> list[str]:
    req = cell.request
    head = f"{tier_label(req.tier)} · {req.resolution} · {cell.size_text}"
    if cell.take_label:
        head += f" · {cell.take_label}"
    lines = [head]
    if cell.ok and cell.result is not None:
        latency = f" · {cell.latency:.1f} s" if cell.latency is not None else ""
        lines.append(f"{cell.cost_text}{latency}")
    elif cell.status == "failed":
        lines.append(f"failed: {cell.error_text}")
    elif cell.status == "stopped":
        lines.append(f"stopped · {cell.cost_text}")
    else:
        lines.append(f"{cell.status}…")
    return lines


def _picture(cell: Cell, side: int) -> PILImage.Image | None:
    if cell.result is None or not cell.result.images:
        return None
    try:
        img = cell.result.images[0].to_pil().convert("RGB")
    except Exception:  # undecodable or missing bytes: draw the placeholder
        return None
    img.thumbnail((side, side))
    return img


@dataclass
class _Row:
    """One row of a picture: its header and, per column, the place there (``None``: nothing)."""

    label: str
    places: list[Position | None]


@dataclass
class _Section:
    """Rows under one set of column headers (a grid's page, or a slice of its columns)."""

    heading: str
    col_labels: list[str]
    rows: list[_Row] = field(default_factory=list)


@dataclass
class _Frame:
    """What every picture of one comparison shares: sizes, fonts and what is shown."""

    cmp: Comparison
    side: int
    takes: int
    hidden: bool
    show_rows: bool
    prompt_captions: bool
    fonts: tuple[Any, Any, Any, Any]
    pictures: dict[int, PILImage.Image | None] = field(default_factory=dict)

    @property
    def block(self) -> int:
        """Width of one place: its takes side by side."""
        return self.takes * self.side + (self.takes - 1) * TAKE_GAP

    @property
    def left(self) -> int:
        return MARGIN + (ROW_HEADER_WIDTH + GAP if self.show_rows else 0)

    @property
    def cap_lines(self) -> int:
        return 2 + (3 if self.prompt_captions else 0)

    def width(self, n_cols: int) -> int:
        return self.left + n_cols * self.block + (n_cols - 1) * GAP + MARGIN

    def picture(self, cell: Cell) -> PILImage.Image | None:
        if cell.index not in self.pictures:
            self.pictures[cell.index] = _picture(cell, self.side)
        return self.pictures[cell.index]

    def row_height(self, row: _Row) -> int:
        """The tallest image of the row (the box when none is in yet), plus the captions."""
        tallest = max((p.height for place in row.places if place is not None for c in place.cells
                       if (p := self.picture(c)) is not None), default=self.side)
        return tallest + 6 + self.cap_lines * (CAPTION_SIZE + 5)


def comparison_image(cmp: Comparison, *, side: int = 512, title: str | None = None) -> PILImage.Image:
    """Draw the comparison as one picture; images fit a ``side`` x ``side`` box each. A blind
    test not yet voted on is drawn as Left / Right with no labels, like its view. A grid that
    does not fit :data:`MAX_PIXELS` is refused: :func:`comparison_images` pages it."""
    pages = comparison_images(cmp, side=side, title=title, at_most=1)
    return pages[0]


def comparison_images(cmp: Comparison, *, side: int = 512, title: str | None = None,
                      max_pixels: int = MAX_PIXELS, at_most: int | None = None) -> list[PILImage.Image]:
    """The comparison as pictures of at most ``max_pixels`` (and :data:`MAX_SIDE` px a side),
    split between whole rows, and between columns only when one row is too wide; each has
    the title (``page 2 of 5``), its column headers and its rows' headers. A grid's takes sit
    side by side in their place, each captioned ``take 2/3``. ``at_most``: refuse, before
    drawing, a comparison that needs more pictures than that."""
    from .._checks import check_number

    check_number("side", side, minimum=64, strict=False, integer=True, maximum=2048)
    check_number("max_pixels", max_pixels, minimum=1_000_000, strict=False, integer=True)
    hidden = not cmp.revealed
    fonts = (_font(TITLE_SIZE), _font(HEAD_SIZE), _font(ROW_SIZE), _font(CAPTION_SIZE))
    sections = _sections(cmp, hidden)
    show_rows = not hidden and len(cmp.row_labels) > 1 and any(label.strip() for label in cmp.row_labels)
    frame = _Frame(cmp, side, 1 if hidden else cmp.takes, hidden, show_rows,
                   not hidden and cmp.kind in ("prompts", "results"), fonts)
    # A row wider than a picture may be: its columns are sliced.
    fit = max(1, (MAX_SIDE - frame.left - MARGIN + GAP) // (frame.block + GAP))
    sliced = [part for sec in sections for part in _slice(sec, fit)]
    title_text = "Blind test: which is better?" if hidden else (title or cmp.title)
    if cmp.simulated and not hidden:
        title_text += " (simulated)"
    subtitle = cmp.row_labels[0].strip() if len(cmp.row_labels) == 1 and not hidden else ""
    groups = _paginate(frame, sliced, max_pixels, bool(subtitle))
    if at_most is not None and len(groups) > at_most:
        from ..errors import ValidationError

        raise ValidationError(
            f"this comparison needs {len(groups)} pictures at side={side} (one holds at most "
            f"{max_pixels / 1e6:.0f} MP, {MAX_SIDE} px a side); use to_images() for its pages, or "
            "save_image('x.png') (writes x-1.png ...), or a smaller side=",
            field="side", value=side, allowed=f"a picture of <= {max_pixels / 1e6:.0f} MP")
    if len(groups) == 1:
        return [_draw(frame, groups[0], title_text, subtitle)]
    return [_draw(frame, group, f"{title_text}, page {i + 1} of {len(groups)}", subtitle)
            for i, group in enumerate(groups)]


def _sections(cmp: Comparison, hidden: bool) -> list[_Section]:
    if hidden:
        shuffled: list[Position | None] = [_blind_place(cmp, i) for i in cmp.order]
        return [_Section("", ["Left", "Right"][: len(shuffled)], [_Row("", shuffled)])]
    out = []
    for page, heading in enumerate(cmp.page_labels):
        sec = _Section(heading, list(cmp.col_labels))
        for r, label in enumerate(cmp.row_labels):
            places: list[Position | None] = []
            for c in range(len(cmp.col_labels)):
                try:
                    places.append(cmp.at(r, c, page))
                except KeyError:
                    places.append(None)
            if any(p is not None for p in places):
                sec.rows.append(_Row(label, places))
        if sec.rows:
            out.append(sec)
    return out


def _blind_place(cmp: Comparison, index: int) -> Position:
    from .cell import Position

    cell = cmp.cells[index]
    return Position(0, 0, index, "", "", "", [cell])


def _slice(sec: _Section, fit: int) -> list[_Section]:
    n = len(sec.col_labels)
    if n <= fit:
        return [sec]
    return [_Section(sec.heading, sec.col_labels[a:a + fit],
                     [_Row(r.label, r.places[a:a + fit]) for r in sec.rows]) for a in range(0, n, fit)]


def _head_height(frame: _Frame, subtitle: bool) -> int:
    return MARGIN + TITLE_SIZE + 14 + (ROW_SIZE + 8 if subtitle else 0)


def _section_top(sec: _Section) -> int:
    return (HEAD_SIZE + 10 if sec.heading else 0) + HEAD_SIZE + 10


def _paginate(frame: _Frame, sections: list[_Section], max_pixels: int,
              subtitle: bool) -> list[list[_Section]]:
    """Sections' rows packed into pictures, each under ``max_pixels`` and ``MAX_SIDE`` high
    when it can be (a single row that is bigger gets a picture of its own)."""
    groups: list[list[_Section]] = []
    current: list[_Section] = []
    height = width = 0

    def close() -> None:
        nonlocal current, height, width
        if current:
            groups.append(current)
        current, height, width = [], _head_height(frame, subtitle) + MARGIN, 0

    close()
    for sec in sections:
        sec_width = frame.width(len(sec.col_labels))
        opened: _Section | None = None
        for row in sec.rows:
            row_h = frame.row_height(row) + GAP
            extra = row_h + (_section_top(sec) if opened is None else 0)
            wide = max(width, sec_width)
            if current and (wide * (height + extra) > max_pixels or height + extra > MAX_SIDE):
                close()
                opened = None
                extra = row_h + _section_top(sec)
                wide = sec_width
            if opened is None:
                opened = _Section(sec.heading, sec.col_labels)
                current.append(opened)
            opened.rows.append(row)
            height += extra
            width = wide
    close()
    return groups or [[]]


def _draw(frame: _Frame, group: list[_Section], title_text: str, subtitle: str) -> PILImage.Image:
    from PIL import Image, ImageDraw

    f_title, f_head, f_row, f_cap = frame.fonts
    side, cap_line = frame.side, CAPTION_SIZE + 5
    width = max([frame.width(len(sec.col_labels)) for sec in group] or [frame.width(1)])
    body = sum(_section_top(sec) + sum(frame.row_height(r) + GAP for r in sec.rows) for sec in group)
    height = _head_height(frame, bool(subtitle)) + MARGIN + body - (GAP if group else 0)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    layout: dict[str, Any] = {"title": None, "columns": [], "rows": [], "cells": [], "pages": []}

    title_line = wrap(title_text, f_title, width - 2 * MARGIN, 1)[0]
    draw.text((MARGIN, MARGIN), title_line, font=f_title, fill=INK)
    layout["title"] = {"text": title_line, "box": _box(draw, (MARGIN, MARGIN), title_line, f_title)}
    if subtitle:
        sub_pos = (MARGIN, MARGIN + TITLE_SIZE + 8)
        sub_line = wrap(subtitle, f_row, width - 2 * MARGIN, 1)[0]
        draw.text(sub_pos, sub_line, font=f_row, fill=MUTED)
        layout["rows"].append({"text": subtitle, "box": _box(draw, sub_pos, sub_line, f_row)})
    y = _head_height(frame, bool(subtitle))
    for sec in group:
        if sec.heading:
            text = wrap(sec.heading, f_head, width - 2 * MARGIN, 1)[0]
            draw.text((MARGIN, y), text, font=f_head, fill=INK)
            layout["pages"].append({"text": sec.heading, "box": _box(draw, (MARGIN, y), text, f_head)})
            y += HEAD_SIZE + 10
        for c, label in enumerate(sec.col_labels):
            x = frame.left + c * (frame.block + GAP)
            text = wrap(label, f_head, frame.block, 1)[0]
            pos = (round(x + (frame.block - f_head.getlength(text)) / 2), y)
            draw.text(pos, text, font=f_head, fill=INK)
            layout["columns"].append({"text": label, "box": _box(draw, pos, text, f_head)})
        y += HEAD_SIZE + 10
        for row in sec.rows:
            row_h = frame.row_height(row)
            if frame.show_rows:
                lines = wrap(short(row.label, 300), f_row, ROW_HEADER_WIDTH, 8)
                for i, line in enumerate(lines):
                    draw.text((MARGIN, y + i * (ROW_SIZE + 5)), line, font=f_row, fill=MUTED)
                layout["rows"].append({"text": row.label, "box": [MARGIN, y, MARGIN + ROW_HEADER_WIDTH,
                                                                 y + len(lines) * (ROW_SIZE + 5)]})
            box_h = row_h - 6 - frame.cap_lines * cap_line
            for c, place in enumerate(row.places):
                if place is None:
                    continue
                x0 = frame.left + c * (frame.block + GAP)
                if place.skipped:
                    draw.rectangle([x0, y, x0 + frame.block - 1, y + box_h - 1], fill=SKIPPED)
                    lines = wrap(place.reason, f_cap, frame.block - 16, 3)
                    for i, line in enumerate(lines):
                        tw = f_cap.getlength(line)
                        at = (round(x0 + (frame.block - tw) / 2), y + box_h // 2 - 10 + i * cap_line)
                        draw.text(at, line, font=f_cap, fill=MUTED)
                    layout["cells"].append({"index": None, "skipped": place.reason,
                                            "image_box": [x0, y, x0 + frame.block, y + box_h]})
                    continue
                for t, cell in enumerate(place.cells):
                    _draw_cell(frame, draw, canvas, cell, x0 + t * (side + TAKE_GAP), y, box_h, layout)
            y += row_h + GAP
    canvas.info["flux2_layout"] = json.dumps(layout, ensure_ascii=False)
    return canvas


def _draw_cell(frame: _Frame, draw: Any, canvas: Any, cell: Cell, x: int, y: int, box_h: int,
               layout: dict[str, Any]) -> None:
    side, f_cap, cap_line = frame.side, frame.fonts[3], CAPTION_SIZE + 5
    pic = frame.picture(cell)
    if pic is not None:
        px, py = x + (side - pic.width) // 2, y + (box_h - pic.height) // 2
        canvas.paste(pic, (px, py))
        image_box = [px, py, px + pic.width, py + pic.height]
    else:
        draw.rectangle([x, y, x + side - 1, y + box_h - 1], fill=PLACEHOLDER)
        image_box = [x, y, x + side, y + box_h]
    captions = [] if frame.hidden else _caption(frame.cmp, cell)
    if frame.prompt_captions:
        captions += wrap(cell.request.prompt, f_cap, side, 3)
    cy = y + box_h + 6
    for i, line in enumerate(captions):
        colour = FAIL if i == 1 and cell.status == "failed" else (INK if i == 0 else MUTED)
        draw.text((x, cy + i * cap_line), wrap(line, f_cap, side, 1)[0], font=f_cap, fill=colour)
    layout["cells"].append({"index": cell.index, "take": cell.take, "image_box": image_box,
                            "caption": captions,
                            "caption_box": [x, cy, x + side, cy + max(1, len(captions)) * cap_line]})


def _box(draw: Any, pos: tuple[int, int], text: str, font: Any) -> list[int]:
    return [round(v) for v in draw.textbbox(pos, text, font=font)]


def save_png(image: PILImage.Image, path: str | Path) -> Path:
    """Write PNG with the labels as text chunks (``Title``, ``Description``)."""
    from PIL.PngImagePlugin import PngInfo

    path = Path(path)
    if path.suffix.lower() != ".png":
        from ..errors import ValidationError

        raise ValidationError(f"save_image writes PNG; give a path ending in .png, not {path.name!r}",
                              field="path", value=str(path), allowed=".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    info = PngInfo()
    layout = json.loads(image.info.get("flux2_layout", "{}") or "{}")
    if layout.get("title"):
        info.add_itxt("Title", layout["title"]["text"])
    labels = [c["text"] for c in layout.get("columns", [])] + [r["text"] for r in layout.get("rows", [])]
    captions = [" | ".join(c["caption"]) for c in layout.get("cells", [])]
    info.add_itxt("Description", "\n".join(labels + captions))
    info.add_itxt("flux2_layout", json.dumps(layout, ensure_ascii=False))
    buf = io.BytesIO()
    # optimize squeezes a few per cent more out of a small picture; on a 40 MP page it costs seconds
    image.save(buf, "PNG", pnginfo=info, optimize=image.width * image.height <= 8_000_000)
    path.write_bytes(buf.getvalue())
    return path


def save_pages(pages: list[PILImage.Image], path: str | Path) -> list[Path]:
    """Write one picture to ``path``, or several as ``x-1.png``, ``x-2.png`` ... beside it;
    returns the paths written."""
    path = Path(path)
    if len(pages) == 1:
        return [save_png(pages[0], path)]
    if path.suffix.lower() != ".png":
        save_png(pages[0], path)  # refuses the name, with the reason
    return [save_png(page, path.with_name(f"{path.stem}-{i + 1}{path.suffix}"))
            for i, page in enumerate(pages)]
