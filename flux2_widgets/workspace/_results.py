"""The results index and what people add to a result: stars, tags and a note.

A row per saved result, made from its sidecar (the JSON ``ResultStore.save`` writes next
to the images, which stays the truth: the index can always be rebuilt from the
sidecars). Filters and pages run in the database, newest first. Stars, tags and notes
belong to the task id, so they follow a result into any folder that holds it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._checks import check_storable
from ..errors import ValidationError
from ._backend import Backend, Tx
from ._records import ResultFilter, ResultRecord

__all__ = ["Results", "row_from_sidecar"]

MAX_TAG = 64
MAX_NOTE = 10_000
_COLUMNS = ("folder, task_id, prompt, prompt_lc, tier, resolution, aspect_ratio, action, width, height, "
            "cost, cost_source, simulated, submitted_at, completed_at, base_url")
_SELECT = ", ".join(f"r.{c}" for c in _COLUMNS.split(", ")) + ", m.sidecar, m.files, m.meta"
_UPSERT = (f"INSERT INTO results ({_COLUMNS}) VALUES ({', '.join('?' * 16)}) "
           "ON CONFLICT (folder, task_id) DO UPDATE SET prompt = excluded.prompt, "
           "prompt_lc = excluded.prompt_lc, tier = excluded.tier, resolution = excluded.resolution, "
           "aspect_ratio = excluded.aspect_ratio, action = excluded.action, width = excluded.width, "
           "height = excluded.height, cost = excluded.cost, cost_source = excluded.cost_source, "
           "simulated = excluded.simulated, submitted_at = excluded.submitted_at, "
           "completed_at = excluded.completed_at, base_url = excluded.base_url")
_UPSERT_META = ("INSERT INTO result_meta (folder, task_id, sidecar, files, meta) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (folder, task_id) DO UPDATE SET sidecar = excluded.sidecar, "
                "files = excluded.files, meta = excluded.meta")


def _num(meta: Mapping[str, Any], key: str) -> float | None:
    value = meta.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def row_from_sidecar(folder: str, where: str, sidecar: Path, meta: Any, mtime: float | None = None,
                     text: str | None = None) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
    """(results row, result_meta row) for a sidecar in the folder ``where`` (relative to the
    results folder, posix), or ``None`` when it is not one (no task id, no files): the rules
    History always read sidecars by. ``text``: the sidecar as read, kept as it is."""
    if not isinstance(meta, dict):
        return None
    task_id = meta.get("task_id")
    names = meta.get("files")
    if not isinstance(task_id, str) or not task_id or not isinstance(names, list) or not names:
        return None
    completed = _num(meta, "completed_at")
    if not completed:
        completed = mtime if mtime is not None else sidecar.stat().st_mtime
    width, height = _num(meta, "width"), _num(meta, "height")
    prefix = f"{where}/" if where not in ("", ".") else ""
    files = [f"{prefix}{name}" for name in names]
    prompt = str(meta.get("prompt") or "")
    row = (folder, task_id, prompt, prompt.lower(), str(meta.get("tier") or ""),
           str(meta.get("resolution") or ""), str(meta.get("aspect_ratio") or ""),
           str(meta.get("action") or "text_to_image"), int(width) if width else None,
           int(height) if height else None, _num(meta, "cost"), str(meta.get("cost_source") or ""),
           1 if meta.get("simulated") else 0, _num(meta, "submitted_at") or completed, completed,
           str(meta.get("base_url") or ""))
    extra = (folder, task_id, f"{prefix}{sidecar.name}", json.dumps(files),
             text if text is not None else json.dumps(meta, ensure_ascii=False))
    return row, extra


def relative_dir(root: Path, sidecar: Path) -> str:
    """The sidecar's folder relative to the results folder (absolute if outside it)."""
    try:
        return sidecar.parent.relative_to(root).as_posix()
    except ValueError:
        return sidecar.parent.as_posix()


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(folder: str, f: ResultFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = ["r.folder = ?"]
    params: list[Any] = [folder]
    needle = (f.prompt or "").strip().lower()
    if needle:
        clauses.append("r.prompt_lc LIKE ? ESCAPE '\\'")
        params.append(_like(needle))
    for clause, value in (("r.tier = ?", f.tier), ("r.resolution = ?", f.resolution),
                          ("r.completed_at >= ?", f.since), ("r.completed_at < ?", f.until)):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if f.starred is not None:
        inside = "IN" if f.starred else "NOT IN"
        clauses.append(f"r.task_id {inside} (SELECT task_id FROM annotations WHERE starred = 1)")
    if f.tag is not None:
        clauses.append("r.task_id IN (SELECT task_id FROM tags WHERE tag = ?)")
        params.append(clean_tag(f.tag))
    return " AND ".join(clauses), params


def clean_tag(tag: Any) -> str:
    text = tag.strip() if isinstance(tag, str) else None
    if not text or len(text) > MAX_TAG or any(ord(c) < 32 for c in text):
        raise ValidationError(f"a tag is 1-{MAX_TAG} characters of text on one line, not {tag!r}",
                              field="tag", value=tag, allowed=f"1-{MAX_TAG} characters")
    return str(check_storable("tag", text))


class Results:
    """``Workspace.results``: the index of one folder's saved results (``folder`` is its
    key in the database), with stars, tags and notes."""

    def __init__(self, backend: Backend, folder: str, root: Path) -> None:
        self._db = backend
        self.folder = folder
        self.root = root

    # -- writing -------------------------------------------------------------------
    def put(self, meta: Mapping[str, Any], sidecar: Path) -> bool:
        """Index the result a sidecar describes (``ResultStore.save`` calls this after
        writing it). Saving the same task again updates its row. False when ``meta`` is
        not a result's sidecar."""
        sidecar = Path(sidecar)
        return self.put_many([(dict(meta), sidecar, None, None)], relative_dir(self.root, sidecar)) == 1

    def put_many(self, items: Iterable[tuple[Any, Path, float | None, str | None]], where: str) -> int:
        """Index many (meta, sidecar path, its mtime, its text) of the folder ``where``
        (relative to the results folder) in one transaction; how many were results."""
        rows, extras = [], []
        for meta, sidecar, mtime, text in items:
            made = row_from_sidecar(self.folder, where, sidecar, meta, mtime, text)
            if made is not None:
                rows.append(made[0])
                extras.append(made[1])
        if rows:
            def write(tx: Tx) -> None:
                tx.many(_UPSERT, rows)
                tx.many(_UPSERT_META, extras)

            self._db.write(write)
        return len(rows)

    def known(self, task_ids: Sequence[str]) -> set[str]:
        """Which of ``task_ids`` this folder's index holds."""
        found: set[str] = set()
        ids = list(task_ids)

        def read(tx: Tx) -> None:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ", ".join("?" * len(chunk))
                found.update(r[0] for r in tx.all(
                    f"SELECT task_id FROM results WHERE folder = ? AND task_id IN ({marks})",
                    [self.folder, *chunk]))

        self._db.read(read)
        return found

    # -- reading -------------------------------------------------------------------
    def count(self, where: ResultFilter | None = None) -> int:
        sql, params = _where(self.folder, where or ResultFilter())
        return int(self._db.read(lambda tx: tx.value(f"SELECT COUNT(*) FROM results r WHERE {sql}", params)))

    def page(self, where: ResultFilter | None = None, *, offset: int = 0, limit: int = 24,
             ) -> tuple[list[ResultRecord], int]:
        """(the results of one page, newest first, and how many match in all)."""
        sql, params = _where(self.folder, where or ResultFilter())

        def read(tx: Tx) -> tuple[list[ResultRecord], int]:
            total = int(tx.value(f"SELECT COUNT(*) FROM results r WHERE {sql}", params))
            rows = tx.all(f"SELECT {_SELECT} FROM results r "
                          "JOIN result_meta m ON m.folder = r.folder AND m.task_id = r.task_id "
                          f"WHERE {sql} ORDER BY r.completed_at DESC, r.task_id DESC LIMIT ? OFFSET ?",
                          [*params, int(limit), int(offset)])
            return _with_annotations(tx, rows), total

        return self._db.read(read)

    def get(self, task_id: str) -> ResultRecord | None:
        def read(tx: Tx) -> list[ResultRecord]:
            rows = tx.all(f"SELECT {_SELECT} FROM results r JOIN result_meta m "
                          "ON m.folder = r.folder AND m.task_id = r.task_id "
                          "WHERE r.folder = ? AND r.task_id = ?", (self.folder, task_id))
            return _with_annotations(tx, rows)

        found = self._db.read(read)
        return found[0] if found else None

    # -- stars, tags, notes --------------------------------------------------------
    def star(self, task_id: str, on: bool = True) -> None:
        """Star (or with ``on=False`` unstar) a result."""
        self._annotate(task_id, "starred", 1 if on else 0)

    def note(self, task_id: str, text: str) -> None:
        """Replace a result's note ("" clears it)."""
        if not isinstance(text, str) or len(text) > MAX_NOTE:
            raise ValidationError(f"a note is text of at most {MAX_NOTE} characters", field="note",
                                  value=type(text).__name__ if not isinstance(text, str) else len(text),
                                  allowed=f"<= {MAX_NOTE} characters")
        self._annotate(task_id, "note", check_storable("note", text))

    def _annotate(self, task_id: str, column: str, value: Any) -> None:
        _check_id(task_id)
        self._db.write(lambda tx: tx.execute(
            f"INSERT INTO annotations (task_id, {column}, updated_at) VALUES (?, ?, ?) "
            f"ON CONFLICT (task_id) DO UPDATE SET {column} = excluded.{column}, "
            "updated_at = excluded.updated_at", (task_id, value, time.time())))

    def tag(self, task_id: str, tag: str) -> str:
        """Add a tag (surrounding spaces trimmed; adding it twice keeps one). Returns it."""
        _check_id(task_id)
        text = clean_tag(tag)
        self._db.write(lambda tx: tx.execute(
            "INSERT INTO tags (task_id, tag, added_at) VALUES (?, ?, ?) ON CONFLICT (task_id, tag) "
            "DO NOTHING", (task_id, text, time.time())))
        return text

    def untag(self, task_id: str, tag: str) -> None:
        text = clean_tag(tag)
        self._db.write(lambda tx: tx.execute("DELETE FROM tags WHERE task_id = ? AND tag = ?",
                                             (task_id, text)))

    def all_tags(self) -> list[tuple[str, int]]:
        """Every tag used in this folder, with how many results carry it, most used first."""
        return [(str(t), int(n)) for t, n in self._db.read(lambda tx: tx.all(
            "SELECT t.tag, COUNT(*) FROM tags t JOIN results r ON r.task_id = t.task_id "
            "WHERE r.folder = ? GROUP BY t.tag ORDER BY COUNT(*) DESC, t.tag", (self.folder,)))]


def _check_id(task_id: Any) -> None:
    if not isinstance(task_id, str) or not task_id or len(task_id) > 200:
        raise ValidationError(f"a task id is a non-empty string, not {task_id!r}", field="task_id",
                              value=task_id, allowed="a saved result's task id")


def _with_annotations(tx: Tx, rows: list[tuple[Any, ...]]) -> list[ResultRecord]:
    if not rows:
        return []
    ids = [r[1] for r in rows]
    marks = ", ".join("?" * len(ids))
    stars = {t: (bool(s), n) for t, s, n in tx.all(
        f"SELECT task_id, starred, note FROM annotations WHERE task_id IN ({marks})", ids)}
    tags: dict[str, list[str]] = {}
    for t, tag in tx.all(f"SELECT task_id, tag FROM tags WHERE task_id IN ({marks}) ORDER BY added_at, tag",
                         ids):
        tags.setdefault(t, []).append(tag)
    out = []
    for r in rows:
        starred, note = stars.get(r[1], (False, ""))
        out.append(ResultRecord(
            folder=r[0], task_id=r[1], prompt=r[2], tier=r[4], resolution=r[5], aspect_ratio=r[6],
            action=r[7], width=r[8], height=r[9], cost=r[10], cost_source=r[11], simulated=bool(r[12]),
            submitted_at=r[13], completed_at=r[14], base_url=r[15], sidecar=r[16],
            files=tuple(json.loads(r[17])), meta=json.loads(r[18]), starred=starred,
            tags=tuple(tags.get(r[1], ())), note=note or ""))
    return out
