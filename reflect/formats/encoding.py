"""Turning a text file's bytes into text, without asking the user which encoding it uses.

Transcripts come from three kinds of tools: current ones write UTF-8 (sometimes with a BOM),
Windows "Unicode" saves write UTF-16 with a BOM, and older Windows tools write Windows-1252.
So: a BOM decides; otherwise strict UTF-8, which almost never accepts text that is not really
UTF-8; otherwise Windows-1252. charset-normalizer is not used: on a short transcript it often
guesses a neighbouring code page (cp1250, mac_roman) and garbles exactly the quotes, € and
accented letters this fallback exists for, and a fixed order gives the same answer every time.
The cost: text in another legacy code page (Cyrillic cp1251, Shift-JIS) comes out garbled
instead of refused; such files are rare and can be re-saved as UTF-8.
"""

from __future__ import annotations

import codecs
import re

from reflect.errors import TranscriptError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Tab, newline, carriage return and form feed appear in real text; other control characters
# only in binary data (or in cp1252-decoded random bytes, about one byte in eight).
_BINARY_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MAX_CONTROL_SHARE = 0.01

# File signatures worth naming, so the user learns what they picked instead of "binary data".
_KNOWN_BINARY_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "this is a PNG image, not a transcript"),
    (b"\xff\xd8\xff", "this is a JPEG image, not a transcript"),
    (b"GIF87a", "this is a GIF image, not a transcript"),
    (b"GIF89a", "this is a GIF image, not a transcript"),
    (b"%PDF-", "this is a PDF; export the transcript as text, subtitles or Word instead"),
    (b"PK\x03\x04", "this is a zip archive or Word document, not a text file"),
    (b"\xd0\xcf\x11\xe0", "this is an old-style Office file, not a text file"),
)

_NEWLINES = re.compile(r"\r\n|\r")


def known_binary_kind(data: bytes) -> str | None:
    """A plain-English reason when the bytes start like a well-known binary format."""
    for signature, reason in _KNOWN_BINARY_SIGNATURES:
        if data.startswith(signature):
            return reason
    return None


def decode_text(data: bytes, filename: str) -> str:
    """The text in `data` with newlines as \\n, or TranscriptError if it is not text."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            # The BOM declares the encoding; a few damaged bytes after it should cost a few
            # characters, not the whole session.
            text = data[len(bom) :].decode(codec, errors="replace")
            break
    else:
        if b"\x00" in data:
            raise TranscriptError(filename, "this looks like binary data, not text")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            # cp1252 leaves five byte values undefined; mapping them to U+FFFD keeps the rest.
            text = data.decode("cp1252", errors="replace")
    if _looks_binary(text):
        raise TranscriptError(filename, "this looks like binary data, not text")
    return _NEWLINES.sub("\n", text)


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    control_chars = len(_BINARY_CONTROL_CHARS.findall(text))
    return control_chars > len(text) * _MAX_CONTROL_SHARE
