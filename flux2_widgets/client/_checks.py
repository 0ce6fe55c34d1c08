"""Argument checks for the client's constructor and methods, all run before anything is sent.

Every bad value becomes a ``ValidationError`` naming the field and what is allowed;
nothing is clamped, and no check needs the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._checks import check_number
from ..catalog import DEFAULT_BASE_URL, HEADER_VALUE_MAX, MAX_CONCURRENCY, ImageRequest
from ..errors import ValidationError
from ..results import Task
from ._limits import ResponseLimits
from ._polling import PollPolicy


def _as_request(item: Any, where: str) -> ImageRequest:
    """A request, a prompt, or a dict of fields (as ``submit`` takes them)."""
    if not isinstance(item, Mapping):
        return ImageRequest.from_fields(item)
    names = [k for k in item if not isinstance(k, str)]
    if names:
        raise ValidationError(f"{where} has a field name that is not text: {names[0]!r}"[:300],
                              field=where, value=names[0], allowed="request field names (str)")
    return ImageRequest.from_fields(**item)


def _check_flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False, got {value!r}"[:300], field=name,
                              value=value, allowed=(True, False))


def _check_request(request: Any) -> None:
    if request is not None and not isinstance(request, ImageRequest):
        raise ValidationError(f"request must be an ImageRequest (or None), got {type(request).__name__}",
                              field="request", value=request, allowed="ImageRequest or None")


def _check_timeout(value: float | None, name: str = "timeout") -> None:
    check_number(name, value, optional=True)


def _check_concurrency(value: Any) -> int:
    return int(check_number("max_concurrency", value, minimum=1, strict=False, integer=True,
                            maximum=MAX_CONCURRENCY))


def _check_task(task: Any, optional: bool = False) -> None:
    if not isinstance(task, Task) and not (optional and task is None):
        raise ValidationError(f"task must be a Task (from submit, get or the run log), got "
                              f"{type(task).__name__}", field="task", value=task, allowed="Task")


def _check_store(store: Any) -> None:
    from ..store import ResultStore

    if store is not None and not isinstance(store, ResultStore):
        raise ValidationError(f"store must be a ResultStore (or None), got {type(store).__name__}",
                              field="store", value=store, allowed="ResultStore or None")


def _check_submit(idempotency_key: Any, store: Any) -> None:
    _check_store(store)
    if idempotency_key is not None and (
            not isinstance(idempotency_key, str) or not 1 <= len(idempotency_key) <= HEADER_VALUE_MAX
            or not all(" " < c <= "~" for c in idempotency_key)):
        raise ValidationError(f"idempotency_key must be 1-{HEADER_VALUE_MAX} printable ASCII characters "
                              f"without spaces (or None), got {idempotency_key!r}"[:300],
                              field="idempotency_key", value=idempotency_key,
                              allowed=f"1-{HEADER_VALUE_MAX} printable ASCII characters")


def _check_callable(value: Any, name: str) -> None:
    if value is not None and not callable(value):
        raise ValidationError(f"{name} must be a function (or None), got {type(value).__name__}",
                              field=name, value=value, allowed="callable or None")


def _check_options(*, api_key: Any, base_url: Any, timeout: Any, max_retries: Any, retry_base_delay: Any,
                   max_concurrency: Any, poll: Any, wait_timeout: Any, store: Any, simulated: Any,
                   max_retry_after: Any, rate_limit_retries: Any, limits: Any) -> None:
    """Every constructor option checked before anything is built or sent."""
    from ..store import ResultStore

    # Types here; the key's characters and the URL's shape are checked by resolve_settings.
    if api_key is not None and (not isinstance(api_key, str) or not api_key.strip()):
        got = "an empty string" if isinstance(api_key, str) else type(api_key).__name__
        raise ValidationError("api_key must be a non-empty string (or None to use RUNAPI_API_KEY), "
                              f"got {got}",
                              field="api_key", value=None, allowed="str or None")
    if base_url is not None and (not isinstance(base_url, str) or not base_url.strip()):
        raise ValidationError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r} (or None), "
                              f"got {base_url!r}", field="base_url", value=base_url,
                              allowed="http(s) URL or None")
    _check_timeout(timeout, "timeout")
    check_number("wait_timeout", wait_timeout)
    _check_concurrency(max_concurrency)
    check_number("max_retries", max_retries, strict=False, integer=True, maximum=100)
    check_number("rate_limit_retries", rate_limit_retries, strict=False, integer=True, maximum=1000)
    check_number("retry_base_delay", retry_base_delay, strict=False, maximum=60)
    check_number("max_retry_after", max_retry_after, strict=False, maximum=86400)
    for name, value, kind in (("poll", poll, PollPolicy), ("store", store, ResultStore),
                              ("limits", limits, ResponseLimits)):
        if value is not None and not isinstance(value, kind):
            raise ValidationError(f"{name} must be a {kind.__name__} (or None), got {type(value).__name__}",
                                  field=name, value=value, allowed=f"{kind.__name__} or None")
    if simulated is not None and not isinstance(simulated, bool):
        raise ValidationError(f"simulated must be True, False or None, got {simulated!r}",
                              field="simulated", value=simulated, allowed=(True, False, None))


def _as_requests(requests: Any) -> list[ImageRequest]:
    if isinstance(requests, (str, bytes, Mapping, ImageRequest)) or not isinstance(requests, Iterable):
        raise ValidationError(f"requests must be a list of prompts, ImageRequests or dicts, got "
                              f"{type(requests).__name__}", field="requests", value=requests,
                              allowed="list of str / ImageRequest / dict")
    reqs = []
    for index, item in enumerate(requests):
        if not isinstance(item, (str, ImageRequest, Mapping)):
            raise ValidationError(f"requests[{index}] must be a prompt, an ImageRequest or a dict, got "
                                  f"{type(item).__name__}", field=f"requests[{index}]", value=item,
                                  allowed="str / ImageRequest / dict")
        reqs.append(item if isinstance(item, ImageRequest) else _as_request(item, f"requests[{index}]"))
    return reqs
