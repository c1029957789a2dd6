"""Quote search: the exact words, as you type.

Each keystroke restarts a short timer; when typing pauses the search runs in a worker. Every
search is numbered and a result is shown only if it answers the latest one, so a slow old
search can never overwrite a newer one.

ctrl+d searches deeper (opt-in, reflect/judge.py): the same search, its top ten read one by
one by a larger model and reordered; about half a minute. It is a search like the others:
numbered, in the same worker group, so typing again supersedes it.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, get_current_worker

from reflect.service import QuoteResult, Reflect, SearchFilters
from reflect.tui.errors import worker_failed
from reflect.tui.messages import DeeperProgressed, OpenQuote, Quote, QuotesFound
from reflect.tui.screens.reader import ReaderScreen
from reflect.tui.state import Unlocked, reflect_app, wait_for
from reflect.tui.widgets.chips import FilterChips
from reflect.tui.widgets.quotes import QuoteList
from reflect.tui.widgets.status import StatusBar

DEBOUNCE_SECONDS = 0.25
RESULTS = 10
HINT = 'Type words you remember. Put a phrase in "double quotes" to find exactly those words.'
DEEPER_READING = "Reading the top ten moments closely… this takes about half a minute"
DEEPER_DONE = "Searched deeper: the top ten moments, reordered after reading each closely."


class _Superseded(Exception):
    """A newer search was asked for: the deeper search stops reading (each moment read is
    seconds of CPU, and a thread can't be interrupted, so it checks between moments)."""


class QuoteSearchScreen(Screen[None]):
    AUTO_FOCUS = "#query"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("down", "to_results", "Results", show=False),
        Binding("ctrl+t", "toggle_as_typed", "As typed"),
        # Priority: the query box has focus, and its own ctrl+d (delete right) would take
        # the key; the Delete key still does that there.
        Binding("ctrl+d", "search_deeper", "Search deeper", priority=True),
    ]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self._initial = query
        self._search_number = 0
        self._timer: Timer | None = None
        self._deeper: int | None = None  # the number of the deeper search under way
        self._status_before_deeper = HINT
        self.shown_query = ""  # the query whose results are on screen
        # Search the words as typed, without reading who said it or dropping the framing:
        # what was understood is a preference the person can clear.
        self.as_typed = False

    def compose(self) -> ComposeResult:
        yield Static("Search your sessions for the exact words", classes="pane-title")
        yield Input(value=self._initial, placeholder="the phone in the kitchen", id="query")
        yield FilterChips(id="search-chips")
        yield Static(HINT, id="search-status", markup=False)
        yield QuoteList(id="results")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(QuoteList).display = False
        self.watch(self.app, "filters", self._filters_changed, init=False)
        if self._initial:
            self._search_now()

    def forget_transcripts(self) -> None:
        self._search_number += 1  # whatever is in flight is stale now
        self.shown_query = ""
        self.query_one("#query", Input).value = ""
        self.query_one(QuoteList).forget()

    @on(Input.Changed, "#query")
    def _typed(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_SECONDS, self._search_now)

    def _filters_changed(self, _filters: SearchFilters) -> None:
        self._search_now()

    def _search_now(self) -> None:
        self._timer = None
        app = reflect_app(self)
        query = self.query_one("#query", Input).value.strip()
        self._search_number += 1
        if not query:
            self._show_status(HINT)
            self.query_one(QuoteList).forget()
            self.query_one(QuoteList).display = False
            return
        if app.unlocked is None:
            return
        self._search(self._search_number, query, app.filters, app.unlocked)

    @work(thread=True, exit_on_error=False, exclusive=True, group="search", name="search")
    def _search(self, number: int, query: str, filters: SearchFilters, unlocked: Unlocked) -> None:
        if not wait_for(unlocked.searchable):
            return
        service = unlocked.service
        result = service.quotes(query, k=RESULTS, filters=filters, as_typed=self.as_typed)
        self.post_message(self._found(number, service, result))

    def _found(
        self, number: int, service: Reflect, result: QuoteResult, *, deeper: bool = False
    ) -> QuotesFound:
        """A search's result as the screen shows it (in the worker: the excerpts are read)."""
        quotes = [Quote(hit, service.excerpt_lines(hit)) for hit in result.hits]
        understood = result.understood
        note = ""
        if understood is not None and (understood.phrases or understood.speaker):
            note = f"Understood: {understood.summary(about=False)} · ctrl+t searches as typed"
        elif self.as_typed:
            note = "Searching the words as typed · ctrl+t reads the question again"
        return QuotesFound(number, result.query, quotes, note, deeper=deeper)

    # ---- searching deeper -----------------------------------------------------------------

    def action_search_deeper(self) -> None:
        app = reflect_app(self)
        query = self.query_one("#query", Input).value.strip()
        if not query:
            self.notify("Type what you are looking for first; ctrl+d then reads it closely.")
            return
        if app.unlocked is None:
            return
        if self._deeper == self._search_number and self._timer is None:
            self.notify("Still reading the top ten moments closely.")
            return
        if self._timer is not None:  # what was typed is searched deeper, not as well
            self._timer.stop()
            self._timer = None
        self._search_number += 1
        self._deeper = self._search_number
        self._show_status(DEEPER_READING)
        self._search_deeper(self._search_number, query, app.filters, app.unlocked)

    @work(thread=True, exit_on_error=False, exclusive=True, group="search", name="search-deeper")
    def _search_deeper(
        self, number: int, query: str, filters: SearchFilters, unlocked: Unlocked
    ) -> None:
        if not wait_for(unlocked.searchable):
            return
        worker = get_current_worker()

        def reading(read: int, of: int) -> None:
            if worker.is_cancelled or number != self._search_number:
                raise _Superseded
            self.post_message(DeeperProgressed(number, read, of))

        service = unlocked.service
        try:
            result = service.deeper_quotes(
                query, k=RESULTS, filters=filters, as_typed=self.as_typed, progress=reading
            )
        except _Superseded:
            return
        self.post_message(self._found(number, service, result, deeper=True))

    def on_deeper_progressed(self, message: DeeperProgressed) -> None:
        if message.search == self._search_number and message.read < message.of:
            self._show_status(f"{DEEPER_READING} · {message.read} of {message.of}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A failure (deeper search not installed...) goes to the app's one handler, a modal.
        failed = worker_failed(self, event)
        if failed and event.worker.name == "search-deeper" and self._deeper == self._search_number:
            self._deeper = None
            self._show_status(self._status_before_deeper)

    def action_toggle_as_typed(self) -> None:
        self.as_typed = not self.as_typed
        self._search_now()

    def on_quotes_found(self, message: QuotesFound) -> None:
        if message.search != self._search_number:
            return  # an older search finishing late
        self._deeper = None
        self.shown_query = message.query
        results = self.query_one(QuoteList)
        results.show(message.quotes, reflect_app(self).catalog.me)
        results.display = bool(message.quotes)
        count = len(message.quotes)
        places = f"{count} place{'s' if count != 1 else ''}"
        lead = f"{message.understood}\n" if message.understood else ""
        if message.deeper:
            lead += f"{DEEPER_DONE}\n"
        if not count:
            self._show_status(lead + "Nothing in your sessions matches that.")
        elif not any(q.hit.match_spans for q in message.quotes):
            # Meaning search always finds something; say plainly that these aren't the words.
            self._show_status(
                lead + f"No place has these exact words. The {places} closest in meaning:"
            )
        else:
            self._show_status(lead + f"{places} · Enter opens the transcript · c copies the quote")

    def _show_status(self, text: str) -> None:
        if self._deeper != self._search_number:  # said again if the deeper search fails
            self._status_before_deeper = text
        self.query_one("#search-status", Static).update(text)

    @on(Input.Submitted, "#query")
    def _open_first(self) -> None:
        results = self.query_one(QuoteList)
        quote = results.current
        if quote is not None:
            self.post_message(OpenQuote(quote))

    def action_to_results(self) -> None:
        results = self.query_one(QuoteList)
        if results.quotes and self.focused is self.query_one("#query", Input):
            results.focus()

    def on_open_quote(self, message: OpenQuote) -> None:
        message.stop()
        self.app.push_screen(ReaderScreen(message.quote.hit.session_id, message.quote))
