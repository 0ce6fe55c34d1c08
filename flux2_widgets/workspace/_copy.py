"""Moving a workspace to another database (a class outgrowing one machine's SQLite file).

``copy_workspace(source, target)`` copies what a folder's database holds that cannot be
rebuilt from the folder (stars, tags and notes, comparisons and their votes, the budget caps
and ledger, arenas with their pairs, previews and votes), row for row, keeping every id, then
rebuilds the target's results index from the folder's sidecars (a folder's name in the index
depends on the database it is in). Rows already in the target are kept (a copy can be run
again after an interruption: nothing is doubled). The run log stays in the folder.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ._backend import Tx
    from ._workspace import Workspace

__all__ = ["CopyReport", "copy_workspace"]

#: Table, columns, and the columns that make a row unique (the conflict target), in an order
#: that keeps every reference valid.
_TABLES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("annotations", ("task_id", "starred", "note", "updated_at"), ("task_id",)),
    ("tags", ("task_id", "tag", "added_at"), ("task_id", "tag")),
    ("comparisons", ("id", "kind", "title", "row_labels", "col_labels", "sides", "blind", "seed", "plan",
                     "created_at"), ("id",)),
    ("comparison_cells", ("comparison_id", "row_index", "col_index", "task_id"),
     ("comparison_id", "row_index", "col_index")),
    ("comparison_votes", ("id", "comparison_id", "voter", "at", "choice", "blind", "question", "note",
                          "shown_as"), ("id",)),
    ("budget_caps", ("scope", "total_micro", "per_day_micro", "updated_at"), ("scope",)),
    ("budget_entries", ("key", "scope", "amount_micro", "cost_micro", "state", "day", "reserved_at",
                        "closed_at"), ("key", "scope")),
    ("arenas", ("name", "config", "created_at"), ("name",)),
    ("arena_pairs", ("arena", "pair_id", "position", "prompt", "left_variant", "right_variant",
                     "left_task_id", "right_task_id", "left_preview", "right_preview", "created_at"),
     ("arena", "pair_id")),
    ("arena_votes", ("id", "arena", "pair_id", "voter", "question", "choice", "variant", "at", "note"),
     ("id",)),
)
#: Tables whose ids come from a sequence on PostgreSQL: moved past the copied ids afterwards.
_SERIAL = ("comparison_votes", "arena_votes")


@dataclass(frozen=True)
class CopyReport:
    """Rows copied per table (those already there not counted), and results indexed."""

    copied: dict[str, int]
    results: int

    def __str__(self) -> str:
        rows = ", ".join(f"{n} {table}" for table, n in self.copied.items() if n)
        return f"copied {rows or 'nothing new'}; {self.results} results indexed from the folder"


def _rows(select: str, tx: Tx) -> list[Any]:
    return tx.all(select)


def copy_workspace(source: Workspace, target: Workspace) -> CopyReport:
    """Copy ``source``'s database into ``target``'s (see the module docstring)."""
    copied: dict[str, int] = {}
    for table, columns, key in _TABLES:
        rows = source.backend.read(functools.partial(_rows, f"SELECT {', '.join(columns)} FROM {table}"))
        if not rows:
            copied[table] = 0
            continue
        marks = ", ".join("?" * len(columns))
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
               f"ON CONFLICT ({', '.join(key)}) DO NOTHING")

        def write(tx: Tx, rows: list[Any] = rows, table: str = table, sql: str = sql) -> int:
            before = int(tx.value(f"SELECT COUNT(*) FROM {table}") or 0)
            tx.many(sql, [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows])
            if tx.dialect == "postgresql" and table in _SERIAL:
                tx.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
            return int(tx.value(f"SELECT COUNT(*) FROM {table}") or 0) - before

        copied[table] = target.backend.write(write)
    report = target.sync(rebuild=True)
    return CopyReport(copied, report.added)
