"""Answer quality on the demo evaluation set: the whole `Reflect.ask` path, real models.

    .venv/bin/python bench/bench_answer_quality.py                    # all 55 questions
    .venv/bin/python bench/bench_answer_quality.py --limit 5 --kinds paraphrase,no_answer
    .venv/bin/python bench/bench_answer_quality.py --json --out /tmp/answers.json

A vault is created in a temporary folder (fast, floor-strength key derivation: the vault is
thrown away), the invented demo sessions in `reflect/demo/sessions` are imported with me =
"Sam", and every question of `bench/eval/questions_demo.jsonl` is asked through
`Reflect.ask` with the default models: the bundled embedding model and whatever chat model
`Reflect` resolves by default (normally the bundled Qwen2.5-Coder-0.5B). Nothing is faked.
Each question carries its filters: date_from/date_to become `SearchFilters(since, until)` and
the question's `speaker` ("me"/"therapist") a speaker filter, as in bench_retrieval.py.

What is measured, overall and per kind:

- right citation: an answerable question's answer cites an excerpt whose text contains one
  of its `answer_contains` strings (case- and whitespace-insensitive). Failures are split
  into refused (found=False), answer not among the excerpts the model was given, and given
  but not cited;
- found: answerable questions answered (found=True), i.e. the recall of "found";
- abstention on `no_answer` questions (abstain = found=False): precision over every
  abstention, recall over the no_answer questions;
- quotes: every passage in quotation marks in the text shown to the user is checked here,
  independently of reflect's own verifier (own quote finder, own normalisation of case,
  spacing, punctuation and apostrophes), against the texts of the excerpts the answer cites.
  A quote that is not verbatim there and not listed in `Answer.unverified_quotes` is shown
  unflagged: the target is zero. Quotes under three words (which reflect does not check)
  are counted apart;
- new words: sentences the model wrote (and reflect showed) that use a word found in
  neither their cited excerpts nor the question, by a crude prefix match of the benchmark's
  own; it catches invented details ("the dog sat on a bench"), not wrong recombinations;
- extractive fallback, safety message, time to first token, total time, tokens/s;
- a sweep of `EvidenceThresholds` that re-decides found/not found from the recorded hits
  and question similarity with `decide_found` (no model runs), and the recommended setting.

The chat model is loaded once before the first question (its load time is reported on its
own); after that, llama.cpp's prompt cache holds the fixed prompt prefix, as in the app.
`--json` writes one record per question to `--out` (default: a new temporary folder).
Nothing else is written outside the temporary vault, which is deleted at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import markdown_table

from reflect import crypto
from reflect.answer import Answer, EvidenceThresholds, decide_found
from reflect.ingest import ImportOptions
from reflect.retrieval import Hit
from reflect.service import Reflect, SearchFilters

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEMO_SESSIONS = REPO / "reflect" / "demo" / "sessions"
DEMO_QUESTIONS = HERE / "eval" / "questions_demo.jsonl"

PASSPHRASE = "benchmark passphrase, not a secret"
KIND_ORDER = ("paraphrase", "exact_quote", "therapist", "date_filter", "speaker", "no_answer")
# reflect's verifier only checks quotes of three words or more; shorter ones are reported
# apart so the headline count compares like with like.
CHECKED_QUOTE_WORDS = 3
# The evidence bounds that matter with an embedder loaded (words_only_coverage only decides
# while vectors are still loading, which never happens here).
SWEPT_PARAMETERS = ("strong_similarity", "min_coverage", "min_similarity", "partial_coverage",
                    "partial_similarity", "no_terms_similarity")


# ---- the benchmark's own text checks (deliberately not reflect's) -----------------------------


def folded(text: str) -> str:
    """For "does this answer string occur": case and spacing only."""
    return " ".join(text.casefold().replace("’", "'").split())


def quote_key(text: str) -> str:
    """For "is this quote verbatim": case, spacing, punctuation and apostrophes folded away.

    Apostrophes are removed (not spaced) so "don't", "don’t" and "dont" all meet; every
    other non-word character becomes a space. NFKC first, so "…" and full-width forms fold.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"['’‘`]", "", text)
    return " ".join(re.sub(r"[^\w]|_", " ", text).split())


