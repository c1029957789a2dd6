"""Stage 4 for questions the system answers itself: sentences built from evidence.

"Did I keep the diary?", "when did I first talk about my dad?", "how often has sleep come
up?", "when was that?": the answer is a date, a count or what was said *after* a moment,
and each is read from the sessions, not written by the model (the bundled 0.5B model asserts
answers no excerpt holds: models/README.md). Every sentence here states a fact the cited
excerpt or the session dates show, and every quote is the excerpt's own words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from reflect.answer.excerpts import Excerpt
from reflect.index import Filters
from reflect.retrieval import Hit

__all__ = [
    "AcrossSessions",
    "SessionMentions",
    "day",
    "mention_sentence",
    "sessions_list",
    "strong_mentions",
]


@dataclass(frozen=True, slots=True)
class SessionMentions:
    """One session where a theme came up: its best moments, best first."""

    session_id: str
    session_date: dt.date
    session_title: str
    hits: list[Hit]

    @property
    def mentions(self) -> int:
        return len(self.hits)


# "When did Leona first tell me she was moving out?": a theme of several words is mentioned,
# by the timeline's measure, wherever one of its words is (Leona, from the first session on);
# its first and last time are among the moments that speak of the whole of it about as
# strongly as the strongest one. Dev first/last dates (history and history2, 14 questions):
# 9 right with every mention, 14 with the moments >= 0.75 of the strongest (13 at 0.7 and 0.8).
STRONG_MENTION = 0.75


def strong_mentions(
    sessions: Sequence[SessionMentions], share: float = STRONG_MENTION
) -> list[SessionMentions]:
    """The sessions whose best moment is at least `share` as strong as the strongest one."""
    strongest = max((h.score for s in sessions for h in s.hits), default=0.0)
    return [s for s in sessions if any(h.score >= share * strongest for h in s.hits)]


class AcrossSessions(Protocol):
    """What answering needs from the views across sessions (timeline, recap, agreements)."""

    def sessions_mentioning(self, topic: str, filters: Filters) -> list[SessionMentions]:
        """Every session where `topic` came up, oldest first."""
        ...

    def recap_moments(self, session_id: str) -> list[Hit]:
        """A session's key moments, verbatim, in order."""
        ...

    def agreed(self, filters: Filters) -> list[tuple[Hit, Hit | None]]:
        """What was agreed in the sessions `filters` allow, oldest first: the proposal or
        commitment, and the reply that accepted it when there was one."""
        ...


def day(date: dt.date, today: dt.date | None = None) -> str:
    """ "8 January", with the year only when it isn't this year's."""
    text = f"{date.day} {date:%B}"
    if today is not None and date.year != today.year:
        text += f" {date.year}"
    return text


def mention_sentence(excerpt: Excerpt, quote: str, today: dt.date | None = None) -> str:
    """'On 22 January you said: "I brought the diary." [2]' (who as known, else neutral)."""
    who = excerpt.speaker_phrase
    line = excerpt.source_line(quote)
    if line is not None:
        return line
    return f"On {day(excerpt.hit.session_date, today)} {who} said: “{quote}” [{excerpt.n}]"


def sessions_list(dates: Sequence[dt.date], today: dt.date | None = None) -> str:
    """ "8 January, 22 January and 5 February"."""
    names = [day(d, today) for d in dates]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
