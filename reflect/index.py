"""The in-memory search index over every unlocked session: words (SQLite FTS5) and meaning
(a chromadb collection of the sessions' chunk embeddings).

Nothing here touches the disk. SQLite runs in `:memory:` with its temp store in memory too
(large sorts would otherwise spill to temp files); chromadb runs as an EphemeralClient with
telemetry off and never embeds anything itself: it only stores vectors we give it. `close()`
drops it all; the app calls it when the vault locks.

Sessions are added in two steps, `add_lexical` then `add_vectors`, so word search works as
soon as the vault opens while embeddings load in the background.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import sqlite3
import threading
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from reflect.chunking import Chunk
from reflect.embedding import Vectors
from reflect.errors import VaultLocked
from reflect.session import Session
from reflect.wordforms import other_forms

# Stemming makes "worried" find "worry" and "worrying", which matters more for a person
# searching their own memories than the odd false match ("university" ~ "universe"): exact
# phrases are verified against the raw text anyway. Porter only rewrites ASCII English
# endings, so other languages mostly pass through; diacritics are folded before it, so "años"
# and "anos", "Mädchen" and "madchen" find each other.
STEMMED_TOKENIZER = "porter unicode61 remove_diacritics 2"
PLAIN_TOKENIZER = "unicode61 remove_diacritics 2"

# Caps on what a query can make the index do. A pasted 10,000-character query must stay fast:
# its first terms decide, and the rest would only add cost.
MAX_QUERY_TERMS = 32
MAX_PHRASE_TERMS = 64
# Chunks checked word by word for a quoted phrase, per query form: bounded so a phrase of
# common words ("I don't know") costs milliseconds, far more than any phrase occurs.
PHRASE_CANDIDATES = 400

# A filtered vector search first asks for this many times k unfiltered neighbours and filters
# them itself (see vector_search).
OVERFETCH_FACTOR = 4

# Left out of word queries when anything else is left, so "what did I say about my sister"
# ranks on "sister" and does not score every chunk containing "I". English function words,
# plus the fillers of speech ("like", "just", "yeah"), which fill transcripts and say nothing
# about what a passage is about. Other languages' function words are merely down-weighted by
# BM25's IDF.
_STOPWORD_TEXT = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves said say says tell told talk talked
    like really actually basically yeah yes okay ok um uh hmm mm oh well know mean guess think
    kind sort thing things stuff gonna wanna lot bit maybe get got"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_TERM = re.compile(r"\w+")
_HIGHLIGHT_OPEN, _HIGHLIGHT_CLOSE = "\x02", "\x03"


@dataclass(frozen=True, slots=True)
class Filters:
    """What a search is restricted to. `speakers` are speaker labels as stored."""

    session_ids: frozenset[str] | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    speakers: frozenset[str] | None = None
    # Which kinds of record (reflect.session.KINDS): a timeline counts sessions and notes,
    # never handouts; None: every kind.
    kinds: frozenset[str] | None = None

    def allows_nothing(self) -> bool:
        return (
            self.session_ids == frozenset()
            or self.speakers == frozenset()
            or self.kinds == frozenset()
            or (self.since is not None and self.until is not None and self.since > self.until)
        )


NO_FILTERS = Filters()

Offsets = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ChunkMatch:
    """A chunk found by one search method.

    `score`: higher is better, comparable only within one method (-BM25 for words, cosine
    similarity for vectors). `match_spans`: for phrase search, where the phrase occurs, as
    offsets into `session.text`.
    """

    session: Session
    chunk: Chunk
    score: float
    match_spans: tuple[tuple[int, int], ...] = ()

    @property
    def key(self) -> tuple[str, int]:
        return (self.chunk.session_id, self.chunk.index)


@dataclass(slots=True)
class _IndexedSession:
    session: Session
    rows: dict[int, int] = field(default_factory=dict)  # chunk index -> row id
    has_vectors: bool = False


# chromadb's default search breadth (100) returned only 93% of the true 40 nearest chunks at
# 2,000 chunks and 56% at 50,000 (clustered 384-d vectors), and which ones it missed varied
# from build to build, so the same question could rank differently after an unlock. 1000
# measured 100% at 2,000 and 96% at 50,000 for 4.5 ms a query (bench/README.md).
HNSW_EF_SEARCH = 1000

# Vectors added to chromadb per call while its index builds in the background: small enough
# that a search, a removal or a lock waits for at most one batch (chromadb holds the
# interpreter while it inserts).
STORE_BATCH = 500


class SearchIndex:
    def __init__(self, *, stemming: bool = True) -> None:
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = _open_database(
            STEMMED_TOKENIZER if stemming else PLAIN_TOKENIZER
        )
        # Meaning search starts exact, on a numpy matrix of the vectors (rows in `_exact_rows`,
        # ascending), and moves to chromadb's HNSW index once `build_vector_store` has put
        # every vector there. Rebuilding that index at each unlock took 45 s at 50,000 chunks
        # (1 s at 2,000) while the matrix product takes ~5 ms at 50,000 x 384, and exact search
        # finds at least what HNSW finds (bench/README.md, "Fast from cold"). Nothing is
        # written anywhere: the matrix, like chromadb's EphemeralClient, lives in memory.
        self._client: Any = None
        self._collection_name = f"reflect-{uuid.uuid4().hex}"
        self._collection: Any = None
        self._store_serving = False  # chromadb holds every vector and answers searches
        self._exact_rows = np.zeros(0, dtype=np.int64)
        self._exact_matrix: Vectors | None = None
        self._exact_new: list[tuple[list[int], Vectors]] = []  # appended on the next search
        self._exact_gone: set[int] = set()  # removed rows, masked out on the next search
        self._unstored: dict[int, None] = {}  # rows not yet in chromadb, in order
        self._stored: set[int] = set()  # rows in chromadb
        self._sessions: dict[str, _IndexedSession] = {}
        self._chunks: dict[int, tuple[_IndexedSession, Chunk]] = {}
        # Per session: its sentences' starts and ends (ascending) and vectors (float16),
        # read by the learned stage for each candidate (`best_sentence_cosines`).
        self._sentences: dict[str, tuple[Offsets, Offsets, npt.NDArray[np.float16]]] = {}
        self._speaker_keys: dict[str, str] = {}
        self._next_row = 1
        self._vector_count = 0
        self._dimension: int | None = None

    # ---- adding and removing -------------------------------------------------------------

    def add_session(self, session: Session, chunks: Sequence[Chunk], embeddings: Vectors) -> None:
        self.add_lexical(session, chunks)
        self.add_vectors(session.id, chunks, embeddings)

    def add_lexical(self, session: Session, chunks: Sequence[Chunk]) -> None:
        """Make `session` findable by words. Replaces any earlier version of the session."""
        _check_chunks(session, chunks)
        with self._lock:
            db = self._database()
            self.remove_session(session.id)
            indexed = _IndexedSession(session)
            text_rows: list[tuple[int, str]] = []
            meta_rows: list[tuple[int, str, int, str]] = []
            speaker_rows: list[tuple[int, str]] = []
            date = _date_number(session.date)
            for chunk in chunks:
                row = self._next_row
                self._next_row += 1
                indexed.rows[chunk.index] = row
                self._chunks[row] = (indexed, chunk)
                text_rows.append((row, session.text[chunk.char_start : chunk.char_end]))
                meta_rows.append((row, session.id, date, session.kind))
                speaker_rows.extend((row, s) for s in set(chunk.speakers) if s is not None)
            with db:
                db.executemany("INSERT INTO chunk_text(rowid, body) VALUES (?, ?)", text_rows)
                db.executemany("INSERT INTO chunk_meta VALUES (?, ?, ?, ?)", meta_rows)
                db.executemany("INSERT INTO chunk_speaker VALUES (?, ?)", speaker_rows)
            self._sessions[session.id] = indexed

    def add_vectors(self, session_id: str, chunks: Sequence[Chunk], embeddings: Vectors) -> None:
        """Make an already added session findable by meaning."""
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(chunks):
            raise ValueError(f"{len(chunks)} chunks but embeddings of shape {vectors.shape}")
        with self._lock:
            self._database()
            indexed = self._sessions.get(session_id)
            if indexed is None:
                raise KeyError(f"session {session_id} has not been added with add_lexical")
            if indexed.has_vectors:
                raise ValueError(f"session {session_id} already has vectors")
            if self._dimension is not None and vectors.shape[1] != self._dimension:
                raise ValueError(
                    f"embeddings of dimension {vectors.shape[1]}, index has {self._dimension}"
                )
            if not chunks:
                indexed.has_vectors = True
                return
            rows = []
            for chunk in chunks:
                row = indexed.rows.get(chunk.index)
                if row is None or self._chunks[row][1] != chunk:
                    raise ValueError("add_vectors got chunks that differ from add_lexical's")
                rows.append(row)
            if self._store_serving:
                self._store_add(rows, vectors)
            else:
                self._exact_new.append((rows, vectors))
                self._unstored.update(dict.fromkeys(rows))
            self._dimension = int(vectors.shape[1])
            self._vector_count += len(rows)
            indexed.has_vectors = True

    def build_vector_store(self) -> None:
        """Put every vector into chromadb, then let it answer meaning searches.

        Takes seconds to a minute (HNSW insertion): run it in a background thread. Searches
        stay exact, and adding or removing sessions stays possible, while it runs; it returns
        early, quietly, when the index is closed meanwhile.
        """
        while True:
            with self._lock:
                if self._db is None:
                    return
                if not self._unstored:
                    # The switch: chromadb has every vector; the matrix is not needed.
                    self._store_serving = True
                    self._exact_rows = np.zeros(0, dtype=np.int64)
                    self._exact_matrix = None
                    self._exact_new.clear()
                    self._exact_gone.clear()
                    return
                rows = list(itertools.islice(self._unstored, STORE_BATCH))
                for row in rows:
                    del self._unstored[row]
                all_rows, matrix = self._exact_vectors()
                vectors = matrix[np.searchsorted(all_rows, rows)]
                collection = self._vector_collection()
                metadatas = [self._vector_metadata(*self._chunks[row]) for row in rows]
            try:
                collection.add(ids=[str(r) for r in rows], embeddings=vectors, metadatas=metadatas)
            except Exception:
                if self.closed:
                    return  # locked meanwhile: the collection is gone, and so is the need
                raise
            with self._lock:
                if self._db is None:
                    return
                gone = [r for r in rows if r not in self._chunks]  # removed meanwhile
                if gone:
                    collection.delete(ids=[str(r) for r in gone])
                self._stored.update(r for r in rows if r in self._chunks)

    def _store_add(self, rows: list[int], vectors: Vectors) -> None:
        collection = self._vector_collection()
        metadatas = [self._vector_metadata(*self._chunks[row]) for row in rows]
        batch = self._chroma().get_max_batch_size()
        for i in range(0, len(rows), batch):
            collection.add(
                ids=[str(r) for r in rows[i : i + batch]],
                embeddings=vectors[i : i + batch],
                metadatas=metadatas[i : i + batch],
            )
        self._stored.update(rows)

    def add_sentences(
        self,
        session_id: str,
        spans: Sequence[tuple[int, int]] | Offsets,
        embeddings: npt.NDArray[np.float16] | Vectors,
    ) -> None:
        """The vectors of a session's sentences (reflect.chunking.sentence_spans: rows of
        start, end), kept in memory only, in half precision (as the record holds them: no
        copy at unlock); normalised when read, a few hundred at a time."""
        vectors = np.asarray(embeddings, dtype=np.float16)
        offsets = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        if vectors.shape[0] != len(offsets):
            raise ValueError(f"{len(offsets)} sentences but embeddings of shape {vectors.shape}")
        if (np.diff(offsets[:, 0]) < 0).any():
            order = np.argsort(offsets[:, 0], kind="stable")
            vectors, offsets = vectors[order], offsets[order]
        starts, ends = offsets[:, 0].copy(), offsets[:, 1].copy()
        with self._lock:
            self._database()
            self._sentences[session_id] = (starts, ends, vectors)

    def best_sentence_cosines(
        self, matches: Sequence[ChunkMatch], query_vector: Vectors
    ) -> list[float | None]:
        """For each chunk, the cosine similarity of its closest sentence to `query_vector`;
        None for a chunk with no sentence embedded."""
        query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(query))
        query = query / norm if norm > 0 else query
        found: list[float | None] = [None] * len(matches)
        by_session: dict[str, list[int]] = {}
        for i, m in enumerate(matches):
            by_session.setdefault(m.chunk.session_id, []).append(i)
        with self._lock:
            for session_id, positions in by_session.items():
                sentences = self._sentences.get(session_id)
                if sentences is None:
                    continue
                starts, ends, vectors = sentences
                # The sentences overlapping each chunk: they do not overlap one another, so
                # both their starts and their ends ascend.
                chunk_starts = np.array([matches[i].chunk.char_start for i in positions])
                chunk_ends = np.array([matches[i].chunk.char_end for i in positions])
                los = np.searchsorted(ends, chunk_starts, side="right")
                his = np.searchsorted(starts, chunk_ends, side="left")
                if not (his > los).any():
                    continue
                # One product per session, over the sentences any of its chunks holds (a
                # candidate list holds several chunks of a session: one at a time was most of
                # the time of reading 400 of them).
                first, last = int(los.min()), int(his.max())
                inside = vectors[first:last].astype(np.float32)
                norms = np.linalg.norm(inside, axis=1)
                cosines = (inside @ query) / np.where(norms > 0, norms, 1.0)
                for i, lo, hi in zip(positions, los, his, strict=True):
                    if lo < hi:
                        found[i] = float(cosines[lo - first : hi - first].max())
        return found

    def remove_session(self, session_id: str) -> None:
        with self._lock:
            db = self._database()
            self._sentences.pop(session_id, None)
            indexed = self._sessions.pop(session_id, None)
            if indexed is None:
                return
            rows = list(indexed.rows.values())
            for row in rows:
                del self._chunks[row]
            rows_json = json.dumps(rows)
            with db:
                for table in ("chunk_meta", "chunk_speaker"):
                    db.execute(
                        f"DELETE FROM {table} WHERE row IN (SELECT value FROM json_each(?))",
                        (rows_json,),
                    )
                db.execute(
                    "DELETE FROM chunk_text WHERE rowid IN (SELECT value FROM json_each(?))",
                    (rows_json,),
                )
            if indexed.has_vectors and rows:
                stored = [r for r in rows if r in self._stored]
                if stored:
                    self._vector_collection().delete(ids=[str(r) for r in stored])
                    self._stored.difference_update(stored)
                for row in rows:
                    self._unstored.pop(row, None)
                if not self._store_serving:
                    self._exact_gone.update(rows)
                self._vector_count -= len(rows)

    def close(self) -> None:
        """Forget everything: texts, chunks, vectors. The index cannot be used afterwards."""
        with self._lock:
            if self._db is None:
                return
            self._db.close()
            self._db = None
            self._sessions.clear()
            self._chunks.clear()
            self._sentences.clear()
            self._speaker_keys.clear()
            self._vector_count = 0
            self._exact_rows = np.zeros(0, dtype=np.int64)
            self._exact_matrix = None
            self._exact_new.clear()
            self._exact_gone.clear()
            self._unstored.clear()
            self._stored.clear()
            if self._collection is None:
                return
            try:
                self._client.delete_collection(self._collection_name)
            finally:
                self._collection = None

    # ---- state ---------------------------------------------------------------------------

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    @property
    def chunk_count(self) -> int:
        return len(self._chunks)

    @property
    def vector_count(self) -> int:
        return self._vector_count

    @property
    def store_serving(self) -> bool:
        """True once chromadb answers meaning searches (see `build_vector_store`)."""
        return self._store_serving

    @property
    def vector_progress(self) -> tuple[int, int]:
        """(sessions whose vectors are loaded, sessions in the index)."""
        with self._lock:
            done = sum(1 for s in self._sessions.values() if s.has_vectors)
            return done, len(self._sessions)

    @property
    def vector_ready(self) -> bool:
        """True when every session in the index can be found by meaning."""
        done, total = self.vector_progress
        return done == total

    @property
    def closed(self) -> bool:
        return self._db is None

    def session(self, session_id: str) -> Session:
        with self._lock:
            return self._sessions[session_id].session

    def sessions(self) -> list[Session]:
        with self._lock:
            return [s.session for s in self._sessions.values()]

    # ---- searching -----------------------------------------------------------------------

    def lexical_search(self, query: str, k: int, filters: Filters = NO_FILTERS) -> list[ChunkMatch]:
        """Chunks containing the query's words (any of them), best BM25 first."""
        match = lexical_fts_query(query)
        if match is None or k <= 0 or filters.allows_nothing():
            return []
        with self._lock:
            return [
                self._match(row, -rank) for row, rank in self._fts_rows(match, filters, limit=k)
            ]

    def chunk_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """How many chunks hold each of `terms` (one word each, matched exactly as
        `lexical_search` matches it: stemmed, accents folded, other spellings of the word
        included). The one count of "passages that hold a word": for weighing a rare word
        above a common one, telling what a passage is about, and whether the sessions
        mention a word at all. A term word search cannot look up (punctuation only) counts
        as held by every chunk: it can never be claimed absent or rare."""
        counts: dict[str, int] = {}
        with self._lock:
            db = self._database()
            for term in dict.fromkeys(terms):
                match = lexical_fts_query(term)
                if match is None:
                    counts[term] = self.chunk_count
                    continue
                found = db.execute(
                    "SELECT count(*) FROM chunk_text WHERE chunk_text MATCH ?", (match,)
                ).fetchone()
                counts[term] = int(found[0]) if found else 0
        return counts

    def phrase_search(self, phrase: str, k: int, filters: Filters = NO_FILTERS) -> list[ChunkMatch]:
        """Chunks containing `phrase` word for word (ignoring case, accents, punctuation,
        spacing, and the filler of speech: "um", "uh", a stammered "I-I"), with the exact
        spans where it occurs."""
        wanted = spoken_words(phrase)
        if not wanted or k <= 0 or filters.allows_nothing():
            return []
        found: list[ChunkMatch] = []
        seen: set[int] = set()
        with self._lock:
            # Adjacent words first (the FTS phrase query is fast and usually enough); then
            # every chunk holding all the words, for a phrase with filler between its words.
            # Stemming lets near-misses through both ("worried sick" for "worry sick"), so each
            # candidate is checked against the raw text.
            for match in (phrase_fts_query(phrase), all_words_fts_query(phrase)):
                if match is None:
                    continue
                for row, rank in self._fts_rows(match, filters, limit=PHRASE_CANDIDATES):
                    if row in seen:
                        continue
                    seen.add(row)
                    indexed, chunk = self._chunks[row]
                    spans = find_spoken_phrase(
                        indexed.session.text, chunk.char_start, chunk.char_end, wanted
                    )
                    if spans:
                        found.append(ChunkMatch(indexed.session, chunk, -rank, tuple(spans)))
                        if len(found) >= k:
                            return found
        return found

    def vector_search(
        self, query_vector: Vectors, k: int, filters: Filters = NO_FILTERS
    ) -> list[ChunkMatch]:
        """Chunks nearest in meaning to `query_vector` (cosine similarity)."""
        with self._lock:
            self._database()
            if k <= 0 or self._vector_count == 0 or filters.allows_nothing():
                return []
            vector = np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
            if not self._store_serving:
                return self._exact_nearest(vector[0], k, filters)
            if filters == NO_FILTERS:
                return self._nearest(vector, k, None)
            if filters.speakers is not None and not any(
                s in self._speaker_keys for s in filters.speakers
            ):
                return []
            # First the nearest few times k, filtered here: enough for a broad filter ("what I
            # said" covers most chunks), and the allowed ones among the nearest n are exactly
            # the nearest allowed. chromadb's own filtered search is the fallback for narrow
            # filters: it costs ~50-150 ms at 50,000 chunks against ~5 ms for this.
            n = min(self._vector_count, OVERFETCH_FACTOR * k)
            found = [m for m in self._nearest(vector, n, None) if _allows(filters, m)]
            if len(found) >= k or n == self._vector_count:
                return found[:k]
            return self._nearest(vector, k, self._chroma_where(filters))

    def _exact_nearest(self, vector: Vectors, k: int, filters: Filters) -> list[ChunkMatch]:
        """The k nearest allowed chunks by cosine similarity, over every vector."""
        rows, matrix = self._exact_vectors()
        norm = float(np.linalg.norm(vector))
        scores = matrix @ (vector / norm if norm > 0 else vector)
        if filters == NO_FILTERS and k < len(rows):
            # Only the k best need sorting (argpartition is linear).
            best = np.argpartition(-scores, k - 1)[:k]
            order = best[np.argsort(-scores[best], kind="stable")]
        else:
            order = np.argsort(-scores, kind="stable")
        found: list[ChunkMatch] = []
        for i in order:
            match = self._match(int(rows[i]), float(scores[i]))
            if filters == NO_FILTERS or _allows(filters, match):
                found.append(match)
                if len(found) == k:
                    break
        return found

    def _exact_vectors(self) -> tuple[npt.NDArray[np.int64], Vectors]:
        """(rows, unit vectors) of every chunk with vectors, with the adds and removals since
        the last call applied; rows ascend (they are handed out in order)."""
        if self._exact_new or self._exact_gone or self._exact_matrix is None:
            parts = [] if self._exact_matrix is None else [self._exact_matrix]
            row_parts = [self._exact_rows]
            for rows, vectors in self._exact_new:
                norms = np.linalg.norm(vectors, axis=1, keepdims=True)
                parts.append((vectors / np.where(norms > 0, norms, 1)).astype(np.float32))
                row_parts.append(np.asarray(rows, dtype=np.int64))
            dimension = self._dimension or 0
            matrix = np.concatenate(parts) if parts else np.zeros((0, dimension), np.float32)
            all_rows = np.concatenate(row_parts)
            if self._exact_gone:
                keep = ~np.isin(all_rows, np.fromiter(self._exact_gone, dtype=np.int64))
                matrix, all_rows = matrix[keep], all_rows[keep]
            self._exact_matrix = np.ascontiguousarray(matrix, dtype=np.float32)
            self._exact_rows = all_rows
            self._exact_new.clear()
            self._exact_gone.clear()
        return self._exact_rows, self._exact_matrix

    def _chroma(self) -> Any:
        if self._client is None:
            self._client = _chroma_client()
        return self._client

    def _vector_collection(self) -> Any:
        """The chromadb collection, created on first need: starting chromadb takes ~0.5 s
        and memory that a one-off search from the command line has no use for."""
        if self._collection is None:
            self._collection = self._chroma().create_collection(
                name=self._collection_name,
                configuration={"hnsw": {"space": "cosine", "ef_search": HNSW_EF_SEARCH}},
                embedding_function=None,
            )
        return self._collection

    def _nearest(self, vector: Vectors, n: int, where: dict[str, Any] | None) -> list[ChunkMatch]:
        if n <= 0:
            return []
        result = self._vector_collection().query(
            query_embeddings=vector,
            n_results=min(n, self._vector_count),
            where=where,
            include=["distances"],
        )
        ids, distances = result["ids"][0], result["distances"][0]
        return [
            self._match(int(id_), 1.0 - float(distance))
            for id_, distance in zip(ids, distances, strict=True)
            if int(id_) in self._chunks
        ]

    def term_spans(self, query: str, session_id: str, chunk_index: int) -> list[tuple[int, int]]:
        """Where the query's words (as word search matches them: stemmed, accents folded)
        occur in a chunk, as offsets into the session's text. For highlighting."""
        match = lexical_fts_query(query)
        if match is None:
            return []
        with self._lock:
            db = self._database()
            indexed = self._sessions.get(session_id)
            row = indexed.rows.get(chunk_index) if indexed else None
            if row is None:
                return []
            found = db.execute(
                "SELECT highlight(chunk_text, 0, ?, ?), body FROM chunk_text "
                "WHERE chunk_text MATCH ? AND rowid = ?",
                (_HIGHLIGHT_OPEN, _HIGHLIGHT_CLOSE, match, row),
            ).fetchone()
            if found is None:
                return []
            base = self._chunks[row][1].char_start
            return [(base + a, base + b) for a, b in _highlight_spans(found[0], found[1])]

    # ---- internals -----------------------------------------------------------------------

    def _database(self) -> sqlite3.Connection:
        if self._db is None:
            raise VaultLocked("The search index was closed when the vault locked; unlock it.")
        return self._db

    def _match(self, row: int, score: float) -> ChunkMatch:
        indexed, chunk = self._chunks[row]
        return ChunkMatch(indexed.session, chunk, score)

    def _fts_rows(
        self, match: str, filters: Filters, *, limit: int | None
    ) -> Iterator[tuple[int, float]]:
        """(row, BM25 rank) of the chunks matching `match`, best first, lazily."""
        db = self._database()
        conditions, params = _sql_conditions(filters)
        matching = "SELECT rowid AS row, rank FROM chunk_text WHERE chunk_text MATCH ?"
        if conditions:
            # MATERIALIZED: run the full-text match once, then filter its rows. Left to itself
            # SQLite pushes `rowid IN (...)` into FTS5, which re-runs the match for every
            # allowed row: 1.6 s instead of 1 ms on 4,000 chunks.
            sql = (
                f"WITH hits AS MATERIALIZED ({matching}) SELECT hits.row, hits.rank FROM hits "
                f"JOIN chunk_meta USING (row) WHERE {' AND '.join(conditions)} "
                "ORDER BY hits.rank"
            )
        else:
            sql = f"{matching} ORDER BY rank"
        params.insert(0, match)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        try:
            return iter(db.execute(sql, params))
        except sqlite3.OperationalError:
            # The query is built from quoted word tokens only, so this should not happen; a
            # search that cannot run finds nothing rather than crashing the app.
            return iter(())

    def _vector_metadata(self, indexed: _IndexedSession, chunk: Chunk) -> dict[str, Any]:
        session = indexed.session
        metadata: dict[str, Any] = {
            "session_id": session.id,
            "date": _date_number(session.date),
            "kind": session.kind,
            "first_turn": chunk.first_turn,
            "last_turn": chunk.last_turn,
            # For reading only; filters use the flags below (one chunk has several speakers).
            "speakers": ", ".join(s for s in chunk.speakers if s is not None),
        }
        for speaker in chunk.speakers:
            if speaker is not None:
                metadata[self._speaker_key(speaker)] = True
        return metadata

    def _speaker_key(self, speaker: str) -> str:
        # Labels can be any text; metadata keys derived from them could clash with chromadb's
        # operators ("$..."), so each label gets a neutral numbered key.
        key = self._speaker_keys.get(speaker)
        if key is None:
            key = self._speaker_keys[speaker] = f"speaker_{len(self._speaker_keys)}"
        return key

    def _chroma_where(self, filters: Filters) -> dict[str, Any] | None:
        """A chromadb `where` for `filters`; None when nothing is filtered."""
        clauses: list[dict[str, Any]] = []
        if filters.session_ids is not None:
            clauses.append({"session_id": {"$in": sorted(filters.session_ids)}})
        if filters.since is not None:
            clauses.append({"date": {"$gte": _date_number(filters.since)}})
        if filters.until is not None:
            clauses.append({"date": {"$lte": _date_number(filters.until)}})
        if filters.kinds is not None:
            clauses.append({"kind": {"$in": sorted(filters.kinds)}})
        if filters.speakers is not None:
            keys = sorted(
                self._speaker_keys[s] for s in filters.speakers if s in self._speaker_keys
            )
            flags: list[dict[str, Any]] = [{key: True} for key in keys]
            clauses.append(flags[0] if len(flags) == 1 else {"$or": flags})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


