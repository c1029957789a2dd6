"""Fast from cold (issue #18): whole `reflect` commands, timed from process start to exit.

    .venv/bin/python bench/bench_cold_start.py                    # ~25 min on 2 cores
    .venv/bin/python bench/bench_cold_start.py --work DIR         # keep (or reuse) the vaults
    .venv/bin/python bench/bench_cold_start.py --runs 3 --import-runs 1 --chunks 50000

Two vaults, both unlocked with an Argon2id setting tuned to this machine (as `reflect init`
chooses it, so the unlock costs what it costs a user):

* AnnoMI: the 133 transcripts written as "[hh:mm:ss] Client: ..." files and imported by the
  real `reflect init` + `reflect import --me Client` (that import is also the import row);
* generated: 50,000 chunks of word-bigram text with random vectors, made by
  bench_search_speed.py's `generate` step (see there), then re-keyed to the tuned setting.

Each command runs as its own process (`.venv/bin/reflect`, passphrase from the environment):
one warm-up run (the page cache, Python's bytecode cache), then --runs timed runs, of which the
median is reported. Peak memory is the child's own ru_maxrss (`os.wait4`), so each process is
measured alone. `ask` also reports when its first line reached stdout: the excerpts since
issue #18, the first words of the answer before.

Floors, measured in fresh processes alongside: the Argon2id unlock; the embedding model's load
and first query; for `ask`, raw llama.cpp on the same messages (load + generation, no checks);
for the app, unlock -> words searchable (decrypting every session and its index record).
Run it on a quiet machine: the load average at the start and the end is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench_retrieval import PASSPHRASE, read_annomi
from bench_search_speed import run_step, write_annomi_files
from common import markdown_table

HERE = Path(__file__).resolve()
REFLECT = Path(sys.executable).with_name("reflect")
QUOTE = "phone in the kitchen"
# A dev question (bench/eval/questions_annomi.jsonl a02) whose answer is in the AnnoMI vault.
QUESTION = "What did I say about having wine while I'm in the bath?"

GOALS = {  # seconds; from issue #18, for the AnnoMI vault unless the key names the generated one
    "sessions": 1.2,
    "quotes": 2.5,
    "ask_excerpts": 3.0,
    "app": 2.0,
    "app_generated": 8.0,
    "import": 40.0,
}


# ---- whole processes -------------------------------------------------------------------------


def run_process(argv: Sequence[str], env: dict[str, str]) -> dict[str, Any]:
    """Wall time, the child's own peak RSS, and when stdout first got a byte."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first: list[float] = []
    out: list[bytes] = []
    err: list[bytes] = []

    def read(stream: Any, into: list[bytes], mark: bool) -> None:
        for piece in iter(lambda: stream.read1(65536), b""):
            if mark and not first:
                first.append(time.perf_counter() - started)
            into.append(piece)

    readers = [threading.Thread(target=read, args=(proc.stdout, out, True)),
               threading.Thread(target=read, args=(proc.stderr, err, False))]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{b''.join(err).decode(errors='replace')}")
    # ru_maxrss is KiB on Linux.
    return {"wall_s": wall, "rss_mib": usage.ru_maxrss / 1024,
            "first_out_s": first[0] if first else wall, "stdout": b"".join(out).decode()}


def reflect_env(vault: Path) -> dict[str, str]:
    env = dict(os.environ, REFLECT_VAULT=str(vault), REFLECT_PASSPHRASE=PASSPHRASE)
    env.pop("REFLECT_PASSPHRASE_FILE", None)
    return env


def timed_runs(runs: int, once: Callable[[], dict[str, Any]]) -> list[dict[str, Any]]:
    once()  # warm-up: page cache, bytecode
    return [once() for _ in range(runs)]


