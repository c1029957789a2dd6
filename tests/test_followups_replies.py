"""Follow-ups that ask what was said back ("what did he say?", "what did I do when he said
it?") and "when was that?" when the moment cited tells no day.

Reading is tested on `read_question` with a hand-made previous turn; answering on a tiny vault
searched with the deterministic FakeEmbedder (the model is never asked). The people and
sentences are invented: the client Ravi, his counsellor Odile.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from reflect.answer import Answerer
from reflect.answer.conversation import Conversation, dated_moment, reply_at
from reflect.answer.events import day_told, says_day_number
from reflect.answer.question import PreviousTurn, people_named, read_question
from reflect.retrieval import Hit, Retriever
from reflect.session import Session
from reflect.testing import FakeChatModel
from reflect.transcript import Turn
from reflect.words import content_stems
from tests import test_followups as followups
from tests.test_followups import tiny_retriever

TODAY = dt.date(2025, 7, 1)


def session(sid: str, day: dt.date, turns: list[tuple[str, str]]) -> Session:
    return followups.session(sid, day, [Turn(who, said, None, None) for who, said in turns])


SESSIONS = [
    session(
        "a",
        dt.date(2025, 3, 1),
        [
            (
                "Ravi",
                "My brother Dev is getting married. The wedding is in Lisbon on "
                "Saturday the fourteenth of June.",
            ),
            ("Odile", "How do you feel about going?"),
            ("Ravi", "Nervous. Dad will be there, and I still haven't told him about the firm."),
            ("Odile", "And the flight?"),
            ("Ravi", "Mum offered to pay for my flight to Lisbon. I said no, I'm not a kid."),
        ],
    ),
    session(
        "b",
        dt.date(2025, 6, 24),
        [
            ("Ravi", "I went to the wedding in Lisbon. It was lovely and very loud."),
            ("Odile", "Did you talk to your dad there?"),
            (
                "Ravi",
                "I told Dad I'd quit the firm. And he said, \"About time you did "
                'something for yourself."',
            ),
            ("Odile", "How was that for you?"),
            ("Ravi", "I didn't know what to say. I just hugged him."),
            ("Ravi", "And I rang Mum and said yes to the flight money in the end."),
            ("Odile", "What did she say?"),
            ("Ravi", 'She laughed. And then she said, "Finally, you let me help."'),
        ],
    ),
]


def turn_hit(s: Session, index: int) -> Hit:
    t = s.turns[index]
    text = s.text[t.char_start : t.char_end]
    return Hit(
        rank=1,
        score=1.0,
        session_id=s.id,
        session_title=s.title,
        session_date=s.date,
        source_file=s.source_file,
        speaker=t.speaker,
        start=None,
        end=None,
        text=text,
        char_start=t.char_start,
        char_end=t.char_end,
        first_turn=t.index,
        last_turn=t.index,
    )


def previous(question: str, cited: Hit) -> PreviousTurn:
    asked = read_question(question, today=TODAY, others=["Odile"])
    return PreviousTurn(
        asked,
        cited_session=cited.session_id,
        cited_date=cited.session_date,
        cited=cited,
        people=people_named(asked.text),
        cited_all=(cited,),
    )


TOLD_DAD = turn_hit(SESSIONS[1], 2)
ASKED_ABOUT_DAD = turn_hit(SESSIONS[1], 1)
WENT = turn_hit(SESSIONS[1], 0)


class TestReading:
    def test_what_did_he_say_asks_the_reply_at_the_moment_cited(self) -> None:
        before = previous("did I tell Dad about the firm?", TOLD_DAD)
        asked = read_question("what did he say?", today=TODAY, previous=before)
        assert asked.followup and asked.reply == "said"
        assert asked.refers_to is TOLD_DAD
        assert asked.reply_by[0] == "he" and "Dad" in asked.reply_by
        assert "what Dad said then (24 June)" in asked.summary()

    def test_what_did_i_do_when_he_said_it_asks_the_users_next_turn(self) -> None:
        before = previous("what did Dad say at the wedding?", TOLD_DAD)
        for question in ("what did I do when he said it?", "and what did I do after he said that?"):
            asked = read_question(question, today=TODAY, previous=before)
            assert asked.reply == "did" and asked.refers_to is TOLD_DAD, question
            assert "what you did then (24 June)" in asked.summary()

    def test_a_question_with_a_subject_of_its_own_is_not_a_reply(self) -> None:
        before = previous("did I tell Dad about the firm?", TOLD_DAD)
        for question in ("what did he say about my pension?", "and what did he say about that?"):
            asked = read_question(question, today=TODAY, previous=before)
            assert asked.reply == "", question

    def test_what_i_said_id_tell_someone_is_a_plan_did_i_do_it_asks_after(self) -> None:
        asked = read_question("what did I say I'd tell Mum about the flight?", today=TODAY)
        assert asked.kind == "agreements" and "Mum" in asked.topic
        then = read_question("did I do it?", today=TODAY, previous=previous(asked.text, WENT))
        assert then.followup and then.kind == "outcome"


class TestReplyAt:
    def test_what_he_said_is_the_users_turn_reporting_his_words(self) -> None:
        # From Odile's question on: Ravi's next turn tells what Dad said.
        got = reply_at(ASKED_ABOUT_DAD, SESSIONS[1], "said", ("he", "Dad"), {"Ravi"})
        assert got is not None and got.text.startswith("I told Dad I'd quit the firm")
        assert SESSIONS[1].text[got.char_start : got.char_end] == got.text  # verbatim

    def test_what_i_did_is_the_users_turn_after_the_report(self) -> None:
        got = reply_at(TOLD_DAD, SESSIONS[1], "did", ("he",), {"Ravi"})
        assert got is not None and got.text == "I didn't know what to say. I just hugged him."

    def test_no_reply_when_nobody_is_reported(self) -> None:
        assert reply_at(WENT, SESSIONS[1], "said", ("she",), {"Ravi"}) is None
        assert reply_at(turn_hit(SESSIONS[1], 4), SESSIONS[1], "did", ("he",), {"Ravi"}) is None


class TestDatedOnly:
    def test_the_day_may_come_just_before_the_words(self) -> None:
        text = "Oh, yeah. She's ten on the ninth of June. Lorna's doing a party at hers."
        words = content_stems("Lorna's party")
        assert day_told(text, dt.date(2025, 5, 26), words) is None
        told = day_told(text, dt.date(2025, 5, 26), words, before=True)
        assert told is not None and told[0] == dt.date(2025, 6, 9)

    def test_a_day_with_its_number_in_a_passage_naming_the_thing(self) -> None:
        told = turn_hit(SESSIONS[0], 0)
        moment = dated_moment([WENT, told], content_stems("the wedding in Lisbon"), dated=True)
        assert moment is not None and moment.hit is told
        assert moment.day == dt.date(2025, 6, 14)

    def test_a_weekday_alone_or_one_common_word_is_not_enough(self) -> None:
        weekday = turn_hit(
            session(
                "c",
                dt.date(2025, 5, 9),
                [
                    ("Ravi", "Dad and I did two Friday nights at the wedding shop in Lisbon."),
                ],
            ),
            0,
        )
        words = content_stems("the wedding in Lisbon")
        assert dated_moment([weekday], words) is not None  # read as the Friday before
        assert dated_moment([weekday], words, dated=True) is None
        one_word = turn_hit(
            session(
                "d",
                dt.date(2025, 5, 9),
                [
                    ("Ravi", "Ring Dad. The mock is on the twentieth."),
                ],
            ),
            0,
        )
        assert dated_moment([one_word], content_stems("Dad at the sea wall"), dated=True) is None
        assert says_day_number("Saturday the eighteenth of July")
        assert not says_day_number("Two Friday nights, in a paper hat.")


@pytest.fixture(scope="module")
def retriever() -> Iterator[Retriever]:
    yield from tiny_retriever(SESSIONS, "Ravi")


def answerer(retriever: Retriever, model: FakeChatModel) -> Answerer:
    return followups.answerer(retriever, model, SESSIONS, "Ravi", "Odile", TODAY)


def talk_after(question: str, cited: Hit) -> Conversation:
    talk = Conversation()
    talk.turns.append(previous(question, cited))
    return talk


def test_when_was_that_finds_the_day_where_the_moment_cited_gives_none(
    retriever: Retriever,
) -> None:
    model = FakeChatModel([])
    talk = talk_after("how did the wedding in Lisbon go?", WENT)
    when = answerer(retriever, model).ask("when was that?", conversation=talk)
    assert when.asked is not None and when.asked.kind == "when"
    assert when.text.startswith("On 14 June: on 1 March, in “Session a”")
    (cited,) = [hit for _, hit in when.citations]
    assert "Saturday the fourteenth of June" in cited.text
    assert model.calls == []


def test_when_did_i_tell_you_that_stays_the_day_of_the_telling(retriever: Retriever) -> None:
    talk = talk_after("how did the wedding in Lisbon go?", WENT)
    told = answerer(retriever, FakeChatModel([])).ask(
        "when did I tell you that?", conversation=talk
    )
    assert told.text.startswith("That was on 24 June")


def test_what_did_he_say_and_what_did_i_do_are_the_turns_after_the_moment(
    retriever: Retriever,
) -> None:
    model = FakeChatModel([])
    a = answerer(retriever, model)
    talk = talk_after("did I talk to Dad at the wedding?", ASKED_ABOUT_DAD)
    said = a.ask("what did he say?", conversation=talk)
    assert said.text.startswith("Then, on 24 June, you said:")
    assert any("About time you did" in hit.text for _, hit in said.citations)
    did = a.ask("what did I do when he said it?", conversation=talk)
    assert [hit.text for _, hit in did.citations] == [
        "I didn't know what to say. I just hugged him."
    ]
    # "that" is still the moment replied to: the day it was told.
    when = a.ask("and when was that?", conversation=talk)
    assert "24 June" in when.text
    assert model.calls == []


def test_what_she_said_is_looked_for_later_when_the_moment_cited_has_no_reply(
    retriever: Retriever,
) -> None:
    offer = turn_hit(SESSIONS[0], 4)
    assert offer.text.startswith("Mum offered to pay for my flight")
    talk = talk_after("did I take the flight money Mum offered?", offer)
    said = answerer(retriever, FakeChatModel([])).ask("what did she say?", conversation=talk)
    assert said.text.startswith("Then, on 24 June, you said:")
    assert [hit.text for _, hit in said.citations] == [
        'She laughed. And then she said, "Finally, you let me help."'
    ]
