"""Importing transcript files into the vault: find, parse, date, deduplicate, store.

Each file is parsed, indexed and committed in its own transaction, so an interruption
(Ctrl-C, SIGKILL, a full disk) loses at most the file in flight, and running the same
import again simply skips what is already there (content hash).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from reflect import consent
from reflect.documents import finished_memo
from reflect.errors import ReflectError, TranscriptError
from reflect.formats import (
    MAX_TEXT_BYTES,
    SUPPORTED_EXTENSIONS,
    date_from_filename,
    parse_transcript,
)
from reflect.fsutil import read_bounded
from reflect.import_batches import BatchIndexer, FileGroup, records_in_order
from reflect.recording import (
    RecordingOptions,
    TranscriberFactory,
    TranscriptionProgress,
    build_recording_session,
    check_size,
    file_hash,
    start_pending,
    transcribe_pending,
)
from reflect.records import PendingRecording
from reflect.safe_text import terminal
from reflect.session import NOTE, Session, build_text
from reflect.speakers import set_me
from reflect.store import SessionStore
from reflect.transcript import ParsedTranscript, Turn

# Kept here rather than imported from reflect.audio, which loads PyAV: listing a folder
# must not need the audio stack.
AUDIO_EXTENSIONS = frozenset({".m4a", ".mp3", ".wav", ".ogg", ".opus", ".flac", ".webm", ".mp4"})
IMPORTABLE_EXTENSIONS = SUPPORTED_EXTENSIONS | AUDIO_EXTENSIONS


def is_recording(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_EXTENSIONS


def recordings_in(paths: Iterable[Path]) -> Iterator[Path]:
    """The recordings importing `paths` (files and folders) would import, found lazily as
    `discover` would find them."""
    for path in paths:
        found: Iterable[Path] = [path]
        if path.is_dir():
            found = (
                child
                for child in path.rglob("*")
                if not any(part.startswith(".") for part in child.relative_to(path).parts)
            )
        yield from (f for f in found if is_recording(f) and f.is_file())


def holds_new_recordings(store: SessionStore, paths: Iterable[Path]) -> bool:
    """Whether importing `paths` would make a session of a recording: one not in the vault
    yet (its file's hash) and not a voice memo carried on (which ends as a note). Only then is
    the therapist's agreement asked (reflect/consent.py); stops at the first one."""
    for path in recordings_in(paths):
        try:
            digest = file_hash(path)
            if store.find_by_hash(digest) is not None:
                continue
            pending = store.find_pending(digest)
        except (OSError, ReflectError):
            return True  # asked all the same: never a recording taken in without the question
        if pending is None or pending.kind != NOTE:
            return True
    return False


# A .docx is a zip of XML around the text; allow it more room than plain text.
MAX_DOCX_BYTES = 4 * MAX_TEXT_BYTES

# Told how many of a session's passages are embedded so far, and of how many.
IndexingProgress = Callable[[int, int], None]


class Indexer(Protocol):
    """Builds a session's index record (chunks + embeddings) before it is committed."""

    def __call__(
        self, session: Session, *, progress: IndexingProgress | None = None
    ) -> bytes | None: ...


# A huge transcript takes minutes to embed; a tick this often says it is still going
# without flooding a log or the --json stream.
INDEXING_TICK_SECONDS = 1.0
# Told about each session once it is committed (to update a live search index).
StoredCallback = Callable[[Session, bytes | None], None]


@dataclass(frozen=True, slots=True)
class ImportOptions:
    date: dt.date | None = None
    me: str | None = None
    replace: bool = False
    title: str | None = None
    language: str | None = None  # of a recording; None: detected
    keep_audio: bool = True  # keep a recording's audio (sealed) after transcribing it
    # Whether the therapist agreed to the recording (reflect.consent.ANSWERS), stored with
    # each recording imported; None when nobody was asked (an API caller).
    consent: str | None = None


@dataclass(slots=True)
class FileResult:
    path: str
    status: str  # "imported" | "replaced" | "duplicate" | "failed" | "stopped"
    session_id: str | None = None
    title: str | None = None
    turns: int = 0
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "status": self.status,
            "session_id": self.session_id,
            "title": self.title,
            "turns": self.turns,
            "reason": self.reason,
            "warnings": self.warnings,
        }


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """A progress tick. Bursts of these may be coalesced: only the newest matters."""

    files_done: int
    files_total: int
    turns_done: int
    elapsed: float
    current: str | None = None
    recording: TranscriptionProgress | None = None  # while a recording is transcribed
    indexing: tuple[int, int] | None = None  # passages embedded, of how many (a file's index)

    can_replace = True


