""" "Who's Lyle?", "who's my manager?": the moments that introduce them, first mention
first (reflect.answer.people finds them; this module composes the answer, apart from it
because reading the question uses people.py and the answer uses the question)."""

from __future__ import annotations

import dataclasses

from reflect.answer.compose import AnswerServices, composed_answer, day
from reflect.answer.people import Said, introductions, is_a_name, role_words, said_with_role
from reflect.answer.question import AskedQuestion
from reflect.answer.results import Answer
from reflect.retrieval import Hit, span_hit

__all__ = ["answer_who"]


def answer_who(services: AnswerServices, asked: AskedQuestion, began: float) -> Answer | None:
    """ "Who's Lyle?", "who's my manager?": the moments that introduce them, first mention
    first (reflect.answer.people); None when the sessions never name them."""
    today, sessions, who = services.today(), services.held_sessions(), asked.topic
    name: str | None = who if is_a_name(who) else None
    said: list[Said] = []
    if name is None:
        labels = (*services.me_labels, *services.therapist_labels)
        name, said = said_with_role(sessions, role_words(who), labels)
    moments = introductions(sessions, name) if name else said[:2]
    # The role said with the name ("walk with Lyle") answers a question asked by role.
    unique = {(s.session.id, s.a): s for s in [*moments, *said[:1]]}
    chosen = sorted(unique.values(), key=lambda s: (s.session.date, s.session.id, s.a))
    if not chosen:
        return None
    hits: list[Hit] = []
    for s in chosen:
        turn = next((t for t in s.session.turns if t.char_start <= s.a < t.char_end), None)
        a, b = (turn.char_start, turn.char_end) if turn is not None else (s.a, s.b)
        if not any(h.session_id == s.session.id and h.char_start == a for h in hits):
            hits.append(span_hit(s.session, a, b))
    lines = [
        (h, f"On {day(h.session_date, today)}, {{who}} said: “{{quote}}” [{{n}}]") for h in hits
    ]
    if name is not None and name in hits[0].text:
        lines[0] = (
            hits[0],
            f"{name} first came up on {day(hits[0].session_date, today)}: "
            "{who} said “{quote}” [{n}]",
        )
    lead = "" if name == who else f"That sounds like {name}:" if name else ""
    words = " ".join(dict.fromkeys([name or "", who, *(s.text for s in chosen)]))
    answer = composed_answer(
        services, dataclasses.replace(asked, topic=words), hits, lines, began, lead=lead
    )
    answer.question = asked.text
    return answer
