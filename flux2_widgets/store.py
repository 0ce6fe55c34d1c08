"""Results on disk: images, a JSON sidecar per task, a JSONL run log, and what
the client learned about task durations.

Result URLs expire after about a week and kernels die; the store keeps what
was generated, and the run log lets ``client.resume(store)`` finish tasks that
were submitted but never collected. Each create request is logged *before* it
is sent (with its Idempotency-Key) and linked to its task once answered, so a
task paid for but never answered is not lost either. ``latency.json`` lets a new
kernel poll its first tasks as well as the last one did. Nothing here ever holds
the API key: the request is stored as its wire payload, the endpoint as a bare URL.

The run log stays the journal (a line is appended, in one write, before anything it
promises); what ``pending``, ``unanswered`` and ``undelivered`` read comes from its index
(``workspace._runlog``), which catches up from the byte offset it last read, so a scan
at 50,000 results reads the tail and the open entries, not every line. Each saved result
is also indexed in the folder's workspace database, which ``History`` pages through.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._redact import redact
from .catalog import ImageRequest
from .errors import BudgetExceededError, TaskFailedError, ValidationError
from .results import Generation, Task

if TYPE_CHECKING:  # pragma: no cover
    from .workspace import Workspace
    from .workspace._runlog import RunLogIndex

__all__ = ["ResultStore", "Unanswered"]

RUN_LOG = "runs.jsonl"
#: What the client learned about task durations, per endpoint (see ``client._polling``).
LATENCY_FILE = "latency.json"
#: Endpoints remembered in the latency file (a simulator gets a new port per kernel).
MAX_ENDPOINTS = 16
#: After the run-log index or the workspace database failed, how long to do without it
#: (a PostgreSQL server that is down must not slow every save).
RETRY_INDEX_AFTER_S = 60.0

log = logging.getLogger("flux2_widgets")


@dataclass(frozen=True)
class Unanswered:
    """A create request the run log shows as about to be sent, with no answer
    recorded: its task may exist (and be paid for). Sending it again with the same
    Idempotency-Key returns that task, or creates it if it never arrived."""

    idempotency_key: str
    request: ImageRequest
    action: str
    base_url: str
    #: When it was first sent (epoch seconds); 0.0 when the log does not say (treated as old).
    submitted_at: float

    def age_text(self, now: float | None = None) -> str:
        """How long ago it was first sent, for people: "40 min", "3 h", "9 days"."""
        seconds = max(0.0, (time.time() if now is None else now) - self.submitted_at)
        if seconds < 2 * 3600:
            return f"{seconds / 60:.0f} min"
        if seconds < 2 * 86400:
            return f"{seconds / 3600:.0f} h"
        return f"{seconds / 86400:.0f} days"


def _epoch(*candidates: Any) -> float:
    from .workspace._runlog import epoch

    return epoch(*candidates)


@dataclass
class _Parsed:
    """The run log as far as it was parsed: its file, the bytes consumed, their last
    bytes (to notice a rewrite), and the events."""

    identity: tuple[int, int]
    version: tuple[int, int, int]
    offset: int
    tail: bytes
    events: list[dict[str, Any]]


# -- the rules that say what is still open, over the whole log (the index keeps the same) --
def _fold_submitted(events: Iterable[dict[str, Any]], base_url: str | None) -> list[dict[str, Any]]:
    submitted: dict[str, dict[str, Any]] = {}
    for event in events:
        kind, task_id = event.get("event"), event.get("task_id")
        if not isinstance(task_id, str):
            continue
        if kind == "submitted" and (base_url is None or event.get("base_url") == base_url):
            submitted[task_id] = event
        elif kind in ("completed", "failed", "undelivered"):
            submitted.pop(task_id, None)
    return list(submitted.values())


def _fold_undelivered(events: Iterable[dict[str, Any]], base_url: str | None) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        kind, task_id = event.get("event"), event.get("task_id")
        if not isinstance(task_id, str):
            continue
        if kind == "undelivered" and (base_url is None or event.get("base_url") == base_url):
            latest[task_id] = event
        elif kind in ("completed", "failed"):
            latest.pop(task_id, None)
    return list(latest.values())


def _fold_sending(events: Iterable[dict[str, Any]], base_url: str | None,
                  ) -> list[tuple[dict[str, Any], float]]:
    sending: dict[str, dict[str, Any]] = {}
    first_sent: dict[str, float] = {}
    for event in events:
        kind, key = event.get("event"), event.get("idempotency_key")
        if not isinstance(key, str) or not key:
            continue
        if kind == "sending" and (base_url is None or event.get("base_url") == base_url):
            sending[key] = event
            first_sent.setdefault(key, _epoch(event.get("submitted_at"), event.get("at")))
        elif kind in ("submitted", "rejected", "dismissed"):
            sending.pop(key, None)
            first_sent.pop(key, None)
    return [(event, first_sent[key]) for key, event in sending.items()]


class ResultStore:
    """A folder of results. ``ResultStore("flux2_results")``."""

    def __init__(self, root: str | Path = "flux2_results", *, database_url: str | None = None) -> None:
        self.root = Path(root)
        self._database_url = database_url
        self._lock = threading.Lock()
        #: The run log as far as this store parsed it (``events``).
        self._parsed: _Parsed | None = None
        self._workspace: Workspace | None = None
        #: monotonic time until which the index (run log, workspace) is not tried again
        self._runlog_down_until = 0.0
        self._index_down_until = 0.0

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r})"

    @property
    def log_path(self) -> Path:
        return self.root / RUN_LOG

    @property
    def workspace(self) -> Workspace:
        """The folder's database (``workspace.db`` here, or ``$FLUX2_DATABASE_URL``)."""
        if self._workspace is None:
            from .workspace import Workspace

            self._workspace = Workspace.shared(self.root, database_url=self._database_url)
        return self._workspace

    def _append(self, event: dict[str, Any]) -> None:
        event = {"at": round(time.time(), 3), **event}
        data = (redact(json.dumps(event, ensure_ascii=False)) + "\n").encode("utf-8")
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            # One write(2) on an O_APPEND file: kernels appending at once never interleave,
            # and a kill cannot cut a line in two.
            fd = os.open(self.log_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                size = os.fstat(fd).st_size
                if size and hasattr(os, "pread") and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # a line left unfinished (a full disk, a crash) keeps to itself
                while data:
                    data = data[os.write(fd, data):]
            finally:
                os.close(fd)

    # -- the workspace budget: money reserved before a create, settled as the run log learns --
    def reserve(self, idempotency_key: str, request: ImageRequest, scopes: Sequence[str] = ("workspace",),
                price: float | None = None) -> None:
        """Reserve what a create may cost against the folder's caps (and any other ``scopes``,
        e.g. a visitor's quota) before it leaves: ``BudgetExceededError`` (nothing sent) when it
        would pass one. Held across kernels and processes (one transaction; see
        ``workspace._budget``). ``price``: USD for it (a live price), else the catalog's."""
        amount = price if price is not None else request.estimated_cost
        budget = self.workspace.budget
        if amount is None:
            capped = [s for s in scopes if (st := budget.status(s)).cap is not None or st.per_day is not None]
            if capped:
                raise BudgetExceededError(
                    f"{request.label} cannot be checked against the {capped[0]} budget: its price is not "
                    "published (n/a). Nothing was sent.", scope=capped[0])
            amount = 0.0
        budget.reserve(idempotency_key, amount, tuple(scopes))

    def capped(self, scopes: Sequence[str]) -> bool:
        """Whether any of ``scopes`` has a cap in the folder's budget."""
        budget = self.workspace.budget
        return any((st := budget.status(s)).cap is not None or st.per_day is not None for s in scopes)

    def _settle(self, key: str | None, cost: float | None, scopes: Sequence[str] = ("workspace",)) -> None:
        """The service said what a create cost: its reservation becomes spent. Never raises:
        the result is saved whatever the database says (the reservation then stays counted)."""
        if not key or cost is None:
            return
        try:
            self.workspace.budget.settle(key, cost, scopes=tuple(scopes))
        except Exception:
            log.warning("could not settle %s in the workspace budget", key, exc_info=True)

    def _release(self, key: str | None) -> None:
        """The service refused a create or said its task failed: not charged."""
        if not key:
            return
        try:
            self.workspace.budget.release(key)
        except Exception:
            log.warning("could not release %s in the workspace budget", key, exc_info=True)

    def record_sending(self, idempotency_key: str, request: ImageRequest, base_url: str,
                       submitted_at: float) -> None:
        """Logged before a create request leaves: if no answer is ever recorded, the
        task may still exist, and ``unanswered`` lists it."""
        self._append({"event": "sending", "idempotency_key": idempotency_key,
                      "action": request.action or "text_to_image", "base_url": base_url,
                      "submitted_at": submitted_at, "request": request.payload()})

    def record_submit(self, task: Task, base_url: str, idempotency_key: str | None = None) -> None:
        self._append({"event": "submitted", "task_id": task.id, "action": task.action,
                      "base_url": base_url, "submitted_at": task.submitted_at,
                      "idempotency_key": idempotency_key,
                      "request": task.request.payload() if task.request else None})

    def record_rejected(self, idempotency_key: str, error: Exception) -> None:
        """The service refused the create request: no task, nothing to resume, not charged."""
        self._append({"event": "rejected", "idempotency_key": idempotency_key, "error": str(error),
                      "type": type(error).__name__})
        self._release(idempotency_key)

    def record_failure(self, task: Task, error: Exception) -> None:
        """The task is over without a result: the service said it failed (not charged: its
        reservation is released) or does not know it (kept counted: that proves nothing)."""
        self._append({"event": "failed", "task_id": task.id, "error": str(error),
                      "type": type(error).__name__})
        if isinstance(error, TaskFailedError):
            self._release(task.idempotency_key)

    def save(self, generation: Generation) -> list[Path]:
        """Write the images and a sidecar; log the completion. Returns the image paths."""
        folder = self.root / time.strftime("%Y-%m-%d", time.localtime(generation.completed_at))
        paths = generation.save(folder)
        sidecar = folder / f"{generation.id}.json"
        meta = {**generation.to_row(), "request": generation.request.payload(),
                "files": [p.name for p in paths], "base_url": generation.base_url,
                "submitted_at": generation.submitted_at, "completed_at": generation.completed_at}
        text = redact(json.dumps(meta, indent=2, ensure_ascii=False))
        sidecar.write_text(text, encoding="utf-8")
        # Indexed before the log says "completed": a kill in between leaves the task pending,
        # resume() saves it again, and the index row is simply replaced.
        self._index_result(json.loads(text), sidecar)
        self._append({"event": "completed", "task_id": generation.id,
                      "files": [str(p) for p in paths], "cost": generation.cost,
                      "cost_source": generation.cost_source})
        from .workspace import WORKSPACE_SCOPE, simulated_scopes

        scopes = (WORKSPACE_SCOPE,)
        self._settle(generation.task.idempotency_key, generation.cost,
                     simulated_scopes(scopes) if generation.simulated else scopes)
        return paths

    def _index_result(self, meta: dict[str, Any], sidecar: Path) -> None:
        """Index a saved result in the workspace. Never fails the save (the task is paid
        for and its files are written): History catches a missed one up from the run log."""
        if time.monotonic() < self._index_down_until:
            return
        try:
            self.workspace.results.put(meta, sidecar)
        except Exception as exc:
            self._index_down_until = time.monotonic() + RETRY_INDEX_AFTER_S
            log.warning("saved %s, but could not index it in the workspace database (%s); History "
                        "indexes it from the run log later", meta.get("task_id"), redact(str(exc)))

    def events(self) -> list[dict[str, Any]]:
        """The run log, parsed. Only lines appended since the last call are read: the
        events before them are kept. Treat the events as read-only."""
        try:
            fh = self.log_path.open("rb")
        except FileNotFoundError:
            return []
        with fh:
            st = os.fstat(fh.fileno())
            version = (st.st_ino, st.st_size, st.st_mtime_ns)
            with self._lock:
                parsed = self._parsed
            if parsed is not None and parsed.version == version:
                return list(parsed.events)
            start, events = 0, []
            if parsed is not None and parsed.identity == (st.st_dev, st.st_ino) \
                    and parsed.offset <= st.st_size:
                fh.seek(max(0, parsed.offset - len(parsed.tail)))
                if fh.read(len(parsed.tail)) == parsed.tail:
                    start, events = parsed.offset, list(parsed.events)
            fh.seek(start)
            data = fh.read()
        end = data.rfind(b"\n") + 1  # an unfinished last line waits for its newline
        for raw in data[:end].split(b"\n"):
            try:
                event = json.loads(raw.decode("utf-8"))
            except ValueError:
                continue  # a line cut short by a dying kernel
            if isinstance(event, dict):
                events.append(event)
        offset = start + end
        tail = data[max(0, end - 64):end] if end else (parsed.tail if start and parsed else b"")
        with self._lock:
            self._parsed = _Parsed((st.st_dev, st.st_ino), version, offset, tail, events)
        return list(events)

    # -- the open entries of the run log, from its index -----------------------------
    def _runlog(self) -> RunLogIndex | None:
        if time.monotonic() < self._runlog_down_until:
            return None
        from .workspace._runlog import RunLogIndex

        return RunLogIndex.shared(self.log_path)

    def _open_entries(self, read: str, fold: Any, base_url: str | None) -> list[Any]:
        """What the index ``read`` method gives, or (when the index cannot be used: a
        read-only folder, say) the same from folding the whole log."""
        index = self._runlog()
        if index is not None:
            try:
                return list(getattr(index, read)(base_url))
            except Exception as exc:
                self._runlog_down_until = time.monotonic() + RETRY_INDEX_AFTER_S
                log.warning("the run-log index of %s cannot be used (%s): reading the whole log",
                            self.root, redact(str(exc)))
        return list(fold(self.events(), base_url))

    def pending(self, base_url: str | None = None) -> list[Task]:
        """Tasks submitted (to ``base_url``, if given) that never completed or failed."""
        tasks = []
        for event in self._open_entries("submitted", _fold_submitted, base_url):
            task_id = event["task_id"]
            body = event.get("request")
            try:
                request = ImageRequest.from_payload(body) if body else None
            except ValidationError:
                # Logged by an older version under looser rules: the task is still worth
                # collecting, even without its request.
                request = None
            key = event.get("idempotency_key")
            tasks.append(Task(id=task_id, action=event.get("action", "text_to_image"), status="pending",
                              request=request, submitted_at=event.get("submitted_at") or event["at"],
                              idempotency_key=key if isinstance(key, str) and key else None))
        return tasks

    # -- completed tasks whose images did not arrive ------------------------------------
    def record_undelivered(self, task: Task, error: Exception | str, base_url: str) -> None:
        """A task completed (and was billed) but its images could not be fetched or were
        not images, or were not asked for (``error`` then says why in words): keep its URLs
        so ``undelivered`` / ``resume`` can fetch them."""
        self._append({"event": "undelivered", "task_id": task.id, "action": task.action,
                      "base_url": base_url, "urls": list(task.image_urls),
                      "submitted_at": task.submitted_at, "completed_at": task.observed_at,
                      "billed_cost": task.billed_cost, "error": str(error),
                      "type": type(error).__name__ if isinstance(error, Exception) else "not_downloaded",
                      "request": task.request.payload() if task.request else None})
        self.record_billed(task)

    def record_billed(self, task: Task) -> None:
        """The service says ``task`` completed, so it is billed, image fetched or not: its
        reservation becomes spent (the run log keeps it for ``resume()`` to collect)."""
        cost = task.billed_cost if task.billed_cost is not None else (
            task.request.estimated_cost if task.request else None)
        self._settle(task.idempotency_key, cost)

    def undelivered(self, base_url: str | None = None) -> list[Task]:
        """Completed tasks (to ``base_url``, if given) whose images never arrived, as
        completed ``Task`` objects holding their image URLs (and when they completed)."""
        tasks = []
        for event in self._open_entries("undelivered", _fold_undelivered, base_url):
            task_id = event["task_id"]
            body = event.get("request")
            urls = event.get("urls")
            cost = event.get("billed_cost")
            try:
                request = ImageRequest.from_payload(body) if isinstance(body, dict) else None
            except ValueError:
                request = None
            tasks.append(Task(
                id=str(task_id), action=event.get("action", "text_to_image"), status="completed",
                request=request, image_urls=tuple(u for u in urls if isinstance(u, str))
                if isinstance(urls, list) else (),
                billed_cost=float(cost) if isinstance(cost, (int, float)) else None,
                submitted_at=event.get("submitted_at") or event["at"],
                observed_at=event.get("completed_at") or event["at"]))
        return tasks

    def dismiss(self, idempotency_key: str) -> None:
        """Drop an unanswered create from ``unanswered``: it is not to be sent again (you
        checked your RunAPI account, say). Logged, like everything else."""
        known = [u.idempotency_key for u in self.unanswered()]
        if idempotency_key not in known:
            raise ValidationError(
                f"{idempotency_key!r} is not the key of an unanswered create in {self.log_path}; "
                f"those are: {', '.join(known) or 'none'}",
                field="idempotency_key", value=idempotency_key, allowed=tuple(known))
        self._append({"event": "dismissed", "idempotency_key": idempotency_key})

    def unanswered(self, base_url: str | None = None) -> list[Unanswered]:
        """Create requests logged as sent (to ``base_url``, if given) whose answer never
        arrived (a kernel that died mid-request, a connection lost after the service
        created the task), oldest first, unless answered, refused or dismissed since.
        ``submitted_at`` is when the key was *first* sent: sending it again (and failing
        again) does not make it younger, since only the service's memory of the key
        makes a resend safe."""
        out = []
        for event, first_sent in self._open_entries("sending", _fold_sending, base_url):
            key = event["idempotency_key"]
            body = event.get("request")
            try:
                if not isinstance(body, dict):
                    raise TypeError("no request")
                request = ImageRequest.from_payload(body)
            except (ValueError, TypeError):
                continue  # not a request this version can send again
            out.append(Unanswered(key, request, event.get("action") or "text_to_image",
                                  event.get("base_url") or "", first_sent))
        return out

    # -- learned task durations ----------------------------------------------------
    @property
    def latency_path(self) -> Path:
        return self.root / LATENCY_FILE

    def read_latencies(self, endpoint: str) -> dict[str, Any]:
        """What an earlier client saved for ``endpoint`` (empty when nothing, or unreadable)."""
        try:
            saved = json.loads(self.latency_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        entry = saved.get("endpoints", {}).get(endpoint) if isinstance(saved, dict) else None
        kinds = entry.get("kinds") if isinstance(entry, dict) else None
        return kinds if isinstance(kinds, dict) else {}

    def write_latencies(self, endpoint: str, kinds: dict[str, Any]) -> None:
        """Replace what is saved for ``endpoint``; keep other endpoints' (the most
        recent few). Atomic: a reader never sees half a file."""
        with self._lock:
            try:
                saved = json.loads(self.latency_path.read_text(encoding="utf-8"))
                endpoints = saved.get("endpoints") if isinstance(saved, dict) else None
            except (OSError, ValueError):
                endpoints = None
            endpoints = dict(endpoints) if isinstance(endpoints, dict) else {}
            endpoints.pop(endpoint, None)
            endpoints[endpoint] = {"at": round(time.time(), 3), "kinds": kinds}
            newest = sorted(endpoints.items(), key=lambda kv: kv[1].get("at", 0)
                            if isinstance(kv[1], dict) else 0)[-MAX_ENDPOINTS:]
            text = redact(json.dumps({"version": 1, "endpoints": dict(newest)}, ensure_ascii=False))
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.latency_path.with_name(f".{LATENCY_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
            try:
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, self.latency_path)
            finally:
                tmp.unlink(missing_ok=True)

    def completed(self) -> list[dict[str, Any]]:
        """Sidecars of every saved result, oldest first."""
        metas = []
        for path in sorted(self.root.glob("*/*.json")):
            try:
                metas.append(json.loads(path.read_text(encoding="utf-8")))
            except ValueError:
                continue
        return sorted(metas, key=lambda m: m.get("completed_at") or 0)
