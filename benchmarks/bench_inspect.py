"""The expert tools on the kernel's side: how long they take and whether the loop stalls.

For a Pro 1k vs 2k pair from the simulator, measures in one run:
  * the Inspector: previews made, one full-size answer, the 1k-vs-2k difference heatmap
    (all on the image thread), with the event loop's longest stall meanwhile (a 5 ms ticker);
  * the Inspector's widget state (what a saved notebook keeps) against the originals' bytes;
  * History: reading 40 sidecars and making their card previews, with the loop's longest stall;
  * to_image() of a 2 x 2 grid (a blocking call the user makes).

    .venv/bin/python benchmarks/bench_inspect.py
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time

from _probe import loop_stall_during

from flux2_widgets import AsyncFlux2Client, History, ResultStore, compare_grid, compare_resolutions
from flux2_widgets.simulator import Simulator

KEY = "sk-bench-000000000000"


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder, Simulator(latency=0.05) as sim:
        store = ResultStore(folder)
        async with AsyncFlux2Client(KEY, base_url=sim.url, store=store) as client:
            duel = await compare_resolutions("a lighthouse at dawn, rope detail", tier="pro", client=client)

            async def inspector_work():
                insp = duel.inspect()
                insp.send = lambda content, buffers=None: None  # no front end here
                await asyncio.wrap_future(insp._jobs[0])
                insp._on_front_end(insp, {"type": "full", "index": 1}, [])
                insp._on_front_end(insp, {"type": "diff", "pair": [0, 1]}, [])
                for job in list(insp._jobs):
                    await asyncio.wrap_future(job)
                return insp

            stall, wall, insp = await loop_stall_during(inspector_work)
            state = json.dumps(insp.get_state(), default=str)
            originals = sum(len(g.images[0].data) for g in duel.generations)
            print(f"Inspector previews + full-size answer + 1k/2k diff: {wall * 1000:.0f} ms, "
                  f"loop max stall {stall * 1000:.1f} ms")
            print(f"Inspector state {len(state) / 1024:.0f} KB (code {len(insp._esm) / 1024:.0f} KB) "
                  f"vs originals {originals / 1024:.0f} KB")

            await client.generate_many([{"prompt": f"history probe {i}", "tier": "pro"} for i in range(38)])
            history = History(store.root, load=False)

            async def history_work():
                await history.aload()
                return [await history.athumbnail(e) for e in history.entries]

            stall, wall, thumbs = await loop_stall_during(history_work)
            print(f"History: {len(history.entries)} sidecars read and {len(thumbs)} card previews: "
                  f"{wall * 1000:.0f} ms, loop max stall {stall * 1000:.1f} ms")

            grid = await compare_grid(["a red fox", "a blue whale"], tiers=("pro", "flex"), client=client)
            started = time.perf_counter()
            img = grid.to_image()
            print(f"to_image of a 2 x 2 grid at 512 px: {img.size[0]}x{img.size[1]} in "
                  f"{(time.perf_counter() - started) * 1000:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
