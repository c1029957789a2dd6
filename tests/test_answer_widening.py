"""A question placed roughly in time ("in April", "a couple of weeks ago") whose subject is not
found within that time is answered from the sessions around it, and says so; a filter the user
set is kept exactly. Invented sessions of an invented client, Noor."""

from __future__ import annotations

import datetime as dt

from reflect.index import Filters
from reflect.testing import FakeChatModel
from tests.test_answer_questions import answerer_over, ines, noor, session

ALLOTMENT = session(
    "a",
    dt.date(2025, 3, 25),
    [
        noor("I finally went down to the allotment and dug over the first bed, it felt good."),
        ines("Digging over the first bed. What was that like?"),
        noor("Muddy. But I stayed two hours at the allotment and didn't check my phone once."),
    ],
)
LATER = session(
    "b",
    dt.date(2025, 5, 20),
    [
        noor("Work has been quieter and my sister rang on Sunday."),
        ines("How was the call with your sister?"),
    ],
)


def test_nothing_within_the_time_named_is_looked_for_around_it_and_said() -> None:
    with answerer_over([ALLOTMENT, LATER], min_words=10) as a:
        a.model_factory = lambda: FakeChatModel([""])  # writes nothing: quotes are pasted
        answer = a.ask("what did I say about the allotment in April?")
    assert answer.found
    assert {hit.session_date for _, hit in answer.citations} == {ALLOTMENT.date}
    assert answer.asked is not None
    assert answer.asked.summary().endswith("in April, and around it")


def test_a_filter_the_user_set_is_kept_exactly() -> None:
    april = Filters(since=dt.date(2025, 4, 1), until=dt.date(2025, 4, 30))
    with answerer_over([ALLOTMENT, LATER], min_words=10) as a:
        answer = a.ask("what did I say about the allotment?", filters=april)
    assert not answer.found


def test_a_subject_the_sessions_never_hold_is_still_not_found() -> None:
    with answerer_over([ALLOTMENT, LATER], min_words=10) as a:
        answer = a.ask("what did I say about the caravan in April?")
    assert not answer.found
