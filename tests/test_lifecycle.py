"""Models and views dropped on ended loops: nothing a finalizer reaches starts a thread, a loop
or a wait, so a script that built hundreds of them still exits.

ipywidgets' ``Widget.__del__`` calls ``close()``. Before the run model, a Studio dropped after
the ``asyncio.run`` it was built in had ended made its close start a private loop thread from
inside the garbage collector and wait for it; at interpreter exit a thread can no longer start,
so the script never exited. This runs the pattern a hundred times in a subprocess, with a
deadline, under ``gc.collect()`` pressure, leaving some to die at interpreter exit.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent('''
    import asyncio, gc, sys, threading
    from flux2_widgets import AsyncFlux2Client, Flux2Client, ImageRequest, Simulator, Studio, compare_tiers
    from flux2_widgets.runs import Run

    sim = Simulator(latency=0.05).start()
    kept = []  # some survive their loop, to be collected later, and the last ones only at exit
    rounds = int(sys.argv[1])

    async def one(i):
        client = AsyncFlux2Client(api_key="sk-drop", base_url=sim.url, simulated=True)
        studio = Studio(client, prompt="a lighthouse on a cliff", n_images=1)
        if i % 3 == 0:
            studio.generate()          # work in flight when the loop ends
        if i % 4 == 0:
            cmp = compare_tiers("a red fox in fresh snow", client=client)
            cmp.view()
            if i % 8 == 0:
                kept.append(cmp)
        if i % 5 == 0:
            kept.append(studio)
        await asyncio.sleep(0)          # dropped without close(), and the loop ends

    before = threading.active_count()
    for i in range(rounds):
        asyncio.run(one(i))
        if i % 7 == 0:
            gc.collect()
        if i % 25 == 0 and i < rounds - 25:
            kept.clear()
            gc.collect()
    if sys.argv[2] == "plain":
        # plain code too: runs on the background loop, dropped mid-flight
        client = Flux2Client(api_key="sk-drop", base_url=sim.url, simulated=True)
        for _ in range(20):
            Run(ImageRequest("a teapot, watercolor"), client).start()
    gc.collect()
    names = sorted({t.name.rstrip("0123456789_-") for t in threading.enumerate()})
    print("threads", threading.active_count() - before, names, flush=True)
''')


@pytest.mark.parametrize("also", ["loops", "plain"])
def test_hundreds_of_dropped_studios_and_comparisons_never_hang_the_process(tmp_path, also):
    done = subprocess.run([sys.executable, "-c", SCRIPT, "60", also], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Exception ignored" not in done.stderr, done.stderr[-3000:]
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("threads"))
    # a fixed handful of worker threads (simulator, background loop, disk and preview workers),
    # never one per dropped Studio
    assert int(line.split()[1]) <= 12, line
