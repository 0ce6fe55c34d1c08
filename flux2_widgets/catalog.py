"""The one place for Flux 2 facts: tiers, actions, model ids, ratios, sizes, prices, limits.

Everything else in the toolkit (client, simulator, widgets, comparisons, CLI)
reads these tables; none of them repeats a number. ``ImageRequest`` validates a
request here, before anything touches the network.

Longer than most modules, for one job: what RunAPI accepts. The tables and the rules that
check a request against them (``ImageRequest``, ``contract_errors``) stay together so that a
fact and the check that uses it can never drift apart.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .errors import ValidationError

__all__ = [
    "TIERS",
    "ACTIONS",
    "ASPECT_RATIOS",
    "REMIX_ASPECT_RATIOS",
    "RESOLUTIONS",
    "PRICES",
    "PIXEL_SIZES",
    "TYPICAL_LATENCY",
    "PROMPT_MIN",
    "PROMPT_MAX",
    "SOURCES_MAX",
    "MAX_IMAGES_PER_TASK",
    "DEFAULT_BASE_URL",
    "TierInfo",
    "ImageRequest",
    "model_id",
    "parse_model_id",
    "price",
    "pixel_size",
    "estimate_cost",
    "tier_label",
    "request_label",
    "count_label",
    "resolution_options",
    "aspect_ratio_options",
    "contract_errors",
    "url_problem",
    "wire_fields",
]

DEFAULT_BASE_URL = "https://runapi.ai"
API_PREFIX = "/api/v1/flux_2"

#: Tier keys in display order.
TIERS: tuple[str, ...] = ("pro", "flex", "max")
#: The two API actions, each with its own create/status route.
ACTIONS: tuple[str, ...] = ("text_to_image", "remix_image")
ASPECT_RATIOS: tuple[str, ...] = ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3")
#: Remix may also keep the source's ratio.
REMIX_ASPECT_RATIOS: tuple[str, ...] = (*ASPECT_RATIOS, "auto")
RESOLUTIONS: tuple[str, ...] = ("1k", "2k")
PROMPT_MIN = 3
PROMPT_MAX = 5000
SOURCES_MAX = 8

# -- wire facts: routes, headers, limits both ends agree on -----------------------------
#: RunAPI's file storage: a local image becomes a temporary URL a remix can use.
FILES_PATH = "/api/v1/files"
#: Largest file one base64 upload may carry (the JSON body is a third larger again).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Pillow format -> MIME type: the image kinds Flux 2 remix reads.
UPLOAD_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
UPLOAD_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
UPLOAD_KINDS = "PNG, JPEG or WebP"

#: Most tasks one client runs at once (its connection pool holds 64), and so the
#: largest ``count`` one CLI call makes.
MAX_CONCURRENCY = 64
#: Most images of one combination a cost plan takes: more is a typo, not a plan.
MAX_PLANNED_IMAGES = 10_000
#: Result image URLs live about this long (seconds) after the task completes.
RESULT_URL_LIFETIME = 7 * 24 * 3600.0

#: A POST is safe to retry only with this header: same key, same task, one charge.
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: How long an unanswered create is sent again on its own (``resume``, Collect). RunAPI does
#: not publish how long it remembers a key; past that, a resend could make a second, billed
#: task. An hour covers a kernel restart; older ones are reported, and sent only when asked.
RESEND_WINDOW = 3600.0
#: Longest Idempotency-Key / X-Client-Request-Id the service takes.
HEADER_VALUE_MAX = 512
CLIENT_REQUEST_ID_HEADER = "X-Client-Request-Id"
REQUEST_ID_HEADER = "x-request-id"
TASK_ID_HEADER = "X-RunAPI-Task-Id"
#: The bearer token sent to a simulator when no real key exists.
SIMULATOR_TOKEN = "simulated-no-key"
#: Every answer of the local simulator carries this header, so a client can tell it from
#: the real service even when both sit behind a loopback address (an SSH tunnel, a proxy).
SIMULATOR_HEADER = "x-runapi-simulator"


def file_label(size: int) -> str:
    """``1.5 MB`` / ``300 KB``: file sizes in messages, worded the same at both ends."""
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


def is_loopback(url: str | None) -> bool:
    """True for a URL on this machine (localhost, 127.0.0.0/8, ::1). A parsed address,
    not a prefix test: ``127.evil.example`` is somebody else's host."""
    host = (urlsplit(url or "").hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class TierInfo:
    key: str
    label: str
    blurb: str
    resolutions: tuple[str, ...]
    max_sources: int
    #: Remix may keep the source's ratio; Max must be told a concrete one.
    allows_auto_ratio: bool
    #: Max requires ``aspect_ratio`` on the wire; Pro and Flex default it.
    requires_ratio: bool
    #: Values ``output_count`` may take; empty: the field is forbidden.
    output_counts: tuple[int, ...]
    #: Fields RunAPI's contract forbids for this tier's models.
    forbidden: tuple[str, ...]


TIER_INFO: dict[str, TierInfo] = {
    "pro": TierInfo("pro", "Pro", "faster and cheaper", RESOLUTIONS, SOURCES_MAX, True, False,
                    (), ("output_count",)),
    "flex": TierInfo("flex", "Flex", "higher fidelity, slower", RESOLUTIONS, SOURCES_MAX, True, False,
                     (), ("output_count",)),
    "max": TierInfo("max", "Max", "highest quality; 1k, one source, concrete ratio", ("1k",), 1, False,
                    True, (1,), ("enable_safety_checker",)),
}

#: Most images one task can produce: one per call, unless a tier's ``output_count`` allows
#: more (Max takes only 1). A task answer listing more image URLs is not a Flux 2 answer.
MAX_IMAGES_PER_TASK: int = max(max(info.output_counts, default=1) for info in TIER_INFO.values())

#: USD per image. ``None``: not published (shown as "n/a"); live pricing may fill it in.
PRICES: dict[tuple[str, str], float | None] = {
    ("pro", "1k"): 0.05,
    ("pro", "2k"): 0.07,
    ("flex", "1k"): 0.14,
    ("flex", "2k"): 0.24,
    ("max", "1k"): None,
}

#: Approximate output sizes (width, height). RunAPI does not publish exact pixel
#: sizes per ratio: 1k is about 1 megapixel, 2k about 4. The simulator renders
#: exactly these; real outputs may differ by a few pixels.
_BASE_1K: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "4:3": (1184, 888),
    "3:4": (888, 1184),
    "16:9": (1360, 765),
    "9:16": (765, 1360),
    "3:2": (1248, 832),
    "2:3": (832, 1248),
}
PIXEL_SIZES: dict[tuple[str, str], tuple[int, int]] = {
    **{(ratio, "1k"): size for ratio, size in _BASE_1K.items()},
    **{(ratio, "2k"): (w * 2, h * 2) for ratio, (w, h) in _BASE_1K.items()},
}