# ---- query text ----------------------------------------------------------------------------


def query_terms(text: str) -> list[str]:
    """The distinct words of a query, lower-cased, in order."""
    return list(dict.fromkeys(t.casefold() for t in _TERM.findall(text)))


def lexical_fts_query(text: str, max_terms: int = MAX_QUERY_TERMS) -> str | None:
    """An FTS5 MATCH expression finding chunks with any of the query's words.

    Every term is a quoted string, so nothing the user typed (quotes, parentheses, NEAR, AND,
    `*`, `:`, `^`) is ever read as FTS5 syntax.
    """
    terms = query_terms(text)
    content = [t for t in terms if t not in STOPWORDS]
    chosen = (content or terms)[:max_terms]
    if not chosen:
        return None
    # The same words as the sessions may write them: "twelve" / "12", "chicken pox" /
    # "chickenpox", "programme" / "program" (reflect.wordforms). A form no chunk holds
    # changes no score.
    forms = other_forms(chosen)[:max_terms] if content else []
    return " OR ".join(_quote(t) for t in [*chosen, *forms])


def phrase_fts_query(text: str, max_terms: int = MAX_PHRASE_TERMS) -> str | None:
    """An FTS5 phrase query: the words in order, adjacent. Long phrases are cut to their start,
    which still finds every chunk containing the whole phrase."""
    words = _TERM.findall(text)[:max_terms]
    if not words:
        return None
    return _quote(" ".join(words))


