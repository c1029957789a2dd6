""" "When did I first / last talk about my dad?", "how often has sleep come up?": answered
from the sessions that mention the theme (compose.AcrossSessions, the timeline's view),
with the moment of each that says it."""

from __future__ import annotations

from collections.abc import Sequence

from reflect.answer.compose import (
    AnswerServices,
    SessionMentions,
    composed_answer,
    day,
    not_found_answer,
    sessions_list,
    strong_mentions,
)
from reflect.answer.question import AskedQuestion
from reflect.answer.results import Answer
from reflect.index import Filters
from reflect.retrieval import Hit
from reflect.words import content_stems

__all__ = ["answer_across"]


def answer_across(
    services: AnswerServices, asked: AskedQuestion, filters: Filters, began: float
) -> Answer:
    """ "When did I first / last...", "how often...": from the sessions that mention it."""
    assert services.across is not None
    today = services.today()
    sessions = services.across.sessions_mentioning(asked.topic, filters)
    if not sessions:
        first = services.search(asked.topic, filters, asked)
        evidence = services.decide(asked.topic, first, filters)
        return not_found_answer(services, asked, first, evidence, began)
    hits = [h for s in sessions for h in s.hits]
    topic = asked.topic
    if asked.kind == "count":
        dates = [s.session_date for s in sessions]
        lead = (
            f"{topic[:1].upper() + topic[1:]} came up in {len(sessions)} "
            f"session{'s' if len(sessions) != 1 else ''}: {sessions_list(dates, today)}."
        )
        picks = [sessions[0], sessions[-1]] if len(sessions) > 1 else [sessions[0]]
        lines = [
            (
                _best(s.hits),
                "On " + day(s.session_date, today) + ", {who} said: “{quote}” [{n}]",
            )
            for s in picks
        ]
        return composed_answer(services, asked, hits, lines, began, lead=lead)
    if len(content_stems(topic)) > 1:
        sessions = strong_mentions(sessions)
    chosen = sessions[0] if asked.kind == "first" else sessions[-1]
    word = "first" if asked.kind == "first" else "last"
    line = (
        "It "
        + word
        + " came up on "
        + day(chosen.session_date, today)
        + ", in “"
        + chosen.session_title
        + "”: {who} said “{quote}” [{n}]"
    )
    moment = _when_it_came_up(services, asked, chosen)
    return composed_answer(services, asked, hits, [(moment, line)], began)


def _when_it_came_up(
    services: AnswerServices, asked: AskedQuestion, session: SessionMentions
) -> Hit:
    """The moment of `session` a "when did I first / last..." answer quotes: its strongest
    moment that holds the theme's rarest word, said by the user when the question asks
    what they said ("when did I first mention Craig?": "It was about Craig. That's her
    new fella", not the therapist's "How was the handover, with Craig?", though that
    scored higher). Dev histories 1-7: 3 more first/last answers cite the right moment,
    none fewer. (The session's earliest such moment for "first", its latest for "last",
    was tried: 5 more, 3 fewer.)"""
    terms = content_stems(asked.topic)
    key = services.rarest(asked.topic, terms) if terms else ""
    holding = [h for h in session.hits if key and key in content_stems(h.text)]
    if asked.speaker == "me":
        me = set(services.me_labels)
        by_user = [h for h in holding if me & set(h.speakers)]
        holding = by_user or holding
    return _best(holding or session.hits)


def _best(hits: Sequence[Hit]) -> Hit:
    """The strongest of a session's moments (a timeline lists them in the session's order)."""
    return max(hits, key=lambda h: (h.score, -h.rank))
