"""Chunking: spans of real text, along turns, sized for the embedding model."""

from __future__ import annotations

import datetime as dt
import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from reflect.chunking import (
    Chunk,
    chunk_session,
    count_words,
    embedding_text,
    is_cjk,
    sentence_spans,
    span_times,
)
from reflect.session import Session, StoredTurn, build_text
from reflect.transcript import Turn

BACKCHANNELS = ["Mm-hmm.", "Okay.", "Yeah.", "Right.", "I see."]


def make_session(turns: list[Turn], session_id: str = "s1") -> Session:
    text, stored = build_text(turns)
    return Session(
        id=session_id, title="Session", date=dt.date(2024, 3, 14), date_source="option",
        source_file="session.txt", content_hash="x", imported_at="2024-03-15T10:00:00",
        format="txt", text=text, turns=stored,
    )


def sentences(n: int, words_per_sentence: int = 12, start: int = 0) -> str:
    return " ".join(
        " ".join(f"word{start + i}x{j}" for j in range(words_per_sentence)) + "."
        for i in range(n)
    )


def chunk_text(session: Session, chunk: Chunk) -> str:
    return session.text[chunk.char_start : chunk.char_end]


def between_words(text: str, pos: int) -> bool:
    if pos in (0, len(text)):
        return True
    before, after = text[pos - 1], text[pos]
    return before.isspace() or after.isspace() or is_cjk(before) or is_cjk(after)


def check_invariants(session: Session, chunks: list[Chunk], max_words: int, trivial: int) -> None:
    text = session.text
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for before, after in itertools.pairwise(chunks):
        assert before.char_end <= after.char_start
    word_owner: dict[int, int] = {}
    for chunk in chunks:
        assert chunk.session_id == session.id
        piece = chunk_text(session, chunk)
        assert piece and not piece[0].isspace() and not piece[-1].isspace()
        # Edges fall between words, never inside one.
        assert between_words(text, chunk.char_start)
        assert between_words(text, chunk.char_end)
        first, last = session.turns[chunk.first_turn], session.turns[chunk.last_turn]
        assert first.char_start <= chunk.char_start < first.char_end
        assert last.char_start < chunk.char_end <= last.char_end
        expected = dict.fromkeys(
            t.speaker for t in session.turns[chunk.first_turn : chunk.last_turn + 1]
            if t.char_end > t.char_start
        )
        assert chunk.speakers == tuple(expected)
        # Over max_words only by attached backchannels.
        substantive = sum(
            n for t in session.turns[chunk.first_turn : chunk.last_turn + 1]
            if (n := count_words(text[max(t.char_start, chunk.char_start):
                                      min(t.char_end, chunk.char_end)])) > trivial
        )
        assert substantive <= max_words
        for m in re.finditer(r"\S+", piece):
            word_owner[chunk.char_start + m.start()] = chunk.index
    # Every word of every turn is in exactly one chunk.
    for turn in session.turns:
        for m in re.finditer(r"\S+", session.turn_text(turn)):
            assert turn.char_start + m.start() in word_owner


def test_backchannels_never_stand_alone() -> None:
    turns = []
    for i in range(12):
        turns.append(Turn("Therapist", BACKCHANNELS[i % len(BACKCHANNELS)]))
        turns.append(Turn("Noor", sentences(2, 9, start=i * 10)))
    session = make_session(turns)
    chunks = chunk_session(session, min_words=20, max_words=60)
    check_invariants(session, chunks, 60, 3)
    for chunk in chunks:
        assert count_words(chunk_text(session, chunk)) > 3
    assert len(chunks) > 3


def test_question_and_answer_share_a_chunk() -> None:
    session = make_session([
        Turn("Therapist", "What happened when you called your brother Tomas last Sunday?"),
        Turn("Noor", "He didn't pick up, and I spent the evening rereading our old messages "
                     "until I felt sick. I wanted to throw the phone across the room."),
        Turn("Therapist", "And the next morning?"),
        Turn("Noor", "I went to work as if nothing happened, which is what I always do, and "
                     "nobody noticed anything at all, not even Ilse at the front desk."),
    ])
    chunks = chunk_session(session, min_words=20, max_words=150)
    assert [(c.first_turn, c.last_turn) for c in chunks] == [(0, 1), (2, 3)]
    assert chunks[0].speakers == ("Therapist", "Noor")


