"""One error hierarchy for everything the toolkit raises.

Every error carries what a person needs to act on it (status, code, request
id, task id where known) and never the API key: messages pass through
:func:`flux2_widgets._redact.redact` before they are stored.
"""

from __future__ import annotations

from typing import Any

from ._redact import redact

__all__ = [
    "Flux2Error",
    "ValidationError",
    "APIError",
    "BadRequestError",
    "AuthenticationError",
    "InsufficientCreditsError",
    "NotFoundError",
    "ConflictError",
    "RateLimitError",
    "ServerError",
    "NetworkError",
    "APITimeoutError",
    "MalformedResponseError",
    "ImageDownloadError",
    "NoImageError",
    "TaskFailedError",
    "UnknownStatusError",
    "TaskTimeoutError",
    "BudgetExceededError",
    "UnansweredCreateError",
    "WorkspaceError",
    "DuplicateVoteError",
    "ArenaExistsError",
    "error_for_status",
    "is_refusal",
    "is_resumable",
]


class Flux2Error(Exception):
    """Base class of every error raised by flux2_widgets."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        task_id: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        self.message = redact(message)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.task_id = task_id
        self.retry_after = retry_after
        #: The server's parsed error body (keys redacted), for whoever needs more than the message.
        self.body = body
        #: Per-field messages of a validation failure, ``{"prompt": ["is too short"]}``.
        self.errors = errors or {}
        super().__init__(self.message)

    def __str__(self) -> str:
        extras = []
        if self.status is not None:
            extras.append(f"status {self.status}")
        if self.code:
            extras.append(f"code {self.code!r}")
        if self.task_id:
            extras.append(f"task {self.task_id}")
        if self.request_id:
            extras.append(f"request {self.request_id}")
        return f"{self.message} ({', '.join(extras)})" if extras else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> Any:
        # Keep errors picklable (multiprocessing, nbclient) with their fields.
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[Flux2Error], message: str, state: dict[str, Any]) -> Flux2Error:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class ValidationError(Flux2Error, ValueError):
    """A request that cannot be sent as it is. Raised before any network traffic.

    ``field`` names the offending field, ``value`` the bad value and ``allowed``
    what would be accepted.
    """

    def __init__(self, message: str, *, field: str | None = None, value: Any = None,
                 allowed: Any = None, **kwargs: Any) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(message, **kwargs)
        if not self.errors and field:
            # The same per-field shape as a server's 422, so a view shows either one way.
            self.errors = {field: [self.message]}


class APIError(Flux2Error):
    """The API answered with an error status."""


class BadRequestError(APIError):
    """400/422: the API rejected the request's content."""


class AuthenticationError(APIError):
    """401/403: the API key is missing, wrong or not allowed to do this."""


class InsufficientCreditsError(APIError):
    """402: the account has no credit left for this request."""


class NotFoundError(APIError):
    """404: no such task (or route)."""


class ConflictError(APIError):
    """409: the request conflicts with an earlier one (e.g. an Idempotency-Key reused
    with a different body)."""


class RateLimitError(APIError):
    """429: too many requests. ``retry_after`` holds the server's hint in seconds."""


class ServerError(APIError):
    """5xx: the service failed. Retried automatically before this is raised."""


class NetworkError(Flux2Error):
    """The connection failed (refused, reset, dropped) after retries."""


class APITimeoutError(Flux2Error):
    """One HTTP request took longer than the client's timeout (or its answer's body longer
    than ``ResponseLimits.answer_seconds``), after retries. Named like openai's, so it
    never shadows the builtin ``TimeoutError``."""


#: The old name, kept for code written against it: the same class, not a subclass.
#: Not in ``__all__``, so a star import never shadows the builtin ``TimeoutError``.
TimeoutError = APITimeoutError


class MalformedResponseError(Flux2Error):
    """The API answered 2xx with a body that is not the JSON the contract promises."""


class ImageDownloadError(Flux2Error):
    """A result image could not be fetched or is not an acceptable image (not PNG, JPEG
    or WebP, too large, too many pixels, a redirect loop, a stalled host). When it
    belongs to a completed task, that task was billed and is kept: ``urls`` holds its
    image URLs, the run log records it, and ``client.resume()`` tries again while the
    URLs live (about 7 days)."""

    def __init__(self, message: str, *, urls: tuple[str, ...] = (), **kwargs: Any) -> None:
        self.urls = tuple(urls)
        super().__init__(message, **kwargs)


class NoImageError(Flux2Error):
    """The task completed (so it is billed) but its answer carried no image URL. Not a
    failure: the task is kept in the run log as undelivered, and ``client.resume()``
    asks the service for it again while its result lives (about 7 days)."""


