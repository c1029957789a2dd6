"""Snapshots of the app's main screens (pytest-textual-snapshot; update with --snapshot-update).

Deterministic: invented sessions with fixed dates, fake models, no spinner or clock in view,
and the text cursor held still.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from reflect.tui.screens.reader import ReaderScreen
from tests.tui.support import (
    PHONE_QUESTION,
    ask,
    copy_vault,
    make_app,
    template_vault,
    unlock,
    wait_until,
)

SIZE = (100, 30)
Snap = Callable[..., bool]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return template_vault(tmp_path_factory)


@pytest.fixture
def vault(template: Path, tmp_path: Path) -> Path:
    return copy_vault(template, tmp_path)


def still(
    steps: Callable[[Pilot[Any]], Awaitable[None]] | None = None,
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Run `steps`, then stop every text cursor blinking so the picture is stable."""

    async def run_before(pilot: Pilot[Any]) -> None:
        if steps is not None:
            await steps(pilot)
        await pilot.pause()
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        await pilot.pause()

    return run_before


def test_unlock_screen(snap_compare: Snap, vault: Path) -> None:
    assert snap_compare(make_app(vault), terminal_size=SIZE, run_before=still())


async def _answered(pilot: Pilot[Any]) -> None:
    await unlock(pilot)
    await ask(pilot, PHONE_QUESTION)


def test_main_screen_with_an_answer_and_its_excerpts(snap_compare: Snap, vault: Path) -> None:
    assert snap_compare(make_app(vault), terminal_size=SIZE, run_before=still(_answered))


async def _reading(pilot: Pilot[Any]) -> None:
    await _answered(pilot)
    await pilot.press("tab", "enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ReaderScreen))
    await wait_until(pilot, lambda: bool(pilot.app.screen.query(".-quoted")))
    await pilot.pause()


def test_reader_at_a_quote(snap_compare: Snap, vault: Path) -> None:
    assert snap_compare(make_app(vault), terminal_size=SIZE, run_before=still(_reading))


async def _help(pilot: Pilot[Any]) -> None:
    await unlock(pilot)
    await pilot.press("f1")


def test_help_screen(snap_compare: Snap, vault: Path) -> None:
    assert snap_compare(make_app(vault), terminal_size=SIZE, run_before=still(_help))