def median(runs: Sequence[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


# ---- steps run in fresh processes (bench_search_speed.run_step protocol) --------------------


def step_floor(args: argparse.Namespace) -> dict[str, Any]:
    """The unlock alone, then the embedding model's load and one query embedding."""
    from reflect.embedding import default_embedder
    from reflect.service import Reflect

    started = time.perf_counter()
    service = Reflect.unlock(Path(args.work) / "vault", PASSPHRASE)
    unlock_s = time.perf_counter() - started
    service.lock()
    started = time.perf_counter()
    default_embedder().embed([QUOTE])
    return {"unlock_s": unlock_s, "embedder_s": time.perf_counter() - started}


def step_raw_llama(args: argparse.Namespace) -> dict[str, Any]:
    """Raw llama.cpp on the messages `reflect ask` builds for QUESTION: load + generation."""
    from bench_answer import raw_llama

    from reflect.answer import Answerer
    from reflect.answer.model_answer import prompt_messages, stop_lines
    from reflect.bundled import chat_model_path
    from reflect.llm import LlamaChatModel
    from reflect.service import Reflect

    service = Reflect.unlock(Path(args.work) / "vault", PASSPHRASE)
    service.open_index()
    retriever = service._live_index().retriever(service.me_labels())
    answerer = Answerer(retriever, retriever.embedder, lambda: None,  # type: ignore[arg-type,return-value]
                        me_labels=service.me_labels())
    prepared = answerer.prepare(QUESTION)
    started = time.perf_counter()
    model = LlamaChatModel(chat_model_path())
    load_s = time.perf_counter() - started
    messages = prompt_messages(answerer.prompts, prepared.question, prepared.excerpts)
    raw = raw_llama(model, messages, stop_lines(prepared.excerpts),
                    answerer.settings.max_answer_tokens)
    service.lock()
    return {"load_s": load_s, "generate_s": raw["total_ms"] / 1000,
            "raw_s": load_s + raw["total_ms"] / 1000, "found": prepared.evidence.found}


def step_rekey(args: argparse.Namespace) -> dict[str, Any]:
    """Give a vault made with the floor setting the one `reflect init` tunes for this machine."""
    from reflect.service import Reflect

    service = Reflect.unlock(Path(args.work) / "vault", PASSPHRASE)
    service.change_passphrase(PASSPHRASE)
    service.lock()
    return {}


STEPS = {"floor": step_floor, "raw_llama": step_raw_llama, "rekey": step_rekey}


# ---- building the vaults ---------------------------------------------------------------------


def import_annomi(work: Path) -> dict[str, Any]:
    """`reflect init` + `reflect import` of the AnnoMI files into work/vault; the import timed."""
    source = work / "source"
    if not source.exists():
        write_annomi_files(read_annomi(), source)
    vault = work / "vault"
    if vault.exists():
        shutil.rmtree(vault)
    env = reflect_env(vault)
    run_process([str(REFLECT), "init"], env)
    return run_process([str(REFLECT), "import", str(source), "--me", "Client"], env)


def generated_vault(work: Path, chunks: int) -> dict[str, Any]:
    if (work / "vault").exists():
        return {}
    result = run_step("generate", work, chunks=chunks)
    run_step("rekey", work, script=HERE)
    return result


# ---- measuring -------------------------------------------------------------------------------


def measure_vault(work: Path, runs: int, ask: bool) -> dict[str, Any]:
    env = reflect_env(work / "vault")
    reflect = str(REFLECT)
    results: dict[str, Any] = {
        "sessions": timed_runs(runs, lambda: run_process([reflect, "sessions"], env)),
        "quotes": timed_runs(runs, lambda: run_process([reflect, "quotes", QUOTE], env)),
        "open": [run_step("open", work) for _ in range(runs)],
        "floor": [run_step("floor", work, script=HERE) for _ in range(runs)],
    }
    if ask:
        results["ask"] = timed_runs(runs, lambda: run_process([reflect, "ask", QUESTION], env))
        results["raw"] = [run_step("raw_llama", work, script=HERE) for _ in range(runs)]
    return results


def report(name: str, r: dict[str, Any], imported: list[dict[str, Any]] | None,
           generated: bool) -> list[list[str]]:
    rows: list[list[str]] = []

    def row(what: str, runs: Sequence[dict[str, Any]], key: str, floor: str,
            goal: float | None, goal_text: str | None = None) -> None:
        value = median(runs, key)
        memory = f"{median(runs, 'rss_mib'):.0f} MiB" if "rss_mib" in runs[0] else "-"
        status = "-" if goal is None else ("PASS" if value <= goal else "MISS")
        shown_goal = goal_text or ("-" if goal is None else f"<= {goal:g} s")
        rows.append([what, name, f"{value:.2f} s", memory,
                     ", ".join(f"{x[key]:.2f}" for x in runs), floor, shown_goal, status])

    unlock = median(r["floor"], "unlock_s")
    embedder = median(r["floor"], "embedder_s")
    row("`reflect sessions`", r["sessions"], "wall_s", f"unlock {unlock:.2f} s",
        None if generated else GOALS["sessions"])
    row("`reflect quotes`", r["quotes"], "wall_s",
        f"unlock + embedder {unlock + embedder:.2f} s", None if generated else GOALS["quotes"])
    if "ask" in r:
        row("`reflect ask`: first line on stdout", r["ask"], "first_out_s", "-",
            None if generated else GOALS["ask_excerpts"])
        raw = median(r["raw"], "raw_s")
        row("`reflect ask`: whole answer", r["ask"], "wall_s",
            f"raw llama.cpp {raw:.2f} s (load {median(r['raw'], 'load_s'):.2f})",
            None if generated else GOALS["ask_excerpts"] + raw,
            f"<= 3 s + raw = {GOALS['ask_excerpts'] + raw:.1f} s")
    opens = [{"ready_s": o["marks"]["first_query"] - o["marks"]["unlocked"],
              "words_s": o["marks"]["lexical_ready"] - o["marks"]["unlocked"],
              "rss_mib": o["peak_rss_mib"]} for o in r["open"]]
    row("app: unlocked -> first meaning search answered", opens, "ready_s",
        f"decrypt + words {median(opens, 'words_s'):.2f} s",
        GOALS["app_generated" if generated else "app"])
    if imported:
        row("`reflect import` of the AnnoMI files", imported, "wall_s", "-", GOALS["import"])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measure (median)")
    parser.add_argument("--import-runs", type=int, default=1,
                        help="timed imports (each ~1-2 min); 0 reuses --work's AnnoMI vault")
    parser.add_argument("--chunks", type=int, default=50_000, help="generated vault size")
    parser.add_argument("--no-generated", action="store_true", help="AnnoMI vault only")
    parser.add_argument("--no-annomi", action="store_true",
                        help="generated vault only (with --import-runs 0)")
    parser.add_argument("--no-ask", action="store_true", help="skip `reflect ask` (no LLM)")
    parser.add_argument("--work", help="keep the vaults here (reused when present)")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        import json

        Path(args.out).write_text(json.dumps(STEPS[args.step](args)))
        return 0

    load_before = os.getloadavg()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reflect-cold-") as tmp:
        root = Path(args.work) if args.work else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        annomi = root / "annomi"
        annomi.mkdir(exist_ok=True)
        imported = [import_annomi(annomi) for _ in range(args.import_runs)]
        rows: list[list[str]] = []
        if not args.no_annomi:
            if not (annomi / "vault").exists():
                raise SystemExit("no AnnoMI vault: run with --import-runs 1 at least once")
            rows += report("AnnoMI, 133 sessions",
                           measure_vault(annomi, args.runs, not args.no_ask),
                           imported, generated=False)
            print_table(rows, args.runs, load_before, started)  # kept if a later part fails
        if not args.no_generated:
            generated_vault(root / "generated", args.chunks)
            rows += report(f"generated, {args.chunks:,} chunks",
                           measure_vault(root / "generated", args.runs, not args.no_ask),
                           None, generated=True)
            print_table(rows, args.runs, load_before, started)
    return 0


def print_table(rows: list[list[str]], runs: int, load_before: tuple[float, ...],
                started: float) -> None:
    load_now = os.getloadavg()
    print(f"# Fast from cold, {dt.date.today().isoformat()}, {os.cpu_count()} cores; median of "
          f"{runs} run(s) after a warm-up; load average {load_before[0]:.1f} at the start, "
          f"{load_now[0]:.1f} now; {time.perf_counter() - started:.0f} s\n")
    print(markdown_table(["command", "vault", "median", "peak RSS", "runs (s)", "floor", "goal",
                          "result"], rows), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
