"""How a theme moved across sessions: every session where it came up, oldest first.

A session counts when one of its chunks mentions the theme, by words or by meaning:

- by words: the chunk holds enough of the theme's content words, weighted by how rare each
  word is in the vault (`word_share`: "heart worry" needs "heart", since "worry" is
  everywhere in a vault that has a worry slot);
- by meaning: the chunk's embedding is close to the theme's, both in absolute terms
  (`similarity`) and relative to the closest chunk of any session (`relative`), because
  all-MiniLM-L6-v2's cosines for a short topic and a 100-word chunk sit on a different level
  for every topic ("sleep" peaks at 0.44, "work" at 0.26 on the same history).

The thresholds were chosen on half the themes of the invented history
(bench/eval/themes_history.jsonl) and checked on the other half and on the demo
(bench/bench_across_sessions.py, bench/README.md "Across sessions"). Sessions are counted,
not chunks; `mentions` is how many of a session's chunks passed.

Nothing here is generated: each session's hits are excerpts of the stored text, as search
returns them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from reflect.embedding import Embedder
from reflect.index import NO_FILTERS, ChunkMatch, Filters, SearchIndex
from reflect.retrieval import Hit, Retriever
from reflect.words import content_stems, stem, words

# Chunks scored by meaning: the nearest this many (a session further away than the 2,000th
# chunk is nowhere near the relative threshold).
MEANING_CANDIDATES = 2000
# Chunks holding any of the theme's words, at most.
WORD_CANDIDATES = 5000
HITS_PER_SESSION = 2


@dataclass(frozen=True, slots=True)
class TimelineThresholds:
    """When a chunk mentions a theme. Measured on the history's dev themes (F1 of sessions):
    word_share 0.3-0.6 and relative 0.5-0.7 are level; similarity 0.3 is the clear best
    (0.25 lets "work" into every session, 0.35 loses quiet mentions)."""

    word_share: float = 0.5
    relative: float = 0.6
    similarity: float = 0.3


DEFAULT_THRESHOLDS = TimelineThresholds()


@dataclass(frozen=True, slots=True)
class ChunkEvidence:
    """How strongly one chunk speaks of the theme. `similarity` is None when the chunk was not
    scored by meaning (the embedder is not loaded yet, or it was too far to be fetched)."""

    match: ChunkMatch
    similarity: float | None
    word_share: float

    @property
    def key(self) -> tuple[str, int]:
        return self.match.key

    @property
    def strength(self) -> float:
        # For ordering a session's moments: words and meaning both count.
        return (self.similarity or 0.0) + self.word_share


@dataclass(slots=True)
class TimelineSession:
    session_id: str
    session_date: dt.date
    session_title: str
    mentions: int
    hits: list[Hit] = field(default_factory=list)

    @property
    def source(self) -> str:
        """"session", or "note" for the user's own note (a timeline may include notes)."""
        return self.hits[0].source if self.hits else "session"


@dataclass(slots=True)
class Timeline:
    """Every session where `topic` came up, oldest first."""

    topic: str
    sessions: list[TimelineSession]
    # False when the meaning index was not ready: then only the theme's words were matched.
    by_meaning: bool = True

    @property
    def count(self) -> int:
        return len(self.sessions)

    @property
    def first(self) -> TimelineSession | None:
        return self.sessions[0] if self.sessions else None

    @property
    def last(self) -> TimelineSession | None:
        return self.sessions[-1] if self.sessions else None


def word_shares(
    topic_stems: set[str], chunk_texts: dict[tuple[str, int], str], document_freq: dict[str, int],
    chunk_count: int,
) -> dict[tuple[str, int], float]:
    """For each chunk, the IDF-weighted share of the theme's content stems it holds (0..1)."""
    if not topic_stems:
        return {key: 0.0 for key in chunk_texts}
    idf = {t: math.log(1.0 + chunk_count / (1.0 + document_freq.get(t, 0))) for t in topic_stems}
    total = sum(idf.values())
    shares = {}
    for key, text in chunk_texts.items():
        held = {stem(w) for w in words(text)} & topic_stems
        shares[key] = sum(idf[t] for t in held) / total
    return shares


