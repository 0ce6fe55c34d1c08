"""Drive a real Jupyter server (JupyterLab or Notebook 7) from headless Chromium.

The server runs on 127.0.0.1 with an ephemeral port and a random token, in a
sandbox of its own (settings, workspaces, runtime files under a temporary
directory) and with every outbound network feature off: no news feed, no
update check, no extension manager. Kernels inherit the server's environment,
which points the toolkit at its embedded simulator.

The page helpers talk to the app through ``window.jupyterapp`` (exposed with
``expose_app_in_browser``): the same command registry the menus use, without
depending on menu labels or keyboard focus.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from playwright.sync_api import Browser, Locator, Page

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]
#: Simulator clock for kernels under test: fast, but slow enough to see tiles move.
SIMULATOR_SPEED = "8"

SERVER_START_TIMEOUT = 60.0
KERNEL_TIMEOUT = 120.0
RUN_TIMEOUT = 120.0
#: Seconds a generated image may take to show in the page.
IMAGE_TIMEOUT = 60.0
#: Tallest window a widget screenshot may ask for.
MAX_SHOT_HEIGHT = 4000
QUICKSTART = "01_quickstart.ipynb"


class HarnessError(RuntimeError):
    """The server or the browser could not be brought up (not a product failure)."""


def free_port() -> int:
    """A port nobody listens on right now (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kernel_env(base: dict[str, str] | None = None, *, sandbox: Path) -> dict[str, str]:
    """The environment a server (and so its kernels) runs with: no key, the simulator."""
    env = dict(os.environ if base is None else base)
    for name in ("RUNAPI_API_KEY", "RUNAPI_BASE_URL"):
        env.pop(name, None)
    env["RUNAPI_CONFIG"] = str(sandbox / "no-such-runapi-config.json")
    env["FLUX2_SIMULATOR_SPEED"] = SIMULATOR_SPEED
    # The venv's python and jupyter come first, whatever shell started pytest.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # ... and so does the venv's "python3" kernelspec, over any user-level one.
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    env["JUPYTER_RUNTIME_DIR"] = str(sandbox / "runtime")
    env["JUPYTER_CONFIG_DIR"] = str(sandbox / "config")
    env["IPYTHONDIR"] = str(sandbox / "ipython")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class JupyterServer:
    """A running server; ``ui`` is ``"lab"`` or ``"notebook"`` (Notebook 7)."""

    ui: str
    base_url: str
    token: str
    root_dir: Path
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def url(self, path: str) -> str:
        """An authenticated URL for a server path such as ``/lab/tree/x.ipynb``."""
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{sep}token={self.token}"

    def notebook_url(self, notebook: str) -> str:
        if self.ui == "lab":
            # ``reset``: start from an empty workspace, not the tabs an earlier test left open.
            return self.url(f"/lab/tree/{notebook}?reset")
        return self.url(f"/notebooks/{notebook}")

    def api(self, method: str, path: str) -> Any:
        req = urllib.request.Request(self.url(path), method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def start_server(ui: str, root_dir: Path, sandbox: Path, log_path: Path) -> JupyterServer:
    """Start ``jupyter lab`` or ``jupyter notebook`` and return once it answers."""
    if ui not in ("lab", "notebook"):
        raise ValueError(f"ui must be 'lab' or 'notebook', not {ui!r}")
    port, token = free_port(), secrets.token_hex(16)
    app = "LabApp" if ui == "lab" else "JupyterNotebookApp"
    for sub in ("runtime", "config", "ipython", "workspaces", "settings"):
        (sandbox / sub).mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "jupyterlab" if ui == "lab" else "notebook",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.open_browser=False",
        "--ServerApp.terminals_enabled=False",
        # CI containers run as root; the server refuses that without this.
        "--ServerApp.allow_root=True",
        # Nothing may reach the internet: no news feed, no update check, no PyPI.
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        "--LanguageServerManager.autodetect=False",
        f"--{app}.expose_app_in_browser=True",
        f"--{app}.workspaces_dir={sandbox / 'workspaces'}",
        f"--{app}.user_settings_dir={sandbox / 'settings'}",
    ]
    if ui == "lab":
        # Never ask "Would you like to get notified about official Jupyter news?" over the
        # widget. (Notebook 7 does not ask, and has no schema for this file.)
        prefs = sandbox / "settings" / "@jupyterlab" / "apputils-extension"
        prefs.mkdir(parents=True, exist_ok=True)
        (prefs / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    log_file = log_path.open("wb")
    try:
        process = subprocess.Popen(
            cmd, cwd=root_dir, env=kernel_env(sandbox=sandbox), stdout=log_file,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            # Own process group: teardown can stop the server and every kernel it started.
            start_new_session=True,
        )
    except OSError as exc:
        log_file.close()
        raise HarnessError(f"could not start jupyter {ui}: {exc}") from exc
    log_file.close()
    server = JupyterServer(ui, f"http://127.0.0.1:{port}", token, root_dir, log_path, process)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise HarnessError(f"jupyter {ui} exited with {process.returncode}:\n{server.log_tail()}")
        try:
            server.api("GET", "/api/status")
            return server
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            stop_server(server)
            raise HarnessError(f"jupyter {ui} did not answer within {SERVER_START_TIMEOUT:g}s:\n"
                               f"{server.log_tail()}")
        time.sleep(0.2)


def stop_server(server: JupyterServer) -> None:
    """Stop the server (it shuts its kernels down, all at once); kill what is left of its group."""
    proc = server.process
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_server(ui: str, workdir: Path) -> Iterator[JupyterServer]:
    """A server over a fresh copy of ``notebooks/`` (outputs never land in the repo)."""
    root = workdir / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = start_server(ui, root, workdir / "sandbox", workdir / f"jupyter-{ui}.log")
    try:
        yield server
    finally:
        stop_server(server)


def launch_chromium(playwright: Any) -> Browser:
    if not Path(CHROMIUM).exists():
        raise HarnessError(f"{CHROMIUM} is missing: apt-get install -y chromium (or `make chromium`)")
    try:
        return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:
        raise HarnessError(f"Chromium did not start: {exc}") from exc


# ----------------------------------------------------------------------------- page helpers

# The notebook panel showing ``path`` (not "the current widget": a restored
# workspace or a dialog may hold the focus).
_PANEL_JS = """(path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
}"""

_KERNEL_STATUS_JS = f"""(path) => {{
  const w = ({_PANEL_JS})(path);
  const k = w && w.sessionContext.session && w.sessionContext.session.kernel;
  return k ? k.status : null;
}}"""

_CELLS_JS = f"""(path) => {{
  const w = ({_PANEL_JS})(path);
  if (!w) return null;
  return w.content.widgets.filter(c => c.model.type === 'code').map(c => ({{
    count: c.model.executionCount,
    outputs: c.model.outputs.toJSON().map(o => ({{
      type: o.output_type,
      ename: o.ename || null,
      evalue: o.evalue || null,
      mimes: o.data ? Object.keys(o.data) : [],
    }})),
  }}));
}}"""


def open_notebook(page: Page, server: JupyterServer, notebook: str) -> None:
    """Open a notebook and return once its kernel is idle."""
    page.goto(server.notebook_url(notebook), wait_until="domcontentloaded")
    page.wait_for_function(f"(path) => !!({_PANEL_JS})(path)", arg=notebook,
                           timeout=KERNEL_TIMEOUT * 1000)
    page.locator(".jp-Notebook").first.wait_for(state="visible", timeout=KERNEL_TIMEOUT * 1000)
    wait_kernel_idle(page, notebook)


def wait_kernel_idle(page: Page, notebook: str, timeout: float = KERNEL_TIMEOUT) -> None:
    page.wait_for_function(f"(path) => ({_KERNEL_STATUS_JS})(path) === 'idle'", arg=notebook,
                           timeout=timeout * 1000)


def run_all(page: Page, notebook: str, timeout: float = RUN_TIMEOUT) -> list[dict[str, Any]]:
    """Run every cell and wait until each code cell has run and the kernel is idle.

    Returns per code cell its execution count and output summary; raises
    ``AssertionError`` naming the cell and error if any cell raised.
    """
    page.evaluate(f"""(path) => {{
      const w = ({_PANEL_JS})(path);
      window.jupyterapp.shell.activateById(w.id);
      return window.jupyterapp.commands.execute('notebook:run-all-cells');
    }}""", notebook)
    page.wait_for_function(
        f"""(path) => {{
          const cells = ({_CELLS_JS})(path);
          return !!cells && ({_KERNEL_STATUS_JS})(path) === 'idle'
                 && cells.every(c => c.count !== null || c.outputs.some(o => o.type === 'error'));
        }}""",
        arg=notebook, timeout=timeout * 1000, polling=250,
    )
    cells = page.evaluate(_CELLS_JS, notebook)
    errors = [(i, o) for i, c in enumerate(cells) for o in c["outputs"] if o["type"] == "error"]
    assert not errors, "cells raised: " + "; ".join(
        f"code cell {i + 1}: {o['ename']}: {o['evalue']}" for i, o in errors)
    return cells


def open_and_run(page: Page, server: JupyterServer, notebook: str) -> list[dict[str, Any]]:
    """Open ``notebook``, run every cell (see ``run_all``) and check every widget rendered."""
    open_notebook(page, server, notebook)
    cells = run_all(page, notebook)
    assert_widgets_rendered(page)
    return cells


def first_studio(page: Page) -> Locator:
    """The page's first Studio, once visible, scrolled into view."""
    studio = page.locator(".f2w-studio").first
    studio.wait_for(state="visible")
    scroll_into_view(studio)
    return studio


def assert_widgets_rendered(page: Page) -> None:
    """ipywidgets' front end is installed and every widget found its model."""
    broken = page.locator(".jp-OutputArea-output", has_text="Error displaying widget")
    assert broken.count() == 0, f"widget failed to render: {broken.first.inner_text()[:300]}"


def assert_no_widget_errors(page_errors: list[str]) -> None:
    """No uncaught JavaScript error came from widget code. (Notebook 7 itself
    logs one settings error on load; that one is not ours to fix.)"""
    ours = [e for e in page_errors if "widget" in e.lower() or "f2w" in e]
    assert not ours, "widget JavaScript errors:\n" + "\n\n".join(ours)


def visible_images(scope: Locator, timeout: float, minimum: int = 1) -> int:
    """Wait until ``scope`` shows at least ``minimum`` decoded images (blob: or data:
    sources, non-zero natural size, laid out); return how many it shows."""
    handle = scope.element_handle(timeout=timeout * 1000)
    assert handle is not None
    page = scope.page
    page.wait_for_function(
        """([root, minimum]) => {
          const ok = [...root.querySelectorAll('img')].filter(img =>
            /^(blob:|data:)/.test(img.getAttribute('src') || '') && img.complete
            && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0);
          return ok.length >= minimum;
        }""",
        arg=[handle, minimum], timeout=timeout * 1000, polling=200,
    )
    return handle.evaluate(
        """root => [...root.querySelectorAll('img')].filter(img =>
            /^(blob:|data:)/.test(img.getAttribute('src') || '') && img.naturalWidth > 0).length""")


def scroll_into_view(locator: Locator) -> None:
    locator.scroll_into_view_if_needed(timeout=10_000)
    # Lab virtualises and lazily lays out long notebooks: give it a frame to settle.
    locator.page.wait_for_timeout(300)


def screenshot(page: Page, out: Path, name: str, element: Locator | None = None) -> Path:
    """Save ``<name>.png`` of the page and, given ``element``, ``<name>-widget.png`` of it.

    JupyterLab scrolls inside its notebook panel, so a widget taller than the
    window would come out cut off: the window grows to fit it for the shot.
    """
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if element is not None:
        viewport = page.viewport_size or {"width": 1440, "height": 1000}
        box = element.bounding_box()
        tall = box is not None and box["height"] > viewport["height"] - 200
        if tall:
            page.set_viewport_size({"width": viewport["width"],
                                    "height": min(MAX_SHOT_HEIGHT, int(box["height"]) + 400)})
        try:
            scroll_into_view(element)
            element.screenshot(path=str(out / f"{name}-widget.png"))
        finally:
            if tall:
                page.set_viewport_size(viewport)
    return path


# ------------------------------------------------------------------ notebooks written by tests

#: First cell of every notebook a browser test writes: records every Python error the kernel
#: shows or logs (tracebacks, warnings from widget callbacks, asyncio's "exception never
#: retrieved"), and the threads widget messages are handled on. Errors also show in a small
#: box (``.f2w-test-errors``) for front ends without a command API (Voila).
RECORDER_CELL = '''\
import html, logging, threading
import ipywidgets as widgets
from IPython import get_ipython

_f2w_errors, _f2w_threads, _f2w_addressed, _f2w_races = [], set(), set(), []
_f2w_box = widgets.HTML("python errors: 0")
_f2w_box.add_class("f2w-test-errors")

def _f2w_record(text):
    _f2w_errors.append(text)
    _f2w_box.value = f"python errors: {len(_f2w_errors)}<pre>{html.escape(chr(10).join(_f2w_errors))}</pre>"

_f2w_shell = get_ipython()
_f2w_showtraceback = _f2w_shell.showtraceback
def _f2w_traceback(*args, **kwargs):
    import sys, traceback
    _f2w_record("".join(traceback.format_exception(*sys.exc_info()))[-3000:])
    return _f2w_showtraceback(*args, **kwargs)
_f2w_shell.showtraceback = _f2w_traceback

_f2w_handle = widgets.Widget._handle_msg
def _f2w_handle_msg(self, msg):
    _f2w_threads.add(threading.current_thread().name)
    _f2w_addressed.add((msg.get("header") or {}).get("subshell_id") or "main shell")
    return _f2w_handle(self, msg)
widgets.Widget._handle_msg = _f2w_handle_msg

# Which widget a "No such comm" warning is about: closed widgets by model id.
_f2w_closed, _f2w_close = {}, widgets.Widget.close
def _f2w_close_widget(self):
    if getattr(self, "comm", None) is not None:
        _f2w_closed[self.model_id] = f"{type(self).__name__} {sorted(getattr(self, '_dom_classes', ()))}"
    return _f2w_close(self)
widgets.Widget.close = _f2w_close_widget

class _F2WRecorder(logging.Handler):
    def emit(self, record):
        text = self.format(record)
        closed = [what for model_id, what in _f2w_closed.items() if model_id in text]
        if text.startswith("No such comm") and not closed:
            # A message for a comm this kernel never opened: the front end's own comm racing
            # its open across subshell threads (seen with Voila), not a widget of ours.
            _f2w_races.append(text)
            return
        _f2w_record(f"{record.name}: {text}" + (f" (closed in the kernel: {closed})" if closed else ""))

logging.getLogger().addHandler(_F2WRecorder(logging.WARNING))
_f2w_box
'''


def write_notebook(root: Path, name: str, cells: list[str]) -> str:
    """Write a notebook of code cells (the recorder first) under ``root``; returns its name."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (RECORDER_CELL, *cells)]
    nbformat.write(nb, root / name)
    return name


_EVAL_JS = f"""async ([path, expressions]) => {{
  const w = ({_PANEL_JS})(path);
  const kernel = w.sessionContext.session.kernel;
  const future = kernel.requestExecute({{code: '', silent: true, store_history: false,
                                         user_expressions: expressions}});
  const reply = await future.done;
  const out = {{}};
  for (const [k, v] of Object.entries(reply.content.user_expressions)) {{
    out[k] = v.status === 'ok' ? v.data['text/plain'] : `${{v.ename}}: ${{v.evalue}}`;
  }}
  return out;
}}"""


def kernel_eval(page: Page, notebook: str, **expressions: str) -> dict[str, str]:
    """Evaluate expressions in the notebook's kernel (silently: no cell, no output); their reprs."""
    return page.evaluate(_EVAL_JS, [notebook, expressions])


def assert_no_python_errors(page: Page, notebook: str) -> None:
    """No Python error was shown in an output or logged by the kernel (see RECORDER_CELL),
    and no output carries stderr text."""
    found = kernel_eval(page, notebook, errors="_f2w_errors")["errors"]
    assert found == "[]", f"the kernel recorded Python errors: {found[:4000]}"
    stderr = page.evaluate(f"""(path) => {{
      const w = ({_PANEL_JS})(path);
      return w.content.widgets.filter(c => c.model.type === 'code').flatMap(c =>
        c.model.outputs.toJSON().filter(o => o.output_type === 'error'
          || (o.output_type === 'stream' && o.name === 'stderr'))
          .map(o => o.text || `${{o.ename}}: ${{o.evalue}}`));
    }}""", notebook)
    assert not stderr, f"outputs with errors or stderr text: {stderr}"


def subshell_facts(page: Page, notebook: str) -> dict[str, Any]:
    """What decides where widget messages run: the front end's setting, the kernel's
    features, and (from the kernel) the subshells that exist, the subshells the front end
    addressed widget messages to, and the threads that handled them so far."""
    front = page.evaluate(f"""async (path) => {{
      const w = ({_PANEL_JS})(path);
      const kernel = w.sessionContext.session.kernel;
      const info = await kernel.info;
      return {{setting: kernel.commsOverSubshells, supports: kernel.supportsSubshells,
               features: info.supported_features || []}};
    }}""", notebook)
    back = kernel_eval(page, notebook,
                       subshells="get_ipython().kernel.shell_channel_thread.manager.list_subshell()",
                       threads="sorted(_f2w_threads)", addressed="sorted(_f2w_addressed)")
    return {**front, **back}


def assert_widget_messages_sent_to_subshells(page: Page, notebook: str) -> dict[str, Any]:
    """The front end sends widget messages to kernel subshells (its default), the kernel has
    them, and the widget messages of this test were addressed to one.

    Which thread then handles a message is ipykernel's choice: since 7.4 it routes a
    comm's incoming messages to the subshell that last sent on that comm from the kernel,
    and our widgets are updated from the main thread's loop, so a click addressed to a
    subshell may run on the main thread. Both happen in one session; the clicks worked
    either way, and tests/subshell.py runs every handler on subshell threads with loops
    of their own, deterministically."""
    import ast

    facts = subshell_facts(page, notebook)
    assert facts["setting"] != "disabled", facts
    assert facts["supports"] is True and "kernel subshells" in facts["features"], facts
    assert facts["subshells"] not in ("[]", ""), facts
    addressed = [s for s in ast.literal_eval(facts["addressed"]) if s != "main shell"]
    assert addressed and all(s in facts["subshells"] for s in addressed), facts
    threads = ast.literal_eval(facts["threads"])
    assert all(t == "MainThread" or t.startswith("subshell") for t in threads), facts
    return facts


def restart_kernel(page: Page, notebook: str) -> None:
    """Restart the notebook's kernel (as Kernel > Restart does, without the dialog)."""
    page.evaluate(f"""async (path) => {{
      const w = ({_PANEL_JS})(path);
      await w.sessionContext.session.kernel.restart();
    }}""", notebook)
    wait_kernel_idle(page, notebook)


def button(scope: Locator, label: str) -> Locator:
    """The button labelled exactly ``label``. (Its accessible name also holds the icon
    font's glyph, so ``get_by_role(name=..., exact=True)`` would never match.)"""
    import re

    return scope.locator("button").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))


