"""The active search filters as chips; choosing a chip removes that filter.

Filters are set from the command palette (ctrl+p, "Filter…"); they apply to questions and
to quote search alike.
"""

from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

from reflect.service import SearchFilters
from reflect.tui.state import reflect_app

FIELDS = ("session", "since", "until", "speaker")


def chip_label(field: str, value: str, session_titles: dict[str, str]) -> str:
    if field == "session":
        return f"session: {session_titles.get(value, value)} ✕"
    if field == "speaker":
        return f"said by: {value} ✕"
    return f"{'from' if field == 'since' else 'until'}: {value} ✕"


class FilterChips(Horizontal):
    def compose(self) -> ComposeResult:
        yield Static("All sessions · ctrl+p to filter", id="no-filters", markup=False)

    def on_mount(self) -> None:
        self.watch(self.app, "filters", self._show, init=True)

    async def _show(self, filters: SearchFilters) -> None:
        await self.query(Button).remove()
        active = [(f, getattr(filters, f)) for f in FIELDS if getattr(filters, f)]
        self.query_one("#no-filters", Static).display = not active
        self.set_class(bool(active), "-active")
        if not active:
            return
        titles = reflect_app(self).catalog.titles
        await self.mount_all(
            Button(
                chip_label(f, value, titles),
                id=f"chip-{f}",
                classes="chip",
                compact=True,
                tooltip="Remove this filter",
            )
            for f, value in active
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        field = (event.button.id or "").removeprefix("chip-")
        if field in FIELDS:
            app = reflect_app(self)
            app.filters = replace(app.filters, **{field: None})
