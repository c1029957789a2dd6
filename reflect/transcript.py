"""What a transcript is once parsed, independent of the file format it came from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Turn:
    """One speaker's contiguous speech. Times are seconds into the recording, when known."""

    speaker: str | None
    text: str
    start: float | None = None
    end: float | None = None


@dataclass(slots=True)
class ParsedTranscript:
    """The output of every format parser.

    `date` and `title` are only set when the file itself carries them (a DOCX core property,
    a Whisper/Otter header, a VTT NOTE with a date...); the importer decides the final values.
    """

    turns: list[Turn]
    format: str
    title: str | None = None
    date: dt.date | None = None
    warnings: list[str] = field(default_factory=list)
