"""The timeline of a theme: every session where it came up, oldest first.

At the top a chart, one row per session: its date, a bar of how many of its moments are about
the theme, the count and the title. Below, each session's best one or two excerpts, cut to
their lines about the theme (verbatim; "…" where lines are left out).
Moving through the chart brings that session's excerpts into view; Enter opens the reader at
its best moment and `p` plays it; Tab goes to the excerpts, where Enter, `c` and `p` work on
each one as in search results.

The chart is rows of block characters (reflect.timeline.bar, as `reflect timeline` prints
them), not Textual's Sparkline or textual-plotext: a timeline is a handful of dated sessions,
and a bar is only read with its date, count and title beside it. A one-line sparkline can't
carry those labels; a plotext chart needs a dozen rows and crowds its date axis at 80x24 (and
would be a new dependency). A row per session reads at any width, and the rows are the list
you move through.

The timeline is built in a worker (words, then meaning, over the whole index); every build is
numbered so a slow old one never replaces a newer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.visual import Visual
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from reflect.safe_text import terminal
from reflect.service import SearchFilters
from reflect.sources import citation
from reflect.timeline import TimelineSession, bar
from reflect.tui.errors import worker_failed
from reflect.tui.formatting import QUIET_STYLE, brief_excerpt, short_date
from reflect.tui.messages import OpenQuote, Quote, TimelineBuilt
from reflect.tui.screens.reader import ReaderScreen
from reflect.tui.state import Unlocked, reflect_app, wait_for
from reflect.tui.widgets.chips import FilterChips
from reflect.tui.widgets.quotes import QuoteList
from reflect.tui.widgets.status import StatusBar

BAR_WIDTH = 20  # cells: with the date, count and a title, a row fits 80 columns
BAR_STYLE = "$accent"
HINT = "Type a theme (sleep, my sister, work) and press Enter to see when it came up."


def chart_row(session: TimelineSession, most: int) -> Content:
    """'4 Mar 2025  ████████████▌         3  First session'."""
    return Content.assemble(
        f"{short_date(session.session_date):>11}  ",
        (f"{bar(session.mentions, most, BAR_WIDTH):<{BAR_WIDTH}}", BAR_STYLE),
        (f"{session.mentions:>4}  ", "bold"),
        (
            "your note" if session.source == "note" else terminal(session.session_title),
            QUIET_STYLE,
        ),
    )


class TimelineChart(OptionList):
    """A row per session; Enter opens the session's best moment, `p` plays it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Open in transcript"),
        Binding("p", "play", "Play / stop"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.best: list[Quote | None] = []  # each row's best moment

    def show(self, sessions: Sequence[TimelineSession], quotes: Sequence[Sequence[Quote]]) -> None:
        most = max((s.mentions for s in sessions), default=0)
        self.best = [found[0] if found else None for found in quotes]
        self.set_options(Option(chart_row(s, most), id=str(i)) for i, s in enumerate(sessions))
        if sessions:
            self.highlighted = 0

    def forget(self) -> None:
        self.best = []
        self.clear_options()

    @property
    def current(self) -> Quote | None:
        row = self.highlighted
        return self.best[row] if row is not None and row < len(self.best) else None

    @on(OptionList.OptionSelected)
    def _open(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        quote = self.current
        if quote is not None:
            self.post_message(OpenQuote(quote))

    def action_play(self) -> None:
        quote = self.current
        if quote is not None:
            reflect_app(self).toggle_playback(quote.hit)


class TimelineExcerpts(QuoteList):
    """Each session's best moments, cut to the lines that speak of the theme (Enter opens the
    whole of one in the reader)."""

    def prompt(self, i: int, quote: Quote, me: Sequence[str], *, dimmed: bool) -> Visual:
        hit = quote.hit
        cited = citation(hit)  # a note says so, never a session's title
        where = (
            terminal(cited)
            if cited
            else f"{short_date(hit.session_date)} · {terminal(hit.session_title)}"
        )
        return Content("\n").join(
            [Content.styled(where, "bold"), brief_excerpt(hit, quote.lines, me)]
        )


class TimelineScreen(Screen[None]):
    AUTO_FOCUS = "#timeline-topic"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, topic: str = "") -> None:
        super().__init__()
        self._initial = topic
        self._build_number = 0
        self._first_excerpt: list[int] = []  # where each session's excerpts start in the list

    def compose(self) -> ComposeResult:
        yield Static("When a theme came up, session by session", classes="pane-title")
        yield Input(value=self._initial, placeholder="sleep", id="timeline-topic")
        yield FilterChips(id="timeline-chips")
        yield Static(HINT, id="timeline-status", markup=False)
        yield TimelineChart(id="timeline-chart")
        yield TimelineExcerpts(id="timeline-excerpts")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self._show_results(False)
        self.watch(self.app, "filters", self._filters_changed, init=False)
        if self._initial.strip():
            self._build_now()

    def forget_transcripts(self) -> None:
        self._build_number += 1  # whatever is in flight is stale now
        self.query_one("#timeline-topic", Input).value = ""
        self.query_one(TimelineChart).forget()
        self.query_one("#timeline-excerpts", QuoteList).forget()
        self._show_results(False)
        self._status(HINT)

    def _show_results(self, shown: bool) -> None:
        self.query_one(TimelineChart).display = shown
        self.query_one("#timeline-excerpts", QuoteList).display = shown

    def _filters_changed(self, _filters: SearchFilters) -> None:
        if self.query_one("#timeline-topic", Input).value.strip():
            self._build_now()

    @on(Input.Submitted, "#timeline-topic")
    def _build_now(self) -> None:
        app = reflect_app(self)
        topic = self.query_one("#timeline-topic", Input).value.strip()
        self._build_number += 1
        if not topic or app.unlocked is None:
            self._status(HINT)
            self._show_results(False)
            return
        self._status(f"Looking through your sessions for “{terminal(topic)}”…")
        self._build(self._build_number, topic, app.filters, app.unlocked)

    @work(thread=True, exit_on_error=False, exclusive=True, group="timeline", name="timeline")
    def _build(self, number: int, topic: str, filters: SearchFilters, unlocked: Unlocked) -> None:
        if not wait_for(unlocked.searchable):
            return
        service = unlocked.service
        timeline = service.timeline(topic, filters)
        quotes = [
            [Quote(hit, service.excerpt_lines(hit)) for hit in session.hits]
            for session in timeline.sessions
        ]
        self.post_message(TimelineBuilt(number, timeline, quotes))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "timeline" and worker_failed(self, event):
            self._status("The timeline couldn't be made.")

    def on_timeline_built(self, message: TimelineBuilt) -> None:
        if message.build != self._build_number:
            return  # an older build finishing late
        timeline = message.timeline
        topic = terminal(timeline.topic)
        chart = self.query_one(TimelineChart)
        excerpts = self.query_one("#timeline-excerpts", QuoteList)
        if not timeline.sessions:
            self._status(f"“{topic}” didn't come up in your sessions.")
            chart.forget()
            excerpts.forget()
            self._show_results(False)
            return
        total = len(reflect_app(self).catalog.sessions)
        of_total = f" of your {total}" if total >= timeline.count else ""
        sessions = "session" if timeline.count == 1 else "sessions"
        lines = [f"“{topic}” came up in {timeline.count}{of_total} {sessions} · bars: its moments"]
        if not timeline.by_meaning:
            lines.append("Matched by its words only: the meaning index isn't ready yet.")
        self._status("\n".join(lines))
        self._first_excerpt = []
        flat: list[Quote] = []
        for found in message.quotes:
            self._first_excerpt.append(len(flat))
            flat.extend(found)
        chart.show(timeline.sessions, message.quotes)
        excerpts.show(flat, reflect_app(self).catalog.me)
        self._show_results(True)
        if self.focused is self.query_one("#timeline-topic", Input):
            chart.focus()

    @on(OptionList.OptionHighlighted, "#timeline-chart")
    def _session_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # Bring the session's excerpts into view under the chart.
        row = event.option_index
        excerpts = self.query_one("#timeline-excerpts", QuoteList)
        if 0 <= row < len(self._first_excerpt) and excerpts.quotes:
            excerpts.highlighted = min(self._first_excerpt[row], len(excerpts.quotes) - 1)

    def _status(self, text: str) -> None:
        self.query_one("#timeline-status", Static).update(text)

    def on_open_quote(self, message: OpenQuote) -> None:
        message.stop()
        self.app.push_screen(ReaderScreen(message.quote.hit.session_id, message.quote))
