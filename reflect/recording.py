"""Importing a session recording: keep the audio sealed, transcribe it here, piece by piece.

A recording is split into pieces of about five minutes, cut at silences
(`reflect.audio.plan_windows`). Each piece is transcribed and its words are committed to the
vault at once, inside a "pending" record, so an interruption (Ctrl-C, SIGKILL, the lid
closing) loses at most the piece in flight: importing the same file again finds the pending
record by the file's hash and carries on from the first piece not stored. When the last
piece is done, the session, its index record and the removal of the pending record land in
one transaction, so a finished recording is either a whole session or still pending.

Nothing decoded is ever written anywhere: pieces are decoded from the user's own file into
memory, and the only copy reflect keeps of the audio is the sealed one in the vault.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reflect.errors import RecordingError
from reflect.records import PendingRecording, audio_name
from reflect.session import SESSION, Session, build_text
from reflect.speakers import CHANNEL_LABELS
from reflect.transcript import Turn

if TYPE_CHECKING:
    from reflect.asr import Transcriber
    from reflect.store import SessionStore

RECORDING_FORMAT = "recording"

# Whisper on 2 cores does a five-minute piece in well under a minute: small enough that an
# interruption costs little, large enough that Whisper has context for its sentences.
PIECE_SECONDS = 300.0
# Recordings of a therapy session are tens of MB; 4 GB is past any of them (a two-hour
# uncompressed WAV is about 1.4 GB) and stops a wrongly chosen file (a film) early.
MAX_RECORDING_BYTES = 4 * 1024**3
_READ_BLOCK = 1024 * 1024

TranscriberFactory = Callable[[], "Transcriber"]


class _Stopped(Exception):
    """Raised from the progress callback to leave a piece early when asked to stop."""


@dataclass(frozen=True, slots=True)
class RecordingOptions:
    language: str | None = None  # None: detected
    keep_audio: bool = True
    kind: str = SESSION  # what the finished transcription becomes (PendingRecording.kind)


@dataclass(frozen=True, slots=True)
class TranscriptionProgress:
    """Where the transcription of one recording stands. Bursts may be coalesced."""

    file: str
    audio_done: float  # seconds of the recording transcribed (this run and earlier ones)
    audio_total: float
    elapsed: float  # seconds spent in this run
    resumed_from: float = 0.0  # audio seconds already done before this run

    can_replace = True

    @property
    def realtime_factor(self) -> float | None:
        """Audio seconds transcribed per wall-clock second in this run (5.0 = five times
        faster than listening)."""
        done = self.audio_done - self.resumed_from
        return done / self.elapsed if self.elapsed > 0 and done > 0 else None

    @property
    def seconds_left(self) -> float | None:
        rate = self.realtime_factor
        return (self.audio_total - self.audio_done) / rate if rate else None


def file_hash(path: Path) -> str:
    """Identity of a recording: its bytes. Two exports of one session differ, and that is
    fine: a second import of the same file is what must be recognised."""
    digest = hashlib.sha256(b"reflect-recording\0")
    with path.open("rb") as f:
        while block := f.read(_READ_BLOCK):
            digest.update(block)
    return "rec-" + digest.hexdigest()


def _file_blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while block := f.read(_READ_BLOCK):
            yield block


def check_size(path: Path) -> int:
    size = path.stat().st_size
    if size == 0:
        raise RecordingError(f"{path.name}: the file is empty.")
    if size > MAX_RECORDING_BYTES:
        raise RecordingError(
            f"{path.name}: the file is {size / 1e9:.1f} GB; reflect takes recordings of at "
            f"most {MAX_RECORDING_BYTES // 1024**3} GB."
        )
    return size


def start_pending(
    store: SessionStore,
    path: Path,
    digest: str,
    options: RecordingOptions,
    model_id: str,
) -> PendingRecording:
    """Probe and plan the recording, then store the plan (and the sealed audio) at once."""
    from reflect import audio

    with path.open("rb") as f:
        info = audio.probe(f, name=path.name)
    if info.duration <= 0:
        raise RecordingError(
            f"{path.name}: no sound could be decoded from it; it may be damaged, or not a "
            "recording at all."
        )
    with path.open("rb") as f:
        windows = audio.plan_windows(f, name=path.name, target=PIECE_SECONDS)
    if not windows:
        raise RecordingError(f"{path.name}: no audio could be decoded from the file.")
    separate = False
    if info.channels == 2:
        with path.open("rb") as f:
            separate = audio.stereo_layout(f, name=path.name).separate
    pending = PendingRecording(
        content_hash=digest,
        session_id=store.new_session_id(),
        source_file=path.name,
        duration=windows[-1][1],
        channels=info.channels,
        codec=info.codec,
        container=info.container,
        separate_channels=separate,
        windows=[(float(a), float(b)) for a, b in windows],
        language=options.language,
        keep_audio=options.keep_audio,
        model=model_id,
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        kind=options.kind,
    )
    # Another import of the same file may have started meanwhile: then carry on with its job.
    return store.start_pending(pending, _file_blocks(path) if options.keep_audio else None)


def transcribe_pending(
    store: SessionStore,
    path: Path,
    pending: PendingRecording,
    transcriber: Transcriber,
    *,
    on_progress: Callable[[TranscriptionProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> bool:
    """Transcribe the pieces not yet stored, committing each. False if stopped early."""
    from reflect import audio
    from reflect.asr import transcribe_audio

    began = time.monotonic()
    resumed_from = pending.audio_done

    def report(position: float) -> None:
        # Checked between segments too, so locking the vault or Ctrl-C in the app stops
        # within seconds rather than at the end of a five-minute piece (which is redone).
        if should_stop is not None and should_stop():
            raise _Stopped
        if on_progress is not None:
            on_progress(
                TranscriptionProgress(
                    pending.source_file,
                    min(position, pending.duration),
                    pending.duration,
                    time.monotonic() - began,
                    resumed_from,
                )
            )

    try:
        report(resumed_from)
    except _Stopped:
        return False
    while pending.done < len(pending.windows):
        if should_stop is not None and should_stop():
            return False
        start, end = pending.windows[pending.done]
        with path.open("rb") as f:
            samples = audio.decode(f, name=path.name, start=start, end=end)
        try:
            found = transcribe_audio(
                transcriber,
                samples,
                offset=start,
                language=pending.language,
                separate_channels=pending.separate_channels,
                on_progress=report,
            )
        except _Stopped:
            return False
        if pending.language is None:
            # The first piece decides: one language for the whole session, so a quiet piece
            # of "mm-hmm" is not heard as another language.
            pending.language = next((s.language for s in found if s.language), None)
        pending.segments.extend(
            [round(s.start, 3), round(s.end, 3), s.text.strip(), s.channel]
            for s in found
            if s.text.strip()
        )
        pending.done += 1
        stored = store.save_pending(pending)
        if stored is not pending:  # another import of this recording is as far or further
            pending.done, pending.segments = stored.done, stored.segments
            pending.language = stored.language
        report(end)
    return True


def turns_of(pending: PendingRecording) -> list[Turn]:
    """Segments as turns: a speaker's consecutive segments joined when channels tell
    speakers apart; otherwise one unlabelled turn per segment (who spoke is unknown)."""
    from reflect.asr import Segment, merge_turns

    segments = [Segment(a, b, text, channel) for a, b, text, channel in pending.segments]
    turns = []
    for s in merge_turns(segments) if pending.separate_channels else segments:
        label = CHANNEL_LABELS[s.channel] if s.channel is not None else None
        turns.append(Turn(label, s.text, s.start, s.end))
    return turns


def build_recording_session(
    pending: PendingRecording,
    *,
    date: dt.date,
    date_source: str,
    title: str,
) -> Session:
    turns = turns_of(pending)
    if not turns:
        raise RecordingError(
            f"{pending.source_file}: no speech was found in the recording "
            f"({pending.duration / 60:.0f} minutes were listened to)."
        )
    text, stored = build_text(turns)
    return Session(
        id=pending.session_id,
        title=title,
        date=date,
        date_source=date_source,
        source_file=pending.source_file,
        content_hash=pending.content_hash,
        imported_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        format=RECORDING_FORMAT,
        text=text,
        turns=stored,
        extra={
            "recording": {
                "audio": audio_name(pending.session_id) if pending.keep_audio else None,
                "duration": pending.duration,
                "channels": pending.channels,
                "codec": pending.codec,
                "separate_channels": pending.separate_channels,
                "language": pending.language,
                "asr_model": pending.model,
            }
        },
    )
