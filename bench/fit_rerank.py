"""Fit and judge the learned second stage (reflect/rerank.py) by leave-one-set-out.

    nice -n 10 .venv/bin/python bench/fit_rerank.py collect    # build the vaults, read features
    .venv/bin/python bench/fit_rerank.py evaluate              # leave-one-set-out tables
    nice -n 10 .venv/bin/python bench/fit_rerank.py compare    # the v2-v5 fit against v2-v7
    .venv/bin/python bench/fit_rerank.py weights               # the weights fitted on every set
    nice -n 10 .venv/bin/python bench/fit_rerank.py live       # abstention per fold, latency
    nice -n 10 .venv/bin/python bench/fit_rerank.py latency    # the paired latency alone
    nice -n 10 .venv/bin/python bench/fit_rerank.py signals    # trial signals, leave-one-set-out
    .venv/bin/python bench/fit_rerank.py signals --trial none --without sentence_gap

Questions: the AnnoMI sets v2 (dev and held-out) and v3-v9 (bench/eval/annomi_questions.py)
and the demo set, all of them dev sets by now (the weights in reflect/rerank.py are fitted on
all of them, bench/README.md #15 "Seventh round"; `compare` judges the fifth round's fit, on
v2-v5 and the demo, against one with every set, both on the current signals). For every
answerable question, `collect` runs `Retriever.search` as `reflect quotes` does and keeps,
for the candidates the learned stage orders (`Retriever.learned_pool`: the first
`rerank_depth` of the current order, after the speaker preference, then the chunks with the
closest sentences further down), the learned stage's signals
(`Retriever.candidate_features`) and whether each is the right excerpt (the bench's `is_hit`,
alternative re-enactments counted as in bench_recall.py); also where the verbatim matches and
the old fused order (the question as typed) put the right excerpt. The rows are cached in a
temporary folder (never in the repository: they are derived from AnnoMI), with the chunk
vectors, so that a second `collect` skips the embedding.

`signals`: a 15th or 16th signal tried offline (meaning at the sentence and the turn level,
words near in meaning, the chunks around, the session's share: `trial_signals`), each judged
as `evaluate` judges, against the base (FEATURES, less the `--without` ones): R@5 per left-out
set and kind, questions won and lost. `--trial none --without X`: FEATURES with and without X.

`evaluate`: for each AnnoMI set, a model fitted on the other AnnoMI sets and the demo is judged
on it (and the demo on a model fitted on the AnnoMI sets alone); R@1 / R@5 / MRR per kind for the
old fused order, the current order and the learned one. The verbatim matches stay first in
every order: the learned stage only reorders what follows them.

Model: a linear score, fitted as pairwise logistic regression (scikit-learn's
LogisticRegression on differences of standardised rows, right minus wrong excerpt of the same
question, each question weighing the same), seeded; `--pointwise` fits right-vs-wrong rows
instead. Standard scikit-learn is in the environment already (a bench dependency, not the
product's: the product reads only the fitted numbers).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import pickle
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "eval"))

from annomi_questions import load_set
from bench_recall import DEPTH, latency, refused, row_kind, scores, with_alt_refs
from bench_retrieval import (
    CachingEmbedder,
    Corpus,
    annomi_csv_path,
    build_annomi,
    build_demo,
    markdown_table,
)

from reflect.chunking import chunk_session, embedding_text
from reflect.embedding import default_embedder
from reflect.rerank import FEATURES, LEARNED_RANKER, FirstStage, LinearRanker
from reflect.retrieval import Retriever
from reflect.testing import live_index_of
from reflect.words import content_stems, stem, words

# REFLECT_FIT_RERANK_CACHE: another folder for the cache (two fits side by side).
# REFLECT_FIT_RERANK_DEPTH: collect this many candidates (first stage and learned stage)
# instead of the product's 40: a trial of a deeper pool, in its own cache folder.
DEPTH_TRIAL = int(os.environ.get("REFLECT_FIT_RERANK_DEPTH") or 0)
CACHE = Path(
    os.environ.get("REFLECT_FIT_RERANK_CACHE") or Path(tempfile.gettempdir()) / "reflect-fit-rerank"
)
ANNOMI_SETS = ("v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9")
# The sets the fifth round's weights were fitted on (with the demo): the "old" fit of the
# comparison in `compare`.
FIFTH_ROUND_SETS = ("v2", "v3", "v4", "v5")
SEED = 15
C = 1.0  # scikit-learn's default regularisation; not tuned


@dataclass
class Row:
    """One answerable question: its candidates' signals and labels, and where the verbatim
    matches and the old fused order put the right excerpt."""

    set_name: str
    qid: str
    kind: str
    features: np.ndarray
    labels: np.ndarray
    exact_keys: list[tuple[str, int]]
    exact_right: list[bool]
    pool_keys: list[tuple[str, int]]
    current: int | None
    old_fused: int | None
    extra: dict[str, Any] = field(default_factory=dict)


# ---- collecting ------------------------------------------------------------------------


class Recorder:
    """Wraps one retriever's stages to keep what the last search saw."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self.stage: FirstStage | None = None
        self.understood: Any = None
        self.order: list[Any] = []
        self.query_vector: np.ndarray | None = None
        first_stage, rerank = retriever._first_stage, retriever._rerank
        query_vector = retriever._query_vector

        def recording_query_vector(*args: Any, **kwargs: Any) -> Any:
            self.query_vector = query_vector(*args, **kwargs)
            return self.query_vector

        def recording_first_stage(*args: Any, **kwargs: Any) -> FirstStage:
            # The chunks further down too, which the learned stage reads when it is on
            # (it is off here: the order before it is what the rows record).
            self.stage = first_stage(*args, **{**kwargs, "deeper": True})
            return self.stage

        def recording_rerank(understood: Any, candidates: Any) -> Any:
            self.understood = understood
            self.order = rerank(understood, candidates)
            return self.order

        retriever._first_stage = recording_first_stage  # type: ignore[method-assign]
        retriever._rerank = recording_rerank  # type: ignore[method-assign]
        retriever._query_vector = recording_query_vector  # type: ignore[method-assign]


