"""Where a quote comes from (a session, the user's own note, a therapist's handout) and how
it is cited.

A note or a handout is searched like a session, but it is not something said in a session:
a quote from one is cited as "your note, 12 March" or "handout: Sleep hygiene, page 2",
never under a speaker's name or as "your therapist said". Every view that shows a hit
(the command line, the app, answers) asks here, so they all say it the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Protocol

from reflect.session import HANDOUT, NOTE, SESSION, Session

# session.extra key: the page number of each turn of a handout (one turn per page with text).
PAGES = "pages"
# session.extra key: what the user said about a handout ({"given_by": "Dr. Rivera"}).
HANDOUT_INFO = "handout"


_NAMED = {
    SESSION: ("session", "sessions"),
    NOTE: ("note", "notes"),
    HANDOUT: ("handout", "handouts"),
}


def tally(counts: Mapping[str, int]) -> str:
    """How many of each kind, by kind (counts keyed by reflect.session kinds): "12 sessions,
    3 notes, 1 handout", leaving out the kinds there are none of, so a note is never counted
    as a session."""
    parts = [
        f"{n} {_NAMED[kind][n != 1]}"
        for kind in (SESSION, NOTE, HANDOUT)
        if (n := counts.get(kind, 0))
    ]
    return ", ".join(parts) or "no sessions, notes or handouts"


class Cited(Protocol):
    """What a citation needs of a hit (reflect.retrieval.Hit has it)."""

    @property
    def source(self) -> str: ...
    @property
    def session_title(self) -> str: ...
    @property
    def session_date(self) -> dt.date: ...
    @property
    def page(self) -> int | None: ...


def page_of(session: Session, turn_index: int) -> int | None:
    """The page a handout's turn is on; None for anything else."""
    if session.kind != HANDOUT:
        return None
    pages = session.extra.get(PAGES)
    if isinstance(pages, list) and 0 <= turn_index < len(pages):
        page = pages[turn_index]
        return page if isinstance(page, int) else None
    return turn_index + 1


def day(date: dt.date, today: dt.date | None = None) -> str:
    """ "12 March", with the year only when it isn't this year's."""
    today = today or dt.date.today()
    text = f"{date.day} {date:%B}"
    return text if date.year == today.year else f"{text} {date.year}"


def citation(hit: Cited, today: dt.date | None = None) -> str | None:
    """ "your note, 12 March" or "handout: Sleep hygiene, page 2"; None for a session
    (its citation names the session, the speaker and the time: each view has its own)."""
    if hit.source == NOTE:
        return f"your note, {day(hit.session_date, today)}"
    if hit.source == HANDOUT:
        page = f", page {hit.page}" if hit.page is not None else ""
        return f"handout: {hit.session_title}{page}"
    return None


def is_session(source: str) -> bool:
    return source == SESSION


def source_json(hit: Cited) -> dict[str, object]:
    """The fields a hit's JSON gains: `source` always, `page` for a handout."""
    fields: dict[str, object] = {"source": hit.source}
    if hit.source == HANDOUT:
        fields["page"] = hit.page
    return fields
