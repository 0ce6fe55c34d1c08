"""Grid export, the difference heatmap, the Inspector's Python side and the blind panel's
state, on real images from the simulator. (Dragging, zooming and keyboard votes are
driven in a browser by tests/browser/test_expert_compare.py and test_inspector_lab.py.)
The request view's curl is here too: what a student copies must run against RunAPI."""

from __future__ import annotations

import asyncio
import base64
import html
import io
import json
import os
import re
import shlex
import subprocess

import pytest
from conftest import SECRET_KEY
from PIL import Image, ImageChops, ImageDraw

from flux2_widgets import PollPolicy, compare_grid, compare_resolutions, compare_tiers, inspect
from flux2_widgets.catalog import DEFAULT_BASE_URL, ImageRequest
from flux2_widgets.compare.diff import difference
from flux2_widgets.compare.grid_image import GAP, MARGIN
from flux2_widgets.errors import ValidationError
from flux2_widgets.results import curl_command
from flux2_widgets.widgets.comparison_view import ComparisonView
from flux2_widgets.widgets.inspect_view import PREVIEW_SIDE, Inspector, heatmap_layout
from flux2_widgets.widgets.inspector import RequestInspector

FAST = PollPolicy(first=0.05, min_interval=0.02)


def _ink(img: Image.Image, box: list[int]) -> int:
    """Dark pixels inside ``box``: drawn text."""
    crop = img.crop(tuple(box)).convert("L")
    return sum(crop.histogram()[:128])


def _layout(img: Image.Image) -> dict:
    return json.loads(img.info["flux2_layout"])


# ------------------------------------------------------------------------- to_image


def test_to_image_dimensions_labels_and_pixels(client, tmp_path) -> None:
    cmp = compare_tiers("a lighthouse at dawn", client=client).wait()
    side = 300
    img = cmp.to_image(side=side)
    layout = _layout(img)
    # one row of two 1:1 images: margins, two boxes and one gap across
    assert img.width == 2 * MARGIN + 2 * side + GAP
    assert [c["text"] for c in layout["columns"]] == ["Pro · 1k", "Flex · 1k"]
    assert layout["title"]["text"] == "Pro vs Flex at 1k (simulated)"
    assert layout["rows"][0]["text"] == "a lighthouse at dawn"
    for item in [layout["title"], *layout["columns"], *layout["rows"]]:
        assert _ink(img, item["box"]) > 20, f"{item['text']!r} is not drawn"
    for cell_layout, cell in zip(layout["cells"], cmp.cells, strict=True):
        x0, y0, x1, y1 = cell_layout["image_box"]
        assert (x1 - x0, y1 - y0) == (side, side)
        assert y1 < img.height - MARGIN
        # the pasted pixels are the cell's image, scaled
        expected = cell.result.images[0].to_pil().convert("RGB").resize((side, side))
        diff = ImageChops.difference(img.crop((x0, y0, x1, y1)), expected).convert("L")
        assert sum(v * n for v, n in enumerate(diff.histogram())) / side**2 < 6
        caption = " ".join(cell_layout["caption"])
        assert cell.result.cost_text in caption and f"{cell.latency:.1f} s" in caption
        assert f"{cell.size_text}" in caption
        assert _ink(img, cell_layout["caption_box"]) > 20
    path = cmp.save_image(tmp_path / "fox.png", side=side)
    with Image.open(path) as saved:
        assert saved.format == "PNG" and saved.size == img.size
        assert saved.text["Title"] == "Pro vs Flex at 1k (simulated)"
        assert "Flex · 1k" in saved.text["Description"] and "$0.14" in saved.text["Description"]


def test_to_image_grid_has_row_headers_and_grows_per_row(client) -> None:
    cmp = compare_grid(["a red fox", "a blue whale"], tiers=("pro", "flex"), aspect_ratio="16:9",
                       client=client).wait()
    img = cmp.to_image(side=200)
    layout = _layout(img)
    assert [r["text"] for r in layout["rows"]] == ["a red fox", "a blue whale"]
    assert img.width > 2 * MARGIN + 2 * 200 + GAP, "a column of row headers on the left"
    boxes = [c["image_box"] for c in layout["cells"]]
    width, height = cmp.cells[0].size  # about 16:9
    assert all(b[2] - b[0] == 200 and abs(b[3] - b[1] - 200 * height / width) <= 1 for b in boxes)
    assert boxes[2][1] > boxes[0][3], "the second prompt is drawn below the first"
    one_row = compare_tiers("a red fox", aspect_ratio="16:9", client=client).wait().to_image(side=200)
    assert img.height > one_row.height


