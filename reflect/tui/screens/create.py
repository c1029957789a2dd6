"""First run: make the vault. Passphrase twice, a strength hint, and the plain truth that
nothing can recover the sessions without it."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Static
from textual.worker import Worker, WorkerState

from reflect.passphrase import MIN_LENGTH, strength_hint
from reflect.service import Reflect
from reflect.tui.messages import VaultOpened
from reflect.tui.state import reflect_app
from reflect.tui.widgets.status import StatusBar

WARNING = (
    "There is no way to recover your sessions without this passphrase — not for you, not "
    "for anyone. Write it down and keep it somewhere safe."
)


class CreateVaultScreen(Screen[None]):
    AUTO_FOCUS = "#new-passphrase"

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="create-box", classes="dialog"):
            yield Static("Welcome to reflect", classes="dialog-title")
            yield Static(
                "reflect keeps your session transcripts encrypted on this computer and "
                "never sends anything anywhere. Choose a passphrase to lock them with.",
                markup=False,
            )
            yield Input(password=True, placeholder="Passphrase", id="new-passphrase")
            yield Static("", id="strength", markup=False)
            yield Input(password=True, placeholder="The same passphrase again", id="repeat")
            yield Static(WARNING, id="no-recovery", markup=False)
            yield Static("", id="create-message", markup=False)
            yield Button("Create my vault", id="create", variant="primary")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#strength", Static).display = False
        self.query_one("#create-message", Static).display = False

    def forget_transcripts(self) -> None:
        for box in self.query(Input):
            box.value = ""

    @on(Input.Changed, "#new-passphrase")
    def _hint(self, event: Input.Changed) -> None:
        hint = strength_hint(event.value) if event.value else None
        label = self.query_one("#strength", Static)
        label.update(hint or "")
        label.display = bool(hint)

    @on(Input.Submitted, "#new-passphrase")
    def _next(self) -> None:
        self.query_one("#repeat", Input).focus()

    @on(Input.Submitted, "#repeat")
    @on(Button.Pressed, "#create")
    def _submit(self) -> None:
        first = self.query_one("#new-passphrase", Input)
        again = self.query_one("#repeat", Input)
        if first.disabled:
            return
        if len(first.value) < MIN_LENGTH:
            self._message(f"The passphrase needs at least {MIN_LENGTH} characters.")
            first.focus()
            return
        if first.value != again.value:
            self._message("The two passphrases don't match. Type the second one again.")
            again.value = ""
            again.focus()
            return
        for box in (first, again):
            box.disabled = True
        self.query_one("#create", Button).disabled = True
        self._message("Creating your vault (tuning the encryption to this computer)…")
        self._create(first.value)

    @work(thread=True, exit_on_error=False, name="create")
    def _create(self, passphrase: str) -> None:
        options = reflect_app(self).options
        service = Reflect.create(
            options.vault_path,
            passphrase,
            kdf=options.kdf,
            embedder_factory=options.embedder_factory,
            judge_factory=options.judge_factory,
        )
        if options.model_factory is not None:
            # `Reflect.create` takes no model factory: reopen with it (tests' fake models).
            service.lock()
            service = Reflect.unlock(
                options.vault_path,
                passphrase,
                embedder_factory=options.embedder_factory,
                model_factory=options.model_factory,
                judge_factory=options.judge_factory,
            )
        self.post_message(VaultOpened(service))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "create" and event.state is WorkerState.ERROR:
            for box in self.query(Input):
                box.disabled = False
            self.query_one("#create", Button).disabled = False
            self._message("")
            # Worker state messages don't bubble: the app's handler never sees this one.
            if event.worker.error is not None:
                reflect_app(self).show_error(event.worker.error)

    def on_vault_opened(self, message: VaultOpened) -> None:
        if message.service is not None:
            self.forget_transcripts()
            reflect_app(self).open_vault(message.service)

    def _message(self, text: str) -> None:
        label = self.query_one("#create-message", Static)
        label.update(text)
        label.display = bool(text)
