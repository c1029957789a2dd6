"""Plain-text and Markdown transcripts, Otter.ai exports among them. DOCX reuses this on its
paragraphs.

Three layouts, chosen per file:

- Otter.ai style: a header line "Speaker Name  0:03" (name, spaces, time) and the speech on
  the lines below it, up to the next header. Chosen when such headers (judged like labels,
  see `labels`) are at least as many as "Speaker:" lines.
- Labelled: "Speaker: text" lines, optionally after a time ([00:01:23], (1:23), 00:01:23,
  [01:23.5]). A line without a label continues the current speaker's turn: joined with a
  space (a wrapped line), or with a newline after a blank line (a new paragraph).
- Unlabelled: no accepted labels at all; each paragraph (lines up to a blank line) is a turn.
  In a file where most lines start with a time, each timed line starts a new turn.

A time at the start of a line is only read as a time when the line also has a speaker label
or when at least half the lines start with one; otherwise "10:30 was too early" keeps its
words.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from reflect.errors import TranscriptError
from reflect.formats.filename_dates import find_iso_date
from reflect.formats.labels import (
    LABEL,
    TIME,
    Candidate,
    LabelledLine,
    accepted_labels,
    match_label,
    parse_time,
    split_time_prefix,
)
from reflect.formats.turns import build_turns, one_line
from reflect.transcript import ParsedTranscript, Turn

_OTTER_HEADER = re.compile(rf"(?P<label>{LABEL})[ \t]+(?P<time>{TIME})")
_OTTER_FOOTER = re.compile(r"transcribed by https?://(?:www\.)?otter\.ai/?", re.IGNORECASE)

_MARKDOWN_HEADING = re.compile(r"(?P<level>#{1,6})(?:[ \t]+(?P<text>.*?))?[ \t#]*")
_MARKDOWN_BULLET = re.compile(r"[-*+][ \t]+")
_MARKDOWN_RULE = re.compile(r"(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,}")
_FRONT_MATTER_FENCE = "---"
_FRONT_MATTER_MAX_LINES = 40
_FRONT_MATTER_ENTRY = re.compile(r"(?P<key>[A-Za-z_][\w-]*)[ \t]*:[ \t]*(?P<value>.*)")


@dataclass(slots=True)
class TextLayout:
    turns: list[Turn]
    style: str  # "otter" | "labelled" | "unlabelled"
    title: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class _Line:
    text: str  # stripped; "" for a blank line
    time: float | None  # a time at the start of the line, if it has one
    after_time: str  # the line without that time
    label: LabelledLine | None  # a candidate "Speaker:" label (after the time)
    otter_header: tuple[str, float | None] | None

    @classmethod
    def read(cls, raw: str) -> _Line:
        text = raw.strip()
        time, after_time = split_time_prefix(text)
        otter = _OTTER_HEADER.fullmatch(text)
        return cls(
            text=text,
            time=time,
            after_time=after_time,
            label=match_label(after_time),
            otter_header=(otter["label"], parse_time(otter["time"])) if otter else None,
        )


@dataclass(slots=True)
class _TurnBuilder:
    """Collects turns line by line; unnamed turns end at a blank line, named ones go on."""

    pieces: list[Turn] = field(default_factory=list)
    _speaker: str | None = None
    _start: float | None = None
    _paragraphs: list[list[str]] = field(default_factory=list)
    _open: bool = False

    def start_turn(self, speaker: str | None, start: float | None, text: str = "") -> None:
        self._flush()
        self._speaker, self._start, self._paragraphs, self._open = speaker, start, [[]], True
        if text:
            self._paragraphs[-1].append(text)

    def add_text(self, text: str) -> None:
        if not self._open:
            self.start_turn(None, None)
        self._paragraphs[-1].append(text)

    def blank_line(self) -> None:
        if not self._open:
            return
        if self._speaker is None:
            self._flush()
        elif self._paragraphs[-1]:
            self._paragraphs.append([])

    @property
    def has_named_turn(self) -> bool:
        return self._open and self._speaker is not None

    def finish(self) -> list[Turn]:
        self._flush()
        return self.pieces

    def _flush(self) -> None:
        if self._open:
            text = "\n".join(" ".join(lines) for lines in self._paragraphs if lines)
            self.pieces.append(Turn(self._speaker, text, self._start, None))
        self._open = False


def parse_text(text: str, filename: str, *, markdown: bool) -> ParsedTranscript:
    layout = parse_lines(text.split("\n"), markdown=markdown)
    if not layout.turns:
        raise TranscriptError(filename, "no transcript text was found in this file")
    format_name = "markdown" if markdown else "text"
    if layout.style == "otter":
        format_name = "otter"
    return ParsedTranscript(
        turns=layout.turns, format=format_name, title=layout.title, date=layout.date
    )


def parse_lines(raw_lines: list[str], *, markdown: bool = False) -> TextLayout:
    """Turns from the lines of a text (or the paragraphs of a document)."""
    title: str | None = None
    date: dt.date | None = None
    if markdown:
        raw_lines, title, date = _without_markdown(raw_lines)
    lines = [_Line.read(raw) for raw in raw_lines if not _OTTER_FOOTER.fullmatch(raw.strip())]
    non_empty = sum(1 for line in lines if line.text)

    # An Otter header's speech is on the lines below it, so it always counts as followed by text.
    otter_speakers = accepted_labels(
        (Candidate(line.otter_header[0], True) for line in lines if line.otter_header), non_empty
    )
    label_speakers = accepted_labels(_label_candidates(lines), non_empty)
    otter_headers = sum(
        1 for line in lines if line.otter_header and line.otter_header[0] in otter_speakers
    )
    labelled_lines = sum(1 for line in lines if line.label and line.label.label in label_speakers)

    if otter_headers and otter_headers >= labelled_lines:
        pieces, style = _otter_turns(lines, otter_speakers), "otter"
    else:
        pieces = _labelled_turns(lines, label_speakers, non_empty)
        style = "labelled" if label_speakers else "unlabelled"
    return TextLayout(build_turns(pieces, joiner="\n"), style, title, date)


def _label_candidates(lines: list[_Line]) -> list[Candidate]:
    """Each "Speaker:" line, and whether speech follows it: on the same line, or (for a label
    alone on its line) on the next non-empty line, when that is not a label itself."""
    candidates: list[Candidate] = []
    following: _Line | None = None  # the next non-empty line, walking backwards
    for line in reversed(lines):
        if line.label is not None:
            speech_below = following is not None and following.label is None
            candidates.append(Candidate(line.label.label, bool(line.label.text) or speech_below))
        if line.text:
            following = line
    return candidates


def _otter_turns(lines: list[_Line], speakers: frozenset[str]) -> list[Turn]:
    builder = _TurnBuilder()
    for line in lines:
        header = line.otter_header
        if header and header[0] in speakers:
            builder.start_turn(header[0], header[1])
        elif not line.text:
            builder.blank_line()
        else:
            builder.add_text(line.text)
    return builder.finish()


def _labelled_turns(lines: list[_Line], speakers: frozenset[str], non_empty: int) -> list[Turn]:
    timed_lines = sum(1 for line in lines if line.time is not None)
    times_are_structure = non_empty > 0 and timed_lines * 2 >= non_empty
    builder = _TurnBuilder()
    pending_start: float | None = None  # a time alone on its line, for the turn below it
    for line in lines:
        if not line.text:
            builder.blank_line()
            continue
        label = line.label if line.label and line.label.label in speakers else None
        if label is not None:
            start = next((t for t in (label.time, line.time, pending_start) if t is not None), None)
            builder.start_turn(label.label, start, label.text)
            pending_start = None
        elif line.time is not None and times_are_structure:
            if builder.has_named_turn and speakers:
                if line.after_time:
                    builder.add_text(line.after_time)
                else:
                    pending_start = line.time
            else:
                builder.start_turn(None, line.time, line.after_time)
        else:
            builder.add_text(line.text)
    return builder.finish()


def _without_markdown(lines: list[str]) -> tuple[list[str], str | None, dt.date | None]:
    """Lines with Markdown structure removed, plus a title and date it declared.

    Headings and rules become blank lines (they separate, they are not speech); the first
    level-1 heading is the title unless YAML front matter gives one.
    """
    lines, title, date = _without_front_matter(lines)
    kept: list[str] = []
    for raw in lines:
        line = raw.strip()
        heading = _MARKDOWN_HEADING.fullmatch(line)
        if heading:
            heading_text = one_line(heading["text"] or "")
            if title is None and heading["level"] == "#" and heading_text:
                title = heading_text
            kept.append("")
        elif _MARKDOWN_RULE.fullmatch(line):
            kept.append("")
        else:
            bullet = _MARKDOWN_BULLET.match(line)
            kept.append(line[bullet.end() :] if bullet else line)
    return kept, title, date


def _without_front_matter(lines: list[str]) -> tuple[list[str], str | None, dt.date | None]:
    if not lines or lines[0].strip() != _FRONT_MATTER_FENCE:
        return lines, None, None
    for end in range(1, min(len(lines), _FRONT_MATTER_MAX_LINES)):
        if lines[end].strip() in (_FRONT_MATTER_FENCE, "..."):
            break
    else:
        return lines, None, None
    entries: dict[str, str] = {}
    for line in lines[1:end]:
        entry = _FRONT_MATTER_ENTRY.fullmatch(line.strip())
        if entry is None and line.strip():
            return lines, None, None  # not YAML key-values: a rule followed by text
        if entry is not None:
            entries[entry["key"].lower()] = entry["value"].strip().strip("\"'")
    title = one_line(entries.get("title", "")) or None
    date = find_iso_date(entries.get("date", ""))
    return ["", *lines[end + 1 :]], title, date
