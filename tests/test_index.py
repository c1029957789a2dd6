"""SearchIndex: word, phrase and vector search over in-memory sessions; index records."""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reflect.chunking import Chunk, chunk_session, embedding_text, sentence_spans
from reflect.errors import IndexRecordError, VaultLocked
from reflect.index import (
    ChunkMatch,
    Filters,
    SearchIndex,
    find_phrase,
    lexical_fts_query,
    normalize_words,
)
from reflect.index_record import decode_index_record, encode_index_record, read_index_record
from reflect.session import Session, build_text
from reflect.testing import FakeEmbedder
from reflect.transcript import Turn

EMBEDDER = FakeEmbedder(64)


def make_session(
    session_id: str, turns: list[Turn], date: dt.date = dt.date(2024, 3, 14)
) -> Session:
    text, stored = build_text(turns)
    return Session(
        id=session_id, title=f"Session {session_id}", date=date, date_source="option",
        source_file=f"{session_id}.txt", content_hash=session_id,
        imported_at="2024-03-15T10:00:00", format="txt", text=text, turns=stored,
    )


# Invented sessions of an invented client, Noor Haddad, with therapist Ilse Brandt.
SPRING = make_session("spring", [
    Turn("Ilse", "Last time you mentioned the letter from your landlord. Where are you with it?",
         0.0, 6.0),
    Turn("Noor", "I still haven't opened it. It sits on the kitchen table and I walk around it "
                 "like it might bite me. I'm worried sick about what it says.", 6.0, 15.0),
    Turn("Ilse", "Mm-hmm.", 15.0, 16.0),
    Turn("Noor", "My brother Karim says I should just call the landlord, but every time I pick "
                 "up the phone my hands start shaking.", 16.0, 24.0),
], dt.date(2024, 3, 14))

SUMMER = make_session("summer", [
    Turn("Ilse", "How was the trip to Valencia with your grandmother?", 0.0, 4.0),
    Turn("Noor", "Mi abuela lloró cuando vio el mar. Dijo que habían pasado muchos años. "
                 "I felt a kind of peace I haven't felt since I was a child.", 4.0, 14.0),
    Turn("Ilse", "What do you think made it feel peaceful?", 14.0, 17.0),
    Turn("Noor", "Nobody needed anything from me. No letters, no phone calls, no worrying "
                 "about money. Just the sea and her stories.", 17.0, 25.0),
], dt.date(2024, 7, 2))

AUTUMN = make_session("autumn", [
    Turn("Ilse", "You said you wanted to talk about your father today.", 0.0, 3.0),
    Turn("Noor", "Mein Vater hat nie über Gefühle gesprochen. Er sagte immer: Mädchen weinen "
                 "nicht. I think I learned to swallow everything because of that.", 3.0, 12.0),
    Turn(None, "[inaudible] and then the phone rang again.", 12.0, 14.0),
], dt.date(2024, 10, 9))

ALL = [SPRING, SUMMER, AUTUMN]


def chunks_of(session: Session) -> list[Chunk]:
    return chunk_session(session, min_words=12, max_words=60)


def vectors_of(session: Session, chunks: list[Chunk]) -> np.ndarray:
    return EMBEDDER.embed([embedding_text(session, c) for c in chunks])


def add(index: SearchIndex, session: Session) -> list[Chunk]:
    chunks = chunks_of(session)
    index.add_session(session, chunks, vectors_of(session, chunks))
    return chunks


@pytest.fixture(params=["exact", "chromadb"])
def index(request: pytest.FixtureRequest) -> Iterator[SearchIndex]:
    """Meaning search is exact until chromadb's index is built, then chromadb's: every test
    runs on both."""
    idx = SearchIndex()
    for session in ALL:
        add(idx, session)
    if request.param == "chromadb":
        idx.build_vector_store()
    yield idx
    idx.close()


def texts(matches: list) -> list[str]:  # type: ignore[type-arg]
    return [m.session.text[m.chunk.char_start : m.chunk.char_end] for m in matches]


def test_counts(index: SearchIndex) -> None:
    assert index.session_count == 3
    assert index.chunk_count == sum(len(chunks_of(s)) for s in ALL)
    assert index.vector_count == index.chunk_count
    assert index.vector_ready