class TaskFailedError(Flux2Error):
    """The service said the task ``failed``. Failed tasks are not charged."""


class UnknownStatusError(Flux2Error):
    """The task reported a status this client does not know. Not a verdict: the task
    may still finish (and be billed), so it stays resumable (``task_id`` says which)."""


class TaskTimeoutError(Flux2Error):
    """The task did not finish within the wait timeout. The task may still complete:
    ``task_id`` lets you resume it with ``client.get``."""


class BudgetExceededError(Flux2Error, ValueError):
    """A batch would pass the budget cap. Nothing was sent.

    Raised by a workspace ledger (``Workspace.budget.reserve``), it also names the
    ``scope`` whose cap would be passed, the ``period`` (``"total"`` or ``"day"``, a UTC
    day), the ``cap``, what is ``spent`` (billed) and ``reserved`` (may still be billed)
    in that period, and what is ``left``, all in USD. Nothing was recorded."""

    def __init__(self, message: str, *, scope: str | None = None, period: str | None = None,
                 cap: float | None = None, spent: float | None = None, reserved: float | None = None,
                 left: float | None = None, **kwargs: Any) -> None:
        self.scope = scope
        self.period = period
        self.cap = cap
        self.spent = spent
        self.reserved = reserved
        self.left = left
        super().__init__(message, **kwargs)


class UnansweredCreateError(Flux2Error):
    """A create request in the run log never got its answer, and is too old to send
    again safely: its task may exist (and be billed), but the service may no longer
    remember its Idempotency-Key, so sending it again could make and bill a second
    task. ``idempotency_key`` and ``sent_at`` (epoch seconds) identify it; send it
    anyway with ``client.resume(resend_within=None)``, or drop it from the log with
    ``ResultStore.dismiss(idempotency_key)``."""

    def __init__(self, message: str, *, idempotency_key: str = "", sent_at: float = 0.0,
                 **kwargs: Any) -> None:
        self.idempotency_key = idempotency_key
        self.sent_at = sent_at
        super().__init__(message, **kwargs)


class WorkspaceError(Flux2Error):
    """The workspace database could not do what was asked: it stayed locked, its server
    is unreachable, its schema is newer than this version, or a record named does not
    exist (``code`` says which). A database URL's password never appears in it."""


class DuplicateVoteError(WorkspaceError, ValueError):
    """This voter already voted on this pair for this question (one vote each); the
    first vote stands."""


class ArenaExistsError(WorkspaceError, ValueError):
    """An arena of that name exists already: open it, or pick another name."""


_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitError,
}

_HINTS: dict[type[APIError], str] = {
    AuthenticationError: "check RUNAPI_API_KEY (or pass api_key=...)",
    InsufficientCreditsError: "top up your RunAPI balance or lower the batch",
    RateLimitError: "slow down or lower max_concurrency",
}


def is_resumable(exc: BaseException | None, task_id: str | None = None) -> bool:
    """Whether the task behind ``exc`` may still finish, so "retry" should wait for the
    same task again (free) rather than submit a new one (billed on top). True for poll,
    download and wait-timeout errors of a task that exists (its id from the error or
    ``task_id``), for an unknown status (not a verdict: it may still finish, and be
    billed) and for a completed task whose answer had no image (billed: ask again);
    False when the service said it failed or does not know it, or when no task was
    created."""
    final = (TaskFailedError, NotFoundError, ValidationError, BudgetExceededError)
    known = task_id or getattr(exc, "task_id", None)
    return bool(known) and not isinstance(exc, final)


def is_refusal(exc: BaseException | None) -> bool:
    """Whether the service (or the client, before sending) refused a create: a
    ``ValidationError`` or ``BudgetExceededError`` (nothing sent), or an ``APIError`` with a 4xx
    status other than 408 (timeout) and 429 (rate limit), which prove nothing. A refused create
    made no task and costs nothing; sending it again with the same Idempotency-Key would only be
    refused again."""
    if isinstance(exc, (ValidationError, BudgetExceededError)):
        return True
    status = exc.status if isinstance(exc, APIError) else None
    return isinstance(status, int) and 400 <= status < 500 and status not in (408, 429)


def error_for_status(status: int, message: str, **kwargs: Any) -> APIError:
    """Build the typed error for an HTTP error status."""
    if status >= 500:
        cls: type[APIError] = ServerError
    else:
        cls = _STATUS_CLASSES.get(status, APIError)
    hint = _HINTS.get(cls)
    if hint and hint not in message:
        message = f"{message} - {hint}"
    return cls(message, status=status, **kwargs)
