"""Results on disk: images, a JSON sidecar per task, a JSONL run log, and what
the client learned about task durations.

Result URLs expire after about a week and kernels die; the store keeps what
was generated, and the run log lets ``client.resume(store)`` finish tasks that
were submitted but never collected. Each create request is logged *before* it
is sent (with its Idempotency-Key) and linked to its task once answered, so a
task paid for but never answered is not lost either. ``latency.json`` lets a new
kernel poll its first tasks as well as the last one did. Nothing here ever holds
the API key: the request is stored as its wire payload, the endpoint as a bare URL.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._redact import redact
from .catalog import ImageRequest
from .errors import ValidationError
from .results import Generation, Task

__all__ = ["ResultStore", "Unanswered"]

RUN_LOG = "runs.jsonl"
#: What the client learned about task durations, per endpoint (see ``client._polling``).
LATENCY_FILE = "latency.json"
#: Endpoints remembered in the latency file (a simulator gets a new port per kernel).
MAX_ENDPOINTS = 16


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


def _version_of(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _epoch(*candidates: Any) -> float:
    """The first candidate that is a real epoch time; 0.0 (long ago) when none is: a
    hand-edited or foreign log must not break a resume, nor make a create look fresh."""
    for value in candidates:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
                and value > 0:
            return float(value)
    return 0.0


class ResultStore:
    """A folder of results. ``ResultStore("flux2_results")``."""

    def __init__(self, root: str | Path = "flux2_results") -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        #: The last parse of the run log and the file version it was read from.
        self._parsed: tuple[tuple[int, int, int], list[dict[str, Any]]] | None = None

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r})"

    @property
    def log_path(self) -> Path:
        return self.root / RUN_LOG

    def _append(self, event: dict[str, Any]) -> None:
        event = {"at": round(time.time(), 3), **event}
        line = redact(json.dumps(event, ensure_ascii=False))
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")

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
        """The service refused the create request: no task, nothing to resume."""
        self._append({"event": "rejected", "idempotency_key": idempotency_key, "error": str(error),
                      "type": type(error).__name__})

    def record_failure(self, task: Task, error: Exception) -> None:
        self._append({"event": "failed", "task_id": task.id, "error": str(error),
                      "type": type(error).__name__})

    def save(self, generation: Generation) -> list[Path]:
        """Write the images and a sidecar; log the completion. Returns the image paths."""
        folder = self.root / time.strftime("%Y-%m-%d", time.localtime(generation.completed_at))
        paths = generation.save(folder)
        sidecar = folder / f"{generation.id}.json"
        meta = {**generation.to_row(), "request": generation.request.payload(),
                "files": [p.name for p in paths], "base_url": generation.base_url,
                "submitted_at": generation.submitted_at, "completed_at": generation.completed_at}
        sidecar.write_text(redact(json.dumps(meta, indent=2, ensure_ascii=False)), encoding="utf-8")
        self._append({"event": "completed", "task_id": generation.id,
                      "files": [str(p) for p in paths], "cost": generation.cost,
                      "cost_source": generation.cost_source})
        return paths

    def events(self) -> list[dict[str, Any]]:
        """The run log, parsed. Read again only when the file changed: the Studio asks
        for pending, unanswered and old unanswered work in one go, and a long log takes
        milliseconds per thousand lines to parse. Treat the events as read-only."""
        version = _version_of(self.log_path)
        if version is None:
            return []
        with self._lock:
            if self._parsed is not None and self._parsed[0] == version:
                return list(self._parsed[1])
        try:
            lines = self.log_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by a dying kernel
        with self._lock:
            # Only what was read under that very version is kept: an append meanwhile
            # changes the size, and the next call reads again.
            if version == _version_of(self.log_path):
                self._parsed = (version, out)
        return list(out)

    def pending(self, base_url: str | None = None) -> list[Task]:
        """Tasks submitted (to ``base_url``, if given) that never completed or failed."""
        submitted: dict[str, dict[str, Any]] = {}
        for event in self.events():
            kind, task_id = event.get("event"), event.get("task_id")
            if not isinstance(task_id, str):
                continue
            if kind == "submitted" and (base_url is None or event.get("base_url") == base_url):
                submitted[task_id] = event
            elif kind in ("completed", "failed", "undelivered"):
                submitted.pop(task_id, None)
        tasks = []
        for task_id, event in submitted.items():
            body = event.get("request")
            try:
                request = ImageRequest.from_payload(body) if body else None
            except ValidationError:
                # Logged by an older version under looser rules: the task is still worth
                # collecting, even without its request.
                request = None
            tasks.append(Task(id=task_id, action=event.get("action", "text_to_image"), status="pending",
                              request=request, submitted_at=event.get("submitted_at") or event["at"]))
        return tasks

    # -- completed tasks whose images did not arrive ------------------------------------
    def record_undelivered(self, task: Task, error: Exception, base_url: str) -> None:
        """A task completed (and was billed) but its images could not be fetched or were
        not images: keep its URLs so ``undelivered`` / ``resume`` can try again."""
        self._append({"event": "undelivered", "task_id": task.id, "action": task.action,
                      "base_url": base_url, "urls": list(task.image_urls),
                      "submitted_at": task.submitted_at, "completed_at": task.observed_at,
                      "billed_cost": task.billed_cost, "error": str(error),
                      "type": type(error).__name__,
                      "request": task.request.payload() if task.request else None})

    def undelivered(self, base_url: str | None = None) -> list[Task]:
        """Completed tasks (to ``base_url``, if given) whose images never arrived, as
        completed ``Task`` objects holding their image URLs (and when they completed)."""
        latest: dict[str, dict[str, Any]] = {}
        for event in self.events():
            kind, task_id = event.get("event"), event.get("task_id")
            if not isinstance(task_id, str):
                continue
            if kind == "undelivered" and (base_url is None or event.get("base_url") == base_url):
                latest[task_id] = event
            elif kind in ("completed", "failed"):
                latest.pop(task_id, None)
        tasks = []
        for task_id, event in latest.items():
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
        sending: dict[str, dict[str, Any]] = {}
        first_sent: dict[str, float] = {}
        for event in self.events():
            kind, key = event.get("event"), event.get("idempotency_key")
            if not isinstance(key, str) or not key:
                continue
            if kind == "sending" and (base_url is None or event.get("base_url") == base_url):
                sending[key] = event
                first_sent.setdefault(key, _epoch(event.get("submitted_at"), event.get("at")))
            elif kind in ("submitted", "rejected", "dismissed"):
                sending.pop(key, None)
                first_sent.pop(key, None)
        out = []
        for key, event in sending.items():
            body = event.get("request")
            try:
                if not isinstance(body, dict):
                    raise TypeError("no request")
                request = ImageRequest.from_payload(body)
            except (ValueError, TypeError):
                continue  # not a request this version can send again
            out.append(Unanswered(key, request, event.get("action") or "text_to_image",
                                  event.get("base_url") or "", first_sent[key]))
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