def rank_in(is_right: Sequence[bool]) -> int | None:
    return next((i for i, r in enumerate(is_right[:DEPTH], start=1) if r), None)


def texts_of(recorder: Recorder, matches: Sequence[Any], retriever: Retriever) -> dict[str, Any]:
    """What the trial signals of `signals` read offline: the searched words, the query vector
    meaning search used, each candidate's turns (speaker, the part inside the chunk) and the
    cosine of the query with the chunks just before and after it (NaN at a session's ends)."""
    understood = recorder.understood
    vector = recorder.query_vector
    assert vector is not None
    unit = vector / (np.linalg.norm(vector) or 1.0)
    turns, neighbours = [], []
    embedder = retriever.embedder
    assert embedder is not None
    for m in matches:
        session, chunk = m.session, m.chunk
        pieces = []
        for turn in session.turns[chunk.first_turn : chunk.last_turn + 1]:
            a, b = max(turn.char_start, chunk.char_start), min(turn.char_end, chunk.char_end)
            if a < b:
                pieces.append((turn.speaker, session.text[a:b]))
        turns.append(pieces)
        chunks = _chunks_of(session)
        assert chunks[chunk.index].char_start == chunk.char_start, m.key
        cosines = []
        for j in (chunk.index - 1, chunk.index + 1):
            if 0 <= j < len(chunks):
                v = embedder.embed([embedding_text(session, chunks[j], speaker_labels=True)])[0]
                cosines.append(float(v @ unit / (np.linalg.norm(v) or 1.0)))
            else:
                cosines.append(float("nan"))
        neighbours.append(cosines)
    return {
        "words": understood.search_text,
        "content": understood.content,
        "speaker": understood.speaker,
        "qvec": np.asarray(unit, dtype=np.float32),
        "turns": turns,
        "neighbours": np.array(neighbours),
        "me": sorted(retriever.me_labels),
    }


_CHUNKS: dict[str, list[Any]] = {}


def _chunks_of(session: Any) -> list[Any]:
    if session.id not in _CHUNKS:
        _CHUNKS[session.id] = chunk_session(session)
    return _CHUNKS[session.id]


def collect_corpus(corpus: Corpus, set_name: str, questions: list[dict[str, Any]]) -> list[Row]:
    service = corpus.service
    retriever = live_index_of(service).retriever(service.me_labels())
    if DEPTH_TRIAL:
        retriever.candidates = retriever.rerank_depth = DEPTH_TRIAL
    recorder = Recorder(retriever)
    rows = []
    for q in questions:
        if q["kind"] == "no_answer":
            continue
        recorder.understood, recorder.order, recorder.query_vector = None, [], None
        hits = retriever.search(q["question"], k=DEPTH)
        assert recorder.stage is not None and recorder.understood is not None
        pool = retriever.learned_pool(recorder.stage, recorder.order)
        matches = [m for m, _ in pool]
        began = time.perf_counter()
        features = retriever.candidate_features(recorder.understood, recorder.stage, matches)
        feature_ms = (time.perf_counter() - began) * 1000
        texts = texts_of(recorder, matches, retriever)
        words = recorder.understood.search_text
        labels = np.array(
            [corpus.is_hit(q, retriever.hit(1, m, s, words)) for m, s in pool], dtype=bool
        )
        exact = [h for h in hits if h.exact]
        current = rank_in([corpus.is_hit(q, h) for h in hits])
        old = retriever.search(q["question"], k=DEPTH, mode="hybrid", as_typed=True)
        row = Row(
            set_name,
            str(q["id"]),
            row_kind(q),
            features,
            labels,
            [(h.session_id, h.chunk_index) for h in exact],
            [corpus.is_hit(q, h) for h in exact],
            [m.key for m in matches],
            current,
            rank_in([corpus.is_hit(q, h) for h in old]),
            {"feature_ms": feature_ms, **texts},
        )
        # The order rebuilt from the rows must be the order search gave.
        assert final_rank(row, list(range(len(matches)))) == current, (set_name, q["id"])
        rows.append(row)
    return rows


