""" "What did we cover last time?" and "what did we agree?": a session's key moments and
its agreements (compose.AcrossSessions: the recap and agreement views), quoted verbatim."""

from __future__ import annotations

from reflect.answer.compose import (
    AnswerServices,
    composed_answer,
    day,
    not_found_answer,
    sessions_list,
)
from reflect.answer.question import AskedQuestion, SessionDate
from reflect.answer.results import Answer
from reflect.answer.suggestion import suggestions_in
from reflect.index import Filters
from reflect.retrieval import Hit
from reflect.words import content_stems

__all__ = ["answer_agreements", "answer_recap"]


def answer_recap(
    services: AnswerServices, asked: AskedQuestion, filters: Filters, began: float
) -> Answer:
    """ "What did we cover last time?": that session's key moments, verbatim."""
    assert services.across is not None
    chosen = _one_session(services, filters)
    if asked.topic:
        # "the session where I told you the date Mum was coming home": the session of the
        # moment that matches best (within the time the question names, if any).
        found = services.search(asked.topic, filters, asked)
        evidence = services.decide(asked.topic, found, filters)
        if not evidence.found:
            return not_found_answer(services, asked, found, evidence, began)
        chosen = next((s for s in services.session_dates() if s.id == found[0].session_id), chosen)
    moments = services.across.recap_moments(chosen.id) if chosen is not None else []
    if chosen is None or not moments:
        return not_found_answer(services, asked, [], None, began)
    today = services.today()
    title = moments[0].session_title
    lead = f"In “{title}”, on {day(chosen.date, today)}, these were the main moments:"
    lines = [(h, "{who_cap} said: “{quote}” [{n}]") for h in moments]
    return composed_answer(services, asked, moments, lines, began, lead=lead, topic_words=False)


def answer_agreements(
    services: AnswerServices, asked: AskedQuestion, filters: Filters, began: float
) -> Answer | None:
    """ "What did we agree?": the agreements of the session it names (else the latest
    session that had any), each with the reply that took it on."""
    assert services.across is not None
    today = services.today()
    named = bool(filters.session_ids or filters.since or filters.until)
    agreed = services.across.agreed(filters)
    if asked.topic:
        # Those that hold most of what the question is about, its telling words counting
        # before the rest ("visiting Dad once he'd moved": "visit" and "moved" before the
        # "Dad" of every session).
        terms = content_stems(asked.topic)
        telling = services.telling_words(asked.topic, terms)

        def about(pair: tuple[Hit, Hit | None]) -> tuple[int, int]:
            said = content_stems(" ".join(h.text for h in pair if h))
            return len(said & telling), len(said & terms)

        most = max((about(a) for a in agreed), default=(0, 0))
        agreed = [a for a in agreed if most[1] and about(a) == most]
    if not agreed:
        # Nothing agreed about it: what was *said* about it may still answer ("what did I
        # say I'd do about my sister?"), so the question goes the usual way, where an
        # absent subject is reported as absent.
        if asked.topic:
            return None
        # Nothing the agreement rules know as agreed in the session asked about: what the
        # therapist put forward in it ("Once this week, cook one meal in the kitchen...").
        return _suggested_in(services, asked, filters, began)
    if not named:
        latest = max(a[0].session_date for a in agreed)
        agreed = [a for a in agreed if a[0].session_date == latest]
    agreed = agreed[-4:]
    dates = sorted({a[0].session_date for a in agreed})
    lead = f"What you agreed on {sessions_list(dates, today)}:"
    lines: list[tuple[Hit, str]] = []
    for proposal, reply in agreed:
        lines.append((proposal, "{who_cap} said: “{quote}” [{n}]"))
        if reply is not None:
            lines.append((reply, "  {who_cap} said: “{quote}” [{n}]"))
    hits = [h for pair in agreed for h in pair if h is not None]
    return composed_answer(services, asked, hits, lines, began, lead=lead, topic_words=False)


def _one_session(services: AnswerServices, filters: Filters) -> SessionDate | None:
    """The session a question names ("last time", "on 15 April"), else the latest."""
    known = sorted(
        (s for s in services.session_dates() if s.date <= services.today()),
        key=lambda s: (s.date, s.id),
    )
    if filters.session_ids is not None:
        known = [s for s in known if s.id in filters.session_ids]
    if filters.since is not None:
        known = [s for s in known if s.date >= filters.since]
    if filters.until is not None:
        known = [s for s in known if s.date <= filters.until]
    return known[-1] if known else None


def _suggested_in(
    services: AnswerServices, asked: AskedQuestion, filters: Filters, began: float
) -> Answer:
    """What the other person suggested in the session a question names (else the latest),
    or that the sessions hold nothing about it."""
    chosen = _one_session(services, filters)
    session = services.session_of(chosen.id) if chosen is not None else None
    suggested = suggestions_in(session, frozenset(services.me_labels)) if session else []
    if chosen is None or not suggested:
        return not_found_answer(services, asked, [], None, began)
    when = day(chosen.date, services.today())
    lead = f"On {when}, these were the suggestions (nothing was agreed in so many words):"
    lines = [(h, "{who_cap} said: “{quote}” [{n}]") for h in suggested]
    return composed_answer(services, asked, suggested, lines, began, lead=lead, topic_words=False)
