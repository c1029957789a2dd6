"""Searching deeper from the quote search (ctrl+d): the top ten read closely, reordered.

The judge is a stand-in (reflect.testing.PrefersWord) given through the app's judge factory,
held at a gate so the line shown while it reads can be seen; "not installed" runs the real
check with the extra's packages made absent.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from reflect import bundled
from reflect.testing import PrefersWord
from reflect.tui.errors import ErrorModal
from reflect.tui.screens.search import DEEPER_DONE, DEEPER_READING, QuoteSearchScreen
from reflect.tui.widgets.quotes import QuoteList
from tests.tui.support import SETTLE_SECONDS, make_app, text_of, unlock, wait_until

QUERY = "the phone at night"


class GatedJudge(PrefersWord):
    """Reads nothing until the test opens the gate; says when it has begun."""

    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.gate = threading.Event()
        self.began = threading.Event()

    def p_yes(self, question: str, excerpt: str) -> float:
        self.began.set()
        if not self.gate.wait(SETTLE_SECONDS):
            raise AssertionError("the gate was never opened")
        return super().p_yes(question, excerpt)


async def _searched(
    pilot: Pilot[Any], query: str = QUERY
) -> tuple[QuoteSearchScreen, QuoteList, Static]:
    """Unlock, open the quote search and wait for the results of `query`."""
    await unlock(pilot)
    await pilot.press("ctrl+f")
    screen = pilot.app.screen
    assert isinstance(screen, QuoteSearchScreen)
    results = screen.query_one(QuoteList)
    screen.query_one("#query", Input).value = query
    await wait_until(pilot, lambda: screen.shown_query == query and bool(results.quotes))
    return screen, results, screen.query_one("#search-status", Static)


async def test_ctrl_d_reads_the_top_ten_closely_and_reorders_them(vault: Path) -> None:
    judge = GatedJudge("canal")
    app = make_app(vault, judge_factory=lambda: judge)
    async with app.run_test(size=(100, 30)) as pilot:
        _screen, results, status = await _searched(pilot)
        fast = [q.hit.text for q in results.quotes]
        assert "canal" not in fast[0] and any("canal" in t for t in fast)

        await pilot.press("ctrl+d")
        await wait_until(pilot, judge.began.is_set)
        await wait_until(pilot, lambda: f"{DEEPER_READING} · 0 of {len(fast)}" in text_of(status))
        assert [q.hit.text for q in results.quotes] == fast  # shown while it reads
        await pilot.press("ctrl+d")  # once is enough
        await pilot.pause()
        assert any("Still reading" in str(n.message) for n in app._notifications)

        judge.gate.set()
        await wait_until(pilot, lambda: DEEPER_DONE in text_of(status))
        deeper = [q.hit.text for q in results.quotes]
        assert "canal" in deeper[0]
        assert sorted(deeper) == sorted(fast)  # the same moments, in a new order
        assert len(judge.read) == min(10, len(fast))
        assert "Enter opens the transcript" in text_of(status)
        assert results.highlighted == 0


async def test_typing_again_supersedes_the_deeper_search(vault: Path) -> None:
    judge = GatedJudge("canal")
    app = make_app(vault, judge_factory=lambda: judge)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, _results, status = await _searched(pilot)
        await pilot.press("ctrl+d")
        await wait_until(pilot, judge.began.is_set)

        screen.query_one("#query", Input).value = "breathing under the table"
        await wait_until(pilot, lambda: screen.shown_query == "breathing under the table")
        judge.gate.set()
        await pilot.pause(0.3)
        assert DEEPER_DONE not in text_of(status) and DEEPER_READING not in text_of(status)
        assert screen.shown_query == "breathing under the table"
        assert len(judge.read) <= 2  # it stopped reading once a newer search was asked for


async def test_without_the_extra_the_app_says_how_to_install_it(
    vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundled, "_JUDGE_PART_PACKAGES", ("reflect_no_such_judge_part",))
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, results, status = await _searched(pilot)
        before = text_of(status)
        shown = list(results.quotes)

        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal))
        modal = app.screen
        assert isinstance(modal, ErrorModal)
        assert modal.error_title == "Deeper search not installed"
        assert "pip install 'reflect[deep-search]'" in modal.error_message
        await pilot.press("enter")
        assert app.screen is screen
        assert text_of(status) == before and results.quotes == shown


async def test_ctrl_d_with_nothing_typed_says_what_to_do(vault: Path) -> None:
    judge = GatedJudge("canal")
    app = make_app(vault, judge_factory=lambda: judge)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+f", "ctrl+d")
        await pilot.pause()
        assert not judge.began.is_set()
        assert any("Type what you are looking for" in str(n.message) for n in app._notifications)
