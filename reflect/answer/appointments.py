"""When is the next session? As the sessions booked it, usually at the end of the last one:
"Shall we say the twenty-second of September?", "Our next session is Thursday the eighth of
January", "Same time next week?", "We'll speak in two weeks, the eighteenth".

The day is read from the words that book it (or the reply to them: "Shall we leave it three
weeks until the next one?" "That's the twentieth of October?"), resolved against the day of
the session it was said in; a number of weeks from that session ("same time in two weeks")
when no day is said. Nothing else: a booking with neither ("Shall we pick it up next week?")
is quoted without a day, and sessions that book nothing are said to book nothing. A wrong
day for an appointment is worse than none, so the patterns are narrow and each is tested on
invented transcripts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from reflect.answer.events import day_ahead
from reflect.answer.labels import last_words
from reflect.session import Session

__all__ = ["Booking", "asks_next_session", "next_session_booked"]

_THERAPIST = r"you|u|my\s+(?:therapist|counsell?or|counselor|psychologist)"
_LEAD = r"^(?:and\s+|so\s+|but\s+|ok(?:ay)?,?\s+)?(?:remind\s+me,?\s+)?"


def asks_next_session(text: str, others: Sequence[str] = ()) -> bool:
    """ "when's my next appointment?", "when is our next session?", "when do I see Annika
    next?" (`others`: the therapist's labels), "when do we meet again?"."""
    names = last_words(others)
    who = "|".join([_THERAPIST, *names])
    pattern = re.compile(
        _LEAD
        + r"(?:when(?:['’]s|\s+is|\s+will\s+be|\s+was)?|what\s+(?:day|date|time)\s+(?:is|was))"
        r"\s+(?:my|our|the)\s+next\s+(?:session|appointment|meeting|one)\b"
        # not "my next appointment with the dentist"
        rf"(?!\s+(?:with|at|for)\s+(?!(?:{who})\b))"
        rf"|{_LEAD}when\s+(?:do|will|am|shall|are|can)\s+(?:i|we)\s+(?:next\s+)?"
        rf"(?:see|seeing|meet|meeting)\s+(?:(?:{who})\s+)?(?:next|again)\b"
        rf"|{_LEAD}when\s+(?:do|will|am|shall|can)\s+(?:i|we)\s+(?:next\s+)?(?:see|meet)\s+(?:{who})\b"
        r"\s*\??$"
        r"|\b(?:my|our|the)\s+next\s+(?:session|appointment)\s+(?:is\s+)?when\b",
        re.IGNORECASE,
    )
    return pattern.search(" ".join(text.split())) is not None


# Words that book the next session. "the same time each night" is not one, nor "until next
# time" (what to do until then, not when).
_BOOKS = re.compile(
    r"\bnext\s+(?:session|appointment)\b|\b(?:the|our)\s+next\s+one\b"
    r"|\bsee\s+you\s+(?:on|next|in|after|the|again\s+(?:on|in|next))\b"
    r"|(?<!\bthe\s)\bsame\s+time\b(?!\s+(?:each|every|as|of))"
    r"|\bbook\s+(?:in|it\s+in|the\s+next)\b"
    r"|\b(?:we['’]ll|we\s+will|let['’]s|shall\s+we)\s+(?:speak|meet|talk)\s+(?:again\s+)?(?:in|on|next)\b"
    r"|\bmeet\s+(?:again\s+)?in\s+(?:a\s+fortnight|\w+\s+weeks?)\b"
    r"|\bpick\s+(?:it|this|that)\s+up\s+next\s+week\b",
    re.IGNORECASE,
)
# "Shall we say the seventeenth?": a booking only with a day in it.
_BOOKS_A_DAY = re.compile(r"\bshall\s+we\s+(?:say|do|make\s+it)\b", re.IGNORECASE)
_WEEKS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_IN_WEEKS = re.compile(
    r"\bsame\s+time\s+next\s+week\b|\bin\s+a\s+fortnight\b|\bfortnight['’]s\s+time\b"
    r"|\b(?:in|leave\s+it)\s+(a|one|two|three|four|five|six|\d)\s+weeks?\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
# Bookings are made towards the end of a session: a "see you Sunday" told of a handover
# earlier on is someone else's.
_LAST_PART = 0.6


@dataclass(frozen=True, slots=True)
class Booking:
    """Where a session booked the next one: the turn with the booking words (`a`..`b` of
    `session.text`), the words, and the day they give (None: they give none); `day_at` is
    the turn the day was said in, when another (the reply)."""

    session: Session
    a: int
    b: int
    sentence: str
    day: dt.date | None
    day_at: tuple[int, int] | None = None
    day_sentence: str = ""


def next_session_booked(sessions: Sequence[Session], today: dt.date) -> Booking | None:
    """The next session as the sessions booked it: in the latest session (held by `today`),
    its last booking that gives a day, else its last booking; else a booking in an earlier
    session for a day after the latest one. None when none books it."""
    held = sorted((s for s in sessions if s.date <= today), key=lambda s: (s.date, s.id))
    if not held:
        return None
    latest = held[-1]
    found = _bookings(latest)
    if found:
        dated = [b for b in found if b.day is not None]
        return (dated or found)[-1]
    for session in reversed(held[:-1]):
        later = [b for b in _bookings(session) if b.day is not None and b.day > latest.date]
        if later:
            return later[-1]
    return None


def _bookings(session: Session) -> list[Booking]:
    text = session.text
    turns = [(t.char_start, t.char_end) for t in session.turns] or [(0, len(text))]
    start_at = int(len(text) * (1 - _LAST_PART))
    out: list[Booking] = []
    for i, (a, b) in enumerate(turns):
        if b < start_at:
            continue
        for m in _SENTENCE.finditer(text, a, b):
            sentence = m.group(0).strip()
            booked = _BOOKS.search(sentence)
            said = day_ahead(sentence, session.date)
            if not booked and not (_BOOKS_A_DAY.search(sentence) and said is not None):
                continue
            if said is not None:
                out.append(Booking(session, a, b, sentence, said))
                continue
            # The day in the words after it, in the turn or the two replies.
            reply = _day_after(session, turns[i : i + 3], m.end())
            if reply is not None:
                day, at, words = reply
                out.append(
                    Booking(session, a, b, sentence, day, None if at == (a, b) else at, words)
                )
                continue
            out.append(Booking(session, a, b, sentence, _weeks_on(sentence, session.date)))
    return out


def _day_after(
    session: Session, turns: Sequence[tuple[int, int]], after: int
) -> tuple[dt.date, tuple[int, int], str] | None:
    for a, b in turns:
        for m in _SENTENCE.finditer(session.text, max(a, after), b):
            day = day_ahead(m.group(0), session.date)
            if day is not None:
                return day, (a, b), m.group(0).strip()
    return None


def _weeks_on(sentence: str, said_on: dt.date) -> dt.date | None:
    """ "Same time next week" is a week on; "in a fortnight", two; "in three weeks", three."""
    m = _IN_WEEKS.search(sentence)
    if m is None:
        return None
    said = m.group(0).lower()
    if said.startswith("same time"):
        weeks = 1
    elif "fortnight" in said:
        weeks = 2
    else:
        number = m.group(1).lower()
        weeks = int(number) if number.isdigit() else _WEEKS[number]
    return said_on + dt.timedelta(weeks=weeks)
