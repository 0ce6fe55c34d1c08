"""What stopped and cut-off work costs, read as a user reads it: LIVE (a key, real money as far as
the client knows), against the strict simulator in its own process.

Every money figure a user sees or exports (cell and tile labels, totals, rows, CSV, cost tables,
the static HTML of a saved notebook, the Studio's lines) must say "may still be billed" while the
service may still bill, never "not charged" and never $0.00; then one refresh settles it to what
the service charged.
"""

from __future__ import annotations

import asyncio
import csv
import re
import time
from pathlib import Path

import pytest
from conftest import SECRET_KEY, until

from flux2_widgets import AsyncFlux2Client, Flux2Client, PollPolicy, Studio, compare_tiers
from flux2_widgets.compare.html import comparison_html
from flux2_widgets.simulator._remote import RemoteSimulator
from flux2_widgets.widgets._static import studio_html

FAST = PollPolicy(first=0.05, min_interval=0.02)
#: "$0.00", "$0", "$0.0" as an amount (not "$0.05")
ZERO = re.compile(r"\$0(?:\.0+)?(?![\d.])")


@pytest.fixture(scope="module")
def remote():
    with RemoteSimulator(latency=0.8) as server:
        yield server


def _never_free(texts: list[str]) -> None:
    for text in texts:
        assert "not charged" not in text, text
        assert not ZERO.search(text), text
        assert SECRET_KEY not in text


def _after_the_service_finishes(remote: RemoteSimulator) -> None:
    """Sleep until the simulator's own clock says every task it holds is done."""
    due = remote.due()
    time.sleep(max(0.0, max(due.values()) - time.time()) + 0.1)


def _csv_text(path: Path) -> list[str]:
    with path.open(newline="") as fh:
        return [" ".join(row) for row in csv.reader(fh)]


def test_a_live_comparison_stopped_after_its_creates_may_still_be_billed_until_refreshed(remote, tmp_path):
    remote.reset()
    with Flux2Client(api_key=SECRET_KEY, base_url=remote.url, simulated=False, poll=FAST) as client:
        cmp = compare_tiers("a red fox in fresh snow", client=client)  # returns once both are created
        assert remote.tasks_created() == 2 and not cmp.simulated
        cmp.stop()
        cmp.wait(5)
        assert [c.status for c in cmp.cells] == ["stopped", "stopped"]
        rows = cmp.rows()
        assert [r["money"] for r in rows] == ["may still be billed"] * 2
        assert [r["cost"] for r in rows] == [0.05, 0.14] and [r["billed_cost"] for r in rows] == [None, None]
        table = cmp.cost_table()
        view = cmp.view()
        texts = [cmp.total_text, str(table), table._repr_html_(), comparison_html(cmp),
                 *(c.cost_text for c in cmp.cells), *(t.cost_label.text for t in view.tiles),
                 *_csv_text(cmp.to_csv(tmp_path / "fox.csv"))]
        _never_free(texts)
        assert cmp.total_text == "about $0.19 ($0.19 of it may still be billed)"
        assert all("may still be billed (about $0." in t.cost_label.text for t in view.tiles)
        assert "$0.19 may still be billed" in str(table) and "up to $0.19 may still be billed" in str(table)

        _after_the_service_finishes(remote)  # it finishes them, and bills them
        cmp.refresh()
        charged = sum(usd for _, usd in remote.charges())
        assert charged == pytest.approx(0.19)
        assert [c.money for c in cmp.cells] == ["billed", "billed"]
        assert cmp.billed_cost == pytest.approx(charged) and cmp.total_text == "$0.19"
        assert all(c.ok for c in cmp.cells)  # the refresh collected the images...
        assert remote.tasks_created() == 2 and remote.count("POST") == 2  # ...sending nothing new
        assert [t.cost_label.text for t in view.tiles] == ["$0.05", "$0.14"]
        view.close()


