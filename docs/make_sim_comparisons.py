"""Write the README's two simulator comparisons: Pro vs Flex, and 1k vs 2k at full size.

Both come straight from the simulator's renderer (the same pictures a notebook
without a key shows), cropped pixel for pixel so the difference is visible on a
web page:

    PYTHONPATH=. .venv/bin/python docs/make_sim_comparisons.py
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from flux2_widgets.catalog import pixel_size
from flux2_widgets.simulator._images import RenderSpec, render

HERE = Path(__file__).resolve().parent
PROMPT = "a tabby cat sitting by a cottage at golden hour"
RATIO = "4:3"
PANEL = 520  # shown width of each side
MAX_BYTES = 300_000


def picture(tier: str, resolution: str) -> Image.Image:
    spec = RenderSpec(PROMPT, tier, resolution, RATIO, pixel_size(RATIO, resolution))
    return Image.open(io.BytesIO(render(spec).png)).convert("RGB")


def caption(img: Image.Image, text: str) -> Image.Image:
    font = ImageFont.load_default(size=18)
    out = Image.new("RGB", (img.width, img.height + 30), (255, 255, 255))
    out.paste(img, (0, 30))
    ImageDraw.Draw(out).text((6, 5), text, fill=(20, 20, 20), font=font)
    return out


def side_by_side(left: Image.Image, right: Image.Image, gap: int = 12) -> Image.Image:
    out = Image.new("RGB", (left.width + gap + right.width, max(left.height, right.height)), (255, 255, 255))
    out.paste(left, (0, 0))
    out.paste(right, (left.width + gap, 0))
    return out


def stack(top: Image.Image, bottom: Image.Image, gap: int = 12) -> Image.Image:
    out = Image.new("RGB", (max(top.width, bottom.width), top.height + gap + bottom.height), (255, 255, 255))
    out.paste(top, (0, 0))
    out.paste(bottom, (0, top.height + gap))
    return out


def save(img: Image.Image, name: str) -> Path:
    path = HERE / name
    colours = 256
    while True:
        # A palette PNG keeps these flat-shaded pictures small without blurring them.
        img.quantize(colours, dither=Image.Dither.NONE).save(path, optimize=True)
        if path.stat().st_size <= MAX_BYTES or colours <= 32:
            return path
        colours //= 2


def pro_vs_flex() -> Path:
    pro, flex = picture("pro", "1k"), picture("flex", "1k")
    scale = PANEL / pro.width
    whole = [im.resize((PANEL, round(im.height * scale)), Image.Resampling.LANCZOS) for im in (pro, flex)]
    # The cat's face and the cottage at 100 %: where the tiers differ.
    x, y = int(pro.width * 0.5), int(pro.height * 0.27)
    box = (x, y, x + PANEL, y + 300)
    crops = [pro.crop(box), flex.crop(box)]
    top = side_by_side(caption(whole[0], "Pro 1k (whole)"), caption(whole[1], "Flex 1k (whole)"))
    bottom = side_by_side(caption(crops[0], "Pro 1k at 100 %: composed at half size, soft"),
                          caption(crops[1], "Flex 1k at 100 %: crisp edges, fur, whiskers, shingles"))
    return save(stack(top, bottom), "sim_pro_vs_flex.png")


def one_k_vs_two_k() -> Path:
    one, two = picture("flex", "1k"), picture("flex", "2k")
    # The same patch of the scene, shown as the inspector's zoom shows it: 1k
    # scaled up 2x next to 2k at its own pixels.
    x, y, w, h = int(two.width * 0.56), int(two.height * 0.4), PANEL, 380
    zoomed = one.crop((x // 2, y // 2, (x + w) // 2, (y + h) // 2)).resize((w, h), Image.Resampling.BICUBIC)
    native = two.crop((x, y, x + w, y + h))
    pair = side_by_side(caption(zoomed, "Flex 1k, zoomed 2x"),
                        caption(native, "Flex 2k at 100 %: finer strokes"))
    return save(pair, "sim_1k_vs_2k.png")


if __name__ == "__main__":
    for path in (pro_vs_flex(), one_k_vs_two_k()):
        print(f"wrote {path.relative_to(HERE.parent)} ({path.stat().st_size // 1024} KB)")
