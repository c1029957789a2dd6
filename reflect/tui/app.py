"""The reflect terminal app: one factory (`create_app`) for the CLI and the tests.

The app holds the unlocked service and what the screens share: the status (index, model,
import), the search filters, and the idle timer. Everything slow (unlock, index, model,
import) runs in thread workers that report back with messages; the app never blocks on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, ParamSpec, TypeVar

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from reflect.crypto import KdfParams
from reflect.errors import ReflectError, VaultLocked
from reflect.ingest import ImportOptions, ImportProgress, ImportReport
from reflect.live_index import EmbedderFactory, IndexProgress
from reflect.retrieval import Hit
from reflect.service import JudgeFactory, ModelFactory, Reflect, SearchFilters
from reflect.tui.commands import ReflectCommands
from reflect.tui.errors import ErrorModal, error_text
from reflect.tui.messages import (
    CatalogRead,
    ImportFinished,
    ImportProgressed,
    IndexOpened,
    IndexProgressed,
    ModelStateChanged,
)
from reflect.tui.screens.agreements import AgreementsScreen
from reflect.tui.screens.create import CreateVaultScreen
from reflect.tui.screens.help import HelpScreen
from reflect.tui.screens.main import MainScreen
from reflect.tui.screens.next_session import NextSessionScreen
from reflect.tui.screens.prompt import TextPrompt
from reflect.tui.screens.timeline import TimelineScreen
from reflect.tui.screens.unlock import UnlockScreen
from reflect.tui.state import (
    AppOptions,
    ReflectHost,
    SessionCatalog,
    Unlocked,
    VaultStatus,
    wait_for,
)
from reflect.vault import Vault, missing_vault_error

IDLE_CHECK_SECONDS = 15.0
CRASH_MESSAGE = (
    "reflect stopped because of a bug in reflect itself. Everything you imported is safe in "
    "your vault; start reflect again to carry on."
)
# Playing a cited moment starts a little before it, so its first words aren't clipped, and
# runs a little past it; a long excerpt plays at most this long (the reader has the rest).
PLAY_LEAD_IN_SECONDS = 1.5
PLAY_TAIL_SECONDS = 1.0
PLAY_MIN_SECONDS = 6.0
PLAY_MAX_SECONDS = 90.0

P = ParamSpec("P")
T = TypeVar("T")


class DaemonThreads(ThreadPoolExecutor):
    """Runs each thread worker on its own daemon thread, and never waits for them at exit.

    Textual runs thread workers on the event loop's default executor, which asyncio and the
    interpreter both join on the way out: quitting while llama.cpp loads a model or
    evaluates a prompt (seconds, with no way to interrupt either) waited for it. A subclass
    only because asyncio accepts nothing else as the default executor.
    """

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self._running: set[threading.Thread] = set()
        self._guard = threading.Lock()

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()

        def run() -> None:
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn(*args, **kwargs))
                    except BaseException as error:
                        future.set_exception(error)
            finally:
                with self._guard:
                    self._running.discard(threading.current_thread())

        thread = threading.Thread(target=run, name="reflect-worker", daemon=True)
        with self._guard:
            self._running.add(thread)
        thread.start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to wait for: what still runs is cancelled work nobody needs any more."""

    @property
    def busy(self) -> bool:
        with self._guard:
            return any(thread.is_alive() for thread in self._running)


