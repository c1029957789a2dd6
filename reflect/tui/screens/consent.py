"""The one question asked before a recording is imported: did your therapist agree?

Asked calmly, in one sentence (reflect.consent), with three answers; Esc imports nothing.
The answer is stored with the session and shown in its header.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from reflect.consent import AGREED, NOT_AGREED, NOT_SURE, QUESTION


class ConsentPrompt(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="consent-box"):
            yield Static("Before this recording is imported", classes="modal-title")
            yield Static(QUESTION, classes="modal-body", markup=False)
            with Horizontal(id="consent-choices"):
                yield Button("Yes", id="consent-yes", name=AGREED, compact=True)
                yield Button("No", id="consent-no", name=NOT_AGREED, compact=True)
                yield Button("Not sure", id="consent-unsure", name=NOT_SURE, compact=True)
            yield Static(
                "Your answer is kept with the session · esc imports nothing",
                classes="modal-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one("#consent-yes", Button).focus()

    @on(Button.Pressed)
    def _answered(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.name)

    def action_cancel(self) -> None:
        self.dismiss(None)
