"""Fixtures for the browser tests: a Jupyter server per UI and headless Chromium.

Outside CI, a missing Chromium or a server that will not start skips these
tests with the reason; under ``CI=true`` it fails them, so a broken setup can
never pass quietly.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from ._jupyter import HarnessError, JupyterServer, launch_chromium, running_server


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser test setup failed under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def _server(ui: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    yield from _serving(running_server(ui, tmp_path_factory.mktemp(f"jupyter-{ui}")))


def _serving(cm: Any) -> Iterator[Any]:
    """Enter a server's context for a fixture: a server that cannot start is reported as
    unavailable (a failure under CI=true), one that started is always stopped."""
    try:
        server = cm.__enter__()
    except HarnessError as exc:
        unavailable(str(exc))
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """JupyterLab over a temporary copy of notebooks/, kernels on the simulator."""
    with _server("lab", tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="module")
def notebook7_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """Classic Notebook 7 (``jupyter notebook``) over a temporary copy of notebooks/."""
    with _server("notebook", tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable(f"playwright is not installed: {exc}")
    try:
        manager = sync_playwright().start()
    except Exception as exc:
        unavailable(f"playwright did not start: {exc}")
    try:
        try:
            chromium = launch_chromium(manager)
        except HarnessError as exc:
            unavailable(str(exc))
        yield chromium
        chromium.close()
    finally:
        manager.stop()


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught JavaScript errors of the test's page (message and stack)."""
    return []


@pytest.fixture
def page(browser: Any, output_dir: Path, page_errors: list[str]) -> Iterator[Any]:
    """A fresh page (1440x1000); its console is saved next to the screenshots."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
    context.set_default_timeout(30_000)
    # Offline by construction: anything not on loopback is refused, so a stray
    # request shows up as a console error instead of a hang.
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(("http://127.0.0.1", "blob:", "data:"))
                  else route.abort())
    pg = context.new_page()
    console: list[str] = []
    pg.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))

    def on_error(exc: Any) -> None:
        text = f"{exc}\n{getattr(exc, 'stack', '') or ''}"
        page_errors.append(text)
        console.append(f"[pageerror] {text}")

    pg.on("pageerror", on_error)
    try:
        yield pg
    finally:
        (output_dir / "console.log").write_text("\n".join(console) + "\n")
        context.close()


@pytest.fixture(scope="module")
def browser_sim() -> Iterator[Any]:
    """A simulator in this (the test) process: tests inject its faults directly, and it
    outlives a kernel restart (the embedded one dies with its kernel)."""
    from flux2_widgets.simulator import Simulator

    with Simulator(latency=0.6) as sim:
        yield sim


@pytest.fixture
def fresh_sim(browser_sim: Any) -> Any:
    browser_sim.reset()
    browser_sim.latency = 0.6
    return browser_sim


def client_cell(sim: Any, results: str) -> str:
    """Notebook code: a client for ``sim`` that gives up on a poll outage after one retry
    (so a test can show Resume quickly), saving results under ``results``."""
    return (
        "from flux2_widgets import Flux2Client, ResultStore, Studio, compare_prompts, compare_tiers\n"
        "from flux2_widgets.widgets import CompareWidget\n"
        f"client = Flux2Client(api_key='browser-test-key', base_url={sim.url!r}, max_retries=1,\n"
        f"                     retry_base_delay=0.05, store=ResultStore({results!r}))\n"
        "client"
    )


@pytest.fixture(scope="module")
def voila_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Voila serving notebooks the tests write to its ``root_dir``."""
    from ._jupyter import running_voila

    yield from _serving(running_voila(tmp_path_factory.mktemp("voila")))
