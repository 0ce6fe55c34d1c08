"""The Studio's model on its own, and the Studio driven the way JupyterLab delivers clicks.

``StudioSession`` is driven here with a plain recorder instead of tiles (no widgets), and the
Studio's buttons are clicked from another thread running its own event loop, as ipykernel 7
does with comms over subshells.
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys

import pytest
from conftest import SECRET_KEY as KEY
from conftest import until
from subshell import click_on_an_idle_subshell, close_idle_subshells

from flux2_widgets import AsyncFlux2Client, ImageRequest, Studio
from flux2_widgets.errors import ValidationError
from flux2_widgets.session import MAX_BATCH, StudioSession


def test_the_session_imports_no_widgets():
    code = ("import sys, flux2_widgets.session as s; "
            "bad = [m for m in sys.modules if m.startswith(('ipywidgets', 'flux2_widgets.widgets'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_session_runs_and_keeps_the_money(make_sim, tmp_path):
    sim = make_sim(latency=0.1)

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url) as client:
            session = StudioSession(client, budget=1.0, save_dir=tmp_path)
            runs = session.generate(ImageRequest("a lighthouse at dawn"), 2)
            await until(lambda: all(r.status == "completed" for r in runs), what="two results")
            assert all(r.preview for r in runs)  # drawn before it says completed
            assert session.total == pytest.approx(sim.stats.total_charged) == pytest.approx(0.10)
            assert session.committed() == pytest.approx(0.10)
            assert session.session_text() == "Session: would have cost $0.10"  # the simulator says so
            text, over = session.estimate_text(3, "flex", "2k")
            assert "$0.72" in text and "$0.90 of the $1.00 budget left" in text and not over
            assert [r["task_id"] for r in session.rows()] == [g.id for g in session.generations]
            assert {r["money"] for r in session.rows()} == {"billed"}

    asyncio.run(main())


def test_stop_is_reversible_and_resume_sends_nothing_new(make_sim, tmp_path):
    sim = make_sim(latency=0.5)

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url) as client:
            session = StudioSession(client, budget=1.0, save_dir=tmp_path)
            (run,) = session.generate(ImageRequest("a slow painting of a river"))
            await until(lambda: bool(run.task_id), what="submission")
            session.stop()
            await until(lambda: not session.active, what="stop")
            assert run.status == "stopped" and run.next_step == "resume"
            assert run.money == "may still be billed" and run.cost == pytest.approx(0.05)
            assert "may still be billed by 1 stopped task" in session.estimate_text(1, "pro", "1k")[0]
            assert session.retry(run) == "resume"
            await until(lambda: run.status == "completed", what="the resumed result")
            assert run.generation.id == run.task_id
            assert sim.count("POST") == 1 and sim.stats.tasks_created == 1 and len(sim.stats.charges) == 1
            assert "may still be billed" not in session.estimate_text(1, "pro", "1k")[0]

    asyncio.run(main())


def test_settling_releases_failed_tasks_and_spends_finished_ones(make_sim, tmp_path):
    sim = make_sim(latency=0.3)

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url) as client:
            session = StudioSession(client, budget=1.0, save_dir=tmp_path)
            sim.inject("fail_task", times=1, message="GPU caught fire")
            runs = session.generate(ImageRequest("a red kite over hills"), 2)
            await until(lambda: all(r.task_id for r in runs), what="submission")
            session.stop()
            await until(lambda: not session.active, what="stop")
            assert session.committed() == pytest.approx(0.10)
            assert all(r.money == "may still be billed" for r in runs)
            await asyncio.sleep(0.5)  # both tasks end on the server: one failed, one completed
            session.forget(runs)  # what Clear does
            await until(lambda: not session.jobs, what="the settle check")
            # the failed one is not charged: released; the finished one is spent
            assert sorted(r.money for r in runs) == ["billed", "not charged"]
            assert session.committed() == pytest.approx(0.05) == pytest.approx(sim.stats.total_charged)
            assert "may still be billed" not in session.estimate_text(1, "pro", "1k")[0]
            assert session.total == pytest.approx(0.05)
            # and the folder's ledger agrees: nothing left "may still be billed" there either
            ledger = session.store.workspace.budget
            entries = [ledger.get(r.idempotency_key) for r in runs]
            assert sorted(e.state for e in entries if e is not None) == ["released", "settled"]

    asyncio.run(main())


@pytest.mark.parametrize("bad", [-1, -0.01, math.nan, math.inf, "5", True])
def test_a_budget_must_be_a_real_cap(bad):
    with pytest.raises(ValidationError) as info:
        StudioSession(AsyncFlux2Client(api_key=KEY, base_url="http://127.0.0.1:9"), budget=bad)
    assert info.value.field == "budget"


@pytest.mark.parametrize("bad", [0, -1, MAX_BATCH + 1, 10**9, 2.5, "3", None])
def test_studio_counts_are_never_clamped(sim, bad):
    with pytest.raises(ValidationError) as info:
        Studio(AsyncFlux2Client(api_key=KEY, base_url=sim.url), n_images=bad)
    assert info.value.field == "n_images" and str(MAX_BATCH) in info.value.message
    studio = Studio(AsyncFlux2Client(api_key=KEY, base_url=sim.url))
    try:
        with pytest.raises(ValidationError):
            studio.n_images = bad
        assert studio.n_images == 1
    finally:
        studio.close()


def test_studio_rejects_unknown_choices_by_name(sim):
    client = AsyncFlux2Client(api_key=KEY, base_url=sim.url)
    for name, value in (("tier", "ultra"), ("resolution", "4k"), ("aspect_ratio", "5:4"), ("mode", "paint")):
        with pytest.raises(ValidationError) as info:
            Studio(client, **{name: value})
        assert info.value.field == name and value in info.value.message


def test_generate_is_off_with_the_reason_while_the_form_is_invalid(sim):
    def body_factory():
        async def body(studio: Studio) -> None:
            assert studio.generate_button.disabled  # an empty prompt: nothing to send yet
            assert "prompt" in studio.generate_reason and studio.field_error("prompt") == ""
            studio.prompt = "ab"
            assert studio.generate_button.disabled and "3-5000" in studio.generate_button.tooltip
            assert "3-5000" in studio.field_error("prompt")
            studio.prompt = "a calm lake"
            assert not studio.generate_button.disabled and studio.generate_reason == ""
            studio.budget_input.value = -2.0  # typed into the box: an error, not "no cap"
            assert studio.generate_button.disabled and ">= 0" in studio.field_error("budget")
            studio.budget_input.value = 1.0
            assert not studio.generate_button.disabled and studio.budget == 1.0
            assert sim.count("POST") == 0
        return body

    from conftest import run_studio

    run_studio(sim, body_factory())


def test_buttons_clicked_on_a_subshell_thread_run_on_the_notebooks_loop(make_sim, tmp_path):
    sim = make_sim(latency=0.3)

    async def main() -> None:
        client = AsyncFlux2Client(api_key=KEY, base_url=sim.url, max_retries=1, retry_base_delay=0.01)
        studio = Studio(client, prompt="a lantern in fog", n_images=2, save_dir=str(tmp_path))
        try:
            await until(lambda: studio.simulated and not studio.uploads, what="the balance read")
            click_on_an_idle_subshell(studio.generate_button)
            await until(lambda: len(studio.tiles) == 2 and all(t.status == "completed" for t in studio.tiles),
                        what="two results from a subshell click")
            # an outage on the poll, then Resume clicked from a subshell: same task, one charge
            studio.n_images = 1
            sim.inject("503", times=2, on="get")  # the new tile's poll and its one retry
            click_on_an_idle_subshell(studio.generate_button)
            await until(lambda: len(studio.tiles) == 3 and all(t.done for t in studio.tiles), what="outage")
            failed = [t for t in studio.tiles if t.status == "failed"]
            assert failed and all(t.retry_mode == "resume" for t in failed)
            for tile in failed:
                click_on_an_idle_subshell(tile.buttons["retry"])
            await until(lambda: all(t.status == "completed" for t in studio.tiles), what="resumed tiles")
            assert sim.count("POST") == 3 and len(sim.stats.charges) == 3
            # Stop from a subshell, then Resume the stopped tile
            click_on_an_idle_subshell(studio.generate_button)
            await until(lambda: any(t.task_id and t.active for t in studio.tiles), what="a new submission")
            click_on_an_idle_subshell(studio.stop_button)
            await until(lambda: not studio.tasks, what="stop")
            stopped = [t for t in studio.tiles if t.status == "stopped"]
            assert stopped and all(t.buttons["retry"].description == "Resume" for t in stopped)
            for tile in stopped:
                click_on_an_idle_subshell(tile.buttons["retry"])
            await until(lambda: all(t.status == "completed" for t in studio.tiles), what="resumed after stop")
            assert sim.count("POST") == 4 and len(sim.stats.charges) == 4
            assert "may still be billed" not in studio.cost_text
        finally:
            studio.close()
            await client.aclose()
            close_idle_subshells()

    asyncio.run(main())


def test_collected_tasks_that_finished_unseen_show_no_invented_latency(make_sim, tmp_path):
    from flux2_widgets import ResultStore

    sim = make_sim(latency=0.1)
    store = ResultStore(tmp_path / "results")

    async def before() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, store=store) as client:
            await client.submit("left behind")

    asyncio.run(before())

    async def after() -> None:
        await asyncio.sleep(0.3)  # it finishes while no kernel watches
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, store=store) as client:
            studio = Studio(client)
            try:
                (tile,) = studio.collect_unfinished()
                await until(lambda: tile.status == "completed", what="collected")
                assert "finished while away" in tile.meta.value
                assert tile.latency_label.layout.display == "none"
            finally:
                studio.close()

    asyncio.run(after())


def test_the_services_field_errors_show_beside_their_controls(sim):
    from conftest import run_studio

    async def body(studio: Studio) -> None:
        studio.prompt = "a portrait in the style of a living painter"
        studio.resolution = "2k"
        sim.inject("422", errors={"prompt": ["mentions a living artist"],
                                  "output_resolution": ["2k is paused for maintenance"]})
        (tile,) = studio.generate()
        await until(lambda: tile.done, what="the refusal")
        assert tile.status == "failed" and "prompt" in tile.error
        assert "mentions a living artist" in studio.field_error("prompt")
        assert "2k is paused" in studio.field_error("resolution")
        assert sim.stats.tasks_created == 0 and not sim.stats.charges
        studio.prompt = "a portrait in oil"  # changing the form clears the service's verdict
        assert studio.field_error("prompt") == "" and studio.field_error("resolution") == ""

    run_studio(sim, body)


def test_a_live_session_prices_with_the_services_list(make_sim, tmp_path):
    # a service whose prices moved since the catalog was written
    sim = make_sim(latency=0.1, prices={("pro", "1k"): 0.06, ("pro", "2k"): 0.08,
                                        ("flex", "1k"): 0.15, ("flex", "2k"): 0.25})

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, simulated=False) as client:
            studio = Studio(client, prompt="a harbour at dusk", n_images=2, budget=1.0)
            try:
                await until(lambda: studio.session.prices is not None and studio.session.balance is not None,
                            what="prices and balance")
                assert "2 × Pro · 1k — about $0.12" in studio.cost_text
                studio.tier = "flex"
                assert "about $0.30" in studio.cost_text
            finally:
                studio.close()

    asyncio.run(main())


def test_retry_after_a_lost_create_answer_finds_the_first_task(make_sim, tmp_path):
    """The create reached the service but every answer was lost: Retry sends it again with the
    same Idempotency-Key, so the service returns that task. One task, one charge."""
    sim = make_sim(latency=0.2)

    async def main() -> None:
        client = AsyncFlux2Client(api_key=KEY, base_url=sim.url, max_retries=1, retry_base_delay=0.01,
                                  simulated=True)
        studio = Studio(client, prompt="a paper boat on a pond", save_dir=str(tmp_path))
        try:
            sim.inject("drop", times=2, on="post", after=True)  # the create and its one retry
            (tile,) = studio.generate()
            await until(lambda: tile.done, what="the lost answer")
            assert tile.status == "failed" and not tile.task_id and sim.stats.tasks_created == 1
            first_key = tile.run.idempotency_key
            retry = tile.buttons["retry"]
            assert retry.description == "Retry" and "same Idempotency-Key" in retry.tooltip
            retry.click()
            await until(lambda: tile.status == "completed", what="the retried create")
            assert tile.run.idempotency_key == first_key
            assert sim.stats.tasks_created == 1 and len(sim.stats.charges) == 1
            # a task the service failed gets a new key: the old one would only return the failure
            sim.inject("fail_task", message="refused by the safety checker")
            (failed,) = studio.generate()
            await until(lambda: failed.done, what="the failed task")
            key = failed.run.idempotency_key
            failed.buttons["retry"].click()
            await until(lambda: failed.status == "completed", what="a new task")
            assert failed.run.idempotency_key != key and sim.stats.tasks_created == 3
        finally:
            studio.close()
            await client.aclose()

    asyncio.run(main())


def test_a_studio_budget_of_zero_means_no_cap_as_its_field_says(sim):
    studio = Studio(AsyncFlux2Client(api_key=KEY, base_url=sim.url, simulated=True), budget=0)
    try:
        assert studio.budget is None and "budget" not in studio.cost_text
        studio.budget = 0.5
        assert studio.budget == 0.5 and "of the $0.50 budget left" in studio.cost_text
        studio.budget = 0
        assert studio.budget is None and studio.budget_input.value == 0
    finally:
        studio.close()


def test_collect_sends_again_a_create_whose_answer_never_came(make_sim, tmp_path):
    """A kernel lost the create's answer (the task was made): the next Studio's Collect sends it
    again with the logged Idempotency-Key and gets that task back. One task, one charge."""
    from flux2_widgets import ResultStore
    from flux2_widgets.errors import Flux2Error

    sim = make_sim(latency=0.2)
    store = ResultStore(tmp_path / "results")

    async def before() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, store=store, max_retries=0,
                                    simulated=True) as client:
            sim.inject("drop", on="post", after=True)
            with pytest.raises(Flux2Error):
                await client.submit("a lantern on a jetty")

    asyncio.run(before())
    assert sim.stats.tasks_created == 1 and len(store.unanswered()) == 1

    async def after() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, store=store, simulated=True) as client:
            studio = Studio(client)
            try:
                assert studio.collect_button.description == "Collect 1 earlier"
                assert "1 request whose answer never came" in studio.earlier_note.value
                (tile,) = studio.collect_unfinished()
                await until(lambda: tile.status == "completed", what="the collected create")
                assert tile.run.idempotency_key == store.events()[0]["idempotency_key"]
                assert tile.run.origin == "earlier" and "earlier result" in studio.session_text
            finally:
                studio.close()

    asyncio.run(after())
    assert sim.stats.tasks_created == 1 and len(sim.stats.charges) == 1 and store.unanswered() == []


def test_a_create_too_old_to_resend_is_told_not_collected(make_sim, tmp_path):
    """A day-old create with no answer: the Studio says why it will not send it again and
    offers no Collect for it; a fresh one next to it is collected as usual."""
    import time

    from flux2_widgets import ResultStore

    sim = make_sim(latency=0.2)
    store = ResultStore(tmp_path / "results")
    store.record_sending("day-old-key", ImageRequest("a forgotten lantern"), sim.url, time.time() - 86_400)
    store.record_sending("fresh-key", ImageRequest("a fresh lantern"), sim.url, time.time() - 60)

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, store=store, simulated=True) as client:
            studio = Studio(client)
            try:
                assert studio.collect_button.description == "Collect 1 earlier"
                assert "1 create request sent over an hour ago (the oldest 24 h ago)" in studio.message_text
                assert "resend_within=None" in studio.message_text
                (tile,) = studio.collect_unfinished()
                await until(lambda: tile.status == "completed", what="the fresh create")
                assert tile.run.idempotency_key == "fresh-key"
            finally:
                studio.close()

    asyncio.run(main())
    assert sim.stats.tasks_created == 1
    assert [u.idempotency_key for u in store.unanswered()] == ["day-old-key"]
