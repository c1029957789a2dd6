"""Snapshots of the app's screens (pytest-textual-snapshot; update with --snapshot-update).

A class per screen or state. Deterministic: invented sessions with fixed dates, fake models,
no spinner or clock in view, the text cursor held still, and the import screen's home folder
a made-up relative one (never this computer's).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DirectoryTree, Input, OptionList

from reflect import crypto
from reflect.service import Reflect
from reflect.tui.errors import ErrorModal
from reflect.tui.screens.agreements import AgreementList, AgreementsScreen
from reflect.tui.screens.create import CreateVaultScreen
from reflect.tui.screens.importer import ImportScreen
from reflect.tui.screens.next_session import NextSessionScreen, PrepList
from reflect.tui.screens.reader import ReaderScreen
from reflect.tui.screens.saved_moments import MomentsScreen
from reflect.tui.screens.timeline import TimelineChart, TimelineScreen
from reflect.tui.screens.unlock import UnlockScreen
from tests.tui.support import (
    PASSPHRASE,
    PHONE_QUESTION,
    across_template_vault,
    ask,
    copy_vault,
    fill_and_submit,
    make_app,
    run_command,
    template_vault,
    unlock,
    wait_until,
)

SIZE = (100, 30)
Snap = Callable[..., bool]
Steps = Callable[[Pilot[Any]], Awaitable[None]]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return template_vault(tmp_path_factory)


@pytest.fixture
def vault(template: Path, tmp_path: Path) -> Path:
    return copy_vault(template, tmp_path)


@pytest.fixture
def across_vault(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """The sessions and two later ones with agreements, for the views across sessions."""
    return copy_vault(across_template_vault(tmp_path_factory), tmp_path)


def still(steps: Steps | None = None) -> Steps:
    """Run `steps`, then stop every text cursor blinking so the picture is stable."""

    async def run_before(pilot: Pilot[Any]) -> None:
        if steps is not None:
            await steps(pilot)
        await pilot.pause()
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        await pilot.pause()

    return run_before


async def _view(
    pilot: Pilot[Any], key: str, screen: type[Screen[None]], rows: type[OptionList]
) -> None:
    """Unlock, press `key` for a view, and wait for its list of `rows` to be filled."""
    await unlock(pilot)
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, screen))
    found = pilot.app.screen.query_one(rows)
    await wait_until(pilot, lambda: found.option_count > 0)


async def _answered(pilot: Pilot[Any]) -> None:
    await unlock(pilot)
    await ask(pilot, PHONE_QUESTION)


class TestUnlock:
    def test_unlock_screen(self, snap_compare: Snap, vault: Path) -> None:
        async def shown(pilot: Pilot[Any]) -> None:
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, UnlockScreen))

        assert snap_compare(make_app(vault), terminal_size=SIZE, run_before=still(shown))


class TestCreateVault:
    def test_first_run_asks_for_a_passphrase_twice(
        self, snap_compare: Snap, tmp_path: Path
    ) -> None:
        async def typed(pilot: Pilot[Any]) -> None:
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, CreateVaultScreen))
            pilot.app.screen.query_one("#new-passphrase", Input).value = "short"

        app = make_app(tmp_path / "new-vault")
        assert snap_compare(app, terminal_size=SIZE, run_before=still(typed))


class TestMainScreen:
    @pytest.mark.parametrize(
        ("size", "theme"),
        [(SIZE, "textual-dark"), ((80, 24), "textual-dark"), (SIZE, "textual-light")],
        ids=["100x30", "80x24", "light"],
    )
    def test_an_answer_and_its_excerpts(
        self, snap_compare: Snap, vault: Path, size: tuple[int, int], theme: str
    ) -> None:
        async def answered(pilot: Pilot[Any]) -> None:
            pilot.app.theme = theme
            await _answered(pilot)

        assert snap_compare(make_app(vault), terminal_size=size, run_before=still(answered))

    def test_the_sessions_list_and_a_key_moment_at_80x24(
        self, snap_compare: Snap, across_vault: Path
    ) -> None:
        async def listed(pilot: Pilot[Any]) -> None:
            await unlock(pilot)
            await pilot.press("ctrl+b")
            await pilot.pause()
            detail = pilot.app.screen.query_one("#session-moment")
            await wait_until(pilot, lambda: detail.display)
            await pilot.press("tab")  # on the list: the newest session selected

        app = make_app(across_vault)
        assert snap_compare(app, terminal_size=(80, 24), run_before=still(listed))


class TestEmptyVault:
    def test_a_new_vault_says_how_to_import(self, snap_compare: Snap, tmp_path: Path) -> None:
        path = tmp_path / "empty-vault"
        Reflect.create(path, PASSPHRASE, kdf=crypto.floor_kdf_params()).lock()
        assert snap_compare(make_app(path), terminal_size=SIZE, run_before=still(unlock))


class TestReader:
    def test_reader_at_a_quote(self, snap_compare: Snap, vault: Path) -> None:
        async def reading(pilot: Pilot[Any]) -> None:
            await _answered(pilot)
            await pilot.press("tab", "enter")
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, ReaderScreen))
            await wait_until(pilot, lambda: bool(pilot.app.screen.query(".-quoted")))

        assert snap_compare(make_app(vault), terminal_size=SIZE, run_before=still(reading))


class TestMoments:
    def test_my_moments_at_80x24(self, snap_compare: Snap, vault: Path) -> None:
        with Reflect.unlock(vault, PASSPHRASE) as service:
            first, second, _ = (s.id for s in service.sessions())
            service.keep(first, at=41.0, label="one small experiment for the week")
            service.keep(second, at=30.0)
            service.keep(first, at=9.0, to=22.0, label="waking at three")

        async def listed(pilot: Pilot[Any]) -> None:
            await unlock(pilot)
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, MomentsScreen))
            screen = pilot.app.screen
            await wait_until(pilot, lambda: len(screen.moments) == 3)  # type: ignore[attr-defined]

        assert snap_compare(make_app(vault), terminal_size=(80, 24), run_before=still(listed))


class TestHelp:
    def test_help_screen(self, snap_compare: Snap, vault: Path) -> None:
        async def helping(pilot: Pilot[Any]) -> None:
            await unlock(pilot)
            await pilot.press("f1")

        assert snap_compare(make_app(vault), terminal_size=SIZE, run_before=still(helping))


class TestImport:
    def test_import_screen_shows_the_files_it_can_read(
        self, snap_compare: Snap, vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        home = tmp_path / "rowan"
        (home / "therapy").mkdir(parents=True)
        (home / "therapy" / "2025-03-04 first session.vtt").write_text("WEBVTT\n")
        (home / "therapy" / "2025-03-18 second session.txt").write_text("")
        (home / "holiday.jpg").write_bytes(b"")  # not a transcript: not listed
        (home / "sleep-hygiene.pdf").write_bytes(b"")  # a handout: listed
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(Path, "home", lambda: Path("rowan"))

        async def importing(pilot: Pilot[Any]) -> None:
            await unlock(pilot)
            await pilot.press("ctrl+o")
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, ImportScreen))
            tree = pilot.app.screen.query_one(DirectoryTree)
            await wait_until(pilot, lambda: bool(tree.root.children))

        assert snap_compare(make_app(vault), terminal_size=SIZE, run_before=still(importing))


class TestErrorModal:
    def test_a_date_it_cannot_read(self, snap_compare: Snap, vault: Path) -> None:
        async def failing(pilot: Pilot[Any]) -> None:
            await unlock(pilot)
            await run_command(pilot, "from a date")
            await wait_until(pilot, lambda: bool(pilot.app.screen.query("#prompt-input")))
            await fill_and_submit(pilot, "#prompt-input", "the blue moon")
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, ErrorModal))

        assert snap_compare(make_app(vault), terminal_size=SIZE, run_before=still(failing))


SIZES = pytest.mark.parametrize("size", [(80, 24), SIZE], ids=["80x24", "100x30"])


class TestReaderKeyMoments:
    def test_key_moments_above_a_session_at_80x24(self, snap_compare: Snap, vault: Path) -> None:
        async def reading(pilot: Pilot[Any]) -> None:
            await _answered(pilot)
            await pilot.press("tab", "enter")
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, ReaderScreen))
            await wait_until(pilot, lambda: bool(pilot.app.screen.query(".-quoted")))
            await wait_until(pilot, lambda: pilot.app.screen.query_one("#reader-recap").display)

        assert snap_compare(make_app(vault), terminal_size=(80, 24), run_before=still(reading))


class TestTimeline:
    @SIZES
    def test_a_theme_over_time(
        self, snap_compare: Snap, across_vault: Path, size: tuple[int, int]
    ) -> None:
        async def timeline(pilot: Pilot[Any]) -> None:
            await unlock(pilot)
            await pilot.press("ctrl+g")
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, TimelineScreen))
            await fill_and_submit(pilot, "#timeline-topic", "work")
            chart = pilot.app.screen.query_one(TimelineChart)
            await wait_until(pilot, lambda: chart.option_count == 3)
            await pilot.press("down", "down")  # the last session, its excerpts below

        assert snap_compare(make_app(across_vault), terminal_size=size, run_before=still(timeline))


class TestAgreements:
    @SIZES
    def test_what_was_agreed(
        self, snap_compare: Snap, across_vault: Path, size: tuple[int, int]
    ) -> None:
        async def agreements(pilot: Pilot[Any]) -> None:
            await _view(pilot, "ctrl+y", AgreementsScreen, AgreementList)

        app = make_app(across_vault)
        assert snap_compare(app, terminal_size=size, run_before=still(agreements))

    def test_an_agreement_marked_done(self, snap_compare: Snap, across_vault: Path) -> None:
        async def marked(pilot: Pilot[Any]) -> None:
            await _view(pilot, "ctrl+y", AgreementsScreen, AgreementList)
            await pilot.press("d")
            screen = pilot.app.screen
            await wait_until(pilot, lambda: not screen._marking)  # type: ignore[attr-defined]

        app = make_app(across_vault)
        assert snap_compare(app, terminal_size=(80, 24), run_before=still(marked))


class TestNextSession:
    @SIZES
    def test_ready_for_the_next_session(
        self, snap_compare: Snap, across_vault: Path, size: tuple[int, int]
    ) -> None:
        async def prep(pilot: Pilot[Any]) -> None:
            await _view(pilot, "ctrl+r", NextSessionScreen, PrepList)

        assert snap_compare(make_app(across_vault), terminal_size=size, run_before=still(prep))

    def test_the_themes_lately(self, snap_compare: Snap, across_vault: Path) -> None:
        async def themes(pilot: Pilot[Any]) -> None:
            await _view(pilot, "ctrl+r", NextSessionScreen, PrepList)
            await pilot.press("end")  # down to the themes, a bar per session

        assert snap_compare(make_app(across_vault), terminal_size=SIZE, run_before=still(themes))
