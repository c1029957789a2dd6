"""Quote search, filters, import, help and layout in the terminal app."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Input, Static

from reflect.service import QuoteResult, SearchFilters
from reflect.tui.app import ReflectApp
from reflect.tui.errors import ErrorModal
from reflect.tui.messages import QuotesFound
from reflect.tui.screens.help import HelpScreen, key_sections
from reflect.tui.screens.importer import ImportScreen
from reflect.tui.screens.main import MainScreen
from reflect.tui.screens.reader import ReaderScreen
from reflect.tui.screens.search import QuoteSearchScreen
from reflect.tui.screens.unlock import UnlockScreen
from reflect.tui.widgets.quotes import QuoteList
from reflect.tui.widgets.sessions import SessionList, SessionsSidebar
from tests.tui.support import (
    NEW_SESSIONS,
    GatedImportEmbedder,
    ask,
    fill_and_submit,
    make_app,
    run_command,
    text_of,
    unlock,
    wait_until,
    write_sessions,
)


def count_searches(app: ReflectApp, before: Callable[[str], None] | None = None) -> list[str]:
    """Wrap the service's quote search; returns the list of queries it was asked."""
    service = app.service
    original = service.quotes
    asked: list[str] = []

    def quotes(query: str, **kwargs: Any) -> QuoteResult:
        asked.append(query)
        if before is not None:
            before(query)
        return original(query, **kwargs)

    service.quotes = quotes  # type: ignore[method-assign]
    return asked


# ---- quote search -------------------------------------------------------------------------


