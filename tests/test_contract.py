"""The catalog, the client's requests and the simulator against RunAPI's official contract.

The oracle is ``fixtures/runapi_flux2_contract_0_3_1.json``: the ``CONTRACT`` shipped in the
``runapi-flux-2==0.3.1`` wheel (regenerate with ``fixtures/make_contract_fixture.py``). It is
read here, by tests, and never by the toolkit. ``contract_verdict`` below applies it the way
the SDK documents its checks: a model of the action, then the forbidden-field rules, then
each field's required / enum / integer / length / item-count constraints, where null, blank
text and empty lists count as absent and ``False`` counts as given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flux2_widgets.catalog import (
    ACTIONS,
    MODEL_IDS,
    PROMPT_MAX,
    PROMPT_MIN,
    TIER_INFO,
    ImageRequest,
    aspect_ratio_options,
    contract_errors,
    wire_fields,
)
from flux2_widgets.errors import ValidationError

FIXTURE = Path(__file__).parent / "fixtures" / "runapi_flux2_contract_0_3_1.json"
CONTRACT: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))["contract"]
#: Fields RunAPI documents but the generated contract leaves unconstrained (DESIGN.md 2).
DOCUMENTED_OPTIONAL = ("callback_url", "enable_safety_checker")
SCHEMA_KEY = {"text_to_image": "text-to-image", "remix_image": "remix-image"}
ROUTE = {"text_to_image": "/api/v1/flux_2/text_to_image", "remix_image": "/api/v1/flux_2/remix_image"}
URL = "https://cdn.example/source.png"


# -- the oracle -------------------------------------------------------------------------------
def _given(value: Any) -> bool:
    if value is None:
        return False
    if value is False or value is True:
        return True
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple)):
        return any(_given(v) for v in value)
    if isinstance(value, dict):
        return bool(value)
    return True


def _in_enum(value: Any, enum: list[Any]) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    for option in enum:
        if isinstance(option, (int, float)) and not isinstance(option, bool):
            if number and value == option:
                return True
        elif str(option) == str(value):
            return True
    return False


def _field_ok(value: Any, rules: dict[str, Any]) -> bool:
    counted = "min_items" in rules or "max_items" in rules
    if value is not None and counted and (not isinstance(value, list) or not (
            rules.get("min_items", 0) <= len(value) <= rules.get("max_items", 10**9))):
        return False
    if not _given(value):
        return not rules.get("required")
    if "enum" in rules and not _in_enum(value, rules["enum"]):
        return False
    if rules.get("type") == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return False
    measured = ("min" in rules or "max" in rules) and rules.get("length")
    return not measured or rules.get("min", 0) <= len(str(value)) <= rules.get("max", 10**9)


def contract_verdict(body: dict[str, Any], action: str) -> set[str]:
    """The fields the official contract finds fault with (empty: acceptable)."""
    schema = CONTRACT[SCHEMA_KEY[action]]
    model = body.get("model")
    if model not in schema["models"]:
        return {"model"}
    fields = schema["fields_by_model"][model]
    bad: set[str] = set()
    forbidden = {f for rule in schema["rules"] if rule["when"].get("model") == model
                 for f in rule.get("forbidden", [])}
    bad |= {f for f in forbidden if _given(body.get(f))}
    # Fields the contract does not know for this model are not RunAPI fields at all.
    known = set(fields) | set(DOCUMENTED_OPTIONAL)
    bad |= {k for k, v in body.items() if k not in known and k not in forbidden and _given(v)}
    bad |= {name for name, rules in fields.items() if not _field_ok(body.get(name), rules)}
    return bad


# -- the catalog states the same facts ----------------------------------------------------------
def test_catalog_models_enums_and_limits_match_the_official_contract() -> None:
    assert {m for schema in CONTRACT.values() for m in schema["models"]} == set(MODEL_IDS)
    for model, (tier, action) in MODEL_IDS.items():
        schema = CONTRACT[SCHEMA_KEY[action]]
        assert model in schema["models"]
        fields = schema["fields_by_model"][model]
        info = TIER_INFO[tier]
        assert fields["prompt"]["min"] == PROMPT_MIN and fields["prompt"]["max"] == PROMPT_MAX
        assert fields["prompt"]["required"] and fields["model"]["required"]
        assert fields["aspect_ratio"]["enum"] == list(aspect_ratio_options(tier, action))
        assert bool(fields["aspect_ratio"].get("required")) == info.requires_ratio
        auto = info.allows_auto_ratio and action == "remix_image"
        assert ("auto" in fields["aspect_ratio"]["enum"]) == auto
        assert fields["output_resolution"]["enum"] == list(info.resolutions)
        assert fields.get("output_count", {}).get("enum", []) == list(info.output_counts)
        if action == "remix_image":
            sources = fields["source_image_urls"]
            assert sources["required"]
            assert (sources["min_items"], sources["max_items"]) == (1, info.max_sources)
        else:
            assert "source_image_urls" not in fields
        forbidden = [f for rule in schema["rules"] if rule["when"] == {"model": model}
                     for f in rule["forbidden"]]
        assert sorted(forbidden) == sorted(info.forbidden)
        assert set(wire_fields(tier, action)) == (set(fields) | set(DOCUMENTED_OPTIONAL)) - set(forbidden)


def test_payloads_carry_output_count_for_max_only_and_never_a_forbidden_field() -> None:
    pro = ImageRequest("a harbour at dawn", tier="pro").payload()
    flex = ImageRequest("a harbour at dawn", tier="flex", enable_safety_checker=True).payload()
    top = ImageRequest("a harbour at dawn", tier="max").payload()
    assert "output_count" not in pro and "output_count" not in flex and top["output_count"] == 1
    assert flex["enable_safety_checker"] is True
    for tier in ("pro", "flex"):
        with pytest.raises(ValidationError) as info:
            ImageRequest.from_fields("a harbour at dawn", tier=tier, output_count=1)
        assert info.value.field == "output_count"
    for checker in (True, False):
        with pytest.raises(ValidationError) as info:
            ImageRequest("a harbour at dawn", tier="max", enable_safety_checker=checker)
        assert info.value.field == "enable_safety_checker" and "Max" in str(info.value)
    assert ImageRequest.from_fields("a harbour at dawn", tier="max", output_count=1).payload() == top


# -- random wire bodies -----------------------------------------------------------------------
_ABSENT = object()


def _mostly(good: list[Any], bad: list[Any]) -> st.SearchStrategy:
    """Valid values three times as often as invalid ones (absent and null included in
    ``bad`` or ``good`` as the field requires), so both verdicts are common."""
    return st.sampled_from(good * 3 + bad)


@st.composite
def _bodies(draw: st.DrawFn) -> dict[str, Any]:
    model = draw(_mostly(sorted(MODEL_IDS), [_ABSENT, "flux-1-dev", ""]))
    tier, action = MODEL_IDS.get(model, ("pro", "text_to_image"))
    info = TIER_INFO[tier]
    ratio_ok = list(aspect_ratio_options(tier, action)) + ([] if info.requires_ratio else [_ABSENT])
    short, long_ = PROMPT_MIN, PROMPT_MAX
    body = {
        "model": model,
        "prompt": draw(st.one_of(
            _mostly(["a red fox", "x" * short, "\tok\n", "  ab  ", "p" * long_],
                    [_ABSENT, None, "", "   ", "x" * (short - 1), "p" * (long_ + 1)]))),
        "aspect_ratio": draw(_mostly(ratio_ok, ["auto", "5:4", "1-1", None])),
        "output_resolution": draw(_mostly([*info.resolutions, _ABSENT], ["2k", "1K", "4k", None])),
        "source_image_urls": draw(_mostly(
            [[URL] * n for n in range(1, info.max_sources + 1)] if action == "remix_image" else [_ABSENT],
            [_ABSENT, [], None, [URL] * (info.max_sources + 1), [URL] * 9])),
        "output_count": draw(_mostly([1, _ABSENT] if info.output_counts else [_ABSENT],
                                     [1, 2, 0, True, 1.0])),
        "enable_safety_checker": draw(_mostly(
            [_ABSENT, None] if info.forbidden == ("enable_safety_checker",) else [True, False, _ABSENT],
            [True, False])),
        "callback_url": draw(_mostly([_ABSENT, "https://hooks.example/done"], [None])),
        "seed": draw(_mostly([_ABSENT], [42])),
    }
    return {k: v for k, v in body.items() if v is not _ABSENT}


def _route(body: dict[str, Any], data: st.DataObject) -> str:
    """Mostly the model's own route; sometimes the other one."""
    own = MODEL_IDS[body["model"]][1] if body.get("model") in MODEL_IDS else "text_to_image"
    return data.draw(st.sampled_from([own, own, own, *ACTIONS]))


