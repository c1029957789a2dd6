"""Files that are not transcripts: each one is a TranscriptError naming the file and quoting
nothing from it."""

from __future__ import annotations

import io
import json
import logging
import random
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

import reflect.formats
from reflect.errors import TranscriptError
from reflect.formats import MAX_TEXT_BYTES, parse_transcript

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def png_bytes() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def random_bytes(seed: int, size: int = 4096) -> bytes:
    return random.Random(seed).randbytes(size)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def assert_refused(data: bytes, filename: str, *, reason_contains: str = "") -> TranscriptError:
    with pytest.raises(TranscriptError) as caught:
        parse_transcript(data, filename)
    error = caught.value
    assert error.filename == filename
    assert filename in str(error)
    assert reason_contains in error.reason
    assert error.reason and "\n" not in error.reason and len(error.reason) < 120
    assert_quotes_nothing(error, data)
    return error


def assert_quotes_nothing(error: TranscriptError, data: bytes) -> None:
    """No three-word phrase (12+ characters) of the input's text appears in the message."""
    text = data[:20_000].decode("utf-8", errors="ignore")
    reason = error.reason
    for line in text.splitlines():
        words = line.split()
        for start in range(len(words)):
            phrase = " ".join(words[start : start + 3])
            if len(phrase) >= 12:
                assert phrase not in reason


VTT_TEXT = fixture_bytes("zoom_recording.vtt")
SRT_TEXT = fixture_bytes("session_2024_03_21.srt")
JSON_TEXT = fixture_bytes("whisperx_2024-07-01.json")
DOCX_BYTES = fixture_bytes("labelled_session.docx")


@pytest.mark.parametrize("extension", sorted(reflect.formats.SUPPORTED_EXTENSIONS))
@pytest.mark.parametrize("data", [b"", b"   \n\r\n\t ", b"\xef\xbb\xbf", b"\xff\xfe"])
def test_empty_files(extension: str, data: bytes) -> None:
    assert_refused(data, f"session{extension}")


@pytest.mark.parametrize("filename", ["session", "notes.vtt.bak", "audio.m4a"])
def test_unsupported_extensions(filename: str) -> None:
    assert_refused(b"WEBVTT\n", filename, reason_contains="isn't supported")


def test_a_pdf_is_pointed_to_the_handout_import() -> None:
    assert_refused(b"%PDF-1.4\n", "session.pdf", reason_contains="--handout")


@pytest.mark.parametrize("extension", [".vtt", ".srt", ".txt", ".md", ".json"])
def test_png_image(extension: str) -> None:
    assert_refused(png_bytes(), f"photo{extension}", reason_contains="PNG image")


@pytest.mark.parametrize("extension", sorted(reflect.formats.SUPPORTED_EXTENSIONS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_bytes(extension: str, seed: int) -> None:
    assert_refused(random_bytes(seed), f"noise{extension}")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (VTT_TEXT.replace(b"WEBVTT\n", b"", 1), "no WEBVTT header"),
        (SRT_TEXT, "rename it to .srt"),
        (b"WEBVTT\n\n00:00:0x.000 --> 00:00:02.000\nMara: hi\n", "no cues"),
        (b"WEBVTT\n\n00:00:01.000 -> 00:00:02.000\nMara: hi\n", "no cues"),
        (b"WEBVTT\n\n00:00:75.000 --> 00:00:02.000\nMara: hi\n", "no cues"),
        (b"WEBVTT\n\nNOTE only a note about 2024-03-14\n", "no cues"),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<b></b>\n", "empty"),
    ],
)
def test_malformed_vtt(data: bytes, reason: str) -> None:
    assert_refused(data, "session.vtt", reason_contains=reason)


