"""Session recordings, decoded in memory: probe, decode (all or a time range), clip, play.

Everything works on bytes or a file-like object, never a path: recordings are private, so
nothing decoded (and no temporary copy) is ever written to disk. PyAV carries its own FFmpeg
libraries, so no ffmpeg program is needed.

Samples are float32 numpy arrays shaped (channels, n) at 16 kHz, what Whisper expects. A
two-channel recording keeps both channels, because some recorders and call apps put each
speaker on their own channel; `analyse_channels` tells whether this one does. Recordings with
more channels (a film's 5.1 track) are folded to mono.

Times are seconds from the start of the recording's audio, counted in decoded samples. Two
encoders leave a known constant offset of a few tens of milliseconds (MP3 and AAC priming
samples that the file does not declare); far below anything a listener or a transcript
notices.
"""

from __future__ import annotations

import io
import itertools
import logging
import wave
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, BinaryIO, Final

import av
import numpy as np
from numpy.typing import NDArray

from reflect.errors import ReflectError

if TYPE_CHECKING:
    from av.audio.stream import AudioStream
    from av.container import InputContainer

log = logging.getLogger(__name__)

SAMPLE_RATE: Final = 16_000
AUDIO_EXTENSIONS: Final = frozenset(
    {".m4a", ".mp3", ".wav", ".ogg", ".opus", ".flac", ".webm", ".mp4"}
)

# The demuxers those extensions need, by FFmpeg's name. Anything else FFmpeg recognises
# (playlists, image sequences, subtitle files, network formats) is refused: a file renamed
# to .mp3 must not get a demuxer that can open other files or URLs on its behalf.
_CONTAINERS: Final = frozenset(
    {"ogg", "mp3", "wav", "flac", "aac", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"}
)

# Seeking lands on a packet boundary at or before the target; decoding starts this much
# earlier so codecs that need a run-up (Opus pre-roll, the MP3 bit reservoir) are settled by
# the first sample we keep.
_PREROLL_SECONDS: Final = 0.5

# Level windows for channel analysis: long enough to hold a few pitch periods of a low
# voice, short enough to separate quick exchanges.
_LEVEL_WINDOW_SECONDS: Final = 0.05

# A window belongs to one channel when that channel is this much louder than the other.
# A speaker's own microphone or call leg is 15-30 dB above the crosstalk; a stereo pair in
# one room, or mono saved as stereo, stays within a few dB.
_DOMINANCE_DB: Final = 10.0
# Separate channels: most speech windows belong to one side, and each side owns some of them
# (a therapist may speak for a fifth of the session or less).
_MIN_DOMINATED_FRACTION: Final = 0.5
_MIN_SIDE_SHARE: Final = 0.05
_MIN_SIDE_SECONDS: Final = 2.0

_SILENCE_DBFS: Final = -60.0

# Timestamp jumps shorter than this (in samples at 16 kHz) are codec rounding, not holes.
_GAP_SAMPLES: Final = SAMPLE_RATE // 10

AudioSource = bytes | bytearray | memoryview | BinaryIO
Samples = NDArray[np.float32]


class AudioError(ReflectError):
    """A recording could not be read. Names the file when a name is known, never its content."""

    title = "Couldn't read recording"

    def __init__(self, reason: str, *, filename: str | None = None) -> None:
        super().__init__(f"{filename}: {reason}" if filename else f"The recording {reason}")
        self.filename = filename
        self.reason = reason


class PlaybackError(ReflectError):
    title = "Can't play audio"


@dataclass(frozen=True)
class AudioInfo:
    duration: float  # seconds; from the container, else from its packets
    channels: int  # as stored; `decode` returns 1 or 2
    sample_rate: int  # as stored; `decode` resamples to SAMPLE_RATE
    codec: str  # FFmpeg's decoder name: "opus", "aac", "mp3float", "pcm_s16le", ...
    container: str  # FFmpeg's demuxer name
    has_video: bool


@dataclass(frozen=True)
class ChannelLayout:
    """Whether a two-channel recording has one speaker per channel, and the evidence."""

    separate: bool
    dominated: float  # share of speech windows where one channel is >= 10 dB louder
    left_share: float  # share of speech windows the left channel dominates
    right_share: float
    level_correlation: float  # of the two channels' dB levels over speech windows
    speech_seconds: float


def is_audio_name(name: str) -> bool:
    lowered = name.lower()
    return any(lowered.endswith(ext) for ext in AUDIO_EXTENSIONS)


def probe(source: AudioSource, *, name: str | None = None) -> AudioInfo:
    """What the recording is, checked by decoding its first audio: a header alone can lie."""
    with _open(source, name) as (container, stream):
        first = _first_frame_or_none(container, stream)
        if first is None:
            raise AudioError(
                "has no audio that could be decoded; it may be damaged or cut short",
                filename=name,
            )
        duration = _duration(container, stream)
        if duration is None:
            duration = _duration_from_packets(source, name)
        return AudioInfo(
            duration=duration,
            channels=stream.codec_context.channels or first.layout.nb_channels,
            sample_rate=stream.codec_context.sample_rate or first.sample_rate,
            codec=stream.codec_context.name,
            container=container.format.name,
            has_video=bool(container.streams.video),
        )


def decode(
    source: AudioSource,
    *,
    name: str | None = None,
    start: float = 0.0,
    end: float | None = None,
    mono: bool = False,
    rate: int = SAMPLE_RATE,
) -> Samples:
    """Samples of [start, end) seconds (end None: to the end), shaped (channels, n).

    Only that stretch is decoded (plus a short run-up), so a long recording can be taken in
    pieces without holding all of it. A stretch past the end gives (channels, 0).
    """
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"bad time range [{start}, {end})")
    blocks = list(_decode_blocks(source, name, start, end, mono=mono, rate=rate))
    channels = blocks[0].shape[0] if blocks else (1 if mono else _output_channels(source, name))
    if not blocks:
        return np.zeros((channels, 0), dtype=np.float32)
    return np.concatenate(blocks, axis=1)


