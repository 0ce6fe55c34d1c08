"""The workspace: one database per results folder (SQLite by default, PostgreSQL by URL)
for what must outlive a kernel and be shared by processes: the results index with stars,
tags and notes, comparisons and their votes, the budget ledger, and arenas.

``Workspace()`` opens the default folder's; ``Workspace.shared(root)`` is the one the
result store and the history use in this process. Every method is blocking and short;
``await off_loop(fn, *args)`` runs one on the workspace's own thread from async code.
"""

from __future__ import annotations

from ._arenas import MAX_PREVIEW_BYTES, make_preview
from ._budget import WORKSPACE_SCOPE, simulated_scopes, visitor_scope
from ._records import (
    ArenaCount,
    ArenaPair,
    ArenaRecord,
    ArenaVote,
    BudgetStatus,
    ComparisonCell,
    ComparisonRecord,
    ComparisonVote,
    Reservation,
    ResultFilter,
    ResultRecord,
)
from ._thread import off_loop
from ._url import DATABASE_URL_ENV, DatabaseURL, redact_url
from ._workspace import SyncReport, Workspace

__all__ = ["ArenaCount", "ArenaPair", "ArenaRecord", "ArenaVote", "BudgetStatus", "ComparisonCell",
           "ComparisonRecord", "ComparisonVote", "DATABASE_URL_ENV", "DatabaseURL", "MAX_PREVIEW_BYTES",
           "Reservation", "ResultFilter", "ResultRecord", "SyncReport", "WORKSPACE_SCOPE", "Workspace",
           "make_preview", "off_loop", "redact_url", "simulated_scopes", "visitor_scope"]
