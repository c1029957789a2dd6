""" "Before the summer break", "before you went on leave": the session before the break.

A break in therapy shows in the session dates as a gap clearly longer than the usual
spacing (at least 1.75 times the usual gap, and a week more than it); "the break" is the
longest such gap, or the one that falls most in the season the question names ("the
Christmas break"). The session before it is the one the question means. No such gap, or two
as long as each other: no reading, and the question is answered as it would be without it.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Sequence
from typing import Protocol

from reflect.answer.labels import last_words

__all__ = ["find_break", "session_before_break"]


class Dated(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def date(self) -> dt.date: ...


# How much longer than the usual gap a break is: two weeks off weekly sessions, four off
# fortnightly ones (three weeks off fortnightly sessions is a missed week, not a break).
_LONGER = 1.75
_SEASON = r"summer|christmas|xmas|easter|winter|august|half[-\s]term|new\s+year"
_AWAY = r"away|on\s+leave|on\s+holiday|on\s+(?:your|her|his)\s+holidays?|off"


def find_break(text: str, others: Sequence[str] = ()) -> re.Match[str] | None:
    """ "before the summer break", "just before you went on leave", "before your holiday",
    "before Annika went away" (`others`: the therapist's labels)."""
    names = last_words(others)
    who = "|".join(["you", r"my\s+(?:therapist|counsell?or)", *names])
    pattern = re.compile(
        r"\b(?:(?:just|right)\s+)?before\s+"
        rf"(?:(?:the|our|your)\s+(?:(?P<season>{_SEASON})\s+)?(?:break|gap|time\s+off)"
        r"|(?:your|the\s+therapist['’]s|my\s+therapist['’]s|my\s+counsell?or['’]s"
        + "".join(rf"|{n}['’]s" for n in names)
        + r")\s+(?:(?:summer|christmas|easter)\s+)?(?:holidays?|leave|break|time\s+off)"
        rf"|(?:{who})\s+(?:went|were|was|go|goes)\s+(?:{_AWAY}))\b",
        re.IGNORECASE,
    )
    return pattern.search(text)


def session_before_break(sessions: Sequence[Dated], season: str | None = None) -> Dated | None:
    """The last session before the break, or None (see the module's note)."""
    ordered = sorted(sessions, key=lambda s: (s.date, s.id))
    gaps = [
        (ordered[i], (ordered[i + 1].date - ordered[i].date).days)
        for i in range(len(ordered) - 1)
        if ordered[i + 1].date > ordered[i].date
    ]
    if len(gaps) < 2:
        return None
    usual = statistics.median(days for _, days in gaps)
    breaks = [(s, days) for s, days in gaps if days >= _LONGER * usual and days >= usual + 7]
    months = _MONTHS.get(re.sub(r"[-\s]+", " ", season.lower())) if season else None

    def measure(s: Dated, days: int) -> int:
        if not months:
            return days
        # The break that falls most in the season's months ("the Christmas break").
        return sum((s.date + dt.timedelta(days=d)).month in months for d in range(1, days))

    scored = [(s, measure(s, days)) for s, days in breaks]
    best = max((m for _, m in scored), default=0)
    chosen = [s for s, m in scored if m == best]
    return chosen[0] if best > 0 and len(chosen) == 1 else None


_MONTHS = {
    "summer": {7, 8},
    "august": {8},
    "christmas": {12, 1},
    "xmas": {12, 1},
    "new year": {12, 1},
    "winter": {12, 1, 2},
    "easter": {3, 4},
}
