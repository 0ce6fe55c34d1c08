"""The workspace's tables, and the migrations that bring any older database up to them.

Migrations travel with the code (as Optuna's storages and IPython's history do): each is
a version number and the statements that reach it from the one before, written once for
both dialects with a few type words filled in per dialect. ``schema_version`` records
every version applied. A database newer than this code is refused with a clear error
rather than written to. Applying runs in one transaction under the database's write lock
(SQLite) or an advisory lock (PostgreSQL), so kernels starting together migrate once.

Money is stored in micro-dollars (integers): sums of many small prices never drift.
Times are epoch seconds; a budget's day is its UTC date, ``YYYY-MM-DD``.
"""

from __future__ import annotations

import time

from ..errors import WorkspaceError
from ._backend import Backend, Tx

__all__ = ["SCHEMA_VERSION", "migrate"]

_TYPES = {
    "sqlite": {"id": "INTEGER PRIMARY KEY", "blob": "BLOB", "real": "REAL", "big": "INTEGER"},
    "postgresql": {"id": "BIGSERIAL PRIMARY KEY", "blob": "BYTEA", "real": "DOUBLE PRECISION",
                   "big": "BIGINT"},
}

_V1 = [
    # every saved result of every folder this database indexes
    """CREATE TABLE IF NOT EXISTS folders (
        folder TEXT PRIMARY KEY,
        indexed_at {real},
        log_offset {big} NOT NULL DEFAULT 0,
        log_identity TEXT NOT NULL DEFAULT '')""",
    # narrow, for filters that scan it; the sidecar itself is in result_meta
    """CREATE TABLE IF NOT EXISTS results (
        folder TEXT NOT NULL,
        task_id TEXT NOT NULL,
        prompt TEXT NOT NULL,
        prompt_lc TEXT NOT NULL,
        tier TEXT NOT NULL,
        resolution TEXT NOT NULL,
        aspect_ratio TEXT NOT NULL,
        action TEXT NOT NULL,
        width INTEGER,
        height INTEGER,
        cost {real},
        cost_source TEXT NOT NULL,
        simulated INTEGER NOT NULL,
        submitted_at {real} NOT NULL,
        completed_at {real} NOT NULL,
        base_url TEXT NOT NULL,
        PRIMARY KEY (folder, task_id))""",
    "CREATE INDEX IF NOT EXISTS results_newest ON results (folder, completed_at)",
    "CREATE INDEX IF NOT EXISTS results_by_tier ON results (folder, tier, resolution, completed_at)",
    """CREATE TABLE IF NOT EXISTS result_meta (
        folder TEXT NOT NULL,
        task_id TEXT NOT NULL,
        sidecar TEXT NOT NULL,
        files TEXT NOT NULL,
        meta TEXT NOT NULL,
        PRIMARY KEY (folder, task_id))""",
    # stars, notes and tags belong to a result (its task id), wherever its files are
    """CREATE TABLE IF NOT EXISTS annotations (
        task_id TEXT PRIMARY KEY,
        starred INTEGER NOT NULL DEFAULT 0,
        note TEXT NOT NULL DEFAULT '',
        updated_at {real} NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS annotations_starred ON annotations (starred, task_id)",
    """CREATE TABLE IF NOT EXISTS tags (
        task_id TEXT NOT NULL,
        tag TEXT NOT NULL,
        added_at {real} NOT NULL,
        PRIMARY KEY (task_id, tag))""",
    "CREATE INDEX IF NOT EXISTS tags_by_tag ON tags (tag, task_id)",
    # comparisons: the plan, which result each cell got, and the votes cast on it
    """CREATE TABLE IF NOT EXISTS comparisons (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        row_labels TEXT NOT NULL,
        col_labels TEXT NOT NULL,
        sides TEXT NOT NULL,
        blind INTEGER NOT NULL,
        seed {big},
        plan TEXT NOT NULL,
        created_at {real} NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS comparisons_newest ON comparisons (created_at)",
    """CREATE TABLE IF NOT EXISTS comparison_cells (
        comparison_id TEXT NOT NULL,
        row_index INTEGER NOT NULL,
        col_index INTEGER NOT NULL,
        task_id TEXT NOT NULL,
        PRIMARY KEY (comparison_id, row_index, col_index))""",
    """CREATE TABLE IF NOT EXISTS comparison_votes (
        id {id},
        comparison_id TEXT NOT NULL,
        voter TEXT NOT NULL,
        at {real} NOT NULL,
        choice TEXT NOT NULL,
        blind INTEGER NOT NULL,
        question TEXT NOT NULL,
        note TEXT NOT NULL,
        shown_as TEXT)""",
    "CREATE INDEX IF NOT EXISTS comparison_votes_by ON comparison_votes (comparison_id, id)",
    # the budget ledger: caps per scope, and one entry per reservation key and scope
    """CREATE TABLE IF NOT EXISTS budget_caps (
        scope TEXT PRIMARY KEY,
        total_micro {big},
        per_day_micro {big},
        updated_at {real} NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS budget_entries (
        key TEXT NOT NULL,
        scope TEXT NOT NULL,
        amount_micro {big} NOT NULL,
        cost_micro {big},
        state TEXT NOT NULL,
        day TEXT NOT NULL,
        reserved_at {real} NOT NULL,
        closed_at {real},
        PRIMARY KEY (key, scope))""",
    "CREATE INDEX IF NOT EXISTS budget_by_scope ON budget_entries (scope, day, state)",
    # arenas: blind preference tests many people vote in
    """CREATE TABLE IF NOT EXISTS arenas (
        name TEXT PRIMARY KEY,
        config TEXT NOT NULL,
        created_at {real} NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS arena_pairs (
        arena TEXT NOT NULL,
        pair_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        prompt TEXT NOT NULL,
        left_variant TEXT NOT NULL,
        right_variant TEXT NOT NULL,
        left_task_id TEXT NOT NULL,
        right_task_id TEXT NOT NULL,
        left_preview {blob} NOT NULL,
        right_preview {blob} NOT NULL,
        created_at {real} NOT NULL,
        PRIMARY KEY (arena, pair_id))""",
    """CREATE TABLE IF NOT EXISTS arena_votes (
        id {id},
        arena TEXT NOT NULL,
        pair_id TEXT NOT NULL,
        voter TEXT NOT NULL,
        question TEXT NOT NULL,
        choice TEXT NOT NULL,
        variant TEXT,
        at {real} NOT NULL,
        note TEXT NOT NULL,
        UNIQUE (arena, pair_id, voter, question))""",
    "CREATE INDEX IF NOT EXISTS arena_votes_by ON arena_votes (arena, id)",
]

#: PostgreSQL only, where allowed (pg_trgm is a trusted extension from PostgreSQL 13): an
#: index for "prompt contains" filters, which otherwise scan every row (with fresh
#: statistics, 119 ms -> 30 ms at 50,000). Skipped, not failed, where it cannot be made.
_POSTGRES_EXTRAS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS results_prompt_trgm ON results USING gin (prompt_lc gin_trgm_ops)",
]

