"""Run several ASGI apps under uvicorn on one event loop in a daemon thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable

import uvicorn

try:  # uvicorn's C parser: about half the CPU per request of its pure-Python one
    import httptools  # noqa: F401

    _HTTP = "httptools"
except ImportError:  # pragma: no cover - a platform without its wheel
    _HTTP = "h11"
from starlette.types import ASGIApp

__all__ = ["ServerThread", "bind"]

_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 5.0
_SETTLE = 0.25


def bind(host: str, port: int) -> socket.socket:
    """Bind now, so the real port is known before the server thread starts
    and a busy port fails in the caller's thread with a plain OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP explicitly: asyncio only sets TCP_NODELAY on accepted
    # sockets whose proto is IPPROTO_TCP (socket.create_server leaves it 0),
    # and without it every keep-alive answer stalls ~40 ms on delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class ServerThread:
    def __init__(self, apps: list[tuple[ASGIApp, socket.socket]],
                 on_loop: Callable[[asyncio.AbstractEventLoop], None] | None = None,
                 on_exit: Callable[[], None] | None = None) -> None:
        self._apps = apps
        self._on_loop = on_loop
        self._on_exit = on_exit
        self._servers: list[uvicorn.Server] = []
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="flux2-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT) or self._error is not None:
            self.stop()
            raise RuntimeError(f"simulator did not start: {self._error!r}")

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start() instead of dying silently
            self._error = exc
            self._ready.set()
        finally:
            if self._on_exit is not None:
                self._on_exit()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._on_loop is not None:
            self._on_loop(asyncio.get_running_loop())
        for app, _ in self._apps:
            # log_config=None: never reconfigure the host process's logging
            # (a notebook kernel's, say).
            config = uvicorn.Config(app, http=_HTTP, lifespan="off", log_config=None,
                                    access_log=False, log_level="warning",
                                    timeout_graceful_shutdown=1)
            self._servers.append(uvicorn.Server(config))
        runs = [asyncio.create_task(server.serve(sockets=[sock]))
                for server, (_, sock) in zip(self._servers, self._apps, strict=True)]
        while not all(s.started for s in self._servers):
            if any(r.done() for r in runs):
                break
            await asyncio.sleep(0.005)
        self._ready.set()
        await asyncio.gather(*runs)

    def stop(self, *, join: bool = False) -> None:
        """Close the listening sockets (the ports are free on return); uvicorn
        finishes its shutdown in the background unless ``join``."""
        for server in self._servers:
            server.should_exit = True
            server.force_exit = True  # do not wait for idle keep-alive clients
        own_thread = self._thread is threading.current_thread()
        if self._thread is not None and self._thread.is_alive() and not own_thread:
            deadline = time.monotonic() + _STOP_TIMEOUT
            # uvicorn would notice should_exit only at its next 0.1 s tick;
            # closing the listeners now frees the ports at once. Its own later
            # close() is a no-op, and its remaining shutdown runs in the background.
            if self._loop is not None:
                try:
                    self._loop.call_soon_threadsafe(self._close_listeners)
                except RuntimeError:  # loop already closed
                    pass
            while any(sock.fileno() != -1 for _, sock in self._apps) and time.monotonic() < deadline:
                time.sleep(0.002)
            # Idle keep-alive connections close at once; give busy ones a
            # moment, so a pooled client is not answered after stop().
            settle = min(deadline, time.monotonic() + _SETTLE)
            while any(s.server_state.connections for s in self._servers) and time.monotonic() < settle:
                time.sleep(0.002)
            if join:
                self._thread.join(max(0.0, deadline - time.monotonic()))
        for _, sock in self._apps:
            sock.close()

    def _close_listeners(self) -> None:
        # What uvicorn's own shutdown does first, minus its tick and sleep.
        for server in self._servers:
            for listener in getattr(server, "servers", ()):
                listener.close()
            for connection in list(server.server_state.connections):
                connection.shutdown()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
