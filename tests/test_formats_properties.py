"""Property tests: whatever the bytes, a parser returns clean turns or raises TranscriptError."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reflect.errors import TranscriptError
from reflect.formats import (
    SUPPORTED_EXTENSIONS,
    date_from_filename,
    decode_text,
    parse_transcript,
)
from reflect.transcript import ParsedTranscript

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
FIXTURE_NAMES = sorted(path.name for path in FIXTURES.iterdir() if path.name != "expected.json")
TEXT_EXTENSIONS = sorted(SUPPORTED_EXTENSIONS - {".docx"})

QUICK = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW_PARSER = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_or_refuse(data: bytes, filename: str) -> ParsedTranscript | None:
    """Parse, allowing only TranscriptError, and check every turn of a success."""
    try:
        parsed = parse_transcript(data, filename)
    except TranscriptError as error:
        assert error.filename == filename
        assert error.reason and "\n" not in error.reason
        return None
    assert parsed.turns
    for turn in parsed.turns:
        assert isinstance(turn.text, str) and turn.text.strip() == turn.text and turn.text
        assert turn.speaker is None or (isinstance(turn.speaker, str) and turn.speaker.strip())
        for time in (turn.start, turn.end):
            assert time is None or (isinstance(time, float) and math.isfinite(time) and time >= 0)
        if turn.start is not None and turn.end is not None:
            assert turn.start <= turn.end
    assert parsed.date is None or isinstance(parsed.date, dt.date)
    assert parsed.title is None or (isinstance(parsed.title, str) and parsed.title)
    return parsed


@pytest.mark.parametrize("extension", sorted(SUPPORTED_EXTENSIONS))
@QUICK
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes(extension: str, data: bytes) -> None:
    parse_or_refuse(data, f"any{extension}")


@pytest.mark.parametrize("extension", TEXT_EXTENSIONS)
@QUICK
@given(text=st.text(max_size=1000))
def test_arbitrary_text(extension: str, text: str) -> None:
    parse_or_refuse(text.encode("utf-8"), f"any{extension}")


# Lines built from the pieces the text parsers look for, so the label and time rules are hit
# far more often than by random text.
transcript_line = st.one_of(
    st.just(""),
    st.sampled_from(
        ["[00:01:23] ", "(1:23) ", "00:01:23 ", "1:23 ", "[01:23.5] ", "99:99 ", ""]
    ).flatmap(
        lambda time: st.tuples(
            st.sampled_from(["Mara", "Dr. Okafor", "Note", "SPEAKER_00", "x y z w v", "", "**A**"]),
            st.sampled_from([": ", ":", "  0:03", " 1:02:03", " - ", ""]),
            st.text(max_size=30),
        ).map(lambda parts: time + "".join(parts))
    ),
    st.sampled_from(["# Title", "---", "- bullet", "Transcribed by https://otter.ai", "WEBVTT"]),
    st.text(max_size=40),
)


@pytest.mark.parametrize("extension", [".txt", ".md"])
@QUICK
@given(lines=st.lists(transcript_line, max_size=30))
def test_transcript_like_text(extension: str, lines: list[str]) -> None:
    parse_or_refuse("\n".join(lines).encode("utf-8"), f"session{extension}")


timestamp = st.builds(
    lambda h, m, s, ms: f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}",
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 999),
)
cue_text = st.lists(
    st.one_of(
        st.text(max_size=30),
        st.sampled_from(["<v Mara>hi</v>", "<v.loud Dr. Okafor>", "Mara: yes", "<b>", "&amp;"]),
    ),
    min_size=1,
    max_size=3,
).map("\n".join)


@QUICK
@given(cues=st.lists(st.tuples(timestamp, timestamp, cue_text), max_size=12))
def test_vtt_like_text(cues: list[tuple[str, str, str]]) -> None:
    body = "".join(f"\n\n{start} --> {end}\n{text}" for start, end, text in cues)
    parse_or_refuse(("WEBVTT" + body).encode("utf-8"), "session.vtt")


@QUICK
@given(cues=st.lists(st.tuples(timestamp, timestamp, cue_text), max_size=12))
def test_srt_like_text(cues: list[tuple[str, str, str]]) -> None:
    body = "".join(
        f"{index}\n{start.replace('.', ',')} --> {end.replace('.', ',')}\n{text}\n\n"
        for index, (start, end, text) in enumerate(cues, start=1)
    )
    parse_or_refuse(body.encode("utf-8"), "session.srt")


json_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["text", "speaker", "start", "end", "segments", "title", "date", "x"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@QUICK
@given(value=json_value)
def test_json_values(value: object) -> None:
    parse_or_refuse(json.dumps(value).encode("utf-8"), "whisper.json")


segment = st.fixed_dictionaries(
    {"text": st.text(max_size=30)},
    optional={
        "speaker": st.one_of(st.none(), st.sampled_from(["A", "B", " ", ""]), st.integers()),
        "start": st.one_of(st.floats(allow_nan=True), st.integers(), st.text(max_size=3)),
        "end": st.one_of(st.floats(allow_nan=True), st.integers(), st.none()),
    },
)


@QUICK
@given(segments=st.lists(segment, max_size=15), wrap=st.booleans())
def test_json_segments(segments: list[dict[str, object]], wrap: bool) -> None:
    value: object = {"segments": segments} if wrap else segments
    parse_or_refuse(json.dumps(value).encode("utf-8"), "whisper.json")


# Characters python-docx refuses to put in a paragraph (XML 1.0 forbids them).
docx_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc"]) | st.sampled_from("\n\t"),
    max_size=40,
)


@SLOW_PARSER
@given(paragraphs=st.lists(docx_text, max_size=12))
def test_generated_docx(paragraphs: list[str]) -> None:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    parse_or_refuse(buffer.getvalue(), "generated.docx")


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[position:]
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[position : position + draw(st.integers(1, 16))]
    return bytes(data)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_fixtures(name: str, data: st.DataObject) -> None:
    original = (FIXTURES / name).read_bytes()
    parse_or_refuse(data.draw(mutated(original)), name)


@QUICK
@given(data=st.binary(max_size=2000))
def test_decode_text_gives_text_or_refuses(data: bytes) -> None:
    try:
        text = decode_text(data, "any.txt")
    except TranscriptError as error:
        assert error.filename == "any.txt"
        return
    assert "\r" not in text


@QUICK
@given(name=st.text(max_size=60))
def test_date_from_filename_never_raises(name: str) -> None:
    found = date_from_filename(name)
    assert found is None or 1970 <= found.year <= 2099


@QUICK
@given(day=st.dates(dt.date(1970, 1, 1), dt.date(2099, 12, 31)), separator=st.sampled_from("-_."))
def test_date_from_filename_reads_every_valid_date(day: dt.date, separator: str) -> None:
    written = day.strftime(f"%Y{separator}%m{separator}%d")
    assert date_from_filename(f"session {written}.vtt") == day
    assert date_from_filename(f"{day:%Y%m%d}-session.txt") == day