def test_lexical_search_ranks_by_words(index: SearchIndex) -> None:
    matches = index.lexical_search("landlord letter", 5)
    assert matches and matches[0].session.id == "spring"
    assert all(m.score > 0 for m in matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_stemming_finds_other_forms(index: SearchIndex) -> None:
    found = texts(index.lexical_search("worry", 5))
    assert any("worried sick" in t for t in found)
    assert any("worrying" in t for t in found)


def test_without_stemming_only_exact_words_match() -> None:
    idx = SearchIndex(stemming=False)
    try:
        add(idx, SPRING)
        assert idx.lexical_search("worry", 5) == []
        assert idx.lexical_search("worried", 5)
    finally:
        idx.close()


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("años", "años"), ("anos", "años"), ("lloro", "lloró"), ("ABUELA", "abuela"),
        ("madchen", "Mädchen"), ("Mädchen", "Mädchen"), ("uber gefuhle", "über Gefühle"),
    ],
)
def test_accents_are_found_with_and_without(index: SearchIndex, query: str, needle: str) -> None:
    found = texts(index.lexical_search(query, 3))
    assert found and needle in found[0]


NASTY = [
    '"', '""', '"unclosed', "(", ")", "((a)", "NEAR", "NEAR(a b)", "a AND", "AND OR NOT",
    "*", "a*", "*a", ":", "body:letter", "col:", "^start", "-minus", "+plus", "a NOT b",
    "{a b}: c", "'single'", "a'b", "\\", "\x00", "%_", "😀", "​", "letter\"); DROP TABLE x;--",
    "x" * 10_000, ("phone " * 2_000), " ".join(f"w{i}" for i in range(3_000)),
]


@pytest.mark.parametrize("query", NASTY)
def test_queries_never_break_fts(index: SearchIndex, query: str) -> None:
    index.lexical_search(query, 5)
    index.phrase_search(query, 5)
    index.term_spans(query, "spring", 0)


def test_special_characters_are_words_not_syntax(index: SearchIndex) -> None:
    assert texts(index.lexical_search('letter AND (phone*', 5))
    assert index.lexical_search("NEAR", 5) == []
    assert texts(index.lexical_search("body:landlord", 5))[0].count("landlord") >= 1


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=200))
def test_any_text_is_a_valid_query(index: SearchIndex, query: str) -> None:
    index.lexical_search(query, 3)
    index.phrase_search(query, 3)
    index.vector_search(EMBEDDER.embed([query])[0], 3)


def test_long_query_is_capped() -> None:
    query = lexical_fts_query(" ".join(f"term{i}" for i in range(500)))
    assert query is not None and query.count(" OR ") == 31


def test_stopwords_are_dropped_when_other_words_remain() -> None:
    assert lexical_fts_query("what did I say about my brother") == '"brother"'
    assert lexical_fts_query("what did I") == '"what" OR "did" OR "i"'
    assert lexical_fts_query("?!") is None


def test_phrase_search_returns_exact_spans(index: SearchIndex) -> None:
    (match,) = index.phrase_search("WORRIED, sick", 5)
    a, b = match.match_spans[0]
    assert match.session.text[a:b] == "worried sick"
    assert match.chunk.char_start <= a < b <= match.chunk.char_end


def test_phrase_search_rejects_stemmed_near_misses(index: SearchIndex) -> None:
    # "worry sick" matches the FTS phrase through stemming but is not what was said.
    assert index.phrase_search("worry sick", 5) == []
    assert index.lexical_search("worry sick", 5)


def test_phrase_search_matches_whole_words_only(index: SearchIndex) -> None:
    assert index.phrase_search("hone", 5) == []
    spans = [s for m in index.phrase_search("phone", 5) for s in m.match_spans]
    assert spans and all(SPRING.text[a:b] == "phone" or AUTUMN.text[a:b] == "phone"
                         or SUMMER.text[a:b] == "phone" for a, b in spans)


