"""Lists of quotes (an answer's excerpts, search results) and the citations panel.

Each quote shows where it was said (date, session, speaker, time) above the verbatim words,
with the matched words highlighted. Enter opens the quote in the transcript reader; `c`
copies it with its citation line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.visual import Visual
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from reflect.excerpts import clock
from reflect.kept import cited_span
from reflect.safe_text import terminal
from reflect.sources import citation
from reflect.tui.formatting import (
    MARKER_STYLE,
    QUIET_STYLE,
    citation_text,
    excerpt_body,
    short_date,
)
from reflect.tui.messages import OpenQuote, Quote
from reflect.tui.state import reflect_app


def quote_prompt(quote: Quote, me: Sequence[str], *, dimmed: bool = False) -> Content:
    hit = quote.hit
    head: list[tuple[str, str] | str] = []
    if quote.n is not None:
        head.append((f"[{quote.n}] ", MARKER_STYLE))
    cited = citation(hit)
    if cited is not None:
        # A note or a handout: said as what it is, with no speaker and no time.
        head.append((terminal(cited), "bold"))
        body = Content("\n").join([Content.assemble(*head), excerpt_body(hit, quote.lines, me)])
        return body.stylize(QUIET_STYLE) if dimmed else body
    head.append((f"{short_date(hit.session_date)} · {terminal(hit.session_title)}", "bold"))
    # One speaker: named here. Several: each line of the excerpt names its own.
    speakers = list(dict.fromkeys(line.speaker for line in quote.lines if line.speaker))
    if not quote.lines and hit.speaker:
        speakers = [hit.speaker]
    where = [speakers[0] if len(speakers) == 1 else "", clock(hit.start)]
    detail = " · ".join(part for part in where if part)
    lines = [Content.assemble(*head)]
    if detail:
        lines.append(Content.styled(detail, QUIET_STYLE))
    lines.append(excerpt_body(hit, quote.lines, me))
    content = Content("\n").join(lines)
    return content.stylize(QUIET_STYLE) if dimmed else content


def play_quote(widget: Widget, quote: Quote | None) -> None:
    """`p` on a list of excerpts: play (or stop) the moment of the recording."""
    if quote is None:
        widget.notify("There is no excerpt to play yet.")
        return
    reflect_app(widget).toggle_playback(quote.hit)


def copy_quote(widget: Widget, quote: Quote | None) -> None:
    """`c` on a list of excerpts: the quote and its citation line to the clipboard."""
    if quote is None:
        widget.notify("There is no excerpt to copy yet.")
        return
    widget.app.copy_to_clipboard(citation_text(quote.hit))
    widget.notify("Copied the quote with its date, speaker and time.", title="Copied")


def keep_quote(widget: Widget, quote: Quote | None) -> None:
    """`k` on a list of excerpts: keep the moment (its cited lines) among the user's own."""
    if quote is not None:
        hit = quote.hit
        span = cited_span(hit.char_start, hit.char_end, hit.match_spans)
        reflect_app(widget).keep_moment(hit.session_id, span=span)


# The keys of every list of quotes: open, copy, play, keep (the actions are `copy_quote`,
# `play_quote` and `keep_quote` above, shared by every such list).
QUOTE_BINDINGS: list[BindingType] = [
    Binding("enter", "select", "Open in transcript"),
    Binding("c", "copy_quote", "Copy quote"),
    Binding("p", "play", "Play / stop"),
    Binding("k", "keep", "Keep"),
]


class QuoteList(OptionList):
    """Quotes to pick from. Posts `OpenQuote` on Enter or click."""

    BINDINGS: ClassVar[list[BindingType]] = QUOTE_BINDINGS

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.quotes: list[Quote] = []

    def show(
        self,
        quotes: Sequence[Quote],
        me: Sequence[str],
        *,
        cited: Sequence[int] | None = None,
    ) -> None:
        """`cited`: once an answer is done, the excerpt numbers it used, what its sentences
        point at first (others dimmed)."""
        same = [q.hit for q in quotes] == [q.hit for q in self.quotes]
        self.quotes = list(quotes)
        options: list[Option | None] = []
        for i, quote in enumerate(self.quotes):
            if i and self.divider_before(i):
                options.append(None)
            dimmed = cited is not None and quote.n is not None and quote.n not in cited
            options.append(Option(self.prompt(i, quote, me, dimmed=dimmed), id=str(i)))
        highlighted = self.highlighted if same else None
        self.set_options(options)  # dividers are not options: option i is quote i
        if not self.quotes:
            return
        if cited:
            # Once the answer is in, Enter should open what it actually cites.
            first = next(
                (i for n in cited for i, q in enumerate(self.quotes) if q.n == n), 0
            )
            self.highlighted = first
        else:
            self.highlighted = highlighted if highlighted is not None else 0

    def prompt(self, i: int, quote: Quote, me: Sequence[str], *, dimmed: bool) -> Visual:
        """How quote `i` reads in the list (lists of other moments say more around it)."""
        return quote_prompt(quote, me, dimmed=dimmed)

    def divider_before(self, i: int) -> bool:
        return True

    def forget(self) -> None:
        self.quotes = []
        self.clear_options()

    @property
    def current(self) -> Quote | None:
        option = self.highlighted_option
        if option is None or option.id is None:
            return None
        return self.quotes[int(option.id)]

    @on(OptionList.OptionSelected)
    def _open(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(OpenQuote(self.quotes[int(event.option.id)]))

    def action_play(self) -> None:
        play_quote(self, self.current)

    def action_keep(self) -> None:
        keep_quote(self, self.current)

    def action_copy_quote(self) -> None:
        copy_quote(self, self.current)


class CitationsPanel(Vertical):
    """The selected answer's excerpts (or closest matches), and quotes it couldn't verify."""

    def compose(self) -> ComposeResult:
        yield Static("Excerpts", id="citations-title", classes="pane-title")
        yield Static(
            "The excerpts behind an answer appear here.", id="citations-empty", markup=False
        )
        yield QuoteList(id="citation-list")
        yield Static(id="unverified", markup=False)

    def on_mount(self) -> None:
        self.query_one(QuoteList).display = False
        self.query_one("#unverified", Static).display = False

    def show(
        self,
        quotes: Sequence[Quote],
        me: Sequence[str],
        *,
        found: bool,
        cited: Sequence[int] | None = None,
        unverified: Sequence[str] = (),
    ) -> None:
        title = "Excerpts" if found else "Closest matches"
        self.query_one("#citations-title", Static).update(title)
        quote_list = self.query_one(QuoteList)
        quote_list.show(quotes, me, cited=cited)
        quote_list.display = bool(quotes)
        empty = self.query_one("#citations-empty", Static)
        empty.display = not quotes
        empty.update(
            "Looking through your sessions…"
            if found and cited is None
            else "Nothing in your sessions came close."
        )
        note = self.query_one("#unverified", Static)
        note.display = bool(unverified)
        if unverified:
            quoted = "; ".join(f"“{q}”" for q in unverified)
            note.update(
                Content.assemble(
                    ("Not found word for word in your sessions: ", "bold $text-warning"),
                    quoted,
                )
            )

    def clear(self, message: str = "The excerpts behind an answer appear here.") -> None:
        self.query_one("#citations-title", Static).update("Excerpts")
        self.query_one(QuoteList).forget()
        self.query_one(QuoteList).display = False
        empty = self.query_one("#citations-empty", Static)
        empty.update(message)
        empty.display = True
        self.query_one("#unverified", Static).display = False