def test_to_image_of_a_blind_test_names_nothing(client, tmp_path) -> None:
    cmp = compare_tiers("a red fox", client=client, blind=True, seed=5).wait()
    img = cmp.to_image(side=128)
    layout = _layout(img)
    assert [c["text"] for c in layout["columns"]] == ["Left", "Right"]
    text = json.dumps(layout) + json.dumps(Image.open(cmp.save_image(tmp_path / "b.png")).text)
    assert "Pro" not in text and "Flex" not in text and "$" not in text
    cmp.vote("left")
    assert "Pro · 1k" in json.dumps(_layout(cmp.to_image(side=128)), ensure_ascii=False)


def test_to_image_refuses_bad_arguments(client, tmp_path) -> None:
    cmp = compare_tiers("a red fox", client=client).wait()
    with pytest.raises(ValidationError) as info:
        cmp.to_image(side=10)
    assert info.value.field == "side"
    with pytest.raises(ValidationError) as info:
        cmp.save_image(tmp_path / "fox.jpg")
    assert info.value.field == "path"


# ------------------------------------------------------------------------- difference


def test_difference_is_zero_for_the_same_scene_and_finds_a_change() -> None:
    base = Image.new("RGB", (256, 256), (40, 90, 160))
    ImageDraw.Draw(base).ellipse((40, 40, 200, 200), fill=(230, 200, 40))
    same = difference(base, base.copy())
    assert same.mean == 0 and same.changed == 0
    big = base.resize((512, 512), Image.Resampling.LANCZOS)  # the same scene at 2x
    assert difference(base, big).size == (256, 256)
    assert difference(base, big).mean < 3
    edited = base.copy()
    ImageDraw.Draw(edited).rectangle((0, 0, 63, 63), fill=(255, 255, 255))  # 1/16 of the picture
    diff = difference(base, edited)
    assert diff.changed == pytest.approx(1 / 16, abs=0.01)
    hot = diff.heatmap.getpixel((10, 10))
    cold = diff.heatmap.getpixel((200, 230))
    assert sum(hot) > 400 and cold == (0, 0, 0)


# ------------------------------------------------------------------------- Inspector


def test_inspector_previews_full_size_and_diff_answers(client) -> None:
    cmp = compare_resolutions("a lighthouse at dawn", tier="pro", client=client).wait()
    insp = cmp.inspect().wait_ready()
    assert [im["label"] for im in insp.images] == ["Pro · 1k", "Pro · 2k"]
    assert [im["width"] for im in insp.images] == [1024, 2048]
    assert all(im["preview_width"] == PREVIEW_SIDE for im in insp.images)
    sent: list[tuple[dict, list[bytes]]] = []
    # What the front end would receive: the widget's outgoing custom messages.
    insp.send = lambda content, buffers=None: sent.append((content, [bytes(b) for b in buffers or []]))
    insp._on_front_end(insp, {"type": "full", "index": 1}, [])
    insp._on_front_end(insp, {"type": "diff", "pair": [0, 1]}, [])
    insp._on_front_end(insp, {"type": "full", "index": 99}, [])  # out of range: ignored
    insp._on_front_end(insp, "garbage", [])
    insp.wait_ready()
    kinds = [m["type"] for m, _ in sent]
    assert kinds == ["full", "diff"]
    full, buffers = sent[0]
    assert buffers[0] == cmp.cells[1].result.images[0].data and full["mime"] == "image/png"
    assert insp.full_sent == [1]
    # The heatmap, at the 1k picture's size (stand-ins carry no caption strip any more: the
    # whole pictures are compared); the message gives the page its size, what 100 % counts.
    diff_msg, diff_buffers = sent[1]
    with Image.open(io.BytesIO(diff_buffers[0])) as heat:
        assert heat.size == (diff_msg["width"], diff_msg["height"]) == (1024, 1024)
    assert diff_msg["picture"] == [0, 0, 1024, 1024]
    assert "1024x1024" in insp.diff_text and "%" in insp.diff_text
    # The saved state holds previews only: no full-size bytes, nothing near their size.
    state = json.dumps(insp.get_state(), default=str)
    assert len(state) < 250_000
    # previews are at most 640 px on the long side, whatever the original's size
    for uri in re.findall(r"data:image/jpeg;base64,([A-Za-z0-9+/=]+)", state):
        with Image.open(io.BytesIO(base64.b64decode(uri))) as preview:
            assert max(preview.size) <= 640
    assert base64.b64encode(cmp.cells[1].result.images[0].data[:3000]).decode()[:400] not in state


