"""Stage 4 for questions the system answers itself: sentences built from evidence.

"Did I keep the diary?", "when did I first talk about my dad?", "how often has sleep come
up?", "when was that?": the answer is a date, a count or what was said *after* a moment,
and each is read from the sessions, not written by the model (the bundled 0.5B model asserts
answers no excerpt holds: models/README.md). Every sentence here states a fact the cited
excerpt or the session dates show, and every quote is the excerpt's own words.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from reflect.agreements import proposes
from reflect.answer.evidence import Evidence
from reflect.answer.excerpts import Excerpt, grow_span, sentence_spans
from reflect.answer.question import AskedQuestion, SessionDate
from reflect.answer.results import Answer, AnswerSettings, Timings, ms_since
from reflect.index import Filters
from reflect.retrieval import Hit, Retriever
from reflect.session import Session
from reflect.words import content_stems

__all__ = [
    "AcrossSessions",
    "AnswerServices",
    "Decide",
    "Search",
    "SessionMentions",
    "best_quote",
    "composed_answer",
    "day",
    "mention_sentence",
    "not_found_answer",
    "sessions_list",
    "strong_mentions",
    "within",
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


class Search(Protocol):
    """The Answerer's search for a question as read (its topic, its speaker)."""

    def __call__(
        self, question: str, filters: Filters, asked: AskedQuestion | None, k: int | None = None
    ) -> list[Hit]: ...


class Decide(Protocol):
    """Whether `hits` answer `question` (evidence.py, as the Answerer decides it)."""

    def __call__(
        self,
        question: str,
        hits: Sequence[Hit],
        filters: Filters,
        asking: frozenset[str] = frozenset(),
    ) -> Evidence: ...


@dataclass(frozen=True, slots=True)
class AnswerServices:
    """What the answers composed here (outcome.py, across.py, recap.py, followups.py,
    next_session.py, who.py) use of the Answerer, passed to them explicitly so each shows
    what it rests on and none reaches into the Answerer.

    `excerpts(question, hits)`: the numbered excerpts of `hits`; `session_of(id)`: a session
    with its turns, None when unknown; `held_sessions()`: the sessions held by today;
    `telling_words(text, terms)` / `rarest(topic, terms)`: the words that say what a text is
    about / its rarest one, counted in the passages; `not_found(asked)`: what is said when
    nothing answers."""

    retriever: Retriever
    settings: AnswerSettings
    me_labels: tuple[str, ...]
    therapist_labels: tuple[str, ...]
    today: Callable[[], dt.date]
    session_dates: Callable[[], Sequence[SessionDate]]
    across: AcrossSessions | None
    search: Search
    decide: Decide
    excerpts: Callable[[str, Sequence[Hit]], list[Excerpt]]
    session_of: Callable[[str], Session | None]
    held_sessions: Callable[[], list[Session]]
    telling_words: Callable[[str, set[str]], set[str]]
    rarest: Callable[[str, set[str]], str]
    not_found: Callable[[AskedQuestion], str]


