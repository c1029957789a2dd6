"""Unlock: one masked passphrase box. A wrong passphrase is a message, then another try.

For the demo vault (invented sessions) the passphrase is public: it is shown and filled in,
and the vault is made on first use.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Static
from textual.worker import Worker, WorkerState

from reflect.demo import DEMO_PASSPHRASE, open_demo
from reflect.errors import WrongPassphrase
from reflect.service import Reflect
from reflect.tui.messages import DemoReady, VaultOpened
from reflect.tui.state import reflect_app
from reflect.tui.widgets.status import StatusBar
from reflect.vault import Vault

WRONG = "That passphrase didn't open the vault. Check Caps Lock and try again."


class UnlockScreen(Screen[None]):
    AUTO_FOCUS = "#passphrase"

    def __init__(self, note: str | None = None) -> None:
        super().__init__()
        self.note = note

    def compose(self) -> ComposeResult:
        app = reflect_app(self)
        with Center(), Vertical(id="unlock-box", classes="dialog"):
            yield Static("reflect", classes="dialog-title")
            yield Static(
                "Your sessions are encrypted on this computer. Type your passphrase to open them.",
                markup=False,
            )
            if app.options.demo:
                yield Static(
                    "This is the demo vault: invented sessions, nothing private. "
                    f"Its passphrase is “{DEMO_PASSPHRASE}”, already filled in.",
                    id="demo-note",
                    markup=False,
                )
            yield Input(password=True, placeholder="Passphrase", id="passphrase")
            yield Static(self.note or "", id="unlock-message", markup=False)
            yield Button("Unlock", id="unlock", variant="primary")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        app = reflect_app(self)
        self._show_message(self.note or "")
        if app.options.demo:
            self.query_one("#passphrase", Input).value = DEMO_PASSPHRASE
            if not Vault.exists(app.options.vault_path):
                self._busy("Setting up the demo vault (first time only, under a minute)…")
                self._prepare_demo()

    def forget_transcripts(self) -> None:
        """Nothing from a transcript is shown here; the box may hold a half-typed secret."""
        self.query_one("#passphrase", Input).value = ""

    @on(Input.Submitted, "#passphrase")
    @on(Button.Pressed, "#unlock")
    def _submit(self) -> None:
        box = self.query_one("#passphrase", Input)
        if box.disabled:
            return
        if not box.value:
            self._show_message("Type your passphrase first.")
            box.focus()
            return
        self._busy("Unlocking…")
        self._unlock(box.value)

    @work(thread=True, exit_on_error=False, name="unlock")
    def _unlock(self, passphrase: str) -> None:
        options = reflect_app(self).options
        try:
            service: Reflect | None = Reflect.unlock(
                options.vault_path,
                passphrase,
                embedder_factory=options.embedder_factory,
                model_factory=options.model_factory,
                judge_factory=options.judge_factory,
            )
        except WrongPassphrase:
            service = None
        self.post_message(VaultOpened(service))

    @work(thread=True, exit_on_error=False, name="prepare-demo")
    def _prepare_demo(self) -> None:
        service, _passphrase, _created = open_demo(reflect_app(self).options.vault_path)
        service.lock()
        self.post_message(DemoReady())

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self._ready(self.note or "")
            # Worker state messages don't bubble: the app's handler never sees this one.
            if event.worker.error is not None:
                reflect_app(self).show_error(event.worker.error)

    def on_demo_ready(self, _message: DemoReady) -> None:
        self._ready("The demo vault is ready. Press Enter to open it.")

    def on_vault_opened(self, message: VaultOpened) -> None:
        self.query_one("#passphrase", Input).value = ""
        if message.service is not None:
            reflect_app(self).open_vault(message.service)
        else:
            self._ready(WRONG)

    def _busy(self, message: str) -> None:
        self.query_one("#passphrase", Input).disabled = True
        self.query_one("#unlock", Button).disabled = True
        self._show_message(message)

    def _ready(self, message: str) -> None:
        box = self.query_one("#passphrase", Input)
        box.disabled = False
        self.query_one("#unlock", Button).disabled = False
        if reflect_app(self).options.demo and not box.value:
            box.value = DEMO_PASSPHRASE
        self._show_message(message)
        box.focus()

    def _show_message(self, message: str) -> None:
        label = self.query_one("#unlock-message", Static)
        label.update(message)
        label.display = bool(message)
        label.set_class(message == WRONG, "-error")