@settings(max_examples=400, deadline=None)
@given(body=_bodies(), data=st.data())
def test_the_catalog_accepts_exactly_what_the_contract_accepts(body: dict[str, Any], data) -> None:
    action = _route(body, data)
    verdict = contract_verdict(body, action)
    assert set(contract_errors(body, action)) == verdict
    try:
        request = ImageRequest.from_payload(body, action)
    except ValidationError as exc:
        assert verdict and exc.field in verdict
        return
    assert not verdict
    payload = request.payload()
    assert contract_verdict(payload, action) == set()
    for name, value in body.items():  # what was given is sent as given
        if _given(value):
            assert payload[name] == value
    assert ("output_count" in payload) == bool(TIER_INFO[request.tier].output_counts)


_prompts = st.one_of(
    st.integers(0, 8).map(lambda n: "x" * n),
    st.integers(PROMPT_MAX - 2, PROMPT_MAX + 2).map(lambda n: "p" * n),
    st.sampled_from(["   ", "  ab  ", "a red fox", "\tok\n"]),
)


@settings(max_examples=200, deadline=None)
@given(tier=st.sampled_from([*TIER_INFO, "MAX", "Pro"]),
       resolution=st.sampled_from(["1k", "2k", "1K"]),
       ratio=st.sampled_from(["1:1", "3:2", "auto", "5:4"]),
       sources=st.lists(st.just(URL), max_size=9),
       checker=st.sampled_from([None, True, False]),
       callback=st.sampled_from([None, "https://hooks.example/x"]),
       prompt=_prompts)
