"""Arenas: blind preference tests a room votes in, each voter from their own browser.

An arena has a unique name and a config (its variants and questions, JSON). Its pairs
show two results side by side, each a variant, with a small JPEG preview of each side
stored in the database, so voters on other machines see the images without the folder.
A vote is kept at most once per voter, pair and question: a UNIQUE constraint decides,
so two processes double-clicking at once still record one, and the second is told.

Votes are read oldest first, optionally after a vote id, so a projector polls cheaply.
For that to be safe on PostgreSQL (where ids come from a sequence and need not commit
in order), a vote takes its arena's row lock in the very statement that takes its id,
and holds it only until its commit: within an arena, ids are handed out in commit
order. On SQLite every write is serialized anyway.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .._checks import check_number, check_text
from ..errors import ArenaExistsError, DuplicateVoteError, ValidationError, WorkspaceError
from ._backend import Backend, Tx
from ._records import ArenaCount, ArenaPair, ArenaRecord, ArenaVote

__all__ = ["Arenas", "MAX_PREVIEW_BYTES", "make_preview"]

#: A preview is a thumbnail, not the image: a few tens of KB.
MAX_PREVIEW_BYTES = 256 * 1024
PREVIEW_SIDE = 384
CHOICES = ("left", "right", "tie")
#: Largest vote id or position taken: what both databases' 64-bit integers hold, with room.
MAX_ID = 2**62
_PAIR = ("arena, pair_id, position, prompt, left_variant, right_variant, left_task_id, right_task_id, "
         "created_at")
_VOTE_COLUMNS = "arena, pair_id, voter, question, choice, variant, at, note"
_VOTE = f"id, {_VOTE_COLUMNS}"


def make_preview(image: bytes, side: int = PREVIEW_SIDE) -> bytes:
    """A JPEG of ``image`` no larger than ``side`` on its long edge (CPU work: off the loop)."""
    from .._thumbs import make_thumbnail

    return make_thumbnail(image, side)[0]


def _name(value: Any, field: str, limit: int = 200) -> str:
    """A name, id, question or prompt: non-empty text either database keeps (no NUL...)."""
    return str(check_text(field, value, limit=limit))


def _question(question: Any) -> None:
    """A question to filter by (``None``: every question)."""
    if question is not None:
        _name(question, "question", 500)


def _preview(data: Any, field: str) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValidationError(f"{field} must be JPEG bytes (make one with make_preview), not "
                              f"{type(data).__name__}", field=field, value=type(data).__name__,
                              allowed="JPEG")
    data = bytes(data)
    if not data.startswith(b"\xff\xd8") or len(data) > MAX_PREVIEW_BYTES:
        raise ValidationError(f"{field} must be a JPEG of at most {MAX_PREVIEW_BYTES // 1024} KB (a "
                              f"thumbnail: make_preview(image_bytes)); got {len(data)} bytes"
                              + ("" if data.startswith(b"\xff\xd8") else " that are not a JPEG"),
                              field=field, value=len(data), allowed=f"JPEG <= {MAX_PREVIEW_BYTES} bytes")
    return data


def _pair(r: Sequence[Any]) -> ArenaPair:
    return ArenaPair(arena=r[0], pair_id=r[1], position=int(r[2]), prompt=r[3], left_variant=r[4],
                     right_variant=r[5], left_task_id=r[6], right_task_id=r[7], created_at=float(r[8]))


def _vote(r: Sequence[Any]) -> ArenaVote:
    return ArenaVote(id=int(r[0]), arena=r[1], pair_id=r[2], voter=r[3], question=r[4], choice=r[5],
                     variant=r[6], at=float(r[7]), note=r[8])


class Arenas:
    """``Workspace.arenas``."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend
        self._configs: dict[str, dict[str, Any]] = {}

    # -- arenas --------------------------------------------------------------------
    def create(self, name: str, *, variants: Sequence[str], questions: Sequence[str] = ("Which is better?",),
               config: Mapping[str, Any] | None = None) -> ArenaRecord:
        """A new arena. A name already taken raises :class:`~flux2_widgets.errors.ArenaExistsError`."""
        name = _name(name, "name")
        names = [_name(v, "variants") for v in variants]
        asked = [_name(q, "questions", 500) for q in questions]
        if len(names) < 2 or len(set(names)) != len(names):
            raise ValidationError(f"an arena compares at least two distinct variants, not {names!r}",
                                  field="variants", value=names, allowed=">= 2 distinct names")
        if not asked or len(set(asked)) != len(asked):
            raise ValidationError("an arena asks one or more distinct questions", field="questions",
                                  value=asked, allowed=">= 1 distinct questions")
        body = {**dict(config or {}), "variants": names, "questions": asked}
        try:
            text = json.dumps(body, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"config must be JSON: {exc}", field="config", value=type(config).__name__,
                                  allowed="JSON-serializable dict") from None
        created = time.time()
        made = self._db.write(lambda tx: tx.value(
            "INSERT INTO arenas (name, config, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING "
            "RETURNING name", (name, text, created)))
        if made is None:
            raise ArenaExistsError(f"an arena named {name!r} exists already: open it with "
                                   f"Arena.open({name!r}) (its .finish() makes what a cut-short making "
                                   "left), or pick another name", code="name_taken")
        return ArenaRecord(name, body, created)

    def get(self, name: str) -> ArenaRecord:
        _name(name, "name")
        row = self._db.read(lambda tx: tx.one("SELECT name, config, created_at FROM arenas WHERE name = ?",
                                              (name,)))
        if row is None:
            raise WorkspaceError(f"no arena named {name!r}", code="not_found")
        return ArenaRecord(row[0], json.loads(row[1]), float(row[2]))

    def all(self) -> list[ArenaRecord]:
        """Every arena, newest first."""
        rows = self._db.read(lambda tx: tx.all("SELECT name, config, created_at FROM arenas "
                                               "ORDER BY created_at DESC, name"))
        return [ArenaRecord(r[0], json.loads(r[1]), float(r[2])) for r in rows]

    # -- pairs ---------------------------------------------------------------------
    def add_pair(self, arena: str, *, prompt: str, left_variant: str, right_variant: str,
                 left_task_id: str, right_task_id: str, left_preview: bytes, right_preview: bytes,
                 pair_id: str | None = None, position: int | None = None) -> ArenaPair:
        """Add a pair (adding the same ``pair_id`` again returns the first). ``position``
        places it among the arena's pairs (its maker's plan order, whatever order its images
        arrive in); by default it goes after those already there."""
        pid = _name(pair_id, "pair_id") if pair_id is not None else uuid.uuid4().hex
        if position is not None and (isinstance(position, bool) or not isinstance(position, int)
                                     or not 0 <= position < MAX_ID):
            raise ValidationError(f"a pair's position is a whole number from 0, not {position!r}",
                                  field="position", value=position, allowed=">= 0")
        previews = (_preview(left_preview, "left_preview"), _preview(right_preview, "right_preview"))
        texts = (_name(prompt, "prompt", 5000), _name(left_variant, "left_variant"),
                 _name(right_variant, "right_variant"), _name(left_task_id, "left_task_id"),
                 _name(right_task_id, "right_task_id"))

        def write(tx: Tx) -> ArenaPair:
            config = tx.value(f"SELECT config FROM arenas WHERE name = ?{tx.for_update}", (arena,))
            if config is None:
                raise WorkspaceError(f"no arena named {arena!r} to add a pair to", code="not_found")
            variants = json.loads(config).get("variants") or []
            for side in (texts[1], texts[2]):
                if side not in variants:
                    raise ValidationError(f"{side!r} is not a variant of arena {arena!r}; its variants: "
                                          f"{', '.join(variants)}", field="variant", value=side,
                                          allowed=variants)
            at = position if position is not None else int(
                tx.value("SELECT COUNT(*) FROM arena_pairs WHERE arena = ?", (arena,)) or 0)
            tx.execute(f"INSERT INTO arena_pairs ({_PAIR}, left_preview, right_preview) VALUES "
                       f"({', '.join('?' * 11)}) ON CONFLICT (arena, pair_id) DO NOTHING",
                       (arena, pid, at, *texts, time.time(), *previews))
            row = tx.one(f"SELECT {_PAIR} FROM arena_pairs WHERE arena = ? AND pair_id = ?", (arena, pid))
            assert row is not None
            return _pair(row)

        return self._db.write(write)

    def pairs(self, arena: str) -> list[ArenaPair]:
        """An arena's pairs by position (previews not included)."""
        rows = self._db.read(lambda tx: tx.all(f"SELECT {_PAIR} FROM arena_pairs WHERE arena = ? "
                                               "ORDER BY position, pair_id", (arena,)))
        return [_pair(r) for r in rows]

    def preview(self, arena: str, pair_id: str, side: str) -> bytes:
        """The JPEG preview of one side ("left" or "right") of a pair."""
        _name(pair_id, "pair_id")
        if side not in ("left", "right"):
            raise ValidationError(f"side must be 'left' or 'right', not {side!r}", field="side", value=side,
                                  allowed=("left", "right"))
        data = self._db.read(lambda tx: tx.value(
            f"SELECT {side}_preview FROM arena_pairs WHERE arena = ? AND pair_id = ?", (arena, pair_id)))
        if data is None:
            raise WorkspaceError(f"arena {arena!r} has no pair {pair_id!r}", code="not_found")
        return bytes(data)

    # -- votes ---------------------------------------------------------------------
    def vote(self, arena: str, pair_id: str, *, voter: str, question: str, choice: str,
             note: str | None = None) -> ArenaVote:
        """Record one vote: ``choice`` as shown ("left", "right" or "tie"). A second vote of
        the same voter on the same pair and question raises
        :class:`~flux2_widgets.errors.DuplicateVoteError`; the first stands."""
        voter = _name(voter, "voter")
        _name(pair_id, "pair_id")
        if choice not in CHOICES:
            raise ValidationError(f"choice must be one of {', '.join(CHOICES)}, not {choice!r}",
                                  field="choice", value=choice, allowed=CHOICES)
        check_text("note", note, limit=2000, blank=True, optional=True)

        questions = self._config(arena).get("questions") or []
        if question not in questions:
            raise ValidationError(f"{question!r} is not a question of arena {arena!r}; its questions: "
                                  f"{questions}", field="question", value=question, allowed=questions)
        # One statement: the pair looked up, the vote written, its uniqueness decided by the
        # constraint. On PostgreSQL it also takes the arena's row lock, so this arena's vote
        # ids are handed out in commit order (see the module doc), and commits in the same
        # round trip, so the lock is never held waiting for a client.
        lock = ("WITH locked AS (SELECT name FROM arenas WHERE name = ? FOR UPDATE) "
                if self._db.dialect == "postgresql" else "")
        source = ("FROM locked JOIN arena_pairs p ON p.arena = locked.name WHERE p.pair_id = ?" if lock
                  else "FROM arena_pairs p WHERE p.arena = ? AND p.pair_id = ?")
        sql = (f"{lock}INSERT INTO arena_votes ({_VOTE_COLUMNS}) SELECT p.arena, p.pair_id, ?, ?, ?, "
               "CASE ? WHEN 'left' THEN p.left_variant WHEN 'right' THEN p.right_variant END, ?, ? "
               f"{source} ON CONFLICT (arena, pair_id, voter, question) DO NOTHING RETURNING {_VOTE}")
        values = (voter, question, choice, choice, time.time(), note or "")
        params = (arena, *values, pair_id) if lock else (*values, arena, pair_id)
        rows = self._db.statement(sql, params)
        if rows:
            return _vote(rows[0])
        if self._db.read(lambda tx: tx.value("SELECT 1 FROM arena_pairs WHERE arena = ? AND pair_id = ?",
                                             (arena, pair_id))) is None:
            raise WorkspaceError(f"arena {arena!r} has no pair {pair_id!r}", code="not_found")
        raise DuplicateVoteError(f"{voter!r} already voted on pair {pair_id!r} for {question!r}; the first "
                                 "vote stands", code="duplicate_vote")

    def _config(self, arena: str) -> dict[str, Any]:
        """An arena's config (it never changes once made: read once per process)."""
        found = self._configs.get(arena)
        if found is None:
            found = self._configs[arena] = self.get(arena).config
        return found

    def votes(self, arena: str, *, since: int | None = None, question: str | None = None) -> list[ArenaVote]:
        """An arena's votes, oldest first; with ``since``, only those after that vote id."""
        check_number("since", since, strict=False, integer=True, maximum=MAX_ID, optional=True)
        _question(question)
        sql = f"SELECT {_VOTE} FROM arena_votes WHERE arena = ?"
        params: list[Any] = [arena]
        if since is not None:
            sql += " AND id > ?"
            params.append(since)
        if question is not None:
            sql += " AND question = ?"
            params.append(question)
        return [_vote(r) for r in self._db.read(lambda tx: tx.all(sql + " ORDER BY id", params))]

    def counts(self, arena: str, *, question: str | None = None) -> dict[str, ArenaCount]:
        """Each variant's wins, losses and ties (every variant of the arena, voted on or not)."""
        _question(question)
        sql = ("SELECT p.left_variant, p.right_variant, v.choice, COUNT(*) FROM arena_votes v "
               "JOIN arena_pairs p ON p.arena = v.arena AND p.pair_id = v.pair_id WHERE v.arena = ?")
        params: list[Any] = [arena]
        if question is not None:
            sql += " AND v.question = ?"
            params.append(question)
        sql += " GROUP BY p.left_variant, p.right_variant, v.choice"
        rows = self._db.read(lambda tx: tx.all(sql, params))
        tally: dict[str, list[int]] = {v: [0, 0, 0] for v in self.get(arena).variants}
        for left, right, choice, n in rows:
            for v in (left, right):
                tally.setdefault(v, [0, 0, 0])
            n = int(n)
            if choice == "tie":
                tally[left][2] += n
                tally[right][2] += n
            else:
                winner, loser = (left, right) if choice == "left" else (right, left)
                tally[winner][0] += n
                tally[loser][1] += n
        return {v: ArenaCount(v, *t) for v, t in tally.items()}

    def voters(self, arena: str, *, question: str | None = None) -> int:
        """How many different voters voted."""
        _question(question)
        sql = "SELECT COUNT(DISTINCT voter) FROM arena_votes WHERE arena = ?"
        params: list[Any] = [arena]
        if question is not None:
            sql += " AND question = ?"
            params.append(question)
        return int(self._db.read(lambda tx: tx.value(sql, params)) or 0)

    def unvoted(self, arena: str, *, voter: str, question: str) -> list[ArenaPair]:
        """The pairs ``voter`` has not voted on yet for ``question``, in order."""
        _name(voter, "voter")
        _name(question, "question", 500)
        rows = self._db.read(lambda tx: tx.all(
            f"SELECT {_PAIR} FROM arena_pairs p WHERE p.arena = ? AND NOT EXISTS (SELECT 1 "
            "FROM arena_votes v WHERE v.arena = p.arena AND v.pair_id = p.pair_id AND v.voter = ? "
            "AND v.question = ?) "
            "ORDER BY p.position, p.pair_id", (arena, voter, question)))
        return [_pair(r) for r in rows]
