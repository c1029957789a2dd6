"""What a session covered: 3 to 6 key moments, verbatim, spread over its main topics.

`recap_of` is a pure computation over a session's stored chunks and their embeddings (the
ones the index already holds), so it needs no model and can be stored with the session later:

1. the chunk embeddings are grouped into k topics (spherical k-means, started from the most
   typical chunk and then each time the chunk least like those chosen, so it is
   deterministic), k = half the chunks, between 3 and 6 (a third measured lower);
2. each topic is represented by its most central chunk;
3. within that chunk, the turn that says most of what is particular to the topic (its
   words weighted by how rare they are in the rest of the session), never filler ("Mm-hmm",
   "Yeah."), is the moment;
4. when every moment is one speaker's, the least central topic gives its moment to the
   other speaker's best turn, so both voices are in the recap.

Measured against bench/eval/recaps_history.jsonl in bench/bench_across_sessions.py.

A recap is computed when a session is imported and sealed in the vault (`recap/<id>`, see
reflect.records.SealedRecap) as offsets, never as text: the moments shown are cut from the
stored transcript each time. It is computed again when `RECAP_METHOD` changes or the session
does (renamed, redated, relabelled, replaced), which its `made_from` fingerprint tells.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from reflect.chunking import Chunk, chunk_session, embedding_text
from reflect.embedding import Vectors
from reflect.errors import ReflectError
from reflect.index_record import decode_index_record, fits
from reflect.moments import moment_hit
from reflect.records import SealedRecap, recap_fingerprint
from reflect.retrieval import Hit
from reflect.session import Session, StoredTurn
from reflect.store import SessionStore
from reflect.words import content_stems

# Bump when the way moments are chosen changes: every sealed recap is then computed again.
RECAP_METHOD = "recap-1"

MIN_MOMENTS = 3
MAX_MOMENTS = 6
CHUNKS_PER_MOMENT = 2
# A turn with fewer content words than this is filler or a nudge, never a moment.
MIN_CONTENT_WORDS = 4
KMEANS_ROUNDS = 20
# Above this a moment is the part of its turn inside the chunk, not the whole monologue.
MAX_MOMENT_CHARS = 700


@dataclass(slots=True)
class Recap:
    session_id: str
    session_date: dt.date
    session_title: str
    moments: list[Hit] = field(default_factory=list)


def moment_count(chunks: int) -> int:
    return max(0, min(chunks, max(MIN_MOMENTS, min(MAX_MOMENTS, chunks // CHUNKS_PER_MOMENT))))


def topics(vectors: Vectors, k: int) -> list[list[int]]:
    """Chunk indices (rows of `vectors`) grouped into `k` topics, each list most central
    first; the topics ordered by size, largest first."""
    n = len(vectors)
    if n == 0 or k <= 0:
        return []
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    mean = unit.mean(axis=0)
    seeds = [int(np.argmax(unit @ mean))]
    while len(seeds) < min(k, n):
        closeness = (unit @ unit[seeds].T).max(axis=1)
        closeness[seeds] = np.inf
        seeds.append(int(np.argmin(closeness)))
    centres = unit[seeds]
    labels = np.zeros(n, dtype=int)
    for _ in range(KMEANS_ROUNDS):
        labels = np.argmax(unit @ centres.T, axis=1)
        moved = centres.copy()
        for c in range(len(centres)):
            members = unit[labels == c]
            if len(members):
                centre = members.mean(axis=0)
                moved[c] = centre / max(float(np.linalg.norm(centre)), 1e-12)
        if np.allclose(moved, centres):
            break
        centres = moved
    groups = []
    for c in range(len(centres)):
        members = [int(i) for i in np.flatnonzero(labels == c)]
        if members:
            members.sort(key=lambda i: -float(unit[i] @ centres[c]))
            groups.append(members)
    groups.sort(key=lambda g: (-len(g), g[0]))
    return groups


def _turns_in(session: Session, chunk: Chunk) -> list[StoredTurn]:
    return [
        t
        for t in session.turns[chunk.first_turn : chunk.last_turn + 1]
        if min(t.char_end, chunk.char_end) > max(t.char_start, chunk.char_start)
    ]


def _stems(session: Session, turn: StoredTurn, chunk: Chunk) -> set[str]:
    a, b = max(turn.char_start, chunk.char_start), min(turn.char_end, chunk.char_end)
    return content_stems(session.text[a:b])


def recap_of(session: Session, chunks: Sequence[Chunk], vectors: Vectors) -> list[Hit]:
    """The session's key moments, in the order they were said (see the module's doc)."""
    return moments_at(session, recap_spans(session, chunks, vectors))


def moments_at(session: Session, spans: Sequence[tuple[int, int]]) -> list[Hit]:
    """The moments at these offsets, as hits cut from the session's stored text."""
    return [moment_hit(session, a, b, rank=rank) for rank, (a, b) in enumerate(spans, start=1)]


