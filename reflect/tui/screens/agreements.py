"""What you and your therapist agreed to try, oldest first.

Each agreement is the verbatim words that propose or commit to it (session, date, speaker,
time above them), the reply that accepts or declines it indented under it, and, further in,
the moments of later sessions that talk about it ("follow-ups"). Every one of them is a row
of its own, so Enter opens the reader at exactly that moment, `p` plays it and `c` copies it.

`d` marks the agreement of the selected row done, `x` not for me, `o` open again: the row
says so at once, and a worker stores the mark (sealed, `Reflect.mark_agreement`) without
holding up the screen; if storing fails the row goes back to what is stored and the error
is shown. Marks are stored one at a time, each the newest wish for its agreement, so
pressing `d` then `o` quickly always ends "open".

Found in a worker: finding follow-ups searches the later sessions once per agreement.
"""

from __future__ import annotations

import threading
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

from reflect.agreements import Agreement
from reflect.excerpts import clock
from reflect.retrieval import Hit
from reflect.safe_text import terminal
from reflect.service import Reflect
from reflect.tui.errors import worker_failed
from reflect.tui.formatting import (
    QUIET_STYLE,
    brief_excerpt,
    excerpt_body,
    short_date,
    speaker_style,
)
from reflect.tui.messages import (
    AgreedQuotes,
    AgreementMarked,
    AgreementsFound,
    OpenQuote,
    Quote,
)
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
# How a mark reads under the agreement's words ("open" says nothing).
STATUS_WORDS = {
    "done": ("marked done", "bold $text-success"),
    "dropped": ("marked not for me", "bold"),
}


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


def agreement_row(item: AgreedQuotes, kind: str, quote: Quote, me: Sequence[str]) -> Visual:
    """One row of an agreement: its "words" (with the user's mark under them), its "reply"
    indented, or a "follow-up" further in."""
    if kind == "reply":
        reply = reply_prompt(quote, me, declined=item.agreement.declined)
        return Padding(reply, Spacing(0, 0, 0, REPLY_INDENT))
    if kind == "follow-up":
        return Padding(follow_up_prompt(quote, me), Spacing(0, 0, 0, FOLLOW_UP_INDENT))
    words = quote_prompt(quote, me)
    if item.agreement.status in STATUS_WORDS:
        said, style = STATUS_WORDS[item.agreement.status]
        words = Content.assemble(words, "\n", (said, style))
    return words


def agreement_rows(item: AgreedQuotes) -> list[tuple[str, Quote]]:
    """An agreement's rows in order: its words, the reply, each follow-up."""
    rows = [("words", item.words)]
    if item.reply is not None:
        rows.append(("reply", item.reply))
    rows.extend(("follow-up", q) for q in item.follow_ups)
    return rows


def agreed_quotes(service: Reflect, agreement: Agreement) -> AgreedQuotes:
    """An agreement with each of its moments read from the stored transcript (in a worker)."""

    def quote(hit: Hit) -> Quote:
        return Quote(hit, service.excerpt_lines(hit))

    reply = quote(agreement.reply) if agreement.reply is not None else None
    return AgreedQuotes(
        agreement, quote(agreement.words), reply, [quote(h) for h in agreement.follow_ups]
    )


