"""JSON transcripts: Whisper / whisperX output and plain lists of turns.

Accepted shapes:
- {"text": ..., "segments": [{"start", "end", "text", optional "speaker"}], optional
  "language", "title", "date"}  (Whisper; whisperX adds "speaker" to segments)
- [{"speaker", "start", "end", "text"}, ...]  (any key but "text" may be missing)
- {"text": ...} without segments: the text alone, one turn per paragraph.

Consecutive segments of the same speaker are merged into one turn. Without speakers each
segment is its own turn: Whisper cuts segments at pauses, so they are already sensible units,
and any rule for regrouping them would be a guess.
"""

from __future__ import annotations

import json
from typing import Any

from reflect.errors import TranscriptError
from reflect.formats.filename_dates import find_iso_date
from reflect.formats.turns import build_turns, clean_speaker, one_line, seconds
from reflect.transcript import ParsedTranscript, Turn

_WRONG_SHAPE = "this JSON file isn't a transcript (expected Whisper output or a list of turns)"


def parse_json(text: str, filename: str) -> ParsedTranscript:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; deep nesting
        raise TranscriptError(filename, "this JSON file is incomplete or damaged") from None

    title: str | None = None
    date = None
    format_name = "json"
    if isinstance(data, dict):
        if isinstance(data.get("title"), str):
            title = one_line(data["title"]) or None
        if isinstance(data.get("date"), str):
            date = find_iso_date(data["date"])
        segments, whole_text = data.get("segments"), data.get("text")
        if isinstance(segments, list) and segments:
            items = segments
        elif isinstance(whole_text, str):
            items = [{"text": paragraph} for paragraph in whole_text.split("\n\n")]
        else:
            raise TranscriptError(filename, _WRONG_SHAPE)
        format_name = "whisper-json"
    elif isinstance(data, list):
        items = data
    else:
        raise TranscriptError(filename, _WRONG_SHAPE)

    pieces = [_piece(item) for item in items]
    usable = [piece for piece in pieces if piece is not None]
    if items and not usable:
        raise TranscriptError(filename, _WRONG_SHAPE)
    turns = build_turns(usable, joiner=" ")
    if not turns:
        raise TranscriptError(filename, "no transcript text was found in this file")
    skipped = len(pieces) - len(usable)
    warnings = [f"{skipped} JSON item(s) without text were skipped"] if skipped else []
    return ParsedTranscript(
        turns=turns, format=format_name, title=title, date=date, warnings=warnings
    )


def _piece(item: Any) -> Turn | None:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        return None
    # Speakers and times of any other type, negative or not finite, are just unknown.
    return Turn(
        clean_speaker(item.get("speaker")),
        item["text"],
        seconds(item.get("start")),
        seconds(item.get("end")),
    )
