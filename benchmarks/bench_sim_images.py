"""The simulator's pictures: render time per tier and resolution, and what they teach.

Render time (draw + PNG encode, one thread) against the task's latency at the
default speed, then the figures the tests assert on, measured once:
  * difference between takes of one request (mean absolute difference, 0-255);
  * channel means for colour words, luminance for night vs day;
  * edge energy (mean of a 3x3 edge filter) of Pro vs Flex and of 2k vs 1k scaled up.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_sim_images.py
"""

from __future__ import annotations

import io
import statistics
import time

from PIL import Image, ImageChops, ImageFilter, ImageStat

from flux2_widgets.catalog import TYPICAL_LATENCY, pixel_size
from flux2_widgets.simulator._images import RenderSpec, render

PROMPTS = [
    "a red fox curled up in fresh snow, soft morning light",
    "a street food stall in the rain at night, neon signs, 35mm photo",
    "a lighthouse on a cliff at dawn, soft watercolor",
    "an isometric cutaway of a tiny bakery, warm light, lots of detail",
    "a cozy reading nook by a rainy window",
    "a portrait of an old sailor",
    "a teapot, pencil sketch",
]


def picture(prompt: str, tier: str = "pro", resolution: str = "1k", variation: int = 0) -> Image.Image:
    spec = RenderSpec(prompt, tier, resolution, "1:1", pixel_size("1:1", resolution), variation=variation)
    return Image.open(io.BytesIO(render(spec).png)).convert("RGB")


def edge_energy(img: Image.Image) -> float:
    return ImageStat.Stat(img.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def render_times(rounds: int) -> None:
    print(f"{'tier':5} {'res':3}  {'median ms':>9}  {'max ms':>7}  {'PNG KB':>7}  {'latency s':>9}  "
          "render/latency")
    for tier, res in [("pro", "1k"), ("pro", "2k"), ("flex", "1k"), ("flex", "2k"), ("max", "1k")]:
        times, sizes = [], []
        for r in range(rounds):
            for prompt in PROMPTS:
                spec = RenderSpec(prompt, tier, res, "1:1", pixel_size("1:1", res), variation=r)
                start = time.perf_counter()
                png = render(spec).png
                times.append(time.perf_counter() - start)
                sizes.append(len(png))
        latency = TYPICAL_LATENCY[(tier, res)]
        median = statistics.median(times)
        print(f"{tier:5} {res:3}  {median * 1000:9.0f}  {max(times) * 1000:7.0f}  "
              f"{statistics.mean(sizes) / 1024:7.0f}  {latency:9.1f}  {median / latency:.2%}")


def figures() -> None:
    diffs = []
    for prompt in PROMPTS:
        takes = [picture(prompt, variation=v) for v in range(3)]
        diffs += [mean_abs_diff(takes[i], takes[j]) for i, j in ((0, 1), (0, 2), (1, 2))]
    print(f"\ntakes of one request differ by {min(diffs):.1f} to {max(diffs):.1f} (mean abs, 0-255)")
    for colour in ("red", "green", "blue"):
        means = [ImageStat.Stat(picture(f"a {colour} {s}")).mean for s in ("car", "house at noon", "boat")]
        rgb = [round(statistics.mean(m[c] for m in means)) for c in range(3)]
        print(f"'{colour}' prompts: mean R,G,B = {rgb}")
    for subject in ("city street", "fox", "lighthouse"):
        luma = {t: ImageStat.Stat(picture(f"a {subject} {t}").convert("L")).mean[0]
                for t in ("at noon", "at dawn", "at night")}
        print(f"'{subject}' luminance: " + ", ".join(f"{k} {v:.0f}" for k, v in luma.items()))
    print(f"\n{'prompt':40} {'Pro':>5} {'Flex':>5}  {'Pro 2k/1k-up':>13}  {'Flex 2k/1k-up':>14}")
    for prompt in PROMPTS:
        pro, flex = edge_energy(picture(prompt, "pro")), edge_energy(picture(prompt, "flex"))
        ratios = []
        for tier in ("pro", "flex"):
            two_k = picture(prompt, tier, "2k")
            up = picture(prompt, tier, "1k").resize(two_k.size, Image.Resampling.BICUBIC)
            ratios.append(f"{edge_energy(two_k):.2f}/{edge_energy(up):.2f}")
        print(f"{prompt[:40]:40} {pro:5.2f} {flex:5.2f}  {ratios[0]:>13}  {ratios[1]:>14}")


if __name__ == "__main__":
    render(RenderSpec("warm-up", "pro", "1k", "1:1", pixel_size("1:1", "1k")))
    render_times(rounds=3)
    figures()
