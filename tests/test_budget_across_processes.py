"""The workspace budget, end to end: kernels on one results folder (separate processes, each with
its own client) spend against one cap, reserved before each create and settled when the service
says what it cost. Against the strict simulator in a process of its own, on SQLite and on
PostgreSQL: the cap is never passed, a refused create sends nothing, a visitor's quota holds
inside the folder's cap, and a failed task gives its reservation back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from conftest import SECRET_KEY
from workspace_support import database_url  # noqa: F401  (the sqlite / postgresql parameter)

from flux2_widgets.simulator._remote import RemoteSimulator
from flux2_widgets.workspace import Workspace

KERNEL = textwrap.dedent('''
    import json, sys
    from flux2_widgets import BudgetExceededError, Flux2Client, ImageRequest, ResultStore
    url, folder, db, scopes, n = sys.argv[1], sys.argv[2], sys.argv[3] or None, sys.argv[4], int(sys.argv[5])
    store = ResultStore(folder, database_url=db)
    with Flux2Client(api_key=sys.argv[6], base_url=url, store=store, simulated=False,
                     budget_scopes=tuple(scopes.split(","))) as client:
        results = client.generate_many([ImageRequest("a lighthouse on a cliff at dawn")] * n)
    print(json.dumps({"ok": sum(not isinstance(r, Exception) for r in results),
                      "refused": sum(isinstance(r, BudgetExceededError) for r in results),
                      "other": [repr(r) for r in results if isinstance(r, Exception)
                                and not isinstance(r, BudgetExceededError)]}))
''')


@pytest.fixture(scope="module")
def remote():
    with RemoteSimulator(latency=0.3) as server:
        yield server


def _kernels(remote, folder, db, jobs):
    argv = [[sys.executable, "-c", KERNEL, remote.url, str(folder), db or "", scopes, str(n), SECRET_KEY]
            for scopes, n in jobs]
    procs = [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for a in argv]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr[-2000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def test_kernels_on_one_folder_never_pass_its_cap(remote, tmp_path, database_url):  # noqa: F811
    remote.reset()
    folder = tmp_path / "results"
    ws = Workspace(folder, database_url=database_url)
    ws.budget.set_cap(total=0.25)  # five Pro 1k images, whoever asks
    ws.budget.set_cap("visitor:ada", total=0.10)  # and two of them at most for Ada
    results = _kernels(remote, folder, database_url,
                       [("workspace", 3), ("workspace", 3), ("workspace", 3), ("workspace,visitor:ada", 3)])
    assert all(not r["other"] for r in results), results
    made = sum(r["ok"] for r in results)
    assert made == 5 and sum(r["refused"] for r in results) == 7
    assert results[-1]["ok"] <= 2  # Ada's quota, inside the folder's cap
    assert remote.tasks_created() == 5  # a refused create never left
    charged = sum(usd for _, usd in remote.charges())
    status = ws.budget.status()
    assert charged == pytest.approx(0.25) and status.spent == pytest.approx(charged)
    assert status.reserved == 0 and status.left == pytest.approx(0.0)
    assert ws.budget.status("visitor:ada").spent <= 0.10 + 1e-9
    ws.close()


def test_a_failed_task_gives_its_reservation_back(remote, tmp_path, database_url):  # noqa: F811
    remote.reset()
    folder = tmp_path / "results"
    ws = Workspace(folder, database_url=database_url)
    ws.budget.set_cap(total=0.10)
    remote.inject("fail_task", times=1, message="refused by the safety checker")
    (first,) = _kernels(remote, folder, database_url, [("workspace", 1)])
    assert first["ok"] == 0 and ws.budget.status().committed == 0  # failed: not charged, released
    (second,) = _kernels(remote, folder, database_url, [("workspace", 2)])
    assert second["ok"] == 2 and ws.budget.status().spent == pytest.approx(0.10)
    ws.close()


def test_the_studio_shows_the_folder_budget_and_refuses_a_batch_past_it(remote, tmp_path):
    import asyncio

    from conftest import until

    from flux2_widgets import AsyncFlux2Client, ResultStore, Studio

    remote.reset()
    folder = tmp_path / "results"
    ws = Workspace(folder)
    ws.budget.set_cap(total=1.0, per_day=0.12)

    async def main() -> None:
        client = AsyncFlux2Client(api_key=SECRET_KEY, base_url=remote.url, simulated=False,
                                  store=ResultStore(folder))
        studio = Studio(client, prompt="a lighthouse on a cliff at dawn", n_images=3)
        try:
            await until(lambda: "folder budget" in studio.cost_text, what="the folder budget read")
            assert "folder budget: $0.12 of $0.12 left today (not enough for this batch)" in studio.cost_text
            assert studio.generate() == [] and "more than the folder budget has left ($0.12)" in \
                studio.message_text
            studio.n_images = 2
            tiles = studio.generate()
            await until(lambda: all(t.status == "completed" for t in tiles), what="two images")
            await until(lambda: "$0.02 of $0.12 left today" in studio.cost_text, what="the budget re-read")
            assert remote.tasks_created() == 2
        finally:
            studio.close()
            await client.aclose()

    asyncio.run(main())
    ws.close()


def test_under_a_cap_a_create_is_reserved_at_the_services_price_not_the_catalogs(make_sim, tmp_path):
    from flux2_widgets import BudgetExceededError, Flux2Client, ImageRequest, ResultStore

    sim = make_sim(latency=0.05, prices={("pro", "1k"): 0.30})  # the catalog says $0.05
    store = ResultStore(tmp_path / "results")
    store.workspace.budget.set_cap(total=0.40)
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, store=store, simulated=False) as client:
        results = client.generate_many([ImageRequest("a lighthouse on a cliff at dawn")] * 4)
    assert sum(isinstance(r, BudgetExceededError) for r in results) == 3
    assert sim.stats.tasks_created == 1 and sim.stats.total_charged == pytest.approx(0.30)
    status = store.workspace.budget.status()
    assert (status.spent, status.reserved) == (pytest.approx(0.30), 0.0)


def test_a_result_not_downloaded_is_billed_and_kept_for_resume(make_sim, tmp_path):
    from flux2_widgets import Flux2Client, ResultStore

    sim = make_sim(latency=0.05)
    store = ResultStore(tmp_path / "results")
    store.workspace.budget.set_cap(total=0.10)
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, store=store, simulated=False) as client:
        gen = client.generate("a lighthouse on a cliff at dawn", download=False)
        status = store.workspace.budget.status()
        assert (status.spent, status.reserved) == (0.05, 0.0), "completed: billed, not 'may still be billed'"
        assert store.workspace.budget.outstanding() == []
        assert store.pending() == [] and [t.id for t in store.undelivered()] == [gen.id]
        assert sim.stats.image_downloads == 0
        (fetched,) = client.resume()
        assert fetched.id == gen.id and sim.stats.tasks_created == 1
    assert store.undelivered() == [] and len(list((tmp_path / "results").glob("*/*.png"))) == 1


KILLED = textwrap.dedent('''
    import os, signal, sys
    from flux2_widgets import Flux2Client, ResultStore
    from flux2_widgets.workspace import _budget
    url, folder, db, point = sys.argv[1], sys.argv[2], sys.argv[3] or None, sys.argv[4]
    reserve = _budget.Budget.reserve

    def killed(self, *args, **kwargs):
        if point == "after":
            reserve(self, *args, **kwargs)  # committed: then the kill
        os.kill(os.getpid(), signal.SIGKILL)

    _budget.Budget.reserve = killed
    store = ResultStore(folder, database_url=db)
    with Flux2Client(api_key=sys.argv[5], base_url=url, store=store, simulated=False) as client:
        client.generate("a lighthouse on a cliff at dawn")
''')


@pytest.mark.parametrize("point", ["before", "after"])
def test_a_kernel_killed_around_its_reservation_leaves_nothing_unsettled(remote, tmp_path, database_url,  # noqa: F811
                                                                         point):
    """Killed with SIGKILL just before its reservation, or just after it committed (before the
    create left): the next kernel's resume() sends that create once, and the folder's budget
    ends with it billed, nothing left "may still be billed"."""
    remote.reset()
    folder = tmp_path / "results"
    Workspace(folder, database_url=database_url).budget.set_cap(total=1.0)
    proc = subprocess.run([sys.executable, "-c", KILLED, remote.url, str(folder), database_url or "", point,
                           SECRET_KEY], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert remote.tasks_created() == 0, "killed before the create left"
    from flux2_widgets import Flux2Client, ResultStore

    store = ResultStore(folder, database_url=database_url)
    before = store.workspace.budget.status()
    assert before.reserved == (0.0 if point == "before" else 0.05)
    assert len(store.unanswered(remote.url)) == 1, "the create is logged, for resume()"
    with Flux2Client(api_key=SECRET_KEY, base_url=remote.url, store=store, simulated=False) as client:
        [gen] = client.resume()
    assert not isinstance(gen, Exception), gen
    after = store.workspace.budget.status()
    assert remote.tasks_created() == 1 and after.spent == pytest.approx(0.05) and after.reserved == 0.0
    assert store.unanswered(remote.url) == [] and store.pending(remote.url) == []
