"""A rate-limit storm: 50 tasks against a server that lets a key run 4 at once (429
beyond, Retry-After 1 s) and drops 5% of connections (API and image host, half of
the API drops after the request was processed, so the task exists but its answer
is lost).

For each batch, prints tasks delivered (image downloaded and decoded), tasks the
server created beyond one per request (duplicates), charges against successes,
429s and drops seen, and wall time against the floor (tasks / slots x latency).
Bar (DESIGN.md section 5): 50 of 50 every time, no duplicates, charges ==
successes, wall <= 1.15x the floor.

    .venv/bin/python benchmarks/bench_storm.py [--batches 5] [--tasks 50] [--latency 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing as mp
import time
from typing import Any

from PIL import Image

from flux2_widgets import AsyncFlux2Client, Generation
from flux2_widgets.simulator import Simulator

KEY = "sk-bench-000000000000"
SLOTS = 4
DROP_RATE = 0.05


def storm(sim: Simulator, slots: int = SLOTS, drop_rate: float = DROP_RATE) -> Simulator:
    """Configure ``sim`` as the storm: ``slots`` in flight, ``drop_rate`` of connections dropped."""
    sim.limit_in_flight(slots, retry_after=1.0)
    many = 10**9
    sim.inject("drop", times=many, rate=drop_rate / 2)               # lost before processing
    sim.inject("drop", times=many, rate=drop_rate / 2, after=True)   # processed, answer lost
    sim.inject("drop", times=many, rate=drop_rate, on="cdn")
    return sim


def _serve(latency: float, seed: int, conn: Any) -> None:
    """Child process: the server does not share the client's GIL, as a real one would not."""
    with Simulator(latency=latency, seed=seed) as sim:
        conn.send(sim.url)
        while True:
            command = conn.recv()
            if command == "stop":
                return
            if command == "storm":
                sim.reset()
                storm(sim)
                conn.send(None)
            elif command == "stats":
                stats = sim.stats
                conn.send({"created": stats.tasks_created, "charges": len(stats.charges),
                           "429": sum(1 for _, _, s in stats.requests if s == 429),
                           "drops": sum(1 for _, _, s in stats.requests + stats.cdn_requests if s is None)})


async def batch(url: str, tasks: int) -> tuple[list[Any], float, Any]:
    async with AsyncFlux2Client(api_key=KEY, base_url=url) as client:
        started = time.perf_counter()
        results = await client.generate_many([f"storm prompt number {i}" for i in range(tasks)])
        wall = time.perf_counter() - started
        return results, wall, client.in_flight


def delivered(results: list[Any]) -> int:
    count = 0
    for result in results:
        if isinstance(result, Generation):
            with Image.open(io.BytesIO(result.image.data)) as img:
                img.load()
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()
    floor = args.tasks / SLOTS * args.latency
    conn, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=_serve, args=(args.latency, 7, child), daemon=True)
    proc.start()
    url = conn.recv()
    print(f"{args.tasks} tasks, {SLOTS} slots, {DROP_RATE:.0%} drops, latency {args.latency:g}s, "
          f"floor {floor:.2f}s")
    print("batch  delivered  duplicates  charges/successes  429s  drops  wall    wall/floor  limit")
    worst = 0.0
    totals = {"delivered": 0, "duplicates": 0, "bad_charges": 0}
    try:
        for n in range(1, args.batches + 1):
            conn.send("storm")
            conn.recv()
            results, wall, limit = asyncio.run(batch(url, args.tasks))
            conn.send("stats")
            stats = conn.recv()
            ok = delivered(results)
            successes = sum(isinstance(r, Generation) for r in results)
            duplicates = stats["created"] - args.tasks
            worst = max(worst, wall / floor)
            totals["delivered"] += ok
            totals["duplicates"] += duplicates
            totals["bad_charges"] += stats["charges"] != successes
            errors = [r for r in results if not isinstance(r, Generation)]
            print(f"{n:>5}  {ok:>5}/{args.tasks:<3}  {duplicates:>10}  {stats['charges']:>8}/{successes:<8}  "
                  f"{stats['429']:>4}  {stats['drops']:>5}  {wall:6.2f}s  {wall / floor:9.3f}x  "
                  f"{limit.limit:.2f}")
            for error in errors[:3]:
                print(f"       error: {error!r}")
    finally:
        conn.send("stop")
        proc.join(10)
    print(f"delivered {totals['delivered']}/{args.tasks * args.batches}, duplicates {totals['duplicates']}, "
          f"batches with charges != successes {totals['bad_charges']}, worst wall/floor {worst:.3f}x "
          f"(bar 1.15x)")


if __name__ == "__main__":
    main()
