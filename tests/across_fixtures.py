"""Invented sessions of an invented client (Mirela) and therapist (Dr. Okafor), for the
across-sessions tests: a theme that comes and goes, agreements and their follow-ups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from reflect.chunking import chunk_session, embedding_text
from reflect.embedding import Embedder
from reflect.index import SearchIndex
from reflect.retrieval import Retriever
from reflect.session import Session, build_text
from reflect.transcript import Turn

C, T = "Mirela", "Dr. Okafor"


def make_session(
    session_id: str, date: dt.date, turns: Sequence[tuple[str, str]], *, timed: bool = True
) -> Session:
    parsed = []
    clock = 0.0
    for speaker, text in turns:
        length = len(text.split()) * 0.4
        start, end = (clock, clock + length) if timed else (None, None)
        parsed.append(Turn(speaker, text, start, end))
        clock += length + 1.0
    text, stored = build_text(parsed)
    return Session(
        id=session_id, title=f"Session {session_id}", date=date, date_source="option",
        source_file=f"{session_id}.txt", content_hash=session_id,
        imported_at="2025-01-01T10:00:00", format="txt", text=text, turns=stored,
    )


SESSIONS = [
    make_session("s1", dt.date(2025, 2, 3), [
        (T, "Welcome. What brings you here?"),
        (C, "The insomnia, mostly. My insomnia is awful, I lie there until three and the "
            "insomnia gets worse when I think about the bakery."),
        (T, "Mm-hmm."),
        (C, "Yeah."),
        (T, "Would you be up for keeping an insomnia diary this week? Just a line each morning."),
        (C, "Yeah, I'll try that. I'll keep it on the bedside table."),
        (T, "Good. And tell me about the bakery, the early shifts you mentioned."),
        (C, "The bakery shifts start at five. The ovens, the flour, the owner shouting about "
            "the croissants. I come home covered in flour and I can't switch off."),
    ]),
    make_session("s2", dt.date(2025, 2, 10), [
        (T, "How was the week?"),
        (C, "Busy. My brother visited from Porto and we walked along the river every day. "
            "We talked about our father and the old house by the harbour."),
        (T, "That sounds like a lot of family at once."),
        (C, "It was lovely, really. He cooked sardines twice and we laughed about the boat."),
    ]),
    make_session("s3", dt.date(2025, 2, 17), [
        (T, "Did you manage the insomnia diary?"),
        (C, "I kept the insomnia diary every morning except Sunday. The insomnia is a bit "
            "better, I slept until five twice."),
        (T, "That's real progress."),
        (C, "I'll cut down on coffee after lunch as well, I decided that myself."),
        (T, "Okay."),
    ]),
]


def indexed(
    embedder: Embedder, sessions: Sequence[Session] = SESSIONS
) -> tuple[SearchIndex, Retriever]:
    index = SearchIndex()
    for session in sessions:
        chunks = chunk_session(session)
        vectors = embedder.embed([embedding_text(session, c, speaker_labels=True) for c in chunks])
        index.add_session(session, chunks, vectors)
    return index, Retriever(index, embedder, me_labels=frozenset({C}))
