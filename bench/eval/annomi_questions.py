"""Load the AnnoMI v2-v10 question sets (questions_annomi_v2/.../v10.jsonl) for a benchmark.

The repository carries no AnnoMI text. Exact-quote questions therefore store their quote as a
reference into the corpus ("quote_ref": utterance_id, start_word, end_word, word indices into
utterance_text.split(), end exclusive) and a question template containing "{quote}". load_set()
reads the AnnoMI CSV, cuts the quote out of the utterance, applies the optional
"quote_variant" ("lower": lower case, "no_punct": punctuation removed) and fills the template.

    from annomi_questions import load_set, load_v2
    questions = load_v2("/path/to/AnnoMI-simple.csv")
    fresh = load_set("/path/to/AnnoMI-simple.csv", "v3")  # v3 on: all split "fresh"

Every returned record is a copy of the JSONL record; exact-quote records get "question" (the
rendered text), "question_template" (the stored template) and "quote" (the rendered quote).
From v5 on, "quote_marks": "none" tags a quote typed without quotation marks around it (the
template has none); it changes nothing in the rendering and lets a benchmark report those apart.

The dev/heldout split is a seeded draw, see heldout_ids(). Standard library only.
"""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
V2_QUESTIONS = HERE / "questions_annomi_v2.jsonl"
V3_QUESTIONS = HERE / "questions_annomi_v3.jsonl"
V4_QUESTIONS = HERE / "questions_annomi_v4.jsonl"
V5_QUESTIONS = HERE / "questions_annomi_v5.jsonl"
V6_QUESTIONS = HERE / "questions_annomi_v6.jsonl"
V7_QUESTIONS = HERE / "questions_annomi_v7.jsonl"
V8_QUESTIONS = HERE / "questions_annomi_v8.jsonl"
V9_QUESTIONS = HERE / "questions_annomi_v9.jsonl"
V10_QUESTIONS = HERE / "questions_annomi_v10.jsonl"
V11_QUESTIONS = HERE / "questions_annomi_v11.jsonl"
V12_QUESTIONS = HERE / "questions_annomi_v12.jsonl"
V13_QUESTIONS = HERE / "questions_annomi_v13.jsonl"
QUESTION_SETS = {
    "v2": V2_QUESTIONS,
    "v3": V3_QUESTIONS,
    "v4": V4_QUESTIONS,
    "v5": V5_QUESTIONS,
    "v6": V6_QUESTIONS,
    "v7": V7_QUESTIONS,
    "v8": V8_QUESTIONS,
    "v9": V9_QUESTIONS,
    "v10": V10_QUESTIONS,
    "v11": V11_QUESTIONS,
    "v12": V12_QUESTIONS,
    "v13": V13_QUESTIONS,
}
SPLIT_SEED = "reflect-annomi-v2"
QUOTE_VARIANTS = ("lower", "no_punct")
QUOTE_MARKS = ("none",)  # v5 on: the quote is typed bare, without quotation marks


def read_corpus(csv_path: str | Path) -> dict[tuple[int, int], dict[str, str]]:
    """Map (transcript_id, utterance_id) to the CSV row."""
    with Path(csv_path).open(encoding="utf-8", newline="") as f:
        return {(int(r["transcript_id"]), int(r["utterance_id"])): r for r in csv.DictReader(f)}


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def apply_variant(quote: str, variant: str | None) -> str:
    """Misremember the quote in case or punctuation only."""
    if not variant:
        return quote
    if variant == "lower":
        return quote.lower()
    if variant == "no_punct":
        # keep apostrophes inside words (don't, I'm); drop everything else that is not a word
        text = re.sub(r"(?<![A-Za-z0-9])'|'(?![A-Za-z0-9])", " ", quote)
        text = re.sub(r"[^\w\s']", " ", text)
        return " ".join(text.split())
    raise ValueError(f"unknown quote_variant {variant!r}")


def quote_text(utterance_text: str, start_word: int, end_word: int) -> str:
    return " ".join(utterance_text.split()[start_word:end_word])


def norm_tokens(text: str) -> list[str]:
    """Case- and punctuation-insensitive word tokens, used to find a quote in the corpus."""
    return re.findall(r"[a-z0-9]+", text.lower().replace("'", "").replace("\u2019", ""))


def render(q: dict[str, Any], corpus: dict[tuple[int, int], dict[str, str]]) -> dict[str, Any]:
    out = dict(q)
    ref = q.get("quote_ref")
    if ref:
        row = corpus[(q["transcript_id"], ref["utterance_id"])]
        quote = apply_variant(
            quote_text(row["utterance_text"], ref["start_word"], ref["end_word"]),
            q.get("quote_variant"),
        )
        out["question_template"] = q["question"]
        out["question"] = q["question"].replace("{quote}", quote)
        out["quote"] = quote
    return out


def load_rendered(csv_path: str | Path, questions_path: str | Path) -> list[dict[str, Any]]:
    """A question file with every "{quote}" template filled in from the AnnoMI CSV."""
    corpus = read_corpus(csv_path)
    return [render(q, corpus) for q in read_jsonl(questions_path)]


def load_set(csv_path: str | Path, name: str = "v2") -> list[dict[str, Any]]:
    """The questions of set `name` ("v2", or one of the fresh sets "v3" on, each
    scored once at the end of a change) with every "{quote}" template filled in from the CSV."""
    return load_rendered(csv_path, QUESTION_SETS[name])


def load_v2(csv_path: str | Path) -> list[dict[str, Any]]:
    """The v2 questions (dev and held-out splits), rendered."""
    return load_set(csv_path, "v2")


def heldout_ids(records: list[dict[str, Any]], seed: str = SPLIT_SEED) -> set[str]:
    """The seeded draw: for each kind, one third (rounded half up) of its ids, sampled with
    random.Random(f"{seed}/{kind}") from the ids sorted."""
    by_kind: dict[str, list[str]] = {}
    for r in records:
        by_kind.setdefault(str(r.get("kind")), []).append(str(r.get("id")))
    held: set[str] = set()
    for kind, ids in sorted(by_kind.items()):
        ids.sort()
        k = int(len(ids) / 3 + 0.5)
        held |= set(random.Random(f"{seed}/{kind}").sample(ids, k))
    return held
