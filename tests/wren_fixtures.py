"""Sessions of the invented client Wren and her counsellor Tobias, as the answer tests of the
next session, who someone is and the break (test_next_session, test_who, test_breaks) use
them: a session from turns, and an Answerer over sessions with the deterministic fakes."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence

from reflect.answer import Answerer, AnswerSettings
from reflect.answer.compose import AcrossSessions
from reflect.answer.question import SessionDate
from reflect.chunking import chunk_session, embedding_text
from reflect.index import SearchIndex
from reflect.retrieval import Retriever
from reflect.session import Session
from reflect.testing import FakeChatModel, FakeEmbedder
from reflect.transcript import Turn
from tests.test_answer_questions import session as any_session

EMBEDDER = FakeEmbedder(64)
ME, THERAPIST = "Wren", "Tobias"


def talk(sid: str, date: dt.date, *lines: tuple[str, str]) -> Session:
    """A session of `lines` (speaker, words)."""
    return any_session(sid, date, [Turn(who, words, None, None) for who, words in lines])


@contextlib.contextmanager
def answerer_over(
    sessions: Sequence[Session],
    today: dt.date,
    across: type[AcrossSessions] | None = None,
) -> Iterator[Answerer]:
    """An Answerer over `sessions` (chunks of 5-25 words), its model replying nothing (the
    extractive answer, where one is asked for); `across` is built on its retriever."""
    index = SearchIndex()
    for s in sessions:
        chunks = chunk_session(s, min_words=5, max_words=25)
        index.add_lexical(s, chunks)
        index.add_vectors(s.id, chunks, EMBEDDER.embed([embedding_text(s, c) for c in chunks]))
    retriever = Retriever(index, EMBEDDER, me_labels=frozenset([ME]))
    model = FakeChatModel([""] * 5)
    try:
        yield Answerer(
            retriever,
            EMBEDDER,
            lambda: model,
            me_labels=[ME],
            therapist_labels=[THERAPIST],
            settings=AnswerSettings(),
            session_dates=lambda: [SessionDate(s.id, s.date) for s in sessions],
            across=across(retriever) if across is not None else None,  # type: ignore[call-arg]
            today=lambda: today,
        )
    finally:
        index.close()
