"""The one core API. The CLI and the TUI are thin layers over `Reflect`.

A `Reflect` is an unlocked vault plus what is derived from it in memory. `lock()` drops
the keys and every decrypted structure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reflect import crypto, kept, speakers
from reflect.errors import SessionNotFound, UsageError
from reflect.excerpts import ExcerptLine, clock, excerpt_lines
from reflect.kept import SavedMoment
from reflect.recording import TranscriberFactory
from reflect.records import PendingRecording, recording_info
from reflect.session import HANDOUT, NOTE, SESSION, Session, StoredTurn
from reflect.store import SessionStore, SessionSummary, Settings
from reflect.vault import RolledBack, Vault

# Search and import (numpy, the parsers, the index) load on first use: `reflect sessions`
# only decrypts the catalog, and those imports were a third of its run (issue #18).
if TYPE_CHECKING:
    from reflect.agreements import Agreement
    from reflect.answer import Answer, Answerer, EventCallback
    from reflect.answer.compose import AcrossSessions, SessionMentions
    from reflect.answer.conversation import Conversation
    from reflect.asr import Transcriber
    from reflect.backup import BackupReport, RestoreReport
    from reflect.documents import Documents
    from reflect.index import Filters
    from reflect.ingest import ImportOptions, ImportProgress, ImportReport
    from reflect.judge import RelevanceJudge
    from reflect.live_index import EmbedderFactory, IndexProgress, LiveIndex
    from reflect.llm import ChatModel
    from reflect.prep import Prep
    from reflect.recap import Recap
    from reflect.retrieval import Hit
    from reflect.timeline import Timeline
    from reflect.understanding import Understood

ModelFactory = Callable[[], "ChatModel"]
# Deeper search's judge (reflect/judge.py); tests give a stand-in.
JudgeFactory = Callable[[], "RelevanceJudge"]

# Which kinds of record a view reads (reflect.session.KINDS, reflect/documents.py).
_SESSIONS_ONLY = frozenset({SESSION})
_SESSIONS_AND_NOTES = frozenset({SESSION, NOTE})


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Filters as a person gives them; `Reflect.resolve_filters` turns them into labels/dates.

    `since`/`until` take "2024-03-14", "last month", "March"...; `speaker` takes "me",
    "therapist" or a speaker label.
    """

    session: str | None = None
    since: str | None = None
    until: str | None = None
    speaker: str | None = None


@dataclass(slots=True)
class QuoteResult:
    query: str
    hits: list[Hit]
    timings: dict[str, float] = field(default_factory=dict)
    # How the query was read (None when searched as typed): shown so the user can clear it.
    understood: Understood | None = None


@dataclass(frozen=True, slots=True)
class ReflectOptions:
    """What a `Reflect` is built with, fixed for its life: the models chosen for this
    process only (--model, --asr-model; else the vault's settings, else the bundled ones)
    and the factories that load them (tests and benchmarks give stand-ins)."""

    model_path: str | None = None
    asr_model_path: str | None = None
    embedder_factory: EmbedderFactory | None = None
    model_factory: ModelFactory | None = None
    transcriber_factory: TranscriberFactory | None = None
    judge_factory: JudgeFactory | None = None


@dataclass(frozen=True, slots=True)
class UnfinishedRecording:
    file: str
    done_s: float
    duration_s: float
    started: str
    id: str  # its content hash: what `discard_pending` takes


@dataclass(frozen=True, slots=True)
class KeySettings:
    algorithm: str
    memory_mib: int
    iterations: int
    lanes: int


@dataclass(frozen=True, slots=True)
class VaultStatus:
    path: Path
    format_version: int
    sessions: int  # sessions only: notes and handouts are counted apart
    size_bytes: int
    objects: int
    generation: int
    unfinished_recordings: list[UnfinishedRecording]
    kdf: KeySettings
    notes: int = 0
    handouts: int = 0

    def to_json(self) -> dict[str, Any]:
        """What `reflect status --json` prints."""
        return {
            "path": str(self.path),
            "format_version": self.format_version,
            "sessions": self.sessions,
            "notes": self.notes,
            "handouts": self.handouts,
            "size_bytes": self.size_bytes,
            "objects": self.objects,
            "generation": self.generation,
            "unfinished_recordings": [asdict(p) for p in self.unfinished_recordings],
            "kdf": asdict(self.kdf),
        }


def _default_embedder_factory() -> Any:
    from reflect.embedding import default_embedder

    return default_embedder()


def _default_transcriber_factory(model_folder: Path | None) -> Any:
    from reflect.asr import WhisperTranscriber

    return WhisperTranscriber(model_folder)


def _default_judge_factory() -> RelevanceJudge:
    """The installed deeper-search model; JudgeModelNotInstalled (how to install it) if not."""
    from reflect.judge import load_judge

    return load_judge()