#: Typical seconds from submit to completion on the real service, per (tier,
#: resolution). Used by the simulator's latency model and as the poller's prior
#: before it has seen tasks of its own. Pro is the fast tier, 2k slower than 1k.
TYPICAL_LATENCY: dict[tuple[str, str], float] = {
    ("pro", "1k"): 8.0,
    ("pro", "2k"): 13.0,
    ("flex", "1k"): 22.0,
    ("flex", "2k"): 34.0,
    ("max", "1k"): 28.0,
}

# Fields the API knows; everything else is a typo worth pointing out.
REQUEST_FIELDS = (
    "prompt", "tier", "resolution", "aspect_ratio", "source_image_urls",
    "callback_url", "enable_safety_checker",
)
#: Every field a create body may carry on some model (``wire_fields`` says which model).
WIRE_FIELDS = ("model", "prompt", "aspect_ratio", "output_resolution", "source_image_urls",
               "output_count", "callback_url", "enable_safety_checker")


def request_label(tier: str, resolution: str, aspect_ratio: str | None = None) -> str:
    """The one way a kind of image is named everywhere (tiles, headers, tables, the CLI):
    ``Pro · 1k`` or, with the ratio, ``Pro · 1k · 16:9``."""
    parts = [tier_label(tier), resolution] + ([aspect_ratio] if aspect_ratio else [])
    return " · ".join(parts)


