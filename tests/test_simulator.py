"""The local simulator over real HTTP on 127.0.0.1.

``sim`` and ``make_sim`` come from conftest: ``sim`` is one simulator per module, reset
before each test (tasks take 0.1 s); ``make_sim`` starts dedicated ones for other settings."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageChops, ImageStat

from flux2_widgets.catalog import (
    API_PREFIX,
    PROMPT_MIN,
    SOURCES_MAX,
    TYPICAL_LATENCY,
    ImageRequest,
    model_id,
    pixel_size,
    price,
)
from flux2_widgets.errors import ValidationError
from flux2_widgets.simulator import PENDING_FRACTION, Simulator

AUTH = {"Authorization": "Bearer sk-test"}
T2I = f"{API_PREFIX}/text_to_image"
REMIX = f"{API_PREFIX}/remix_image"
ROOT = Path(__file__).resolve().parent.parent
#: One pooled client without credentials: building an httpx client costs tens
#: of milliseconds (TLS context), more than most requests here.
PLAIN = httpx.Client(timeout=10)


def body(prompt: str = "a red fox in fresh snow", tier: str = "pro", action: str = "text_to_image",
         **extra) -> dict:
    return {"model": model_id(tier, action), "prompt": prompt, **extra}


@pytest.fixture(scope="module")
def shared_api(module_sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=module_sim.url, headers=AUTH, timeout=10) as client:
        yield client


@pytest.fixture
def api(sim: Simulator, shared_api: httpx.Client) -> httpx.Client:
    return shared_api


def create(api: httpx.Client, payload: dict, path: str = T2I, **kw) -> dict:
    r = api.post(path, json=payload, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def wait(api: httpx.Client, path: str, until=("completed", "failed"), deadline: float = 5.0) -> dict:
    end = time.monotonic() + deadline
    while True:
        answer = api.get(path).json()
        if answer["status"] in until or time.monotonic() > end:
            return answer
        time.sleep(0.02)


def generate(api: httpx.Client, payload: dict, path: str = T2I) -> dict:
    task = create(api, payload, path)
    done = wait(api, f"{path}/{task['id']}")
    assert done["status"] == "completed", done
    return done


def generate_many(api: httpx.Client, payloads: list[dict], path: str = T2I) -> list[dict]:
    """Create all first, then wait: tasks run concurrently, as they would for a client."""
    tasks = [create(api, p, path) for p in payloads]
    return [wait(api, f"{path}/{t['id']}") for t in tasks]


def png(url: str) -> Image.Image:
    r = PLAIN.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(r.content))
    img.load()
    return img


def mean_diff(a: Image.Image, b: Image.Image) -> float:
    b = b.resize(a.size)
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


# -- round trip --------------------------------------------------------------------
def test_create_status_complete_round_trip(make_sim) -> None:
    # Long enough that the pending share of the latency is observable.
    sim = make_sim(latency=0.5)
    api = httpx.Client(base_url=sim.url, headers=AUTH, timeout=10)
    r = api.post(T2I, json=body())
    assert r.status_code == 200
    task = r.json()
    assert set(task) == {"id", "status", "model"}  # no timestamps: RunAPI sends none
    assert uuid.UUID(task["id"])
    assert task["status"] == "pending" and task["model"] == "flux-2-pro-text-to-image"
    assert r.headers["x-request-id"] and r.headers["X-RunAPI-Task-Id"] == task["id"]

    seen = []
    answer = {}
    end = time.monotonic() + 5
    while time.monotonic() < end:
        s = api.get(f"{T2I}/{task['id']}")
        assert s.headers["X-RunAPI-Task-Id"] == task["id"] and s.headers["x-request-id"]
        answer = s.json()
        if not seen or seen[-1] != answer["status"]:
            seen.append(answer["status"])
        if answer["status"] == "completed":
            break
        assert "images" not in answer and "usage" not in answer
        time.sleep(0.005)
    assert seen == ["pending", "processing", "completed"]
    assert answer["id"] == task["id"] and answer["error"] is None
    assert "created_at" not in answer and "completed_at" not in answer
    assert answer["usage"] == {"cost": price("pro", "1k"), "generated_images": 1}
    [image] = answer["images"]
    assert image["url"].startswith(sim.cdn_url + "/images/")
    assert sim.cdn_url != sim.url
    stats = sim.stats
    assert stats.charges == [(task["id"], price("pro", "1k"))]
    assert stats.total_charged == pytest.approx(price("pro", "1k"))
    assert stats.tasks_created == 1
    record = sim.tasks[task["id"]]
    assert record.status == "completed" and record.cost == price("pro", "1k")
    assert record.completed >= record.created + record.latency
    assert sim.count("POST") == 1 and sim.count("GET", T2I + "/") == len(stats.requests) - 1


def test_short_form_answers_task_id(sim: Simulator, api: httpx.Client) -> None:
    task = create(api, body(), "/v1/text_to_image")
    assert "task_id" in task and "id" not in task
    done = wait(api, f"/v1/text_to_image/{task['task_id']}")
    assert done["status"] == "completed" and done["task_id"] == task["task_id"] and "id" not in done
    assert done["images"][0]["url"].startswith(sim.cdn_url)
    assert api.get(f"{T2I}/{task['task_id']}").json()["id"] == task["task_id"]


def test_unknown_task_and_route_are_json_404(api: httpx.Client) -> None:
    r = api.get(f"{T2I}/task_nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert api.get("/api/v1/nothing").json()["error"]["code"] == "not_found"
    task = create(api, body())
    assert api.get(f"{REMIX}/{task['id']}").status_code == 404  # wrong action


def test_max_usage_cost_is_null_and_ledger_uses_stand_in(sim: Simulator, api: httpx.Client) -> None:
    done = generate(api, body(tier="max", aspect_ratio="1:1"))
    assert price("max", "1k") is None
    assert done["usage"] == {"cost": None, "generated_images": 1}
    assert len(sim.stats.charges) == 1


# -- validation ----------------------------------------------------------------------
SRC = "https://example.com/a.png"
#: Each breaks one rule of RunAPI's contract; the 422 names that field.
INVALID = {
    "bad ratio": (body(aspect_ratio="5:4"), "aspect_ratio"),
    "auto for text_to_image": (body(aspect_ratio="auto"), "aspect_ratio"),
    "upper-case resolution": (body(output_resolution="1K"), "output_resolution"),
    "max 2k": (body(tier="max", output_resolution="2k", aspect_ratio="1:1"), "output_resolution"),
    "max without a ratio": (body(tier="max"), "aspect_ratio"),
    "max auto": (body(tier="max", action="remix_image", aspect_ratio="auto", source_image_urls=[SRC]),
                 "aspect_ratio"),
    "max safety checker": (body(tier="max", aspect_ratio="1:1", enable_safety_checker=False),
                           "enable_safety_checker"),
    "max two outputs": (body(tier="max", aspect_ratio="1:1", output_count=2), "output_count"),
    "pro output_count": (body(output_count=1), "output_count"),
    "flex output_count": (body(tier="flex", output_count=1), "output_count"),
    "unknown field": (body(seed=42), "seed"),
    "sources on text_to_image": (body(source_image_urls=[SRC]), "source_image_urls"),
    "prompt too short": (body(prompt="x" * (PROMPT_MIN - 1)), "prompt"),
    "blank prompt": (body(prompt="     "), "prompt"),
    "remix without sources": (body(action="remix_image"), "source_image_urls"),
    "too many sources": (body(action="remix_image", source_image_urls=[SRC] * (SOURCES_MAX + 1)),
                         "source_image_urls"),
    "max two sources": (body(tier="max", action="remix_image", aspect_ratio="1:1",
                             source_image_urls=[SRC] * 2), "source_image_urls"),
    "no model": ({"prompt": "no model here"}, "model"),
    "other model": (body() | {"model": "flux-1-dev"}, "model"),
    "model not text": (body() | {"model": 3}, "model"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_contract_violations_are_422_with_per_field_errors(sim: Simulator, api: httpx.Client,
                                                           case: str) -> None:
    payload, field = INVALID[case]
    path = REMIX if "remix" in str(payload.get("model")) else T2I
    r = api.post(path, json=payload)
    assert r.status_code == 422
    answer = r.json()
    assert answer["error"] == "Validation failed" and set(answer) == {"error", "errors"}
    assert field in answer["errors"] and all(isinstance(m, str) and m for m in answer["errors"][field])
    with pytest.raises(ValidationError) as info:  # the client refuses it too, naming a field
        ImageRequest.from_payload(payload)
    assert info.value.field in answer["errors"]
    assert sim.stats.tasks_created == 0


def test_every_violation_is_reported_at_once(api: httpx.Client) -> None:
    payload = body(tier="max", prompt="x", output_resolution="2k", enable_safety_checker=True, seed=1)
    errors = api.post(T2I, json=payload).json()["errors"]
    assert set(errors) == {"prompt", "output_resolution", "enable_safety_checker", "seed", "aspect_ratio"}


def test_action_route_mismatch_is_422_on_model(api: httpx.Client) -> None:
    r = api.post(T2I, json=body(action="remix_image", source_image_urls=[SRC]))
    assert r.status_code == 422 and REMIX in r.json()["errors"]["model"][0]


def test_non_json_body_is_400(api: httpx.Client) -> None:
    r = api.post(T2I, content=b"prompt=hello", headers={"content-type": "text/plain"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    assert api.post(T2I, json=[1, 2]).status_code == 400


# -- auth ----------------------------------------------------------------------------
def test_auth(sim: Simulator, make_sim) -> None:
    plain = PLAIN.post(sim.url + T2I, json=body())
    assert plain.status_code == 401 and plain.json()["error"]["code"] == "unauthorized"
    assert plain.headers["x-request-id"]
    assert PLAIN.post(sim.url + T2I, json=body(), headers={"Authorization": "Bearer"}).status_code == 401
    assert PLAIN.post(sim.url + T2I, json=body(), headers={"Authorization": "Basic abc"}).status_code == 401
    assert PLAIN.post(sim.url + T2I, json=body(), headers={"Authorization": "Bearer any"}).status_code == 200
    strict = make_sim(latency=0.1, api_key="sk-right")
    assert PLAIN.post(strict.url + T2I, json=body(),
                      headers={"Authorization": "Bearer sk-wrong"}).status_code == 401
    assert PLAIN.get(strict.url + f"{T2I}/x", headers={"Authorization": "Bearer sk-wrong"}).status_code == 401
    assert PLAIN.post(strict.url + T2I, json=body(),
                      headers={"Authorization": "Bearer sk-right"}).status_code == 200


# -- idempotency -----------------------------------------------------------------------
def test_idempotency_key_same_body_same_task_one_charge(sim: Simulator, api: httpx.Client) -> None:
    key = {"Idempotency-Key": "k-1"}
    first = create(api, body(), headers=key)
    again = create(api, body(), headers=key)
    assert again["id"] == first["id"]
    wait(api, f"{T2I}/{first['id']}")
    third = create(api, body(), headers=key)  # replay after completion: still no new task
    assert third["id"] == first["id"]
    assert "task_replayed" not in first and again["task_replayed"] is True and third["task_replayed"] is True
    stats = sim.stats
    assert stats.tasks_created == 1 and len(stats.charges) == 1
    conflict = api.post(T2I, json=body(prompt="another prompt"), headers=key)
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "conflict"
    assert sim.stats.tasks_created == 1


# -- faults ----------------------------------------------------------------------------
def test_fault_429_with_fractional_retry_after(sim: Simulator, api: httpx.Client) -> None:
    sim.inject("429", retry_after=0.25)
    r = api.post(T2I, json=body())
    assert r.status_code == 429 and r.headers["Retry-After"] == "0.25"
    assert r.json()["error"]["code"] == "rate_limited" and r.headers["x-request-id"]
    assert sim.stats.tasks_created == 0
    assert api.post(T2I, json=body()).status_code == 200  # consumed


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_fault_server_errors(sim: Simulator, api: httpx.Client, kind: str) -> None:
    sim.inject(kind, times=2)
    for _ in range(2):
        r = api.get("/api/v1/me/balance")
        assert r.status_code == int(kind) and r.json()["error"]["message"]
    assert api.get("/api/v1/me/balance").status_code == 200


@pytest.mark.parametrize(("style", "shape"), [
    ("nested", lambda b: b["error"]["message"]), ("string", lambda b: b["error"]),
    ("message", lambda b: b["message"]),
])
def test_fault_error_body_styles(sim: Simulator, api: httpx.Client, style: str, shape) -> None:
    sim.inject("503", style=style, retry_after=2)
    r = api.get("/api/v1/me")
    assert r.status_code == 503 and r.headers["Retry-After"] == "2"
    assert "unavailable" in shape(r.json())


def test_fault_drop_is_a_transport_error(sim: Simulator, api: httpx.Client) -> None:
    sim.inject("drop")
    with pytest.raises(httpx.TransportError):
        api.post(T2I, json=body())
    assert sim.stats.tasks_created == 0
    assert sim.stats.requests[-1] == ("POST", T2I, None)
    assert api.post(T2I, json=body()).status_code == 200


def test_fault_drop_after_processing_creates_the_task(sim: Simulator, api: httpx.Client) -> None:
    sim.inject("drop", on="post", after=True)
    key = {"Idempotency-Key": "retry-me"}
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(T2I, json=body(), headers=key)
    assert sim.stats.tasks_created == 1
    retry = create(api, body(), headers=key)  # the safe retry finds the same task
    assert retry["id"] in sim.tasks and sim.stats.tasks_created == 1


def test_fault_slow(sim: Simulator, api: httpx.Client) -> None:
    sim.inject("slow", delay=0.3, on="get")
    task = create(api, body())  # a POST is not hit
    start = time.monotonic()
    r = api.get(f"{T2I}/{task['id']}")
    assert r.status_code == 200 and time.monotonic() - start >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        sim.inject("slow", delay=0.5)
        api.get(f"{T2I}/{task['id']}", timeout=0.1)


def test_fault_malformed_and_html(sim: Simulator, api: httpx.Client) -> None:
    sim.inject("malformed")
    sim.inject("html")
    r = api.post(T2I, json=body())
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        r.json()
    r = api.post(T2I, json=body())
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    assert "<title>502 Bad Gateway</title>" in r.text
    assert sim.stats.tasks_created == 0


def test_fault_fail_task_is_not_charged(sim: Simulator, api: httpx.Client) -> None:
    sim.inject("fail_task", message="content policy (simulated)")
    task = create(api, body())
    done = wait(api, f"{T2I}/{task['id']}")
    assert done["status"] == "failed" and done["error"] == "content policy (simulated)"
    assert "images" not in done and "usage" not in done and "completed_at" not in done
    ok = generate(api, body())
    assert sim.stats.charges == [(ok["id"], price("pro", "1k"))]


def test_fault_unknown_status_and_poll_404(sim: Simulator, api: httpx.Client) -> None:
    task = create(api, body())
    path = f"{T2I}/{task['id']}"
    sim.inject("poll_404")
    assert api.get(path).status_code == 404
    sim.inject("unknown_status")
    assert api.get(path).json()["status"] == "weird"
    time.sleep(0.2)
    assert api.get(path).json()["status"] == "weird"  # that task stays weird


def test_fault_never_finish(sim: Simulator, api: httpx.Client) -> None:
    sim.inject("never_finish")
    stuck = create(api, body())
    normal = generate(api, body(prompt="the other one"))
    assert api.get(f"{T2I}/{stuck['id']}").json()["status"] == "processing"
    time.sleep(0.2)
    assert api.get(f"{T2I}/{stuck['id']}").json()["status"] == "processing"
    assert [c[0] for c in sim.stats.charges] == [normal["id"]]


def test_fault_targeting_and_validation(sim: Simulator, api: httpx.Client) -> None:
    sim.inject("503", on="post")
    assert api.get("/api/v1/me/balance").status_code == 200
    assert api.post(T2I, json=body()).status_code == 503
    done = generate(api, body())
    sim.inject("500", on="cdn")
    assert PLAIN.get(done["images"][0]["url"]).status_code == 500
    assert PLAIN.get(done["images"][0]["url"]).status_code == 200
    with pytest.raises(ValueError):
        sim.inject("teapot")
    with pytest.raises(ValueError):
        sim.inject("429", on="sideways")
    sim.inject("429")
    sim.reset()
    assert api.post(T2I, json=body()).status_code == 200
    assert sim.stats.tasks_created == 1


# -- images ----------------------------------------------------------------------------
@pytest.mark.parametrize(("tier", "res", "ratio"), [
    ("pro", "1k", "1:1"), ("pro", "2k", "16:9"), ("flex", "1k", "9:16"), ("max", "1k", "3:2"),
])
def test_image_is_png_of_catalog_size(api: httpx.Client, tier: str, res: str, ratio: str) -> None:
    done = generate(api, body(tier=tier, output_resolution=res, aspect_ratio=ratio))
    assert png(done["images"][0]["url"]).size == pixel_size(ratio, res)


def test_images_differ_by_prompt_tier_resolution(sim: Simulator, api: httpx.Client) -> None:
    payloads = [body(), body(prompt="a lighthouse in a storm"), body(tier="flex"),
                body(output_resolution="2k"), body()]
    base, other_prompt, flex, two_k, again = (
        png(done["images"][0]["url"]) for done in generate_many(api, payloads))
    assert mean_diff(base, again) > 10  # the second task of a request is another take on it
    sim.reset()
    assert mean_diff(base, png(generate(api, body())["images"][0]["url"])) == 0  # deterministic
    assert mean_diff(base, other_prompt) > 10
    assert mean_diff(base, flex) > 2
    assert mean_diff(base, two_k) > 0.5


def test_remix_auto_uses_local_source_size_and_shows_it(sim: Simulator, api: httpx.Client) -> None:
    src = generate(api, body(aspect_ratio="9:16"))["images"][0]["url"]
    remix = generate(api, body(prompt="make it a watercolor", action="remix_image",
                               source_image_urls=[src], aspect_ratio="auto"), REMIX)
    assert png(remix["images"][0]["url"]).size == pixel_size("9:16", "1k")
    foreign = generate(api, body(prompt="make it a watercolor", action="remix_image",
                                 source_image_urls=[SRC], aspect_ratio="auto"), REMIX)
    foreign_img = png(foreign["images"][0]["url"])
    assert foreign_img.size == pixel_size("1:1", "1k")
    assert sim.count("GET", origin="cdn") == 2  # sources are read locally, not fetched
    wide = generate(api, body(prompt="make it a watercolor", action="remix_image",
                              source_image_urls=[SRC], aspect_ratio="9:16"), REMIX)
    assert mean_diff(png(remix["images"][0]["url"]), png(wide["images"][0]["url"])) > 5


def test_cdn_never_sees_authorization_for_plain_downloads(sim: Simulator, api: httpx.Client) -> None:
    done = generate(api, body())
    png(done["images"][0]["url"])
    assert sim.stats.cdn_authorization == [] and sim.stats.image_downloads == 1
    PLAIN.get(done["images"][0]["url"], headers={"Authorization": "Bearer leaked"})
    assert sim.stats.cdn_authorization == ["Bearer leaked"]
    assert PLAIN.get(sim.cdn_url + "/images/task_nope/0.png").status_code == 404


def test_cdn_serves_eight_concurrent_downloads_quickly(sim: Simulator, api: httpx.Client) -> None:
    done = generate_many(api, [body(prompt=f"prompt number {i}") for i in range(8)])
    urls = [d["images"][0]["url"] for d in done]
    with httpx.Client() as cdn, ThreadPoolExecutor(8) as pool:
        list(pool.map(cdn.get, urls))  # renders finished, pool warm: now time the CDN alone
        start = time.monotonic()
        sizes = list(pool.map(lambda u: Image.open(io.BytesIO(cdn.get(u).content)).size, urls))
        elapsed = time.monotonic() - start
    assert sizes == [pixel_size("1:1", "1k")] * 8
    assert elapsed < 0.5, elapsed


# -- latency model, balance, pricing -------------------------------------------------------
def test_latency_model(make_sim) -> None:
    fast = make_sim(speed=1000, jitter=0.0)
    table = make_sim(latency={("pro", "1k"): 0.05}, speed=1000, jitter=0.2)
    with httpx.Client(headers=AUTH) as c:
        a = c.post(fast.url + T2I, json=body(tier="flex", output_resolution="2k")).json()
        b = c.post(table.url + T2I, json=body()).json()
        d = c.post(table.url + T2I, json=body(tier="flex")).json()
    assert fast.tasks[a["id"]].latency == pytest.approx(TYPICAL_LATENCY[("flex", "2k")] / 1000)
    assert table.tasks[b["id"]].latency == 0.05
    ratio = table.tasks[d["id"]].latency * 1000 / TYPICAL_LATENCY[("flex", "1k")]
    assert 0.8 <= ratio <= 1.2
    assert 0 < PENDING_FRACTION < 1


def test_balance_and_insufficient_credits(make_sim) -> None:
    poor = make_sim(latency=0.05, balance_cents=10)
    with httpx.Client(base_url=poor.url, headers=AUTH) as c:
        assert c.get("/api/v1/me/balance").json()["balance_cents"] == 10
        task = create(c, body())  # 5 cents reserved
        r = c.post(T2I, json=body(tier="flex"))
        assert r.status_code == 402 and r.json()["error"]["code"] == "insufficient_credits"
        wait(c, f"{T2I}/{task['id']}")
        balance = c.get("/api/v1/me/balance").json()
        assert balance["balance_cents"] == 10 - round(price("pro", "1k") * 100)
        assert balance["spent_cents_total"] == round(price("pro", "1k") * 100)


def test_balance_has_exactly_the_contract_fields(api: httpx.Client) -> None:
    assert set(api.get("/api/v1/me/balance").json()) == {
        "balance_cents", "paid_balance_cents", "bonus_balance_cents", "spent_cents_today",
        "spent_cents_total"}


def test_price_schedules_have_the_real_shape_and_etag(sim: Simulator) -> None:
    url = sim.url + "/api/v1/price_schedules"
    r = PLAIN.get(url, params={"service": "flux_2", "model": "flux-2-flex-remix-image"})  # anonymous
    assert r.status_code == 200 and set(r.json()) == {"as_of", "price_schedules"}
    [schedule] = r.json()["price_schedules"]
    assert schedule == {
        "service": "flux_2", "action": "remix_image", "model": "flux-2-flex-remix-image",
        "pricing_status": "available", "catalog_status": "active", "currency": "USD",
        "billing_unit": "call", "unit_price_cents": round(price("flex", "1k") * 100),
        "billing_config": {"key": "output_resolution",
                           "overrides": {"1k": round(price("flex", "1k") * 100),
                                         "2k": round(price("flex", "2k") * 100)}}}
    again = PLAIN.get(url, params={"service": "flux_2", "model": "flux-2-flex-remix-image"},
                      headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    everything = PLAIN.get(url).json()["price_schedules"]
    assert len(everything) == 6
    [max_t2i] = [s for s in everything if s["model"] == "flux-2-max-text-to-image"]
    assert max_t2i["pricing_status"] == "pending" and max_t2i["unit_price_cents"] is None
    assert PLAIN.get(url, headers={"If-None-Match": r.headers["ETag"]}).status_code == 200  # other filter


def test_configured_prices_are_published_charged_and_quoted(make_sim) -> None:
    dear = make_sim(latency=0.05, prices={("max", "1k"): 0.12, ("pro", "1k"): 0.06})
    with httpx.Client(base_url=dear.url, headers=AUTH) as c:
        [schedule] = c.get("/api/v1/price_schedules", params={"model": "flux-2-max-text-to-image"}
                           ).json()["price_schedules"]
        assert schedule["pricing_status"] == "available" and schedule["unit_price_cents"] == 12
        quote = PLAIN.post(dear.url + "/api/v1/price_quotes", json={
            "service": "flux_2", "action": "text_to_image", "model": "flux-2-max-text-to-image",
            "params": {"prompt": "a quote", "aspect_ratio": "1:1"}}).json()["price_quote"]
        assert quote["reservation_amount_cents"] == 12 and quote["pricing_status"] == "available"
        done = generate(c, body(tier="max", aspect_ratio="1:1"))
        assert done["usage"]["cost"] == 0.12
        assert dear.stats.charges == [(done["id"], 0.12)]
        bad = PLAIN.post(dear.url + "/api/v1/price_quotes", json={
            "service": "flux_2", "action": "text_to_image", "model": "flux-2-pro-text-to-image",
            "params": {"prompt": "a quote", "output_count": 1}})
        assert bad.status_code == 422 and "output_count" in bad.json()["errors"]


def test_pacing_sends_retry_after_on_unfinished_status_answers(make_sim) -> None:
    paced = make_sim(latency=0.3, pacing=0.5)
    with httpx.Client(base_url=paced.url, headers=AUTH) as c:
        task = create(c, body())
        r = c.get(f"{T2I}/{task['id']}")
        assert r.json()["status"] in ("pending", "processing") and r.headers["Retry-After"] == "0.5"
        done = wait(c, f"{T2I}/{task['id']}")
        assert done["status"] == "completed"
        assert "Retry-After" not in c.get(f"{T2I}/{task['id']}").headers
    with pytest.raises(ValueError):
        Simulator(pacing=0)


def test_timestamps_only_when_asked(make_sim) -> None:
    stamped = make_sim(latency=0.05, timestamps=True)
    with httpx.Client(base_url=stamped.url, headers=AUTH) as c:
        done = generate(c, body())
    assert done["created_at"] and done["completed_at"]


# -- callbacks ----------------------------------------------------------------------------
@pytest.fixture
def receiver() -> Iterator[tuple[str, list]]:
    got: list = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"]))),
                        self.headers.get("Authorization")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", got
    server.shutdown()
    server.server_close()


def test_callbacks_go_to_loopback_only(sim: Simulator, api: httpx.Client, receiver) -> None:
    base, got = receiver
    ok = create(api, body(callback_url=f"{base}/hook"))
    sim.inject("fail_task")
    bad = create(api, body(callback_url=f"{base}/hook"))
    elsewhere = create(api, body(callback_url="https://example.com/hook"))
    end = time.monotonic() + 5
    while len(sim.on_callback) < 3 and time.monotonic() < end:
        time.sleep(0.02)
    by_task = {p["id"]: (path, p, auth) for path, p, auth in got}
    assert by_task[ok["id"]][1]["status"] == "completed"
    assert by_task[ok["id"]][1]["images"][0]["url"].startswith(sim.cdn_url)
    assert by_task[bad["id"]][1]["status"] == "failed"
    assert all(path == "/hook" and auth is None for path, _, auth in got)
    records = {r.payload["id"]: r for r in sim.on_callback}
    assert records[ok["id"]].status == 204 and records[bad["id"]].status == 204
    assert records[elsewhere["id"]].status == "skipped"
    assert elsewhere["id"] not in by_task


# -- lifecycle ----------------------------------------------------------------------------
def test_stop_frees_the_port_and_is_idempotent() -> None:
    sim = Simulator(latency=0.05).start()
    port = int(sim.url.rsplit(":", 1)[1])
    PLAIN.get(sim.url + "/api/v1/me", headers=AUTH)
    start = time.monotonic()
    sim.stop()
    assert time.monotonic() - start < 1.0
    sim.stop()
    with pytest.raises(httpx.TransportError):
        PLAIN.get(f"http://127.0.0.1:{port}/api/v1/me", headers=AUTH)
    with Simulator(port=port, latency=0.05) as again:
        assert again.url.endswith(f":{port}")
        assert PLAIN.get(again.url + "/api/v1/me", headers=AUTH).status_code == 200
    probe = socket.create_server(("127.0.0.1", port))
    probe.close()


def test_url_before_start_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        Simulator().url  # noqa: B018


def test_cli_serves_until_interrupted() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "flux2_widgets.simulator", "--port", "0", "--latency", "0.05"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = line.split()[3]
        assert url.startswith("http://127.0.0.1:")
        assert PLAIN.get(url + "/api/v1/me", headers=AUTH).status_code == 200
    finally:
        proc.send_signal(__import__("signal").SIGINT)
        assert proc.wait(10) == 0


# -- the official SDK --------------------------------------------------------------------------
def test_official_sdk_runs_against_the_simulator(make_sim) -> None:
    from runapi.flux_2 import Flux2Client

    sim = make_sim(latency=0.2)
    client = Flux2Client(api_key="sk-test", base_url=sim.url)
    result = client.text_to_image.run(model="flux-2-pro-text-to-image", prompt="a lighthouse at dusk")
    assert result.status == "completed"
    assert result.images[0].url.startswith(sim.cdn_url)
    assert result.usage.cost == price("pro", "1k")
    assert result.runapi_task_id == result.id
    assert sim.stats.charges == [(result.id, price("pro", "1k"))]


def test_official_sdk_reads_prices_quotes_and_balance_and_honours_pacing(make_sim) -> None:
    from runapi.core import PricingClient
    from runapi.flux_2 import Flux2Client

    sim = make_sim(latency=0.3, pacing=0.1, prices={("max", "1k"): 0.12})
    pricing = PricingClient(base_url=sim.url)  # anonymous, as RunAPI's pricing is
    listed = pricing.list_schedules(service="flux_2", model="flux-2-pro-text-to-image")
    [schedule] = listed.price_schedules
    assert schedule.billing_unit == "call" and schedule.unit_price_cents == round(price("pro", "1k") * 100)
    quote = pricing.create_quote(service="flux_2", action="text_to_image", model="flux-2-max-text-to-image",
                                 params={"prompt": "a quote", "aspect_ratio": "1:1"}).price_quote
    assert quote.reservation_amount_cents == 12 and quote.pricing_status == "available"
    client = Flux2Client(api_key="sk-test", base_url=sim.url)
    assert client.account.balance().balance_cents == sim.stats.balance_cents
    result = client.text_to_image.run(model="flux-2-max-text-to-image", prompt="a lighthouse at dusk",
                                      aspect_ratio="3:2")
    assert result.status == "completed" and result.usage.cost == 0.12
    polls = sim.count("GET", T2I + "/")
    assert 2 <= polls <= 6  # about every 0.1 s as the server asked, over 0.3 s