def test_inspect_function_and_its_refusals(client) -> None:
    cmp = compare_tiers("a red fox", client=client).wait()
    insp = inspect(*cmp.generations, mode="swipe", title="Fox")
    assert insp.mode == "swipe" and insp.title == "Fox" and insp.pair == [0, 1]
    assert isinstance(inspect(cmp), Inspector)
    with pytest.raises(ValidationError) as info:
        inspect(cmp.generations[0])
    assert info.value.field == "images"
    with pytest.raises(ValidationError) as info:
        inspect(*cmp.generations, mode="zoom")
    assert info.value.field == "mode"
    with pytest.raises(ValidationError) as info:
        inspect(cmp.generations[0], "not a result")
    assert info.value.field == "results"
    with pytest.raises(ValidationError):
        inspect(*cmp.generations, pair=(0, 0))


def test_inspector_of_a_blind_test_stays_blind(client) -> None:
    cmp = compare_tiers("a red fox", client=client, blind=True, seed=2).wait()
    insp = cmp.inspect().wait_ready()
    state = json.dumps({k: v for k, v in insp.get_state().items() if k != "_esm"}, default=str)
    assert [im["label"] for im in insp.images] == ["Left", "Right"]
    assert "Pro" not in state and "Flex" not in state and "$" not in state


# ------------------------------------------------------------------------- blind view state