def count_label(n: int, label: str) -> str:
    """``2 × Pro · 1k``: how many of a kind (one multiplication sign, everywhere)."""
    return f"{n} × {label}"


def tier_label(tier: str) -> str:
    return TIER_INFO[tier].label


def model_id(tier: str, action: str) -> str:
    """``flux-2-<tier>-<text-to-image|remix-image>``."""
    return f"flux-2-{tier}-{action.replace('_', '-')}"


MODEL_IDS: dict[str, tuple[str, str]] = {
    model_id(t, a): (t, a) for t in TIERS for a in ACTIONS
}


def parse_model_id(model: str) -> tuple[str, str]:
    """``"flux-2-pro-remix-image"`` -> ``("pro", "remix_image")``."""
    if not isinstance(model, str) or model not in MODEL_IDS:
        raise ValidationError(
            f"model {_shown(model)} is not a Flux 2 model; use one of {sorted(MODEL_IDS)}",
            field="model", value=model, allowed=sorted(MODEL_IDS))
    return MODEL_IDS[model]


def action_path(action: str) -> str:
    return f"{API_PREFIX}/{action}"


def price(tier: str, resolution: str) -> float | None:
    """USD per image from the catalog, or ``None`` where unknown."""
    return PRICES.get((tier, resolution))


def pixel_size(aspect_ratio: str, resolution: str) -> tuple[int, int] | None:
    """Approximate (width, height); ``None`` for ``auto`` (follows the source)."""
    return PIXEL_SIZES.get((aspect_ratio, resolution))


def estimate_cost(tier: str, resolution: str, images: int = 1) -> float | None:
    unit = price(tier, resolution)
    return None if unit is None else round(unit * images, 6)



def resolution_options(tier: str) -> tuple[str, ...]:
    return TIER_INFO[tier].resolutions


def aspect_ratio_options(tier: str, action: str) -> tuple[str, ...]:
    if action == "remix_image" and TIER_INFO[tier].allows_auto_ratio:
        return REMIX_ASPECT_RATIOS
    return ASPECT_RATIOS


def wire_fields(tier: str, action: str) -> tuple[str, ...]:
    """The body fields a model takes: the contract's, minus what it forbids."""
    info = TIER_INFO[tier]
    return tuple(f for f in WIRE_FIELDS
                 if f not in info.forbidden
                 and (f != "source_image_urls" or action == "remix_image")
                 and (f != "output_count" or info.output_counts))


def _present(value: Any) -> bool:
    # The contract's notion of "given": null, blank text and empty lists count as absent,
    # False counts as given (so enable_safety_checker=False is still forbidden on Max).
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, (list, tuple)):
        return any(_present(v) for v in value)
    if isinstance(value, dict):
        return bool(value)
    return True


def _shown(value: Any) -> str:
    """A value as a message quotes it: its repr, cut short (a hostile value can be huge)."""
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _host_problem(host: str, bracketed: bool) -> str | None:
    if bracketed:  # [v6 address]: nothing else may sit in brackets
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return f"[{host}] is not an IPv6 address"
        return None
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if not host or any(not label for label in labels):
        return f"host {host!r} has an empty name between its dots"
    if any(not (c.isalnum() or c in "-_") for label in labels for c in label):
        return f"host {host!r} has characters a host name cannot have"
    if all(label.isdigit() for label in labels):
        try:
            ipaddress.IPv4Address(host.rstrip("."))
        except ValueError:
            return f"host {host!r} is not an IPv4 address"
    return None


