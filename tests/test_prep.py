"""Ready for the next session: themes chosen from what was said (never filler), open
agreements with their follow-ups, the last recap, and the CLI's JSON and text."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from reflect.cli import main
from reflect.prep import _notes_since, salient_themes
from tests.across_fixtures import SESSIONS, C, T, make_session
from tests.test_timeline import cli_vault  # noqa: F401  (the fixture)

FILLER = {"yeah", "okay", "mm", "hmm", "really", "know", "think", "like", "just", "right"}


def _history() -> list:
    chat = [
        (T, "Mm-hmm. Yeah. Okay, right, I know, I think, really, you know what I mean."),
        (C, "Yeah, right, I mean, I just think it's like, really, you know. Okay."),
    ]
    early = make_session(
        "e",
        dt.date(2025, 1, 6),
        [
            *chat,
            (C, "The allotment was frozen, the allotment shed leaked, the allotment is a worry."),
        ],
    )
    recent = [
        make_session(
            f"r{i}",
            dt.date(2025, 2, 3 + 7 * i),
            [
                *chat,
                (
                    C,
                    "The sleep diary again. I filled the sleep diary most mornings, and Mirela "
                    "Okafor is a name I said.",
                ),
                (T, "What did the sleep diary show about the weekends?"),
                (C, "My sister rang about the wedding. The wedding speech, the wedding dress."),
            ],
        )
        for i in range(3)
    ]
    return [early, *recent]


def test_themes_are_what_was_said_most_lately_never_filler() -> None:
    history = _history()
    themes = salient_themes(history[-3:], history, ignore=[C, T])
    assert themes[:2] == ["sleep diary", "wedding"]
    assert not FILLER & {w for t in themes for w in t.split()}
    assert "allotment" not in themes  # said in an older session only
    assert not {"mirela", "okafor"} & set(themes)  # the speakers' own names
    # Each said often enough; "sleep" is not chosen beside "sleep diary".
    assert "sleep" not in themes and "diary" not in themes
    assert salient_themes([], history) == []


def test_notes_since_the_last_session() -> None:
    from reflect.documents import make_note

    notes = [
        make_note(text, session_id=f"n{i}", day=day, speaker="Me")
        for i, (text, day) in enumerate(
            [("Before it.", dt.date(2025, 2, 10)), ("After it.", dt.date(2025, 2, 20))]
        )
    ]
    assert [n.text for n in _notes_since(notes, dt.date(2025, 2, 17))] == ["After it."]
    assert len(_notes_since(notes, None)) == 2


@pytest.mark.usefixtures("cli_vault")
def test_cli_prep_json(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["prep", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"last_session", "agreements", "themes", "notes"}
    last = data["last_session"]
    assert last["session_date"] == "2025-02-17"
    assert all(m["text"] in SESSIONS[2].text for m in last["moments"])
    assert [a["session_date"] for a in data["agreements"]] == ["2025-02-03", "2025-02-17"]
    diary = data["agreements"][0]
    assert diary["status"] == "open" and diary["follow_ups"]
    assert data["themes"] and all(set(t) == {"topic", "sessions"} for t in data["themes"])
    insomnia = next(t for t in data["themes"] if t["topic"] == "insomnia")
    assert [s["session_date"] for s in insomnia["sessions"]] == ["2025-02-03", "2025-02-17"]
    assert {"session_id", "mentions", "hits"} <= set(insomnia["sessions"][0])
    assert data["notes"] == []
    assert main(["note", "Slept through twice this week.", "--date", "2025-02-20"]) == 0
    assert main(["note", "An old thought.", "--date", "2025-02-01"]) == 0
    capsys.readouterr()
    assert main(["prep", "--json"]) == 0
    noted = json.loads(capsys.readouterr().out)
    assert [n["text"] for n in noted["notes"]] == ["Slept through twice this week."]
    assert noted["notes"][0]["source"] == "note"
    assert noted["last_session"]["session_date"] == "2025-02-17"  # a note is not a session
    # Marked done: no longer open.
    assert main(["agreements", "--done", diary["id"]]) == 0
    capsys.readouterr()
    assert main(["prep", "--json"]) == 0
    still = json.loads(capsys.readouterr().out)["agreements"]
    assert [a["id"] for a in still] == [data["agreements"][1]["id"]]


@pytest.mark.usefixtures("cli_vault")
def test_cli_prep_text_says_it_is_unencrypted(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["prep"]) == 0
    captured = capsys.readouterr()
    for heading in ("Last time", "Still open", "What came up lately", "Your notes since then"):
        assert heading in captured.out
    assert "“insomnia”: 2 sessions" in captured.out
    assert all(len(line) <= 80 for line in captured.out.splitlines())
    assert "not encrypted" in captured.err


def test_prep_help_says_a_file_is_unencrypted(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["prep", "--help"])
    assert "unencrypted" in capsys.readouterr().out
