#!/usr/bin/env python3
"""Regenerate the committed test recordings in tests/fixtures/audio/.

    .venv/bin/python scripts/make_test_audio.py

Not run by the tests or CI: the output is committed, so the tests never depend on espeak-ng,
sox or the exact voice data of whatever version is installed. Needs `espeak-ng` and `sox`
(Debian: `apt-get install espeak-ng sox libsox-fmt-mp3`) and reflect's venv (PyAV encodes
the Opus and AAC files, which sox cannot write).

The conversation is invented. Two clearly different espeak-ng voices take turns; the
therapist is on the left channel and the client on the right in the stereo file, each with
a little of the other bleeding in (-20 dB) and a faint noise floor, the way a two-microphone
recorder or a per-speaker call recording sounds. expected.json records what each turn says
and when it starts and ends, measured from the synthesised audio after its own leading and
trailing silence is trimmed, so the times are exact to a sample.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import wave
import zlib
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "audio"
RATE = 16_000

THERAPIST, CLIENT = "Therapist", "Client"
VOICES = {
    # Different accent, sex variant, pitch and pace, so the two are easy to tell apart by ear
    # and by a model, as two real people would be.
    THERAPIST: ["-v", "en-us+f3", "-s", "150", "-p", "60"],
    CLIENT: ["-v", "en-gb+m3", "-s", "140", "-p", "30"],
}
CHANNEL = {THERAPIST: 0, CLIENT: 1}

TURNS = [
    (THERAPIST, "Hello again. How have you been sleeping since our last session?"),
    (CLIENT, "Not very well. I wake up around four in the morning and my mind starts racing."),
    (THERAPIST, "What do you usually do when that happens?"),
    (CLIENT, "I lie there and worry about work. Sometimes I get up and make a cup of tea."),
    (THERAPIST, "Last time you mentioned walking the dog in the evening. Have you kept that up?"),
    (CLIENT, "Yes, we walk by the river after dinner. On those nights I sleep a little better."),
    (THERAPIST, "What do you notice about yourself on those walks?"),
    (CLIENT, "I feel calmer. The dog does not care about my emails."),
]

LEAD_IN = 0.8
# Varied like real pauses; all long enough that a VAD sees a turn boundary.
GAPS = [0.9, 0.8, 1.1, 0.9, 1.0, 0.8, 1.2]
TAIL = 0.8
BLEED = 0.1  # -20 dB
NOISE = 0.002  # about -54 dBFS


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data.astype(np.float32) / 32768.0


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> None:
    """samples: (channels, n) float in [-1, 1]."""
    pcm = np.clip(np.round(samples.T * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def synthesise(speaker: str, text: str, work: Path, index: int) -> np.ndarray:
    raw = work / f"turn{index}-raw.wav"
    trimmed = work / f"turn{index}.wav"
    run("espeak-ng", *VOICES[speaker], "-w", str(raw), text)
    # Trimming both ends makes each turn start and stop exactly where expected.json says.
    run(
        "sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(trimmed),
        "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse",
        "gain", "-n", "-3",
    )  # fmt: skip
    return read_wav(trimmed)


def encode(samples: np.ndarray, container: str, codec: str, bitrate: int, rate: int) -> bytes:
    """Encode (channels, n) float32 at RATE with PyAV, resampling to `rate` on the way."""
    buf = io.BytesIO()
    layout = "mono" if samples.shape[0] == 1 else "stereo"
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32), format="fltp", layout=layout
        )
        frame.sample_rate = RATE
        frame.pts = None
        resampler = av.AudioResampler(format=stream.format.name, layout=layout, rate=rate)
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            resampled.pts = None
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (8).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])  # 8x8 grey
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * 8 for _ in range(8)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def main() -> int:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (Debian: apt-get install espeak-ng sox)")
            return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clips = [synthesise(s, t, work, i) for i, (s, t) in enumerate(TURNS)]

        turns: list[dict[str, str | int | float]] = []
        starts: list[int] = []
        position = LEAD_IN
        for i, ((speaker, text), clip) in enumerate(zip(TURNS, clips, strict=True)):
            start = position
            end = start + len(clip) / RATE
            starts.append(round(start * RATE))
            turns.append(
                {
                    "speaker": speaker,
                    "channel": CHANNEL[speaker],
                    "start": round(start, 3),
                    "end": round(end, 3),
                    "text": text,
                }
            )
            position = end + (GAPS[i] if i < len(GAPS) else TAIL)
        total = round(position * RATE)

        tracks = np.zeros((2, total), dtype=np.float32)
        for (speaker, _), first_sample, clip in zip(TURNS, starts, clips, strict=True):
            tracks[CHANNEL[speaker], first_sample : first_sample + len(clip)] += clip
        noise = np.random.default_rng(7).normal(0.0, NOISE, size=(2, total)).astype(np.float32)
        mics = np.stack([tracks[0] + BLEED * tracks[1], tracks[1] + BLEED * tracks[0]]) + noise
        mono = (tracks[0] + tracks[1] + noise[0])[np.newaxis, :]

        # Opus at 16 kHz keeps the files small; stereo gets enough bitrate that libopus codes
        # the channels separately instead of folding them into intensity stereo.
        files = {
            "session_mono.ogg": encode(mono, "ogg", "libopus", 16_000, 16_000),
            "session_stereo.opus": encode(mics, "ogg", "libopus", 32_000, 16_000),
        }

        # The first turn alone in the other formats, each written by a different encoder.
        first_end = starts[0] + len(clips[0]) + int(0.3 * RATE)
        first = mono[:, :first_end]
        write_wav(work / "first.wav", first)
        run("sox", str(work / "first.wav"), "-r", "8000", str(OUT / "first_turn.wav"))
        run("sox", str(work / "first.wav"), "-r", "8000", str(OUT / "first_turn.flac"))
        run("sox", str(work / "first.wav"), "-C", "32", str(OUT / "first_turn.mp3"))
        files["first_turn.m4a"] = encode(first, "mp4", "aac", 32_000, 16_000)

        # Broken inputs, each with an audio extension.
        files["empty.wav"] = b""
        files["not_audio.mp3"] = b"Shopping list: oat milk, batteries, a birthday card.\n" * 4
        files["picture.ogg"] = tiny_png()
        m4a = files["first_turn.m4a"]
        # The MP4 muxer writes its index (moov) last, so a download or copy cut short loses it.
        files["truncated.m4a"] = m4a[: len(m4a) // 2]
        files["truncated.ogg"] = files["session_mono.ogg"][:120]
        flac = (OUT / "first_turn.flac").read_bytes()
        # The right signature, then garbage where the stream header should be.
        files["corrupt.flac"] = flac[:4] + random.Random(11).randbytes(4096)

        for name, data in files.items():
            (OUT / name).write_bytes(data)

        expected = {
            "note": "Generated by scripts/make_test_audio.py; invented conversation.",
            "sample_rate": RATE,
            "duration": round(position, 3),
            "turns": turns,
            "first_turn": {"files": ["first_turn.wav", "first_turn.flac", "first_turn.mp3",
                                     "first_turn.m4a"],
                           "duration": round(first_end / RATE, 3)},
            "broken": ["empty.wav", "not_audio.mp3", "picture.ogg", "truncated.m4a",
                       "truncated.ogg", "corrupt.flac"],
        }  # fmt: skip
        (OUT / "expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
        (OUT / "conversation.txt").write_text(
            "".join(f"{t['speaker']}: {t['text']}\n" for t in turns), encoding="utf-8"
        )

    total_bytes = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(list(OUT.iterdir()))} files, {total_bytes:,} bytes, to {OUT.name}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
