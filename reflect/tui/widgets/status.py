"""The status bar: locked or unlocked, index, answer model, import, and the offline mark."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from reflect.excerpts import clock
from reflect.tui.formatting import QUIET_STYLE
from reflect.tui.state import VaultStatus

SEPARATOR = ("  ·  ", QUIET_STYLE)


def index_phrase(status: VaultStatus) -> str:
    progress = status.index
    if status.index_open:
        return "Search ready"
    if progress is None or not progress.lexical_ready:
        return "Opening sessions…"
    if progress.stage in ("vectors", "embedding") and progress.vectors_total:
        return f"Words searchable · meaning {progress.vectors_done} of {progress.vectors_total}"
    return "Words searchable · meaning loading…"


MODEL_PHRASES = {
    "waiting": "Answers: loading…",
    "loading": "Answers: loading model…",
    "ready": "Answers: ready",
    "unavailable": "Answers: unavailable",
}


def status_content(status: VaultStatus) -> Content:
    if not status.unlocked:
        return Content.assemble(("Locked", "bold $text-warning"))
    count = status.sessions
    parts: list[tuple[str, str] | str] = [("Unlocked", "bold $text-success"), SEPARATOR]
    if count is not None:
        parts += [f"{count} session{'s' if count != 1 else ''}", SEPARATOR]
    parts += [
        index_phrase(status),
        SEPARATOR,
        MODEL_PHRASES.get(status.model, status.model),
    ]
    if status.importing is not None and status.importing.recording is not None:
        r = status.importing.recording
        speed = f" · {r.realtime_factor:.0f}× real time" if r.realtime_factor else ""
        left = f" · about {clock(r.seconds_left)} left" if r.seconds_left else ""
        parts += [
            SEPARATOR,
            (
                f"Transcribing {clock(r.audio_done)} of {clock(r.audio_total)}{speed}{left}",
                "bold $text-accent",
            ),
        ]
    elif status.importing is not None:
        p = status.importing
        done = f"{p.files_done} of {p.files_total} files" if p.files_total else "starting"
        parts += [SEPARATOR, (f"Importing {done}", "bold $text-accent")]
    return Content.assemble(*parts)


class StatusBar(Horizontal):
    def compose(self) -> ComposeResult:
        yield Static(id="status-left", markup=False)
        yield Static(
            Content.assemble(("● ", "$text-success"), "Offline"),
            id="status-right",
        )

    def on_mount(self) -> None:
        self.watch(self.app, "status", self._show, init=True)

    def _show(self, status: VaultStatus) -> None:
        self.query_one("#status-left", Static).update(status_content(status))
