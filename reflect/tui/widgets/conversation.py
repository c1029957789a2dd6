"""The conversation: each question and its answer as it streams in.

An exchange shows the question, the fixed safety message when there is one (above the
answer, set apart but calm), the answer with its [n] markers, and a one-line note on where
things stand. Focusing an exchange (click, or shift+tab from the question box) shows its
excerpts in the citations panel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from reflect.answer import Answer
from reflect.safe_text import app_markup
from reflect.tui.formatting import QUIET_STYLE, answer_content
from reflect.tui.messages import Quote

WELCOME = (
    "Ask about your sessions in your own words — “what did we say about sleep?” — and the "
    "answer comes with the exact excerpts it is based on.\n\n"
    "ctrl+f searches for exact words · ctrl+s opens your saved moments · ctrl+b shows your "
    "sessions · ctrl+p lists every action · F1 shows all keys"
)
WELCOME_EMPTY = (
    "Your vault is ready, and empty. Press ctrl+o to import your session transcripts "
    "(.txt, .vtt, .srt, .docx, .json, .md). They are encrypted into the vault; the original "
    "files are left as they are."
)


@dataclass(slots=True)
class ExchangeState:
    question: str
    quotes: list[Quote] = field(default_factory=list)
    found: bool = True
    safety_message: str | None = None
    text: str = ""
    answer: Answer | None = None
    started: bool = False

    @property
    def cited(self) -> list[int] | None:
        if self.answer is None:
            return None
        return [n for n, _ in self.answer.citations]


class Exchange(Vertical, can_focus=True):
    """One question and its answer."""

    class Selected(Message):
        def __init__(self, exchange: Exchange) -> None:
            super().__init__()
            self.exchange = exchange

    def __init__(self, number: int, question: str) -> None:
        super().__init__(classes="exchange")
        self.number = number
        self.state = ExchangeState(question)
        self._waiting_note = ""
        self._waiting_since = 0.0
        self._ticker: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            Content.assemble(("You asked  ", QUIET_STYLE), (self.state.question, "bold")),
            classes="question",
        )
        yield Static(classes="safety", markup=False)
        yield Static(classes="answer", markup=False)
        yield Static("Looking through your sessions…", classes="note", markup=False)

    def on_mount(self) -> None:
        self.query_one(".safety", Static).display = False
        self.query_one(".answer", Static).display = False

    def on_focus(self) -> None:
        self.post_message(self.Selected(self))

    def began(
        self,
        quotes: list[Quote],
        found: bool,
        safety_message: str | None,
        *,
        model_ready: bool = True,
    ) -> None:
        self.state.quotes, self.state.found = quotes, found
        self.state.safety_message, self.state.started = safety_message, True
        if safety_message:
            safety = self.query_one(".safety", Static)
            safety.update(safety_message)
            safety.display = True
        if found:
            excerpts = f"{len(quotes)} excerpt{'s' if len(quotes) != 1 else ''}"
            self._wait(
                f"Writing an answer from {excerpts}…"
                if model_ready
                else f"Loading the answer model, then writing from {excerpts}…"
            )

    def _wait(self, note: str) -> None:
        """A note that counts the seconds: the model can take a while, and silence worries."""
        self._waiting_note, self._waiting_since = note, time.monotonic()
        self._note(note)
        self._ticker = self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        seconds = int(time.monotonic() - self._waiting_since)
        if seconds >= 2 and self.state.answer is None:
            self._note(f"{self._waiting_note} {seconds} s")

    def _stop_waiting(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def grew(self, text: str) -> None:
        if self.state.answer is not None:
            return
        if self._waiting_note.startswith("Loading"):
            self._waiting_note = "Writing…"
        self.state.text = text
        self._show_answer(text)

    def finished(self, answer: Answer, *, stop_requested: bool = False) -> None:
        self._stop_waiting()
        self.state.answer = answer
        self.state.text = answer.text
        if answer.cancelled:
            self._show_answer(answer.text)
            self._note("Stopped. Ask again whenever you like.")
            return
        if stop_requested and answer.extractive:
            # The model was stopped before it wrote a word; what is left is quoted as said.
            self._show_answer(answer.text)
            self._note("Stopped. These lines are quoted straight from the excerpts.")
            return
        self._show_answer(answer.text, answer.unverified_quotes)
        understood = _understood_line(answer)
        if not answer.found and not answer.scope_redirect:
            n = len(answer.closest)
            self._note(
                understood
                + (
                    f"The closest matches are on the right ({n})."
                    if n
                    else "Nothing in your sessions came close."
                )
            )
        elif answer.unverified_quotes:
            self._note(
                understood + "Underlined words were not found word for word in your sessions."
            )
        elif answer.citations:
            numbers = ", ".join(f"[{n}]" for n, _ in answer.citations)
            self._note(understood + f"Based on {numbers}: the excerpts are on the right.")
        else:
            self._note(understood.strip())

    def failed(self) -> None:
        self._stop_waiting()
        if self.state.answer is None:
            self._note("Couldn't answer this one.")

    def stopping(self) -> None:
        if self.state.answer is None:
            self._stop_waiting()
            self._note("Stopping… this can take a few seconds.")

    def forget(self) -> None:
        self._stop_waiting()
        self.state = ExchangeState("")
        for static in self.query(Static):
            static.update("")

    def _show_answer(self, text: str, unverified: list[str] | None = None) -> None:
        answer = self.query_one(".answer", Static)
        answer.update(answer_content(text, unverified or []))
        answer.display = bool(text)

    def _note(self, text: str) -> None:
        note = self.query_one(".note", Static)
        note.update(text)
        note.display = bool(text)


def _understood_line(answer: Answer) -> str:
    """What reflect understood, when it read more than the words (a follow-up, a time, a kind
    of question): shown so the person can see it and start afresh (ctrl+n)."""
    asked = answer.asked
    if asked is None or not (asked.followup or asked.kind != "recall" or asked.time_words):
        return ""
    text = f"Understood: {app_markup(asked.summary())}."
    if asked.followup:
        text += " ctrl+n starts afresh."
    return text + "\n"


class Conversation(VerticalScroll, can_focus=False):
    def compose(self) -> ComposeResult:
        yield Static(WELCOME, id="welcome", markup=False)

    def set_empty_vault(self, empty: bool) -> None:
        self.query_one("#welcome", Static).update(WELCOME_EMPTY if empty else WELCOME)

    async def add_exchange(self, exchange: Exchange) -> None:
        self.query_one("#welcome", Static).display = False
        await self.mount(exchange)
        self.call_after_refresh(self.scroll_end, animate=False)

    def near_end(self) -> bool:
        return self.max_scroll_y - self.scroll_y <= 3

    def follow(self) -> None:
        """Keep the newest words in view while the answer grows (call before it grows)."""
        if self.near_end():
            self.call_after_refresh(self.scroll_end, animate=False)

    def forget(self) -> None:
        for exchange in self.query(Exchange):
            exchange.forget()
        self.query(Exchange).remove()
