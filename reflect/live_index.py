"""The vault's sessions, searchable in memory: built at unlock, updated on import and removal.

Each session's chunks and embeddings are stored encrypted in the vault (`index/<id>`), so
unlocking never re-embeds: words are searchable as soon as the sessions are decrypted, and
meaning search follows once the stored vectors are loaded and the embedding model (needed
for the query) is up. A session whose record is missing, damaged or made by another
embedding model is re-embedded, with progress, and its record rewritten.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from reflect.chunking import Chunk, chunk_session, embedding_text, sentence_spans
from reflect.embedding import Embedder
from reflect.errors import ReflectError, VaultCorrupted
from reflect.index import SearchIndex
from reflect.index_record import IndexRecord, encode_index_record, fits, read_index_record
from reflect.rerank import LinearRanker
from reflect.retrieval import Retriever
from reflect.session import Session
from reflect.store import SessionStore, SessionSummary

EmbedderFactory = Callable[[], Embedder]

# How long after "ready" chromadb's index starts building. Starting chromadb and inserting
# into it hold the interpreter for seconds, which made the first search after unlock wait
# 3.5-4.7 s at 50,000 chunks; exact search serves meanwhile (bench/README.md).
VECTOR_STORE_DELAY_S = 5.0

# Bump when chunking changes: stored records made with other chunks are then rebuilt.
# 2: speaker labels in the embedded text; 3: each sentence embedded too
CHUNKING_VERSION = "chunks-3"


def record_identity(embedder: Embedder) -> str:
    """What a stored record must match to be reused: the embedding model and the chunking."""
    return f"{embedder.model_id}|{CHUNKING_VERSION}"


def encode_records(
    embedder: Embedder,
    chunked: Sequence[tuple[Session, Sequence[Chunk]]],
    progress: Callable[[int, int], None] | None = None,
) -> list[bytes]:
    """Each session's index record: its chunks' vectors (the text as `embedding_text` labels
    it) and its sentences' (`sentence_spans`, verbatim), all in one embedding call: sorted by
    length across sessions, they fill batches with less padding."""
    texts: list[str] = []
    plans = []
    for session, chunks in chunked:
        spans = sentence_spans(session)
        # Labels measured +0.06 MRR on both evaluation corpora (bench/README.md, sweep).
        texts += [embedding_text(session, c, speaker_labels=True) for c in chunks]
        texts += [session.text[a:b] for a, b in spans]
        plans.append((chunks, spans))
    vectors = embedder.embed(texts, progress=progress)
    identity = record_identity(embedder)
    records, start = [], 0
    for chunks, spans in plans:
        middle, end = start + len(chunks), start + len(chunks) + len(spans)
        records.append(
            encode_index_record(identity, chunks, vectors[start:middle], spans, vectors[middle:end])
        )
        start = end
    return records


@dataclass(frozen=True, slots=True)
class IndexProgress:
    """Where the index stands. Bursts may be coalesced: only the newest matters."""

    sessions: int
    lexical_ready: bool
    vectors_done: int
    vectors_total: int
    stage: str  # "words" | "loading model" | "vectors" | "embedding" | "ready"
    elapsed: float = 0.0

    can_replace = True

    @property
    def vector_ready(self) -> bool:
        return self.stage == "ready"


class LiveIndex:
    def __init__(self, store: SessionStore, embedder_factory: EmbedderFactory) -> None:
        self.store = store
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self._embedder_lock = threading.Lock()
        self._index: SearchIndex | None = None
        self._progress = IndexProgress(0, False, 0, 0, "words")
        # What the last load found damaged and worked around, one sentence each.
        self.notes: list[str] = []

    @property
    def index(self) -> SearchIndex:
        # Created on first need: chromadb takes seconds to start, and an import from the
        # command line only needs chunks and embeddings, not a search index.
        if self._index is None:
            self._index = SearchIndex()
        return self._index

    @property
    def progress(self) -> IndexProgress:
        return self._progress

    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use (a few seconds: torch is big)."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = self._embedder_factory()
            return self._embedder

    def retriever(
        self, me_labels: Iterable[str] = (), *, learned: LinearRanker | None = None
    ) -> Retriever:
        """`me_labels`: the user's speaker labels, so "what did I say" can prefer them.
        `learned`: the learned second stage (reflect/rerank.py), if wanted."""
        # Before the vectors are in, search by words only rather than half the meaning index.
        embedder = self._embedder if self._progress.vector_ready else None
        return Retriever(self.index, embedder, me_labels=frozenset(me_labels), learned=learned)

    def load(
        self,
        report: Callable[[IndexProgress], None] | None = None,
        *,
        vector_store: bool = True,
    ) -> None:
        """Decrypt every session and its index record into the index; "ready" as soon as
        meaning search works (exact, on the vectors as loaded). `vector_store`: then build
        chromadb's index in a background thread, which takes over once complete; a command
        that searches once and exits has no use for it."""
        started = time.monotonic()

        def tick(**changes: object) -> None:
            self._progress = dataclasses.replace(
                self._progress,
                elapsed=time.monotonic() - started,
                **changes,  # type: ignore[arg-type]
            )
            if report:
                report(self._progress)

        pending: list[tuple[Session, list[Chunk], IndexRecord | None]] = []
        self.notes = []
        for summary in self.store.catalog():
            session = self._readable_session(summary)
            if session is None:
                continue
            record = self._stored_record(session)
            chunks = chunk_session(session) if record is None else record.chunks
            self.index.add_lexical(session, chunks)
            pending.append((session, chunks, record))
        tick(sessions=len(pending), lexical_ready=True, vectors_total=len(pending))
        tick(stage="loading model")
        embedder = self.embedder()
        # Pay the load now, not on the first query; only what a question needs (for the
        # bundled model a numpy encoder, without torch: see reflect/bert_numpy.py).
        warm_up = getattr(embedder, "load_query_encoder", None) or getattr(embedder, "load", None)
        if callable(warm_up):
            warm_up()
        tick(stage="vectors")
        identity = record_identity(embedder)
        for done, (session, chunks, record) in enumerate(pending, 1):
            if record is None or record.model_id != identity or record.sentences is None:
                tick(stage="embedding")
                fresh = chunk_session(session)
                if fresh != chunks:
                    self.index.remove_session(session.id)
                    self.index.add_lexical(session, fresh)
                    chunks = fresh
                data = encode_records(embedder, [(session, chunks)])[0]
                record = read_index_record(data)
                # Not stored if another writer removed or relabelled it meanwhile: it
                # stored its own record then, and this one would be stale.
                self.store.put_index_record(session.id, data, made_from=session)
            self._add_vectors(session.id, record)
            tick(vectors_done=done)
        tick(stage="ready")
        if vector_store:
            index = self.index
            threading.Thread(
                target=_build_quietly, args=(index,), name="reflect-vector-store", daemon=True
            ).start()

    def _readable_session(self, summary: SessionSummary) -> Session | None:
        """The session, or None (with a note) when its object is damaged: one bad object
        must not keep every other session from being searched."""
        try:
            return self.store.get(summary.id)
        except VaultCorrupted:
            self.notes.append(
                f"The session “{summary.title}” ({summary.id}) is damaged, so it was set "
                "aside; the other sessions work as before. To bring it back, remove it "
                f"(`reflect remove {summary.id}`) and restore it from a backup "
                "(`reflect restore FILE`)."
            )
            return None

    def _stored_record(self, session: Session) -> IndexRecord | None:
        try:
            data = self.store.index_record(session.id)
        except VaultCorrupted:
            # Derived from the session, so nothing is lost: load() re-embeds and stores it.
            self.notes.append(
                f"The search index of “{session.title}” was damaged, so it was rebuilt "
                "from the session itself; nothing was lost."
            )
            return None
        return self._decode(session, data)

    @staticmethod
    def _decode(session: Session, data: bytes | None) -> IndexRecord | None:
        if data is None:
            return None
        try:
            record = read_index_record(data)
        except ReflectError:
            return None  # rebuilt from the session itself
        # A restored session may have a new id; its record still names the old one.
        chunks = [dataclasses.replace(c, session_id=session.id) for c in record.chunks]
        if not fits(session, chunks, record.sentences):
            return None
        return dataclasses.replace(record, chunks=chunks)

    def _add_vectors(self, session_id: str, record: IndexRecord) -> None:
        self.index.add_vectors(session_id, record.chunks, record.embeddings)
        if record.sentences is not None and record.sentence_embeddings is not None:
            self.index.add_sentences(session_id, record.sentences, record.sentence_embeddings)

    # ---- incremental updates ---------------------------------------------------------------

    def record_for(
        self, session: Session, *, progress: Callable[[int, int], None] | None = None
    ) -> bytes:
        """Chunks and embeddings for a session about to be stored (called inside import);
        `progress` is told how many passages are embedded, of how many."""
        return encode_records(self.embedder(), [(session, chunk_session(session))], progress)[0]

    def records_for(
        self, sessions: Sequence[Session], *, progress: Callable[[int, int], None] | None = None
    ) -> list[bytes]:
        """`record_for` of several sessions with one embedding call for all their chunks:
        sorted by length across sessions, they fill batches with less padding (import)."""
        chunked = [(session, chunk_session(session)) for session in sessions]
        return encode_records(self.embedder(), chunked, progress)

    def add(self, session: Session, data: bytes | None) -> None:
        record = self._decode(session, data)
        self.index.remove_session(session.id)
        self.index.add_lexical(session, chunk_session(session) if record is None else record.chunks)
        if record is not None:
            self._add_vectors(session.id, record)
        self._progress = dataclasses.replace(
            self._progress,
            sessions=self.index.session_count,
            vectors_total=self._progress.vectors_total + 1,
            vectors_done=self._progress.vectors_done + (1 if record is not None else 0),
        )

    def remove(self, session_id: str) -> None:
        self.index.remove_session(session_id)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None
        self._embedder = None


def _build_quietly(index: SearchIndex) -> None:
    """chromadb's index, built in the background. Should it fail, searches simply stay exact
    (as good or better), so nothing is reported: a traceback would scribble over the app."""
    time.sleep(VECTOR_STORE_DELAY_S)  # a closed index makes the build return at once
    try:
        index.build_vector_store()
    except Exception:
        return
