"""The views across sessions, driven by keys: a theme's timeline, the agreements, and a
session's key moments in the reader."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.visual import Padding
from textual.widgets import Input, Static

from reflect import crypto, service
from reflect.embedding import default_embedder
from reflect.errors import ReflectError
from reflect.excerpts import ExcerptLine
from reflect.ingest import ImportOptions
from reflect.retrieval import Hit
from reflect.service import Reflect
from reflect.tui.app import ReflectApp, create_app
from reflect.tui.errors import ErrorModal
from reflect.tui.formatting import brief_excerpt, key_lines
from reflect.tui.messages import Quote
from reflect.tui.screens.agreements import AgreementList, AgreementsScreen
from reflect.tui.screens.help import key_sections
from reflect.tui.screens.main import MainScreen
from reflect.tui.screens.next_session import NextSessionScreen, PrepList
from reflect.tui.screens.prompt import TextPrompt
from reflect.tui.screens.reader import ReaderScreen
from reflect.tui.screens.timeline import TimelineChart, TimelineScreen
from reflect.tui.widgets.quotes import QuoteList
from reflect.tui.widgets.recap import RecapList
from tests.tui.support import (
    ACROSS_SESSIONS,
    ME,
    PASSPHRASE,
    PHONE_QUESTION,
    SESSIONS,
    across_template_vault,
    ask,
    copy_vault,
    fill_and_submit,
    make_app,
    run_command,
    text_of,
    unlock,
    wait_until,
    write_sessions,
)

SIZE = (100, 30)


@pytest.fixture
def across_vault(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_vault(across_template_vault(tmp_path_factory), tmp_path)


def record_playing(app: ReflectApp, monkeypatch: pytest.MonkeyPatch) -> list[Hit]:
    """What `p` asks the app to play (the test sessions have no recordings to hear)."""
    played: list[Hit] = []
    monkeypatch.setattr(app, "toggle_playback", played.append)
    return played


async def open_timeline(pilot: Pilot[Any], topic: str | None = None) -> TimelineScreen:
    """Press ctrl+g and, with `topic`, ask for that theme's timeline."""
    app = pilot.app
    await pilot.press("ctrl+g")
    await wait_until(pilot, lambda: isinstance(app.screen, TimelineScreen))
    screen = app.screen
    assert isinstance(screen, TimelineScreen)
    if topic is not None:
        await fill_and_submit(pilot, "#timeline-topic", topic)
    return screen


async def enter_opens_the_reader_at(pilot: Pilot[Any], hit: Hit) -> None:
    """Enter opens the reader with `hit` highlighted; Esc comes back."""
    app = pilot.app
    screen = app.screen
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
    reader = app.screen
    assert isinstance(reader, ReaderScreen)
    assert reader.quote is not None and reader.quote.hit == hit
    await wait_until(pilot, lambda: bool(reader.query(".-quoted")))
    await pilot.press("escape")
    await wait_until(pilot, lambda: app.screen is screen)


# ---- timeline -----------------------------------------------------------------------------


