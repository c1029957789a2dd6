"""How sessions, speakers, times and excerpts read on screen.

Everything shown from a transcript is a slice of the stored text: these helpers only add
styles and labels around it, never retype it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence

from textual.content import Content

from reflect.excerpts import ExcerptLine, clock, spans_in_line
from reflect.retrieval import Hit
from reflect.safe_text import terminal
from reflect.sources import citation

HIGHLIGHT_STYLE = "bold $text-warning on $warning-muted"
MARKER_STYLE = "bold $text-accent"
ME_STYLE = "bold $text-primary"
OTHER_STYLE = "bold $text-secondary"
# Content styles take no "auto" colours, so $text-muted (auto 60%) is spelled out here.
QUIET_STYLE = "$foreground 60%"
QUOTE_STYLE = "on $accent-muted"

_MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")


def long_date(day: dt.date) -> str:
    """'8 January 2026': spelled out, so it reads the same in every English locale."""
    return f"{day.day} {day:%B %Y}"


def short_date(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def time_range(start: float | None, end: float | None) -> str:
    if start is None:
        return ""
    if end is None or clock(end) == clock(start):
        return clock(start)
    return f"{clock(start)}–{clock(end)}"


def citation_text(hit: Hit) -> str:
    """A quote and its citation line, as copied to the clipboard."""
    quote = " ".join(hit.text.split())
    cited = citation(hit)
    if cited is not None:
        return f"“{quote}”\n— {cited}"
    where = [f"“{hit.session_title}”", long_date(hit.session_date)]
    if hit.speaker:
        where.append(hit.speaker)
    when = time_range(hit.start, hit.end)
    if when:
        where.append(when)
    return f"“{quote}”\n— {', '.join(where)}"


def highlighted(text: str, spans: Iterable[tuple[int, int]], style: str = "") -> Content:
    content = Content(text)
    if style:
        content = content.stylize(style)
    for start, end in spans:
        content = content.stylize(HIGHLIGHT_STYLE, start, end)
    return content


def speaker_style(speaker: str | None, me: Sequence[str]) -> str:
    return ME_STYLE if speaker in me else OTHER_STYLE


def excerpt_body(hit: Hit, lines: Sequence[ExcerptLine], me: Sequence[str]) -> Content:
    """An excerpt as who-said-what lines, matched words highlighted.

    A speaker name is written whenever the excerpt spans more than one speaker, so no words
    are ever shown under the wrong person's name.
    """
    if not lines:
        return highlighted(hit.text, hit.match_spans)
    several = len({line.speaker for line in lines}) > 1
    parts: list[Content] = []
    for line in lines:
        body = highlighted(line.text.strip("\n"), spans_in_line(line, hit.match_spans))
        if several and line.speaker:
            body = Content.assemble((f"{line.speaker}: ", speaker_style(line.speaker, me)), body)
        parts.append(body)
    return Content("\n").join(parts)


def key_lines(hit: Hit, lines: Sequence[ExcerptLine], most: int) -> list[int]:
    """Which lines of a long excerpt to show when there is room for `most`: those holding
    its matched words, then its longest (the gist, rather than a "Welcome back"); as
    indices, in the order they were said."""
    matched = [i for i, line in enumerate(lines) if spans_in_line(line, hit.match_spans)]
    longest = sorted(range(len(lines)), key=lambda i: (-len(lines[i].text.strip()), i))
    chosen = list(dict.fromkeys([*matched, *longest]))[:most]
    return sorted(chosen)


def brief_excerpt(
    hit: Hit, lines: Sequence[ExcerptLine], me: Sequence[str], most: int = 2
) -> Content:
    """An excerpt cut to its key lines, each under its speaker and time, with "…" where lines
    are left out. Every word shown is still the transcript's own; the whole excerpt is one
    Enter away, in the reader."""
    if not lines:
        return highlighted(hit.text, hit.match_spans)
    parts: list[Content] = []
    shown = -1
    for i in key_lines(hit, lines, most):
        line = lines[i]
        if i > shown + 1:
            parts.append(Content.styled("…", QUIET_STYLE))
        who: list[tuple[str, str]] = []
        if line.speaker:
            who.append((terminal(line.speaker), speaker_style(line.speaker, me)))
        if clock(line.start):
            who.append((f"{' · ' if who else ''}{clock(line.start)}", QUIET_STYLE))
        if who:
            parts.append(Content.assemble(*who))
        parts.append(highlighted(line.text.strip("\n"), spans_in_line(line, hit.match_spans)))
        shown = i
    if shown < len(lines) - 1:
        parts.append(Content.styled("…", QUIET_STYLE))
    return Content("\n").join(parts)


def answer_content(text: str, unverified: Sequence[str] = ()) -> Content:
    """Answer text with its [n] markers picked out and unverified quotes marked."""
    content = Content(text)
    for match in _MARKER.finditer(text):
        content = content.stylize(MARKER_STYLE, match.start(), match.end())
    for quote in unverified:
        start = text.find(quote)
        if start >= 0:
            content = content.stylize("italic underline", start, start + len(quote))
    return content
