"""Exploration grids end to end against the simulator over real HTTP: every axis kind through
a real comparison, takes that differ, places a tier does not offer, the estimate-first rule
for big grids, budgets refused with nothing sent, rows named after the axes, paged PNG
export, the view's pages and cards (only for the page shown; takes flipped, details opened),
the window of runs going at once, keyboard votes, Stop mid-grid with the money words per
cell, and the CompareWidget's takes."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from pathlib import Path

import pytest
from PIL import Image

from flux2_widgets import catalog
from flux2_widgets.client import AsyncFlux2Client, Flux2Client, PollPolicy
from flux2_widgets.compare import Comparison, compare_grid, compare_prompts, grid
from flux2_widgets.compare.grid_image import MAX_PIXELS, MAX_SIDE
from flux2_widgets.compare.plans import plan_from_grid
from flux2_widgets.errors import BudgetExceededError, ValidationError
from flux2_widgets.money import MAY_BE_BILLED, NOT_CHARGED

FAST = PollPolicy(first=0.03, min_interval=0.02)
KEY = "test-key-grids"


@pytest.fixture(scope="module")
def quick_sim():
    from flux2_widgets.simulator import Simulator

    with Simulator(latency=0.05) as server:
        yield server


@pytest.fixture
def qsim(quick_sim):
    quick_sim.reset()
    return quick_sim


@pytest.fixture
def qclient(qsim):
    with Flux2Client(api_key=KEY, base_url=qsim.url, poll=FAST) as c:
        yield c


def _size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size


def _unstarted(plan, client) -> Comparison:
    """A grid's comparison, built and never started: nothing is sent."""
    p = plan_from_grid(plan)
    return Comparison(p.cells, kind=p.kind, title=p.title, row_labels=p.row_labels, col_labels=p.col_labels,
                      client=client, page_labels=p.page_labels, skipped=p.skipped, axes=p.axes)


# ------------------------------------------------------------------ every axis, for real


def test_slot_axis_with_takes_makes_distinct_images_per_place(qsim, qclient):
    cmp = grid("a {animal} in snow", animal=["fox", "owl"], tier=["pro", "flex"], takes=3).run(client=qclient)
    assert cmp.wait(15) is cmp
    assert len(cmp.cells) == 12 and len(cmp.positions) == 4 and cmp.takes == 3
    assert qsim.count("POST") == 12
    place = cmp.at("owl", "Flex")
    assert [c.take for c in place.cells] == [0, 1, 2]
    assert {c.request for c in place.cells} == {catalog.ImageRequest("a owl in snow", tier="flex")}
    # three takes of one request are three different pictures (no seed: repeats show variance)
    for p in cmp.positions:
        datas = [c.result.image.data for c in p.cells]
        assert len(set(datas)) == 3 and all(_size(d) == catalog.pixel_size("1:1", "1k") for d in datas)
    assert len({c.result.image.data for c in cmp.cells}) == 12
    assert cmp.cell("fox", "Pro", take=2) is cmp.at(0, 0).cells[2]
    rows = cmp.rows()
    assert len(rows) == 12
    assert [(r["animal"], r["tier"], r["take"]) for r in rows[:4]] == [
        ("fox", "pro", 1), ("fox", "pro", 2), ("fox", "pro", 3), ("fox", "flex", 1)]
    assert not any(k.startswith("axis_") for k in rows[0])
    assert all(r["status"] == "completed" and r["billed_cost"] for r in rows)