def test_short_remarks_close_a_chunk_and_short_questions_open_one() -> None:
    answer = sentences(3, 10)  # 30 words
    session = make_session([
        Turn("Therapist", "What happened at the wedding?"),
        Turn("Noor", answer),
        Turn("Therapist", "That sounds painful to carry."),
        Turn("Therapist", "And what happened afterwards?"),
        Turn("Noor", sentences(3, 10, start=5)),
    ])
    chunks = chunk_session(session, min_words=20, max_words=150)
    assert [(c.first_turn, c.last_turn) for c in chunks] == [(0, 2), (3, 4)]
    # A remark as long as remark_words starts a chunk of its own instead.
    chunks = chunk_session(session, min_words=20, max_words=150, remark_words=5)
    assert [(c.first_turn, c.last_turn) for c in chunks] == [(0, 1), (2, 4)]


def test_long_monologue_is_split_at_sentence_ends_with_interpolated_times() -> None:
    monologue = sentences(30, 10)  # 300 words, one turn
    session = make_session([
        Turn("Noor", monologue, start=100.0, end=400.0),
        Turn("Therapist", "That is a lot to carry.", start=400.0, end=403.0),
    ])
    chunks = chunk_session(session, min_words=20, max_words=120)
    check_invariants(session, chunks, 120, 3)
    pieces = [c for c in chunks if c.first_turn == 0 and c.last_turn == 0]
    assert len(pieces) >= 2
    for chunk in pieces:
        assert chunk_text(session, chunk).endswith(".")
    # Evenly sized: a 300-word turn with a 120-word cap becomes three pieces of ~100.
    sizes = [count_words(chunk_text(session, c)) for c in chunks]
    assert max(sizes) - min(sizes) <= 20
    assert chunks[0].start == 100.0
    times = [t for c in chunks for t in (c.start, c.end)]
    assert times == sorted(times)
    inner = pieces[0].end
    assert inner is not None and 100.0 < inner < 400.0
    expected = 100.0 + 300.0 * (pieces[0].char_end - 0) / len(monologue)
    assert abs(inner - expected) < 1e-6


def test_partial_turn_without_both_times_has_no_inner_time() -> None:
    session = make_session([Turn("Noor", sentences(20, 10), start=5.0, end=None)])
    chunks = chunk_session(session, min_words=20, max_words=80)
    assert len(chunks) >= 2
    assert chunks[0].start == 5.0
    assert chunks[0].end is None and chunks[1].start is None


def test_sentence_longer_than_the_budget_is_cut_between_words() -> None:
    run_on = " ".join(f"and{i}" for i in range(400))  # no punctuation at all, as ASR can be
    session = make_session([Turn(None, run_on)])
    chunks = chunk_session(session, min_words=20, max_words=150)
    check_invariants(session, chunks, 150, 3)
    assert all(count_words(chunk_text(session, c)) <= 150 for c in chunks)
    assert chunks[0].speakers == (None,)


def test_text_without_spaces_is_budgeted_per_character() -> None:
    chinese = "我今天很累。" * 80  # 480 characters, no spaces
    session = make_session([Turn("Mei", chinese)])
    chunks = chunk_session(session, min_words=20, max_words=150)
    assert len(chunks) >= 3
    assert all(count_words(chunk_text(session, c)) <= 150 for c in chunks)
    assert "".join(chunk_text(session, c) for c in chunks) == chinese


def test_session_of_only_backchannels_still_gets_a_chunk() -> None:
    session = make_session([Turn("A", "Okay."), Turn("B", "Mm-hmm.")])
    chunks = chunk_session(session)
    assert len(chunks) == 1
    assert chunk_text(session, chunks[0]) == session.text


def test_empty_session_and_empty_turns() -> None:
    assert chunk_session(make_session([])) == []
    session = make_session([Turn("A", "   "), Turn("B", "Hello there, Ilse."), Turn("A", "")])
    chunks = chunk_session(session)
    assert len(chunks) == 1
    assert chunk_text(session, chunks[0]) == "Hello there, Ilse."
    assert (chunks[0].first_turn, chunks[0].last_turn) == (1, 1)


