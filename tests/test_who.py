"""Who is someone? The moments that introduce them, first mention first.

Unit tests with the deterministic FakeEmbedder and FakeChatModel (the system answers this kind
itself). The people are invented: the client Wren, her counsellor Tobias, and the people of
Wren's life (Cormac from the campsite, her manager Hilda, her sister).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from reflect.answer import Answerer
from reflect.answer.people import (
    asks_who,
    introductions,
    is_a_name,
    role_words,
    said_with_role,
)
from reflect.answer.question import read_question
from tests.wren_fixtures import answerer_over, talk

TODAY = dt.date(2026, 9, 1)


CAMPING = talk(
    "a",
    dt.date(2026, 7, 7),
    ("Tobias", "How was the campsite?"),
    (
        "Wren",
        "Wet. But there were other parents there on their own. One of them, Cormac, he had "
        "twin boys, he lent us a mallet.",
    ),
    ("Tobias", "Other parents on their own. How was that?"),
    ("Wren", "Honestly? A relief. I wasn't the only one juggling."),
)
BACK = talk(
    "b",
    dt.date(2026, 7, 21),
    (
        "Wren",
        "Good news. Cormac, the campsite dad, lives round the corner from us. So now on "
        "Tuesdays we walk the boys to school together and then on to work.",
    ),
    ("Tobias", "Two mornings with Cormac."),
    ("Wren", "And work is work. Hilda, my manager, wants the report by Friday."),
)
LATER = talk(
    "c",
    dt.date(2026, 8, 4),
    ("Tobias", "And the walking?"),
    ("Wren", "Still going. I walk with Cormac every Tuesday, rain or not."),
    ("Wren", "My sister rang. She wants to come at Christmas and I said maybe."),
)
SESSIONS = [CAMPING, BACK, LATER]


class TestTheQuestion:
    @pytest.mark.parametrize(
        ("question", "who"),
        [
            ("who is Cormac?", "Cormac"),
            ("who's Cormac again?", "Cormac"),
            ("who's my manager?", "my manager"),
            ("who's the guy I go walking with?", "the guy I go walking with"),
            ("and who was that dad from the campsite?", "that dad from the campsite"),
        ],
    )
    def test_whom_it_asks_about(self, question: str, who: str) -> None:
        assert asks_who(question) == who
        asked = read_question(question, today=TODAY)
        assert (asked.kind, asked.topic) == ("who", who)

    @pytest.mark.parametrize(
        ("question", "kind"),
        [
            ("and who's taking her room?", "recall"),
            ("who is she?", "recall"),
            ("who did I go walking with?", "recall"),
            ("who said I should rest?", "recall"),
            ("when did I first mention Cormac?", "first"),
            ("what did Cormac say about the school run?", "recall"),
        ],
    )
    def test_other_questions_are_not_it(self, question: str, kind: str) -> None:
        assert asks_who(question) is None
        assert read_question(question, today=TODAY).kind == kind

    def test_the_words_that_say_which_person(self) -> None:
        assert role_words("the guy I go walking with") == {"walk"}
        assert role_words("my manager") == {"manager"}
        assert is_a_name("Cormac") and is_a_name("Dr Okafor") and not is_a_name("Yeah")


class TestIntroductions:
    def test_the_first_mention_and_the_sentences_that_say_who_they_are(self) -> None:
        said = introductions(SESSIONS, "Cormac")
        assert [(s.session.id, s.text) for s in said] == [
            ("a", "One of them, Cormac, he had twin boys, he lent us a mallet."),
            ("b", "Cormac, the campsite dad, lives round the corner from us."),
        ]

    def test_a_name_never_said_has_none(self) -> None:
        assert introductions(SESSIONS, "Zebedee") == []

    def test_a_role_said_with_a_name_gives_the_name(self) -> None:
        name, said = said_with_role(SESSIONS, {"walk"}, ["Wren", "Tobias"])
        assert name == "Cormac"
        assert [s.text for s in said] == ["I walk with Cormac every Tuesday, rain or not."]
        name, said = said_with_role(SESSIONS, role_words("my manager"), ["Wren", "Tobias"])
        assert name == "Hilda"
        assert said[0].text == "Hilda, my manager, wants the report by Friday."

    def test_a_role_never_named_gives_the_sentences_that_say_it(self) -> None:
        name, said = said_with_role(SESSIONS, role_words("my sister"), ["Wren", "Tobias"])
        assert name is None
        assert [s.text for s in said] == ["My sister rang."]

    def test_words_only_ever_capitalised_at_a_sentence_start_are_not_names(self) -> None:
        # "Honestly" and "Still" start sentences near "walk"; the labels are not names either.
        name, _ = said_with_role(
            [talk("d", dt.date(2026, 8, 11), ("Wren", "Honestly, Tobias, walking helps."))],
            {"walk"},
            ["Wren", "Tobias"],
        )
        assert name is None


@pytest.fixture(scope="module")
def answerer() -> Iterator[Answerer]:
    with answerer_over(SESSIONS, TODAY) as a:
        yield a


def test_who_is_a_name_is_answered_by_the_moments_that_introduce_them(
    answerer: Answerer,
) -> None:
    answer = answerer.ask("who is Cormac?")
    assert answer.asked is not None and answer.asked.kind == "who"
    assert answer.found and answer.model_id is None
    lines = answer.text.split("\n")
    assert lines[0].startswith("Cormac first came up on 7 July: you said “")
    assert "One of them, Cormac, he had twin boys" in lines[0]
    assert lines[1].startswith("On 21 July, you said: “Good news. Cormac, the campsite dad")
    assert [hit.session_id for _, hit in answer.citations] == ["a", "b"]
    for _, hit in answer.citations:  # every excerpt is the transcript's own words
        source = next(s for s in SESSIONS if s.id == hit.session_id)
        assert source.text[hit.char_start : hit.char_end] == hit.text


def test_who_by_role_names_the_person_the_role_is_said_with(answerer: Answerer) -> None:
    answer = answerer.ask("who's the guy I go walking with?")
    assert answer.text.startswith("That sounds like Cormac:\nCormac first came up on 7 July")
    # The introductions, and where walking is said with his name, oldest first.
    assert [hit.session_id for _, hit in answer.citations] == ["a", "b", "c"]
    assert "I walk with Cormac every Tuesday" in answer.text


def test_a_role_never_named_is_answered_by_where_it_came_up(answerer: Answerer) -> None:
    answer = answerer.ask("who's my sister?")
    assert answer.found
    assert answer.text.startswith("On 4 August, you said: “")
    assert "My sister rang." in answer.text


def test_someone_never_mentioned_is_not_found(answerer: Answerer) -> None:
    answer = answerer.ask("who is Zebedee?")
    assert not answer.found and answer.citations == []
