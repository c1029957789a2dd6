"""Find the moment: recall of the first five excerpts on questions in a client's own words.

    .venv/bin/python bench/bench_recall.py                 # dev questions only
    .venv/bin/python bench/bench_recall.py --heldout       # + the held-out third (end of a change)
    .venv/bin/python bench/bench_recall.py --misses        # list the dev questions missed
    .venv/bin/python bench/bench_recall.py --v3            # the fresh v3 set, once, at the end
    .venv/bin/python bench/bench_recall.py --v4            # the fresh v4 set, once, at the end
    .venv/bin/python bench/bench_recall.py --v5            # the fresh v5 set, once, at the end
    .venv/bin/python bench/bench_recall.py --v6            # the fresh v6 set, once, at the end
    .venv/bin/python bench/bench_recall.py --v7            # the fresh v7 set, once, at the end
    .venv/bin/python bench/bench_recall.py --v8            # the fresh v8 set, once, at the end
    .venv/bin/python bench/bench_recall.py --v9            # the fresh v9 set, once, at the end
    .venv/bin/python bench/bench_recall.py --v10           # the fresh v10 set, once, at the end
    .venv/bin/python bench/bench_recall.py --v11           # the fresh v11 set, once, at the end
    .venv/bin/python bench/bench_recall.py --v12           # the fresh v12 set, once, at the end
    .venv/bin/python bench/bench_recall.py --v13           # the fresh v13 set, once, at the end

Questions: `bench/eval/questions_annomi_v2.jsonl` (186 questions over the 133 AnnoMI sessions,
written without looking at any ranking; exact-quote questions are rendered from the CSV at run
time, see bench/eval/annomi_questions.py) and `bench/eval/questions_demo.jsonl` (55 over the
demo sessions). Each question is asked as the user typed it, with NO filters: who said it and
which words are quoted must be understood from the question itself.

Rows, per kind and split: recall@1, recall@5 and MRR (first right excerpt within the top 20)
for BM25 alone, vector alone, the old fused ranking (`Retriever.search` on the raw question)
and reflect's search as `reflect quotes` runs it now (`Reflect.quotes`). Abstention: the share
of no-answer questions answered "I couldn't find that" and of answerable ones refused
(`Answerer.prepare`, the decision taken before any model runs). Latency: warm p50/p95 of
`Reflect.quotes` over all questions.

The vaults are built in a temporary folder with the real bundled embedding model, exactly as
bench_retrieval.py builds them, and deleted at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "eval"))

from annomi_questions import load_set
from bench_retrieval import (
    CachingEmbedder,
    Corpus,
    annomi_csv_path,
    build_annomi,
    build_demo,
    markdown_table,
)

from reflect.answer import Answerer
from reflect.embedding import default_embedder
from reflect.retrieval import Hit
from reflect.testing import live_index_of

DEPTH = 20
# each scored once, by the integrator, at the end
FRESH_SETS = ("v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13")

Search = Callable[[str], list[Hit]]


def rank_of(corpus: Corpus, question: dict[str, Any], hits: Sequence[Hit]) -> int | None:
    for i, hit in enumerate(hits[:DEPTH], start=1):
        if corpus.is_hit(question, hit):
            return i
    return None


def scores(ranks: Sequence[int | None]) -> tuple[float, float, float]:
    n = len(ranks) or 1
    r1 = sum(1 for r in ranks if r == 1) / n
    r5 = sum(1 for r in ranks if r is not None and r <= 5) / n
    mrr = sum(1 / r for r in ranks if r is not None) / n
    return r1, r5, mrr


def with_alt_refs(corpus: Corpus) -> None:
    """A hit on any equally good place (`alt_refs`, re-enactments of one story) counts."""
    base = corpus.is_hit

    def is_hit(question: dict[str, Any], hit: Hit) -> bool:
        if base(question, hit):
            return True
        return any(
            base({**question, "transcript_id": ref["transcript_id"],
                  "utterance_ids": ref["utterance_ids"]}, hit)
            for ref in question.get("alt_refs") or ()
        )

    corpus.is_hit = is_hit


def searches(corpus: Corpus) -> dict[str, Search]:
    service = corpus.service
    retriever = live_index_of(service).retriever()  # the bench compares stages below the API
    me = service.me_labels()
    unlearned = live_index_of(service).retriever(me)  # the answer path's order
    return {
        # The baselines search the question as typed, as reflect did before it read questions.
        "BM25 only": lambda q: retriever.search(q, k=DEPTH, mode="lexical", as_typed=True),
        "vector only": lambda q: retriever.search(q, k=DEPTH, mode="vector", as_typed=True),
        "old fused": lambda q: retriever.search(q, k=DEPTH, mode="hybrid", as_typed=True),
        # Without the learned second stage (reflect/rerank.py): the order answers read.
        "reflect, unlearned": lambda q: unlearned.search(q, k=DEPTH),
        "reflect quotes": lambda q: service.quotes(q, k=DEPTH).hits,
    }


def refused(corpus: Corpus, question: str) -> bool:
    service = corpus.service
    retriever = live_index_of(service).retriever()
    me = service.me_labels()
    answerer = Answerer(retriever, retriever.embedder, _no_model, me_labels=me)
    return not answerer.prepare(question).evidence.found


def _no_model() -> Any:
    raise RuntimeError("the recall bench never runs the chat model")


def row_kind(question: dict[str, Any]) -> str:
    """The row a question is reported in: its kind, with the quotes of v5 on typed without
    quotation marks ("quote_marks": "none") in a row of their own."""
    if question.get("quote_marks") == "none":
        return f"{question['kind']} unquoted"
    return str(question["kind"])


def report(corpus: Corpus, questions: list[dict[str, Any]], split: str, misses: bool) -> None:
    chosen = [q for q in questions if split == "all" or q.get("split", "dev") == split]
    answerable = [q for q in chosen if q["kind"] != "no_answer"]
    kinds = sorted({row_kind(q) for q in answerable})
    modes = searches(corpus)
    ranks: dict[str, dict[str, int | None]] = {
        name: {q["id"]: rank_of(corpus, q, search(q["question"])) for q in answerable}
        for name, search in modes.items()
    }
    rows = []
    for kind in [*kinds, "all"]:
        subset = [q for q in answerable if kind in ("all", row_kind(q))]
        for name in modes:
            r1, r5, mrr = scores([ranks[name][q["id"]] for q in subset])
            rows.append([kind if name == "BM25 only" else "", name, str(len(subset)),
                         f"{r1:.2f}", f"{r5:.2f}", f"{mrr:.3f}"])
    print(f"\n### {corpus.name}, {split} questions\n")
    print(markdown_table(["kind", "search", "n", "R@1", "R@5", "MRR"], rows))
    no_answer = [q for q in chosen if q["kind"] == "no_answer"]
    abstained = sum(refused(corpus, q["question"]) for q in no_answer)
    wrongly = sum(refused(corpus, q["question"]) for q in answerable)
    print(f"\nAbstention: \"couldn't find that\" on {abstained}/{len(no_answer)} no-answer "
          f"questions, on {wrongly}/{len(answerable)} answerable ones.")
    if misses:
        print("\nMissed at 5 by reflect quotes (rank within 20, or -):")
        for q in answerable:
            r = ranks["reflect quotes"][q["id"]]
            if r is None or r > 5:
                print(f"  {q['id']} [{q['kind']}] {r or '-'}: {q['question']}")


def latency(corpus: Corpus, questions: Sequence[dict[str, Any]]) -> tuple[float, float]:
    service = corpus.service
    for q in questions[:5]:
        service.quotes(q["question"], k=5)  # warm-up
    times = []
    for q in questions:
        began = time.perf_counter()
        service.quotes(q["question"], k=5)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heldout", action="store_true",
                        help="also score the held-out third (only at the end of a change)")
    parser.add_argument("--misses", action="store_true", help="list dev questions missed at 5")
    parser.add_argument("--corpus", choices=("demo", "annomi", "both"), default="both")
    fresh = parser.add_mutually_exclusive_group()
    for name in FRESH_SETS:
        fresh.add_argument(f"--{name}", action="store_true",
                           help=f"score the fresh AnnoMI {name} set instead of v2 dev (scored "
                                "once, at the end: see bench/eval/README.md)")
    args = parser.parse_args(argv)
    fresh_set = next((name for name in FRESH_SETS if getattr(args, name)), None)
    if fresh_set and args.heldout:
        parser.error("--v3 to --v9 replace the v2 splits; use them without --heldout")
    embedder = CachingEmbedder(default_embedder())
    splits = ["fresh"] if fresh_set else ["dev", "heldout"] if args.heldout else ["dev"]
    with tempfile.TemporaryDirectory(prefix="reflect-recall-") as tmp:
        corpora: list[tuple[Corpus, list[dict[str, Any]]]] = []
        if args.corpus in ("annomi", "both"):
            annomi = build_annomi(Path(tmp), embedder)
            annomi.questions = load_set(annomi_csv_path(), fresh_set or "v2")
            with_alt_refs(annomi)
            corpora.append((annomi, annomi.questions))
        if args.corpus in ("demo", "both"):
            demo = build_demo(Path(tmp), embedder)
            corpora.append((demo, demo.questions))
        for corpus, questions in corpora:
            for split in splits:
                if corpus.name == "demo" and split == "heldout":
                    continue  # the demo set has no held-out part: it was used for tuning before
                report(corpus, questions, "all" if corpus.name == "demo" else split,
                       args.misses and split == "dev")
            p50, p95 = latency(corpus, questions)
            print(f"\nWarm `reflect quotes` latency on {corpus.name}: p50 {p50:.1f} ms, "
                  f"p95 {p95:.1f} ms ({len(questions)} questions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
