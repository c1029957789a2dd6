"""Retrieval quality on the evaluation sets: hybrid search against its two halves.

    .venv/bin/python bench/bench_retrieval.py             # quality + not-found calibration
    .venv/bin/python bench/bench_retrieval.py --sweep     # + tuning sweep (re-embeds: slow)
    .venv/bin/python bench/bench_retrieval.py --corpus demo

Two vaults are built in a temporary folder, with the real bundled embedding model:

- demo: `reflect/demo/sessions` imported with `Reflect.import_paths` (the real parsers, chunker
  and embedder), me = "Sam";
- AnnoMI: one session per transcript_id, built in memory from the CSV rows, one turn per
  utterance (`Turn(speaker="Client"/"Therapist", text, start=timestamp)` joined by
  `build_text`), dated 2024-01-01 + transcript_id days, and stored with `SessionStore.add`
  together with the index record `LiveIndex.record_for` writes during an import (same
  chunks, same embedded texts, same record identity; embedded in one call). Both vaults
  are then opened with `Reflect.open_index`, so search runs on what a real unlock loads.

Every question is searched with k=5 in hybrid, word-only (BM25) and meaning-only mode, with
its filters (date_from/date_to as since/until, speaker "me"/"therapist" as speaker labels).
A hit counts when the excerpt contains an `answer_contains` string (case-insensitive,
whitespace-normalised; demo) or overlaps an answering utterance (AnnoMI). `no_answer`
questions are left out of recall; their top hits calibrate the "couldn't find that" decision
(`reflect.answer.decide_found`), swept at the end.

`--sweep` rebuilds the index with other chunk sizes, with speaker labels in the embedded
text, and then tries RRF k, word/meaning weights and candidate pool sizes; it only reads the
core modules' parameters, never changes them.

The AnnoMI CSV is read at run time from $REFLECT_ANNOMI_CSV, else
../shared/corpora/annomi/AnnoMI-simple.csv beside the repository; nothing of it is written
anywhere but the temporary vault, which is deleted at the end.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import itertools
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from common import markdown_table

from reflect import crypto
from reflect.chunking import (
    DEFAULT_MAX_WORDS,
    DEFAULT_MIN_WORDS,
    DEFAULT_TRIVIAL_WORDS,
    chunk_session,
    embedding_text,
)
from reflect.embedding import Embedder, Vectors, default_embedder
from reflect.index import Filters, SearchIndex
from reflect.index_record import decode_index_record
from reflect.ingest import ImportOptions, content_hash
from reflect.live_index import encode_records
from reflect.retrieval import DEFAULT_CANDIDATES, DEFAULT_K_RRF, Hit, Mode, Retriever, quoted_phrase
from reflect.service import Reflect, SearchFilters
from reflect.session import Session, build_text
from reflect.testing import live_index_of, store_of
from reflect.transcript import Turn

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
EVAL = HERE / "eval"
DEMO_SESSIONS = REPO / "reflect" / "demo" / "sessions"
DEMO_QUESTIONS = EVAL / "questions_demo.jsonl"
ANNOMI_QUESTIONS = EVAL / "questions_annomi.jsonl"
ANNOMI_DEFAULT = REPO.parent / "shared" / "corpora" / "annomi" / "AnnoMI-simple.csv"

PASSPHRASE = "benchmark passphrase, not a secret"
K = 5
MODES: tuple[Mode, ...] = ("hybrid", "lexical", "vector")
MODE_LABELS = {"hybrid": "hybrid", "lexical": "BM25 only", "vector": "vector only"}
KIND_ORDER = ("paraphrase", "exact_quote", "therapist", "date_filter", "speaker")
ANNOMI_FIRST_DAY = dt.date(2024, 1, 1)
ANNOMI_LABELS = {"client": "Client", "therapist": "Therapist"}
# What the answerer does (reflect.answer.AnswerSettings.k): its evidence reads these hits.
ANSWER_K = 8


# ---- the AnnoMI CSV ----------------------------------------------------------------------------


def annomi_csv_path() -> Path:
    env = os.environ.get("REFLECT_ANNOMI_CSV")
    return Path(env).expanduser() if env else ANNOMI_DEFAULT


@dataclass(frozen=True, slots=True)
class Utterance:
    transcript_id: int
    utterance_id: int
    speaker: str  # "Client" | "Therapist"
    seconds: float | None
    text: str
    topic: str


def read_annomi(path: Path | None = None) -> dict[int, list[Utterance]]:
    """Utterances per transcript, in conversation order."""
    path = path or annomi_csv_path()
    if not path.is_file():
        raise SystemExit(
            f"The AnnoMI CSV is not at {path}. Set REFLECT_ANNOMI_CSV to its location."
        )
    transcripts: dict[int, list[Utterance]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            utterance = Utterance(
                transcript_id=int(row["transcript_id"]),
                utterance_id=int(row["utterance_id"]),
                speaker=ANNOMI_LABELS[row["interlocutor"]],
                seconds=hms_seconds(row["timestamp"]),
                text=" ".join(row["utterance_text"].split()),
                topic=row["topic"],
            )
            transcripts.setdefault(utterance.transcript_id, []).append(utterance)
    for utterances in transcripts.values():
        utterances.sort(key=lambda u: u.utterance_id)
    return dict(sorted(transcripts.items()))


def hms_seconds(text: str) -> float | None:
    parts = text.strip().split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    hours, minutes, secs = (int(p) for p in parts)
    return float(hours * 3600 + minutes * 60 + secs)


def annomi_date(transcript_id: int) -> dt.date:
    return ANNOMI_FIRST_DAY + dt.timedelta(days=transcript_id)


def annomi_session(session_id: str, utterances: Sequence[Utterance]) -> Session:
    """One AnnoMI transcript as a session: one turn per utterance, so turn i is utterance i."""
    turns = [Turn(speaker=u.speaker, text=u.text, start=u.seconds) for u in utterances]
    text, stored = build_text(turns)
    first = utterances[0]
    return Session(
        id=session_id,
        title=f"AnnoMI {first.transcript_id}: {first.topic}",
        date=annomi_date(first.transcript_id),
        date_source="option",
        source_file=f"annomi-{first.transcript_id:03d}.csv",
        content_hash=content_hash(turns),
        imported_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        format="annomi-csv",
        text=text,
        turns=stored,
    )


# ---- embeddings --------------------------------------------------------------------------------


class CachingEmbedder:
    """The real model, remembering every text it has embedded.

    The sweep embeds the same queries hundreds of times and the same chunk texts under several
    settings; batch composition changes a vector by ~1e-7 at most, far below any ranking effect.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self._vectors: dict[str, np.ndarray] = {}

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str], *, batch_size: int = 32, progress: Any = None) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            fresh = self.inner.embed(missing, batch_size=batch_size)
            self._vectors.update(zip(missing, fresh, strict=True))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts]).astype(np.float32)