class ReflectApp(App[None]):
    CSS_PATH = "reflect.tcss"
    TITLE = "reflect"
    COMMANDS = App.COMMANDS | {ReflectCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "help", "Keys"),
        Binding("question_mark", "help", "Keys", show=False),
        Binding("ctrl+l", "lock", "Lock"),
        # Not in the footer, which has no room for them at 80 columns: in F1 and ctrl+p.
        Binding("ctrl+g", "timeline", "Timeline of a theme", show=False),
        Binding("ctrl+y", "agreements", "What you agreed to try", show=False),
        Binding("ctrl+r", "next_session", "Ready for the next session", show=False),
    ]

    status: reactive[VaultStatus] = reactive(VaultStatus, init=False)
    filters: reactive[SearchFilters] = reactive(SearchFilters, init=False)
    catalog: reactive[SessionCatalog] = reactive(SessionCatalog, init=False)

    def __init__(self, options: AppOptions) -> None:
        super().__init__()
        self.options = options
        self.unlocked: Unlocked | None = None
        self.import_report: ImportReport | None = None
        self.last_activity = options.clock()
        self._generation = 0
        self._catalog_reads = 0  # numbers the reads of the session list
        self._playing_until = 0.0  # clock time the moment being played ends
        self._played = False  # playback was used: stop it when locking
        self.threads = DaemonThreads()

    def on_load(self) -> None:
        asyncio.get_running_loop().set_default_executor(self.threads)

    # ---- screens --------------------------------------------------------------------------

    def on_mount(self) -> None:
        path = self.options.vault_path
        if self.options.demo or Vault.exists(path):
            self.push_screen(UnlockScreen())
        elif Vault.key_file_missing(path):
            # Never offer to create a vault over one whose key file is gone: say how to put
            # it back; unlocking works as soon as it is there again.
            self.push_screen(UnlockScreen(note=missing_vault_error(path).message))
        else:
            self.push_screen(CreateVaultScreen())
        self.set_interval(IDLE_CHECK_SECONDS, self.check_idle_lock)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        # Textual's "Screenshot" would write the screen, transcript and all, to an
        # unencrypted file; its "Keys" panel is replaced by reflect's own list of keys.
        for command in super().get_system_commands(screen):
            if command.title not in ("Screenshot", "Keys"):
                yield command

    # ---- the unlocked vault ---------------------------------------------------------------

    @property
    def service(self) -> Reflect:
        if self.unlocked is None:
            raise VaultLocked("The vault is locked. Unlock it to continue.")
        return self.unlocked.service

    def open_vault(self, service: Reflect) -> None:
        """Called by the unlock and create screens: show the main screen, start loading."""
        self._generation += 1
        service.set_activity("app")
        if service.rolled_back is not None:
            self.notify(
                service.rolled_back.message, title="An older copy", severity="warning", timeout=60
            )
            service.accept_rollback()
        try:
            minutes = float(service.settings().idle_lock_minutes)
        except ReflectError:
            minutes = 10.0
        self.unlocked = Unlocked(service, self._generation, minutes)
        self.filters = SearchFilters()
        self.catalog = SessionCatalog()
        self.status = VaultStatus(unlocked=True)
        self.last_activity = self.options.clock()
        # Not awaited: the screen asking for this is the one being replaced.
        self.switch_screen(MainScreen())
        self.sessions_changed()
        self._open_index(self.unlocked)

    def sessions_changed(self) -> None:
        """The vault's sessions changed: read the list again, in a worker."""
        if self.unlocked is not None:
            self._catalog_reads += 1
            self._read_catalog(self.unlocked, self._catalog_reads)

    def set_me(self, label: str) -> None:
        """Mark `label` as the person using reflect (written in a worker, then re-read)."""
        if self.unlocked is not None:
            self._catalog_reads += 1
            self._read_catalog(self.unlocked, self._catalog_reads, me=label)

    @property
    def idle_lock_minutes(self) -> float:
        return self.unlocked.idle_lock_minutes if self.unlocked else 0.0

    def set_idle_lock_minutes(self, minutes: float) -> None:
        if self.unlocked is not None:
            self.unlocked.idle_lock_minutes = minutes

    async def lock_vault(self, *, idle: bool = False) -> None:
        """Drop the keys, the index and every widget holding transcript text."""
        unlocked = self.unlocked
        if unlocked is None:
            return
        self.unlocked = None
        self.stop_playback()
        self.workers.cancel_group(self, "vault")
        for screen in self.screen_stack:
            forget = getattr(screen, "forget_transcripts", None)
            if callable(forget):
                forget()
        unlocked.service.lock()
        self.clear_notifications()
        self.import_report = None
        self.filters = SearchFilters()
        self.catalog = SessionCatalog()
        self.status = VaultStatus()
        while len(self.screen_stack) > 2:  # Textual's own default screen stays at the bottom
            await self.pop_screen()
        minutes = round(unlocked.idle_lock_minutes)
        note = (
            f"Locked after {minutes} minute{'s' if minutes != 1 else ''} without activity. "
            "Your sessions are safe."
            if idle
            else "Locked. Your sessions are safe."
        )
        await self.switch_screen(UnlockScreen(note=note))

    # ---- idle lock ------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(
            event,
            events.Key
            | events.MouseDown
            | events.MouseScrollUp
            | events.MouseScrollDown
            | events.Paste,
        ):
            self.last_activity = self.options.clock()
        await super().on_event(event)

    def check_idle_lock(self, now: float | None = None) -> bool:
        """Lock when nobody has touched the app for the idle time; True when it locks."""
        if self.unlocked is None or self.status.importing is not None:
            return False  # a long import counts as activity; its end restarts the clock
        minutes = self.unlocked.idle_lock_minutes
        if minutes <= 0:
            return False
        now = self.options.clock() if now is None else now
        if now - self.last_activity < minutes * 60:
            return False
        self.call_later(self.lock_vault, idle=True)
        return True

    # ---- background work ------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="vault", name="open-index")
    def _open_index(self, unlocked: Unlocked) -> None:
        def report(progress: IndexProgress) -> None:
            if progress.lexical_ready:
                unlocked.searchable.set()
            self.post_message(IndexProgressed(unlocked.generation, progress))

        try:
            unlocked.service.open_index(report)
            # The embedding model loads on its first query (seconds: torch); pay that here,
            # not on the person's first question. The words searched for are never shown.
            unlocked.service.quotes("warm up", k=1)
        finally:
            # Even a failed load leaves what it could open searchable; waiting forever for
            # it would freeze every question.
            unlocked.searchable.set()
            unlocked.index_open.set()
        self.post_message(IndexOpened(unlocked.generation))

    @work(thread=True, exit_on_error=False, group="vault", name="read-catalog")
    def _read_catalog(self, unlocked: Unlocked, read: int, me: str | None = None) -> None:
        service = unlocked.service
        if me is not None:
            service.set_me(me)
        catalog = SessionCatalog(tuple(service.sessions()), tuple(service.me_labels()), True)
        self.post_message(CatalogRead(unlocked.generation, read, catalog))

    @work(thread=True, exit_on_error=False, group="vault", name="recaps")
    def _backfill_recaps(self, unlocked: Unlocked) -> None:
        """Sessions imported before recaps were sealed at import (or changed since) get
        theirs once, after the index is open: their index records are in the vault by then,
        so it takes milliseconds a session. Nothing is shown; a recap read before this
        reaches it is computed on the spot, as on the command line."""
        worker = get_current_worker()
        with contextlib.suppress(ReflectError):
            unlocked.service.backfill_recaps(should_stop=lambda: worker.is_cancelled)

    @work(thread=True, exit_on_error=False, group="vault", name="load-model")
    def _load_model(self, unlocked: Unlocked) -> None:
        self.post_message(ModelStateChanged(unlocked.generation, "loading"))
        unlocked.service.chat_model()
        self.post_message(ModelStateChanged(unlocked.generation, "ready"))

    def start_import(self, paths: list[Path], options: ImportOptions | None = None) -> bool:
        if self.unlocked is None or self.status.importing is not None:
            return False
        self.import_report = None
        self.status = replace(self.status, importing=ImportProgress(0, 0, 0, 0.0))
        self._import(self.unlocked, paths, options or ImportOptions())
        return True

    @work(thread=True, exit_on_error=False, group="vault", name="import")
    def _import(self, unlocked: Unlocked, paths: list[Path], options: ImportOptions) -> None:
        # Sessions imported while the index is still opening would be missed by it.
        if not wait_for(unlocked.index_open):
            return

        def report(progress: ImportProgress) -> None:
            self.post_message(ImportProgressed(unlocked.generation, progress))

        result = unlocked.service.import_paths(paths, options, progress=report)
        self.post_message(ImportFinished(unlocked.generation, result))

    # ---- keeping a moment (reflect.kept) -------------------------------------------------

    def keep_moment(
        self,
        session_id: str,
        *,
        span: tuple[int, int] | None = None,
        turns: tuple[int, int] | None = None,
    ) -> None:
        """`k`: keep the turns `span` touches (or `turns`, 1-based) as a saved moment, with
        a label if the person gives one. A short confirmation, nothing more."""
        unlocked = self.unlocked
        if unlocked is None:
            return

        def keep(label: str | None) -> None:
            if label is not None and self.unlocked is unlocked:
                self._keep(unlocked, session_id, span, turns, label)

        self.push_screen(
            TextPrompt(
                "Keep this moment",
                "A few words to find it by, if you like: “the breathing we practised”.",
                optional=True,
                keys="enter keeps it · esc doesn't",
            ),
            keep,
        )

    @work(thread=True, exit_on_error=False, group="vault", name="keep")
    def _keep(
        self,
        unlocked: Unlocked,
        session_id: str,
        span: tuple[int, int] | None,
        turns: tuple[int, int] | None,
        label: str,
    ) -> None:
        unlocked.service.keep(session_id, span=span, turns=turns, label=label or None)
        self.call_from_thread(self.notify, "Kept in your moments (ctrl+s).", timeout=3)

    # ---- playing a cited moment -----------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self.options.clock() < self._playing_until

    def toggle_playback(self, hit: Hit) -> None:
        """Play the moment `hit` cites from its recording, or stop what is playing."""
        if self.playing:
            self.stop_playback()
            self.notify("Stopped.", timeout=2)
            return
        if self.unlocked is None:
            return
        if hit.start is None:
            self.notify(
                "This excerpt has no time in a recording, so there is nothing to play.",
                title="Can't play this",
                severity="warning",
            )
            return
        start = max(0.0, hit.start - PLAY_LEAD_IN_SECONDS)
        end = (hit.end if hit.end is not None else hit.start) + PLAY_TAIL_SECONDS
        seconds = min(max(end - start, PLAY_MIN_SECONDS), PLAY_MAX_SECONDS)
        self._playing_until = self.options.clock() + seconds
        self._play(self.unlocked, hit.session_id, start, seconds)

    def stop_playback(self) -> None:
        self._playing_until = 0.0
        if self._played:
            from reflect.audio import stop_playback

            stop_playback()

    @work(thread=True, exit_on_error=False, group="vault", name="play", exclusive=True)
    def _play(self, unlocked: Unlocked, session_id: str, start: float, seconds: float) -> None:
        from reflect.audio import play

        # Decrypts and decodes only this stretch, into memory.
        samples, rate = unlocked.service.recording_clip(session_id, start, seconds)
        self._played = True
        play(samples, rate, blocking=False)

    def _current(self, generation: int) -> bool:
        return self.unlocked is not None and self.unlocked.generation == generation

    def on_catalog_read(self, message: CatalogRead) -> None:
        if not self._current(message.generation) or message.read != self._catalog_reads:
            return  # a lock since, or a newer read on its way
        self.catalog = message.catalog
        self.status = replace(self.status, sessions=len(message.catalog.sessions))

    def on_index_progressed(self, message: IndexProgressed) -> None:
        if self._current(message.generation):
            self.status = replace(self.status, index=message.progress)

    def on_index_opened(self, message: IndexOpened) -> None:
        if not self._current(message.generation) or self.unlocked is None:
            return
        self.status = replace(self.status, index_open=True, index=self.service.index_progress())
        if self.options.preload_model and self.status.model == "waiting":
            self._load_model(self.unlocked)
        self._backfill_recaps(self.unlocked)

    def on_model_state_changed(self, message: ModelStateChanged) -> None:
        if self._current(message.generation):
            self.status = replace(self.status, model=message.state)

    def on_import_progressed(self, message: ImportProgressed) -> None:
        if self._current(message.generation):
            self.status = replace(self.status, importing=message.progress)

    def on_import_finished(self, message: ImportFinished) -> None:
        if not self._current(message.generation):
            return
        self.import_report = message.report
        self.status = replace(self.status, importing=None)
        # The clock starts again: someone who walked away from a long import is idle now.
        self.last_activity = self.options.clock()
        self.sessions_changed()
        if message.report is not None:
            self.notify(message.report.summary() + ".", title="Import finished")

    def note_answer_model_used(self) -> None:
        """An answer loaded the model itself (no preloading): the status bar says so."""
        if self.unlocked is not None and self.service.model_loaded:
            self.status = replace(self.status, model="ready")

    # ---- the one error handler ------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is not WorkerState.ERROR or worker.error is None:
            return
        if isinstance(worker.error, VaultLocked) and self.unlocked is None:
            return  # work cut short by locking the vault: expected, nothing to report
        if worker.name == "import" and self.unlocked is not None:
            self.post_message(ImportFinished(self.unlocked.generation, None))
        if worker.name == "load-model" and self.unlocked is not None:
            self.status = replace(self.status, model="unavailable")
        if worker.name == "play" and isinstance(worker.error, ReflectError):
            # Not being able to play (no sound device, no recording) is no emergency: a
            # note says why, and the words are still on the screen.
            self._playing_until = 0.0
            title, message = error_text(worker.error)
            self.notify(message, title=title, severity="warning", timeout=8, markup=False)
            return
        self.show_error(worker.error)

    def show_error(self, error: BaseException) -> None:
        title, message = error_text(error)
        self.push_screen(ErrorModal(title, message))

    def _fatal_error(self) -> None:
        # A bug ends the app. Textual would print a traceback with local variables, which
        # can hold a question or a transcript's words, into the terminal's scrollback; say
        # what happened instead. TEXTUAL=debug keeps the traceback for developers.
        super()._fatal_error()
        if "debug" not in self.features and self._exit_renderables:
            self._exit_renderables[-1] = CRASH_MESSAGE

    # ---- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("lock", "timeline", "agreements", "next_session"):
            return self.unlocked is not None  # nothing to lock or show on the unlock screen
        return True

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        if self.unlocked is not None:
            # Locking stops an answer mid-word and an import within the file or recording
            # piece in hand (what it finished is kept, and importing again carries on).
            # Nothing waits for either: the process ends without them.
            self.unlocked.service.lock()
            self.unlocked = None
        self.exit()

    async def action_lock(self) -> None:
        if self.unlocked is None:
            return
        if self.status.importing is not None:
            self.notify("An import is running; lock when it has finished.", title="Not locked yet")
            return
        await self.lock_vault()

    def action_timeline(self) -> None:
        main = next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)
        if not isinstance(self.screen, TimelineScreen):
            self.push_screen(TimelineScreen(main.current_topic if main is not None else ""))

    def action_agreements(self) -> None:
        if not isinstance(self.screen, AgreementsScreen):
            self.push_screen(AgreementsScreen())

    def action_next_session(self) -> None:
        if not isinstance(self.screen, NextSessionScreen):
            self.push_screen(NextSessionScreen())

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def set_filters(self, filters: SearchFilters) -> bool:
        """Apply new filters if the service understands them; otherwise say why."""
        try:
            self.service.resolve_filters(filters)
        except ReflectError as error:
            self.show_error(error)
            return False
        self.filters = filters
        return True