def test_replace_prompt_list_ratio_and_sources_axes_run(qsim, qclient):
    # search and replace x resolution: the original phrase first
    swap = grid("a red kite over green hills", replace={"red": ["blue"]}, resolution=["1k", "2k"]).run(
        client=qclient).wait(15)
    assert [c.request.prompt for c in swap.cells] == ["a red kite over green hills"] * 2 + [
        "a blue kite over green hills"] * 2
    assert [_size(c.result.image.data) for c in swap.cells[:2]] == [catalog.pixel_size("1:1", r)
                                                                    for r in ("1k", "2k")]
    assert [(r["red"], r["resolution"]) for r in swap.rows()] == [
        ("red", "1k"), ("red", "2k"), ("blue", "1k"), ("blue", "2k")]
    # whole prompts x aspect ratio
    ratios = grid(["a lighthouse at dawn", "a koi pond in autumn"], aspect_ratio=["16:9", "3:4"]).run(
        client=qclient).wait(15)
    assert ratios.col_labels == ["16:9", "3:4"]
    assert [_size(c.result.image.data) for c in ratios.cells] == [catalog.pixel_size(r, "1k")
                                                                  for r in ("16:9", "3:4")] * 2
    assert [r["aspect_ratio"] for r in ratios.rows()] == ["16:9", "3:4"] * 2
    # remix sources: one set per column, made from the images above
    fox, owl = (c.result.image.url for c in ratios.cells[:2])
    remix = grid("blend these into one poster", sources=[fox, [fox, owl]], tier="flex").run(
        client=qclient).wait(15)
    assert all(c.ok and c.request.action == "remix_image" for c in remix.cells)
    assert [c.request.source_image_urls for c in remix.cells] == [(fox,), (fox, owl)]
    assert [r["sources"] for r in remix.rows()] == [fox, f"{fox} {owl}"]
    assert qsim.count("POST", "/api/v1/flux_2/remix_image") == 2


def test_unoffered_places_are_refused_or_skipped_with_the_reason(qsim, qclient):
    with pytest.raises(ValidationError, match=r"Max: 1k only.*skip_unoffered=True") as info:
        grid("a fox at dusk", tier=["pro", "max"], resolution=["1k", "2k"]).run(client=qclient)
    assert info.value.field == "resolution" and qsim.count() == 0
    cmp = grid("a fox at dusk", tier=["pro", "max"], resolution=["1k", "2k"], takes=2,
               skip_unoffered=True).run(client=qclient).wait(15)
    assert qsim.count("POST") == 6  # three places x two takes; Max at 2k never sent
    empty = cmp.at("Max", "2k")  # tier down the side, resolution across
    assert empty.skipped and empty.reason == "Max: 1k only" and empty.cells == []
    assert [p.skipped for p in cmp.positions] == [False, False, False, True]
    assert len(cmp.rows()) == 6
    view = cmp.view()
    assert "Max: 1k only" in _all_html(view) and "1 not offered" in view.progress.value
    assert len(view.cards) == 3
    assert "Max: 1k only" in cmp._repr_html_()
    # compare_grid has the same rule
    with pytest.raises(ValidationError, match="Max: 1k only"):
        compare_grid(["a fox at dusk"], tiers=("pro", "max"), resolutions=("1k", "2k"), client=qclient)
    assert qsim.count("POST") == 6


def _all_html(widget) -> str:
    out, stack = [], [widget]
    while stack:
        w = stack.pop()
        if isinstance(getattr(w, "value", None), str):
            out.append(w.value)
        stack.extend(getattr(w, "children", ()) or ())
    return "\n".join(out)


# --------------------------------------------------------- big grids: the estimate first


def test_past_48_images_a_budget_is_required_and_checked_with_nothing_sent(qsim, qclient):
    plan = grid("a {n} paper boats on a pond", n=list(range(1, 26)), tier=["pro", "flex"])  # 50 images
    with pytest.raises(ValidationError) as info:
        plan.run(client=qclient)
    message = str(info.value)
    assert info.value.field == "budget"
    assert "makes 50 images, about $4.75" in message and "min at typical live latencies" in message
    assert "budget=" in message and "Nothing was sent" in message
    with pytest.raises(ValidationError, match="makes 50 images"):
        plan.check()
    with pytest.raises(BudgetExceededError, match=r"over the budget of \$1\.00.*Nothing was sent"):
        plan.run(client=qclient, budget=1.0)
    with pytest.raises(ValidationError, match=r"makes 96 images.*budget="):
        compare_grid([f"a boat number {i}" for i in range(24)], tiers=("pro", "flex"), takes=2,
                     client=qclient)
    with pytest.raises(BudgetExceededError):
        compare_grid([f"a boat number {i}" for i in range(24)], tiers=("pro", "flex"), takes=2, budget=2,
                     client=qclient)
    # an unpublished price cannot be capped: said so, still before anything is sent
    with pytest.raises(ValidationError, match="not published"):
        grid("a {n} paper boats", n=list(range(1, 50)), tier="max").run(client=qclient)
    assert qsim.count() == 0, "nothing may reach the service before the whole plan is accepted"
    # with the estimate read and a budget that holds it, it runs (the first window is sent at once)
    cmp = plan.run(client=qclient, budget=4.75)
    assert len(cmp.cells) == 50 and cmp.running and qsim.count("POST") >= cmp.window
    cmp.stop()
    cmp.wait(10)