def composed_answer(
    services: AnswerServices,
    asked: AskedQuestion,
    hits: Sequence[Hit],
    lines: Sequence[tuple[Hit, str]],
    began: float,
    *,
    found: bool = True,
    lead: str = "",
    topic_words: bool = True,
    tellers: frozenset[str] = frozenset(),
    told: Sequence[Hit] = (),
    telling: set[str] | None = None,
) -> Answer:
    """An answer whose sentences are built here: `lines` pair a hit with a sentence
    template holding `{n}` (its excerpt number) and `{quote}` (its own words). Within a
    hit of `told`, the excerpt by one of `tellers` is quoted before the others', the one
    sharing most of the topic's and the `telling` words."""
    excerpts_of = services.excerpts
    excerpts: list[Excerpt] = []
    text_lines = [lead] if lead else []
    terms = content_stems(asked.topic) if topic_words else set()
    weights = services.retriever.term_weights(asked.topic) if topic_words else {}
    for hit, template in lines:
        is_told = any(hit is t for t in told)
        pieces = excerpts_of(asked.topic or asked.text, [hit]) if topic_words else []
        if not topic_words:
            # A recap moment or an agreement is shown whole: its own turn, as found.
            pieces = excerpts_of(hit.text, [hit])[:1]
        elif not pieces:
            # A moment chosen for what it tells, in words other than the topic's.
            pieces = excerpts_of(hit.text, [hit])
        elif is_told and not any(p.hit.speaker in tellers for p in pieces):
            # What the teller said there, even in words other than the topic's: "That was
            # the point. How's the sleep been?" is the question, not the report; and of
            # their turns, the one that tells it, not "Hiya. Um. Mixed bag." before it.
            pieces += [p for p in excerpts_of(hit.text, [hit]) if p.hit.speaker in tellers]
        if not pieces:
            continue
        wanted = terms | (telling or set()) if is_told else terms
        # Of the turns, the one holding the rarer of the words: "She crawled!", not "How
        # was it for Nell?" before it, for "has Nell started crawling?".
        best = max(
            pieces,
            key=lambda e: (
                is_told and e.hit.speaker in tellers,
                sum(weights.get(t, 1.0) for t in content_stems(e.hit.text) & wanted),
                -e.n,
            ),
        )
        excerpt = dataclasses.replace(best, n=len(excerpts) + 1)
        excerpts.append(excerpt)
        quote = best_quote(excerpt.hit.text, wanted, services.settings.extractive_max_words)
        text_lines.append(
            excerpt.source_line(quote)
            or template.format(
                n=excerpt.n,
                quote=quote,
                who=excerpt.speaker_phrase,
                who_cap=excerpt.speaker_phrase[:1].upper() + excerpt.speaker_phrase[1:],
            )
        )
    answer = Answer(
        question=asked.text,
        text="\n".join(text_lines),
        found=found,
        hits=list(hits),
        excerpts=excerpts,
        closest=[] if found else list(hits),
        timings=Timings(ms_since(began)),
        extractive=True,
    )
    by_n = {e.n: e for e in excerpts}
    answer.citations = [(n, by_n[n].hit) for n in sorted(by_n)]
    answer.timings = dataclasses.replace(answer.timings, total_ms=ms_since(began))
    return answer


def not_found_answer(
    services: AnswerServices,
    asked: AskedQuestion,
    hits: Sequence[Hit],
    evidence: Evidence | None,
    began: float,
) -> Answer:
    """That the sessions hold nothing about it, with `hits` as the closest moments."""
    answer = Answer(
        question=asked.text,
        text=services.not_found(asked),
        found=False,
        hits=list(hits),
        closest=list(hits),
        evidence=evidence,
        timings=Timings(ms_since(began)),
    )
    answer.timings = dataclasses.replace(answer.timings, total_ms=ms_since(began))
    return answer


def best_quote(text: str, terms: set[str], max_words: int) -> str:
    """Whole sentences of `text` around the one sharing most of `terms`, verbatim."""
    sentences = sentence_spans(text) or [(0, len(text))]
    best = max(
        range(len(sentences)),
        key=lambda i: (
            len(content_stems(text[slice(*sentences[i])]) & terms),
            proposes(text[slice(*sentences[i])]),
            -i,
        ),
    )
    a, b = grow_span(sentences, best, lambda na, nb: len(text[na:nb].split()) <= max_words)
    quote = " ".join(text[a:b].split())
    if len(quote.split()) > max_words:
        quote = " ".join(quote.split()[:max_words])
    return quote


def within(piece: Hit, hit: Hit) -> bool:
    """Whether `piece` (an excerpt's hit) starts inside `hit`."""
    return piece.session_id == hit.session_id and hit.char_start <= piece.char_start < hit.char_end
