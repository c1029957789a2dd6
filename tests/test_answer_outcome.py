"""Outcome answers cite the right moments (#17): where it was proposed, and the user's later
turns that tell what became of it (reflect/answer/outcome.py).

Invented people: the client Wren and her counsellor Tamsin. Deterministic fakes only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from reflect.answer import Answerer, AnswerSettings, EvidenceThresholds
from reflect.answer.excerpts import turn_pieces
from reflect.answer.outcome import proposal_turn, report_turn, suggests
from reflect.answer.question import SessionDate, read_question
from reflect.chunking import chunk_session, embedding_text
from reflect.index import SearchIndex
from reflect.retrieval import Hit, Retriever, span_hit
from reflect.session import Session, build_text
from reflect.testing import FakeChatModel, FakeEmbedder
from reflect.transcript import Turn
from reflect.words import content_stems

TODAY = dt.date(2025, 5, 1)
EMBEDDER = FakeEmbedder(64)
ME = ["Wren"]


def wren(text: str) -> Turn:
    return Turn("Wren", text, None, None)


def tamsin(text: str) -> Turn:
    return Turn("Tamsin", text, None, None)


def session(sid: str, date: dt.date, turns: list[Turn]) -> Session:
    text, stored = build_text(turns)
    return Session(
        id=sid,
        title=f"Session {sid}",
        date=date,
        date_source="option",
        source_file=f"{sid}.txt",
        content_hash=sid,
        imported_at="2025-05-01T10:00:00",
        format="txt",
        text=text,
        turns=stored,
    )


SUGGESTED = session(
    "a",
    dt.date(2025, 3, 2),
    [
        wren("When my brother's name comes up on my phone my stomach drops, every single time."),
        tamsin(
            "Can I suggest something small for this week? When a message from your brother "
            "comes in, write your reply but don't send it. Wait an hour, then decide."
        ),
        wren("An hour. Okay. I'll put the phone in the biscuit tin so I can't see it."),
        tamsin("The biscuit tin, then. And how is the garden looking these days?"),
        wren("The garden is overgrown, the hedge needs cutting badly before the spring."),
    ],
)
TOLD = session(
    "b",
    dt.date(2025, 3, 16),
    [
        tamsin("And the messages from your brother, since we last met?"),
        wren(
            "Good, actually. Every one went in the biscuit tin, sixty minutes on the oven "
            "clock before I answered."
        ),
        wren("Can I talk about the garden now? The hedge is finally done, all of it."),
        tamsin("Of course. How did the hedge go, in the end, with the weather like that?"),
    ],
)
LATER_PLAN = session(
    "c",
    dt.date(2025, 3, 30),
    [
        tamsin(
            "What if you answered your brother's messages in person instead, at Sunday lunch? "
            "Wait until pudding, then answer his message face to face."
        ),
        wren("Sunday lunch, in person. I could try that with him, I suppose, maybe."),
    ],
)
SESSIONS = [SUGGESTED, TOLD, LATER_PLAN]
WORDS_DECIDE = EvidenceThresholds(
    strong_similarity=2.0,
    min_coverage=0.5,
    min_similarity=-1.0,
    partial_coverage=2.0,
    partial_similarity=2.0,
    no_terms_similarity=2.0,
    words_only_coverage=0.5,
)


@pytest.fixture(scope="module")
def retriever() -> Iterator[Retriever]:
    index = SearchIndex()
    for s in SESSIONS:
        chunks = chunk_session(s, min_words=30, max_words=60)
        index.add_lexical(s, chunks)
        index.add_vectors(s.id, chunks, EMBEDDER.embed([embedding_text(s, c) for c in chunks]))
    yield Retriever(index, EMBEDDER, me_labels=frozenset(ME))
    index.close()


def answerer(retriever: Retriever) -> Answerer:
    return Answerer(
        retriever,
        EMBEDDER,
        lambda: FakeChatModel([]),
        me_labels=ME,
        therapist_labels=["Tamsin"],
        settings=AnswerSettings(evidence=WORDS_DECIDE),
        session_dates=lambda: [SessionDate(s.id, s.date) for s in SESSIONS],
        today=lambda: TODAY,
    )


def turns_of(s: Session) -> list[Hit]:
    return turn_pieces(span_hit(s, 0, len(s.text)), s)


def stems(hit: Hit) -> set[str]:
    return content_stems(hit.text)


def test_a_suggestion_without_a_verb_of_doing_still_proposes() -> None:
    assert suggests("Can I suggest something small for this week?")
    assert suggests("Would you be up for keeping a diary?")
    assert not suggests("And how is the garden looking these days?")


def test_the_proposal_is_the_turn_that_proposes_the_thing_named() -> None:
    turns = turns_of(SUGGESTED)
    proposed = proposal_turn(turns, content_stems("wait before answering messages"), stems)
    assert proposed is not None and proposed.text.startswith("Can I suggest something small")
    # A proposal of something else is not it.
    assert proposal_turn(turns, content_stems("the hedge"), stems) is None


def test_the_report_is_the_users_answer_to_the_question_that_names_it() -> None:
    turns = turns_of(TOLD)
    # The user's turns name neither "messages" nor "brother": the question before one does.
    told = report_turn(turns, content_stems("messages brother"), ME, stems)
    assert told is not None and told.text.startswith("Good, actually. Every one went in")
    # The user's own words, when they hold it, before anything else.
    own = report_turn(turns, content_stems("biscuit tin"), ME, stems)
    assert own is not None and own.text.startswith("Good, actually.")
    hedge = report_turn(turns, content_stems("hedge"), ME, stems)
    assert hedge is not None and hedge.text.startswith("Can I talk about the garden")
    assert report_turn(turns, content_stems("zeppelin"), ME, stems) is None


def test_an_outcome_anchors_on_the_first_proposal_and_quotes_the_report(
    retriever: Retriever,
) -> None:
    answer = answerer(retriever).ask("did waiting before answering my brother's messages work?")
    assert answer.found and answer.asked is not None and answer.asked.kind == "outcome"
    # Where it came up: the first suggestion (2 March), not the later plan that shares
    # more of the question's words (30 March).
    assert "It came up on 2 March: your therapist said “Can I suggest" in answer.text
    cited = [hit.text for _, hit in answer.citations]
    assert any("sixty minutes on the oven clock" in text for text in cited)
    # Not the other turn of the same passage, about something else.
    assert not any("Can I talk about the garden" in text for text in cited)
    for _, hit in answer.citations:  # every excerpt is the transcript's own words
        source = next(s for s in SESSIONS if s.id == hit.session_id)
        assert source.text[hit.char_start : hit.char_end] == hit.text


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("did I actually read to him at bedtime like Tamsin said?", "read to him at bedtime"),
        ("did I go to the pool on Tuesdays like we said?", "go to the pool on Tuesdays"),
        ("did I stop working at midnight, as my therapist suggested?", "stop working at midnight"),
    ],
)
def test_who_suggested_it_is_not_what_is_asked(question: str, topic: str) -> None:
    asked = read_question(question, today=TODAY, others=["Tamsin"])
    assert (asked.kind, asked.topic, asked.speaker) == ("outcome", topic, "me")
