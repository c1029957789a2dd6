"""Retriever: hybrid search, exact phrases, filters and verbatim excerpts."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reflect.chunking import Chunk, chunk_session, embedding_text, sentence_spans
from reflect.index import ChunkMatch, SearchIndex
from reflect.retrieval import (
    EXACT_MATCH_SCORE,
    Filters,
    Hit,
    Retriever,
    _speaker_closeness,
    expand_to_turns,
    quoted_phrase,
    verbatim_runs,
)
from reflect.session import Session, build_text
from reflect.testing import FakeEmbedder
from reflect.transcript import Turn

EMBEDDER = FakeEmbedder(64)


def make_session(
    session_id: str, turns: list[Turn], date: dt.date, title: str | None = None
) -> Session:
    text, stored = build_text(turns)
    return Session(
        id=session_id,
        title=title or f"Session {session_id}",
        date=date,
        date_source="option",
        source_file=f"{session_id}.vtt",
        content_hash=session_id,
        imported_at="2024-12-01T10:00:00",
        format="vtt",
        text=text,
        turns=stored,
    )


# An invented client, Tobias Lind, and his invented therapist, Dr. Amara Osei.
FEBRUARY = make_session(
    "feb",
    [
        Turn("Amara", "Where would you like to start today?", 0.0, 3.0),
        Turn(
            "Tobias",
            "With the argument at my sister Freja's birthday. She told everyone I "
            "always leave early, and I did leave early, because the noise was too much.",
            3.0,
            14.0,
        ),
        Turn("Amara", "Mm-hmm.", 14.0, 15.0),
        Turn(
            "Tobias",
            "I wanted to explain, but the words got stuck. I just smiled and went home.",
            15.0,
            21.0,
        ),
        Turn("Amara", "What would you have said if the words hadn't got stuck?", 21.0, 25.0),
        Turn(
            "Tobias",
            "That I love her, and that loud rooms make me feel like I'm drowning.",
            25.0,
            31.0,
        ),
    ],
    dt.date(2024, 2, 6),
    "Freja's birthday",
)

APRIL = make_session(
    "apr",
    [
        Turn("Amara", "You mentioned sleeping badly. Tell me about the nights.", 0.0, 4.0),
        Turn(
            "Tobias",
            "I wake at three and my head starts listing everything I did wrong at work. "
            "The budget spreadsheet, the email to Henrik, the meeting I missed.",
            4.0,
            15.0,
        ),
        Turn("Amara", "Okay.", 15.0, 16.0),
        Turn(
            "Tobias", "Sometimes I get up and clean the kitchen just to make it stop.", 16.0, 21.0
        ),
    ],
    dt.date(2024, 4, 18),
    "Sleep",
)

MONOLOGUE = " ".join(
    f"Sentence {i} is about the garden my grandfather Sven planted, row {i} of the beans."
    for i in range(40)
)
JUNE = make_session(
    "jun",
    [
        Turn("Tobias", MONOLOGUE, 0.0, 400.0),
        Turn("Amara", "Thank you for telling me about Sven.", 400.0, 403.0),
    ],
    dt.date(2024, 6, 20),
    "Grandfather",
)

SESSIONS = [FEBRUARY, APRIL, JUNE]


def chunks_of(session: Session) -> list[Chunk]:
    return chunk_session(session, min_words=12, max_words=60)


def build_index(sessions: list[Session], *, vectors: bool = True) -> SearchIndex:
    index = SearchIndex()
    for session in sessions:
        chunks = chunks_of(session)
        index.add_lexical(session, chunks)
        if vectors:
            embedded = EMBEDDER.embed([embedding_text(session, c) for c in chunks])
            index.add_vectors(session.id, chunks, embedded)
    return index


def add_sentences(index: SearchIndex, sessions: list[Session]) -> None:
    """Each session's sentences embedded, as an import keeps them for the learned stage."""
    for session in sessions:
        spans = sentence_spans(session)
        index.add_sentences(
            session.id, spans, EMBEDDER.embed([session.text[a:b] for a, b in spans])
        )