# Double quotes of either style; single quotes only when they open after a space or bracket
# and close before a space or punctuation, so the apostrophe in "don't" is not a quote mark.
_QUOTE_PATTERNS = (
    re.compile(r'"([^"\n]+)"'),
    re.compile(r"“([^”\n]+)”"),
    re.compile(r"(?:^|(?<=[\s(\[:]))['‘]([^\n]+?)['’](?=$|[\s.,;:!?)\]])"),
)
_ELLIPSIS = re.compile(r"\.\.\.|…")


def quoted_passages(text: str) -> list[str]:
    found = []
    for pattern in _QUOTE_PATTERNS:
        found.extend(m.group(1).strip() for m in pattern.finditer(text))
    return [q for q in found if quote_key(q)]


def is_verbatim(quote: str, sources: Sequence[str]) -> bool:
    """Every piece between ellipses occurs in one source text (a quote may skip words)."""
    pieces = [quote_key(p) for p in _ELLIPSIS.split(quote)]
    pieces = [p for p in pieces if p]
    keys = [quote_key(s) for s in sources]
    return bool(pieces) and any(all(p in k for p in pieces) for k in keys)


# Words that frame an answer ("You said...", "Your therapist suggested...") or carry no
# content; everything else a model sentence says must come from its excerpt or the question.
_FRAME_TEXT = """
    you your yours yourself said say says told tell telling mentioned mention talked talk
    talking spoke described shared explained asked wondered noticed felt feel feeling think
    thought therapist counsellor counselor session sessions also and but so the a an of to in
    on at for with that this these those it its was were is are be been being had has have
    did do does not no as about from by or if when then than there their they them he she
    her his him we our us me my what which who whom how why would could should can will
    just like one some any all very really into out up over after before again once too
    suggested suggest recommended recommend kind way thing things something
"""
_FRAME_WORDS = frozenset(_FRAME_TEXT.split())
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_CITED_SENTENCE = re.compile(r"(.*?)((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)[.!?…]*", re.DOTALL)


def _word_list(text: str) -> list[str]:
    return [w.replace("’", "'") for w in _WORD.findall(unicodedata.normalize("NFKC", text)
                                                         .casefold())]


def _shares_stem(word: str, known: set[str]) -> bool:
    """Crude on purpose: words agreeing on their first five letters (or on all of the
    shorter one, at least three) count as one, so "ringing"/"ring" and "minutes"/"minute"
    meet. It errs towards finding a word, so what it reports is really new."""
    for other in known:
        pairs = zip(word, other, strict=False)  # the shorter word ends the comparison
        common = next((i for i, (a, b) in enumerate(pairs) if a != b),
                      min(len(word), len(other)))
        if common >= 3 and common >= min(5, len(word), len(other)):
            return True
    return False


def unsupported_words(answer: Answer) -> list[tuple[str, list[str]]]:
    """For a model-written answer: each shown sentence with the words it uses that neither
    its cited excerpts nor the question contain. Extractive answers are reflect's own
    verbatim quotes, so there is nothing to check."""
    if not answer.found or answer.extractive or answer.scope_redirect:
        return []
    by_number = {e.n: e.hit.text for e in answer.excerpts}
    question_words = set(_word_list(answer.question))
    flagged = []
    for match in _CITED_SENTENCE.finditer(answer.text):
        sentence = match.group(1).strip()
        numbers = [int(n) for n in re.findall(r"\d+", match.group(2))]
        known = question_words.union(*(_word_list(by_number.get(n, "")) for n in numbers))
        new = [w for w in dict.fromkeys(_word_list(sentence))
               if len(w) >= 3 and w not in _FRAME_WORDS and not _shares_stem(w, known)]
        if new:
            flagged.append((sentence, new))
    return flagged