def create_app(
    vault_path: Path,
    *,
    demo: bool = False,
    embedder_factory: EmbedderFactory | None = None,
    model_factory: ModelFactory | None = None,
    judge_factory: JudgeFactory | None = None,
    kdf: KdfParams | None = None,
    preload_model: bool = True,
    clock: Callable[[], float] | None = None,
) -> ReflectApp:
    """The app on `vault_path` (created on first run; the demo vault with `demo=True`).

    Factories and `kdf` are for tests (fake models, fast key derivation); `clock` lets a
    test move time for the idle lock.
    """
    return ReflectApp(
        AppOptions(
            vault_path=Path(vault_path),
            demo=demo,
            embedder_factory=embedder_factory,
            model_factory=model_factory,
            judge_factory=judge_factory,
            kdf=kdf,
            preload_model=preload_model,
            clock=clock or time.monotonic,
        )
    )


def run(app: ReflectApp, **options: Any) -> int:
    """Run `app` until the person quits, and end the process at once if work is left.

    By the time the app returns, quitting has locked the vault, and the workers' threads are
    daemons (`DaemonThreads`), so nothing waits for them. One still running is inside
    llama.cpp (a model loading, a prompt being evaluated); the interpreter's normal exit
    would run llama.cpp's destructors under it, which crashed 2 exits in 3 when measured
    mid-prompt. So the process ends here, with the exit code the app chose.
    """
    app.run(**options)
    code = app.return_code or 0
    if app.threads.busy:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _is_a_host(app: ReflectApp) -> ReflectHost:
    # Never called: mypy checks here that the app still is what screens are promised.
    return app