def test_a_live_studio_batch_stopped_after_its_creates_may_still_be_billed_until_cleared(remote, tmp_path):
    remote.reset()

    async def main() -> None:
        client = AsyncFlux2Client(api_key=SECRET_KEY, base_url=remote.url, simulated=False, poll=FAST)
        studio = Studio(client, prompt="a lighthouse on a cliff at dawn", n_images=2, budget=1.0,
                        save_dir=str(tmp_path))
        try:
            tiles = studio.generate()
            await until(lambda: all(t.task_id for t in tiles), what="both creates answered")
            studio.stop()
            await until(lambda: not studio.tasks, what="the stop")
            rows = studio.rows()
            assert [r["money"] for r in rows] == ["may still be billed"] * 2
            assert [r["cost"] for r in rows] == [0.05, 0.05]
            texts = [studio.cost_text, studio.session_text, studio_html(studio),
                     *(t.cost_label.text for t in tiles), *_csv_text(studio.to_csv(tmp_path / "s.csv"))]
            _never_free(texts)
            assert studio.session_text == "Session: nothing billed yet + about $0.10 may still be billed"
            assert "$0.10 may still be billed by 2 stopped tasks" in studio.cost_text
            assert "$0.90 of the $1.00 budget left" in studio.cost_text  # they count against the cap
            assert "LIVE" in studio.badge.value

            await asyncio.to_thread(_after_the_service_finishes, remote)
            studio.clear()  # asks the service how they ended
            await until(lambda: all(t.run.money == "billed" for t in tiles), what="the settle")
            charged = sum(usd for _, usd in remote.charges())
            assert charged == pytest.approx(0.10) and studio.session.total == pytest.approx(charged)
            assert "may still be billed" not in studio.cost_text
            assert studio.session_text == "Session: $0.10 billed"
        finally:
            studio.close()
            await client.aclose()

    asyncio.run(main())


def test_an_outage_mid_wait_may_still_be_billed_and_a_refresh_settles_it(remote, tmp_path):
    remote.reset()
    remote.inject("503", times=4, on="get")  # every first poll and its one retry
    with Flux2Client(api_key=SECRET_KEY, base_url=remote.url, simulated=False, poll=FAST,
                     max_retries=1, retry_base_delay=0.01) as client:
        cmp = compare_tiers("a lighthouse in a storm", client=client).wait(10)
        assert [c.status for c in cmp.cells] == ["failed", "failed"]
        assert all("ServerError" in c.error_text for c in cmp.cells)
        assert [c.money for c in cmp.cells] == ["may still be billed"] * 2
        assert [c.run.next_step for c in cmp.cells] == ["resume", "resume"]
        _never_free([cmp.total_text, str(cmp.cost_table()), comparison_html(cmp),
                     *(" ".join(str(v) for v in r.values()) for r in cmp.rows())])
        _after_the_service_finishes(remote)
        cmp.refresh()
        assert [c.money for c in cmp.cells] == ["billed", "billed"] and all(c.ok for c in cmp.cells)
        charged = sum(usd for _, usd in remote.charges())
        assert cmp.billed_cost == pytest.approx(charged) == pytest.approx(0.19)
        assert remote.tasks_created() == 2


def test_work_stopped_before_its_create_left_is_not_charged(remote):
    """The other side of the rule: a cell stopped while its create was still queued behind the
    client's concurrency was never sent, so it is not charged, and Retry sends a new task."""
    remote.reset()

    async def main() -> None:
        async with AsyncFlux2Client(api_key=SECRET_KEY, base_url=remote.url, simulated=False, poll=FAST,
                                    max_concurrency=1) as client:
            client.in_flight.limit = 1.0  # one create at a time: the second waits for a slot
            cmp = compare_tiers("a teapot, watercolor", client=client)
            await until(lambda: bool(cmp.cells[0].task), what="the first create")
            cmp.stop()
            await cmp
            first, second = cmp.cells
            assert first.money == "may still be billed" and second.money == "not charged"
            assert second.run.next_step == "new" and not second.run.sent
            assert remote.tasks_created() == 1

    asyncio.run(main())