def url_problem(url: Any) -> str | None:
    """Why ``url`` is not a public http(s) URL the service can fetch; ``None`` when it is.

    The one URL rule, for sources, callbacks and base URLs alike: a string, http or https,
    with a host that parses (names, IPv4, or IPv6 in brackets), a port from 1 to 65535, no
    user name or password, and no space or control character anywhere (a URL carries them
    percent-encoded). Leading and trailing blanks are forgiven, as everywhere."""
    if not isinstance(url, str):
        return f"must be an http(s) URL string, not {type(url).__name__}"
    text = url.strip()
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return (f"{_shown(url)} has a space or a control character in it; a URL carries those "
                "percent-encoded (a space is %20)")
    try:
        parts = urlsplit(text)
        port = parts.port  # parsed on access: out of range or not a number raises here
    except ValueError as exc:
        return f"{_shown(url)} is not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{_shown(url)} is not a public http(s) URL; give an address starting with https://"
    if "@" in parts.netloc:
        return f"{_shown(url)} carries a user name or password; give a public URL without them"
    if port == 0:
        return f"{_shown(url)} has port 0; a port is from 1 to 65535"
    host = parts.hostname or ""
    problem = _host_problem(host, parts.netloc.startswith("["))
    return f"{_shown(url)}: {problem}" if problem else None


def contract_errors(body: Any, action: str | None = None) -> dict[str, list[str]]:
    """Check a create body against RunAPI's request contract: ``{field: [problems]}``,
    empty when it may be sent. ``action`` is the route the body goes to.

    The one statement of the contract: ``ImageRequest`` never builds a body this refuses,
    and the simulator answers 422 with exactly these messages."""
    if not isinstance(body, Mapping):
        return {"body": ["must be a JSON object"]}
    errors: dict[str, list[str]] = {}

    def add(name: str, problem: str) -> None:
        errors.setdefault(name, []).append(problem)

    model = body.get("model")
    if not _present(model):
        return {"model": [f"is required; use one of {', '.join(sorted(MODEL_IDS))}"]}
    if not isinstance(model, str) or model not in MODEL_IDS:
        return {"model": [f"{model!r} is not a Flux 2 model; use one of {', '.join(sorted(MODEL_IDS))}"]}
    tier, model_action = MODEL_IDS[model]
    if action is not None and model_action != action:
        return {"model": [f"{model} is a {model_action} model; POST it to {action_path(model_action)}"]}
    info = TIER_INFO[tier]
    allowed = wire_fields(tier, model_action)
    for name, value in body.items():
        if name in allowed or not _present(value):
            continue
        if name in info.forbidden:
            add(name, f"is not allowed for {model}")
        else:
            add(name, f"is not a field of {model}; it takes {', '.join(allowed)}")

    prompt = body.get("prompt")
    if not _present(prompt):
        add("prompt", f"is required ({PROMPT_MIN}-{PROMPT_MAX} characters)")
    elif not isinstance(prompt, str):
        add("prompt", f"must be text, not {type(prompt).__name__}")
    elif not PROMPT_MIN <= len(prompt) <= PROMPT_MAX:
        add("prompt", f"must be {PROMPT_MIN}-{PROMPT_MAX} characters; it has {len(prompt)}")

    ratio = body.get("aspect_ratio")
    ratios = aspect_ratio_options(tier, model_action)
    if not _present(ratio):
        if info.requires_ratio:
            add("aspect_ratio", f"is required for {model}; use one of {', '.join(ratios)}")
    elif ratio not in ratios:
        add("aspect_ratio", f"{ratio!r} is not allowed for {model}; use one of {', '.join(ratios)}")

    res = body.get("output_resolution")
    if _present(res) and res not in info.resolutions:
        add("output_resolution", f"{res!r} is not allowed for {model}; use {' or '.join(info.resolutions)}")

    if "output_count" in allowed and _present(body.get("output_count")):
        count = body["output_count"]
        if isinstance(count, bool) or not isinstance(count, int) or count not in info.output_counts:
            add("output_count", f"{count!r} is not allowed for {model}; use "
                f"{' or '.join(map(str, info.output_counts))}")

    if model_action == "remix_image":
        sources = body.get("source_image_urls")
        if not _present(sources):
            add("source_image_urls", f"is required for remix: 1-{info.max_sources} image URLs")
        elif not isinstance(sources, list):
            add("source_image_urls", "must be a list of image URLs")
        else:
            if not 1 <= len(sources) <= info.max_sources:
                many = f"1-{info.max_sources} URLs" if info.max_sources > 1 else "exactly 1 URL"
                add("source_image_urls", f"must hold {many} for {model}; it has {len(sources)}")
            for url in sources:
                if (problem := url_problem(url)) is not None:
                    add("source_image_urls", problem)
                    break

    callback = body.get("callback_url")
    if _present(callback) and (problem := url_problem(callback)) is not None:
        add("callback_url", problem)
    checker = body.get("enable_safety_checker")
    if "enable_safety_checker" in allowed and checker is not None and not isinstance(checker, bool):
        add("enable_safety_checker", f"must be true or false, not {checker!r}")
    return errors


