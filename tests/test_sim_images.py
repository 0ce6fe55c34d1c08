"""The simulator's pictures teach what a comparison is about: measured on the pixels.

Each property is measured, not eyeballed: variety within a batch (mean absolute
difference), colour words (channel means), light words (luminance), Flex vs Pro
and 2k vs 1k (edge energy), remix (correlation with the source), determinism
(bytes). Most run the renderer directly (fast); the batch and determinism ones
go through the real simulator over HTTP, as a user's client would.
"""

from __future__ import annotations

import io
import math

import httpx
import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat

from flux2_widgets.catalog import pixel_size
from flux2_widgets.simulator._images import RenderSpec, SourceRef, render
from flux2_widgets.simulator._scene import COLOURS, LIGHTS, read_prompt

PROMPTS = [
    "a red fox curled up in fresh snow, soft morning light",
    "a lighthouse on a cliff at dawn",
    "a mountain hut under stars",
    "a boat in the harbour at sunset",
    "benchmark prompt number 3",
]


def picture(prompt: str, tier: str = "pro", resolution: str = "1k", ratio: str = "1:1", *,
            variation: int = 0, sources: tuple[SourceRef, ...] = ()) -> Image.Image:
    spec = RenderSpec(prompt, tier, resolution, ratio, pixel_size(ratio, resolution),
                      variation=variation, sources=sources)
    return Image.open(io.BytesIO(render(spec).png)).convert("RGB")


def scene(img: Image.Image) -> Image.Image:
    """The picture without the caption band at the bottom."""
    return img.crop((0, 0, img.width, int(img.height * 0.9)))


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b.resize(a.size))).mean) / 3


def edge_energy(img: Image.Image) -> float:
    """Mean response of a 3x3 edge filter: high for crisp edges and fine detail."""
    return ImageStat.Stat(scene(img).convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]


def correlation(a: Image.Image, b: Image.Image) -> float:
    """Pearson correlation of two images' grey levels at 64x64."""
    xs = list(a.convert("L").resize((64, 64), Image.Resampling.BOX).tobytes())
    ys = list(b.convert("L").resize((64, 64), Image.Resampling.BOX).tobytes())
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    vx, vy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
    return cov / math.sqrt(vx * vy)


# -- reading the prompt ---------------------------------------------------------------
def test_prompt_words_pick_colours_light_subjects_and_ground() -> None:
    s = read_prompt("A red fox and a blue car in the snow at golden hour")
    assert s.colours == (COLOURS["red"], COLOURS["blue"])
    assert s.light is LIGHTS["golden"] and s.subjects == ("fox", "car") and s.ground == "snow"
    # "golden hour" is a light, not the colour gold; unknown words change nothing.
    assert read_prompt("golden hour over the zorblax").colours == ()
    neutral = read_prompt("benchmark prompt number 3")
    assert (neutral.colours, neutral.light, neutral.subjects, neutral.ground) == ((), LIGHTS["day"], (), None)
    assert read_prompt("street food stall at night, neon signs").light is LIGHTS["night"]
    assert read_prompt("cyberpunk alley, neon glow").light is LIGHTS["neon"]


# -- variety and determinism --------------------------------------------------------------
@pytest.mark.parametrize("prompt", PROMPTS[:3])
def test_each_variation_is_its_own_picture(prompt: str) -> None:
    takes = [picture(prompt, variation=v) for v in range(3)]
    diffs = [mean_abs_diff(takes[i], takes[j]) for i, j in ((0, 1), (0, 2), (1, 2))]
    assert min(diffs) > 12, diffs


def test_one_task_always_gives_the_same_bytes() -> None:
    spec = RenderSpec(PROMPTS[0], "flex", "1k", "4:3", pixel_size("4:3", "1k"), variation=2)
    assert render(spec).png == render(spec).png