# ------------------------------------------------------------------------------------- Voila

@dataclass
class VoilaServer:
    base_url: str
    token: str
    root_dir: Path
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def render_url(self, notebook: str) -> str:
        return f"{self.base_url}/voila/render/{notebook}?token={self.token}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no voila log)"


@contextlib.contextmanager
def running_voila(workdir: Path) -> Iterator[VoilaServer]:
    """Voila over ``workdir/apps`` (tests write notebooks there), as `make app` runs it but
    on a free port, with a token and tracebacks shown (so a test can see them)."""
    root, sandbox = workdir / "apps", workdir / "sandbox"
    for sub in (root, sandbox / "runtime", sandbox / "config", sandbox / "ipython"):
        sub.mkdir(parents=True, exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
           "--Voila.port_retries=0", f"--Voila.root_dir={root}", f"--token={token}",
           "--show_tracebacks=True"]
    log_path = workdir / "voila.log"
    with log_path.open("wb") as log_file:
        try:
            process = subprocess.Popen(cmd, cwd=root, env=kernel_env(sandbox=sandbox), stdout=log_file,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        except OSError as exc:
            raise HarnessError(f"could not start voila: {exc}") from exc
    server = VoilaServer(f"http://127.0.0.1:{port}", token, root, log_path, process)
    probe = JupyterServer("voila", server.base_url, token, root, log_path, process)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise HarnessError(f"voila exited with {process.returncode}:\n{server.log_tail()}")
            try:
                urllib.request.urlopen(probe.url("/"), timeout=5).close()
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise HarnessError(f"voila did not answer within {SERVER_START_TIMEOUT:g}s:\n"
                                   f"{server.log_tail()}")
            time.sleep(0.2)
        yield server
    finally:
        stop_server(probe)


TWINS_JS = f"""(path) => {{
  const w = ({_PANEL_JS})(path);
  return w.content.widgets.filter(c => c.model.type === 'code').flatMap(c =>
    c.model.outputs.toJSON().map(o => (o.data || {{}})['text/html'])
      .filter(h => typeof h === 'string' && h.includes('f2w-static')));
}}"""


def static_twins(page: Page, notebook: str) -> list[str]:
    """The HTML of every static twin in the notebook's model: what saving it would write for
    readers without widgets."""
    return page.evaluate(TWINS_JS, notebook)


def wait_for_twin(page: Page, notebook: str, text: str, timeout: float = IMAGE_TIMEOUT) -> str:
    """Wait until a static twin contains ``text``; return that twin."""
    page.wait_for_function(f"([path, text]) => ({TWINS_JS})(path).some(h => h.includes(text))",
                           arg=[notebook, text], timeout=timeout * 1000, polling=200)
    return next(t for t in static_twins(page, notebook) if text in t)