@pytest.fixture
def index() -> Iterator[SearchIndex]:
    idx = build_index(SESSIONS)
    yield idx
    idx.close()


@pytest.fixture
def retriever(index: SearchIndex) -> Retriever:
    return Retriever(index, EMBEDDER)


def session_of(hit: Hit) -> Session:
    return next(s for s in SESSIONS if s.id == hit.session_id)


def check_hit(hit: Hit) -> None:
    session = session_of(hit)
    assert hit.text == session.text[hit.char_start : hit.char_end]
    assert hit.text and not hit.text[0].isspace() and not hit.text[-1].isspace()
    assert hit.session_title == session.title and hit.session_date == session.date
    assert hit.source_file == session.source_file
    for a, b in hit.match_spans:
        assert 0 <= a < b <= len(hit.text)
    assert session.turns[hit.first_turn].char_start <= hit.char_start
    assert hit.char_end <= session.turns[hit.last_turn].char_end


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "vector"])
def test_every_hit_is_a_verbatim_slice(retriever: Retriever, mode: str) -> None:
    for query in ["sister birthday", "sleep at night", "grandfather garden", '"the words"']:
        hits = retriever.search(query, k=10, mode=mode)  # type: ignore[arg-type]
        assert hits
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
        for hit in hits:
            check_hit(hit)


def test_best_hit_and_highlights(retriever: Retriever) -> None:
    (hit, *_) = retriever.search("birthday argument")
    assert hit.session_id == "feb"
    highlighted = {hit.text[a:b].lower() for a, b in hit.match_spans}
    assert highlighted == {"argument", "birthday"}
    assert hit.speaker == "Tobias"
    assert hit.start == 0.0 and hit.end is not None


def test_speaker_is_who_said_the_matched_words(retriever: Retriever) -> None:
    hits = retriever.search("where would you like to start", mode="lexical")
    assert hits[0].session_id == "feb" and hits[0].speaker == "Amara"


def test_quoted_phrase_puts_verbatim_matches_first(retriever: Retriever) -> None:
    hits = retriever.search('"words got stuck"', k=5)
    assert hits[0].exact and hits[0].score == EXACT_MATCH_SCORE
    assert [hits[0].text[a:b] for a, b in hits[0].match_spans] == ["words got stuck"]
    assert sum(h.exact for h in hits) == 1
    assert len(hits) > 1 and not any(h.exact for h in hits[1:])
    assert len({(h.session_id, h.chunk_index) for h in hits}) == len(hits)


def test_quoted_phrase_without_a_verbatim_match(retriever: Retriever) -> None:
    hits = retriever.search('"word got stuck"', k=3)
    assert hits and not any(h.exact for h in hits)


def test_quoted_phrase_with_curly_quotes(retriever: Retriever) -> None:
    hits = retriever.search("“loud rooms”")
    assert hits[0].exact and hits[0].session_id == "feb"


def test_quoted_phrase() -> None:
    assert quoted_phrase('"a b"') == "a b"
    assert quoted_phrase('  " a b "  ') == "a b"
    assert quoted_phrase('"a" and "b"') is None
    assert quoted_phrase('""') is None
    assert quoted_phrase('"') is None
    assert quoted_phrase("a b") is None


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query(retriever: Retriever, query: str) -> None:
    assert retriever.search(query) == []


def test_empty_index() -> None:
    index = SearchIndex()
    try:
        assert Retriever(index, EMBEDDER).search("anything") == []
        assert Retriever(index, EMBEDDER).search('"anything"') == []
    finally:
        index.close()


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "vector"])
def test_ten_thousand_character_query(retriever: Retriever, mode: str) -> None:
    query = ("kitchen " + "x" * 92) * 100
    assert len(query) == 10_000
    for q in (query, f'"{query[:-2]}"'):
        for hit in retriever.search(q, mode=mode):  # type: ignore[arg-type]
            check_hit(hit)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=120))