class AgreementList(QuoteList):
    """Agreements, each followed by its reply and follow-ups, indented under it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # For each row: the agreement it belongs to, and what the row is.
        self._rows: list[tuple[AgreedQuotes, str]] = []
        self._me: Sequence[str] = ()

    def show_agreements(self, agreements: Sequence[AgreedQuotes], me: Sequence[str]) -> None:
        self._me = me
        rows: list[tuple[AgreedQuotes, str]] = []
        quotes: list[Quote] = []
        for item in agreements:
            for kind, quote in agreement_rows(item):
                rows.append((item, kind))
                quotes.append(quote)
        self._rows = rows
        self.show(quotes, me)

    def forget(self) -> None:
        self._rows = []
        super().forget()

    @property
    def current_agreement(self) -> AgreedQuotes | None:
        """The agreement the selected row belongs to (its words, reply or a follow-up)."""
        row = self.highlighted
        return self._rows[row][0] if row is not None and row < len(self._rows) else None

    def show_status(self, agreement_id: str, status: str) -> None:
        """Show `agreement_id` as `status` under its words, at once."""
        for i, (item, kind) in enumerate(self._rows):
            if kind == "words" and item.agreement.id == agreement_id:
                item.agreement.status = status
                self.replace_option_prompt(str(i), self.prompt(i, item.words, self._me))

    def prompt(self, i: int, quote: Quote, me: Sequence[str], *, dimmed: bool = False) -> Visual:
        item, kind = self._rows[i]
        return agreement_row(item, kind, quote, me)

    def divider_before(self, i: int) -> bool:
        return self._rows[i][1] == "words"


class AgreementsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("d", "mark('done')", "Mark done"),
        Binding("x", "mark('dropped')", "Not for me"),
        Binding("o", "mark('open')", "Open again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        # Marks being stored: each worker's agreement, the newest wish for each agreement,
        # and what is stored (to go back to when storing fails).
        self._marking: dict[Worker[None], str] = {}
        self._wanted: dict[str, str] = {}
        self._stored: dict[str, str] = {}
        self._one_at_a_time = threading.Lock()

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
        found = [agreed_quotes(service, a) for a in service.agreements()]
        self.post_message(AgreementsFound(found))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "agreements" and worker_failed(self, event):
            self._status("The agreements couldn't be found.")
        if event.worker.name == "mark-agreement" and event.worker.is_finished:
            agreement_id = self._marking.pop(event.worker, None)
            if worker_failed(self, event) and agreement_id is not None:
                stored = self._stored.get(agreement_id, "open")
                self._wanted[agreement_id] = stored
                self.query_one(AgreementList).show_status(agreement_id, stored)

    def action_mark(self, status: str) -> None:
        app = reflect_app(self)
        item = self.query_one(AgreementList).current_agreement
        if item is None or app.unlocked is None or item.agreement.status == status:
            return
        agreement_id = item.agreement.id
        self.query_one(AgreementList).show_status(agreement_id, status)
        self._wanted[agreement_id] = status
        self._marking[self._store_mark(app.unlocked, agreement_id)] = agreement_id

    @work(thread=True, exit_on_error=False, group="agreement-marks", name="mark-agreement")
    def _store_mark(self, unlocked: Unlocked, agreement_id: str) -> None:
        with self._one_at_a_time:
            status = self._wanted[agreement_id]
            unlocked.service.mark_agreement(agreement_id, status)
        self.post_message(AgreementMarked(agreement_id, status))

    def on_agreement_marked(self, message: AgreementMarked) -> None:
        self._stored[message.agreement_id] = message.status
        # Other views showing agreements (the Next session view below this one) gather
        # them again when shown next.
        for screen in self.app.screen_stack:
            changed = getattr(screen, "agreements_changed", None)
            if callable(changed):
                changed()

    def on_agreements_found(self, message: AgreementsFound) -> None:
        found = message.agreements
        self._stored = {a.agreement.id: a.agreement.status for a in found}
        agreements = self.query_one(AgreementList)
        agreements.show_agreements(found, reflect_app(self).catalog.me)
        agreements.display = bool(found)
        if not found:
            self._status(EMPTY)
            return
        agreements.focus()
        count = f"{len(found)} agreement{'s' if len(found) != 1 else ''}"
        # The footer has no room for the marking keys at 80 columns: they are named here.
        self._status(f"{count}, oldest first · d done · x not for me · o open again")

    def _status(self, text: str) -> None:
        self.query_one("#agreements-status", Static).update(text)

    def on_open_quote(self, message: OpenQuote) -> None:
        message.stop()
        self.app.push_screen(ReaderScreen(message.quote.hit.session_id, message.quote))
