"""A voice memo kept as a note: the user's own recording of their thoughts between sessions.

It goes through the recordings path (reflect/recording.py): the same size checks, the same
transcriber, the same pending record committed piece by piece (so an interrupted memo carries
on where it stopped) and the same sealed copy of the audio, so `p` plays a quote of it. What
differs is what it becomes: a note (reflect/documents.py), every word the user's, dated by
--date, else the date in the file's name, else the day the file was last changed.

No consent question is asked, unlike a session's recording (reflect/consent.py): a memo is
the user's own voice alone, not a conversation with a therapist who must agree to it.

Its identity is the file's bytes, as for a session's recording: the same file given again,
as a memo or as a session, is recognised as already in the vault.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from reflect.errors import RecordingError
from reflect.formats import date_from_filename
from reflect.recording import (
    RECORDING_FORMAT,
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
from reflect.session import NOTE, Session, build_text
from reflect.transcript import Turn

if TYPE_CHECKING:
    from reflect.store import SessionStore

# A memo is cut into paragraphs at pauses, and a paragraph is kept short enough that playing
# a quote (which starts at its paragraph) starts near the words quoted.
PARAGRAPH_PAUSE_SECONDS = 1.5
PARAGRAPH_MAX_SECONDS = 40.0


def memo_date(path: Path, day: dt.date | None) -> tuple[dt.date, str]:
    """The memo's date and where it came from."""
    if day is not None:
        return day, "option"
    named = date_from_filename(path.name)
    if named is not None:
        return named, "filename"
    return dt.date.fromtimestamp(path.stat().st_mtime), "modified"


def memo_hash(path: Path) -> str:
    """The memo's identity (its bytes); RecordingError, naming the file, if it can't be one."""
    check_size(path)
    return file_hash(path)


def transcribe_memo(
    store: SessionStore,
    path: Path,
    digest: str,
    transcriber_factory: TranscriberFactory,
    *,
    on_progress: Callable[[TranscriptionProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> PendingRecording | None:
    """The memo's words, transcribed piece by piece into its pending record (carrying on
    from an earlier run); None if stopped before the end (the pending record stays)."""
    pending = store.find_pending(digest)
    if pending is not None and pending.kind != NOTE:
        # Begun by `reflect import` as a session's recording (its consent asked): it ends as
        # that session, never quietly as a note.
        raise RecordingError(
            f"{path.name}: its transcription was begun as a session's recording; "
            "`reflect import` with the same file carries it on."
        )
    transcriber = transcriber_factory()
    if pending is None:
        model_id = str(getattr(transcriber, "model_id", type(transcriber).__name__))
        pending = start_pending(store, path, digest, RecordingOptions(kind=NOTE), model_id)
    finished = transcribe_pending(
        store, path, pending, transcriber, on_progress=on_progress, should_stop=should_stop
    )
    return pending if finished else None


def memo_turns(pending: PendingRecording, speaker: str) -> list[Turn]:
    """The memo's segments as paragraphs, all the user's."""
    turns: list[Turn] = []
    for start, end, text, _channel in pending.segments:
        last = turns[-1] if turns else None
        if (
            last is not None
            and last.end is not None
            and last.start is not None
            and start - last.end <= PARAGRAPH_PAUSE_SECONDS
            and end - last.start <= PARAGRAPH_MAX_SECONDS
        ):
            turns[-1] = Turn(speaker, f"{last.text} {text}", last.start, max(last.end, end))
        else:
            turns.append(Turn(speaker, text, start, end))
    return turns


def memo_note(
    pending: PendingRecording,
    *,
    speaker: str,
    day: dt.date,
    date_source: str,
    title: Callable[[str], str],
) -> Session:
    """The transcribed memo as a note, with its recording's details (and sealed audio's name)
    as a session's recording has them. RecordingError if no speech was heard in it."""
    recorded = build_recording_session(pending, date=day, date_source=date_source, title="")
    text, turns = build_text(memo_turns(pending, speaker))
    recorded.text, recorded.turns = text, turns
    recorded.title = title(text)
    recorded.kind = NOTE
    recorded.format = RECORDING_FORMAT
    return recorded


def stopped_error(path: Path) -> RecordingError:
    return RecordingError(
        f"{path.name}: transcription paused; `reflect note --recording` with the same file "
        "carries on where it stopped."
    )