def _all_state(widget) -> str:
    """Everything a page could be sent for ``widget`` and its children."""
    out, todo = [], [widget]
    while todo:
        w = todo.pop()
        state = w.get_state()
        text = json.dumps({k: v for k, v in state.items() if k not in ("_esm", "_css")}, default=str)
        # image bytes are not labels: base64 can spell "Pro" by chance
        out.append(re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", "data:image", text))
        todo += list(getattr(w, "children", ()) or ())
        for name in ("blind",):
            if getattr(w, name, None) is not None:
                todo.append(getattr(w, name))
    return "\n".join(out)


def test_blind_view_sends_no_label_until_the_vote(sim) -> None:
    from flux2_widgets import AsyncFlux2Client

    async def main() -> None:
        client = AsyncFlux2Client(api_key="sk-test-blind", base_url=sim.url, poll=FAST)
        try:
            cmp = compare_tiers("a red fox", client=client, blind=True, seed=11)
            view = cmp.view()
            assert isinstance(view, ComparisonView)
            await cmp
            state = _all_state(view)
            for secret in ("Pro", "Flex", "a red fox", "$0."):
                assert secret not in state, f"{secret!r} reached the page before the vote"
            assert view.blind.ready
            assert all(s["preview"].startswith("data:image/jpeg") for s in view.blind.sides)
            # the right-hand image is the one the shuffle put second
            right = cmp.cells[cmp.order[1]]
            view.blind._on_front_end(view.blind, {"type": "vote", "choice": "right"}, [])
            await cmp
            assert cmp.votes[-1]["choice"] == right.side and cmp.votes[-1]["blind"]
            assert view.blind.revealed and view.blind.choice == "right"
            labels = [s["label"] for s in view.blind.sides]
            assert labels[1] == right.col_label and sorted(labels) == ["Flex · 1k", "Pro · 1k"]
            assert "would have cost" in view.blind.sides[0]["caption"]
            # revealed in place: one panel, one place to vote; no second grid of tiles
            assert view.tiles == [] and "Pro" in _all_state(view)
            assert view.votes_bar is None and view.inspect_button.layout.display != "none"
            view.inspect_button.click()
            assert isinstance(view.inspector_box.children[0], Inspector)
            # one blind vote per test: the panel ignores more
            view.blind._on_front_end(view.blind, {"type": "vote", "choice": "left"}, [])
            assert len(cmp.votes) == 1
            view.close()
        finally:
            await client.aclose()

    asyncio.run(main())


# ------------------------------------------------------------------------- zoom's basis


def test_inspector_sends_each_images_own_pixel_size(client) -> None:
    """The page counts zoom in image pixels (100 % = one image pixel per CSS pixel), so it needs
    every image's full size, not the preview's; the zoom it reports is unknown until shown."""
    cmp = compare_resolutions("a red fox", tier="flex", aspect_ratio="16:9", client=client).wait()
    insp = cmp.inspect().wait_ready()
    sizes = [(im["width"], im["height"]) for im in insp.images]
    assert sizes == [c.result.images[0].size for c in cmp.cells]
    assert sizes[1][0] == 2 * sizes[0][0] > PREVIEW_SIDE
    assert all(im["preview_width"] == PREVIEW_SIDE for im in insp.images)
    assert insp.zoom == 0.0


# ------------------------------------------------------------------------- the heatmap's layout


def test_heatmap_of_real_pictures_cuts_nothing() -> None:
    base = Image.new("RGB", (300, 200), (40, 90, 160))
    edited = base.copy()
    ImageDraw.Draw(edited).rectangle((0, 150, 299, 199), fill=(255, 255, 255))  # a bottom band
    png = []
    for picture in (base, edited):
        out = io.BytesIO()
        picture.save(out, "PNG")
        png.append(out.getvalue())
    layout = heatmap_layout(*png)
    assert layout.image.size == (300, 200) == layout.difference.size
    assert layout.difference.changed == pytest.approx(0.25, abs=0.01), "the band is compared"


# ------------------------------------------------------------------------- curl


def _args(curl: str) -> list[str]:
    return shlex.split(curl.replace("\\\n", " "))


def test_curl_of_a_simulated_result_runs_against_runapi(client, sim) -> None:
    gen = client.generate("a red fox", tier="flex", resolution="2k")
    assert gen.simulated and gen.base_url == sim.url
    curl = gen.curl()
    assert sim.url not in curl and "127.0.0.1" not in curl
    args = _args(curl)
    assert args[:4] == ["curl", "-X", "POST", f"{DEFAULT_BASE_URL}/api/v1/flux_2/text_to_image"]
    assert "Authorization: Bearer $RUNAPI_API_KEY" in args and SECRET_KEY not in curl
    assert json.loads(args[args.index("-d") + 1]) == gen.request.payload()
    # A client with its own (not local) address: the command goes where the session goes.
    assert curl_command("https://eu.example.org/", gen.request).split()[3] == \
        "https://eu.example.org/api/v1/flux_2/text_to_image"
    for local in ("http://localhost:8000", "http://[::1]:9000", "", "http://127.0.0.2:1"):
        assert curl_command(local, gen.request).split()[3].startswith(DEFAULT_BASE_URL), local


def test_curl_is_a_real_shell_command_the_simulator_accepts(sim) -> None:
    """Run by bash with only the address swapped for this test's simulator: the headers, the
    key from $RUNAPI_API_KEY and the body are the request RunAPI's contract asks for."""
    request = ImageRequest("a lighthouse at dawn, it's \"quoted\"", tier="pro", aspect_ratio="3:2")
    curl = curl_command(sim.url, request).replace(DEFAULT_BASE_URL, sim.url)
    env = {**os.environ, "RUNAPI_API_KEY": SECRET_KEY}
    done = subprocess.run(["bash", "-c", curl + " --silent --show-error"], env=env, capture_output=True,
                          text=True, timeout=30, check=True)
    answer = json.loads(done.stdout)
    assert sim.stats.tasks_created == 1
    [record] = sim.tasks.values()
    assert answer["id"] == record.id and record.body == request.payload()


def test_request_view_says_where_this_session_sends_and_wraps_only_at_spaces(client, sim) -> None:
    gen = client.generate("a red fox", tier="pro")
    view = RequestInspector()
    view.show_generation(gen)
    assert view.curl_text == gen.curl() and sim.url not in view.curl_text
    assert sim.url in view.curl_note and "simulator" in view.curl_note and "RunAPI" in view.curl_note
    curl_html = view.children[1].value
    assert view.curl_note in curl_html and curl_html.index("</pre>") < curl_html.index(view.curl_note)
    for box, text in zip(view.children, (view.json_text, view.curl_text), strict=True):
        pre = re.search(r'<pre style="([^"]*)">(.*)</pre>', box.value, re.S)
        assert pre, box.value[:80]
        style = dict(part.split(": ") for part in pre.group(1).split("; "))
        assert style["white-space"] == "pre-wrap" and style["overflow-x"] == "auto"
        assert style["overflow-wrap"] == "normal" and style["word-break"] == "normal"
        # tokens a browser would break at a hyphen or slash are kept whole; the text is the same
        assert '<span style="white-space: nowrap">&quot;flux-2-pro-text-to-image&quot;' in pre.group(2)
        assert html.unescape(re.sub(r"</?span[^>]*>", "", pre.group(2))) == text
    # the URL and the line continuation after it stay together (no lone backslash line)
    assert '<span style="white-space: nowrap">https://runapi.ai/api/v1/flux_2/text_to_image \\</span>' \
        in view.children[1].value
    # Before sending (the Studio's preview) the simulator is not known for sure: still said.
    view.show(gen.request, sim.url)
    assert sim.url in view.curl_note and sim.url not in view.curl_text
    view.show(gen.request, DEFAULT_BASE_URL)  # a real session: the command is the whole story
    assert view.curl_note == "" and "curl-note" not in view.children[1].value
    view.clear()
    assert view.curl_text == view.curl_note == "" and view.children[1].value == ""
