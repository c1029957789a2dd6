"""Handouts from the import screen: a PDF is imported as a handout by itself, any other
handout (Markdown, Word, text) when "These are handouts" is ticked; either way through the
same core call as `reflect import --handout`, never as a session. Invented handouts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, DirectoryTree, Input, Static

from reflect.tui.screens.importer import ImportScreen
from tests.pdf_fixtures import SLEEP_HYGIENE, make_pdf
from tests.tui.support import fill_and_submit, make_app, unlock, wait_until

GROUNDING = "# Grounding: 5-4-3-2-1\n\nName five things you can see, four you can touch.\n"


def text_of(screen: ImportScreen) -> list[str]:
    return [str(s.render()) for s in screen.query(".import-line").results(Static)]


def shows(screen: ImportScreen, name: str) -> bool:
    """The screen's lines are those of the import of `name`: a summary and one line."""
    lines = text_of(screen)
    return len(lines) == 2 and name in lines[1]


async def open_importer(pilot: Pilot[Any]) -> tuple[ImportScreen, Checkbox]:
    """Unlocked, on the import screen: the screen and its "These are handouts" box."""
    await unlock(pilot)
    await pilot.press("ctrl+o")
    importer = pilot.app.screen
    assert isinstance(importer, ImportScreen)
    return importer, importer.query_one("#import-handout", Checkbox)


async def test_handouts_are_imported_from_the_import_screen(vault: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "sleep-hygiene.pdf"
    pdf.write_bytes(make_pdf(SLEEP_HYGIENE))
    markdown = tmp_path / "grounding.md"
    markdown.write_text(GROUNDING)
    scan = tmp_path / "scanned.pdf"
    scan.write_bytes(make_pdf([["x"]], scanned=True))
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        importer, box = await open_importer(pilot)
        assert box.value is False

        # A PDF is a handout without asking.
        await fill_and_submit(pilot, "#import-path", str(pdf))
        await wait_until(pilot, lambda: shows(importer, "sleep-hygiene.pdf"))
        lines = text_of(importer)
        assert lines[0] == "1 imported."
        assert lines[1].startswith("✓ sleep-hygiene.pdf → the handout “") and "2 pages" in lines[1]
        (handout,) = app.service.documents.handouts()
        assert handout.turns == 2 and app.status.sessions == 3  # not a session

        # Markdown could be a transcript: the box says it is a handout.
        importer.query_one("#import-path", Input).value = str(markdown)
        await pilot.press("tab", "tab")
        assert app.focused is box
        await pilot.press("space")
        assert box.value is True
        await pilot.press("shift+tab", "shift+tab", "enter")
        await wait_until(pilot, lambda: shows(importer, "grounding.md"))
        assert "the handout “Grounding: 5-4-3-2-1”, 1 page" in text_of(importer)[1]
        titles = {h.title for h in app.service.documents.handouts()}
        assert titles == {"sleep-hygiene", "Grounding: 5-4-3-2-1"}
        assert app.status.sessions == 3

        # A scanned PDF is refused by name, and nothing is stored.
        await fill_and_submit(pilot, "#import-path", str(scan))
        await wait_until(pilot, lambda: shows(importer, "scanned.pdf"))
        assert text_of(importer)[0] == "0 imported, 1 failed."
        assert "OCR" in text_of(importer)[1]
        assert len(app.service.documents.handouts()) == 2
        found = app.service.quotes("name five things you can see", k=3).hits
        assert found and found[0].source == "handout"


async def test_picking_a_pdf_ticks_the_box_and_a_transcript_unticks_it(
    vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "grounding.md").write_text(GROUNDING)
    (home / "session.vtt").write_text("WEBVTT\n")
    (home / "sleep.pdf").write_bytes(make_pdf(SLEEP_HYGIENE))
    monkeypatch.setattr(Path, "home", lambda: home)
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        importer, box = await open_importer(pilot)
        tree = importer.query_one(DirectoryTree)
        await wait_until(pilot, lambda: len(tree.root.children) == 3)

        tree.focus()
        await pilot.press("home", "down", "down", "down", "enter")  # sleep.pdf
        await wait_until(pilot, lambda: box.value)
        assert importer.query_one("#import-path", Input).value.endswith("sleep.pdf")
        tree.focus()
        await pilot.press("up", "enter")  # session.vtt: never a handout
        await wait_until(pilot, lambda: not box.value)
        tree.focus()
        await pilot.press("up", "enter")  # grounding.md: either, so left as it is
        await wait_until(pilot, lambda: importer.query_one(Input).value.endswith(".md"))
        assert not box.value
