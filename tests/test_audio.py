"""Recordings decoded in memory: formats, broken files, time ranges, channels, clips, playback.

The recordings are committed (tests/fixtures/audio, made by scripts/make_test_audio.py): an
invented two-person session, mono and with one voice per stereo channel, the first turn in
four more formats, and broken files with audio extensions. Video containers are made here, in
memory, with PyAV itself.
"""

from __future__ import annotations

import io
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import types
import wave
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from reflect import audio
from reflect.audio import (
    SAMPLE_RATE,
    AudioError,
    PlaybackError,
    analyse_channels,
    channel_levels,
    clip_wav_bytes,
    decode,
    isolate_channels,
    plan_windows,
    probe,
    stereo_layout,
)
from reflect.errors import ReflectError
from tests.audio_fixtures import AUDIO, DURATION, EXPECTED, TURNS, fixture


def envelope_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two recordings' loudness contours are, allowing for encoder delay (< 0.2 s)
    and for codecs that drop the faint noise floor."""
    la, lb = (np.maximum(channel_levels(x)[0], -45.0) for x in (a, b))
    n = min(len(la), len(lb)) - 4
    return max(float(np.corrcoef(la[lag : lag + n], lb[:n])[0, 1]) for lag in range(5))


def make_video(container: str, video_codec: str, audio_codec: str, samples: np.ndarray) -> bytes:
    """A small video file with a moving picture and `samples` (1, n) as its sound."""
    buf = io.BytesIO()
    seconds = samples.shape[1] / SAMPLE_RATE
    with av.open(buf, "w", format=container) as out:
        video = out.add_stream(video_codec, rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = out.add_stream(audio_codec, rate=48_000, layout="mono")
        for i in range(int(seconds * 10)):
            image = np.full((48, 64, 3), (i * 9) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        source = av.AudioFrame.from_ndarray(
            samples.astype(np.float32), format="fltp", layout="mono"
        )
        source.sample_rate = SAMPLE_RATE
        source.pts = 0
        source.time_base = Fraction(1, SAMPLE_RATE)
        resampler = av.AudioResampler(format=sound.format.name, layout="mono", rate=48_000)
        for frame in [*resampler.resample(source), *resampler.resample(None)]:
            out.mux(sound.encode(frame))
        out.mux(sound.encode(None))
    return buf.getvalue()


# --- formats -----------------------------------------------------------------------------


def test_fixtures_stay_small() -> None:
    total = sum(p.stat().st_size for p in AUDIO.iterdir())
    assert total < 800_000


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("first_turn.wav", "pcm_s16le"),
        ("first_turn.flac", "flac"),
        ("first_turn.mp3", "mp3float"),
        ("first_turn.m4a", "aac"),
    ],
)
def test_each_format_decodes_to_the_same_speech(name: str, codec: str) -> None:
    reference = decode(fixture("first_turn.flac"))
    data = fixture(name)
    info = probe(data, name=name)
    samples = decode(data, name=name)
    assert info.codec == codec and info.channels == 1 and not info.has_video
    assert samples.dtype == np.float32 and samples.shape[0] == 1
    # MP3 and AAC add up to ~0.1 s of encoder padding; nothing else may change the length.
    assert abs(samples.shape[1] / SAMPLE_RATE - EXPECTED["first_turn"]["duration"]) < 0.15
    assert abs(info.duration - EXPECTED["first_turn"]["duration"]) < 0.15
    assert envelope_correlation(samples, reference) > 0.9


def test_opus_recordings(mono: np.ndarray, stereo: np.ndarray) -> None:
    for data, samples, channels in (
        (fixture("session_mono.ogg"), mono, 1),
        (fixture("session_stereo.opus"), stereo, 2),
    ):
        info = probe(data)
        assert (info.codec, info.container, info.channels) == ("opus", "ogg", channels)
        assert samples.shape[0] == channels
        assert abs(samples.shape[1] - DURATION * SAMPLE_RATE) < 10
        assert abs(info.duration - DURATION) < 0.05
        assert samples.min() >= -1.0 and samples.max() <= 1.0


@pytest.mark.parametrize(
    ("container", "video_codec", "audio_codec"),
    [("mp4", "mpeg4", "aac"), ("webm", "libvpx", "libopus"), ("matroska", "mpeg4", "flac")],
)
def test_sound_is_taken_from_video_files(
    container: str, video_codec: str, audio_codec: str
) -> None:
    speech = decode(fixture("first_turn.flac"))
    data = make_video(container, video_codec, audio_codec, speech)
    info = probe(data, name=f"session.{container}")
    assert info.has_video
    samples = decode(data)
    assert samples.shape[0] == 1
    assert abs(samples.shape[1] - speech.shape[1]) < 0.15 * SAMPLE_RATE
    assert envelope_correlation(samples, speech) > 0.9


def test_webm_without_a_duration_is_measured_from_its_packets() -> None:
    # Browsers' MediaRecorder writes WebM like this: no duration in the header.
    speech = decode(fixture("first_turn.flac"))
    buf = io.BytesIO()
    with av.open(buf, "w", format="webm", options={"live": "1"}) as out:
        stream = out.add_stream("libopus", rate=48_000, layout="mono")
        frame = av.AudioFrame.from_ndarray(speech, format="fltp", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = 0
        frame.time_base = Fraction(1, SAMPLE_RATE)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=48_000)
        for f in [*resampler.resample(frame), *resampler.resample(None)]:
            out.mux(stream.encode(f))
        out.mux(stream.encode(None))
    with av.open(io.BytesIO(buf.getvalue())) as check:
        assert check.duration is None and check.streams.audio[0].duration is None
    info = probe(buf.getvalue())
    assert abs(info.duration - speech.shape[1] / SAMPLE_RATE) < 0.1


def test_file_objects_and_pipes_decode_like_bytes(mono: np.ndarray) -> None:
    with (AUDIO / "session_mono.ogg").open("rb") as f:
        f.read(100)  # wherever the caller left it, reading starts at the beginning
        assert np.array_equal(decode(f), mono)

    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            chunk = self._data.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    piped = decode(io.BufferedReader(Pipe(fixture("session_mono.ogg"))))
    assert np.array_equal(piped, mono)
    assert np.array_equal(decode(memoryview(fixture("session_mono.ogg"))), mono)


def test_mono_downmix_of_stereo(stereo: np.ndarray) -> None:
    mixed = decode(fixture("session_stereo.opus"), mono=True)
    assert mixed.shape == (1, stereo.shape[1])
    assert envelope_correlation(mixed, stereo.mean(axis=0, keepdims=True)) > 0.99


def test_nothing_is_written_to_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.chdir(cwd)
    for name in ("session_stereo.opus", "first_turn.m4a", "first_turn.mp3", "corrupt.flac"):
        data = fixture(name)
        try:
            probe(data, name=name)
            decode(data, name=name, start=1.0, end=3.0)
            clip_wav_bytes(data, 1.0, 1.0, name=name)
        except AudioError:
            pass
    assert list(scratch.iterdir()) == [] and list(cwd.iterdir()) == []


# --- broken files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty.wav", "is empty"),
        ("not_audio.mp3", "damaged, cut short, or not an audio"),
        ("picture.ogg", "not a recording reflect can read"),
        ("truncated.m4a", "damaged, cut short, or not an audio"),
        ("truncated.ogg", "cut short"),
        ("corrupt.flac", "damaged, cut short, or not an audio"),
    ],
)
def test_broken_files_are_a_clear_error_naming_the_file(name: str, reason: str) -> None:
    data = fixture(name)
    for attempt in (
        lambda: probe(data, name=name),
        lambda: decode(data, name=name),
        lambda: clip_wav_bytes(data, 0.0, 1.0, name=name),
    ):
        with pytest.raises(AudioError) as caught:
            attempt()
        error = caught.value
        assert isinstance(error, ReflectError)
        assert error.title == "Couldn't read recording"
        assert error.filename == name and str(error).startswith(f"{name}: ")
        assert reason in error.reason
        assert "\n" not in str(error) and len(str(error)) < 140


def test_error_without_a_name_still_reads_as_a_sentence() -> None:
    with pytest.raises(AudioError, match=r"^The recording is empty$"):
        probe(b"")
    with pytest.raises(AudioError, match="is empty"):
        decode(io.BytesIO())


def test_header_with_no_audio_frames_is_refused() -> None:
    # A valid Ogg Opus header and nothing after it: a recording app killed at once.
    data = fixture("session_mono.ogg")
    header_end = data.index(b"OggS", data.index(b"OpusTags"))
    with pytest.raises(AudioError, match="cut short"):
        probe(data[:header_end], name="x.ogg")


def test_recording_with_no_samples_is_refused() -> None:
    silent = audio.wav_bytes(np.zeros((1, 0), dtype=np.float32))
    for attempt in (probe, decode):
        with pytest.raises(AudioError, match="no audio that could be decoded"):
            attempt(silent, name="zero.wav")


def test_recording_cut_short_mid_stream_keeps_what_is_there() -> None:
    # What a recorder whose battery died leaves: everything up to the cut is still usable.
    data = fixture("session_mono.ogg")
    samples = decode(data[: len(data) // 2], name="half.ogg")
    seconds = samples.shape[1] / SAMPLE_RATE
    assert 0.3 * DURATION < seconds < 0.7 * DURATION


def test_a_hole_in_the_timeline_stays_a_hole() -> None:
    # A recorder that paused: 1 s of tone, nothing for 2 s, 1 s of tone. Times must match
    # what a player shows, so the hole comes back as silence rather than being closed up.
    tone = (0.5 * np.sin(np.arange(SAMPLE_RATE) * 2 * np.pi * 440 / SAMPLE_RATE) * 32767).astype(
        np.int16
    )
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as out:
        stream = out.add_stream("flac", rate=SAMPLE_RATE, layout="mono")
        for first in (0, 3 * SAMPLE_RATE):
            for k in range(0, SAMPLE_RATE, 1600):
                frame = av.AudioFrame.from_ndarray(
                    tone[np.newaxis, k : k + 1600], format="s16", layout="mono"
                )
                frame.sample_rate = SAMPLE_RATE
                frame.pts = first + k
                frame.time_base = Fraction(1, SAMPLE_RATE)
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    samples = decode(buf.getvalue())
    assert samples.shape == (1, 4 * SAMPLE_RATE)
    assert np.abs(samples[0, int(1.1 * SAMPLE_RATE) : int(2.9 * SAMPLE_RATE)]).max() == 0
    assert np.abs(decode(buf.getvalue(), start=3.2, end=3.5)).max() > 0.4


def test_playlist_named_mp3_is_refused_without_any_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network access is forbidden in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://192.0.2.1/a.ts\n"
    for data in (playlist, b"ffconcat version 1.0\nfile 'http://192.0.2.1/a.mp3'\n"):
        with pytest.raises(AudioError):
            decode(data, name="session.mp3")
    assert attempts == []


# --- time ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["session_stereo.opus", "first_turn.flac", "first_turn.mp3"])
def test_range_is_the_same_samples_as_a_slice_of_the_whole(name: str) -> None:
    data = fixture(name)
    whole = decode(data)
    seconds = whole.shape[1] / SAMPLE_RATE
    for start, end in ((0.0, 1.0), (1.25, 2.5), (seconds - 1.0, seconds)):
        part = decode(data, start=start, end=end)
        expected = whole[:, round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)]
        assert part.shape == expected.shape
        assert np.allclose(part, expected, atol=1e-4)


def test_range_seeks_instead_of_decoding_from_the_top(
    stereo: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeks: list[float] = []
    real_seek = audio._seek

    def spy(container: Any, stream: Any, seconds: float) -> bool:
        seeks.append(seconds)
        return real_seek(container, stream, seconds)

    monkeypatch.setattr(audio, "_seek", spy)
    part = decode(fixture("session_stereo.opus"), start=30.0, end=31.0)
    assert seeks == [29.5]
    assert np.array_equal(part, stereo[:, 30 * SAMPLE_RATE : 31 * SAMPLE_RATE])


def test_ranges_at_and_past_the_end(stereo: np.ndarray) -> None:
    data = fixture("session_stereo.opus")
    assert decode(data, start=DURATION + 5, end=DURATION + 10).shape == (2, 0)
    tail = decode(data, start=DURATION - 0.5)
    assert np.array_equal(tail, stereo[:, round((DURATION - 0.5) * SAMPLE_RATE) :])
    assert decode(data, start=3.0, end=3.0).shape == (2, 0)
    with pytest.raises(ValueError):
        decode(data, start=-1.0)
    with pytest.raises(ValueError):
        decode(data, start=5.0, end=4.0)


def test_plan_windows_cuts_long_recordings_in_pauses() -> None:
    data = fixture("session_mono.ogg")
    plan = plan_windows(data, target=10.0, slack=3.0)
    assert plan == plan_windows(data, target=10.0, slack=3.0)  # same plan on a rerun
    assert plan[0][0] == 0.0 and abs(plan[-1][1] - DURATION) < 0.01
    for (_, end), (start, _) in itertools.pairwise(plan):
        assert end == start
    for start, end in plan[:-1]:
        assert 7.0 <= end - start <= 13.0
        cut = end
        inside = [t for t in TURNS if t["start"] + 0.05 < cut < t["end"] - 0.05]
        assert inside == [], f"cut at {cut} falls inside a turn"
    # A recording shorter than a window is one window.
    assert plan_windows(data) == [(0.0, pytest.approx(DURATION, abs=0.01))]


# --- channels --------------------------------------------------------------------------------


def test_one_speaker_per_channel_is_detected(stereo: np.ndarray) -> None:
    layout = analyse_channels(stereo)
    assert layout.separate
    assert layout.dominated > 0.9
    assert layout.left_share > 0.3 and layout.right_share > 0.3
    assert layout.level_correlation < 0.0
    assert analyse_channels(stereo[::-1].copy()).separate
    assert stereo_layout(fixture("session_stereo.opus")).separate


def test_shared_channels_are_not_taken_for_separate_speakers(
    mono: np.ndarray, stereo: np.ndarray
) -> None:
    cases = {
        "mono": mono,
        "mono copied to both sides": np.vstack([mono[0], 0.8 * mono[0]]),
        "two voices panned 6 dB apart": np.vstack(
            [stereo[0] + 0.5 * stereo[1], 0.5 * stereo[0] + stereo[1]]
        ),
        "one dead channel": np.vstack([mono[0], np.zeros_like(mono[0])]),
        "silence": np.zeros((2, SAMPLE_RATE * 5), dtype=np.float32),
    }
    for label, samples in cases.items():
        assert not analyse_channels(samples).separate, label
    assert not stereo_layout(fixture("session_mono.ogg")).separate


def test_isolating_channels_mutes_the_other_speakers_leakage(stereo: np.ndarray) -> None:
    isolated = isolate_channels(stereo)
    levels = channel_levels(isolated)
    raw = channel_levels(stereo)
    step = 0.05
    for turn in TURNS:
        own, other = turn["channel"], 1 - turn["channel"]
        a, b = int((turn["start"] + 0.2) / step), int((turn["end"] - 0.2) / step)
        assert np.median(levels[other, a:b]) < -80, turn["text"]  # was about -40: leakage
        assert np.median(raw[other, a:b]) > -60
        assert np.allclose(levels[own, a:b], raw[own, a:b], atol=0.5)


# --- clips and playback ------------------------------------------------------------------------


def read_wav(data: bytes) -> tuple[int, int, int]:
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.getnchannels(), w.getframerate(), w.getnframes()


def test_clip_is_a_wav_of_exactly_that_stretch(stereo: np.ndarray) -> None:
    data = fixture("session_stereo.opus")
    clip = clip_wav_bytes(data, 22.0, 3.5, name="session_stereo.opus")
    assert clip[:4] == b"RIFF" and clip[8:12] == b"WAVE"
    assert read_wav(clip) == (2, 48_000, int(3.5 * 48_000))
    again = decode(clip)
    assert np.allclose(again, stereo[:, 22 * SAMPLE_RATE : round(25.5 * SAMPLE_RATE)], atol=2e-3)

    assert read_wav(clip_wav_bytes(fixture("first_turn.wav"), 1.0, 2.0)) == (1, 8_000, 16_000)
    assert read_wav(clip_wav_bytes(data, 1.0, 2.0, rate=SAMPLE_RATE)) == (2, SAMPLE_RATE, 32_000)
    tail = clip_wav_bytes(data, DURATION - 1.0, 5.0)
    assert read_wav(tail)[2] == pytest.approx(48_000, abs=48)
    with pytest.raises(ValueError):
        clip_wav_bytes(data, 1.0, 0.0)


@pytest.fixture
def no_sounddevice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make `import sounddevice` fail the way it does when PortAudio is missing."""

    class NoPortAudio:
        def find_spec(self, name: str, *args: Any) -> None:
            if name == "sounddevice":
                raise OSError("PortAudio library not found")

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    finder = NoPortAudio()
    sys.meta_path.insert(0, finder)  # type: ignore[arg-type]
    yield
    sys.meta_path.remove(finder)  # type: ignore[arg-type]


