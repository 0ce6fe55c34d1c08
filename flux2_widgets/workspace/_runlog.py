"""An index of the run log (``runs.jsonl``), so ``resume()`` reads the open entries, not
every line ever written.

The log stays the journal: every line is appended there first, by any kernel, and this
index is only ever derived from it (a local SQLite file beside it, ``runs-index.db``,
even when the shared tables live on PostgreSQL: the log is per folder). It catches up
from the byte offset it last read, so a scan reads only the lines appended since, and
keeps only what is still open: creates sent but unanswered, tasks submitted but not
finished, tasks completed but not delivered, each with the line that opened it. Each
line's byte offset is its sequence number. Missing, damaged, from an older version, or
behind a log that was replaced or rewritten: the index is rebuilt from the file.

The folding rules are the ones ``ResultStore`` always applied to the whole log (see
``store._fold_*``, which the tests hold this index to); per (id, base URL) the index
keeps when the entry opened (its first line since it was last closed) and its latest
line, which is all those rules read.
"""

from __future__ import annotations

import json
import math
import os
import threading
from pathlib import Path
from typing import Any

from ._backend import Backend, Tx
from ._sqlite import SQLiteBackend

__all__ = ["INDEX_FILE", "RunLogIndex"]

INDEX_FILE = "runs-index.db"
#: Bumped whenever what the index keeps changes: an index of another version is rebuilt.
INDEX_VERSION = 1
#: Bytes of log read per transaction while catching up (a first build of a long log
#: commits every few MB rather than holding the lock for all of it).
CHUNK = 4 << 20
#: The last bytes read, kept to notice a log rewritten in place under the same name.
FINGERPRINT = 64

_OPEN_ENTRY = ("({id} TEXT NOT NULL, base_url TEXT NOT NULL, first_seq INTEGER NOT NULL, "
               "last_seq INTEGER NOT NULL, {extra}event TEXT NOT NULL, PRIMARY KEY ({id}, base_url))")
_TABLES = [
    "CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), identity TEXT NOT NULL, "
    "offset INTEGER NOT NULL, fingerprint BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS open_submits " + _OPEN_ENTRY.format(id="task_id", extra=""),
    "CREATE TABLE IF NOT EXISTS open_undelivered " + _OPEN_ENTRY.format(id="task_id", extra=""),
    "CREATE TABLE IF NOT EXISTS open_sends "
    + _OPEN_ENTRY.format(id="key", extra="first_sent REAL NOT NULL, "),
    "CREATE TABLE IF NOT EXISTS completions (seq INTEGER PRIMARY KEY, task_id TEXT NOT NULL, "
    "files TEXT NOT NULL)",
]
_OPEN = ("open_submits", "open_undelivered", "open_sends", "completions", "state")


def _prepare(backend: Backend) -> None:
    def write(tx: Tx) -> None:
        version = tx.value("PRAGMA user_version")
        if version != INDEX_VERSION:
            for table in _OPEN:
                tx.execute(f"DROP TABLE IF EXISTS {table}")
            tx.execute(f"PRAGMA user_version = {INDEX_VERSION}")
        for statement in _TABLES:
            tx.execute(statement)

    backend.write(write)


def epoch(*candidates: Any) -> float:
    """The first candidate that is a real epoch time; 0.0 (long ago) when none is: a
    hand-edited or foreign log must not break a resume, nor make a create look fresh."""
    for value in candidates:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
                and value > 0:
            return float(value)
    return 0.0


def _upsert(table: str, id_column: str, extra: str = "") -> str:
    cols = f"{id_column}, base_url, first_seq, last_seq{', first_sent' if extra else ''}, event"
    # on conflict: first_seq (and first_sent) stay, the latest line replaces the last
    marks = ", ".join("?" * (6 if extra else 5))
    return (f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT ({id_column}, base_url) "
            "DO UPDATE SET last_seq = excluded.last_seq, event = excluded.event")


_SUBMIT = _upsert("open_submits", "task_id")
_UNDELIVERED = _upsert("open_undelivered", "task_id")
_SEND = _upsert("open_sends", "key", extra="first_sent")


