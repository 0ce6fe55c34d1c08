"""``Workspace``: the results folder's database, shared by every kernel and process.

SQLite in the folder by default (``flux2_results/workspace.db``); PostgreSQL when
``FLUX2_DATABASE_URL`` or ``database_url=`` names one. The same tables either way:
the results index (with stars, tags and notes), comparisons and their votes, the
budget ledger, and arenas. The folder's files stay the truth for results: the index is
rebuilt from the sidecars when the database is missing or was damaged, and caught up
from the run log when results were saved without it (an older version, a database that
was down).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._arenas import Arenas
from ._backend import Backend
from ._budget import Budget
from ._comparisons import Comparisons
from ._results import Results
from ._runlog import RunLogIndex
from ._schema import migrate
from ._url import DatabaseURL, parse_database_url

if TYPE_CHECKING:  # pragma: no cover
    from ._copy import CopyReport

__all__ = ["SyncReport", "Workspace"]

log = logging.getLogger("flux2_widgets")
#: Sidecars indexed per transaction while rebuilding (short transactions).
REBUILD_BATCH = 1000

_shared: dict[tuple[str, str], Workspace] = {}
_shared_lock = threading.Lock()


@dataclass(frozen=True)
class SyncReport:
    """What :meth:`Workspace.sync` did: ``rebuilt`` (every sidecar read), ``added``
    (results indexed now) and how long it took."""

    rebuilt: bool
    added: int
    seconds: float


def _default_root() -> Path:
    from ..client._defaults import RESULTS_ENV

    return Path(os.environ.get(RESULTS_ENV) or "flux2_results")


class Workspace:
    """The database of a results folder: ``Workspace()`` for the default folder,
    ``Workspace("flux2_results", database_url="postgresql://...")`` for a shared one.

    Its parts: :attr:`results` (the index, stars, tags, notes), :attr:`comparisons`
    (saved comparisons and their votes), :attr:`budget` (caps and reservations) and
    :attr:`arenas`. Every method is blocking and short; from async code run them off the
    loop (``await flux2_widgets.workspace.off_loop(ws.budget.reserve, key, 0.05)``).
    Safe to share between threads; every process opens its own connections.
    """

    def __init__(self, root: str | Path | None = None, *, database_url: str | None = None,
                 pool_size: int = 4) -> None:
        self.root = Path(root) if root is not None else _default_root()
        self.url: DatabaseURL = parse_database_url(database_url, self.root)
        backend: Backend
        if self.url.kind == "sqlite":
            from ._sqlite import SQLiteBackend

            assert self.url.path is not None
            backend = SQLiteBackend(self.url.path, migrate)
            here = _same_place(self.url.path.parent, self.root)
        else:
            from ._postgres import PostgresBackend

            backend = PostgresBackend(self.url, migrate, pool_size=pool_size)
            here = False
        self.backend = backend
        #: How the database names this folder: "." for its own file, else host:path.
        self.folder = "." if here else f"{socket.gethostname()}:{self.root.resolve()}"
        self.results = Results(backend, self.folder, self.root)
        self.comparisons = Comparisons(backend)
        self.budget = Budget(backend)
        self.arenas = Arenas(backend)
        self._runlog: RunLogIndex | None = None
        self._runlog_lock = threading.Lock()

    @classmethod
    def shared(cls, root: str | Path | None = None, *, database_url: str | None = None) -> Workspace:
        """One workspace per folder and database in this process (the result store, the
        history and the Studio use the same connections)."""
        root = Path(root) if root is not None else _default_root()
        url = parse_database_url(database_url, root)
        key = (str(root.resolve()), url.conninfo or str(url.path))
        with _shared_lock:
            found = _shared.get(key)
            if found is None:
                found = _shared[key] = cls(root, database_url=database_url)
            return found

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.backend.dialect

    @property
    def database(self) -> str:
        """Where the database is (a file, or a URL without its password)."""
        return self.url.redacted

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r}, database={self.database!r})"

    def copy_to(self, database_url: str) -> CopyReport:
        """Copy this workspace into another database (to move a class from this folder's SQLite
        file to a PostgreSQL server): stars, tags, notes, comparisons and votes, budgets, arenas;
        then index this folder's results there. Safe to run again (see ``_copy``)."""
        from ._copy import copy_workspace

        with Workspace(self.root, database_url=database_url) as target:
            return copy_workspace(self, target)

    def close(self) -> None:
        """Give back the connections (they are opened again if the workspace is used)."""
        self.backend.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the results index and the folder -------------------------------------------
    @property
    def run_log(self) -> RunLogIndex:
        """The index of this folder's run log (always a local file, ``runs-index.db``)."""
        with self._runlog_lock:
            if self._runlog is None:
                from ..store import RUN_LOG

                self._runlog = RunLogIndex.shared(self.root / RUN_LOG)
            return self._runlog

    def sync(self, *, rebuild: bool = False) -> SyncReport:
        """Bring the results index up to the folder: every sidecar when this database has
        not indexed the folder yet (new, rebuilt, or the run log replaced) or ``rebuild``
        says so (sidecars edited by hand), else only the results the run log shows saved
        since the last sync that the index lacks."""
        start = time.perf_counter()
        try:
            runlog: RunLogIndex | None = self.run_log
            assert runlog is not None
            runlog.catch_up()
            log_end, identity = runlog.offset, runlog.identity
        except Exception:  # a read-only folder: no local index, a full look at the sidecars
            log.debug("no run-log index for %s", self.root, exc_info=True)
            runlog, log_end, identity = None, 0, ""
        folder = self.folder
        row = self.backend.read(lambda tx: tx.one(
            "SELECT log_offset, log_identity FROM folders WHERE folder = ?", (folder,)))
        if rebuild or row is None or runlog is None or row[1] != identity or int(row[0]) > log_end:
            added, rebuilt = self._rebuild(), True
        else:
            added, rebuilt = self._catch_up(runlog, int(row[0])), False
        self.backend.write(lambda tx: tx.execute(
            "INSERT INTO folders (folder, indexed_at, log_offset, log_identity) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (folder) DO UPDATE SET indexed_at = excluded.indexed_at, "
            "log_offset = excluded.log_offset, log_identity = excluded.log_identity",
            (folder, time.time(), log_end, identity)))
        return SyncReport(rebuilt, added, time.perf_counter() - start)

    def _rebuild(self) -> int:
        if not self.root.is_dir():
            return 0
        added = 0
        for day in sorted(p for p in self.root.iterdir() if p.is_dir()):
            batch: list[tuple[Any, Path, float | None, str | None]] = []
            for sidecar in sorted(day.glob("*.json")):
                try:
                    text = sidecar.read_text(encoding="utf-8")
                    meta = json.loads(text)
                    known = isinstance(meta, dict) and meta.get("completed_at")
                    mtime = None if known else sidecar.stat().st_mtime
                except (OSError, ValueError):
                    continue  # cut short by a dying kernel, or removed meanwhile
                batch.append((meta, sidecar, mtime, text))
                if len(batch) >= REBUILD_BATCH:
                    added += self.results.put_many(batch, day.name)
                    batch = []
            if batch:
                added += self.results.put_many(batch, day.name)
        if self.dialect == "postgresql":
            # fresh statistics for the planner: the server's autovacuum would take a while
            self.backend.write(lambda tx: tx.execute("ANALYZE results"))
        log.info("indexed %d results of %s", added, self.root)
        return added

    def _catch_up(self, runlog: RunLogIndex, after: int) -> int:
        done = runlog.completions(after)
        if not done:
            return 0
        skip = set(self.results.known([t for _, t, _ in done]))
        added = 0
        for _, task_id, files in done:
            if task_id in skip or not files:
                continue
            skip.add(task_id)
            day = Path(str(files[0])).parent.name
            sidecar = self.root / day / f"{task_id}.json"
            try:
                text = sidecar.read_text(encoding="utf-8")
                meta = json.loads(text)
            except (OSError, ValueError):
                continue
            added += self.results.put_many([(meta, sidecar, None, text)], day)
        return added


def _same_place(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
