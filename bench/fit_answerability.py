"""Fit and judge the learned found / not-found decision (reflect/answer/evidence.py) by
leave-one-set-out.

    nice -n 10 .venv/bin/python bench/fit_answerability.py collect   # ask every dev question
    .venv/bin/python bench/fit_answerability.py evaluate             # rule against the fit
    .venv/bin/python bench/fit_answerability.py weights              # the shipped numbers

Questions: every dev set there is: the histories 1-9 (history's dev split, the others whole),
the demo set, and the AnnoMI sets v2-v9. Never a set still to be scored fresh. `collect` asks
each question as bench_answers.py / bench_recall.py do, with the rule deciding (the learned
decision off), and keeps the signals (`Evidence.features`) of the first decision each question
makes, labelled answerable or not by the question's kind. The rows are cached in a temporary
folder (derived from AnnoMI and the histories: never in the repository).

`evaluate`: for each set, a logistic regression fitted on the other sets judges it; for each
threshold, answerable questions refused and no-answer questions let through, pooled, against
the rule's own decisions on the same rows. `weights`: the fit on every set, printed as the
`AnswerabilityModel` to paste into evidence.py. scikit-learn is a bench dependency only: the
product reads the fitted numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "eval"))

import bench_answers as B
from annomi_questions import load_set
from bench_retrieval import CachingEmbedder, annomi_csv_path, build_annomi

import reflect.answer.answerer as answerer_module
from reflect.answer import Answerer
from reflect.answer.conversation import Conversation
from reflect.answer.evidence import ANSWERABILITY_FEATURES, ANSWERABILITY_MODEL
from reflect.embedding import default_embedder
from reflect.testing import live_index_of

CACHE = Path(
    os.environ.get("REFLECT_FIT_ANSWERABILITY_CACHE")
    or Path(tempfile.gettempdir()) / "reflect-fit-answerability"
)
HISTORIES = [
    ("h1", B.HISTORY, B.HISTORY_QUESTIONS, "Jonah", B.HISTORY_TODAY),
    ("h2", B.HISTORY2, B.HISTORY2_QUESTIONS, "Nadia", B.HISTORY2_TODAY),
    ("h3", B.HISTORY3, B.HISTORY3_QUESTIONS, "Martin", B.HISTORY3_TODAY),
    ("h4", B.HISTORY4, B.HISTORY4_QUESTIONS, "Freya", B.HISTORY4_TODAY),
    ("h5", B.HISTORY5, B.HISTORY5_QUESTIONS, "Elliot", B.HISTORY5_TODAY),
    ("h6", B.HISTORY6, B.HISTORY6_QUESTIONS, "Teo", B.HISTORY6_TODAY),
    ("h7", B.HISTORY7, B.HISTORY7_QUESTIONS, "Dom", B.HISTORY7_TODAY),
    ("h8", B.HISTORY8, B.HISTORY8_QUESTIONS, "Carmel", B.HISTORY8_TODAY),
    ("h9", B.HISTORY9, B.HISTORY9_QUESTIONS, "Ailsa", B.HISTORY9_TODAY),
]
ANNOMI_SETS = ("v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9")
C = 1.0  # scikit-learn's default regularisation; not tuned


@dataclasses.dataclass
class Row:
    set_name: str
    qid: str
    answerable: bool
    features: tuple[float, ...]
    rule_found: bool

    @property
    def fold(self) -> str:
        """A history's small vault asks the history's own questions: one fold for both."""
        return self.set_name.removesuffix("-small")


class FirstDecision:
    """Keeps the signals of the first decision a question makes (the answer path may decide
    again, e.g. on a topic read differently): wraps the answerer module's decide_found."""

    def __init__(self) -> None:
        self.original = answerer_module.decide_found
        self.first: Any = None
        answerer_module.decide_found = self  # type: ignore[assignment]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        evidence = self.original(*args, **kwargs)
        if self.first is None:
            self.first = evidence
        return evidence

    def take(self) -> Any:
        first, self.first = self.first, None
        return first


def collect(small: bool) -> None:
    """Every dev question's first decision; with `small`, the histories' small vaults (their
    first three sessions, with the questions whose gold is there and the no-answer ones) as
    bench_answers.py asks them, kept apart."""
    spy = FirstDecision()
    embedder = default_embedder()
    rows: list[Row] = []

    def keep(set_name: str, question: dict[str, Any]) -> None:
        evidence = spy.take()
        if evidence is not None and evidence.features:
            answerable = question["kind"] != "no_answer"
            rows.append(
                Row(set_name, question["id"], answerable, evidence.features, evidence.found)
            )

    def ask_all(name: str, answerer: Answerer, questions: list[dict[str, Any]]) -> None:
        for conversation in B.conversations(questions):
            state = Conversation()
            for question in conversation:
                spy.take()
                answerer.ask(question["question"], conversation=state)
                keep(name, question)
        print(f"{name}: {sum(r.set_name == name for r in rows)} rows", flush=True)

    if small:
        with tempfile.TemporaryDirectory() as tmp:
            for name, folder, path, me, today in HISTORIES:
                files = sorted(folder.glob("*.txt"))[: B.SMALL_SESSIONS]
                service = B.build_vault(Path(tmp), name, files, me, embedder)
                first_days = {s.day for s in service.sessions()}
                questions = B.load(path)
                splits = ["dev"] if name == "h1" else ["fresh"]
                chosen = B.small_vault_ids(questions, splits, first_days)
                answerer = B.deciding_by_rule(B.answerer_for(service, B.EmptyModel, today))
                before = len(rows)
                ask_all(f"{name}-small", answerer, questions)
                # Only the questions the small vault is scored on (the others run for the
                # conversations' sake).
                rows[before:] = [r for r in rows[before:] if r.qid in chosen]
        CACHE.mkdir(parents=True, exist_ok=True)
        (CACHE / "small.pickle").write_bytes(pickle.dumps(rows))
        return
    with tempfile.TemporaryDirectory() as tmp:
        demo = ("demo", B.DEMO_SESSIONS, B.DEMO_QUESTIONS, "Sam", B.DEMO_TODAY)
        for name, folder, path, me, today in [*HISTORIES, demo]:
            files = [folder] if name == "demo" else sorted(folder.glob("*.txt"))
            service = B.build_vault(Path(tmp), name, files, me, embedder)
            answerer = B.deciding_by_rule(B.answerer_for(service, B.EmptyModel, today))
            ask_all(name, answerer, [q for q in B.load(path) if q.get("split", "dev") != "heldout"])
        corpus = build_annomi(Path(tmp), CachingEmbedder(embedder))
        service = corpus.service
        retriever = live_index_of(service).retriever()
        answerer = B.deciding_by_rule(
            Answerer(retriever, retriever.embedder, B.EmptyModel, me_labels=service.me_labels())
        )
        for set_name in ANNOMI_SETS:
            for question in load_set(annomi_csv_path(), set_name):
                spy.take()
                answerer.prepare(question["question"])
                keep(f"a{set_name}", question)
            print(f"a{set_name}: {sum(r.set_name == 'a' + set_name for r in rows)} rows")
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "rows.pickle").write_bytes(pickle.dumps(rows))


