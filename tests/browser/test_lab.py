"""JupyterLab, end to end: run the notebooks, press Generate, see the images."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ._jupyter import (
    IMAGE_TIMEOUT,
    QUICKSTART,
    JupyterServer,
    assert_no_python_errors,
    assert_no_widget_errors,
    assert_widget_messages_sent_to_subshells,
    button,
    first_studio,
    open_and_run,
    restart_kernel,
    run_all,
    screenshot,
    scroll_into_view,
    visible_images,
    wait_for_twin,
    write_notebook,
)
from .conftest import client_cell

pytestmark = pytest.mark.browser

PRO_VS_FLEX = "02_pro_vs_flex.ipynb"


def test_quickstart_studio_generates_images(page: Any, lab_server: JupyterServer, output_dir: Path,
                                            page_errors: list[str]) -> None:
    open_and_run(page, lab_server, QUICKSTART)

    # client.generate's result shows inline, above the Studio.
    scroll_into_view(page.locator(".jp-OutputArea-output img[src^='data:image/']").first)
    visible_images(page.locator(".jp-Notebook"), IMAGE_TIMEOUT)

    studio = first_studio(page)
    # Simulated mode must be unmistakable.
    studio.get_by_text("SIMULATED").first.wait_for(state="visible")
    screenshot(page, output_dir, "lab-studio-before", studio)

    # One Pro image, then one Flex image: two tiles, each filled when its own task completes.
    studio.get_by_role("button", name="Generate").click()
    studio.get_by_role("button", name="Flex", exact=True).click()
    studio.get_by_role("button", name="Generate").click()
    gallery = studio.locator(".f2w-gallery")
    assert visible_images(gallery, IMAGE_TIMEOUT, minimum=2) == 2
    completed = gallery.locator(".f2w-tile--completed")
    completed.nth(1).wait_for(state="visible", timeout=IMAGE_TIMEOUT * 1000)
    assert completed.count() == 2
    screenshot(page, output_dir, "lab-studio-after", studio)
    assert_no_widget_errors(page_errors)


def test_pro_vs_flex_shows_both_tiers(page: Any, lab_server: JupyterServer, output_dir: Path,
                                      page_errors: list[str]) -> None:
    open_and_run(page, lab_server, PRO_VS_FLEX)

    views = page.locator(".f2w-cmp")
    views.nth(1).wait_for(state="attached")
    assert views.count() == 2, "one side-by-side view per prompt"
    for index in range(views.count()):
        view = views.nth(index)
        scroll_into_view(view)
        assert visible_images(view, IMAGE_TIMEOUT, minimum=2) == 2
        for label in ("Pro", "Flex"):
            view.get_by_text(re.compile(rf"^{label} · 1k")).first.wait_for(state="visible")
    screenshot(page, output_dir, "lab-pro-vs-flex", views.first)
    assert_no_widget_errors(page_errors)


# ------------------------------------------------------- every button, JupyterLab as installed

FAILURE = "the image did not pass the safety checker (simulated)"


def _download(page: Any, tile: Any, name: str | None = None) -> bytes:
    """One click on Download hands the browser a file named after the prompt, tier and resolution."""
    with page.expect_download() as info:
        tile.locator(".f2w-download-btn").click()
    download = info.value
    if name is not None:
        assert download.suggested_filename == name, download.suggested_filename
    assert re.fullmatch(r"[a-z0-9-]+_(pro|flex|max)_(1k|2k)\.png", download.suggested_filename)
    return Path(download.path()).read_bytes()


def test_lab_comparison_buttons(page: Any, lab_server: JupyterServer, fresh_sim: Any, output_dir: Path,
                                page_errors: list[str]) -> None:
    fresh_sim.inject("fail_task", message=FAILURE)
    name = write_notebook(lab_server.root_dir, "browser_compare.ipynb", [
        client_cell(fresh_sim, "results-compare"),
        "cmp = compare_prompts('a red fox in fresh snow', 'a red fox in fresh snow, watercolor',\n"
        "                      client=client)\ncmp",
        "CompareWidget('a lighthouse at dawn', tiers=('pro', 'flex'), client=client)",
    ])
    open_and_run(page, lab_server, name)
    view = page.locator(".f2w-cmp").first
    scroll_into_view(view)
    # The static twin for readers without widgets is there, and hidden where widgets are live.
    twins = page.locator(".f2w-static")
    assert twins.count() == 2 and not any(t.is_visible() for t in twins.all())

    # Retry after a failure: a new task, and the image shows.
    retry = button(view.locator(".f2w-tile--failed"), "Retry")
    retry.wait_for(state="visible", timeout=IMAGE_TIMEOUT * 1000)
    view.get_by_text(FAILURE).first.wait_for(state="visible")
    screenshot(page, output_dir, "lab-compare-failed", view)
    retry.click()
    assert visible_images(view, IMAGE_TIMEOUT, minimum=2) == 2
    assert fresh_sim.stats.tasks_created >= 3 and len(fresh_sim.stats.charges) >= 2

    # Votes, with a note, and the cost table.
    view.get_by_placeholder("note (optional): why it wins").fill("sharper fur")
    button(view, "A wins").click()
    button(view, "Tie").click()
    view.get_by_text(re.compile(r"votes A: 1 · B: 0 · tie: 1")).wait_for(state="visible")
    button(view, "Cost table").click()
    view.get_by_text("estimated vs billed").first.wait_for(state="visible")

    # A tile's own buttons: Request, Open, Save, Download.
    tile = view.locator(".f2w-tile--completed").first
    button(tile, "Request").click()
    tile.get_by_text('"model": "flux-2-pro-text-to-image"').first.wait_for(state="visible")
    button(tile, "Open").click()
    full = tile.locator(".f2w-viewer img")
    full.wait_for(state="visible")
    page.wait_for_function("img => img.complete && img.naturalWidth >= 1024", arg=full.element_handle())
    button(tile, "Save").click()
    tile.get_by_text(re.compile(r"^Saved .*\.png")).wait_for(state="visible")
    assert _download(page, tile, "a-red-fox-in-fresh-snow_pro_1k.png")[:8] == b"\x89PNG\r\n\x1a\n"
    screenshot(page, output_dir, "lab-compare-after", view)
    # What a reader without widgets gets if the notebook is saved now: the final state.
    twin = wait_for_twin(page, name, "tie: 1")
    assert "Prompt A/B" in twin and "2/2 done" in twin, twin[-600:]
    assert twin.count("data:image/jpeg;base64,") == 2
    assert "votes A: 1 · B: 0 · tie: 1 → tie" in twin, twin[-600:]
    assert "sharper fur" in twin  # the vote's note is shown, not only kept

    # CompareWidget's Run.
    widget = page.locator(".f2w-studio", has=button(page, "Run")).first
    scroll_into_view(widget)
    button(widget, "Run").click()
    assert visible_images(widget, IMAGE_TIMEOUT, minimum=2) == 2
    screenshot(page, output_dir, "lab-compare-widget", widget)
    twin = wait_for_twin(page, name, "Pro vs Flex")
    assert "2/2 done" in twin and twin.count("data:image/jpeg;base64,") == 2, twin[-600:]

    assert_widget_messages_sent_to_subshells(page, name)
    assert_no_python_errors(page, name)
    assert_no_widget_errors(page_errors)


def test_lab_studio_buttons(page: Any, lab_server: JupyterServer, fresh_sim: Any, output_dir: Path,
                            page_errors: list[str], tmp_path: Path) -> None:
    name = write_notebook(lab_server.root_dir, "browser_studio.ipynb", [
        client_cell(fresh_sim, "results-studio"),
        "studio = Studio(client, prompt='a red fox in fresh snow', save_dir='results-studio')\nstudio",
    ])
    open_and_run(page, lab_server, name)
    studio = first_studio(page)
    gallery = studio.locator(".f2w-gallery")
    bar = studio.locator(".f2w-buttons")

    # Request: the JSON before sending.
    button(bar, "Request").click()
    studio.get_by_text('"prompt": "a red fox in fresh snow"').first.wait_for(state="visible")
    button(bar, "Request").click()

    # Generate, then a tile's Save, Open, Download and Use as source.
    button(bar, "Generate").click()
    visible_images(gallery, IMAGE_TIMEOUT)
    tile = gallery.locator(".f2w-tile--completed").first
    button(tile, "Save").click()
    tile.get_by_text(re.compile(r"^Saved ")).wait_for(state="visible")
    button(tile, "Open").click()
    studio.locator(".f2w-viewer img").first.wait_for(state="visible")
    assert _download(page, tile)[:4] == b"\x89PNG"
    button(tile, "Use as source").click()
    studio.get_by_text("as a remix source").wait_for(state="visible")

    # Upload (remix mode is on now): a local PNG becomes a source URL.
    source = tmp_path / "source.png"
    from PIL import Image

    Image.new("RGB", (64, 48), (200, 60, 40)).save(source)
    with page.expect_file_chooser() as chooser:
        studio.locator(".widget-upload").click()
    chooser.value.set_files(str(source))
    studio.get_by_text(re.compile(r"Uploaded 1 file")).wait_for(state="visible")
    button(studio, "Text to image").click()

    # Retry after a failure: a new task.
    fresh_sim.inject("fail_task", message=FAILURE)
    button(bar, "Generate").click()
    failed = gallery.locator(".f2w-tile--failed").first
    # nothing to download from a failed task, and the button looks it, not just refuses
    download = failed.locator(".f2w-download-btn")
    assert download.is_disabled()
    assert float(download.evaluate("b => getComputedStyle(b).opacity")) < 0.8
    button(failed, "Retry").click()
    gallery.locator(".f2w-tile--completed").nth(1).wait_for(state="visible", timeout=IMAGE_TIMEOUT * 1000)

    # Resume after an outage: the same task, not a new one.
    created = fresh_sim.stats.tasks_created
    fresh_sim.inject("503", times=2, on="get")  # the poll and its one retry: then Resume
    button(bar, "Generate").click()
    lost = gallery.locator(".f2w-tile--failed").first
    button(lost, "Resume").click()
    gallery.locator(".f2w-tile--completed").nth(2).wait_for(state="visible", timeout=IMAGE_TIMEOUT * 1000)
    assert fresh_sim.stats.tasks_created == created + 1

    # Stop, then Resume the stopped task.
    fresh_sim.latency = 3.0
    button(bar, "Generate").click()
    gallery.locator(".f2w-tile--processing").first.wait_for(state="visible")
    button(bar, "Stop").click()
    stopped = gallery.locator(".f2w-tile--stopped").first
    stopped.wait_for(state="visible")
    screenshot(page, output_dir, "lab-studio-stopped", studio)
    button(stopped, "Resume").click()
    gallery.locator(".f2w-tile--completed").nth(3).wait_for(state="visible", timeout=IMAGE_TIMEOUT * 1000)
    screenshot(page, output_dir, "lab-studio-buttons", studio)

    # Clear removes finished tiles.
    button(bar, "Clear").click()
    studio.get_by_text("Results appear here").wait_for(state="visible")

    assert_widget_messages_sent_to_subshells(page, name)
    assert_no_python_errors(page, name)
    assert_no_widget_errors(page_errors)


def test_lab_collect_after_a_kernel_restart(page: Any, lab_server: JupyterServer, fresh_sim: Any,
                                            output_dir: Path, page_errors: list[str]) -> None:
    name = write_notebook(lab_server.root_dir, "browser_collect.ipynb", [
        client_cell(fresh_sim, "results-collect"),
        "studio = Studio(client, prompt='a lighthouse at dawn', save_dir='results-collect')\nstudio",
    ])
    open_and_run(page, lab_server, name)
    studio = first_studio(page)
    fresh_sim.latency = 4.0
    button(studio, "Generate").click()
    studio.locator(".f2w-tile--processing").first.wait_for(state="visible")
    restart_kernel(page, name)  # the task is still running on the service
    run_all(page, name)
    studio = first_studio(page)
    collect = studio.locator("button").filter(has_text=re.compile(r"^\s*Collect"))
    collect.wait_for(state="visible")
    collect.click()
    assert visible_images(studio.locator(".f2w-gallery"), IMAGE_TIMEOUT) == 1
    assert fresh_sim.stats.tasks_created == 1
    screenshot(page, output_dir, "lab-studio-collected", studio)
    assert_no_python_errors(page, name)
    assert_no_widget_errors(page_errors)


_TRUNCATED_JS = """root => [...root.querySelectorAll('button')]
  .filter(b => b.offsetParent !== null && b.scrollWidth > b.clientWidth + 1)
  .map(b => `${b.textContent.trim()} (${b.clientWidth}px of ${b.scrollWidth}px)`)"""


def test_lab_layout_at_1024px(page: Any, lab_server: JupyterServer, fresh_sim: Any, output_dir: Path,
                              page_errors: list[str]) -> None:
    """At 1024 px with the file browser open, no label is cut ("Gene…"), even with Collect shown;
    a one-tier comparison does not stretch its image across the page; A and B cards match."""
    name = write_notebook(lab_server.root_dir, "browser_layout.ipynb", [
        client_cell(fresh_sim, "results-layout"),
        # submitted, never collected: the Studio (reading the run log) offers to Collect it
        "client.submit('left behind by an earlier kernel')\n"
        "studio = Studio(client, prompt='a red fox in fresh snow', save_dir='results-layout')\nstudio",
        "fresh = Flux2Client(api_key='browser-test-key', base_url=client.base_url)\n"
        "one = compare_tiers('a red fox', tiers=('pro',), client=fresh)\none",
        "ab = compare_prompts('a red fox in fresh snow', 'a red fox in fresh snow at night, with a long "
        "prompt that wraps onto more lines than the first one does', client=fresh)\nab",
    ])
    page.set_viewport_size({"width": 1024, "height": 900})
    open_and_run(page, lab_server, name)
    assert page.locator(".jp-FileBrowser").first.is_visible(), "the file browser is open"
    studio = first_studio(page)
    assert button(studio, "Collect 1 earlier").count() == 1
    assert studio.evaluate(_TRUNCATED_JS) == []
    screenshot(page, output_dir, "lab-1024-studio", studio)

    one, ab = page.locator(".f2w-cmp").nth(0), page.locator(".f2w-cmp").nth(1)
    for view in (one, ab):
        scroll_into_view(view)
        visible_images(view, IMAGE_TIMEOUT, minimum=len(view.locator(".f2w-tile").all()))
        assert view.evaluate(_TRUNCATED_JS) == []
        right = view.bounding_box()["x"] + view.bounding_box()["width"]
        for tile in view.locator(".f2w-tile").all():
            box = tile.bounding_box()
            assert box["x"] + box["width"] <= right + 1, "a card runs past the output's edge"
    width = one.locator(".f2w-tile img").first.bounding_box()["width"]
    assert 200 <= width <= 384, f"a one-tier thumbnail is {width:.0f} px wide"
    heights = [t.bounding_box()["height"] for t in ab.locator(".f2w-tile").all()]
    assert len(heights) == 2 and abs(heights[0] - heights[1]) <= 1, heights
    screenshot(page, output_dir, "lab-1024-compare", ab)
    assert_no_python_errors(page, name)
    assert_no_widget_errors(page_errors)
