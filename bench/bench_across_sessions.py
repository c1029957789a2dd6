"""Across sessions: timeline precision/recall, recap coverage, agreements precision/recall,
and the time each takes, on the invented history and on the demo. Real embedding model.

    .venv/bin/python bench/bench_across_sessions.py

Two temporary vaults (floor-strength key derivation, thrown away) are filled with
bench/eval/history (me = "Jonah") and reflect/demo/sessions (me = "Sam"), and every number
comes from `Reflect.timeline`, `Reflect.recap` and `Reflect.agreements`, as the app calls them.

- Timeline: for each theme of bench/eval/themes_history.jsonl, the sessions counted against
  the hand-marked ones; precision and recall of sessions, pooled over themes. The thresholds
  were chosen on the even-numbered themes (dev); the odd ones are held out. On the demo the
  gold is the sessions bench/eval/README.md names for each theme ("The topics return"): a
  lower bound on precision, since the README names the notable mentions, not all of them
  ("sleep" is said in all eight demo sessions).
- Recap: a topic of bench/eval/recaps_history.jsonl is covered when its evidence is inside a
  moment (strict), or inside a chunk a moment was drawn from (the topic was reached).
  Its cost at import: for each session, its sealed recap is removed and `Reflect.recap` run,
  which does what import does after storing a session (the index record decoded, the moments
  chosen, the recap sealed in its own transaction), plus reading the record back from the
  vault, which import has in hand: an upper bound. Beside it, the whole import per session
  (parsing, embedding, sealing) and a read of a sealed recap.
- Agreements: found agreements matched to bench/eval/agreements_history.jsonl (proposal or
  acceptance inside the found words or reply) and bench/eval/agreements_demo.jsonl (any
  evidence string). The rules were written looking at the history; the demo is the check
  (hand-marked from its script after a first look at what the rules found there, and no
  rule was changed after that look). Follow-up recall: gold follow-up sessions (history)
  among the linked ones.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import markdown_table

from reflect import crypto
from reflect.index_record import decode_index_record
from reflect.ingest import ImportOptions
from reflect.recap import recap_of
from reflect.records import recap_name
from reflect.service import Reflect
from reflect.testing import store_of, vault_of

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HISTORY = HERE / "eval" / "history"
DEMO = REPO / "reflect" / "demo" / "sessions"
PASSPHRASE = "benchmark passphrase, not a secret"

# The demo's themes as bench/eval/README.md lists them, by session number.
DEMO_THEMES = {
    "sleep": (1, 2, 5, 7, 8),
    "drinking": (1, 2, 3, 6, 7, 8),
    "work": (1, 2, 7, 8),
    "my sister's wedding": (1, 4, 5, 6, 8),
    "running": (2, 4, 5, 8),
    "my grandmother": (1, 4, 5, 6, 7, 8),
    "panic on the train": (1, 3, 5, 8),
    "journaling": (3, 4, 5),
    "boundaries with mum": (4, 5, 8),
}


def jsonl(name: str) -> list[dict[str, Any]]:
    text = (HERE / "eval" / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


IMPORT_SECONDS: dict[str, float] = {}  # per vault, the whole import


def vault(tmp: str, name: str, source: Path, me: str) -> tuple[Reflect, float]:
    service = Reflect.create(Path(tmp) / name, PASSPHRASE, kdf=crypto.floor_kdf_params())
    began = time.perf_counter()
    report = service.import_paths([source], ImportOptions(me=me))
    IMPORT_SECONDS[name] = time.perf_counter() - began
    if report.failed:
        raise SystemExit(f"import of {source.name} failed")
    began = time.perf_counter()
    service.open_index()
    return service, time.perf_counter() - began


def recap_cost_row(label: str, name: str, service: Reflect) -> list[str]:
    """What sealing a recap adds to importing a session, and what reading a sealed one costs."""
    sealing, reading = [], []
    sessions = service.sessions()
    for summary in sessions:
        vault_of(service).delete(recap_name(summary.id))
        began = time.perf_counter()
        service.recap(summary.id)
        sealing.append(time.perf_counter() - began)
        assert store_of(service).recap(summary.id) is not None
        began = time.perf_counter()
        service.recap(summary.id)
        reading.append(time.perf_counter() - began)
    per_session = IMPORT_SECONDS[name] / len(sessions)
    return [
        label,
        f"{1000 * per_session:.0f}",
        f"{1000 * statistics.median(sealing):.1f} (max {1000 * max(sealing):.1f})",
        f"{1000 * statistics.median(reading):.1f}",
    ]


def ratio(a: int, b: int) -> str:
    return f"{a / b:.2f} ({a}/{b})" if b else "n/a"


def files_of(service: Reflect) -> dict[str, str]:
    return {s.id: s.source_file for s in service.sessions()}


def timeline_scores(
    service: Reflect, gold: list[tuple[str, set[str]]]
) -> tuple[int, int, int, list[float]]:
    files = files_of(service)
    tp = found = wanted = 0
    times = []
    for topic, sessions in gold:
        began = time.perf_counter()
        timeline = service.timeline(topic)
        times.append(time.perf_counter() - began)
        got = {files[s.session_id] for s in timeline.sessions}
        tp += len(got & sessions)
        found += len(got)
        wanted += len(sessions)
    return tp, found, wanted, times


def timeline_rows(label: str, service: Reflect, gold: list[tuple[str, set[str]]]) -> list[str]:
    tp, found, wanted, times = timeline_scores(service, gold)
    return [label, ratio(tp, found), ratio(tp, wanted), f"{1000 * statistics.median(times):.0f}"]


def recap_scores(service: Reflect) -> list[str]:
    gold = {g["session_file"]: g["topics"] for g in jsonl("recaps_history.jsonl")}
    strict = reached = total = 0
    times = []
    for summary in service.sessions():
        session = service.session(summary.id)
        record = store_of(service).index_record(session.id)
        assert record is not None
        _, chunks, vectors = decode_index_record(record)
        began = time.perf_counter()
        moments = recap_of(session, chunks, vectors)
        times.append(time.perf_counter() - began)
        drawn = [
            session.text[c.char_start : c.char_end]
            for c in chunks
            if any(c.char_start < m.char_end and m.char_start < c.char_end for m in moments)
        ]
        for topic in gold[session.source_file]:
            strict += any(topic["evidence"] in m.text for m in moments)
            reached += any(topic["evidence"] in t for t in drawn)
            total += 1
    return [ratio(strict, total), ratio(reached, total), f"{1000 * statistics.median(times):.1f}"]


def agreement_scores(
    service: Reflect, gold: list[dict[str, Any]], evidence: Any
) -> tuple[list[str], Any]:
    files = files_of(service)
    began = time.perf_counter()
    found = service.agreements()
    elapsed = time.perf_counter() - began
    matched: set[str] = set()
    right = 0
    pairs = []
    for agreement in found:
        text = agreement.words.text + "\n" + (agreement.reply.text if agreement.reply else "")
        ids = [
            g["id"]
            for g in gold
            if g["session_file"] == files[agreement.session_id]
            and any(e in text for e in evidence(g))
        ]
        right += bool(ids)
        matched.update(ids)
        pairs.append((agreement, ids))
    row = [ratio(right, len(found)), ratio(len(matched), len(gold)), f"{elapsed:.2f}"]
    return row, pairs


def follow_up_recall(service: Reflect, pairs: Any, gold: list[dict[str, Any]]) -> str:
    files = files_of(service)
    by_id = {g["id"]: g for g in gold}
    linked = wanted = 0
    for agreement, ids in pairs:
        later = {files[h.session_id] for h in agreement.follow_ups}
        for gid in ids:
            for follow in by_id[gid]["follow_ups"]:
                wanted += 1
                linked += follow["session_file"] in later
    return ratio(linked, wanted)


def main() -> int:
    themes = [(t["theme"], {s["session_file"] for s in t["sessions"]})
              for t in jsonl("themes_history.jsonl")]
    history_gold = jsonl("agreements_history.jsonl")
    demo_gold = jsonl("agreements_demo.jsonl")
    with tempfile.TemporaryDirectory(prefix="reflect-across-") as tmp:
        history, history_open = vault(tmp, "history", HISTORY, "Jonah")
        demo, demo_open = vault(tmp, "demo", DEMO, "Sam")
        demo_files = sorted(files_of(demo).values())
        demo_themes = [
            (topic, {f for f in demo_files if any(f" session {n}." in f for n in numbers)})
            for topic, numbers in DEMO_THEMES.items()
        ]
        print(f"index opened in {history_open:.1f} s (history), {demo_open:.1f} s (demo)\n",
              file=sys.stderr)
        print("Timeline (sessions counted)\n")
        print(markdown_table(
            ["set", "precision", "recall", "median ms"],
            [
                timeline_rows("history, dev themes", history, themes[0::2]),
                timeline_rows("history, held-out themes", history, themes[1::2]),
                timeline_rows("history, all 8 themes", history, themes),
                timeline_rows("demo, 9 README themes", demo, demo_themes),
            ],
        ))
        print("\nRecap (history, 63 topics in 12 sessions)\n")
        print(markdown_table(["strict coverage", "topic reached", "median ms per session"],
                             [recap_scores(history)]))
        print("\nRecap cost at import (ms per session)\n")
        print(markdown_table(
            ["set", "whole import", "recap sealed, median", "sealed recap read, median"],
            [recap_cost_row("history (12 sessions)", "history", history),
             recap_cost_row("demo (8 sessions)", "demo", demo)],
        ))
        history_row, history_pairs = agreement_scores(
            history, history_gold,
            lambda g: [g["proposal"]] + ([g["acceptance"]] if g["acceptance"] else []),
        )
        demo_row, _ = agreement_scores(demo, demo_gold, lambda g: g["evidence"])
        print("\nAgreements\n")
        print(markdown_table(
            ["set", "precision", "recall", "seconds (with follow-ups)"],
            [["history (14, rules written on it)", *history_row],
             ["demo (20, held out)", *demo_row]],
        ))
        print(f"\nFollow-ups linked (history): "
              f"{follow_up_recall(history, history_pairs, history_gold)}")
        history.lock()
        demo.lock()
    return 0


if __name__ == "__main__":
    sys.exit(main())
