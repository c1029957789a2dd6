"""Import: pick a file or a folder, watch the progress, see what couldn't be read.

The import runs in the app's own worker, so it carries on if this screen is closed; the
status bar shows it, and questions and searches keep working meanwhile.

A file can also be a handout from the user's therapist (a checkbox; a PDF always is one, as
no transcript is a PDF): it is stored through the same core call as `reflect import
--handout` (reflect/documents.py), on this screen's worker, since a handout takes seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.suggester import Suggester
from textual.widgets import (
    Button,
    Checkbox,
    DirectoryTree,
    Footer,
    Input,
    ProgressBar,
    Static,
)

from reflect.errors import ReflectError
from reflect.excerpts import clock
from reflect.handouts import HANDOUT_EXTENSIONS
from reflect.ingest import (
    AUDIO_EXTENSIONS,
    FileResult,
    ImportOptions,
    ImportReport,
)
from reflect.ingest import IMPORTABLE_EXTENSIONS as SUPPORTED_EXTENSIONS
from reflect.safe_text import app_markup, terminal
from reflect.tui.formatting import QUIET_STYLE
from reflect.tui.screens.consent import ConsentPrompt
from reflect.tui.state import SessionCatalog, reflect_app, wait_for
from reflect.tui.widgets.status import StatusBar

KINDS = ", ".join(sorted(SUPPORTED_EXTENSIONS - AUDIO_EXTENSIONS))
# Only ever a handout: imported as one whether or not the box is ticked.
ONLY_HANDOUTS = HANDOUT_EXTENSIONS - SUPPORTED_EXTENSIONS


def handout_files(path: Path) -> list[Path]:
    """The handouts to import from what was picked: the file, or a folder's handouts
    (hidden files left out, as an import of sessions leaves them)."""
    if not path.is_dir():
        return [path]
    return [
        child
        for child in sorted(path.rglob("*"))
        if child.is_file()
        and child.suffix.lower() in HANDOUT_EXTENSIONS
        and not any(part.startswith(".") for part in child.relative_to(path).parts)
    ]


class PathSuggester(Suggester):
    """Completes the path being typed with the first matching file or folder."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value or value.endswith("/"):
            return None  # a folder is a fine answer as it is
        typed = Path(value).expanduser()
        folder, stem = typed.parent, typed.name
        try:
            names = sorted(
                p.name + ("/" if p.is_dir() else "")
                for p in folder.iterdir()
                if p.name.startswith(stem) and not p.name.startswith(".")
            )
        except OSError:
            return None
        if not names or names[0] == stem:
            return None
        return value + names[0][len(stem) :]