def recap_spans(
    session: Session, chunks: Sequence[Chunk], vectors: Vectors
) -> list[tuple[int, int]]:
    """Where the key moments are: (start, end) offsets into `session.text`, in order."""
    if not chunks:
        return []
    vectors = np.asarray(vectors, dtype=np.float32)
    groups = topics(vectors, moment_count(len(chunks)))
    chunk_stems = [content_stems(session.text[c.char_start : c.char_end]) for c in chunks]
    frequency = Counter(s for stems in chunk_stems for s in stems)

    def weight(stem: str) -> float:
        return math.log(1.0 + len(chunks) / frequency[stem])

    picks: list[tuple[StoredTurn, Chunk, list[int]]] = []
    for group in groups:
        in_topic = Counter(s for i in group for s in chunk_stems[i])
        best: tuple[float, StoredTurn, Chunk] | None = None
        # The central chunk first; the next ones only when it holds nothing but filler.
        for i in group:
            for turn in _turns_in(session, chunks[i]):
                stems = _stems(session, turn, chunks[i])
                if len(stems) < MIN_CONTENT_WORDS:
                    continue
                score = sum(weight(s) * in_topic[s] for s in stems) / math.sqrt(len(stems))
                if best is None or score > best[0]:
                    best = (score, turn, chunks[i])
            if best is not None:
                break
        if best is not None and all(best[1].index != p[0].index for p in picks):
            picks.append((best[1], best[2], group))
    picks = _both_speakers(session, chunks, picks)
    picks.sort(key=lambda p: p[0].index)
    spans = []
    for turn, chunk, _ in picks:
        a, b = turn.char_start, turn.char_end
        if b - a > MAX_MOMENT_CHARS:
            a, b = max(a, chunk.char_start), min(b, chunk.char_end)
        spans.append((a, b))
    return spans


def _both_speakers(
    session: Session, chunks: Sequence[Chunk], picks: list[tuple[StoredTurn, Chunk, list[int]]]
) -> list[tuple[StoredTurn, Chunk, list[int]]]:
    """When one speaker has every moment, the smallest topic's goes to the other speaker's
    longest turn in that topic (else in any topic), if they said anything of substance."""
    speakers = {t.speaker for t, _, _ in picks}
    if len(picks) < 2 or len(speakers) != 1 or None in speakers:
        return picks
    (only,) = speakers
    for position in range(len(picks) - 1, -1, -1):
        group = picks[position][2]
        others = [
            (len(_stems(session, t, chunks[i])), t, chunks[i])
            for i in group
            for t in _turns_in(session, chunks[i])
            if t.speaker != only and len(_stems(session, t, chunks[i])) >= MIN_CONTENT_WORDS
        ]
        if others:
            _, turn, chunk = max(others, key=lambda o: (o[0], -o[1].index))
            if all(turn.index != p[0].index for p in picks):
                return [*picks[:position], (turn, chunk, group), *picks[position + 1 :]]
    return picks


# ---- sealed in the vault ---------------------------------------------------------------------


def sealed_spans(store: SessionStore, session: Session) -> list[tuple[int, int]] | None:
    """The session's sealed recap, or None when there is none or it is stale (another method,
    or the session changed since) and must be computed again."""
    sealed = store.recap(session.id)
    if (
        sealed is None
        or sealed.method != RECAP_METHOD
        or sealed.made_from != recap_fingerprint(session)
        or any(not 0 <= a < b <= len(session.text) for a, b in sealed.spans)
    ):
        return None
    return list(sealed.spans)


def seal_recap(
    store: SessionStore, session: Session, chunks: Sequence[Chunk], vectors: Vectors
) -> list[tuple[int, int]]:
    """Compute the session's recap and seal it (unless the session changed meanwhile: then
    the next reader computes it from what is stored)."""
    spans = recap_spans(session, chunks, vectors)
    store.put_recap(session.id, SealedRecap(RECAP_METHOD, recap_fingerprint(session), tuple(spans)))
    return spans


def recap_inputs(
    session: Session, record: bytes | None, embed: Callable[[list[str]], Vectors]
) -> tuple[list[Chunk], Vectors]:
    """The session's chunks and embeddings: from its sealed index record (milliseconds), or,
    when that is missing, damaged or from other chunks, made again with `embed` (seconds)."""
    if record is not None:
        try:
            _, chunks, vectors = decode_index_record(record)
        except ReflectError:
            pass  # damaged: made again below, as opening the index would
        else:
            if fits(session, chunks):
                return chunks, vectors
    chunks = chunk_session(session)
    return chunks, embed([embedding_text(session, c, speaker_labels=True) for c in chunks])
