"""The simulator in a child process: what notebooks get when no key is set.

Rendering PNGs holds the GIL; in the kernel's own process that would stall the
kernel's event loop (and the widgets) while images are drawn. A child process
keeps the kernel light (this module imports no server code) and responsive,
and dies with it: it exits when its stdin pipe closes.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
from typing import Any

import httpx

SPEED_ENV = "FLUX2_SIMULATOR_SPEED"
#: A Pro 1k image in about two seconds: lively enough for a live demo.
DEFAULT_DEMO_SPEED = 4.0

# Re-entrant: building the default client may start the shared simulator.
_lock = threading.RLock()
_simulator: SimulatorProcess | None = None


class SimulatorProcess:
    """``url``, ``cdn_url``, ``count()``, ``stats()`` and ``stop()`` of a child simulator."""

    def __init__(self, *, speed: float = 1.0, balance_cents: int = 10_000_000,
                 startup_timeout: float = 30.0) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "flux2_widgets.simulator", "--with-parent", "--speed", str(speed),
             "--balance-cents", str(balance_cents)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        # Reap the child whenever it exits (a kernel shutdown signals it directly):
        # an unreaped child makes ipykernel wait seconds before it can exit.
        threading.Thread(target=self._proc.wait, daemon=True, name="flux2-sim-reaper").start()
        ready: dict[str, Any] = {}

        def read_first_line() -> None:
            assert self._proc.stdout is not None
            line = self._proc.stdout.readline()
            if line:
                ready.update(json.loads(line))

        reader = threading.Thread(target=read_first_line, daemon=True)
        reader.start()
        reader.join(startup_timeout)
        if "url" not in ready:
            self.stop()
            raise RuntimeError("the embedded simulator did not start; run "
                               "`python -m flux2_widgets.simulator` to see why")
        self.url: str = ready["url"]
        self.cdn_url: str = ready["cdn_url"]
        self.speed = speed

    def __repr__(self) -> str:
        return f"<SimulatorProcess {self.url} (images {self.cdn_url}) speed={self.speed}>"

    @property
    def running(self) -> bool:
        return self._proc.poll() is None

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_simulator/stats", timeout=10).json()

    def count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        return sum(1 for m, p, _ in self.stats()["requests"]
                   if (method is None or m == method.upper())
                   and (path_prefix is None or p.startswith(path_prefix))
                   and not p.startswith("/_simulator"))

    def stop(self) -> None:
        if self._proc.stdin and not self._proc.stdin.closed:
            self._proc.stdin.close()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)


def shared_simulator() -> SimulatorProcess:
    """The embedded simulator: a child process started on first use, which exits
    with this one. Its balance is large enough for a whole day of teaching."""
    global _simulator
    with _lock:
        if _simulator is None or not _simulator.running:
            speed = float(os.environ.get(SPEED_ENV) or DEFAULT_DEMO_SPEED)
            _simulator = SimulatorProcess(speed=speed)
            atexit.register(_simulator.stop)
        return _simulator
