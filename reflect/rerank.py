"""A learned second stage: the first-stage candidates re-scored by a linear model.

Four rounds of tuning `Retriever.search` one factor at a time (bench/README.md, #15) gained on
the questions looked at and lost it on each fresh set. This stage is not tuned per factor: it
reads a few cheap signals of each of the top candidates (where word search and meaning
search put it, how much of the question's rarer words it and its best turn hold, whether the
person the question names said them, its length) and adds them up with weights fitted on
labelled questions by `bench/fit_rerank.py` (pairwise logistic regression, seeded, judged
by leave-one-set-out; the fitted numbers are pasted below). Everything it reads is already
in memory at query time: no embedding, no model call.

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
    first) and their fusion, (match, fused score) best first."""

    lexical: Sequence[ChunkMatch]
    vector: Sequence[ChunkMatch]
    fused: list[tuple[ChunkMatch, float]]


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
)


def candidate_features(
    order: Sequence[ChunkMatch],
    stage: FirstStage,
    weights: Mapping[str, float],
    *,
    speaker: str | None,
    prefer: Prefer | None,
    is_user: Prefer,
) -> npt.NDArray[np.float64]:
    """One row of FEATURES per candidate of `order` (the current order's first ones)."""
    lexical = {m.key: (i, m.score) for i, m in enumerate(stage.lexical, start=1)}
    vector = {m.key: (i, m.score) for i, m in enumerate(stage.vector, start=1)}
    best_bm25 = max((s for _, s in lexical.values()), default=0.0)
    best_cos = max((s for _, s in vector.values()), default=0.0)
    worst_cos = min((s for _, s in vector.values()), default=0.0)
    total = sum(weights.values())
    rarest = max(weights, key=lambda t: weights[t]) if weights else None
    rows = np.zeros((len(order), len(FEATURES)))
    stems: dict[str, str] = {}
    for i, match in enumerate(order):
        key = match.key
        lex_rank, bm25 = lexical.get(key, (len(lexical) + 1, 0.0))
        vec_rank, cosine = vector.get(key, (len(vector) + 1, worst_cos))
        turns = turn_overlaps(match, weights, stems)
        chars = sum(t.chars for t in turns) or 1
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


# Fitted by `bench/fit_rerank.py weights` on every labelled set (AnnoMI v2, v3, v4, v5 and the
# demo: 514 answerable questions, 20,560 candidates), pairwise logistic regression, seeded.
# Judged by leave-one-set-out (bench/README.md, #15 "Fifth round"): pooled over the four
# left-out AnnoMI sets R@5 395 -> 408 of 468 (paraphrase 0.80 -> 0.84, therapist 0.81 ->
# 0.84, quotes 1.00 -> 1.00); the demo, judged on a fit without it, 0.87 -> 0.80. Used for
# the moments search shows (`Reflect.quotes`), not for the answer path, whose found / not-found
# decision it loosened (no-answer questions held 58 -> 53 of 76). Refit after any change to
# FEATURES or to the first stage: these numbers are read against those rows.
# fmt: off
LEARNED_RANKER = LinearRanker(
    weights=(-0.0616, -0.7274, 0.6649, 0.8716, -0.4265, -0.3999, 0.8740,
        -0.2462, 0.2146, 0.1079, 0.6368, 0.6288, 0.1277, 0.3676),
    means=(2.7580, 2.9472, 0.5130, 0.2507, 2.8093, 0.2513, -0.1629,
        0.1643, 0.1568, 0.0886, 0.2598, 0.1893, 0.5264, 5.8281),
    scales=(0.8624, 0.9891, 0.4998, 0.3004, 0.9072, 0.4338, 0.0936,
        0.2137, 0.2056, 0.2842, 0.3700, 0.3679, 0.3433, 0.3475),
)
# fmt: on
