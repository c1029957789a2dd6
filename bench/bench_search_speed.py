"""Search speed against its targets: import, unlock to searchable, query latency, memory.

    .venv/bin/python bench/bench_search_speed.py           # about 11 minutes on 2 cores
    .venv/bin/python bench/bench_search_speed.py --quick   # about 3 minutes: smaller, one run

What is measured (each measurement in a fresh Python process, so that model loading, imports
and peak memory belong to it alone; everything lives in a temporary folder):

1. import: the AnnoMI transcripts written as "[hh:mm:ss] Client: ..." .txt files and imported
   with `Reflect.import_paths` (parse, chunk, embed, seal, store), against the embedding model
   alone on the same chunk texts in the same per-session batches. Target: within 15%. The
   model is loaded and warmed before either is timed.
2. unlock: `Reflect.unlock` (Argon2id at the floor settings, 64 MiB / 3 passes) then
   `open_index` with a progress callback: time until `lexical_ready` (words searchable) and
   until stage "ready" (meaning searchable; includes loading the embedding model).
3. query latency: ~100 varied hybrid `Reflect.quotes()` calls (the evaluation questions, some
   quoted, with their speaker filters), after 3 warm-up queries. Targets: p50 < 30 ms at the
   AnnoMI vault, < 100 ms at 50,000 chunks.
4. memory: peak RSS (`resource.getrusage` ru_maxrss) of the process that unlocks and queries,
   and the Python-heap peak during `open_index` (tracemalloc, in a separate untimed run:
   tracemalloc slows Python code down, and it cannot see SQLite, chromadb or torch memory).

The 50,000-chunk vault is generated: sessions of alternating Client/Therapist turns whose text
is drawn from a word-bigram model of the AnnoMI utterances (sentence-like, realistic word
frequencies), chunked by the real chunker. Its index records hold random 384-d unit vectors
under the bundled model's id, so unlocking loads them as it would real embeddings rather than
embedding 50,000 chunks (about an hour here). Query vectors are real, so the nearest
neighbours are meaningless, but the work chromadb does is the same size.

The machine is shared; each unlock/query measurement runs --runs times (default 2) and the
best run is reported, with every run's value alongside. The import runs once by default
(--import-runs), its embedding-alone reference timed just before and just after it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from bench_retrieval import (
    ANNOMI_QUESTIONS,
    DEMO_QUESTIONS,
    PASSPHRASE,
    Utterance,
    annomi_date,
    load_questions,
    read_annomi,
)
from common import BigramText, markdown_table, percentile

from reflect import crypto
from reflect.chunking import chunk_session, embedding_text, sentence_spans
from reflect.embedding import default_embedder
from reflect.formats import parse_transcript
from reflect.index_record import decode_index_record, encode_index_record
from reflect.ingest import ImportOptions, content_hash
from reflect.live_index import IndexProgress, record_identity
from reflect.service import Reflect, SearchFilters
from reflect.session import Session, build_text
from reflect.testing import live_index_of, store_of
from reflect.transcript import Turn

HERE = Path(__file__).resolve()
WARM_UP_QUERIES = 3
SYNTHETIC_DIMENSION = 384
# About 100 chunks per generated session: a 50-minute session, chunked the way reflect does.
SYNTHETIC_TURNS_PER_SESSION = 180
SYNTHETIC_FIRST_DAY = dt.date(2015, 1, 5)


# ---- steps, each run in its own process ------------------------------------------------------


def rss_mib() -> float:
    """Resident memory now (Linux /proc), MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def write_annomi_files(transcripts: dict[int, list[Utterance]], folder: Path) -> int:
    """The transcripts as "[hh:mm:ss] Client: ..." files named by a synthetic date."""
    folder.mkdir(parents=True)
    for transcript_id, utterances in transcripts.items():
        lines = []
        for u in utterances:
            seconds = int(u.seconds or 0)
            stamp = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            lines.append(f"[{stamp}] {u.speaker}: {u.text}")
        name = f"{annomi_date(transcript_id).isoformat()} annomi {transcript_id:03d}.txt"
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(transcripts)