def build(tmp: Path) -> tuple[Corpus, Corpus, CachingEmbedder]:
    embedder = CachingEmbedder(default_embedder())
    cached = CACHE / "embeddings.pkl"
    if cached.exists():
        embedder._vectors.update(pickle.loads(cached.read_bytes()))
    annomi = build_annomi(tmp, embedder)
    with_alt_refs(annomi)
    demo = build_demo(tmp, embedder)
    return annomi, demo, embedder


def collect() -> None:
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reflect-fit-rerank-") as tmp:
        annomi, demo, embedder = build(Path(tmp))
        rows: list[Row] = []
        for name in ANNOMI_SETS:
            rows += collect_corpus(annomi, name, load_set(annomi_csv_path(), name))
            print(f"{name}: {sum(r.set_name == name for r in rows)} questions", flush=True)
        rows += collect_corpus(demo, "demo", demo.questions)
        (CACHE / "embeddings.pkl").write_bytes(pickle.dumps(embedder._vectors))
    (CACHE / "rows.pkl").write_bytes(pickle.dumps(rows))
    print(f"{len(rows)} questions, {sum(len(r.labels) for r in rows)} candidates")
    times = sorted(r.extra["feature_ms"] for r in rows)
    print(
        f"reading the signals: p50 {times[len(times) // 2]:.2f} ms, "
        f"p95 {times[int(0.95 * (len(times) - 1))]:.2f} ms a question"
    )


class _RowUnpickler(pickle.Unpickler):
    """Rows pickled by this script run as __main__ load from any importer."""

    def find_class(self, module: str, name: str) -> Any:
        return Row if name == "Row" else super().find_class(module, name)


def load_rows(without: Sequence[str] = ()) -> list[Row]:
    """The cached rows; the signals named in `without` zeroed (an ablation: a signal that is
    0 everywhere gets weight 0)."""
    with (CACHE / "rows.pkl").open("rb") as f:
        rows: list[Row] = _RowUnpickler(f).load()
    for name in without:
        for r in rows:
            r.features[:, FEATURES.index(name)] = 0.0
    return rows


# ---- fitting ---------------------------------------------------------------------------


def fit(rows: Sequence[Row], *, pointwise: bool = False, c: float = C) -> LinearRanker:
    from sklearn.linear_model import LogisticRegression

    stacked = np.concatenate([r.features for r in rows])
    means = stacked.mean(axis=0)
    scales = stacked.std(axis=0)
    scales[scales == 0] = 1.0
    xs, ys, ws = [], [], []
    for r in rows:
        x = (r.features - means) / scales
        pos, neg = x[r.labels], x[~r.labels]
        if not len(pos) or not len(neg):
            continue
        if pointwise:
            xs.append(x)
            ys.append(r.labels.astype(int))
            ws.append(np.full(len(x), 1.0 / len(x)))
            continue
        diffs = (pos[:, None, :] - neg[None, :, :]).reshape(-1, x.shape[1])
        xs += [diffs, -diffs]
        ys += [np.ones(len(diffs), int), np.zeros(len(diffs), int)]
        ws += [np.full(len(diffs), 0.5 / len(diffs))] * 2
    model = LogisticRegression(C=c, fit_intercept=pointwise, max_iter=5000, random_state=SEED)
    weight = np.concatenate(ws)
    model.fit(np.concatenate(xs), np.concatenate(ys), sample_weight=weight / weight.mean())
    return LinearRanker(
        tuple(float(w) for w in model.coef_[0]),
        tuple(float(m) for m in means),
        tuple(float(s) for s in scales),
    )


def final_rank(row: Row, order: Sequence[int]) -> int | None:
    """Where the right excerpt lands: verbatim matches first, then the pool in `order`,
    skipping chunks already listed (as `Retriever.search` does)."""
    right = list(row.exact_right)
    seen = set(row.exact_keys)
    for i in order:
        if row.pool_keys[i] not in seen:
            seen.add(row.pool_keys[i])
            right.append(bool(row.labels[i]))
    return rank_in(right)


def learned_rank(row: Row, ranker: LinearRanker) -> int | None:
    return final_rank(row, ranker.order(row.features) if len(row.labels) > 1 else [0])


# ---- reporting -------------------------------------------------------------------------


