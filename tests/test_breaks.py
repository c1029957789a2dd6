""" "What did we agree before the summer break?": the session before the longest gap.

Unit tests on session dates alone, then through the Answerer with the deterministic fakes.
The people are invented: the client Wren and her counsellor Tobias.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from reflect.answer import Answerer
from reflect.answer.breaks import find_break, session_before_break
from reflect.answer.question import SessionDate, read_question
from reflect.index import Filters
from reflect.retrieval import Hit, Retriever
from tests.wren_fixtures import answerer_over, talk

TODAY = dt.date(2026, 9, 1)


def dates(*days: tuple[int, int]) -> list[SessionDate]:
    return [SessionDate(f"s{i}", dt.date(2026, m, d)) for i, (m, d) in enumerate(days)]


# Fortnightly, with four weeks off from 30 June to 28 July.
SUMMER = dates((5, 5), (5, 19), (6, 2), (6, 16), (6, 30), (7, 28), (8, 11), (8, 25))


class TestTheBreak:
    def test_the_session_before_the_longest_gap(self) -> None:
        chosen = session_before_break(SUMMER)
        assert chosen is not None and chosen.date == dt.date(2026, 6, 30)

    def test_no_gap_clearly_longer_than_usual_is_no_break(self) -> None:
        # Weekly and fortnightly mixed: three weeks is not a break from two.
        assert session_before_break(dates((5, 5), (5, 12), (5, 26), (6, 16), (6, 30))) is None
        assert session_before_break(dates((5, 5), (5, 19))) is None

    def test_two_breaks_as_long_are_no_reading_unless_the_season_says(self) -> None:
        two = dates((5, 5), (5, 12), (6, 9), (6, 16), (7, 14), (7, 21), (7, 28))
        assert session_before_break(two) is None
        summer = session_before_break(two, "summer")
        assert summer is not None and summer.date == dt.date(2026, 6, 16)

    def test_a_season_picks_its_break_among_the_clear_ones(self) -> None:
        year = dates((11, 3), (11, 17), (12, 15), (1, 12), (1, 26), (2, 9), (3, 9), (3, 23))
        year = [
            SessionDate(s.id, s.date.replace(year=2025 if s.date.month > 6 else 2026)) for s in year
        ]
        christmas = session_before_break(year, "Christmas")
        assert christmas is not None and christmas.date == dt.date(2025, 12, 15)

    @pytest.mark.parametrize(
        ("question", "words"),
        [
            ("what did we agree before the summer break?", "before the summer break"),
            ("what did we agree before you went on leave?", "before you went on leave"),
            ("what did we cover just before your holiday?", "just before your holiday"),
            ("what happened in the session before Tobias went away?", "before Tobias went away"),
            ("what did we say before the break?", "before the break"),
        ],
    )
    def test_the_words_that_name_it(self, question: str, words: str) -> None:
        m = find_break(question, ["Tobias"])
        assert m is not None and m.group(0) == words

    @pytest.mark.parametrize(
        "question",
        [
            "what did I say before my holiday?",  # the client's own: an event of theirs
            "what did we say before the wedding?",
            "what did Cormac say before he went away?",
            "what did I say about taking a break from work?",
        ],
    )
    def test_other_befores_are_not_it(self, question: str) -> None:
        assert find_break(question, ["Tobias"]) is None


class TestTheQuestion:
    def test_before_the_break_is_that_session(self) -> None:
        asked = read_question(
            "what did we agree before the summer break?", today=TODAY, sessions=SUMMER
        )
        assert asked.kind == "agreements" and asked.topic == ""
        assert asked.session_ids == frozenset({"s4"})
        assert "before the summer break (30 June)" in asked.summary()

    def test_a_recap_of_the_session_before_the_therapist_went_away(self) -> None:
        asked = read_question(
            "what happened in the session just before Tobias went away?",
            today=TODAY,
            sessions=SUMMER,
            others=["Tobias"],
        )
        assert (asked.kind, asked.topic) == ("recap", "")
        assert asked.session_ids == frozenset({"s4"})

    def test_without_a_break_in_the_dates_the_question_is_read_as_before(self) -> None:
        steady = dates((5, 5), (5, 19), (6, 2), (6, 16))
        asked = read_question(
            "what did we agree before the summer break?", today=TODAY, sessions=steady
        )
        assert asked.kind == "agreements" and asked.session_ids is None

    def test_other_time_words_come_first(self) -> None:
        asked = read_question(
            "what did we agree last time, before the break?", today=TODAY, sessions=SUMMER
        )
        assert asked.session_ids == frozenset({"s7"})


SESSIONS = [
    talk(
        s.id,
        s.date,
        ("Tobias", f"Shall we try the {thing} before we next meet?"),
        ("Wren", f"Yes. I'll try the {thing}, I promise."),
    )
    for s, thing in zip(
        SUMMER,
        ["diary", "walks", "lists", "calls", "phone basket", "budget", "lunch break", "reading"],
        strict=True,
    )
]


class Agreed:
    """The view across sessions, as far as agreements go: each session's first two turns."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever

    def agreed(self, filters: Filters) -> list[tuple[Hit, Hit | None]]:
        hits = self.retriever.search("try", k=40, filters=filters)
        firsts = {h.session_id: h for h in sorted(hits, key=lambda h: -h.char_start)}
        return sorted(((h, None) for h in firsts.values()), key=lambda p: p[0].session_date)


@pytest.fixture(scope="module")
def answerer() -> Iterator[Answerer]:
    with answerer_over(SESSIONS, TODAY, across=Agreed) as a:  # type: ignore[arg-type]
        yield a


def test_what_we_agreed_before_the_break_is_that_sessions_agreement(answerer: Answerer) -> None:
    answer = answerer.ask("what did we agree before the summer break?")
    assert answer.text.startswith("What you agreed on 30 June:")
    assert "phone basket" in answer.text
    assert {hit.session_id for _, hit in answer.citations} == {"s4"}
