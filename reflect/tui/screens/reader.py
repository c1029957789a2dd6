"""The transcript reader: a whole session, scrolled to a quote with the quote highlighted.

Above the transcript, the session's key moments (reflect/recap.py), found by a worker of
their own while the transcript loads; Enter on one scrolls the transcript to it. Esc goes
back to where the reader was opened from (the conversation, quote search, a timeline).
Tab moves to the lines (up and down then go line by line, shift+up and shift+down take in
the line above or below too); `k` keeps the lines in hand, the key moment chosen, or the
quote the reader was opened at, as a saved moment.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.worker import Worker, WorkerState

from reflect.consent import header_note
from reflect.excerpts import clock
from reflect.kept import cited_span
from reflect.safe_text import terminal
from reflect.session import NOTE, SESSION, Session, StoredTurn
from reflect.sources import page_of
from reflect.tui.errors import worker_failed
from reflect.tui.formatting import (
    HIGHLIGHT_STYLE,
    QUIET_STYLE,
    QUOTE_STYLE,
    citation_text,
    long_date,
    speaker_style,
)
from reflect.tui.messages import Quote, RecapRead, SessionRead
from reflect.tui.state import reflect_app
from reflect.tui.widgets.recap import RecapList
from reflect.tui.widgets.status import StatusBar


def _turn_head(turn: StoredTurn, me: list[str]) -> list[tuple[str, str]]:
    head: list[tuple[str, str]] = []
    when = clock(turn.start)
    if when:
        head.append((f"{when:>7}  ", QUIET_STYLE))
    if turn.speaker:
        head.append((terminal(turn.speaker), speaker_style(turn.speaker, me)))
    return head


def turn_blocks(
    session: Session, turn: StoredTurn, me: list[str], quote: Quote | None
) -> list[tuple[Content, bool]]:
    """A turn as blocks of text, each flagged True when it is part of `quote`.

    A quote that covers only part of a turn gets a block of its own, so the reader can
    scroll straight to its first line and mark exactly those words.
    """
    text = session.turn_text(turn)
    cuts = [(0, len(text), False)]
    if quote is not None and in_quote(turn, quote):
        hit = quote.hit
        a = max(hit.char_start - turn.char_start, 0)
        b = min(hit.char_end - turn.char_start, len(text))
        cuts = [(0, a, False), (a, b, True), (b, len(text), False)]
    blocks: list[tuple[Content, bool]] = []
    for a, b, quoted in cuts:
        piece = text[a:b]
        if not piece.strip():
            continue
        lead = len(piece) - len(piece.lstrip())
        piece = piece.strip()
        offset = turn.char_start + a + lead  # where `piece` starts in the session text
        body = Content(piece)
        if quoted and quote is not None:
            body = body.stylize(QUOTE_STYLE)
            for ma, mb in quote.hit.match_spans:
                start = quote.hit.char_start + ma - offset
                end = quote.hit.char_start + mb - offset
                body = body.stylize(HIGHLIGHT_STYLE, max(start, 0), min(end, len(piece)))
        if not blocks:
            page = page_of(session, turn.index)
            # A handout's page stands where a time would; a note is the user's, unlabelled.
            head = [(f"page {page}", QUIET_STYLE)] if page is not None else (
                [] if session.kind == NOTE else _turn_head(turn, me)
            )
            if head:
                body = Content.assemble(*head, "\n", body)
        blocks.append((body, quoted))
    return blocks


def in_quote(turn: StoredTurn, quote: Quote | None) -> bool:
    if quote is None:
        return False
    return turn.char_start < quote.hit.char_end and quote.hit.char_start < turn.char_end


class TurnBlock(Static, can_focus=True):
    """A block of a turn, which tab and the arrow keys can move to (to keep it with `k`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "step(-1)", "Line above", show=False),
        Binding("down", "step(1)", "Line below", show=False),
        Binding("shift+up", "step(-1, True)", "Take in the line above", show=False),
        Binding("shift+down", "step(1, True)", "Take in the line below", show=False),
    ]

    def __init__(self, content: Content, turn: int, *, classes: str) -> None:
        super().__init__(content, classes=classes)
        self.turn = turn  # its index in the session

    def action_step(self, by: int, extend: bool = False) -> None:
        screen = self.screen
        if isinstance(screen, ReaderScreen):
            screen.step(self, by, extend=extend)

    def on_focus(self) -> None:
        screen = self.screen
        if isinstance(screen, ReaderScreen):
            screen.mark_chosen()


class ReaderScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("c", "copy_quote", "Copy quote"),
        Binding("p", "play", "Play / stop"),
        Binding("k", "keep", "Keep"),
        # Capital K: small k keeps a moment, on every excerpt and line (issue #19).
        Binding("K", "key_moments", "Key moments"),
        Binding("home", "top", "Top", show=False),
        Binding("end", "bottom", "End", show=False),
    ]

    def __init__(self, session_id: str, quote: Quote | None = None) -> None:
        super().__init__()
        self.session_id = session_id
        self.quote = quote
        # Each turn's blocks, by the turn's place in the text, for going to a key moment.
        self._turns: list[tuple[StoredTurn, list[TurnBlock]]] = []
        # Where a stretch of lines taken in with shift+up/down began (a turn's index).
        self._anchor: int | None = None

    def compose(self) -> ComposeResult:
        yield Static("Opening the session…", id="reader-title", markup=False)
        yield Static(
            "Key moments · K to choose one, Enter goes there",
            id="recap-title",
            classes="pane-title",
        )
        yield RecapList(id="reader-recap")
        yield VerticalScroll(id="transcript")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#transcript").focus()
        self._show_recap(False)
        self._load(self.session_id)
        self._load_recap(self.session_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("copy_quote", "play"):
            return self.quote is not None
        if action == "key_moments":
            return bool(self.query_one(RecapList).moments)
        return True

    def step(self, block: TurnBlock, by: int, *, extend: bool) -> None:
        """Move to the line above or below; with `extend`, keep the lines between chosen."""
        blocks = list(self.query(TurnBlock))
        at = blocks.index(block) + by
        if not 0 <= at < len(blocks):
            return
        if extend and self._anchor is None:
            self._anchor = block.turn
        elif not extend:
            self._anchor = None
        blocks[at].focus()
        self.mark_chosen()

    def chosen_turns(self) -> tuple[int, int] | None:
        """The turns in hand (first, last; 0-based), when a line has focus."""
        if not isinstance(self.focused, TurnBlock):
            return None
        turn = self.focused.turn
        anchor = turn if self._anchor is None else self._anchor
        return min(anchor, turn), max(anchor, turn)

    def mark_chosen(self) -> None:
        chosen = self.chosen_turns()
        for block in self.query(TurnBlock):
            block.set_class(chosen is not None and chosen[0] <= block.turn <= chosen[1], "-chosen")

    def action_keep(self) -> None:
        """Keep the lines in hand, else the quote the reader was opened at."""
        app = reflect_app(self)
        chosen = self.chosen_turns()
        recap = self.query_one(RecapList)
        if chosen is not None:
            app.keep_moment(self.session_id, turns=(chosen[0] + 1, chosen[1] + 1))
        elif recap.has_focus and recap.highlighted is not None and recap.moments:
            hit = recap.moments[recap.highlighted].hit
            app.keep_moment(self.session_id, span=(hit.char_start, hit.char_end))
        elif self.quote is not None:
            hit = self.quote.hit
            span = cited_span(hit.char_start, hit.char_end, hit.match_spans)
            app.keep_moment(self.session_id, span=span)
        else:
            self.notify("Press tab to move to a line, then k to keep it.", timeout=4)

    def forget_transcripts(self) -> None:
        self.quote = None
        self._turns = []
        self.query_one("#reader-title", Static).update("")
        self.query_one(RecapList).forget()
        self._show_recap(False)
        self.query_one("#transcript").remove_children()

    def _show_recap(self, shown: bool) -> None:
        self.query_one("#recap-title").display = shown
        self.query_one(RecapList).display = shown

    @work(thread=True, exit_on_error=False, name="read-session")
    def _load(self, session_id: str) -> None:
        self.post_message(SessionRead(reflect_app(self).service.session(session_id)))

    @work(thread=True, exit_on_error=False, name="read-recap")
    def _load_recap(self, session_id: str) -> None:
        service = reflect_app(self).service
        if service.summary(session_id).kind != SESSION:
            self.post_message(RecapRead(session_id, []))  # a note or a handout has no recap
            return
        recap = service.recap(session_id)
        moments = [Quote(hit, service.excerpt_lines(hit)) for hit in recap.moments]
        self.post_message(RecapRead(session_id, moments))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "read-session" and event.state is WorkerState.ERROR:
            self.query_one("#reader-title", Static).update("This session couldn't be opened.")
        if event.worker.name == "read-recap":
            worker_failed(self, event)  # the transcript is still there to read

    def on_recap_read(self, message: RecapRead) -> None:
        if message.session_id != self.session_id:
            return
        self.query_one(RecapList).show(message.moments, reflect_app(self).catalog.me)
        self._show_recap(bool(message.moments))
        self.refresh_bindings()

    def action_key_moments(self) -> None:
        recap = self.query_one(RecapList)
        if recap.has_focus:
            self.query_one("#transcript").focus()
        elif recap.moments:
            recap.focus()

    @on(OptionList.OptionSelected, "#reader-recap")
    def _go_to_moment(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        moments = self.query_one(RecapList).moments
        if event.option_index >= len(moments):
            return
        start = moments[event.option_index].hit.char_start
        for turn, blocks in self._turns:
            here = turn.char_start <= start < turn.char_end
            for block in blocks:
                block.set_class(here, "-moment")
            if here and blocks:
                self._scroll_to_quote(blocks[0])

    async def on_session_read(self, message: SessionRead) -> None:
        session = message.session
        me = list(reflect_app(self).catalog.me)
        speakers = terminal(", ".join(session.speakers))
        agreement = header_note(session)
        title = Content.assemble(
            (terminal(session.title), "bold"),
            (f"  ·  {long_date(session.date)}", ""),
            (f"  ·  {speakers}" if speakers else "", QUIET_STYLE),
            (f"  ·  ♪ {agreement}" if agreement else "", QUIET_STYLE),
        )
        if session.kind != SESSION:
            what = "your note" if session.kind == NOTE else f"handout: {session.title}"
            title = Content.assemble(
                (terminal(what), "bold"), (f"  ·  {long_date(session.date)}", "")
            )
        self.query_one("#reader-title", Static).update(title)
        blocks: list[TurnBlock] = []
        self._turns = []
        for turn in session.turns:
            of_turn: list[TurnBlock] = []
            for i, (content, quoted) in enumerate(turn_blocks(session, turn, me, self.quote)):
                classes = "turn" if i == 0 else "turn turn-rest"
                of_turn.append(
                    TurnBlock(content, turn.index, classes=classes + (" -quoted" if quoted else ""))
                )
            self._turns.append((turn, of_turn))
            blocks.extend(of_turn)
        transcript = self.query_one("#transcript", VerticalScroll)
        await transcript.mount_all(blocks)
        quoted_blocks = [b for b in blocks if b.has_class("-quoted")]
        if quoted_blocks:
            self.call_after_refresh(self._scroll_to_quote, quoted_blocks[0])

    def _scroll_to_quote(self, turn: TurnBlock) -> None:
        transcript = self.query_one("#transcript", VerticalScroll)
        # A little of what came before, so the quote reads in context.
        transcript.scroll_to(y=max(turn.virtual_region.y - 2, 0), animate=False)

    def action_copy_quote(self) -> None:
        if self.quote is None:
            return
        self.app.copy_to_clipboard(citation_text(self.quote.hit))
        self.notify("Copied the quote with its date, speaker and time.", title="Copied")

    def action_play(self) -> None:
        if self.quote is not None:
            reflect_app(self).toggle_playback(self.quote.hit)

    def action_top(self) -> None:
        self.query_one("#transcript", VerticalScroll).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one("#transcript", VerticalScroll).scroll_end(animate=False)