class _Table:
    """One table of open entries, changed in memory for a chunk of lines, then written in a
    few statements: most entries open and close within a chunk and never reach the file."""

    def __init__(self, name: str, id_column: str, upsert: str) -> None:
        self.name, self.id_column, self.upsert = name, id_column, upsert
        #: id -> (closed since the chunk began, {base_url: [first_seq, last_seq, *rest]})
        self.touched: dict[str, tuple[bool, dict[str, list[Any]]]] = {}

    def open(self, entry_id: str, where: str, seq: int, *rest: Any) -> None:
        _, rows = self.touched.setdefault(entry_id, (False, {}))
        row = rows.get(where)
        if row is None:
            rows[where] = [seq, seq, *rest]
        else:  # still open: when it opened (and was first sent) stays; its line is the latest
            row[1], row[-1] = seq, rest[-1]

    def close(self, entry_id: str) -> None:
        self.touched[entry_id] = (True, {})

    def flush(self, tx: Tx) -> None:
        closed = [(i,) for i, (was_closed, _) in self.touched.items() if was_closed]
        if closed:
            tx.many(f"DELETE FROM {self.name} WHERE {self.id_column} = ?", closed)
        # an entry already open in the file keeps its first_seq (the upsert does not change it)
        tx.many(self.upsert, [(i, where, *row) for i, (_, rows) in self.touched.items()
                              for where, row in rows.items()])
        self.touched.clear()


class _Chunk:
    """The effect of a run of lines on the index, applied by the rules of ``store._fold_*``."""

    def __init__(self) -> None:
        self.submits = _Table("open_submits", "task_id", _SUBMIT)
        self.undelivered = _Table("open_undelivered", "task_id", _UNDELIVERED)
        self.sends = _Table("open_sends", "key", _SEND)
        self.completions: list[tuple[int, str, str]] = []

    def apply(self, seq: int, line: str, event: dict[str, Any]) -> None:
        kind, task_id, key = event.get("event"), event.get("task_id"), event.get("idempotency_key")
        where = json.dumps(event.get("base_url"))
        if isinstance(task_id, str):
            if kind == "submitted":
                self.submits.open(task_id, where, seq, line)
            elif kind in ("completed", "failed", "undelivered"):
                self.submits.close(task_id)
            if kind == "undelivered":
                self.undelivered.open(task_id, where, seq, line)
            elif kind in ("completed", "failed"):
                self.undelivered.close(task_id)
            if kind == "completed":
                files = event.get("files")
                self.completions.append((seq, task_id, json.dumps(files if isinstance(files, list) else [])))
        if isinstance(key, str) and key:
            if kind == "sending":
                self.sends.open(key, where, seq, epoch(event.get("submitted_at"), event.get("at")), line)
            elif kind in ("submitted", "rejected", "dismissed"):
                self.sends.close(key)

    def flush(self, tx: Tx) -> None:
        for table in (self.submits, self.undelivered, self.sends):
            table.flush(tx)
        tx.many("INSERT OR REPLACE INTO completions (seq, task_id, files) VALUES (?, ?, ?)", self.completions)


_shared: dict[str, RunLogIndex] = {}
_shared_lock = threading.Lock()


