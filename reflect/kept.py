"""Saved moments ("My moments"): stretches of a session the person chose to keep, to read or
listen to again when it is hard.

Not to be confused with reflect.moments, which turns any stretch of a session into a search
`Hit` for views that didn't come from a search (a recap's key moments). A kept moment is the
person's own choice, stored in the vault (one sealed record, reflect.records.MOMENTS) with an
optional label; it is shown through reflect.moments like any other quote.

A moment is whole turns of one session. It is anchored three ways, so it survives a
re-import of the same session (`reflect import --replace`, which may fix typos or speaker
names): by the turns' numbers, by the words they held when it was kept, and by their times
in the recording. `locate` finds it again in a session whose text changed. The stored words
are only an anchor: what is shown is always read from the session itself.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from reflect import schema
from reflect.errors import UsageError, VaultCorrupted
from reflect.session import TURN_SEPARATOR, Session

RECORD_VERSION = 1
# A label is a few words ("the breathing Dr. Rivera talked me through"), not a diary entry.
MAX_LABEL_CHARS = 200

_MOMENT_SPEC = {
    "id": schema.hex_string,
    "session_id": str,
    "label": str,
    "kept_at": str,
    "first_turn": schema.natural,
    "last_turn": schema.natural,
    "start": schema.optional(float),
    "end": schema.optional(float),
    "text": str,
}
RECORD_SPEC = {"version": int, "moments": schema.list_of(_MOMENT_SPEC)}


@dataclass(frozen=True, slots=True)
class KeptMoment:
    """A moment as stored: which turns of which session, and the anchors to find them."""

    id: str
    session_id: str
    label: str
    kept_at: str  # ISO time, UTC
    first_turn: int  # 0-based, inclusive
    last_turn: int
    start: float | None  # the first turn's start in the recording, if it has one
    end: float | None
    text: str  # the turns' words when kept: the anchor for a re-import, never shown

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def damaged() -> VaultCorrupted:
    return VaultCorrupted(
        "Your saved moments are damaged and can't be read; your sessions are not affected."
    )


def to_record(moments: list[KeptMoment]) -> dict[str, Any]:
    return {"version": RECORD_VERSION, "moments": [m.to_dict() for m in moments]}


def from_record(body: Any) -> list[KeptMoment]:
    """The moments of a decoded record, every field checked first (VaultCorrupted if not)."""
    schema.require(body, RECORD_SPEC, damaged)
    fields = KeptMoment.__dataclass_fields__
    return [KeptMoment(**{k: v for k, v in row.items() if k in fields}) for row in body["moments"]]


def clean_label(label: str | None) -> str:
    from reflect.safe_text import terminal

    cleaned = " ".join(terminal(label or "").split())
    if len(cleaned) > MAX_LABEL_CHARS:
        raise UsageError(f"A label can be at most {MAX_LABEL_CHARS} characters.")
    return cleaned


def span_text(session: Session, first: int, last: int) -> str:
    return session.text[session.turns[first].char_start : session.turns[last].char_end]


def new_moment(session: Session, first: int, last: int, label: str | None) -> KeptMoment:
    """Turns `first`..`last` (0-based) of `session`, kept now."""
    if not session.turns:
        raise UsageError(f"“{session.title}” has no turns to keep.")
    if not 0 <= first <= last < len(session.turns):
        raise UsageError(f"“{session.title}” has turns 1 to {len(session.turns)}.")
    return KeptMoment(
        id=secrets.token_hex(6),
        session_id=session.id,
        label=clean_label(label),
        kept_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        first_turn=first,
        last_turn=last,
        start=session.turns[first].start,
        end=session.turns[last].end,
        text=span_text(session, first, last),
    )


def turns_at(session: Session, at: float, to: float | None = None) -> tuple[int, int]:
    """The turns spoken from `at` to `to` (the one under `at` alone without `to`)."""
    timed = [t for t in session.turns if t.start is not None]
    if not timed:
        raise UsageError(
            f"“{session.title}” has no times, so a moment can't be found by time; "
            "use --turn N (numbers from `reflect show SESSION --numbers`)."
        )
    end = at if to is None else to
    if end < at:
        raise UsageError("--to must come after --at.")
    # The turn under `at` is the last one starting at or before it (or the first one).
    first = max((t for t in timed if (t.start or 0.0) <= at), key=lambda t: t.index, default=None)
    first = first or timed[0]
    last = max((t for t in timed if (t.start or 0.0) <= end), key=lambda t: t.index, default=first)
    return first.index, max(first.index, last.index)


def turns_of_span(session: Session, char_start: int, char_end: int) -> tuple[int, int]:
    """The whole turns a stretch of the session's text touches."""
    touched = [
        t.index for t in session.turns if t.char_start < char_end and char_start < t.char_end
    ]
    if not touched:
        raise UsageError("That stretch holds no words of the session.")
    return touched[0], touched[-1]


def cited_span(
    char_start: int, char_end: int, match_spans: Sequence[tuple[int, int]] = ()
) -> tuple[int, int]:
    """What a quote cites, as a stretch of its session's text: where its matched words are
    (offsets into the quote), else the whole quote. A search result can be a chunk of
    several turns; the moment worth keeping is the turns the words were found in."""
    if not match_spans:
        return char_start, char_end
    return (
        char_start + min(a for a, _ in match_spans),
        char_start + max(b for _, b in match_spans),
    )