#: (version, statements): each brings the database from the version before it.
MIGRATIONS: list[tuple[int, list[str]]] = [(1, _V1)]
SCHEMA_VERSION = MIGRATIONS[-1][0]
# a constant key for PostgreSQL's advisory lock: "flux2 schema"
_ADVISORY_KEY = 0x466C7578325F5343


def _current(tx: Tx) -> int:
    if tx.dialect == "sqlite":
        exists = tx.value("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'")
    else:
        exists = tx.value("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    return int(tx.value("SELECT COALESCE(MAX(version), 0) FROM schema_version") or 0)


def migrate(backend: Backend) -> None:
    """Bring the database to :data:`SCHEMA_VERSION` (a no-op read when it is there)."""
    where = backend.location
    if backend.read(_current) == SCHEMA_VERSION:
        return

    def apply(tx: Tx) -> None:
        if tx.dialect == "postgresql":
            tx.execute("SELECT pg_advisory_xact_lock(?)", (_ADVISORY_KEY,))
        tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                   f"applied_at {_TYPES[tx.dialect]['real']} NOT NULL)")
        current = _current(tx)
        if current > SCHEMA_VERSION:
            raise WorkspaceError(
                f"the workspace database {where} has schema version {current}, newer than this "
                f"flux2_widgets understands ({SCHEMA_VERSION}): upgrade flux2-widgets to use it",
                code="schema_too_new")
        for version, statements in MIGRATIONS:
            if version <= current:
                continue
            for statement in statements:
                tx.execute(statement.format(**_TYPES[tx.dialect]))
            tx.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                       (version, time.time()))
        if tx.dialect == "postgresql" and current < 1:
            tx.execute("SAVEPOINT extras")
            try:
                for statement in _POSTGRES_EXTRAS:
                    tx.execute(statement)
                tx.execute("RELEASE SAVEPOINT extras")
            except Exception:  # no right to create the extension: filters scan instead
                tx.execute("ROLLBACK TO SAVEPOINT extras")

    backend.write(apply)