# ---- one question, asked and scored ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuoteCheck:
    quote: str
    words: int
    verbatim_in_cited: bool
    verbatim_in_other_excerpt: bool   # supplied to the model, but not cited
    flagged: bool                     # listed in Answer.unverified_quotes

    @property
    def checked_length(self) -> bool:
        return self.words >= CHECKED_QUOTE_WORDS

    @property
    def shown_unflagged(self) -> bool:
        return not self.verbatim_in_cited and not self.flagged

    @property
    def status(self) -> str:
        if self.verbatim_in_cited:
            return "verbatim"
        if self.flagged:
            return "flagged"
        if self.verbatim_in_other_excerpt:
            return "UNFLAGGED, from an uncited excerpt"
        return "UNFLAGGED, in no excerpt"


@dataclass(slots=True)
class Result:
    question: dict[str, Any]
    filters: SearchFilters
    answer: Answer
    right_cited: bool
    right_in_excerpts: bool
    right_in_hits: bool
    quotes: list[QuoteCheck]
    new_words: list[tuple[str, list[str]]]
    wall_s: float

    @property
    def kind(self) -> str:
        return str(self.question["kind"])

    @property
    def answerable(self) -> bool:
        return self.kind != "no_answer"

    @property
    def model_ran(self) -> bool:
        return self.answer.found and not self.answer.scope_redirect

    @property
    def outcome(self) -> str:
        a = self.answer
        if not self.answerable:
            return "abstained" if not a.found else "ANSWERED (should abstain)"
        if self.right_cited:
            return "right excerpt cited"
        if not a.found:
            return "refused (not found)"
        if not self.right_in_excerpts:
            return "answer not among excerpts"
        return "given but not cited"


def contains_answer(question: dict[str, Any], text: str) -> bool:
    haystack = folded(text)
    return any(folded(a) in haystack for a in question.get("answer_contains") or ())


def check_quotes(answer: Answer) -> list[QuoteCheck]:
    cited = [hit.text for _, hit in answer.citations]
    cited_numbers = {n for n, _ in answer.citations}
    others = [e.hit.text for e in answer.excerpts if e.n not in cited_numbers]
    flagged = {quote_key(q) for q in answer.unverified_quotes}
    checks = []
    for quote in quoted_passages(answer.text):
        key = quote_key(quote)
        checks.append(QuoteCheck(
            quote=quote,
            words=len(key.split()),
            verbatim_in_cited=is_verbatim(quote, cited),
            verbatim_in_other_excerpt=is_verbatim(quote, others),
            # Flagged if reflect listed this quote, or a quote it sits in or that sits in it
            # (the two finders may cut the same quotation slightly differently).
            flagged=any(key == f or (len(key.split()) >= CHECKED_QUOTE_WORDS
                                     and len(f.split()) >= CHECKED_QUOTE_WORDS
                                     and (key in f or f in key)) for f in flagged),
        ))
    return checks


def search_filters(question: dict[str, Any], speaker_filter: bool) -> SearchFilters:
    return SearchFilters(
        since=question.get("date_from"),
        until=question.get("date_to"),
        speaker=question.get("speaker") if speaker_filter else None,
    )


def ask(service: Reflect, question: dict[str, Any], speaker_filter: bool) -> Result:
    filters = search_filters(question, speaker_filter)
    began = time.perf_counter()
    answer = service.ask(question["question"], filters=filters)
    wall_s = time.perf_counter() - began
    return Result(
        question=question,
        filters=filters,
        answer=answer,
        right_cited=any(contains_answer(question, hit.text) for _, hit in answer.citations),
        right_in_excerpts=any(contains_answer(question, e.hit.text) for e in answer.excerpts),
        right_in_hits=any(contains_answer(question, h.text) for h in answer.hits),
        quotes=check_quotes(answer),
        new_words=unsupported_words(answer),
        wall_s=wall_s,
    )


# ---- summaries -------------------------------------------------------------------------------


def share(count: int, total: int) -> str:
    return f"{count}/{total} ({count / total:.0%})" if total else "-"


def ratio(count: int, total: int) -> float:
    return count / total if total else math.nan


def seconds(values: Sequence[float], how: Callable[[Sequence[float]], float]) -> str:
    return f"{how(values) / 1000:.1f} s" if values else "-"


