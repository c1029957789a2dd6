"""Every key, by where it works. Built from the bindings themselves, so it can't go stale."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from reflect.tui.screens.agreements import AgreementsScreen
from reflect.tui.screens.importer import ImportScreen
from reflect.tui.screens.main import MainScreen
from reflect.tui.screens.next_session import NextSessionScreen, PrepList
from reflect.tui.screens.reader import ReaderScreen
from reflect.tui.screens.saved_moments import MomentList, MomentsScreen
from reflect.tui.screens.search import QuoteSearchScreen
from reflect.tui.screens.timeline import TimelineChart, TimelineScreen
from reflect.tui.state import reflect_app
from reflect.tui.widgets.quotes import QuoteList
from reflect.tui.widgets.sessions import SessionList

# Keys that belong to Textual's own widgets, as reflect uses them.
EXTRA_KEYS: dict[str, list[tuple[str, str]]] = {
    "Everywhere": [
        ("ctrl+p", "Command palette: every action, filters, theme"),
        ("tab / shift+tab", "Move between boxes and lists"),
    ],
    "Main screen": [("enter", "Ask the question in the question box")],
    "Sessions list": [("enter", "Read the whole session")],
    "Transcript reader": [
        ("enter (key moment)", "Go there in the transcript"),
        ("tab, up / down", "Move line by line (k keeps that line)"),
        ("shift+up / down", "Take in the line above or below too"),
    ],
    "Timeline": [("enter (in the box)", "Show when the theme came up")],
    "Agreements": [("enter / c / p", "Open, copy or play, as on an excerpt")],
    "Next session": [("enter (on a theme)", "Its whole timeline")],
}


def _key_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    rows: dict[str, str] = {}
    for binding in bindings:
        if not isinstance(binding, Binding) or not binding.description:
            continue
        keys = " / ".join(_key_name(k) for k in binding.key.split(","))
        if binding.description in rows.values():
            # Two keys for one action ("ctrl+f" and "/"): one row.
            key = next(k for k, d in rows.items() if d == binding.description)
            rows[f"{key} / {keys}"] = rows.pop(key)
        else:
            rows[keys] = binding.description
    return [(k, d) for k, d in rows.items()]


def _key_name(key: str) -> str:
    return {"question_mark": "?", "slash": "/", "escape": "esc"}.get(key.strip(), key.strip())


def key_sections(app_bindings: Iterable[BindingType]) -> list[tuple[str, list[tuple[str, str]]]]:
    """`app_bindings`: the app's own keys, passed in since screens don't import the app."""
    sources: list[tuple[str, list[BindingType]]] = [
        ("Everywhere", list(app_bindings)),
        ("Main screen", list(MainScreen.BINDINGS)),
        ("Excerpts and search results", list(QuoteList.BINDINGS)),
        ("Sessions list", list(SessionList.BINDINGS)),
        ("Transcript reader", list(ReaderScreen.BINDINGS)),
        ("Quote search", list(QuoteSearchScreen.BINDINGS)),
        ("Timeline", list(TimelineScreen.BINDINGS) + list(TimelineChart.BINDINGS)),
        ("Agreements", list(AgreementsScreen.BINDINGS)),
        ("My moments", [*MomentList.BINDINGS, *MomentsScreen.BINDINGS]),
        ("Next session", list(NextSessionScreen.BINDINGS) + list(PrepList.BINDINGS)),
        ("Import", list(ImportScreen.BINDINGS)),
    ]
    return [(name, _key_rows(b) + EXTRA_KEYS.get(name, [])) for name, b in sources]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,question_mark,q", "app.pop_screen", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="modal-box"):
            yield Static("Keys", classes="modal-title")
            sections = key_sections(reflect_app(self).BINDINGS)
            width = max(len(k) for _, rows in sections for k, _ in rows) + 2
            with VerticalScroll(id="help-keys"):
                for section, rows in sections:
                    yield Static(section, classes="help-section")
                    yield Static(
                        Content("\n").join(
                            Content.assemble((f"{k:<{width}}", "bold $text-accent"), d)
                            for k, d in rows
                        ),
                        classes="help-rows",
                    )
            yield Static("esc closes this", classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one("#help-keys").focus()