def test_play_without_portaudio_says_what_to_install(no_sounddevice: None) -> None:
    with pytest.raises(PlaybackError, match="PortAudio") as caught:
        audio.play(np.zeros((1, 160), dtype=np.float32))
    assert caught.value.title == "Can't play audio"
    audio.stop_playback()  # nothing playing and nothing to stop with: not an error


def fake_sounddevice(monkeypatch: pytest.MonkeyPatch, play: Any) -> types.ModuleType:
    module = types.ModuleType("sounddevice")
    module.PortAudioError = type("PortAudioError", (Exception,), {})  # type: ignore[attr-defined]
    module.play = play  # type: ignore[attr-defined]
    module.stop = lambda: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sounddevice", module)
    return module


def test_play_without_an_output_device(monkeypatch: pytest.MonkeyPatch) -> None:
    def play(*args: Any, **kwargs: Any) -> None:
        raise module.PortAudioError("Error querying device -1")

    module = fake_sounddevice(monkeypatch, play)
    with pytest.raises(PlaybackError, match="No sound output device"):
        audio.play(np.zeros((2, 160), dtype=np.float32))


def test_play_hands_frames_to_sounddevice(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    fake_sounddevice(monkeypatch, lambda data, rate, blocking: calls.append((data, rate, blocking)))
    audio.play(np.ones((2, 160), dtype=np.float32), 16_000)
    data, rate, blocking = calls[0]
    assert data.shape == (160, 2) and data.flags.c_contiguous
    assert rate == 16_000 and blocking is True


# --- imports -------------------------------------------------------------------------------


def test_importing_reflect_loads_no_audio_libraries() -> None:
    script = textwrap.dedent(
        """
        import sys
        import reflect, reflect.bundled, reflect.errors
        heavy = ("av", "faster_whisper", "sounddevice", "ctranslate2", "onnxruntime")
        assert not [m for m in heavy if m in sys.modules], sys.modules.keys()
        import reflect.asr
        assert not [m for m in heavy[1:] if m in sys.modules]
        print("ok")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