def test_leading_backchannels_join_the_first_real_chunk() -> None:
    session = make_session([
        Turn("A", "Hi."), Turn("B", "Hi."), Turn("A", sentences(15, 10)),
    ])
    chunks = chunk_session(session, min_words=10, max_words=60)
    check_invariants(session, chunks, 60, 3)
    assert chunks[0].char_start == 0
    assert count_words(chunk_text(session, chunks[0])) > 10


def test_embedding_text() -> None:
    session = make_session([
        Turn("Therapist", "How did the move go?"),
        Turn("Noor", "Better than I feared. The boxes are still everywhere though."),
    ])
    (chunk,) = chunk_session(session)
    assert embedding_text(session, chunk) == session.text
    labelled = embedding_text(session, chunk, speaker_labels=True)
    assert labelled == (
        "Therapist: How did the move go?\n"
        "Noor: Better than I feared. The boxes are still everywhere though."
    )


def test_span_times_for_whole_turns() -> None:
    session = make_session([
        Turn("A", "one two three", 1.0, 2.0), Turn("B", "four five six", 3.0, 4.5),
    ])
    assert span_times(session, 0, len(session.text)) == (1.0, 4.5)
    assert span_times(session, session.turns[1].char_start, session.turns[1].char_end) == (
        3.0, 4.5,
    )


def test_parameters_are_validated() -> None:
    session = make_session([Turn("A", "text")])
    for kwargs in ({"min_words": 0}, {"min_words": 50, "max_words": 10},
                   {"min_words": 3, "trivial_words": 3}, {"trivial_words": -1}):
        try:
            chunk_session(session, **kwargs)
        except ValueError:
            continue
        raise AssertionError(f"{kwargs} accepted")


_words = st.sampled_from(
    ["I", "felt", "tired", "again.", "Why?", "mother", "über", "años,", "—", "ok", "Mm-hmm.",
     "said", '"Stop."', "work", "Ilse", "(laughs)", "我很累。", "...", "no!"]
)
_turns = st.lists(
    st.builds(
        Turn,
        speaker=st.sampled_from(["Noor", "Therapist", None]),
        text=st.lists(_words, min_size=0, max_size=90).map(" ".join),
        start=st.none(),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(turns=_turns, trivial=st.integers(0, 4), more=st.integers(1, 40),
       extra=st.integers(0, 80))
def test_chunks_always_cut_real_text_and_cover_every_turn(
    turns: list[Turn], trivial: int, more: int, extra: int
) -> None:
    session = make_session(turns)
    min_words = trivial + more
    max_words = min_words + extra
    chunks = chunk_session(
        session, min_words=min_words, max_words=max_words, trivial_words=trivial
    )
    check_invariants(session, chunks, max_words, trivial)

    def backchannel(turn: StoredTurn) -> bool:
        return count_words(session.turn_text(turn)) <= trivial

    if not all(backchannel(t) for t in session.turns):
        for chunk in chunks:
            covered = session.turns[chunk.first_turn : chunk.last_turn + 1]
            assert not all(backchannel(t) for t in covered), "a chunk of backchannels only"


def test_sentence_spans_are_each_turns_sentences_of_three_words_or_more() -> None:
    session = make_session(
        [
            Turn("Ines", "Okay. What happened with your sister on Sunday?"),
            Turn("Client", "Yeah. We had a row about Mum's flat! She never calls me back"),
            Turn("Ines", "Mm-hmm."),
        ]
    )
    said = [session.text[a:b] for a, b in sentence_spans(session)]
    assert said == [
        "What happened with your sister on Sunday?",
        "We had a row about Mum's flat!",
        "She never calls me back",
    ]


def test_a_turn_without_punctuation_is_embedded_in_pieces_the_model_reads() -> None:
    session = make_session([Turn("Client", " ".join(["and then we talked"] * 100))])
    pieces = sentence_spans(session)
    assert len(pieces) == 3
    assert all(count_words(session.text[a:b]) <= 150 for a, b in pieces)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(session.text)
