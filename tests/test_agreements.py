"""Agreements found by rules in invented sessions: proposals with their replies,
commitments, what is not one, follow-ups, and the CLI's JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from reflect.agreements import find_agreements, link_follow_ups, subject_of
from reflect.cli import main
from reflect.retrieval import Hit
from tests.across_fixtures import SESSIONS, C, T, make_session
from tests.test_timeline import cli_vault  # noqa: F401  (the fixture)


def test_a_proposal_and_the_reply_that_accepts_it() -> None:
    [agreement] = find_agreements(SESSIONS[0], {C})
    session = SESSIONS[0]
    assert agreement.kind == "proposal"
    assert "Would you be up for keeping an insomnia diary" in agreement.words.text
    assert agreement.words.speaker == T
    assert agreement.reply is not None and agreement.reply.speaker == C
    assert agreement.reply.text == "Yeah, I'll try that. I'll keep it on the bedside table."
    for hit in (agreement.words, agreement.reply):
        assert hit.text == session.text[hit.char_start : hit.char_end]
        assert hit.start is not None
    assert not agreement.declined
    assert agreement.status == "open"


def test_a_commitment_said_unprompted() -> None:
    [agreement] = find_agreements(SESSIONS[2], {C})
    assert agreement.kind == "commitment"
    assert agreement.words.text.startswith("I'll cut down on coffee")


def test_what_is_not_an_agreement() -> None:
    session = make_session(
        "x",
        dt.date(2025, 3, 1),
        [
            (T, "Today I'll ask a lot of questions, and I'm going to take notes."),
            (C, "I'll be honest, it's been hard. I've said I'll take the job. I'll try."),
            (T, "Keep going."),
        ],
    )
    # The therapist's plans for the hour, a reported promise, a bare "I'll try", a nudge.
    assert find_agreements(session, {C}) == []


def test_asked_to_do_something_between_sessions_and_homework_named_as_such() -> None:
    session = make_session(
        "z",
        dt.date(2025, 3, 15),
        [
            (T, "Could you jot down each time you skip lunch, and what was going on?"),
            (C, "I can do that on my phone."),
            (T, "Can you walk me through yesterday? What would you notice first?"),
            (C, "Tea, the bus, the wall of emails."),
            (T, "What if you tried eating away from the desk on Fridays?"),
            (C, "Okay. Fridays, in the park. That's my homework, then."),
        ],
    )
    found = find_agreements(session, {C})
    # Asked now ("walk me through", "what would you notice") is not a plan.
    assert [a.words.text.split("?")[0] for a in found] == [
        "Could you jot down each time you skip lunch, and what was going on",
        "What if you tried eating away from the desk on Fridays",
    ]
    assert found[0].reply is not None and found[0].reply.text == "I can do that on my phone."


def test_a_declined_proposal_and_a_new_question_after_an_accepted_one() -> None:
    session = make_session(
        "y",
        dt.date(2025, 3, 8),
        [
            (T, "There's a group on Thursdays. Would you consider going along once?"),
            (C, "No. I don't think so. Groups are not for me."),
            (T, "Would you be up for a walk on Fridays instead?"),
            (C, "Yeah. Let's do that."),
            (T, "And the next appointment, Tuesday the ninth, same time?"),
            (C, "Tuesday the ninth. I'll put it in the calendar."),
        ],
    )
    found = find_agreements(session, {C})
    assert [a.declined for a in found] == [True, False, False]
    assert "same time?" in found[2].words.text
    assert found[0].id != found[1].id
    assert find_agreements(session, {C})[0].id == found[0].id  # stable


def test_follow_ups_come_from_later_sessions() -> None:
    [agreement] = find_agreements(SESSIONS[0], {C})
    subject = subject_of(agreement)
    assert "insomnia diary" in subject and "up for" not in subject
    later = Hit(
        1,
        0.5,
        "s3",
        "Session s3",
        dt.date(2025, 2, 17),
        "s3.txt",
        C,
        0.0,
        2.0,
        "I kept the insomnia diary",
        0,
        25,
        0,
        0,
    )
    asked: list[tuple[str, dt.date]] = []

    def mentions(subject: str, after: dt.date) -> list[list[Hit]]:
        asked.append((subject, after))
        return [[later], []]

    link_follow_ups([agreement], mentions)
    assert agreement.follow_ups == [later]
    assert asked == [(subject, dt.date(2025, 2, 3))]


@pytest.mark.usefixtures("cli_vault")
def test_cli_agreements_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    capsys.readouterr()
    assert main(["agreements", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [a["session_date"] for a in data] == ["2025-02-03", "2025-02-17"]
    first = data[0]
    assert {"id", "status", "follow_ups", "text", "speaker", "start", "session_id"} <= set(first)
    assert first["status"] == "open"
    assert first["reply"]["text"].startswith("Yeah, I'll try that.")
    assert any("insomnia diary" in h["text"] for h in first["follow_ups"])
    assert main(["agreements", "--since", "2025-02-10", "--json"]) == 0
    assert [a["session_date"] for a in json.loads(capsys.readouterr().out)] == ["2025-02-17"]
    assert main(["agreements", "--session", "2"]) == 0
    assert "No agreements" in capsys.readouterr().out
