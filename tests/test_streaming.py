"""Big runs with bounded memory: ``as_completed`` yields each result the moment it is done (sync
and async), a result saved to a store is released from memory and read back from its file when
asked, and long batches show their progress."""

from __future__ import annotations

import asyncio

import pytest
from conftest import SECRET_KEY

from flux2_widgets import (
    AsyncFlux2Client,
    Flux2Client,
    ImageRequest,
    PollPolicy,
    ResultStore,
    ValidationError,
)
from flux2_widgets._progress import Progress, progress_for

FAST = PollPolicy(first=0.02, min_interval=0.01)


def test_as_completed_yields_in_the_order_tasks_finish_and_keeps_memory_flat(make_sim, tmp_path):
    sim = make_sim(latency={("pro", "1k"): 0.6, ("flex", "1k"): 0.05})
    store = ResultStore(tmp_path / "results")
    reqs = [ImageRequest("a red fox in fresh snow", tier=t) for t in ("pro", "flex", "pro", "flex")]
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, store=store, poll=FAST) as client:
        seen = [gen for gen in client.as_completed(reqs, progress=False)]
    assert [g.request.tier for g in seen] == ["flex", "flex", "pro", "pro"]  # the fast ones first
    for gen in seen:
        image = gen.images[0]
        assert not image.in_memory and image.path is not None  # in its file, not in the kernel
        assert image.data == image.path.read_bytes() and image.size == (1024, 1024)
        assert image.format == "png"
    assert sim.stats.tasks_created == 4


def test_leaving_the_loop_early_stops_the_rest(make_sim, tmp_path):
    sim = make_sim(latency={("pro", "1k"): 5.0, ("flex", "1k"): 0.05})
    reqs = [ImageRequest("a teapot, watercolor", tier="flex")] + [ImageRequest("a teapot", tier="pro")] * 3
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, poll=FAST) as client:
        for gen in client.as_completed(reqs, progress=False):
            assert gen.request.tier == "flex"
            break
        pro = {tid for tid, rec in sim.tasks.items() if rec.request.tier == "pro"}
        assert len(pro) == 3  # created alongside the flex one, still running

        def pro_polls() -> int:
            return sum(1 for m, path, _ in sim.stats.requests
                       if m == "GET" and path.rsplit("/", 1)[-1] in pro)

        before = pro_polls()
        client.generate("a mug of cocoa", tier="flex")  # the loop runs again: nothing still polls
        assert sim.count("GET") > 0 and pro_polls() == before  # the abandoned tasks were let go


def test_the_async_stream_and_bad_input(make_sim):
    sim = make_sim(latency=0.05)

    async def main() -> None:
        async with AsyncFlux2Client(api_key=SECRET_KEY, base_url=sim.url, poll=FAST) as client:
            got = [g async for g in client.as_completed(["a mug", "a cat"], progress=False)]
            assert sorted(g.request.prompt for g in got) == ["a cat", "a mug"]
            with pytest.raises(ValidationError):
                [g async for g in client.as_completed(["ok prompt", "x"])]  # refused whole: nothing sent
            with pytest.raises(ValidationError):
                [g async for g in client.as_completed(["a mug"], progress="yes")]

    asyncio.run(main())
    assert sim.stats.tasks_created == 2


def test_progress_counts_what_a_batch_did():
    bar = progress_for(3, True)
    assert isinstance(bar, Progress)
    from flux2_widgets import Flux2Error

    class Done:
        cost = 0.05

    bar.update(Done())
    bar.update(Flux2Error("boom"))
    assert bar.text == "2/3 done · 1 failed · $0.05"
    bar.close()
    assert progress_for(3, False) is None and progress_for(0, True) is None
