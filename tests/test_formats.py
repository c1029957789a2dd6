"""The transcript parsers against the fixture corpus and the cases each rule exists for."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest

from reflect.errors import TranscriptError
from reflect.formats import (
    MAX_TEXT_BYTES,
    SUPPORTED_EXTENSIONS,
    date_from_filename,
    decode_text,
    parse_transcript,
)
from reflect.transcript import ParsedTranscript, Turn

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
FIXTURE_NAMES = sorted(EXPECTED)


def parse_fixture(name: str) -> ParsedTranscript:
    return parse_transcript((FIXTURES / name).read_bytes(), name)


def texts(parsed: ParsedTranscript) -> list[str]:
    return [turn.text for turn in parsed.turns]


def test_public_constants() -> None:
    assert frozenset({".vtt", ".srt", ".txt", ".md", ".json", ".docx"}) == SUPPORTED_EXTENSIONS
    assert MAX_TEXT_BYTES == 20 * 1024 * 1024


def test_every_fixture_is_listed_in_expected_json() -> None:
    on_disk = {path.name for path in FIXTURES.iterdir()} - {"expected.json"}
    assert on_disk == set(EXPECTED)
    assert {Path(name).suffix for name in on_disk} == set(SUPPORTED_EXTENSIONS)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_matches_expected(name: str) -> None:
    expected = EXPECTED[name]
    parsed = parse_fixture(name)

    assert parsed.format == expected["format"]
    assert [turn.speaker for turn in parsed.turns] == expected["turn_speakers"]
    assert len(parsed.turns) == expected["turns"]
    speakers_in_order = list(dict.fromkeys(turn.speaker for turn in parsed.turns))
    assert speakers_in_order == expected["speakers"]
    first = parsed.turns[0]
    assert first.start == pytest.approx(expected["first_start"])
    assert first.end == pytest.approx(expected["first_end"])
    assert parsed.title == expected["title"]
    assert len(parsed.warnings) == expected["warnings"]

    # The importer's precedence: a date in the file name, then one inside the file.
    filename_date = date_from_filename(name)
    date = filename_date or parsed.date
    assert (date.isoformat() if date else None) == expected["date"]
    source = "filename" if filename_date else "file" if parsed.date else None
    assert source == expected["date_source"]


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_turns_are_clean(name: str) -> None:
    for turn in parse_fixture(name).turns:
        assert_clean_turn(turn)


def assert_clean_turn(turn: Turn) -> None:
    assert turn.text and turn.text == turn.text.strip()
    assert "  " not in turn.text and "\n\n" not in turn.text
    assert turn.speaker is None or (turn.speaker and turn.speaker == turn.speaker.strip())
    for time in (turn.start, turn.end):
        assert time is None or (isinstance(time, float) and math.isfinite(time) and time >= 0)
    if turn.start is not None and turn.end is not None:
        assert turn.start <= turn.end


# --- WebVTT -------------------------------------------------------------------------------


def test_vtt_voice_tags_merge_and_strip_formatting() -> None:
    parsed = parse_fixture("2024-03-14 session.vtt")
    merged = parsed.turns[2]
    assert merged.text == "Work, mostly. My manager moved the deadline again, and I just froze."
    assert (merged.start, merged.end) == (9.5, 17.0)
    assert parsed.turns[4].text == "Like my chest was full of sand. I couldn't answer emails."
    assert parsed.turns[6].text == "It was. I went home early & slept for twelve hours."
    assert all("<" not in text for text in texts(parsed))


def test_vtt_zoom_labels_are_removed_from_text_and_times_kept() -> None:
    parsed = parse_fixture("zoom_recording.vtt")
    assert parsed.turns[2].text == (
        "Better than last week. I tried the breathing thing before the team meeting on Tuesday."
    )
    assert (parsed.turns[2].start, parsed.turns[2].end) == (8.5, 15.0)
    assert parsed.turns[6].text == "My hands were shaking. At 10:30 it got worse."


def test_vtt_two_voices_in_one_cue_and_a_skipped_cue() -> None:
    parsed = parse_fixture("two_voices_one_cue.vtt")
    assert parsed.turns[1] == Turn("Dr. Lind", "Please.", 3.0, 5.0)
    assert parsed.turns[2] == Turn(
        "Noor", 'Okay. Here goes. "I am allowed to take up space."', 3.0, 12.0
    )
    assert parsed.warnings == ["1 cue(s) with unreadable times were skipped"]


def test_vtt_note_date_and_utf8_bom_with_crlf() -> None:
    parsed = parse_fixture("utf8_bom_spanish.vtt")
    assert parsed.turns[0].text == "No sé por dónde empezar hoy."
    assert parsed.turns[2].text == (
        "Mi madre llamó anoche. Otra vez la misma pregunta: ¿cuándo vas a volver a casa?"
    )


def test_vtt_note_with_recorded_date() -> None:
    data = b"WEBVTT\n\nNOTE\nRecorded 2024-03-14\n\n00:01.000 --> 00:02.000\nHello.\n"
    parsed = parse_transcript(data, "memo.vtt")
    assert parsed.date == dt.date(2024, 3, 14)
    assert parsed.turns == [Turn(None, "Hello.", 1.0, 2.0)]


def test_vtt_unlabelled_cues_are_not_merged() -> None:
    data = b"WEBVTT\n\n00:01.000 --> 00:02.000\nOne.\n\n00:02.000 --> 00:03.000\nTwo.\n"
    parsed = parse_transcript(data, "captions.VTT")
    assert parsed.turns == [Turn(None, "One.", 1.0, 2.0), Turn(None, "Two.", 2.0, 3.0)]


# --- SubRip -------------------------------------------------------------------------------


def test_srt_labels_tags_and_speakers_within_one_cue() -> None:
    parsed = parse_fixture("session_2024_03_21.srt")
    assert parsed.turns[2] == Turn(
        "Mara",
        "The phone call with my sister. It's been on my mind all week. She hasn't called back.",
        7.5,
        13.0,
    )
    assert parsed.turns[3] == Turn(None, "[sighs]", 13.5, 15.0)
    assert parsed.turns[4].text == "What do you imagine her silence means?"
    assert parsed.turns[5] == Turn("Mara", "That I said something wrong.", 15.5, 19.0)
    assert parsed.turns[7].text == "Maybe she's just busy. She has the twins."


def test_srt_in_utf16_be() -> None:
    parsed = parse_fixture("utf16be_bom.srt")
    assert parsed.turns[2].text == "My shoulders. My stomach, when my boss emails."


# --- Plain text and Markdown --------------------------------------------------------------


def test_text_continuation_lines_and_paragraphs() -> None:
    parsed = parse_fixture("20240328-continuation.txt")
    assert parsed.turns[0].text == (
        "I've been thinking about what you said last time, about the difference between "
        "being alone and being lonely.\nI think I'm mostly lonely when I'm around other people."
    )
    # "Note:" and a wrapped line with a colon stay inside Mara's turns; 10:30 is not a time.
    assert parsed.turns[2].text == (
        "The office party. Forty people, and I talked to nobody for an hour. "
        "At 10:30 I just left. Note: I felt relieved when I got to the car."
    )
    assert parsed.turns[4].text.endswith("and I told myself: never again.")


def test_text_unlabelled_paragraphs_keep_their_words() -> None:
    parsed = parse_fixture("journal_unlabelled.txt")
    assert parsed.turns[1].text == (
        "We talked about the weekend at my parents' house. I noticed that I shrink when my "
        "father raises his voice, even when it isn't at me. I'm thirty-four and I still shrink."
    )
    assert parsed.turns[2].text == "Homework: notice it, don't fix it. Just notice."


@pytest.mark.parametrize(
    ("name", "starts"),
    [
        ("brackets_times.txt", [4, 9, 12, 20, 23, 27, 31]),
        ("parenthesised_times.txt", [62, 67, 75, 78, 82, 90]),
        ("bare_times.txt", [10, 16, 19, 24, 28, 33]),
        ("short_times.txt", [5, 9, 12, 18, 22, 64]),
        ("fraction_times.txt", [2.5, 6.0, 10.5, 14.2, 17.8, 62.25]),
    ],
)
def test_text_timestamp_styles(name: str, starts: list[float]) -> None:
    parsed = parse_fixture(name)
    assert [turn.start for turn in parsed.turns] == pytest.approx(starts)
    assert all(turn.end is None for turn in parsed.turns)
    assert all(not turn.text[0].isdigit() and "]" not in turn.text for turn in parsed.turns)


def test_text_encodings_keep_every_character() -> None:
    assert parse_fixture("windows1252.txt").turns[0].text == (
        "I spent €300 on a course I’ll never finish."
    )
    assert parse_fixture("windows1252.txt").turns[2].text == (
        "I wanted to feel like someone who “has his life together”."
    )
    utf16 = parse_fixture("utf16le_bom.txt")
    assert utf16.turns[0].text == "I tried the café on the corner, like we said. Alone."
    assert utf16.turns[-1].text == "Warm. Surprisingly warm. 🙂"
    german = parse_fixture("sitzung_2024-06-11.txt")
    assert german.turns[4].text == (
        "Sie hat gesagt: „Du bist immer so empfindlich.“ Das hat mich tagelang beschäftigt."
    )


def test_markdown_bold_labels_bullets_and_title() -> None:
    parsed = parse_fixture("session notes 2024.05.02.md")
    assert parsed.turns[0].text == "I said no to my brother this week."
    assert parsed.turns[4].text == (
        "I realised he was fine. He just found someone else to help him move."
    )
    assert all("*" not in text and "#" not in text for text in texts(parsed))


def test_markdown_front_matter() -> None:
    parsed = parse_fixture("front_matter.md")
    assert parsed.turns[0] == Turn("Lucía", "It's been a year since my grandmother died.")


def test_otter_text_export() -> None:
    parsed = parse_fixture("otter_export.txt")
    assert parsed.turns[2].text == (
        "I ran from the station. I didn't want to be late again. I hate being late."
    )
    assert parsed.turns[5].text == 'Let\'s notice that: "I think they do."'
    assert [turn.start for turn in parsed.turns][-3:] == [41.0, 3605.0, 3612.0]
    assert "otter.ai" not in parsed.turns[-1].text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Two speakers, no recurring label: a short labelled file still counts.
        ("Mara: Hi.\nDr. Okafor: Hello.", [("Mara", "Hi."), ("Dr. Okafor", "Hello.")]),
        # A one-off, name-shaped speaker in a labelled transcript.
        (
            "Kai: One.\nKai: Two.\nReceptionist: Room 3 is free.\nKai: Three.",
            [("Kai", "One.\nTwo."), ("Receptionist", "Room 3 is free."), ("Kai", "Three.")],
        ),
        # Prose with one colon is not a transcript.
        (
            "Today was long.\nMy sister said: call me.\nI did not.\nMaybe tomorrow.",
            [(None, "Today was long. My sister said: call me. I did not. Maybe tomorrow.")],
        ),
        # A label alone on its line, speech below it.
        (
            "Mara:\nI don't know.\n\nDr. Okafor:\nThat's fine.\nMara:\nOkay.",
            [("Mara", "I don't know."), ("Dr. Okafor", "That's fine."), ("Mara", "Okay.")],
        ),
        # Recurring lowercase labels are speakers; "PS" never is.
        (
            "client: hi\ntherapist: hello\nclient: bye\ntherapist: bye\nPS: see you",
            [
                ("client", "hi"),
                ("therapist", "hello"),
                ("client", "bye"),
                ("therapist", "bye PS: see you"),
            ],
        ),
        # A time after the name, and a name in Markdown bold with a parenthesis.
        (
            "Mara (00:01:05): Hi.\n**Sam (client):** Hello.\nMara [00:01:09]: Bye.",
            [("Mara", "Hi."), ("Sam (client)", "Hello."), ("Mara", "Bye.")],
        ),
        # Spaces collapse, words do not change.
        ("Mara:   so   many\tspaces  ", [("Mara", "so many spaces")]),
    ],
)
def test_speaker_label_heuristic(text: str, expected: list[tuple[str | None, str]]) -> None:
    parsed = parse_transcript(text.encode(), "session.txt")
    assert [(turn.speaker, turn.text) for turn in parsed.turns] == expected


def test_timed_lines_without_labels_are_separate_turns() -> None:
    data = b"[00:00:01] I don't know.\n[00:00:05] Mm.\nstill the same thought\n"
    parsed = parse_transcript(data, "memo.txt")
    assert parsed.turns == [
        Turn(None, "I don't know.", 1.0),
        Turn(None, "Mm. still the same thought", 5.0),
    ]


def test_a_time_in_prose_is_kept_as_words() -> None:
    data = b"10:30 was too early for me.\nI was tired all day.\nAnd cross."
    parsed = parse_transcript(data, "journal.txt")
    assert parsed.turns == [
        Turn(None, "10:30 was too early for me. I was tired all day. And cross.")
    ]


@pytest.mark.parametrize("name", ["zoom_recording.vtt", "session_2024_03_21.srt"])
def test_subtitles_saved_as_txt_are_read_as_subtitles(name: str) -> None:
    as_subtitles = parse_fixture(name)
    as_text = parse_transcript((FIXTURES / name).read_bytes(), "download.txt")
    assert as_text.turns == as_subtitles.turns
    assert as_text.format == as_subtitles.format


# --- JSON ---------------------------------------------------------------------------------


def test_whisperx_segments_merge_per_speaker() -> None:
    parsed = parse_fixture("whisperx_2024-07-01.json")
    assert parsed.turns[0] == Turn(
        "SPEAKER_00", "I keep replaying the argument in my head. Over and over.", 0.52, 6.0
    )


def test_whisper_without_speakers_is_one_turn_per_segment() -> None:
    parsed = parse_fixture("whisper_plain.json")
    assert texts(parsed)[:2] == ["I'm recording this in the car.", "The session was hard today."]


def test_json_list_with_missing_keys() -> None:
    parsed = parse_fixture("turn_list.json")
    assert parsed.turns[2] == Turn(
        "Kai",
        "Better than I feared. They held my hand. And then asked what they could do.",
        12.5,
        15.0,
    )
    assert parsed.turns[3] == Turn(None, "(long pause)")
    assert parsed.turns[4] == Turn("Dr. Mensah", "What did you tell them?", 20.0, None)


def test_json_text_only_and_odd_values() -> None:
    data = json.dumps({"text": "First thought.\n\nSecond thought."}).encode()
    assert texts(parse_transcript(data, "memo.json")) == ["First thought.", "Second thought."]
    odd = (
        b'[{"text": "a", "start": NaN, "end": -1, "speaker": true},'
        b' {"text": "b", "start": 5, "end": 2}, 7]'
    )
    parsed = parse_transcript(odd, "odd.json")
    assert parsed.turns == [Turn(None, "a"), Turn(None, "b", 5.0, None)]
    assert parsed.warnings == ["1 JSON item(s) without text were skipped"]


# --- DOCX ---------------------------------------------------------------------------------


def test_docx_paragraphs_soft_breaks_and_core_properties() -> None:
    parsed = parse_fixture("labelled_session.docx")
    assert parsed.turns[6].text == (
        "Shaky. But also true.\nI think I've never said it without an excuse. Not once."
    )


def test_docx_table_rows_read_as_labels() -> None:
    parsed = parse_fixture("2024-10-01 table.docx")
    assert parsed.turns[0] == Turn(None, "Transcript")
    assert parsed.turns[1] == Turn("Oskar", "I cancelled twice this month. I'm sorry.")


# --- Helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("2024-03-14 session.vtt", dt.date(2024, 3, 14)),
        ("session_2024_03_14.srt", dt.date(2024, 3, 14)),
        ("20240314-session.txt", dt.date(2024, 3, 14)),
        ("notes 2024.03.14.md", dt.date(2024, 3, 14)),
        ("GMT20240314-150000_Recording.vtt", dt.date(2024, 3, 14)),
        ("/home/mara/2023-01-05/session 2024-3-7.txt", dt.date(2024, 3, 7)),
        ("14.03.2024 session.txt", None),
        ("2024-13-45 session.vtt", None),
        ("2023-02-29.txt", None),
        ("2024-03_14.txt", None),
        ("meeting 123456789012.vtt", None),
        ("may march sat 10.txt", None),
        ("12345678.txt", None),
        ("session.vtt", None),
    ],
)
def test_date_from_filename(name: str, expected: dt.date | None) -> None:
    assert date_from_filename(name) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xef\xbb\xbfcaf\xc3\xa9\r\nline", "café\nline"),
        ("café\r\nline".encode("utf-16"), "café\nline"),
        (b"\xff\xfe" + "€ ok\rnext".encode("utf-16-le"), "€ ok\nnext"),
        (b"\xfe\xff" + "naïve".encode("utf-16-be"), "naïve"),
        ("“quoted” – €5, é".encode("cp1252"), "“quoted” – €5, é"),
        (b"plain ascii\n", "plain ascii\n"),
    ],
)
def test_decode_text(data: bytes, expected: str) -> None:
    assert decode_text(data, "x.txt") == expected


@pytest.mark.parametrize(
    "data",
    [b"text\x00with nul", b"\x01\x02\x03\x04 mostly control", bytes(range(256)) * 4],
)
def test_decode_text_refuses_binary(data: bytes) -> None:
    with pytest.raises(TranscriptError) as caught:
        decode_text(data, "odd.txt")
    assert caught.value.filename == "odd.txt"
