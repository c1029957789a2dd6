"""Import speed (issue #18): the AnnoMI transcripts imported into a fresh vault, with the floor.

    .venv/bin/python bench/bench_import_speed.py                      # 133 sessions, 3 rounds
    .venv/bin/python bench/bench_import_speed.py --sessions 40 --rounds 2
    .venv/bin/python bench/bench_import_speed.py --plan "grouped:2,one at a time:1"

--plan lists the runs of a round as variant:threads, threads being torch's threads for bulk
embedding (reflect's default is every core; a question's embedding always uses one here).

Each round runs these variants, each in a fresh process, one after the other (interleaved, so
drift on a shared machine hits them alike); the table gives medians over the rounds:

* `grouped`: `Reflect.import_paths` as `reflect import` runs it: text files read in groups
  whose sessions are embedded in one call (reflect/import_batches.py), each stored alone;
* `one at a time`: the same with grouping off: each session embedded on its own (the import
  before issue #18's import row);
* `floor`: the embedding model alone on exactly the texts the import embeds, in the same
  groups: what an import costs if parsing, chunking, sealing and writing were free.

Times are wall seconds from the call to `import_paths` to its return, the model not yet loaded
(as in `reflect import`); the model's load is in it, and also reported alone. Where the time
goes: embedding (every call to the embedder), storing (`SessionStore.add`: encrypting and
writing the session and its index record), recaps (computing and sealing each session's
recap), the rest (reading, parsing, chunking). Peak RSS is the process's own ru_maxrss. The
load average is printed beside each run: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench_retrieval import PASSPHRASE, read_annomi
from bench_search_speed import peak_rss_mib, run_step, write_annomi_files
from common import markdown_table

HERE = Path(__file__).resolve()
VARIANTS = ("grouped", "one at a time", "floor")
# The default (grouped, every core), the same on one thread, the code before (one session at a
# time, one thread), and the floor at the best setting measured (2 threads on 2 cores).
DEFAULT_PLAN = "grouped:2,one at a time:1,floor:2,grouped:1"


class TimedEmbedder:
    """The real embedder, adding up the time spent in its `embed` calls."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.texts: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed(self, texts: Sequence[str], **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.embed(texts, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started
            self.texts.append(list(texts))


def timed(owner: Any, name: str, into: dict[str, float]) -> None:
    """Wrap `owner.name` so that its time adds up in `into[name]`."""
    inner: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            into[name] = into.get(name, 0.0) + time.perf_counter() - started

    setattr(owner, name, wrapper)


def step_import(args: argparse.Namespace) -> dict[str, Any]:
    from reflect import crypto, ingest
    from reflect.bundled import embedding_model_path
    from reflect.embedding import SentenceTransformerEmbedder
    from reflect.service import Reflect
    from reflect.testing import store_of

    work = Path(args.work)
    embedder = TimedEmbedder(
        SentenceTransformerEmbedder(embedding_model_path(), threads=1, bulk_threads=args.threads)
    )
    if args.variant == "one at a time":
        grouped = ingest.import_paths

        def one_at_a_time(*a: Any, **kw: Any) -> Any:
            kw.pop("batch_indexer", None)
            return grouped(*a, **kw)

        ingest.import_paths = one_at_a_time  # type: ignore[assignment]
    vault = Path(tempfile.mkdtemp(prefix="vault-", dir=work)) / "vault"
    service = Reflect.create(
        vault, PASSPHRASE, kdf=crypto.floor_kdf_params(), embedder_factory=lambda: embedder
    )  # type: ignore[arg-type,return-value]
    parts: dict[str, float] = {}
    timed(store_of(service), "add", parts)
    timed(service, "_seal_imported", parts)
    timed(embedder.inner, "load", parts)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    report = service.import_paths([work / "source"], ingest.ImportOptions(me="Client"))
    import_s = time.perf_counter() - started
    if report.failed or report.count("imported") != args.sessions:
        raise SystemExit(f"import went wrong: {report.summary()}")
    service.lock()
    if args.variant == "grouped":
        # What it embedded, for the floor (public AnnoMI text, in the bench's temp folder).
        (work / "embedded.json").write_text(json.dumps(embedder.texts))
    embed_s = embedder.seconds - parts.get("load", 0.0)
    return {
        "wall_s": import_s,
        "load_before": load,
        "load_after": os.getloadavg()[0],
        "rss_mib": peak_rss_mib(),
        "model_load_s": parts.get("load", 0.0),
        "embed_s": embed_s,
        "calls": len(embedder.texts),
        "chunks": sum(len(t) for t in embedder.texts),
        "store_s": parts.get("add", 0.0),
        "recap_s": parts.get("_seal_imported", 0.0),
        "other_s": import_s
        - embedder.seconds
        - parts.get("add", 0.0)
        - parts.get("_seal_imported", 0.0),
    }


