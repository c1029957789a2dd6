"""WebVTT subtitles (.vtt): Zoom ("Name: text" in the cue), Teams (<v Name>text</v>) and
plain captions. Read with webvtt-py, from memory only."""

from __future__ import annotations

import html
import io
import re

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from reflect.errors import TranscriptError
from reflect.formats.cues import Cue, turns_from_cues
from reflect.formats.filename_dates import find_iso_date
from reflect.transcript import ParsedTranscript

# <v Mara>, <v.loud Dr. Okafor>; the annotation after the classes is the speaker's name.
_VOICE_TAG = re.compile(r"<v(?:\.[^\s>.]+)*(?:[ \t]+(?P<name>[^>]*))?>")
_ANY_TAG = re.compile(r"<[^>]*>")  # <b>, </i>, <c.yellow>, </v>, <00:00:01.500> ...
_SRT_TIMING = re.compile(r"\d{1,2}:\d{2}:\d{2},\d{1,3}\s*-->")


def parse_vtt(text: str, filename: str) -> ParsedTranscript:
    # webvtt-py also reads paths, but transcripts must never be written to disk, so it only
    # ever gets an in-memory buffer.
    try:
        captions = webvtt.from_buffer(io.StringIO(text.lstrip()))
    except MalformedFileError:
        if _SRT_TIMING.search(text):
            reason = "this is a SubRip subtitle file with a .vtt name; rename it to .srt"
        else:
            reason = "this doesn't look like a WebVTT subtitle file (no WEBVTT header)"
        raise TranscriptError(filename, reason) from None  # the cause quotes file content
    except MalformedCaptionError:
        raise TranscriptError(filename, "a subtitle cue in this file is damaged") from None

    cues: list[Cue] = []
    for caption in captions.captions:
        start = caption.start_time.in_milliseconds() / 1000
        end = caption.end_time.in_milliseconds() / 1000
        cues.extend(_voice_parts(caption.raw_text, start, end))

    # A cue whose timing line webvtt-py cannot read is skipped without a word; count them so
    # the user hears that part of the session is missing.
    timing_lines = sum(1 for line in text.split("\n") if "-->" in line)
    skipped = max(0, timing_lines - len(captions.captions))
    if not captions.captions:
        raise TranscriptError(filename, "this subtitle file has no cues with readable times")

    turns = turns_from_cues(cues)
    if not turns:
        raise TranscriptError(filename, "the subtitle cues in this file are all empty")
    comments = [*captions.header_comments, *captions.footer_comments]
    comments += [comment for caption in captions.captions for comment in caption.comments]
    dates = (find_iso_date(comment) for comment in comments)
    warnings = [f"{skipped} cue(s) with unreadable times were skipped"] if skipped else []
    return ParsedTranscript(
        turns=turns,
        format="vtt",
        date=next((date for date in dates if date is not None), None),
        warnings=warnings,
    )


def _voice_parts(raw_text: str, start: float, end: float) -> list[Cue]:
    """The cue split at each voice tag, each part with its speaker (None before the first)."""
    parts: list[Cue] = []
    voice: str | None = None
    position = 0
    for match in _VOICE_TAG.finditer(raw_text):
        parts.append(Cue(_plain_lines(raw_text[position : match.start()]), start, end, voice))
        voice = " ".join((match["name"] or "").split()) or None
        position = match.end()
    parts.append(Cue(_plain_lines(raw_text[position:]), start, end, voice))
    return [part for part in parts if any(line.strip() for line in part.lines)]


def _plain_lines(cue_text: str) -> list[str]:
    return html.unescape(_ANY_TAG.sub("", cue_text)).split("\n")
