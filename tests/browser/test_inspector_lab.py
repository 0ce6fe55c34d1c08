"""The Inspector's zoom, full screen and difference view, and the request view's curl, in
JupyterLab with its default settings: what a newcomer reads on screen, measured in the DOM.

Zoom is counted in image pixels: at fit the label reads the real percentage, after **1:1** it
reads exactly 100 % and one image pixel is one CSS pixel. Screenshots land in test-output/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ._jupyter import (
    IMAGE_TIMEOUT,
    JupyterServer,
    assert_no_widget_errors,
    kernel_eval,
    open_and_run,
    screenshot,
    scroll_into_view,
    visible_images,
    write_notebook,
)

pytestmark = pytest.mark.browser

PROMPT = "a lighthouse on a cliff at dawn, rigging and rope detail, gulls over the water"

CELLS = [
    "from flux2_widgets import compare_resolutions, default_client\n"
    "from flux2_widgets.widgets.inspector import RequestInspector\n"
    "client = default_client()\n"
    f"duel = compare_resolutions({PROMPT!r}, tier='pro', client=client).wait()\n"
    "inspector = duel.inspect()\n"
    "inspector",
    # The request view as narrow as a tile in a comparison row, under the package's shared
    # stylesheet (as in every view): its URL is longer than a line, and must not be split.
    "import ipywidgets\n"
    "from flux2_widgets.widgets._style import style_widget\n"
    "request_view = RequestInspector(layout={'width': '300px'})\n"
    "request_view.show_generation(duel.generations[1])\n"
    "request_view.selected_index = 1\n"
    "ipywidgets.VBox([style_widget(), request_view])",
]

# Rendered width of each image element over its own pixel width: 1.0 is 1:1.
_PER_PIXEL_JS = """root => [...root.querySelectorAll('.f2w-insp-img')].filter(i => i.naturalWidth)
  .map(i => ({index: i.dataset.index || 'heat', full: i.dataset.full === '1',
              ratio: i.getBoundingClientRect().width / i.naturalWidth}))"""

_FULL_JS = """root => [...root.querySelectorAll('.f2w-insp-img')].every(img => img.dataset.full === '1'
  && img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0)"""


def _zoom_label(insp: Any) -> str:
    return insp.locator(".f2w-insp-zoomtext").inner_text().strip()


def _percent(label: str) -> float:
    assert re.fullmatch(r"\d+(\.\d)?%", label), label
    return float(label[:-1])


def _panel_width(insp: Any) -> float:
    return insp.locator(".f2w-insp-panel").first.evaluate("p => p.getBoundingClientRect().width")


def _ratios(insp: Any) -> dict[str, float]:
    return {r["index"]: r["ratio"] for r in insp.evaluate(_PER_PIXEL_JS)}


def _wait_label(page: Any, insp: Any, text: str) -> None:
    page.wait_for_function("([root, text]) => root.querySelector('.f2w-insp-zoomtext').textContent === text",
                           arg=[insp.element_handle(), text], timeout=10_000)


def test_zoom_reads_image_pixels_full_screen_label_and_curl_wrapping(
        page: Any, lab_server: JupyterServer, output_dir: Path, page_errors: list[str]) -> None:
    name = write_notebook(lab_server.root_dir, "inspector_zoom.ipynb", CELLS)
    open_and_run(page, lab_server, name)
    insp = page.locator(".f2w-insp").first
    insp.wait_for(state="visible", timeout=IMAGE_TIMEOUT * 1000)
    scroll_into_view(insp)
    assert visible_images(insp, IMAGE_TIMEOUT, minimum=2) == 2
    assert page.evaluate("() => window.devicePixelRatio") == 1

    # ---- at fit: the real percentage of the 2k image's pixels, well under 100 % -----------
    _wait_label(page, insp, f"{round(_panel_width(insp) / 2048 * 100)}%")
    fit_label = _zoom_label(insp)
    fit = _percent(fit_label)
    assert 10 < fit < 50, fit_label
    tooltip = insp.locator(".f2w-insp-zoomtext").get_attribute("title")
    assert "one image pixel per CSS pixel" in tooltip
    each = dict(re.findall(r"^(Pro · \dk): ([\d.]+)%$", tooltip, re.M))
    assert float(each["Pro · 2k"]) == fit and float(each["Pro · 1k"]) == pytest.approx(2 * fit, abs=1)
    # what notebook 02 tells students: a 1k image fitted into half the row reads about 50 %
    assert 40 <= float(each["Pro · 1k"]) <= 60, tooltip
    screenshot(page, output_dir, "inspector-fit", insp)

    # ---- 1:1: exactly 100 %, and one image pixel is one CSS pixel --------------------------
    insp.locator(".f2w-insp-1to1").click()
    assert _zoom_label(insp) == "100%"
    page.wait_for_function(_FULL_JS, arg=insp.element_handle(), timeout=IMAGE_TIMEOUT * 1000)
    ratios = _ratios(insp)
    assert ratios["1"] == pytest.approx(1, rel=0.01), ratios  # the 2k original, 2048 px wide
    assert ratios["0"] == pytest.approx(2, rel=0.01), ratios  # the 1k one is at 200 %
    assert insp.locator(".f2w-insp-1to1.mod-active").count() == 1
    # the kernel hears the same zoom (CSS pixels per image pixel), a moment later
    zoom = 0.0
    for _ in range(50):
        zoom = float(kernel_eval(page, name, zoom="inspector.zoom")["zoom"])
        if abs(zoom - 1) < 0.005:
            break
        page.wait_for_timeout(100)
    assert zoom == pytest.approx(1, abs=0.005)
    screenshot(page, output_dir, "inspector-1to1", insp)

    # ---- keyboard: 0 fits, 1 is 100 % again; + from 100 % is 150 % --------------------------
    insp.press("0")
    assert _zoom_label(insp) == fit_label
    insp.press("1")
    assert _zoom_label(insp) == "100%"
    insp.locator(".f2w-insp-zoomin").click()
    assert _zoom_label(insp) == "150%"
    insp.locator(".f2w-insp-zoomout").click()
    assert _zoom_label(insp) == "100%"

    # ---- another mode, another panel size: 100 % stays 100 % ------------------------------
    insp.locator(".f2w-insp-btn[data-mode='swipe']").click()
    insp.locator(".f2w-insp-handle").wait_for(state="visible")
    assert _zoom_label(insp) == "100%"
    assert _ratios(insp)["1"] == pytest.approx(1, rel=0.01)

    # ---- full screen: the button says how to leave, and follows the browser out -----------
    button = insp.locator(".f2w-insp-fullscreen")
    assert button.inner_text() == "Full screen"
    button.click()
    page.wait_for_function("() => document.fullscreenElement?.classList.contains('mod-fullscreen')")
    assert button.inner_text() == "Exit full screen"
    _wait_label(page, insp, "100%")  # a bigger panel keeps the zoom in image pixels
    assert _ratios(insp)["1"] == pytest.approx(1, rel=0.01)
    screenshot(page, output_dir, "inspector-fullscreen")
    button.click()
    page.wait_for_function("() => !document.fullscreenElement")
    _wait_button(page, insp, "Full screen")
    # Leaving without the button (Escape is the browser's own: headless Chromium has no browser
    # UI to take it, so the page leaves the way the browser would, and only the event remains)
    button.click()
    page.wait_for_function("() => !!document.fullscreenElement")
    _wait_button(page, insp, "Exit full screen")
    page.evaluate("() => document.exitFullscreen()")
    _wait_button(page, insp, "Full screen")
    assert not insp.evaluate("root => root.classList.contains('mod-fullscreen')")

    # ---- the difference view: its own pixels, at the heatmap's shape ----------------------
    insp.locator(".f2w-insp-btn[data-mode='diff']").click()
    page.wait_for_function(
        """root => { const h = root.querySelector('.f2w-insp-heat');
                     return h && h.src.startsWith('blob:') && h.complete && h.naturalWidth === 1024; }""",
        arg=insp.element_handle(), timeout=IMAGE_TIMEOUT * 1000)
    _wait_label(page, insp, "200%")  # 100 % of the 2k image is 200 % of the 1k-sized heatmap
    shape = insp.locator(".f2w-insp-diff").evaluate(
        "p => { const r = p.getBoundingClientRect(), h = p.querySelector('img');"
        " return [r.width / r.height, h.naturalWidth / h.naturalHeight]; }")
    assert shape[0] == pytest.approx(shape[1], rel=0.01), "the panel has the heatmap's shape"
    insp.locator(".f2w-insp-fit").click()
    assert _zoom_label(insp) == f"{round(_panel_width(insp) / 1024 * 100)}%"
    # what differs, measured over the whole picture (the simulator draws no caption strip)
    assert re.fullmatch(r"\|Pro · 1k − Pro · 2k\| at 1024x1024: mean [0-9.]+% · [0-9]+% of pixels differ by "
                        r"more than 10%", insp.locator(".f2w-insp-difftext").inner_text())
    screenshot(page, output_dir, "inspector-diff", insp)
    insp.locator(".f2w-insp-1to1").click()
    assert _zoom_label(insp) == "100%"
    assert _ratios(insp)["heat"] == pytest.approx(1, rel=0.01)

    # ---- the request view's curl: RunAPI's address, wrapped only between tokens ------------
    curl = page.locator(".f2w-inspector").first
    scroll_into_view(curl)
    pre = curl.locator("pre").filter(has_text="curl -X POST")
    pre.wait_for(state="visible")
    text = pre.inner_text()
    assert text.startswith("curl -X POST https://runapi.ai/api/v1/flux_2/text_to_image \\")
    assert "127.0.0.1" not in text and "$RUNAPI_API_KEY" in text
    note = curl.locator(".f2w-curl-note").inner_text()
    assert "simulator at http://127.0.0.1:" in note and "RunAPI" in note
    style = pre.evaluate("p => { const s = getComputedStyle(p);"
                         " return [s.whiteSpace, s.overflowWrap, s.wordBreak, s.overflowX]; }")
    assert style == ["pre-wrap", "normal", "normal", "auto"], style
    lines = _line_boxes(pre)
    assert lines["rows"] > text.count("\n") + 1, "the long -d line wraps in a 300 px box"
    assert lines["split"] == [], f"tokens broken across lines: {lines['split']}"
    # the URL is wider than the box: it scrolls sideways instead of breaking
    assert pre.evaluate("p => p.scrollWidth > p.clientWidth")
    screenshot(page, output_dir, "request-view-curl", curl)
    curl.get_by_role("tab", name="JSON").click()
    json_pre = curl.locator("pre").filter(has_text='"model"').filter(has_not_text="curl -X POST")
    json_pre.wait_for(state="visible")
    assert _line_boxes(json_pre)["split"] == []
    assert_no_widget_errors(page_errors)


def _wait_button(page: Any, insp: Any, text: str) -> None:
    page.wait_for_function(
        "([root, text]) => root.querySelector('.f2w-insp-fullscreen').textContent === text",
        arg=[insp.element_handle(), text], timeout=10_000)


def _line_boxes(pre: Any) -> dict[str, Any]:
    """How many line boxes the text takes, and which of its tokens (runs without a space or a
    line break; each lies inside one text node) are drawn on more than one line."""
    return pre.evaluate("""p => {
      const split = [], tops = new Set();
      const walk = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
      for (let node = walk.nextNode(); node; node = walk.nextNode()) {
        for (const m of node.textContent.matchAll(/[^\\s]+/g)) {
          const range = document.createRange();
          range.setStart(node, m.index);
          range.setEnd(node, m.index + m[0].length);
          const rows = new Set([...range.getClientRects()].filter(r => r.width > 0)
                                 .map(r => Math.round(r.top)));
          rows.forEach(t => tops.add(t));
          if (rows.size > 1) split.push(m[0]);
        }
      }
      return {rows: tops.size, split};
    }""")
