"""A big 2k sweep into a store: how much the kernel grows, whatever the count.

Each contender runs in a fresh process (so its peak memory is its own) against the simulator in
a process of its own: 100 and 500 Pro 2k images streamed with ``as_completed`` into a results
folder (each result's bytes released once in its file), and, for contrast, 100 held in memory by
``generate_many`` without a store. Growth = peak RSS after the sweep - RSS before it.

    python benchmarks/bench_sweep.py            # 100 and 500 (about 4 minutes here)
    python benchmarks/bench_sweep.py --quick    # 50 and 100
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time

from flux2_widgets.simulator._remote import RemoteSimulator

RUN = textwrap.dedent('''
    import json, resource, sys, time
    from flux2_widgets import Flux2Client, ImageRequest, PollPolicy, ResultStore
    url, n, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    store = ResultStore(folder) if folder else None
    reqs = [ImageRequest(f"a lighthouse on a cliff at dawn, take {i}", resolution="2k") for i in range(n)]
    client = Flux2Client(api_key="sk-bench", base_url=url, store=store, max_concurrency=8,
                         poll=PollPolicy(first=0.05, min_interval=0.02))
    client.generate("warm up the pools and the imports", resolution="2k")
    def rss():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize()
    before = rss()
    start = time.monotonic()
    kept = []
    if store is not None:
        for gen in client.as_completed(reqs, progress=False):
            kept.append(gen)  # the results are kept (a user's list): only their bytes are released
    else:
        kept = client.generate_many(reqs, progress=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ok = sum(not isinstance(g, Exception) for g in kept)
    size = sum(len(g.images[0].data) for g in kept[:5] if not isinstance(g, Exception)) / 5
    print(json.dumps({"n": n, "ok": ok, "seconds": time.monotonic() - start,
                      "growth": max(peak, rss()) - before, "image_bytes": size}))
''')


def run(url: str, n: int, store: bool) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = subprocess.run([sys.executable, "-c", RUN, url, str(n), folder if store else ""],
                             capture_output=True, text=True, timeout=1800, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = (50, 100) if args.quick else (100, 500)
    with RemoteSimulator(latency=0.05) as sim:
        rows = [("store, as_completed", n, run(sim.url, n, True)) for n in sizes]
        rows.append(("no store, generate_many (all in memory)", sizes[0], run(sim.url, sizes[0], False)))
    print("| 2k sweep | images | kernel growth | per image | wall |")
    print("|---|---|---|---|---|")
    for name, n, r in rows:
        print(f"| {name} | {r['ok']}/{n} | {r['growth'] / 1e6:.0f} MB | {r['growth'] / n / 1e3:.0f} kB | "
              f"{r['seconds']:.0f} s |")
    print(f"(one 2k image is about {rows[0][2]['image_bytes'] / 1e6:.1f} MB as a PNG)")


if __name__ == "__main__":
    t = time.time()
    main()
    print(f"({time.time() - t:.0f} s in all)")
