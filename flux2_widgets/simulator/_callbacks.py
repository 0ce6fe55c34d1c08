"""Webhook delivery, restricted to loopback so a simulator never reaches out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from ..catalog import TASK_ID_HEADER, is_loopback
from ._state import CallbackRecord

if TYPE_CHECKING:
    from ._state import State

__all__ = ["is_loopback", "deliver"]

_TIMEOUT = 5.0


async def deliver(url: str, payload: dict[str, Any], task_id: str, state: State) -> None:
    # No Authorization header: a webhook receiver is not the API.
    try:
        async with httpx.AsyncClient(timeout=_TIMEOUT, trust_env=False) as client:
            response = await client.post(url, json=payload, headers={TASK_ID_HEADER: task_id})
        status: int | str = response.status_code
    except Exception as exc:  # any delivery failure is recorded, never raised
        status = f"error: {type(exc).__name__}: {exc}"
    state.record_callback(CallbackRecord(url, payload, status))