def kind_row(label: str, results: Sequence[Result]) -> list[str]:
    answerable = [r for r in results if r.answerable]
    no_answer = [r for r in results if not r.answerable]
    ran = [r for r in results if r.model_ran]
    checked = [q for r in results for q in r.quotes if q.checked_length]
    short = [q for r in results for q in r.quotes if not q.checked_length]
    ttft = [r.answer.timings.ttft_ms for r in ran if r.answer.timings.ttft_ms is not None]
    total = [r.answer.timings.total_ms for r in ran]
    written = [r for r in ran if not r.answer.extractive]
    return [
        label,
        str(len(results)),
        share(sum(r.right_cited for r in answerable), len(answerable)),
        share(sum(r.answer.found for r in answerable), len(answerable)),
        share(sum(not r.answer.found for r in no_answer), len(no_answer)),
        share(sum(r.answer.extractive for r in ran), len(ran)),
        share(sum(bool(r.new_words) for r in written), len(written)),
        share(sum(r.answer.safety_message is not None for r in results), len(results)),
        f"{len(checked)}/{sum(q.flagged and not q.verbatim_in_cited for q in checked)}/"
        f"{sum(q.shown_unflagged for q in checked)}",
        f"{len(short)}/{sum(q.shown_unflagged for q in short)}",
        seconds(ttft, statistics.median),
        seconds(total, statistics.median),
    ]


KIND_HEADERS = ["kind", "n", "right excerpt cited", "found (answerable)", "abstained (no_answer)",
                "extractive (of model runs)", "model text with new words", "safety message",
                "quotes 3+ words: all/flagged/UNFLAGGED", "short quotes: all/UNFLAGGED",
                "median ttft", "median total (model runs)"]


def print_summary(results: Sequence[Result], load_s: float, loop_s: float) -> None:
    kinds = [k for k in KIND_ORDER if any(r.kind == k for r in results)]
    rows = [kind_row(k, [r for r in results if r.kind == k]) for k in kinds]
    rows.append(kind_row("all", results))
    print("## By kind\n")
    print(markdown_table(KIND_HEADERS, rows))

    answerable = [r for r in results if r.answerable]
    no_answer = [r for r in results if not r.answerable]
    abstained = [r for r in results if not r.answer.found]
    right_abstentions = sum(not r.answerable for r in abstained)
    timings = [r.answer.timings for r in results]
    ttft = [t.ttft_ms for t in timings if t.ttft_ms is not None]
    rates = [t.tokens_per_s for t in timings if t.tokens_per_s]
    generated = sum(t.generated_tokens or 0 for t in timings if t.tokens_per_s)
    generating_s = sum(((t.generated_tokens or 0) - 1) / t.tokens_per_s
                       for t in timings if t.tokens_per_s)
    ran = [r for r in results if r.model_ran]
    written = [r for r in ran if not r.answer.extractive]
    print("\n## Overall\n")
    overall = [
        ["answerable: right excerpt cited",
         share(sum(r.right_cited for r in answerable), len(answerable))],
        ["answerable: found (recall of found)",
         share(sum(r.answer.found for r in answerable), len(answerable))],
        ["no_answer: abstention precision (right abstentions / all abstentions)",
         share(right_abstentions, len(abstained))],
        ["no_answer: abstention recall (abstained / no_answer questions)",
         share(sum(not r.answer.found for r in no_answer), len(no_answer))],
        ["quotes 3+ words shown: verbatim in cited / flagged / UNFLAGGED not verbatim",
         _quote_counts([q for r in results for q in r.quotes if q.checked_length])],
        ["quotes under 3 words shown: verbatim in cited / flagged / UNFLAGGED not verbatim",
         _quote_counts([q for r in results for q in r.quotes if not q.checked_length])],
        ["quotes in the model's own sentences (not the extractive fallback)",
         str(sum(len(r.quotes) for r in written))],
        ["model runs (found, not a scope redirect)", share(len(ran), len(results))],
        ["... that fell back to the extractive form (no sentence passed the checks)",
         share(sum(r.answer.extractive for r in ran), len(ran))],
        ["model-written answers with a sentence using words in neither its cited excerpt "
         "nor the question (benchmark's own rough check)",
         share(sum(bool(r.new_words) for r in written), len(written))],
        ["answers with the safety message", share(
            sum(r.answer.safety_message is not None for r in results), len(results))],
        ["answers redirected to the therapist (scope)",
         share(sum(r.answer.scope_redirect for r in results), len(results))],
        ["ttft mean / median (model answers)",
         f"{seconds(ttft, statistics.fmean)} / {seconds(ttft, statistics.median)}"],
        ["total per answer mean / median (model runs)",
         f"{seconds([r.answer.timings.total_ms for r in ran], statistics.fmean)} / "
         f"{seconds([r.answer.timings.total_ms for r in ran], statistics.median)}"],
        ["total per answer median (not found: no model run)",
         seconds([r.answer.timings.total_ms for r in results if not r.answer.found],
                 statistics.median)],
        ["generation tokens/s median / overall",
         f"{statistics.median(rates):.1f} / {generated / generating_s:.1f}" if rates else "-"],
        ["chat model load (once, before the first question)", f"{load_s:.1f} s"],
        ["all questions, wall clock", f"{loop_s:.0f} s"],
    ]
    print(markdown_table(["measure", "value"], overall))