def test_any_query_works(retriever: Retriever, query: str) -> None:
    for hit in retriever.search(query, k=3):
        check_hit(hit)


def test_filters_reach_every_mode(retriever: Retriever) -> None:
    filters = Filters(since=dt.date(2024, 4, 1), until=dt.date(2024, 4, 30))
    for mode in ("hybrid", "lexical", "vector"):
        hits = retriever.search("sister work garden", k=10, filters=filters, mode=mode)  # type: ignore[arg-type]
        assert hits and {h.session_id for h in hits} == {"apr"}
    only_feb = Filters(session_ids=frozenset({"feb"}))
    assert {h.session_id for h in retriever.search('"the"', k=10, filters=only_feb)} == {"feb"}
    assert retriever.search("sister", filters=Filters(speakers=frozenset())) == []


def test_speaker_filter_highlights_that_speakers_words(retriever: Retriever) -> None:
    only_amara = Filters(speakers=frozenset({"Amara"}))
    hits = retriever.search("words stuck", k=10, filters=only_amara, mode="lexical")
    top = hits[0]
    assert top.speaker == "Amara"
    session = session_of(top)
    for a, _ in top.match_spans:
        turn = next(t for t in session.turns if t.char_start <= top.char_start + a < t.char_end)
        assert turn.speaker == "Amara"


def test_speaker_filter_keeps_the_turn_holding_the_most_matched_words() -> None:
    # Tobias speaks twice in the chunk; the first turn shares one word with the question, the
    # second holds the answer. The excerpt used to be the first turn touching any matched word.
    session = make_session(
        "oct",
        [
            Turn("Tobias", "Work was fine this week, nothing much to say.", 0.0, 4.0),
            Turn("Amara", "And the evenings?", 4.0, 6.0),
            Turn(
                "Tobias",
                "The evenings at work are when the panic comes, on the walk to the "
                "train after work, every single evening.",
                6.0,
                14.0,
            ),
        ],
        dt.date(2024, 10, 3),
    )
    index = SearchIndex()
    try:
        index.add_lexical(session, chunk_session(session, min_words=40, max_words=150))
        hits = Retriever(index, None).search(
            "panic evenings work", filters=Filters(speakers=frozenset({"Tobias"}))
        )
        (hit,) = hits
        assert hit.text.startswith("The evenings at work are when the panic comes")
        assert hit.start == 6.0
        # The evidence for "is this in my sessions?" reads the whole chunk, not just the turn.
        assert "And the evenings?" in hit.chunk_text and hit.text in hit.chunk_text
    finally:
        index.close()


def test_long_monologue_hits_are_pieces_with_interpolated_times(retriever: Retriever) -> None:
    hits = retriever.search('"row 15 of the beans"', k=1)
    (hit,) = hits
    assert hit.exact and hit.session_id == "jun"
    assert len(hit.text) < len(MONOLOGUE) / 3 and "row 15 of the beans" in hit.text
    assert hit.start is not None and hit.end is not None
    assert 0.0 < hit.start < hit.end < 400.0
    assert hit.first_turn == hit.last_turn == 0


def test_hybrid_fuses_both_lists() -> None:
    index = build_index(SESSIONS)
    try:
        retriever = Retriever(index, EMBEDDER, k_rrf=10.0)
        feb, apr = FEBRUARY, APRIL
        a = ChunkMatch(feb, chunks_of(feb)[0], 3.0)
        b = ChunkMatch(apr, chunks_of(apr)[0], 2.0)
        c = ChunkMatch(apr, chunks_of(apr)[1], 0.9)
        fused = retriever._fuse([a, b], [c, b])
        assert [m.key for m, _ in fused] == [b.key, a.key, c.key]
        assert fused[0][1] == pytest.approx(1 / 12 + 1 / 12)
        # Equal fused scores: the better word-search rank wins.
        tie = retriever._fuse([a], [c])
        assert [m.key for m, _ in tie] == [a.key, c.key]
        weighted = Retriever(index, EMBEDDER, k_rrf=10.0, lexical_weight=0.0)._fuse([a], [c])
        assert weighted[0][0].key == c.key
    finally:
        index.close()


