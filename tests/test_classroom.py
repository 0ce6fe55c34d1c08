"""The class app, model-side: the visitor's line and refusals in words, a visitor per kernel
with a quota against one class budget, the Studio's presenter and visitor options, and the
app notebook itself (clean, and showing nothing but the Studio)."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import nbformat
import pytest
from conftest import ROOT, SECRET_KEY, until

from flux2_widgets import AsyncFlux2Client, BudgetExceededError, ImageRequest, ValidationError, Workspace
from flux2_widgets._redact import mask
from flux2_widgets.classroom import DEFAULT_VISITOR_QUOTA, ClassSettings, Visitor, studio_app
from flux2_widgets.session import StudioSession
from flux2_widgets.widgets import Studio
from flux2_widgets.widgets._style import CSS
from flux2_widgets.workspace import BudgetStatus

APP_NOTEBOOKS = sorted((ROOT / "notebooks" / "app").glob("*.ipynb"))


@pytest.fixture(autouse=True)
def package_logger() -> Any:
    """``studio_app`` sends the package's log to the kernel's stderr: undone after each test."""
    logger = logging.getLogger("flux2_widgets")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


def _status(scope: str, cap: float | None, left: float | None, *, per_day: float | None = None,
            left_today: float | None = None) -> BudgetStatus:
    spent = round((cap or 0) - (left or 0), 6)
    return BudgetStatus(scope=scope, cap=cap, per_day=per_day, spent=spent, reserved=0.0, left=left,
                        day="2025-01-01", spent_today=spent, reserved_today=0.0, left_today=left_today)


def _in_loop(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(body())


def _session(sim: Any, tmp_path: Path, scopes: tuple[str, ...]) -> tuple[StudioSession, AsyncFlux2Client]:
    client = AsyncFlux2Client(api_key=SECRET_KEY, base_url=sim.url, simulated=False, budget_scopes=scopes)
    return StudioSession(client, save_dir=tmp_path / "results"), client


# -- the visitor's words -------------------------------------------------------------------------
def test_the_visitor_line_says_what_is_left_of_the_quota_and_the_class(sim, tmp_path):
    async def body() -> None:
        session, client = _session(sim, tmp_path, ("workspace", "visitor:ada"))
        try:
            assert session.visitor_text() == "", "nothing is said before the budget is read"
            whole = _status("workspace", 10.0, 8.20)
            session.workspace_status = {"workspace": whole, "visitor:ada": _status("visitor:ada", 0.50, 0.35)}
            expected = "You can still spend $0.35 of your $0.50; the class has $8.20 left."
            assert session.visitor_text() == expected
            # the per-day cap binds first: it is the one said
            session.workspace_status["visitor:ada"] = _status("visitor:ada", 0.50, 0.35, per_day=0.30,
                                                              left_today=0.10)
            assert session.visitor_text().startswith("You can still spend $0.10 of your $0.30 today;")
            session.workspace_status["visitor:ada"] = _status("visitor:ada", 0.50, 0.0)
            assert session.visitor_text() == ("You have used all of your $0.50; the class has $8.20 left. "
                                              "Not enough for this batch (about $0.05).")
            session.workspace_status["visitor:ada"] = _status("visitor:ada", 0.50, 0.12)
            assert session.visitor_text(3, "pro", "1k").endswith("Not enough for this batch (about $0.15).")
            assert "Not enough" not in session.visitor_text(2, "pro", "1k")
            # the cost line leaves the quota and the class to that line
            text, over = session.estimate_text(1, "pro", "1k")
            assert "budget" not in text and not over
            session.simulated = True
            assert session.visitor_text().endswith(" Simulated: nothing is charged.")
        finally:
            session.close()
            await client.aclose()

    _in_loop(body)


def test_without_a_visitor_scope_the_folder_budget_reads_as_before(sim, tmp_path):
    async def body() -> None:
        session, client = _session(sim, tmp_path, ("workspace",))
        try:
            session.workspace_status = {"workspace": _status("workspace", 5.0, 0.02)}
            assert session.visitor_text() == ""
            text, _ = session.estimate_text(1, "pro", "1k")
            assert "folder budget: $0.02 of $5.00 left (not enough for this batch)" in text
            with pytest.raises(BudgetExceededError) as err:
                session.check_budget([ImageRequest("a red fox in fresh snow")])
            assert str(err.value) == ("this batch would cost about $0.05, more than the folder budget has "
                                      "left ($0.02). Nothing was sent.")
        finally:
            session.close()
            await client.aclose()

    _in_loop(body)


def test_a_refusal_names_what_is_left_in_the_visitors_words(sim, tmp_path):
    async def body() -> None:
        session, client = _session(sim, tmp_path, ("workspace", "visitor:ada"))
        request = ImageRequest("a red fox in fresh snow")
        try:
            session.workspace_status = {"workspace": _status("workspace", 10.0, 8.20),
                                        "visitor:ada": _status("visitor:ada", 0.12, 0.02)}
            with pytest.raises(BudgetExceededError) as err:
                session.check_budget([request])
            assert str(err.value) == ("Nothing was sent: this batch would cost about $0.05 and you have "
                                      "$0.02 left of your $0.12.")
            assert err.value.scope == "visitor:ada"
            # both short: the tighter one says why
            session.workspace_status["workspace"] = _status("workspace", 10.0, 0.01)
            with pytest.raises(BudgetExceededError) as err:
                session.check_budget([request])
            assert str(err.value) == ("Nothing was sent: this batch would cost about $0.05 and the class has "
                                      "$0.01 left.")
            assert sim.count("POST") == 0
        finally:
            session.close()
            await client.aclose()

    _in_loop(body)


def test_a_refusal_at_the_send_reads_plainly_without_a_visitor_too(sim, tmp_path):
    from flux2_widgets.session_lines import ledger_refusal_line

    async def body() -> None:
        session, client = _session(sim, tmp_path, ("workspace",))
        try:
            exc = BudgetExceededError("reserving ...", scope="workspace", period="day", cap=2.0, left=0.01)
            assert ledger_refusal_line(session, exc, 0.045) == (
                "Not sent: the folder budget has $0.01 of $2.00 left today (this image needs about $0.045); "
                "that changed since this page last looked. Nothing was charged.")
        finally:
            session.close()
            await client.aclose()

    _in_loop(body)


# -- a visitor per kernel ---------------------------------------------------------------------------
@pytest.fixture
def class_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sim: Any) -> Path:
    """The server's environment of a class app with a key: the class folder is returned."""
    folder = tmp_path / "class"
    monkeypatch.setenv("RUNAPI_API_KEY", SECRET_KEY)
    monkeypatch.setenv("RUNAPI_BASE_URL", sim.url)
    monkeypatch.setenv("FLUX2_RESULTS_DIR", str(folder))
    monkeypatch.setenv("FLUX2_CLASS_BUDGET", "0.15")
    monkeypatch.setenv("FLUX2_VISITOR_QUOTA", "0.08")
    monkeypatch.delenv("FLUX2_DATABASE_URL", raising=False)
    return folder


