"""The simulator in its own process, so it does not share the GIL (or anything else) with the
client under test, as a real server would not. Used by the benchmarks and by tests that need
the service to live apart: ``RemoteSimulator(latency=1.0)``; ``inject``, ``count``, ``charges``
and ``due`` ask the child over a pipe."""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import Counter
from typing import Any

from . import Simulator


def _serve(options: dict[str, Any], conn: Any) -> None:
    """Child process: a simulator that answers questions over a pipe."""
    with Simulator(**options) as sim:
        conn.send((sim.url, sim.cdn_url))
        offset = time.time() - time.monotonic()
        while True:
            command, args = conn.recv()
            if command == "stop":
                return
            if command == "reset":
                sim.reset()
                conn.send(None)
            elif command == "count":
                conn.send(sim.count(*args))
            elif command == "due":  # wall-clock completion time of each task
                conn.send({tid: rec.due + offset for tid, rec in sim.tasks.items()})
            elif command == "gets":  # status GETs per task id
                counts: Counter[str] = Counter()
                for method, path, _ in sim.stats.requests:
                    if method == "GET":
                        counts[path.rsplit("/", 1)[-1]] += 1
                conn.send(dict(counts))
            elif command == "charges":
                conn.send(sim.stats.charges)
            elif command == "inject":
                kind, times, opts = args
                sim.inject(kind, times, **opts)
                conn.send(None)
            elif command == "created":
                conn.send(sim.stats.tasks_created)


class RemoteSimulator:
    """``RemoteSimulator(latency=1.0)``: the same options as ``Simulator``; task
    timestamps stay off, as on the real service."""

    def __init__(self, **options: Any) -> None:
        self._conn, child = mp.Pipe()
        self._proc = mp.get_context("spawn").Process(target=_serve, args=(options, child), daemon=True)
        self._proc.start()
        self.url, self.cdn_url = self._conn.recv()

    def _ask(self, command: str, *args: Any) -> Any:
        self._conn.send((command, args))
        return self._conn.recv()

    def reset(self) -> None:
        self._ask("reset")

    def count(self, *args: Any) -> int:
        return self._ask("count", *args)

    def due(self) -> dict[str, float]:
        return self._ask("due")

    def gets(self) -> dict[str, int]:
        return self._ask("gets")

    def charges(self) -> list[tuple[str, float]]:
        """(task id, USD) of every charge so far."""
        return self._ask("charges")

    def tasks_created(self) -> int:
        return self._ask("created")

    def inject(self, kind: str, times: int = 1, **opts: Any) -> RemoteSimulator:
        """As ``Simulator.inject``, in the child."""
        self._ask("inject", kind, times, opts)
        return self

    def __enter__(self) -> RemoteSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.send(("stop", ()))
        self._proc.join(5)