def _quote_counts(quotes: Sequence[QuoteCheck]) -> str:
    verbatim = sum(q.verbatim_in_cited for q in quotes)
    flagged = sum(q.flagged and not q.verbatim_in_cited for q in quotes)
    unflagged = sum(q.shown_unflagged for q in quotes)
    return f"{verbatim} / {flagged} / {unflagged} (of {len(quotes)})"


def print_questions(results: Sequence[Result]) -> None:
    print("\n## Per question\n")
    rows = []
    for r in results:
        a, ev = r.answer, r.answer.evidence
        text = " ".join(a.text.split())
        rows.append([
            r.question["id"], r.kind, r.outcome,
            "-" if ev is None or ev.max_similarity is None else f"{ev.max_similarity:.3f}",
            "-" if ev is None or ev.term_coverage is None else f"{ev.term_coverage:.3f}",
            "extractive" if a.extractive else "scope" if a.scope_redirect
            else "model" if a.found else "not found",
            str(len(a.dropped_sentences)),
            ", ".join(w for _, new in r.new_words for w in new)[:30],
            "-" if a.timings.ttft_ms is None else f"{a.timings.ttft_ms / 1000:.1f}",
            f"{a.timings.total_ms / 1000:.1f}",
            text[:90] + ("…" if len(text) > 90 else ""),
        ])
    print(markdown_table(["id", "kind", "outcome", "q.sim", "coverage", "form", "dropped",
                          "new words", "ttft s", "total s", "answer shown"], rows))


def print_alarms(results: Sequence[Result]) -> None:
    print("\n## Alarms\n")
    alarms = 0
    for r in results:
        for q in r.quotes:
            if q.shown_unflagged:
                alarms += 1
                print(f"- {r.question['id']}: quote shown unflagged ({q.status}, {q.words} "
                      f"words): \"{q.quote}\"")
        for sentence, new in r.new_words:
            alarms += 1
            print(f"- {r.question['id']}: shown sentence uses words its excerpt and the question "
                  f"lack ({', '.join(new)}): \"{sentence}\"")
        if r.answerable and r.answer.found and r.answer.citations and not r.right_cited:
            alarms += 1
            cited = "; ".join(f"[{n}] {h.session_date} \"{' '.join(h.text.split())[:70]}\""
                              for n, h in r.answer.citations)
            print(f"- {r.question['id']}: cites only wrong excerpts ({r.outcome}): {cited}")
        if not r.answerable and r.answer.found:
            alarms += 1
            print(f"- {r.question['id']}: no_answer question answered: "
                  f"\"{' '.join(r.answer.text.split())[:120]}\"")
        if r.answer.safety_message is not None:
            alarms += 1
            print(f"- {r.question['id']}: safety message shown (question or excerpts matched "
                  "crisis language)")
    if not alarms:
        print("none")


