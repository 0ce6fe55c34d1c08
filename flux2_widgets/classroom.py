"""An app a class can use: the server's settings, one visitor per kernel, and their Studio.

``notebooks/app/studio.ipynb``, which ``make app`` serves with Voila, is one call:
``studio_app()``. Voila starts a kernel for every page load, and each kernel is one
*visitor* with a new random id: a reload is a new visitor (their quota starts again; the
class budget does not).

With a key (``RUNAPI_API_KEY`` in the server's environment) every create is reserved,
before it is sent, against two scopes of the class's workspace budget (one database that
every visitor's kernel shares): ``workspace``, the class budget, and ``visitor:<id>``, the
visitor's quota. A create that would pass either is refused and nothing is sent. The caps
come from the environment (``FLUX2_CLASS_BUDGET``, ``FLUX2_VISITOR_QUOTA``, in US dollars;
the class budget is written to the workspace when a visitor arrives) or from the workspace
itself (``flux2-widgets budget --dir DIR --total 10`` for the class, ``--scope 'visitor:*'
--total 0.5`` for every visitor's quota); with neither, a visitor may spend
``DEFAULT_VISITOR_QUOTA``. With a key and no class budget anywhere the app spends nothing
and says so: real money is never spent without a cap.

Without a key: the embedded simulator, badged; nothing is charged, and the class budget is
not touched (a simulated visitor's folder keeps a database of its own).

Where things go: ``FLUX2_RESULTS_DIR`` (default ``./flux2_results``) is the class folder.
Its ``workspace.db`` holds the budget (or ``FLUX2_DATABASE_URL`` names the database), and
each visitor's results go to ``visitors/<id>/`` with their own run log, so a visitor never
sees (or collects) another's unfinished work.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import Flux2Error, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets

    from .client import Flux2Client
    from .store import ResultStore
    from .workspace import Workspace

__all__ = ["CLASS_BUDGET_ENV", "DEFAULT_VISITOR_QUOTA", "QUOTA_SCOPE", "VISITOR_QUOTA_ENV", "ClassSettings",
           "Visitor", "studio_app"]

log = logging.getLogger(__name__)

#: The class budget in US dollars (the workspace scope's total cap), written when a visitor arrives.
CLASS_BUDGET_ENV = "FLUX2_CLASS_BUDGET"
#: Each visitor's quota in US dollars.
VISITOR_QUOTA_ENV = "FLUX2_VISITOR_QUOTA"
#: The workspace scope whose cap is every visitor's quota when ``FLUX2_VISITOR_QUOTA`` is unset.
QUOTA_SCOPE = "visitor:*"
#: A visitor's quota when neither the environment nor the workspace names one.
DEFAULT_VISITOR_QUOTA = 0.50
#: The class budget's scope (``workspace.WORKSPACE_SCOPE``).
CLASS_SCOPE = "workspace"

NO_CLASS_BUDGET = (
    "This app is not ready to spend yet: it uses a real RunAPI key, and no class budget is set. "
    "Whoever runs it sets one, e.g. FLUX2_CLASS_BUDGET=10 make app, or flux2-widgets budget "
    "--dir FOLDER --total 10 on the app's results folder, then reloads this page.")
NOT_STARTED = ("This app could not start: {problem} Whoever runs it finds the details in the "
               "server's log.")


def _usd_from_env(name: str) -> float | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValidationError(f"{name} must be an amount of US dollars >= 0, such as 10 or 0.50, not {raw!r}",
                              field=name, value=raw, allowed=">= 0")
    return value


@dataclass(frozen=True)
class ClassSettings:
    """What the server's environment says about the class: ``ClassSettings.from_env()``."""

    #: The class folder (``FLUX2_RESULTS_DIR``): the budget's database, visitors' results.
    folder: Path
    #: A key is configured: real money, unless its server names itself the simulator.
    live: bool
    #: ``FLUX2_CLASS_BUDGET`` (``None``: whatever the workspace holds).
    class_budget: float | None
    #: ``FLUX2_VISITOR_QUOTA`` (``None``: the workspace's ``visitor:*`` cap, else the default).
    visitor_quota: float | None

    @classmethod
    def from_env(cls) -> ClassSettings:
        """Read the environment; a bad amount raises ``ValidationError`` naming the variable."""
        from .client._defaults import RESULTS_ENV
        from .client._settings import resolve_settings

        return cls(folder=Path(os.environ.get(RESULTS_ENV) or "flux2_results"),
                   live=resolve_settings().api_key is not None,
                   class_budget=_usd_from_env(CLASS_BUDGET_ENV),
                   visitor_quota=_usd_from_env(VISITOR_QUOTA_ENV))

    @property
    def database_url(self) -> str:
        """The class's database: ``FLUX2_DATABASE_URL``, else the folder's ``workspace.db``."""
        from .workspace import DATABASE_URL_ENV

        return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{(self.folder / 'workspace.db').resolve()}"

    def workspace(self) -> Workspace:
        """The class's workspace (the one ``flux2-widgets budget --dir FOLDER`` opens)."""
        from .workspace import Workspace

        return Workspace.shared(self.folder, database_url=self.database_url)


