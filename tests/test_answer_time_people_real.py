"""The next session, who someone is, and the session before the break, end to end: invented
transcripts imported into a vault with the real embedding model and answered through
`Reflect.answerer` as `ask` builds it (the chat model is a fake that must never be asked).

The people are invented: the client Bram, his counsellor Odile, Kit from the pool and
Bram's manager Philippa. Weekly sessions, with four weeks off while Odile was on leave.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from reflect import crypto
from reflect.answer import Answerer
from reflect.ingest import ImportOptions
from reflect.service import Reflect
from reflect.testing import FakeChatModel
from tests.conftest import PASSPHRASE

pytestmark = pytest.mark.slow

TODAY = dt.date(2026, 4, 2)
SESSIONS = {
    "2026-02-03 session 1.txt": [
        ("Odile", "Hello Bram, come in. What brings you here?"),
        (
            "Bram",
            "Work, mostly. Philippa, my manager, has put me "
            "on the new contract and I'm not sleeping.",
        ),
        ("Odile", "Not sleeping. Tell me about the nights."),
        ("Bram", "I lie there going over emails. Two, three in the morning."),
        (
            "Odile",
            "Would you be willing to write down what's going round, just three lines, before bed?",
        ),
        ("Bram", "I'll do the three lines. Every night."),
        ("Odile", "Good. Same time next week?"),
        ("Bram", "Same time next week."),
    ],
    "2026-02-10 session 2.txt": [
        ("Odile", "How were the three lines?"),
        (
            "Bram",
            "Five nights out of seven. It helped, a bit. And I went to the pool on Saturday.",
        ),
        ("Odile", "The pool?"),
        (
            "Bram",
            "There's a woman there, in the slow lane like me. One of "
            "them, Kit, she gave me a float and a lecture on breathing.",
        ),
        ("Odile", "A float and a lecture."),
        ("Bram", "I'm not proud. I needed both."),
        ("Odile", "Shall we say the same time next week?"),
    ],
    "2026-02-17 session 3.txt": [
        (
            "Odile",
            "Before we start, a reminder that I'm on leave for the "
            "next few weeks. Our next session is the seventeenth of March.",
        ),
        ("Bram", "Right. Yes. That's fine."),
        ("Odile", "So what would you like to keep going while I'm away?"),
        ("Bram", "The three lines. And the pool."),
        ("Odile", "Would you be up for going to the pool twice a week, Wednesday and Saturday?"),
        ("Bram", "Yes. I'll go Wednesdays and Saturdays. I'll keep the three lines by the bed."),
        ("Odile", "Good. Take care, Bram."),
    ],
    "2026-03-17 session 4.txt": [
        ("Odile", "It's been a while. How have the weeks been?"),
        ("Bram", "Better. Kit, the woman from the pool, she's got me doing lengths now. Twenty."),
        ("Odile", "Twenty lengths."),
        ("Bram", "And Philippa moved the deadline, so work's calmer."),
        ("Odile", "Same time next week?"),
        ("Bram", "Yes please."),
    ],
    "2026-03-24 session 5.txt": [
        ("Odile", "How's the swimming?"),
        ("Bram", "I swim with Kit on Wednesdays and Saturdays now. We get a coffee after."),
        ("Odile", "And the nights?"),
        ("Bram", "Mostly asleep by midnight. The three lines are down to one, most nights."),
        ("Odile", "Same time next week, then."),
    ],
    "2026-03-31 session 6.txt": [
        ("Odile", "How's the week been?"),
        ("Bram", "Calm. Calmer than I can remember, honestly."),
        ("Odile", "What's made the difference, do you think?"),
        ("Bram", "The pool. Sleeping. Not reading emails in bed."),
        ("Odile", "It's Easter next week, so shall we say Tuesday the fourteenth of April?"),
        ("Bram", "The fourteenth. Yes. See you then."),
    ],
}


def transcript(lines: list[tuple[str, str]]) -> str:
    """The lines as a timestamped transcript, ten seconds apart."""
    return "".join(
        f"[00:{i // 6:02d}:{i % 6 * 10:02d}] {who}: {words}\n"
        for i, (who, words) in enumerate(lines)
    )


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Answerer]:
    from reflect.embedding import default_embedder

    root = tmp_path_factory.mktemp("time-people")
    folder = root / "sessions"
    folder.mkdir()
    for name, lines in SESSIONS.items():
        (folder / name).write_text(transcript(lines), encoding="utf-8")
    service = Reflect.create(
        root / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params(), embedder_factory=default_embedder
    )
    try:
        assert not service.import_paths([folder], ImportOptions(me="Bram")).failed
        service.open_index()
        yield service.answerer(today=TODAY, model_factory=lambda: FakeChatModel([]))
    finally:
        service.lock()


def cited_days(answer: object) -> list[dt.date]:
    return [hit.session_date for _, hit in answer.citations]  # type: ignore[attr-defined]


def test_the_next_session_is_the_day_the_last_one_booked(answerer: Answerer) -> None:
    answer = answerer.ask("when's my next appointment?")
    assert answer.asked is not None and answer.asked.kind == "next_session"
    assert answer.text.startswith("Your next session is on Tuesday 14 April, booked on 31 March:")
    assert "shall we say Tuesday the fourteenth of April?" in answer.text
    assert cited_days(answer) == [dt.date(2026, 3, 31)]
    same = answerer.ask("when do I see Odile next?")
    assert same.text == answer.text


def test_who_by_name_and_by_role(answerer: Answerer) -> None:
    kit = answerer.ask("who is Kit?")
    assert kit.found and kit.text.startswith("Kit first came up on 10 February:")
    assert "Kit, the woman from the pool" in kit.text
    assert cited_days(kit) == [dt.date(2026, 2, 10), dt.date(2026, 3, 17)]
    swimming = answerer.ask("who's the woman I go swimming with?")
    assert swimming.text.startswith("That sounds like Kit:")
    assert dt.date(2026, 3, 24) in cited_days(swimming)  # "I swim with Kit"
    manager = answerer.ask("who's my manager?")
    assert manager.text.startswith("That sounds like Philippa:")
    assert "Philippa, my manager" in manager.text


def test_what_we_agreed_before_the_break(answerer: Answerer) -> None:
    answer = answerer.ask("what did we agree before you went on leave?")
    assert answer.asked is not None and answer.asked.kind == "agreements"
    assert answer.asked.time_words == "before you went on leave (17 February)"
    assert answer.text.startswith("What you agreed on 17 February:")
    assert "Wednesdays and Saturdays" in answer.text
    assert set(cited_days(answer)) == {dt.date(2026, 2, 17)}


def test_the_model_was_never_asked(answerer: Answerer) -> None:
    assert answerer._model is None or not answerer._model.prompts  # type: ignore[attr-defined]


def test_sessions_are_named_by_their_files(answerer: Answerer) -> None:
    assert Path(next(iter(SESSIONS))).suffix == ".txt"