def clip_wav_bytes(
    data: AudioSource,
    start: float,
    seconds: float,
    *,
    name: str | None = None,
    rate: int | None = None,
) -> bytes:
    """A 16-bit PCM WAV, in memory, of `seconds` from `start`; at the source's own rate
    (capped at 48 kHz) unless `rate` is given, since a clip is for listening, not for Whisper.
    """
    if seconds <= 0:
        raise ValueError("a clip needs a positive length")
    if rate is None:
        rate = min(probe(data, name=name).sample_rate, 48_000)
    samples = decode(data, name=name, start=start, end=start + seconds, rate=rate)
    return wav_bytes(samples, rate)


def wav_bytes(samples: Samples, rate: int = SAMPLE_RATE) -> bytes:
    """16-bit PCM WAV bytes of (channels, n) or (n,) float samples in [-1, 1]."""
    block = samples if samples.ndim == 2 else samples[np.newaxis, :]
    pcm = np.clip(np.round(block.T * 32767.0), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(block.shape[0])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buf.getvalue()


def play(samples: Samples, rate: int = SAMPLE_RATE, *, blocking: bool = True) -> None:
    """Play (channels, n) or (n,) samples on the default output device."""
    try:
        # Imported here: sounddevice loads the PortAudio library when imported, and most
        # uses of reflect never play anything.
        import sounddevice
    except OSError as exc:
        raise PlaybackError(
            "Playing audio needs the PortAudio library, which is not installed "
            "(Debian/Ubuntu: apt-get install libportaudio2; macOS: brew install portaudio)."
        ) from exc
    frames = samples.T if samples.ndim == 2 else samples
    try:
        sounddevice.play(np.ascontiguousarray(frames, dtype=np.float32), rate, blocking=blocking)
    except (sounddevice.PortAudioError, ValueError) as exc:
        # PortAudio's own words ("Error querying device -1") mean nothing to most people;
        # they go to the log for whoever needs them.
        log.debug("sound output failed: %s", exc)
        raise PlaybackError(
            "No sound output device could be used: no speakers or headphones were found. "
            "`reflect clip` can save the moment as a sound file instead."
        ) from exc


def stop_playback() -> None:
    try:
        import sounddevice
    except OSError:
        return
    sounddevice.stop()


# --- channels ----------------------------------------------------------------------------


def channel_levels(samples: Samples, rate: int = SAMPLE_RATE) -> NDArray[np.float64]:
    """RMS level in dBFS per channel per 50 ms window, shaped (channels, windows)."""
    window = max(1, round(rate * _LEVEL_WINDOW_SECONDS))
    block = samples if samples.ndim == 2 else samples[np.newaxis, :]
    count = block.shape[1] // window
    if count == 0:
        return np.zeros((block.shape[0], 0))
    framed = block[:, : count * window].reshape(block.shape[0], count, window)
    power = np.mean(np.square(framed, dtype=np.float64), axis=2)
    result: NDArray[np.float64] = 10.0 * np.log10(np.maximum(power, 1e-12))
    return result


def analyse_channels(samples: Samples, rate: int = SAMPLE_RATE) -> ChannelLayout:
    """Does each speaker have their own channel? Decided from level dominance over time.

    Per 50 ms window of speech, a channel "owns" the window when it is at least 10 dB louder
    than the other. With one speaker per channel nearly every speech window is owned, by the
    left side when one person talks and by the right when the other does, and the two
    channels' levels move against each other. With mono copied to both sides (or a stereo
    pair of microphones in one room) the channels stay within a few dB, so hardly any window
    is owned and the levels move together. Waveform correlation would be fooled by a delay
    between two microphones; levels are not.

    On the fixtures: tests/fixtures/audio/session_stereo.opus (one voice per channel, the
    other leaking in at -20 dB) has every speech window owned, 0.44 left and 0.56 right,
    level correlation -0.37; its mono mix copied to both channels, or its two voices panned
    only 6 dB apart, has none owned (correlation 1.0 and 0.8).
    """
    levels = channel_levels(samples, rate)
    if levels.shape[0] != 2 or levels.shape[1] == 0:
        return ChannelLayout(False, 0.0, 0.0, 0.0, 1.0, 0.0)
    loudest = levels.max(axis=0)
    speech = loudest > _speech_threshold(loudest)
    if not speech.any():
        return ChannelLayout(False, 0.0, 0.0, 0.0, 1.0, 0.0)
    difference = levels[0, speech] - levels[1, speech]
    left = float(np.mean(difference >= _DOMINANCE_DB))
    right = float(np.mean(difference <= -_DOMINANCE_DB))
    speech_seconds = float(speech.sum()) * _LEVEL_WINDOW_SECONDS
    correlation = 1.0
    if speech.sum() > 2:
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.corrcoef(levels[0, speech], levels[1, speech])[0, 1]
        correlation = float(value) if np.isfinite(value) else 1.0
    side_floor = max(_MIN_SIDE_SHARE, _MIN_SIDE_SECONDS / max(speech_seconds, 1e-9))
    separate = (
        left + right >= _MIN_DOMINATED_FRACTION and left >= side_floor and right >= side_floor
    )
    return ChannelLayout(separate, left + right, left, right, correlation, speech_seconds)


def isolate_channels(samples: Samples, rate: int = SAMPLE_RATE) -> Samples:
    """Each channel with the other speaker's leakage silenced, for per-channel transcription.

    Without this, Whisper hears the other person's voice at -20 dB in every pause and
    transcribes it into the wrong speaker's turn. A window is muted on one side when the
    other side is at least 10 dB louder there, and so are the 100 ms around it (the quiet
    onset and decay of leaked syllables), except where this side is itself 10 dB louder
    within 100 ms: its own word edges are kept. The gain ramps over 50 ms, so no clicks.
    """
    if samples.ndim != 2 or samples.shape[0] != 2:
        raise ValueError("isolate_channels needs (2, n) samples")
    levels = channel_levels(samples, rate)
    window = max(1, round(rate * _LEVEL_WINDOW_SECONDS))
    out = samples.copy()
    if levels.shape[1] == 0:
        return out
    centres = (np.arange(levels.shape[1]) + 0.5) * window
    positions = np.arange(samples.shape[1])
    for ch in (0, 1):
        lead = levels[ch] - levels[1 - ch]
        mute = _widen(lead <= -_DOMINANCE_DB) & ~_widen(lead >= _DOMINANCE_DB)
        gain = np.interp(positions, centres, (~mute).astype(np.float64)).astype(np.float32)
        out[ch] *= gain
    return out


def _widen(mask: NDArray[np.bool_], windows: int = 2) -> NDArray[np.bool_]:
    widened: NDArray[np.bool_] = np.convolve(mask, np.ones(2 * windows + 1), mode="same") > 0
    return widened


def stereo_layout(
    source: AudioSource, *, name: str | None = None, seconds: float = 600.0
) -> ChannelLayout:
    """`analyse_channels` on the first `seconds` of a recording, decided once per recording
    so that every piece of a long recording is treated the same way."""
    samples = decode(source, name=name, end=seconds)
    return analyse_channels(samples)


# --- long recordings -----------------------------------------------------------------------


def plan_windows(
    source: AudioSource,
    *,
    name: str | None = None,
    target: float = 300.0,
    slack: float = 30.0,
) -> list[tuple[float, float]]:
    """Split a recording into [start, end) pieces of about `target` seconds, cut at silences.

    Each cut is put at the quietest half second within `slack` of where a fixed split would
    fall, so no word is cut in two. The plan depends only on the audio, so a run that was
    killed and restarted makes the same pieces and can skip the ones already done. Only a
    level envelope (20 numbers a second) is kept while the recording is decoded.
    """
    if target <= 0 or slack < 0:
        raise ValueError("target must be positive and slack non-negative")
    # Every cut must move forward by at least half a piece, or a slack wider than the piece
    # could put a cut at (or before) the previous one and never finish.
    slack = min(slack, target / 2)
    envelope: list[NDArray[np.float64]] = []
    total_samples = 0
    carry = np.zeros(0, dtype=np.float32)
    for block in _decode_blocks(source, name, 0.0, None, mono=True, rate=SAMPLE_RATE):
        total_samples += block.shape[1]
        joined = np.concatenate([carry, block[0]])
        window = int(SAMPLE_RATE * _LEVEL_WINDOW_SECONDS)
        usable = (len(joined) // window) * window
        if usable:
            envelope.append(channel_levels(joined[np.newaxis, :usable])[0])
        carry = joined[usable:]
    duration = total_samples / SAMPLE_RATE
    if duration == 0:
        return []
    levels = np.concatenate(envelope) if envelope else np.zeros(0)
    cuts = [0.0]
    span = round(0.5 / _LEVEL_WINDOW_SECONDS)
    while duration - cuts[-1] > target + slack:
        aim = cuts[-1] + target
        lo = int((aim - slack) / _LEVEL_WINDOW_SECONDS)
        hi = int((aim + slack) / _LEVEL_WINDOW_SECONDS)
        region = levels[lo : hi + span]
        if len(region) < span:
            cuts.append(aim)
            continue
        # Quietest half second: the lowest mean level over `span` consecutive windows.
        sums = np.convolve(region, np.ones(span) / span, mode="valid")
        best = lo + int(np.argmin(sums)) + span // 2
        cuts.append(round(best * _LEVEL_WINDOW_SECONDS, 3))
    cuts.append(duration)
    return list(itertools.pairwise(cuts))


# --- internals -----------------------------------------------------------------------------


class _Opened:
    """The container and its audio stream, closed on exit; all FFmpeg failures become
    AudioError with the file's name."""

    def __init__(self, source: AudioSource, name: str | None) -> None:
        self.source = source
        self.name = name
        self.container: InputContainer | None = None

    def __enter__(self) -> tuple[InputContainer, AudioStream]:
        buffer = _as_buffer(self.source, self.name)
        try:
            container = av.open(buffer, mode="r")
        except av.EOFError as exc:
            raise AudioError(
                "ends before its first audio; it may have been cut short", filename=self.name
            ) from exc
        except av.FFmpegError as exc:
            raise AudioError(
                "is damaged, cut short, or not an audio or video file", filename=self.name
            ) from exc
        self.container = container
        if container.format.name not in _CONTAINERS:
            container.close()
            raise AudioError(
                "is not a recording reflect can read (expected "
                + ", ".join(sorted(AUDIO_EXTENSIONS))
                + ")",
                filename=self.name,
            )
        if not container.streams.audio:
            container.close()
            raise AudioError("has no sound in it", filename=self.name)
        stream = container.streams.audio[0]
        # Decoding as many threads as the codec supports buys nothing for speech codecs and
        # would compete with Whisper for the few cores.
        stream.codec_context.thread_count = 1
        return container, stream

    def __exit__(self, *exc: object) -> None:
        if self.container is not None:
            self.container.close()


def _open(source: AudioSource, name: str | None) -> _Opened:
    return _Opened(source, name)


def _as_buffer(source: AudioSource, name: str | None) -> BinaryIO:
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) == 0:
            raise AudioError("is empty", filename=name)
        return io.BytesIO(source)
    seekable = getattr(source, "seekable", None)
    if seekable is not None and seekable():
        source.seek(0, io.SEEK_END)
        size = source.tell()
        source.seek(0)
        if size == 0:
            raise AudioError("is empty", filename=name)
        return source
    # Demuxers seek (MP4 keeps its index at the end), so a pipe is read into memory first.
    data = source.read()
    if not data:
        raise AudioError("is empty", filename=name)
    return io.BytesIO(data)


def _first_frame_or_none(container: InputContainer, stream: AudioStream) -> av.AudioFrame | None:
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                continue
            for frame in frames:
                if frame.samples > 0:
                    return frame
    except av.FFmpegError:
        return None
    return None


def _duration(container: InputContainer, stream: AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _duration_from_packets(source: AudioSource, name: str | None) -> float:
    # WebM written by browsers and live recorders has no duration in its header; the
    # packets' timestamps have it, and demuxing without decoding is fast.
    with _open(source, name) as (container, stream):
        start = _stream_start(stream)
        last = 0.0
        try:
            for packet in container.demux(stream):
                if packet.pts is None or packet.time_base is None:
                    continue
                end_pts = packet.pts + (packet.duration or 0)
                last = max(last, float((end_pts - start) * packet.time_base))
        except av.FFmpegError:
            pass
        return last


def _stream_start(stream: AudioStream) -> int:
    return stream.start_time if stream.start_time is not None else 0


def _output_channels(source: AudioSource, name: str | None) -> int:
    return 2 if probe(source, name=name).channels == 2 else 1


def _decode_blocks(
    source: AudioSource,
    name: str | None,
    start: float,
    end: float | None,
    *,
    mono: bool,
    rate: int,
) -> Iterator[Samples]:
    """Resampled blocks covering exactly [start, end) in samples at `rate`."""
    first_wanted = round(start * rate)
    last_wanted = None if end is None else round(end * rate)
    if last_wanted is not None and last_wanted <= first_wanted:
        return
    if start > _PREROLL_SECONDS:
        done = yield from _decode_pass(
            source, name, first_wanted, last_wanted, mono=mono, rate=rate, seek_to=start
        )
        if done:
            return
    yield from _decode_pass(source, name, first_wanted, last_wanted, mono=mono, rate=rate)


def _decode_pass(
    source: AudioSource,
    name: str | None,
    first_wanted: int,
    last_wanted: int | None,
    *,
    mono: bool,
    rate: int,
    seek_to: float | None = None,
) -> Generator[Samples, None, bool]:
    """One decoding run; returns False, having yielded nothing, when a seek did not land
    before the start (a coarse or missing index) so the caller decodes from the top."""
    with _open(source, name) as (container, stream):
        layout = "stereo" if stream.codec_context.channels == 2 and not mono else "mono"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        if seek_to is not None and not _seek(container, stream, seek_to - _PREROLL_SECONDS):
            return False
        channels = 2 if layout == "stereo" else 1
        position: int | None = None
        for frame in _frames(container, stream, name):
            stamped = _frame_position(frame, stream, rate)
            if position is None:
                if seek_to is not None and (stamped is None or stamped > first_wanted):
                    return False
                position = stamped or 0
            elif stamped is not None and stamped - position > _GAP_SAMPLES * rate // SAMPLE_RATE:
                # A hole in the timeline (a recorder paused, packets lost): filled with silence
                # so that times here stay the times a media player shows.
                gap = np.zeros((channels, stamped - position), dtype=np.float32)
                position = yield from _emit_array(gap, position, first_wanted, last_wanted)
            for out in resampler.resample(frame):
                position = yield from _emit(out, position, first_wanted, last_wanted)
            if last_wanted is not None and position >= last_wanted:
                return True
        if position is None:
            if seek_to is not None:
                return False
            raise AudioError(
                "has no audio that could be decoded; it may be damaged or cut short",
                filename=name,
            )
        for out in resampler.resample(None):
            position = yield from _emit(out, position, first_wanted, last_wanted)
        return True


def _emit(
    frame: av.AudioFrame, position: int, first_wanted: int, last_wanted: int | None
) -> Generator[Samples, None, int]:
    # A generator that returns the new position: `yield from` in the caller gets both.
    data = frame.to_ndarray().astype(np.float32, copy=False)
    return (yield from _emit_array(data, position, first_wanted, last_wanted))


def _emit_array(
    data: Samples, position: int, first_wanted: int, last_wanted: int | None
) -> Generator[Samples, None, int]:
    begin = position
    finish = position + int(data.shape[1])
    lo = max(first_wanted, begin) - begin
    hi = (finish if last_wanted is None else min(finish, last_wanted)) - begin
    if hi > lo:
        yield data[:, lo:hi]
    return finish


def _frame_position(frame: av.AudioFrame, stream: AudioStream, rate: int) -> int | None:
    if frame.pts is None or frame.time_base is None:
        return None
    seconds = (frame.pts - _stream_start(stream)) * frame.time_base
    return max(0, round(seconds * rate))


def _seek(container: InputContainer, stream: AudioStream, seconds: float) -> bool:
    if stream.time_base is None:
        return False
    target = int(Fraction(seconds).limit_denominator(1_000_000) / stream.time_base)
    try:
        container.seek(target + _stream_start(stream), stream=stream, backward=True)
    except av.FFmpegError:
        return False
    return True


def _frames(
    container: InputContainer, stream: AudioStream, name: str | None
) -> Iterator[av.AudioFrame]:
    # A damaged packet in the middle costs its few milliseconds, not the whole recording.
    # A recording cut short ends where its data ends.
    bad = 0
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                bad += 1
                continue
            yield from frames
    except av.FFmpegError:
        log.warning("%s: stopped reading at a damaged spot", name or "recording")
    if bad:
        log.warning("%s: skipped %d damaged audio packets", name or "recording", bad)


def _speech_threshold(loudest: NDArray[np.float64]) -> float:
    # Above the noise floor (a low percentile: most recordings pause often) by 15 dB, and
    # within 50 dB of the loudest moments, and above digital near-silence.
    floor = float(np.percentile(loudest, 10))
    peak = float(np.percentile(loudest, 99))
    return max(floor + 15.0, peak - 50.0, _SILENCE_DBFS)