def test_phrase_with_accents_and_punctuation(index: SearchIndex) -> None:
    (match,) = index.phrase_search("muchos anos", 5)
    a, b = match.match_spans[0]
    assert match.session.text[a:b] == "muchos años"
    (match,) = index.phrase_search("sagte immer madchen", 5)
    a, b = match.match_spans[0]
    assert match.session.text[a:b] == "sagte immer: Mädchen"


def test_find_phrase_on_decomposed_accents() -> None:
    text = "Sie sagte: Ma\u0308dchen weinen nicht."  # a + combining diaeresis
    wanted = normalize_words("mädchen weinen")[0]
    assert find_phrase(text, 0, len(text), wanted) == [(11, 26)]
    assert text[11:26] == "Ma\u0308dchen weinen"


def test_vector_search_finds_the_closest_chunk(index: SearchIndex) -> None:
    chunks = chunks_of(SUMMER)
    target = chunks[-1]
    query = EMBEDDER.embed([embedding_text(SUMMER, target)])[0]
    best = index.vector_search(query, 3)[0]
    assert best.key == ("summer", target.index)
    assert best.score == pytest.approx(1.0, abs=1e-5)


def test_k_larger_than_the_index(index: SearchIndex) -> None:
    query = EMBEDDER.embed(["phone"])[0]
    assert len(index.vector_search(query, 1000)) == index.chunk_count
    assert len(index.lexical_search("phone", 1000)) >= 2