def locate(moment: KeptMoment, session: Session) -> tuple[int, int] | None:
    """Where `moment` is in `session` (first and last turn) after a re-import changed it, or
    None when the session has no turns left. Tried in order: the same turns with the same
    words; the same words elsewhere; the same time in the recording; the first turn's words;
    the same turn numbers."""
    turns = session.turns
    if not turns:
        return None
    count = moment.last_turn - moment.first_turn
    if (
        moment.last_turn < len(turns)
        and span_text(session, moment.first_turn, moment.last_turn) == moment.text
    ):
        return moment.first_turn, moment.last_turn
    starts = {t.char_start: t.index for t in turns}
    at = session.text.find(moment.text) if moment.text else -1
    while at >= 0:
        if at in starts:
            first = starts[at]
            last = turns_of_span(session, at, at + len(moment.text))[1]
            return first, last
        at = session.text.find(moment.text, at + 1)
    if moment.start is not None and any(t.start is not None for t in turns):
        # Up to just before the old end: the turn starting as the moment ended isn't in it.
        to = max(moment.start, moment.end - 0.5) if count and moment.end is not None else None
        return turns_at(session, moment.start, to)
    head = moment.text.split(TURN_SEPARATOR, 1)[0]
    same_head = [t.index for t in turns if head and session.turn_text(t) == head]
    if same_head:
        first = same_head[0]
        return first, min(first + count, len(turns) - 1)
    first = min(moment.first_turn, len(turns) - 1)
    return first, min(first + count, len(turns) - 1)


def reanchored(moment: KeptMoment, session: Session) -> KeptMoment | None:
    """`moment` pointing into `session` as it is now (the same object when nothing moved)."""
    found = locate(moment, session)
    if found is None:
        return None
    first, last = found
    text = span_text(session, first, last)
    if (first, last, text) == (moment.first_turn, moment.last_turn, moment.text) and (
        moment.session_id == session.id
    ):
        return moment
    return replace(
        moment,
        session_id=session.id,
        first_turn=first,
        last_turn=last,
        start=session.turns[first].start,
        end=session.turns[last].end,
        text=text,
    )


def follow_replacement(
    moments: list[KeptMoment], replaced: str, session: Session
) -> list[KeptMoment]:
    """The moments after session `replaced` was replaced by `session` (a re-import)."""
    out = []
    for m in moments:
        if m.session_id != replaced:
            out.append(m)
        elif (moved := reanchored(m, session)) is not None:
            out.append(moved)
    return out


def find(moments: list[KeptMoment], reference: str) -> KeptMoment:
    """A moment by its number in `reflect moments` (1 = kept first) or its id."""
    ref = reference.strip()
    if ref.isdigit() and 1 <= int(ref) <= len(moments) and len(ref) < 6:
        return moments[int(ref) - 1]
    matches = [m for m in moments if m.id == ref or (len(ref) >= 4 and m.id.startswith(ref))]
    if len(matches) == 1:
        return matches[0]
    if not moments:
        raise UsageError("You have no saved moments yet; keep one with `reflect keep`.")
    raise UsageError(
        f"There is no saved moment {reference!r}; `reflect moments` lists them with numbers."
    )


def in_order(moments: list[KeptMoment]) -> list[KeptMoment]:
    """As `reflect moments` numbers them: the first kept is 1."""
    return sorted(moments, key=lambda m: m.kept_at)  # stable: ties stay as kept


def first_words(text: str, count: int = 12) -> str:
    words = text.split()
    return " ".join(words[:count]) + ("…" if len(words) > count else "")


# ---- what a person sees -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SavedMoment:
    """A kept moment as listed: read from its session as it is now."""

    number: int  # in `reflect moments`
    id: str
    label: str
    kept_at: str
    session_id: str
    session_title: str
    session_date: dt.date
    speaker: str | None  # the one speaker, or None when several (or unnamed) speak
    first_words: str
    start: float | None
    end: float | None
    char_start: int
    char_end: int
    first_turn: int
    last_turn: int
    has_recording: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "id": self.id,
            "label": self.label,
            "kept_at": self.kept_at,
            "session_id": self.session_id,
            "session_title": self.session_title,
            "session_date": self.session_date.isoformat(),
            "speaker": self.speaker,
            "first_words": self.first_words,
            "start": self.start,
            "end": self.end,
            "turns": [self.first_turn + 1, self.last_turn + 1],
            "recording": self.has_recording,
        }


def saved(
    number: int, moment: KeptMoment, session: Session, has_recording: Callable[[Session], bool]
) -> SavedMoment | None:
    """What `moment` shows of `session` (None if it can't be found in it any more)."""
    found = reanchored(moment, session)
    if found is None:
        return None
    turns = session.turns[found.first_turn : found.last_turn + 1]
    speakers = {t.speaker for t in turns}
    a, b = turns[0].char_start, turns[-1].char_end
    return SavedMoment(
        number=number,
        id=moment.id,
        label=moment.label,
        kept_at=moment.kept_at,
        session_id=session.id,
        session_title=session.title,
        session_date=session.date,
        speaker=speakers.pop() if len(speakers) == 1 else None,
        first_words=first_words(session.text[a:b]),
        start=turns[0].start,
        end=turns[-1].end,
        char_start=a,
        char_end=b,
        first_turn=found.first_turn,
        last_turn=found.last_turn,
        has_recording=has_recording(session),
    )
