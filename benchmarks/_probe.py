"""How long the event loop stalls while some work runs: the benchmarks' one probe."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def loop_stall_during(work: Callable[[], Awaitable[Any]]) -> tuple[float, float, Any]:
    """Run ``work()`` while a ticker measures how late the loop wakes:
    (longest stall in seconds, wall seconds of the work, its result)."""
    stalls: list[float] = [0.0]
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            stalls.append(time.perf_counter() - before - 0.005)

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    result = await work()
    wall = time.perf_counter() - started
    done.set()
    await tick
    return max(stalls), wall, result