def test_every_request_the_catalog_builds_meets_the_contract(tier, resolution, ratio, sources, checker,
                                                            callback, prompt) -> None:
    try:
        request = ImageRequest(prompt, tier=tier, resolution=resolution, aspect_ratio=ratio,
                               source_image_urls=tuple(sources), enable_safety_checker=checker,
                               callback_url=callback)
    except ValidationError as exc:
        assert exc.field and str(exc)
        return
    assert contract_verdict(request.payload(), request.action) == set()


# -- the simulator holds every request to the same contract -----------------------------------
@pytest.fixture(scope="module")
def contract_sim():
    from flux2_widgets.simulator import Simulator

    with Simulator(latency=0.05, balance_cents=10**9) as server:
        yield server


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_bodies(), data=st.data())
def test_the_simulator_accepts_exactly_what_the_contract_accepts(contract_sim, body, data) -> None:
    action = _route(body, data)
    verdict = contract_verdict(body, action)
    before = contract_sim.stats.tasks_created
    r = httpx.post(contract_sim.url + ROUTE[action], json=body,
                   headers={"Authorization": "Bearer sk-test"}, timeout=10)
    if verdict:
        assert r.status_code == 422, (body, r.text)
        answer = r.json()
        assert answer["error"] == "Validation failed" and set(answer["errors"]) == verdict
        assert all(answer["errors"][f] and all(isinstance(m, str) for m in answer["errors"][f])
                   for f in verdict)
        assert contract_sim.stats.tasks_created == before
    else:
        assert r.status_code == 200, (body, r.text)
        assert r.json()["status"] == "pending" and contract_sim.stats.tasks_created == before + 1


def test_a_run_log_written_under_looser_rules_still_lists_its_tasks(tmp_path) -> None:
    from flux2_widgets.store import ResultStore

    store = ResultStore(tmp_path)
    old = {"model": "flux-2-max-text-to-image", "prompt": "from an older version", "aspect_ratio": "1:1",
           "enable_safety_checker": True}
    (tmp_path / "runs.jsonl").write_text(json.dumps(
        {"event": "submitted", "task_id": "6f0e4c1a-0c9e-4f0b-9a57-0d1c2b3a4f5e", "at": 1.0,
         "action": "text_to_image", "request": old}) + "\n")
    [task] = store.pending()
    assert task.id == "6f0e4c1a-0c9e-4f0b-9a57-0d1c2b3a4f5e" and task.request is None


def test_a_refused_body_lists_every_field_like_the_server_does() -> None:
    body = {"model": "flux-2-max-text-to-image", "prompt": "ab", "output_resolution": "2k", "seed": 1}
    with pytest.raises(ValidationError) as info:
        ImageRequest.from_payload(body)
    assert set(info.value.errors) == {"prompt", "output_resolution", "seed", "aspect_ratio"}
    assert info.value.errors == contract_errors(body) and "3 more fields" in str(info.value)
    with pytest.raises(ValidationError) as one:
        ImageRequest("ab")
    assert one.value.errors == {"prompt": [one.value.message]}
