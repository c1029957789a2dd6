"""The main screen: sessions on the left, the conversation in the middle, excerpts on the
right. After unlock the question box has focus.

An answer arrives in three steps, each a message from the answer worker: the excerpts
(milliseconds after Enter, shown at once), the answer's text as the model writes it, and the
checked answer. Esc stops an answer being written.
"""

from __future__ import annotations

import threading
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState

from reflect.answer import AnswerEvent, AnswerStarted, AnswerToken
from reflect.answer.conversation import Conversation
from reflect.service import SearchFilters
from reflect.tui.messages import (
    AnswerBegan,
    AnswerFinished,
    AnswerGrew,
    OpenQuote,
    OpenSession,
    Quote,
)
from reflect.tui.screens.importer import ImportScreen
from reflect.tui.screens.reader import ReaderScreen
from reflect.tui.screens.saved_moments import MomentsScreen
from reflect.tui.screens.search import QuoteSearchScreen
from reflect.tui.state import SessionCatalog, Unlocked, reflect_app, wait_for
from reflect.tui.widgets.chips import FilterChips
from reflect.tui.widgets.conversation import Conversation as ConversationPane
from reflect.tui.widgets.conversation import Exchange
from reflect.tui.widgets.quotes import CitationsPanel, QuoteList
from reflect.tui.widgets.sessions import SessionsSidebar
from reflect.tui.widgets.status import StatusBar
from reflect.understanding import understand