@dataclass(frozen=True)
class Visitor:
    """One visitor (one kernel): ``id``, their quota's ``scope`` (``visitor:<id>``, ``None``
    when simulated), the ``quota`` in USD, and a ``client`` whose every create is reserved
    against the class budget and that quota, saving to ``store`` (``visitors/<id>/``)."""

    id: str
    scope: str | None
    quota: float | None
    client: Flux2Client
    store: ResultStore

    @property
    def budget_scopes(self) -> tuple[str, ...]:
        """What each create is reserved against: the class budget and this visitor's quota."""
        return (CLASS_SCOPE, self.scope) if self.scope else ("workspace",)

    @classmethod
    def arrive(cls, settings: ClassSettings | None = None) -> Visitor:
        """A new visitor: with a key, the class budget asked for by the environment is written,
        the visitor's quota set, and ``ClassNotReady`` raised when the class has no budget."""
        from .client import Flux2Client
        from .store import ResultStore
        from .workspace import visitor_scope

        settings = settings or ClassSettings.from_env()
        visitor_id = secrets.token_hex(4)
        folder = settings.folder / "visitors" / visitor_id
        if not settings.live:
            # The simulator: nothing is charged, so the class budget is left alone (the
            # visitor's folder has a database of its own).
            store = ResultStore(folder)
            return cls(visitor_id, None, None, Flux2Client(store=store), store)
        budget = settings.workspace().budget
        standing = budget.status(CLASS_SCOPE)
        if settings.class_budget is not None and standing.cap != settings.class_budget:
            standing = budget.set_cap(CLASS_SCOPE, total=settings.class_budget, per_day=standing.per_day)
        if standing.cap is None and standing.per_day is None:
            raise ClassNotReady(NO_CLASS_BUDGET)
        shared = budget.status(QUOTA_SCOPE)
        quota, per_day = settings.visitor_quota, None
        if quota is None:
            quota, per_day = shared.cap, shared.per_day
        if quota is None and per_day is None:
            quota = DEFAULT_VISITOR_QUOTA
        scope = visitor_scope(visitor_id)
        budget.set_cap(scope, total=quota, per_day=per_day)
        store = ResultStore(folder, database_url=settings.database_url)
        client = Flux2Client(store=store, budget_scopes=(CLASS_SCOPE, scope))
        visitor = cls(visitor_id, scope, quota, client, store)
        assert visitor.budget_scopes == (CLASS_SCOPE, scope)
        return visitor


class ClassNotReady(Exception):
    """A class app with a key and no class budget: it spends nothing (the message says why)."""


def studio_app(*, presenter: bool = True, large_type: bool = True) -> ipywidgets.Widget:
    """The Studio for one visitor of a class app (see the module docstring): results beside
    the controls, large type, no code, no account details, nothing generated until Generate.
    When the app cannot spend (a key and no class budget, a bad setting) a notice instead."""
    from .widgets import Studio

    _log_to_server()
    try:
        visitor = Visitor.arrive()
    except ClassNotReady as exc:
        return _notice(str(exc))
    except ValidationError as exc:  # a bad amount in the environment: its message names the variable
        log.error("the class app could not start: %s", exc)
        return _notice(NOT_STARTED.format(problem=exc.message))
    except (Flux2Error, OSError) as exc:  # the class's database, say: its details are for the server's log
        log.error("the class app could not start: %s", exc)
        return _notice(NOT_STARTED.format(problem="its results folder or budget database cannot be used."))
    log.info("visitor %s arrived (%s)", visitor.id, "live" if visitor.scope else "simulated")
    return Studio(visitor.client, presenter=presenter, large_type=large_type, for_visitors=True,
                  save_dir=str(visitor.store.root))


def _notice(text: str) -> ipywidgets.Widget:
    import ipywidgets as widgets

    from .widgets._dom import esc, html_box
    from .widgets._style import style_widget

    box = widgets.VBox((style_widget(), html_box(esc(text), "f2w-message", "f2w-message--info")))
    box.add_class("f2w")
    box.add_class("f2w-app-notice")
    return box


class _ServerLog(logging.StreamHandler):
    """The package's log lines, to the kernel process's own stderr."""


def _log_to_server(stream: Any = None) -> None:
    """The package's log lines go to the kernel's own stderr (the server's log, for whoever
    runs the app), never into the page: with no handler anywhere, Python's last-resort
    handler would print them as a cell's output."""
    logger = logging.getLogger("flux2_widgets")
    if any(isinstance(h, _ServerLog) for h in logger.handlers):
        return
    handler = _ServerLog(stream or sys.__stderr__)
    handler.setFormatter(logging.Formatter("[flux2_widgets %(levelname)s] %(message)s"))
    logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