def folds(
    rows: Sequence[Row], sets: Sequence[str] = ANNOMI_SETS
) -> list[tuple[str, list[Row], list[Row]]]:
    """(left-out set, training rows, test rows): each AnnoMI set left out in turn (the demo
    always trains), and the demo judged on the AnnoMI sets. Only `sets` (and the demo)
    train; every AnnoMI set and the demo is judged."""
    out = []
    for name in (*ANNOMI_SETS, "demo"):
        train = [r for r in rows if r.set_name != name and r.set_name in (*sets, "demo")]
        out.append((name, train, [r for r in rows if r.set_name == name]))
    return out


def evaluate(pointwise: bool, without: Sequence[str] = ()) -> None:
    rows = load_rows(without)
    ranks: dict[str, dict[tuple[str, str], int | None]] = {
        "old fused": {},
        "reflect (current)": {},
        "learned": {},
    }
    for name, train, test in folds(rows):
        ranker = fit(train, pointwise=pointwise)
        for r in test:
            key = (r.set_name, r.qid)
            ranks["old fused"][key] = r.old_fused
            ranks["reflect (current)"][key] = r.current
            ranks["learned"][key] = learned_rank(r, ranker)
        print(f"fold {name}: trained on {len(train)} questions, judged on {len(test)}")
    table = []
    for group in [*ANNOMI_SETS, "pooled AnnoMI", "demo"]:
        chosen = [
            r
            for r in rows
            if r.set_name == group or (group == "pooled AnnoMI" and r.set_name in ANNOMI_SETS)
        ]
        kinds = sorted({r.kind for r in chosen})
        for kind in [*kinds, "all"]:
            subset = [r for r in chosen if kind in ("all", r.kind)]
            cells = [group if kind == kinds[0] else "", kind, str(len(subset))]
            for by_key in ranks.values():
                r1, r5, mrr = scores([by_key[(r.set_name, r.qid)] for r in subset])
                cells.append(f"{r1:.2f} / {r5:.2f} / {mrr:.3f}")
            table.append(cells)
    headers = ["set", "kind", "n", *(f"{m}: R@1 / R@5 / MRR" for m in ranks)]
    print(markdown_table(headers, table))
    pooled = [r for r in rows if r.set_name in ANNOMI_SETS]
    for method, by_key in ranks.items():
        at5 = sum(1 for r in pooled if (by_key[(r.set_name, r.qid)] or 99) <= 5)
        print(f"pooled AnnoMI R@5 {method}: {at5}/{len(pooled)}")
    within = sum(1 for r in pooled if r.labels.any() or any(r.exact_right))
    print(f"right excerpt within the pool (or verbatim): {within}/{len(pooled)}")


Ranks = dict[tuple[str, str], int | None]


def at5(rows: Sequence[Row], ranks: Ranks) -> int:
    return sum(1 for r in rows if (ranks[(r.set_name, r.qid)] or 99) <= 5)


def mrr_of(rows: Sequence[Row], ranks: Ranks) -> float:
    return scores([ranks[(r.set_name, r.qid)] for r in rows])[2]


def nested_c(train: Sequence[Row]) -> float:
    """The regularisation strength chosen by leave-one-set-out inside `train` alone: the C
    of C_GRID with the most inner left-out questions at 5 (then the higher MRR, then the
    smaller C: more regularised)."""
    inner_sets = sorted({r.set_name for r in train})
    best: tuple[int, float, float] | None = None
    for c in C_GRID:
        ranks: Ranks = {}
        for name in inner_sets:
            ranker = fit([r for r in train if r.set_name != name], c=c)
            ranks.update(
                {(r.set_name, r.qid): learned_rank(r, ranker) for r in train if r.set_name == name}
            )
        score = (at5(train, ranks), mrr_of(train, ranks), -c)
        if best is None or score > best:
            best = score
    assert best is not None
    return -best[2]


C_GRID = (0.01, 0.1, 1.0, 10.0)


def with_session_share(rows: Sequence[Row]) -> list[Row]:
    """The rows with a 15th signal (a trial, not in reflect/rerank.py): the share of the
    candidates from the candidate's own session (a session many candidates come from is
    likelier the one the question is about), read from the candidates' keys alone, as the
    product could at query time."""
    out = []
    for r in rows:
        sessions = [key[0] for key in r.pool_keys]
        share = np.array([[sessions.count(s) / len(sessions)] for s in sessions])
        out.append(replace(r, features=np.hstack([r.features, share])))
    return out


