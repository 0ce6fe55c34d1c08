"""The simulator's pictures teach what a comparison is about: measured on the pixels.

Each property is measured, not eyeballed: variety within a batch (mean absolute
difference), colour words (channel means), light words (luminance), Flex vs Pro
and 2k vs 1k (edge energy), remix (correlation with the source), determinism
(bytes). Most run the renderer directly (fast); the batch and determinism ones
go through the real simulator over HTTP, as a user's client would.

Every prompt the notebooks, the README and the CLI's help text generate from is
listed in ``TAUGHT`` with the subject a class must recognise, and each subject has
a measurement that a blob or a wrong picture fails: snow is bright and neutral,
a lighthouse's roof is inside the frame with sky above it, an old sailor has a
light-grey beard, a teapot has a body with a handle loop on one side and a thin
spout on the other, and so on. They measure the picture under the SIMULATED
watermark, which is known exactly and taken off first (``clean``).
"""

from __future__ import annotations

import ast
import io
import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageMath, ImageStat

from flux2_widgets.catalog import pixel_size
from flux2_widgets.simulator._images import RenderSpec, SourceRef, render, watermark_mask
from flux2_widgets.simulator._scene import COLOURS, LIGHTS, read_prompt

ROOT = Path(__file__).resolve().parent.parent

PROMPTS = [
    "a red fox curled up in fresh snow, soft morning light",
    "a lighthouse on a cliff at dawn",
    "a mountain hut under stars",
    "a boat in the harbour at sunset",
    "benchmark prompt number 3",
]

#: Every text-to-image prompt in ``notebooks/*.ipynb``, the README and the CLI's help,
#: with what a class must see in it (the test below keeps this list complete).
#: Remix prompts ("the same mug, glazed deep blue...") restyle their source instead:
#: the remix tests check they keep its composition.
TAUGHT: dict[str, str] = {
    "a lighthouse on a cliff at dawn, soft watercolor": "lighthouse",
    "a red fox curled up in fresh snow, soft morning light": "fox in snow",
    "a street food stall in the rain at night, neon signs, 35mm photo": "food stall",
    "an isometric cutaway of a tiny bakery, warm light, lots of detail": "bakery",
    "a lighthouse in a storm": "lighthouse",
    "a quiet library at night": "library",
    "a desert road at noon": "desert road",
    "a koi pond in autumn": "koi pond",
    "a mountain hut under stars": "hut under stars",
    "a busy harbour at dawn": "harbour",
    "a cozy reading nook by a rainy window": "reading nook",
    "a cozy reading nook by a rainy window, warm lamp light, shallow depth of field, film photo":
        "reading nook",
    "a plain white ceramic mug on a wooden table, studio photo": "mug",
    "a sunlit kitchen shelf with potted herbs": "herb shelf",
    "a paper boat on a pond, night, lanterns": "paper boat",
    "a paper boat in a storm": "paper boat",
    "a paper boat at sunset": "paper boat",
    "a paper boat in a queue": "paper boat",
    "a paper boat, answer lost in the mail": "paper boat",
    "a lighthouse on a cliff at dawn, rigging and rope detail": "lighthouse",
    "a red fox in fresh snow, backlit fur": "fox in snow",
    "a red fox in fresh snow": "fox in snow",
    "a bowl of ramen, steam": "ramen",
    "a city street at night, rain": "city in rain",
    "a hand holding a pocket watch": "pocket watch",
    "a portrait of an old sailor": "old sailor",
    "a teapot, studio photo": "teapot",
    "a teapot, watercolor": "teapot",
    "a teapot, pencil sketch": "teapot",
    "a lighthouse at dawn": "lighthouse",
    "a red fox in snow": "fox in snow",
    "a lighthouse on a cliff at dawn": "lighthouse",
}
#: Prompts the sources use that never reach the renderer.
NOT_DRAWN = {"hi": "refused before sending: the teaching notebook's validation example"}


def picture(prompt: str, tier: str = "pro", resolution: str = "1k", ratio: str = "1:1", *,
            variation: int = 0, sources: tuple[SourceRef, ...] = ()) -> Image.Image:
    spec = RenderSpec(prompt, tier, resolution, ratio, pixel_size(ratio, resolution),
                      variation=variation, sources=sources)
    return Image.open(io.BytesIO(render(spec).png)).convert("RGB")


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b.resize(a.size))).mean) / 3


def edge_energy(img: Image.Image) -> float:
    """Mean response of a 3x3 edge filter: high for crisp edges and fine detail."""
    return ImageStat.Stat(img.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]


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
        return ImageStat.Stat(picture(prompt).convert("L")).mean[0]

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