def test_the_plan_shows_itself_before_anything_is_sent(qsim):
    plan = grid("a {n} paper boats", n=list(range(1, 31)), tier=["pro", "max"], resolution=["1k", "2k"],
                takes=2, skip_unoffered=True)
    page = plan._repr_html_()
    assert "(not sent)" in page and "90 cells x 2 takes = 180 images" in page
    assert "time: about" in page and "plan.run(budget=...)" in page
    assert "Max: 1k only: 30 places" in page
    small = grid("a red fox", tier=["pro", "flex"])
    assert "<code>plan.run()</code> starts it" in small._repr_html_()
    assert qsim.count() == 0


def test_the_window_runs_as_many_at_once_as_the_client_does(qsim):
    qsim.latency = 0.15
    with Flux2Client(api_key=KEY, base_url=qsim.url, poll=FAST, max_concurrency=4) as client:
        cmp = grid("a {n} kites in the wind", n=list(range(1, 7)), takes=2).run(client=client)
        assert cmp.window == 4
        # plain code: start() returns once the first window's creates are answered, the rest queued
        assert qsim.count("POST") == 4
        assert [c.status for c in cmp.cells[4:]] == ["queued"] * 8
        cmp.wait(20)
    tasks = sorted(qsim.tasks.values(), key=lambda t: t.created)
    assert len(tasks) == 12 and all(t.final_status == "completed" for t in tasks)
    overlap = max(sum(1 for u in tasks if u.created <= t.created < (u.completed or 0)) for t in tasks)
    assert overlap == 4, f"{overlap} tasks ran at once; the client runs 4"
    # started in plan order: the first places (both their takes) fill first
    assert sorted(t.request.prompt for t in tasks[:4]) == ["a 1 kites in the wind"] * 2 + [
        "a 2 kites in the wind"] * 2


# -------------------------------------------------------------------------------- export


