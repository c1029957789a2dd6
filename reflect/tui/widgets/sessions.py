"""The sessions sidebar: every session (date, title, turns), a box to filter them, and under
the list the selected session's first key moment.

The key moment is the first of the session's sealed recap (reflect/recap.py), read in a
worker when a session is selected (a few milliseconds: the recap is offsets into the stored
transcript) and kept while the list is unchanged. It is a detail line under the list rather
than a third line in every row: a row per session stays two lines, so the list still shows
several sessions at 80x24, and only the session in hand says more. Its words are the
transcript's own, cut at a word after a few lines with "…" (Enter opens the whole session).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, get_current_worker

from reflect.excerpts import clock
from reflect.recording import RECORDING_FORMAT
from reflect.retrieval import Hit
from reflect.safe_text import terminal
from reflect.store import SessionSummary
from reflect.tui.errors import worker_failed
from reflect.tui.formatting import QUIET_STYLE, short_date, speaker_style
from reflect.tui.messages import OpenSession, SessionMomentRead
from reflect.tui.state import Unlocked, reflect_app, wait_for

EMPTY_TEXT = "No sessions yet — press ctrl+o to import your transcripts."
# A key moment's words shown under the list: three lines of the sidebar, cut at a word.
MOMENT_CHARS = 66


def session_prompt(summary: SessionSummary) -> Content:
    turns = f"{summary.turns} turn{'s' if summary.turns != 1 else ''}"
    kind = " · recording" if summary.format == RECORDING_FORMAT else ""
    return Content.assemble(
        (terminal(summary.title), "bold"),
        "\n",
        (f"{short_date(dt.date.fromisoformat(summary.date))} · {turns}{kind}", QUIET_STYLE),
    )


def moment_detail(hit: Hit, me: tuple[str, ...]) -> Content:
    """'Key moment · Jonah · 0:06' over the moment's first words, verbatim."""
    words = " ".join(hit.text.split())
    if len(words) > MOMENT_CHARS:
        cut = words.rfind(" ", 0, MOMENT_CHARS)
        words = words[: cut if cut > 0 else MOMENT_CHARS].rstrip(",;:—-") + "…"
    head: list[tuple[str, str] | str] = [("Key moment", "bold")]
    if hit.speaker:
        head += [(" · ", QUIET_STYLE), (terminal(hit.speaker), speaker_style(hit.speaker, me))]
    if clock(hit.start):
        head.append((f" · {clock(hit.start)}", QUIET_STYLE))
    return Content("\n").join([Content.assemble(*head), Content(terminal(words))])


class SessionList(OptionList):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Read", show=False),
        Binding("f", "only_this", "Search only this session"),
    ]

    def action_only_this(self) -> None:
        option = self.highlighted_option
        if option is None or option.id is None:
            return
        app = reflect_app(self)
        if app.set_filters(replace(app.filters, session=option.id)):
            self.notify("Questions and searches now look only in this session.")


class SessionsSidebar(Vertical):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._summaries: list[SessionSummary] = []
        # Each session's first key moment once read (None: it has none), while the list
        # is unchanged.
        self._moments: dict[str, Hit | None] = {}

    def compose(self) -> ComposeResult:
        yield Static("Sessions", classes="pane-title")
        yield Input(placeholder="Filter sessions", id="session-filter")
        yield SessionList(id="session-list")
        yield Static(EMPTY_TEXT, id="sessions-empty", markup=False)
        yield Static(id="session-moment", markup=False)

    def on_mount(self) -> None:
        self.query_one("#session-moment").display = False

    def show(self, summaries: list[SessionSummary]) -> None:
        self._summaries = list(summaries)
        self._moments = {}  # a session renamed, relabelled or replaced has a new recap
        self._refill()

    def forget(self) -> None:
        self._summaries = []
        self._moments = {}
        self.query_one("#session-filter", Input).value = ""
        self.query_one(SessionList).clear_options()
        self._show_moment(None)

    @on(OptionList.OptionHighlighted, "#session-list")
    def _session_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        session_id = event.option.id
        app = reflect_app(self)
        if session_id is None or app.unlocked is None:
            return
        if session_id in self._moments:
            self._show_moment(self._moments[session_id])
        else:
            self._read_moment(app.unlocked, session_id)

    @work(thread=True, exit_on_error=False, exclusive=True, name="session-moment")
    def _read_moment(self, unlocked: Unlocked, session_id: str) -> None:
        # Once the index is open: a session imported before recaps were sealed has its
        # recap worked out from the index (the app seals those in the background then).
        if not wait_for(unlocked.searchable):
            return
        moments = unlocked.service.recap(session_id).moments
        if not get_current_worker().is_cancelled:
            self.post_message(SessionMomentRead(session_id, moments[0] if moments else None))

    def on_session_moment_read(self, message: SessionMomentRead) -> None:
        self._moments[message.session_id] = message.moment
        option = self.query_one(SessionList).highlighted_option
        if option is not None and option.id == message.session_id:
            self._show_moment(message.moment)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "session-moment" and worker_failed(self, event):
            self._show_moment(None)  # the session is still there to open and read

    def _show_moment(self, moment: Hit | None) -> None:
        detail = self.query_one("#session-moment", Static)
        detail.display = moment is not None
        if moment is not None:
            detail.update(moment_detail(moment, reflect_app(self).catalog.me))

    @on(Input.Changed, "#session-filter")
    def _filter_changed(self) -> None:
        self._refill()

    @on(Input.Submitted, "#session-filter")
    def _filter_submitted(self) -> None:
        self.query_one(SessionList).focus()

    def _refill(self) -> None:
        wanted = self.query_one("#session-filter", Input).value.strip().casefold()
        shown = [
            s
            for s in reversed(self._summaries)  # newest first: the one last week is wanted most
            if not wanted
            or wanted in s.title.casefold()
            or wanted in s.date
            or wanted in short_date(dt.date.fromisoformat(s.date)).casefold()
        ]
        session_list = self.query_one(SessionList)
        session_list.set_options(Option(session_prompt(s), id=s.id) for s in shown)
        if shown:
            session_list.highlighted = 0
        empty = self.query_one("#sessions-empty", Static)
        empty.display = not shown
        empty.update(EMPTY_TEXT if not self._summaries else "No session matches that.")
        session_list.display = bool(shown)
        if not shown:
            self._show_moment(None)

    @on(OptionList.OptionSelected, "#session-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(OpenSession(event.option.id))