# -- the list of taught prompts is complete ------------------------------------------------------
_GENERATORS = {"generate", "compare_tiers", "compare_resolutions", "compare_prompts", "compare_grid",
               "Studio"}
#: Names the notebooks give lists of prompts that a comparison then runs over.
_PROMPT_LISTS = {"prompts", "styles"}


def _prompts_in_code(source: str) -> set[str]:
    """String prompts passed to the generating calls of a Python snippet (remixes left out)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in _GENERATORS or any(k.arg == "source_image_urls" for k in node.keywords):
                continue
            args = [*node.args, *(k.value for k in node.keywords if k.arg == "prompt")]
            for arg in args:
                items = arg.elts if isinstance(arg, (ast.List, ast.Tuple)) else [arg]
                found |= {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)}
        if isinstance(node, ast.Dict):  # generate_many([{"prompt": ...}]) without a source
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            if "prompt" in keys and "source_image_urls" not in keys:
                value = node.values[keys.index("prompt")]
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.add(value.value)
        named = {t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)}
        if isinstance(node, ast.Assign) and named & _PROMPT_LISTS and isinstance(node.value, ast.List):
            found |= {i.value for i in node.value.elts if isinstance(i, ast.Constant)}
    return found


def taught_prompts() -> set[str]:
    found: set[str] = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                found |= _prompts_in_code("".join(cell["source"]))
    readme = (ROOT / "README.md").read_text()
    for block in re.findall(r"```python\n(.*?)```", readme, re.S):
        found |= _prompts_in_code(block)
    cli = (ROOT / "flux2_widgets" / "cli.py").read_text()
    for text in (readme, cli):
        found |= set(re.findall(r'flux2-widgets (?:generate|compare) "([^"]+)"', text))
    return found


def test_every_prompt_the_notebooks_readme_and_cli_use_is_listed() -> None:
    found = taught_prompts()
    assert len(found) >= 25, sorted(found)  # the scan itself works
    assert found - set(TAUGHT) - set(NOT_DRAWN) == set()
    assert set(TAUGHT) - found == set(), "listed prompts no source uses any more"


# -- the image names no tier ---------------------------------------------------------------------
def test_the_picture_names_no_tier_resolution_or_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    # A simulated blind test must be a real one: the only words on an image are the
    # watermark that says it is simulated.
    written: list[str] = []
    original = ImageDraw.ImageDraw.text

    def spy(self: ImageDraw.ImageDraw, xy: object, text: str, *args: object, **kwargs: object) -> None:
        written.append(text)
        original(self, xy, text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", spy)
    watermark_mask.cache_clear()
    for tier, res in (("pro", "1k"), ("flex", "2k"), ("max", "1k")):
        picture("a teapot, studio photo", tier, res)
    assert written and set(written) == {"SIMULATED"}, written


def test_taking_the_watermark_off_gives_the_drawing_back() -> None:
    img = picture("a teapot, studio photo", "flex")
    mask, offset = watermark_mask(img.size)
    letters = Image.new("L", img.size, 0)
    letters.paste(mask.point(lambda v: 255 if v >= 100 else 0), offset)
    around = Image.new("L", img.size, 0)  # a rim just outside the letters
    around.paste(mask.point(lambda v: 255 if v else 0).filter(ImageFilter.MaxFilter(9)), offset)
    around = ImageChops.subtract(around, letters.filter(ImageFilter.MaxFilter(3)))

    def strokes(im: Image.Image) -> float:  # how much lighter the letters are than what is round them
        grey = im.convert("L")
        return ImageStat.Stat(grey, letters).mean[0] - ImageStat.Stat(grey, around).mean[0]

    assert strokes(img) > 20  # the watermark is there...
    assert abs(strokes(clean(img))) < 0.15 * strokes(img)  # ...and taken off, the drawing under it is back


# -- measuring what a picture shows -------------------------------------------------------------------
RGB = tuple[int, int, int]
#: A box as shares of a picture's width and height: left, top, right, bottom.
Share = tuple[float, float, float, float]


def clean(img: Image.Image) -> Image.Image:
    """The picture under the SIMULATED watermark: white pasted at a known opacity, undone."""
    mask, offset = watermark_mask(img.size)
    alpha = Image.new("L", img.size, 0)
    alpha.paste(mask, offset)

    def undo(a: dict) -> object:
        x = (a["float"](a["band"]) - a["m"]) * 255 / (255 - a["float"](a["m"])) + 0.5
        return a["min"](a["max"](x, 0), 255)

    return Image.merge("RGB", [ImageMath.lambda_eval(undo, band=band, m=alpha).convert("L")
                               for band in img.split()])


def luma(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def saturation(c: RGB) -> float:
    return (max(c) - min(c)) / max(1, max(c))


def pieces(cells: set[int], width: int) -> list[set[int]]:
    """4-connected pieces of ``cells`` (indices into rows ``width`` long), largest first."""
    seen: set[int] = set()
    out = []
    for start in cells:
        if start in seen:
            continue
        piece, todo = set(), [start]
        seen.add(start)
        while todo:
            i = todo.pop()
            piece.add(i)
            x = i % width
            for j in (i - width, i + width, i - 1 if x else -1, i + 1 if x < width - 1 else -1):
                if j >= 0 and j in cells and j not in seen:
                    seen.add(j)
                    todo.append(j)
        out.append(piece)
    return sorted(out, key=len, reverse=True)


class Grid:
    """A picture shrunk to ``width`` pixels across, as a flat list of RGB cells."""

    def __init__(self, img: Image.Image, width: int = 256) -> None:
        self.w, self.h = width, round(img.height * width / img.width)
        data = img.resize((self.w, self.h), Image.Resampling.BOX).tobytes()
        self.px: list[RGB] = [(data[i], data[i + 1], data[i + 2]) for i in range(0, len(data), 3)]

    def cells(self, test: Callable[[RGB], bool], box: Share = (0, 0, 1, 1)) -> set[int]:
        """Cells whose colour passes ``test`` inside ``box`` (shares of width and height)."""
        x0, x1 = int(box[0] * self.w), int(box[2] * self.w)
        y0, y1 = int(box[1] * self.h), int(box[3] * self.h)
        return {i for y in range(y0, y1) for x in range(x0, x1) if test(self.px[i := y * self.w + x])}

    def background(self, y: int, band: tuple[float, float] = (0.0, 0.06)) -> RGB:
        """Row ``y``'s background: the median colour of a band of columns at each side."""
        a, b = max(0, int(band[0] * self.w)), max(int(band[0] * self.w) + 2, int(band[1] * self.w))
        row = self.px[y * self.w:(y + 1) * self.w]
        side = row[a:b] + row[self.w - b:self.w - a]
        r, g, bl = (sorted(ch)[len(side) // 2] for ch in zip(*side, strict=True))
        return r, g, bl

    def standing_out(self, threshold: int = 40, band: tuple[float, float] = (0.0, 0.06)) -> set[int]:
        """Cells unlike their row's background (see ``background``)."""
        out = set()
        for y in range(self.h):
            bg = self.background(y, band)
            out |= {y * self.w + x for x, c in enumerate(self.px[y * self.w:(y + 1) * self.w])
                    if max(abs(c[0] - bg[0]), abs(c[1] - bg[1]), abs(c[2] - bg[2])) > threshold}
        return out

    def opened(self, cells: set[int], r: int = 2) -> set[int]:
        """``cells`` without the lines thinner than ``2r + 1`` rows (ripples on water)."""
        core = {i for i in cells if all(i + k * self.w in cells for k in range(-r, r + 1))}
        return {i + k * self.w for i in core for k in range(-r, r + 1)}

    def components(self, cells: set[int]) -> list[set[int]]:
        return pieces(cells, self.w)

    def box(self, piece: set[int]) -> tuple[int, int, int, int]:
        xs, ys = [i % self.w for i in piece], [i // self.w for i in piece]
        return min(xs), min(ys), max(xs), max(ys)

    def width_at(self, piece: set[int], share: float) -> int:
        """How wide ``piece`` is on the row ``share`` of the way down its box."""
        _x0, y0, _x1, y1 = self.box(piece)
        y = y0 + round((y1 - y0) * share)
        xs = [i % self.w for i in piece if i // self.w == y]
        return max(xs) - min(xs) + 1 if xs else 0

    def holes(self, piece: set[int]) -> list[set[int]]:
        """Background enclosed by ``piece``: regions of its box that do not reach the box's edge."""
        x0, y0, x1, y1 = self.box(piece)
        inside = {y * self.w + x for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)} - piece
        return [r for r in self.components(inside)
                if not any(i % self.w in (x0, x1) or i // self.w in (y0, y1) for i in r)]


def thin_bright_lines(img: Image.Image, box: tuple[int, int, int, int], rise: int = 12) -> float:
    """Share of pixels in ``box`` on a thin bright line (rain): brighter than the pixels
    two to either side by ``rise``."""
    grey = img.convert("L").crop(box)
    sides = ImageChops.lighter(ImageChops.offset(grey, 2, 0), ImageChops.offset(grey, -2, 0))
    hist = ImageChops.subtract(grey, sides).histogram()
    return sum(hist[rise:]) / (grey.width * grey.height)


#: The takes each subject is measured on: both tiers, three takes of a batch.
TAKES = (("pro", 0), ("flex", 1), ("pro", 2))


def takes(prompt: str, ratio: str = "1:1") -> list[Image.Image]:
    """Three takes of ``prompt`` across both tiers, the watermark off."""
    return [clean(picture(prompt, tier, ratio=ratio, variation=v)) for tier, v in TAKES]


def is_red(c: RGB) -> bool:
    return c[0] > 110 and c[0] > 1.5 * c[1] and c[0] > 1.5 * c[2]


def is_fox(c: RGB) -> bool:
    return c[0] > 150 and c[0] - c[2] > 100 and 40 < c[1] < 0.75 * c[0]


def is_gold(c: RGB) -> bool:
    return c[0] > 170 and c[1] > 120 and c[2] < 100 and c[0] - c[2] > 100 and c[1] - c[2] > 50


def is_orange(c: RGB) -> bool:
    return c[0] > 180 and 60 < c[1] < 170 and c[2] < 100 and c[0] - c[1] > 60


def is_glass(c: RGB) -> bool:
    return c[2] > c[0] + 10 and 60 < luma(c) < 245


def is_clay(c: RGB) -> bool:
    return 160 < c[0] < 240 and 70 < c[1] < 140 and c[2] < 110 and c[0] - c[1] > 55 and c[0] - c[2] > 80


def is_leafy(c: RGB) -> bool:
    return c[1] > c[0] + 25 and c[1] > c[2] + 10


def elongation(g: Grid, piece: set[int]) -> float:
    """Long axis over short axis of ``piece`` (second moments): 1 for a disc, about 3 for a fish."""
    xs, ys = [i % g.w for i in piece], [i // g.w for i in piece]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cxx = sum((x - mx) ** 2 for x in xs) / len(xs)
    cyy = sum((y - my) ** 2 for y in ys) / len(ys)
    cxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / len(xs)
    half, root = (cxx + cyy) / 2, math.sqrt(max(0.0, ((cxx - cyy) / 2) ** 2 + cxy * cxy))
    return math.sqrt((half + root) / max(half - root, 1e-6))


def dots(img: Image.Image, box: tuple[int, int, int, int], rise: int = 50) -> int:
    """How many small bright points (stars) ``box`` holds: spots ``rise`` brighter than around them."""
    grey = img.convert("L").crop(box)
    spots = ImageChops.subtract(grey, grey.filter(ImageFilter.BoxBlur(4))).point(lambda v: 255 * (v > rise))
    lit = {i for i, v in enumerate(spots.tobytes()) if v}
    return sum(1 for piece in pieces(lit, spots.width) if len(piece) <= 40)


_ASKED: set[str] = set()


def measured(*subjects: str) -> list[str]:
    """The taught prompts of ``subjects`` (and a note that a test measures them)."""
    _ASKED.update(subjects)
    return [p for p, s in TAUGHT.items() if s in subjects]


def red_runs(g: Grid, red: set[int], x: int) -> int:
    """How many separate red stretches column ``x`` crosses."""
    col = [y * g.w + x in red for y in range(g.h)]
    return sum(1 for y in range(g.h) if col[y] and (y == 0 or not col[y - 1]))


def column_cover(g: Grid, piece: set[int], a: float, b: float) -> float:
    """How much of a band of its box's columns (``a`` to ``b`` across) ``piece`` fills."""
    x0, y0, x1, y1 = g.box(piece)
    cols = range(x0 + int(a * (x1 - x0 + 1)), x0 + int(b * (x1 - x0 + 1)))
    return sum(1 for i in piece if i % g.w in cols) / (len(cols) * (y1 - y0 + 1))


def row_tone(g: Grid, piece: set[int], a: float, b: float) -> float:
    """Mean brightness of ``piece`` in a band of its box's rows (``a`` to ``b`` down)."""
    _x0, y0, _x1, y1 = g.box(piece)
    rows = range(y0 + int(a * (y1 - y0)), y0 + int(b * (y1 - y0)) + 1)
    part = [luma(g.px[i]) for i in piece if i // g.w in rows]
    return sum(part) / len(part)


def test_every_taught_subject_is_measured() -> None:
    assert set(TAUGHT.values()) <= _ASKED, set(TAUGHT.values()) - _ASKED


# -- what a class must see ---------------------------------------------------------------------------
@pytest.mark.parametrize("prompt", measured("fox in snow"))
def test_snow_is_white_ground_whatever_the_light_and_the_fox_is_on_it(prompt: str) -> None:
    for img in takes(prompt):
        g = Grid(img)
        near = g.px[int(g.h * 0.95) * g.w:]  # the ground nearest the viewer, under everything
        ground = tuple(sorted(ch)[len(near) // 2] for ch in zip(*near, strict=True))
        assert luma(ground) > 200 and saturation(ground) < 0.1, ground  # white, not pink
        fox = g.components(g.cells(is_fox))
        assert fox and len(fox[0]) > 0.015 * g.w * g.h, [len(f) for f in fox[:3]]


@pytest.mark.parametrize("ratio", ["1:1", "16:9", "9:16"])
@pytest.mark.parametrize("prompt", measured("lighthouse"))
def test_a_lighthouse_stands_whole_in_the_frame_with_sky_above_it(prompt: str, ratio: str) -> None:
    for img in takes(prompt, ratio):
        g = Grid(img)
        red = g.cells(is_red)
        runs = [red_runs(g, red, x) for x in range(g.w)]
        tower = runs.index(max(runs))
        assert runs[tower] >= 3, runs[tower]  # three bands (and the roof) down one column: a lighthouse
        near = [i for i in red if abs(i % g.w - tower) <= 0.04 * g.w]
        top = min(i // g.w for i in near)
        assert top >= 0.05 * g.h, (top, g.h)  # the roof is inside the frame...
        roof = [sum(1 for i in near if i // g.w == y) for y in range(top, top + 6)]
        assert roof[0] < max(roof), roof  # ...whole: a dome narrowing to its top, not cut flat by the edge...
        lamp = [c for y in range(top) for x in range(tower - 4, tower + 5) if 0 <= x < g.w
                for c in [g.px[y * g.w + x]] if is_red(c) or (c[0] > 230 and c[1] > 200 and c[2] < 170)]
        assert not lamp, lamp[:5]  # ...and nothing of the lighthouse above it, only sky


@pytest.mark.parametrize("prompt", measured("old sailor"))
def test_the_old_sailor_has_a_white_beard_and_the_young_have_none(prompt: str) -> None:
    def grey_hair(img: Image.Image) -> float:  # the largest light-grey piece round the face
        g = Grid(img)
        face = (0.25, 0.3, 0.75, 0.72)
        grey = g.components(g.cells(lambda c: saturation(c) < 0.12 and 150 < luma(c) < 245, face))
        return len(grey[0]) / (g.w * g.h) if grey else 0.0

    for old, young in zip(takes(prompt), takes("a portrait of a young woman"), strict=True):
        assert grey_hair(old) > 0.03 > 0.01 > grey_hair(young), (grey_hair(old), grey_hair(young))
        g = Grid(old)
        sea = g.cells(lambda c: c[2] > c[0] + 40, (0, 0.7, 0.12, 0.8))  # below the horizon, beside him
        assert len(sea) > 0.8 * 0.12 * 0.1 * g.w * g.h  # a sailor has the sea behind him


@pytest.mark.parametrize("prompt", measured("teapot"))
def test_a_teapot_has_a_body_a_handle_loop_and_a_thin_spout(prompt: str) -> None:
    for img in takes(prompt):
        g = Grid(img)
        pot = g.components(g.standing_out(band=(0.08, 0.14)))[0]  # inside a watercolor's border
        x0, y0, x1, y1 = g.box(pot)
        bw, bh = x1 - x0 + 1, y1 - y0 + 1
        assert bw > 1.2 * bh, (bw, bh)
        body, left, right = (column_cover(g, pot, a, b) for a, b in ((0.4, 0.6), (0, 0.15), (0.85, 1)))
        assert body > 0.6 and left < 0.4 and right < 0.4, (body, left, right)  # a body, thin at both sides
        loops = [h for h in g.holes(pot) if len(h) > 0.004 * bw * bh]
        assert any(abs(sum(i % g.w for i in h) / len(h) - (x0 + x1) / 2) > 0.3 * bw for h in loops), \
            [len(h) for h in loops]  # a handle: a loop of the pot round the wall behind, at one side


@pytest.mark.parametrize("prompt", measured("ramen"))
def test_ramen_is_a_bowl_with_steam_rising_above_it(prompt: str) -> None:
    for img in takes(prompt):
        g = Grid(img)
        bowl = g.components(g.standing_out())[0]
        x0, y0, x1, y1 = g.box(bowl)
        bw, bh = x1 - x0 + 1, y1 - y0 + 1
        widths = [g.width_at(bowl, k / 20) for k in range(21)]
        widest = widths.index(max(widths)) / 20
        assert bw > 1.2 * bh and widest < 0.45 and g.width_at(bowl, 0.9) < 0.55 * bw, (bw, bh, widest, widths)
        strands = 0
        rows = range(max(0, y0 - int(0.45 * bw)), y0 - int(0.08 * bw))
        for y in rows:
            bg = luma(g.background(y))
            lit = [luma(g.px[y * g.w + x]) > bg + 12 for x in range(x0, x1 + 1)]
            strands += sum(1 for k in range(1, len(lit)) if lit[k] and not lit[k - 1]) >= 2
        assert strands >= 0.4 * len(rows), (strands, len(rows))  # two or more wisps side by side


@pytest.mark.parametrize("prompt", measured("pocket watch"))
def test_a_pocket_watch_has_a_round_face_a_chain_and_a_hand_holding_it(prompt: str) -> None:
    for img in takes(prompt):
        g = Grid(img)
        face = g.components(g.cells(lambda c: luma(c) > 200 and saturation(c) < 0.15))[0]
        x0, y0, x1, y1 = g.box(face)
        fw, fh = x1 - x0 + 1, y1 - y0 + 1
        fill = len(face) / (fw * fh)
        assert 0.85 < fw / fh < 1.18 and 0.6 < fill < 0.86, (fw, fh, fill)  # round, not a blob or a box
        cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, fw / 2 / 0.82
        reach = [math.hypot(i % g.w - cx, i // g.w - cy) / r for i in g.cells(is_gold)]
        chain = [d for d in reach if d > 1.6]
        assert len(chain) > 30 and max(chain) > 2.2, (len(chain), max(reach))  # a chain leading away
        skin = g.cells(lambda c: c[0] > c[1] > c[2] and c[0] - c[2] > 50 and 0.2 < saturation(c) < 0.6,
                       (0, min(1.0, (y1 + 0.3 * fh) / g.h), 1, 1))
        assert len(skin) > 0.03 * g.w * g.h, len(skin)  # the hand under it


@pytest.mark.parametrize("prompt", measured("reading nook"))
def test_the_reading_nook_window_has_rain_running_down_it_and_the_room_stays_dry(prompt: str) -> None:
    dry_prompt = prompt.replace("rainy window", "window")
    for rainy, dry in zip(takes(prompt, "4:3"), takes(dry_prompt, "4:3"), strict=True):
        g = Grid(rainy)
        panes = [p for p in g.components(g.cells(is_glass)) if len(p) > 0.01 * g.w * g.h]
        assert panes  # a window onto the grey light outside...
        x0, y0, x1, y1 = g.box(set().union(*panes))
        assert (x1 - x0) * (y1 - y0) > 0.08 * g.w * g.h  # ...a big one
        # The middle of the window (every nook has its window there), rain or no rain.
        middle = (int(0.4 * rainy.width), int(0.2 * rainy.height), int(0.6 * rainy.width),
                  int(0.5 * rainy.height))
        wet, dry_glass = thin_bright_lines(rainy, middle), thin_bright_lines(dry, middle)
        assert wet > 0.006 and wet > 4 * dry_glass, (wet, dry_glass)
        left_of_curtains = max(0.03, x0 / g.w - 0.12)
        wall = (int(0.02 * rainy.width), int(0.15 * rainy.height), int(left_of_curtains * rainy.width),
                int(0.45 * rainy.height))
        assert thin_bright_lines(rainy, wall) < 0.002  # rain on the glass, not in the room


@pytest.mark.parametrize("prompt", measured("city in rain"))
def test_the_city_street_at_night_has_lit_windows_and_rain(prompt: str) -> None:
    for rainy, dry in zip(takes(prompt), takes("a city street at night"), strict=True):
        g = Grid(rainy)
        assert len(g.cells(lambda c: c[0] > 200 and c[1] > 150 and c[2] < 150)) > 0.01 * g.w * g.h
        whole = (0, 0, rainy.width, rainy.height)
        assert thin_bright_lines(rainy, whole) > 3 * thin_bright_lines(dry, whole)


@pytest.mark.parametrize("prompt", measured("hut under stars"))
def test_the_mountain_hut_stands_under_stars_with_its_windows_lit(prompt: str) -> None:
    for img in takes(prompt):
        assert dots(img, (0, 0, img.width, img.height // 4)) >= 20
        g = Grid(img)
        assert len(g.cells(lambda c: c[0] > 220 and c[1] > 170 and c[2] < 160)) > 0.001 * g.w * g.h


@pytest.mark.parametrize("prompt", measured("paper boat"))
def test_a_paper_boat_is_folded_paper_a_peak_over_a_broad_hull(prompt: str) -> None:
    for img in takes(prompt):
        g = Grid(img)
        # Pale against the water and sky (the sun's glow is saturated; ripples are too thin to count).
        pale = {i for i in g.standing_out(threshold=35) if saturation(g.px[i]) < 0.3}
        boat = next(c for c in g.components(g.opened(pale, 1)) if g.box(c)[3] > 0.55 * g.h)
        x0, y0, x1, _y1 = g.box(boat)
        bw = x1 - x0 + 1
        widths = [g.width_at(boat, k / 20) for k in range(21)]
        broadest = widths.index(max(widths)) / 20
        # A peak in the middle, a broad deck below it, a flat bottom: not a blob, not a diamond.
        assert widths[2] < 0.35 * bw and broadest >= 0.55 and g.width_at(boat, 0.97) > 0.4 * bw, widths
        assert abs(min(i % g.w for i in boat if i // g.w == y0) - (x0 + x1) / 2) < 0.15 * bw
        sail, hull = row_tone(g, boat, 0.0, 0.3), row_tone(g, boat, 0.7, 1.0)
        assert hull > 0.9 * sail, (sail, hull)  # paper all over: not a dark hull under white sails


@pytest.mark.parametrize("prompt", measured("library"))
def test_the_library_has_shelves_of_many_coloured_books(prompt: str) -> None:
    for img in takes(prompt):
        g = Grid(img, 512)
        band = range(int(0.1 * g.h), int(0.7 * g.h))
        shelves = 0
        for y in band:
            row = g.px[y * g.w:(y + 1) * g.w]
            runs, start = [], 0
            for x in range(1, g.w + 1):
                if x == g.w or max(abs(a - b) for a, b in zip(row[x], row[x - 1], strict=True)) > 30:
                    runs.append(row[start:x])
                    start = x
            spines = [r for r in runs if 2 <= len(r) <= 0.04 * g.w]
            colours = {tuple(v // 64 for v in r[len(r) // 2]) for r in spines}
            shelves += len(spines) >= 12 and len(colours) >= 6
        assert shelves > 0.35 * len(band), (shelves, len(band))


@pytest.mark.parametrize("prompt", measured("desert road"))
def test_the_desert_road_runs_to_the_horizon_between_the_sands(prompt: str) -> None:
    for img in takes(prompt):
        g = Grid(img)
        road = g.components(g.cells(lambda c: saturation(c) < 0.15 and 35 < luma(c) < 150))[0]
        _x0, y0, _x1, _y1 = g.box(road)
        near, far = g.width_at(road, 1.0), g.width_at(road, 0.1)
        assert near > 0.5 * g.w and far < 0.25 * near and y0 < 0.75 * g.h, (near, far, y0)
        below = (0, y0 / g.h, 1, 1)
        dashes = g.components(g.cells(lambda c: c[0] > 180 and c[1] > 140 and c[2] < 110, below))
        assert len([d for d in dashes if len(d) >= 2]) >= 3  # a dashed centre line
        sand = g.cells(lambda c: 0.2 < saturation(c) < 0.5 and luma(c) > 150)
        assert len(sand) > 0.15 * g.w * g.h


@pytest.mark.parametrize("prompt", measured("koi pond"))
def test_the_koi_pond_has_koi_under_autumn_trees(prompt: str) -> None:
    for img in takes(prompt):
        g = Grid(img)
        fish = [c for c in g.components(g.cells(is_orange, (0, 0.3, 1, 1)))
                if len(c) > 0.002 * g.w * g.h and elongation(g, c) > 1.8]
        assert len(fish) >= 2, len(fish)
        leaves = g.cells(lambda c: c[0] > 150 and c[0] > c[1] + 30 and c[2] < 100, (0, 0, 1, 0.3))
        assert len(leaves) > 0.02 * g.w * g.h, len(leaves)


@pytest.mark.parametrize("prompt", measured("harbour"))
def test_the_busy_harbour_has_several_boats_masts_up(prompt: str) -> None:
    for img in takes(prompt):
        g = Grid(img, 512)
        level = [sorted(luma(c) for c in g.px[y * g.w:(y + 1) * g.w])[g.w // 2] for y in range(g.h)]
        tall = []
        for x in range(g.w):
            best = run = 0
            for y in range(g.h):
                run = run + 1 if luma(g.px[y * g.w + x]) < level[y] - 35 else 0
                best = max(best, run)
            tall.append(best >= 0.07 * g.h)
        masts = [x for x in range(g.w) if tall[x] and (x == 0 or not tall[x - 1])]
        widths = [next((k for k in range(x, g.w) if not tall[k]), g.w) - x for x in masts]
        assert sum(1 for wd in widths if wd <= 6) >= 3, widths


def stripes(g: Grid) -> int:
    """Most red/light alternations along any row: an awning's stripes."""
    best = 0
    for y in range(g.h):
        last, changes = "", 0
        for c in g.px[y * g.w:(y + 1) * g.w]:
            kind = "r" if is_red(c) else "l" if luma(c) > 150 else ""
            if kind and last and kind != last:
                changes += 1
            last = kind or last
        best = max(best, changes)
    return best


@pytest.mark.parametrize("prompt", measured("food stall", "bakery"))
def test_the_food_stall_and_the_bakery_have_striped_awnings(prompt: str) -> None:
    for img in takes(prompt):
        assert stripes(Grid(img, 512)) >= 6


@pytest.mark.parametrize("prompt", measured("food stall"))
def test_the_food_stall_hangs_a_row_of_glowing_lanterns(prompt: str) -> None:
    for img in takes(prompt):
        g = Grid(img)
        # Orange paper lit from inside (not a window's yellow), round, more than a speck.
        glowing = g.cells(lambda c: c[0] > 230 and 90 < c[1] < 200 and c[2] < 110)
        round_ = [p for p in g.components(glowing) if len(p) > 0.001 * g.w * g.h and elongation(g, p) < 1.8]
        heights = sorted(sum(i // g.w for i in p) / len(p) for p in round_)
        in_a_row = max((sum(1 for y in heights if 0 <= y - y0 <= 0.04 * g.h) for y0 in heights), default=0)
        assert in_a_row >= 3, heights  # hung along the canopy's edge


@pytest.mark.parametrize("prompt", measured("herb shelf"))
def test_the_kitchen_shelf_holds_herbs_in_pots_in_a_row(prompt: str) -> None:
    for img in takes(prompt, "16:9"):
        g = Grid(img)
        pots = [c for c in g.components(g.cells(is_clay)) if len(c) > 0.003 * g.w * g.h]
        assert len(pots) >= 3, len(pots)
        bottoms = [g.box(c)[3] for c in pots]
        assert max(bottoms) - min(bottoms) <= 0.03 * g.h  # standing on one shelf
        for pot in pots:
            x0, y0, x1, _ = g.box(pot)
            leaves = g.cells(is_leafy, (x0 / g.w, max(0, y0 / g.h - 0.2), (x1 + 1) / g.w, y0 / g.h))
            assert len(leaves) >= 15, len(leaves)


@pytest.mark.parametrize("prompt", measured("mug"))
def test_the_mug_has_a_handle_and_coffee_in_it(prompt: str) -> None:
    for img in takes(prompt, "4:3"):
        g = Grid(img)
        mug = g.components(g.standing_out())[0]
        x0, y0, x1, y1 = g.box(mug)
        assert [h for h in g.holes(mug) if len(h) > 0.01 * (x1 - x0) * (y1 - y0)]
        coffee = g.cells(lambda c: c[0] > c[1] > c[2] and 50 < c[0] < 130 and c[2] < 70,
                         (x0 / g.w, y0 / g.h, x1 / g.w, (y0 + 0.25 * (y1 - y0)) / g.h))
        assert len(coffee) >= 10


def test_pencil_sketch_and_watercolor_look_like_their_medium() -> None:
    def stats(img: Image.Image) -> tuple[float, float, list[float]]:
        g = Grid(img, 128)
        tones = sorted(luma(c) for c in g.px)
        return sum(saturation(c) for c in g.px) / len(g.px), sum(tones) / len(tones), tones

    def paper_at_corner(img: Image.Image) -> bool:
        return max(abs(a - b) for a, b in zip(img.getpixel((2, 2)), (247, 243, 232), strict=True)) < 12

    media = ("studio photo", "watercolor", "pencil sketch")
    for photo, wash, sketch in zip(*(takes(f"a teapot, {m}") for m in media), strict=True):
        sat, mean, tones = stats(sketch)
        assert sat < 0.05 and mean > 150 and tones[len(tones) // 100] < 110, (sat, mean)  # graphite on paper
        sat, mean, tones = stats(wash)
        assert paper_at_corner(wash) and tones[len(tones) // 20] > 70 and sat > 0.05  # thin washes on paper
        assert not paper_at_corner(photo) and stats(photo)[0] > 0.05
