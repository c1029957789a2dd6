"""The terminal app, driven as a person would: keys in, screens and words out."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from reflect.answer import Answer
from reflect.errors import ReflectError
from reflect.live_index import IndexProgress
from reflect.testing import FakeChatModel
from reflect.tui.app import CRASH_MESSAGE
from reflect.tui.errors import UNEXPECTED_MESSAGE, ErrorModal
from reflect.tui.messages import AnswerFinished, AnswerGrew, IndexOpened, IndexProgressed
from reflect.tui.screens.create import CreateVaultScreen
from reflect.tui.screens.main import MainScreen
from reflect.tui.screens.reader import ReaderScreen
from reflect.tui.screens.unlock import WRONG, UnlockScreen
from reflect.tui.widgets.conversation import Exchange
from reflect.tui.widgets.quotes import CitationsPanel, QuoteList
from reflect.tui.widgets.sessions import SessionList
from reflect.vault import Vault
from tests.tui.support import (
    NEW_SESSIONS,
    NOT_FOUND_QUESTION,
    PASSPHRASE,
    PHONE_QUESTION,
    PHONE_REPLY,
    GatedChatModel,
    GatedImportEmbedder,
    SlowChatModel,
    ask,
    fill_and_submit,
    make_app,
    text_of,
    type_text,
    unlock,
    wait_until,
    write_sessions,
)

# ---- first run and unlock -----------------------------------------------------------------


async def test_first_run_creates_a_vault(tmp_path: Path) -> None:
    path = tmp_path / "new-vault"
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CreateVaultScreen)
        assert app.focused is screen.query_one("#new-passphrase", Input)
        assert "no way to recover" in text_of(screen.query_one("#no-recovery", Static))

        await type_text(pilot, "short")
        assert screen.query_one("#strength", Static).display  # a gentle hint, live
        await pilot.press("enter")  # on to the second box
        await type_text(pilot, "short")
        await pilot.press("enter")
        assert "at least 8 characters" in text_of(screen.query_one("#create-message", Static))

        screen.query_one("#new-passphrase", Input).value = PASSPHRASE
        screen.query_one("#repeat", Input).value = PASSPHRASE + "x"
        await pilot.press("enter", "enter")  # to the second box, then create
        assert "don't match" in text_of(screen.query_one("#create-message", Static))
        assert app.focused is screen.query_one("#repeat", Input)

        await type_text(pilot, PASSPHRASE)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert Vault.exists(path)
        assert app.focused is app.screen.query_one("#question", Input)
        welcome = app.screen.query_one("#welcome", Static)
        await wait_until(pilot, lambda: "ctrl+o to import" in text_of(welcome))


async def test_wrong_then_right_passphrase(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, UnlockScreen)
        box = screen.query_one("#passphrase", Input)
        assert box.password and app.focused is box

        await type_text(pilot, "not it!")
        await pilot.press("enter")
        message = screen.query_one("#unlock-message", Static)
        await wait_until(pilot, lambda: text_of(message) == WRONG)
        assert app.screen is screen and not box.disabled and box.value == ""
        assert app.focused is box

        await unlock(pilot)
        assert app.focused is app.screen.query_one("#question", Input)
        assert app.status.unlocked and app.status.sessions == 3


# ---- asking -------------------------------------------------------------------------------


async def test_excerpts_appear_before_the_answer_streams(vault: Path) -> None:
    gate = threading.Event()
    app = make_app(vault, model=GatedChatModel([PHONE_REPLY], gate))
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await fill_and_submit(pilot, "#question", PHONE_QUESTION)

        citations = screen.query_one("#citation-list", QuoteList)
        await wait_until(pilot, lambda: bool(citations.quotes))
        exchange = screen.query_one(Exchange)
        assert exchange.state.text == ""  # the model hasn't written a word yet
        assert [q.n for q in citations.quotes] == [1, 2, 3, 4, 5, 6]

        gate.set()
        await wait_until(pilot, lambda: not screen.answering)
        await pilot.pause()
        # The reply, then the best excerpt it did not cite, verbatim, on a line of its own.
        assert exchange.state.text.split("\n")[0] == PHONE_REPLY
        answer_text = text_of(exchange.query_one(".answer", Static))
        assert "[5]" in answer_text
        assert citations.current is not None and citations.current.n == 5  # what it cites
        assert app.focused is screen.query_one("#question", Input)


async def test_not_found_shows_closest_matches(vault: Path) -> None:
    app = make_app(vault, replies=[])
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await ask(pilot, NOT_FOUND_QUESTION)
        screen = app.screen
        exchange = screen.query_one(Exchange)
        assert exchange.state.text.startswith("Nothing about cooking pasta came up in your")
        panel = screen.query_one(CitationsPanel)
        assert text_of(panel.query_one("#citations-title", Static)) == "Closest matches"
        assert all(q.n is None for q in screen.query_one(QuoteList).quotes)


async def test_safety_message_sits_above_the_answer(vault: Path) -> None:
    app = make_app(vault, replies=[])
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await ask(pilot, "I don't want to be here anymore, did we talk about that?")
        exchange = app.screen.query_one(Exchange)
        safety = exchange.query_one(".safety", Static)
        assert safety.display and text_of(safety)
        children = list(exchange.children)
        assert children.index(safety) < children.index(exchange.query_one(".answer", Static))


async def test_quotes_not_found_word_for_word_are_marked(vault: Path) -> None:
    reply = 'You said you "left the phone in the kitchen five nights out of ten" [4].'
    app = make_app(vault, replies=[reply])
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await ask(pilot, PHONE_QUESTION)
        screen = app.screen
        exchange = screen.query_one(Exchange)
        assert exchange.state.answer is not None
        assert exchange.state.answer.unverified_quotes == [
            "left the phone in the kitchen five nights out of ten"
        ]
        note = screen.query_one("#unverified", Static)
        assert note.display and "five nights out of ten" in text_of(note)
        assert "not found word for word" in text_of(exchange.query_one(".note", Static))


async def test_open_a_citation_in_the_reader_and_come_back(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await ask(pilot, PHONE_QUESTION)
        main = app.screen
        citations = main.query_one("#citation-list", QuoteList)
        await pilot.press("tab")
        assert app.focused is citations
        cited = citations.current
        assert cited is not None

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        reader = app.screen
        await wait_until(pilot, lambda: bool(reader.query(".-quoted")))
        await pilot.pause()
        quoted = reader.query(".-quoted").first(Static)
        assert cited.hit.text.strip() in text_of(quoted)
        transcript = reader.query_one("#transcript")
        assert transcript.scrollable_content_region.contains_region(quoted.region) or (
            quoted.region.y >= transcript.region.y
        )

        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is main)
        assert app.focused is citations


async def test_copy_a_quote_with_its_citation(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await ask(pilot, PHONE_QUESTION)
        await pilot.press("tab", "c")
        copied = app.clipboard
        assert copied.startswith("“Better than I expected. I left the phone in the kitchen")
        assert "— “Second session”, 18 March 2025, Jonah, 0:10" in copied


async def test_escape_stops_an_answer(vault: Path) -> None:
    model = SlowChatModel([" ".join(["The phone stayed in the kitchen [4]."] * 30)])
    app = make_app(vault, model=model)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await fill_and_submit(pilot, "#question", PHONE_QUESTION)
        await wait_until(pilot, model.started.is_set)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not screen.answering, timeout=5)
        exchange = screen.query_one(Exchange)
        assert exchange.state.answer is not None and exchange.state.answer.cancelled
        assert "Stopped" in text_of(exchange.query_one(".note", Static))
        assert len(model.calls) == 1  # and nothing was asked again


# ---- errors -------------------------------------------------------------------------------


class BrokenModelError(ReflectError):
    title = "Answer model missing"


async def test_worker_errors_become_a_calm_modal(vault: Path) -> None:
    def broken_model() -> FakeChatModel:
        raise BrokenModelError("The answer model file isn't where reflect expects it.")

    app = make_app(vault, model_factory=broken_model)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal))
        modal = app.screen
        assert isinstance(modal, ErrorModal)
        assert modal.error_title == "Answer model missing"
        assert modal.error_message == "The answer model file isn't where reflect expects it."
        assert app.status.model == "unavailable"
        await pilot.press("enter")
        assert isinstance(app.screen, MainScreen)


async def test_unexpected_errors_never_show_their_text(vault: Path) -> None:
    def leaky_model() -> FakeChatModel:
        raise RuntimeError("Tired, mostly. I keep waking up at three")

    app = make_app(vault, model_factory=leaky_model)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal))
        modal = app.screen
        assert isinstance(modal, ErrorModal)
        assert modal.error_message == UNEXPECTED_MESSAGE
        shown = " ".join(text_of(s) for s in modal.query(Static))
        assert "waking up" not in shown and "RuntimeError" not in shown


# ---- auto-lock ----------------------------------------------------------------------------


async def test_idle_lock_clears_everything_and_returns_to_unlock(vault: Path) -> None:
    now = [1000.0]
    app = make_app(vault, clock=lambda: now[0])
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await ask(pilot, PHONE_QUESTION)
        main = app.screen
        service = app.service
        exchange = main.query_one(Exchange)
        citations = main.query_one("#citation-list", QuoteList)
        sessions = main.query_one("#session-list", SessionList)
        question = main.query_one("#question", Input)
        question.value = "half a question"
        assert citations.quotes and sessions.option_count == 3
        minutes = app.idle_lock_minutes
        assert minutes == 10  # the vault's setting

        now[0] += minutes * 60 - 1
        assert not app.check_idle_lock()
        now[0] += 2
        assert app.check_idle_lock()
        await wait_until(pilot, lambda: isinstance(app.screen, UnlockScreen))

        assert app.unlocked is None and not app.status.unlocked
        assert "without activity" in text_of(app.screen.query_one("#unlock-message", Static))
        assert app.focused is app.screen.query_one("#passphrase", Input)
        # Nothing the main screen showed is left in its widgets, and the keys are gone.
        assert exchange.state.question == "" and exchange.state.quotes == []
        assert all(text_of(s) == "" for s in exchange.query(Static))
        assert citations.quotes == [] and citations.option_count == 0
        assert sessions.option_count == 0 and question.value == ""
        assert not main.is_attached
        with pytest.raises(ReflectError):
            service.sessions()

        await unlock(pilot)  # and it opens again
        assert app.status.sessions == 3


async def test_a_crash_leaves_no_traceback_with_transcript_text(
    vault: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(self: MainScreen, *args: object) -> None:
        raise RuntimeError("Tired, mostly. I keep waking up at three")

    monkeypatch.setattr(MainScreen, "action_search", broken)
    app = make_app(vault)
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(100, 30)) as pilot:
            await unlock(pilot)
            await pilot.press("ctrl+f")
    captured = capsys.readouterr()
    printed = " ".join((captured.err + captured.out).split())
    assert CRASH_MESSAGE in printed
    assert "waking up" not in printed and "Traceback" not in printed
    assert app.return_code == 1


# ---- messages -----------------------------------------------------------------------------


def test_bursts_of_progress_and_answer_text_are_coalesced() -> None:
    progress = [IndexProgress(3, True, i, 3, "vectors") for i in range(3)]
    assert IndexProgressed(1, progress[0]).can_replace(IndexProgressed(1, progress[1]))
    assert not IndexProgressed(1, progress[0]).can_replace(IndexOpened(1))
    # The newest text holds all the older ones' words, so dropping them loses nothing.
    assert AnswerGrew(1, "You said").can_replace(AnswerGrew(1, "You said you left"))
    assert not AnswerGrew(1, "You said").can_replace(AnswerGrew(2, "Ruth"))
    assert not AnswerGrew(1, "You said").can_replace(AnswerFinished(1, Answer("q", "", True)))


async def test_quitting_mid_answer_stops_the_model_and_locks(vault: Path) -> None:
    model = SlowChatModel([" ".join(["The phone stayed in the kitchen [4]."] * 30)])
    app = make_app(vault, model=model)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        service = app.service
        await fill_and_submit(pilot, "#question", PHONE_QUESTION)
        await wait_until(pilot, model.started.is_set)
        await pilot.press("ctrl+q")
    assert app.return_code == 0 and app.unlocked is None
    with pytest.raises(ReflectError):
        service.sessions()


async def test_quitting_during_an_import_locks_without_waiting_for_it(
    vault: Path, tmp_path: Path
) -> None:
    folder = write_sessions(tmp_path / "new", NEW_SESSIONS)
    gate = threading.Event()  # never opened: the import is held for as long as the test runs
    app = make_app(vault, embedder_factory=lambda: GatedImportEmbedder(gate))
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        service = app.service
        assert app.start_import([folder])
        await wait_until(pilot, lambda: app.status.importing is not None)
        await pilot.press("ctrl+q")
    assert app.return_code == 0 and app.unlocked is None
    with pytest.raises(ReflectError):
        service.sessions()


async def test_a_follow_up_leans_on_the_last_question_until_ctrl_n(vault: Path) -> None:
    app = make_app(vault, replies=[PHONE_REPLY])
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        await ask(pilot, PHONE_QUESTION)
        await ask(pilot, "when was that?")
        screen = app.screen
        assert isinstance(screen, MainScreen)
        last = list(screen.query(Exchange))[-1]
        assert last.state.text.startswith("That was on ")
        note = text_of(last.query_one(".note", Static))
        assert "Understood:" in note and "ctrl+n starts afresh" in note

        await pilot.press("ctrl+n")
        await pilot.pause()
        assert any("Starting afresh" in str(n.message) for n in app._notifications)
        await ask(pilot, "when was that?")
        fresh = list(screen.query(Exchange))[-1]
        assert not fresh.state.text.startswith("That was on ")
