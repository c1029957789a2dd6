"""A conversation: the questions asked so far, so the next one can lean on them.

"did I keep it?" right after "what did we say about the sleep diary?" is about the sleep
diary; "when was that?" points at the moment the last answer cited. The conversation keeps
only what a follow-up needs (the question as read, the first cited moment), in memory, and
is forgotten when the user starts afresh or the vault locks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Set
from dataclasses import dataclass, field

from reflect.agreements import proposed_things
from reflect.answer.events import day_told
from reflect.answer.question import AskedQuestion, PreviousTurn, people_named
from reflect.retrieval import Hit
from reflect.session import Session
from reflect.words import content_stems

__all__ = ["Conversation", "DatedMoment", "dated_moment", "with_reply"]


@dataclass(slots=True)
class Conversation:
    turns: list[PreviousTurn] = field(default_factory=list)

    @property
    def last(self) -> PreviousTurn | None:
        return self.turns[-1] if self.turns else None

    def add(self, asked: AskedQuestion, cited: list[Hit]) -> None:
        first = cited[0] if cited else None
        plans = tuple(p for hit in cited for p in proposed_things(hit.chunk_text or hit.text))
        # "she" may stand for someone named two questions back ("what did Mum say?", "when
        # was that?", "and what did she do next?"): the people named so far, latest first.
        earlier = self.last.people if self.last is not None else ()
        people = tuple(dict.fromkeys((*people_named(asked.text), *earlier)))
        self.turns.append(
            PreviousTurn(
                asked,
                cited_session=first.session_id if first else None,
                cited_date=first.session_date if first else None,
                cited=first,
                plans=plans,
                people=people,
                cited_all=tuple(cited),
            )
        )

    def clear(self) -> None:
        self.turns.clear()


@dataclass(frozen=True, slots=True)
class DatedMoment:
    """What "when was that?" / "when do I start?" is answered with: the moment, and the day
    it gives for the thing (None: it gives none, and the day it was said is the answer)."""

    hit: Hit
    day: dt.date | None
    sentence: str = ""  # the words that give the day, to quote


def dated_moment(
    hits: Iterable[Hit], words: set[str], about: Set[str] = frozenset()
) -> DatedMoment | None:
    """Of `hits` (best first), the first that gives a day for what `words` name ("I start on
    the first of September"), one that also names what the conversation is `about` ("the
    Fairhaven job") before any other; else the first that holds one of the words, the same
    way; None when none does."""
    dated: list[DatedMoment] = []
    holding: list[DatedMoment] = []
    for hit in hits:
        told = day_told(hit.text, hit.session_date, words)
        if told is not None:
            dated.append(DatedMoment(hit, told[0], told[1]))
        elif content_stems(hit.text) & words:
            holding.append(DatedMoment(hit, None))
    for moments in (dated, holding):
        named = [m for m in moments if content_stems(m.hit.text) & about]
        if named or moments:
            return (named or moments)[0]
    return None


def with_reply(hit: Hit, session: Session | None, turns: int = 3) -> Hit:
    """The cited moment and the `turns` after it: what a follow-up asks is often in the reply
    ("Congratulations. How does it feel?" "Scary. Good. I start on the first of
    September.")."""
    if session is None or not session.turns:
        return hit
    following = [t for t in session.turns if t.char_start >= hit.char_end][:turns]
    if not following:
        return hit
    end = following[-1].char_end
    return dataclasses.replace(
        hit, text=session.text[hit.char_start : end], char_end=end, last_turn=following[-1].index
    )
