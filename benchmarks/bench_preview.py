"""Preview cost on the kernel's side: completion -> thumbnail, and loop blocking.

Measures, for 1k and 2k images from the simulator:
  * thumbnail time per image (decode + reduce + JPEG encode), made off the loop;
  * the longest stall of the event loop while 8 previews are made at once
    (a 5 ms ticker on the loop records how late it wakes);
  * the thumbnail's size against the full PNG (what a saved notebook carries).

    .venv/bin/python benchmarks/bench_preview.py
"""

from __future__ import annotations

import asyncio
import statistics
import time

from _probe import loop_stall_during

from flux2_widgets import AsyncFlux2Client
from flux2_widgets._thumbs import make_thumbnail, off_loop
from flux2_widgets.simulator import Simulator

KEY = "sk-bench-000000000000"


async def main() -> None:
    with Simulator(latency=0.05) as sim:
        async with AsyncFlux2Client(KEY, base_url=sim.url) as client:
            print("loop max stall while 8 previews are made: on the preview thread (what the widgets use)\n"
                  "vs asyncio.to_thread (the default pool), side by side\n")
            print(f"{'image':10} {'PNG KB':>7} {'thumb KB':>9} {'thumb ms':>9} {'stall ms':>9} "
                  f"{'stall ms, to_thread':>20}")
            for tier, res in (("pro", "1k"), ("flex", "1k"), ("pro", "2k"), ("flex", "2k")):
                gens = await client.generate_many(
                    [{"prompt": f"preview probe {i} {tier} {res}", "tier": tier, "resolution": res}
                     for i in range(8)])
                datas = [g.images[0].data for g in gens]
                times = []
                for data in datas:
                    started = time.perf_counter()
                    thumb, _ = await off_loop(make_thumbnail, data)
                    times.append(time.perf_counter() - started)

                async def on_preview_thread(datas=datas):
                    return await asyncio.gather(*(off_loop(make_thumbnail, d) for d in datas))

                async def on_default_pool(datas=datas):
                    return await asyncio.gather(*(asyncio.to_thread(make_thumbnail, d) for d in datas))

                stall, _, _ = await loop_stall_during(on_preview_thread)
                naive, _, _ = await loop_stall_during(on_default_pool)
                print(f"{tier + ' ' + res:10} {statistics.mean(len(d) for d in datas) / 1024:7.0f} "
                      f"{len(thumb) / 1024:9.1f} {statistics.median(times) * 1000:9.1f} "
                      f"{stall * 1000:9.1f} {naive * 1000:20.1f}")


if __name__ == "__main__":
    asyncio.run(main())