def compare(nested: bool, session_share: bool = False) -> None:
    """Leave-one-set-out, the fifth round's fit (trained on v2-v5 and the demo, as shipped)
    against the fit with v6 and v7 added: each AnnoMI set and the demo judged on a model that
    never saw it (for v6 and v7 the old fold's model is the shipped one's fit); with
    `nested`, also the new fit with C chosen by an inner leave-one-set-out."""
    rows = load_rows()
    ranks: dict[str, Ranks] = {"current": {}, "old fit (v2-v5)": {}, "new fit (v2-v7)": {}}
    if nested:
        ranks["new fit, nested C"] = {}
    plans = [
        ("old fit (v2-v5)", FIFTH_ROUND_SETS, rows),
        ("new fit (v2-v7)", ANNOMI_SETS, rows),
    ]
    if session_share:
        ranks["new fit + session share"] = {}
        plans.append(("new fit + session share", ANNOMI_SETS, with_session_share(rows)))
    for method, sets, their_rows in plans:
        for name, train, test in folds(their_rows, sets):
            ranker = fit(train)
            ranks[method].update({(r.set_name, r.qid): learned_rank(r, ranker) for r in test})
            print(f"{method}, fold {name}: trained on {len(train)} questions", flush=True)
    if nested:
        for name, train, test in folds(rows):
            c = nested_c(train)
            ranker = fit(train, c=c)
            ranks["new fit, nested C"].update(
                {(r.set_name, r.qid): learned_rank(r, ranker) for r in test}
            )
            print(f"nested, fold {name}: C = {c}", flush=True)
    ranks["current"] = {(r.set_name, r.qid): r.current for r in rows}
    shipped = {(r.set_name, r.qid): learned_rank(r, LEARNED_RANKER) for r in rows}
    groups = {
        **{name: [name] for name in ANNOMI_SETS},
        "pooled v2-v5": list(FIFTH_ROUND_SETS),
        "pooled v6-v7": ["v6", "v7"],
        "pooled AnnoMI": list(ANNOMI_SETS),
        "demo": ["demo"],
    }
    table = []
    for group, members in groups.items():
        chosen = [r for r in rows if r.set_name in members]
        kinds = sorted({r.kind for r in chosen})
        for kind in [*kinds, "all"]:
            subset = [r for r in chosen if kind in ("all", r.kind)]
            cells = [group if kind == kinds[0] else "", kind, str(len(subset))]
            for by_key in ranks.values():
                r1, r5, mrr = scores([by_key[(r.set_name, r.qid)] for r in subset])
                cells.append(f"{r1:.2f} / {r5:.2f} / {mrr:.3f}")
            table.append(cells)
    headers = ["left-out set", "kind", "n", *(f"{m}: R@1 / R@5 / MRR" for m in ranks)]
    print(markdown_table(headers, table))
    # The same at 5 alone, with the count of questions in the top five on the "all" rows.
    compact = []
    for cells in table:
        at5_cells = [c.split(" / ")[1] for c in cells[3:]]
        compact.append(cells[:3] + at5_cells)
    print(markdown_table(["left-out set", "kind", "n", *(f"{m} R@5" for m in ranks)], compact))
    for group, members in groups.items():
        chosen = [r for r in rows if r.set_name in members]
        counts = ", ".join(f"{m} {at5(chosen, by_key)}" for m, by_key in ranks.items())
        print(f"{group} R@5 of {len(chosen)}: {counts}; shipped weights {at5(chosen, shipped)}")


# ---- trial signals (the seventh round: a signal the 14 lack) ----------------------------

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class TrialVectors:
    """MiniLM vectors of turns, sentences and single words of the candidates, embedded once
    and cached beside the rows (outside the repository)."""

    def __init__(self) -> None:
        self.path = CACHE / "trial-vectors.pkl"
        self.embedder = CachingEmbedder(default_embedder())
        if self.path.exists():
            self.embedder._vectors.update(pickle.loads(self.path.read_bytes()))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.embedder.embed(list(texts), batch_size=64)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    def save(self) -> None:
        self.path.write_bytes(pickle.dumps(self.embedder._vectors))


def _turn_text(speaker: str | None, text: str) -> str:
    return f"{speaker}: {text.strip()}" if speaker else text.strip()


def _sentences(text: str, least: int = 3) -> list[str]:
    return [s for s in (p.strip() for p in _SENTENCE.split(text)) if len(words(s)) >= least]


def _idf(rows: Sequence[Row]) -> dict[str, dict[str, float]]:
    """Per corpus (AnnoMI, demo): stem -> log(1 + N / (1 + chunks holding it)) over the
    candidate chunks seen (an approximation of the index's count)."""
    held: dict[str, dict[tuple[str, int], frozenset[str]]] = {"annomi": {}, "demo": {}}
    for r in rows:
        corpus = "demo" if r.set_name == "demo" else "annomi"
        for key, pieces in zip(r.pool_keys, r.extra["turns"], strict=True):
            if key not in held[corpus]:
                held[corpus][key] = frozenset(stem(w) for _, t in pieces for w in words(t))
    out = {}
    for corpus, chunks in held.items():
        counts: dict[str, int] = {}
        for stems in chunks.values():
            for t in stems:
                counts[t] = counts.get(t, 0) + 1
        n = max(1, len(chunks))
        out[corpus] = {t: math.log(1.0 + n / (1.0 + c)) for t, c in counts.items()}
    return out