def test_rows_and_csv_name_the_axes(qsim, qclient, tmp_path):
    cmp = grid("a {animal} under {sky}", animal=["fox", "hare"], sky=["stars", "rain"], tier=["pro", "flex"],
               takes=2, rows="animal", cols=("sky", "tier")).run(client=qclient).wait(15)
    path = cmp.to_csv(tmp_path / "grid.csv")
    with path.open(newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 16
    header = list(table[0])
    assert header[:8] == ["comparison", "page", "row", "column", "take", "cell", "animal", "sky"]
    assert "tier" in header and not any(h.startswith("axis_") for h in header)
    assert {(r["animal"], r["sky"], r["tier"], r["take"]) for r in table} == {
        (a, s, t, k) for a in ("fox", "hare") for s in ("stars", "rain") for t in ("pro", "flex")
        for k in "12"}
    assert all(r["prompt"] == f"a {r['animal']} under {r['sky']}" for r in table)
    pytest.importorskip("pandas")
    frame = cmp.to_pandas()
    assert frame.groupby(["animal", "tier"]).size().tolist() == [4, 4, 4, 4]


def test_png_export_of_a_small_grid_draws_takes_side_by_side(qsim, qclient, tmp_path):
    cmp = grid("a {animal} in snow", animal=["fox", "owl"], tier=["pro", "flex"], takes=2).run(
        client=qclient).wait(15)
    img = cmp.to_image(side=128)
    layout = json.loads(img.info["flux2_layout"])
    assert [c["text"] for c in layout["columns"]] == ["Pro", "Flex"]
    assert [r["text"] for r in layout["rows"]] == ["fox", "owl"]
    assert sorted(c["index"] for c in layout["cells"]) == list(range(8))
    first, second = (c for c in layout["cells"] if c["index"] in (0, 1))
    assert second["image_box"][0] > first["image_box"][2], "the takes of a place sit side by side"
    assert "take 2/2" in second["caption"][0]
    # a place is two takes wide: 16 margin + 220 rows + 12 + 2 x (2 x 128 + 6) + 12 + 16
    assert img.size[0] == 16 + 220 + 12 + 2 * (2 * 128 + 6) + 12 + 16
    saved = cmp.save_image(tmp_path / "small.png", side=128)
    assert saved == tmp_path / "small.png" and Image.open(saved).size == img.size
    assert cmp.save_images(tmp_path / "again.png", side=128) == [tmp_path / "again.png"]


def test_a_huge_grid_is_split_into_pages_each_with_its_headers(qclient, tmp_path):
    plan = grid("a {n} paper boats", n=list(range(1, 81)), tier=["pro", "flex"], takes=2)
    cmp = _unstarted(plan, qclient)  # placeholders; nothing is sent
    with pytest.raises(ValidationError, match="to_images"):
        cmp.to_image()
    pages = cmp.to_images()
    assert len(pages) >= 3
    seen: list[int] = []
    for page in pages:
        w, h = page.size
        assert w * h <= MAX_PIXELS and h <= MAX_SIDE
        layout = json.loads(page.info["flux2_layout"])
        assert [c["text"] for c in layout["columns"]] == ["Pro", "Flex"], "every page has its headers"
        assert layout["rows"] and "page" in layout["title"]["text"]
        seen += [c["index"] for c in layout["cells"]]
    assert sorted(seen) == list(range(320)), "every image once, on one page"
    paths = cmp.save_image(tmp_path / "boats.png")
    assert paths == [tmp_path / f"boats-{i}.png" for i in range(1, len(pages) + 1)]
    assert [Image.open(p).size for p in paths] == [p.size for p in pages]
    assert not (tmp_path / "boats.png").exists()


def test_a_row_too_wide_for_one_picture_is_cut_between_columns(qclient):
    plan = grid("a {n} paper boats", n=list(range(1, 41)), rows=(), cols="n")
    cmp = _unstarted(plan, qclient)
    [picture] = cmp.to_images(side=512)  # 40 x 512 px is wider than a picture may be
    assert picture.size[0] <= MAX_SIDE
    layout = json.loads(picture.info["flux2_layout"])
    assert [c["text"] for c in layout["columns"]] == [str(n) for n in range(1, 41)]
    boxes = {c["index"]: c["image_box"] for c in layout["cells"]}
    assert sorted(boxes) == list(range(40))
    cut = next(i for i in range(1, 40) if boxes[i][0] < boxes[i - 1][0])  # the second slice starts left
    assert boxes[cut][1] > boxes[cut - 1][3], "the rest of the row comes under it, with its own headers"


def test_static_html_draws_at_most_48_places_and_counts_the_rest(qclient):
    cmp = _unstarted(grid("a {n} paper boats", n=list(range(1, 61)), tier=["pro", "flex"]), qclient)
    page = cmp._repr_html_()
    assert "… and 72 more places of the grid" in page and "cmp.to_images()" in page


# ------------------------------------------------------------------ the view: pages, cards


def test_the_view_makes_cards_only_for_the_page_shown(qsim, monkeypatch):
    from flux2_widgets.widgets import comparison_view
    from flux2_widgets.widgets.grid_card import GridCard

    made: list[GridCard] = []

    class Counted(GridCard):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.closed_here = False
            made.append(self)

        def close(self):
            self.closed_here = True
            super().close()

    monkeypatch.setattr(comparison_view, "GridCard", Counted)

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=qsim.url, poll=FAST) as client:
            plan = grid("a {n} paper boats", n=list(range(1, 10)), tier=["pro", "flex"], takes=2)
            cmp = plan.run(client=client)
            assert len(cmp.positions) == 18 and len(cmp.cells) == 36
            view = comparison_view.ComparisonView(cmp, page_size=4)
            # 18 places, 2 columns: 2 rows (4 places) a page, 5 pages
            assert view.pages == 5 and len(view.cards) == 4 and view.tiles == []
            assert "page 1 of 5" in view.page_label.value and view.prev_button.disabled

            def open_places() -> set[tuple[int, int]]:
                return {(c.place.row, c.place.col) for c in made if not c.closed_here}

            def page_places(n: int) -> set[tuple[int, int]]:
                screen = view.screens[n]
                return {(r, c) for r in screen.rows for c in screen.cols}

            assert open_places() == page_places(0) == {(0, 0), (0, 1), (1, 0), (1, 1)}
            view.next_button.click()
            await asyncio.sleep(0)
            assert view.page == 1 and "page 2 of 5 · rows 3-4" in view.page_label.value
            assert open_places() == page_places(1), "the old page's cards are closed, no others exist"
            assert [c.place for c in view.cards] == [cmp.at(r, c) for r in (2, 3) for c in range(2)]
            view.show_page(4)
            assert len(view.cards) == 2 and open_places() == page_places(4)  # one row left
            assert "page 5 of 5 · row 9" in view.page_label.value and view.next_button.disabled
            # a card flips through its place's takes, drawing the take shown
            card = view.cards[0]
            assert card.take == 0 and len(card.takes) == 2 and card.run is card.place.cells[0].run
            card._on_front_end(card, {"type": "flip", "step": 1}, [])  # its ▶
            assert card.take == 1 and card.run is card.place.cells[1].run
            card.flip(1)
            assert card.take == 0, "flipping wraps round"
            # Details: the take's full tile, one at a time
            tile = view.open_details(card.place.cells[1])
            assert view.tiles == [tile] and tile.run is card.place.cells[1].run
            assert "take 2/2" in view.detail_head.value
            # in the card's own place in the grid, until Close
            assert any(w is view.details for w in view.grid.children)
            assert not any(w is card for w in view.grid.children)
            card._on_front_end(card, {"type": "details"}, [])
            assert view.tiles[0].run is card.place.cells[0].run and tile.comm is None
            view.detail_close.click()
            await asyncio.sleep(0)
            assert view.tiles == [] and any(w is card for w in view.grid.children)
            with pytest.raises(ValueError, match="not on the page"):
                view.open_details(cmp.cells[0])
            # the runs go on whatever page is shown, and the counts are the whole grid's
            await cmp
            assert all(c.ok for c in cmp.cells)
            await asyncio.sleep(0.3)
            assert "36/36 done" in view.progress.value and view.stop_button.layout.display == "none"
            view.show_page(0)
            for card in view.cards:
                assert [t["status"] for t in card.takes] == ["completed"] * 2
                assert card.image == card.run.preview and card.image[:2] == b"\xff\xd8"
                assert all(t["cost"].startswith("would have cost $0.") for t in card.takes)
            view._open_inspector()  # Inspect: the takes shown on this page's cards
            [inspector] = view.inspector_box.children
            assert type(inspector).__name__ == "Inspector" and len(inspector.images) == 4
            inspector.wait_ready()  # its previews are made on a worker thread: let it finish
            assert inspector.images[0]["label"] == "Pro | 1 | take 1/2"
            card = view.cards[0]
            card.flip(1)
            assert card.image == card.place.cells[1].run.preview != card.place.cells[0].run.preview
            view.show_page(1)
            view.show_page(0)
            assert view.cards[0].take == 1 and view.cards[1].take == 0, "a flip is kept across pages"
            view.close()
            assert not open_places(), "closing the view closes its cards"

    asyncio.run(main())


