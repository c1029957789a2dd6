"""An excerpt as lines of speech: who said which part of it, and when.

A hit's excerpt can span several turns; showing it as one block under one speaker's name
would misattribute words. Each line here is a slice of the stored text, nothing retyped.
"""

from __future__ import annotations

from dataclasses import dataclass

from reflect.session import Session


@dataclass(frozen=True, slots=True)
class ExcerptLine:
    speaker: str | None
    start: float | None
    text: str
    offset: int  # where `text` begins inside the excerpt (for mapping highlight spans)


def clock(seconds: float | None) -> str:
    """A time inside the recording: '4:05' or '1:02:09'; '' when the transcript has none."""
    if seconds is None:
        return ""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def excerpt_lines(session: Session, char_start: int, char_end: int) -> list[ExcerptLine]:
    lines = []
    for turn in session.turns:
        a, b = max(char_start, turn.char_start), min(char_end, turn.char_end)
        if a >= b:
            continue
        text = session.text[a:b]
        lines.append(ExcerptLine(turn.speaker, turn.start, text, a - char_start))
    return lines


def spans_in_line(line: ExcerptLine, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Highlight spans of the whole excerpt, clipped and shifted into one line."""
    out = []
    for a, b in spans:
        a2, b2 = max(a - line.offset, 0), min(b - line.offset, len(line.text))
        if a2 < b2:
            out.append((a2, b2))
    return out