class RunLogIndex:
    """``RunLogIndex(log_path)``: the open entries of one run log, caught up on every read."""

    @classmethod
    def shared(cls, log_path: Path) -> RunLogIndex:
        """One index object per run log in this process."""
        key = os.path.abspath(log_path)
        with _shared_lock:
            found = _shared.get(key)
            if found is None:
                found = _shared[key] = cls(Path(log_path))
            return found

    def __init__(self, log_path: Path, index_path: Path | None = None) -> None:
        self.log_path = Path(log_path)
        self.index_path = Path(index_path) if index_path else self.log_path.with_name(INDEX_FILE)
        self._db = SQLiteBackend(self.index_path, _prepare, keep_damaged=False)
        self._lock = threading.Lock()
        #: (identity, size, mtime) of the log when this object last caught up
        self._seen: tuple[str, int, int] | None = None
        self.offset = 0
        self.identity = ""

    def close(self) -> None:
        self._db.close()

    # -- catching up ---------------------------------------------------------------
    def catch_up(self) -> None:
        """Read what was appended to the log since the index last did."""
        try:
            st = os.stat(self.log_path)
        except FileNotFoundError:
            st = None
        seen = (f"{st.st_dev}:{st.st_ino}", st.st_size, st.st_mtime_ns) if st else None
        with self._lock:
            if seen is not None and seen == self._seen:
                return
            more = True
            while more:
                more = self._db.write(lambda tx: self._step(tx, seen))
            self._seen = seen

    def _step(self, tx: Tx, seen: tuple[str, int, int] | None) -> bool:
        state = tx.one("SELECT identity, offset, fingerprint FROM state WHERE id = 1")
        if seen is None:
            if state is not None:
                _clear(tx)
            self.offset, self.identity = 0, ""
            return False
        identity = seen[0]
        offset = int(state[1]) if state is not None and state[0] == identity else 0
        try:
            fh = self.log_path.open("rb")
        except FileNotFoundError:
            return False
        with fh:
            size = os.fstat(fh.fileno()).st_size
            if offset and (offset > size or not _same_tail(fh, offset, bytes(state[2]) if state else b"")):
                offset = 0  # replaced, cut or rewritten: read it all again
            if offset == 0 and state is not None:
                _clear(tx)
            fh.seek(offset)
            data = fh.read(CHUNK)
            end = data.rfind(b"\n")
            while end == -1 and len(data) and offset + len(data) < size:
                more = fh.read(CHUNK)  # a line longer than a chunk
                if not more:
                    break
                data += more
                end = data.rfind(b"\n")
        if end == -1:  # nothing complete yet (an empty log, or a line being written)
            _save_state(tx, identity, offset, state[2] if state and offset else b"")
            self.offset, self.identity = offset, identity
            return False
        body = data[:end + 1]
        chunk = _Chunk()
        position = 0
        for raw in body.split(b"\n")[:-1]:
            seq = offset + position
            position += len(raw) + 1
            try:
                line = raw.decode("utf-8")
                event = json.loads(line)
            except ValueError:
                continue  # a line cut short by a dying kernel (healed by the next append)
            if isinstance(event, dict):
                chunk.apply(seq, line, event)
        chunk.flush(tx)
        new_offset = offset + len(body)
        _save_state(tx, identity, new_offset, body[-FINGERPRINT:])
        self.offset, self.identity = new_offset, identity
        return new_offset < size

    # -- reading -------------------------------------------------------------------
    def _open(self, table: str, id_column: str, base_url: str | None, extra: str = "") -> list[Any]:
        self.catch_up()
        if base_url is not None:
            sql = (f"SELECT event{', first_sent' if extra else ''} FROM {table} WHERE base_url = ? "
                   "ORDER BY first_seq")
            return self._db.read(lambda tx: tx.all(sql, (json.dumps(base_url),)))
        # any base URL: opened by the first line of any, told by the latest line of any
        first = (f", (SELECT x.first_sent FROM {table} x WHERE x.{id_column} = s.{id_column} "
                 "ORDER BY x.first_seq LIMIT 1)") if extra else ""
        sql = (f"SELECT s.event{first} FROM {table} s JOIN (SELECT {id_column} AS id, MIN(first_seq) AS f, "
               f"MAX(last_seq) AS l FROM {table} GROUP BY {id_column}) g ON s.{id_column} = g.id "
               "AND s.last_seq = g.l ORDER BY g.f")
        return self._db.read(lambda tx: tx.all(sql))

    def submitted(self, base_url: str | None = None) -> list[dict[str, Any]]:
        """The latest "submitted" line of each task still open, in the order they opened."""
        return [json.loads(r[0]) for r in self._open("open_submits", "task_id", base_url)]

    def undelivered(self, base_url: str | None = None) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self._open("open_undelivered", "task_id", base_url)]

    def sending(self, base_url: str | None = None) -> list[tuple[dict[str, Any], float]]:
        """(latest "sending" line, when first sent) of each create still unanswered."""
        return [(json.loads(r[0]), float(r[1])) for r in self._open("open_sends", "key", base_url, extra="x")]

    def completions(self, after: int = 0) -> list[tuple[int, str, list[str]]]:
        """(offset, task id, files) of every "completed" line after byte ``after``."""
        self.catch_up()
        rows = self._db.read(lambda tx: tx.all(
            "SELECT seq, task_id, files FROM completions WHERE seq >= ? ORDER BY seq", (after,)))
        return [(int(s), str(t), json.loads(f)) for s, t, f in rows]


def _same_tail(fh: Any, offset: int, fingerprint: bytes) -> bool:
    if not fingerprint:
        return True
    fh.seek(offset - len(fingerprint))
    return bool(fh.read(len(fingerprint)) == fingerprint)


def _clear(tx: Tx) -> None:
    for table in _OPEN:
        tx.execute(f"DELETE FROM {table}")


def _save_state(tx: Tx, identity: str, offset: int, fingerprint: bytes) -> None:
    tx.execute("INSERT INTO state (id, identity, offset, fingerprint) VALUES (1, ?, ?, ?) ON CONFLICT (id) "
               "DO UPDATE SET identity = excluded.identity, offset = excluded.offset, "
               "fingerprint = excluded.fingerprint", (identity, offset, fingerprint))