def test_stop_mid_grid_each_cell_says_what_it_may_cost(make_sim):
    import flux2_widgets.widgets.comparison_view  # noqa: F401  (loaded before the clock starts)

    sim = make_sim(latency=0.2)
    sim.inject("never_finish", times=8)  # the first window stays processing until Stop, however slow the test
    # LIVE as far as the client knows: the money words a paying user reads
    with Flux2Client(api_key=KEY, base_url=sim.url, simulated=False, poll=FAST) as client:
        cmp = grid("a {n} paper boats", n=list(range(1, 11)), takes=2).run(client=client)  # 20 images
        assert sim.count("POST") == 8 and cmp.running  # the first window is sent, 12 wait
        view = cmp.view()
        assert view.stop_button.layout.display != "none"
        view.stop_button.click()
        cmp.wait(5)
        sent = [c for c in cmp.cells if c.task is not None]
        queued = [c for c in cmp.cells if c.task is None]
        assert len(sent) == 8 and len(queued) == 12, [c.status for c in cmp.cells]
        assert all(c.status == "stopped" for c in cmp.cells), [(c.status, c.error_text) for c in cmp.cells]
        assert all(c.money == MAY_BE_BILLED for c in sent)
        assert all(c.cost_text == "may still be billed (about $0.05)" for c in sent)
        assert all(c.money == NOT_CHARGED and c.cost_text == "not charged" for c in queued)
        assert sim.count("POST") == 8, "nothing more is sent after Stop"
        assert cmp.total_text == "about $0.40 ($0.40 of it may still be billed)"
        rows = cmp.rows()
        assert [r["money"] for r in rows[:8]] == [MAY_BE_BILLED] * 8 and rows[8]["money"] == NOT_CHARGED
        deadline = time.monotonic() + 3
        while "20 stopped" not in view.progress.value:
            assert time.monotonic() < deadline, view.progress.value
            time.sleep(0.02)
        cards = view.cards  # one per place: places 1-4 were sent (both takes)
        assert all(t["cost"] == "may still be billed (about $0.05)" and t["status"] == "stopped"
                   and t["step"] == "resume" for c in cards[:4] for t in c.takes)
        assert all(t["cost"] == "not charged" and t["step"] == "new" for c in cards[4:] for t in c.takes)
        tile = view.open_details(cards[0].cell)  # the full tile says the same, in its words
        assert tile.cost_label.text == "may still be billed (about $0.05)"
        assert "may still finish on the server" in tile.placeholder.value
        assert "Nothing was sent" in view.open_details(cards[5].cell).placeholder.value
        assert view.stop_button.layout.display == "none"
        cmp.refresh()  # the service says they still run: still counted, never "not charged"
        assert [c.money for c in sent] == [MAY_BE_BILLED] * 8 and sim.count("POST") == 8