@pytest.mark.parametrize(
    "data",
    [
        b"Mara: this is just text, not subtitles\n",
        SRT_TEXT.replace(b"00:00:07,500 --> 00:00:11,000", b"00:00:07,500 --> 0x:00:11,000"),
        SRT_TEXT.replace(b"-->", b"->"),
        b"leading garbage that is not a cue\n\n" + SRT_TEXT,
        VTT_TEXT,
    ],
)
def test_malformed_srt(data: bytes) -> None:
    assert_refused(data, "session.srt")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (JSON_TEXT[: len(JSON_TEXT) // 2], "incomplete or damaged"),
        (JSON_TEXT[:-3], "incomplete or damaged"),
        (b"{'single': 'quotes'}", "incomplete or damaged"),
        (b"[" * 100_000, "incomplete or damaged"),
        (b"1" * 5000, "incomplete or damaged"),  # beyond Python's int-from-string limit
        (b'{"foo": 1}', "isn't a transcript"),
        (b"[1, 2, 3]", "isn't a transcript"),
        (b'"just a string"', "isn't a transcript"),
        (b"42", "isn't a transcript"),
        (b"null", "isn't a transcript"),
        (b'{"segments": "not a list"}', "isn't a transcript"),
        (b'{"segments": [{"start": 1, "end": 2}]}', "isn't a transcript"),
        (b'[{"speaker": "Mara", "text": 5}]', "isn't a transcript"),
        (b'[{"speaker": "Mara", "text": "   "}]', "no transcript text"),
        (b"[]", "no transcript text"),
    ],
)
def test_bad_json(data: bytes, reason: str) -> None:
    assert_refused(data, "whisper.json", reason_contains=reason)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"Mara: this is a text file with the wrong name\n", "Word"),
        (DOCX_BYTES[: len(DOCX_BYTES) // 2], "Word"),
        (DOCX_BYTES[:100], "Word"),
        (zip_bytes({"hello.txt": b"not a document"}), "Word"),
        (zip_bytes({"[Content_Types].xml": b"<broken"}), "Word"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), ".doc"),
        (png_bytes(), "Word"),
    ],
)
def test_bad_docx(data: bytes, reason: str) -> None:
    assert_refused(data, "session.docx", reason_contains=reason)


def test_docx_without_text() -> None:
    import docx

    buffer = io.BytesIO()
    docx.Document().save(buffer)
    assert_refused(buffer.getvalue(), "blank.docx", reason_contains="no transcript text")


@pytest.mark.parametrize("extension", [".vtt", ".srt", ".txt", ".md", ".json"])
def test_text_over_20_mb_is_refused_before_parsing(extension: str) -> None:
    data = b"Mara: hello\n" * (MAX_TEXT_BYTES // 12 + 1)
    assert len(data) > MAX_TEXT_BYTES
    assert_refused(data, f"huge{extension}", reason_contains="too large")


def test_the_size_limit_is_inclusive(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real limit takes seconds to parse at; the boundary is the same at any size.
    monkeypatch.setattr(reflect.formats, "MAX_TEXT_BYTES", 120)
    at_limit = b"Mara: hello\n" * 10
    assert parse_transcript(at_limit, "ok.txt").turns[0].speaker == "Mara"
    assert_refused(at_limit + b"x", "big.txt", reason_contains="too large")


def test_utf16_without_bom_is_refused_as_binary() -> None:
    assert_refused("Mara: hello\n".encode("utf-16-le"), "notepad.txt", reason_contains="binary")


def test_binary_with_a_text_extension() -> None:
    assert_refused(b"Mara: hi\x01\x02\x03\x04\x05", "odd.txt", reason_contains="binary")


def test_unexpected_failures_become_transcript_errors_without_content(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Mara said something private"

    def broken_parser(text: str, filename: str) -> None:
        raise ValueError(f"cannot handle {text!r}")

    monkeypatch.setitem(reflect.formats._TEXT_PARSERS, ".txt", broken_parser)
    with caplog.at_level(logging.DEBUG):
        error = assert_refused(secret.encode(), "session.txt")
    assert error.__cause__ is None and error.__suppress_context__
    assert secret not in caplog.text
    assert "ValueError" in caplog.text


def test_library_errors_are_not_chained() -> None:
    """A chained library exception would carry file content into any printed traceback."""
    with pytest.raises(TranscriptError) as caught:
        parse_transcript(b"private words here\n\n" + SRT_TEXT, "session.srt")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_json_error_message_for_wrong_shape_quotes_nothing() -> None:
    data = json.dumps({"notes": "Mara talked about her sister"}).encode()
    error = assert_refused(data, "notes.json")
    assert "sister" not in str(error)
