"""What the app shows of a file name, title or speaker can't drive the terminal or inject
Textual markup."""

from __future__ import annotations

import datetime as dt
import re

from textual.content import Content

from reflect.errors import TranscriptError
from reflect.ingest import FileResult, ImportReport
from reflect.kept import SavedMoment
from reflect.safe_text import app_markup
from reflect.store import SessionSummary
from reflect.tui.errors import error_text
from reflect.tui.screens.importer import report_lines
from reflect.tui.screens.saved_moments import moment_prompt
from reflect.tui.widgets.sessions import session_prompt

HOSTILE = "\x1b]52;c;aGVsbG8=\x1b\\\x1b[2J\u202e\u2066[bold]x[/]"
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_session_list_entries_are_clean() -> None:
    summary = SessionSummary(
        "a1b2", f"Walk {HOSTILE}", "2024-05-04", "filename", "x.vtt", ["Noor"], 2, "h", "t", "vtt"
    )
    shown = session_prompt(summary).plain
    assert not UNSAFE.search(shown) and "Walk" in shown


def test_import_report_lines_are_clean() -> None:
    report = ImportReport(
        results=[
            FileResult(f"/home/noor/{HOSTILE}.vtt", "imported", "a1b2", f"T {HOSTILE}", 2),
            FileResult(f"/home/noor/{HOSTILE}.txt", "failed", reason="the file is empty"),
        ]
    )
    for line in report_lines(report):
        assert not UNSAFE.search(line.plain)


def test_error_modal_text_is_clean() -> None:
    title, message = error_text(TranscriptError(f"{HOSTILE}.vtt", "the file is empty"))
    assert not UNSAFE.search(title + message) and "the file is empty" in message


def test_markup_in_a_name_stays_literal() -> None:
    assert Content.from_markup(app_markup(f"I am {HOSTILE}")).plain == "I am [bold]x[/]"


def test_saved_moments_are_clean() -> None:
    moment = SavedMoment(
        1, "ab12", f"calm {HOSTILE}", "t", "a1b2", f"Walk {HOSTILE}", dt.date(2024, 5, 4),
        f"Noor {HOSTILE}", f"Breathe {HOSTILE}", 3.0, 9.0, 0, 10, 0, 0, True,
    )
    shown = moment_prompt(moment).plain
    assert not UNSAFE.search(shown) and "calm" in shown and "Breathe" in shown
