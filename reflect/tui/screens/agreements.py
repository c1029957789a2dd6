"""What you and your therapist agreed to try, oldest first.

Each agreement is the verbatim words that propose or commit to it (session, date, speaker,
time above them), the reply that accepts or declines it indented under it, and, further in,
the moments of later sessions that talk about it ("follow-ups"). Every one of them is a row
of its own, so Enter opens the reader at exactly that moment, `p` plays it and `c` copies it.

Marking an agreement done or "not for me" is not here yet: the list shows an agreement's
status when the service gives one other than "open".

Found in a worker: finding follow-ups searches the later sessions once per agreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.geometry import Spacing
from textual.screen import Screen
from textual.visual import Padding, Visual
from textual.widgets import Footer, Static
from textual.worker import Worker

from reflect.excerpts import clock
from reflect.retrieval import Hit
from reflect.safe_text import terminal
from reflect.tui.errors import worker_failed
from reflect.tui.formatting import (
    QUIET_STYLE,
    brief_excerpt,
    excerpt_body,
    short_date,
    speaker_style,
)
from reflect.tui.messages import AgreedQuotes, AgreementsFound, OpenQuote, Quote
from reflect.tui.screens.reader import ReaderScreen
from reflect.tui.state import Unlocked, reflect_app, wait_for
from reflect.tui.widgets.quotes import QuoteList, quote_prompt
from reflect.tui.widgets.status import StatusBar

REPLY_INDENT = 4
FOLLOW_UP_INDENT = 8
EMPTY = (
    "No agreements found in your sessions yet. They are the things you and your therapist "
    "agreed to try: “Would you be up for keeping a sleep diary?” “Yeah, I'll try that.”"
)


def _who_and_when(quote: Quote, me: Sequence[str]) -> list[tuple[str, str] | str]:
    hit = quote.hit
    parts: list[tuple[str, str] | str] = []
    # One speaker: named here. Several: each line of the excerpt names its own.
    speakers = {line.speaker for line in quote.lines} if quote.lines else {hit.speaker}
    if len(speakers) == 1 and hit.speaker:
        parts.append((terminal(hit.speaker), speaker_style(hit.speaker, me)))
    when = clock(hit.start)
    if when:
        parts.append((f"{' · ' if parts else ''}{when}", QUIET_STYLE))
    return parts


def reply_prompt(quote: Quote, me: Sequence[str], *, declined: bool) -> Content:
    answer = "declined" if declined else "reply"
    head = Content.assemble((f"↳ {answer}: ", QUIET_STYLE), *_who_and_when(quote, me))
    return Content("\n").join([head, excerpt_body(quote.hit, quote.lines, me)])


def follow_up_prompt(quote: Quote, me: Sequence[str]) -> Content:
    hit = quote.hit
    head = Content.assemble(
        ("later: ", QUIET_STYLE),
        (f"{short_date(hit.session_date)} · {terminal(hit.session_title)}", "bold"),
    )
    return Content("\n").join([head, brief_excerpt(hit, quote.lines, me)])


class AgreementList(QuoteList):
    """Agreements, each followed by its reply and follow-ups, indented under it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # For each row: the agreement it belongs to, and what the row is.
        self._rows: list[tuple[AgreedQuotes, str]] = []

    def show_agreements(self, agreements: Sequence[AgreedQuotes], me: Sequence[str]) -> None:
        rows: list[tuple[AgreedQuotes, str]] = []
        quotes: list[Quote] = []
        for item in agreements:
            rows.append((item, "words"))
            quotes.append(item.words)
            if item.reply is not None:
                rows.append((item, "reply"))
                quotes.append(item.reply)
            for follow_up in item.follow_ups:
                rows.append((item, "follow-up"))
                quotes.append(follow_up)
        self._rows = rows
        self.show(quotes, me)

    def forget(self) -> None:
        self._rows = []
        super().forget()

    def prompt(self, i: int, quote: Quote, me: Sequence[str], *, dimmed: bool) -> Visual:
        item, kind = self._rows[i]
        if kind == "reply":
            reply = reply_prompt(quote, me, declined=item.agreement.declined)
            return Padding(reply, Spacing(0, 0, 0, REPLY_INDENT))
        if kind == "follow-up":
            return Padding(follow_up_prompt(quote, me), Spacing(0, 0, 0, FOLLOW_UP_INDENT))
        words = quote_prompt(quote, me)
        status = item.agreement.status
        if status != "open":
            words = Content.assemble(words, (f"\n{status}", "bold $text-success"))
        return words

    def divider_before(self, i: int) -> bool:
        return self._rows[i][1] == "words"


class AgreementsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("What you agreed to try", classes="pane-title")
        yield Static("Looking through your sessions…", id="agreements-status", markup=False)
        yield AgreementList(id="agreement-list")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(AgreementList).display = False
        app = reflect_app(self)
        if app.unlocked is not None:
            self._find(app.unlocked)

    def forget_transcripts(self) -> None:
        self.query_one(AgreementList).forget()

    @work(thread=True, exit_on_error=False, exclusive=True, group="agreements", name="agreements")
    def _find(self, unlocked: Unlocked) -> None:
        if not wait_for(unlocked.searchable):
            return
        service = unlocked.service

        def quote(hit: Hit) -> Quote:
            return Quote(hit, service.excerpt_lines(hit))

        found = [
            AgreedQuotes(
                a,
                quote(a.words),
                quote(a.reply) if a.reply is not None else None,
                [quote(h) for h in a.follow_ups],
            )
            for a in service.agreements()
        ]
        self.post_message(AgreementsFound(found))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "agreements" and worker_failed(self, event):
            self._status("The agreements couldn't be found.")

    def on_agreements_found(self, message: AgreementsFound) -> None:
        found = message.agreements
        agreements = self.query_one(AgreementList)
        agreements.show_agreements(found, reflect_app(self).catalog.me)
        agreements.display = bool(found)
        if not found:
            self._status(EMPTY)
            return
        agreements.focus()
        count = f"{len(found)} agreement{'s' if len(found) != 1 else ''}"
        self._status(f"{count}, oldest first · Enter opens the transcript there")

    def _status(self, text: str) -> None:
        self.query_one("#agreements-status", Static).update(text)

    def on_open_quote(self, message: OpenQuote) -> None:
        message.stop()
        self.app.push_screen(ReaderScreen(message.quote.hit.session_id, message.quote))