def mentioning_chunks(
    evidence: Sequence[ChunkEvidence], thresholds: TimelineThresholds = DEFAULT_THRESHOLDS
) -> list[ChunkEvidence]:
    """The chunks that mention the theme, by words or by meaning (see the module's doc)."""
    best = max((e.similarity for e in evidence if e.similarity is not None), default=0.0)
    chosen = []
    for e in evidence:
        by_words = e.word_share >= thresholds.word_share
        by_meaning = (
            e.similarity is not None
            and best > 0
            and e.similarity >= thresholds.similarity
            and e.similarity / best >= thresholds.relative
        )
        if by_words or by_meaning:
            chosen.append(e)
    return chosen


def gather_evidence(
    topic: str,
    index: SearchIndex,
    embedder: Embedder | None,
    filters: Filters = NO_FILTERS,
) -> list[ChunkEvidence]:
    """Every chunk that either search method finds for `topic`, scored both ways."""
    topic_stems = content_stems(topic)
    found: dict[tuple[str, int], ChunkMatch] = {}
    similarity: dict[tuple[str, int], float] = {}
    if embedder is not None and index.vector_count:
        vector = embedder.embed([topic])[0]
        for m in index.vector_search(vector, min(index.vector_count, MEANING_CANDIDATES), filters):
            found[m.key] = m
            similarity[m.key] = m.score
    if topic_stems:
        query = " ".join(sorted(topic_stems | set(words(topic))))
        for m in index.lexical_search(query, WORD_CANDIDATES, filters):
            found.setdefault(m.key, m)
    texts = {
        key: m.session.text[m.chunk.char_start : m.chunk.char_end] for key, m in found.items()
    }
    document_freq = index.chunk_frequencies(sorted(topic_stems))
    shares = word_shares(topic_stems, texts, document_freq, max(index.chunk_count, 1))
    return [ChunkEvidence(m, similarity.get(key), shares[key]) for key, m in found.items()]


def build_timeline(
    topic: str,
    index: SearchIndex,
    retriever: Retriever,
    *,
    filters: Filters = NO_FILTERS,
    thresholds: TimelineThresholds = DEFAULT_THRESHOLDS,
    hits_per_session: int = HITS_PER_SESSION,
) -> Timeline:
    """The sessions where `topic` came up, oldest first, each with its best moments.

    `retriever.embedder` None (the meaning index still loading) matches words only, and the
    timeline says so (`by_meaning=False`).
    """
    topic = topic.strip()
    if not topic or filters.allows_nothing():
        return Timeline(topic, [], retriever.embedder is not None)
    embedder = retriever.embedder if index.vector_count else None
    chosen = mentioning_chunks(gather_evidence(topic, index, embedder, filters), thresholds)
    by_session: dict[str, list[ChunkEvidence]] = {}
    for e in chosen:
        by_session.setdefault(e.match.session.id, []).append(e)
    sessions = []
    for session_id, found in by_session.items():
        session = found[0].match.session
        found.sort(key=lambda e: (-e.strength, e.match.chunk.index))
        best = sorted(found[:hits_per_session], key=lambda e: e.match.chunk.index)
        hits = [
            retriever.hit(rank, e.match, e.strength, topic, filters)
            for rank, e in enumerate(best, start=1)
        ]
        sessions.append(
            TimelineSession(session_id, session.date, session.title, len(found), hits)
        )
    sessions.sort(key=lambda s: (s.session_date, s.session_title, s.session_id))
    return Timeline(topic, sessions, embedder is not None)


def bar(count: int, most: int, width: int) -> str:
    """A horizontal bar of `count` out of `most` in `width` cells, in eighths of a cell.

    A bar per session rather than a sparkline: a timeline is a handful of dated sessions, each
    needing its date and count beside it, which a one-line sparkline can't label at 80
    columns; and block characters show in any terminal and in a plain copy of the output.
    """
    if count <= 0 or most <= 0 or width <= 0:
        return ""
    eighths = max(1, round(8 * width * min(count, most) / most))
    full, rest = divmod(eighths, 8)
    return "█" * full + ("" if rest == 0 else " ▏▎▍▌▋▊▉"[rest])
