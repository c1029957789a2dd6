"""Making any text safe to show: in the terminal (CLI) and in the app (Textual).

File names, titles, speaker names, quotes and LLM output come from outside reflect. A file
named `2024-05-04 <ESC>]52;c;...<ESC>\\ x.txt` would otherwise write the clipboard (OSC 52),
clear the screen (ESC[2J), or with bidi overrides make text read backwards. Every output path
sends outside text through `terminal` (or `markup` where the text lands inside Rich/Textual
markup, or `json_line` for JSON output).
"""

from __future__ import annotations

import json
import re
from typing import Any

# Whole escape sequences go, payload included (an OSC 52 payload is the clipboard text):
# CSI, then OSC/DCS/SOS/PM/APC strings up to their terminator (or the end), then any other
# ESC and the byte after it. The 8-bit C1 forms too (U+009B is CSI, U+009D OSC...).
_ESCAPE_SEQUENCES = re.compile(
    r"""
      (?:\x1b\[|\x9b) [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]?
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) .*? (?:\x07|\x1b\\|\x9c|\Z)
    | \x1b [\x20-\x2f]* [\x30-\x7e]?
    """,
    re.VERBOSE | re.DOTALL,
)
# C0 and C1 controls and DEL; tab and newline are kept only where lines are expected.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROLS_AND_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Bidi embeddings, overrides and isolates: they reorder what is shown ("Trojan Source").
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# Half of a UTF-16 pair can't be written to a UTF-8 terminal at all.
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def terminal(text: str, *, multiline: bool = False) -> str:
    """`text` without escape sequences, control characters or bidi overrides.

    Single-line text (titles, names) also loses line breaks and tabs; multi-line text
    (quotes, transcripts) keeps them. Controls become a space, so words never fuse."""
    text = _ESCAPE_SEQUENCES.sub("", text)
    text = _BIDI.sub("", text)
    text = _SURROGATES.sub("\ufffd", text)
    if multiline:
        return _CONTROLS.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROLS_AND_BREAKS.sub(" ", text)


def markup(text: str, *, multiline: bool = False) -> str:
    """`terminal(text)` escaped for Rich console markup: "[bold]" stays literal text."""
    from rich.markup import escape

    return escape(terminal(text, multiline=multiline))


def app_markup(text: str) -> str:
    """`terminal(text)` escaped for Textual markup (command palette entries, button labels).
    Textual is imported here, on use: `import reflect` never loads it."""
    from textual.markup import escape

    return escape(terminal(text))


# What JSON output escapes as \\uXXXX although ensure_ascii=False: characters a terminal
# would act on. The JSON stays valid and the data unchanged for whoever reads it.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def json_line(value: Any) -> str:
    """One line of JSON that is safe to print (controls escaped, data unchanged)."""
    text = json.dumps(value, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
