"""The sync bridge (``_sync.run_sync``) and loop affinity (``_loops.HomeLoop``) on their own."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from flux2_widgets._loops import HomeLoop
from flux2_widgets._sync import private_loop, run_sync


async def _answer(value: int, delay: float = 0.0) -> int:
    await asyncio.sleep(delay)
    return value


def test_plain_code_gets_one_private_loop_per_thread_kept_between_calls():
    loops: list[asyncio.AbstractEventLoop] = []

    async def which() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    loops.append(run_sync(which()))
    loops.append(run_sync(which()))
    assert loops[0] is loops[1] is private_loop()  # pooled connections survive between calls

    other: list[asyncio.AbstractEventLoop] = []
    thread = threading.Thread(target=lambda: other.append(run_sync(which())))
    thread.start()
    thread.join(5)
    assert other and other[0] is not loops[0]


def test_inside_a_running_loop_a_sync_call_nests_and_other_tasks_keep_running():
    async def main() -> list[str]:
        seen: list[str] = []

        async def ticker() -> None:
            for _ in range(5):
                seen.append("tick")
                await asyncio.sleep(0.01)

        background = asyncio.ensure_future(ticker())
        # what a notebook cell does when it calls the sync client
        assert run_sync(_answer(7, delay=0.08)) == 7
        seen.append("answered")
        await background
        return seen

    seen = asyncio.run(main())
    assert seen.index("answered") >= 3  # the ticker ran while the sync call waited


def test_errors_and_interrupts_cancel_the_work():
    started = threading.Event()
    cancelled = threading.Event()

    async def work() -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def boom() -> None:
        raise KeyError("nope")

    with pytest.raises(KeyError):
        run_sync(boom())

    loop = private_loop()
    handle = loop.call_later(0.05, lambda: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        run_sync(work())
    handle.cancel()
    assert started.is_set() and cancelled.is_set()  # Ctrl-C leaves nothing polling behind


def test_home_loop_runs_work_where_the_model_was_born():
    async def main() -> None:
        home = HomeLoop()
        here = asyncio.get_running_loop()
        assert home.loop is here and home.is_current()
        ran_on: list[tuple[str, asyncio.AbstractEventLoop | None]] = []

        def note() -> None:
            ran_on.append((threading.current_thread().name, asyncio.get_running_loop()))

        home.call(note)  # on the home loop already: at once
        assert ran_on == [(threading.current_thread().name, here)]

        def from_a_subshell() -> None:
            async def deliver() -> None:
                home.call(note)
                handed = home.spawn(lambda: _answer(42))
                results.append(handed)

            asyncio.run(deliver())  # a thread with its own running loop, like an ipykernel subshell

        results: list = []
        thread = threading.Thread(target=from_a_subshell, name="subshell")
        thread.start()
        while thread.is_alive() or len(ran_on) < 2:
            await asyncio.sleep(0.01)
        assert ran_on[1][0] == threading.current_thread().name and ran_on[1][1] is here
        task = results[0].result(timeout=1)
        assert await task == 42  # the task lives on the home loop, awaitable here

    asyncio.run(main())


def test_models_built_outside_any_loop_share_the_background_loop_thread():
    home = HomeLoop()
    done = threading.Event()
    names: list[str] = []

    def note() -> None:
        names.append(threading.current_thread().name)
        done.set()

    home.call(note)
    assert done.wait(2) and names == ["flux2-background-loop"]
    assert HomeLoop().loop is home.loop  # one thread for every model of plain code
    task = home.spawn(lambda: _answer(5, delay=0.01)).result(timeout=1)

    async def outcome() -> int:
        return await task

    assert asyncio.run_coroutine_threadsafe(outcome(), home.loop).result(2) == 5


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_the_writer_and_preview_threads_work_in_a_forked_child(tmp_path):
    """multiprocessing's fork (Linux's default before 3.14) copies the executors but not
    their threads: without fresh ones, a child's first result save would wait for ever."""
    from flux2_widgets._thumbs import off_loop
    from flux2_widgets.client._disk import on_disk

    async def use_all() -> tuple[int, ...]:
        return (await on_disk(len, "log"), await on_disk(len, "files", files=True), await off_loop(len, "x"))

    assert asyncio.run(use_all()) == (3, 5, 1)  # the parent's threads exist now
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if every thread answers within 5 s
        code = 1
        try:
            async def bounded() -> tuple[int, ...]:
                return await asyncio.wait_for(use_all(), 5)
            code = 0 if asyncio.run(bounded()) == (3, 5, 1) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
