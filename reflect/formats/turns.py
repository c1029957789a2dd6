"""Shared last step of every parser: clean the pieces it found and merge them into turns."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from reflect.transcript import Turn

# Control characters are never words; a stray one (a DOS end-of-file mark, a form feed) would
# otherwise end up inside a turn. Replaced by a space, not removed, so words never fuse.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACE_RUN = re.compile(r"[^\S\n]+")


def clean_text(text: str) -> str:
    """Collapse spaces, trim every line and drop empty ones; the words stay exactly as written.

    Lines are kept apart by a single newline, never a blank line: the session store joins
    turns with blank lines, so a blank line inside a turn would look like a turn boundary.
    """
    text = _CONTROL_CHARS.sub(" ", text)
    lines = (_SPACE_RUN.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def one_line(text: str) -> str:
    """Text on a single line with single spaces, for names and titles."""
    return " ".join(_CONTROL_CHARS.sub(" ", text).split())


def clean_speaker(raw: object) -> str | None:
    """A speaker name as written, or None when there is no usable one."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    return one_line(str(raw)) or None


def seconds(value: object) -> float | None:
    """A time in seconds we can trust (finite, not negative), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        as_float = float(value)
    except OverflowError:  # an int too large for a float
        return None
    if not math.isfinite(as_float) or as_float < 0:
        return None
    return as_float


def build_turns(pieces: Iterable[Turn], *, joiner: str = " ") -> list[Turn]:
    """Clean pieces, drop empty ones and merge consecutive pieces of the same named speaker.

    Unnamed pieces are never merged: without a name nothing says two pieces are one person's
    speech, and merging every cue of an unlabelled subtitle file would make one huge turn.
    A merged turn keeps the first start and the last end. An end before its start (a damaged
    or hand-edited file) is dropped rather than guessed.
    """
    groups: list[list[Turn]] = []
    for piece in pieces:
        text = clean_text(piece.text)
        if not text:
            continue
        turn = Turn(clean_speaker(piece.speaker), text, seconds(piece.start), seconds(piece.end))
        if groups and turn.speaker is not None and groups[-1][0].speaker == turn.speaker:
            groups[-1].append(turn)
        else:
            groups.append([turn])
    return [_merged(group, joiner) for group in groups]


def _merged(group: list[Turn], joiner: str) -> Turn:
    starts = [turn.start for turn in group if turn.start is not None]
    ends = [turn.end for turn in group if turn.end is not None]
    start = starts[0] if starts else None
    end = ends[-1] if ends else None
    if start is not None and end is not None and end < start:
        end = None
    return Turn(group[0].speaker, joiner.join(turn.text for turn in group), start, end)
