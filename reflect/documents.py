"""The user's own notes and their therapist's handouts: not sessions, but searchable,
citable and sealed like them.

Each is stored as a `Session` record of its own kind (reflect.session.NOTE / HANDOUT), so
the vault, backups, chunking, the index, search, quotes and answers treat it exactly as a
session, with one promise kept the same way: every quote is a slice of the stored text.
The kind keeps them out of what only sessions are (`reflect sessions`, recaps, agreements)
and makes every view cite them as what they are (reflect/sources.py):

- a note is one turn by the user (their speaker label, else "Me"), dated the day written;
  a voice memo (reflect/voice_memo.py) is one turn per paragraph, with times in its sealed
  recording, dated by its file;
- a handout is one turn per page with text, no speaker, no times, its page numbers in
  `extra["pages"]`, with a title, a date when given, and who gave it when given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reflect.errors import ReflectError, SessionNotFound, UsageError
from reflect.handouts import read_handout
from reflect.safe_text import terminal
from reflect.session import HANDOUT, NOTE, Session, build_text
from reflect.sources import HANDOUT_INFO, PAGES
from reflect.transcript import Turn

if TYPE_CHECKING:
    import threading

    from reflect.live_index import LiveIndex
    from reflect.recording import TranscriberFactory, TranscriptionProgress
    from reflect.records import PendingRecording
    from reflect.store import SessionStore, SessionSummary

# A note's speaker when the user hasn't said which label is theirs (`reflect speakers --me`).
NOTE_SPEAKER = "Me"
MAX_NOTE_CHARS = 100_000
# How much of a note titles it in `reflect notes` (the note itself is never cut).
NOTE_TITLE_CHARS = 60


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def clean_note_text(text: str) -> str:
    """The note as written, line endings made plain and outer blank space trimmed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise UsageError("A note can't be empty.")
    if len(text) > MAX_NOTE_CHARS:
        raise UsageError(
            f"A note can be at most {MAX_NOTE_CHARS:,} characters; this one has {len(text):,}."
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("The note holds a broken character; check its text.") from None
    return text


def note_title(text: str) -> str:
    """Its first words, on one line, for listing."""
    line = " ".join(terminal(text).split())
    return line if len(line) <= NOTE_TITLE_CHARS else line[: NOTE_TITLE_CHARS - 1].rstrip() + "…"


def make_note(
    text: str, *, session_id: str, day: dt.date, speaker: str, date_source: str = "written"
) -> Session:
    text = clean_note_text(text)
    body, turns = build_text([Turn(speaker, text)])
    imported_at = _now()
    # Unique to this note: two notes of the same words on different days are two notes.
    digest = hashlib.sha256(f"note\0{imported_at}\0{secrets.token_hex(8)}\0{text}".encode())
    return Session(
        id=session_id,
        title=note_title(text),
        date=day,
        date_source=date_source,
        source_file="",
        content_hash=digest.hexdigest(),
        imported_at=imported_at,
        format="note",
        text=body,
        turns=turns,
        kind=NOTE,
    )


def finished_memo(
    store: SessionStore, path: Path, pending: PendingRecording, day: dt.date | None
) -> Session:
    """A voice memo transcribed to its end, as its note: by `reflect note --recording` or by
    an import that carried it on (its pending record says it is a memo). RecordingError if no
    speech was heard, its pending record then discarded rather than left unable to finish."""
    from reflect import voice_memo

    me = store.settings().me
    when, date_source = voice_memo.memo_date(path, day)
    try:
        return voice_memo.memo_note(
            pending,
            speaker=me[0] if me else NOTE_SPEAKER,
            day=when,
            date_source=date_source,
            title=note_title,
        )
    except ReflectError:
        store.discard_pending(pending.content_hash)
        raise


def make_handout(
    path: Path,
    *,
    session_id: str,
    title: str | None = None,
    day: dt.date | None = None,
    given_by: str | None = None,
    today: dt.date | None = None,
) -> Session:
    """The handout at `path` as a record ready to store. HandoutError, naming the file, when
    it can't be read; nothing is stored then."""
    handout = read_handout(path)
    numbers = [n for n, _ in handout.pages]
    body, turns = build_text([Turn(None, text) for _, text in handout.pages])
    chosen_title = (
        " ".join(terminal(title or handout.title or "").split())
        or " ".join(terminal(path.stem).replace("_", " ").split())
        or "Handout"
    )
    extra: dict[str, object] = {PAGES: numbers}
    if given_by and given_by.strip():
        extra[HANDOUT_INFO] = {"given_by": " ".join(terminal(given_by).split())}
    return Session(
        id=session_id,
        title=chosen_title,
        date=day or today or dt.date.today(),
        date_source="option" if day else "imported",
        source_file=path.name,
        content_hash=f"handout:{handout.digest}",
        imported_at=_now(),
        format=handout.format,
        text=body,
        turns=turns,
        extra=extra,
        kind=HANDOUT,
    )


def given_by(session: Session) -> str | None:
    info = session.extra.get(HANDOUT_INFO)
    value = info.get("given_by") if isinstance(info, dict) else None
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Stored:
    """What storing a note or handout did: the record, and whether it was there already."""

    session: Session | SessionSummary
    duplicate: bool = False


class Documents:
    """Notes and handouts in one vault: written, listed, edited, removed. Reached through
    `Reflect.documents`; it keeps the in-memory search index up to date when one is open."""

    def __init__(
        self,
        store: SessionStore,
        live_index: Callable[[], LiveIndex],
        index_open: Callable[[], bool],
        *,
        transcriber: TranscriberFactory | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self._store = store
        self._live_index = live_index
        self._index_open = index_open
        # For voice memos: the speech model sessions' recordings use, and the event that
        # locking the vault sets to stop a transcription within a segment.
        self._transcriber = transcriber
        self._stop = stop

    # ---- listing -------------------------------------------------------------------------

    def notes(self) -> list[SessionSummary]:
        """The user's notes, oldest first (numbered from 1 as `reflect notes` lists them)."""
        return [s for s in self._store.catalog() if s.kind == NOTE]

    def handouts(self) -> list[SessionSummary]:
        return [s for s in self._store.catalog() if s.kind == HANDOUT]

    def read(self, summary: SessionSummary) -> Session:
        """A note or handout as listed by `notes()` or `handouts()`."""
        return self._store.get(summary.id)

    def note(self, reference: str) -> Session:
        return self._store.get(self._resolve(reference, NOTE).id)

    def handout(self, reference: str) -> Session:
        return self._store.get(self._resolve(reference, HANDOUT).id)

    def _resolve(self, reference: str, kind: str) -> SessionSummary:
        """A note or handout by its list number (1 = oldest), id or unique id prefix."""
        listed = self.notes() if kind == NOTE else self.handouts()
        what = "note" if kind == NOTE else "handout"
        ref = reference.strip()
        if ref.isdigit() and 1 <= int(ref) <= len(listed) and len(ref) < 6:
            return listed[int(ref) - 1]
        matches = [s for s in listed if s.id == ref] or (
            [s for s in listed if s.id.startswith(ref)] if len(ref) >= 3 else []
        )
        if len(matches) == 1:
            return matches[0]
        command = f"reflect {what}s"
        if matches:
            raise UsageError(f"More than one {what} matches {reference!r}; use its id.")
        raise SessionNotFound(f"No {what} matches {reference!r}. `{command}` lists them.")

    # ---- writing -------------------------------------------------------------------------

    def write_note(self, text: str, *, day: dt.date | None = None) -> Session:
        me = self._store.settings().me
        session = make_note(
            text,
            session_id=self._store.new_session_id(),
            day=day or dt.date.today(),
            speaker=me[0] if me else NOTE_SPEAKER,
            date_source="option" if day else "written",
        )
        self._store_new(session)
        return session

    def record_note(
        self,
        path: Path,
        *,
        day: dt.date | None = None,
        on_progress: Callable[[TranscriptionProgress], None] | None = None,
    ) -> Stored:
        """A voice memo (an audio file the user recorded) transcribed here and kept as a
        note, its audio sealed with it (reflect/voice_memo.py). RecordingError, naming the
        file, if it can't be; an interrupted memo carries on when given again."""
        from reflect import voice_memo

        if self._transcriber is None:
            raise UsageError("No speech model is available to transcribe a voice memo.")
        digest = voice_memo.memo_hash(path)
        same = self._store.find_by_hash(digest)
        if same is not None:
            return Stored(same, duplicate=True)
        if self._stop is not None:
            self._stop.clear()
        pending = voice_memo.transcribe_memo(
            self._store,
            path,
            digest,
            self._transcriber,
            on_progress=on_progress,
            should_stop=self._stop.is_set if self._stop is not None else None,
        )
        if pending is None:
            raise voice_memo.stopped_error(path)
        note = finished_memo(self._store, path, pending, day)
        existing = self._store_new(note, finishes=pending.name)
        return Stored(existing, duplicate=True) if existing is not None else Stored(note)

    def edit_note(self, reference: str, text: str) -> Session:
        """The note's words replaced (its date kept); its index record rebuilt with it."""
        current = self.note(reference)
        text = clean_note_text(text)
        speaker = current.turns[0].speaker if current.turns else NOTE_SPEAKER
        body, turns = build_text([Turn(speaker, text)])
        edited = dataclasses.replace(current, text=body, turns=turns, title=note_title(text))
        record = self._live_index().record_for(edited)

        def rewrite(stored: Session) -> None:
            stored.text, stored.turns, stored.title = edited.text, edited.turns, edited.title

        saved = self._store.edit(current.id, rewrite, index_record=record)
        assert saved is not None  # `rewrite` never declines
        if self._index_open():
            self._live_index().add(saved, record)
        return saved

    def import_handout(
        self,
        path: Path,
        *,
        title: str | None = None,
        day: dt.date | None = None,
        given_by: str | None = None,
    ) -> Stored:
        session = make_handout(
            path,
            session_id=self._store.new_session_id(),
            title=title,
            day=day,
            given_by=given_by,
        )
        same = self._store.find_by_hash(session.content_hash)
        if same is not None:
            return Stored(same, duplicate=True)
        existing = self._store_new(session)
        return Stored(existing, duplicate=True) if existing is not None else Stored(session)

    def _store_new(self, session: Session, finishes: str | None = None) -> SessionSummary | None:
        record = self._live_index().record_for(session)
        existing = self._store.add(session, record, finishes=finishes)
        if existing is None and self._index_open():
            self._live_index().add(session, record)
        return existing

    def remove_note(self, reference: str) -> SessionSummary:
        return self._remove(self._resolve(reference, NOTE))

    def remove_handout(self, reference: str) -> SessionSummary:
        return self._remove(self._resolve(reference, HANDOUT))

    def _remove(self, summary: SessionSummary) -> SessionSummary:
        self._store.remove(summary.id)
        if self._index_open():
            self._live_index().remove(summary.id)
        return summary