def trial_signals(rows: Sequence[Row]) -> dict[str, list[np.ndarray]]:
    """Candidate signals, one column per row of candidates: meaning at the turn and the
    sentence level, the chunks around it, words near in meaning, the session's share."""
    vectors = TrialVectors()
    turn_texts = sorted(
        {_turn_text(sp, t) for r in rows for pieces in r.extra["turns"] for sp, t in pieces}
    )
    sentence_texts = sorted(
        {
            s
            for r in rows
            for pieces in r.extra["turns"]
            for _, t in pieces
            for s in _sentences(t, 1)
        }
    )
    labelled_texts = sorted(
        {
            _turn_text(sp, s)
            for r in rows
            for pieces in r.extra["turns"]
            for sp, t in pieces
            for s in _sentences(t)
        }
    )
    print(f"{len(turn_texts)} turns, {len(sentence_texts)} sentences", flush=True)
    turn_vec = dict(zip(turn_texts, vectors.embed(turn_texts), strict=True))
    sentence_vec = dict(zip(sentence_texts, vectors.embed(sentence_texts), strict=True))
    sentence_vec.update(zip(labelled_texts, vectors.embed(labelled_texts), strict=True))
    vocabulary = sorted(
        {
            w
            for r in rows
            for text in [r.extra["content"], *(t for p in r.extra["turns"] for _, t in p)]
            for w in words(text)
            if content_stems(w)
        }
    )
    print(f"{len(vocabulary)} words", flush=True)
    word_vec = dict(zip(vocabulary, vectors.embed(vocabulary), strict=True))
    vectors.save()
    idf = _idf(rows)
    out: dict[str, list[np.ndarray]] = {}

    def add(name: str, column: Sequence[float]) -> None:
        out.setdefault(name, []).append(np.asarray(column, dtype=np.float64))

    for r in rows:
        q = r.extra["qvec"].astype(np.float64)
        weights_of = idf["demo" if r.set_name == "demo" else "annomi"]
        asked = {}
        for w in words(r.extra["content"]):
            for t in content_stems(w):
                asked.setdefault(t, w)
        weight = {t: weights_of.get(t, max(weights_of.values())) for t in asked}
        total = sum(weight.values()) or 1.0
        q_words = {t: word_vec[w] for t, w in asked.items() if w in word_vec}
        turn_best: list[float] = []
        sentence_best: list[float] = []
        variants: dict[str, list[float]] = {"all": [], "labelled": [], "top2": [], "raw": []}
        soft_gain: dict[float, list[float]] = {0.5: [], 0.6: [], 0.7: []}
        for pieces in r.extra["turns"]:
            cos_t = [float(turn_vec[_turn_text(sp, t)] @ q) for sp, t in pieces]
            turn_best.append(max(cos_t, default=0.0))
            cos_s = [float(sentence_vec[x] @ q) for _, t in pieces for x in _sentences(t)]
            sentence_best.append(max(cos_s, default=min(cos_t, default=0.0)))
            variants["raw"].append(sentence_best[-1])
            top = sorted(cos_s, reverse=True)[:2] or [min(cos_t, default=0.0)]
            variants["top2"].append(sum(top) / len(top))
            cos_all = [float(sentence_vec[x] @ q) for _, t in pieces for x in _sentences(t, 1)]
            variants["all"].append(max(cos_all, default=0.0))
            cos_l = [
                float(sentence_vec[_turn_text(sp, x)] @ q)
                for sp, t in pieces
                for x in _sentences(t)
            ]
            variants["labelled"].append(max(cos_l, default=min(cos_t, default=0.0)))
            chunk_words = sorted({w for _, t in pieces for w in words(t) if w in word_vec})
            held = {stem(w) for w in chunk_words}
            matrix = np.stack([word_vec[w] for w in chunk_words]) if chunk_words else None
            for tau in soft_gain:
                credit = 0.0
                for t, v in q_words.items():
                    if t in held or matrix is None:
                        continue
                    near = float((matrix @ v).max())
                    credit += weight[t] * max(0.0, (near - tau) / (1.0 - tau))
                soft_gain[tau].append(credit / total)
        turn_best_a = np.array(turn_best)
        sent_a = np.array(sentence_best)
        add("turn_cos", turn_best_a - turn_best_a.max())
        add("sentence_cos", sent_a - sent_a.max())
        for name, column in variants.items():
            values = np.array(column)
            add(f"sentence_{name}", values if name == "raw" else values - values.max())
        neighbours = r.extra["neighbours"]
        around = np.where(np.isnan(neighbours), -1.0, neighbours).max(axis=1)
        add("around_cos", around - around.max())
        for tau, column in soft_gain.items():
            add(f"near_words_{tau}", column)
        sessions = [key[0] for key in r.pool_keys]
        add("session_share", [sessions.count(x) / len(sessions) for x in sessions])
    return out


