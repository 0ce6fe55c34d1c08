"""Polling that needs nothing from the server but status, learned durations that
survive a kernel restart, and a run log that loses no paid task.

The latency model is tested on its own (sequences of tasks played against its own
plans); the client against a simulator that sends no task timestamps, as stingy as
the real service. Timing here is noisy (a shared machine): tests count requests and
check estimates with generous margins; speed is measured in benchmarks/."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import time

import pytest
from conftest import SECRET_KEY

from flux2_widgets import AsyncFlux2Client, PollPolicy, ResultStore, errors
from flux2_widgets.client._polling import LatencyModel, fit_intervals

KIND = ("http://sim", "pro", "1k", "text_to_image")


def fast(sim, **options) -> AsyncFlux2Client:
    options.setdefault("retry_base_delay", 0.01)
    return AsyncFlux2Client(SECRET_KEY, base_url=sim.url, **options)


def run(coro):
    return asyncio.run(coro)


def play(model: LatencyModel, policy: PollPolicy, duration: float, phase: float,
         answer_lag: float = 0.0, key=KIND) -> tuple[float, int]:
    """One task of ``duration`` s polled by the plan: each look is answered
    ``answer_lag`` s after it is sent (the service's view is taken half-way, as the
    client assumes). Returns (detection lag, looks) and teaches the model."""
    elapsed, lower, looks = 0.0, 0.0, 0
    while True:
        elapsed += policy.next_delay(elapsed, model.estimate(key), phase)
        looks += 1
        seen = elapsed + answer_lag / 2
        if seen >= duration:
            model.observe(key, lower, seen)
            return elapsed + answer_lag - duration, looks
        lower = seen
        elapsed += answer_lag


# -- the latency model on its own ---------------------------------------------------
@pytest.mark.parametrize("duration", [1.0, 10.0, 30.0])
def test_no_drift_on_identical_tasks_in_a_row(duration):
    """The old estimate (acceptance -> noticed) grew with its own detection lag; the
    interval estimate stays on the true duration, and the plan it makes detects each
    task within 3% with at most 6 looks once learned."""
    model, policy = LatencyModel(), PollPolicy()
    estimates, lags, looks = [], [], []
    for n in range(30):
        lag, count = play(model, policy, duration, phase=(0.5 + n * 0.618) % 1, answer_lag=0.004)
        estimates.append(model.expected(KIND))
        lags.append(lag)
        looks.append(count)
    settled = estimates[5:]
    assert all(abs(e - duration) <= 0.02 * duration for e in settled), settled
    # Learning from "when it was noticed" would sit a whole detection lag above the
    # truth, and climb with it; the bounds keep the estimate on the truth.
    mean_lag = sum(lags[5:]) / len(lags[5:])
    assert abs(sum(settled[-10:]) / 10 - duration) < 0.5 * mean_lag, (settled, mean_lag)
    assert max(settled[-10:]) <= duration * 1.005 + 0.004, settled
    # Long tasks from the second on (the first, with nothing known, only brackets the
    # duration); a 1 s task's first bracket is wide (cold looks grow 1.6x apart), so a
    # lone one needs two more to settle (a batch's siblings settle it at once). There,
    # two looks at least ``min_interval`` apart bound the lag.
    settled_from = 1 if duration >= 10 else 3
    assert max(lags[settled_from:]) <= max(0.03 * duration, 2 * policy.min_interval + 0.004), lags
    assert max(looks[settled_from:]) <= 6, looks


@pytest.mark.parametrize("duration", [3.0, 10.0, 30.0, 60.0])
def test_the_second_task_of_a_kind_is_found_within_3_percent_wherever_it_lands(duration):
    """The first task of a kind leaves a bracket as wide as its cold polling's gaps; the
    second long task must still be found within 3% with at most 6 looks, whatever its
    exact duration and answer time, with the client's own phases for a first and second
    task (120 random cases, not one lucky one)."""
    policy = PollPolicy()
    rng = random.Random(duration)
    worst_lag, worst_looks = 0.0, 0
    for _ in range(120):
        model = LatencyModel()
        true = duration * rng.uniform(0.9, 1.1)
        answer_lag = rng.uniform(0.002, 0.03)
        play(model, policy, true, phase=0.5, answer_lag=answer_lag)
        lag, looks = play(model, policy, true, phase=(0.5 + 0.618) % 1, answer_lag=answer_lag)
        worst_lag, worst_looks = max(worst_lag, lag / true), max(worst_looks, looks)
    assert worst_lag <= 0.03 and worst_looks <= 6, (worst_lag, worst_looks)


@pytest.mark.parametrize("duration", [10.0, 30.0])
def test_a_batch_of_a_new_kind_shares_the_looking(duration):
    """8 tasks of a never-seen kind at once: each looks within 8x the lone share of its
    age, on interleaved phases, so the batch sends far fewer status calls than 8 lone
    tasks would, and still leaves the next batch a window narrow enough for 3%."""
    policy = PollPolicy()

    def batch(model: LatencyModel, crowd: int, first_phase: int) -> tuple[float, int]:
        worst, looks, seen = 0.0, 0, []
        for i in range(8):
            phase = (0.5 + (first_phase + i) * 0.618) % 1
            elapsed, lower, count = 0.0, 0.0, 0
            estimate = model.estimate(KIND)
            while True:
                elapsed += policy.next_delay(elapsed, estimate, phase, crowd=crowd)
                count += 1
                if elapsed + 0.002 >= duration:
                    seen.append((lower, elapsed + 0.004))
                    break
                lower, elapsed = elapsed + 0.002, elapsed + 0.004
            worst, looks = max(worst, (elapsed - duration) / duration), looks + count
        for bounds in seen:
            model.observe(KIND, *bounds)
        return worst, looks

    _, alone = batch(LatencyModel(), crowd=1, first_phase=0)
    model = LatencyModel()
    _, shared = batch(model, crowd=8, first_phase=0)
    assert shared < 0.5 * alone, (shared, alone)
    lag, looks = batch(model, crowd=8, first_phase=8)
    assert lag <= 0.03 and looks <= 8 * 6, (lag, looks)


@pytest.mark.parametrize("field, value", [
    ("first", 0), ("first", float("nan")), ("growth", 1.0), ("min_interval", -0.1),
    ("max_interval", 0.001), ("precision", float("inf")), ("late_share", 0),
    ("early", 1.5), ("max_looks", 0), ("max_looks", 2.5), ("history", True),
    ("max_retry_after", float("nan")), ("max_retry_after", -1), ("max_interval", float("-inf")),
])
def test_poll_policy_refuses_settings_that_would_spin_or_stall(field, value):
    with pytest.raises(errors.ValidationError, match=f"PollPolicy.{field}"):
        PollPolicy(**{field: value})


def test_poll_policy_takes_infinity_for_no_cap_and_zero_to_ignore_retry_after():
    policy = PollPolicy(max_interval=math.inf, early_after=math.inf, max_retry_after=0)
    assert policy.next_delay(100.0, None) > 0  # cold and late: still a finite next look


def test_interval_censoring_estimates_inside_every_bound():
    """Bounds of all widths, each holding the true duration: the estimate lies where
    they all overlap, while the naive mean of the "first seen done" times is late."""
    rng = random.Random(7)
    true = 8.0
    bounds = [(true - rng.uniform(0.05, 3.0), true + rng.uniform(0.01, 2.5)) for _ in range(10)]
    fit = fit_intervals(bounds)
    assert fit is not None
    assert max(lo for lo, _ in bounds) <= fit.mean <= min(hi for _, hi in bounds)
    naive = sum(hi for _, hi in bounds) / len(bounds)
    assert abs(fit.mean - true) < abs(naive - true)


def test_varying_durations_fit_a_censored_distribution():
    rng = random.Random(3)
    bounds = []
    for _ in range(12):
        duration = rng.gauss(10.0, 0.6)
        lo = duration - rng.uniform(0.01, 0.8)
        bounds.append((lo, lo + 0.8))
    fit = fit_intervals(bounds)
    assert fit is not None
    assert abs(fit.mean - 10.0) < 0.45 and 0.2 < fit.spread < 1.2
    assert fit.low < 10.0 < fit.high


def test_a_service_that_got_faster_is_followed():
    model, policy = LatencyModel(), PollPolicy()
    for n in range(12):
        play(model, policy, 10.0, phase=(n * 0.618) % 1)
    lags = [play(model, policy, 5.0, phase=(n * 0.618) % 1)[0] for n in range(6)]
    assert abs(model.expected(KIND) - 5.0) < 0.3
    assert lags[-1] <= 0.03 * 5.0, lags


def test_model_survives_export_and_ignores_garbage(tmp_path):
    model = LatencyModel()
    model.observe(KIND, 0.9, 1.05)
    model.observe(KIND, 5.0, 4.0)  # not an interval: ignored
    model.observe(KIND, float("nan"), 2.0)
    store = ResultStore(tmp_path)
    store.write_latencies("http://sim", {"/".join(KIND[1:]): model.export()[KIND]})
    store.write_latencies("http://other", {"pro/1k/text_to_image": [[1, 2]]})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latency.json"]  # no temporary left
    saved = store.read_latencies("http://sim")
    fresh = LatencyModel()
    fresh.load({KIND: saved["pro/1k/text_to_image"]})
    fresh.load({("x",): "nonsense", ("y",): [[1, "a"], [-1, 2], [3, 2], [True, 2]]})
    assert fresh.export() == {KIND: [(0.9, 1.05)]}
    (tmp_path / "latency.json").write_text("{broken", encoding="utf-8")
    assert store.read_latencies("http://sim") == {}


# -- the client against a stingy simulator ---------------------------------------------
def test_the_simulator_sends_no_timestamps_unless_asked(make_sim):
    sim = make_sim(latency=0.1)

    async def main():
        async with fast(sim) as client:
            task = await client.submit("a plain answer")
            return task, await client.wait(task)

    task, gen = run(main())
    assert "created_at" not in task.raw and "completed_at" not in gen.task.raw


def test_batches_learn_from_status_alone_and_poll_sparingly(make_sim):
    """8 tasks at once: a new client finds them with a few looks each (siblings wake
    each other); once it has seen such tasks, its looks bracket the completion."""
    latency = 0.6
    sim = make_sim(latency=latency, jitter=0.0)
    prompts = [f"batch prompt {i}" for i in range(8)]

    async def main():
        async with fast(sim) as client:
            counts = []
            for _ in range(3):
                before = sim.count("GET", "/api/v1/flux_2/text_to_image/")
                await client.generate_many(prompts)
                counts.append((sim.count("GET", "/api/v1/flux_2/text_to_image/") - before) / 8)
            key = (client.base_url, "pro", "1k", "text_to_image")
            return counts, client.latency.expected(key)

    (new, *warm), learned = run(main())
    assert new <= 5, new
    assert all(c <= 4 for c in warm), warm
    # Learned from its own observations, not from when completions were noticed.
    assert abs(learned - latency) <= 0.1 * latency, learned


def test_long_tasks_in_a_row_are_polled_a_few_times_each(make_sim):
    latency = 2.5
    sim = make_sim(latency=latency, jitter=0.0)

    async def main():
        async with fast(sim) as client:
            gets, estimates = [], []
            key = (client.base_url, "pro", "1k", "text_to_image")
            for i in range(4):
                before = sim.count("GET")
                await client.generate(f"long task {i}")
                gets.append(sim.count("GET") - before)
                estimates.append(client.latency.expected(key))
            return gets, estimates

    gets, estimates = run(main())
    assert all(g <= 6 for g in gets[1:]), gets
    assert all(abs(e - latency) <= 0.1 * latency for e in estimates[1:]), estimates
    assert estimates[-1] <= estimates[1] + 0.05 * latency, estimates  # no creeping upward


def test_retry_after_on_a_status_answer_is_honoured(make_sim):
    """The server's wish for the next poll: never sooner (the official SDK's rule)."""
    sim = make_sim(latency=1.0, jitter=0.0, pacing=0.4)
    sent: list[float] = []

    async def record(request):
        if request.method == "GET":
            sent.append(time.monotonic())

    async def main():
        async with fast(sim, poll=PollPolicy(first=0.05)) as client:
            client._transport.api.event_hooks["request"].append(record)
            await client.generate("paced task")

    run(main())
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert gaps and min(gaps) >= 0.39, gaps
    assert len(sent) <= 4  # 1.0 s at 0.4 s apart


def test_an_absurd_retry_after_is_capped(make_sim):
    sim = make_sim(latency=0.3, jitter=0.0, pacing=3600)

    async def main():
        async with fast(sim, poll=PollPolicy(first=0.05, max_retry_after=0.2)) as client:
            return await client.generate("patient task", timeout=10)

    assert run(main()).task.status == "completed"


def test_a_new_kernel_starts_warm_from_the_result_folder(make_sim, tmp_path):
    latency = 1.5  # far from a new client's looks (0.25, 0.61, 1.14, 1.9 s)
    sim = make_sim(latency=latency, jitter=0.0)

    async def learn():
        async with fast(sim, store=ResultStore(tmp_path)) as client:
            for i in range(3):
                await client.generate(f"teaching task {i}")
            return client.latency.estimate((client.base_url, "pro", "1k", "text_to_image"))

    learned = run(learn())
    saved = json.loads((tmp_path / "latency.json").read_text())
    [entry] = saved["endpoints"].values()
    assert len(entry["kinds"]["pro/1k/text_to_image"]) == 3

    async def first_task(store):
        async with fast(sim, store=store) as client:
            before = sim.count("GET")
            task = await client.submit("first task of a new kernel")
            await client.wait(task)
            return sim.count("GET") - before, client.latency

    warm, model = run(first_task(ResultStore(tmp_path)))
    cold, _ = run(first_task(ResultStore(tmp_path / "elsewhere")))
    assert warm < cold, (warm, cold)
    # It planned with what the earlier kernel learned (rounded to 0.1 ms on disk).
    loaded = LatencyModel()
    loaded.load({("k",): entry["kinds"]["pro/1k/text_to_image"]})
    assert loaded.estimate(("k",)).mean == pytest.approx(learned.mean, abs=1e-3)
    assert abs(model.expected((sim.url, "pro", "1k", "text_to_image")) - latency) <= 0.1 * latency


# -- nothing paid is lost ------------------------------------------------------------
def test_a_post_whose_answer_was_lost_is_resumed_with_its_key(make_sim, tmp_path):
    """The service created the task, the answer never arrived: resume() sends the same
    Idempotency-Key again and collects that very task. One task, one charge."""
    sim = make_sim(latency=0.1)
    store = ResultStore(tmp_path)
    sim.inject("drop", on="post", after=True)

    async def crash():
        async with fast(sim, store=store, max_retries=0) as client:
            with pytest.raises(errors.NetworkError):
                await client.generate("an expensive picture")

    run(crash())
    assert sim.stats.tasks_created == 1 and store.pending() == []
    [lost] = store.unanswered()
    assert lost.request.prompt == "an expensive picture"

    async def resume():
        async with fast(sim, store=store) as client:
            return await client.resume()

    [gen] = run(resume())
    assert gen.task.status == "completed" and gen.id in sim.tasks
    assert sim.stats.tasks_created == 1 and len(sim.stats.charges) == 1
    assert store.unanswered() == [] and store.pending() == []
    assert run(resume()) == []  # nothing left: nothing sent twice


def test_a_kernel_that_died_before_its_post_left_is_resumed_once(make_sim, tmp_path):
    from flux2_widgets import ImageRequest

    sim = make_sim(latency=0.1)
    store = ResultStore(tmp_path)
    # What submit() writes before the POST leaves; then the kernel dies.
    store.record_sending("3f6c2a9e-dead-kernel", ImageRequest("a dying wish"), sim.url, time.time())

    async def resume():
        async with fast(sim, store=store) as client:
            return await client.resume()

    [gen] = run(resume())
    assert run(resume()) == []  # a second resume finds nothing to send
    assert gen.request.prompt == "a dying wish"
    assert sim.stats.tasks_created == 1 and len(sim.stats.charges) == 1
    events = [e["event"] for e in store.events()]
    assert events == ["sending", "sending", "submitted", "completed"]


def test_an_unanswered_create_too_old_to_resend_is_reported_not_sent(make_sim, tmp_path):
    """The service may have forgotten a day-old Idempotency-Key: sending it again could
    make a second, billed task. resume() reports it (nothing sent) until asked to send
    it anyway, or until it is dismissed."""
    from flux2_widgets import ImageRequest, UnansweredCreateError

    sim = make_sim(latency=0.1)
    store = ResultStore(tmp_path)
    day_ago = time.time() - 86_400
    store.record_sending("old-key-1", ImageRequest("yesterday's picture"), sim.url, day_ago)
    store.record_sending("old-key-2", ImageRequest("another old one"), sim.url, day_ago)

    async def resume(**options):
        async with fast(sim, store=store) as client:
            return await client.resume(**options)

    reported = run(resume())
    assert [type(r) for r in reported] == [UnansweredCreateError] * 2
    assert reported[0].idempotency_key == "old-key-1" and reported[0].sent_at == day_ago
    assert "24 h ago" in str(reported[0]) and "resend_within=None" in str(reported[0])
    assert sim.stats.tasks_created == 0 and len(sim.stats.requests) == 0  # nothing sent
    store.dismiss("old-key-2")
    [gen] = run(resume(resend_within=None))
    assert gen.request.prompt == "yesterday's picture"
    assert sim.stats.tasks_created == 1 and store.unanswered() == []
    with pytest.raises(errors.ValidationError, match="resend_within"):
        run(resume(resend_within=float("nan")))
    with pytest.raises(errors.ValidationError, match="not the key of an unanswered create"):
        store.dismiss("old-key-1")  # answered now


def test_a_failed_resend_does_not_make_an_old_create_young(make_sim, tmp_path):
    """The window counts from the first send: resends that fail (an outage, a Collect
    clicked offline) must not keep an old key "fresh" for ever."""
    from flux2_widgets import ImageRequest, UnansweredCreateError

    sim = make_sim(latency=0.1)
    store = ResultStore(tmp_path)
    first = time.time() - 3000  # 50 min: still inside the hour
    store.record_sending("aging-key", ImageRequest("an aging picture"), sim.url, first)
    sim.inject("500", on="post")

    async def resume(**options):
        async with fast(sim, store=store, max_retries=0) as client:
            return await client.resume(**options)

    [failed] = run(resume())
    assert isinstance(failed, errors.ServerError)
    [entry] = store.unanswered()
    assert entry.submitted_at == first  # the resend was logged, and the age kept
    [reported] = run(resume(resend_within=600))
    assert isinstance(reported, UnansweredCreateError) and "50 min" in str(reported)


def test_a_run_log_with_odd_times_neither_breaks_resume_nor_looks_fresh(make_sim, tmp_path):
    """A hand-edited or foreign log: an ISO string, NaN or a bool where a time goes."""
    from flux2_widgets import UnansweredCreateError

    sim = make_sim(latency=0.1)
    store = ResultStore(tmp_path)
    payload = {"model": "flux-2-pro-text-to-image", "prompt": "odd", "output_resolution": "1k"}
    with store.log_path.open("a") as fh:
        for n, when in enumerate(["2026-11-29T10:00:00Z", float("nan"), True]):
            fh.write(json.dumps({"event": "sending", "idempotency_key": f"odd-{n}", "base_url": sim.url,
                                 "submitted_at": when, "at": when, "request": payload}) + "\n")

    async def resume():
        async with fast(sim, store=store) as client:
            return await client.resume()

    results = run(resume())
    assert [type(r) for r in results] == [UnansweredCreateError] * 3
    assert sim.stats.tasks_created == 0


def test_a_refused_post_is_not_resumed(make_sim, tmp_path):
    sim = make_sim(latency=0.1, balance_cents=1)
    store = ResultStore(tmp_path)

    async def main():
        async with fast(sim, store=store) as client:
            with pytest.raises(errors.InsufficientCreditsError):
                await client.generate("too dear")
            return await client.resume()

    assert run(main()) == []
    assert store.unanswered() == [] and sim.stats.tasks_created == 0


def test_a_task_from_the_run_log_is_looked_at_soon_and_teaches_nothing(make_sim, tmp_path):
    """Its start is unknown (an earlier kernel sent it): it may have finished long ago,
    so it is not planned around what was learned, and its duration is not learned."""
    sim = make_sim(latency=0.2, jitter=0.0)
    store = ResultStore(tmp_path)

    async def submit_and_die():
        async with fast(sim, store=store) as client:
            return await client.submit("left behind")

    task = run(submit_and_die())
    time.sleep(0.3)  # it finishes while no kernel is waiting

    async def resume():
        async with fast(sim, store=store) as client:
            client.latency.observe((client.base_url, "pro", "1k", "text_to_image"), 9.0, 9.5)
            before = sim.count("GET")
            [gen] = await client.resume()
            return gen, sim.count("GET") - before, client.latency.export()

    gen, gets, learned = run(resume())
    assert gen.id == task.id and gets == 1  # not held back until ~9 s, one look
    assert list(learned.values()) == [[(9.0, 9.5)]]


def test_the_run_log_is_parsed_again_only_when_it_changed(tmp_path, monkeypatch):
    """The Studio asks the log three questions at once: one parse, not three; and an
    append (from this process or another) is always seen."""
    from flux2_widgets import ImageRequest

    store = ResultStore(tmp_path)
    store.record_sending("k1", ImageRequest("one"), "http://sim", time.time())
    reads = []
    original = type(store.log_path).open

    def spy(self, mode="r", *a, **k):  # the log is read (by its index) only when it changed
        if self == store.log_path and "r" in mode:
            reads.append(self)
        return original(self, mode, *a, **k)

    monkeypatch.setattr(type(store.log_path), "open", spy)
    assert len(store.unanswered()) == 1 and store.pending() == [] and len(store.unanswered()) == 1
    assert len(reads) == 1
    with store.log_path.open("a") as fh:  # another kernel appends
        fh.write(json.dumps({"event": "dismissed", "idempotency_key": "k1"}) + "\n")
    assert store.unanswered() == [] and len(reads) == 2
