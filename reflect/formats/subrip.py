"""SubRip subtitles (.srt), read with the `srt` library; speakers as "Name: text" in cues."""

from __future__ import annotations

import re

import srt

from reflect.errors import TranscriptError
from reflect.formats.cues import Cue, turns_from_cues
from reflect.transcript import ParsedTranscript

# SubRip players accept HTML-like tags (<i>, <font color=...>) and ASS overrides ({\an8}).
_FORMATTING = re.compile(r"<[^>]*>|\{\\[^}]*\}")


def parse_srt(text: str, filename: str) -> ParsedTranscript:
    # Strict parsing on purpose: with ignore_errors=True the library logs the unreadable
    # part of the file, which would put transcript text into the logs.
    try:
        subtitles = list(srt.parse(text))
    except (srt.SRTParseError, srt.TimestampParseError, ValueError, OverflowError):
        if text.lstrip().startswith("WEBVTT"):
            reason = "this is a WebVTT subtitle file with a .srt name; rename it to .vtt"
        else:
            reason = "this doesn't look like a SubRip (.srt) file, or part of it is damaged"
        raise TranscriptError(filename, reason) from None  # the cause quotes file content
    if not subtitles:
        raise TranscriptError(filename, "this subtitle file has no cues")

    cues = [
        Cue(
            lines=_FORMATTING.sub("", subtitle.content).split("\n"),
            start=subtitle.start.total_seconds(),
            end=subtitle.end.total_seconds(),
        )
        for subtitle in subtitles
    ]
    turns = turns_from_cues(cues)
    if not turns:
        raise TranscriptError(filename, "the subtitle cues in this file are all empty")
    return ParsedTranscript(turns=turns, format="srt")
