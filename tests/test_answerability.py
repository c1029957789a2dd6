"""The learned found / not-found decision (reflect/answer/evidence.py): its signals, its
probability, and where it decides in place of the rule. Invented passages of an invented
client, Lena."""

from __future__ import annotations

import math

import pytest

from reflect.answer import AnswerSettings, decide_found, stem
from reflect.answer.evidence import (
    ANSWERABILITY_FEATURES,
    ANSWERABILITY_MODEL,
    AnswerabilityModel,
    Evidence,
    answerability_features,
)
from reflect.index import Filters
from tests.test_answer import _hit

FEATURE = {name: i for i, name in enumerate(ANSWERABILITY_FEATURES)}
N = len(ANSWERABILITY_FEATURES)


def _leaning_on(feature: str, weight: float, threshold: float = 0.5) -> AnswerabilityModel:
    """A model that reads one signal alone (unscaled, uncentred, unbounded)."""
    weights = tuple(weight if name == feature else 0.0 for name in ANSWERABILITY_FEATURES)
    return AnswerabilityModel(
        weights, (0.0,) * N, (1.0,) * N, (-1e9,) * N, (1e9,) * N, 0.0, threshold
    )


def test_the_signals_of_a_question_and_its_hits() -> None:
    terms = ["diari", "sleep", "wine"]
    per_hit = [{"sleep", "diari", "night"}, {"sleep"}]
    frequencies = {"diari": 2, "sleep": 30, "wine": 0}
    features = answerability_features(
        terms,
        per_hit,
        similarity=0.41,
        frequencies=frequencies,
        passages=100,
        never_held=1,
        telling={"diari", "wine"},
        one_session=False,
        sentence_similarity=0.57,
    )
    assert len(features) == N
    rarity = {t: math.log(100 / (1 + f)) for t, f in frequencies.items()}
    assert features[FEATURE["similarity"]] == 0.41
    assert features[FEATURE["coverage"]] == pytest.approx(2 / 3)
    assert features[FEATURE["rare_coverage"]] == pytest.approx(
        (rarity["diari"] + rarity["sleep"]) / sum(rarity.values())
    )
    assert features[FEATURE["best_hit_coverage"]] == pytest.approx(2 / 3)
    # "wine", the word the hits lack, is in no passage: as rare as a word can be.
    assert features[FEATURE["rarest_missing"]] == pytest.approx(rarity["wine"] / math.log(100))
    assert features[FEATURE["never_held_any"]] == 1.0
    assert features[FEATURE["never_held"]] == 1.0
    assert features[FEATURE["missing"]] == 1.0
    assert features[FEATURE["telling_together"]] == 1.0
    assert features[FEATURE["passages_log"]] == pytest.approx(math.log(100))
    assert features[FEATURE["sentence_similarity"]] == 0.57


def test_a_tiny_vault_is_counted_as_two_passages() -> None:
    features = answerability_features(
        ["sleep"],
        [{"sleep"}],
        similarity=0.3,
        frequencies={"sleep": 1},
        passages=1,
        never_held=0,
        telling=set(),
        one_session=True,
        sentence_similarity=0.3,
    )
    assert features[FEATURE["coverage"]] == 1.0
    assert features[FEATURE["one_session"]] == 1.0
    # So that no logarithm is zero or undefined.
    assert features[FEATURE["passages_log"]] == pytest.approx(math.log(2))


def test_the_probability_is_a_logistic_of_the_standardised_signals() -> None:
    model = AnswerabilityModel(
        weights=(2.0,) + (0.0,) * (N - 1),
        means=(0.3,) + (0.0,) * (N - 1),
        scales=(0.1,) + (1.0,) * (N - 1),
        lows=(0.0,) * N,
        highs=(0.8,) + (1.0,) * (N - 1),
        intercept=-1.0,
        threshold=0.5,
    )

    def expected(similarity: float) -> float:
        return 1 / (1 + math.exp(-(-1.0 + 2.0 * (similarity - 0.3) / 0.1)))

    features = (0.5,) + (0.0,) * (N - 1)
    assert model.probability(features) == pytest.approx(expected(0.5))
    # Beyond the range the fit saw, a signal is read at its edge.
    assert model.probability((0.95,) + (0.0,) * (N - 1)) == pytest.approx(expected(0.8))


QUESTION = "what did I say about the sleep diary?"
HIT = _hit("I brought the sleep diary, it's mostly blank after Tuesday.")


