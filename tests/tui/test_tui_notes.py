"""The Notes view: the user's own notes, listed from the palette; `n` writes one, which is
sealed in the vault and found by search like a session, cited as a note."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import OptionList, TextArea

from reflect.service import Reflect
from reflect.tui.screens.notes import NoteEditor, NotesScreen
from reflect.tui.screens.reader import ReaderScreen
from tests.tui.support import PASSPHRASE, make_app, run_command, type_text, unlock, wait_until

NOTE = "Woke at three again, but read the paper book instead of scrolling."


def _with_a_note(vault: Path) -> None:
    with Reflect.unlock(vault, PASSPHRASE) as service:
        service.documents.write_note(NOTE, day=dt.date(2025, 3, 10))


async def _open_notes(pilot: Pilot[Any]) -> NotesScreen:
    await unlock(pilot)
    await run_command(pilot, "Your notes")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, NotesScreen))
    screen = pilot.app.screen
    assert isinstance(screen, NotesScreen)
    await wait_until(pilot, lambda: bool(screen.documents))
    return screen


async def test_notes_are_listed_read_and_written(vault: Path) -> None:
    _with_a_note(vault)
    app = make_app(vault)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_notes(pilot)
        assert [n.text for n in screen.documents] == [NOTE]
        assert app.status.sessions == 3  # a note is not a session

        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NoteEditor))
        await type_text(pilot, "Ask Dr. Okafor about the alarm clock.")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: len(screen.documents) == 2)
        assert screen.documents[0].text == "Ask Dr. Okafor about the alarm clock."  # newest first

        found = app.service.quotes("alarm clock Okafor", k=5).hits
        assert any(h.source == "note" for h in found)

        screen.query_one(OptionList).highlighted = 1
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))


async def test_an_empty_note_is_not_kept(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await run_command(pilot, "Your notes")
        await wait_until(pilot, lambda: isinstance(app.screen, NotesScreen))
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NoteEditor))
        assert app.screen.query_one(TextArea).text == ""
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, NotesScreen))
        await pilot.pause()
        assert app.service.documents.notes() == []


def test_notes_view_snapshot(snap_compare: Any, vault: Path) -> None:
    _with_a_note(vault)

    async def shown(pilot: Pilot[Any]) -> None:
        await _open_notes(pilot)
        await pilot.pause()

    assert snap_compare(make_app(vault), terminal_size=(80, 24), run_before=shown)


async def test_handouts_are_listed_and_read_page_by_page(vault: Path, tmp_path: Path) -> None:
    from textual.widgets import Static

    from reflect.tui.screens.notes import HandoutsScreen
    from tests.pdf_fixtures import SLEEP_HYGIENE, make_pdf

    pdf = tmp_path / "sleep.pdf"
    pdf.write_bytes(make_pdf(SLEEP_HYGIENE))
    with Reflect.unlock(vault, PASSPHRASE) as service:
        service.documents.import_handout(pdf, title="Sleep hygiene", day=dt.date(2025, 3, 4))
    app = make_app(vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await run_command(pilot, "Your handouts")
        await wait_until(pilot, lambda: isinstance(app.screen, HandoutsScreen))
        screen = app.screen
        assert isinstance(screen, HandoutsScreen)
        await wait_until(pilot, lambda: bool(screen.documents))
        assert "n" not in {b.key for b in screen.BINDINGS}  # nothing to write here
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        reader = app.screen

        def shown() -> str:
            return " ".join(str(s.render()) for s in reader.query(Static))

        await wait_until(pilot, lambda: "page 2" in shown())
        assert "handout: Sleep hygiene" in shown() and "dim the lamps" in shown()
        await pilot.pause(0.3)
        assert app.screen is reader  # no error on top: a handout has no key moments to find
