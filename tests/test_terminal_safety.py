"""Nothing from a file (its name, title, speakers, words) can drive the terminal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reflect import safe_text
from reflect.cli import main
from reflect.ingest import title_from_filename

OSC52 = "\x1b]52;c;aGVsbG8gdGhlcmU=\x1b\\"  # writes the clipboard
CLEAR = "\x1b[2J"  # clears the screen
BELL_OSC = "\x1b]0;window title\x07"
BIDI = "\u202e\u2066\u202a"  # right-to-left override, isolates, embeddings
C1_CSI = "\x9b31m"
HOSTILE = f"{OSC52}{CLEAR}{BELL_OSC}{BIDI}{C1_CSI}[bold]x"  # a file name holds no "/"

# Anything a terminal acts on: ESC, the C1 controls, bidi controls, other C0 controls.
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

TRANSCRIPT = f"""WEBVTT

00:00:01.000 --> 00:00:04.000
<v Dr. Achterberg>How was the lighthouse walk?

00:00:05.000 --> 00:00:09.000
<v Noor{BIDI}>Windy, but the lighthouse{BIDI} was lovely.
"""


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_every_command_prints_a_hostile_file_name_safely(
    env_vault: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = env_vault.parent / f"2024-05-04 {HOSTILE} walk.vtt"
    source.write_text(TRANSCRIPT)
    broken = env_vault.parent / f"{HOSTILE} empty.vtt"
    broken.write_text("")
    outputs = {}
    outputs["import"] = run(capsys, ["import", str(source), str(broken)])
    outputs["import --json"] = run(capsys, ["import", "--json", str(source), str(broken)])
    for argv in (
        ["sessions"],
        ["sessions", "--json"],
        ["show", "1"],
        ["show", "1", "--json"],
        ["quotes", "lighthouse"],
        ["quotes", "lighthouse", "--json"],
        ["speakers"],
        ["speakers", "1"],
        ["speakers", "1", "--json"],
        ["export", "1"],
        ["export", "1", "--format", "md"],
        ["show", f"no such {HOSTILE}"],
        ["redate", "1", HOSTILE],
        ["rename", "1", f"Walk {HOSTILE}[/]"],
        ["sessions"],
        ["remove", "1", "--yes"],
    ):
        outputs[" ".join(argv)] = run(capsys, argv)
    assert outputs["import"][0] == 1  # the empty file failed, by name
    assert "empty.vtt" in outputs["import"][1]
    assert outputs["sessions"][0] == 0 and "walk" in outputs["sessions"][1].lower()
    assert "lighthouse" in outputs["quotes lighthouse"][1]
    for argv, (_code, text) in outputs.items():
        assert not UNSAFE.search(text), (argv, text)
    # Rich markup in a name is shown as written, never applied.
    assert "[bold]x" in outputs["show 1"][1]


def test_titles_are_clean_from_the_start() -> None:
    title = title_from_filename(f"2024-05-04 {HOSTILE} walk.txt")
    assert not UNSAFE.search(title)
    assert "52;c;" not in title and "window title" not in title


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (f"a{OSC52}b", "ab"),
        (f"a{CLEAR}b", "ab"),
        (f"a{BELL_OSC}b", "ab"),
        (f"a{BIDI}b", "ab"),
        ("a\x1b]52;c;never terminated", "a"),
        ("tab\there\nand a line", "tab here and a line"),
        ("half \ud800 pair", "half \ufffd pair"),
        ("déjà vu — ½ 日本", "déjà vu — ½ 日本"),
    ],
)
def test_terminal_cleaning(raw: str, shown: str) -> None:
    assert safe_text.terminal(raw) == shown


def test_multiline_keeps_lines_and_tabs() -> None:
    assert safe_text.terminal(f"one\n\ttwo{CLEAR}\r\nthree", multiline=True) == (
        "one\n\ttwo\nthree"
    )


def test_json_lines_escape_what_a_terminal_acts_on() -> None:
    line = safe_text.json_line({"title": HOSTILE, "half": "\udfff"})
    assert not UNSAFE.search(line)
    import json

    assert json.loads(line) == {"title": HOSTILE, "half": "\udfff"}