def _run_app(body: Callable[[Studio], Awaitable[None]]) -> None:
    async def main() -> None:
        studio = studio_app()
        assert isinstance(studio, Studio), getattr(studio, "children", studio)
        try:
            await until(lambda: bool(studio.quota_text) or (studio.simulated and not studio.uploads),
                        what="the budget read")
            await body(studio)
        finally:
            studio.close()
            await studio.client.aclose()

    asyncio.run(main())


def test_each_visitor_has_a_quota_and_the_class_budget_is_shared(class_env, sim):
    seen: list[str] = []

    async def ada(studio: Studio) -> None:
        assert studio.presenter and studio.large_type and studio.for_visitors
        scopes = studio.client.budget_scopes
        assert scopes[0] == "workspace" and re.fullmatch(r"visitor:[0-9a-f]{8}", scopes[1]), scopes
        seen.append(scopes[1])
        # (this server names itself the simulator, which the line says too)
        first_line = "You can still spend $0.08 of your $0.08; the class has $0.15 left."
        assert studio.quota_text.startswith(first_line)
        assert sim.count("POST") == 0, "loading the app sends nothing"
        studio.prompt = "a red fox in fresh snow"
        (tile,) = studio.generate()
        # what the first one took already shows: Generate is off, and says why
        assert studio.generate_button.disabled
        assert studio.generate_reason == ("not enough left: this batch would cost about $0.05 and you have "
                                          "$0.03 left of your $0.08")
        assert "f2w-quota--short" in studio.quota_line._dom_classes
        # a click that gets through anyway (a stale page) is checked against it too
        assert studio.generate() == []
        assert studio.message_text == ("Nothing was sent: this batch would cost about $0.05 and you have "
                                       "$0.03 left of your $0.08.")
        await until(lambda: tile.status == "completed", what="the image")
        await until(lambda: "$0.03 of your $0.08; the class has $0.10 left" in studio.quota_text,
                    what="the re-read")
        assert sim.count("POST") == 1
        assert studio.store.root == class_env / "visitors" / scopes[1].split(":")[1]

    async def bob(studio: Studio) -> None:
        assert studio.client.budget_scopes[1] not in seen, "a new kernel is a new visitor"
        assert studio.quota_text.startswith("You can still spend $0.08 of your $0.08; the class has $0.10")

    _run_app(ada)
    _run_app(bob)
    with Workspace(class_env) as ws:  # what `flux2-widgets budget --dir FOLDER` opens
        assert (ws.budget.status("workspace").cap, ws.budget.status("workspace").spent) == (0.15, 0.05)
        assert ws.budget.status(seen[0]).cap == 0.08