def with_signals(
    rows: Sequence[Row], columns: dict[str, list[np.ndarray]], names: Sequence[str]
) -> list[Row]:
    return [
        replace(r, features=np.hstack([r.features, *(columns[n][i][:, None] for n in names)]))
        for i, r in enumerate(rows)
    ]


def loso(rows: Sequence[Row]) -> Ranks:
    ranks: Ranks = {}
    for _, train, test in folds(rows):
        ranker = fit(train)
        ranks.update({(r.set_name, r.qid): learned_rank(r, ranker) for r in test})
    return ranks


def signals(trials: Sequence[str], without: Sequence[str] = ()) -> None:
    """Leave-one-set-out with FEATURES (less `without`: the base) and with each trial signal
    added (and with the trials named together; "none": no trial, the base against FEATURES
    whole): R@5 per left-out set and kind, questions won and lost against the base."""
    rows = load_rows(without)
    columns: dict[str, list[np.ndarray]] = {}
    if trials != ["none"]:
        cache = CACHE / "trial-columns.pkl"
        if cache.exists():
            columns = pickle.loads(cache.read_bytes())
        else:
            columns = trial_signals(rows)
            cache.write_bytes(pickle.dumps(columns))
    base_label = "base" if not without else "without " + ", ".join(without)
    ranks = {base_label: loso(rows)}
    if without:
        ranks["all signals"] = loso(load_rows())
    for name in [] if trials == ["none"] else trials or sorted(columns):
        ranks[f"+ {name}"] = loso(with_signals(rows, columns, name.split("+")))
    base = ranks[base_label]
    groups = {**{n: [n] for n in (*ANNOMI_SETS, "demo")}, "pooled AnnoMI": list(ANNOMI_SETS)}
    table = []
    for group, members in groups.items():
        chosen = [r for r in rows if r.set_name in members]
        for kind in ("paraphrase", "therapist", "all"):
            subset = [r for r in chosen if kind in ("all", r.kind)]
            if not subset:
                continue
            cells = [group if kind == "paraphrase" else "", kind, str(len(subset))]
            cells += [str(at5(subset, by_key)) for by_key in ranks.values()]
            table.append(cells)
    print(markdown_table(["left-out set", "kind", "n", *ranks], table))
    pooled = [r for r in rows if r.set_name in ANNOMI_SETS]
    for label, by_key in ranks.items():
        won = sum(
            1
            for r in pooled
            if (by_key[(r.set_name, r.qid)] or 99) <= 5 < (base[(r.set_name, r.qid)] or 99)
        )
        lost = sum(
            1
            for r in pooled
            if (base[(r.set_name, r.qid)] or 99) <= 5 < (by_key[(r.set_name, r.qid)] or 99)
        )
        worst = min(
            at5([r for r in rows if r.set_name == n], by_key)
            - at5([r for r in rows if r.set_name == n], base)
            for n in (*ANNOMI_SETS, "demo")
        )
        print(
            f"{label}: pooled AnnoMI R@5 {at5(pooled, by_key)}/{len(pooled)}, MRR "
            f"{mrr_of(pooled, by_key):.3f}, won {won}, lost {lost}, worst set {worst:+d}"
        )


def weights(pointwise: bool) -> None:
    ranker = fit(load_rows(), pointwise=pointwise)
    for name, w, m, s in zip(FEATURES, ranker.weights, ranker.means, ranker.scales, strict=True):
        print(f"{name:16} weight {w:+.4f}  mean {m:.4f}  scale {s:.4f}")
    print("LinearRanker(")
    for attr in ("weights", "means", "scales"):
        print(f"    {attr}=({', '.join(f'{v:.4f}' for v in getattr(ranker, attr))}),")
    print(")")


@contextlib.contextmanager
def learned_in(corpus: Corpus, ranker: LinearRanker | None) -> Iterator[None]:
    """Every retriever the corpus's service (and the answer path) makes uses `ranker`."""
    live = live_index_of(corpus.service)
    make = live.retriever

    def with_ranker(me_labels: Any = (), **_: Any) -> Retriever:
        return make(me_labels, learned=ranker)

    live.retriever = with_ranker  # type: ignore[method-assign]
    try:
        yield
    finally:
        live.retriever = make  # type: ignore[method-assign]


