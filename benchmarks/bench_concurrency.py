"""8 concurrent generations against the simulator with a fixed task latency.

Compares, in one run on one simulator:
  * flux2_widgets' AsyncFlux2Client (adaptive polling, downloads as tasks finish)
  * its sync Flux2Client.generate_many
  * a plain async client polling every 0.25 s and downloading afterwards
  * the official runapi-flux-2 SDK's run(), one after another and in 8 threads

Every contender downloads and decodes every image. Prints wall time, GETs per
task and detection lag (completion -> client knows). ``--long`` adds one task of
30 s latency (learned, then measured) to check polling on long tasks.

    .venv/bin/python benchmarks/bench_concurrency.py [--latency 1.0] [--tasks 8] [--long]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from PIL import Image

from flux2_widgets import AsyncFlux2Client, Flux2Client
from flux2_widgets.simulator._remote import RemoteSimulator

KEY = "sk-bench-000000000000"


def decode(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.size


def lag_stats(sim: RemoteSimulator, seen: dict[str, float]) -> float | None:
    """Median seconds between a task's completion (simulator clock) and the client seeing it."""
    due = sim.due()
    lags = [seen_at - due[task_id] for task_id, seen_at in seen.items() if task_id in due]
    return statistics.median(lags) if lags else None


async def ours_async(sim: RemoteSimulator, prompts: list[str]) -> dict[str, float]:
    seen: dict[str, float] = {}
    async with AsyncFlux2Client(KEY, base_url=sim.url) as client:
        def on_update(task):
            if task.done:
                seen[task.id] = time.time()

        async def one(prompt: str) -> None:
            gen = await client.generate(prompt, on_update=on_update)
            await asyncio.to_thread(decode, gen.images[0].data)

        await asyncio.gather(*(one(p) for p in prompts))
    return seen


def ours_sync(sim: RemoteSimulator, prompts: list[str]) -> dict[str, float]:
    seen: dict[str, float] = {}

    def on_update(task):
        if task.done:
            seen[task.id] = time.time()

    with Flux2Client(KEY, base_url=sim.url) as client:
        results = client.generate_many(prompts, on_update=on_update)
    for gen in results:
        decode(gen.images[0].data)
    return seen


async def naive_async(sim: RemoteSimulator, prompts: list[str]) -> dict[str, float]:
    """What a straightforward async client does: fixed 0.25 s polls, then download."""
    seen: dict[str, float] = {}
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=sim.url, headers=headers) as api, httpx.AsyncClient() as cdn:
        async def one(prompt: str) -> str:
            created = (await api.post("/api/v1/flux_2/text_to_image",
                                      json={"model": "flux-2-pro-text-to-image", "prompt": prompt})).json()
            while True:
                await asyncio.sleep(0.25)
                status = (await api.get(f"/api/v1/flux_2/text_to_image/{created['id']}")).json()
                if status["status"] in ("completed", "failed"):
                    seen[created["id"]] = time.time()
                    return status["images"][0]["url"]

        urls = await asyncio.gather(*(one(p) for p in prompts))
        for url in urls:
            decode((await cdn.get(url)).content)
    return seen


def sdk_run(sim: RemoteSimulator, prompt: str) -> None:
    from runapi.flux_2 import Flux2Client as SDKClient

    client = SDKClient(api_key=KEY, base_url=sim.url)
    result = client.text_to_image.run(model="flux-2-pro-text-to-image", prompt=prompt)
    decode(httpx.get(result.images[0].url).content)


def sdk_sequential(sim: RemoteSimulator, prompts: list[str]) -> dict[str, float]:
    for prompt in prompts:
        sdk_run(sim, prompt)
    return {}


def sdk_threads(sim: RemoteSimulator, prompts: list[str]) -> dict[str, float]:
    with ThreadPoolExecutor(len(prompts)) as pool:
        list(pool.map(lambda p: sdk_run(sim, p), prompts))
    return {}


def measure(sim: RemoteSimulator, name: str, fn, prompts: list[str], repeat: int) -> dict[str, object]:
    """Median wall time over ``repeat`` rounds (fresh prompts each round, so no
    render is cached), mean GETs per task, median detection lag."""
    walls, gets, lags = [], [], []
    for round_ in range(repeat):
        sim.reset()
        batch = [f"{p} r{round_}" for p in prompts]
        started = time.perf_counter()
        seen = fn(sim, batch)
        walls.append(time.perf_counter() - started)
        gets.append(sim.count("GET", "/api/v1/flux_2/text_to_image/") / len(batch))
        lag = lag_stats(sim, seen)
        if lag is not None:
            lags.append(lag)
    return {"name": name, "wall": statistics.median(walls), "gets": statistics.mean(gets),
            "lag": statistics.median(lags) if lags else None, "walls": walls}


def long_task(latency: float) -> tuple[int, float]:
    """GETs and detection lag for a second task of ``latency`` s, after a first that taught the client."""
    with RemoteSimulator(latency=latency) as sim, Flux2Client(KEY, base_url=sim.url) as client:
        client.generate("learning round")
        before = sim.count("GET")
        gen = client.generate("measured round")
        return sim.count("GET") - before, gen.completed_at - sim.due()[gen.id]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--long", action="store_true", help="also measure a 30 s task")
    parser.add_argument("--skip-sdk", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per contender (median reported)")
    args = parser.parse_args()
    prompts = [f"benchmark prompt number {i}" for i in range(args.tasks)]
    rows = []
    n = args.repeat
    with RemoteSimulator(latency=args.latency) as sim:
        # Warm-up, not measured: imports, first connections, decoder initialisation.
        asyncio.run(ours_async(sim, ["warm-up prompt"]))
        asyncio.run(naive_async(sim, ["warm-up prompt"]))
        rows.append(measure(sim, "flux2_widgets AsyncFlux2Client",
                            lambda s, p: asyncio.run(ours_async(s, p)), prompts, n))
        rows.append(measure(sim, "flux2_widgets Flux2Client.generate_many", ours_sync, prompts, n))
        rows.append(measure(sim, "plain async, 0.25 s polls",
                            lambda s, p: asyncio.run(naive_async(s, p)), prompts, n))
        if not args.skip_sdk:
            # The SDK takes ~17 s a round one after another: one round is enough.
            rows.append(measure(sim, "runapi-flux-2 SDK run(), sequential", sdk_sequential, prompts, 1))
            rows.append(measure(sim, "runapi-flux-2 SDK run(), 8 threads", sdk_threads, prompts, n))
    print(f"\n{args.tasks} tasks, simulator latency {args.latency:.1f} s each (simulator in its own "
          f"process), images downloaded and decoded; median of {n} rounds\n")
    print(f"{'contender':42} {'wall s':>8} {'vs ours':>8} {'GET/task':>9} {'lag med s':>10}  rounds")
    base = rows[0]["wall"]
    for row in rows:
        lag = f"{row['lag']:.3f}" if row["lag"] is not None else "-"
        rounds = " ".join(f"{w:.2f}" for w in row["walls"])
        print(f"{row['name']:42} {row['wall']:8.3f} {row['wall'] / base:7.2f}x {row['gets']:9.1f} {lag:>10}"
              f"  {rounds}")
    if args.long:
        gets, lag = long_task(30.0)
        print(f"\n30 s task (after one learning task): {gets} GETs, detection lag {lag:.2f} s "
              f"({lag / 30.0:.1%} of latency)")


if __name__ == "__main__":
    main()
