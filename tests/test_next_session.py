"""When is the next session? Read from the words that booked it, never guessed.

Unit tests with the deterministic FakeEmbedder and FakeChatModel (the system answers this kind
itself: the model is never asked). The people are invented: the client Wren and her
counsellor Tobias.
"""

from __future__ import annotations

import datetime as dt

import pytest

from reflect.answer.appointments import asks_next_session, next_session_booked
from reflect.answer.conversation import Conversation
from reflect.answer.question import read_question
from reflect.session import Session
from tests.wren_fixtures import answerer_over, talk

TODAY = dt.date(2026, 3, 20)
FILLER = [
    ("Wren", "The week was long. The bus was late twice and I missed the quiz at the pub."),
    ("Tobias", "What did you make of missing it?"),
    ("Wren", "Honestly I was relieved, and then cross with myself for being relieved."),
    ("Tobias", "Relieved, and then cross. Both can be there."),
]


def session(sid: str, date: dt.date, ending: list[tuple[str, str]]) -> Session:
    """A session of ordinary talk that ends with `ending` (speaker, words)."""
    return talk(sid, date, *FILLER, *ending)


class TestTheQuestion:
    @pytest.mark.parametrize(
        "question",
        [
            "when's my next appointment?",
            "When is my next session?",
            "and when's my next appointment?",
            "when do I see Tobias next?",
            "when do I see you again?",
            "what day is my next session?",
            "when will we meet again?",
            "when is the next one?",
            "when's my next session with Tobias?",
        ],
    )
    def test_asks_for_the_next_session(self, question: str) -> None:
        assert asks_next_session(question, ["Tobias"])
        asked = read_question(question, today=TODAY, others=["Tobias"])
        assert asked.kind == "next_session" and asked.topic == ""

    @pytest.mark.parametrize(
        ("question", "kind"),
        [
            ("when was my last session?", "last"),
            ("what did we cover last session?", "recap"),
            ("when did I first mention the quiz?", "first"),
            ("when do I see Marta next?", "recall"),  # Marta is not the counsellor
            ("what did we agree for the next session?", "agreements"),
            ("when do I start the new job?", "recall"),
            ("when's my next appointment with the dentist?", "recall"),
        ],
    )
    def test_other_questions_are_not_it(self, question: str, kind: str) -> None:
        assert not asks_next_session(question, ["Tobias"])
        assert read_question(question, today=TODAY, others=["Tobias"]).kind == kind

    def test_a_follow_up_about_the_next_session_is_not_completed_from_the_last_topic(
        self,
    ) -> None:
        from reflect.answer.question import PreviousTurn

        before = read_question("what did I say about the quiz?", today=TODAY)
        asked = read_question(
            "and when's my next appointment?", today=TODAY, previous=PreviousTurn(before)
        )
        assert asked.kind == "next_session" and not asked.followup and asked.topic == ""


