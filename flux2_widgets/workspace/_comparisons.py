"""Saved comparisons and their votes: a comparison outlives its kernel.

A comparison is saved when it is made (its plan), each cell's result is added as it
arrives (by task id), and each vote is written as it is cast. The comparison's id is
chosen by its maker (a UUID), so saving it again is harmless.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import ValidationError, WorkspaceError
from ._backend import Backend, Tx
from ._records import ComparisonCell, ComparisonRecord, ComparisonVote

__all__ = ["Comparisons"]

_FIELDS = "id, kind, title, row_labels, col_labels, sides, blind, seed, plan, created_at"


def _text(value: Any, name: str, limit: int = 2000) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationError(f"{name} must be text of at most {limit} characters, not {value!r}"[:300],
                              field=name, value=value if isinstance(value, str) else type(value).__name__,
                              allowed=f"<= {limit} characters")
    return value


def _labels(values: Iterable[Any], name: str) -> list[str]:
    return [_text(v, name) for v in values]


class Comparisons:
    """``Workspace.comparisons``."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend

    def create(self, *, kind: str, title: str, row_labels: Sequence[str], col_labels: Sequence[str],
               sides: Sequence[tuple[str, str]] = (), blind: bool = False, seed: int | None = None,
               cells: Iterable[ComparisonCell | tuple[int, int, str]] = (),
               plan: Mapping[str, Any] | None = None, id: str | None = None,
               created_at: float | None = None) -> ComparisonRecord:
        """Save a comparison's plan (and any cells already done). With an ``id`` already
        saved, the saved one is kept and returned."""
        record_id = _text(id, "id", 200) if id is not None else uuid.uuid4().hex
        pairs = [(_text(k, "sides"), _text(label, "sides")) for k, label in sides]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValidationError(f"seed must be an integer or None, not {seed!r}", field="seed", value=seed,
                                  allowed="int")
        made = [c if isinstance(c, ComparisonCell) else ComparisonCell(*c) for c in cells]
        try:
            plan_text = json.dumps(dict(plan or {}), ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"plan must be JSON: {exc}", field="plan", value=type(plan).__name__,
                                  allowed="JSON-serializable dict") from None
        row = (record_id, _text(kind, "kind", 100), _text(title, "title"),
               json.dumps(_labels(row_labels, "row_labels"), ensure_ascii=False),
               json.dumps(_labels(col_labels, "col_labels"), ensure_ascii=False),
               json.dumps(pairs, ensure_ascii=False), 1 if blind else 0, seed, plan_text,
               float(created_at) if created_at is not None else time.time())

        def write(tx: Tx) -> None:
            tx.execute(f"INSERT INTO comparisons ({_FIELDS}) VALUES ({', '.join('?' * 10)}) "
                       "ON CONFLICT (id) DO NOTHING", row)
            _put_cells(tx, record_id, made)

        self._db.write(write)
        return self.get(record_id)

    def set_cell(self, comparison_id: str, row: int, col: int, task_id: str) -> None:
        """Record which result the cell at (``row``, ``col``) got (again: replaced)."""
        self._db.write(lambda tx: _put_cells(tx, comparison_id, [ComparisonCell(row, col, task_id)]))

    def get(self, comparison_id: str) -> ComparisonRecord:
        found = self._read(f"SELECT {_FIELDS} FROM comparisons WHERE id = ?", [comparison_id])
        if not found:
            raise WorkspaceError(f"no saved comparison {comparison_id!r}", code="not_found")
        return found[0]

    def recent(self, *, limit: int | None = None, kind: str | None = None) -> list[ComparisonRecord]:
        """Saved comparisons, newest first."""
        sql = f"SELECT {_FIELDS} FROM comparisons"
        params: list[Any] = []
        if kind is not None:
            sql += " WHERE kind = ?"
            params.append(kind)
        sql += " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return self._read(sql, params)

    def _read(self, sql: str, params: list[Any]) -> list[ComparisonRecord]:
        def read(tx: Tx) -> list[ComparisonRecord]:
            rows = tx.all(sql, params)
            if not rows:
                return []
            ids = [r[0] for r in rows]
            cells: dict[str, list[ComparisonCell]] = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                for cid, r, c, t in tx.all(
                        "SELECT comparison_id, row_index, col_index, task_id FROM comparison_cells "
                        f"WHERE comparison_id IN ({', '.join('?' * len(chunk))}) "
                        "ORDER BY row_index, col_index", chunk):
                    cells.setdefault(cid, []).append(ComparisonCell(int(r), int(c), str(t)))
            return [ComparisonRecord(
                id=r[0], kind=r[1], title=r[2], row_labels=tuple(json.loads(r[3])),
                col_labels=tuple(json.loads(r[4])), sides=tuple((k, v) for k, v in json.loads(r[5])),
                blind=bool(r[6]), seed=None if r[7] is None else int(r[7]), plan=json.loads(r[8]),
                created_at=float(r[9]), cells=tuple(cells.get(r[0], ()))) for r in rows]

        return self._db.read(read)

    def delete(self, comparison_id: str) -> None:
        """Forget a comparison, its cells and its votes."""
        def write(tx: Tx) -> None:
            for table, column in (("comparison_votes", "comparison_id"),
                                  ("comparison_cells", "comparison_id"), ("comparisons", "id")):
                tx.execute(f"DELETE FROM {table} WHERE {column} = ?", (comparison_id,))

        self._db.write(write)

    # -- votes ---------------------------------------------------------------------
    def vote(self, comparison_id: str, choice: str, *, voter: str = "", blind: bool = False,
             question: str = "", note: str | None = None, shown_as: str | None = None,
             at: float | None = None) -> ComparisonVote:
        """Save one vote as it is cast (``choice``: a side's key, or "tie")."""
        row = (comparison_id, _text(voter, "voter", 200), float(at) if at is not None else time.time(),
               _text(choice, "choice", 200), 1 if blind else 0, _text(question, "question"),
               _text(note or "", "note", 10_000), _text(shown_as, "shown_as", 20) if shown_as else None)

        def write(tx: Tx) -> int:
            if tx.value("SELECT 1 FROM comparisons WHERE id = ?", (comparison_id,)) is None:
                raise WorkspaceError(f"no saved comparison {comparison_id!r} to vote on", code="not_found")
            return int(tx.value(
                "INSERT INTO comparison_votes (comparison_id, voter, at, choice, blind, question, note, "
                "shown_as) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id", row))

        vote_id = self._db.write(write)
        return ComparisonVote(vote_id, comparison_id, row[1], row[2], row[3], bool(row[4]), row[5], row[6],
                              row[7])

    def votes(self, comparison_id: str) -> list[ComparisonVote]:
        """A comparison's votes, newest first."""
        rows = self._db.read(lambda tx: tx.all(
            "SELECT id, comparison_id, voter, at, choice, blind, question, note, shown_as "
            "FROM comparison_votes WHERE comparison_id = ? ORDER BY at DESC, id DESC", (comparison_id,)))
        return [ComparisonVote(int(r[0]), r[1], r[2], float(r[3]), r[4], bool(r[5]), r[6], r[7], r[8])
                for r in rows]


def _put_cells(tx: Tx, comparison_id: str, cells: list[ComparisonCell]) -> None:
    for cell in cells:
        if not isinstance(cell.task_id, str) or not cell.task_id:
            raise ValidationError(f"a cell's task_id is a task id, not {cell.task_id!r}", field="task_id",
                                  value=cell.task_id, allowed="task id")
    tx.many("INSERT INTO comparison_cells (comparison_id, row_index, col_index, task_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (comparison_id, row_index, col_index) DO UPDATE SET task_id = excluded.task_id",
            [(comparison_id, int(c.row), int(c.col), c.task_id) for c in cells])
