"""A conversation: the questions asked so far, so the next one can lean on them.

"did I keep it?" right after "what did we say about the sleep diary?" is about the sleep
diary; "when was that?" points at the moment the last answer cited. The conversation keeps
only what a follow-up needs (the question as read, the first cited moment), in memory, and
is forgotten when the user starts afresh or the vault locks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Collection, Iterable, Sequence, Set
from dataclasses import dataclass, field

from reflect.agreements import proposed_things
from reflect.answer.events import day_told, says_day_number
from reflect.answer.question import AskedQuestion, PreviousTurn, people_named
from reflect.retrieval import Hit, span_hit
from reflect.session import Session
from reflect.words import content_stems

__all__ = [
    "Conversation",
    "DatedMoment",
    "dated_moment",
    "quotes_someone",
    "reply_at",
    "with_reply",
]


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
    hits: Iterable[Hit], words: set[str], about: Set[str] = frozenset(), *, dated: bool = False
) -> DatedMoment | None:
    """Of `hits` (best first), the first that gives a day for what `words` name ("I start on
    the first of September"), one that also names what the conversation is `about` ("the
    Fairhaven job") before any other; else the first that holds one of the words, the same
    way; None when none does. `dated`: only a moment whose day is said with its number
    ("Saturday the eighteenth of July"; not "two Friday nights", read as the Friday before),
    in a passage holding two of the words (all, when there are fewer), the sentence before
    the words read too."""
    days: list[DatedMoment] = []
    holding: list[DatedMoment] = []
    for hit in hits:
        if dated and len(content_stems(hit.text) & words) < min(2, len(words)):
            continue  # one common word ("Dad") is not the thing whose day is asked
        told = day_told(hit.text, hit.session_date, words, before=dated)
        if told is not None and (not dated or says_day_number(told[1])):
            days.append(DatedMoment(hit, told[0], told[1]))
        elif not dated and content_stems(hit.text) & words:
            holding.append(DatedMoment(hit, None))
    for moments in (days, holding):
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


# The verbs a user reports someone's words with ("she said", "he goes", "she told me").
_SAYS = r"said|says|goes|went|told me"
# How a user reports someone's words: "and she said, ...", "he just went, ...".
_REPORTED = rf"(?:just\s+|then\s+)?(?:{_SAYS}|told\s+me|replied|answered|wrote|texted)"
# Someone's words as the user reports them, whoever said them: in quotation marks, or
# "she said, ..." / "he goes, ..." with the words quoted after the verb.
_REPORTED_SPEECH = re.compile(rf"[\"“][^\"“”]{{3,}}[\"”]|\b(?:{_SAYS}),?\s+[\"“‘']", re.IGNORECASE)


def quotes_someone(text: str) -> bool:
    """Whether `text` reports someone's words, quoted ("She said, 'Take what you need.'")."""
    return _REPORTED_SPEECH.search(text) is not None


def reply_at(
    moment: Hit,
    session: Session | None,
    reply: str,
    by: Sequence[str],
    me: Collection[str],
    turns: int = 6,
) -> Hit | None:
    """The user's turn that answers "what did she say?" ("said": the first of the user's turns
    from `moment` on, within `turns` turns, that reports `by`'s words: "and then she said,
    'Take what you need.'") or "what did I do when he said it?" ("did": the user's turn after
    that report: "I didn't say anything. I just sat there."). None: no such turn there."""
    if session is None or not session.turns:
        return None
    following = [t for t in session.turns if t.char_end > moment.char_start][:turns]
    mine = [t for t in following if t.speaker in me]
    who = "|".join(re.escape(w) for w in by) or "she|he|they"
    report = re.compile(rf"\b(?:{who})\s+{_REPORTED}\b", re.IGNORECASE)
    at = next(
        (i for i, t in enumerate(mine) if report.search(session.text[t.char_start : t.char_end])),
        None,
    )
    if at is None:
        return None
    at += reply == "did"
    if at >= len(mine):
        return None
    turn = mine[at]
    return span_hit(
        session,
        turn.char_start,
        turn.char_end,
        rank=moment.rank,
        score=moment.score,
        exact=moment.exact,
        chunk_index=moment.chunk_index,
        chunk_text="",
    )