def chunk_texts(folder: Path) -> list[list[str]]:
    """What an import of `folder` will embed, per file: parsed and chunked the same way."""
    per_file = []
    for path in sorted(folder.iterdir()):
        parsed = parse_transcript(path.read_bytes(), path.name)
        text, turns = build_text(parsed.turns)
        session = Session(id="x", title="", date=dt.date.today(), date_source="option",
                          source_file=path.name, content_hash="", imported_at="",
                          format=parsed.format, text=text, turns=turns)
        per_file.append([embedding_text(session, c) for c in chunk_session(session)])
    return per_file


def embed_per_session(embedder: Any, per_session: Sequence[Sequence[str]]) -> float:
    started = time.perf_counter()
    for texts in per_session:
        embedder.embed(texts)
    return time.perf_counter() - started


def step_import(args: argparse.Namespace) -> dict[str, Any]:
    transcripts = read_annomi()
    if args.sessions:
        transcripts = dict(list(transcripts.items())[: args.sessions])
    work = Path(args.work)
    write_annomi_files(transcripts, work / "source")

    started = time.perf_counter()
    embedder = default_embedder()
    embedder.load()
    embedder.embed(["warming up the model before anything is timed"])
    model_load_s = time.perf_counter() - started

    # The model alone on the same texts, in the same per-session batches, timed before and
    # after the import: the machine is shared, and the mean of the two cancels a slow drift.
    per_session = chunk_texts(work / "source")
    embed_before_s = embed_per_session(embedder, per_session)
    service = Reflect.create(work / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params(),
                             embedder_factory=lambda: embedder)
    started = time.perf_counter()
    report = service.import_paths([work / "source"], ImportOptions(me="Client"))
    import_s = time.perf_counter() - started
    if report.failed or report.count("imported") != len(transcripts):
        raise SystemExit(f"import went wrong: {report.summary()}")
    embed_after_s = embed_per_session(embedder, per_session)
    stored_chunks = 0
    for summary in service.sessions():
        record = store_of(service).index_record(summary.id)
        assert record is not None
        stored_chunks += len(decode_index_record(record)[1])
    all_texts = [t for texts in per_session for t in texts]
    assert stored_chunks == len(all_texts), "the import chunked differently from chunk_texts"
    embed_all_s = None
    if args.one_call:
        started = time.perf_counter()
        embedder.embed(all_texts)
        embed_all_s = time.perf_counter() - started
    service.lock()
    embed_s = (embed_before_s + embed_after_s) / 2
    return {
        "sessions": len(per_session),
        "chunks": len(all_texts),
        "turns": sum(r.turns for r in report.results),
        "model_load_s": model_load_s,
        "import_s": import_s,
        "embed_before_s": embed_before_s,
        "embed_after_s": embed_after_s,
        "embed_s": embed_s,
        "embed_all_s": embed_all_s,
        "overhead": import_s / embed_s - 1,
    }


