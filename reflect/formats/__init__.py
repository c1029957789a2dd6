"""Reading transcript files into `ParsedTranscript`s.

`parse_transcript(data, filename)` picks the parser by extension and either returns turns or
raises `TranscriptError` with a short plain-English reason; it raises nothing else. Nothing
here writes to disk: libraries that can read paths are only given in-memory buffers.

`ParsedTranscript.format` is one of: "vtt", "srt", "text", "markdown", "otter" (an Otter.ai
style .txt/.md), "whisper-json", "json" (a list of turns), "docx". A .txt file holding WebVTT
or SubRip subtitles is read as subtitles.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import PurePath

from reflect.errors import TranscriptError
from reflect.formats.encoding import decode_text, known_binary_kind
from reflect.formats.filename_dates import date_from_filename
from reflect.formats.plaintext import parse_text
from reflect.formats.subrip import parse_srt
from reflect.formats.vtt import parse_vtt
from reflect.formats.whisper_json import parse_json
from reflect.formats.word import parse_docx
from reflect.transcript import ParsedTranscript

__all__ = [
    "MAX_TEXT_BYTES",
    "SUPPORTED_EXTENSIONS",
    "date_from_filename",
    "decode_text",
    "parse_transcript",
]

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset({".vtt", ".srt", ".txt", ".md", ".json", ".docx"})

# A two-hour session is about 150 KB of text; 20 MB is far past any real transcript and keeps
# a wrongly picked file (a log, a data dump) from stalling the import.
MAX_TEXT_BYTES = 20 * 1024 * 1024

_log = logging.getLogger(__name__)


def _markdown(text: str, filename: str) -> ParsedTranscript:
    return parse_text(text, filename, markdown=True)


# Subtitles saved with a .txt name ("Download transcript" buttons do this) would otherwise
# read as text with "-->" lines in every turn.
_SUBRIP_START = re.compile(r"\d+[ \t]*\n[ \t]*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}[ \t]*-->")


def _plain_text(text: str, filename: str) -> ParsedTranscript:
    start = text.lstrip()
    if start.startswith("WEBVTT"):
        return parse_vtt(text, filename)
    if _SUBRIP_START.match(start):
        return parse_srt(text, filename)
    return parse_text(text, filename, markdown=False)


_TEXT_PARSERS: dict[str, Callable[[str, str], ParsedTranscript]] = {
    ".vtt": parse_vtt,
    ".srt": parse_srt,
    ".txt": _plain_text,
    ".md": _markdown,
    ".json": parse_json,
}


def parse_transcript(data: bytes, filename: str) -> ParsedTranscript:
    """The turns in a transcript file. `filename` is a display name; only its extension is
    used, to choose the format."""
    extension = PurePath(filename).suffix.lower()
    if extension == ".pdf":
        # PDFs are what therapists hand out, not transcripts (reflect/handouts.py).
        raise TranscriptError(filename, "a PDF is imported as a handout: add --handout")
    if extension not in SUPPORTED_EXTENSIONS:
        raise TranscriptError(
            filename, "this file type isn't supported (use .vtt, .srt, .txt, .md, .json or .docx)"
        )
    if not data.strip():
        raise TranscriptError(filename, "the file is empty")
    try:
        if extension == ".docx":
            parsed = parse_docx(data, filename, max_text_bytes=MAX_TEXT_BYTES)
        else:
            parsed = _TEXT_PARSERS[extension](_read_text(data, filename), filename)
        _check_unicode(parsed, filename)
        return parsed
    except TranscriptError:
        raise
    except Exception as error:
        # A parser bug or a library failure nobody foresaw. The user still gets a plain
        # message; the log gets only the error type, since library messages quote the file.
        _log.warning("unexpected %s while parsing a %s file", type(error).__name__, extension)
        raise TranscriptError(filename, "this file couldn't be read as a transcript") from None


def _check_unicode(parsed: ParsedTranscript, filename: str) -> None:
    """A JSON escape can name half of a UTF-16 pair ("\\ud800"), which no UTF-8 text can
    hold: storing it would fail mid-import, so the file is refused here, by name."""
    texts = [parsed.title or ""]
    for turn in parsed.turns:
        texts += (turn.text, turn.speaker or "")
    try:
        for text in texts:
            text.encode("utf-8")
    except UnicodeEncodeError:
        raise TranscriptError(
            filename, "this file holds text that isn't valid Unicode text (a broken character)"
        ) from None


def _read_text(data: bytes, filename: str) -> str:
    if len(data) > MAX_TEXT_BYTES:
        raise TranscriptError(filename, "the file is too large to be a transcript (over 20 MB)")
    binary_kind = known_binary_kind(data)
    if binary_kind is not None:
        raise TranscriptError(filename, binary_kind)
    text = decode_text(data, filename)
    if not text.strip():
        raise TranscriptError(filename, "the file is empty")
    return text