# ---- corpora -----------------------------------------------------------------------------------

ChunkKey = tuple[str, int]


@dataclass(slots=True)
class Corpus:
    name: str
    service: Reflect
    questions: list[dict[str, Any]]
    filters: dict[str, Filters]
    is_hit: Callable[[dict[str, Any], Hit], bool]
    sessions: list[Session] = field(default_factory=list)
    # Chunk vectors as the vault stores them, for the top hit's cosine similarity.
    vectors: dict[ChunkKey, np.ndarray] = field(default_factory=dict)
    # Chunk spans, to tell a chunk that held the answer from the excerpt cut out of it.
    chunk_spans: dict[ChunkKey, tuple[int, int]] = field(default_factory=dict)

    @property
    def answerable(self) -> list[dict[str, Any]]:
        return [q for q in self.questions if q["kind"] != "no_answer"]


def load_questions(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def normalized(text: str) -> str:
    return " ".join(text.casefold().replace("’", "'").split())


def resolve_filters(service: Reflect, question: dict[str, Any]) -> Filters:
    return service.resolve_filters(
        SearchFilters(
            since=question.get("date_from"),
            until=question.get("date_to"),
            speaker=question.get("speaker"),
        )
    )


def stored_chunks(
    service: Reflect,
) -> tuple[dict[ChunkKey, np.ndarray], dict[ChunkKey, tuple[int, int]]]:
    """Every chunk's vector and span, as the vault's index records hold them."""
    vectors: dict[ChunkKey, np.ndarray] = {}
    spans: dict[ChunkKey, tuple[int, int]] = {}
    for summary in service.sessions():
        record = store_of(service).index_record(summary.id)
        assert record is not None, f"session {summary.id} was stored without its index record"
        _, chunks, embedded = decode_index_record(record)
        for chunk, vector in zip(chunks, embedded, strict=True):
            vectors[(summary.id, chunk.index)] = vector
            spans[(summary.id, chunk.index)] = (chunk.char_start, chunk.char_end)
    return vectors, spans


def build_demo(root: Path, embedder: Embedder) -> Corpus:
    service = Reflect.create(root / "demo", PASSPHRASE, kdf=crypto.floor_kdf_params(),
                             embedder_factory=lambda: embedder)
    report = service.import_paths([DEMO_SESSIONS], ImportOptions(me="Sam"))
    if report.failed:
        raise SystemExit(f"demo import failed: {[r.to_dict() for r in report.failed]}")
    service.open_index()
    vectors, spans = stored_chunks(service)
    questions = load_questions(DEMO_QUESTIONS)

    def is_hit(question: dict[str, Any], hit: Hit) -> bool:
        text = normalized(hit.text)
        return any(normalized(a) in text for a in question["answer_contains"])

    return Corpus(
        name="demo",
        service=service,
        questions=questions,
        filters={q["id"]: resolve_filters(service, q) for q in questions},
        is_hit=is_hit,
        sessions=[service.session(s.id) for s in service.sessions()],
        vectors=vectors,
        chunk_spans=spans,
    )


def build_annomi(root: Path, embedder: Embedder) -> Corpus:
    transcripts = read_annomi()
    service = Reflect.create(root / "annomi", PASSPHRASE, kdf=crypto.floor_kdf_params(),
                             embedder_factory=lambda: embedder)
    session_of_transcript: dict[int, str] = {}
    utterance_spans: dict[tuple[str, int], tuple[int, int]] = {}
    sessions = [annomi_session(f"annomi-{tid:03d}", utterances)
                for tid, utterances in transcripts.items()]
    # The records import writes (chunks, sentences and their embeddings), embedded in one call
    # for speed, as `LiveIndex.records_for` makes them.
    records = encode_records(embedder, [(s, chunk_session(s)) for s in sessions])
    for session, utterances, record in zip(sessions, transcripts.values(), records, strict=True):
        store_of(service).add(session, record)
        session_of_transcript[utterances[0].transcript_id] = session.id
        for turn, utterance in zip(session.turns, utterances, strict=True):
            utterance_spans[(session.id, utterance.utterance_id)] = (turn.char_start,
                                                                      turn.char_end)
    service.set_me("Client")
    service.open_index()
    vectors, spans = stored_chunks(service)
    questions = load_questions(ANNOMI_QUESTIONS)

    def is_hit(question: dict[str, Any], hit: Hit) -> bool:
        session_id = session_of_transcript.get(question["transcript_id"])
        if hit.session_id != session_id:
            return False
        for utterance_id in question["utterance_ids"]:
            a, b = utterance_spans[(session_id, utterance_id)]
            if hit.char_start < b and a < hit.char_end:
                return True
        return False

    return Corpus(
        name="AnnoMI",
        service=service,
        questions=questions,
        filters={q["id"]: resolve_filters(service, q) for q in questions},
        is_hit=is_hit,
        sessions=[service.session(s.id) for s in service.sessions()],
        vectors=vectors,
        chunk_spans=spans,
    )


# ---- evaluation --------------------------------------------------------------------------------

Ranks = dict[str, int | None]  # question id -> rank of the first correct hit (1-based), or None


def first_hit_rank(corpus: Corpus, question: dict[str, Any], hits: Sequence[Hit]) -> int | None:
    return next((i for i, hit in enumerate(hits, 1) if corpus.is_hit(question, hit)), None)


def evaluate(corpus: Corpus, retriever: Retriever, mode: Mode) -> Ranks:
    return {
        q["id"]: first_hit_rank(
            corpus, q, retriever.search(q["question"], k=K, filters=corpus.filters[q["id"]],
                                        mode=mode))
        for q in corpus.answerable
    }


@dataclass(frozen=True, slots=True)
class Scores:
    n: int
    r1: float
    r5: float
    mrr: float


def scores(ranks: Iterable[int | None]) -> Scores:
    values = list(ranks)
    if not values:
        return Scores(0, math.nan, math.nan, math.nan)
    return Scores(
        n=len(values),
        r1=sum(1 for r in values if r == 1) / len(values),
        r5=sum(1 for r in values if r is not None and r <= K) / len(values),
        mrr=sum(1 / r for r in values if r is not None) / len(values),
    )


def quality_rows(corpus: Corpus, ranks_by_mode: dict[Mode, Ranks]) -> list[list[str]]:
    kinds = [k for k in KIND_ORDER if any(q["kind"] == k for q in corpus.answerable)]
    rows = []
    for kind in [*kinds, "all"]:
        ids = [q["id"] for q in corpus.answerable if kind in ("all", q["kind"])]
        row = [f"**{kind}**" if kind == "all" else kind, str(len(ids))]
        for mode in MODES:
            s = scores(ranks_by_mode[mode][i] for i in ids)
            row += [f"{s.r1:.2f}", f"{s.r5:.2f}", f"{s.mrr:.2f}"]
        rows.append(row)
    return rows


QUALITY_HEADERS = ["kind", "n"] + [
    f"{MODE_LABELS[m]} {metric}" for m in MODES for metric in ("R@1", "R@5", "MRR")
]


def win_loss(new: Ranks, old: Ranks) -> tuple[int, int]:
    """Questions whose first correct hit moved up / down (a miss is rank 6)."""
    def rank(r: int | None) -> int:
        return r if r is not None else K + 1

    better = sum(1 for q in new if rank(new[q]) < rank(old[q]))
    worse = sum(1 for q in new if rank(new[q]) > rank(old[q]))
    return better, worse


# ---- the top hit's numbers, for the "couldn't find that" threshold ---------------------------


@dataclass(slots=True)
class TopHit:
    corpus: str
    question_id: str
    question: str
    kind: str
    answerable: bool
    correct_at_1: bool
    correct_in_5: bool
    fused: float | None
    bm25: float | None
    cosine: float | None
    evidence: Any = None  # reflect.answer.Evidence, when reflect/answer.py is there
    # The answerer's k hits, for re-deciding (the evidence reads each hit's whole chunk).
    hits: list[Hit] = field(default_factory=list)


def top_hits(corpus: Corpus, retriever: Retriever) -> list[TopHit]:
    try:
        from reflect.answer import decide_found, question_similarity
    except ImportError:
        decide_found = question_similarity = None  # type: ignore[assignment]
    out = []
    for q in corpus.questions:
        filters = corpus.filters[q["id"]]
        text = " ".join(q["question"].split())
        hits = retriever.search(text, k=max(K, ANSWER_K), filters=filters)
        rank = first_hit_rank(corpus, q, hits[:K]) if q["kind"] != "no_answer" else None
        top = TopHit(corpus.name, q["id"], text, q["kind"], q["kind"] != "no_answer",
                     rank == 1, rank is not None, None, None, None, hits=hits)
        if hits:
            best = hits[0]
            words = quoted_phrase(text) or text
            key = (best.session_id, best.chunk_index)
            top.fused = best.score
            lexical = retriever.index.lexical_search(words, 10_000, filters)
            top.bm25 = next((m.score for m in lexical if m.key == key), 0.0)
            assert retriever.embedder is not None
            query_vector = retriever.embedder.embed([words])[0]
            top.cosine = float(corpus.vectors[key] @ query_vector)
        if decide_found is not None:
            similarity = question_similarity(retriever, text, filters) if hits else None
            top.evidence = decide_found(text, hits, similarity=similarity)
        out.append(top)
    return out


def calibration_rows(tops: Sequence[TopHit]) -> list[list[str]]:
    def fmt(x: float | None, digits: int = 3) -> str:
        return "-" if x is None else f"{x:.{digits}f}"

    rows = []
    for t in tops:
        ev = t.evidence
        rows.append([
            t.corpus, t.question_id, t.kind,
            "-" if not t.answerable else ("top1" if t.correct_at_1
                                          else "top5" if t.correct_in_5 else "miss"),
            fmt(t.fused, 4), fmt(t.bm25, 2), fmt(t.cosine),
            fmt(ev.max_similarity) if ev else "n/a",
            fmt(ev.term_coverage, 2) if ev else "n/a",
            ("found" if ev.found else "NOT FOUND") if ev else "n/a",
            ev.reason if ev else "",
        ])
    return rows


CALIBRATION_HEADERS = ["corpus", "id", "kind", "answer in", "fused", "BM25", "cosine",
                       "q.similarity", "coverage", "decision", "reason"]


def distribution_rows(tops: Sequence[TopHit]) -> list[list[str]]:
    def summary(values: list[float]) -> str:
        if not values:
            return "-"
        qs = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
        return f"{min(values):.3f} / {qs[0]:.3f} / {qs[1]:.3f} / {qs[2]:.3f} / {max(values):.3f}"

    rows = []
    groups = (("answerable", [t for t in tops if t.answerable]),
              ("no_answer", [t for t in tops if not t.answerable]))
    measures: list[tuple[str, Callable[[TopHit], float | None]]] = [
        ("fused", lambda t: t.fused),
        ("BM25", lambda t: t.bm25),
        ("cosine", lambda t: t.cosine),
        ("q.similarity", lambda t: t.evidence.max_similarity if t.evidence else None),
        ("coverage", lambda t: t.evidence.term_coverage if t.evidence else None),
    ]
    for name, get in measures:
        row = [name]
        for _, group in groups:
            row.append(summary([v for t in group if (v := get(t)) is not None]))
        rows.append(row)
    return rows


def abstention(
    tops: Sequence[TopHit], thresholds: Any
) -> tuple[float, float, int, int, int]:
    """(precision, recall) of saying "couldn't find that" for no_answer questions, plus the
    answerable questions wrongly refused, no_answer ones wrongly answered, and answerable
    ones answered with a correct excerpt among the 5 shown."""
    from reflect.answer import decide_found

    refused_right = refused_wrong = answered_wrong = answered_with_answer = 0
    for t in tops:
        assert t.evidence is not None
        ev = decide_found(t.question, t.hits,
                          similarity=t.evidence.max_similarity, thresholds=thresholds)
        if not ev.found and not t.answerable:
            refused_right += 1
        elif not ev.found:
            refused_wrong += 1
        elif not t.answerable:
            answered_wrong += 1
        elif t.correct_in_5:
            answered_with_answer += 1
    refused = refused_right + refused_wrong
    no_answer = sum(1 for t in tops if not t.answerable)
    precision = refused_right / refused if refused else math.nan
    recall = refused_right / no_answer if no_answer else math.nan
    return precision, recall, refused_wrong, answered_wrong, answered_with_answer


def threshold_sweep(tops: Sequence[TopHit]) -> None:
    from reflect.answer import EvidenceThresholds

    default = EvidenceThresholds()
    answerable = sum(1 for t in tops if t.answerable)
    no_answer = len(tops) - answerable
    print(f"\nAbstention sweep over {answerable} answerable + {no_answer} no_answer questions "
          "(both corpora). 'refused' = answerable questions told \"couldn't find that\"; "
          "'answered' = no_answer questions answered anyway; 'useful' = answerable, answered, "
          "answer among the 5 excerpts.\n")
    headers = ["thresholds", "abstain precision", "abstain recall", "refused", "answered",
               "useful"]

    def row(label: str, thresholds: Any) -> list[str]:
        p, r, refused, answered, useful = abstention(tops, thresholds)
        return [label, f"{p:.2f}", f"{r:.2f}", f"{refused}/{answerable}",
                f"{answered}/{no_answer}", f"{useful}/{answerable}"]

    rows = [row("defaults " + _thresholds_text(default), default)]
    sweeps: dict[str, Sequence[float]] = {
        "strong_similarity": (0.40, 0.45, 0.50, 0.55, 0.60, 0.65),
        "min_coverage": (0.5, 0.6, 0.67, 0.75, 0.8, 1.0),
        "min_similarity": (0.10, 0.15, 0.20, 0.25, 0.30, 0.35),
        "partial_similarity": (0.35, 0.40, 0.45, 0.50, 0.55),
        "no_terms_similarity": (0.30, 0.35, 0.40, 0.45, 0.50),
    }
    for name, values in sweeps.items():
        for value in values:
            if value == getattr(default, name):
                continue
            candidate = dataclasses.replace(default, **{name: value})
            rows.append(row(f"{name}={value}", candidate))
    print(markdown_table(headers, rows))

    # A coarse grid over the three thresholds that matter most, ranked by refusing the most
    # no_answer questions at the fewest wrong refusals (Youden's J, then fewer refusals).
    grid = []
    # min_similarity changes nothing in the range above, so the third axis is partial_similarity.
    for strong, coverage, partial in itertools.product(
        (0.45, 0.50, 0.55, 0.60, 0.65), (0.6, 0.67, 0.75, 0.8, 1.0),
        (0.35, 0.40, 0.45, 0.50, 0.55),
    ):
        candidate = dataclasses.replace(default, strong_similarity=strong, min_coverage=coverage,
                                        partial_similarity=partial)
        _, r, refused, _, useful = abstention(tops, candidate)
        j = r - refused / answerable
        grid.append((j, -refused, useful, candidate))
    grid.sort(key=lambda g: g[:3], reverse=True)
    print("\nBest of a grid over strong_similarity x min_coverage x partial_similarity "
          "(Youden's J = abstain recall - wrong-refusal rate):\n")
    best_rows = [row(_thresholds_text(c), c) for *_, c in grid[:10]]
    print(markdown_table(headers, best_rows))


def _thresholds_text(t: Any) -> str:
    return (f"strong_similarity={t.strong_similarity}, min_coverage={t.min_coverage}, "
            f"partial_similarity={t.partial_similarity}")


# ---- the sweep ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChunkSettings:
    min_words: int = DEFAULT_MIN_WORDS
    max_words: int = DEFAULT_MAX_WORDS
    trivial_words: int = DEFAULT_TRIVIAL_WORDS
    speaker_labels: bool = True  # as LiveIndex embeds

    def __str__(self) -> str:
        labels = " +labels" if self.speaker_labels else ""
        return f"{self.min_words}/{self.max_words}/{self.trivial_words}{labels}"


@dataclass(frozen=True, slots=True)
class FusionSettings:
    k_rrf: float = DEFAULT_K_RRF
    lexical_weight: float = 1.0
    vector_weight: float = 1.0
    candidates: int = DEFAULT_CANDIDATES

    def __str__(self) -> str:
        return (f"k_rrf={self.k_rrf:g} w_lex={self.lexical_weight:g} "
                f"w_vec={self.vector_weight:g} cand={self.candidates}")


def parse_chunking(spec: str) -> ChunkSettings:
    """"40/150/3+labels" or "40/150/3" (min_words/max_words/trivial_words; no labels)."""
    sizes, _, labels = spec.partition("+")
    min_words, max_words, trivial_words = (int(x) for x in sizes.split("/"))
    return ChunkSettings(min_words, max_words, trivial_words, speaker_labels=labels == "labels")


def parse_fusion(spec: str) -> FusionSettings:
    """"k_rrf=60,lexical_weight=1,vector_weight=1,candidates=40", any subset."""
    values: dict[str, Any] = {}
    for part in filter(None, spec.split(",")):
        name, _, value = part.partition("=")
        values[name.strip()] = int(value) if name.strip() == "candidates" else float(value)
    return FusionSettings(**values)


@dataclass(slots=True)
class BuiltIndex:
    index: SearchIndex
    chunk_count: int
    mean_words: float
    vectors: dict[ChunkKey, np.ndarray]
    spans: dict[ChunkKey, tuple[int, int]]


def build_index(
    sessions: Sequence[Session], embedder: Embedder, settings: ChunkSettings
) -> BuiltIndex:
    """A search index over `sessions` chunked and embedded with `settings` (no vault)."""
    index = SearchIndex()
    chunked = [
        (s, chunk_session(s, min_words=settings.min_words, max_words=settings.max_words,
                          trivial_words=settings.trivial_words))
        for s in sessions
    ]
    texts = [embedding_text(s, c, speaker_labels=settings.speaker_labels)
             for s, chunks in chunked for c in chunks]
    embedded = iter(embedder.embed(texts))
    words = 0
    vectors: dict[ChunkKey, np.ndarray] = {}
    spans: dict[ChunkKey, tuple[int, int]] = {}
    for session, chunks in chunked:
        session_vectors = np.stack([next(embedded) for _ in chunks])
        index.add_session(session, chunks, session_vectors)
        for chunk, vector in zip(chunks, session_vectors, strict=True):
            vectors[(session.id, chunk.index)] = vector
            spans[(session.id, chunk.index)] = (chunk.char_start, chunk.char_end)
        words += sum(len(session.text[c.char_start:c.char_end].split()) for c in chunks)
    count = sum(len(chunks) for _, chunks in chunked)
    return BuiltIndex(index, count, words / max(count, 1), vectors, spans)


def retriever_for(index: SearchIndex, embedder: Embedder, fusion: FusionSettings) -> Retriever:
    return Retriever(index, embedder, k_rrf=fusion.k_rrf, lexical_weight=fusion.lexical_weight,
                     vector_weight=fusion.vector_weight, candidates=fusion.candidates)


def sweep(corpora: Sequence[Corpus], embedder: Embedder) -> None:
    print("\n## Tuning sweep\n")
    print("Objective: MRR over the answerable questions of both corpora together "
          f"({sum(len(c.answerable) for c in corpora)} questions). +/- = questions whose first "
          "correct hit moved up/down against the current defaults (a sign test: fewer than "
          "~5 net is noise at this size).\n")
    chunk_grid = [
        ChunkSettings(),
        ChunkSettings(speaker_labels=False),
        ChunkSettings(1, 150, 0),  # one chunk per turn (long turns still split)
        ChunkSettings(1, 150, 0, speaker_labels=False),
        ChunkSettings(20, 80, 3),
        ChunkSettings(20, 80, 3, speaker_labels=False),
        ChunkSettings(30, 100, 3),
        ChunkSettings(30, 100, 3, speaker_labels=False),
        ChunkSettings(60, 150, 3),
        ChunkSettings(60, 150, 3, speaker_labels=False),
        # Past ~200 words a chunk no longer fits the model's 256 word pieces: its end is unread.
        ChunkSettings(80, 250, 3),
        ChunkSettings(40, 150, 0),
        ChunkSettings(40, 150, 0, speaker_labels=False),
        ChunkSettings(40, 150, 6),
    ]
    default_fusion = FusionSettings()
    per_chunking: dict[ChunkSettings, dict[str, dict[Mode, Ranks]]] = {}
    rows = []
    baseline: dict[str, Ranks] | None = None
    for settings in chunk_grid:
        started = time.perf_counter()
        ranks: dict[str, dict[Mode, Ranks]] = {}
        sizes = []
        for corpus in corpora:
            built = build_index(corpus.sessions, embedder, settings)
            retriever = retriever_for(built.index, embedder, default_fusion)
            ranks[corpus.name] = {m: evaluate(corpus, retriever, m) for m in MODES}
            sizes.append(f"{built.chunk_count} ({built.mean_words:.0f}w)")
            built.index.close()
        per_chunking[settings] = ranks
        hybrid = {c.name: ranks[c.name]["hybrid"] for c in corpora}
        if baseline is None:
            baseline = hybrid
        rows.append(_sweep_row(str(settings), " / ".join(sizes), corpora, ranks, baseline))
        # Partial results survive an interrupted sweep.
        print(f"  chunking {settings}: {time.perf_counter() - started:.0f} s: "
              + " | ".join(rows[-1]), file=sys.stderr)
    print("Chunking (min_words/max_words/trivial_words, +labels = speaker labels in the "
          "embedded text), fusion at its defaults:\n")
    print(markdown_table(SWEEP_HEADERS_CHUNKS, rows))

    def objective(ranks: dict[str, dict[Mode, Ranks]]) -> float:
        return scores(r for c in corpora for r in ranks[c.name]["hybrid"].values()).mrr

    best_chunking = max(per_chunking, key=lambda s: objective(per_chunking[s]))
    assert baseline is not None
    for settings in dict.fromkeys([ChunkSettings(), best_chunking]):
        fusion_sweep(corpora, embedder, settings, baseline)


SWEEP_HEADERS_CHUNKS = ["setting", "chunks demo / AnnoMI (mean words)", "demo hybrid MRR",
                        "AnnoMI hybrid MRR", "both R@1", "both R@5", "both MRR",
                        "BM25 MRR", "vector MRR", "+/-"]


def _sweep_row(label: str, sizes: str, corpora: Sequence[Corpus],
               ranks: dict[str, dict[Mode, Ranks]], baseline: dict[str, Ranks]) -> list[str]:
    def both(mode: Mode) -> Scores:
        return scores(r for c in corpora for r in ranks[c.name][mode].values())

    better = worse = 0
    for c in corpora:
        b, w = win_loss(ranks[c.name]["hybrid"], baseline[c.name])
        better, worse = better + b, worse + w
    per_corpus = [f"{scores(ranks[c.name]['hybrid'].values()).mrr:.3f}" for c in corpora]
    while len(per_corpus) < 2:
        per_corpus.append("-")
    hybrid = both("hybrid")
    return [label, sizes, *per_corpus, f"{hybrid.r1:.3f}", f"{hybrid.r5:.3f}",
            f"{hybrid.mrr:.3f}", f"{both('lexical').mrr:.3f}", f"{both('vector').mrr:.3f}",
            f"+{better}/-{worse}"]


def fusion_sweep(corpora: Sequence[Corpus], embedder: Embedder, settings: ChunkSettings,
                 baseline: dict[str, Ranks]) -> None:
    indexes = {c.name: build_index(c.sessions, embedder, settings).index for c in corpora}
    results = []
    grid = list(itertools.product(
        (5.0, 10.0, 20.0, 30.0, 60.0, 100.0),
        # Only the ratio of the two weights matters to the ranking: the vector weight stays 1.
        ((w, 1.0) for w in (0.25, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0)),
        (10, 20, 40, 80),
    ))
    started = time.perf_counter()
    for k_rrf, (lexical_weight, vector_weight), candidates in grid:
        fusion = FusionSettings(k_rrf, lexical_weight, vector_weight, candidates)
        ranks = {c.name: {"hybrid": evaluate(c, retriever_for(indexes[c.name], embedder, fusion),
                                             "hybrid")}
                 for c in corpora}
        mrr = scores(r for c in corpora for r in ranks[c.name]["hybrid"].values()).mrr
        results.append((mrr, fusion, ranks))
    print(f"  fusion grid on {settings}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    results.sort(key=lambda r: r[0], reverse=True)
    default = next(r for r in results if r[1] == FusionSettings())
    shown = results[:10] + ([default] if default not in results[:10] else [])
    rows = []
    for _mrr, fusion, ranks in shown:
        both = scores(r for c in corpora for r in ranks[c.name]["hybrid"].values())
        better = worse = 0
        for c in corpora:
            b, w = win_loss(ranks[c.name]["hybrid"], baseline[c.name])
            better, worse = better + b, worse + w
        per_corpus = [f"{scores(ranks[c.name]['hybrid'].values()).mrr:.3f}" for c in corpora]
        label = str(fusion) + (" (default)" if fusion == FusionSettings() else "")
        rows.append([label, *per_corpus, f"{both.r1:.3f}", f"{both.r5:.3f}",
                     f"{both.mrr:.3f}", f"+{better}/-{worse}"])
    print(f"\nFusion grid ({len(grid)} settings) with chunking {settings}; top 10 by MRR "
          "(+/- against the current defaults):\n")
    headers = ["fusion", *(f"{c.name} MRR" for c in corpora), "both R@1", "both R@5",
               "both MRR", "+/-"]
    print(markdown_table(headers, rows))
    # How flat the optimum is: the MRR range over each parameter's values, others at best.
    best = results[0][1]
    print("\nOne parameter at a time around the best setting (both-corpora MRR):")
    for name in ("k_rrf", "lexical_weight", "vector_weight", "candidates"):
        line = []
        for mrr, fusion, _ in results:
            others = {n: getattr(fusion, n) for n in ("k_rrf", "lexical_weight",
                                                         "vector_weight", "candidates")
                      if n != name}
            if all(getattr(best, n) == v for n, v in others.items()):
                line.append((getattr(fusion, name), mrr))
        text = ", ".join(f"{v:g}: {m:.3f}" for v, m in sorted(line))
        print(f"  {name}: {text}")
    score_fusion_sweep(corpora, embedder, indexes, baseline)
    for index in indexes.values():
        index.close()


class ScoreFusionRetriever(Retriever):
    """An experiment, not part of reflect: fuse by scores instead of ranks.

    Each list's scores are min-max normalised within the candidates (BM25 and cosine live on
    unrelated scales), and a chunk scores `alpha * meaning + (1 - alpha) * words`, 0 for a
    list it is not in. Unlike RRF, a chunk far ahead in one list keeps its lead, which is what
    the misses above need. Overrides a private method on purpose: it is only measured here.
    """

    def __init__(self, *args: Any, alpha: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.alpha = alpha

    def _fuse(self, lexical: Sequence[Any], vector: Sequence[Any]) -> list[tuple[Any, float]]:
        def normalised(matches: Sequence[Any]) -> dict[ChunkKey, float]:
            if not matches:
                return {}
            top = max(m.score for m in matches)
            low = min(m.score for m in matches)
            span = top - low or 1.0
            return {m.key: (m.score - low) / span for m in matches}

        words, meaning = normalised(lexical), normalised(vector)
        matches = {m.key: m for m in [*lexical, *vector]}
        fused = {key: self.alpha * meaning.get(key, 0.0) + (1 - self.alpha) * words.get(key, 0.0)
                 for key in matches}
        order = sorted(fused, key=lambda key: -fused[key])
        return [(matches[key], fused[key]) for key in order]


def score_fusion_sweep(corpora: Sequence[Corpus], embedder: Embedder,
                       indexes: dict[str, SearchIndex], baseline: dict[str, Ranks]) -> None:
    rows = []
    for alpha, candidates in itertools.product((0.3, 0.4, 0.5, 0.6, 0.7, 0.8), (10, 20, 40)):
        ranks = {}
        for c in corpora:
            retriever = ScoreFusionRetriever(indexes[c.name], embedder, alpha=alpha,
                                             candidates=candidates)
            ranks[c.name] = evaluate(c, retriever, "hybrid")
        both = scores(r for c in corpora for r in ranks[c.name].values())
        better = worse = 0
        for c in corpora:
            b, w = win_loss(ranks[c.name], baseline[c.name])
            better, worse = better + b, worse + w
        per_corpus = [f"{scores(ranks[c.name].values()).mrr:.3f}" for c in corpora]
        rows.append((both.mrr, [f"alpha={alpha:g} cand={candidates}", *per_corpus,
                                f"{both.r1:.3f}", f"{both.r5:.3f}", f"{both.mrr:.3f}",
                                f"+{better}/-{worse}"]))
    rows.sort(key=lambda r: r[0], reverse=True)
    print("\nExperiment: min-max normalised score fusion instead of RRF (alpha = weight of "
          "meaning), top 8:\n")
    headers = ["score fusion", *(f"{c.name} MRR" for c in corpora), "both R@1", "both R@5",
               "both MRR", "+/-"]
    print(markdown_table(headers, [r for _, r in rows[:8]]))


# ---- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", action="store_true", help="also run the tuning sweep")
    parser.add_argument("--corpus", choices=("demo", "annomi", "both"), default="both")
    parser.add_argument("--no-calibration", action="store_true",
                        help="skip the per-question top-hit table")
    parser.add_argument("--chunking", metavar="MIN/MAX/TRIVIAL[+labels]",
                        help="measure these chunk settings instead of the vault's defaults "
                             "(e.g. 40/150/3+labels); builds the index without the vault")
    parser.add_argument("--fusion", metavar="NAME=VALUE,...",
                        help="retriever settings to measure, e.g. k_rrf=20,candidates=40")
    args = parser.parse_args(argv)
    chunking = parse_chunking(args.chunking) if args.chunking else None
    fusion = parse_fusion(args.fusion) if args.fusion else FusionSettings()

    started = time.perf_counter()
    embedder = CachingEmbedder(default_embedder())
    with tempfile.TemporaryDirectory(prefix="reflect-bench-") as tmp:
        root = Path(tmp)
        corpora: list[Corpus] = []
        if args.corpus in ("demo", "both"):
            corpora.append(build_demo(root, embedder))
        if args.corpus in ("annomi", "both"):
            corpora.append(build_annomi(root, embedder))
        print(f"vaults built and unlocked in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)

        print("# Retrieval quality (k=5; hit = excerpt contains the answer / overlaps an "
              "answering utterance)\n")
        if chunking or args.fusion:
            print(f"Settings measured: chunking {chunking or ChunkSettings()}, {fusion} "
                  "(index built without the vault)\n")
        tops: list[TopHit] = []
        retrievers: dict[str, Retriever] = {}
        for i, corpus in enumerate(corpora):
            if chunking is None:
                # The index `open_index` loaded from the vault: what the app searches.
                index = live_index_of(corpus.service).index
            else:
                built = build_index(corpus.sessions, embedder, chunking)
                index = built.index
                corpus = corpora[i] = dataclasses.replace(
                    corpus, vectors=built.vectors, chunk_spans=built.spans)
            retriever = retrievers[corpus.name] = retriever_for(index, embedder, fusion)
            ranks = {m: evaluate(corpus, retriever, m) for m in MODES}
            chunks = index.chunk_count
            print(f"## {corpus.name}: {len(corpus.sessions)} sessions, {chunks} chunks, "
                  f"{len(corpus.answerable)} answerable questions "
                  f"(+{len(corpus.questions) - len(corpus.answerable)} no_answer)\n")
            print(markdown_table(QUALITY_HEADERS, quality_rows(corpus, ranks)))
            if chunking is None and fusion == FusionSettings():
                _check_service_path(corpus, retriever)
            _report_misses(corpus, retriever, ranks)
            _report_turn_cuts(corpus, retriever)
            unfiltered = _without_speaker_filters(corpus, retriever)
            print(f"\nHybrid with the speaker filters dropped (as a question typed without "
                  f"choosing a speaker): R@1 {unfiltered.r1:.2f}, R@5 {unfiltered.r5:.2f}, "
                  f"MRR {unfiltered.mrr:.2f}\n")
            tops += top_hits(corpus, retriever)

        if len(corpora) > 1:
            both = {m: [r for c in corpora for r in evaluate(c, retrievers[c.name], m).values()]
                    for m in MODES}
            print("## Both corpora together\n")
            print(markdown_table(["mode", "n", "R@1", "R@5", "MRR"], [
                [MODE_LABELS[m], str(len(both[m])), *(f"{x:.3f}" for x in dataclasses.astuple(
                    scores(both[m]))[1:])] for m in MODES
            ]))

        print("\n# Not-found calibration: the top hybrid hit of every question\n")
        print("fused = RRF score; BM25 = that chunk's BM25 for the query (0 = no query word); "
              "cosine = query vs that chunk; q.similarity / coverage / decision = "
              "reflect.answer.question_similarity and decide_found over the answerer's "
              f"{ANSWER_K} hits.\n")
        if not args.no_calibration:
            print(markdown_table(CALIBRATION_HEADERS, calibration_rows(tops)))
        print("\nDistributions (min / q1 / median / q3 / max):\n")
        print(markdown_table(["measure", "answerable", "no_answer"], distribution_rows(tops)))
        if tops and tops[0].evidence is not None:
            threshold_sweep(tops)
        else:
            print("\nreflect/answer.py not available: no evidence numbers or threshold sweep.")

        if args.sweep:
            sweep(corpora, embedder)
        for corpus in corpora:
            corpus.service.lock()
    print(f"\ndone in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


def _check_service_path(corpus: Corpus, retriever: Retriever) -> None:
    """`Reflect.quotes` must give what the evaluation measured (same index, same defaults)."""
    differ = []
    for q in corpus.answerable:
        filters = SearchFilters(since=q.get("date_from"), until=q.get("date_to"),
                                speaker=q.get("speaker"))
        through_service = corpus.service.quotes(q["question"], k=K, filters=filters).hits
        direct = retriever.search(q["question"], k=K, filters=corpus.filters[q["id"]])
        if [(h.session_id, h.chunk_index) for h in through_service] != [
            (h.session_id, h.chunk_index) for h in direct
        ]:
            differ.append(q["id"])
    if differ:
        print(f"\nWARNING: Reflect.quotes differs from the evaluated retriever on {differ}")


def _report_turn_cuts(corpus: Corpus, retriever: Retriever) -> None:
    """Speaker-filtered questions whose top-5 chunks held the answer but whose excerpts,
    cut down to one turn of the chosen speaker, lost it."""
    lost = []
    for q in corpus.answerable:
        filters = corpus.filters[q["id"]]
        if filters.speakers is None:
            continue
        hits = retriever.search(q["question"], k=K, filters=filters)
        if first_hit_rank(corpus, q, hits) is not None:
            continue
        for hit in hits:
            session = retriever.index.session(hit.session_id)
            a, b = corpus.chunk_spans[(hit.session_id, hit.chunk_index)]
            whole = dataclasses.replace(hit, text=session.text[a:b], char_start=a, char_end=b)
            if corpus.is_hit(q, whole):
                lost.append(q["id"])
                break
    filtered = sum(1 for q in corpus.answerable if corpus.filters[q["id"]].speakers is not None)
    print(f"\nSpeaker-filtered questions ({filtered}) whose answer was in a top-{K} chunk but "
          f"not in the one-turn excerpt cut from it: {len(lost)} {lost if lost else ''}")


def _without_speaker_filters(corpus: Corpus, retriever: Retriever) -> Scores:
    ranks = []
    for q in corpus.answerable:
        filters = dataclasses.replace(corpus.filters[q["id"]], speakers=None)
        hits = retriever.search(q["question"], k=K, filters=filters)
        ranks.append(first_hit_rank(corpus, q, hits))
    return scores(ranks)


def _report_misses(corpus: Corpus, retriever: Retriever, ranks: dict[Mode, Ranks]) -> None:
    missed = [q for q in corpus.answerable if ranks["hybrid"][q["id"]] is None]
    lost = [q for q in corpus.answerable
            if ranks["hybrid"][q["id"]] is None
            and (ranks["lexical"][q["id"]] is not None or ranks["vector"][q["id"]] is not None)]
    if missed:
        print(f"\nHybrid misses (not in top {K}): "
              + ", ".join(
                  f"{q['id']} (BM25 {_rank_text(ranks['lexical'][q['id']])}, "
                  f"vector {_rank_text(ranks['vector'][q['id']])})" for q in missed))
    if lost:
        print(f"Found by one half but lost by fusion: {', '.join(q['id'] for q in lost)}")
    # Why fusion loses them: RRF adds 1/(k_rrf + rank) per list, so a chunk both lists hold
    # at middling ranks outscores the first of one list; the more the pools overlap, the more
    # such chunks there are.
    pool = max(2 * K, retriever.candidates)
    overlaps = []
    for q in corpus.answerable:
        words = quoted_phrase(q["question"]) or q["question"]
        filters = corpus.filters[q["id"]]
        lexical = {m.key for m in retriever.index.lexical_search(words, pool, filters)}
        assert retriever.embedder is not None
        vector = retriever.index.vector_search(retriever.embedder.embed([words])[0], pool,
                                               filters)
        overlaps.append(len(lexical & {m.key for m in vector}))
    print(f"Candidate pools: {pool} per list; chunks in both lists: median "
          f"{statistics.median(overlaps):g}, max {max(overlaps)} (of {corpus.name}'s "
          f"{retriever.index.chunk_count}). With k_rrf={retriever.k_rrf:g}, a chunk at ranks "
          f"10 and 10 scores {2 / (retriever.k_rrf + 10):.4f}, the first of one list alone "
          f"{1 / (retriever.k_rrf + 1):.4f}.")


def _rank_text(rank: int | None) -> str:
    return "-" if rank is None else f"#{rank}"


if __name__ == "__main__":
    raise SystemExit(main())