def test_without_vectors_every_mode_searches_words() -> None:
    index = build_index(SESSIONS, vectors=False)
    try:
        for retriever in (Retriever(index, EMBEDDER), Retriever(index, None)):
            for mode in ("hybrid", "lexical", "vector"):
                hits = retriever.search("spreadsheet", mode=mode)  # type: ignore[arg-type]
                assert hits and hits[0].session_id == "apr"
    finally:
        index.close()


def test_vector_mode_ranks_by_similarity(retriever: Retriever) -> None:
    hits = retriever.search("grandfather Sven planted beans", mode="vector", k=3)
    assert hits[0].session_id == "jun"
    assert all(-1.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_unknown_mode(retriever: Retriever) -> None:
    with pytest.raises(ValueError):
        retriever.search("x", mode="fuzzy")  # type: ignore[arg-type]


# ---- expand_to_turns -------------------------------------------------------------------------


def test_expand_to_whole_turns() -> None:
    turn = FEBRUARY.turns[1]
    a, b = expand_to_turns(FEBRUARY, turn.char_start + 10, turn.char_end - 10)
    assert (a, b) == (turn.char_start, turn.char_end)


def test_expand_never_cuts_a_word_when_the_turn_is_too_long() -> None:
    turn = JUNE.turns[0]
    start, end = turn.char_start + 1000, turn.char_start + 1203
    a, b = expand_to_turns(JUNE, start, end, max_chars=400)
    text = JUNE.text
    assert text[start:end].strip() in text[a:b] and b - a < 400
    assert text[a - 1] == " " and text[b] == " "
    assert not text[a].isspace() and not text[b - 1].isspace()


def test_expand_trims_white_space_and_handles_spans_between_turns() -> None:
    first, second = FEBRUARY.turns[0], FEBRUARY.turns[1]
    a, b = expand_to_turns(FEBRUARY, first.char_end, second.char_start + 4, max_chars=10_000)
    assert (a, b) == (second.char_start, second.char_end)


def test_expand_in_text_without_spaces() -> None:
    session = make_session("zh", [Turn("Mei", "我今天很累。" * 100)], dt.date(2024, 1, 1))
    assert expand_to_turns(session, 300, 330, max_chars=100) == (300, 330)
    assert expand_to_turns(session, 301, 329, max_chars=100) == (301, 329)


def test_importing_the_search_modules_stays_light() -> None:
    """torch, chromadb and dateparser load only when a model, an index or a date needs them."""
    script = textwrap.dedent(
        """
        import sys
        import reflect.chunking, reflect.dates, reflect.embedding, reflect.index
        import reflect.index_record, reflect.retrieval
        heavy = ("torch", "sentence_transformers", "transformers", "chromadb", "dateparser",
                 "textual")
        print(sorted(m for m in sys.modules if m.split(".")[0] in heavy))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# ---- reading the question (issue: find the moment) ---------------------------------------------

# Invented: Tobias again, with a phrase said twice in two sessions and once with a stammer.
KETTLE_MAY = make_session(
    "may",
    [
        Turn("Amara", "How are the mornings going?", 0.0, 3.0),
        Turn(
            "Tobias",
            "Better. Honestly, the kettle is my alarm clock now. I hear it and I get up.",
            3.0,
            9.0,
        ),
        Turn("Amara", "So the kettle does the waking for you.", 9.0, 12.0),
    ],
    dt.date(2024, 5, 2),
    "Mornings",
)
KETTLE_JULY = make_session(
    "jul",
    [
        Turn(
            "Tobias",
            "Like I said before, um, the kettle is, uh, my-my alarm clock, still true.",
            0.0,
            6.0,
        ),
        Turn("Amara", "And the evenings?", 6.0, 8.0),
        Turn("Tobias", "The evenings are harder. The flat is too quiet after nine.", 8.0, 12.0),
    ],
    dt.date(2024, 7, 11),
    "Evenings",
)
# Many chunks that share the phrase's ordinary words, so word search alone can't find it first.
DECOYS = [
    make_session(
        f"d{i}",
        [
            Turn(
                "Tobias",
                f"My alarm clock broke and the kettle is old, morning {i}, I said my "
                "alarm clock was the kettle's fault, the kettle, the clock, the alarm.",
                0.0,
                5.0,
            ),
            Turn("Amara", "Mm-hmm, the alarm and the kettle.", 5.0, 7.0),
        ],
        dt.date(2024, 3, 1) + dt.timedelta(days=i),
        f"Decoy {i}",
    )
    for i in range(12)
]


@pytest.fixture
def kettle() -> Iterator[Retriever]:
    idx = build_index([*SESSIONS, KETTLE_MAY, KETTLE_JULY, *DECOYS])
    yield Retriever(idx, EMBEDDER, me_labels=frozenset({"Tobias"}))
    idx.close()


@pytest.mark.parametrize(
    "question",
    [
        "where did I say 'the kettle is my alarm clock'?",
        "where did I say “The kettle is my alarm-clock” — which session was that",
        'I remember saying "the KETTLE is my alarm clock" about mornings',
    ],
)
def test_a_quoted_phrase_inside_a_question_wins_everywhere_it_occurs(
    kettle: Retriever, question: str
) -> None:
    hits = kettle.search(question, k=5)
    # Both places that say it (one with "um", "uh" and a stammered "my-my") come first.
    assert {h.session_id for h in hits[:2]} == {"may", "jul"}
    assert all(h.exact for h in hits[:2]) and not any(h.exact for h in hits[2:])
    for hit in hits[:2]:
        said = " ".join(hit.text[a:b] for a, b in hit.match_spans).casefold()
        assert "kettle" in said and "clock" in said


def test_the_phrase_typed_as_typed_is_not_read(kettle: Retriever) -> None:
    # As typed, the quotes inside a sentence are just words: the decoys' words compete.
    hits = kettle.search("where did I say 'the kettle is my alarm clock'?", k=5, as_typed=True)
    assert not any(h.exact for h in hits)


def test_who_said_it_is_preferred_from_the_words_of_the_question() -> None:
    # The same words, said once by each: "what did my counsellor say" prefers Amara's turn and
    # "what did I say" Tobias's, though no speaker filter is set.
    both = make_session(
        "both",
        [
            Turn("Tobias", "Walking the dog every evening keeps me sane, honestly.", 0.0, 4.0),
            *[
                Turn(
                    "Amara" if i % 2 else "Tobias",
                    f"Unrelated talk number {i} about the weather "
                    "and the bus timetable and the price of bread.",
                    4.0 + i,
                    5.0 + i,
                )
                for i in range(12)
            ],
            Turn("Amara", "Walking the dog every evening could be your anchor, then.", 20.0, 24.0),
        ],
        dt.date(2024, 8, 1),
        "Dog",
    )
    idx = SearchIndex()
    chunks = chunk_session(both, min_words=5, max_words=12)
    idx.add_lexical(both, chunks)
    idx.add_vectors(both.id, chunks, EMBEDDER.embed([embedding_text(both, c) for c in chunks]))
    retriever = Retriever(idx, EMBEDDER, me_labels=frozenset({"Tobias"}))
    try:
        (theirs,) = retriever.search("what did my counsellor say about walking the dog", k=1)
        (mine,) = retriever.search("what did I say about walking the dog", k=1)
        assert theirs.speaker == "Amara" and mine.speaker == "Tobias"
        # Unknown who the user is: nothing is preferred, and nothing is filtered out.
        plain = Retriever(idx, EMBEDDER)
        assert len(plain.search("what did my counsellor say about walking the dog", k=2)) == 2
    finally:
        idx.close()


def _closeness_of(
    session: Session, question: str, prefer_me: bool, *, by_share: bool = False
) -> float:
    idx = SearchIndex()
    chunks = chunk_session(session, min_words=200, max_words=400)  # one chunk: every turn
    idx.add_lexical(session, chunks)
    try:
        retriever = Retriever(idx, EMBEDDER, me_labels=frozenset({"Tobias"}))
        weights = retriever.term_weights(question)
        me = retriever.me_labels

        def prefer(speaker: str | None) -> bool:
            return (speaker in me) == prefer_me

        match = ChunkMatch(session, chunks[0], 0.0)
        return _speaker_closeness(match, weights, prefer, by_share=by_share)
    finally:
        idx.close()


def test_a_reflection_does_not_take_the_moment_from_who_said_it_first() -> None:
    # Therapists say the client's words back: "what did I say about football" still finds
    # the client saying it, though the therapist's turn holds the same words.
    reflected = make_session(
        "refl",
        [
            Turn("Amara", "So you would like to play football at university.", 0.0, 3.0),
            Turn("Tobias", "Yes, I would like to play football at university.", 3.0, 6.0),
        ],
        dt.date(2024, 9, 1),
    )
    question = "play football at university"
    assert _closeness_of(reflected, question, prefer_me=True) == pytest.approx(
        _closeness_of(reflected, question, prefer_me=False)
    )
    # Only the therapist says it: the client's side is the weaker match.
    theirs = make_session(
        "theirs",
        [
            Turn("Amara", "Have you thought about playing football at university?", 0.0, 3.0),
            Turn("Tobias", "Not really.", 3.0, 6.0),
        ],
        dt.date(2024, 9, 2),
    )
    assert _closeness_of(theirs, question, prefer_me=True) < _closeness_of(
        theirs, question, prefer_me=False
    )


def test_what_the_other_person_explained_is_theirs_in_other_words() -> None:
    # Asked what the pharmacist said, in words nobody used: the chunk where they do most of
    # the talking counts as theirs more than a chunk of the client's words.
    explained = make_session(
        "expl",
        [
            Turn("Tobias", "When will I feel any different?", 0.0, 2.0),
            Turn(
                "Amara",
                "Citalopram usually takes four to six weeks before you notice a change "
                "in mood, so keep taking it every day even if nothing seems different.",
                2.0,
                9.0,
            ),
        ],
        dt.date(2024, 9, 3),
    )
    question = "how long until the tablets work"
    plain = _closeness_of(explained, question, prefer_me=False)
    assert plain == 0.5  # no turn holds the words: the side speaks, no more is known
    assert _closeness_of(explained, question, prefer_me=False, by_share=True) > 0.5


def test_the_client_speaking_too_does_not_lower_the_other_persons_moment() -> None:
    # "What did the nurse say about the inhaler at night": her turn holds the words. That
    # the client also speaks in the chunk does not make it less hers than a chunk where she
    # speaks alone (averaging in her share of the chunk did, and cost the first place).
    question = "the inhaler at night"
    mixed = make_session(
        "mixed",
        [
            Turn("Tobias", "I keep forgetting it, to be honest, most evenings.", 0.0, 3.0),
            Turn("Amara", "Keep the inhaler by your bed so you use it at night.", 3.0, 6.0),
        ],
        dt.date(2024, 9, 4),
    )
    alone = make_session(
        "alone",
        [Turn("Amara", "The inhaler at night matters most, I would say.", 0.0, 3.0)],
        dt.date(2024, 9, 5),
    )
    assert _closeness_of(mixed, question, prefer_me=False, by_share=True) == pytest.approx(1.0)
    assert _closeness_of(alone, question, prefer_me=False, by_share=True) == pytest.approx(1.0)
    # Where the client's turn holds the words and hers does not, it stays the client's.
    told = make_session(
        "told",
        [
            Turn("Tobias", "The inhaler at night makes me cough.", 0.0, 3.0),
            Turn("Amara", "Mm, tell me more about that.", 3.0, 6.0),
        ],
        dt.date(2024, 9, 6),
    )
    assert _closeness_of(told, question, prefer_me=False, by_share=True) == 0.0


def test_rare_words_weigh_more() -> None:
    index = build_index(SESSIONS)
    try:
        weights = Retriever(index, EMBEDDER).term_weights("the spreadsheet and Sven")
        # "Sven" is in many chunks of the garden monologue, the spreadsheet in one.
        assert weights["spreadsheet"] > weights["sven"] > 0
        assert Retriever(index, EMBEDDER).term_weights("what did I say") == {}
    finally:
        index.close()


def test_meaning_counts_more_when_the_words_are_not_there() -> None:
    index = build_index(SESSIONS)
    try:
        retriever = Retriever(index, EMBEDDER)
        apr = [ChunkMatch(APRIL, c, 1.0) for c in chunks_of(APRIL)]
        # A chunk holding every word of the question: word search is trusted as it is.
        assert retriever._lexical_coverage("budget spreadsheet", apr) == pytest.approx(1.0)
        assert retriever._lexical_coverage("budget spreadsheet Freja", apr) < 1.0
        assert retriever._lexical_coverage("Freja birthday", apr) == 0.0
        assert retriever._lexical_coverage("what did I say", apr) == 1.0  # nothing to miss
        # The fusion takes the meaning list's weight as given.
        a, c = apr[0], ChunkMatch(FEBRUARY, chunks_of(FEBRUARY)[0], 0.9)
        assert retriever._fuse([a], [c])[0][0].key == a.key  # a tie: words first
        assert retriever._fuse([a], [c], vector_weight=1.5)[0][0].key == c.key
    finally:
        index.close()


def test_rare_words_typed_without_quotes_are_found_like_quoted_ones(kettle: Retriever) -> None:
    # The user remembers the exact words but types no quotes: the two places that hold them
    # (one with filler between the words) come first, marked exact, as if quoted.
    hits = kettle.search("the kettle is my alarm clock, when did I say that", k=5)
    assert {h.session_id for h in hits[:2]} == {"may", "jul"}
    assert all(h.exact for h in hits[:2]) and not any(h.exact for h in hits[2:])


def test_common_or_stopword_runs_are_not_read_as_quotes(kettle: Retriever) -> None:
    # "Kettle" and "alarm" fill a dozen decoy chunks, and "when did I say that" is all
    # stopwords: neither is a run someone remembers word for word.
    assert verbatim_runs(kettle.index, "when did I say that I was there") == []
    assert verbatim_runs(kettle.index, "the kettle is my alarm clock") == [
        "the kettle is my alarm clock"
    ]
    assert not any(h.exact for h in kettle.search("the alarm and the kettle", k=5))


class _RecordingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__(64)
        self.seen: list[str] = []

    def embed(self, texts, *, batch_size=32, progress=None):  # type: ignore[no-untyped-def]
        self.seen.extend(texts)
        return super().embed(texts, batch_size=batch_size, progress=progress)


def test_what_the_user_said_is_looked_for_as_their_turns_were_embedded() -> None:
    index = build_index(SESSIONS)
    embedder = _RecordingEmbedder()
    try:
        retriever = Retriever(index, embedder, me_labels=frozenset({"Tobias"}))
        retriever.search("when did I say loud rooms make me feel like drowning", k=3)
        assert "Tobias: loud rooms make me feel like drowning" in embedder.seen
        embedder.seen.clear()
        # The other person's words, or no one named: the content alone.
        retriever.search("when did my counsellor say loud rooms are hard", k=3)
        retriever.search("loud rooms and drowning", k=3)
        assert not any(text.startswith("Tobias:") for text in embedder.seen)
        vector = retriever._query_vector("loud rooms", "Tobias")
        assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5)
    finally:
        index.close()
