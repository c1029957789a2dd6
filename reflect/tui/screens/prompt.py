"""A small modal that asks for one line of text (a date for a filter, a moment's label)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class TextPrompt(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(
        self,
        title: str,
        hint: str,
        placeholder: str = "",
        *,
        optional: bool = False,
        keys: str = "enter to apply · esc to cancel",
    ) -> None:
        super().__init__()
        self.prompt_title = title
        self.hint = hint
        self.placeholder = placeholder
        # `optional`: Enter on an empty box answers "" (Esc alone answers None).
        self.optional = optional
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="prompt-box"):
            yield Static(self.prompt_title, classes="modal-title", markup=False)
            yield Static(self.hint, classes="modal-body", markup=False)
            yield Input(placeholder=self.placeholder, id="prompt-input")
            yield Static(self.keys, classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or ("" if self.optional else None))

    def action_cancel(self) -> None:
        self.dismiss(None)