# ---- threshold sweep -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SweepScore:
    abstain_precision: float
    abstain_recall: float
    refused: int            # answerable questions told "couldn't find that"
    answered_wrongly: int   # no_answer questions answered
    found_with_answer: int  # answerable, found, and the answer among the k hits
    answerable: int
    no_answer: int

    @property
    def found_recall(self) -> float:
        return ratio(self.answerable - self.refused, self.answerable)

    @property
    def youden(self) -> float:
        """Abstain recall minus the share of answerable questions wrongly refused."""
        recall = 0.0 if math.isnan(self.abstain_recall) else self.abstain_recall
        return recall - ratio(self.refused, self.answerable)


def sweep_score(results: Sequence[Result], thresholds: EvidenceThresholds) -> SweepScore:
    refused = right_abstentions = answered_wrongly = found_with_answer = 0
    for r in results:
        ev = r.answer.evidence
        similarity = ev.max_similarity if ev is not None else None
        found = decide_found(r.answer.question, r.answer.hits, similarity=similarity,
                             thresholds=thresholds).found
        if not r.answerable:
            right_abstentions += not found
            answered_wrongly += found
        elif not found:
            refused += 1
        elif r.right_in_hits:
            found_with_answer += 1
    abstained = refused + right_abstentions
    no_answer = sum(not r.answerable for r in results)
    return SweepScore(
        abstain_precision=ratio(right_abstentions, abstained),
        abstain_recall=ratio(right_abstentions, no_answer),
        refused=refused, answered_wrongly=answered_wrongly,
        found_with_answer=found_with_answer,
        answerable=len(results) - no_answer, no_answer=no_answer,
    )


def changes(thresholds: EvidenceThresholds) -> dict[str, float]:
    default = EvidenceThresholds()
    return {name: getattr(thresholds, name) for name in SWEPT_PARAMETERS
            if getattr(thresholds, name) != getattr(default, name)}


def describe(thresholds: EvidenceThresholds) -> str:
    changed = changes(thresholds)
    return ", ".join(f"{k}={v}" for k, v in changed.items()) or "defaults"


def sweep_row(label: str, score: SweepScore) -> list[str]:
    def fmt(x: float) -> str:
        return "-" if math.isnan(x) else f"{x:.2f}"

    return [label, fmt(score.abstain_precision), fmt(score.abstain_recall),
            fmt(score.found_recall), f"{score.refused}/{score.answerable}",
            f"{score.answered_wrongly}/{score.no_answer}",
            f"{score.found_with_answer}/{score.answerable}"]


SWEEP_HEADERS = ["thresholds", "abstain precision", "abstain recall", "answerable found",
                 "refused", "no_answer answered", "found, answer in hits"]


