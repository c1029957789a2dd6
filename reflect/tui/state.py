"""What the app shares with its screens and widgets, without their importing the app.

Screens and widgets read the shared state (the unlocked vault, the status, the filters) and
ask the app for things through `ReflectHost`, a typed description of the app: they never
import `reflect.tui.app`, so the app can import every screen at the top of its module and
no import cycle needs a function-local import to break it (a contract test keeps it so).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, cast

from textual.dom import DOMNode
from textual.worker import get_current_worker

from reflect.crypto import KdfParams
from reflect.ingest import ImportOptions, ImportProgress, ImportReport
from reflect.live_index import EmbedderFactory, IndexProgress
from reflect.retrieval import Hit
from reflect.service import JudgeFactory, ModelFactory, Reflect, SearchFilters
from reflect.store import SessionSummary

if TYPE_CHECKING:
    from textual.binding import BindingType

WAIT_POLL_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class AppOptions:
    vault_path: Path
    demo: bool = False
    embedder_factory: EmbedderFactory | None = None
    model_factory: ModelFactory | None = None
    judge_factory: JudgeFactory | None = None  # deeper search's model (tests: a stand-in)
    kdf: KdfParams | None = None
    # Load the chat model as soon as the index is open, so the first answer doesn't wait.
    preload_model: bool = True
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True, slots=True)
class VaultStatus:
    """What the status bar says. Replaced whole, so watchers see every change."""

    unlocked: bool = False
    sessions: int | None = None  # None until the session list has been read
    index: IndexProgress | None = None
    index_open: bool = False
    model: str = "waiting"  # "waiting" | "loading" | "ready" | "unavailable"
    importing: ImportProgress | None = None


@dataclass(slots=True)
class Unlocked:
    """One unlock of the vault. Threads hold this, so a lock never confuses two of them."""

    service: Reflect
    generation: int
    idle_lock_minutes: float
    searchable: threading.Event = field(default_factory=threading.Event)
    index_open: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True, slots=True)
class SessionCatalog:
    """The vault's sessions and who "me" is, as screens show them.

    Read by a worker whenever the vault changes and held here, so that nothing on the UI
    thread decrypts the catalog (the command palette asks for it on every keystroke).
    """

    sessions: tuple[SessionSummary, ...] = ()
    me: tuple[str, ...] = ()
    loaded: bool = False

    @property
    def speakers(self) -> list[str]:
        return sorted({label for s in self.sessions for label in s.speakers})

    @property
    def titles(self) -> dict[str, str]:
        return {s.id: s.title for s in self.sessions}


def wait_for(event: threading.Event) -> bool:
    """In a worker thread: wait for `event`, giving up if the worker is cancelled."""
    worker = get_current_worker()
    while not event.wait(WAIT_POLL_SECONDS):
        if worker.is_cancelled:
            return False
    return True


class ReflectHost(Protocol):
    """The app as screens and widgets see it (`ReflectApp` implements it)."""

    BINDINGS: ClassVar[list[BindingType]]
    options: AppOptions
    unlocked: Unlocked | None
    status: VaultStatus
    filters: SearchFilters
    catalog: SessionCatalog
    import_report: ImportReport | None

    @property
    def service(self) -> Reflect: ...

    def open_vault(self, service: Reflect) -> None: ...

    def show_error(self, error: BaseException) -> None: ...

    def sessions_changed(self) -> None: ...

    def set_me(self, label: str) -> None: ...

    def set_filters(self, filters: SearchFilters) -> bool: ...

    def set_idle_lock_minutes(self, minutes: float) -> None: ...

    def start_import(self, paths: list[Path], options: ImportOptions | None = None) -> bool: ...

    def toggle_playback(self, hit: Hit) -> None: ...

    def keep_moment(
        self,
        session_id: str,
        *,
        span: tuple[int, int] | None = None,
        turns: tuple[int, int] | None = None,
    ) -> None: ...

    def note_answer_model_used(self) -> None: ...

    def action_help(self) -> None: ...

    def action_toggle_dark(self) -> None: ...

    def action_timeline(self) -> None: ...

    def action_agreements(self) -> None: ...

    def action_next_session(self) -> None: ...

    async def action_lock(self) -> None: ...


def reflect_app(node: DOMNode) -> ReflectHost:
    """The running app, typed as what a screen or widget may use of it."""
    return cast("ReflectHost", node.app)