class TestTheBooking:
    @pytest.mark.parametrize(
        ("ending", "day"),
        [
            # a day said with the booking words, resolved against the session's day (9 March)
            ([("Tobias", "Shall we say the twenty-third of March?")], dt.date(2026, 3, 23)),
            ([("Tobias", "Our next session is Monday the sixth of April.")], dt.date(2026, 4, 6)),
            ([("Tobias", "I'll see you on the sixteenth, then.")], dt.date(2026, 3, 16)),
            # the first date that is one day: "next week" is not
            (
                [("Tobias", "It's Easter next week, so shall we say Tuesday the 24th?")],
                dt.date(2026, 3, 24),
            ),
            ([("Tobias", "Shall we book the next one for the 30th?")], dt.date(2026, 3, 30)),
            ([("Tobias", "Same time next week?"), ("Wren", "Yes.")], dt.date(2026, 3, 16)),
            ([("Tobias", "We'll meet in a fortnight.")], dt.date(2026, 3, 23)),
            (
                [("Tobias", "Shall we leave it three weeks until the next one?")],
                dt.date(2026, 3, 30),
            ),
            # the day in the reply to the booking
            (
                [
                    ("Tobias", "Shall we leave it a bit longer until the next one?"),
                    ("Wren", "Could we do the second of April?"),
                    ("Tobias", "The second. Same time."),
                ],
                dt.date(2026, 4, 2),
            ),
        ],
    )
    def test_the_day_it_was_booked_for(self, ending: list[tuple[str, str]], day: dt.date) -> None:
        booked = next_session_booked([session("a", dt.date(2026, 3, 9), ending)], TODAY)
        assert booked is not None and booked.day == day

    def test_a_booking_without_a_day_gives_none(self) -> None:
        ending = [("Tobias", "Shall we pick it up next week?"), ("Wren", "Yeah. Next week.")]
        booked = next_session_booked([session("a", dt.date(2026, 3, 9), ending)], TODAY)
        assert booked is not None and booked.day is None
        assert booked.sentence == "Shall we pick it up next week?"

    def test_the_same_time_each_night_and_until_next_time_book_nothing(self) -> None:
        ending = [
            ("Tobias", "Would you read to her at the same time each night?"),
            ("Tobias", "So, until next time?"),
            ("Wren", "The quiz on the twentieth. Ring Mum on Sunday."),
        ]
        assert next_session_booked([session("a", dt.date(2026, 3, 9), ending)], TODAY) is None

    def test_a_see_you_told_early_in_the_session_is_someone_elses(self) -> None:
        turns = [
            ("Wren", 'At the handover I just said, "See you on Sunday," and left.'),
            *FILLER,
            *FILLER,
        ]
        early = talk("a", dt.date(2026, 3, 9), *turns)
        assert next_session_booked([early], TODAY) is None

    def test_the_last_booking_with_a_day_wins(self) -> None:
        ending = [
            ("Tobias", "Shall we say the twenty-third of March?"),
            ("Wren", "Actually, could it be the twenty-fifth? Same time."),
            ("Tobias", "The twenty-fifth, same time. See you then."),
        ]
        booked = next_session_booked([session("a", dt.date(2026, 3, 9), ending)], TODAY)
        assert booked is not None and booked.day == dt.date(2026, 3, 25)

    def test_an_earlier_session_counts_only_for_a_day_after_the_last_one(self) -> None:
        older = session("a", dt.date(2026, 2, 9), [("Tobias", "Same time next week?")])
        ahead = session(
            "b",
            dt.date(2026, 2, 16),
            [("Tobias", "After this one, I'm away. Our next session is the ninth of March.")],
        )
        latest = session("c", dt.date(2026, 3, 2), [("Wren", "Thanks. Bye.")])
        booked = next_session_booked([older, ahead, latest], TODAY)
        assert booked is not None and booked.session.id == "b"
        assert booked.day == dt.date(2026, 3, 9)
        assert next_session_booked([older, latest], TODAY) is None

    def test_a_session_after_today_is_not_the_latest(self) -> None:
        held = session("a", dt.date(2026, 3, 9), [("Tobias", "Shall we say the 23rd?")])
        future = session("b", dt.date(2026, 3, 23), [("Tobias", "Same time next week?")])
        booked = next_session_booked([held, future], TODAY)
        assert booked is not None and booked.session.id == "a"


def test_the_answer_is_the_day_with_the_words_that_booked_it() -> None:
    booked = session(
        "a",
        dt.date(2026, 3, 9),
        [("Tobias", "Shall we say the twenty-third of March?"), ("Wren", "Perfect.")],
    )
    with answerer_over([booked], TODAY) as a:
        answer = a.ask("when's my next appointment?")
    assert answer.found and answer.asked is not None and answer.asked.kind == "next_session"
    assert answer.text.startswith("Your next session is on Monday 23 March, booked on 9 March:")
    assert "Your therapist said: “Shall we say the twenty-third of March?” [1]" in answer.text
    ((_, hit),) = answer.citations
    assert booked.text[hit.char_start : hit.char_end] == hit.text  # the transcript's words
    assert answer.model_id is None  # the system answered; the model was never asked


def test_a_day_given_in_the_reply_is_cited_with_the_booking() -> None:
    ending = [
        ("Tobias", "Shall we leave it a bit longer until the next one?"),
        ("Wren", "Could we do the second of April?"),
    ]
    with answerer_over([session("a", dt.date(2026, 3, 9), ending)], TODAY) as a:
        answer = a.ask("when do I see Tobias next?")
    assert answer.text.startswith("Your next session is on Thursday 2 April")
    assert [hit.text for _, hit in answer.citations] == [t for _, t in ending]


def test_a_booking_without_a_day_is_quoted_without_one() -> None:
    ending = [("Tobias", "Shall we pick it up next week?"), ("Wren", "Yeah.")]
    with answerer_over([session("a", dt.date(2026, 3, 9), ending)], TODAY) as a:
        answer = a.ask("when is my next session?")
    assert answer.found
    assert answer.text.startswith("The session on 9 March booked the next one without a day:")
    assert "March 16" not in answer.text and "16 March" not in answer.text


def test_sessions_that_book_nothing_say_so() -> None:
    conversation = Conversation()
    with answerer_over([session("a", dt.date(2026, 3, 9), [("Wren", "Thanks. Bye.")])], TODAY) as a:
        a.ask("what did I say about the quiz?", conversation=conversation)
        answer = a.ask("and when's my next appointment?", conversation=conversation)
    assert not answer.found and answer.citations == []
    assert answer.text == (
        "Your sessions don't say when the next one is: nothing in the last one, on 9 March, "
        "books it."
    )
