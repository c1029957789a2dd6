"""A learned second stage: the first-stage candidates re-scored by a linear model.

Four rounds of tuning `Retriever.search` one factor at a time (bench/README.md, #15) gained on
the questions looked at and lost it on each fresh set. This stage is not tuned per factor: it
reads a few cheap signals of each of the top candidates (where word search and meaning
search put it, how much of the question's rarer words it and its best turn hold, whether the
person the question names said them, its length, how close in meaning its closest sentence
is) and adds them up with weights fitted on labelled questions by `bench/fit_rerank.py`
(pairwise logistic regression, seeded, judged by leave-one-set-out; the fitted numbers are
pasted below). Everything it reads is already
in memory at query time: no embedding, no model call (the sentences' vectors are made when a
session is indexed and kept, sealed, in its index record).

Quoted and verbatim matches never pass through here: they are placed first before this stage
(`Retriever.search`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from reflect.index import ChunkMatch
from reflect.words import stem, words

__all__ = [
    "FEATURES",
    "LEARNED_RANKER",
    "FirstStage",
    "LinearRanker",
    "TurnOverlap",
    "candidate_features",
    "speaker_closeness",
    "turn_overlaps",
]

Prefer = Callable[[str | None], bool]


@dataclass(frozen=True, slots=True)
class FirstStage:
    """What the first stage found: word search's list, meaning search's list (each best
    first) and their fusion, (match, fused score) best first; the vector meaning search
    was given (None when it did not run); `deeper`: the chunks of both lists read further
    down (SENTENCE_SEARCH_DEPTH each), where the learned stage looks for close sentences
    (`Retriever.sentence_candidates`); empty when it did not look."""

    lexical: Sequence[ChunkMatch]
    vector: Sequence[ChunkMatch]
    fused: list[tuple[ChunkMatch, float]]
    query_vector: npt.NDArray[np.float32] | None = None
    deeper: Sequence[ChunkMatch] = ()


@dataclass(frozen=True, slots=True)
class TurnOverlap:
    """One turn of a chunk (the part inside the chunk): who spoke it, how much of the
    question's weighed words it holds, its length in characters, its stems."""

    speaker: str | None
    overlap: float
    chars: int
    stems: frozenset[str]


def turn_overlaps(
    match: ChunkMatch, weights: Mapping[str, float], stems: dict[str, str] | None = None
) -> list[TurnOverlap]:
    """Each turn of the chunk with the weight of the question's stems it holds. `stems`:
    word -> stem, remembered across the candidates of one search (stemming every word of 40
    chunks is most of the stage's time, and their words repeat); one search's only, so that
    no word of a session outlives it in memory once the vault is locked."""
    session, chunk = match.session, match.chunk
    stems = {} if stems is None else stems
    found = []
    for turn in session.turns[chunk.first_turn : chunk.last_turn + 1]:
        a, b = max(turn.char_start, chunk.char_start), min(turn.char_end, chunk.char_end)
        if a >= b:
            continue
        said = frozenset(
            stems[w] if w in stems else stems.setdefault(w, stem(w))
            for w in words(session.text[a:b])
        )
        overlap = sum(weight for term, weight in weights.items() if term in said)
        found.append(TurnOverlap(turn.speaker, overlap, b - a, said))
    return found


def speaker_closeness(turns: Sequence[TurnOverlap], prefer: Prefer, *, by_share: bool) -> float:
    """`reflect.retrieval._speaker_closeness` on turns already read (its docstring says why)."""
    chars = sum(t.chars for t in turns)
    if not chars:
        return 0.0
    best_any = max(t.overlap for t in turns)
    preferred = [t for t in turns if prefer(t.speaker)]
    if best_any > 0:
        return max((t.overlap for t in preferred), default=0.0) / best_any
    if by_share:
        return sum(t.chars for t in preferred) / chars
    return 0.5 if preferred else 0.0


# The signals, in the order of the weights. Ranks enter as logarithms (the first few places
# differ more than the 30th and 31st); a chunk missing from one list gets that list's depth+1.
FEATURES = (
    "order_log",  # log of its place in the current order (fusion, then speaker preference)
    "lexical_log",  # log of its place in word search's list
    "lexical_absent",  # word search did not list it
    "bm25_share",  # its BM25 score over the best one's
    "vector_log",  # log of its place in meaning search's list
    "vector_absent",  # meaning search did not list it
    "cosine_gap",  # its cosine similarity minus the best one's
    "coverage",  # the share of the question's weighed stems the chunk holds
    "turn_coverage",  # the same, in its best turn alone
    "rarest",  # the chunk holds the question's rarest stem
    "closeness_me",  # speaker closeness, asked what the user said (else 0)
    "closeness_other",  # speaker closeness, asked what the other person said (else 0)
    "user_share",  # the share of the chunk the user speaks
    "length_log",  # log of the chunk's length in characters
    "sentence_gap",  # its best sentence's cosine similarity minus the best candidate's
)