@dataclass(slots=True)
class ImportReport:
    results: list[FileResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files in folders we can't read
    stopped: bool = False  # cancelled before every file was done

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    def summary(self) -> str:
        parts = [f"{self.count('imported')} imported"]
        if self.count("replaced"):
            parts.append(f"{self.count('replaced')} replaced")
        if self.count("duplicate"):
            parts.append(f"{self.count('duplicate')} already in the vault")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped (not transcripts)")
        if self.stopped:
            parts.append("stopped before the rest")
        return ", ".join(parts)


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult], list[str]]:
    """Files to import (folders walked recursively, hidden files ignored), plus problems."""
    files: list[Path] = []
    problems: list[FileResult] = []
    skipped: list[str] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if any(part.startswith(".") for part in rel.parts) or not child.is_file():
                    continue
                if child.suffix.lower() in IMPORTABLE_EXTENSIONS:
                    files.append(child)
                else:
                    skipped.append(str(child))
        elif path.is_file():
            files.append(path)
        elif path.exists():
            problems.append(FileResult(str(path), "failed", reason="not a regular file"))
        else:
            problems.append(FileResult(str(path), "failed", reason="no such file or folder"))
    return files, problems, skipped


def content_hash(turns: Sequence[Turn]) -> str:
    """Identity of what was said, independent of the file's encoding or format quirks."""
    canonical = json.dumps(
        [[t.speaker, t.text, t.start, t.end] for t in turns],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_DATE_IN_NAME = re.compile(r"(19|20)\d{2}[-_. ]?\d{2}[-_. ]?\d{2}")


def title_from_filename(name: str) -> str:
    # A file name may hold escape sequences and bidi overrides; a title is shown everywhere.
    stem = terminal(Path(name).stem)
    stem = _DATE_IN_NAME.sub(" ", stem)
    stem = re.sub(r"[_\-.]+", " ", stem)
    stem = re.sub(r"\s+", " ", stem).strip()
    return stem[:1].upper() + stem[1:] if stem else ""


def choose_date(
    options: ImportOptions, path: Path, parsed: ParsedTranscript
) -> tuple[dt.date, str]:
    if options.date is not None:
        return options.date, "option"
    from_name = date_from_filename(path.name)
    if from_name is not None:
        return from_name, "filename"
    if parsed.date is not None:
        return parsed.date, "file"
    return dt.date.fromtimestamp(path.stat().st_mtime), "modified"


def read_file(path: Path) -> bytes:
    limit = MAX_DOCX_BYTES if path.suffix.lower() == ".docx" else MAX_TEXT_BYTES
    return read_bounded(path, limit, at_most="reflect takes at most")


def build_session(
    store: SessionStore,
    path: Path,
    parsed: ParsedTranscript,
    options: ImportOptions,
    session_id: str,
) -> Session:
    date, date_source = choose_date(options, path, parsed)
    text, turns = build_text(parsed.turns)
    title = (
        " ".join(terminal(options.title or parsed.title or "").split())
        or title_from_filename(path.name)
        or f"Session of {date.strftime('%d %B %Y').lstrip('0')}"
    )
    return Session(
        id=session_id,
        title=title,
        date=date,
        date_source=date_source,
        source_file=path.name,
        content_hash=content_hash(parsed.turns),
        imported_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        format=parsed.format,
        text=text,
        turns=turns,
    )


@dataclass(slots=True)
class PreparedFile:
    """A text file parsed into a session not yet stored (nor indexed)."""

    path: Path
    session: Session
    replace_id: str | None
    warnings: list[str]
    parsed_turns: int


def prepare_file(
    store: SessionStore, path: Path, options: ImportOptions
) -> PreparedFile | FileResult:
    """Parse a transcript file into its session, or the result that ends its import here
    (unreadable, or already in the vault)."""
    display = str(path)
    try:
        parsed = parse_transcript(read_file(path), path.name)
    except TranscriptError as e:
        return FileResult(display, "failed", reason=e.reason)
    digest = content_hash(parsed.turns)
    existing = store.find_by_hash(digest)
    if existing is not None:
        return FileResult(display, "duplicate", existing.id, existing.title, len(parsed.turns))
    replace_id = None
    if options.replace:
        same_name = [
            s for s in store.catalog() if s.source_file == path.name and s.kind == "session"
        ]
        if same_name:
            replace_id = same_name[-1].id
    session = build_session(store, path, parsed, options, replace_id or store.new_session_id())
    return PreparedFile(path, session, replace_id, list(parsed.warnings), len(parsed.turns))


def store_prepared(
    store: SessionStore,
    prepared: PreparedFile,
    record: bytes | None,
    on_stored: StoredCallback | None = None,
) -> FileResult:
    """Commit a prepared session with its index record, in its own transaction."""
    display, session = str(prepared.path), prepared.session
    same = store.add(session, record, replace=prepared.replace_id)
    if same is not None:
        # Another import stored the same transcript while this one was indexing it.
        return FileResult(display, "duplicate", same.id, same.title, prepared.parsed_turns)
    if on_stored:
        on_stored(session, record)
    return FileResult(
        display,
        "replaced" if prepared.replace_id else "imported",
        session.id,
        session.title,
        len(session.turns),
        warnings=prepared.warnings,
    )


def import_file(
    store: SessionStore,
    path: Path,
    options: ImportOptions,
    indexer: Indexer | None,
    on_stored: StoredCallback | None = None,
    *,
    on_indexing: IndexingProgress | None = None,
) -> FileResult:
    prepared = prepare_file(store, path, options)
    if isinstance(prepared, FileResult):
        return prepared
    record = indexer(prepared.session, progress=on_indexing) if indexer else None
    return store_prepared(store, prepared, record, on_stored)


def import_recording(
    store: SessionStore,
    path: Path,
    options: ImportOptions,
    indexer: Indexer | None,
    transcriber_factory: TranscriberFactory | None,
    on_stored: StoredCallback | None = None,
    *,
    on_progress: Callable[[TranscriptionProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FileResult:
    """Transcribe a recording into a session, resuming an earlier interrupted run."""
    display = str(path)
    try:
        check_size(path)
        digest = file_hash(path)
    except ReflectError as e:
        return FileResult(display, "failed", reason=e.message.removeprefix(f"{path.name}: "))
    except OSError as e:
        return FileResult(display, "failed", reason=f"can't read the file ({e.strerror or e})")
    existing = store.find_by_hash(digest)
    if existing is not None:
        return FileResult(display, "duplicate", existing.id, existing.title, 0)
    if transcriber_factory is None:
        return FileResult(display, "failed", reason="no speech model is available")
    try:
        pending = store.find_pending(digest)
        transcriber = transcriber_factory()
        if pending is None:
            model_id = str(getattr(transcriber, "model_id", type(transcriber).__name__))
            recording_options = RecordingOptions(options.language, options.keep_audio)
            pending = start_pending(store, path, digest, recording_options, model_id)
        finished = transcribe_pending(
            store, path, pending, transcriber, on_progress=on_progress, should_stop=should_stop
        )
        if not finished:
            return FileResult(
                display,
                "stopped",
                pending.session_id,
                reason="transcription paused; import the file again to carry on where it stopped",
            )
        if pending.kind == NOTE:
            # A voice memo begun by `reflect note --recording`: it ends as that note.
            session = finished_memo(store, path, pending, options.date)
        else:
            session = _recording_session(store, path, pending, options)
    except ReflectError as e:
        return _failed_unless_done(store, path, digest, e)
    record = indexer(session) if indexer else None
    try:
        same = store.add(session, record, finishes=pending.name)
    except ReflectError as e:
        return _failed_unless_done(store, path, digest, e)
    if same is not None:
        return FileResult(display, "duplicate", same.id, same.title, len(session.turns))
    if on_stored:
        on_stored(session, record)
    return FileResult(display, "imported", session.id, session.title, len(session.turns))


def _recording_session(
    store: SessionStore, path: Path, pending: PendingRecording, options: ImportOptions
) -> Session:
    date, date_source = _recording_date(options, path)
    title = (
        " ".join(terminal(options.title or "").split())
        or title_from_filename(path.name)
        or f"Session of {date.strftime('%d %B %Y').lstrip('0')}"
    )
    try:
        session = build_recording_session(pending, date=date, date_source=date_source, title=title)
        if options.consent is not None:
            consent.stamp(session, options.consent)
    except ReflectError:
        # Listened to the end and heard nothing (noise, or bytes that only looked like
        # audio): keep none of it, rather than an unfinished job that can never finish.
        store.discard_pending(pending.content_hash)
        raise
    return session


def _failed_unless_done(
    store: SessionStore, path: Path, digest: str, error: ReflectError
) -> FileResult:
    """A recording that failed, unless another import of it finished it meanwhile."""
    same = store.find_by_hash(digest)
    if same is not None:
        return FileResult(str(path), "duplicate", same.id, same.title, 0)
    return FileResult(str(path), "failed", reason=error.message.removeprefix(f"{path.name}: "))


def _recording_date(options: ImportOptions, path: Path) -> tuple[dt.date, str]:
    if options.date is not None:
        return options.date, "option"
    from_name = date_from_filename(path.name)
    if from_name is not None:
        return from_name, "filename"
    return dt.date.fromtimestamp(path.stat().st_mtime), "modified"


def import_paths(
    store: SessionStore,
    paths: Sequence[Path],
    options: ImportOptions = ImportOptions(),
    *,
    indexer: Indexer | None = None,
    on_stored: StoredCallback | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    transcriber_factory: TranscriberFactory | None = None,
    batch_indexer: BatchIndexer | None = None,
) -> ImportReport:
    """Import files and folders. With `batch_indexer`, text files are read in groups whose
    sessions are embedded in one call (reflect/import_batches.py), else one by one with
    `indexer`; recordings always go one by one with `indexer`."""
    files, problems, skipped = discover(paths)
    report = ImportReport(results=list(problems), skipped=skipped)
    if options.date is not None and len(files) > 1:
        # One date for many sessions is almost always a mistake; refuse before writing anything.
        raise ReflectError(
            "--date sets the date of one session; import several files without it "
            "(dates come from their names or contents) or one at a time.",
            title="Can't do that",
        )
    started = time.monotonic()
    turns_done = 0
    finished = 0  # files whose import ended (stored, or decided when read)
    group: FileGroup[PreparedFile, FileResult] = FileGroup(lambda p: len(p.session.text))

    shown = 0  # files_done as last reported: never goes back

    def tick(current: str | None, position: int | None = None) -> None:
        """`position`: the file being read (files before it count as done, as they did
        before groups: a group's files are read at once, then embedded and stored)."""
        nonlocal shown
        shown = max(shown, finished if position is None else position)
        if progress:
            elapsed = time.monotonic() - started
            progress(ImportProgress(shown, len(files), turns_done, elapsed, current))

    def finish(result: FileResult) -> None:
        nonlocal turns_done, finished
        turns_done += result.turns
        finished += 1
        report.results.append(result)

    def stopping() -> bool:
        return should_stop is not None and should_stop()

    def store_group() -> None:
        """Embed the group's sessions in one call, then store each in its own transaction, in
        file order. A stop asked meanwhile waits for the group's end: its files were
        announced as started when they were read, and a started file is finished."""
        pending = group.pending()
        # Named by its first file, whose start was announced when it was read.
        name = pending[0].path.name if pending else ""
        on_indexing = _indexing_progress(progress, name, shown, len(files), turns_done, started)
        sessions = [p.session for p in pending]
        records = iter(records_in_order(sessions, batch_indexer, on_indexing))
        for prepared, result in group.take():
            if prepared is not None:
                tick(prepared.path.name)
                result = store_prepared(store, prepared, next(records), on_stored)
            assert result is not None
            finish(result)

    for position, path in enumerate(files):
        if stopping():
            # Between files: every session stored so far is whole, and the files read so
            # far are finished; the rest simply isn't.
            store_group()
            report.stopped = True
            break
        if batch_indexer is not None and not is_recording(path):
            tick(path.name, position)
            if options.replace and path.name in {p.path.name for p in group.pending()}:
                store_group()  # it replaces what the earlier file of its name stores
            prepared = prepare_file(store, path, options)
            if isinstance(prepared, FileResult):
                group.add_done(prepared)
            else:
                group.add_pending(prepared)
            if group.full:
                store_group()
            continue
        store_group()  # a recording, or no grouping: what was read before it goes first
        if stopping():
            report.stopped = True
            break
        tick(path.name)
        if is_recording(path):
            result = import_recording(
                store,
                path,
                options,
                indexer,
                transcriber_factory,
                on_stored,
                on_progress=_recording_progress(
                    progress, finished, len(files), turns_done, started
                ),
                should_stop=should_stop,
            )
        else:
            result = import_file(
                store,
                path,
                options,
                indexer,
                on_stored,
                on_indexing=_indexing_progress(
                    progress, path.name, finished, len(files), turns_done, started
                ),
            )
        finish(result)
        if result.status == "stopped":
            report.stopped = True
            break
    if not report.stopped:
        store_group()
        tick(None)
    if options.me:
        set_me(store, options.me)
    return report


def _indexing_progress(
    progress: Callable[[ImportProgress], None] | None,
    name: str,
    done: int,
    total: int,
    turns_done: int,
    started: float,
) -> IndexingProgress | None:
    """Passages embedded so far, as import ticks: the first, the last, and one a second."""
    if progress is None:
        return None
    last = -math.inf

    def forward(embedded: int, of: int) -> None:
        nonlocal last
        now = time.monotonic()
        if embedded not in (0, of) and now - last < INDEXING_TICK_SECONDS:
            return
        last = now
        elapsed = now - started
        progress(ImportProgress(done, total, turns_done, elapsed, name, indexing=(embedded, of)))

    return forward


def _recording_progress(
    progress: Callable[[ImportProgress], None] | None,
    done: int,
    total: int,
    turns_done: int,
    started: float,
) -> Callable[[TranscriptionProgress], None] | None:
    if progress is None:
        return None

    def forward(p: TranscriptionProgress) -> None:
        progress(ImportProgress(done, total, turns_done, time.monotonic() - started, p.file, p))

    return forward
