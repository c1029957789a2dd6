""" "When's my next appointment?": the day the sessions booked, with the words that booked
it (reflect.answer.appointments reads the booking; this module composes the answer, apart
from it because reading the question uses appointments.py and the answer uses the
question)."""

from __future__ import annotations

import dataclasses

from reflect.answer.appointments import next_session_booked
from reflect.answer.compose import AnswerServices, composed_answer, day, not_found_answer
from reflect.answer.question import AskedQuestion
from reflect.answer.results import Answer
from reflect.retrieval import span_hit

__all__ = ["answer_next_session"]


def answer_next_session(services: AnswerServices, asked: AskedQuestion, began: float) -> Answer:
    """ "When's my next appointment?": the day the sessions booked, with the words that
    booked it (reflect.answer.appointments); that they booked none, when they didn't."""
    today = services.today()
    held = services.held_sessions()
    booking = next_session_booked(held, today)
    if booking is None:
        answer = not_found_answer(services, asked, [], None, began)
        if held:
            last = max(s.date for s in held)
            answer.text = (
                "Your sessions don't say when the next one is: nothing in the last one, "
                f"on {day(last, today)}, books it."
            )
        return answer
    session, said_on = booking.session, day(booking.session.date, today)
    lines = [(span_hit(session, booking.a, booking.b), "{who_cap} said: “{quote}” [{n}]")]
    if booking.day_at is not None:
        lines.append((span_hit(session, *booking.day_at), "{who_cap} said: “{quote}” [{n}]"))
    if booking.day is None:
        lead = f"The session on {said_on} booked the next one without a day:"
    else:
        when = f"{booking.day:%A} {day(booking.day, today)}"
        lead = (
            f"Your next session is on {when}, booked on {said_on}:"
            if booking.day >= today
            else f"Your next session was booked for {when}, on {said_on}:"
        )
    quoted = dataclasses.replace(asked, topic=f"{booking.sentence} {booking.day_sentence}")
    answer = composed_answer(services, quoted, [h for h, _ in lines], lines, began, lead=lead)
    answer.question = asked.text
    return answer
