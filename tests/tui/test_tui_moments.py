"""Saved moments and the consent question in the app, driven by keys: `k` keeps an excerpt, a
search result or a transcript line; ctrl+s opens My moments; Enter reads one, `p` plays it;
importing a recording asks whether the therapist agreed. The people are invented."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from reflect.service import Reflect
from reflect.tui.app import ReflectApp
from reflect.tui.screens.consent import ConsentPrompt
from reflect.tui.screens.importer import ImportScreen
from reflect.tui.screens.main import MainScreen
from reflect.tui.screens.prompt import TextPrompt
from reflect.tui.screens.reader import ReaderScreen, TurnBlock
from reflect.tui.screens.saved_moments import MomentList, MomentsScreen
from reflect.tui.screens.search import QuoteSearchScreen
from reflect.tui.widgets.quotes import QuoteList
from tests.audio_fixtures import AUDIO
from tests.tui.support import (
    PASSPHRASE,
    PHONE_QUESTION,
    ask,
    fill_and_submit,
    make_app,
    text_of,
    unlock,
    wait_until,
)

SIZE = (100, 30)


def _saved(vault: Path) -> list[Any]:
    with Reflect.unlock(vault, PASSPHRASE) as service:
        return service.moments()


async def _kept(pilot: Pilot[Any], label: str, count: int) -> None:
    """Answer the label prompt and wait until the moment is stored."""
    app = pilot.app
    assert isinstance(app, ReflectApp)
    await wait_until(pilot, lambda: isinstance(app.screen, TextPrompt))
    await fill_and_submit(pilot, "#prompt-input", label)
    await wait_until(pilot, lambda: len(app.service.moments()) == count)


async def _moments_screen(pilot: Pilot[Any], count: int) -> MomentsScreen:
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, MomentsScreen))
    screen = pilot.app.screen
    assert isinstance(screen, MomentsScreen)
    await wait_until(pilot, lambda: len(screen.moments) == count)
    await pilot.pause()
    return screen


async def test_keep_an_excerpt_then_read_and_play_it_from_my_moments(vault: Path) -> None:
    app = make_app(vault)
    played: list[Any] = []
    said: list[str] = []
    app.toggle_playback = played.append  # type: ignore[method-assign]
    notify = app.notify

    def noted(message: str, **kwargs: Any) -> None:
        said.append(message)
        notify(message, **kwargs)

    app.notify = noted  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await ask(pilot, PHONE_QUESTION)
        await pilot.press("tab")
        cited = app.screen.query_one("#citation-list", QuoteList).current
        assert cited is not None
        await pilot.press("k")
        await _kept(pilot, "the phone in the kitchen", 1)
        assert said == ["Kept in your moments (ctrl+s)."]  # a short confirmation, no more
        assert isinstance(app.screen, MainScreen)

        screen = await _moments_screen(pilot, 1)
        shown = str(screen.query_one(MomentList).get_option_at_index(0).prompt)
        assert "the phone in the kitchen" in shown
        assert "18 Mar 2025 · Second session · Jonah · 0:10" in shown
        assert "Better than I expected." in shown
        await pilot.press("p")
        ((hit,),) = [tuple(played)]
        assert hit.session_id == cited.hit.session_id and hit.start == 10.0

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        reader = app.screen
        await wait_until(pilot, lambda: bool(reader.query(".-quoted")))
        assert "Better than I expected." in text_of(reader.query(".-quoted").first(Static))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
    (saved,) = _saved(vault)
    assert saved.label == "the phone in the kitchen" and saved.speaker == "Jonah"


async def test_keep_a_search_result_without_a_label(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+f")
        await wait_until(pilot, lambda: isinstance(app.screen, QuoteSearchScreen))
        search = app.screen
        search.query_one("#query", Input).value = '"slow breathing"'
        results = search.query_one("#results", QuoteList)
        await wait_until(pilot, lambda: bool(results.quotes))
        await pilot.press("down", "k")
        await _kept(pilot, "", 1)
    (saved,) = _saved(vault)
    assert saved.label == "" and saved.first_words.startswith("I did the slow breathing")


async def test_keep_a_transcript_line_in_the_reader(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        first = app.catalog.sessions[0]
        await app.push_screen(ReaderScreen(first.id))
        await wait_until(pilot, lambda: bool(app.screen.query(TurnBlock)))
        await pilot.press("tab", "down", "down")
        assert isinstance(app.focused, TurnBlock) and app.focused.turn == 2
        await pilot.press("k")
        await _kept(pilot, "where the phone sleeps", 1)
        # shift+down takes in the next line too; a plain move starts afresh.
        await pilot.press("shift+down", "shift+down")
        assert isinstance(app.focused, TurnBlock) and app.focused.turn == 4
        assert [b.turn for b in app.screen.query(".-chosen").results(TurnBlock)] == [2, 3, 4]
        await pilot.press("k")
        await _kept(pilot, "the phone and the kitchen", 2)
        # Esc on the label prompt keeps nothing.
        await pilot.press("k")
        await wait_until(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.service.moments()) == 2
        await pilot.press("up")
        assert [b.turn for b in app.screen.query(".-chosen").results(TurnBlock)] == [3]
    line, stretch = _saved(vault)
    assert (line.first_turn, line.last_turn) == (2, 2)
    assert line.first_words.startswith("That sounds exhausting.")
    assert (stretch.first_turn, stretch.last_turn, stretch.label) == (
        2,
        4,
        "the phone and the kitchen",
    )


async def test_my_moments_relabels_removes_and_is_calm_when_empty(vault: Path) -> None:
    with Reflect.unlock(vault, PASSPHRASE) as service:
        first = service.sessions()[0].id
        service.keep(first, at=9.0, label="waking at three")
        service.keep(first, at=41.0, label="one small experiment")
    app = make_app(vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        screen = await _moments_screen(pilot, 2)
        await pilot.press("down", "l")
        await wait_until(pilot, lambda: isinstance(app.screen, TextPrompt))
        await fill_and_submit(pilot, "#prompt-input", "the experiment")
        await wait_until(pilot, lambda: screen.moments[1][0].label == "the experiment")
        await pilot.press("d")
        await wait_until(pilot, lambda: len(screen.moments) == 1)
        await pilot.press("d")
        await wait_until(pilot, lambda: not screen.moments)
        empty = screen.query_one("#moments-empty", Static)
        assert empty.display and "No saved moments yet" in text_of(empty)
    assert _saved(vault) == []


async def test_importing_a_recording_asks_whether_the_therapist_agreed(
    vault: Path, tmp_path: Path
) -> None:
    recording = tmp_path / "in" / "2025-05-13 walk.ogg"
    recording.parent.mkdir()
    shutil.copy(AUDIO / "session_mono.ogg", recording)
    app = make_app(vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ImportScreen))
        importer = app.screen
        # Esc: nothing is imported.
        await fill_and_submit(pilot, "#import-path", str(recording))
        await wait_until(pilot, lambda: isinstance(app.screen, ConsentPrompt))
        question = text_of(app.screen.query_one(".modal-body", Static))
        assert "needs your therapist's agreement" in question
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is importer)
        assert "Nothing was imported" in text_of(importer.query_one("#import-counts", Static))
        # Not sure: imported, and the answer kept with it.
        await fill_and_submit(pilot, "#import-path", str(recording))
        await wait_until(pilot, lambda: isinstance(app.screen, ConsentPrompt))
        await pilot.click("#consent-unsure")
        await wait_until(pilot, lambda: app.import_report is not None, timeout=60)
        (result,) = app.import_report.results  # type: ignore[union-attr]
        assert result.status == "imported", result.reason
        session = app.service.session(result.session_id or "")
        assert session.extra["consent"]["answer"] == "not sure"
        await app.push_screen(ReaderScreen(session.id))
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        title = app.screen.query_one("#reader-title", Static)
        await wait_until(pilot, lambda: "agreement" in text_of(title))
        assert "♪ agreement not recorded" in text_of(title)
        assert not app.screen.query(Button)
        # Given again, it is already in the vault: nothing is asked (the prompt would stall it).
        app.pop_screen()
        await wait_until(pilot, lambda: app.screen is importer)
        await fill_and_submit(pilot, "#import-path", str(recording))
        await wait_until(pilot, lambda: app.import_report is not None, timeout=60)
        (again,) = app.import_report.results  # type: ignore[union-attr]
        assert again.status == "duplicate" and app.screen is importer