def all_words_fts_query(text: str, max_terms: int = MAX_PHRASE_TERMS) -> str | None:
    """An FTS5 query for chunks holding every word of `text`, anywhere."""
    words = list(dict.fromkeys(t.casefold() for t in _TERM.findall(text)))[:max_terms]
    words = [w for w in words if w not in SPOKEN_FILLER]
    if not words:
        return None
    return " AND ".join(_quote(w) for w in words)


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


# ---- verbatim phrase matching --------------------------------------------------------------


@lru_cache(maxsize=4096)
def _fold(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def normalize_words(
    text: str, start: int = 0, end: int | None = None
) -> tuple[str, list[int], list[int]]:
    """`text[start:end]` as its words, case and accents folded, joined by single spaces.

    Also returns, for each character of the result, the offsets in `text` where it begins and
    ends, so a match in the normalised form maps back to an exact span of the original.
    Combining marks belong to their letter; anything else that is not a letter or digit
    (spaces, punctuation, line breaks) only separates words.
    """
    end = len(text) if end is None else end
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    gap = False
    for i in range(start, end):
        ch = text[i]
        if ch.isalnum():
            if gap and out:
                out.append(" ")
                starts.append(i)
                ends.append(i)
            gap = False
            for folded in _fold(ch):
                out.append(folded)
                starts.append(i)
                ends.append(i + 1)
        elif unicodedata.category(ch).startswith("M"):
            if ends and not gap:
                ends[-1] = i + 1
        else:
            gap = True
    return "".join(out), starts, ends


# Sounds of speech that transcripts keep and a remembered quote leaves out.
SPOKEN_FILLER = frozenset(["um", "umm", "uh", "uhh", "er", "erm", "ah", "hmm", "mm", "mhm"])


def spoken_words(text: str, start: int = 0, end: int | None = None) -> list[tuple[str, int, int]]:
    """The words of `text[start:end]` as a person would quote them: folded like
    `normalize_words`, filler dropped, a word said twice in a row ("I-I", "the the") once.
    Each with its span in `text`."""
    folded, starts, ends = normalize_words(text, start, end)
    out: list[tuple[str, int, int]] = []
    pos = 0
    for word in folded.split(" "):
        if not word:
            continue
        a, b = starts[pos], ends[pos + len(word) - 1]
        pos += len(word) + 1
        if word in SPOKEN_FILLER:
            continue
        if out and out[-1][0] == word:
            out[-1] = (word, out[-1][1], b)
            continue
        out.append((word, a, b))
    return out


def find_spoken_phrase(
    text: str, start: int, end: int, wanted: Sequence[tuple[str, int, int]]
) -> list[tuple[int, int]]:
    """Spans of `text[start:end]` that say the words of `wanted` (see `spoken_words`)."""
    target = [w for w, _, _ in wanted]
    if not target:
        return []
    said = spoken_words(text, start, end)
    words = [w for w, _, _ in said]
    n = len(target)
    return [
        (said[i][1], said[i + n - 1][2])
        for i in range(len(words) - n + 1)
        if words[i : i + n] == target
    ]


def find_phrase(text: str, start: int, end: int, wanted: str) -> list[tuple[int, int]]:
    """Spans of `text[start:end]` whose normalised words are `wanted` (already normalised)."""
    haystack, starts, ends = normalize_words(text, start, end)
    spans = []
    pos = haystack.find(wanted)
    while pos != -1:
        after = pos + len(wanted)
        whole_words = (pos == 0 or haystack[pos - 1] == " ") and (
            after == len(haystack) or haystack[after] == " "
        )
        if whole_words:
            spans.append((starts[pos], ends[after - 1]))
        pos = haystack.find(wanted, pos + 1)
    return spans


def _highlight_spans(highlighted: str, body: str) -> list[tuple[int, int]]:
    if _HIGHLIGHT_OPEN in body or _HIGHLIGHT_CLOSE in body:
        return []  # the markers would be ambiguous; no highlighting beats wrong highlighting
    spans = []
    pos = 0
    opened = 0
    for ch in highlighted:
        if ch == _HIGHLIGHT_OPEN:
            opened = pos
        elif ch == _HIGHLIGHT_CLOSE:
            spans.append((opened, pos))
        else:
            pos += 1
    return spans


# ---- storage -------------------------------------------------------------------------------


def _open_database(tokenizer: str) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("PRAGMA temp_store=MEMORY")
    db.execute(f"CREATE VIRTUAL TABLE chunk_text USING fts5(body, tokenize='{tokenizer}')")
    db.execute(
        "CREATE TABLE chunk_meta(row INTEGER PRIMARY KEY, session_id TEXT, date INTEGER, kind TEXT)"
    )
    db.execute("CREATE INDEX chunk_meta_session ON chunk_meta(session_id)")
    db.execute("CREATE INDEX chunk_meta_date ON chunk_meta(date)")
    db.execute(
        "CREATE TABLE chunk_speaker(row INTEGER, speaker TEXT, PRIMARY KEY(speaker, row))"
        " WITHOUT ROWID"
    )
    db.execute("CREATE INDEX chunk_speaker_row ON chunk_speaker(row)")
    return db


def _sql_conditions(filters: Filters) -> tuple[list[str], list[Any]]:
    conditions: list[str] = []
    params: list[Any] = []
    if filters.session_ids is not None:
        conditions.append("session_id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(sorted(filters.session_ids)))
    if filters.since is not None:
        conditions.append("date >= ?")
        params.append(_date_number(filters.since))
    if filters.until is not None:
        conditions.append("date <= ?")
        params.append(_date_number(filters.until))
    if filters.kinds is not None:
        conditions.append("kind IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(sorted(filters.kinds)))
    if filters.speakers is not None:
        conditions.append(
            "EXISTS (SELECT 1 FROM chunk_speaker AS s WHERE s.row = hits.row "
            "AND s.speaker IN (SELECT value FROM json_each(?)))"
        )
        params.append(json.dumps(sorted(filters.speakers)))
    return conditions, params


def _allows(filters: Filters, match: ChunkMatch) -> bool:
    """`filters` applied in Python, to one chunk (the same rules as `_sql_conditions`)."""
    session = match.session
    if filters.session_ids is not None and session.id not in filters.session_ids:
        return False
    if filters.since is not None and session.date < filters.since:
        return False
    if filters.until is not None and session.date > filters.until:
        return False
    if filters.kinds is not None and session.kind not in filters.kinds:
        return False
    return filters.speakers is None or any(s in filters.speakers for s in match.chunk.speakers)


def _date_number(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _check_chunks(session: Session, chunks: Sequence[Chunk]) -> None:
    seen: set[int] = set()
    for chunk in chunks:
        if chunk.session_id != session.id:
            raise ValueError(f"chunk of session {chunk.session_id} added to {session.id}")
        if not 0 <= chunk.char_start < chunk.char_end <= len(session.text):
            raise ValueError(f"chunk {chunk.index} lies outside the session's text")
        if chunk.index in seen:
            raise ValueError(f"chunk index {chunk.index} appears twice")
        seen.add(chunk.index)


_client_lock = threading.Lock()
_client: Any = None


def _chroma_client() -> Any:
    """The process's one chromadb client: in memory, telemetry off.

    Every EphemeralClient in a process shares one in-memory system anyway, and asking for a
    second with different settings fails, so it is made once.
    """
    global _client
    with _client_lock:
        if _client is None:
            # Read by chromadb's settings too: off even if some code path builds its own.
            os.environ["ANONYMIZED_TELEMETRY"] = "False"
            import chromadb
            from chromadb.config import Settings

            _client = chromadb.EphemeralClient(
                settings=Settings(anonymized_telemetry=False, is_persistent=False)
            )
        return _client
