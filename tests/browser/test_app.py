"""`make app`: the class app (notebooks/app/studio.ipynb) served by Voila as the Makefile runs it,
with a key, against the strict simulator in its own process.

Two visitors are two browser pages, so two kernels. Loading a page sends nothing; a visitor
generates until their quota refuses, with what is left shown; the class budget holds across
both kernels, a double-click racing for its last dollar included (the workspace's one
transaction refuses the second create before it is sent); nothing internal (the client, the
key, the server, a path) reaches the page; on a 1366x900 projector the first tile is in view
the moment it appears. Then kernels: an open, idle tab keeps its kernel; a tab that vanished
without saying goodbye is culled; one closed normally ends at once.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from flux2_widgets._redact import mask

from ._jupyter import (
    IMAGE_TIMEOUT,
    KERNEL_TIMEOUT,
    RECORDER_CELL,
    ROOT,
    SERVER_START_TIMEOUT,
    JupyterServer,
    assert_no_widget_errors,
    button,
    free_port,
    kernel_env,
    stop_server,
)
from .conftest import unavailable

pytestmark = pytest.mark.browser

KEY = "sk-live-APPKEY0123456789abcdef"
PROJECTOR = {"width": 1366, "height": 900}
CLASS_BUDGET, QUOTA, PRO_1K = 0.15, 0.12, 0.05
#: Short culling for the test; the Makefile's own values are checked to be there.
CULL_IDLE, CULL_INTERVAL = 3, 1
PROMPT = "a red fox in fresh snow"


def _app_command() -> list[str]:
    """The arguments `make -n app` gives voila (after the executable)."""
    make = shutil.which("make")
    if make is None:
        unavailable("make is not installed")
    dry = subprocess.run([make, "-n", "app"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    text = dry.stdout.replace("\\\n", " ")
    line = next((ln for ln in text.splitlines() if "/voila " in ln), None)
    assert line is not None, f"`make -n app` runs no voila:\n{dry.stdout}{dry.stderr}"
    args = shlex.split(line)
    return args[next(i for i, a in enumerate(args) if a.endswith("/voila")) + 1:]


@dataclass
class App:
    url: str
    log_path: Path
    folder: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kernel(self, kernel_id: str) -> dict[str, Any] | None:
        """The kernel's model from the server (``None`` once it is gone)."""
        try:
            with urllib.request.urlopen(f"{self.url}api/kernels/{kernel_id}", timeout=5) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise


@pytest.fixture(scope="module")
def remote() -> Iterator[Any]:
    from flux2_widgets.simulator._remote import RemoteSimulator

    with RemoteSimulator(latency=0.6) as sim:
        yield sim


