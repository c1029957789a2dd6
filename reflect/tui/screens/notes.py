"""Your notes (what you wrote between sessions, newest first; `n` writes one) and your
therapist's handouts (enter reads one, page by page).

Both are sealed in the vault like a session and found by search and questions, cited as
"your note, 12 March" or "handout: Sleep hygiene, page 2" (reflect/documents.py). Writing a
note embeds it for search, which takes a moment, so reading and saving run in thread workers.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from reflect.safe_text import terminal
from reflect.session import HANDOUT, NOTE, Session
from reflect.tui.formatting import QUIET_STYLE, long_date
from reflect.tui.screens.reader import ReaderScreen
from reflect.tui.state import reflect_app, wait_for
from reflect.tui.widgets.status import StatusBar

# Lines of a note shown in the list; the reader (enter) shows all of it.
PREVIEW_LINES = 3


def note_option(note: Session) -> Content:
    lines = note.text.splitlines()
    preview = "\n".join(terminal(line) for line in lines[:PREVIEW_LINES])
    more = "\n…" if len(lines) > PREVIEW_LINES else ""
    return Content.assemble(
        (f"your note, {long_date(note.date)}", "bold"), "\n", preview, (more, QUIET_STYLE)
    )


class NoteEditor(ModalScreen[str | None]):
    """Write a note: ctrl+s keeps it, esc leaves without keeping anything."""

    DEFAULT_CSS = """
    #note-box { width: 72; }
    #note-text { height: 10; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Keep the note"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="note-box"):
            yield Static("A note for yourself", classes="modal-title")
            yield TextArea(id="note-text", soft_wrap=True, show_line_numbers=False)
            yield Static(
                "Sealed in your vault, dated today · ctrl+s to keep · esc to cancel",
                classes="modal-hint",
            )

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        self.dismiss(text if text.strip() else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class DocumentsScreen(Screen[None]):
    """A list of notes or handouts, newest first; enter reads one in the reader."""

    DEFAULT_CSS = """
    #notes-title { height: auto; padding: 0 1; background: $panel; }
    #notes-list { height: 1fr; }
    #notes-empty { padding: 1 2; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]
    TITLE_TEXT = ""
    EMPTY_TEXT = ""

    def __init__(self) -> None:
        super().__init__()
        self.documents: list[Session] = []

    def compose(self) -> ComposeResult:
        yield Static(self.TITLE_TEXT, id="notes-title")
        yield Static(self.EMPTY_TEXT, id="notes-empty")
        yield OptionList(id="notes-list")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#notes-empty", Static).display = False
        self.query_one(OptionList).focus()
        self._load()

    def forget_transcripts(self) -> None:
        self.documents = []
        self.query_one(OptionList).clear_options()

    KIND = NOTE  # which of the vault's documents this screen lists

    def read_all(self) -> list[Session]:
        documents = reflect_app(self).service.documents
        listed = documents.notes() if self.KIND == NOTE else documents.handouts()
        return [documents.read(s) for s in reversed(listed)]

    def option(self, document: Session) -> Content:
        return note_option(document) if self.KIND == NOTE else handout_option(document)

    @work(thread=True, exit_on_error=False, group="vault", name="read-documents")
    def _load(self) -> None:
        self.app.call_from_thread(self._show, self.read_all())

    def _show(self, documents: list[Session]) -> None:
        self.documents = documents
        options = self.query_one(OptionList)
        options.clear_options()
        for document in documents:
            options.add_option(Option(self.option(document), id=document.id))
        if documents:
            options.highlighted = 0
        self.query_one("#notes-empty", Static).display = not documents

    @on(OptionList.OptionSelected, "#notes-list")
    def _read(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.app.push_screen(ReaderScreen(event.option.id))


class NotesScreen(DocumentsScreen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("n", "write", "Write a note")]
    TITLE_TEXT = "Your notes"
    EMPTY_TEXT = "No notes yet. Press n to write one: a thought to bring next time."

    def action_write(self) -> None:
        def keep(text: str | None) -> None:
            if text is not None:
                self._save(text)

        self.app.push_screen(NoteEditor(), keep)

    @work(thread=True, exit_on_error=False, group="vault", name="write-note")
    def _save(self, text: str) -> None:
        app = reflect_app(self)
        unlocked = app.unlocked
        # A note written while the index opens would be missed by it (as an import would).
        if unlocked is None or not wait_for(unlocked.index_open):
            return
        try:
            unlocked.service.documents.write_note(text)
        except Exception as error:  # shown, never lost silently
            self.app.call_from_thread(app.show_error, error)
            return
        self.app.call_from_thread(self.notify, "Kept in your vault.", title="Note")
        self.app.call_from_thread(self._load)


def handout_option(handout: Session) -> Content:
    pages = len(handout.turns)
    return Content.assemble(
        (f"handout: {terminal(handout.title)}", "bold"),
        (f"\n{long_date(handout.date)} · {pages} page{'s' if pages != 1 else ''}", QUIET_STYLE),
    )


class HandoutsScreen(DocumentsScreen):
    """Added with `reflect import --handout FILE`; enter reads one, page by page."""

    TITLE_TEXT = "Your handouts"
    EMPTY_TEXT = "No handouts yet. Add one with `reflect import --handout FILE`."
    KIND = HANDOUT
