"""Errors as a person sees them: a calm modal with a title and one sentence.

The app has one handler for failed workers (`ReflectApp.on_worker_state_changed`); it calls
`error_text` and shows `ErrorModal`. A `ReflectError` brings its own title and sentence
(which never hold transcript text); anything else is a bug, shown as a generic sentence: no
traceback, no exception text, since either could carry words from a session.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState

from reflect.errors import as_reflect_error
from reflect.safe_text import terminal
from reflect.tui.state import reflect_app

UNEXPECTED_TITLE = "Something went wrong"
UNEXPECTED_MESSAGE = (
    "reflect hit an unexpected problem. Your vault is safe; try again, and if it keeps "
    "happening, restart reflect."
)


def error_text(error: BaseException) -> tuple[str, str]:
    known = as_reflect_error(error)  # a full disk is a ReflectError here too
    if known is not None:
        # Messages name files, and a file name may hold escape sequences.
        return terminal(known.title), terminal(known.message)
    return UNEXPECTED_TITLE, UNEXPECTED_MESSAGE


def worker_failed(node: DOMNode, event: Worker.StateChanged) -> bool:
    """True when a screen's own worker failed; its error then goes to the app's handler.

    A screen's workers report to the screen alone (their state messages don't bubble), so
    each screen passes failures on here. Work cut short by locking the vault is expected and
    reported to nobody, as in the app's handler.
    """
    if event.state is not WorkerState.ERROR:
        return False
    app = reflect_app(node)
    if event.worker.error is not None and app.unlocked is not None:
        app.show_error(event.worker.error)
    return True


class ErrorModal(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "dismiss_modal", "Close", show=False)
    ]

    def __init__(self, title: str, message: str) -> None:
        super().__init__(classes="modal-screen")
        self.error_title = title
        self.error_message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box", classes="modal-box"):
            yield Static(self.error_title, classes="modal-title", markup=False)
            yield Static(self.error_message, classes="modal-body", markup=False)
            yield Button("OK", id="error-ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#error-ok", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_dismiss_modal(self) -> None:
        self.dismiss(None)