class Reflect:
    """An unlocked vault. Use as a context manager to lock it however the block ends:
    `with Reflect.unlock(path, passphrase) as service: ...`.

    Its vault and store are its own: tests reach them through `reflect.testing.vault_of` and
    `store_of`, never through attributes."""

    def __init__(self, vault: Vault, options: ReflectOptions | None = None) -> None:
        options = options or ReflectOptions()
        self._vault = vault
        self._store = SessionStore(vault)
        self._options = options
        self._embedder_factory = options.embedder_factory or self._configured_embedder
        self._model_factory = options.model_factory or self._default_model
        self._transcriber_factory = options.transcriber_factory or self._configured_transcriber
        self._transcriber: Transcriber | None = None
        self._transcriber_lock = threading.Lock()
        self._model: ChatModel | None = None
        self._judge: RelevanceJudge | None = None  # deeper search's model, loaded on first use
        self._model_lock = threading.Lock()
        self._answerer: Answerer | None = None
        self._stop_import = threading.Event()
        self._live: LiveIndex | None = None
        self._index_loaded = threading.Event()
        self._index_lock = threading.Lock()

    # ---- lifecycle -------------------------------------------------------------------

    @staticmethod
    def exists(path: Path) -> bool:
        return Vault.exists(path)

    @classmethod
    def create(
        cls,
        path: Path,
        passphrase: str,
        options: ReflectOptions | None = None,
        *,
        kdf: crypto.KdfParams | None = None,
        embedder_factory: EmbedderFactory | None = None,
        model_factory: ModelFactory | None = None,
        transcriber_factory: TranscriberFactory | None = None,
        judge_factory: JudgeFactory | None = None,
    ) -> Reflect:
        """A new vault at `path`. The factories are a shorthand for the same fields of
        `options`."""
        options = _with_factories(
            options, embedder_factory, model_factory, transcriber_factory, judge_factory
        )
        return cls(Vault.create(path, passphrase, kdf=kdf), options)

    @classmethod
    def unlock(
        cls,
        path: Path,
        passphrase: str,
        options: ReflectOptions | None = None,
        *,
        embedder_factory: EmbedderFactory | None = None,
        model_factory: ModelFactory | None = None,
        transcriber_factory: TranscriberFactory | None = None,
        judge_factory: JudgeFactory | None = None,
    ) -> Reflect:
        """The vault at `path`, opened. The factories are a shorthand for the same fields of
        `options`."""
        options = _with_factories(
            options, embedder_factory, model_factory, transcriber_factory, judge_factory
        )
        return cls(Vault.open(path, passphrase), options)

    def __enter__(self) -> Reflect:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.lock()

    @property
    def rolled_back(self) -> RolledBack | None:
        """Set when the vault is an older copy than this computer last saw: tell the person."""
        return self._vault.rolled_back

    def accept_rollback(self) -> None:
        """The person has been told the vault is an older copy: don't tell them again."""
        self._vault.accept_rollback()

    def set_activity(
        self, activity: str, on_lock_wait: Callable[[str | None], None] | None = None
    ) -> None:
        """Name what this process does ("import"), so another reflect waiting for the vault
        can say what it waits for; `on_lock_wait` hears when this one waits, with the other's
        name (None when unknown), once per wait."""
        self._vault.activity = activity
        self._vault.on_lock_wait = on_lock_wait

    def lock(self) -> None:
        """Drop the keys and everything decrypted: the index, the sessions it holds."""
        self._stop_import.set()  # a recording being transcribed stops within a segment
        self.cancel_answer()
        if self._live is not None:
            self._live.close()
            self._live = None
        self._index_loaded.clear()
        self._answerer = None
        self._vault.close()

    # ---- the search index ------------------------------------------------------------------

    def _live_index(self) -> LiveIndex:
        # Everything derived from the sessions goes through here: refuse once locked.
        self._vault.ensure_open()
        with self._index_lock:
            if self._live is None:
                from reflect.live_index import LiveIndex

                self._live = LiveIndex(self._store, self._embedder_factory)
            return self._live

    def open_index(
        self,
        progress: Callable[[IndexProgress], None] | None = None,
        *,
        vector_store: bool = True,
    ) -> None:
        """Build the in-memory index from the vault (words first, then meaning).

        `vector_store=False`: meaning search stays exact and chromadb is never started, for
        a command that searches and exits (see `LiveIndex.load`)."""
        live = self._live_index()
        if not self._index_loaded.is_set():
            live.load(progress, vector_store=vector_store)
            self._index_loaded.set()

    def index_notes(self) -> list[str]:
        """What opening the index found damaged and worked around, one sentence each."""
        return list(self._live.notes) if self._live is not None else []

    def index_progress(self) -> IndexProgress:
        return self._live_index().progress

    def resolve_filters(self, filters: SearchFilters, today: dt.date | None = None) -> Filters:
        from reflect.dates import date_range_phrase
        from reflect.index import Filters

        today = today or dt.date.today()
        session_ids = None
        if filters.session:
            session_ids = frozenset({self._store.resolve(filters.session).id})
        since = date_range_phrase(filters.since, today)[0] if filters.since else None
        until = date_range_phrase(filters.until, today)[1] if filters.until else None
        labels = None
        if filters.speaker:
            labels = frozenset(self.speaker_labels(filters.speaker))
        return Filters(session_ids=session_ids, since=since, until=until, speakers=labels)

    def speaker_labels(self, who: str) -> list[str]:
        """Labels for "me", "therapist" (everyone who isn't me) or a label, any case."""
        me = self.me_labels()
        labels = speakers.labels_for(who, me, self._known_speakers())
        if me and set(labels) == set(me):
            # The user's notes are theirs, whatever label they were written under.
            notes = (s for s in self._store.catalog() if s.kind == NOTE)
            labels += sorted({label for s in notes for label in s.speakers} - set(labels))
        return labels

    def _known_speakers(self) -> list[str]:
        return sorted({label for s in self.sessions() for label in s.speakers})

    def _configured_embedder(self) -> Any:
        """The vault's chosen sentence-transformers folder, else the bundled model."""
        chosen = self.settings().embedding_model
        if chosen:
            from reflect.embedding import SentenceTransformerEmbedder

            folder = Path(chosen)
            if not folder.is_dir():
                raise UsageError(
                    f"The embedding model folder {folder} is gone. Choose another with "
                    "`reflect models --use-embedding DIR` or go back to the bundled one with "
                    "`reflect models --default-embedding`."
                )
            return SentenceTransformerEmbedder(folder)
        return _default_embedder_factory()

    # ---- recordings ------------------------------------------------------------------------

    def _configured_transcriber(self) -> Transcriber:
        """--asr-model for this run, else the vault's choice, else the bundled Whisper."""
        chosen = self._options.asr_model_path or self.settings().asr_model
        folder = Path(chosen).expanduser() if chosen else None
        if folder is not None and not folder.is_dir():
            raise UsageError(
                f"The speech model folder {folder} is not there. Choose another with "
                "`reflect models --use-asr DIR` or go back to the bundled one with "
                "`reflect models --default-asr`."
            )
        transcriber: Transcriber = _default_transcriber_factory(folder)
        return transcriber

    def transcriber(self) -> Transcriber:
        """The speech model, loaded once per process when a recording is first imported."""
        with self._transcriber_lock:
            if self._transcriber is None:
                self._transcriber = self._transcriber_factory()
            return self._transcriber

    def pending_recordings(self) -> list[PendingRecording]:
        return self._store.pending()

    def pending_hashes(self) -> list[str]:
        """Every unfinished recording's content hash, even one too damaged to read."""
        return self._store.pending_hashes()

    def discard_pending(self, content_hash: str) -> str | None:
        """Forget an unfinished recording; its file's name, or None if it was damaged."""
        return self._store.discard_pending(content_hash)

    def asks_consent(self, paths: Sequence[Path]) -> bool:
        """Whether importing `paths` would make a session of a new recording, the one case
        in which the therapist's agreement is asked (reflect.ingest.holds_new_recordings)."""
        from reflect.ingest import holds_new_recordings

        return holds_new_recordings(self._store, paths)

    def recording_clip(
        self, reference: str, start: float, seconds: float, *, rate: int | None = None
    ) -> tuple[Any, int]:
        """(samples shaped (channels, n), sample rate) of a stretch of a session's recording,
        decoded in memory from the sealed copy (only the part asked for is decrypted)."""
        from reflect import audio

        session = self.session(reference)
        if seconds <= 0:
            raise UsageError("The stretch to play must be longer than zero seconds.")
        with self._store.open_audio(session) as stream:
            if rate is None:
                rate = min(audio.probe(stream, name=session.source_file).sample_rate, 48_000)
            stream.seek(0)
            samples = audio.decode(
                stream,
                name=session.source_file,
                start=max(0.0, start),
                end=start + seconds,
                rate=rate,
            )
        if samples.shape[1] == 0:
            info = recording_info(session) or {}
            raise UsageError(
                f"“{session.title}” is {clock(info.get('duration'))} long; there is nothing "
                f"at {clock(start)}."
            )
        return samples, rate

    # ---- answers ---------------------------------------------------------------------------

    def _default_model(self) -> ChatModel:
        from reflect.llm import LlamaChatModel, resolve_model_path

        path, _source = resolve_model_path(self._options.model_path, self.settings().model)
        return LlamaChatModel(path)

    def chat_model(self) -> ChatModel:
        """The chat model, loaded once per process (seconds; the TUI does it in background)."""
        with self._model_lock:
            if self._model is None:
                self._model = self._model_factory()
            return self._model

    @property
    def model_loaded(self) -> bool:
        return self._model is not None

    def ask(
        self,
        question: str,
        *,
        filters: SearchFilters | None = None,
        k: int | None = None,
        on_event: EventCallback | None = None,
        conversation: Conversation | None = None,
    ) -> Answer:
        """Answer from the sessions: excerpts first (events), then the checked answer.

        With a `conversation` (`Reflect.new_conversation()`), a question may build on the
        ones before it ("did I keep it?") and is added to it."""
        resolved = self.resolve_filters(filters or SearchFilters())
        answerer = self.answerer(k=k)
        self._answerer = answerer
        return answerer.ask(
            question, filters=resolved, on_event=on_event, conversation=conversation
        )

    def answerer(
        self,
        *,
        k: int | None = None,
        today: dt.date | None = None,
        model_factory: ModelFactory | None = None,
    ) -> Answerer:
        """The Answerer `ask` uses, over the index as it is now. Benchmarks fix `today` (the
        day relative dates like "last month" count from) and the model; the app never does."""
        from reflect.answer import Answerer, AnswerSettings
        from reflect.answer.question import SessionDate
        from reflect.rerank import LEARNED_RANKER

        live = self._live_index()
        me = self.me_labels()
        retriever = live.retriever(me)
        return Answerer(
            retriever,
            retriever.embedder,
            model_factory or self.chat_model,
            me_labels=me,
            therapist_labels=speakers.therapist_labels(self._known_speakers(), me),
            region=self.settings().crisis_region,
            settings=AnswerSettings(k=k) if k else AnswerSettings(),
            session_dates=lambda: [SessionDate(s.id, s.day) for s in self.sessions()],
            across=self._across(),
            today=dt.date.today if today is None else (lambda: today),
            # Found moments in the order the moments search shows them (the learned stage).
            shown_order=live.retriever(me, learned=LEARNED_RANKER),
        )

    @staticmethod
    def new_conversation() -> Conversation:
        """A conversation for `ask`: follow-up questions lean on the earlier ones."""
        from reflect.answer.conversation import Conversation

        return Conversation()

    def _across(self) -> AcrossSessions:
        """The views across sessions that "how often / first / last", "what did we cover"
        and "what did we agree" questions are answered from."""
        return _AnsweringViews(self)

    def cancel_answer(self) -> None:
        """Stop the answer being written (safe from any thread)."""
        if self._answerer is not None:
            self._answerer.cancel()

    def session_of(self, hit: Hit) -> Session:
        """The session a hit came from: from memory when the index holds it."""
        if self._live is not None and self._index_loaded.is_set():
            return self._live.index.session(hit.session_id)
        return self._store.get(hit.session_id)

    def excerpt_lines(self, hit: Hit) -> list[ExcerptLine]:
        return excerpt_lines(self.session_of(hit), hit.char_start, hit.char_end)

    def quotes(
        self,
        query: str,
        *,
        k: int = 5,
        filters: SearchFilters | None = None,
        as_typed: bool = False,
    ) -> QuoteResult:
        resolved = self.resolve_filters(filters or SearchFilters())
        started = time.perf_counter()
        from reflect.rerank import LEARNED_RANKER

        # The moments shown are ordered by the learned second stage (reflect/rerank.py).
        retriever = self._live_index().retriever(self.me_labels(), learned=LEARNED_RANKER)
        hits = retriever.search(query, k=k, filters=resolved, as_typed=as_typed)
        elapsed = (time.perf_counter() - started) * 1000
        from reflect.understanding import understand

        understood = None if as_typed else understand(query)
        return QuoteResult(query, hits, {"retrieval_ms": round(elapsed, 2)}, understood)

    def deeper_quotes(
        self,
        query: str,
        *,
        k: int = 5,
        filters: SearchFilters | None = None,
        as_typed: bool = False,
        judge: RelevanceJudge | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> QuoteResult:
        """`quotes`, with its top JUDGE_DEPTH read one at a time by the optional larger model
        and reordered (reflect/judge.py): opt-in, seconds per candidate. `progress` hears
        (read, of) before the first and after each one. Raises JudgeModelNotInstalled, a
        ReflectError saying how to install it, when it is not."""
        from reflect.judge import JUDGE_DEPTH, judge_excerpt, rerank

        first = self.quotes(query, k=max(k, JUDGE_DEPTH), filters=filters, as_typed=as_typed)
        judge = judge or self.judge_model()
        started = time.perf_counter()
        me = self.me_labels()
        top = first.hits[:JUDGE_DEPTH]
        p_yes: list[float] = []
        for hit in top:
            if progress is not None:
                progress(len(p_yes), len(top))
            p_yes.append(judge.p_yes(query, judge_excerpt(self.excerpt_lines(hit), me)))
        if progress is not None:
            progress(len(p_yes), len(top))
        hits = rerank(first.hits, p_yes)[:k]
        timings = {**first.timings, "judge_ms": round((time.perf_counter() - started) * 1000, 2)}
        return QuoteResult(query, hits, timings, first.understood)

    def judge_model(self) -> RelevanceJudge:
        """Deeper search's model, loaded once per process (seconds; the first time, its
        slices are joined and checked). Raises JudgeModelNotInstalled when it is not."""
        with self._model_lock:
            if self._judge is None:
                # The module's default is looked up here, so a test can stand one in for it.
                self._judge = (self._options.judge_factory or _default_judge_factory)()
            return self._judge

    # ---- across sessions ----------------------------------------------------------------

    def timeline(self, topic: str, filters: SearchFilters | None = None) -> Timeline:
        """Every session where `topic` came up, oldest first (reflect/timeline.py).
        Counts sessions by words only until the meaning index is ready (`by_meaning`)."""
        from reflect.timeline import build_timeline

        resolved = self.resolve_filters(filters or SearchFilters())
        live = self._live_index()
        # The user's notes are part of a theme's story; a handout is not something that
        # "came up" (reflect/documents.py).
        resolved = replace(resolved, kinds=_SESSIONS_AND_NOTES)
        return build_timeline(topic, live.index, live.retriever(self.me_labels()), filters=resolved)

    def recap(self, reference: str) -> Recap:
        """A session's 3-6 key moments, verbatim (reflect/recap.py): the recap sealed at
        import, or, when it is missing or stale (the session or the method changed), computed
        now from the session's index record (milliseconds, no model) and sealed."""
        from reflect.recap import Recap, moments_at

        session = self.session(reference)
        if session.kind != SESSION:
            raise UsageError(f"That is a {session.kind}, not a session: it has no recap.")
        moments = moments_at(session, self._recap_spans(session))
        return Recap(session.id, session.date, session.title, moments)

    def _recap_spans(self, session: Session, record: bytes | None = None) -> list[tuple[int, int]]:
        from reflect.errors import VaultCorrupted
        from reflect.recap import recap_inputs, seal_recap, sealed_spans

        spans = sealed_spans(self._store, session)
        if spans is not None:
            return spans
        if record is None:
            try:
                record = self._store.index_record(session.id)
            except VaultCorrupted:
                record = None  # derived: embedded again below
        chunks, vectors = recap_inputs(
            session, record, lambda texts: self._live_index().embedder().embed(texts)
        )
        return seal_recap(self._store, session, chunks, vectors)

    def backfill_recaps(
        self,
        progress: Callable[[int, int], None] | None = None,
        *,
        should_stop: Callable[[], bool] | None = None,
    ) -> int:
        """Seal the recap of every session that has none or a stale one (sessions imported
        before recaps were sealed, or changed since), reporting (done, total) after each
        session. For a worker after unlock; returns how many were computed."""
        from reflect.errors import ReflectError, SessionNotFound, VaultCorrupted
        from reflect.recap import sealed_spans

        summaries = self.sessions()  # a note or a handout has no recap
        made = 0
        for done, summary in enumerate(summaries, start=1):
            if should_stop is not None and should_stop():
                break
            try:
                session = self._store.get(summary.id)
            except (SessionNotFound, VaultCorrupted):
                continue  # removed meanwhile, or damaged (opening the index says so)
            if sealed_spans(self._store, session) is None:
                try:
                    self._recap_spans(session)
                    made += 1
                except ReflectError:
                    pass  # one session's failure (a full disk...) leaves the others theirs
            if progress is not None:
                progress(done, len(summaries))
        return made

    def _seal_imported(self, session: Session, record: bytes | None) -> None:
        """A recap for a session just imported, from the index record made for it."""
        from reflect.errors import ReflectError

        if record is None:
            return
        # On failure the session is stored all the same; its recap is computed when first read.
        with contextlib.suppress(ReflectError):
            self._recap_spans(session, record)

    def agreements(
        self,
        *,
        since: str | None = None,
        session: str | None = None,
        follow_ups: bool = True,
    ) -> list[Agreement]:
        """What was agreed to try, oldest first, each with the later sessions that talk about
        it (reflect/agreements.py). `since` takes what `SearchFilters.since` takes."""
        chosen = self.resolve_filters(SearchFilters(session=session, since=since))
        return self._marked(self._agreements_in(chosen, follow_ups=follow_ups))

    def _marked(self, agreements: list[Agreement]) -> list[Agreement]:
        """With the user's marks (done, not for me). Only where shown: answers don't read them,
        so a damaged record of marks never stops a question being answered."""
        from reflect.agreements import apply_marks

        apply_marks(agreements, self._store.agreement_marks())
        return agreements

    def _agreements_in(self, chosen: Filters, *, follow_ups: bool) -> list[Agreement]:
        """The agreements of the sessions `chosen` allows (sessions and dates), oldest first."""
        from reflect.agreements import find_agreements, link_follow_ups
        from reflect.index import Filters
        from reflect.timeline import build_timeline

        live = self._live_index()
        me = self.me_labels()
        sessions = [
            s
            for s in live.index.sessions()
            if s.kind == SESSION
            and (chosen.session_ids is None or s.id in chosen.session_ids)
            and (chosen.since is None or s.date >= chosen.since)
            and (chosen.until is None or s.date <= chosen.until)
        ]
        sessions.sort(key=lambda s: (s.date, s.imported_at, s.id))
        found = [a for s in sessions for a in find_agreements(s, me)]
        if follow_ups:
            retriever = live.retriever(me)

            def later(subject: str, after: dt.date) -> list[list[Hit]]:
                later_on = Filters(since=after + dt.timedelta(days=1), kinds=_SESSIONS_ONLY)
                timeline = build_timeline(subject, live.index, retriever, filters=later_on)
                return [s.hits for s in timeline.sessions]

            link_follow_ups(found, later)
        return found

    def prep(self) -> Prep:
        """Ready for the next session (reflect/prep.py): the last session's recap, the
        agreements still open and what became of them, the themes of the last few sessions
        with their timelines, and the user's notes since. Needs the index open."""
        from reflect.index import Filters
        from reflect.prep import build_prep

        every = sorted(
            self._live_index().index.sessions(), key=lambda s: (s.date, s.imported_at, s.id)
        )
        return build_prep(
            [s for s in every if s.kind == SESSION],
            notes=[s for s in every if s.kind == NOTE],
            speakers=self._known_speakers(),
            recap=self.recap,
            agreements=lambda ids: self._marked(
                self._agreements_in(Filters(session_ids=ids), follow_ups=True)
            ),
            timeline=self.timeline,
        )

    def mark_agreement(self, agreement_id: str, status: str) -> Agreement:
        """Mark an agreement (by its id or a unique start of it) "done", "dropped" (not for
        me) or "open" again; stored sealed. UsageError if no agreement has that id."""
        from reflect.agreements import mark_of, resolve_agreement

        sessions = (self._store.get(s.id) for s in self.sessions())
        agreement, session = resolve_agreement(sessions, self.me_labels(), agreement_id)
        self._store.mark_agreement(agreement.id, mark_of(session, status))
        agreement.status = status
        return agreement

    def change_passphrase(
        self, new_passphrase: str, *, kdf: crypto.KdfParams | None = None
    ) -> None:
        self._vault.change_passphrase(new_passphrase, kdf=kdf)

    def status(self) -> VaultStatus:
        st = self._vault.status()
        kinds = [s.kind for s in self._store.catalog()]
        return VaultStatus(
            path=st.path,
            format_version=st.format_version,
            sessions=kinds.count(SESSION),
            notes=kinds.count(NOTE),
            handouts=kinds.count(HANDOUT),
            size_bytes=st.size_bytes,
            objects=st.object_count,
            generation=st.generation,
            unfinished_recordings=[
                UnfinishedRecording(
                    file=p.source_file,
                    done_s=round(p.audio_done, 1),
                    duration_s=round(p.duration, 1),
                    started=p.started_at,
                    id=p.content_hash,
                )
                for p in self._store.pending()
            ],
            kdf=KeySettings(
                algorithm="argon2id",
                memory_mib=st.kdf.memory_kib // 1024,
                iterations=st.kdf.iterations,
                lanes=st.kdf.lanes,
            ),
        )

    # ---- sessions ----------------------------------------------------------------------

    def sessions(self) -> list[SessionSummary]:
        """The sessions, oldest first; notes and handouts are `documents`' to list."""
        return [s for s in self._store.catalog() if s.kind == SESSION]

    @property
    def documents(self) -> Documents:
        """The user's notes and their therapist's handouts (reflect/documents.py)."""
        from reflect.documents import Documents

        self._vault.ensure_open()
        return Documents(
            self._store,
            self._live_index,
            self._index_loaded.is_set,
            transcriber=self.transcriber,
            stop=self._stop_import,
        )

    def summary(self, reference: str) -> SessionSummary:
        """A session's catalog entry, by id, unique id prefix, list number or exact title."""
        return self._store.resolve(reference)

    def session(self, reference: str) -> Session:
        return self._store.get(self._store.resolve(reference).id)

    def import_paths(
        self,
        paths: Sequence[Path],
        options: ImportOptions | None = None,
        *,
        progress: Callable[[ImportProgress], None] | None = None,
    ) -> ImportReport:
        """Import files and folders; `cancel_import()` stops it between two files."""
        from reflect.ingest import ImportOptions, import_paths

        live = self._live_index()
        self._stop_import.clear()
        searchable = self._index_loaded.is_set()

        def stored(session: Session, record: bytes | None) -> None:
            self._seal_imported(session, record)
            if searchable:
                live.add(session, record)

        return import_paths(
            self._store,
            paths,
            options or ImportOptions(),
            indexer=live.record_for,
            batch_indexer=live.records_for,
            on_stored=stored,
            progress=progress,
            should_stop=self._stop_import.is_set,
            transcriber_factory=self.transcriber,
        )

    def cancel_import(self) -> None:
        """Stop a running import after the file in hand (safe from any thread)."""
        self._stop_import.set()

    def rename(self, reference: str, title: str) -> Session:
        title = title.strip()
        if not title:
            raise UsageError("A title can't be empty.")

        def retitle(session: Session) -> None:
            session.title = title

        return self._edit(reference, retitle)

    def redate(self, reference: str, date: dt.date) -> Session:
        def move(session: Session) -> None:
            session.date = date
            session.date_source = "user"

        return self._edit(reference, move)

    def _edit(self, reference: str, change: Callable[[Session], None]) -> Session:
        edited = self._store.edit(self._store.resolve(reference).id, change)
        assert edited is not None  # `change` never declines
        return edited

    def remove(self, reference: str) -> SessionSummary:
        summary = self._store.resolve(reference)
        self._store.remove(summary.id)
        if self._live is not None:
            self._live.remove(summary.id)
        return summary

    def backup(
        self, target: Path, passphrase: str, *, kdf: crypto.KdfParams | None = None
    ) -> BackupReport:
        from reflect.backup import write_backup

        return write_backup(self._store, target, passphrase, kdf=kdf)

    def restore(self, source: Path, passphrase: str) -> RestoreReport:
        from reflect.backup import restore_backup

        return restore_backup(self._store, source, passphrase)

    def settings(self) -> Settings:
        return self._store.settings()

    def update_settings(self, **changes: Any) -> Settings:
        """Change and save settings, e.g. `update_settings(idle_lock_minutes=5)`."""
        for name in changes:
            if name not in Settings.__dataclass_fields__:
                raise UsageError(f"There is no setting called {name!r}.")

        def apply(settings: Settings) -> None:
            for name, value in changes.items():
                setattr(settings, name, value)

        return self._store.change_settings(apply)

    def set_me(self, label: str) -> None:
        speakers.set_me(self._store, label)

    def label_speakers(
        self,
        reference: str,
        label: str | None,
        *,
        turns: Sequence[int] | None = None,
        start: float | None = None,
        end: float | None = None,
        rename: str | None = None,
    ) -> tuple[Session, int]:
        """Name who spoke: give `label` to some turns of a session, or rename a label.

        Turns are chosen by number (1-based, as `reflect show` lists them), by the time they
        start (`start` <= t < `end`), or by their current label (`rename`); with none of
        these, every unlabelled turn. `label` None removes the label. Returns the session
        and how many turns changed. Labels are part of what the index embeds, so the
        session's index record is rebuilt with it, in the same transaction. SessionNotFound,
        saying so, if another writer removes the session meanwhile.
        """
        import dataclasses

        label = speakers.clean_label(label)
        session_id = self._store.resolve(reference).id
        wanted = set(turns) if turns is not None else None

        # Embedding takes seconds, so it is done outside the writer lock; the result is
        # stored only if nobody changed the session's turns meanwhile, else done again
        # from what they stored.
        while True:
            session = self._store.get(session_id)
            count = len(session.turns)
            if wanted is not None and not wanted <= set(range(1, count + 1)):
                raise UsageError(
                    f"“{session.title}” has turns 1 to {count}; "
                    f"there is no turn {min(wanted - set(range(1, count + 1)))}."
                )
            relabelled = speakers.relabelled(
                session.turns, label, wanted=wanted, start=start, end=end, rename=rename
            )
            changed = sum(a != b for a, b in zip(relabelled, session.turns, strict=True))
            if not changed:
                return session, 0
            read = dataclasses.replace(session)
            session.turns = relabelled
            live = self._live_index()
            record = live.record_for(session)

            def relabel(
                current: Session, read: Session = read, turns: list[StoredTurn] = relabelled
            ) -> bool:
                if current.text != read.text or current.turns != read.turns:
                    return False
                current.turns = turns
                return True

            stored = self._store.edit(session_id, relabel, index_record=record)
            if stored is not None:
                break
        if self._index_loaded.is_set():
            live.add(stored, record)
        return stored, changed

    def me_labels(self) -> list[str]:
        return self._store.settings().me

    # ---- saved moments (reflect.kept) -----------------------------------------------------

    def keep(
        self,
        reference: str,
        *,
        at: float | None = None,
        to: float | None = None,
        turns: tuple[int, int] | None = None,
        span: tuple[int, int] | None = None,
        label: str | None = None,
    ) -> SavedMoment:
        """Keep whole turns of a session as a saved moment: those spoken from `at` to `to`
        (seconds), `turns` (first and last, 1-based, as `reflect show` numbers them), or those
        a stretch of its text touches (`span`, a hit's `char_start, char_end`)."""
        session = self.session(reference)
        if span is not None:
            first, last = kept.turns_of_span(session, *span)
        elif turns is not None:
            first, last = turns[0] - 1, turns[1] - 1
        elif at is not None:
            first, last = kept.turns_at(session, at, to)
        else:
            raise UsageError("Say where the moment is: a time (--at) or turn numbers (--turn).")
        moment = kept.new_moment(session, first, last, label)
        self._store.keep_moment(moment)
        return self.moment(moment.id)

    def moments(self) -> list[SavedMoment]:
        """Every saved moment, numbered as `reflect moments` lists them (1 = kept first),
        read from its session as it is now."""
        sessions: dict[str, Session | None] = {}
        out = []
        for number, moment in enumerate(self._store.moments(), 1):
            if moment.session_id not in sessions:
                try:
                    sessions[moment.session_id] = self._store.get(moment.session_id)
                except SessionNotFound:
                    sessions[moment.session_id] = None
            session = sessions[moment.session_id]
            if session is None:
                continue  # its session is gone (removed while the record was unreadable)
            shown = kept.saved(number, moment, session, self._has_recording)
            if shown is not None:
                out.append(shown)
        return out

    def _has_recording(self, session: Session) -> bool:
        info = recording_info(session)
        return bool(info and info.get("audio") and self._store.has(str(info["audio"])))

    def moment(self, reference: str) -> SavedMoment:
        """A saved moment by its number in `moments()` or its id."""
        wanted = kept.find(self._store.moments(), reference)
        shown = next((m for m in self.moments() if m.id == wanted.id), None)
        if shown is None:
            raise SessionNotFound("That moment's session is no longer in the vault.")
        return shown

    def remove_moment(self, reference: str) -> SavedMoment:
        """Forget a saved moment (the session itself is untouched)."""
        shown = self.moment(reference)
        self._store.change_moments(lambda ms: [m for m in ms if m.id != shown.id])
        return shown

    def relabel_moment(self, reference: str, label: str | None) -> SavedMoment:
        shown = self.moment(reference)
        cleaned = kept.clean_label(label)
        self._store.change_moments(
            lambda ms: [replace(m, label=cleaned) if m.id == shown.id else m for m in ms]
        )
        return replace(shown, label=cleaned)

    def moment_hit(self, moment: SavedMoment) -> Hit:
        """The moment as a quote (its words read from the session), for the reader and for
        playing: the same shape as a search result."""
        from reflect.moments import moment_hit

        session = self._store.get(moment.session_id)
        return moment_hit(session, moment.char_start, moment.char_end)


class _AnsweringViews:
    """The timeline, recaps and agreements as the answer stage needs them
    (`reflect.answer.compose.AcrossSessions`)."""

    def __init__(self, service: Reflect) -> None:
        self._service = service

    def sessions_mentioning(self, topic: str, filters: Filters) -> list[SessionMentions]:
        from reflect.answer.compose import SessionMentions
        from reflect.timeline import build_timeline

        live = self._service._live_index()
        # "How often has it come up" counts sessions: not notes, not handouts.
        filters = replace(filters, kinds=_SESSIONS_ONLY)
        timeline = build_timeline(
            topic, live.index, live.retriever(self._service.me_labels()), filters=filters
        )
        return [
            SessionMentions(s.session_id, s.session_date, s.session_title, s.hits)
            for s in timeline.sessions
            if s.hits
        ]

    def recap_moments(self, session_id: str) -> list[Hit]:
        return list(self._service.recap(session_id).moments)

    def agreed(self, filters: Filters) -> list[tuple[Hit, Hit | None]]:
        return [
            (a.words, a.reply)
            for a in self._service._agreements_in(filters, follow_ups=False)
            if not a.declined
        ]


def _with_factories(
    options: ReflectOptions | None,
    embedder_factory: EmbedderFactory | None,
    model_factory: ModelFactory | None,
    transcriber_factory: TranscriberFactory | None,
    judge_factory: JudgeFactory | None = None,
) -> ReflectOptions:
    options = options or ReflectOptions()
    return replace(
        options,
        embedder_factory=embedder_factory or options.embedder_factory,
        model_factory=model_factory or options.model_factory,
        transcriber_factory=transcriber_factory or options.transcriber_factory,
        judge_factory=judge_factory or options.judge_factory,
    )
