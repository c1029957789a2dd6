"""The learned second stage (reflect/rerank.py): its signals, its order, and that quoted words
stay first whatever it scores."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reflect.chunking import sentence_spans
from reflect.index import ChunkMatch, Filters
from reflect.live_index import LiveIndex
from reflect.rerank import (
    FEATURES,
    LEARNED_RANKER,
    FirstStage,
    LinearRanker,
    candidate_features,
)
from reflect.retrieval import SENTENCE_SEARCH_DEPTH, Retriever
from tests.test_retrieval import (
    APRIL,
    DECOYS,
    EMBEDDER,
    FEBRUARY,
    KETTLE_JULY,
    KETTLE_MAY,
    SESSIONS,
    add_sentences,
    build_index,
    chunks_of,
)
from tests.test_service_search import unlocked, vault_dir

__all__ = ["vault_dir"]  # the fixture, shared with the facade's search tests

COLUMN = {name: i for i, name in enumerate(FEATURES)}


def ranker_on(**weights: float) -> LinearRanker:
    """A ranker that adds up the named signals, unscaled."""
    n = len(FEATURES)
    return LinearRanker(tuple(weights.get(name, 0.0) for name in FEATURES), (0.0,) * n, (1.0,) * n)


def test_the_ranker_orders_by_its_score_and_keeps_ties_in_place() -> None:
    rows = np.zeros((3, len(FEATURES)))
    rows[:, COLUMN["coverage"]] = (0.2, 0.9, 0.2)
    assert ranker_on(coverage=1.0).order(rows) == [1, 0, 2]
    assert ranker_on(coverage=-1.0).order(rows) == [0, 2, 1]
    assert ranker_on().order(rows) == [0, 1, 2]  # nothing to tell them apart: as they came
    scaled = LinearRanker(
        tuple(1.0 if n == "coverage" else 0.0 for n in FEATURES),
        (0.5,) * len(FEATURES),
        (2.0,) * len(FEATURES),
    )
    assert scaled.scores(rows)[1] == pytest.approx((0.9 - 0.5) / 2.0)


def test_the_signals_of_a_candidate() -> None:
    index = build_index(SESSIONS)
    try:
        retriever = Retriever(index, EMBEDDER, me_labels=frozenset({"Tobias"}))
        weights = retriever.term_weights("the budget spreadsheet")
        spreadsheet = next(
            ChunkMatch(APRIL, c, 3.0)
            for c in chunks_of(APRIL)
            if "spreadsheet" in APRIL.text[c.char_start : c.char_end]
        )
        birthday = ChunkMatch(FEBRUARY, chunks_of(FEBRUARY)[0], 0.9)
        stage = FirstStage(lexical=[spreadsheet], vector=[birthday, spreadsheet], fused=[])
        rows = candidate_features(
            [spreadsheet, birthday],
            stage,
            weights,
            speaker="me",
            prefer=lambda s: s == "Tobias",
            is_user=lambda s: s == "Tobias",
        )
        held, other = rows[0], rows[1]
        assert held[COLUMN["order_log"]] == 0.0 and other[COLUMN["order_log"]] == math.log(2)
        assert held[COLUMN["lexical_log"]] == 0.0 and held[COLUMN["bm25_share"]] == 1.0
        assert other[COLUMN["lexical_absent"]] == 1.0 and other[COLUMN["bm25_share"]] == 0.0
        assert held[COLUMN["vector_log"]] == math.log(2)
        assert held[COLUMN["cosine_gap"]] == pytest.approx(spreadsheet.score - 3.0)
        assert held[COLUMN["coverage"]] == pytest.approx(1.0)
        assert held[COLUMN["turn_coverage"]] == pytest.approx(1.0)
        assert held[COLUMN["rarest"]] == 1.0 and other[COLUMN["rarest"]] == 0.0
        assert other[COLUMN["coverage"]] == 0.0
        assert held[COLUMN["closeness_me"]] == 1.0 and held[COLUMN["closeness_other"]] == 0.0
        assert 0.0 < held[COLUMN["user_share"]] <= 1.0
        assert held[COLUMN["length_log"]] > 0
        # A question with no content words: the word signals are 0, nothing fails.
        empty = candidate_features(
            [birthday], stage, {}, speaker=None, prefer=None, is_user=lambda s: False
        )
        assert empty[0][COLUMN["coverage"]] == 0.0 and empty[0][COLUMN["user_share"]] == 0.0
    finally:
        index.close()


def test_the_learned_stage_reorders_what_the_first_stage_found() -> None:
    index = build_index(SESSIONS)
    try:
        plain = Retriever(index, EMBEDDER, me_labels=frozenset({"Tobias"}))
        question = "what did I say about the spreadsheet and the kitchen at night"
        before = [h.chunk_index for h in plain.search(question, k=5)]
        # The longest chunk first (a ranker no one would fit, to see that it is applied).
        longest = Retriever(
            index, EMBEDDER, me_labels=frozenset({"Tobias"}), learned=ranker_on(length_log=1.0)
        )
        hits = longest.search(question, k=5)
        assert len(hits) == len(before)
        lengths = [len(h.chunk_text) for h in hits]
        assert lengths == sorted(lengths, reverse=True)
        # Before meaning search is loaded (words only), the stage fitted on both lists waits.
        # (Shortest first, which would turn this order round.)
        words_only = Retriever(index, None, learned=ranker_on(length_log=-1.0))
        lengths = [len(h.chunk_text) for h in words_only.search(question, k=5)]
        assert len(lengths) > 1 and lengths == sorted(lengths, reverse=True)
        # As typed, nothing is read and nothing is reordered.
        as_typed = [h.chunk_index for h in longest.search(question, k=5, as_typed=True)]
        assert as_typed == [h.chunk_index for h in plain.search(question, k=5, as_typed=True)]
    finally:
        index.close()


def test_quoted_words_stay_first_whatever_the_learned_stage_scores() -> None:
    index = build_index([*SESSIONS, KETTLE_MAY, KETTLE_JULY, *DECOYS])
    try:
        # A ranker that would put the chunk holding the words last.
        against = ranker_on(coverage=-5.0, rarest=-5.0, order_log=5.0)
        retriever = Retriever(index, EMBEDDER, me_labels=frozenset({"Tobias"}), learned=against)
        hits = retriever.search("where did I say 'the kettle is my alarm clock'?", k=5)
        assert {h.session_id for h in hits[:2]} == {"may", "jul"}
        assert all(h.exact for h in hits[:2]) and not any(h.exact for h in hits[2:])
    finally:
        index.close()


def test_the_moments_search_uses_the_fitted_stage_and_the_answer_path_does_not(
    vault_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The answer path keeps the current order: the learned one loosened its found / not-found
    # decision (bench/README.md, #15 fifth round).
    asked: list[LinearRanker | None] = []
    make = LiveIndex.retriever

    def recording(self: LiveIndex, me_labels: Any = (), **kwargs: Any) -> Retriever:
        asked.append(kwargs.get("learned"))
        return make(self, me_labels, **kwargs)

    monkeypatch.setattr(LiveIndex, "retriever", recording)
    service = unlocked(vault_dir)
    hits = service.quotes("what did I say about the ceiling tiles", k=3).hits
    assert "ceiling tiles" in hits[0].text
    assert asked == [LEARNED_RANKER]
    assert len(LEARNED_RANKER.weights) == len(LEARNED_RANKER.means) == len(FEATURES)


def test_the_best_sentence_signal() -> None:
    index = build_index(SESSIONS)
    try:
        spreadsheet = next(
            ChunkMatch(APRIL, c, 3.0)
            for c in chunks_of(APRIL)
            if "spreadsheet" in APRIL.text[c.char_start : c.char_end]
        )
        birthday = ChunkMatch(FEBRUARY, chunks_of(FEBRUARY)[0], 0.9)
        stage = FirstStage(lexical=[], vector=[birthday, spreadsheet], fused=[])

        def column(sentences: list[float | None]) -> list[float]:
            rows = candidate_features(
                [spreadsheet, birthday, birthday],
                stage,
                {},
                speaker=None,
                prefer=None,
                is_user=lambda s: False,
                sentences=sentences,
            )
            return [float(v) for v in rows[:, COLUMN["sentence_gap"]]]

        # Each candidate's best sentence against the best candidate's; a candidate with no
        # sentence embedded counts as the lowest known; none known: all level.
        assert column([0.5, 0.75, None]) == pytest.approx([-0.25, 0.0, -0.25])
        assert column([]) == [0.0, 0.0, 0.0]
        assert column([None, None, None]) == [0.0, 0.0, 0.0]
    finally:
        index.close()


def test_the_retriever_reads_each_candidates_best_sentence() -> None:
    index = build_index(SESSIONS)
    try:
        add_sentences(index, SESSIONS)
        # A ranker on the best sentence alone: the chunk holding the sentence nearest in
        # meaning to the question comes first.
        retriever = Retriever(index, EMBEDDER, learned=ranker_on(sentence_gap=1.0))
        question = "the budget spreadsheet I kept at night"
        hits = retriever.search(question, k=5)
        query = EMBEDDER.embed([question])[0]
        query = query / np.linalg.norm(query)

        def best(hit: Any) -> float:
            session = next(s for s in SESSIONS if s.id == hit.session_id)
            chunk = chunks_of(session)[hit.chunk_index]
            inside = [
                session.text[a:b]
                for a, b in sentence_spans(session)
                if a < chunk.char_end and b > chunk.char_start
            ]
            vectors = EMBEDDER.embed(inside)
            return float(max(v @ query / np.linalg.norm(v) for v in vectors))

        cosines = [best(h) for h in hits]
        assert cosines == sorted(cosines, reverse=True)
    finally:
        index.close()


def test_the_learned_stage_reads_chunks_with_close_sentences_further_down() -> None:
    # A chunk's vector averages its turns: one close sentence in it can leave it out of the
    # first candidates. The learned stage also reads the chunks whose closest sentence is
    # closest, from further down both lists (`Retriever.learned_pool`).
    index = build_index(SESSIONS)
    try:
        add_sentences(index, SESSIONS)
        question = "a walk by the river"
        every = [ChunkMatch(s, c, 0.0) for s in SESSIONS for c in chunks_of(s)]
        cosines = index.best_sentence_cosines(every, EMBEDDER.embed([question])[0])
        closest = every[int(np.argmax([c if c is not None else -1.0 for c in cosines]))].key
        plain = Retriever(index, EMBEDDER, candidates=2, rerank_depth=2)
        first = [(h.session_id, h.chunk_index) for h in plain.search(question, k=2)]
        assert closest not in first  # the fusion's first two candidates miss it
        learned = Retriever(
            index, EMBEDDER, candidates=2, rerank_depth=2, learned=ranker_on(sentence_gap=1.0)
        )
        hits = learned.search(question, k=1)
        assert (hits[0].session_id, hits[0].chunk_index) == closest
        # Each chunk once: the ones further down that the first candidates hold already are
        # not read twice.
        hits = learned.search(question, k=5)
        keys = [(h.session_id, h.chunk_index) for h in hits]
        assert len(keys) == len(set(keys)) == 5
    finally:
        index.close()


def test_a_filtered_search_does_not_read_further_down() -> None:
    # Under a filter, meaning search 200 deep falls back to chromadb's filtered search, which
    # took seconds at 50,000 chunks: the learned stage keeps to the first candidates.
    index = build_index(SESSIONS)
    try:
        add_sentences(index, SESSIONS)
        depths: list[int] = []
        search = index.vector_search

        def recording(vector: Any, k: int, filters: Any = None) -> Any:
            depths.append(k)
            return search(vector, k, filters) if filters is not None else search(vector, k)

        index.vector_search = recording  # type: ignore[method-assign]
        learned = Retriever(index, EMBEDDER, learned=ranker_on(sentence_gap=1.0))
        learned.search("a walk by the river", k=5)
        assert max(depths) == SENTENCE_SEARCH_DEPTH
        depths.clear()
        learned.search("a walk by the river", k=5, filters=Filters(speakers=frozenset({"Tobias"})))
        assert max(depths) == learned.candidates
    finally:
        index.close()
