"""A 200-image exploration grid in JupyterLab (default settings), measured while it streams:
time to the first image drawn and to the last, how long "Next page" takes to show the next
page's cards, and the longest main-thread task and frame gap meanwhile; a card's takes flipped;
a second grid stopped mid-run (sent cells read "may still be billed", the rest "not
charged"); a two-sided view voted on with the arrow keys. The figures are printed (run with
``-s``) and saved beside the screenshots in test-output/."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ._jupyter import (
    _CELLS_JS,
    _PANEL_JS,
    IMAGE_TIMEOUT,
    JupyterServer,
    assert_no_python_errors,
    assert_no_widget_errors,
    button,
    open_notebook,
    run_all,
    screenshot,
    scroll_into_view,
    visible_images,
    wait_kernel_idle,
    write_notebook,
)

pytestmark = pytest.mark.browser

ANIMALS = ("fox", "owl", "hare", "lynx", "otter", "badger", "heron", "crane", "stoat", "vole", "wren",
           "finch", "moose", "bison", "ibex", "yak", "llama", "camel", "zebra", "okapi", "tapir", "koala",
           "wombat", "dingo", "emu", "kiwi", "gecko", "iguana", "newt", "toad", "frog", "carp", "pike",
           "trout", "perch", "squid", "crab", "shrimp", "seal", "walrus", "orca", "whale", "dolphin",
           "manatee", "puffin", "gannet", "tern", "gull", "raven", "magpie")
assert len(ANIMALS) == 50

# Installed before the grid's cell runs: frame gaps and long tasks from then on, and when the
# first image and the last "done" show in the grid's view.
_MONITOR_JS = """() => {
  const m = window.__f2w = {first: null, last: null, frames: [], long: []};
  try {
    new PerformanceObserver(list => {
      for (const e of list.getEntries()) m.long.push([e.startTime, e.duration]);
    }).observe({type: 'longtask', buffered: false});
  } catch (e) { m.long = null; }
  let prev = performance.now();
  const frame = (t) => {
    m.frames.push([t, t - prev]);
    prev = t;
    const view = document.querySelector('.f2w-cmp');
    if (view && m.first === null) {
      const img = view.querySelector('.f2w-card--completed img');
      if (img && img.complete && img.naturalWidth > 0) m.first = t;
    }
    if (view && m.last === null && /200\\/200 done/.test(view.textContent)) m.last = t;
    if (m.last === null || t - m.last < 300) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}"""

# A page is shown once its first row's header is there and its 24 cards are laid out.
_PAGE_SHOWN_JS = """([root, label]) => {
  const grid = root.querySelector('.f2w-cmp-grid');
  const head = grid && grid.querySelector('.f2w-cmp-rowhead');
  const cards = grid ? [...grid.querySelectorAll('.f2w-card')] : [];
  return head && head.textContent.trim() === label && cards.length === 24
         && cards.every(t => t.getBoundingClientRect().height > 0);
}"""

_RUN_NEW_CELL_JS = f"""([path, source]) => {{
  const w = ({_PANEL_JS})(path);
  window.jupyterapp.shell.activateById(w.id);
  const nb = w.content;
  const n = nb.model.cells.length;
  nb.model.sharedModel.insertCell(n, {{cell_type: 'code', source}});
  nb.activeCellIndex = n;
  const t0 = performance.now();
  window.__f2w_t0 = t0;
  window.jupyterapp.commands.execute('notebook:run-cell');
  return t0;
}}"""


def _run_new_cell(page: Any, notebook: str, source: str) -> float:
    """Append a code cell, start it and return the page's clock when it was started; then
    wait (not for its images) until it has run."""
    t0 = page.evaluate(_RUN_NEW_CELL_JS, [notebook, source])
    ran = f"(path) => {{ const c = ({_CELLS_JS})(path); return c && c[c.length - 1].count; }}"
    page.wait_for_function(ran, arg=notebook, timeout=60_000, polling=100)
    return float(t0)


def _client_cell(sim: Any) -> str:
    # Pinned LIVE (simulated=False): the money words a paying user reads. 16 at once keeps the
    # test short; the window is the client's max_concurrency.
    return ("from flux2_widgets import Flux2Client, PollPolicy, compare_prompts, grid\n"
            f"client = Flux2Client(api_key='browser-test-key', base_url={sim.url!r}, simulated=False,\n"
            "                     max_concurrency=16, poll=PollPolicy(first=0.1, min_interval=0.05))\n"
            "client")


def test_a_200_image_grid_streams_pages_flips_and_stops(page: Any, lab_server: JupyterServer, fresh_sim: Any,
                                                       output_dir: Path, page_errors: list[str]) -> None:
    fresh_sim.latency = 0.4
    name = write_notebook(lab_server.root_dir, "browser_grids.ipynb", [_client_cell(fresh_sim)])
    open_notebook(page, lab_server, name)
    run_all(page, name)
    figures: dict[str, Any] = {}

    # ---- 200 images: 50 animals x Pro, Flex x 2 takes, 100 places, 5 pages of 24 -----------
    page.evaluate(_MONITOR_JS)
    t0 = _run_new_cell(page, name, "animals = " + repr(list(ANIMALS)) + "\n"
                       "big = grid('a {animal} in the snow', animal=animals, tier=['pro', 'flex'], takes=2)\n"
                       "cmp = big.run(client=client, budget=20)\ncmp")
    view = page.locator(".f2w-cmp").first
    view.wait_for(state="attached", timeout=60_000)
    scroll_into_view(view)
    page.wait_for_function("() => window.__f2w.first !== null", timeout=IMAGE_TIMEOUT * 1000, polling=100)
    figures["first_image_s"] = round((page.evaluate("window.__f2w.first") - t0) / 1000, 2)
    pager = view.locator(".f2w-cmp-pager")
    pager.get_by_text(re.compile(r"page 1 of 5 · rows 1-12")).wait_for(state="visible")
    assert view.locator(".f2w-cmp-grid .f2w-card").count() == 24

    # Next page while results stream in: the next 12 rows' cards, drawn
    clicked = page.evaluate("performance.now()")
    button(pager, "Next").click()
    page.wait_for_function(_PAGE_SHOWN_JS, arg=[view.element_handle(), ANIMALS[12]], timeout=30_000,
                           polling="raf")
    figures["next_page_s"] = round((page.evaluate("performance.now()") - clicked) / 1000, 2)
    pager.get_by_text(re.compile(r"page 2 of 5 · rows 13-24")).wait_for(state="visible")
    running = view.locator(".f2w-cmp-bar .f2w-note").first.inner_text()
    screenshot(page, output_dir, "lab-grid-page2-streaming", view)

    # flip a card's takes: take 2 of the first place on this page
    card = view.locator(".f2w-card").first
    card.locator(".f2w-card-next").click()
    card.get_by_text(re.compile(r"^take 2/2$")).wait_for(state="visible")
    assert card.locator(".f2w-card-dot.mod-shown").count() == 1

    page.wait_for_function("() => window.__f2w.last !== null", timeout=120_000, polling=250)
    m = page.evaluate("window.__f2w")
    figures["last_image_s"] = round((m["last"] - t0) / 1000, 2)
    streaming = [gap for t, gap in m["frames"] if m["first"] <= t <= m["last"]]
    figures["frames_while_streaming"] = len(streaming)
    figures["longest_frame_gap_ms"] = round(max(streaming), 1)
    figures["frame_gaps_over_100ms"] = sum(g > 100 for g in streaming)
    if m["long"] is not None:
        tasks = [d for t, d in m["long"] if m["first"] <= t <= m["last"]]
        figures["long_tasks_while_streaming"] = len(tasks)
        figures["longest_task_ms"] = round(max(tasks, default=0.0), 1)
    view.get_by_text(re.compile(r"^200/200 done")).wait_for(state="visible")
    # the same step once nothing streams: what the page costs on its own
    clicked = page.evaluate("performance.now()")
    button(pager, "Next").click()
    page.wait_for_function(_PAGE_SHOWN_JS, arg=[view.element_handle(), ANIMALS[24]], timeout=30_000,
                           polling="raf")
    figures["next_page_idle_s"] = round((page.evaluate("performance.now()") - clicked) / 1000, 2)
    button(pager, "Prev").click()
    pager.get_by_text(re.compile(r"page 2 of 5")).wait_for(state="visible")
    assert button(view, "Stop").count() == 0 or not button(view, "Stop").is_visible()
    assert visible_images(view.locator(".f2w-cmp-grid"), IMAGE_TIMEOUT, minimum=24) >= 24
    card.get_by_text(re.compile(r"^take 2/2$")).wait_for(state="visible")  # remembered across pages
    card.locator(".f2w-card-prev").click()  # back to take 1, drawn from the kernel's preview
    card.get_by_text(re.compile(r"^take 1/2$")).wait_for(state="visible")
    visible_images(card, IMAGE_TIMEOUT)
    screenshot(page, output_dir, "lab-grid-done", view)
    assert "running" in running or "queued" in running, f"the page was flipped while it streamed: {running}"

    # ---- Stop mid-run: the first window never finishes on the service ----------------------
    fresh_sim.inject("never_finish", times=16)
    _run_new_cell(page, name, "stop = grid('a {n} paper boats', n=list(range(1, 21)), takes=2)"
                  ".run(client=client)\nstop")
    stopper = page.locator(".f2w-cmp").nth(1)
    stopper.wait_for(state="attached")
    scroll_into_view(stopper)
    stop = button(stopper, "Stop")
    stop.wait_for(state="visible")
    stopper.get_by_text(re.compile(r"16 running · 24 queued")).wait_for(state="visible", timeout=30_000)
    stop.click()
    stopper.get_by_text(re.compile(r"40 stopped")).wait_for(state="visible", timeout=30_000)
    stopped = stopper.locator(".f2w-card--stopped")
    assert stopped.count() == 20  # one card a place (its first take shown)
    billed = stopper.locator(".f2w-card-cost", has_text="may still be billed (about $0.05)")
    free = stopper.locator(".f2w-card-cost", has_text=re.compile(r"^\s*not charged\s*$"))
    assert billed.count() == 8 and free.count() == 12, (billed.count(), free.count())
    assert button(stopper.locator(".f2w-card").first, "Resume").is_visible()
    stopper.get_by_text(re.compile(r"\$0\.80 of it may still be billed")).wait_for(state="visible")
    button(stopper.locator(".f2w-card").first, "Details").click()  # the take's full tile
    details = stopper.locator(".f2w-cmp-details")
    details.get_by_text(re.compile(r"may still finish on the server")).wait_for(state="visible")
    details.get_by_text("may still be billed (about $0.05)").wait_for(state="visible")
    assert not stop.is_visible()
    assert fresh_sim.stats.tasks_created == 200 + 16, "nothing more was sent after Stop"
    screenshot(page, output_dir, "lab-grid-stopped", stopper)

    # ---- a two-sided view answers the arrow keys, as the blind panel does ------------------
    _run_new_cell(page, name, "ab = compare_prompts('a koi pond', 'a koi pond in autumn', client=client)\nab")
    ab = page.locator(".f2w-cmp").nth(2)
    ab.wait_for(state="attached")
    scroll_into_view(ab)
    visible_images(ab, IMAGE_TIMEOUT, minimum=2)
    active = page.evaluate(f"(path) => ({_PANEL_JS})(path).content.activeCellIndex", name)
    ab.locator(".f2w-tile img").first.click()
    page.keyboard.press("ArrowRight")
    ab.get_by_text(re.compile(r"votes A: 0 · B: 1 · tie: 0")).wait_for(state="visible")
    page.keyboard.press("t")
    ab.get_by_text(re.compile(r"votes A: 0 · B: 1 · tie: 1")).wait_for(state="visible")
    assert page.evaluate(f"(path) => ({_PANEL_JS})(path).content.activeCellIndex", name) == active, (
        "the keys voted; JupyterLab must not also have moved between cells")
    screenshot(page, output_dir, "lab-grid-keys", ab)

    print("\ngrid figures:", json.dumps(figures))
    (output_dir / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    wait_kernel_idle(page, name)
    assert_no_python_errors(page, name)
    assert_no_widget_errors(page_errors)
