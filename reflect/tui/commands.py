"""The command palette (ctrl+p): every action, and the filters, in one searchable list."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from reflect.safe_text import app_markup, terminal
from reflect.service import SearchFilters
from reflect.tui.screens.main import MainScreen
from reflect.tui.screens.notes import HandoutsScreen, NotesScreen
from reflect.tui.screens.prompt import TextPrompt
from reflect.tui.state import ReflectHost

Command = tuple[str, str, Callable[[], Any]]
IDLE_CHOICES = (5, 10, 15, 30, 60)


class ReflectCommands(Provider):
    def _commands(self) -> Iterator[Command]:
        app = self._app
        yield ("Keys", "Show every key and where it works (F1)", app.action_help)
        yield (
            "Switch light or dark",
            "Change between the light and dark look",
            app.action_toggle_dark,
        )
        if app.unlocked is None:
            return
        main = next((s for s in self.app.screen_stack if isinstance(s, MainScreen)), None)
        if main is not None:
            yield (
                "Ask a question",
                "Go to the question box",
                partial(self._on_main, main, "focus_question"),
            )
            yield (
                "Search quotes",
                "Find the exact words (ctrl+f)",
                partial(self._on_main, main, "search"),
            )
            yield (
                "My moments",
                "The moments you kept, to read or listen to again (ctrl+s)",
                partial(self._on_main, main, "moments"),
            )
            yield (
                "Import transcripts",
                "Add session files or a folder (ctrl+o)",
                partial(self._on_main, main, "import"),
            )
            yield (
                "Show or hide sessions",
                "The sessions sidebar (ctrl+b)",
                partial(self._on_main, main, "toggle_sessions"),
            )
            yield (
                "Stop the answer",
                "Stop the answer being written (esc)",
                main.action_stop_answer,
            )
            yield (
                "Copy the highlighted excerpt",
                "The quote with its date, speaker and time, to the clipboard (c)",
                main.action_copy_quote,
            )
        yield (
            "Your notes",
            "Notes of your own between sessions, sealed and searchable (n writes one)",
            lambda: self.app.push_screen(NotesScreen()),
        )
        yield (
            "Your handouts",
            "Handouts from your therapist, page by page (reflect import --handout FILE)",
            lambda: self.app.push_screen(HandoutsScreen()),
        )
        yield (
            "Timeline of a theme",
            "Every session where a theme came up, oldest first (ctrl+g)",
            app.action_timeline,
        )
        yield (
            "Agreements",
            "What you and your therapist agreed to try, and what came of it (ctrl+y)",
            app.action_agreements,
        )
        yield (
            "Ready for the next session",
            "The last session's key moments, what is still open, the themes lately (ctrl+r)",
            app.action_next_session,
        )
        yield ("Lock now", "Lock the vault and clear the screen (ctrl+l)", app.action_lock)
        yield from self._filter_commands(app)
        for minutes in IDLE_CHOICES:
            yield (
                f"Lock after {minutes} idle minutes",
                "Auto-lock when reflect is left alone (this time only)",
                partial(self._set_idle, minutes),
            )
        for label in app.catalog.speakers:
            yield (
                f"I am {app_markup(label)}",
                "Mark this speaker as you, for “what did I say”",
                partial(self._set_me, label),
            )

    def _filter_commands(self, app: ReflectHost) -> Iterator[Command]:
        filters = app.filters
        yield (
            "Filter: only what I said",
            "Questions and searches look at your words only",
            partial(self._set, speaker="me"),
        )
        yield (
            "Filter: only what my therapist said",
            "Questions and searches look at your therapist's words only",
            partial(self._set, speaker="therapist"),
        )
        for label in app.catalog.speakers:
            yield (
                f"Filter: only what {app_markup(label)} said",
                "Limit to one speaker",
                partial(self._set, speaker=label),
            )
        for s in reversed(app.catalog.sessions):
            yield (
                f"Filter: only {app_markup(s.title)} ({s.date})",
                "Limit to this session",
                partial(self._set, session=s.id),
            )
        yield (
            "Filter: from a date…",
            "e.g. 2026-03-01, last month, March",
            partial(self._ask_date, "since"),
        )
        yield (
            "Filter: until a date…",
            "e.g. 2026-04-30, last week",
            partial(self._ask_date, "until"),
        )
        if filters != SearchFilters():
            yield (
                "Filter: clear all",
                "Look at every session again",
                partial(self._replace, SearchFilters()),
            )
            for field in ("session", "since", "until", "speaker"):
                if getattr(filters, field):
                    yield (
                        f"Filter: remove {field}",
                        "Drop this one filter",
                        partial(self._set, **{field: None}),
                    )

    # ---- what the commands do --------------------------------------------------------------

    @property
    def _app(self) -> ReflectHost:
        return cast("ReflectHost", self.app)

    @staticmethod
    def _on_main(screen: Any, action: str) -> None:
        getattr(screen, f"action_{action}")()

    def _set(self, **changes: str | None) -> None:
        self._replace(replace(self._app.filters, **changes))

    def _replace(self, filters: SearchFilters) -> None:
        if self._app.set_filters(filters):
            self.app.notify("Filters apply to questions and quote search.", title="Filters")

    def _ask_date(self, field: str) -> None:
        title = "Only from this date on" if field == "since" else "Only up to this date"

        def apply(value: str | None) -> None:
            if value:
                self._set(**{field: value})

        self.app.push_screen(
            TextPrompt(
                title,
                "A date like 2026-03-14, or words like “last month” or “March”.",
                "2026-03-01",
            ),
            apply,
        )

    def _set_idle(self, minutes: int) -> None:
        self._app.set_idle_lock_minutes(minutes)
        self.app.notify(f"reflect will lock after {minutes} minutes without activity.")

    def _set_me(self, label: str) -> None:
        self._app.set_me(label)
        self.app.notify(f"Noted: you are “{terminal(label)}”.", markup=False)

    # ---- the palette protocol -----------------------------------------------------------

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