def test_a_batch_through_the_simulator_gives_different_takes_and_reruns_repeat(sim, client) -> None:
    batch = client.generate_many([{"prompt": PROMPTS[1], "aspect_ratio": "1:1"}] * 3)
    images = [Image.open(io.BytesIO(g.image.data)).convert("RGB") for g in batch]
    diffs = [mean_abs_diff(images[i], images[j]) for i, j in ((0, 1), (0, 2), (1, 2))]
    assert min(diffs) > 12, diffs
    # Same task, same picture: downloading again gives the same bytes...
    assert httpx.get(batch[0].image.url).content == batch[0].image.data
    # ...and a fresh simulator with the same seed makes the same batch again.
    sim.reset()
    rerun = client.generate_many([{"prompt": PROMPTS[1], "aspect_ratio": "1:1"}] * 3)
    assert sorted(g.image.data for g in rerun) == sorted(g.image.data for g in batch)


# -- what the words steer ------------------------------------------------------------------
@pytest.mark.parametrize("subject", ["car", "house at noon", "abstract shapes", "boat"])
def test_colour_words_set_the_palette(subject: str) -> None:
    red = ImageStat.Stat(picture(f"a red {subject}")).mean
    blue = ImageStat.Stat(picture(f"a blue {subject}")).mean
    green = ImageStat.Stat(picture(f"a green {subject}")).mean
    assert red[0] > red[2] + 20, red
    assert blue[2] > blue[0] + 20, blue
    assert green[1] > max(green[0], green[2]) + 10, green


@pytest.mark.parametrize("subject", ["city street", "fox", "mountain hut", "lighthouse"])
def test_night_is_darker_than_day(subject: str) -> None:
    def luma(prompt: str) -> float:
        return ImageStat.Stat(scene(picture(prompt)).convert("L")).mean[0]

    night, day = luma(f"a {subject} at night"), luma(f"a {subject} at noon")
    assert night < 0.6 * day, (night, day)
    assert luma(f"a {subject} at dawn") > night


# -- tiers and resolutions ------------------------------------------------------------------
@pytest.mark.parametrize("prompt", PROMPTS)
def test_flex_has_crisper_edges_and_more_detail_than_pro(prompt: str) -> None:
    pro, flex = picture(prompt, "pro"), picture(prompt, "flex")
    assert edge_energy(flex) > 1.25 * edge_energy(pro), (edge_energy(flex), edge_energy(pro))
    # Same take, same scene: the tiers differ in detail (Pro: fewer elements), not in layout.
    assert correlation(pro, flex) > 0.85


@pytest.mark.parametrize("tier", ["pro", "flex"])
@pytest.mark.parametrize("prompt", [PROMPTS[0], PROMPTS[2], PROMPTS[3]])
def test_2k_holds_detail_that_1k_scaled_up_does_not(prompt: str, tier: str) -> None:
    two_k = picture(prompt, tier, "2k")
    one_k_up = picture(prompt, tier, "1k").resize(two_k.size, Image.Resampling.BICUBIC)
    assert edge_energy(two_k) > 1.2 * edge_energy(one_k_up), (edge_energy(two_k), edge_energy(one_k_up))
    assert correlation(two_k, one_k_up) > 0.9  # same scene, finer


# -- remix ------------------------------------------------------------------------------------
@pytest.mark.parametrize("tier", ["pro", "flex"])
def test_remix_keeps_its_source_composition(tier: str) -> None:
    size = pixel_size("4:3", "1k")
    prompts = ("a plain white ceramic mug on a wooden table", "a boat in the harbour at sunset",
               "a red fox in fresh snow")
    sources = [render(RenderSpec(p, "pro", "1k", "4:3", size)) for p in prompts]
    originals = [Image.open(io.BytesIO(s.png)).convert("RGB") for s in sources]
    for i, source in enumerate(sources):
        for prompt in ("the same, glazed deep blue", "the same scene at night", "make it a watercolor"):
            remix = picture(prompt, tier, ratio="4:3",
                            sources=(SourceRef("http://127.0.0.1:1/images/task_x/0.png", source.thumb),))
            # Compare away from the source panel drawn down the left edge.
            right = (remix.width // 3, 0, remix.width, int(remix.height * 0.9))
            scores = [correlation(remix.crop(right), o.crop(right)) for o in originals]
            own = scores.pop(i)
            assert own > 0.75 and own > max(scores) + 0.2, (prompt, own, scores)