class _RowUnpickler(pickle.Unpickler):
    """Rows pickled when this file ran as a script are `__main__.Row`."""

    def find_class(self, module: str, name: str) -> Any:
        return Row if name == "Row" else super().find_class(module, name)


def load_rows() -> list[Row]:
    rows: list[Row] = []
    for name in ("rows.pickle", "small.pickle"):
        if (CACHE / name).is_file():
            with (CACHE / name).open("rb") as f:
                rows.extend(_RowUnpickler(f).load())
    return rows


def fit(rows: list[Row], c: float = C) -> tuple[Any, np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    x = np.array([r.features for r in rows])
    y = np.array([r.answerable for r in rows], dtype=int)
    mu, sd = x.mean(0), x.std(0)
    sd[sd == 0] = 1.0
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    return model.fit((x - mu) / sd, y), mu, sd


def held_out_probabilities(rows: list[Row]) -> np.ndarray:
    p = np.zeros(len(rows))
    for name in sorted({r.fold for r in rows}):
        train = [r for r in rows if r.fold != name]
        model, mu, sd = fit(train)
        test = [i for i, r in enumerate(rows) if r.fold == name]
        x = np.array([rows[i].features for i in test])
        p[test] = model.predict_proba((x - mu) / sd)[:, 1]
    return p


def errors(
    rows: list[Row], found: np.ndarray, group: Callable[[str], bool]
) -> tuple[int, int, int, int]:
    chosen = [i for i, r in enumerate(rows) if group(r.set_name)]
    refused = sum(1 for i in chosen if rows[i].answerable and not found[i])
    through = sum(1 for i in chosen if not rows[i].answerable and found[i])
    answerable = sum(1 for i in chosen if rows[i].answerable)
    return refused, answerable, through, len(chosen) - answerable


GROUPS: dict[str, Callable[[str], bool]] = {
    "histories": lambda name: name.startswith("h") and not name.endswith("-small"),
    "small vaults": lambda name: name.endswith("-small"),
    "demo": lambda name: name == "demo",
    "AnnoMI": lambda name: name.startswith("a"),
    "all": lambda name: True,
}


def evaluate() -> None:
    rows = load_rows()
    p = held_out_probabilities(rows)
    rule = np.array([r.rule_found for r in rows])

    def line(label: str, found: np.ndarray) -> str:
        cells = []
        for name, group in GROUPS.items():
            refused, answerable, through, absent = errors(rows, found, group)
            cells.append(f"{name} {refused}/{answerable} refused, {absent - through}/{absent} held")
        return f"| {label} | " + " | ".join(cells) + " |"

    print(line("rule", rule))
    for threshold in np.arange(0.25, 0.61, 0.05):
        print(line(f"learned >= {threshold:.2f}", p >= threshold))
    if ANSWERABILITY_MODEL is not None:
        shipped = np.array([ANSWERABILITY_MODEL.probability(r.features) for r in rows])
        print(
            line(
                "shipped (fitted on all: not a held-out number)",
                shipped >= 0.0 + ANSWERABILITY_MODEL.threshold,
            )
        )


def weights(threshold: float) -> None:
    model, mu, sd = fit(load_rows())
    print(
        json.dumps(dict(zip(ANSWERABILITY_FEATURES, model.coef_[0].round(4).tolist(), strict=True)))
    )
    fmt = lambda v: ", ".join(f"{x:.4f}" for x in v)  # noqa: E731
    print("ANSWERABILITY_MODEL = AnswerabilityModel(")
    print(f"    weights=({fmt(model.coef_[0])}),")
    print(f"    means=({fmt(mu)}),")
    print(f"    scales=({fmt(sd)}),")
    x = np.array([r.features for r in load_rows()])
    print(f"    lows=({fmt(x.min(0))}),")
    print(f"    highs=({fmt(x.max(0))}),")
    print(f"    intercept={model.intercept_[0]:.4f},")
    print(f"    threshold={threshold},")
    print(")")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("collect", "evaluate", "weights"))
    parser.add_argument("--threshold", type=float, default=0.4, help="weights: the bar")
    parser.add_argument(
        "--small", action="store_true", help="collect: the histories' small vaults alone"
    )
    args = parser.parse_args(argv)
    if args.command == "collect":
        collect(args.small)
    elif args.command == "evaluate":
        evaluate()
    else:
        weights(args.threshold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