def threshold_sweep(results: Sequence[Result]) -> EvidenceThresholds | None:
    default = EvidenceThresholds()
    mismatched = [r.question["id"] for r in results if r.answer.evidence is not None and
                  decide_found(r.answer.question, r.answer.hits,
                               similarity=r.answer.evidence.max_similarity).found
                  != r.answer.found]
    print("\n## Evidence threshold sweep (re-decided from the recorded hits, no model runs)\n")
    if mismatched:
        print(f"WARNING: re-deciding with the defaults does not reproduce the run for "
              f"{mismatched}; the sweep below is not faithful to the app.\n")
    if not any(not r.answerable for r in results) or not any(r.answerable for r in results):
        print("needs both answerable and no_answer questions; skipped.")
        return None
    print("'refused' = answerable questions told \"couldn't find that\"; 'found, answer in "
          "hits' = answerable, found, and an answer string among the k hits the excerpts "
          "are cut from (whether the model would then cite it is only known for questions "
          "the run answered).\n")
    rows = [sweep_row("defaults", sweep_score(results, default))]
    single: dict[str, Sequence[float]] = {
        "strong_similarity": (0.40, 0.45, 0.55, 0.60, 0.65),
        "min_coverage": (0.5, 0.6, 0.66, 0.75, 0.8, 1.0),
        "min_similarity": (0.10, 0.20, 0.25, 0.30, 0.35),
        "partial_coverage": (0.34, 0.4, 0.6),
        "partial_similarity": (0.35, 0.40, 0.42, 0.43, 0.44, 0.50, 0.55),
        "no_terms_similarity": (0.30, 0.35, 0.45, 0.50),
    }
    for name, values in single.items():
        for value in values:
            candidate = dataclasses.replace(default, **{name: value})
            rows.append(sweep_row(describe(candidate), sweep_score(results, candidate)))
    print(markdown_table(SWEEP_HEADERS, rows))

    # The grid: ranked by Youden's J (abstain recall minus wrong-refusal rate), then by
    # useful answers, then by staying closest to the defaults: with 9 no_answer questions
    # a change that moves nothing is noise, so the smallest sufficient change wins.
    grid = []
    for strong, coverage, low, partial in itertools.product(
        (0.45, 0.50, 0.55, 0.60, 0.65), (0.5, 0.6, 0.67, 0.75, 0.8, 1.0),
        (0.10, 0.15, 0.20, 0.25, 0.30, 0.35), (0.40, 0.45, 0.50, 0.55),
    ):
        candidate = dataclasses.replace(default, strong_similarity=strong, min_coverage=coverage,
                                        min_similarity=low, partial_similarity=partial)
        score = sweep_score(results, candidate)
        distance = sum(abs(v - getattr(default, k)) for k, v in changes(candidate).items())
        grid.append((score.youden, score.found_with_answer, -len(changes(candidate)),
                     -distance, candidate, score))
    grid.sort(key=lambda g: g[:4], reverse=True)
    print("\nBest of a grid over strong_similarity x min_coverage x min_similarity x "
          "partial_similarity (ranked by abstain recall minus wrong-refusal rate, then "
          "useful answers, then fewest and smallest changes from the defaults):\n")
    print(markdown_table(SWEEP_HEADERS,
                         [sweep_row(describe(g[4]), g[5]) for g in grid[:10]]))
    best, best_score = grid[0][4], grid[0][5]
    default_score = sweep_score(results, default)
    print(f"\nRecommended: {describe(best)} -> {_thresholds_text(best)}")
    print(f"  vs defaults: abstain recall {default_score.abstain_recall:.2f} -> "
          f"{best_score.abstain_recall:.2f}, precision {default_score.abstain_precision:.2f} "
          f"-> {best_score.abstain_precision:.2f}, answerable refused "
          f"{default_score.refused} -> {best_score.refused} of {best_score.answerable}, "
          f"no_answer answered {default_score.answered_wrongly} -> "
          f"{best_score.answered_wrongly} of {best_score.no_answer}.")
    print(f"  Chosen on {best_score.answerable + best_score.no_answer} questions "
          f"({best_score.no_answer} no_answer): one question moves recall by "
          f"{1 / best_score.no_answer:.0%}; treat as a direction, not a calibration.")
    return best


def _thresholds_text(t: EvidenceThresholds) -> str:
    return "EvidenceThresholds(" + ", ".join(
        f"{name}={getattr(t, name)}" for name in SWEPT_PARAMETERS) + ")"


# ---- per-question records --------------------------------------------------------------------


def hit_record(hit: Hit) -> dict[str, Any]:
    return {"session_date": hit.session_date.isoformat(), "source_file": hit.source_file,
            "speaker": hit.speaker, "rank": hit.rank, "score": hit.score, "exact": hit.exact,
            "chunk_index": hit.chunk_index, "char_start": hit.char_start,
            "char_end": hit.char_end, "text": hit.text}


def record(r: Result) -> dict[str, Any]:
    a = r.answer
    return {
        "id": r.question["id"], "kind": r.kind, "question": r.question["question"],
        "filters": dataclasses.asdict(r.filters),
        "answer_contains": r.question.get("answer_contains"),
        "outcome": r.outcome, "right_cited": r.right_cited,
        "right_in_excerpts": r.right_in_excerpts, "right_in_hits": r.right_in_hits,
        "found": a.found, "extractive": a.extractive, "scope_redirect": a.scope_redirect,
        "safety_message": a.safety_message is not None,
        "text": a.text, "model_text": a.model_text, "model_id": a.model_id,
        "evidence": dataclasses.asdict(a.evidence) if a.evidence is not None else None,
        "citations": [{"n": n, **hit_record(h)} for n, h in a.citations],
        "excerpts": [{"n": e.n, "who": e.who, **hit_record(e.hit)} for e in a.excerpts],
        "hits": [hit_record(h) for h in a.hits],
        "quotes": [{**dataclasses.asdict(q), "status": q.status} for q in r.quotes],
        "sentences_with_words_not_in_cited_excerpt": [
            {"sentence": sentence, "words": new} for sentence, new in r.new_words],
        "unverified_quotes": a.unverified_quotes,
        "dropped_sentences": [{"text": t, "reason": why} for t, why in a.dropped_sentences],
        "removed_citations": a.removed_citations,
        "corrected_citations": [{"from": list(f), "to": t} for f, t in a.corrected_citations],
        "timings": dataclasses.asdict(a.timings), "wall_s": r.wall_s,
    }