async def test_a_timeline_from_its_key_oldest_first(
    across_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(across_vault)
    played = record_playing(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        screen = await open_timeline(pilot)
        topic = screen.query_one("#timeline-topic", Input)
        assert app.focused is topic and topic.value == ""  # nothing asked yet: it asks

        await fill_and_submit(pilot, "#timeline-topic", "work")
        chart = screen.query_one(TimelineChart)
        await wait_until(pilot, lambda: chart.option_count == 3)
        await pilot.pause()
        assert app.focused is chart
        rows = [str(chart.get_option_at_index(i).prompt) for i in range(3)]
        assert [r.split("  ")[0].strip() for r in rows] == [
            "1 Apr 2025",
            "6 May 2025",
            "20 May 2025",
        ]
        assert rows[2].endswith("3  After the diary") and "█" in rows[2]
        status = text_of(screen.query_one("#timeline-status", Static))
        assert "“work” came up in 3 of your 5 sessions" in status

        # Moving through the chart brings each session's excerpts into view.
        excerpts = screen.query_one("#timeline-excerpts", QuoteList)
        await pilot.press("down", "down")
        assert excerpts.current is not None
        assert excerpts.current.hit.session_title == "After the diary"

        await pilot.press("p")
        assert [h.session_title for h in played] == ["After the diary"]

        await enter_opens_the_reader_at(pilot, played[0])  # the session's best moment


async def test_the_timeline_starts_from_the_question_in_hand(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await ask(pilot, PHONE_QUESTION)
        main = app.screen
        assert isinstance(main, MainScreen)
        topic = main.current_topic
        assert "phone" in topic and "what did we say" not in topic

        await run_command(pilot, "Timeline of a theme")
        await wait_until(pilot, lambda: isinstance(app.screen, TimelineScreen))
        screen = app.screen
        assert screen.query_one("#timeline-topic", Input).value == topic
        chart = screen.query_one(TimelineChart)
        await wait_until(pilot, lambda: chart.option_count > 0)
        titles = [q.hit.session_title for q in chart.best if q is not None]
        assert titles[:2] == ["First session", "Second session"]


async def test_a_theme_that_never_came_up(across_vault: Path) -> None:
    app = make_app(across_vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        screen = await open_timeline(pilot, "xylophone")
        status = screen.query_one("#timeline-status", Static)
        await wait_until(pilot, lambda: "didn't come up" in text_of(status))
        assert not screen.query_one(TimelineChart).display


async def test_a_failing_timeline_goes_to_the_one_error_handler(
    across_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Reflect, topic: str, filters: object = None) -> None:
        raise ReflectError("The index needs rebuilding.")

    monkeypatch.setattr(Reflect, "timeline", broken)
    app = make_app(across_vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        screen = await open_timeline(pilot, "work")
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal))
        assert app.screen.error_message == "The index needs rebuilding."  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert app.screen is screen
        assert "couldn't be made" in text_of(screen.query_one("#timeline-status", Static))


async def test_locking_clears_the_timeline(across_vault: Path) -> None:
    app = make_app(across_vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        screen = await open_timeline(pilot, "work")
        chart = screen.query_one(TimelineChart)
        excerpts = screen.query_one("#timeline-excerpts", QuoteList)
        topic = screen.query_one("#timeline-topic", Input)
        await wait_until(pilot, lambda: chart.option_count == 3)
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: app.unlocked is None)
        assert chart.option_count == 0 and chart.best == []
        assert excerpts.quotes == [] and excerpts.option_count == 0
        assert topic.value == ""
        await pilot.press("ctrl+g")  # nothing to show while locked
        assert not isinstance(app.screen, TimelineScreen)


# ---- agreements ---------------------------------------------------------------------------


async def test_agreements_with_replies_and_follow_ups(
    across_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(across_vault)
    played = record_playing(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+y")
        await wait_until(pilot, lambda: isinstance(app.screen, AgreementsScreen))
        screen = app.screen
        found = screen.query_one(AgreementList)
        await wait_until(pilot, lambda: bool(found.quotes))
        assert app.focused is found
        texts = [q.hit.text for q in found.quotes]
        assert texts[0].startswith("Would you be up for keeping a sleep diary this week?")
        assert texts[1] == "Yeah, I'll try that. I'll keep it by the kettle so I see it."
        assert "I kept the sleep diary every morning" in texts[2]  # a later session: follow-up
        assert texts[3].startswith("I'll stop working past seven on weeknights.")
        assert len(texts) == 5  # and that one's reply; nothing later talks about it
        prompts = [found.get_option(str(i)).prompt for i in range(len(texts))]
        # Replies and follow-ups are indented under their agreement, follow-ups further.
        assert [type(p) is Padding for p in prompts] == [False, True, True, False, True]
        assert "2 agreements" in text_of(screen.query_one("#agreements-status", Static))

        await pilot.press("down", "down", "p")
        assert [h.session_title for h in played] == ["After the diary"]
        await enter_opens_the_reader_at(pilot, found.quotes[2].hit)


async def open_agreements(pilot: Pilot[Any]) -> AgreementList:
    """Press ctrl+y and wait for the agreements."""
    app = pilot.app
    await pilot.press("ctrl+y")
    await wait_until(pilot, lambda: isinstance(app.screen, AgreementsScreen))
    found = app.screen.query_one(AgreementList)
    await wait_until(pilot, lambda: bool(found.quotes))
    return found


def stored_marks(vault: Path) -> dict[str, str]:
    """What is sealed in the vault: the marks of agreements not open."""
    with Reflect.unlock(vault, PASSPHRASE) as service:
        return {i: mark.status for i, mark in service._store.agreement_marks().items()}


async def test_marking_an_agreement_done_not_for_me_and_open_again(
    across_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ui_thread = threading.get_ident()
    stored_on: list[int] = []
    mark = Reflect.mark_agreement

    def on_a_worker(self: Reflect, agreement_id: str, status: str) -> Any:
        stored_on.append(threading.get_ident())
        return mark(self, agreement_id, status)

    monkeypatch.setattr(Reflect, "mark_agreement", on_a_worker)
    app = make_app(across_vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        found = await open_agreements(pilot)
        screen = app.screen
        assert isinstance(screen, AgreementsScreen)
        first = found.current_agreement
        assert first is not None
        sleep_diary = first.agreement.id

        await pilot.press("d")  # shown at once, under the agreement's words
        assert str(found.get_option("0").prompt).endswith("\nmarked done")
        await wait_until(pilot, lambda: not screen._marking)
        assert stored_on and ui_thread not in stored_on

        # On a follow-up row, the keys mark the agreement it follows up.
        await pilot.press("down", "down", "x")
        assert str(found.get_option("0").prompt).endswith("\nmarked not for me")
        await pilot.press("down", "d")  # the second agreement
        assert str(found.get_option("3").prompt).endswith("\nmarked done")
        await wait_until(pilot, lambda: not screen._marking)
        assert "d done · x not for me · o open again" in text_of(
            screen.query_one("#agreements-status", Static)
        )

    marks = stored_marks(across_vault)
    assert marks[sleep_diary] == "dropped"
    assert sorted(marks.values()) == ["done", "dropped"]  # the two agreements

    app = make_app(across_vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        found = await open_agreements(pilot)  # marks are read back
        assert str(found.get_option("0").prompt).endswith("\nmarked not for me")
        await pilot.press("o")
        assert not str(found.get_option("0").prompt).endswith("not for me")
        await wait_until(pilot, lambda: not app.screen._marking)  # type: ignore[attr-defined]
    assert sleep_diary not in stored_marks(across_vault)  # open again: no mark


async def test_a_mark_that_cannot_be_stored_goes_back(
    across_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Reflect, agreement_id: str, status: str) -> None:
        raise ReflectError("The vault is read-only.")

    monkeypatch.setattr(Reflect, "mark_agreement", broken)
    app = make_app(across_vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        found = await open_agreements(pilot)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal))
        assert app.screen.error_message == "The vault is read-only."  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert not str(found.get_option("0").prompt).endswith("done")
        current = found.current_agreement
        assert current is not None and current.agreement.status == "open"


async def test_agreements_from_the_palette_when_there_are_none(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await run_command(pilot, "Agreements")
        await wait_until(pilot, lambda: isinstance(app.screen, AgreementsScreen))
        status = app.screen.query_one("#agreements-status", Static)
        await wait_until(pilot, lambda: "No agreements found" in text_of(status))
        assert not app.screen.query_one(AgreementList).display


# ---- ready for the next session ------------------------------------------------------------


async def open_next_session(pilot: Pilot[Any], timeout: float = 15.0) -> PrepList:
    """Press ctrl+r and wait for what to take along."""
    app = pilot.app
    await pilot.press("ctrl+r")
    await wait_until(pilot, lambda: isinstance(app.screen, NextSessionScreen))
    prep = app.screen.query_one(PrepList)
    await wait_until(pilot, lambda: bool(prep.targets), timeout=timeout)
    await pilot.pause()
    return prep


async def test_next_session_opens_a_key_moment_of_last_time(
    across_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(across_vault)
    played = record_playing(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        prep = await open_next_session(pilot)
        screen = app.screen
        assert app.focused is prep
        rows = [str(prep.get_option_at_index(i).prompt) for i in range(prep.option_count)]
        headings = [r for i, r in enumerate(rows) if prep.get_option_at_index(i).disabled]
        assert headings[0] == "Last time · 20 May 2025 · After the diary"
        assert headings[1:3] == ["Still open", "What came up lately"]
        # The last session's key moments first, verbatim from its transcript.
        moments = app.service.recap("After the diary").moments
        stored = app.service.session_of(moments[0])
        first = prep.current
        assert isinstance(first, Quote) and first.hit == moments[0]
        assert stored.text[first.hit.char_start : first.hit.char_end] == first.hit.text
        # Both agreements are open, with their follow-ups; the themes have a bar a session.
        open_words = [t.hit.text for t in prep.targets if isinstance(t, Quote)]
        assert any(w.startswith("Would you be up for keeping a sleep diary") for w in open_words)
        assert any(w.startswith("I'll stop working past seven") for w in open_words)
        topics = [t for t in prep.targets if isinstance(t, str)]
        assert topics and any("█" in r for r in rows)

        await pilot.press("down", "p")  # the second key moment, played
        assert played == [moments[1]]
        await enter_opens_the_reader_at(pilot, moments[1])
        assert app.screen is screen

        await pilot.press("k")  # kept among the user's moments, as on any excerpt
        await wait_until(pilot, lambda: isinstance(app.screen, TextPrompt))
        await fill_and_submit(pilot, "#prompt-input", "the diary and the canal")
        await wait_until(pilot, lambda: len(app.service.moments()) == 1)
        assert app.service.moments()[0].session_id == moments[1].session_id
        await wait_until(pilot, lambda: app.screen is screen)

        # Enter on a theme: its whole timeline.
        prep.highlighted = prep.targets.index(topics[0])
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TimelineScreen))
        assert app.screen.query_one("#timeline-topic", Input).value == topics[0]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)


async def test_next_session_from_the_palette_leaves_out_what_is_marked(
    across_vault: Path,
) -> None:
    with Reflect.unlock(across_vault, PASSPHRASE) as service:
        service.open_index(vector_store=False)
        diary = service.agreements(follow_ups=False)[0]
        service.mark_agreement(diary.id, "done")
    app = make_app(across_vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await run_command(pilot, "Ready for the next session")
        await wait_until(pilot, lambda: isinstance(app.screen, NextSessionScreen))
        prep = app.screen.query_one(PrepList)
        await wait_until(pilot, lambda: bool(prep.targets))
        words = [t.hit.text for t in prep.targets if isinstance(t, Quote)]
        assert not any(w.startswith("Would you be up for keeping a sleep diary") for w in words)
        assert any(w.startswith("I'll stop working past seven") for w in words)


async def test_next_session_gathers_again_after_a_mark_in_the_agreements(
    across_vault: Path,
) -> None:
    app = make_app(across_vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        prep = await open_next_session(pilot)
        screen = app.screen

        def open_words() -> list[str]:
            return [t.hit.text for t in prep.targets if isinstance(t, Quote)]

        assert any(w.startswith("Would you be up for keeping a sleep diary") for w in open_words())
        await open_agreements(pilot)  # over the Next session view
        await pilot.press("d")
        await wait_until(pilot, lambda: not app.screen._marking)  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        await wait_until(
            pilot,
            lambda: (
                bool(open_words())
                and not any(w.startswith("Would you be up for keeping") for w in open_words())
            ),
        )


async def test_next_session_shows_the_users_notes_since_the_last_session(
    across_vault: Path,
) -> None:
    with Reflect.unlock(across_vault, PASSPHRASE) as written:
        last = max(s.day for s in written.sessions())
        written.documents.write_note(
            "Slept badly after the late shift on Friday.", day=last + dt.timedelta(days=3)
        )
    day = last + dt.timedelta(days=3)
    app = make_app(across_vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        prep = await open_next_session(pilot)
        rows = [str(prep.get_option_at_index(i).prompt) for i in range(prep.option_count)]
        assert rows[-2:] == [
            "Your notes since then",
            f"your note, {day.day} {day:%B %Y}\nSlept badly after the late shift on Friday.",
        ]


async def test_next_session_leaves_out_notes_when_there_are_none(across_vault: Path) -> None:
    app = make_app(across_vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        prep = await open_next_session(pilot)
        rows = [str(prep.get_option_at_index(i).prompt) for i in range(prep.option_count)]
        assert "Your notes since then" not in rows


async def test_next_session_with_no_sessions_says_how_to_import(tmp_path: Path) -> None:
    Reflect.create(tmp_path / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params()).lock()
    app = make_app(tmp_path / "vault")
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, NextSessionScreen))
        status = app.screen.query_one("#prep-status", Static)
        await wait_until(pilot, lambda: "No sessions yet" in text_of(status))
        assert not app.screen.query_one(PrepList).display


async def test_locking_clears_the_next_session_view(across_vault: Path) -> None:
    app = make_app(across_vault)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        prep = await open_next_session(pilot)
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: app.unlocked is None)
        assert prep.targets == [] and prep.option_count == 0
        await pilot.press("ctrl+r")  # nothing to show while locked
        assert not isinstance(app.screen, NextSessionScreen)


# ---- key moments in the reader ------------------------------------------------------------


async def test_key_moments_take_the_reader_to_their_line(across_vault: Path) -> None:
    app = make_app(across_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+b")  # the sessions list, at 80 columns
        await pilot.pause()
        await fill_and_submit(pilot, "#session-filter", "after the diary")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        reader = app.screen
        assert isinstance(reader, ReaderScreen)
        recap = reader.query_one(RecapList)
        await wait_until(pilot, lambda: len(recap.moments) == 3 and bool(reader.query(".turn")))
        assert recap.moments[0].hit.session_title == "After the diary"
        assert len({q.hit.speaker for q in recap.moments}) == 2  # both voices

        await pilot.press("K")  # capital: small k keeps a moment
        assert app.focused is recap
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        marked = reader.query(".-moment")
        assert len(marked) == 1
        last = recap.moments[2].hit
        assert last.text.split(".")[0] in text_of(marked.first(Static))
        transcript = reader.query_one("#transcript")
        assert transcript.scroll_y > 0  # scrolled down to it
        await pilot.press("K")
        assert app.focused is transcript


async def test_the_sessions_list_shows_the_selected_sessions_first_key_moment(
    across_vault: Path,
) -> None:
    app = make_app(across_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+b")  # the sessions list, at 80 columns
        await pilot.pause()
        detail = app.screen.query_one("#session-moment", Static)
        newest = app.service.recap("After the diary").moments[0]
        await wait_until(pilot, lambda: detail.display and "sleep diary" in text_of(detail))
        said = text_of(detail).split("\n")
        assert said[0] == f"Key moment · {newest.speaker} · 0:06"
        shown = said[1].removesuffix("…")  # the moment's own first words, cut at a word
        assert " ".join(newest.text.split()).startswith(shown) and len(shown) > 20

        await pilot.press("tab", "down")  # from the filter box to the list: the one before
        older = app.service.recap("Sleep diary").moments[0]
        first_words = " ".join(older.text.split()[:4])
        await wait_until(pilot, lambda: first_words in text_of(detail))

        await fill_and_submit(pilot, "#session-filter", "nothing like this")
        assert not detail.display  # no session, no moment


# ---- with the real embedding model --------------------------------------------------------


@pytest.mark.slow
async def test_the_views_with_the_real_embedding_model(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "_default_embedder_factory", default_embedder)
    vault = tmp_path / "vault"
    setup = Reflect.create(vault, PASSPHRASE, kdf=crypto.floor_kdf_params())
    folder = write_sessions(write_sessions(tmp_path / "sessions", SESSIONS), ACROSS_SESSIONS)
    setup.import_paths([folder], ImportOptions(me=ME))
    setup.lock()

    # The real embedder; no chat model (none of these views writes anything).
    app = create_app(vault, kdf=crypto.floor_kdf_params(), preload_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await fill_and_submit(pilot, "#passphrase", PASSPHRASE)
        await wait_until(pilot, lambda: app.status.index_open and app.catalog.loaded, timeout=120)

        # "sleep" by meaning too: the first session says "waking up at three", not "sleep".
        screen = await open_timeline(pilot, "sleep")
        chart = screen.query_one(TimelineChart)
        await wait_until(pilot, lambda: chart.option_count > 0, timeout=60)
        titles = [q.hit.session_title for q in chart.best if q is not None]
        assert titles == ["First session", "Sleep diary", "After the diary"]
        excerpts = screen.query_one("#timeline-excerpts", QuoteList).quotes
        for quote in excerpts:  # verbatim, cut from the stored transcript
            stored = app.service.session_of(quote.hit)
            assert stored.text[quote.hit.char_start : quote.hit.char_end] == quote.hit.text
        await enter_opens_the_reader_at(pilot, excerpts[0].hit)
        await pilot.press("escape")

        await pilot.press("ctrl+y")
        await wait_until(pilot, lambda: isinstance(app.screen, AgreementsScreen))
        found = app.screen.query_one(AgreementList)
        await wait_until(pilot, lambda: bool(found.quotes), timeout=60)
        texts = [q.hit.text for q in found.quotes]
        assert texts[0].startswith("Would you be up for keeping a sleep diary")
        assert "I kept the sleep diary every morning" in texts[2]
        await pilot.press("escape")

        # Ready for the next session: last time's key moments, verbatim, open in the reader.
        prep = await open_next_session(pilot, timeout=60)
        moments = [t for t in prep.targets if isinstance(t, Quote)]
        assert moments and moments[0].hit.session_title == "After the diary"
        for quote in moments:
            stored = app.service.session_of(quote.hit)
            assert stored.text[quote.hit.char_start : quote.hit.char_end] == quote.hit.text
        assert any(isinstance(t, str) for t in prep.targets)  # a theme, found by meaning too
        await enter_opens_the_reader_at(pilot, moments[0].hit)


def test_a_brief_excerpt_keeps_the_matched_and_longest_lines_verbatim() -> None:
    said = [
        ("Dr. Okafor", 2.0, "Welcome back."),
        ("Jonah", 6.0, "I kept the sleep diary every morning except Sunday."),
        ("Dr. Okafor", 18.0, "Useful."),
        ("Jonah", 24.0, "That I go to bed later on the nights I work late, and then it's worse."),
        ("Dr. Okafor", 33.0, "Mm."),
    ]
    lines, offset = [], 0
    for speaker, start, text in said:
        lines.append(ExcerptLine(speaker, start, text, offset))
        offset += len(text) + 1
    text = "\n".join(t for _, _, t in said)
    start = text.index("sleep diary")
    hit = Hit(
        rank=1, score=1.0, session_id="s", session_title="After the diary",
        session_date=dt.date(2025, 5, 20), source_file="s.txt", speaker=None, start=2.0,
        end=40.0, text=text, char_start=0, char_end=len(text), first_turn=0, last_turn=4,
        match_spans=[(start, start + len("sleep diary"))],
    )  # fmt: skip
    assert key_lines(hit, lines, 2) == [1, 3]  # the matched words, then the longest
    shown = brief_excerpt(hit, lines, ["Jonah"]).plain.split("\n")
    assert shown == [
        "…",
        "Jonah · 0:06",
        "I kept the sleep diary every morning except Sunday.",
        "…",
        "Jonah · 0:24",
        "That I go to bed later on the nights I work late, and then it's worse.",
        "…",
    ]


def test_the_keys_of_the_new_views_are_in_the_help() -> None:
    sections = dict(key_sections(ReflectApp.BINDINGS))
    assert ("ctrl+r", "Ready for the next session") in sections["Everywhere"]
    marks = {k: d for k, d in sections["Agreements"]}
    assert marks["d"] == "Mark done" and marks["x"] == "Not for me" and marks["o"] == "Open again"
    assert ("enter (on a theme)", "Its whole timeline") in sections["Next session"]
