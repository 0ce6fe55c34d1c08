"""Error answers keep what the server said: the parsed body, per-field messages, a message
that names the fields, the right type, and never the key. Real HTTP on 127.0.0.1: a small
server answers each shape DESIGN.md section 2 lists, and the strict simulator its 422."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import SECRET_KEY

from flux2_widgets import AsyncFlux2Client, errors

#: The next answer the canned server gives: (status, content type, body, extra headers).
Canned = tuple[int, str, bytes, dict[str, str]]


@pytest.fixture
def canned() -> Iterator[tuple[str, list[Canned], list[str]]]:
    """A server on 127.0.0.1 that answers whatever the test queued; it records the
    Authorization headers it saw. ``{auth}`` in a body is replaced by that header."""
    queue: list[Canned] = []
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            auth = self.headers.get("Authorization", "")
            seen.append(auth)
            status, ctype, body, headers = queue.pop(0)
            body = body.replace(b"{auth}", auth.encode())
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", queue, seen
    server.shutdown()
    server.server_close()


def _json(status: int, body: object, **headers: str) -> Canned:
    return status, "application/json", json.dumps(body).encode(), headers


def _raise_from(url: str, answer: Canned, queue: list[Canned], call: str = "balance") -> errors.Flux2Error:
    queue.append(answer)

    async def main() -> None:
        # One canned answer each: no retry of faults, nor of rate limits (their own patience).
        async with AsyncFlux2Client(SECRET_KEY, base_url=url, max_retries=0, rate_limit_retries=0) as client:
            if call == "balance":
                await client.balance()
            else:
                await client.get("1b0c2f8e-5a7e-4c39-9d4e-2f1f7a0c9b11")

    with pytest.raises(errors.Flux2Error) as info:
        asyncio.run(main())
    return info.value


def test_validation_failed_keeps_every_field_message(canned) -> None:
    url, queue, _ = canned
    body = {"error": "Validation failed",
            "errors": {"prompt": ["is too short (minimum is 3 characters)"],
                       "enable_safety_checker": ["is not allowed when model is flux-2-max-text-to-image"]}}
    err = _raise_from(url, _json(422, body), queue)
    assert isinstance(err, errors.BadRequestError) and err.status == 422
    assert err.body == body
    assert err.errors == body["errors"]
    text = str(err)
    assert "Validation failed" in text and "prompt: is too short" in text
    assert "enable_safety_checker: is not allowed" in text


@pytest.mark.parametrize(("status", "body", "kind", "message", "code"), [
    (402, {"error": {"code": "insufficient_credits", "message": "balance too low"}},
     errors.InsufficientCreditsError, "balance too low", "insufficient_credits"),
    (404, {"error": "Task not found"}, errors.NotFoundError, "Task not found", None),
    (429, {"message": "slow down please"}, errors.RateLimitError, "slow down please", None),
    (401, {"detail": "Not authenticated"}, errors.AuthenticationError, "Not authenticated", None),
    (500, {"errorMessage": "upstream exploded"}, errors.ServerError, "upstream exploded", None),
    (503, {"msg": "maintenance window"}, errors.ServerError, "maintenance window", None),
    (409, {"error": {"code": "idempotency_conflict", "message": "key reused"}}, errors.ConflictError,
     "key reused", "idempotency_conflict"),
])
def test_each_error_shape_gives_its_message_code_and_body(canned, status, body, kind, message, code) -> None:
    url, queue, _ = canned
    err = _raise_from(url, _json(status, body, **{"x-request-id": "req-7"}), queue)
    assert type(err) is kind and err.status == status
    assert err.message.startswith(message) and err.code == code
    assert err.body == body and err.errors == {} and err.request_id == "req-7"


def test_fastapi_style_detail_list_names_the_fields(canned) -> None:
    url, queue, _ = canned
    body = {"detail": [{"loc": ["body", "prompt"], "msg": "too short", "type": "value_error"}]}
    err = _raise_from(url, _json(422, body), queue)
    assert isinstance(err, errors.BadRequestError) and "prompt: too short" in str(err)


def test_an_html_page_is_named_by_its_title(canned) -> None:
    url, queue, _ = canned
    page = b"<!doctype html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    err = _raise_from(url, (502, "text/html", page, {}), queue)
    assert isinstance(err, errors.ServerError) and err.code == "html_error"
    assert "HTML error page: 502 Bad Gateway" in str(err) and err.body is None


def test_the_key_never_shows_even_when_the_server_echoes_it(canned) -> None:
    url, queue, seen = canned
    body = {"error": "Validation failed", "errors": {"authorization": ["{auth} is not valid"]},
            "echo": "{auth}"}
    err = _raise_from(url, _json(422, body), queue)
    assert seen == [f"Bearer {SECRET_KEY}"]  # it was sent, and then echoed back
    everything = " ".join([str(err), repr(err), json.dumps(err.body), json.dumps(err.errors)])
    assert SECRET_KEY not in everything and "<redacted>" in everything


def test_a_header_never_overrides_the_task_id_the_client_asked_for(canned) -> None:
    url, queue, _ = canned
    err = _raise_from(url, _json(404, {"error": "Task not found"}, **{"X-RunAPI-Task-Id": "other"}),
                      queue, call="get")
    assert isinstance(err, errors.NotFoundError) and err.task_id == "1b0c2f8e-5a7e-4c39-9d4e-2f1f7a0c9b11"


def test_the_strict_simulator_422_reaches_the_user_field_by_field(sim) -> None:
    # The catalog never sends such a body; this bypasses it to see the server's answer.
    async def main() -> errors.Flux2Error:
        async with AsyncFlux2Client(SECRET_KEY, base_url=sim.url, max_retries=0) as client:
            with pytest.raises(errors.BadRequestError) as info:
                await client._transport.request(
                    "POST", "/api/v1/flux_2/text_to_image",
                    json_body={"model": "flux-2-max-text-to-image", "prompt": "ok!",
                               "enable_safety_checker": False, "output_resolution": "2k"})
            return info.value

    err = asyncio.run(main())
    assert err.status == 422 and set(err.errors) == {"enable_safety_checker", "output_resolution",
                                                     "aspect_ratio"}
    assert all(f"{field}:" in str(err) for field in err.errors)
    assert sim.stats.tasks_created == 0


def test_what_each_error_says_about_the_task_and_the_money() -> None:
    """is_resumable: may the same task still finish (wait for it, free)? is_refusal: did the
    service refuse the create (nothing made, nothing billed, a new key next time)?"""
    from flux2_widgets.errors import is_refusal, is_resumable

    task = "3f0c2b1e-0000-4000-8000-000000000000"
    cases = [
        # (error, resumable with the task id known, refusal)
        (errors.TaskFailedError("failed", task_id=task, code="task_failed"), False, False),
        (errors.UnknownStatusError("weird", task_id=task, code="unknown_status"), True, False),
        (errors.NoImageError("no url", task_id=task, code="no_images"), True, False),
        (errors.ImageDownloadError("html", task_id=task, status=404), True, False),
        (errors.MalformedResponseError("3,000 images", task_id=task, code="too_many_images"), True, False),
        (errors.APITimeoutError("slow", task_id=task), True, False),
        (errors.TaskTimeoutError("still running", task_id=task), True, False),
        (errors.NotFoundError("gone", status=404, task_id=task), False, True),
        (errors.ValidationError("bad prompt", field="prompt"), False, True),
        (errors.BadRequestError("422", status=422), False, True),
        (errors.InsufficientCreditsError("402", status=402), False, True),
        (errors.ConflictError("409", status=409), False, True),
        (errors.APIError("408", status=408), False, False),
        (errors.RateLimitError("429", status=429), False, False),
        (errors.ServerError("503", status=503), False, False),
        (errors.NetworkError("dropped"), False, False),
    ]
    for error, resumable, refusal in cases:
        known = task if error.task_id is None and resumable else None
        assert is_resumable(error, known) is resumable, error
        assert is_refusal(error) is refusal, error
    assert not is_resumable(errors.NetworkError("no task yet")) and not is_refusal(None)
    assert not is_refusal(RuntimeError("400"))
    assert not issubclass(errors.UnknownStatusError, errors.TaskFailedError)
    assert "not charged" in str(errors.TaskFailedError.__doc__)


def test_the_old_timeout_name_is_the_new_class_and_never_shadows_the_builtin() -> None:
    import flux2_widgets
    from flux2_widgets import TimeoutError as OldName

    assert OldName is errors.APITimeoutError is flux2_widgets.APITimeoutError
    # A star import takes __all__: the builtin TimeoutError stays the builtin.
    assert "TimeoutError" not in flux2_widgets.__all__ and "TimeoutError" not in errors.__all__
    assert "APITimeoutError" in flux2_widgets.__all__
    assert not issubclass(errors.APITimeoutError, TimeoutError)  # the builtin is left alone