# ---- main ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Run:
    results: list[Result] = field(default_factory=list)
    load_s: float = 0.0
    loop_s: float = 0.0
    model: str = ""


def load_questions(kinds: Sequence[str] | None, limit: int | None) -> list[dict[str, Any]]:
    questions = [json.loads(line) for line in
                 DEMO_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    if kinds:
        questions = [q for q in questions if q["kind"] in kinds]
    return questions[:limit] if limit is not None else questions


def run(questions: Sequence[dict[str, Any]], speaker_filter: bool) -> Run:
    outcome = Run()
    with tempfile.TemporaryDirectory(prefix="reflect-answer-quality-") as tmp:
        began = time.perf_counter()
        service = Reflect.create(Path(tmp) / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params())
        report = service.import_paths([DEMO_SESSIONS], ImportOptions(me="Sam"))
        if report.failed:
            raise SystemExit(f"demo import failed: {[r.to_dict() for r in report.failed]}")
        service.open_index()
        print(f"vault built and indexed in {time.perf_counter() - began:.0f} s",
              file=sys.stderr, flush=True)
        began = time.perf_counter()
        model = service.chat_model()
        outcome.load_s = time.perf_counter() - began
        outcome.model = f"{model.model_id} ({getattr(model, 'path', '?')})"
        began = time.perf_counter()
        for number, question in enumerate(questions, 1):
            result = ask(service, question, speaker_filter)
            outcome.results.append(result)
            print(f"[{number}/{len(questions)}] {question['id']} {result.outcome} "
                  f"({result.wall_s:.1f} s)", file=sys.stderr, flush=True)
        outcome.loop_s = time.perf_counter() - began
        service.lock()
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, help="ask only the first N (selected) questions")
    parser.add_argument("--kinds", help=f"comma-separated kinds, of {', '.join(KIND_ORDER)}")
    parser.add_argument("--json", action="store_true",
                        help="write per-question records (to --out, or a new temp folder)")
    parser.add_argument("--out", type=Path, help="file for the per-question records")
    parser.add_argument("--no-speaker-filter", action="store_true",
                        help="ask without the questions' speaker filters (as typed bare)")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()] if args.kinds else None
    unknown = sorted(set(kinds or ()) - set(KIND_ORDER))
    if unknown:
        parser.error(f"unknown kinds {unknown}; choose from {', '.join(KIND_ORDER)}")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    questions = load_questions(kinds, args.limit)
    if not questions:
        parser.error("no questions selected")

    load = os.getloadavg()
    print(f"# Answer quality: {len(questions)} demo questions, {dt.date.today().isoformat()}, "
          f"{os.cpu_count()} cores, load average at start {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}, speaker filters {'off' if args.no_speaker_filter else 'on'}\n")
    outcome = run(questions, speaker_filter=not args.no_speaker_filter)
    load = os.getloadavg()
    print(f"chat model: {outcome.model}; load average at end {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}\n")
    print_summary(outcome.results, outcome.load_s, outcome.loop_s)
    print_questions(outcome.results)
    print_alarms(outcome.results)
    threshold_sweep(outcome.results)

    if args.json or args.out:
        out = args.out or Path(tempfile.mkdtemp(prefix="reflect-answer-quality-")) / "answers.json"
        out.write_text(json.dumps([record(r) for r in outcome.results], indent=1,
                                  ensure_ascii=False, default=str), encoding="utf-8")
        print(f"\nper-question records: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
