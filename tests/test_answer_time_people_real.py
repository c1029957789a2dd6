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
    "2026-02-03 session 1.txt": """\
[00:00:03] Odile: Hello Bram, come in. What brings you here?
[00:00:09] Bram: Work, mostly. Philippa, my manager, has put me on the new contract and I'm not sleeping.
[00:00:21] Odile: Not sleeping. Tell me about the nights.
[00:00:26] Bram: I lie there going over emails. Two, three in the morning.
[00:00:34] Odile: Would you be willing to write down what's going round, just three lines, before bed?
[00:00:42] Bram: I'll do the three lines. Every night.
[00:00:47] Odile: Good. Same time next week?
[00:00:50] Bram: Same time next week.
""",
    "2026-02-10 session 2.txt": """\
[00:00:02] Odile: How were the three lines?
[00:00:06] Bram: Five nights out of seven. It helped, a bit. And I went to the pool on Saturday.
[00:00:15] Odile: The pool?
[00:00:18] Bram: There's a woman there, in the slow lane like me. One of them, Kit, she gave me a float and a lecture on breathing.
[00:00:30] Odile: A float and a lecture.
[00:00:33] Bram: I'm not proud. I needed both.
[00:00:38] Odile: Shall we say the same time next week?
""",
    "2026-02-17 session 3.txt": """\
[00:00:02] Odile: Before we start, a reminder that I'm on leave for the next few weeks. Our next session is the seventeenth of March.
[00:00:12] Bram: Right. Yes. That's fine.
[00:00:16] Odile: So what would you like to keep going while I'm away?
[00:00:21] Bram: The three lines. And the pool.
[00:00:26] Odile: Would you be up for going to the pool twice a week, Wednesday and Saturday?
[00:00:33] Bram: Yes. I'll go Wednesdays and Saturdays. I'll keep the three lines by the bed.
[00:00:41] Odile: Good. Take care, Bram.
""",
    "2026-03-17 session 4.txt": """\
[00:00:03] Odile: It's been a while. How have the weeks been?
[00:00:08] Bram: Better. Kit, the woman from the pool, she's got me doing lengths now. Twenty.
[00:00:18] Odile: Twenty lengths.
[00:00:21] Bram: And Philippa moved the deadline, so work's calmer.
[00:00:28] Odile: Same time next week?
[00:00:31] Bram: Yes please.
""",
    "2026-03-24 session 5.txt": """\
[00:00:02] Odile: How's the swimming?
[00:00:05] Bram: I swim with Kit on Wednesdays and Saturdays now. We get a coffee after.
[00:00:14] Odile: And the nights?
[00:00:17] Bram: Mostly asleep by midnight. The three lines are down to one, most nights.
[00:00:26] Odile: Same time next week, then.
""",
    "2026-03-31 session 6.txt": """\
[00:00:02] Odile: How's the week been?
[00:00:05] Bram: Calm. Calmer than I can remember, honestly.
[00:00:11] Odile: What's made the difference, do you think?
[00:00:15] Bram: The pool. Sleeping. Not reading emails in bed.
[00:00:22] Odile: It's Easter next week, so shall we say Tuesday the fourteenth of April?
[00:00:29] Bram: The fourteenth. Yes. See you then.
""",
}


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Answerer]:
    from reflect.embedding import default_embedder

    root = tmp_path_factory.mktemp("time-people")
    folder = root / "sessions"
    folder.mkdir()
    for name, text in SESSIONS.items():
        (folder / name).write_text(text, encoding="utf-8")
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
