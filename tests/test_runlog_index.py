"""The run-log index gives exactly what folding the whole log gives (the rules
``ResultStore`` always applied), however the log grows: appended in pieces, with torn
lines, replaced, rewritten in place, or with the index file deleted or damaged."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flux2_widgets import ResultStore
from flux2_widgets.store import _fold_sending, _fold_submitted, _fold_undelivered
from flux2_widgets.workspace._runlog import RunLogIndex

KINDS = ("sending", "submitted", "completed", "failed", "undelivered", "rejected", "dismissed")
URLS = ("http://a", "http://b", None)

event = st.fixed_dictionaries({
    "event": st.sampled_from(KINDS),
    "task_id": st.sampled_from(["t1", "t2", "t3", None]),
    "idempotency_key": st.sampled_from(["k1", "k2", "k3", "", None]),
    "base_url": st.sampled_from(URLS),
    "at": st.floats(min_value=1, max_value=2e9),
    "submitted_at": st.one_of(st.none(), st.floats(min_value=-1, max_value=2e9)),
})


def _write(path: Path, events: list[dict], torn: bool = False) -> None:
    with path.open("ab") as fh:
        for e in events:
            fh.write((json.dumps(e) + "\n").encode())
        if torn:
            fh.write(b'{"event": "submitted", "task_')


def _same(index: RunLogIndex, events: list[dict]) -> None:
    for base_url in ("http://a", "http://b", None):
        assert index.submitted(base_url) == _fold_submitted(events, base_url)
        assert index.undelivered(base_url) == _fold_undelivered(events, base_url)
        assert index.sending(base_url) == _fold_sending(events, base_url)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(event, max_size=12), min_size=1, max_size=5), torn=st.booleans())
def test_the_index_equals_folding_the_whole_log(tmp_path_factory, batches, torn) -> None:
    folder = tmp_path_factory.mktemp("log")
    log = folder / "runs.jsonl"
    log.touch()
    index = RunLogIndex(log)
    seen: list[dict] = []
    for i, batch in enumerate(batches):
        _write(log, batch, torn=torn and i == len(batches) - 1)
        seen += batch
        _same(index, seen)  # caught up from where it was
    _same(RunLogIndex(log, folder / "other-index.db"), seen)  # built in one go
    index.close()


def test_rewritten_replaced_or_lost_logs_and_indexes_are_read_again(tmp_path) -> None:
    log = tmp_path / "runs.jsonl"
    a = {"event": "submitted", "task_id": "t1", "base_url": "u", "at": 5.0}
    b = {"event": "submitted", "task_id": "t2", "base_url": "u", "at": 6.0}
    _write(log, [a])
    index = RunLogIndex(log)
    assert index.submitted() == [a]
    # rewritten in place to the same length: the tail no longer matches
    log.write_bytes(log.read_bytes().replace(b'"t1"', b'"t9"'))
    assert index.submitted() == [{**a, "task_id": "t9"}]
    # replaced by another file (another inode)
    other = tmp_path / "new.jsonl"
    _write(other, [b])
    os.replace(other, log)
    assert index.submitted() == [b]
    # the index file deleted, then damaged: rebuilt from the log
    index.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index.index_path}{suffix}").unlink(missing_ok=True)
    assert RunLogIndex(log).submitted() == [b]
    fresh = RunLogIndex(log)
    fresh.close()
    index.index_path.write_bytes(os.urandom(9000))
    assert RunLogIndex(log).submitted() == [b]
    log.unlink()
    assert RunLogIndex(log).submitted() == []


def test_a_torn_last_line_is_healed_by_the_next_append(tmp_path) -> None:
    store = ResultStore(tmp_path)
    from flux2_widgets import ImageRequest

    store.record_sending("k1", ImageRequest("one fox"), "http://sim", 1.0)
    with store.log_path.open("ab") as fh:
        fh.write(b'{"event": "sending", "idempotency_key": "k-cut')  # a writer killed mid-line
    store.record_sending("k2", ImageRequest("two foxes"), "http://sim", 2.0)
    assert [u.idempotency_key for u in store.unanswered()] == ["k1", "k2"]
    assert [e["idempotency_key"] for e in store.events()] == ["k1", "k2"]
    lines = store.log_path.read_bytes().split(b"\n")
    assert lines[1].startswith(b'{"event": "sending", "idempotency_key": "k-cut') and b"k2" in lines[2]


def test_a_prompt_with_a_line_separator_is_one_event(tmp_path) -> None:
    """``json.dumps(ensure_ascii=False)`` keeps U+2028 raw: splitlines() would cut the line."""
    store = ResultStore(tmp_path)
    from flux2_widgets import ImageRequest

    store.record_sending("k1", ImageRequest("two\u2028lines"), "http://sim", 1.0)
    assert [u.request.prompt for u in store.unanswered()] == ["two\u2028lines"]
    assert len(store.events()) == 1