def live(pointwise: bool) -> None:
    """On the built vaults: "couldn't find that" (the answer path's decision before any
    model runs) with the current order and with each fold's learned one, on the left-out
    set's questions; then the warm `reflect quotes` latency on AnnoMI without and with the
    stage (the weights fitted on every set), alternating three times."""
    rows = load_rows()
    models = {name: fit(train, pointwise=pointwise) for name, train, _ in folds(rows)}
    final = fit(rows, pointwise=pointwise)
    table = []
    with tempfile.TemporaryDirectory(prefix="reflect-fit-rerank-") as tmp:
        annomi, demo, _ = build(Path(tmp))
        every: list[dict[str, Any]] = []
        for name in (*ANNOMI_SETS, "demo"):
            corpus = demo if name == "demo" else annomi
            questions = demo.questions if name == "demo" else load_set(annomi_csv_path(), name)
            if name != "demo":
                every += questions
            no_answer = [q["question"] for q in questions if q["kind"] == "no_answer"]
            answerable = [q["question"] for q in questions if q["kind"] != "no_answer"]
            cells = [name]
            for ranker in (None, models[name]):
                with learned_in(corpus, ranker):
                    held = sum(refused(corpus, q) for q in no_answer)
                    wrong = sum(refused(corpus, q) for q in answerable)
                cells.append(f"{held}/{len(no_answer)}, {wrong}/{len(answerable)}")
            table.append(cells)
            print(cells, flush=True)
        print(
            markdown_table(["set", "current: no-answer held, answerable refused", "learned"], table)
        )
        for run in range(3):
            for label, ranker in (("current", None), ("learned", final)):
                with learned_in(annomi, ranker):
                    p50, p95 = latency(annomi, every)
                print(
                    f"run {run + 1}, {label}: warm quotes p50 {p50:.1f} ms, p95 {p95:.1f} ms "
                    f"({len(every)} questions)",
                    flush=True,
                )
        paired_latency(annomi, every, final)


def _no_sentences(matches: Sequence[Any], query_vector: Any) -> list[float | None]:
    return [None] * len(matches)


def paired_latency(
    corpus: Corpus, questions: Sequence[dict[str, Any]], ranker: LinearRanker
) -> None:
    """Each question's warm `quotes` timed without the stage, with it but without reading the
    sentences (the 14 signals' cost) and with it whole, back to back (the order rotating), so
    that the load of a shared machine falls on all alike."""
    service = corpus.service
    index = live_index_of(service).index
    reads = index.best_sentence_cosines
    arms = ("current", "learned, no sentences", "learned")
    spent: dict[str, list[float]] = {arm: [] for arm in arms}
    for i, q in enumerate([*questions, *questions]):
        for arm in arms[i % 3 :] + arms[: i % 3]:
            if arm == "learned, no sentences":
                index.best_sentence_cosines = _no_sentences  # type: ignore[method-assign]
            with learned_in(corpus, None if arm == "current" else ranker):
                began = time.perf_counter()
                service.quotes(q["question"], k=5)
                spent[arm].append((time.perf_counter() - began) * 1000)
            index.best_sentence_cosines = reads  # type: ignore[method-assign]
    for arm, times in spent.items():
        times = sorted(times)
        print(
            f"paired, {arm}: p50 {times[len(times) // 2]:.1f} "
            f"ms, p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms"
        )
    for arm in arms[1:]:
        extra = sorted(b - a for a, b in zip(spent["current"], spent[arm], strict=True))
        print(f"paired, {arm}: the stage's cost a median {extra[len(extra) // 2]:.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "command",
        choices=("collect", "evaluate", "compare", "weights", "live", "latency", "signals"),
    )
    parser.add_argument(
        "--trial",
        action="append",
        default=[],
        help="signals: a trial signal to add (names joined by + are added together)",
    )
    parser.add_argument(
        "--nested", action="store_true", help="compare: also C chosen by nested leave-one-set-out"
    )
    parser.add_argument(
        "--session-share",
        action="store_true",
        help="compare: also the refit with a 15th signal, the share of candidates per session",
    )
    parser.add_argument(
        "--pointwise", action="store_true", help="fit right-vs-wrong rows instead of pairs"
    )
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        choices=FEATURES,
        help="leave this signal out (evaluate, signals; repeatable)",
    )
    args = parser.parse_args(argv)
    if args.command == "collect":
        collect()
    elif args.command == "evaluate":
        evaluate(args.pointwise, args.without)
    elif args.command == "compare":
        compare(args.nested, args.session_share)
    elif args.command == "signals":
        signals(args.trial, args.without)
    elif args.command == "weights":
        weights(args.pointwise)
    elif args.command == "latency":
        with tempfile.TemporaryDirectory(prefix="reflect-fit-rerank-") as tmp:
            annomi, _, _ = build(Path(tmp))
            every = [q for name in ANNOMI_SETS for q in load_set(annomi_csv_path(), name)]
            paired_latency(annomi, every, fit(load_rows(), pointwise=args.pointwise))
    else:
        live(args.pointwise)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
