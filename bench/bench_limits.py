"""Limits (issue #7): a 100 MB file, a session of 100,000 turns, a vault of 1,000 sessions.

    .venv/bin/python bench/bench_limits.py                  # about 55 minutes on 2 cores
    .venv/bin/python bench/bench_limits.py --fake-embedder  # the structure alone, ~5 minutes
    .venv/bin/python bench/bench_limits.py --quick          # sizes / 10, about 6 minutes

Each case must be either refused with a clear message or handled within bounded memory.
Every measurement runs in a fresh Python process (`--step`), so its peak RSS (`ru_maxrss`)
is its own. An import's peak is restarted just before `import_paths` (Linux
/proc/self/clear_refs), so that it is the import's and not the vault creation's (Argon2id
takes 64 MiB); the RSS at that moment is printed beside it, since the interpreter, reflect's
imports and, with the real model, torch are in it. An unlock's peak includes Argon2id. Only
the public core API is used: `Reflect.create`, `import_paths`, `Reflect.unlock`,
`open_index`, `quotes`, `status`, `pending_recordings`, `lock` (plus `store.index_record`
to read a record's size).

1. A 100 MB file (10^8 bytes; reflect's limit is 20 MiB of text):
   - a "[hh:mm:ss] Speaker: text" transcript: time to refusal, peak RSS, the message shown
     (`FileResult.reason`), and the vault's object count and size before and after;
   - 100 MB of random bytes named .mp3, through the recording path (hash, speech model,
     probe, plan, transcribe): the same measures, and any unfinished recording left behind.
     Random bytes do not all fail alike (FFmpeg finds MP3 frame headers in some), so
     --mp3-files files (default 3) are tried, seeds 0, 1, 2... With the real models the
     speech model is the bundled Whisper, from reflect's model cache; with --fake-embedder
     it is `reflect.testing.FakeTranscriber`;
   - a 19 MB transcript, just under the limit: accepted; time, peak RSS, turns, chunks.
2. One session of 100,000 turns (~13 MB): import (time, peak RSS, chunks, index record
   size), then in a new process unlock + `open_index` (time to words searchable, to meaning
   searchable, peak RSS) and the latency of 50 `quotes()` calls after 3 warm-up ones.
3. A vault of 1,000 sessions of 60 turns: import in one `import_paths` call (total, time
   per session: median, p95, slowest, and the first 100 against the last 100, RSS as the
   vault grows: any cost that grows with the vault shows there), vault size on disk, then
   unlock + `open_index` and query latency as in case 2.

After each accepted import the RSS is read again after glibc's `malloc_trim(0)`: what it
gives back was freed but kept by the allocator, not held by reflect.

All text is invented: utterances come from a word-bigram model of a few dozen made-up
sentences, spoken by "Client" and "Therapist". Queries are drawn from the same model.

With the real embedding model (the default, what `Reflect` uses when given no factory) the
model is loaded and warmed before an accepted import is timed, and its load time is reported
on its own row; a refused file gets reflect's own lazy default, as a user does, and
unlocking pays the load inside "meaning searchable". Embedding is nearly all of an import's
time there: about 38 chunks/s on this 2-core machine (reflect gives torch half the cores).
--fake-embedder uses `FakeEmbedder(384)` instead, which separates the structural cost
(parsing, chunking, sealing, indexing) from the model's. The output says which was used.

Everything lives in one temporary folder, deleted at the end; child processes get their
XDG data/config/state folders inside it. Nothing is written elsewhere, except that the
bundled Whisper is assembled into reflect's model cache the first time anything uses it,
as reflect always does.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import itertools
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from common import BigramText, markdown_table, percentile

from reflect.testing import store_of

HERE = Path(__file__).resolve()
PASSPHRASE = "limits benchmark: a long walk by the canal"
MB = 10**6
OVERSIZE_BYTES = 100 * MB
JUST_UNDER_BYTES = 19 * MB
LONG_SESSION_TURNS = 100_000
VAULT_SESSIONS = 1_000
TURNS_PER_SESSION = 60
QUERIES = 50
WARM_UP_QUERIES = 3
FIRST_DAY = dt.date(2005, 1, 3)
# "[hh:mm:ss]" has two hour digits: a long synthetic session squeezes its turns into 99 hours.
MAX_CLOCK_SECONDS = 99 * 3600 + 59 * 60

# Made-up sentences; the bigram model recombines them into new ones.
SENTENCES = """
I keep thinking about the move and whether the new flat will ever feel like home.
The week started well but by Wednesday I was tired and short with everyone at work.
When the deadline came closer I stopped sleeping properly and my chest felt tight.
It sounds like the tiredness and the worry feed each other.
What did you notice in your body when the meeting was moved again?
My sister called on Sunday and I did not pick up because I could not face it.
I walked by the river after work and for a while the noise in my head went quiet.
There is a part of me that wants to say no and a part that is scared of what happens then.
Can you say more about the part that is scared?
I wrote the letter to my landlord but I have not sent it yet.
Every time I open the laptop I feel the same knot in my stomach.
We talked last time about small steps and I tried one of them on Tuesday.
The garden is the one place where I do not have to be anyone.
I felt angry and then ashamed of being angry, and then just tired.
How was it to notice that without pushing it away?
My manager asked for the report again and I said it would be ready on Friday.
I slept better after I stopped checking my phone in bed.
It is strange, I miss the old routine even though I hated it.
What would you say to a friend who told you the same thing?
I cooked for myself three times this week, which sounds small but it is not.
The train was late and I sat on the platform counting breaths like we practised.
I am not sure I want to go to the wedding, there will be too many people.
That sounds like a real dilemma between wanting to belong and needing some space.
Sometimes the evenings are the hardest, when the flat is quiet.
I started the drawing class and the teacher said my lines were confident.
I do not know why but I cried in the supermarket over a jar of honey.
Maybe the honey reminded you of something?
My neighbour knocked to ask about the parcel and I pretended I was not in.
I would like to understand why I freeze when someone raises their voice.
We could look at that together, gently, and see what comes up.
The budget spreadsheet made me feel in control for the first time in months.
I went swimming on Saturday and the cold water shocked me awake.
Okay. Mm-hmm. Right. Yes, I see. That makes sense.
I feel like I am always waiting for the next thing to go wrong.
It is as if you are bracing yourself all the time.
I told my partner about the job offer and we argued about money again.
The dog needs a walk at six whatever mood I am in, and that helps.
I noticed I was holding my breath while I was writing the email.
""".strip().splitlines()

QUERY_STARTS = [
    "when did I talk about", "the time I felt", "what did I say about", "my worry about",
    "feeling", "sleep", "the letter to", "walking by", "angry at", "work deadline",
]


# ---- invented text -------------------------------------------------------------------------


def stamp(seconds: float) -> str:
    s = int(seconds) % (MAX_CLOCK_SECONDS + 1)
    return f"[{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}]"


def dialogue_lines(text: BigramText, turns: int | None, clock_step: float | None = None,
                   ) -> Iterator[str]:
    """"[hh:mm:ss] Speaker: text" lines: the client talks at length, the therapist mostly
    reflects and asks, both backchannel. `clock_step` fixes the seconds per turn (long
    sessions must fit in 99 hours); otherwise the clock follows speaking speed."""
    rng = text.rng
    clock = 5.0
    for n in itertools.count():
        if turns is not None and n >= turns:
            return
        client = n % 2 == 1
        length = rng.choice((3, 20, 50, 90, 160)) if client else rng.choice((2, 12, 30, 60))
        spoken = text.utterance(length)
        yield f"{stamp(clock)} {'Client' if client else 'Therapist'}: {spoken}\n"
        clock += clock_step or (len(spoken.split()) / 2.5 + rng.uniform(0.4, 1.6))


def write_transcript(path: Path, lines: Iterator[str], max_bytes: int | None = None) -> int:
    """Lines written until they run out or the next would pass `max_bytes`; turns written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = turns = 0
    with path.open("w", encoding="utf-8") as f:
        for line in lines:
            size = len(line.encode("utf-8"))
            if max_bytes is not None and written + size > max_bytes:
                break
            f.write(line)
            written += size
            turns += 1
    return turns