def test_what_changed_since_the_last_read_is_refused_at_the_send_in_the_visitors_words(class_env, sim):
    async def ada(studio: Studio) -> None:
        studio.prompt = "a red fox in fresh snow"
        mine = studio.client.budget_scopes[1]
        with Workspace(class_env) as ws:  # the teacher lowers Ada's quota while her page is open
            ws.budget.set_cap(mine, total=0.03)
        (tile,) = studio.generate()  # the page's last read says $0.08: the ledger decides
        await until(lambda: tile.status == "failed", what="the refusal")
        assert tile.run.error_text == ("Not sent: you have $0.03 left of your $0.03 (this image needs "
                                       "about $0.05); that changed since this page last looked. "
                                       "Nothing was charged.")
        assert tile.run.money == "not charged"
        await until(lambda: "$0.03 of your $0.03" in studio.quota_text, what="the re-read")

        with Workspace(class_env) as ws:
            ws.budget.set_cap(mine, total=0.08)
        studio.session.read_workspace_budget()
        await until(lambda: "$0.08 of your $0.08; the class has $0.15" in studio.quota_text, what="a read")
        with Workspace(class_env) as ws:  # two classmates' kernels spend the class down meanwhile
            ws.budget.reserve("bob-1", 0.05, ("workspace",))
            ws.budget.settle("bob-1", 0.05)
            ws.budget.reserve("cy-1", 0.06, ("workspace",))
        (second,) = studio.generate()
        await until(lambda: second.status == "failed", what="the second refusal")
        assert second.run.error_text == ("Not sent: the class has $0.04 left (this image needs about $0.05); "
                                         "that changed since this page last looked. Nothing was charged.")
        assert sim.count("POST") == 0, "nothing refused was sent"
        await until(lambda: "the class has $0.04 left" in studio.quota_text, what="the re-read")

    _run_app(ada)


def test_the_quota_comes_from_the_workspace_when_the_environment_is_silent(class_env, monkeypatch):
    monkeypatch.delenv("FLUX2_CLASS_BUDGET")
    monkeypatch.delenv("FLUX2_VISITOR_QUOTA")
    with Workspace(class_env) as ws:
        ws.budget.set_cap("workspace", total=5.0, per_day=2.0)
        settings = ClassSettings.from_env()
        assert settings.live and settings.class_budget is None and settings.visitor_quota is None
        visitor = Visitor.arrive(settings)
        assert visitor.quota == DEFAULT_VISITOR_QUOTA
        ws.budget.set_cap("visitor:*", total=0.30)
        second = Visitor.arrive(settings)
        assert second.quota == 0.30 and ws.budget.status(second.scope).cap == 0.30
        assert second.budget_scopes == ("workspace", second.scope)
        # an asked-for class budget replaces the total and keeps the per-day cap
        monkeypatch.setenv("FLUX2_CLASS_BUDGET", "8")
        Visitor.arrive(ClassSettings.from_env())
        standing = ws.budget.status("workspace")
        assert (standing.cap, standing.per_day) == (8.0, 2.0)
        for v in (visitor, second):
            v.client.close()