def step_floor(args: argparse.Namespace) -> dict[str, Any]:
    """The embedding model alone on the grouped import's texts, in its groups."""
    from reflect.bundled import embedding_model_path
    from reflect.embedding import SentenceTransformerEmbedder

    groups = json.loads((Path(args.work) / "embedded.json").read_text())
    embedder = SentenceTransformerEmbedder(
        embedding_model_path(), threads=args.threads, bulk_threads=args.threads
    )
    started = time.perf_counter()
    embedder.load()
    embedder.embed(["warming up the model before anything is timed"] * 9)
    model_load_s = time.perf_counter() - started
    load = os.getloadavg()[0]
    started = time.perf_counter()
    for texts in groups:
        embedder.embed(texts)
    embed_s = time.perf_counter() - started
    return {
        "wall_s": embed_s,
        "embed_s": embed_s,
        "model_load_s": model_load_s,
        "load_before": load,
        "load_after": os.getloadavg()[0],
        "rss_mib": peak_rss_mib(),
        "calls": len(groups),
        "chunks": sum(len(t) for t in groups),
    }


STEPS = {"import": step_import, "floor": step_floor}


def run_variant(variant: str, work: Path, sessions: int, threads: int) -> dict[str, Any]:
    if variant == "floor":
        return run_step("floor", work, script=HERE, threads=threads)
    return run_step(
        "import", work, script=HERE, variant=variant, sessions=sessions, threads=threads
    )


def table(results: dict[tuple[str, int], list[dict[str, Any]]]) -> str:
    rows = []
    floors = [r["wall_s"] for (v, _), runs in results.items() if v == "floor" for r in runs]
    floor = (
        min(
            statistics.median([r["wall_s"] for r in runs])
            for (v, _), runs in results.items()
            if v == "floor"
        )
        if floors
        else None
    )
    for (variant, threads), runs in results.items():

        def med(key: str, runs: list[dict[str, Any]] = runs) -> float:
            return statistics.median(r.get(key, 0.0) for r in runs)

        parts = (
            "-"
            if variant == "floor"
            else (
                f"embed {med('embed_s'):.1f} / store {med('store_s'):.1f} / recaps "
                f"{med('recap_s'):.1f} / model load {med('model_load_s'):.1f} / rest "
                f"{med('other_s'):.1f}"
            )
        )
        rows.append(
            [
                variant,
                str(threads),
                f"{med('wall_s'):.1f} s",
                f"{med('rss_mib'):.0f} MiB",
                ", ".join(f"{r['wall_s']:.1f} (load {r['load_before']:.1f})" for r in runs),
                f"{med('chunks') / med('embed_s'):.1f}",
                f"{med('calls'):.0f}",
                parts,
                "-" if floor is None else f"{floor:.1f} s",
                "PASS" if med("wall_s") <= 40 else "MISS",
            ]
        )
    return markdown_table(
        [
            "variant",
            "threads",
            "median",
            "peak RSS",
            "runs (s, load avg)",
            "chunks/s",
            "embed calls",
            "where the time goes (s)",
            "floor",
            "goal <= 40 s",
        ],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each variant (median)")
    parser.add_argument("--sessions", type=int, default=133, help="AnnoMI sessions to import")
    parser.add_argument(
        "--plan",
        default=DEFAULT_PLAN,
        help=f"a round's runs, variant:threads comma-separated; variants: {', '.join(VARIANTS)}",
    )
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        Path(args.out).write_text(json.dumps(STEPS[args.step](args)))
        return 0

    plan = [(v.strip(), int(n)) for v, n in (p.rsplit(":", 1) for p in args.plan.split(","))]
    if unknown := {v for v, _ in plan} - set(VARIANTS):
        parser.error(f"unknown variant(s): {', '.join(sorted(unknown))}")
    load_before = os.getloadavg()
    started = time.perf_counter()
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="reflect-import-") as tmp:
        work = Path(tmp)
        transcripts = dict(list(read_annomi().items())[: args.sessions])
        write_annomi_files(transcripts, work / "source")
        if plan[0][0] == "floor":
            run_variant("grouped", work, args.sessions, plan[0][1])  # what the floor embeds
        for _ in range(args.rounds):
            for variant, n in plan:
                result = run_variant(variant, work, args.sessions, n)
                results.setdefault((variant, n), []).append(result)
                # Every run in full as it ends: a long benchmark cut short still says something.
                print(
                    f"  {variant}, {n} thread(s): {json.dumps(result)}", file=sys.stderr, flush=True
                )
    print(
        f"# Import of {args.sessions} AnnoMI sessions, {os.cpu_count()} cores; median of "
        f"{args.rounds} round(s), variants interleaved; load average {load_before[0]:.1f} "
        f"at the start, {os.getloadavg()[0]:.1f} at the end; "
        f"{time.perf_counter() - started:.0f} s\n"
    )
    print(table(results), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