# ---------------------------------------------------------------------- votes and widgets


def test_a_two_sided_view_votes_from_the_keyboard_like_its_buttons(qsim, qclient):
    cmp = compare_prompts("a koi pond", "a koi pond in autumn", client=qclient).wait(10)
    view = cmp.view()
    keys = view.vote_keys
    assert keys is not None and "← A · → B · t or ↓ tie" in keys.hint
    view.vote_note.value = "warmer"
    keys._on_front_end(keys, {"type": "vote", "choice": "right"}, [])
    keys._on_front_end(keys, {"type": "vote", "choice": "tie"}, [])
    keys._on_front_end(keys, {"type": "vote", "choice": "up"}, [])  # not a vote key
    deadline = time.monotonic() + 3
    while len(cmp.votes) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert [(v["choice"], v["note"]) for v in cmp.votes] == [("b", "warmer"), ("tie", "")]
    assert "B: 1" in view.tally.value and "tie: 1" in view.tally.value
    blind = compare_prompts("a koi pond", "a koi pond in autumn", client=qclient, blind=True)
    assert blind.view().vote_keys is None, "a blind test votes in its own panel"
    blind.wait(10)


def test_compare_widget_takes_and_big_grids_with_a_budget(qsim):
    from flux2_widgets.widgets.compare_widget import CompareWidget

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=qsim.url, poll=FAST) as client:
            w = CompareWidget("a koi pond", tiers=("pro", "flex"), client=client)
            assert w.plan.helper == "compare_tiers"
            w.takes.value = 3
            assert w.plan.helper == "compare_grid"
            assert "6 images, about $0.57, about" in w.estimate.value and not w.run_button.disabled
            w.prompts.value = "\n".join(f"a koi pond, variation {i}" for i in range(9))
            assert "54 images" in w.estimate.value and w.run_button.disabled
            assert "budget" in w.budget_field.error_text and "54 images" in w.budget_field.error_text
            assert w.run() is None and qsim.count() == 0
            w.budget.value = "6"
            assert not w.run_button.disabled and "54 images, about $5.13" in w.estimate.value
            w.run_button.click()
            cmp = w.comparison
            assert cmp is not None and cmp.takes == 3 and len(cmp.cells) == 54 and cmp.kind == "grid"
            view = w.output.children[0]
            assert len(view.cards) == 18 and len(view.cards[0].takes) == 3  # a card a place, 3 takes
            await asyncio.sleep(0.3)
            assert qsim.count("POST") > 0 and cmp.running
            cmp.stop()
            await cmp
            assert all(c.status in ("completed", "stopped") for c in cmp.cells)
            w.close()

    asyncio.run(main())