def test_a_live_app_without_a_class_budget_spends_nothing(class_env, monkeypatch, sim):
    monkeypatch.delenv("FLUX2_CLASS_BUDGET")
    app = studio_app()
    assert not isinstance(app, Studio)
    text = app.children[1].value
    assert "no class budget is set" in text and "FLUX2_CLASS_BUDGET" in text
    assert str(class_env) not in text and SECRET_KEY not in text
    assert sim.count("POST") == 0 and not (class_env / "visitors").exists()


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf"])
def test_a_bad_amount_names_its_variable(class_env, monkeypatch, value):
    monkeypatch.setenv("FLUX2_VISITOR_QUOTA", value)
    with pytest.raises(ValidationError) as err:
        ClassSettings.from_env()
    assert err.value.field == "FLUX2_VISITOR_QUOTA" and repr(value) in str(err.value)
    app = studio_app()
    assert not isinstance(app, Studio) and "FLUX2_VISITOR_QUOTA" in app.children[1].value


def test_without_a_key_the_app_is_simulated_and_the_class_budget_untouched(monkeypatch, tmp_path):
    folder = tmp_path / "class"
    monkeypatch.setenv("FLUX2_RESULTS_DIR", str(folder))
    monkeypatch.setenv("FLUX2_CLASS_BUDGET", "0.10")

    async def body(studio: Studio) -> None:
        assert studio.simulated and studio.client.budget_scopes == ("workspace",)
        assert studio.quota_text == "" and "SIMULATED · nothing is charged" in studio.badge.value
        assert "RUNAPI_API_KEY" not in studio.badge.value and "no API key" not in studio.badge.value
        studio.prompt = "a red fox in fresh snow"
        (tile,) = studio.generate()
        await until(lambda: tile.status == "completed", timeout=20, what="the simulated image")
        assert studio.store.root.parent == folder / "visitors"

    _run_app(body)
    assert not (folder / "workspace.db").exists(), "simulated money never touches the class budget"


# -- the Studio's options ------------------------------------------------------------------------
def test_presenter_puts_results_beside_the_controls_and_the_default_stays(sim):
    async def body() -> None:
        client = AsyncFlux2Client(api_key=SECRET_KEY, base_url=sim.url, simulated=True)
        plain = Studio(client)
        shown = Studio(client, presenter=True, large_type=True)
        try:
            assert plain.children[2:] == (plain.children[2], plain.message, plain.earlier_note,
                                          plain.request_inspector, plain.viewer, plain.empty_note,
                                          plain.gallery)
            assert "f2w-presenter" not in plain._dom_classes and plain.prompt_input.rows == 5
            stage = shown.children[2]
            assert len(shown.children) == 3 and "f2w-stage" in stage._dom_classes
            controls, results = stage.children
            assert results.children == (shown.viewer, shown.empty_note, shown.gallery)
            panel = controls.children[0]
            left = panel.children[0]
            # the message (a refusal) sits under Generate, in view of the click
            assert left.children[-2:] == (shown.quota_line, shown.message)
            assert {"f2w-presenter", "f2w-large"} <= set(shown._dom_classes) and shown.prompt_input.rows == 3
            for rule in (".f2w-stage {", ".f2w-stage-results {", ".f2w-presenter .f2w-thumb { max-height",
                         ".f2w-large .f2w-prompt textarea", ".f2w-large .f2w-cost", ".f2w-large .f2w-quota",
                         ".f2w-large .f2w-tile-title", ".f2w-large .jupyter-button.f2w-generate"):
                assert rule in CSS, rule
        finally:
            plain.close()
            shown.close()
            await client.aclose()

    _in_loop(body)
    for name in ("presenter", "large_type", "for_visitors"):
        with pytest.raises(ValidationError) as err:
            Studio(AsyncFlux2Client(api_key=SECRET_KEY, base_url=sim.url), **{name: "yes"})
        assert err.value.field == name