@pytest.fixture(params=["post-filter", "chromadb-filter"])
def filter_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Vector filters run two ways (see OVERFETCH_FACTOR); both must agree."""
    import reflect.index

    factor = 1000 if request.param == "post-filter" else 0
    monkeypatch.setattr(reflect.index, "OVERFETCH_FACTOR", factor)


def search_all_ways(index: SearchIndex, words: str, filters: Filters) -> list[set[str]]:
    vector = EMBEDDER.embed([words])[0]
    return [
        {m.session.id for m in index.lexical_search(words, 50, filters)},
        {m.session.id for m in index.phrase_search(words, 50, filters)},
        {m.session.id for m in index.vector_search(vector, 50, filters)},
    ]


def test_filter_by_session(index: SearchIndex, filter_path: None) -> None:
    filters = Filters(session_ids=frozenset({"summer", "autumn"}))
    for found in search_all_ways(index, "phone", filters):
        assert found == {"autumn"} or found == {"summer", "autumn"}
    assert search_all_ways(index, "phone", Filters(session_ids=frozenset())) == [set()] * 3
    assert search_all_ways(index, "phone", Filters(session_ids=frozenset({"nope"}))) == [set()] * 3


def test_filter_by_date(index: SearchIndex, filter_path: None) -> None:
    after_spring = Filters(since=dt.date(2024, 3, 15))
    for found in search_all_ways(index, "phone", after_spring):
        assert "spring" not in found and found
    only_spring = Filters(since=dt.date(2024, 3, 14), until=dt.date(2024, 3, 14))
    assert search_all_ways(index, "phone", only_spring) == [{"spring"}] * 3
    assert search_all_ways(index, "phone", Filters(since=dt.date(2025, 1, 1))) == [set()] * 3
    backwards = Filters(since=dt.date(2024, 5, 1), until=dt.date(2024, 4, 1))
    assert search_all_ways(index, "phone", backwards) == [set()] * 3


def test_filter_by_speaker(index: SearchIndex, filter_path: None) -> None:
    only_noor = Filters(speakers=frozenset({"Noor"}))
    assert all(search_all_ways(index, "phone", only_noor))
    for matches in (
        index.lexical_search("phone", 50, only_noor),
        index.vector_search(EMBEDDER.embed(["phone"])[0], 50, only_noor),
    ):
        assert all("Noor" in m.chunk.speakers for m in matches)
    assert search_all_ways(index, "phone", Filters(speakers=frozenset({"Stranger"}))) == (
        [set()] * 3
    )
    both = Filters(speakers=frozenset({"Stranger", "Ilse"}))
    assert all(search_all_ways(index, "phone", both))


def test_remove_session(index: SearchIndex) -> None:
    before = index.chunk_count
    spring_chunks = len(chunks_of(SPRING))
    index.remove_session("spring")
    assert index.session_count == 2
    assert index.chunk_count == index.vector_count == before - spring_chunks
    for found in search_all_ways(index, "landlord", Filters()):
        assert "spring" not in found
    index.remove_session("spring")  # unknown: nothing happens
    add(index, SPRING)
    assert index.chunk_count == before
    assert index.lexical_search("landlord", 5)[0].session.id == "spring"


def test_adding_a_session_again_replaces_it() -> None:
    idx = SearchIndex()
    try:
        add(idx, SPRING)
        changed = make_session("spring", [Turn("Noor", "Only the garden matters now.")])
        add(idx, changed)
        assert idx.session_count == 1 and idx.chunk_count == 1 == idx.vector_count
        assert idx.lexical_search("landlord", 5) == []
        assert idx.lexical_search("garden", 5)[0].session is changed
    finally:
        idx.close()


def test_lexical_first_then_vectors() -> None:
    idx = SearchIndex()
    try:
        for session in ALL:
            idx.add_lexical(session, chunks_of(session))
        assert idx.vector_progress == (0, 3) and not idx.vector_ready
        assert idx.lexical_search("landlord", 5)
        assert idx.vector_search(EMBEDDER.embed(["landlord"])[0], 5) == []
        chunks = chunks_of(SPRING)
        idx.add_vectors("spring", chunks, vectors_of(SPRING, chunks))
        assert idx.vector_progress == (1, 3)
        assert {m.session.id for m in idx.vector_search(EMBEDDER.embed(["x"])[0], 50)} == {
            "spring"
        }
        for session in (SUMMER, AUTUMN):
            chunks = chunks_of(session)
            idx.add_vectors(session.id, chunks, vectors_of(session, chunks))
        assert idx.vector_ready
    finally:
        idx.close()


def test_add_vectors_checks_its_input() -> None:
    idx = SearchIndex()
    try:
        chunks = chunks_of(SPRING)
        vectors = vectors_of(SPRING, chunks)
        with pytest.raises(KeyError):
            idx.add_vectors("spring", chunks, vectors)
        idx.add_lexical(SPRING, chunks)
        with pytest.raises(ValueError):
            idx.add_vectors("spring", chunks, vectors[:1])
        other = chunk_session(SPRING, min_words=5, max_words=10)
        with pytest.raises(ValueError):
            idx.add_vectors("spring", other, vectors_of(SPRING, other))
        idx.add_vectors("spring", chunks, vectors)
        with pytest.raises(ValueError):
            idx.add_vectors("spring", chunks, vectors)
        idx.add_lexical(SUMMER, chunks_of(SUMMER))
        wrong_size = np.zeros((len(chunks_of(SUMMER)), 8), dtype=np.float32)
        with pytest.raises(ValueError):
            idx.add_vectors("summer", chunks_of(SUMMER), wrong_size)
        with pytest.raises(ValueError):
            idx.add_lexical(SUMMER, chunks)  # chunks of another session
    finally:
        idx.close()


def test_term_spans_point_at_the_query_words(index: SearchIndex) -> None:
    match = index.lexical_search("worry phone", 1)[0]
    spans = index.term_spans("worry phone", match.session.id, match.chunk.index)
    words = {match.session.text[a:b].lower() for a, b in spans}
    assert words and words <= {"worried", "worrying", "phone"}


def test_indexes_do_not_share_data() -> None:
    first, second = SearchIndex(), SearchIndex()
    try:
        add(first, SPRING)
        add(second, SUMMER)
        assert {m.session.id for m in second.vector_search(EMBEDDER.embed(["x"])[0], 50)} == {
            "summer"
        }
        first.close()
        assert second.vector_search(EMBEDDER.embed(["sea"])[0], 1)
    finally:
        first.close()
        second.close()


def test_close_forgets_everything(index: SearchIndex) -> None:
    index.build_vector_store()
    client = index._client
    name = index._collection_name
    assert name in [c.name for c in client.list_collections()]
    index.close()
    assert name not in [c.name for c in client.list_collections()]
    assert index.closed and index.chunk_count == 0 and index.session_count == 0
    with pytest.raises(VaultLocked):
        index.lexical_search("phone", 5)
    with pytest.raises(VaultLocked):
        index.vector_search(EMBEDDER.embed(["phone"])[0], 5)
    with pytest.raises(VaultLocked):
        index.add_lexical(SPRING, chunks_of(SPRING))
    index.close()  # twice is fine


def test_empty_index() -> None:
    idx = SearchIndex()
    try:
        assert idx.lexical_search("phone", 5) == []
        assert idx.phrase_search("phone", 5) == []
        assert idx.vector_search(EMBEDDER.embed(["phone"])[0], 5) == []
        assert idx.vector_ready and idx.vector_progress == (0, 0)
    finally:
        idx.close()


# ---- index records ---------------------------------------------------------------------------


def test_index_record_round_trip() -> None:
    chunks = chunks_of(AUTUMN)
    vectors = vectors_of(AUTUMN, chunks)
    data = encode_index_record("fake-hash-64", chunks, vectors)
    model_id, decoded_chunks, decoded_vectors = decode_index_record(data)
    assert model_id == "fake-hash-64"
    assert decoded_chunks == chunks
    assert decoded_vectors.dtype == np.float32
    assert np.array_equal(decoded_vectors, vectors)
    assert len(data) < 4 * vectors.size + 200 * len(chunks) + 200


def test_index_record_of_an_empty_session() -> None:
    data = encode_index_record("m", [], np.zeros((0, 384), dtype=np.float32))
    assert decode_index_record(data)[1:] == ([], pytest.approx(np.zeros((0, 384))))


def test_index_record_unknown_version() -> None:
    data = bytearray(encode_index_record("m", [], np.zeros((0, 4), dtype=np.float32)))
    struct.pack_into("<H", data, 4, 99)
    with pytest.raises(IndexRecordError, match="format 99"):
        decode_index_record(bytes(data))


@pytest.mark.parametrize("cut", [0, 3, 9, 20, -1])
def test_index_record_damaged(cut: int) -> None:
    chunks = chunks_of(SPRING)
    data = encode_index_record("m", chunks, vectors_of(SPRING, chunks))
    with pytest.raises(IndexRecordError, match="damaged"):
        decode_index_record(data[:cut])
    with pytest.raises(IndexRecordError):
        decode_index_record(b"XXXX" + data[4:])


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(speakers=frozenset({"Noor"})),
        Filters(speakers=frozenset({"Ilse"}), since=dt.date(2024, 7, 1)),
        Filters(session_ids=frozenset({"autumn"})),
        Filters(until=dt.date(2024, 7, 2)),
    ],
)
def test_filtered_vector_search_is_the_exact_nearest(
    index: SearchIndex, filter_path: None, filters: Filters
) -> None:
    query = EMBEDDER.embed(["phone calls and letters"])[0]
    candidates = [
        (float(vector @ query), (session.id, chunk.index))
        for session in ALL
        for chunk, vector in zip(chunks_of(session), vectors_of(session, chunks_of(session)),
                                 strict=True)
        if (filters.session_ids is None or session.id in filters.session_ids)
        and (filters.since is None or session.date >= filters.since)
        and (filters.until is None or session.date <= filters.until)
        and (filters.speakers is None or set(chunk.speakers) & filters.speakers)
    ]
    expected = [key for _, key in sorted(candidates, reverse=True)[:3]]
    assert [m.key for m in index.vector_search(query, 3, filters)] == expected


@pytest.mark.parametrize("store", [False, True], ids=["exact", "chromadb"])
def test_vector_search_over_thousands_of_chunks_returns_the_true_nearest(store: bool) -> None:
    # A search must not depend on the luck of an approximate graph: the same question after
    # the next unlock should rank the same chunks. Clustered vectors, like real embeddings,
    # are the hard case for HNSW; chromadb's default breadth missed ~7% of the nearest 40.
    # Searches are exact until chromadb's index is built, then chromadb's: both must agree.
    rng = np.random.default_rng(7)
    turns = [Turn("Noor", f"line {i}", float(i), float(i) + 1) for i in range(3000)]
    session = make_session("many", turns)
    chunks = [
        Chunk(session_id="many", index=i, first_turn=i, last_turn=i, char_start=t.char_start,
              char_end=t.char_end, speakers=("Noor",), start=t.start, end=t.end)
        for i, t in enumerate(session.turns)
    ]
    centres = rng.normal(size=(60, 64))
    vectors = centres[rng.integers(0, 60, len(chunks))] + 0.8 * rng.normal(size=(len(chunks), 64))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    index = SearchIndex()
    try:
        index.add_session(session, chunks, vectors)
        if store:
            index.build_vector_store()
        assert index.store_serving == store
        for q in range(20):
            query = vectors[rng.integers(0, len(chunks))] + 0.5 * rng.normal(size=64)
            query = (query / np.linalg.norm(query)).astype(np.float32)
            expected = set(np.argsort(-(vectors @ query))[:40].tolist())
            found = {m.chunk.index for m in index.vector_search(query, 40)}
            assert found == expected, f"query {q}: {len(found & expected)}/40 of the true nearest"
    finally:
        index.close()


def test_chunk_frequencies_count_chunks_as_word_search_matches(index: SearchIndex) -> None:
    counts = index.chunk_frequencies(["landlord", "worried", "worry", "zeppelin", "phone"])
    assert counts["landlord"] >= 1 and counts["zeppelin"] == 0
    assert counts["worry"] == counts["worried"] >= 1  # stemmed, as word search
    assert counts["phone"] >= 2  # in spring and autumn


def test_index_record_keeps_the_sentences_and_their_vectors() -> None:
    chunks = chunks_of(SPRING)
    spans = sentence_spans(SPRING)
    said = EMBEDDER.embed([SPRING.text[a:b] for a, b in spans])
    data = encode_index_record("m", chunks, vectors_of(SPRING, chunks), spans, said)
    record = read_index_record(data)
    assert record.chunks == chunks and record.sentences is not None
    assert [tuple(s) for s in record.sentences.tolist()] == spans
    assert record.sentence_embeddings is not None
    assert record.sentence_embeddings.dtype == np.float16  # a ranking signal: half the bytes
    assert np.allclose(record.sentence_embeddings, said, atol=1e-3)
    assert decode_index_record(data)[1] == chunks
    with pytest.raises(IndexRecordError, match="damaged"):
        read_index_record(data[:-2])
    with pytest.raises(ValueError, match="sentences"):
        encode_index_record("m", chunks, vectors_of(SPRING, chunks), spans[:1], said)


def test_a_version_1_record_reads_without_sentences() -> None:
    chunks = chunks_of(SPRING)
    vectors = vectors_of(SPRING, chunks)
    data = bytearray(encode_index_record("m", chunks, vectors))
    struct.pack_into("<H", data, 4, 1)
    record = read_index_record(bytes(data))
    assert record.chunks == chunks and np.array_equal(record.embeddings, vectors)
    assert record.sentences is None and record.sentence_embeddings is None


def test_best_sentence_cosines_read_the_sentences_inside_each_chunk() -> None:
    idx = SearchIndex()
    try:
        chunks = add(idx, SPRING)
        add(idx, AUTUMN)
        spans = sentence_spans(SPRING)
        said = EMBEDDER.embed([SPRING.text[a:b] for a, b in spans])
        idx.add_sentences(SPRING.id, spans, said)
        query = EMBEDDER.embed(["worried sick about the letter"])[0]
        matches = [ChunkMatch(SPRING, c, 0.0) for c in chunks]
        matches.append(ChunkMatch(AUTUMN, chunks_of(AUTUMN)[0], 0.0))
        found = idx.best_sentence_cosines(matches, query)
        unit = query / np.linalg.norm(query)
        for chunk, cosine in zip(chunks, found, strict=False):
            inside = [
                i for i, (a, b) in enumerate(spans) if a < chunk.char_end and b > chunk.char_start
            ]
            expected = max(float(said[i] @ unit / np.linalg.norm(said[i])) for i in inside)
            assert cosine == pytest.approx(expected, abs=1e-3)
        assert found[-1] is None  # AUTUMN's sentences were never added
        # In any order, sessions mixed: each chunk's own.
        assert idx.best_sentence_cosines(matches[::-1], query) == found[::-1]
        idx.remove_session(SPRING.id)
        assert idx.best_sentence_cosines(matches[:1], query) == [None]
    finally:
        idx.close()