class MainScreen(Screen[None]):
    AUTO_FOCUS = "#question"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+f", "search", "Search"),
        Binding("slash", "search", "Search", show=False),
        Binding("ctrl+o", "import", "Import"),
        Binding("i", "import", "Import", show=False),
        Binding("escape", "stop_answer", "Stop answer"),
        Binding("ctrl+b", "toggle_sessions", "Sessions", show=False),
        Binding("ctrl+n", "new_topic", "New topic"),
        # One key from the main screen (the question box has focus after unlocking).
        Binding("ctrl+s", "moments", "Moments"),
        Binding("m", "moments", "Moments", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._exchanges: dict[int, Exchange] = {}
        self._count = 0
        self._answering: int | None = None
        self._stop_requested = threading.Event()
        self._selected: int | None = None
        self._me: list[str] = []
        # The questions so far, so "did I keep it?" can lean on the last one; in memory only.
        self._conversation: Conversation | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield SessionsSidebar(id="sessions")
            with Vertical(id="center"):
                yield ConversationPane(id="conversation")
                yield FilterChips(id="chips")
                yield Input(
                    placeholder="Ask about your sessions…",
                    id="question",
                )
            yield CitationsPanel(id="citations")
        yield StatusBar()
        # Compact: at 80 columns the keys, My moments and Lock included, fit on one line.
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.watch(self.app, "catalog", self._show_catalog, init=True)

    def _show_catalog(self, catalog: SessionCatalog) -> None:
        if not catalog.loaded:
            return  # being read; what is on screen stays until it is
        self._me = list(catalog.me)
        self.query_one(SessionsSidebar).show(list(catalog.sessions))
        self.query_one(ConversationPane).set_empty_vault(not catalog.sessions)

    @property
    def current_topic(self) -> str:
        """What the question in hand is about, for a timeline: the question being typed, else
        the selected answer's topic as it was understood."""
        typed = self.query_one("#question", Input).value.strip()
        if typed:
            return understand(typed).content
        exchange = self._exchanges.get(self._selected) if self._selected is not None else None
        if exchange is None:
            return ""
        asked = exchange.state.answer.asked if exchange.state.answer else None
        return asked.topic if asked is not None else ""

    @property
    def answering(self) -> bool:
        """True while an answer is being looked up or written."""
        return self._answering is not None

    def forget_transcripts(self) -> None:
        self._conversation = None
        self.query_one(ConversationPane).forget()
        self.query_one(CitationsPanel).clear()
        self.query_one(SessionsSidebar).forget()
        self.query_one("#question", Input).value = ""
        self._exchanges.clear()
        self._selected = None

    # ---- asking ---------------------------------------------------------------------------

    @on(Input.Submitted, "#question")
    async def _ask(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        app = reflect_app(self)
        if not question or app.unlocked is None:
            return
        if self._answering is not None:
            self.notify("Still writing the last answer. Press Esc to stop it.")
            return
        event.input.value = ""
        self._count += 1
        exchange = Exchange(self._count, question)
        self._exchanges[self._count] = exchange
        await self.query_one(ConversationPane).add_exchange(exchange)
        self._answering = self._count
        self._stop_requested.clear()
        self._select(exchange)
        self.refresh_bindings()
        self._answer(self._count, question, app.filters, app.unlocked)

    @work(thread=True, exit_on_error=False, group="answer", name="answer")
    def _answer(
        self, number: int, question: str, filters: SearchFilters, unlocked: Unlocked
    ) -> None:
        if not wait_for(unlocked.searchable):
            return
        service = unlocked.service
        pieces: list[str] = []

        def on_event(event: AnswerEvent) -> None:
            if isinstance(event, AnswerStarted):
                if event.excerpts:
                    quotes = [
                        Quote(e.hit, service.excerpt_lines(e.hit), e.n) for e in event.excerpts
                    ]
                else:
                    quotes = [Quote(h, service.excerpt_lines(h)) for h in event.hits]
                self.post_message(
                    AnswerBegan(number, quotes, bool(event.excerpts), event.safety_message)
                )
                if self._stop_requested.is_set():
                    service.cancel_answer()
            elif isinstance(event, AnswerToken):
                pieces.append(event.text)
                self.post_message(AnswerGrew(number, "".join(pieces)))

        if self._conversation is None:
            self._conversation = service.new_conversation()
        answer = service.ask(
            question, filters=filters, on_event=on_event, conversation=self._conversation
        )
        self.post_message(AnswerFinished(number, answer))

    def action_new_topic(self) -> None:
        """Start afresh: the next question won't build on the ones before it."""
        if self._conversation is not None:
            self._conversation.clear()
        self.notify("Starting afresh: the next question won't build on the last ones.")

    def on_answer_began(self, message: AnswerBegan) -> None:
        exchange = self._exchanges.get(message.exchange)
        if exchange is None:
            return
        exchange.began(
            message.quotes,
            message.found,
            message.safety_message,
            model_ready=reflect_app(self).status.model == "ready",
        )
        if self._selected == message.exchange:
            self.query_one(CitationsPanel).show(message.quotes, self._me, found=message.found)

    def on_answer_grew(self, message: AnswerGrew) -> None:
        exchange = self._exchanges.get(message.exchange)
        if exchange is not None:
            self.query_one(ConversationPane).follow()
            exchange.grew(message.text)

    def on_answer_finished(self, message: AnswerFinished) -> None:
        exchange = self._exchanges.get(message.exchange)
        if exchange is not None:
            self.query_one(ConversationPane).follow()
            exchange.finished(
                message.answer,
                stop_requested=self._stop_requested.is_set()
                and self._answering == message.exchange,
            )
            if self._selected == message.exchange:
                self._show_citations(exchange)
        self._answer_ended(message.exchange)
        reflect_app(self).note_answer_model_used()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Errors reach the app's one handler too (the modal); here the exchange is closed.
        if event.worker.name != "answer" or self._answering is None:
            return
        if event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            exchange = self._exchanges.get(self._answering)
            if exchange is not None:
                exchange.failed()
            self._answer_ended(self._answering)

    def _answer_ended(self, number: int) -> None:
        if self._answering == number:
            self._answering = None
            self.refresh_bindings()

    def action_stop_answer(self) -> None:
        if self._answering is None:
            return
        self._stop_requested.set()
        app = reflect_app(self)
        if app.unlocked is not None:
            app.service.cancel_answer()
        exchange = self._exchanges.get(self._answering)
        if exchange is not None:
            exchange.stopping()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_answer":
            return self._answering is not None
        return True

    # ---- selecting an answer and its excerpts -------------------------------------------

    def on_exchange_selected(self, message: Exchange.Selected) -> None:
        self._select(message.exchange)

    def _select(self, exchange: Exchange) -> None:
        for other in self._exchanges.values():
            other.set_class(other is exchange, "-selected")
        self._selected = exchange.number
        self._show_citations(exchange)

    def _show_citations(self, exchange: Exchange) -> None:
        panel = self.query_one(CitationsPanel)
        state = exchange.state
        if not state.started:
            panel.clear("Looking through your sessions…")
            return
        unverified = state.answer.unverified_quotes if state.answer else []
        panel.show(
            state.quotes, self._me, found=state.found, cited=state.cited, unverified=unverified
        )

    # ---- other screens --------------------------------------------------------------------

    def on_open_quote(self, message: OpenQuote) -> None:
        self.app.push_screen(ReaderScreen(message.quote.hit.session_id, message.quote))

    def on_open_session(self, message: OpenSession) -> None:
        self.app.push_screen(ReaderScreen(message.session_id))

    def action_search(self) -> None:
        self.app.push_screen(QuoteSearchScreen())

    def action_import(self) -> None:
        self.app.push_screen(ImportScreen())

    def action_moments(self) -> None:
        self.app.push_screen(MomentsScreen())

    def action_focus_question(self) -> None:
        self.query_one("#question", Input).focus()

    def action_toggle_sessions(self) -> None:
        self.toggle_class("-sessions-toggled")
        sidebar = self.query_one(SessionsSidebar)
        self.call_after_refresh(self._focus_after_toggle, sidebar)

    def _focus_after_toggle(self, sidebar: SessionsSidebar) -> None:
        if sidebar.display and sidebar.region.width:
            self.query_one("#session-filter", Input).focus()
        elif self.focused is None or sidebar in self.focused.ancestors:
            self.query_one("#question", Input).focus()

    def action_copy_quote(self) -> None:
        self.query_one(QuoteList).action_copy_quote()
