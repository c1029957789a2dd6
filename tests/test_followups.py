"""Follow-up questions: what "she", "after that", "that night" and "when do I start?" lean on.

Reading is tested on `read_question` with a hand-made previous turn; answering on a tiny vault
searched with the deterministic FakeEmbedder (the model is never asked: "when" answers are
composed from the excerpts). The people and sentences are invented: the client Noor, her
counsellor Ines.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence

import pytest

from reflect.answer import Answerer, AnswerSettings, EvidenceThresholds
from reflect.answer.conversation import Conversation, dated_moment, with_reply
from reflect.answer.events import day_told
from reflect.answer.question import PreviousTurn, SessionDate, people_named, read_question
from reflect.chunking import chunk_session, embedding_text
from reflect.index import SearchIndex
from reflect.retrieval import Hit, Retriever
from reflect.session import Session, build_text
from reflect.testing import FakeChatModel, FakeEmbedder
from reflect.transcript import Turn
from reflect.words import content_stems

TODAY = dt.date(2025, 6, 30)


def hit_at(sid: str, day: dt.date, text: str, speaker: str = "Noor") -> Hit:
    return Hit(
        rank=1,
        score=1.0,
        session_id=sid,
        session_title=f"Session {sid}",
        session_date=day,
        source_file=f"{sid}.txt",
        speaker=speaker,
        start=None,
        end=None,
        text=text,
        char_start=0,
        char_end=len(text),
        first_turn=0,
        last_turn=0,
    )


def previous(question: str, cited: Hit | None = None, people: tuple[str, ...] = ()) -> PreviousTurn:
    asked = read_question(question, today=TODAY)
    return PreviousTurn(
        asked,
        cited_session=cited.session_id if cited else None,
        cited_date=cited.session_date if cited else None,
        cited=cited,
        people=people or people_named(asked.text),
        cited_all=(cited,) if cited else (),
    )


class TestReading:
    def test_a_when_of_a_verb_alone_is_the_day_of_what_was_talked_about(self) -> None:
        asked = read_question(
            "when do I move in?", today=TODAY, previous=previous("did I get the flat on Mill Lane?")
        )
        assert asked.followup and asked.kind == "when"
        assert asked.when_words == "move in" and "flat" in asked.topic
        # A when with a subject of its own is a new question.
        fresh = read_question(
            "when did I mention Gran?", today=TODAY, previous=previous("did I get the flat?")
        )
        assert not fresh.followup

    def test_when_did_i_start_there_asks_the_day_not_the_first_mention(self) -> None:
        asked = read_question(
            "when did I start there?", today=TODAY, previous=previous("did I get the bakery job?")
        )
        assert asked.kind == "when" and asked.when_words == "start"
        assert "bakery job" in asked.topic

    def test_when_did_i_tell_you_that_is_the_day_of_the_telling(self) -> None:
        moment = hit_at("s2", dt.date(2025, 4, 1), "The hearing is on the twelfth of May.")
        told = read_question(
            "when did I tell you that?",
            today=TODAY,
            previous=previous("what did I say about the hearing?", moment),
        )
        again = read_question(
            "when was it again?",
            today=TODAY,
            previous=previous("what did I say about the hearing?", moment),
        )
        assert told.kind == again.kind == "when"
        assert told.asks_when_said and not again.asks_when_said
        assert again.refers_to is moment

    def test_after_that_starts_at_the_moment_the_last_answer_cited(self) -> None:
        moment = hit_at("s3", dt.date(2025, 4, 15), "Uncle Pavel went into hospital on Sunday.")
        asked = read_question(
            "how was I eating after that?",
            today=TODAY,
            previous=previous("what did I say about my uncle going into hospital?", moment),
        )
        assert asked.followup and asked.topic == "eating"
        assert (asked.since, asked.until, asked.session_ids) == (dt.date(2025, 4, 15), None, None)
        assert asked.time_words == "after 15 April"

    def test_a_question_of_its_own_that_says_afterwards_is_new(self) -> None:
        moment = hit_at("s3", dt.date(2025, 4, 15), "Uncle Pavel went into hospital on Sunday.")
        asked = read_question(
            "what did my cousin and I argue about at the wake afterwards?",
            today=TODAY,
            previous=previous("what did I say about my uncle going into hospital?", moment),
        )
        assert not asked.followup and asked.since is None

    def test_that_time_i_said_opens_a_recollection_of_its_own(self) -> None:
        # Seen in the demo: "that" read as pointing back carried "the crocodile" of the last
        # question into "that time I said I felt like a ghost at work" ("work" asks nothing).
        asked = read_question(
            "that time I said I felt like a ghost at work",
            today=TODAY,
            previous=previous("what did my counsellor say about the crocodile?"),
        )
        assert not asked.followup
        assert "crocodile" not in asked.topic
        again = read_question(
            "what did she say that time?",
            today=TODAY,
            previous=previous("what did Mum say about the crocodile?"),
        )
        assert again.followup

    def test_after_that_one_is_a_session_not_a_moment(self) -> None:
        moment = hit_at("s3", dt.date(2025, 4, 15), "We talked about the garden.")
        asked = read_question(
            "what was I meant to do after that one?",
            today=TODAY,
            previous=previous("what did we cover in April?", moment),
        )
        assert asked.time_words != "after 15 April"

    def test_that_night_is_the_session_that_told_it(self) -> None:
        moment = hit_at("s4", dt.date(2025, 5, 6), "I told Tomasz everything on the stairs.")
        asked = read_question(
            "how did I sleep that night?",
            today=TODAY,
            previous=previous("what did I say when I told Tomasz about the debts?", moment),
        )
        assert asked.followup and asked.topic == "sleep"
        assert asked.session_ids == frozenset({"s4"}) and asked.time_words == "then (6 May)"
        # Without a cited moment there is nothing to place it at.
        bare = read_question(
            "how did I sleep that night?",
            today=TODAY,
            previous=previous("what did I say when I told Tomasz about the debts?"),
        )
        assert bare.followup and bare.session_ids is None

    def test_he_is_the_person_named_not_every_word_of_the_last_question(self) -> None:
        asked = read_question(
            "did he ever apologise?",
            today=TODAY,
            previous=previous("what did Tomasz say when I cancelled the trip to the coast?"),
        )
        assert asked.followup and asked.kind == "outcome"
        assert "Tomasz" in asked.topic and "coast" not in asked.topic

    def test_she_is_a_person_of_the_users_life_not_the_counsellor(self) -> None:
        asked = read_question(
            "and what did she say afterwards?",
            today=TODAY,
            previous=previous("what did my gran say about the move?"),
        )
        assert asked.followup and "my gran" in asked.topic
        assert asked.speaker is None  # the user reports Gran's words
        # No one named before: "she" stays the other person of the sessions.
        plain = read_question(
            "and what did she say about that?",
            today=TODAY,
            previous=previous("what did we say about sleep?"),
        )
        assert plain.speaker == "other"

    def test_a_pronoun_of_the_other_sex_skips_a_kin_word_that_does_not_fit(self) -> None:
        asked = read_question(
            "did he call back?",
            today=TODAY,
            previous=previous("what did my sister and my dad say about Christmas?"),
        )
        assert "my dad" in asked.topic and "my sister" not in asked.topic

    def test_a_short_question_of_plain_verbs_continues_the_conversation(self) -> None:
        asked = read_question(
            "what do I need to bring?",
            today=TODAY,
            previous=previous("did I get a place on the pottery course?"),
        )
        assert asked.followup and "pottery course" in asked.topic
        fresh = read_question(
            "what do I need for sleep?",
            today=TODAY,
            previous=previous("did I get a place on the pottery course?"),
        )
        assert not fresh.followup

    def test_the_people_a_question_names(self) -> None:
        assert people_named("what did Tomasz say when I rang my sister on Friday in May?") == (
            "Tomasz",
            "my sister",
        )
        assert people_named("did Mum's visit go well?") == ("Mum",)
        assert people_named("how was I sleeping?") == ()


class TestDayTold:
    def test_a_day_said_with_the_words_is_read_against_the_day_it_was_said(self) -> None:
        told = day_told(
            "Nervous. Good, though. I start on the second of March. New apron and all.",
            dt.date(2025, 2, 10),
            content_stems("start"),
        )
        assert told == (dt.date(2025, 3, 2), "I start on the second of March.")

    def test_the_reply_to_a_question_gives_the_day(self) -> None:
        told = day_told(
            "When do you start?\n\nMonday the third of March. Early shifts, mind.",
            dt.date(2025, 2, 10),
            content_stems("start"),
        )
        assert told is not None and told[0] == dt.date(2025, 3, 3)

    @pytest.mark.parametrize(
        "text",
        [
            "I start next week, I think.",  # a range, not a day
            "I start on Tuesday the third of March.",  # 3 March 2025 is a Monday: no day
            "The bakery rang. Lovely people. I can't wait.",  # the words aren't there
        ],
    )
    def test_no_day_when_none_is_told(self, text: str) -> None:
        assert day_told(text, dt.date(2025, 2, 10), content_stems("start")) is None

    def test_a_weekday_told_as_past_is_the_last_one_before(self) -> None:
        # Said on Wednesday 5 March 2025: "Friday" is 28 February; looking ahead, no day.
        said = dt.date(2025, 3, 5)
        told = day_told("Did Gran come?\n\nShe did. She came Friday, left Sunday.", said, {"gran"})
        assert told is not None and told[0] == dt.date(2025, 2, 28)
        assert day_told("Gran comes Friday, I'll pick her up.", said, {"gran"}) is None

    def test_a_moment_naming_the_topic_wins_over_an_earlier_one_that_does_not(self) -> None:
        swim = hit_at("s1", dt.date(2025, 2, 10), "Swimming to start, this Saturday.")
        job = hit_at("s2", dt.date(2025, 2, 10), "The bakery job? I start on the second of March.")
        moment = dated_moment([swim, job], content_stems("start"), content_stems("bakery job"))
        assert moment is not None and moment.hit is job and moment.day == dt.date(2025, 3, 2)
        assert dated_moment([swim], content_stems("move")) is None


# ---- answered, on a tiny vault ------------------------------------------------------------

EMBEDDER = FakeEmbedder(64)


def turn(speaker: str, text: str) -> Turn:
    return Turn(speaker, text, None, None)


def session(sid: str, day: dt.date, turns: list[Turn]) -> Session:
    text, stored = build_text(turns)
    return Session(
        id=sid,
        title=f"Session {sid}",
        date=day,
        date_source="option",
        source_file=f"{sid}.txt",
        content_hash=sid,
        imported_at="2025-06-30T10:00:00",
        format="txt",
        text=text,
        turns=stored,
    )


SESSIONS = [
    session(
        "a",
        dt.date(2025, 2, 3),
        [
            turn(
                "Noor",
                "I applied for the bakery job on Hale Street. The interview's on the seventh.",
            ),
            turn("Ines", "How are you feeling about the interview?"),
            turn("Noor", "Sick. Excited. Mostly sick."),
        ],
    ),
    session(
        "b",
        dt.date(2025, 2, 10),
        [
            turn("Noor", "I got the bakery job! They rang me on the Monday."),
            turn("Ines", "Congratulations. How does the new job feel?"),
            turn("Noor", "Unreal. I start on the third of March. Early shifts, four till noon."),
            turn("Ines", "Four in the morning. How will you manage the alarm?"),
            turn("Noor", "Two alarms and the kettle on a timer."),
        ],
    ),
]


def tiny_retriever(sessions: Sequence[Session], me: str) -> Iterator[Retriever]:
    """A retriever over `sessions`, small chunks, the fake embedder (closed after)."""
    index = SearchIndex()
    for s in sessions:
        chunks = chunk_session(s, min_words=5, max_words=25)
        index.add_lexical(s, chunks)
        index.add_vectors(s.id, chunks, EMBEDDER.embed([embedding_text(s, c) for c in chunks]))
    yield Retriever(index, EMBEDDER, me_labels=frozenset([me]))
    index.close()


@pytest.fixture(scope="module")
def retriever() -> Iterator[Retriever]:
    yield from tiny_retriever(SESSIONS, "Noor")


def answerer(
    retriever: Retriever,
    model: FakeChatModel,
    sessions: Sequence[Session] = SESSIONS,
    me: str = "Noor",
    therapist: str = "Ines",
    today: dt.date = TODAY,
) -> Answerer:
    """An Answerer over `retriever` whose evidence thresholds let the tiny vault answer."""
    return Answerer(
        retriever,
        EMBEDDER,
        lambda: model,
        me_labels=[me],
        therapist_labels=[therapist],
        settings=AnswerSettings(
            evidence=EvidenceThresholds(
                strong_similarity=2.0,
                min_coverage=0.5,
                min_similarity=-1.0,
                partial_coverage=2.0,
                partial_similarity=2.0,
                no_terms_similarity=2.0,
                words_only_coverage=0.5,
            )
        ),
        session_dates=lambda: [SessionDate(s.id, s.date) for s in sessions],
        today=lambda: today,
    )


def test_the_reply_after_a_cited_moment_is_part_of_it(retriever: Retriever) -> None:
    got = retriever.search("got the bakery job", k=5)
    first = next(h for h in got if h.session_id == "b" and "got the bakery job" in h.text)
    wider = with_reply(first, retriever.index.session("b"))
    assert "I start on the third of March" in wider.text
    assert SESSIONS[1].text[wider.char_start : wider.char_end] == wider.text


def test_when_do_i_start_is_answered_with_the_day_it_gives(retriever: Retriever) -> None:
    model = FakeChatModel([])
    a = answerer(retriever, model)
    talk = Conversation()
    a.ask("did I get the bakery job?", conversation=talk)
    start = a.ask("when do I start?", conversation=talk)
    assert start.asked is not None and start.asked.kind == "when"
    assert start.text.startswith("On 3 March: on 10 February, in “Session b”")
    (cited,) = [hit for _, hit in start.citations]
    assert "I start on the third of March" in cited.text
    assert SESSIONS[1].text[cited.char_start : cited.char_end] == cited.text  # verbatim
    assert model.calls == []


def test_when_was_that_reads_the_day_the_cited_moment_names(retriever: Retriever) -> None:
    a = answerer(retriever, FakeChatModel([""]))
    talk = Conversation()
    a.ask("what did I say about the bakery job interview?", conversation=talk)
    when = a.ask("when was that?", conversation=talk)
    assert when.asked is not None and when.asked.kind == "when"
    # "the interview's on the seventh", said on 3 February: 7 February.
    assert when.text.startswith("On 7 February: on 3 February, in “Session a”")
    told = a.ask("when did I tell you that?", conversation=talk)
    assert told.text.startswith("That was on 3 February")


def test_when_was_that_after_a_question_was_cited_reads_the_reply(retriever: Retriever) -> None:
    # The moment cited is Ines's "How does the new job feel?": the day is in Noor's reply.
    s = SESSIONS[1]
    asking = s.turns[1]
    text = s.text[asking.char_start : asking.char_end]
    assert text.endswith("How does the new job feel?")
    cited = dataclasses.replace(
        hit_at("b", s.date, text, speaker="Ines"),
        char_start=asking.char_start,
        char_end=asking.char_end,
        first_turn=asking.index,
        last_turn=asking.index,
    )
    talk = Conversation()
    talk.turns.append(
        PreviousTurn(
            read_question("what did Ines say about the new job?", today=TODAY, others=["Ines"]),
            cited_session="b",
            cited_date=s.date,
            cited=cited,
            cited_all=(cited,),
        )
    )
    when = answerer(retriever, FakeChatModel([])).ask("when was that?", conversation=talk)
    assert when.text.startswith("On 3 March: on 10 February, in “Session b”")
