"""Studio, driven as a user would: set controls, click buttons, watch tiles; against the simulator."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import pytest
from conftest import SECRET_KEY, run_studio, until
from PIL import Image

from flux2_widgets import AsyncFlux2Client
from flux2_widgets.catalog import pixel_size
from flux2_widgets.money import format_usd
from flux2_widgets.widgets import Studio

KEY = SECRET_KEY  # the key run_studio gives its client: it must never show up


run = run_studio


def all_done(studio: Studio) -> Callable[[], bool]:
    return lambda: bool(studio.tiles) and all(t.done for t in studio.tiles)


def test_generate_returns_at_once_and_completes(make_sim):
    sim = make_sim(latency=0.3)

    async def body(studio: Studio) -> None:
        studio.prompt = "a lighthouse at dawn, oil painting"
        studio.aspect_ratio = "16:9"
        studio.n_images = 3
        await until(lambda: studio.simulated, what="the simulator to name itself")
        assert "3 × Pro · 1k" in studio.cost_text and "would have cost about $0.15" in studio.cost_text
        studio.generate_button.click()
        # control comes back at once: before any create has even left, let alone finished
        assert sim.count("POST") == 0
        assert [t.status for t in studio.tiles] == ["submitting"] * 3
        assert studio.running == 3 and not studio.stop_button.disabled
        await until(all_done(studio), what="three tiles")
        assert [t.status for t in studio.tiles] == ["completed"] * 3
        expected = pixel_size("16:9", "1k")
        for tile in studio.tiles:
            gen = tile.generation
            with Image.open(io.BytesIO(gen.images[0].data)) as img:
                assert img.size == expected
            assert tile.thumb.value[:2] == b"\xff\xd8" and tile.thumb.format == "jpeg"
            assert len(tile.thumb.value) < len(gen.images[0].data)
            assert f"{expected[0]}×{expected[1]}" in tile.meta.value and "Pro" in tile.meta.value
            assert tile.cost_label.text.startswith("would have cost $")
            assert tile.latency_label.layout.display != "none" and " s<" in tile.latency_label.value
        await until(lambda: studio.running == 0, what="tasks to finish")
        assert studio.stop_button.disabled

    run(sim, body)


def test_tiles_appear_in_completion_order(make_sim):
    sim = make_sim(speed=40)

    async def body(studio: Studio) -> None:
        studio.prompt = "a glass teapot on a wooden table"
        studio.tier, studio.resolution = "flex", "2k"
        (slow,) = studio.generate()
        studio.tier, studio.resolution = "pro", "1k"
        (fast,) = studio.generate()
        await until(all_done(studio), what="both tiles")
        assert studio.gallery.completed_order == [fast.task_id, slow.task_id]
        assert studio.gallery.completed_tiles == [fast, slow]
        # finished tiles show newest first
        assert studio.tiles == (slow, fast)
        with Image.open(io.BytesIO(slow.generation.images[0].data)) as img:
            assert img.size == pixel_size("1:1", "2k")

    run(sim, body)


def test_session_total_is_the_sum_of_billed_costs(make_sim):
    sim = make_sim(latency=0.15)

    async def body(studio: Studio) -> None:
        studio.prompt = "three kinds of bread"
        studio.n_images = 2
        studio.generate()
        studio.tier, studio.resolution, studio.n_images = "flex", "2k", 1
        studio.generate()
        await until(all_done(studio), what="tiles")
        billed = [t.generation.task.billed_cost for t in studio.tiles]
        assert None not in billed
        assert studio.session_total == pytest.approx(sum(billed))
        assert studio.session_total == pytest.approx(sim.stats.total_charged)
        assert studio.session_billed == pytest.approx(sum(billed)) and studio.session_estimated == 0
        assert studio.session_text == "Session: would have cost $0.34"
        assert "would have cost $0.34" in studio.session_label.value

    run(sim, body)


def test_failed_task_shows_retry_and_others_complete(make_sim):
    sim = make_sim(latency=0.2)
    sim.inject("fail_task", message="the GPU caught fire")

    async def body(studio: Studio) -> None:
        studio.prompt = "a robot watering plants"
        studio.n_images = 3
        studio.generate_button.click()
        await until(all_done(studio), what="tiles")
        failed = [t for t in studio.tiles if t.status == "failed"]
        assert len(failed) == 1 and sum(t.status == "completed" for t in studio.tiles) == 2
        tile = failed[0]
        assert "GPU caught fire" in tile.error and "not charged" in tile.error_label.value
        retry = tile.buttons["retry"]
        assert retry.layout.display != "none" and not retry.disabled
        # the service said it failed: only a new task can help (and the failed one is free)
        assert tile.retry_mode == "new" and retry.description == "Retry"
        assert tile.run.money == "not charged" and tile.cost_label.text == "not charged"
        assert "may still be billed" not in studio.cost_text
        assert tile.task_id not in studio.gallery.completed_order
        posts = sim.count("POST")
        retry.click()
        assert tile.status == "submitting"  # at once: the click is on the Studio's loop here
        await until(lambda: tile.done, what="the retried tile")
        assert tile.status == "completed" and tile.error == ""
        assert retry.layout.display == "none"
        assert sim.count("POST") == posts + 1
        assert sim.stats.tasks_created == 4 and len(sim.stats.charges) == 3
        assert studio.gallery.completed_order[-1] == tile.task_id
        assert len(studio.generations) == 3
        assert studio.session_total == pytest.approx(sim.stats.total_charged)

    run(sim, body)


def test_retry_after_a_poll_error_resumes_the_same_task(make_sim, tmp_path):
    sim = make_sim(latency=0.3)

    async def main() -> None:
        client = AsyncFlux2Client(api_key=KEY, base_url=sim.url, max_retries=1, retry_base_delay=0.01)
        studio = Studio(client, prompt="a red fox in snow", budget=1.0, save_dir=str(tmp_path))
        try:
            # the Studio's first balance read (a key means LIVE until the server names itself)
            await until(lambda: studio.simulated and not studio.uploads, what="the balance read")
            sim.inject("503", times=2, on="get")  # the first poll gives up after submission
            (tile,) = studio.generate()
            await until(lambda: tile.done, what="the failed poll")
            assert tile.status == "failed" and "503" in tile.error
            first_id = tile.task_id
            retry = tile.buttons["retry"]
            assert first_id and retry.description == "Resume" and first_id in retry.tooltip
            # it may still finish and be billed: the budget keeps counting it
            assert "may still be billed by 1 task cut off by an error" in studio.cost_text
            assert studio._committed() == pytest.approx(0.05)
            retry.click()
            await until(lambda: tile.done, what="the resumed tile")
            assert tile.status == "completed", tile.error
            assert tile.task_id == first_id
            assert sim.stats.tasks_created == 1 and sim.count("POST") == 1
            assert [task for task, _ in sim.stats.charges] == [first_id]
            assert studio.session_total == pytest.approx(sim.stats.total_charged)
            assert len(studio.generations) == 1 and "may still be billed" not in studio.cost_text
        finally:
            studio.close()
            await client.aclose()

    asyncio.run(main())


def test_stopped_tasks_still_count_against_the_budget(make_sim, tmp_path):
    sim = make_sim(latency=0.6)

    async def main() -> None:
        client = AsyncFlux2Client(api_key=KEY, base_url=sim.url, retry_base_delay=0.01)
        studio = Studio(client, prompt="a red fox in snow", budget=0.12, n_images=2, save_dir=str(tmp_path))
        try:
            studio.generate()
            await until(lambda: all(t.task_id for t in studio.tiles), what="submission")
            studio.stop()
            await until(lambda: not studio.tasks, what="cancellation")
            # both may still finish on the server and be billed
            assert "$0.10 may still be billed by 2 stopped tasks" in studio.cost_text
            assert "nothing fits: $0.02 of the $0.12 budget left" in studio.cost_text
            assert studio.generate() == [] and "over the budget" in studio.message_text
            studio.n_images = 1
            assert studio.generate() == []
            assert sim.count("POST") == 2
            # the Studio's run log lets the client collect what it stopped waiting for
            collected = await client.resume(studio.store)
            assert sorted(g.id for g in collected) == sorted(t.task_id for t in studio.tiles)
            assert sim.stats.total_charged == pytest.approx(0.10)
        finally:
            studio.close()
            await client.aclose()

    asyncio.run(main())


def test_a_client_without_a_store_still_keeps_results_on_disk(make_sim, tmp_path):
    sim = make_sim(latency=0.1)

    async def main() -> None:
        client = AsyncFlux2Client(api_key=KEY, base_url=sim.url)
        assert client.store is None
        studio = Studio(client, prompt="a paper crane", save_dir=str(tmp_path))
        try:
            (tile,) = studio.generate()
            await until(lambda: tile.done, what="tile")
            assert tile.status == "completed", tile.error
            gen = tile.generation
            (png,) = tmp_path.glob("*/*.png")
            assert png.read_bytes() == gen.images[0].data  # the full image, not the thumbnail
            sidecar = json.loads((png.parent / f"{gen.id}.json").read_text())
            assert sidecar["task_id"] == gen.id and sidecar["request"] == gen.request.payload()
            events = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
            assert [(e["event"], e.get("task_id")) for e in events] == [
                ("sending", None), ("submitted", gen.id), ("completed", gen.id)]
            assert await client.resume(studio.store) == []  # nothing left to collect
            assert client.store is None  # the caller's client is left as it was
        finally:
            studio.close()
            await client.aclose()

    asyncio.run(main())


def test_invalid_input_sends_nothing_and_says_why_next_to_the_control(sim):
    async def body(studio: Studio) -> None:
        studio.prompt = "hi"
        studio.generate_button.click()
        assert "prompt must be 3-5000 characters" in studio.field_error("prompt")
        assert studio.fields["prompt"].error.layout.display != "none"
        assert not studio.tiles
        studio.prompt = "a cat in a hat"  # fixing the field clears its message
        assert studio.field_error("prompt") == ""

        studio.mode = "remix_image"
        studio.generate_button.click()
        assert "at least one source image" in studio.field_error("source_image_urls")
        studio.sources = ["file:///home/me/cat.png"]
        assert "public http(s) URL" in studio.field_error("source_image_urls")

        studio.mode = "text_to_image"
        studio.tier = "max"
        studio.resolution = "2k"  # set in code despite being disabled: validation still catches it
        studio.generate_button.click()
        assert "not available for Max" in studio.field_error("resolution")
        assert studio.field_error("prompt") == ""
        assert not studio.tiles
        assert sim.count("POST") == 0

    run(sim, body)


def test_budget_cap_refuses_the_batch(sim):
    async def body(studio: Studio) -> None:
        studio.prompt = "a map of an imaginary island"
        studio.tier, studio.n_images = "flex", 3
        assert "over the $0.30 budget" in studio.cost_text
        studio.generate_button.click()
        assert "over the budget of $0.30" in studio.message_text
        assert studio.message.layout.display != "none"
        assert not studio.tiles and sim.count("POST") == 0
        studio.n_images = 2  # 2 x $0.14 fits
        assert "budget left" in studio.cost_text
        studio.generate_button.click()
        assert len(studio.tiles) == 2
        # in-flight tasks count against the cap too
        studio.n_images = 1
        assert "nothing fits: $0.02 of the $0.30 budget left, less than one image ($0.14)" in studio.cost_text
        assert studio.generate_button.disabled and "budget" in studio.generate_reason
        studio.generate()  # called anyway (from code): refused, and said why
        assert len(studio.tiles) == 2 and "budget" in studio.message_text
        assert "at most 0" not in studio.message_text
        await until(all_done(studio), what="tiles")
        assert sim.count("POST") == 2
        studio.budget_input.value = 1.0
        assert studio.budget == 1.0 and "budget left" in studio.cost_text

    run(sim, body, budget=0.30)


def test_stop_stops_waiting(make_sim):
    sim = make_sim(latency=5.0)

    async def body(studio: Studio) -> None:
        studio.prompt = "a very slow painting"
        studio.n_images = 2
        studio.generate_button.click()
        await until(lambda: all(t.task_id for t in studio.tiles), what="submission")
        studio.stop_button.click()
        await until(lambda: not studio.tasks, what="cancellation")
        assert [t.status for t in studio.tiles] == ["stopped", "stopped"]
        assert all("stopped" in t.chip.value for t in studio.tiles)
        gets = sim.count("GET")
        await asyncio.sleep(0.4)
        assert sim.count("GET") == gets
        assert studio.stop_button.disabled and studio.running == 0
        assert not studio.generations

    run(sim, body)


def test_close_cancels_what_it_started(make_sim):
    sim = make_sim(latency=5.0)

    async def main() -> None:
        client = AsyncFlux2Client(api_key=KEY, base_url=sim.url)
        studio = Studio(client, prompt="a kite over the sea", n_images=2)
        studio.generate()
        runs = list(studio.tasks)
        await until(lambda: sim.count("POST") == 2, what="submission")
        studio.close()
        await until(lambda: all(r.status == "stopped" for r in runs), what="the runs to stop")
        assert not studio.gallery.ticker.running
        gets = sim.count("GET")
        await asyncio.sleep(0.3)
        assert sim.count("GET") == gets
        await client.aclose()

    asyncio.run(main())


def _widget_tree(root: widgets.Widget) -> list[widgets.Widget]:
    seen: list[widgets.Widget] = []
    stack: list[Any] = [root]
    while stack:
        w = stack.pop()
        if isinstance(w, widgets.Widget) and all(w is not s for s in seen):
            seen.append(w)
            stack.extend(getattr(w, "children", ()) or ())
            stack.extend(v for v in (getattr(w, "layout", None), getattr(w, "style", None)) if v is not None)
    return seen


def _state_text(w: widgets.Widget) -> str:
    return json.dumps(w.get_state(), default=lambda o: bytes(o).decode("latin-1"))


def test_the_key_is_in_no_widget_state(make_sim):
    sim = make_sim(latency=0.1)

    async def body(studio: Studio) -> None:
        studio.prompt = "a bowl of ramen"
        studio.n_images = 2
        studio.generate_button.click()
        await until(all_done(studio), what="tiles")
        tile = studio.tiles[0]
        tile.buttons["inspect"].click()
        tile.buttons["open"].click()
        studio.request_toggle.value = True
        assert "$RUNAPI_API_KEY" in tile.inspector.curl_text
        tree = _widget_tree(studio)
        assert len(tree) > 100
        from ipywidgets.widgets.widget import _instances

        for w in [*tree, *_instances.values()]:
            assert KEY not in _state_text(w), type(w).__name__
        assert "sk-...6789" not in studio.badge.value  # simulated: the badge names no key at all

    run(sim, body)


def test_controls_that_cannot_apply_are_disabled_with_a_reason(sim):
    async def body(studio: Studio) -> None:
        auto = studio.ratio_input.buttons["auto"]
        assert auto.disabled and "remix only" in studio.ratio_input.reason("auto")
        assert "auto: keeps the source's ratio, so remix only" in studio.fields["aspect_ratio"].note_text
        assert studio.sources_input.disabled
        studio.mode_input.buttons["remix_image"].value = True  # a click on "Remix"
        assert studio.mode == "remix_image"
        assert not auto.disabled and not studio.sources_input.disabled
        auto.value = True
        assert studio.aspect_ratio == "auto"
        studio.resolution_input.select("2k")
        assert studio.resolution == "2k"

        studio.tier_input.buttons["max"].value = True
        assert studio.tier == "max"
        assert auto.disabled and "Max needs a concrete ratio" in studio.ratio_input.reason("auto")
        two_k = studio.resolution_input.buttons["2k"]
        assert two_k.disabled and "Max is 1k only" in studio.resolution_input.reason("2k")
        assert "2k: Max is 1k only" in studio.fields["resolution"].note_text
        # the now-impossible choices moved, and the panel says so
        assert studio.resolution == "1k" and "switched from 2k to 1k" in studio.fields["resolution"].note_text
        assert studio.aspect_ratio == "1:1"
        assert "switched from auto" in studio.fields["aspect_ratio"].note_text
        assert "price n/a" in studio.cost_text
        studio.resolution_input.select("2k")  # a click on a disabled option does nothing
        assert studio.resolution == "1k"

        studio.tier = "flex"
        assert not two_k.disabled and not auto.disabled

    run(sim, body)


def test_use_as_source_inspect_open_and_save(make_sim, tmp_path):
    sim = make_sim(latency=0.1)

    async def body(studio: Studio) -> None:
        studio.prompt = "a paper boat"
        (tile,) = studio.generate()
        await until(lambda: tile.done, what="tile")
        gen = tile.generation

        tile.buttons["inspect"].click()
        assert tile.inspector.layout.display != "none"
        assert json.loads(tile.inspector.json_text) == gen.request.payload()
        assert tile.inspector.curl_text == gen.curl() and KEY not in tile.inspector.curl_text

        tile.buttons["open"].click()
        assert studio.viewer.layout.display != "none"
        assert bytes(studio.viewer.image.value) == gen.images[0].data
        studio.viewer.close_button.click()
        assert studio.viewer.image.value == b"" and studio.viewer.layout.display == "none"

        tile.buttons["save"].click()
        await until(lambda: "Saved" in tile.message.value, what="save")
        saved = tile.saved_paths()[0]
        assert saved.parent.parent == tmp_path and saved.read_bytes() == gen.images[0].data
        assert "Saved" in tile.message.value

        tile.buttons["remix"].click()
        assert studio.mode == "remix_image" and studio.sources == (gen.images[0].url,)
        (remix,) = studio.generate()
        assert remix.request.action == "remix_image"
        await until(lambda: remix.done, what="remix tile")
        assert remix.status == "completed", remix.error
        assert "remix" in remix.meta.value

    run(sim, body, save_dir=str(tmp_path))


def test_elapsed_ticks_while_running(make_sim):
    sim = make_sim(latency=0.8)

    async def body(studio: Studio) -> None:
        studio.prompt = "a clock tower"
        (tile,) = studio.generate()
        await until(lambda: tile.run.elapsed >= 0.3 and tile.elapsed_label.value != "0.0 s", what="ticks")
        assert tile.active and studio.gallery.ticker.running
        assert tile.elapsed_label.value.endswith(" s")
        await until(lambda: tile.done, what="tile")
        await until(lambda: not studio.gallery.ticker.running, what="ticker to end")

    run(sim, body, tick_interval=0.05)


def test_a_key_is_live_from_the_first_render_until_the_server_names_itself(sim):
    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url) as client:
            studio = Studio(client, prompt="a snowy owl")
            try:
                assert "LIVE" in studio.badge.value and "would have cost" not in studio.cost_text
                await until(lambda: studio.simulated, what="the simulator to name itself")
                assert "SIMULATED" in studio.badge.value and "would have cost" in studio.cost_text
                assert sim.count("POST") == 0 and sim.count("GET") == 1  # one balance read
            finally:
                studio.close()

    asyncio.run(main())


def test_request_preview_and_simulated_badge(sim):
    async def body(studio: Studio) -> None:
        assert "SIMULATED" in studio.badge.value and "would have cost" in studio.badge.value
        studio.prompt = "a snowy owl"
        studio.request_toggle.value = True
        assert studio.request_inspector.layout.display != "none"
        assert '"model": "flux-2-pro-text-to-image"' in studio.request_inspector.json_text
        assert "$RUNAPI_API_KEY" in studio.request_inspector.curl_text
        studio.prompt = ""
        assert studio.request_inspector.layout.display == "none"
        assert sim.count("POST") == 0

    run(sim, body)


def test_live_badge_names_the_masked_key(sim):
    async def main() -> None:
        client = AsyncFlux2Client(api_key=KEY, base_url=sim.url, simulated=False)
        studio = Studio(client, prompt="a quiet street")
        assert "LIVE" in studio.badge.value and f"{KEY[:3]}...{KEY[-4:]}" in studio.badge.value
        assert KEY not in studio.badge.value
        assert "about $0.05" in studio.cost_text and "would have" not in studio.cost_text
        # live: the account's balance is read once and shown in the badge
        await until(lambda: studio.session.balance is not None, what="the balance")
        from flux2_widgets.simulator import DEFAULT_BALANCE_CENTS

        assert studio.session.balance == pytest.approx(DEFAULT_BALANCE_CENTS / 100)
        assert f"balance {format_usd(DEFAULT_BALANCE_CENTS / 100)}" in studio.badge.value
        studio.close()
        await client.aclose()

    asyncio.run(main())


def test_default_client_is_the_simulator():
    async def main() -> None:
        studio = Studio()
        assert studio.simulated and "SIMULATED" in studio.badge.value
        studio.close()

    asyncio.run(main())


def test_collect_finishes_what_a_dead_kernel_left_behind(make_sim, tmp_path):
    """Kernel restart: the run log knows the submitted tasks; a new Studio offers to
    collect them, and collecting sends nothing new and charges nothing twice."""
    from flux2_widgets import ResultStore

    sim = make_sim(latency=0.3)
    store = ResultStore(tmp_path / "results")

    async def before_the_restart() -> list[str]:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, store=store) as client:
            return [(await client.submit(f"left behind {i}")).id for i in range(2)]

    submitted = asyncio.run(before_the_restart())

    async def after_the_restart() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, store=store) as client:
            studio = Studio(client)
            try:
                assert studio.collect_button.layout.display != "none"
                assert studio.collect_button.description == "Collect 2 earlier"
                tiles = studio.collect_unfinished()
                assert sorted(t.task_id for t in tiles) == sorted(submitted)
                await until(lambda: all(t.status == "completed" for t in tiles), what="collected")
                assert studio.collect_button.layout.display == "none"
            finally:
                studio.close()

    asyncio.run(after_the_restart())
    assert sim.count("POST") == 2 and sim.stats.tasks_created == 2 and len(sim.stats.charges) == 2
    assert store.pending() == [] and len(list((tmp_path / "results").rglob("*.png"))) == 2


def test_the_session_exports_as_rows_and_csv(sim, tmp_path):
    async def body(studio: Studio) -> None:
        studio.prompt, studio.n_images = "a row per image", 2
        tiles = studio.generate()
        await until(lambda: all(t.status == "completed" for t in tiles), what="both images")

    holder: dict[str, Studio] = {}

    async def capture(studio: Studio) -> None:
        holder["studio"] = studio
        await body(studio)

    run_studio(sim, capture)
    studio = holder["studio"]
    rows = studio.rows()
    assert [r["task_id"] for r in rows] == [g.id for g in studio.generations] and len(rows) == 2
    assert sum(r["cost"] for r in rows) == pytest.approx(sim.stats.total_charged)
    text = studio.to_csv(tmp_path / "session.csv").read_text()
    assert text.splitlines()[0].startswith("task_id,prompt,tier") and text.count("a row per image") == 2
