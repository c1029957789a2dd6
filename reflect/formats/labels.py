"""Recognising "Speaker: text" labels and clock times written in transcript text.

Used by the plain-text parser and inside subtitle cues. The heuristic, in full:

- A *candidate* label is what comes before a colon at the start of a line: 1 to 4 words, at
  most 40 characters, starting with a letter ("Mara", "Dr. Okafor", "Speaker 2",
  "SPEAKER_01", "Mara (client)"). The colon is followed by a space and text, or ends the
  line (the text then follows on the next lines). A time such as "10:30" never qualifies:
  it starts with a digit and has no space after the colon.
- A candidate that recurs (two or more lines in the file) is a speaker, however written.
- A candidate seen once is a speaker only when the file is a labelled transcript (some label
  recurs, or labelled lines are at least half of the non-empty lines), the label is shaped
  like a name (every word starts with a capital, a digit or "(": "Dr. Okafor", "Speaker 3")
  and speech follows it (on its line, or below it when the label stands alone). So a
  therapist who speaks once still counts, while a wrapped line "and then I told her: stop"
  does not.
- A few words that introduce a remark rather than a person ("Note", "PS", "Summary"...) are
  never speakers, even when they recur: "Note: I felt..." inside a transcript stays text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

MAX_LABEL_CHARS = 40

# Minutes and seconds are 0-59; hours (optional) have up to two digits. A fraction of a
# second is allowed with a dot or a comma.
TIME = r"(?:\d{1,2}:)?[0-5]?\d:[0-5]\d(?:[.,]\d{1,3})?"

_FIRST_WORD = r"[^\W\d_][\w.'’\-]*"
_NEXT_WORD = r"[\w.'’()\-]+"
LABEL = rf"{_FIRST_WORD}(?:[ \t]+{_NEXT_WORD}){{0,3}}"
# Markdown bold or italic markers around a label: **Mara:**, **Mara**:, *Mara:*, __Mara__:
_EMPHASIS = r"(?:\*{1,2}|_{1,2})?"

_LABEL_LINE = re.compile(
    rf"{_EMPHASIS}(?P<label>{LABEL}){_EMPHASIS}"
    rf"(?:[ \t]*[\[(](?P<time>{TIME})[\])])?"
    rf"[ \t]*{_EMPHASIS}:{_EMPHASIS}(?:\s+(?P<text>.*))?"
)

_TIME_PREFIX = re.compile(
    rf"(?:\[(?P<bracketed>{TIME})\]|\((?P<parenthesised>{TIME})\)|(?P<bare>{TIME})(?=\s|$))"
    r"[ \t]*(?:[-–—|][ \t]+)?"
)

_NOT_SPEAKERS = frozenset(
    {
        "note", "notes", "nb", "n.b.", "ps", "p.s.", "pps", "edit", "update", "reminder",
        "summary", "homework", "todo", "to do", "date", "time", "title", "subject", "topic",
        "important",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Candidate:
    """A possible speaker label, and whether speech follows it."""

    label: str
    has_text: bool


@dataclass(frozen=True, slots=True)
class LabelledLine:
    label: str
    text: str
    time: float | None


def parse_time(value: str) -> float | None:
    """Seconds in a clock time like 1:23, 01:23.5 or 00:01:23,250."""
    if not re.fullmatch(TIME, value):
        return None
    whole, _, fraction = value.replace(",", ".").partition(".")
    total = 0.0
    for part in whole.split(":"):
        total = total * 60 + int(part)
    return total + (float("0." + fraction) if fraction else 0.0)


def split_time_prefix(line: str) -> tuple[float | None, str]:
    """A leading [00:01:23], (1:23) or 00:01:23 and the rest of the line."""
    match = _TIME_PREFIX.match(line)
    if not match:
        return None, line
    written = match.group("bracketed") or match.group("parenthesised") or match.group("bare")
    return parse_time(written), line[match.end() :]


def match_label(line: str) -> LabelledLine | None:
    """The candidate label at the start of `line` (already stripped), if any."""
    match = _LABEL_LINE.fullmatch(line)
    if not match:
        return None
    label = " ".join(match.group("label").strip("_*").split())
    if not label or len(label) > MAX_LABEL_CHARS or label.casefold() in _NOT_SPEAKERS:
        return None
    written_time = match.group("time")
    return LabelledLine(
        label=label,
        text=match.group("text") or "",
        time=parse_time(written_time) if written_time else None,
    )


def accepted_labels(candidates: Iterable[Candidate], non_empty_lines: int) -> frozenset[str]:
    """The candidate labels that are taken as speakers (see the module docstring)."""
    found = list(candidates)
    counts = Counter(candidate.label for candidate in found)
    recurring = {label for label, count in counts.items() if count >= 2}
    if not recurring and len(found) * 2 < non_empty_lines:
        return frozenset()
    one_offs = {
        candidate.label
        for candidate in found
        if counts[candidate.label] == 1 and candidate.has_text and _looks_like_name(candidate.label)
    }
    return frozenset(recurring | one_offs)


def _looks_like_name(label: str) -> bool:
    return all(word[0].isupper() or word[0].isdigit() or word[0] == "(" for word in label.split())
