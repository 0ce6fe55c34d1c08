"""Notebook 07 in JupyterLab (default settings): the Inspector's synced zoom, pan, full-size
fetch, swipe and difference; a blind vote cast with the keyboard; the history gallery
reopened after a kernel restart. Screenshots land in test-output/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ._jupyter import (
    _KERNEL_STATUS_JS,
    _PANEL_JS,
    IMAGE_TIMEOUT,
    KERNEL_TIMEOUT,
    RUN_TIMEOUT,
    JupyterServer,
    assert_no_widget_errors,
    open_and_run,
    open_notebook,
    screenshot,
    scroll_into_view,
    visible_images,
    wait_kernel_idle,
)

pytestmark = pytest.mark.browser

NOTEBOOK = "07_expert_compare.ipynb"

_TRANSFORMS_JS = """root => [...root.querySelectorAll('.f2w-insp-img')].map(img => img.style.transform)"""


def _transforms(insp: Any) -> list[str]:
    return insp.evaluate(_TRANSFORMS_JS)


def _scale(transform: str) -> float:
    return float(transform.split("scale(")[1].rstrip(")"))


def _translate(transform: str) -> tuple[float, float]:
    inner = transform.split("translate(")[1].split(")")[0]
    x, y = (float(v.strip().rstrip("px")) for v in inner.split(","))
    return x, y


def test_inspector_zoom_pan_swipe_diff_and_blind_keyboard_vote(page: Any, lab_server: JupyterServer,
                                                               output_dir: Path,
                                                               page_errors: list[str]) -> None:
    open_and_run(page, lab_server, NOTEBOOK)

    # ---- the Inspector: previews first --------------------------------------------------
    insp = page.locator(".f2w-insp").first
    insp.wait_for(state="visible", timeout=IMAGE_TIMEOUT * 1000)
    scroll_into_view(insp)
    assert visible_images(insp, IMAGE_TIMEOUT, minimum=2) == 2
    panels = insp.locator(".f2w-insp-panel")
    assert panels.count() == 2
    before = _transforms(insp)
    assert len(before) == 2 and before[0] == before[1]
    assert _scale(before[0]) == 1

    # ---- wheel zoom on the first image: both move together ------------------------------
    box = panels.nth(0).bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4)
    page.mouse.wheel(0, -400)
    page.wait_for_function(f"root => ({_TRANSFORMS_JS})(root).every(t => !t.includes('scale(1)'))",
                           arg=insp.element_handle())
    zoomed = _transforms(insp)
    assert zoomed[0] == zoomed[1], "zoom must be the same on every image"
    assert _scale(zoomed[0]) > 1.5

    # ---- drag to pan on the second image: the first follows -----------------------------
    box2 = panels.nth(1).bounding_box()
    start = (box2["x"] + box2["width"] / 2, box2["y"] + box2["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 60, start[1] + 40, steps=6)
    page.mouse.up()
    panned = _transforms(insp)
    assert panned[0] == panned[1], "pan must be the same on every image"
    assert _translate(panned[0]) != _translate(zoomed[0])
    assert _scale(panned[0]) == _scale(zoomed[0])

    # ---- past the preview's detail the full-size pixels arrive (blob:, never in state) ---
    insp.locator(".f2w-insp-1to1").click()
    page.wait_for_function(
        """root => [...root.querySelectorAll('.f2w-insp-img')].every(img => img.dataset.full === '1'
             && img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0)""",
        arg=insp.element_handle(), timeout=IMAGE_TIMEOUT * 1000)
    widths = insp.evaluate("root => [...root.querySelectorAll('.f2w-insp-img')].map(i => i.naturalWidth)")
    assert widths == [1024, 2048], "the 1k and 2k originals, not the 640 px previews"
    full = _transforms(insp)
    assert full[0] == full[1]
    assert insp.locator(".f2w-insp-zoomtext").inner_text() == "100%", "1:1 is 100 % of image pixels"
    screenshot(page, output_dir, "inspector-zoomed", insp)

    # ---- swipe: drag the handle to a quarter of the width -------------------------------
    insp.locator(".f2w-insp-btn[data-mode='swipe']").click()
    handle = insp.locator(".f2w-insp-handle")
    handle.wait_for(state="visible")
    panel = insp.locator(".f2w-insp-swipe").bounding_box()
    hbox = handle.bounding_box()
    page.mouse.move(hbox["x"] + hbox["width"] / 2, panel["y"] + panel["height"] / 2)
    page.mouse.down()
    page.mouse.move(panel["x"] + panel["width"] * 0.25, panel["y"] + panel["height"] / 2, steps=8)
    page.mouse.up()
    left = handle.evaluate("h => parseFloat(h.style.left)")
    assert left == pytest.approx(25, abs=2)
    clip = insp.locator(".f2w-insp-layer").evaluate("l => l.style.clipPath")
    assert clip.startswith("inset(0px 7") or clip.startswith("inset(0 7"), clip
    swiped = _transforms(insp)
    assert len(swiped) == 2 and swiped[0] == swiped[1]
    # a panel of another size, the same zoom in image pixels
    assert insp.locator(".f2w-insp-zoomtext").inner_text() == "100%", "swipe keeps the shared zoom"
    screenshot(page, output_dir, "inspector-swipe", insp)
    insp.locator(".f2w-insp-fit").click()
    screenshot(page, output_dir, "inspector-swipe-fit", insp)

    # ---- blink: one image at a time, Flip shows the other --------------------------------
    insp.locator(".f2w-insp-btn[data-mode='blink']").click()
    shown_js = """root => [...root.querySelectorAll('.f2w-insp-img')]
                    .filter(i => i.style.visibility !== 'hidden').map(i => i.dataset.index)"""
    assert insp.evaluate(shown_js) == ["0"]
    insp.locator(".f2w-insp-blinkbtn").click()
    assert insp.evaluate(shown_js) == ["1"]
    assert "2k" in insp.locator(".f2w-insp-blinkcap").inner_text()

    # ---- full screen, and back ---------------------------------------------------------------
    insp.locator(".f2w-insp-fullscreen").click()
    page.wait_for_function("() => document.fullscreenElement?.classList.contains('f2w-insp')"
                           " && document.fullscreenElement.classList.contains('mod-fullscreen')")
    assert insp.locator(".f2w-insp-fullscreen").inner_text() == "Exit full screen"
    screenshot(page, output_dir, "inspector-fullscreen")
    insp.locator(".f2w-insp-fullscreen").click()  # the same button leaves full screen
    page.wait_for_function("() => !document.fullscreenElement")
    # the class follows the browser's fullscreenchange event, a moment after the element
    insp.evaluate("""root => new Promise((ok, fail) => {
        const t0 = Date.now();
        (function check() {
            if (!root.classList.contains('mod-fullscreen')) return ok();
            if (Date.now() - t0 > 5000) return fail(new Error('still full screen'));
            requestAnimationFrame(check);
        })();
    })""")

    # ---- difference heatmap, computed in Python ------------------------------------------
    insp.locator(".f2w-insp-btn[data-mode='diff']").click()
    page.wait_for_function(
        """root => { const h = root.querySelector('.f2w-insp-heat');
                     return h && h.src.startsWith('blob:') && h.complete && h.naturalWidth === 1024; }""",
        arg=insp.element_handle(), timeout=IMAGE_TIMEOUT * 1000)
    assert "mean" in insp.locator(".f2w-insp-difftext").inner_text()
    insp.locator(".f2w-insp-fit").click()
    screenshot(page, output_dir, "inspector-diff", insp)

    # ---- blind A/B: labels hidden before, a key press votes, labels shown after ----------
    blind = page.locator(".f2w-blind").first
    scroll_into_view(blind)
    view = page.locator(".f2w-cmp--blind").first
    page.wait_for_function("b => !b.querySelector('.f2w-blind-btn').disabled", arg=blind.element_handle(),
                           timeout=IMAGE_TIMEOUT * 1000)
    assert visible_images(blind, IMAGE_TIMEOUT, minimum=2) == 2
    hidden_text = view.inner_text()
    for secret in ("Pro", "Flex", "red fox", "$0."):
        assert secret not in hidden_text, f"{secret!r} shown before the vote"
    assert blind.locator(".f2w-blind-label").count() == 0
    screenshot(page, output_dir, "blind-before", view)
    blind.locator(".f2w-blind-card--left").click()
    page.keyboard.press("ArrowRight")
    blind.locator(".f2w-blind-label").first.wait_for(state="visible", timeout=30_000)
    labels = sorted(blind.locator(".f2w-blind-label").all_inner_texts())
    assert labels == ["Flex · 1k", "Pro · 1k"]
    assert "right" in blind.locator(".f2w-blind-hint").inner_text()
    assert blind.locator(".f2w-blind-card--right.mod-winner").count() == 1
    # revealed in place: the same two cards now carry their labels, cost and latency; no second
    # grid with vote buttons of its own appears (one place to vote)
    page.wait_for_function("v => v.innerText.includes('would have cost')", arg=view.element_handle(),
                           timeout=30_000)
    assert view.locator(".f2w-tile").count() == 0 and view.locator(".f2w-blind-card").count() == 2
    screenshot(page, output_dir, "blind-after", view)

    # ---- saved with JupyterLab's defaults: how big is the notebook with an inspector used? --
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    saved = lab_server.root_dir / NOTEBOOK
    page.wait_for_function(
        f"(path) => {{ const w = ({_PANEL_JS})(path); return w && !w.context.model.dirty; }}",
        arg=NOTEBOOK, timeout=30_000)
    size = saved.stat().st_size
    text = saved.read_text()
    (output_dir / "saved-notebook-size.txt").write_text(f"{size} bytes\n")
    assert size < 1_000_000 and "blob:" not in text
    assert json.loads(text)["cells"][1]["outputs"], "the outputs were saved"
    assert_no_widget_errors(page_errors)


_RUN_CELL_JS = f"""([path, index]) => {{
  const w = ({_PANEL_JS})(path);
  window.jupyterapp.shell.activateById(w.id);
  w.content.activeCellIndex = index;
  return window.jupyterapp.commands.execute('notebook:run-cell');
}}"""


def _last_code_cell(page: Any) -> int:
    return page.evaluate(f"""(path) => {{
      const w = ({_PANEL_JS})(path);
      const cells = w.content.widgets;
      for (let i = cells.length - 1; i >= 0; i--) if (cells[i].model.type === 'code') return i;
      return -1;
    }}""", NOTEBOOK)


def _show_history(page: Any, cell: int) -> tuple[Any, int]:
    page.evaluate(_RUN_CELL_JS, [NOTEBOOK, cell])
    hist = page.locator(".f2w-hist").last
    hist.wait_for(state="visible", timeout=RUN_TIMEOUT * 1000)
    scroll_into_view(hist)
    page.wait_for_function("h => /\\d+ of \\d+ results/.test(h.innerText)", arg=hist.element_handle(),
                           timeout=RUN_TIMEOUT * 1000)
    count = int(hist.locator(".f2w-hist-filters").inner_text().split(" of ")[1].split()[0])
    return hist, count


def test_history_reopens_after_a_kernel_restart(page: Any, lab_server: JupyterServer, output_dir: Path,
                                                page_errors: list[str]) -> None:
    open_notebook(page, lab_server, NOTEBOOK)
    cell = _last_code_cell(page)
    hist, before = _show_history(page, cell)
    if before < 4:  # run on its own: make some results first
        open_and_run(page, lab_server, NOTEBOOK)
        hist, before = _show_history(page, cell)
    assert before >= 4

    # restart the kernel (no dialog), clear the old outputs, run only the history cell
    page.evaluate(f"""(path) => {{
      const w = ({_PANEL_JS})(path);
      return w.sessionContext.session.kernel.restart();
    }}""", NOTEBOOK)
    page.wait_for_function(f"(path) => ({_KERNEL_STATUS_JS})(path) === 'idle'", arg=NOTEBOOK,
                           timeout=KERNEL_TIMEOUT * 1000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    assert page.locator(".f2w-hist").count() == 0
    hist, after = _show_history(page, cell)
    assert after == before, "a new kernel finds every saved result again"
    assert visible_images(hist.locator(".f2w-hist-grid"), IMAGE_TIMEOUT, minimum=4) >= 4

    # filter by prompt text (Enter commits), then compare two of what is left
    box = hist.locator(".f2w-hist-filters input[type='text']").first
    box.fill("lighthouse")
    box.press("Enter")
    page.wait_for_function(
        """h => { const cards = [...h.querySelectorAll('.f2w-hist-card')];
                  return cards.length >= 2 && cards.every(c => /lighthouse/i.test(c.innerText)); }""",
        arg=hist.element_handle(), timeout=30_000)
    selects = hist.locator(".f2w-hist-card .f2w-hist-select")
    selects.nth(0).click()
    selects.nth(1).click()
    hist.get_by_role("button", name="Compare").click()
    cmp = hist.locator(".f2w-cmp").first
    cmp.wait_for(state="visible", timeout=30_000)
    assert visible_images(cmp, IMAGE_TIMEOUT, minimum=2) >= 2
    wait_kernel_idle(page, NOTEBOOK)
    screenshot(page, output_dir, "history-after-restart", hist)
    assert_no_widget_errors(page_errors)


def test_inspector_and_blind_vote_in_notebook7(page: Any, notebook7_server: JupyterServer, output_dir: Path,
                                               page_errors: list[str]) -> None:
    """The same anywidget front ends in classic Notebook 7, with its default settings."""
    open_and_run(page, notebook7_server, NOTEBOOK)
    insp = page.locator(".f2w-insp").first
    insp.wait_for(state="visible", timeout=IMAGE_TIMEOUT * 1000)
    scroll_into_view(insp)
    assert visible_images(insp, IMAGE_TIMEOUT, minimum=2) == 2
    insp.locator(".f2w-insp-zoomin").click()
    zoomed = _transforms(insp)
    assert zoomed[0] == zoomed[1] and _scale(zoomed[0]) == pytest.approx(1.5)

    blind = page.locator(".f2w-blind").first
    scroll_into_view(blind)
    page.wait_for_function("b => !b.querySelector('.f2w-blind-btn').disabled", arg=blind.element_handle(),
                           timeout=IMAGE_TIMEOUT * 1000)
    assert blind.locator(".f2w-blind-label").count() == 0
    blind.locator(".f2w-blind-card--right").click()
    page.keyboard.press("t")
    blind.locator(".f2w-blind-label").first.wait_for(state="visible", timeout=30_000)
    assert sorted(blind.locator(".f2w-blind-label").all_inner_texts()) == ["Flex · 1k", "Pro · 1k"]
    assert "a tie" in blind.locator(".f2w-blind-hint").inner_text()
    screenshot(page, output_dir, "notebook7-blind-after", blind)
    assert_no_widget_errors(page_errors)
