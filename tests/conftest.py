"""Shared fixtures: an isolated environment and simulators on 127.0.0.1:0."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The embedded simulator (used when no key is configured) runs fast under test.
os.environ.setdefault("FLUX2_SIMULATOR_SPEED", "40")
# ... and keeps what it makes out of the working tree.
os.environ.setdefault("FLUX2_RESULTS_DIR", tempfile.mkdtemp(prefix="flux2-test-results-"))

#: A key that looks real; tests assert it never shows up where it must not.
SECRET_KEY = "sk-live-SECRET0123456789abcdef"

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR = ROOT / "test-output"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may see the developer's real key, base URL or config file."""
    monkeypatch.delenv("RUNAPI_API_KEY", raising=False)
    monkeypatch.delenv("RUNAPI_BASE_URL", raising=False)
    monkeypatch.setenv("RUNAPI_CONFIG", str(tmp_path / "no-such-config.json"))


@pytest.fixture
def make_sim() -> Iterator:
    """Factory: ``make_sim(latency=0.2)`` -> a started Simulator, stopped after the test."""
    from flux2_widgets.simulator import Simulator

    started = []

    def factory(**options):
        sim = Simulator(**options).start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()


@pytest.fixture(scope="module")
def module_sim():
    # One server per test module: starting one per test costs more than most tests.
    from flux2_widgets.simulator import Simulator

    with Simulator(latency=0.1) as server:
        yield server


@pytest.fixture
def sim(module_sim):
    """The module's simulator (every task takes 0.1 s), with fresh tasks, counters,
    charges and faults."""
    module_sim.reset()
    return module_sim


@pytest.fixture
def client(sim):
    """A sync client for ``sim`` that polls quickly."""
    from flux2_widgets import Flux2Client, PollPolicy

    c = Flux2Client(api_key=SECRET_KEY, base_url=sim.url, poll=PollPolicy(first=0.05, min_interval=0.02))
    yield c
    c.close()


async def until(predicate: Callable[[], Any], timeout: float = 4.0, what: str = "condition") -> None:
    """Wait (without blocking the loop) until ``predicate()`` is true, or fail."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """Where a test saves artefacts (screenshots) a person may want to look at."""
    path = OUTPUT_DIR / request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_studio(sim: Any, body: Callable[..., Any], **studio_options: Any) -> None:
    """Build an async client and a Studio inside a running loop (as in a notebook),
    run ``await body(studio)``, then close both."""
    from flux2_widgets import AsyncFlux2Client, Studio

    async def main() -> None:
        # Pinned: these tests are about the Studio's simulated wording. With a key and no
        # pin a client is LIVE until the server names itself (tested in test_client).
        client = AsyncFlux2Client(api_key=SECRET_KEY, base_url=sim.url, retry_base_delay=0.01,
                                  simulated=True)
        studio = Studio(client, **studio_options)
        try:
            # A key means LIVE until the server names itself: the Studio's first balance read
            # settles it. Faults a test injects must not land on that read.
            await until(lambda: not studio.uploads, what="the Studio's balance read")
            await body(studio)
        finally:
            studio.close()
            await client.aclose()

    asyncio.run(main())


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps its own event loop registered as
    the main thread's running loop while its session-wide browser lives, which would
    make later tests look like code inside a notebook. They are also the slowest, so
    everything else reports first."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