def _state(root: widgets.Widget) -> str:
    found, stack = [], [root]
    while stack:
        w = stack.pop()
        if isinstance(w, widgets.Widget) and w not in found:
            found.append(w)
            stack.extend(getattr(w, "children", ()) or ())
    return "".join(str(w.get_state()) for w in found)


def test_for_visitors_shows_no_account_no_cap_no_earlier_work(sim, tmp_path):
    from flux2_widgets import ResultStore
    from flux2_widgets.results import Task

    store = ResultStore(tmp_path / "results")
    # an unfinished task of an earlier session in the same folder: not the visitor's to collect
    orphan = Task(id="3f2a7c8e-0000-4000-8000-000000000001", status="pending", action="text_to_image",
                  request=ImageRequest("an old task"))
    store.record_submit(orphan, sim.url, "key-1")

    async def body() -> None:
        client = AsyncFlux2Client(api_key=SECRET_KEY, base_url=sim.url, simulated=False, store=store)
        studio = Studio(client, for_visitors=True, prompt="a red fox in fresh snow")
        notebook = Studio(client)
        try:
            await until(lambda: not studio.uploads and not notebook.uploads, what="the account reads")
            assert notebook.collect_button.layout.display != "none", "a notebook's Studio offers Collect"
            badge = studio.badge.value
            assert "LIVE · RunAPI · real money" in badge and mask(SECRET_KEY) not in badge
            assert "balance" not in badge and "127.0.0.1" not in badge
            for hidden in (studio.fields["budget"], studio.request_toggle, studio.collect_button,
                           studio.earlier_note):
                assert hidden.layout.display == "none"
            (tile,) = studio.generate()
            assert set(tile.actions) == {"open", "download", "remix"}
            await until(lambda: tile.status == "completed", what="the image")
            assert SECRET_KEY not in _state(studio) and mask(SECRET_KEY) not in _state(studio)
        finally:
            studio.close()
            notebook.close()
            await client.aclose()

    _in_loop(body)


# -- the app notebook ------------------------------------------------------------------------------
def test_the_app_notebooks_are_committed_clean():
    assert [p.name for p in APP_NOTEBOOKS] == ["arena_board.ipynb", "arena_vote.ipynb", "studio.ipynb"]
    for path in APP_NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3" and "widgets" not in nb.metadata
        for cell in nb.cells:
            assert cell.cell_type != "code" or (cell.outputs == [] and cell.execution_count is None)


def test_the_app_notebook_shows_the_studio_and_nothing_else(monkeypatch, tmp_path):
    from nbclient import NotebookClient

    monkeypatch.setenv("FLUX2_RESULTS_DIR", str(tmp_path / "class"))
    monkeypatch.setenv("JUPYTER_PATH", str(Path(sys.prefix) / "share" / "jupyter"))
    nb = nbformat.read(ROOT / "notebooks" / "app" / "studio.ipynb", as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=120,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [out for cell in nb.cells for out in cell.get("outputs", [])]
    assert all(out.output_type in ("display_data", "execute_result") for out in outputs), outputs
    views = [out for out in outputs if "application/vnd.jupyter.widget-view+json" in out.data]
    # beside the live Studio only its static twin for readers without widgets, hidden where
    # widgets live (Voila): no stream, no client repr, no path
    twins = [out for out in outputs if "f2w-static" in out.data.get("text/html", "")]
    assert len(views) == 1 and len(twins) == 1 and len(outputs) == 2, outputs
    text = str([out.data for out in outputs])
    for internal in ("Flux2Client", "127.0.0.1", str(tmp_path), "RUNAPI_API_KEY"):
        assert internal not in text, internal