def _choices(name: str, value: Any, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValidationError(
            f"{name} {_shown(value)} is not allowed; use one of: {', '.join(allowed)}",
            field=name, value=value, allowed=allowed,
        )
    return value.lower()


def _http_url(name: str, url: Any) -> str:
    if (problem := url_problem(url)) is not None:
        raise ValidationError(f"{name} {problem}", field=name, value=url, allowed="http(s) URL")
    return str(url).strip()


def _also(fields: dict[str, Any], name: str, value: Any, wire: str, given: Any) -> None:
    """Set ``fields[name]`` from a wire name (``model``, ``output_resolution``, ``mode``);
    both given and disagreeing is an error, never a silent pick of one."""
    def norm(v: Any) -> Any:
        return v.strip().lower().replace("-", "_") if isinstance(v, str) else v

    current = fields.get(name)
    if current is None:
        fields[name] = value
    elif not isinstance(current, str) or not isinstance(value, str) or norm(current) != norm(value):
        raise ValidationError(
            f"{wire}={_shown(given)} and {name}={_shown(current)} disagree; give one of them",
            field=wire, value=given, allowed=f"{wire} or {name}, not both")


@dataclass(frozen=True)
class ImageRequest:
    """One generation request, validated on construction.

    >>> ImageRequest("a red fox in snow", tier="flex", resolution="2k").estimated_cost
    0.24
    """

    prompt: str
    tier: str = "pro"
    resolution: str = "1k"
    aspect_ratio: str = "1:1"
    source_image_urls: tuple[str, ...] = ()
    callback_url: str | None = None
    enable_safety_checker: bool | None = None
    #: ``None`` picks from ``source_image_urls`` (remix when there are sources).
    action: str | None = field(default=None)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.prompt, str):
            raise ValidationError(f"prompt must be text, got {type(self.prompt).__name__}",
                                  field="prompt", value=self.prompt, allowed="3-5000 characters")
        # Measured and sent as given, as the contract measures it; only a blank one is absent.
        prompt = self.prompt
        if not prompt.strip():
            raise ValidationError(
                f"prompt is required: {PROMPT_MIN}-{PROMPT_MAX} characters, not only spaces",
                field="prompt", value=self.prompt, allowed=f"{PROMPT_MIN}-{PROMPT_MAX} characters")
        if not PROMPT_MIN <= len(prompt) <= PROMPT_MAX:
            raise ValidationError(
                f"prompt must be {PROMPT_MIN}-{PROMPT_MAX} characters; it has {len(prompt)}",
                field="prompt", value=self.prompt, allowed=f"{PROMPT_MIN}-{PROMPT_MAX} characters",
            )
        tier = _choices("tier", self.tier, TIERS)
        set_(self, "tier", tier)
        sources = self.source_image_urls
        if isinstance(sources, str):
            sources = (sources,)
        if sources is None:
            sources = ()
        if not isinstance(sources, (list, tuple)):
            raise ValidationError(
                f"source_image_urls must be a URL or a list of URLs, got {type(sources).__name__}",
                field="source_image_urls", value=sources, allowed=f"1-{SOURCES_MAX} http(s) URLs")
        sources = tuple(_http_url("source_image_urls", u) for u in sources)
        set_(self, "source_image_urls", sources)
        action = self.action
        if action is None:
            action = "remix_image" if sources else "text_to_image"
        action = _choices("action", action.replace("-", "_") if isinstance(action, str) else action,
                          ACTIONS)
        set_(self, "action", action)
        info = TIER_INFO[tier]
        set_(self, "resolution", _choices("resolution", self.resolution, RESOLUTIONS))
        if self.resolution not in info.resolutions:
            raise ValidationError(
                f"resolution {self.resolution!r} is not available for {info.label}; "
                f"use {' or '.join(info.resolutions)}",
                field="resolution", value=self.resolution, allowed=info.resolutions,
            )
        ratio = self.aspect_ratio
        if ratio == "auto" and action != "remix_image":
            raise ValidationError(
                "aspect_ratio 'auto' keeps a source image's ratio, so it only works for remix; "
                f"pick one of {', '.join(ASPECT_RATIOS)}",
                field="aspect_ratio", value=ratio, allowed=ASPECT_RATIOS,
            )
        if ratio == "auto" and not info.allows_auto_ratio:
            raise ValidationError(
                f"{info.label} needs a concrete aspect_ratio, not 'auto'; "
                f"pick one of {', '.join(ASPECT_RATIOS)}",
                field="aspect_ratio", value=ratio, allowed=ASPECT_RATIOS,
            )
        set_(self, "aspect_ratio", _choices("aspect_ratio", ratio, aspect_ratio_options(tier, action)))
        if action == "remix_image":
            if not sources:
                raise ValidationError(
                    "remix needs at least one source image URL in source_image_urls",
                    field="source_image_urls", value=(), allowed=f"1-{info.max_sources} URLs",
                )
            if len(sources) > info.max_sources:
                raise ValidationError(
                    f"{info.label} remix takes at most {info.max_sources} source image"
                    f"{'s' if info.max_sources > 1 else ''}; you gave {len(sources)}",
                    field="source_image_urls", value=sources, allowed=f"1-{info.max_sources} URLs",
                )
        elif sources:
            raise ValidationError(
                "source_image_urls only apply to remix; drop them or use action='remix_image'",
                field="source_image_urls", value=sources, allowed="none for text_to_image",
            )
        if self.callback_url is not None:
            set_(self, "callback_url", _http_url("callback_url", self.callback_url))
        if self.enable_safety_checker is not None and not isinstance(self.enable_safety_checker, bool):
            raise ValidationError(
                f"enable_safety_checker must be True, False or None, got {self.enable_safety_checker!r}",
                field="enable_safety_checker", value=self.enable_safety_checker, allowed=(True, False, None),
            )
        if self.enable_safety_checker is not None and "enable_safety_checker" in info.forbidden:
            raise ValidationError(
                f"{info.label} does not take enable_safety_checker (RunAPI's contract forbids it, "
                "even False); leave it None",
                field="enable_safety_checker", value=self.enable_safety_checker, allowed=(None,),
            )
        # A last check of the body itself: nothing the contract refuses ever leaves.
        if errors := contract_errors(self.payload(), action):
            name, problems = next(iter(errors.items()))
            raise ValidationError(f"{name} {problems[0]}", field=name, errors=errors)

    # -- derived facts -------------------------------------------------------------
    @property
    def model(self) -> str:
        return model_id(self.tier, self.action or "text_to_image")

    @property
    def path(self) -> str:
        """The create route, relative to the base URL."""
        return action_path(self.action or "text_to_image")

    @property
    def estimated_cost(self) -> float | None:
        return estimate_cost(self.tier, self.resolution)

    @property
    def size(self) -> tuple[int, int] | None:
        return pixel_size(self.aspect_ratio, self.resolution)

    @property
    def label(self) -> str:
        """``Pro · 1k · 1:1``: short, for tiles and tables (see ``request_label``)."""
        return request_label(self.tier, self.resolution, self.aspect_ratio)

    def payload(self) -> dict[str, Any]:
        """The JSON body for the create route; empty fields are omitted, not null."""
        body: dict[str, Any] = {"model": self.model, "prompt": self.prompt}
        if self.aspect_ratio:
            body["aspect_ratio"] = self.aspect_ratio
        if self.resolution:
            body["output_resolution"] = self.resolution
        if self.source_image_urls:
            body["source_image_urls"] = list(self.source_image_urls)
        if self.callback_url:
            body["callback_url"] = self.callback_url
        if self.enable_safety_checker is not None:
            body["enable_safety_checker"] = self.enable_safety_checker
        if TIER_INFO[self.tier].output_counts:
            # Max takes output_count (always 1); Pro and Flex must never see the field.
            body["output_count"] = TIER_INFO[self.tier].output_counts[0]
        return body

    def to_json(self) -> str:
        return json.dumps(self.payload(), indent=2, ensure_ascii=False)

    def replace(self, **changes: Any) -> ImageRequest:
        data = self.to_dict()
        if unknown := sorted(set(changes) - set(data)):
            raise ValidationError(f"unknown request field(s) {unknown}; known: {', '.join(data)}",
                                  field=unknown[0], value=changes[unknown[0]], allowed=tuple(data))
        if "source_image_urls" in changes and "action" not in changes:
            data["action"] = None
        data.update(changes)
        return ImageRequest(**data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt, "tier": self.tier, "resolution": self.resolution,
            "aspect_ratio": self.aspect_ratio, "source_image_urls": self.source_image_urls,
            "callback_url": self.callback_url, "enable_safety_checker": self.enable_safety_checker,
            "action": self.action,
        }

    @classmethod
    def from_fields(cls, request: ImageRequest | str | None = None, /, **fields: Any) -> ImageRequest:
        """Accept a request, a prompt, our keyword names, or the wire names (``model``,
        ``output_resolution``), and say which keyword was not understood."""
        if isinstance(request, str):
            if "prompt" in fields:
                raise ValidationError("prompt given twice (positionally and as prompt=)",
                                      field="prompt", value=request, allowed="one prompt")
            fields["prompt"], request = request, None
        if request is not None and not isinstance(request, ImageRequest):
            raise ValidationError(f"expected an ImageRequest or a prompt, got {type(request).__name__}",
                                  field="request", value=request, allowed="ImageRequest or str")
        fields = dict(fields)
        if "model" in fields:
            model = fields.pop("model")
            tier, action = parse_model_id(model)
            _also(fields, "tier", tier, "model", model)
            _also(fields, "action", action, "model", model)
        if "output_resolution" in fields:
            resolution = fields.pop("output_resolution")
            _also(fields, "resolution", resolution, "output_resolution", resolution)
        if "mode" in fields:
            mode = fields.pop("mode")
            _also(fields, "action", mode, "mode", mode)
        count = fields.pop("output_count", None)
        unknown = set(fields) - set(REQUEST_FIELDS) - {"action"}
        if unknown:
            raise ValidationError(
                f"unknown request field(s) {sorted(unknown)}; known: {', '.join(REQUEST_FIELDS)}",
                field=sorted(unknown)[0], value=None, allowed=REQUEST_FIELDS,
            )
        if request is None:
            if "prompt" not in fields:
                raise ValidationError("prompt is required", field="prompt", value=None,
                                      allowed=f"{PROMPT_MIN}-{PROMPT_MAX} characters")
            request = cls(**fields)
        elif fields:
            request = request.replace(**fields)
        if count is not None:
            counts = TIER_INFO[request.tier].output_counts
            if isinstance(count, bool) or not isinstance(count, int) or count not in counts:
                raise ValidationError(
                    f"output_count {_shown(count)} is not allowed for {tier_label(request.tier)}: "
                    + ("only Max takes output_count, and only 1" if not counts else "use 1"),
                    field="output_count", value=count, allowed=counts)
        return request

    @classmethod
    def from_payload(cls, body: Mapping[str, Any], action: str | None = None) -> ImageRequest:
        """Rebuild a request from a wire JSON body (the simulator and run log use this).
        The body must meet the contract as it stands: no defaults fill a missing required
        field, no case is forgiven, an unknown field is an error."""
        if errors := contract_errors(body, action):
            name, problems = next(iter(errors.items()))
            others = len(errors) - 1
            more = f" (and {others} more field{'s' if others > 1 else ''})" if others else ""
            raise ValidationError(f"{name} {problems[0]}{more}", field=name, errors=errors,
                                  value=body.get(name) if isinstance(body, Mapping) else body)
        return cls.from_fields(**{k: v for k, v in body.items()
                                  if k in WIRE_FIELDS and k != "output_count" and _present(v)})
