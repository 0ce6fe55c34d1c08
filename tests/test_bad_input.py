"""Bad input at every public entry point: a ValidationError naming the field, before
any request. Hypothesis draws the bad values; a loopback simulator counts requests,
and every example checks it saw none (API and image host alike).

The Studio is not covered here: its constructor and values are being reworked.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import SECRET_KEY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flux2_widgets import (
    AsyncFlux2Client,
    BudgetExceededError,
    Flux2Client,
    ImageRequest,
    ResultStore,
    Task,
    ValidationError,
    compare_grid,
    compare_prompts,
    compare_resolutions,
    compare_tiers,
    cost_table,
)
from flux2_widgets.catalog import ACTIONS, ASPECT_RATIOS, RESOLUTIONS, TIERS
from flux2_widgets.simulator import Simulator

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TRIED = {"count": 0}

# -- bad values ----------------------------------------------------------------------------
not_finite = st.sampled_from([math.nan, math.inf, -math.inf, 10**400])  # an int past float's range too
junk = st.one_of(st.none(), st.booleans(), st.lists(st.integers(), max_size=2),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.binary(max_size=4),
                 st.just(object()))


def bad_number(*, minimum: float = 0.0, strict: bool = True, integer: bool = False,
               maximum: float | None = None, none_ok: bool = False) -> st.SearchStrategy[Any]:
    """Values a numeric option must refuse: non-finite, out of range, wrong type, bools."""
    below = (st.floats(max_value=minimum, allow_nan=False) if strict
             else st.floats(max_value=minimum, exclude_max=True, allow_nan=False))
    options = [not_finite, below, st.booleans(), st.text(max_size=4),
               st.lists(st.integers(), max_size=1)]
    if maximum is not None:
        options.append(st.floats(min_value=maximum, exclude_min=True, allow_infinity=False))
        options.append(st.integers(min_value=int(maximum) + 1))
    if integer:
        options.append(st.floats(allow_nan=False).filter(lambda v: not float(v).is_integer()))
        options.append(st.just(2.0))  # a float, even a whole one, is not a count
        options.append(st.integers(max_value=int(minimum) - (1 if not strict else 0)))
    if not none_ok:
        options.append(st.none())
    return st.one_of(*options)


def not_in(choices: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return st.one_of(junk, st.integers(), st.text(max_size=8).filter(lambda s: s.lower() not in choices))


#: http(s) URLs that are still not URLs a service can fetch: unparsable, no host, credentials,
#: ports out of range, blanks or control characters inside, hosts no name can have.
MANGLED_URLS = [
    "http://[::1/a.png", "http://exa mple.com/a.png", "http:///a.png", "https://?x=1", "https://#top",
    "https://user:secret@x.test/a.png", "https://user@x.test/a.png", "https://x.test:99999/a.png",
    "https://x.test:0/a.png", "https://x.test:-1/a.png", "https://x.test:abc/a.png", "http://a..b/x.png",
    "http://[zz]/a.png", "http://999.1.1.1/a.png", "http://x.test\\evil/a.png", "http://x_y z/a.png",
    "https://x.test/a b.png", "https://x.test/a\u00a0b.png", "http://x.test/a.png\x7f",
]
_control = st.sampled_from([chr(c) for c in [*range(0, 32), 127]])
mangled_url = st.one_of(
    st.sampled_from(MANGLED_URLS),
    # a control character (tab and newline included) anywhere inside a good URL
    st.builds(lambda c, i: "https://cdn.example/a.png"[:i] + c + "https://cdn.example/a.png"[i:],
              _control, st.integers(1, 23)))
not_url = st.one_of(st.integers(), st.none(), st.sampled_from(["", "runapi.ai", "ftp://x.test/a.png",
                                                               "javascript:alert(1)", "http://", "//x/y"]),
                    st.text(max_size=10).filter(lambda s: not s.startswith(("http://", "https://"))),
                    mangled_url)

REQUEST_BAD: dict[str, st.SearchStrategy[Any]] = {
    "prompt": st.one_of(junk.filter(lambda v: v is not None), st.integers(),
                        st.text(max_size=2),
                        st.integers(5001, 6000).map(lambda n: "x" * n)),
    "tier": not_in(TIERS),
    "resolution": not_in(RESOLUTIONS),
    "aspect_ratio": not_in(ASPECT_RATIOS).filter(lambda v: v != "auto"),
    "action": not_in(ACTIONS).filter(lambda v: v is not None and v not in ("text-to-image", "remix-image")),
    "source_image_urls": st.one_of(not_url.filter(lambda v: v is not None and v != ""),
                                   st.lists(not_url, min_size=1, max_size=3),
                                   st.lists(st.just("https://x.test/a.png"), min_size=9, max_size=12)),
    "callback_url": not_url.filter(lambda v: v is not None),
    "enable_safety_checker": st.one_of(st.integers(), st.text(max_size=3), st.floats()),
}

CLIENT_BAD: dict[str, st.SearchStrategy[Any]] = {
    "api_key": st.one_of(st.integers(), st.binary(max_size=3), st.just(""), st.just("   "),
                         st.lists(st.text(max_size=2), max_size=2)),
    "base_url": st.one_of(st.integers(), st.just(""), st.sampled_from(["runapi.ai", "ftp://runapi.ai", "http://"]),
                          st.binary(max_size=3)),
    "timeout": bad_number(none_ok=True),
    "wait_timeout": bad_number(),
    "max_retries": bad_number(strict=False, integer=True, maximum=100),
    "rate_limit_retries": bad_number(strict=False, integer=True, maximum=1000),
    "retry_base_delay": bad_number(strict=False, maximum=60),
    "max_retry_after": bad_number(strict=False, maximum=86400),
    "max_concurrency": bad_number(minimum=1, strict=False, integer=True, maximum=64),
    "poll": st.one_of(st.integers(), st.text(max_size=2), st.just({"first": 1})),
    "store": st.one_of(st.integers(), st.text(max_size=2)),
    "limits": st.one_of(st.integers(), st.just({"image_bytes": 1})),
    "simulated": st.one_of(st.integers(), st.text(max_size=2), st.floats()),
}


# -- the counting server -------------------------------------------------------------------
@pytest.fixture(scope="module")
def counted() -> Iterator[Simulator]:
    with Simulator(latency=0.05) as sim:
        yield sim


def requests_seen(sim: Simulator) -> int:
    return sim.count() + sim.count(origin="cdn")


def refused(sim: Simulator, call: Callable[[], Any], field: str | tuple[str, ...]) -> ValidationError:
    """``call()`` must raise ValidationError naming ``field`` with nothing sent."""
    TRIED["count"] += 1
    before = requests_seen(sim)
    try:
        result = call()
    except ValidationError as exc:
        fields = (field,) if isinstance(field, str) else field
        assert exc.field and any(exc.field.startswith(f) for f in fields), (exc.field, fields, str(exc))
        assert exc.allowed is not None, f"no allowed values given: {exc}"
        assert requests_seen(sim) == before, "invalid input reached the network"
        return exc
    except BaseException as exc:  # anything else is a raw escape
        raise AssertionError(f"{type(exc).__name__} instead of ValidationError for {field}: {exc!r}") from exc
    raise AssertionError(f"accepted a bad {field}: {result!r}")


def run(coro_fn: Callable[[], Any]) -> Callable[[], Any]:
    return lambda: asyncio.run(coro_fn())


# -- ImageRequest and the create path ------------------------------------------------------
@SETTINGS
@given(data=st.data(), field=st.sampled_from(sorted(REQUEST_BAD)))
def test_image_request_refuses_bad_fields(counted, data, field):
    value = data.draw(REQUEST_BAD[field], label=field)
    fields = {"prompt": "a valid prompt", field: value}
    refused(counted, lambda: ImageRequest(**fields), field)


@SETTINGS
@given(data=st.data(), field=st.sampled_from(sorted(REQUEST_BAD)))
def test_generate_and_submit_refuse_bad_fields_before_sending(counted, data, field):
    value = data.draw(REQUEST_BAD[field], label=field)
    client = Flux2Client(SECRET_KEY, base_url=counted.url)
    try:
        fields = {"prompt": "a valid prompt", field: value}
        refused(counted, lambda: client.generate(**fields), field)
        refused(counted, lambda: client.submit(**fields), field)
        refused(counted, lambda: client.generate_many([fields]), field)
        refused(counted, lambda: client.quote(**fields), field)
    finally:
        client.close()


# -- constructors --------------------------------------------------------------------------
@SETTINGS
@given(data=st.data(), option=st.sampled_from(sorted(CLIENT_BAD)))
def test_client_constructors_refuse_bad_options(counted, data, option):
    value = data.draw(CLIENT_BAD[option], label=option)
    options = {"api_key": SECRET_KEY, "base_url": counted.url, option: value}
    refused(counted, lambda: AsyncFlux2Client(**options), option)
    refused(counted, lambda: Flux2Client(**options), option)


# -- methods -------------------------------------------------------------------------------
@SETTINGS
@given(timeout=bad_number(none_ok=True),
       count=bad_number(minimum=1, strict=False, integer=True, maximum=64, none_ok=True),
       budget=bad_number(strict=False, none_ok=True))
def test_client_methods_refuse_bad_numbers(counted, timeout, count, budget):
    client = Flux2Client(SECRET_KEY, base_url=counted.url)
    task = Task(id="task_1", action="text_to_image", status="pending")
    try:
        refused(counted, lambda: client.generate("a valid prompt", timeout=timeout), "timeout")
        refused(counted, lambda: client.wait(task, timeout=timeout), "timeout")
        refused(counted, lambda: client.collect(task=task, timeout=timeout), "timeout")
        refused(counted, lambda: client.resume(ResultStore("unused"), timeout=timeout), "timeout")
        refused(counted, lambda: client.generate_many(["a valid prompt"], timeout=timeout), "timeout")
        refused(counted, lambda: client.generate_many(["a valid prompt"], max_concurrency=count),
                "max_concurrency")
        refused(counted, lambda: client.generate_many(["a valid prompt"], budget=budget), "budget")
    finally:
        client.close()


@SETTINGS
@given(requests=st.one_of(st.integers(), st.none(), st.text(max_size=5), st.binary(max_size=3),
                          st.dictionaries(st.text(max_size=2), st.text(max_size=2), max_size=2),
                          st.lists(st.one_of(st.integers(), st.none(), st.floats(), st.binary(max_size=2)),
                                   min_size=1, max_size=3)),
       task_id=st.one_of(st.integers(), st.none(), st.just(""), st.just("../etc"), st.just("a/b"),
                         st.text(min_size=201, max_size=205), st.just(".."), st.binary(max_size=2)),
       action=not_in(ACTIONS), thing=junk, url=not_url)
def test_client_methods_refuse_bad_shapes(counted, requests, task_id, action, thing, url):
    client = Flux2Client(SECRET_KEY, base_url=counted.url)
    try:
        refused(counted, lambda: client.generate_many(requests), "requests")
        refused(counted, lambda: client.get(task_id), "task_id")
        refused(counted, lambda: client.get("task_1", action), "action")
        refused(counted, lambda: client.wait(thing), "task")
        if thing is not None:
            refused(counted, lambda: client.collect(task=thing), "task")
            refused(counted, lambda: client.collect(thing), "request")
            refused(counted, lambda: client.resume(thing), "store")
            refused(counted, lambda: client.submit("a valid prompt", idempotency_key=thing),
                    "idempotency_key")
            refused(counted, lambda: client.generate_many(["a valid prompt"], on_result=thing), "on_result")
        refused(counted, lambda: client.download(url), "url")
        refused(counted, lambda: client.collect(), "request")
    finally:
        client.close()


def test_the_async_client_checks_the_same_before_sending(counted):
    async def main(call: Callable[[AsyncFlux2Client], Any]) -> Any:
        async with AsyncFlux2Client(SECRET_KEY, base_url=counted.url) as client:
            return await call(client)

    refused(counted, run(lambda: main(lambda c: c.generate("ok prompt", timeout=math.nan))), "timeout")
    refused(counted, run(lambda: main(lambda c: c.generate_many("one string"))), "requests")
    refused(counted, run(lambda: main(lambda c: c.generate_many(["ok prompt"], budget=-1))), "budget")
    refused(counted, run(lambda: main(lambda c: c.generate_many(["ok prompt"], max_concurrency=10**9))),
            "max_concurrency")
    refused(counted, run(lambda: main(lambda c: c.generate_many(["ok prompt"], max_concurrency=0))),
            "max_concurrency")


# -- wire names, shapes and flags ----------------------------------------------------------
WIRE_BAD: dict[str, tuple[st.SearchStrategy[Any], tuple[str, ...]]] = {
    # keyword -> (bad values, the field the error may name)
    "model": (st.one_of(junk, st.integers(), st.text(max_size=8), st.just(["flux-2-pro-text-to-image"])),
              ("model",)),
    "output_resolution": (not_in(RESOLUTIONS), ("resolution", "output_resolution")),
    "mode": (not_in(ACTIONS).filter(lambda v: v is not None and v not in ("text-to-image", "remix-image")),
             ("action", "mode")),
    "output_count": (st.one_of(junk.filter(lambda v: v is not None), st.integers(), st.floats()),
                     ("output_count",)),
}


@SETTINGS
@given(data=st.data(), name=st.sampled_from(sorted(WIRE_BAD)))
def test_wire_names_of_the_wrong_type_are_refused(counted, data, name):
    values, fields = WIRE_BAD[name]
    value = data.draw(values, label=name)
    refused(counted, lambda: ImageRequest.from_fields("a valid prompt", **{name: value}), fields)
    base = ImageRequest("a valid prompt")
    refused(counted, lambda: ImageRequest.from_fields(base, **{name: value}), fields)
    client = Flux2Client(SECRET_KEY, base_url=counted.url)
    try:
        refused(counted, lambda: client.generate("a valid prompt", **{name: value}), fields)
        refused(counted, lambda: client.generate_many([{"prompt": "a valid prompt", name: value}]), fields)
    finally:
        client.close()


@SETTINGS
@given(thing=st.one_of(junk.filter(lambda v: v is not None), st.integers(), st.floats()),
       flag=st.one_of(st.none(), st.integers(), st.text(max_size=3), st.floats(), st.just([True])),
       url=mangled_url)
def test_wrong_types_and_mangled_urls_at_the_client(counted, thing, flag, url):
    client = Flux2Client(SECRET_KEY, base_url=counted.url)
    task = Task(id="task_1", action="text_to_image", status="pending")
    try:
        refused(counted, lambda: ImageRequest("a valid prompt").replace(colour=thing), "colour")
        refused(counted, lambda: ImageRequest.from_fields(thing), "request")
        refused(counted, lambda: ImageRequest.from_fields(thing, tier="pro"), "request")
        refused(counted, lambda: client.generate_many([{1: "a valid prompt"}]), "requests[0]")
        refused(counted, lambda: client.get("task_1", request=thing), "request")
        if not isinstance(thing, (int, float)) or isinstance(thing, bool):
            refused(counted, lambda: client.get("task_1", submitted_at=thing), "submitted_at")
        refused(counted, lambda: client.wait(task, download=flag), "download")
        refused(counted, lambda: client.generate("a valid prompt", download=flag), "download")
        refused(counted, lambda: client.generate_many(["a valid prompt"], download=flag), "download")
        refused(counted, lambda: client.prices(refresh=flag), "refresh")
        refused(counted, lambda: client.upload(b"\x89PNG\r\n\x1a\n", filename=thing), "filename")
        refused(counted, lambda: client.upload(url), "file")
        refused(counted, lambda: client.download(url), "url")
        refused(counted, lambda: ImageRequest("a valid prompt", source_image_urls=[url]), "source_image_urls")
        refused(counted, lambda: ImageRequest("a valid prompt", callback_url=url), "callback_url")
        refused(counted, lambda: Flux2Client(SECRET_KEY, base_url=url), "base_url")
    finally:
        client.close()


def test_a_wire_name_and_ours_that_disagree_are_refused_not_picked(counted):
    for fields, named in [({"model": "flux-2-max-text-to-image", "tier": "pro"}, "model"),
                          ({"output_resolution": "2k", "resolution": "1k"}, "output_resolution"),
                          ({"mode": "remix_image", "action": "text_to_image"}, "mode")]:
        refused(counted, lambda fields=fields: ImageRequest.from_fields("a valid prompt", **fields), named)
    agreed = ImageRequest.from_fields("a valid prompt", model="flux-2-max-text-to-image", tier="MAX",
                                      output_resolution="1k", resolution="1k")
    assert (agreed.tier, agreed.resolution, agreed.action) == ("max", "1k", "text_to_image")


# Valid URLs in every shape a service hands out: the URL rule refuses none of them.
_label = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_host = st.one_of(st.lists(_label, min_size=1, max_size=3).map(lambda labels: ".".join([*labels, "example"])),
                  st.sampled_from(["127.0.0.1", "[::1]", "[2001:db8::7]", "bücher.example", "cdn-1.example.",
                                   "my_bucket.s3.example", "LOCALHOST"]))
good_url = st.builds(
    lambda scheme, host, port, path, query: f"{scheme}://{host}{port}/{path}{query}",
    st.sampled_from(["http", "https", "HTTPS"]), _host,
    st.one_of(st.just(""), st.integers(1, 65535).map(lambda n: f":{n}")),
    st.text("abcXYZ019-._~%/", max_size=20),
    st.sampled_from(["", "?sig=a%20b&x=1", "#frag", "?X-Amz-Expires=604800&X-Amz-Signature=abc"]))


@settings(max_examples=150, deadline=None)
@given(url=good_url)
def test_the_url_rule_refuses_no_url_a_service_hands_out(url):
    from flux2_widgets.catalog import contract_errors, url_problem

    assert url_problem(url) is None, url
    request = ImageRequest("a valid prompt", source_image_urls=[url], callback_url=url)
    assert request.source_image_urls == (url,)
    assert contract_errors(request.payload(), "remix_image") == {}


# -- comparisons and cost plans ------------------------------------------------------------
@SETTINGS
@given(data=st.data(), which=st.sampled_from(["tiers", "resolutions", "prompts", "grid"]),
       what=st.sampled_from(["prompt", "choices", "aspect_ratio", "budget", "timeout", "client"]))
def test_comparison_helpers_refuse_bad_plans(counted, data, which, what):
    client = Flux2Client(SECRET_KEY, base_url=counted.url)
    kwargs: dict[str, Any] = {"client": client}
    field: str | tuple[str, ...] = what
    if what == "aspect_ratio":
        kwargs["aspect_ratio"] = data.draw(not_in(ASPECT_RATIOS), label="aspect_ratio")
    elif what == "budget":
        kwargs["budget"] = data.draw(bad_number(strict=False, none_ok=True), label="budget")
    elif what == "timeout":
        kwargs["timeout"] = data.draw(bad_number(none_ok=True), label="timeout")
    elif what == "client":
        kwargs["client"] = data.draw(st.one_of(st.integers(), st.text(max_size=3), st.just(object())))
    bad_prompt = data.draw(REQUEST_BAD["prompt"], label="prompt") if what == "prompt" else None
    prompt = bad_prompt if what == "prompt" else "a valid prompt"
    bad_list = data.draw(st.one_of(st.integers(), st.just([]), st.lists(not_in(TIERS + RESOLUTIONS),
                                                                         min_size=1, max_size=3)))
    try:
        if which == "tiers":
            field = "tiers" if what == "choices" else ("prompt" if what == "prompt" else field)
            args = (prompt, bad_list if what == "choices" else ("pro", "flex"))
            call = lambda: compare_tiers(*args, **kwargs)  # noqa: E731
        elif which == "resolutions":
            field = "resolutions" if what == "choices" else field
            call = lambda: compare_resolutions(  # noqa: E731
                prompt, "pro", bad_list if what == "choices" else ("1k", "2k"), **kwargs)
        elif which == "prompts":
            if what in ("choices", "prompt"):
                field = ("tier",) if what == "choices" else ("prompt", "prompt_b")
            call = lambda: compare_prompts(  # noqa: E731
                prompt, "another valid prompt", bad_list if what == "choices" else "pro", **kwargs)
        else:
            if what in ("choices", "prompt"):
                field = ("prompts", "tiers") if what == "choices" else ("prompt",)
            prompts = [prompt, "second prompt"] if what == "prompt" else ["one prompt", "two prompt"]
            call = lambda: compare_grid(prompts, bad_list if what == "choices" else ("pro",), **kwargs)  # noqa: E731
        refused(counted, call, field)
    finally:
        client.close()


def test_an_over_budget_comparison_is_refused_with_nothing_sent(counted):
    client = Flux2Client(SECRET_KEY, base_url=counted.url)
    before = requests_seen(counted)
    try:
        with pytest.raises(BudgetExceededError, match=r"budget of \$0\.01"):
            compare_tiers("a valid prompt", client=client, budget=0.01)
        assert requests_seen(counted) == before
    finally:
        client.close()


@SETTINGS
@given(images=bad_number(minimum=1, strict=False, integer=True, maximum=10_000),
       tiers=st.one_of(st.integers(), st.just([]), st.lists(not_in(TIERS), min_size=1, max_size=2)),
       ratio=not_in(ASPECT_RATIOS))
def test_cost_table_refuses_bad_plans(counted, images, tiers, ratio):
    refused(counted, lambda: cost_table(images=images), "images")
    refused(counted, lambda: cost_table(tiers=tiers), "tiers")
    refused(counted, lambda: cost_table(resolutions=tiers), "resolutions")
    refused(counted, lambda: cost_table(aspect_ratio=ratio), "aspect_ratio")


# -- the CLI -------------------------------------------------------------------------------
CLI_BAD = [
    (["generate", "a valid prompt", "--count", "0"], "--count"),
    (["generate", "a valid prompt", "--count", "65"], "--count"),
    (["generate", "a valid prompt", "--count", "1000000000"], "--count"),
    (["generate", "a valid prompt", "--count", "two"], "--count"),
    (["generate", "a valid prompt", "--budget", "nan"], "--budget"),
    (["generate", "a valid prompt", "--budget", "inf"], "--budget"),
    (["generate", "a valid prompt", "--budget", "-1"], "--budget"),
    (["generate", "a valid prompt", "--timeout", "0"], "--timeout"),
    (["generate", "a valid prompt", "--timeout", "inf"], "--timeout"),
    (["generate", "a valid prompt", "--timeout", "nan"], "--timeout"),
    (["generate", "a valid prompt", "--tier", "ultra"], "--tier"),
    (["generate", "a valid prompt", "--resolution", "4k"], "--resolution"),
    (["generate", "a valid prompt", "--aspect-ratio", "5:4"], "--aspect-ratio"),
    (["generate", "ab"], "prompt"),
    (["generate", "a valid prompt", "--source", "not a url"], "source_image_urls"),
    (["generate", "a valid prompt", "--source", "http://[::1/a.png"], "source_image_urls"),
    (["generate", "a valid prompt", "--source", "http://exa mple.com/a.png"], "source_image_urls"),
    (["generate", "a valid prompt", "--tier", "max", "--resolution", "2k"], "resolution"),
    (["compare", "a valid prompt", "--tiers", "pro,ultra"], "tier"),
    (["compare", "a valid prompt", "--resolutions", "1k,8k"], "resolution"),
    (["costs", "--images", "0"], "--images"),
    (["costs", "--images", "1000000000"], "--images"),
    (["costs", "--aspect-ratio", "7:5"], "aspect_ratio"),
    (["costs", "--tiers", "gold"], "tier"),
]


@pytest.mark.parametrize(("argv", "named"), CLI_BAD, ids=[" ".join(a) for a, _ in CLI_BAD])
def test_cli_refuses_bad_arguments_with_nothing_sent(counted, monkeypatch, capsys, tmp_path, argv, named):
    from flux2_widgets import cli

    monkeypatch.setenv("RUNAPI_API_KEY", SECRET_KEY)
    monkeypatch.setenv("RUNAPI_BASE_URL", counted.url)
    monkeypatch.setenv("FLUX2_RESULTS_DIR", str(tmp_path))
    before = requests_seen(counted)
    TRIED["count"] += 1
    try:
        code = cli.main([*argv, *(["--out", str(tmp_path)] if argv[0] != "costs" else [])])
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert named in err, err
    assert requests_seen(counted) == before


def test_report_bad_inputs_tried(capsys):
    with capsys.disabled():
        print(f"\nbad inputs tried in this module: {TRIED['count']}")
