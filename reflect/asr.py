"""Speech to text, on this machine: faster-whisper over the Whisper models reflect bundles.

`WhisperTranscriber.transcribe` takes mono 16 kHz samples (from `reflect.audio.decode`) and
returns segments whose times are absolute in the recording (`offset` is where the samples
start), so a long recording can be done piece by piece (`reflect.audio.plan_windows`), each
piece stored as it finishes, and a run that was killed resumes at the first piece not
stored. `transcribe_audio` handles two-channel recordings: one speaker per channel is
transcribed channel by channel and labelled by channel; anything else is mixed to mono.

Nothing here reaches the network. faster-whisper is given a model folder, never a model
name (a name would be looked up on the Hugging Face hub), the folder must hold
tokenizer.json (without it faster-whisper downloads one), and its voice activity detector
is the Silero model inside the faster-whisper package. reflect's own import sets
HF_HUB_OFFLINE as well, so a lookup that slipped through would fail instead of connecting.

faster_whisper is imported only when a model is loaded: importing it pulls in CTranslate2,
onnxruntime and tokenizers, which nothing else in reflect needs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

import numpy as np

from reflect import bundled
from reflect.audio import SAMPLE_RATE, Samples, analyse_channels, channel_levels, isolate_channels
from reflect.errors import ReflectError

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

ProgressCallback = Callable[[float], None]
"""Called with the absolute time (seconds into the recording) transcribed so far."""

# The voice detector cuts out pauses longer than this before Whisper runs. Shorter than
# faster-whisper's defaults (2 s, padded 400 ms): on the 9-minute bench recording that was
# 12% faster with the same word error rate, and segments came out finer (124 against 113).
_VAD_MIN_SILENCE_MS: Final = 500
_VAD_SPEECH_PAD_MS: Final = 200

# A Whisper segment can run across a long pause: the VAD joins speech chunks before Whisper
# sees them. On one speaker's channel such a pause is usually the other person's turn, so
# segments are split where the words stop for this long.
_SPLIT_PAUSE_SECONDS: Final = 1.0

# Below this peak the samples are digital silence; Whisper would only hallucinate on them.
_SILENT_PEAK: Final = 1e-4


class AsrError(ReflectError):
    title = "Transcription problem"


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float  # seconds, absolute in the recording
    end: float
    text: str
    channel: int | None = None  # 0 left, 1 right when speakers have their own channel
    language: str | None = None
    confidence: float | None = None  # exp(mean token log-probability), 0..1
    words: tuple[Word, ...] = ()


@runtime_checkable
class Transcriber(Protocol):
    def transcribe(
        self,
        samples: Samples,
        *,
        offset: float = 0.0,
        language: str | None = None,
        channel: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[Segment]:
        """Segments of mono 16 kHz `samples`, in time order, times shifted by `offset`."""
        ...


def default_asr_model_path() -> Path:
    """The bundled model reflect transcribes with unless told otherwise: Whisper base.

    Measured with bench/bench_asr.py on 2 cores (AMD EPYC VM, int8, beam 5, word times on):
    base ran 11x faster than real time on a 9-minute two-voice recording in 5-minute pieces
    and 6.3x on the stereo session done channel by channel (two passes), so it clears the
    5x target everywhere, at 0.4 s to load and about 615 MB peak for the whole process. Its
    word error rate was 6.8% there against 10.2% for tiny (3.9% vs 8.7% on the short
    session), and tiny's misses fall on content words ("calmer" heard as "karma", "dog" as
    "nog"), exactly what a person searches for. Tiny is nearly twice as fast, but the bundled
    tiny is tiny.en: English only, while base detects and transcribes other languages.
    """
    return bundled.whisper_base_model_path()


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


class WhisperTranscriber:
    """A loaded faster-whisper model. Loading takes well under a second for tiny and base."""

    def __init__(
        self,
        model_path: Path | str | None = None,
        *,
        cpu_threads: int | None = None,
        beam_size: int = 5,
        word_timestamps: bool = True,
    ) -> None:
        folder = Path(model_path) if model_path is not None else default_asr_model_path()
        if not folder.is_dir():
            raise bundled.ModelNotFound(f"No speech model folder at {folder}.")
        missing = bundled.missing_whisper_files(folder)
        if missing:
            raise bundled.ModelNotFound(
                f"The speech model folder {folder} lacks {', '.join(missing)}; it must be a "
                "complete faster-whisper (CTranslate2) model folder, including tokenizer.json."
            )
        from faster_whisper import WhisperModel

        try:
            self._model: WhisperModel = WhisperModel(
                str(folder),
                device="cpu",
                compute_type="int8",
                cpu_threads=cpu_threads or cpu_count(),
                num_workers=1,
                # Never consulted for a folder path; stated so a future change cannot make
                # faster-whisper reach for the hub.
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise bundled.ModelNotFound(
                f"The speech model in {folder} could not be loaded ({exc})."
            ) from exc
        self.model_path = folder
        self.beam_size = beam_size
        # Word times put segment edges where speech starts and stops rather than where
        # Whisper guesses, let a caller cite a single sentence of a long segment, and are
        # what splits segments at pauses; they cost little (about 3% on the session fixture).
        self.word_timestamps = word_timestamps

    @property
    def multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    @property
    def languages(self) -> list[str]:
        return list(self._model.supported_languages)

    def transcribe(
        self,
        samples: Samples,
        *,
        offset: float = 0.0,
        language: str | None = None,
        channel: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[Segment]:
        mono = _as_mono(samples)
        if language is not None and language not in self.languages:
            if not self.multilingual:
                raise AsrError(
                    f"The speech model in use understands English only, not {language!r}; "
                    "choose a multilingual model."
                )
            raise AsrError(f"{language!r} is not a language the speech model knows.")
        if mono.size == 0 or float(np.max(np.abs(mono))) < _SILENT_PEAK:
            if on_progress is not None:
                on_progress(offset + mono.size / SAMPLE_RATE)
            return []
        raw_segments, info = self._model.transcribe(
            mono,
            language=language,
            beam_size=self.beam_size,
            word_timestamps=self.word_timestamps,
            vad_filter=True,
            vad_parameters={
                "min_silence_duration_ms": _VAD_MIN_SILENCE_MS,
                "speech_pad_ms": _VAD_SPEECH_PAD_MS,
            },
            # Each window stands alone: conditioning on earlier text is what lets Whisper
            # fall into repeating itself over long recordings, and pieces transcribed after
            # a resume must come out the same as in one run.
            condition_on_previous_text=False,
        )
        segments: list[Segment] = []
        for raw in raw_segments:
            segments.extend(s for s in _convert(raw, offset, channel, info.language) if s.text)
            if on_progress is not None:
                on_progress(offset + float(raw.end))
        if on_progress is not None:
            on_progress(offset + mono.size / SAMPLE_RATE)
        return segments


def transcribe_audio(
    transcriber: Transcriber,
    samples: Samples,
    *,
    offset: float = 0.0,
    language: str | None = None,
    separate_channels: bool | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[Segment]:
    """Segments of (channels, n) or (n,) samples, in time order.

    For two channels, `separate_channels` None decides from these samples
    (`reflect.audio.analyse_channels`); a caller working through a long recording in pieces
    decides once (`reflect.audio.stereo_layout`) and passes the answer for every piece, so
    that one quiet piece is not treated differently. Separate channels are transcribed one
    at a time, each with the other speaker's leakage muted, and labelled 0 and 1; use
    `merge_turns` to join each speaker's consecutive segments.
    """
    if samples.ndim == 1 or samples.shape[0] == 1:
        return transcriber.transcribe(
            _as_mono(samples), offset=offset, language=language, on_progress=on_progress
        )
    if samples.shape[0] != 2:
        raise ValueError("samples must be mono or two channels")
    if separate_channels is None:
        separate_channels = analyse_channels(samples).separate
    if not separate_channels:
        return transcriber.transcribe(
            _as_mono(samples), offset=offset, language=language, on_progress=on_progress
        )
    isolated = isolate_channels(samples)
    duration = samples.shape[1] / SAMPLE_RATE
    # Language detection listens to the channel with more speech; the other channel then
    # uses the same language, so one speaker's short "mm" is not taken for Welsh.
    speech_seconds = [_speech_seconds(isolated[ch]) for ch in (0, 1)]
    order = [0, 1] if speech_seconds[0] >= speech_seconds[1] else [1, 0]
    segments: list[Segment] = []
    for index, ch in enumerate(order):
        progress = None
        if on_progress is not None:
            progress = _scaled_progress(on_progress, offset, duration, index, len(order))
        found = transcriber.transcribe(
            isolated[ch], offset=offset, language=language, channel=ch, on_progress=progress
        )
        if language is None:
            language = next((s.language for s in found if s.language), None)
        segments.extend(found)
    segments.sort(key=lambda s: (s.start, s.channel if s.channel is not None else -1))
    return segments


def merge_turns(segments: Sequence[Segment], *, max_gap: float = 3.0) -> list[Segment]:
    """Join consecutive segments of the same channel into turns (time order assumed).

    Segments without a channel are left as they are: nothing says they are one speaker.
    """
    turns: list[Segment] = []
    for segment in segments:
        last = turns[-1] if turns else None
        if (
            last is not None
            and segment.channel is not None
            and last.channel == segment.channel
            and segment.start - last.end <= max_gap
        ):
            confidence = None
            if last.confidence is not None and segment.confidence is not None:
                confidence = min(last.confidence, segment.confidence)
            turns[-1] = replace(
                last,
                end=max(last.end, segment.end),
                text=f"{last.text} {segment.text}",
                confidence=confidence,
                words=last.words + segment.words,
            )
        else:
            turns.append(segment)
    return turns


# --- internals -----------------------------------------------------------------------------


def _as_mono(samples: Samples) -> Samples:
    if samples.ndim == 2:
        mixed = samples[0] if samples.shape[0] == 1 else samples.mean(axis=0)
    elif samples.ndim == 1:
        mixed = samples
    else:
        raise ValueError("samples must be (n,) or (channels, n)")
    return np.ascontiguousarray(mixed, dtype=np.float32)


def _convert(raw: Any, offset: float, channel: int | None, language: str) -> list[Segment]:
    """One faster-whisper segment as one or more Segments, split at long pauses."""
    avg_logprob = float(raw.avg_logprob)
    whole = Segment(
        start=round(offset + float(raw.start), 3),
        end=round(offset + float(raw.end), 3),
        text=str(raw.text).strip(),
        channel=channel,
        language=language,
        confidence=math.exp(avg_logprob) if math.isfinite(avg_logprob) else None,
    )
    groups: list[list[Any]] = []
    for word in raw.words or ():
        if groups and float(word.start) - float(groups[-1][-1].end) < _SPLIT_PAUSE_SECONDS:
            groups[-1].append(word)
        else:
            groups.append([word])
    if not groups:
        return [whole]
    parts = []
    for group in groups:
        words = tuple(
            Word(
                round(offset + float(w.start), 3),
                round(offset + float(w.end), 3),
                str(w.word).strip(),
                float(w.probability),
            )
            for w in group
        )
        # Whisper's word strings carry their own leading spaces (none in Chinese or
        # Japanese), so they are joined as they are.
        text = "".join(str(w.word) for w in group).strip()
        parts.append(
            replace(whole, start=words[0].start, end=words[-1].end, text=text, words=words)
        )
    return parts


def _scaled_progress(
    report: ProgressCallback, offset: float, duration: float, index: int, passes: int
) -> ProgressCallback:
    # Each channel is a full pass over the same stretch; progress runs once across both.
    def scaled(position: float) -> None:
        done = index * duration + max(0.0, position - offset)
        report(offset + done / passes)

    return scaled


def _stretches(mono: Samples) -> list[tuple[float, float]]:
    levels = channel_levels(mono)[0]
    step = 0.05
    loud = levels > -40.0
    runs: list[tuple[float, float]] = []
    start: int | None = None
    for i, on in enumerate([*loud.tolist(), False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            runs.append((start * step, i * step))
            start = None
    merged: list[tuple[float, float]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] < 0.5:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return [(a, b) for a, b in merged if b - a >= 0.2]


def _speech_seconds(mono: Samples) -> float:
    return sum(b - a for a, b in _stretches(mono))