def step_generate(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(20240501)
    vectors_rng = np.random.default_rng(20240501)
    transcripts = read_annomi()
    text = BigramText([u.text for us in transcripts.values() for u in us], rng)
    # What a record must carry to be used as is (model + chunking); the model is not loaded.
    identity = record_identity(default_embedder())
    service = Reflect.create(Path(args.work) / "vault", PASSPHRASE,
                             kdf=crypto.floor_kdf_params())
    started = time.perf_counter()
    chunks_total = sessions = words = 0
    while chunks_total < args.chunks:
        turns = []
        clock = 5.0
        for n in range(SYNTHETIC_TURNS_PER_SESSION):
            client = n % 2 == 1
            # Clients talk at length, therapists mostly reflect and ask; both backchannel.
            length = rng.choice((2, 12, 40, 70, 120)) if client else rng.choice((2, 10, 25, 45))
            spoken = text.utterance(length)
            turns.append(Turn("Client" if client else "Therapist", spoken, start=clock))
            clock += len(spoken.split()) / 2.5 + rng.uniform(0.4, 1.6)
        body, stored = build_text(turns)
        session = Session(
            id=f"syn{sessions:05d}",
            title=f"Generated session {sessions + 1}",
            date=SYNTHETIC_FIRST_DAY + dt.timedelta(days=7 * sessions),
            date_source="option",
            source_file=f"generated-{sessions:05d}.txt",
            content_hash=content_hash(turns),
            imported_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            format="generated",
            text=body,
            turns=stored,
        )
        chunks = chunk_session(session)
        vectors = vectors_rng.standard_normal((len(chunks), SYNTHETIC_DIMENSION))
        vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
        spans = sentence_spans(session)
        said = vectors_rng.standard_normal((len(spans), SYNTHETIC_DIMENSION)).astype(np.float32)
        store_of(service).add(session, encode_index_record(identity, chunks, vectors, spans, said))
        chunks_total += len(chunks)
        words += len(body.split())
        sessions += 1
    service.set_me("Client")
    service.lock()
    return {"sessions": sessions, "chunks": chunks_total, "words": words,
            "generate_s": time.perf_counter() - started}


def speed_queries() -> list[tuple[str, SearchFilters]]:
    """The evaluation questions with their speaker filters (dates belong to other vaults)."""
    queries = []
    for path in (DEMO_QUESTIONS, ANNOMI_QUESTIONS):
        for q in load_questions(path):
            queries.append((q["question"], SearchFilters(speaker=q.get("speaker"))))
    return queries


def step_open(args: argparse.Namespace) -> dict[str, Any]:
    if args.tracemalloc:
        tracemalloc.start()
    marks: dict[str, float] = {}
    memory: dict[str, float] = {}
    started = time.perf_counter()

    def progress(p: IndexProgress) -> None:
        now = time.perf_counter() - started
        if p.lexical_ready and "lexical_ready" not in marks:
            marks["lexical_ready"] = now
            memory["rss_lexical_ready"] = rss_mib()
            if args.tracemalloc:
                # Split the peak: decrypting and word-indexing the sessions, then the rest
                # (loading vectors into chromadb, importing the model's Python side).
                memory["heap_words_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.reset_peak()
        if p.stage == "vectors" and "model_loaded" not in marks:
            marks["model_loaded"] = now
        if p.vector_ready and "vector_ready" not in marks:
            marks["vector_ready"] = now

    service = Reflect.unlock(Path(args.work) / "vault", PASSPHRASE)
    marks["unlocked"] = time.perf_counter() - started
    service.open_index(progress)
    # The live index is private to Reflect; only its size and the query model are read here.
    live = live_index_of(service)
    result: dict[str, Any] = {"marks": marks, "sessions": len(service.sessions()),
                              "chunks": live.index.chunk_count}
    if args.tracemalloc:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result.update(heap_words_mib=memory["heap_words_mib"], heap_vectors_mib=peak / 2**20)
        service.lock()
        return result
    memory["rss_ready"] = rss_mib()

    queries = speed_queries()
    # "ready" comes before the model is loaded (the embedder loads on first use): the first
    # search by meaning is the moment the user actually gets one.
    service.quotes(queries[0][0], k=5, filters=queries[0][1])
    marks["first_query"] = time.perf_counter() - started
    memory["rss_first_query"] = rss_mib()
    for query, filters in queries[1:WARM_UP_QUERIES]:
        service.quotes(query, k=5, filters=filters)
    latencies, filtered, unfiltered = [], [], []
    for query, filters in queries:
        began = time.perf_counter()
        service.quotes(query, k=5, filters=filters)
        elapsed = (time.perf_counter() - began) * 1000
        latencies.append(elapsed)
        (filtered if filters.speaker else unfiltered).append(elapsed)
    import torch

    threads = torch.get_num_threads()
    # The query's embedding alone, to tell the model's share from the index's.
    embedder = live.embedder()
    embedding = []
    for query, _ in queries:
        began = time.perf_counter()
        embedder.embed([query])
        embedding.append((time.perf_counter() - began) * 1000)
    result.update(
        queries=len(latencies),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p50_speaker_filter_ms=percentile(filtered, 50),
        p50_no_filter_ms=percentile(unfiltered, 50),
        torch_threads=threads,
        p50_query_embedding_ms=percentile(embedding, 50),
        peak_rss_mib=peak_rss_mib(),
        **memory,
    )
    service.lock()
    return result


def step_startup(args: argparse.Namespace) -> dict[str, Any]:
    """Fixed costs a fresh process pays before search: starting chromadb (the index is
    created, with its chromadb collection, before any session is added) and loading the
    embedding model."""
    from reflect.index import SearchIndex

    started = time.perf_counter()
    SearchIndex().close()
    chroma_s = time.perf_counter() - started
    started = time.perf_counter()
    embedder = default_embedder()
    embedder.embed(["the first query loads the model"])
    model_s = time.perf_counter() - started
    return {"chroma_start_s": chroma_s, "model_load_s": model_s}


STEPS = {"import": step_import, "generate": step_generate, "open": step_open,
         "startup": step_startup}


# ---- the parent: runs the steps, prints the table ------------------------------------------


def run_step(step: str, work: Path, *, script: Path = HERE, **options: Any) -> dict[str, Any]:
    """Run `script --step STEP` in a fresh process; its JSON result. `script`: another bench
    script with the same --step/--work/--out protocol (bench_cold_start.py reuses this)."""
    out = work / f"result-{step}-{time.monotonic_ns()}.json"
    command = [sys.executable, str(script), "--step", step, "--work", str(work), "--out", str(out)]
    for name, value in options.items():
        if value is True:
            command.append(f"--{name.replace('_', '-')}")
        elif value not in (None, False):
            command += [f"--{name.replace('_', '-')}", str(value)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    result: dict[str, Any] = json.loads(out.read_text())
    print(f"  {step} {work.name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return result


def best(runs: Sequence[dict[str, Any]], key: Any) -> tuple[dict[str, Any], str]:
    """The run with the lowest value of `key`, and every run's value (for the 'runs' column)."""
    chosen = min(runs, key=key)
    return chosen, ", ".join(_fmt_number(key(r)) for r in runs)


def _fmt_number(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="40 AnnoMI sessions, 10,000 generated chunks, one run each")
    parser.add_argument("--runs", type=int,
                        help="runs of each unlock/query measurement (default 2, quick 1)")
    parser.add_argument("--import-runs", type=int,
                        help="runs of the import measurement (default 1: it takes ~5 minutes)")
    parser.add_argument("--one-call", action="store_true",
                        help="also time embedding all chunk texts in one call (+~1.5 min)")
    parser.add_argument("--chunks", type=int, help="generated vault size (default 50,000)")
    parser.add_argument("--no-tracemalloc", action="store_true")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--sessions", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.step:
        result = STEPS[args.step](args)
        Path(args.out).write_text(json.dumps(result))
        return 0

    runs = args.runs or (1 if args.quick else 2)
    chunks = args.chunks or (10_000 if args.quick else 50_000)
    sessions = args.sessions or (40 if args.quick else None)
    started = time.perf_counter()
    read_annomi()  # fail early, before any child process, when the CSV is missing
    with tempfile.TemporaryDirectory(prefix="reflect-speed-") as tmp:
        root = Path(tmp)
        import_runs = args.import_runs or 1
        imports = [run_step("import", root / f"annomi-{i}", sessions=sessions,
                            one_call=args.one_call and i == 0)
                   for i in range(import_runs)]
        startup = [run_step("startup", root) for _ in range(runs)]
        annomi_work = root / f"annomi-{import_runs - 1}"
        annomi_open = [run_step("open", annomi_work) for _ in range(runs)]
        generated = run_step("generate", root / "generated", chunks=chunks)
        generated_open = [run_step("open", root / "generated") for _ in range(runs)]
        heap: dict[str, dict[str, Any]] = {}
        if not args.no_tracemalloc:
            heap["annomi"] = run_step("open", annomi_work, tracemalloc=True)
            heap["generated"] = run_step("open", root / "generated", tracemalloc=True)
    print_report(imports, startup, annomi_open, generated, generated_open, heap, runs)
    print(f"\ntotal {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


def print_report(imports: list[dict[str, Any]], startup: list[dict[str, Any]],
                 annomi_open: list[dict[str, Any]],
                 generated: dict[str, Any], generated_open: list[dict[str, Any]],
                 heap: dict[str, float], runs: int) -> None:
    rows: list[list[str]] = []

    def row(what: str, case: str, target: str, measured: str, all_runs: str,
            ok: bool | None) -> None:
        status = "-" if ok is None else ("PASS" if ok else "MISS")
        rows.append([what, case, target, measured, all_runs, status])

    imp, _ = best(imports, lambda r: r["overhead"])
    row("import vs embedding alone",
        f"{imp['sessions']} AnnoMI sessions, {imp['chunks']} chunks",
        "<= +15%",
        f"{imp['overhead'] * 100:+.1f}% ({imp['import_s']:.1f} s vs {imp['embed_s']:.1f} s)",
        "%: " + ", ".join(f"{r['overhead'] * 100:+.1f}" for r in imports),
        imp["overhead"] <= 0.15)
    first = imports[0]
    if first["embed_all_s"] is not None:
        row("  embedding alone, per session / all in one call", "same chunk texts", "-",
            f"{first['embed_s']:.1f} s / {first['embed_all_s']:.1f} s", "first run", None)
    for key, what in (("chroma_start_s", "start chromadb (fresh process)"),
                      ("model_load_s", "load the embedding model (fresh process)")):
        chosen, all_runs = best(startup, lambda r, k=key: r[k])
        row(what, "fixed cost", "-", f"{chosen[key]:.2f} s", f"s: {all_runs}", None)
    for label, opens, target_ms in (
        (f"{annomi_open[0]['sessions']} AnnoMI sessions, {annomi_open[0]['chunks']} chunks",
         annomi_open, 30),
        (f"generated: {generated['sessions']} sessions, {generated['chunks']} chunks",
         generated_open, 100),
    ):
        for mark, what in (("unlocked", "unlock (Argon2id floor)"),
                           ("lexical_ready", "unlock -> words searchable"),
                           ("vector_ready", 'unlock -> stage "ready"'),
                           ("first_query", "unlock -> first hybrid search answered")):
            chosen, all_runs = best(opens, lambda r, m=mark: r["marks"][m])
            row(what, label, "-", f"{chosen['marks'][mark]:.2f} s", f"s: {all_runs}", None)
        chosen, all_runs = best(opens, lambda r: r["p50_ms"])
        row("query p50, hybrid quotes()", label, f"< {target_ms} ms",
            f"{chosen['p50_ms']:.1f} ms", f"ms: {all_runs}", chosen["p50_ms"] < target_ms)
        row("query p95", label, "-", f"{chosen['p95_ms']:.1f} ms",
            "ms: " + ", ".join(f"{r['p95_ms']:.1f}" for r in opens), None)
        row("  of which: query embedding p50", label, "-",
            f"{chosen['p50_query_embedding_ms']:.1f} ms",
            "ms: " + ", ".join(f"{r['p50_query_embedding_ms']:.1f}" for r in opens), None)
        row("  p50 with / without speaker filter", label, "-",
            f"{chosen['p50_speaker_filter_ms']:.1f} / {chosen['p50_no_filter_ms']:.1f} ms",
            "", None)
        chosen, all_runs = best(opens, lambda r: r["peak_rss_mib"])
        row("peak RSS (ru_maxrss)", label, "-", f"{chosen['peak_rss_mib']:.0f} MiB",
            f"MiB: {all_runs}", None)
        row("  RSS: words searchable / ready / model loaded", label, "-",
            f"{chosen['rss_lexical_ready']:.0f} / {chosen['rss_ready']:.0f} / "
            f"{chosen['rss_first_query']:.0f} MiB", "", None)
    for name, label in (("annomi", "AnnoMI vault"), ("generated", "generated vault")):
        if name in heap:
            row("Python heap peak (tracemalloc): until words searchable / after", label, "-",
                f"{heap[name]['heap_words_mib']:.0f} / {heap[name]['heap_vectors_mib']:.0f} MiB",
                "", None)
    row("generate + seal the generated vault (setup, not a target)",
        f"{generated['words']:,} words", "-", f"{generated['generate_s']:.0f} s", "", None)

    cpu = _cpu_name()
    threads = annomi_open[0]["torch_threads"]
    print(f"# Search speed, {dt.date.today().isoformat()}, {os.cpu_count()} cores, {cpu}, "
          f"torch on {threads} thread(s), OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; "
          f"best of {runs} run(s)\n")
    print(markdown_table(["measure", "case", "target", "measured (best run)", "all runs",
                          "result"], rows))


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    raise SystemExit(main())