@pytest.fixture(scope="module")
def app(remote: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    args = _app_command()
    defaults = {"cull_idle_timeout": "600", "cull_interval": "60", "cull_connected": "False"}
    for name, value in defaults.items():
        assert f"--MappingKernelManager.{name}={value}" in args, (name, args)
    assert "--Voila.tornado_settings=disable_check_xsrf=True" in args, args
    assert args[-1] == "notebooks/app/studio.ipynb", args
    work = tmp_path_factory.mktemp("app")
    # The app notebook as committed, then the harness's error recorder (below the Studio).
    nb = nbformat.read(ROOT / args[-1], as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(RECORDER_CELL))
    (work / "app").mkdir()
    notebook = work / "app" / "studio.ipynb"
    nbformat.write(nb, notebook)
    port = free_port()
    swaps = {"port": port, "MappingKernelManager.cull_idle_timeout": CULL_IDLE,
             "MappingKernelManager.cull_interval": CULL_INTERVAL}
    for name, value in swaps.items():
        args = [re.sub(rf"^--{re.escape(name)}=\d+$", f"--{name}={value}", a) for a in args]
    args = [*args[:-1], "--Voila.port_retries=0", str(notebook)]
    sandbox = work / "sandbox"
    for sub in ("runtime", "config", "ipython"):
        (sandbox / sub).mkdir(parents=True)
    folder = work / "class"
    env = {**kernel_env(sandbox=sandbox), "RUNAPI_API_KEY": KEY, "RUNAPI_BASE_URL": remote.url,
           "FLUX2_RESULTS_DIR": str(folder), "FLUX2_CLASS_BUDGET": str(CLASS_BUDGET),
           "FLUX2_VISITOR_QUOTA": str(QUOTA)}
    log_path = work / "voila.log"
    with log_path.open("wb") as log_file:
        try:
            proc = subprocess.Popen([sys.executable, "-m", "voila", *args], cwd=work, env=env,
                                    stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        except OSError as exc:
            unavailable(f"could not start voila: {exc}")
    server = App(f"http://127.0.0.1:{port}/", log_path, folder, proc)
    probe = JupyterServer("voila", server.url.rstrip("/"), "", work, log_path, proc)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                unavailable(f"voila exited with {proc.returncode}:\n{server.log()[-2000:]}")
            try:
                urllib.request.urlopen(f"{server.url}voila/static/", timeout=5).close()
                break
            except urllib.error.HTTPError:
                break  # it answers
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                unavailable(f"voila did not answer within {SERVER_START_TIMEOUT:g}s:\n{server.log()[-2000:]}")
            time.sleep(0.2)
        yield server
    finally:
        stop_server(probe)


@dataclass
class Visitor:
    page: Any
    errors: list[str]
    kernel_id: str = ""

    @property
    def studio(self) -> Any:
        return self.page.locator(".f2w-studio").first

    @property
    def quota(self) -> Any:
        return self.studio.locator(".f2w-quota")

    def wait_quota(self, text: str) -> None:
        self.quota.filter(has_text=text).wait_for(state="visible", timeout=IMAGE_TIMEOUT * 1000)

    def text(self) -> str:
        return self.page.locator("body").inner_text()


def _visit(browser: Any, app: App, contexts: list[Any]) -> Visitor:
    """A new visitor: a fresh browser context at the projector's size, offline but for loopback."""
    context = browser.new_context(viewport=PROJECTOR, device_scale_factor=1)
    contexts.append(context)
    context.set_default_timeout(30_000)
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(("http://127.0.0.1", "blob:", "data:")) else route.abort())
    page = context.new_page()
    visitor = Visitor(page, [])
    page.on("pageerror", lambda exc: visitor.errors.append(f"{exc}\n{getattr(exc, 'stack', '') or ''}"))
    page.goto(app.url, wait_until="domcontentloaded")
    visitor.studio.wait_for(state="visible", timeout=KERNEL_TIMEOUT * 1000)
    visitor.kernel_id = page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
    return visitor


def _shot(visitor: Visitor, out: Path, name: str) -> None:
    """What the projector shows (the viewport, not the whole page)."""
    visitor.page.screenshot(path=str(out / f"{name}.png"))


def _in_view(locator: Any) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None, "not laid out"
    assert box["x"] >= 0 and box["y"] >= 0, box
    right, bottom = box["x"] + box["width"], box["y"] + box["height"]
    assert right <= PROJECTOR["width"] and bottom <= PROJECTOR["height"], \
        f"{box} is not inside the {PROJECTOR['width']}x{PROJECTOR['height']} viewport"
    return box


def _generate(visitor: Visitor, images_before: int) -> None:
    """Click Generate once and wait for the new image."""
    button(visitor.studio, "Generate").click()
    visitor.page.wait_for_function(
        """([root, n]) => [...root.querySelectorAll('.f2w-tile--completed img')].filter(img =>
             /^(blob:|data:)/.test(img.getAttribute('src') || '') && img.naturalWidth > 0).length > n""",
        arg=[visitor.studio.element_handle(), images_before], timeout=IMAGE_TIMEOUT * 1000, polling=200)


def _assert_nothing_internal(visitor: Visitor, app: App) -> None:
    text, html = visitor.text(), visitor.page.content()
    for secret in (KEY, mask(KEY)):
        assert secret not in text and secret not in html
    for internal in ("Flux2Client", "ResultStore", "base_url", "127.0.0.1", "RUNAPI_API_KEY", "export ",
                     str(app.folder), "/tmp/", "visitors/", "flux2_results"):
        assert internal not in text, f"{internal!r} shows in the page:\n{text[:3000]}"
    assert str(app.folder) not in html
    recorder = visitor.page.locator(".f2w-test-errors")
    assert recorder.count() == 1 and recorder.inner_text().startswith("python errors: 0"), \
        recorder.inner_text()[:3000]
    assert visitor.page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert_no_widget_errors(visitor.errors)


def test_make_app_serves_a_class(browser: Any, app: App, remote: Any, output_dir: Path) -> None:
    remote.reset()
    contexts: list[Any] = []
    try:
        ada = _visit(browser, app, contexts)
        ada.wait_quota("You can still spend $0.12 of your $0.12; the class has $0.15 left.")
        # Loading the page sent nothing (price and balance reads are GETs), and stays so.
        ada.page.wait_for_timeout(1500)
        assert remote.count("POST") == 0
        # A key: LIVE until the server names itself the simulator, which this one does.
        assert ada.studio.locator(".f2w-badge").inner_text().strip() == "SIMULATED · nothing is charged"
        assert ada.studio.locator(".f2w-tile").count() == 0
        _shot(ada, output_dir, "app-loaded")
        # On the projector every control is on the screen, Generate and the settings alike.
        for control in (button(ada.studio, "Generate"), ada.studio.locator(".widget-slider").first,
                        ada.studio.get_by_text("Resolution", exact=True)):
            _in_view(control)
        _assert_nothing_internal(ada, app)

        bob = _visit(browser, app, contexts)  # a second kernel: a second visitor
        assert bob.kernel_id and bob.kernel_id != ada.kernel_id
        bob.wait_quota("You can still spend $0.12 of your $0.12; the class has $0.15 left.")
        bob.page.wait_for_timeout(500)
        assert remote.count("POST") == 0

        # Ada generates: the tile is in view the moment it appears, and with its image.
        ada.studio.locator(".f2w-prompt textarea").fill(PROMPT)
        button(ada.studio, "Generate").click()
        first = ada.studio.locator(".f2w-tile").first
        first.wait_for(state="visible")
        box = _in_view(first)
        ada.page.wait_for_function(
            "root => [...root.querySelectorAll('.f2w-tile--completed img')].some(i => i.naturalWidth > 0)",
            arg=ada.studio.element_handle(), timeout=IMAGE_TIMEOUT * 1000, polling=200)
        _in_view(first.locator("img").first)
        _in_view(ada.studio.locator(".f2w-tile").first)
        ada.wait_quota("You can still spend $0.07 of your $0.12; the class has $0.10 left.")
        _shot(ada, output_dir, "app-after-generate")
        _generate(ada, 1)
        ada.wait_quota("You can still spend $0.02 of your $0.12; the class has $0.05 left.")
        assert remote.count("POST") == 2

        # Over her quota: Generate is off and says why, the line under it what is left; a
        # click (forced past the disabled state) sends nothing.
        generate = button(ada.studio, "Generate")
        ada.page.wait_for_function("b => b.disabled", arg=generate.element_handle(), timeout=5000)
        assert generate.get_attribute("title") == (
            "fix first: not enough left: this batch would cost about $0.05 and you have $0.02 left of "
            "your $0.12")
        _in_view(ada.quota)
        assert "Not enough for this batch (about $0.05)" in ada.quota.inner_text()
        generate.click(force=True)
        ada.page.wait_for_timeout(500)
        assert remote.count("POST") == 2
        _shot(ada, output_dir, "app-refused")

        # Bob still reads the class as it stood when he arrived ($0.15): his double-click races
        # for the class's last $0.05, and the workspace lets exactly one create through.
        bob.studio.locator(".f2w-prompt textarea").fill(PROMPT)
        generate = button(bob.studio, "Generate")
        generate.click()
        generate.click()
        bob.studio.locator(".f2w-tile").nth(1).wait_for(state="visible")
        wait = IMAGE_TIMEOUT * 1000
        bob.studio.locator(".f2w-tile--completed").first.wait_for(state="visible", timeout=wait)
        failed = bob.studio.locator(".f2w-tile--failed").first
        failed.wait_for(state="visible", timeout=wait)
        # the ledger's refusal in the visitor's words: no scope names, no reservations
        assert ("Not sent: the class has $0.00 left (this image needs about $0.05); that changed since this "
                "page last looked. Nothing was charged.") in failed.inner_text()
        assert "'workspace'" not in failed.inner_text() and "reserv" not in failed.inner_text()
        bob.wait_quota("You can still spend $0.07 of your $0.12; the class has $0.00 left.")
        generate = button(bob.studio, "Generate")
        bob.page.wait_for_function("b => b.disabled", arg=generate.element_handle(), timeout=5000)
        assert generate.get_attribute("title") == (
            "fix first: not enough left: this batch would cost about $0.05 and the class has $0.00 left")
        _shot(bob, output_dir, "app-class-budget-spent")

        bob.page.wait_for_timeout(500)
        assert remote.tasks_created() == 3 == remote.count("POST")
        charged = sum(cost for _, cost in remote.charges())
        assert charged == pytest.approx(CLASS_BUDGET) and charged <= CLASS_BUDGET + 1e-9
        for visitor in (ada, bob):
            _assert_nothing_internal(visitor, app)
        print(f"first tile at y={box['y']:.0f}..{box['y'] + box['height']:.0f} of {PROJECTOR['height']}; "
              f"POSTs {remote.count('POST')}, charged ${charged:.2f}")

        # Kernels. An open tab, idle past the culling time, keeps its kernel...
        def idle_for(kernel_id: str) -> float:
            model = app.kernel(kernel_id)
            assert model is not None, "an open tab's kernel was culled"
            from datetime import datetime, timezone
            last = datetime.fromisoformat(model["last_activity"].replace("Z", "+00:00"))
            return (datetime.now(timezone.utc) - last).total_seconds()

        # ...a tab that vanished without a word (no unload: a crash, a phone gone to sleep) is culled...
        ada.page.close(run_before_unload=False)
        deadline = time.monotonic() + 30
        while app.kernel(ada.kernel_id) is not None:
            assert time.monotonic() < deadline, f"the closed tab's kernel lives on:\n{app.log()[-2000:]}"
            time.sleep(0.25)
        assert re.search(rf"Culling '\w+' kernel '\w+' \({ada.kernel_id}\)", app.log()), app.log()[-2000:]
        while idle_for(bob.kernel_id) < CULL_IDLE + 2 * CULL_INTERVAL:
            time.sleep(0.25)
        model = app.kernel(bob.kernel_id)
        assert model is not None and model["connections"] >= 1
        # ...and one closed normally ends at once (Voila's page asks as it unloads): just
        # after some typing, so the culler could not be the one ending it.
        bob.studio.locator(".f2w-prompt textarea").fill("a lighthouse at dawn")
        bob.studio.get_by_text("20 / 5000 characters").wait_for(state="visible")
        bob.page.close(run_before_unload=True)
        deadline = time.monotonic() + 10
        while app.kernel(bob.kernel_id) is not None:
            assert time.monotonic() < deadline, "the closed tab's kernel lives on"
            time.sleep(0.1)
        log = app.log()
        assert f"Kernel shutdown: {bob.kernel_id}" in log
        assert not re.search(rf"Culling .*{bob.kernel_id}", log)
        assert "403 POST /voila/api/shutdown" not in log
    finally:
        for context in contexts:
            context.close()
        (output_dir / "voila.log").write_text(app.log())