def candidate_features(
    order: Sequence[ChunkMatch],
    stage: FirstStage,
    weights: Mapping[str, float],
    *,
    speaker: str | None,
    prefer: Prefer | None,
    is_user: Prefer,
    sentences: Sequence[float | None] = (),
) -> npt.NDArray[np.float64]:
    """One row of FEATURES per candidate of `order` (the current order's first ones).
    `sentences`: each candidate's best sentence's cosine similarity to the question (None:
    no sentence embedded; those, and all when not given, count as the lowest known)."""
    lexical = {m.key: (i, m.score) for i, m in enumerate(stage.lexical, start=1)}
    vector = {m.key: (i, m.score) for i, m in enumerate(stage.vector, start=1)}
    best_bm25 = max((s for _, s in lexical.values()), default=0.0)
    best_cos = max((s for _, s in vector.values()), default=0.0)
    worst_cos = min((s for _, s in vector.values()), default=0.0)
    total = sum(weights.values())
    rarest = max(weights, key=lambda t: weights[t]) if weights else None
    rows = np.zeros((len(order), len(FEATURES)))
    stems: dict[str, str] = {}
    known = [c for c in sentences if c is not None]
    best_sentence, worst_sentence = max(known, default=0.0), min(known, default=0.0)
    for i, match in enumerate(order):
        key = match.key
        lex_rank, bm25 = lexical.get(key, (len(lexical) + 1, 0.0))
        vec_rank, cosine = vector.get(key, (len(vector) + 1, worst_cos))
        turns = turn_overlaps(match, weights, stems)
        chars = sum(t.chars for t in turns) or 1
        sentence = sentences[i] if i < len(sentences) else None
        sentence = worst_sentence if sentence is None else sentence
        held = frozenset().union(*(t.stems for t in turns))
        closeness = (
            speaker_closeness(turns, prefer, by_share=speaker == "other")
            if prefer is not None and turns
            else 0.0
        )
        rows[i] = (
            math.log(i + 1),
            math.log(lex_rank),
            float(key not in lexical),
            bm25 / best_bm25 if best_bm25 > 0 else 0.0,
            math.log(vec_rank),
            float(key not in vector),
            cosine - best_cos,
            sum(w for t, w in weights.items() if t in held) / total if total else 0.0,
            max((t.overlap for t in turns), default=0.0) / total if total else 0.0,
            float(rarest is not None and rarest in held),
            closeness if speaker == "me" else 0.0,
            closeness if speaker == "other" else 0.0,
            sum(t.chars for t in turns if is_user(t.speaker)) / chars,
            math.log(chars),
            sentence - best_sentence,
        )
    return rows


@dataclass(frozen=True, slots=True)
class LinearRanker:
    """score = sum(weight * (feature - mean) / scale): the centring and scaling fitted with
    the weights (standardised features make the weights comparable in size)."""

    weights: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]

    def scores(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        w, mu, sd = (
            np.asarray(v, dtype=np.float64) for v in (self.weights, self.means, self.scales)
        )
        return np.asarray(((features - mu) / sd) @ w, dtype=np.float64)

    def order(self, features: npt.NDArray[np.float64]) -> list[int]:
        """Indices of the rows, best first; ties keep the earlier place."""
        scores = self.scores(features)
        return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


# Fitted by `bench/fit_rerank.py weights` on every labelled set (AnnoMI v2-v9 and the demo:
# 914 answerable questions, 44,580 candidates: the first 40 and the chunks with the closest
# sentences further down, `Retriever.learned_pool`), pairwise logistic regression, C = 1,
# seeded. Judged by leave-one-set-out (bench/README.md, #15 "Eighth round"): reading those
# further chunks lifts pooled R@5 over the eight left-out AnnoMI sets 770 -> 779 of 868 (the
# right excerpt among the candidates 813 -> 844; paraphrase 0.86 -> 0.87, therapist 0.87 ->
# 0.89), MRR 0.800 -> 0.806; the demo, judged on a fit without it, 37 -> 36 of 46. The
# seventh round's 15th signal, the best sentence's cosine, weighs most. Used for the moments
# search (`Reflect.quotes`) and for the order a found answer shows its moments in
# (`Answerer.shown_order`), not for the answer path's found / not-found decision, which it
# loosened in the fifth round. Refit after any change to FEATURES or to the first stage:
# these numbers are read against those rows.
# fmt: off
LEARNED_RANKER = LinearRanker(
    weights=(0.0006, -0.5241, 0.2202, 0.4573, -0.3840, 0.0198, 0.1008, 0.3475, -0.2773,
        0.0586, 0.5461, 0.8938, 0.1327, 0.2432, 1.8588),
    means=(2.9481, 3.0820, 0.5916, 0.2186, 2.9672, 0.3658, -0.1543, 0.1582, 0.1508, 0.0830,
        0.2056, 0.1860, 0.5176, 5.8350, -0.2726),
    scales=(0.8806, 0.9411, 0.4915, 0.2986, 0.8889, 0.4817, 0.0859, 0.2078, 0.1997, 0.2758,
        0.3409, 0.3643, 0.3353, 0.3482, 0.1589),
)
# fmt: on