def write_oversized_transcript(path: Path, size: int, rng: random.Random) -> None:
    # Reflect refuses this file by its size, so its text is a repeated pool of generated
    # lines: writing 100 MB of fresh bigram text would take the parent a minute for nothing.
    text = BigramText(SENTENCES, rng)
    pool = list(dialogue_lines(text, 5_000))
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("w", encoding="utf-8") as f:
        for n in itertools.count():
            line = stamp(n * 3.0) + pool[n % len(pool)].split("]", 1)[1]
            f.write(line)
            written += len(line.encode("utf-8"))
            if written >= size:
                break


def write_random_bytes(path: Path, size: int, seed: int) -> None:
    generator = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        for start in range(0, size, MB):
            f.write(generator.bytes(min(MB, size - start)))


def queries() -> list[str]:
    """Invented search phrases, the same in every process."""
    rng = random.Random(7)
    text = BigramText(SENTENCES, rng)
    found = []
    for n in range(QUERIES + WARM_UP_QUERIES):
        if n % 2:
            found.append(f"{rng.choice(QUERY_STARTS)} {text.utterance(4)}")
        else:
            found.append(text.utterance(rng.choice((3, 6, 10))))
    return found


# ---- steps, each run in its own process ------------------------------------------------------


def rss_mb() -> float:
    """Resident memory now (Linux /proc), MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / MB
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MB if sys.platform == "darwin" else peak * 1024 / MB


def reset_peak_rss() -> bool:
    """Start the peak (ru_maxrss, VmHWM) afresh, so it belongs to what follows rather than to
    setup: creating the vault stretches the passphrase with Argon2id, 64 MiB at the floor
    settings. Linux only (/proc/self/clear_refs); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def rss_after_malloc_trim() -> float | None:
    """RSS once glibc has handed its free memory back to the system: what is left is what
    the process still uses; the difference was freed but kept by the allocator."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return None
    return rss_mb()


def embedder_factory(fake: bool, warm: bool) -> tuple[Callable[[], Any] | None, float | None]:
    """For an import that will embed: the model loaded and warmed, so its load is not import
    time. Otherwise None, reflect's own default, loaded only if something needs it: a file
    that is refused should cost what it costs a user, without a model in memory."""
    from reflect.embedding import default_embedder
    from reflect.testing import FakeEmbedder

    if fake:
        return (lambda: FakeEmbedder(384)), None
    if not warm:
        return None, None
    started = time.perf_counter()
    embedder = default_embedder()
    embedder.load()
    embedder.embed(["warming up the model before anything is timed"])
    return (lambda: embedder), time.perf_counter() - started


def step_import(args: argparse.Namespace) -> dict[str, Any]:
    from reflect import crypto
    from reflect.index_record import decode_index_record
    from reflect.ingest import ImportOptions, ImportProgress
    from reflect.service import Reflect

    factory, model_load_s = embedder_factory(args.fake_embedder, warm=args.me is not None)
    transcriber_load: list[float] = []

    def transcriber() -> Any:
        # What Reflect would build itself (bundled Whisper), timed: the recording path asks
        # for the speech model before it looks at the file.
        from reflect.asr import WhisperTranscriber
        from reflect.testing import FakeTranscriber

        started = time.perf_counter()
        made = FakeTranscriber() if args.fake_embedder else WhisperTranscriber()
        transcriber_load.append(time.perf_counter() - started)
        return made

    service = Reflect.create(Path(args.work) / "vault", PASSPHRASE,
                             kdf=crypto.floor_kdf_params(), embedder_factory=factory,
                             transcriber_factory=transcriber)
    before = service.status()
    ticks: dict[int, float] = {}
    rss_by_files: dict[int, float] = {}

    def progress(p: ImportProgress) -> None:
        if p.files_done not in ticks:
            ticks[p.files_done] = time.perf_counter()
            rss_by_files[p.files_done] = rss_mb()

    # Only where sessions are expected: naming "me" writes the vault's settings, which would
    # hide whether a refused file left anything behind.
    options = ImportOptions(me=args.me)
    peak_reset = reset_peak_rss()
    rss_before = rss_mb()
    started = time.perf_counter()
    report = service.import_paths([Path(args.source)], options, progress=progress)
    import_s = time.perf_counter() - started
    # Read before anything below (decoding records) can raise it.
    peak = peak_rss_mb()
    rss_after = rss_mb()
    rss_after_trim = rss_after_malloc_trim()
    after = service.status()
    marks = [ticks[k] for k in sorted(ticks)]
    per_file = [b - a for a, b in itertools.pairwise(marks)]
    chunks, record_bytes = [], []
    for summary in service.sessions():
        record = store_of(service).index_record(summary.id)
        if record is not None:
            record_bytes.append(len(record))
            chunks.append(len(decode_index_record(record)[1]))
    pending = len(service.pending_recordings())
    service.lock()
    return {
        "files": len(report.results),
        "imported": report.count("imported"),
        "failed": len(report.failed),
        "reasons": sorted({r.reason or "" for r in report.failed}),
        "turns": sum(r.turns for r in report.results),
        "import_s": import_s,
        "per_file_s": per_file,
        "model_load_s": model_load_s,
        "transcriber_load_s": transcriber_load[0] if transcriber_load else None,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        "peak_reset": peak_reset,
        "rss_after_mb": rss_after,
        "rss_after_trim_mb": rss_after_trim,
        "rss_by_files_mb": [rss_by_files[k] for k in sorted(rss_by_files)],
        "objects_before": before.objects,
        "objects_after": after.objects,
        "bytes_before": before.size_bytes,
        "bytes_after": after.size_bytes,
        "pending_after": pending,
        "chunks": sum(chunks),
        "record_bytes": sum(record_bytes),
        "largest_record_bytes": max(record_bytes, default=0),
    }


def step_open(args: argparse.Namespace) -> dict[str, Any]:
    from reflect.live_index import IndexProgress
    from reflect.service import Reflect
    from reflect.testing import FakeEmbedder

    marks: dict[str, float] = {}
    memory: dict[str, float] = {"rss_start_mb": rss_mb()}
    started = time.perf_counter()

    def progress(p: IndexProgress) -> None:
        now = time.perf_counter() - started
        if p.lexical_ready and "lexical_ready" not in marks:
            marks["lexical_ready"] = now
            memory["rss_lexical_ready_mb"] = rss_mb()
        if p.vector_ready and "vector_ready" not in marks:
            marks["vector_ready"] = now

    # None: the vault's own choice, which is the bundled model, loaded inside open_index.
    factory = (lambda: FakeEmbedder(384)) if args.fake_embedder else None
    service = Reflect.unlock(Path(args.work) / "vault", PASSPHRASE, embedder_factory=factory)
    marks["unlocked"] = time.perf_counter() - started
    service.open_index(progress)
    memory["rss_ready_mb"] = rss_mb()
    memory["peak_rss_ready_mb"] = peak_rss_mb()
    texts = queries()
    for query in texts[:WARM_UP_QUERIES]:
        service.quotes(query, k=5)
    latencies, empty = [], 0
    for query in texts[WARM_UP_QUERIES:]:
        began = time.perf_counter()
        result = service.quotes(query, k=5)
        latencies.append((time.perf_counter() - began) * 1000)
        empty += not result.hits
    peak = peak_rss_mb()
    sessions = len(service.sessions())
    service.lock()
    return {"marks": marks, "sessions": sessions, "queries": len(latencies),
            "empty_results": empty, "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95), "max_ms": max(latencies),
            "peak_rss_mb": peak, **memory}


STEPS = {"import": step_import, "open": step_open}


# ---- the parent: writes the inputs, runs the steps, prints the table ------------------------


def run_step(step: str, work: Path, root: Path, timeout: float, **options: Any,
             ) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    out = work / f"result-{step}.json"
    command = [sys.executable, str(HERE), "--step", step, "--work", str(work), "--out", str(out)]
    for name, value in options.items():
        if value is True:
            command.append(f"--{name.replace('_', '-')}")
        elif value not in (None, False):
            command += [f"--{name.replace('_', '-')}", str(value)]
    env = dict(os.environ)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        env[var] = str(root / "home" / var.lower())
    started = time.perf_counter()
    try:
        subprocess.run(command, check=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"  {step} {work.name}: stopped after {timeout:.0f} s", file=sys.stderr)
        return {"timed_out": timeout}
    result: dict[str, Any] = json.loads(out.read_text())
    result["wall_s"] = time.perf_counter() - started
    print(f"  {step} {work.name}: {result['wall_s']:.0f} s", file=sys.stderr)
    return result


def remove_tree(path: Path) -> None:
    # Case by case, so the disk never holds every case's files at once.
    shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="sizes / 10 (the 100 MB files stay: they must pass the limit)")
    parser.add_argument("--fake-embedder", action="store_true",
                        help="FakeEmbedder(384) and FakeTranscriber instead of the real models")
    parser.add_argument("--mp3-files", type=int, default=3,
                        help="100 MB random-byte .mp3 files to try, one seed each (default 3)")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds before a step is stopped and reported (default 3600)")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--me", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.step:
        result = STEPS[args.step](args)
        Path(args.out).write_text(json.dumps(result))
        return 0

    scale = 10 if args.quick else 1
    just_under = JUST_UNDER_BYTES // scale
    long_turns = LONG_SESSION_TURNS // scale
    vault_sessions = VAULT_SESSIONS // scale
    load_before = os.getloadavg()
    started = time.perf_counter()
    rng = random.Random(20240507)
    text = BigramText(SENTENCES, rng)
    common = {"fake_embedder": args.fake_embedder}
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="reflect-limits-") as tmp:
        root = Path(tmp)

        source = root / "oversize" / "2024-03-01 oversized transcript.txt"
        write_oversized_transcript(source, OVERSIZE_BYTES, rng)
        results["oversize_text"] = run_step("import", root / "w-oversize-text", root,
                                            args.timeout, source=source, **common)
        remove_tree(source.parent)

        # Random bytes do not always fail the same way (FFmpeg may find MP3 frame headers in
        # them), so several files are tried, each with its own seed, vault and process.
        for seed in range(args.mp3_files):
            source = root / "recording" / "2024-03-02 session recording.mp3"
            write_random_bytes(source, OVERSIZE_BYTES, seed=seed)
            results[f"oversize_mp3_{seed}"] = run_step(
                "import", root / f"w-oversize-mp3-{seed}", root, args.timeout, source=source,
                **common)
            remove_tree(source.parent)
            remove_tree(root / f"w-oversize-mp3-{seed}")

        source = root / "under" / "2024-03-03 just under the limit.txt"
        written_turns = write_transcript(source, dialogue_lines(text, None, 2.5), just_under)
        results["just_under"] = run_step("import", root / "w-under", root, args.timeout,
                                         source=source, me="Client", **common)
        results["just_under"]["file_bytes"] = source.stat().st_size
        results["just_under"]["written_turns"] = written_turns
        remove_tree(source.parent)
        remove_tree(root / "w-under")

        source = root / "long" / "2024-03-04 long session.txt"
        step = min(4.0, MAX_CLOCK_SECONDS / long_turns)
        write_transcript(source, dialogue_lines(text, long_turns, step))
        file_bytes = source.stat().st_size
        results["long_import"] = run_step("import", root / "w-long", root, args.timeout,
                                          source=source, me="Client", **common)
        results["long_import"]["file_bytes"] = file_bytes
        remove_tree(source.parent)
        results["long_open"] = run_step("open", root / "w-long", root, args.timeout, **common)
        remove_tree(root / "w-long")

        folder = root / "many"
        source_bytes = 0
        for n in range(vault_sessions):
            day = FIRST_DAY + dt.timedelta(days=7 * n)
            path = folder / f"{day.isoformat()} session {n + 1:04d}.txt"
            write_transcript(path, dialogue_lines(text, TURNS_PER_SESSION))
            source_bytes += path.stat().st_size
        results["many_import"] = run_step("import", root / "w-many", root, args.timeout,
                                          source=folder, me="Client", **common)
        results["many_import"]["file_bytes"] = source_bytes
        results["many_open"] = run_step("open", root / "w-many", root, args.timeout, **common)
    load_after = os.getloadavg()
    total_s = time.perf_counter() - started
    print_report(results, args, load_before, load_after, total_s)
    return 0


# ---- the report ------------------------------------------------------------------------------


def mb(n: float) -> str:
    return f"{n / MB:.1f} MB" if n >= MB / 10 else f"{n / 1000:.0f} kB"


def import_peak(r: dict[str, Any]) -> str:
    setup = "" if r["peak_reset"] else ", includes setup"
    return f"{r['peak_rss_mb']:.0f} MB ({r['rss_before_mb']:.0f} MB{setup})"


def seconds(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 0.01:
        return f"{s * 1000:.1f} ms"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.1f} s"


def verdict_refused(r: dict[str, Any], says_why: Sequence[str], unclear: str) -> str:
    """`says_why`: phrases of which the message must hold one to count as clear."""
    if "timed_out" in r:
        return f"NOT HANDLED: still running after {r['timed_out']:.0f} s"
    reason = " / ".join(r["reasons"])
    if r["imported"]:
        return f"ACCEPTED (imported {r['imported']} session(s))"
    if r["objects_after"] != r["objects_before"] or r["pending_after"]:
        return "refused, but the vault kept data from it"
    if any(phrase in reason for phrase in says_why):
        return "refused with a clear message"
    return f"refused; {unclear}"


def verdict_handled(r: dict[str, Any], expected: int) -> str:
    if "timed_out" in r:
        return f"NOT HANDLED: still running after {r['timed_out']:.0f} s"
    if r.get("imported", expected) != expected or r.get("failed"):
        return f"NOT HANDLED: {r.get('imported')} of {expected} imported, {r.get('reasons')}"
    return f"handled: peak RSS {r['peak_rss_mb']:.0f} MB"


def print_report(results: dict[str, dict[str, Any]], args: argparse.Namespace,
                 load_before: tuple[float, ...], load_after: tuple[float, ...],
                 total_s: float) -> None:
    rows: list[list[str]] = []

    def row(case: str, what: str, value: str, verdict: str = "") -> None:
        rows.append([case, what, value, verdict])

    def refusal_rows(case: str, r: dict[str, Any], says_why: Sequence[str],
                     unclear: str) -> None:
        row(case, "outcome", "timed out" if "timed_out" in r else
            (" / ".join(r["reasons"]) or "imported"), verdict_refused(r, says_why, unclear))
        if "timed_out" in r:
            return
        row(case, "time to the answer (import_paths)", seconds(r["import_s"]))
        if r["transcriber_load_s"] is not None:
            row(case, "  of which: loading the speech model", seconds(r["transcriber_load_s"]))
        row(case, "peak RSS during the import (RSS just before)", import_peak(r))
        row(case, "vault objects before / after",
            f"{r['objects_before']} / {r['objects_after']}"
            + (f", {r['pending_after']} unfinished recording(s)" if r["pending_after"] else ""))
        row(case, "vault size before / after",
            f"{mb(r['bytes_before'])} / {mb(r['bytes_after'])}")

    def after_rows(case: str, r: dict[str, Any]) -> None:
        trimmed = r["rss_after_trim_mb"]
        row(case, "RSS after the import / after malloc_trim(0)",
            f"{r['rss_after_mb']:.0f} / " + (f"{trimmed:.0f} MB" if trimmed else "-"))

    def open_rows(case: str, r: dict[str, Any]) -> None:
        if "timed_out" in r:
            row(case, "unlock + open_index + queries", "timed out",
                f"NOT HANDLED: still running after {r['timed_out']:.0f} s")
            return
        row(case, f"unlock + open_index: peak RSS (after {r['queries'] + WARM_UP_QUERIES} "
            "queries)", f"{r['peak_rss_ready_mb']:.0f} MB ({r['peak_rss_mb']:.0f} MB)",
            f"handled: peak RSS {r['peak_rss_mb']:.0f} MB")
        marks = r["marks"]
        row(case, "unlock (Argon2id floor)", seconds(marks["unlocked"]))
        row(case, "unlock -> words searchable", seconds(marks.get("lexical_ready")))
        row(case, "unlock -> meaning searchable (stage ready)",
            seconds(marks.get("vector_ready")))
        row(case, "RSS at words searchable / ready",
            f"{r['rss_lexical_ready_mb']:.0f} / {r['rss_ready_mb']:.0f} MB")
        row(case, f"query p50 / p95 / max, quotes(k=5), {r['queries']} queries",
            f"{r['p50_ms']:.1f} / {r['p95_ms']:.1f} / {r['max_ms']:.1f} ms"
            + (f" ({r['empty_results']} without hits)" if r["empty_results"] else ""))

    c1 = "1. 100 MB transcript (.txt)"
    from reflect.formats import MAX_TEXT_BYTES

    refusal_rows(c1, results["oversize_text"], (f"at most {MAX_TEXT_BYTES // MB} MB",),
                 "the message does not name the limit")
    for seed in range(args.mp3_files):
        c1b = f"1. 100 MB random bytes (.mp3), seed {seed}"
        refusal_rows(c1b, results[f"oversize_mp3_{seed}"],
                     ("not a recording", "not an audio", "not audio"),
                     "the message does not say it may not be audio")

    r = results["just_under"]
    c1c = f"1. {mb(r.get('file_bytes', 0))} transcript (just under)"
    row(c1c, "outcome", "timed out" if "timed_out" in r else
        f"{r['imported']} imported, {r['failed']} failed", verdict_handled(r, 1))
    if "timed_out" not in r:
        row(c1c, "import time / turns / chunks",
            f"{seconds(r['import_s'])} / {r['turns']:,} / {r['chunks']:,}")
        row(c1c, "peak RSS during the import (RSS just before)", import_peak(r))
        after_rows(c1c, r)

    r = results["long_import"]
    c2 = f"2. one session of {r.get('turns', 0):,} turns"
    row(c2, "import: outcome", "timed out" if "timed_out" in r else
        f"{r['imported']} imported, {r['failed']} failed", verdict_handled(r, 1))
    if "timed_out" not in r:
        row(c2, "import: file / time", f"{mb(r['file_bytes'])} / {seconds(r['import_s'])}")
        row(c2, "peak RSS during the import (RSS just before)", import_peak(r))
        after_rows(c2, r)
        row(c2, "chunks / index record size",
            f"{r['chunks']:,} / {mb(r['record_bytes'])}")
        row(c2, "import rate", f"{r['chunks'] / r['import_s']:.0f} chunks/s, "
            f"{r['turns'] / r['import_s']:.0f} turns/s")
        row(c2, "vault size on disk", mb(r["bytes_after"]))
    open_rows(c2, results["long_open"])

    r = results["many_import"]
    c3 = f"3. vault of {r.get('files', 0):,} sessions"
    row(c3, "import: outcome", "timed out" if "timed_out" in r else
        f"{r['imported']} imported, {r['failed']} failed",
        verdict_handled(r, r.get("files", 0)))
    if "timed_out" not in r:
        per = r["per_file_s"]
        tenth = max(1, len(per) // 10)
        row(c3, "import: total / turns / chunks",
            f"{seconds(r['import_s'])} / {r['turns']:,} / {r['chunks']:,}")
        row(c3, "import per session: p50 / p95 / slowest",
            f"{seconds(percentile(per, 50))} / {seconds(percentile(per, 95))} / "
            f"{seconds(max(per))}")
        row(c3, f"import per session: first {tenth} / last {tenth} (mean)",
            f"{seconds(float(np.mean(per[:tenth])))} / {seconds(float(np.mean(per[-tenth:])))}")
        row(c3, "peak RSS during the import (RSS just before)", import_peak(r))
        by_files = r["rss_by_files_mb"]
        marks = sorted({max(1, len(per) // 10), len(per) // 2, len(per)})
        row(c3, "RSS after " + " / ".join(f"{n:,}" for n in marks) + " sessions",
            " / ".join(f"{by_files[n]:.0f}" for n in marks) + " MB")
        after_rows(c3, r)
        row(c3, "source files / vault size on disk / index records",
            f"{mb(r['file_bytes'])} / {mb(r['bytes_after'])} / {mb(r['record_bytes'])}")
    open_rows(c3, results["many_open"])

    loads = [r.get("model_load_s") for r in results.values() if r.get("model_load_s")]
    if loads:
        row("setup", "load + warm the embedding model (not in import times)",
            seconds(min(loads)))

    embedder = ("FakeEmbedder(384) and FakeTranscriber (structure only, no model)"
                if args.fake_embedder else
                "the bundled all-MiniLM-L6-v2 (reflect's default) and, for the .mp3, the "
                "bundled Whisper base")
    print(f"# Limits, {dt.date.today().isoformat()}{', --quick' if args.quick else ''}\n")
    print(f"Machine: {_cpu_name()}, {os.cpu_count()} cores, "
          f"{_memory_gb():.0f} GB RAM, Python {platform.python_version()}; load average "
          f"{_load(load_before)} before, {_load(load_after)} after; {total_s / 60:.1f} min "
          "in all.")
    print(f"Models: {embedder}.\n")
    print(markdown_table(["case", "what", "value", "verdict"], rows))


def _load(values: Sequence[float]) -> str:
    return "/".join(f"{v:.2f}" for v in values)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    return float("nan")


if __name__ == "__main__":
    raise SystemExit(main())