def _decide(model: AnswerabilityModel | None, **kwargs: object) -> Evidence:
    arguments: dict[str, object] = {
        "similarity": 0.45,
        "never_held": (),
        "telling": lambda terms: terms,
        "model": model,
        "frequencies": lambda terms: dict.fromkeys(terms, 1),
        "passages": 50,
    }
    arguments.update(kwargs)
    return decide_found(QUESTION, [HIT], **arguments)  # type: ignore[arg-type]


def test_the_model_decides_by_its_threshold() -> None:
    # The same evidence, found or not as the model weighs it; the rule alone finds it.
    assert _decide(None).found
    against = _decide(_leaning_on("similarity", -10.0))
    assert not against.found
    assert against.probability < 0.5
    assert len(against.features) == N
    assert _decide(_leaning_on("similarity", 10.0)).found
    assert not _decide(_leaning_on("similarity", 10.0, threshold=0.999)).found


def test_signals_are_kept_when_the_rule_decides() -> None:
    # bench/fit_answerability.py fits on the signals of decisions the rule took.
    evidence = _decide(None)
    assert len(evidence.features) == N
    assert evidence.probability is None
    assert evidence.features[FEATURE["coverage"]] == 1.0
    assert {stem("sleep"), stem("diary")} <= set(evidence.content_terms)
    # Without the best sentence's closeness (an index without sentences), the passage's
    # stands in for it.
    assert evidence.features[FEATURE["sentence_similarity"]] == 0.45
    closer = _decide(None, sentence_similarity=0.62)
    assert closer.features[FEATURE["sentence_similarity"]] == 0.62


def test_a_verbatim_quote_no_vectors_and_no_content_words_are_not_the_models() -> None:
    never = _leaning_on("similarity", -10.0)
    quoted = decide_found(
        QUESTION,
        [_hit(HIT.text, exact=True)],
        similarity=0.1,
        model=never,
        frequencies=lambda terms: dict.fromkeys(terms, 1),
        passages=50,
    )
    assert quoted.found and quoted.probability is None
    # No meaning yet (the vectors still loading): the words decide, as before.
    words_only = _decide(never, similarity=None)
    assert words_only.found
    assert words_only.probability is None
    # "What did we talk about?": no content words, too few such questions to fit on.
    general = decide_found(
        "what did we talk about?",
        [HIT],
        similarity=0.45,
        model=never,
        frequencies=lambda terms: dict.fromkeys(terms, 1),
        passages=50,
    )
    assert general.found and general.probability is None and general.features == ()


def test_a_named_session_is_a_signal() -> None:
    evidence = _decide(None, filters=Filters(session_ids=frozenset({"s"})))
    assert evidence.features[FEATURE["one_session"]] == 1.0


def test_the_answer_path_uses_the_shipped_model() -> None:
    assert ANSWERABILITY_MODEL is not None
    assert AnswerSettings().answerability is ANSWERABILITY_MODEL
    assert len(ANSWERABILITY_MODEL.weights) == N
    assert 0.0 < ANSWERABILITY_MODEL.threshold < 1.0


def test_the_closeness_of_a_question_to_passages_and_to_sentences() -> None:
    import numpy as np

    from reflect.answer.evidence import SENTENCE_PASSAGES, question_closeness
    from reflect.chunking import sentence_spans
    from reflect.retrieval import Retriever
    from tests.test_retrieval import EMBEDDER, SESSIONS, build_index

    index = build_index(SESSIONS)
    try:
        retriever = Retriever(index, EMBEDDER)
        question = "a walk by the river"
        before = question_closeness(retriever, question)
        assert before is not None and before.sentence is None  # no sentence embedded yet
        query = EMBEDDER.embed([question])[0]
        closest = index.vector_search(query, SENTENCE_PASSAGES)
        assert before.passage == pytest.approx(closest[0].score)
        for session in SESSIONS:
            spans = sentence_spans(session)
            index.add_sentences(
                session.id, spans, EMBEDDER.embed([session.text[a:b] for a, b in spans])
            )
        after = question_closeness(retriever, question)
        assert after is not None and after.passage == before.passage
        unit = query / np.linalg.norm(query)
        best = max(
            float(v @ unit / np.linalg.norm(v))
            for m in closest
            for v in EMBEDDER.embed(
                [
                    m.session.text[a:b]
                    for a, b in sentence_spans(m.session)
                    if a < m.chunk.char_end and b > m.chunk.char_start
                ]
            )
        )
        assert after.sentence == pytest.approx(best, abs=1e-3)  # kept in half precision
        assert question_closeness(Retriever(index, None), question) is None  # still loading
    finally:
        index.close()