def test_grid_and_axis_are_exported_lazily_at_the_top():
    import flux2_widgets

    assert flux2_widgets.grid is grid and "grid" in flux2_widgets.__all__
    from flux2_widgets.compare import Axis

    assert flux2_widgets.Axis is Axis


def test_pages_are_written_beside_the_name_given(tmp_path):
    from flux2_widgets.compare.grid_image import save_pages

    blank = Image.new("RGB", (8, 8))
    with pytest.raises(ValidationError, match=r"\.png"):
        save_pages([blank, blank], tmp_path / "x.jpg")
    written = save_pages([blank, blank], Path(tmp_path / "x.png"))
    assert written == [tmp_path / "x-1.png", tmp_path / "x-2.png"]


def test_time_estimates_follow_the_window():
    from flux2_widgets.compare.plans import duration_text, estimated_seconds

    pro = catalog.TYPICAL_LATENCY[("pro", "1k")]
    requests = [catalog.ImageRequest("a red fox", tier="pro")] * 16
    assert estimated_seconds(requests, 8) == pytest.approx(2 * pro), "16 images, 8 at once: two rounds"
    assert estimated_seconds(requests, 16) == pytest.approx(pro)
    assert estimated_seconds(requests[:3], 8) == pytest.approx(pro)
    assert [duration_text(s) for s in (None, 0.2, 40, 360, 4800, 6000)] == [
        "time n/a", "about 1 s", "about 40 s", "about 6 min", "about 80 min", "about 1 h 40 min"]


def test_a_dict_or_a_set_is_not_taken_for_an_axis_of_its_keys() -> None:
    from flux2_widgets import grid

    for values in ({"fox": 1, "owl": 2}, {"fox", "owl"}):
        with pytest.raises(ValidationError, match="animal: takes a value or a list of values") as info:
            grid("a {animal} in the snow", animal=values)
        assert info.value.field == "animal"


def test_replace_and_placements_of_the_wrong_shape_are_refused_by_name() -> None:
    for kwargs, field in (({"replace": "red"}, "replace"), ({"replace": ["red", "blue"]}, "replace"),
                          ({"replace": 5}, "replace"), ({"rows": [[]]}, "rows"),
                          ({"cols": [["tier"]]}, "cols"),
                          ({"pages": ({},)}, "pages"), ({"pages": {"tier": 1}}, "pages"),
                          ({"rows": [None], "tier": ["pro", "flex"]}, "rows"),
                          ({"source_image_urls": 5}, "source_image_urls")):
        with pytest.raises(ValidationError) as info:
            grid("a red fox", **kwargs)
        assert info.value.field == field and field in str(info.value)
    plan = grid("a red fox", replace={"red": ["blue"]}, cols=["red"])  # the dict the docs show
    assert [c.request.prompt for c in plan.cells] == ["a red fox", "a blue fox"]


def test_a_one_axis_grid_and_a_grid_of_takes_draw_a_png(qsim, qclient, tmp_path):
    """No column axis: the columns' label is empty, and the picture still draws."""
    for plan in (grid("a {animal} in snow", animal=["fox", "owl"]), grid("a fox in snow", takes=2)):
        cmp = plan.run(client=qclient).wait(15)
        img = cmp.to_image(side=96)
        assert img.size[0] > 96 and json.loads(img.info["flux2_layout"])["cells"]


def test_a_phrase_named_like_a_column_is_replaced_under_a_name_of_its_own():
    plan = grid("a fox on the left side", replace={"side": ["bank", "edge"]})
    assert [c.request.prompt for c in plan.cells] == [
        "a fox on the left side", "a fox on the left bank", "a fox on the left edge"]
    assert [a.name for a in plan.axes] == ["side (phrase)"]