class TranscriptTree(DirectoryTree):
    """Folders, and only the files reflect can read."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            p
            for p in paths
            if not p.name.startswith(".")
            and (p.is_dir() or p.suffix.lower() in SUPPORTED_EXTENSIONS | HANDOUT_EXTENSIONS)
        ]


def report_lines(report: ImportReport, *, handouts: bool = False) -> list[Content]:
    """What an import did, a line a file; `handouts`: the files were handouts (their turns
    are pages, and they are named as handouts)."""
    lines = [Content.styled(report.summary() + ".", "bold")]
    kind = "the handout " if handouts else ""
    for result in report.results:
        name = terminal(Path(result.path).name)
        title = terminal(result.title or "")
        if result.status == "failed":
            reason = terminal(result.reason or "")
            lines.append(Content.assemble(("✗ ", "$text-error"), f"{name}: {reason}"))
        elif result.status == "duplicate":
            lines.append(
                Content.styled(f"= {name}: already in your vault as {kind}“{title}”", QUIET_STYLE)
            )
        elif result.status == "stopped":
            lines.append(
                Content.assemble(
                    ("‖ ", "$text-warning"),
                    f"{name}: paused. What was transcribed is kept; import it again to carry on.",
                )
            )
        else:
            unit = "page" if handouts else "turn"
            count = f"{result.turns} {unit}{'s' if result.turns != 1 or not handouts else ''}"
            lines.append(
                Content.assemble(("✓ ", "$text-success"), f"{name} → {kind}“{title}”, {count}")
            )
    return lines


@dataclass
class HandoutsImported(Message):
    """The screen's worker stored (or couldn't store) the handouts picked."""

    report: ImportReport


class ImportScreen(Screen[None]):
    AUTO_FOCUS = "#import-path"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        yield Static("Import transcripts or recordings", classes="pane-title")
        yield Static(
            f"A file or a whole folder: transcripts ({KINDS}) or recordings (.m4a, .mp3, "
            ".wav and other audio), which are transcribed on this computer. Everything is "
            "encrypted into your vault; the original files are left as they are. Handouts "
            "from your therapist (.pdf, .docx, .md, .txt) are kept apart from sessions.",
            id="import-intro",
            markup=False,
        )
        with Horizontal(id="import-row"):
            yield Input(
                value=str(Path.home()) + "/",
                placeholder="Path to a transcript or a folder",
                suggester=PathSuggester(),
                id="import-path",
            )
            yield Button("Import", id="import-start", variant="primary")
            yield Button("Pause", id="import-pause")
        yield Checkbox(
            "These are handouts from my therapist, not sessions (a PDF always is)",
            id="import-handout",
            compact=True,
        )
        with Horizontal(id="import-main"):
            yield TranscriptTree(Path.home(), id="import-tree")
            with Vertical(id="import-progress"):
                yield ProgressBar(id="import-bar", show_eta=False)
                yield Static("", id="import-counts", markup=False)
                yield VerticalScroll(id="import-results")
                yield Static("", id="me-question", markup=False)
                yield Horizontal(id="me-choices")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#import-bar", ProgressBar).display = False
        self.query_one("#import-pause", Button).display = False
        self._asking_me = False
        self._saw_import = False  # an import ran while this screen was open
        self.watch(self.app, "status", self._status_changed, init=True)
        self.watch(self.app, "catalog", self._ask_who_is_me, init=False)

    def forget_transcripts(self) -> None:
        self.query_one("#import-results").remove_children()
        self.query_one("#me-choices").remove_children()

    @on(DirectoryTree.FileSelected)
    @on(DirectoryTree.DirectorySelected)
    def _picked(self, event: DirectoryTree.FileSelected | DirectoryTree.DirectorySelected) -> None:
        event.stop()
        box = self.query_one("#import-path", Input)
        box.value = str(event.path) + ("/" if event.path.is_dir() else "")
        suffix = event.path.suffix.lower()
        if suffix in ONLY_HANDOUTS or (suffix and suffix not in HANDOUT_EXTENSIONS):
            # A PDF is a handout, a .vtt or a recording never is; a .md or .docx may be either.
            self.query_one("#import-handout", Checkbox).value = suffix in ONLY_HANDOUTS
        box.focus()

    @on(Input.Submitted, "#import-path")
    @on(Button.Pressed, "#import-start")
    def _start(self) -> None:
        app = reflect_app(self)
        raw = self.query_one("#import-path", Input).value.strip()
        if not raw:
            self.notify("Type or pick a file or a folder first.")
            return
        path = Path(raw).expanduser()
        if not path.exists():
            self._counts(f"There is no file or folder at {path}.")
            return
        ticked = self.query_one("#import-handout", Checkbox).value
        if ticked or (path.is_file() and path.suffix.lower() in ONLY_HANDOUTS):
            # Not a session: no recordings to ask about, no speakers to name.
            self._counts(
                "Reading the handout…"
                if ticked
                else "A PDF is a handout from your therapist, not a session: reading it…"
            )
            self._import_handouts(path)
            return
        if app.status.importing is not None:
            self.notify("An import is already running.")
            return
        self._counts("Looking at what is there…")
        self._look(path)

    @work(thread=True, exit_on_error=False, exclusive=True, group="vault", name="handouts")
    def _import_handouts(self, path: Path) -> None:
        unlocked = reflect_app(self).unlocked
        # A handout stored while the index opens would be missed by it (as an import would).
        if unlocked is None or not wait_for(unlocked.index_open):
            return
        report = ImportReport()
        for file in handout_files(path):
            try:
                stored = unlocked.service.documents.import_handout(file)
            except ReflectError as error:  # a HandoutError names the file; nothing stored
                reason = error.message.removeprefix(f"{file.name}: ")
                report.results.append(FileResult(str(file), "failed", reason=reason))
                continue
            handout = stored.session
            status = "duplicate" if stored.duplicate else "imported"
            pages = handout.turns if isinstance(handout.turns, int) else len(handout.turns)
            report.results.append(FileResult(str(file), status, handout.id, handout.title, pages))
        self.post_message(HandoutsImported(report))

    async def on_handouts_imported(self, message: HandoutsImported) -> None:
        report = message.report
        results = self.query_one("#import-results")
        await results.remove_children()  # gone before the new lines come: never both at once
        if not report.results:
            self._counts("There is no handout there (.pdf, .docx, .md or .txt).")
            return
        self._counts("")
        await results.mount_all(
            Static(line, classes="import-line") for line in report_lines(report, handouts=True)
        )
        self.notify(report.summary() + ".", title="Handouts")

    @work(thread=True, exit_on_error=False, exclusive=True, name="look-for-recordings")
    def _look(self, path: Path) -> None:
        # A folder is walked here, off the screen's thread: a big one takes a moment.
        # Recordings already in the vault are not asked about (nothing new is transcribed).
        unlocked = reflect_app(self).unlocked
        found = unlocked is not None and unlocked.service.asks_consent([path])
        self.app.call_from_thread(self._ask_or_import, path, found)

    def _ask_or_import(self, path: Path, recordings: bool) -> None:
        if not self.is_attached or reflect_app(self).unlocked is None:
            return  # closed, or locked, while the folder was looked through
        if recordings:
            # Never a recording imported silently: the answer is kept with the session.
            self.app.push_screen(ConsentPrompt(), lambda answer: self._import(path, answer))
        else:
            self._import(path, None, asked=False)

    def _import(self, path: Path, consent: str | None, *, asked: bool = True) -> None:
        if asked and consent is None:
            self._counts("Nothing was imported.")
            return
        if reflect_app(self).start_import([path], ImportOptions(consent=consent)):
            self.query_one("#import-results").remove_children()
            self.query_one("#me-choices").remove_children()
            self.query_one("#me-question", Static).update("")
            self._counts("Starting…")
        else:
            self.notify("An import is already running.")

    @on(Button.Pressed, "#import-pause")
    def _pause(self) -> None:
        app = reflect_app(self)
        if app.unlocked is not None and app.status.importing is not None:
            app.service.cancel_import()
            self.query_one("#import-pause", Button).disabled = True
            self._counts("Pausing… what has been transcribed is kept.")

    def _status_changed(self, _status: object) -> None:
        app = reflect_app(self)
        progress = app.status.importing
        bar = self.query_one("#import-bar", ProgressBar)
        self.query_one("#import-start", Button).disabled = progress is not None
        # Pausing matters for recordings (minutes each); what is done is kept either way.
        pause = self.query_one("#import-pause", Button)
        pause.display = progress is not None and progress.recording is not None
        if progress is None:
            pause.disabled = False
        if progress is not None:
            self._saw_import = True
            bar.display = True
            if progress.recording is not None:
                # A recording takes minutes: the bar follows its audio, not the file count.
                r = progress.recording
                bar.update(total=max(r.audio_total, 1e-9), progress=r.audio_done)
                speed = f" · {r.realtime_factor:.0f}× real time" if r.realtime_factor else ""
                left = f" · about {clock(r.seconds_left)} left" if r.seconds_left else ""
                self._counts(
                    "Pausing… what has been transcribed is kept."
                    if pause.disabled
                    else f"Transcribing {r.file} on this computer: {clock(r.audio_done)} of "
                    f"{clock(r.audio_total)}{speed}{left}. You can keep searching meanwhile."
                )
            elif progress.files_total:
                bar.update(total=progress.files_total, progress=progress.files_done)
                rate = (
                    f" · {progress.files_done / progress.elapsed:.1f} files a second"
                    if progress.elapsed > 0.5 and progress.files_done
                    else ""
                )
                if progress.indexing is not None:  # a long transcript: minutes of embedding
                    done, total = progress.indexing
                    rate = f" · indexing {done:,} of {total:,} passages"
                self._counts(
                    f"{progress.files_done} of {progress.files_total} files · "
                    f"{progress.turns_done} turns{rate}"
                )
            return
        report = app.import_report
        if report is not None and not self.query_one("#import-results").children:
            total = len(report.results)
            bar.display = True
            bar.update(total=max(total, 1), progress=max(total, 1))
            self._counts("")
            self.query_one("#import-results").mount_all(
                Static(line, classes="import-line") for line in report_lines(report)
            )
            self._asking_me = True
            if not self._saw_import:
                # Opened after the import: the session list already holds its speakers. Else
                # the question waits for the list to be read again, with the new speakers.
                self._ask_who_is_me(reflect_app(self).catalog)

    def _counts(self, text: str) -> None:
        self.query_one("#import-counts", Static).update(text)

    def _ask_who_is_me(self, catalog: SessionCatalog) -> None:
        """`--speaker me` needs to know which speaker is the user; ask once, after import."""
        if not self._asking_me or not catalog.loaded:
            return
        self._asking_me = False
        speakers = catalog.speakers
        if catalog.me or not speakers:
            return
        self.query_one("#me-question", Static).update(
            "Which of these speakers is you? (So “what did I say” finds your words.)"
        )
        self.query_one("#me-choices").mount_all(
            # The label shown is escaped and cleaned; the name keeps the speaker as stored.
            Button(app_markup(label), name=label, classes="me-choice", compact=True)
            for label in speakers[:8]
        )

    @on(Button.Pressed, ".me-choice")
    def _chose_me(self, event: Button.Pressed) -> None:
        event.stop()
        label = event.button.name or str(event.button.label)
        reflect_app(self).set_me(label)
        self.query_one("#me-choices").remove_children()
        self.query_one("#me-question", Static).update(f"Noted: you are “{terminal(label)}”.")
