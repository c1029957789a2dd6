"""The sessions sidebar: every session (date, title, turns) and a box to filter them."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from reflect.recording import RECORDING_FORMAT
from reflect.safe_text import terminal
from reflect.store import SessionSummary
from reflect.tui.formatting import QUIET_STYLE, short_date
from reflect.tui.messages import OpenSession
from reflect.tui.state import reflect_app

EMPTY_TEXT = "No sessions yet — press ctrl+o to import your transcripts."


def session_prompt(summary: SessionSummary) -> Content:
    turns = f"{summary.turns} turn{'s' if summary.turns != 1 else ''}"
    kind = " · recording" if summary.format == RECORDING_FORMAT else ""
    return Content.assemble(
        (terminal(summary.title), "bold"),
        "\n",
        (f"{short_date(dt.date.fromisoformat(summary.date))} · {turns}{kind}", QUIET_STYLE),
    )


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

    def compose(self) -> ComposeResult:
        yield Static("Sessions", classes="pane-title")
        yield Input(placeholder="Filter sessions", id="session-filter")
        yield SessionList(id="session-list")
        yield Static(EMPTY_TEXT, id="sessions-empty", markup=False)

    def show(self, summaries: list[SessionSummary]) -> None:
        self._summaries = list(summaries)
        self._refill()

    def forget(self) -> None:
        self._summaries = []
        self.query_one("#session-filter", Input).value = ""
        self.query_one(SessionList).clear_options()

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

    @on(OptionList.OptionSelected, "#session-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(OpenSession(event.option.id))