async def test_quote_search_as_you_type_and_open_the_moment(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+f")
        screen = app.screen
        assert isinstance(screen, QuoteSearchScreen)
        assert app.focused is screen.query_one("#query", Input)
        asked = count_searches(app)

        box = screen.query_one("#query", Input)
        for partial in ("c", "ca", "can", "cana", "canal"):  # faster than anyone types
            box.value = partial
        results = screen.query_one(QuoteList)
        await wait_until(pilot, lambda: bool(results.quotes))
        assert asked == ["canal"]  # one search once typing paused
        assert "canal" in results.quotes[0].hit.text
        assert "places · Enter opens the transcript" in text_of(
            screen.query_one("#search-status", Static)
        )

        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        reader = app.screen
        await wait_until(pilot, lambda: bool(reader.query(".-quoted")))
        await pilot.press("escape")
        assert app.screen is screen and app.focused is results
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_a_late_search_result_never_replaces_a_newer_one(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+f")
        screen = app.screen
        assert isinstance(screen, QuoteSearchScreen)
        release = threading.Event()
        first_started = threading.Event()

        def hold_the_first(query: str) -> None:
            if query == "phone":
                first_started.set()
                release.wait(5)

        count_searches(app, before=hold_the_first)
        box = screen.query_one("#query", Input)
        results = screen.query_one(QuoteList)
        box.value = "phone"
        await wait_until(pilot, first_started.is_set)
        box.value = "canal"
        await wait_until(pilot, lambda: bool(results.quotes))
        assert screen.shown_query == "canal" and "canal" in results.quotes[0].hit.text
        shown = results.quotes

        release.set()  # the old search finishes now, too late
        time.sleep(0.1)
        await pilot.pause(0.2)
        assert screen.shown_query == "canal" and results.quotes == shown
        # And a stale message is ignored whatever its content.
        screen.post_message(QuotesFound(0, "phone", []))
        await pilot.pause()
        assert results.quotes


async def test_no_exact_words_and_nothing_at_all_are_said_plainly(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+f")
        screen = app.screen
        screen.query_one("#query", Input).value = "zeppelin"
        status = screen.query_one("#search-status", Static)
        await wait_until(pilot, lambda: "exact words" in text_of(status))
        assert text_of(status).startswith("No place has these exact words.")

        app.call_later(app.set_filters, SearchFilters(since="2031-01-01"))  # re-runs it
        await wait_until(pilot, lambda: text_of(status).startswith("Nothing"))
        assert text_of(status) == "Nothing in your sessions matches that."


# ---- filters ------------------------------------------------------------------------------


async def test_filters_from_the_command_palette_show_as_chips(vault: Path) -> None:
    app = make_app(vault, replies=["Ruth stayed for the weekend [1]."])
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await run_command(pilot, "what I said")
        await wait_until(pilot, lambda: app.filters == SearchFilters(speaker="me"))
        main = app.screen
        assert isinstance(main, MainScreen)
        await pilot.pause()
        chip = main.query_one("#chip-speaker", Button)
        assert str(chip.label) == "said by: me ✕"

        service = app.service
        original = service.ask
        given: list[SearchFilters | None] = []

        def ask_with(question: str, **kwargs: Any) -> Any:
            given.append(kwargs.get("filters"))
            return original(question, **kwargs)

        service.ask = ask_with  # type: ignore[method-assign]
        await ask(pilot, "what did I say about the canal?")
        assert given == [SearchFilters(speaker="me")]

        await pilot.click("#chip-speaker")
        await wait_until(pilot, lambda: app.filters == SearchFilters())
        assert not main.query("#chip-speaker")


async def test_the_session_list_is_read_by_a_worker_never_on_the_ui_thread(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        service = app.service
        ui_thread = threading.get_ident()
        read_on_ui: list[str] = []

        def watch(name: str) -> None:
            read = getattr(service, name)

            def watched(*args: Any) -> Any:
                if threading.get_ident() == ui_thread:
                    read_on_ui.append(name)
                return read(*args)

            setattr(service, name, watched)

        watch("sessions")
        watch("me_labels")

        # The palette lists speakers and sessions on every keystroke, from the held list.
        await run_command(pilot, "I am Dr. Okafor")
        await wait_until(pilot, lambda: "Dr. Okafor" in app.catalog.me)
        assert app.status.sessions == 3
        await pilot.press("ctrl+b", "ctrl+o", "escape")
        assert read_on_ui == []


async def test_a_date_the_app_cannot_read_is_explained(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await run_command(pilot, "from a date")
        await wait_until(pilot, lambda: bool(app.screen.query("#prompt-input")))
        await fill_and_submit(pilot, "#prompt-input", "the blue moon")
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal))
        modal = app.screen
        assert isinstance(modal, ErrorModal)
        assert modal.error_title == "Date not understood"
        assert app.filters == SearchFilters()


# ---- import -------------------------------------------------------------------------------


async def test_import_a_folder_with_a_broken_file_while_searching(
    vault: Path, tmp_path: Path
) -> None:
    folder = write_sessions(tmp_path / "new", NEW_SESSIONS, broken=True)
    gate = threading.Event()
    app = make_app(vault, embedder_factory=lambda: GatedImportEmbedder(gate))
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+o")
        importer = app.screen
        assert isinstance(importer, ImportScreen)
        assert app.focused is importer.query_one("#import-path", Input)
        await fill_and_submit(pilot, "#import-path", str(folder))
        await wait_until(pilot, lambda: app.status.importing is not None)

        # The import carries on behind; search works meanwhile.
        await pilot.press("escape", "ctrl+f")
        search = app.screen
        assert isinstance(search, QuoteSearchScreen)
        search.query_one("#query", Input).value = "phone kitchen"
        results = search.query_one(QuoteList)
        await wait_until(pilot, lambda: bool(results.quotes))
        assert app.status.importing is not None

        gate.set()
        await wait_until(pilot, lambda: app.status.importing is None)
        await wait_until(pilot, lambda: app.status.sessions == 5)
        await pilot.press("escape", "ctrl+o")
        importer = app.screen
        assert isinstance(importer, ImportScreen)
        await pilot.pause()
        lines = [text_of(s) for s in importer.query(".import-line").results(Static)]
        assert lines[0] == "2 imported, 1 failed."
        assert any(line.startswith("✗ broken notes.vtt:") for line in lines)
        await pilot.press("escape")
        assert app.screen.query_one("#session-list", SessionList).option_count == 5


# ---- help, layout, demo -------------------------------------------------------------------


async def test_help_lists_every_key(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        shown = " ".join(text_of(s) for s in app.screen.query(".help-rows").results(Static))
        for _section, rows in key_sections(ReflectApp.BINDINGS):
            for keys, description in rows:
                assert keys in shown and description in shown
        for key in ("ctrl+f", "ctrl+o", "ctrl+l", "ctrl+q", "esc", "ctrl+p", "f1 / ?"):
            assert key in shown
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_small_terminal_tucks_the_sessions_away(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        main = app.screen
        sidebar = main.query_one(SessionsSidebar)
        assert not sidebar.display or sidebar.region.width == 0
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert sidebar.region.width > 0
        assert app.focused is main.query_one("#session-filter", Input)
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert sidebar.region.width == 0
        assert app.focused is main.query_one("#question", Input)


async def test_demo_vault_is_made_once_and_opens_with_its_public_passphrase(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path / "demo", demo=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, UnlockScreen)
        assert "sample sessions only" in text_of(screen.query_one("#demo-note", Static))
        message = screen.query_one("#unlock-message", Static)
        await wait_until(pilot, lambda: "ready" in text_of(message))
        assert screen.query_one("#passphrase", Input).value == "sample sessions only"
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.status.index_open and app.status.sessions == 8)
        await ask(pilot, "what did we say about the train?")
        assert app.screen.query_one("#citation-list", QuoteList).quotes


async def test_sessions_sidebar_opens_a_session_and_filters_to_it(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(130, 30)) as pilot:
        await unlock(pilot)
        main = app.screen
        sidebar = main.query_one(SessionsSidebar)
        assert sidebar.region.width > 0  # wide enough to show it from the start
        filter_box = main.query_one("#session-filter", Input)
        filter_box.focus()
        filter_box.value = "second"
        await pilot.press("enter")  # from the filter box to the list
        session_list = main.query_one("#session-list")
        assert app.focused is session_list

        await pilot.press("f")
        await wait_until(pilot, lambda: app.filters.session is not None)
        await pilot.pause()
        assert str(main.query_one("#chip-session", Button).label) == ("session: Second session ✕")

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        reader = app.screen
        await wait_until(pilot, lambda: bool(reader.query(".turn")))
        title = reader.query_one("#reader-title", Static)
        assert "Second session" in text_of(title) and "18 March 2025" in text_of(title)
        assert not reader.query(".-quoted")


# ---- recordings ------------------------------------------------------------------------------

AUDIO = Path(__file__).parent.parent / "fixtures" / "audio"


async def test_p_plays_the_cited_moment_and_p_again_stops(
    vault: Path, monkeypatch: Any
) -> None:
    from reflect.service import Reflect
    from reflect.testing import FakeEmbedder, FakeTranscriber
    from tests.test_recording import spoken_text
    from tests.tui.support import PASSPHRASE

    service = Reflect.unlock(
        vault, PASSPHRASE, embedder_factory=FakeEmbedder,
        transcriber_factory=lambda: FakeTranscriber(text_for=spoken_text),
    )
    assert service.import_paths([AUDIO / "session_mono.ogg"]).results[0].status == "imported"
    service.lock()
    played: list[tuple[int, int]] = []
    stopped: list[bool] = []
    monkeypatch.setattr(
        "reflect.audio.play",
        lambda samples, rate, blocking=True: played.append((samples.shape[1], rate)),
    )
    monkeypatch.setattr("reflect.audio.stop_playback", lambda: stopped.append(True))

    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+f")
        screen = app.screen
        screen.query_one("#query", Input).value = '"walk by the river after dinner"'
        results = screen.query_one(QuoteList)
        await wait_until(pilot, lambda: bool(results.quotes))
        await pilot.press("down", "p")
        await wait_until(pilot, lambda: bool(played))
        samples, rate = played[0]
        hit = results.quotes[0].hit
        assert hit.start is not None and hit.end is not None
        # From a breath before the quote to just after it.
        assert samples / rate == pytest.approx(hit.end - hit.start + 2.5, abs=0.2)
        assert app.playing
        await pilot.press("p")
        assert stopped and not app.playing

        # A typed transcript has times but no recording: said calmly, no modal.
        screen.query_one("#query", Input).value = '"canal"'
        await wait_until(pilot, lambda: "canal" in results.quotes[0].hit.text)
        await pilot.press("p")
        await wait_until(pilot, lambda: bool(app._notifications))
        assert any("nothing to play" in n.message for n in app._notifications)
        assert not isinstance(app.screen, ErrorModal) and not app.playing


async def test_a_recording_shows_its_progress_and_can_be_paused(
    vault: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    from reflect import recording, service
    from reflect.testing import FakeTranscriber
    from reflect.tui.screens.consent import ConsentPrompt

    class Slow(FakeTranscriber):
        def transcribe(self, samples: Any, **kwargs: Any) -> Any:
            progress = kwargs.get("on_progress")
            for step in range(100):  # segments arriving one by one, as from Whisper
                time.sleep(0.05)
                if progress is not None:
                    progress(kwargs.get("offset", 0.0) + step * 0.05)
            return super().transcribe(samples, **kwargs)

    monkeypatch.setattr(recording, "PIECE_SECONDS", 10.0)
    monkeypatch.setattr(service, "_default_transcriber_factory", lambda folder: Slow())
    target = tmp_path / "2025-05-14 walks.ogg"
    target.write_bytes((AUDIO / "session_mono.ogg").read_bytes())
    app = make_app(vault)
    async with app.run_test(size=(110, 30)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+o")
        importer = app.screen
        assert isinstance(importer, ImportScreen)
        await fill_and_submit(pilot, "#import-path", str(target))
        # A recording is never imported silently: the agreement question comes first.
        await wait_until(pilot, lambda: isinstance(app.screen, ConsentPrompt))
        await pilot.press("enter")  # "Yes" has focus
        await wait_until(
            pilot, lambda: app.status.importing is not None
            and app.status.importing.recording is not None
        )
        await pilot.pause(0.3)
        counts = text_of(importer.query_one("#import-counts", Static))
        assert counts.startswith("Transcribing 2025-05-14 walks.ogg on this computer: 0:0")
        assert "Transcribing" in text_of(app.screen.query_one("#status-left", Static))
        pause = importer.query_one("#import-pause", Button)
        assert pause.display
        await pilot.click("#import-pause")
        await wait_until(pilot, lambda: app.status.importing is None, timeout=20)
        lines = [text_of(s) for s in importer.query(".import-line").results(Static)]
        assert any("paused" in line for line in lines), lines
        assert len(app.service.pending_recordings()) == 1
        assert not pause.display


async def test_search_shows_what_it_understood_and_can_search_as_typed(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+f")
        screen = app.screen
        assert isinstance(screen, QuoteSearchScreen)
        status = screen.query_one("#search-status", Static)
        screen.query_one("#query", Input).value = 'where did they say "the phone" at night'
        await wait_until(pilot, lambda: "Understood" in text_of(status))
        assert "the words “the phone”" in text_of(status)
        assert "ctrl+t searches as typed" in text_of(status)

        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: "as typed" in text_of(status) and screen.as_typed)
        assert "Understood" not in text_of(status)
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: "Understood" in text_of(status))
