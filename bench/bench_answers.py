"""Answers that answer (#17): per kind of question, over a multi-session history.

    .venv/bin/python bench/bench_answers.py                  # dev questions, both modes
    .venv/bin/python bench/bench_answers.py --mode none      # without the model only (fast)
    .venv/bin/python bench/bench_answers.py --heldout        # + the held-out third (end only)
    .venv/bin/python bench/bench_answers.py --list           # one line per question as well
    .venv/bin/python bench/bench_answers.py --history2       # the fresh set (once, at the end)
    .venv/bin/python bench/bench_answers.py --history3       # the third, fresh set (once)
    .venv/bin/python bench/bench_answers.py --history4       # the fourth, fresh set (once)
    .venv/bin/python bench/bench_answers.py --history5       # the fifth, fresh set (once)
    .venv/bin/python bench/bench_answers.py --history6       # the sixth, fresh set (once)
    .venv/bin/python bench/bench_answers.py --history7       # the seventh, fresh set (once)
    .venv/bin/python bench/bench_answers.py --history8       # the eighth, fresh set (once)
    .venv/bin/python bench/bench_answers.py --history9       # the ninth, fresh set (once)
    .venv/bin/python bench/bench_answers.py --history10      # the tenth, fresh set (once)
    .venv/bin/python bench/bench_answers.py --history11      # the eleventh, fresh set (once)
    .venv/bin/python bench/bench_answers.py --history12      # the twelfth, fresh set (once)
    .venv/bin/python bench/bench_answers.py --history13      # the thirteenth, fresh set (once)

Corpora, each imported into a temporary vault with the real parsers and the real bundled
embedder (`Reflect.create` + `import_paths`), deleted at the end:

- the history: the twelve invented sessions of "Jonah" in bench/eval/history/ (me = "Jonah"),
  questions bench/eval/questions_history.jsonl, "today" fixed at Friday 1 August 2025;
- a small vault: only the first three history sessions, with the questions whose gold is in
  one of them plus the no_answer ones (abstention only);
- the demo: reflect/demo/sessions (me = "Sam"), questions bench/eval/questions_demo.jsonl,
  "today" 30 April 2026, a week after its last session (abstention and citation only).

With `--history2` the same report runs on the second history instead: the ten invented
sessions of "Nadia" in bench/eval/history2/ (me = "Nadia"), questions
bench/eval/questions_history2.jsonl (all split "fresh"), "today" fixed at Friday 19 December
2025, and the small vault of its first three sessions; the demo row is left out. That set is
scored once, at the end of the work on #17, so nobody tunes on it.

With `--history3` (not together with `--history2`) it runs on the third history: the ten
invented sessions of "Martin" in bench/eval/history3/ (me = "Martin"), questions
bench/eval/questions_history3.jsonl (all split "fresh"), "today" fixed at Thursday 21 May 2026,
and the small vault of its first three sessions; no demo row. It is scored once, by whoever
integrates a change, and never looked at before that.

With `--history4` (not together with `--history2` or `--history3`) it runs on the fourth
history the same way: the ten invented sessions of "Freya" in bench/eval/history4/ (me =
"Freya"), questions bench/eval/questions_history4.jsonl (all split "fresh"), "today" fixed at
Friday 20 November 2026, and the small vault of its first three sessions; no demo row. Scored
once, by whoever integrates a change.

With `--history5` (not together with `--history2`, `--history3` or `--history4`) it runs on the
fifth history the same way: the ten invented sessions of "Elliot" in bench/eval/history5/ (me =
"Elliot"), questions bench/eval/questions_history5.jsonl (all split "fresh"), "today" fixed at
Friday 2 October 2026, and the small vault of its first three sessions; no demo row. Scored
once, by whoever integrates a change.
With `--history6` (not together with the other fresh histories) it runs on the sixth history
the same way: the ten invented sessions of "Teo" in bench/eval/history6/ (me = "Teo"),
questions bench/eval/questions_history6.jsonl (all split "fresh"), "today" fixed at Thursday
5 November 2026, and the small vault of its first three sessions; no demo row. Scored once, by
whoever integrates a change.
With `--history7` (not together with the other fresh histories) it runs on the seventh history
the same way: the ten invented sessions of "Dom" in bench/eval/history7/ (me = "Dom"),
questions bench/eval/questions_history7.jsonl (all split "fresh"), "today" fixed at Thursday
27 August 2026, and the small vault of its first three sessions; no demo row. Scored once, by
whoever integrates a change.
With `--history8` (not together with the other fresh histories) it runs on the eighth history
the same way: the ten invented sessions of "Carmel" in bench/eval/history8/ (me = "Carmel"),
questions bench/eval/questions_history8.jsonl (all split "fresh"), "today" fixed at Monday
20 April 2026, and the small vault of its first three sessions; no demo row. Scored once, by
With `--history9` (not together with the other fresh histories) it runs on the ninth history
the same way: the ten invented sessions of "Ailsa" in bench/eval/history9/ (me = "Ailsa"),
questions bench/eval/questions_history9.jsonl (all split "fresh"), "today" fixed at Wednesday
16 December 2026, and the small vault of its first three sessions; no demo row. Scored once, by
whoever integrates a change.
With `--history10` (not together with the other fresh histories) it runs on the tenth history
the same way: the ten invented sessions of "Garth" in bench/eval/history10/ (me = "Garth"),
questions bench/eval/questions_history10.jsonl (all split "fresh"), "today" fixed at Thursday
2 July 2026, and the small vault of its first three sessions; no demo row. Scored once, by
whoever integrates a change.
With `--history11` (not together with the other fresh histories) it runs on the eleventh history
the same way: the ten invented sessions of "Maren" in bench/eval/history11/ (me = "Maren"),
questions bench/eval/questions_history11.jsonl (all split "fresh"), "today" fixed at Monday
9 March 2026, and the small vault of its first three sessions; no demo row. Scored once, by
whoever integrates a change.
With `--history12` (not together with the other fresh histories) it runs on the twelfth history
the same way: the ten invented sessions of "Wilf" in bench/eval/history12/ (me = "Wilf"),
questions bench/eval/questions_history12.jsonl (all split "fresh"), "today" fixed at Tuesday
3 February 2026, and the small vault of its first three sessions; no demo row. Scored once, by
whoever integrates a change.
With `--history13` (not together with the other fresh histories) it runs on the thirteenth history
the same way: the ten invented sessions of "Orla" in bench/eval/history13/ (me = "Orla"),
questions bench/eval/questions_history13.jsonl (all split "fresh"), "today" fixed at Monday
1 June 2026, and the small vault of its first three sessions; no demo row. Scored once, by
whoever integrates a change.

Every question is asked as typed, without filters, through an `Answerer` built as
`Reflect.ask` builds it (same retriever, labels, session dates, view across sessions) but with
`today` fixed. Follow-ups: each conversation's turns run in order through one `Conversation`,
whatever the split of the earlier turns; only the turns of the chosen split are scored.

Two modes on the history: "model", the bundled chat model (loaded once, before the first
question; its load time is reported apart), and "no model", a model whose replies are empty,
so an answer the system does not compose itself falls back to the extractive form (pasted
quotes). Whether the sessions hold an answer (found / "I couldn't find that") is decided
before any model runs, so the abstention numbers of the small vault and the demo are taken in
the "no model" mode only.

What is scored, per kind (the bench's own checks, not reflect's):

- cited: the answer cites an excerpt (`Answer.citations`) from a gold session whose text
  contains one of that session's `answer_contains` strings (case, spacing and apostrophes
  folded);
- count: `expected_count` appears in the answer text as a number or a word ("7", "seven"),
  not as the day of a date ("7 April");
- date: `expected_date` appears in the text as a day and month ("1 September", "September
  1st"), or is the session date of the first cited excerpt;
- refused: found == False ("I couldn't find that"); on no_answer questions that is right, on
  answerable ones wrong;
- beyond pasting: an answer that says something of its own, of two sorts, told apart by
  public fields: *composed*, a templated statement built from the evidence ("It first came up
  on ...", "Afterwards, on ..., you said ...", "Your sessions after ... don't say what
  happened"): found, not a scope redirect, and `model_id` is None (the model never ran); or
  *model*, a sentence the model wrote that the checks kept: `model_id` set and
  `extractive` False. The rest of the found answers are the extractive fallback (`model_id`
  set and `extractive` True): quotes pasted. "right" is cited, plus count and date where the
  question asks for them;
- time to excerpts (the AnswerStarted event) and to the full answer (`ask` returning), from
  the call, median and p90.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import markdown_table, percentile

from reflect import crypto
from reflect.answer import Answer, Answerer, AnswerStarted
from reflect.answer.conversation import Conversation
from reflect.embedding import default_embedder
from reflect.ingest import ImportOptions
from reflect.llm import ChatModel, Message
from reflect.service import Reflect

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HISTORY = HERE / "eval" / "history"
HISTORY_QUESTIONS = HERE / "eval" / "questions_history.jsonl"
DEMO_SESSIONS = REPO / "reflect" / "demo" / "sessions"
DEMO_QUESTIONS = HERE / "eval" / "questions_demo.jsonl"
PASSPHRASE = "benchmark passphrase, not a secret"
HISTORY_TODAY = dt.date(2025, 8, 1)
HISTORY2 = HERE / "eval" / "history2"
HISTORY2_QUESTIONS = HERE / "eval" / "questions_history2.jsonl"
HISTORY2_TODAY = dt.date(2025, 12, 19)  # the Friday after the last session (18 December)
HISTORY3 = HERE / "eval" / "history3"
HISTORY3_QUESTIONS = HERE / "eval" / "questions_history3.jsonl"
HISTORY3_TODAY = dt.date(2026, 5, 21)  # the Thursday after the last session (Monday 18 May)
HISTORY4 = HERE / "eval" / "history4"
HISTORY4_QUESTIONS = HERE / "eval" / "questions_history4.jsonl"
HISTORY4_TODAY = dt.date(2026, 11, 20)  # the Friday after the last session (Wednesday 18 November)
HISTORY5 = HERE / "eval" / "history5"
HISTORY5_QUESTIONS = HERE / "eval" / "questions_history5.jsonl"
HISTORY5_TODAY = dt.date(2026, 10, 2)  # the Friday after the last session (Tuesday 29 September)
HISTORY6 = HERE / "eval" / "history6"
HISTORY6_QUESTIONS = HERE / "eval" / "questions_history6.jsonl"
HISTORY6_TODAY = dt.date(2026, 11, 5)  # the Thursday after the last session (Tuesday 3 November)
HISTORY7 = HERE / "eval" / "history7"
HISTORY7_QUESTIONS = HERE / "eval" / "questions_history7.jsonl"
HISTORY7_TODAY = dt.date(2026, 8, 27)  # the Thursday after the last session (Tuesday 25 August)
HISTORY8 = HERE / "eval" / "history8"
HISTORY8_QUESTIONS = HERE / "eval" / "questions_history8.jsonl"
HISTORY8_TODAY = dt.date(2026, 4, 20)  # the Monday after the last session (Thursday 16 April)
HISTORY9 = HERE / "eval" / "history9"
HISTORY9_QUESTIONS = HERE / "eval" / "questions_history9.jsonl"
HISTORY9_TODAY = dt.date(2026, 12, 16)  # a week after the last session (Wednesday 9 December)
HISTORY10 = HERE / "eval" / "history10"
HISTORY10_QUESTIONS = HERE / "eval" / "questions_history10.jsonl"
HISTORY10_TODAY = dt.date(2026, 7, 2)  # three weeks after the last session (Wednesday 10 June)
HISTORY11 = HERE / "eval" / "history11"
HISTORY11_QUESTIONS = HERE / "eval" / "questions_history11.jsonl"
HISTORY11_TODAY = dt.date(2026, 3, 9)  # some weeks after the last session (Wednesday 11 February)
HISTORY12 = HERE / "eval" / "history12"
HISTORY12_QUESTIONS = HERE / "eval" / "questions_history12.jsonl"
HISTORY12_TODAY = dt.date(2026, 2, 3)  # two weeks after the last session (Tuesday 20 January)
HISTORY13 = HERE / "eval" / "history13"
HISTORY13_QUESTIONS = HERE / "eval" / "questions_history13.jsonl"
HISTORY13_TODAY = dt.date(2026, 6, 1)  # nearly three weeks after the last session (Wed 13 May)
DEMO_TODAY = dt.date(2026, 4, 30)
SMALL_SESSIONS = 3
KIND_ORDER = ("outcome", "first_last", "how_often", "recap", "agreements", "speaker",
              "relative_date", "paraphrase", "followup", "no_answer")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")


# ---- the empty model ------------------------------------------------------------------------


class EmptyModel:
    """A chat model that replies nothing: every answer the system does not compose itself
    falls back to the extractive form."""

    model_id = "empty (no model)"
    context_size = 4096

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        return sum(self.count_tokens(m["content"]) + 4 for m in messages)

    def stream(self, messages: Sequence[Message], *, max_tokens: int, stop: Sequence[str],
               temperature: float = 0.0) -> Iterator[str]:
        return iter(())

    def cancel(self) -> None:
        pass


def bundled_model() -> ChatModel:
    from reflect.llm import LlamaChatModel, resolve_model_path

    path, _source = resolve_model_path(None, None)
    return LlamaChatModel(path)


# ---- vaults ---------------------------------------------------------------------------------


def build_vault(root: Path, name: str, paths: Sequence[Path], me: str, embedder: Any) -> Reflect:
    service = Reflect.create(root / name, PASSPHRASE, kdf=crypto.floor_kdf_params(),
                             embedder_factory=lambda: embedder)
    report = service.import_paths(list(paths), ImportOptions(me=me))
    if report.failed:
        raise SystemExit(f"{name} import failed: {[r.to_dict() for r in report.failed]}")
    service.open_index()
    return service


# --found-by-rule: found / not found decided by the rule of evidence.py, not the learned
# decision, to compare the two on a set scored once (set by main).
FOUND_BY_RULE = False


def answerer_for(service: Reflect, model_factory: Callable[[], ChatModel],
                 today: dt.date) -> Answerer:
    """An Answerer as `Reflect.ask` builds one, with `today` fixed and the model given."""
    answerer = service.answerer(today=today, model_factory=model_factory)
    return deciding_by_rule(answerer) if FOUND_BY_RULE else answerer


def deciding_by_rule(answerer: Answerer) -> Answerer:
    """`answerer`, with found / not found decided by the rule of evidence.py."""
    answerer.settings = dataclasses.replace(answerer.settings, answerability=None)
    return answerer


# ---- scoring --------------------------------------------------------------------------------


def folded(text: str) -> str:
    return " ".join(text.casefold().replace("’", "'").replace("‘", "'").split())


def gold_dates(question: dict[str, Any]) -> dict[dt.date, list[str]]:
    """Gold substrings by session date (every history and demo session has its own day)."""
    out: dict[dt.date, list[str]] = {}
    for gold in question.get("gold") or ():
        day = dt.date.fromisoformat(gold["session_file"][:10])
        out.setdefault(day, []).extend(gold["answer_contains"])
    return out


def cites_gold(question: dict[str, Any], answer: Answer) -> bool:
    if "gold" in question:
        golds = gold_dates(question)
        return any(
            folded(s) in folded(hit.text)
            for _, hit in answer.citations
            for s in golds.get(hit.session_date, ())
        )
    return any(folded(s) in folded(hit.text) for _, hit in answer.citations
               for s in question.get("answer_contains") or ())


def states_count(expected: int, text: str) -> bool:
    words = {str(expected)}
    if expected < len(NUMBER_WORDS):
        words.add(NUMBER_WORDS[expected])
    months = "|".join(MONTHS)
    for m in re.finditer(r"\b(\d+|[a-z]+)\b", text.casefold()):
        if m.group(1) in words and not re.match(rf"\s*(?:st|nd|rd|th)?\s*(?:of\s+)?(?:{months})\b",
                                                text.casefold()[m.end():]):
            return True
    return False


def states_date(expected: dt.date, answer: Answer) -> bool:
    month = MONTHS[expected.month - 1]
    d = expected.day
    text = answer.text.casefold()
    if re.search(rf"\b{d}(?:st|nd|rd|th)?\s+(?:of\s+)?{month}\b|\b{month}\s+{d}(?:st|nd|rd|th)?\b",
                 text):
        return True
    return bool(answer.citations) and answer.citations[0][1].session_date == expected


def accepted_dates(question: dict[str, Any]) -> list[dt.date]:
    dates = [dt.date.fromisoformat(question["expected_date"])] if question.get(
        "expected_date") else []
    dates += [dt.date.fromisoformat(d) for d in question.get("accept_dates", ())]
    if question["id"] == "h019":  # "the Sunday before 1 April": 30 March is right too
        dates.append(dt.date(2025, 3, 30))
    return dates


@dataclass
class Result:
    question: dict[str, Any]
    answer: Answer
    started_ms: float
    total_ms: float

    @property
    def kind(self) -> str:
        return self.question["kind"]

    @property
    def answerable(self) -> bool:
        return self.kind != "no_answer"

    @property
    def cited(self) -> bool:
        return cites_gold(self.question, self.answer)

    @property
    def count_right(self) -> bool | None:
        expected = self.question.get("expected_count")
        return None if expected is None else states_count(expected, self.answer.text)

    @property
    def date_right(self) -> bool | None:
        dates = accepted_dates(self.question)
        return None if not dates else any(states_date(d, self.answer) for d in dates)

    @property
    def how(self) -> str:
        """composed / model / pasted / refused / scope."""
        a = self.answer
        if not a.found:
            return "refused"
        if a.scope_redirect:
            return "scope"
        if a.model_id is None:
            return "composed"
        return "pasted" if a.extractive else "model"

    @property
    def right(self) -> bool:
        return self.cited and self.count_right is not False and self.date_right is not False


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    model_load_s: float | None = None


def conversations(questions: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Questions grouped into what is asked together: a conversation's turns in order, every
    other question alone."""
    groups: dict[str, list[dict[str, Any]]] = {}
    order: list[list[dict[str, Any]]] = []
    for q in questions:
        if q.get("conversation"):
            if q["conversation"] not in groups:
                groups[q["conversation"]] = []
                order.append(groups[q["conversation"]])
            groups[q["conversation"]].append(q)
        else:
            order.append([q])
    for group in order:
        group.sort(key=lambda q: q.get("turn", 0))
    return order


def run(answerer: Answerer, questions: Sequence[dict[str, Any]], scored: set[str],
        *, progress: bool = False) -> Run:
    """Ask every group holding a scored question (all its turns, in order)."""
    out = Run()
    groups = [g for g in conversations(questions) if any(q["id"] in scored for q in g)]
    done = 0
    for group in groups:
        conversation = Conversation() if len(group) > 1 else None
        for q in group:
            began = time.perf_counter()
            started: list[float] = []

            def on_event(event: Any, started: list[float] = started, began: float = began) -> None:
                if isinstance(event, AnswerStarted) and not started:
                    started.append((time.perf_counter() - began) * 1000)

            answer = answerer.ask(q["question"], on_event=on_event, conversation=conversation)
            total = (time.perf_counter() - began) * 1000
            if q["id"] in scored:
                out.results.append(Result(q, answer, started[0] if started else total, total))
            done += 1
            if progress:
                print(f"  [{done}] {q['id']} {total / 1000:.1f} s", file=sys.stderr, flush=True)
    return out


# ---- reports --------------------------------------------------------------------------------


def frac(n: int, d: int) -> str:
    return f"{n}/{d}" if d else "–"


def ms(values: Sequence[float]) -> str:
    if not values:
        return "–"
    return f"{percentile(values, 50):,.0f} / {percentile(values, 90):,.0f}"


def kinds_of(results: Sequence[Result]) -> list[str]:
    present = {r.kind for r in results}
    return [k for k in KIND_ORDER if k in present] + sorted(present - set(KIND_ORDER))


def quality_table(results: Sequence[Result]) -> str:
    rows = []
    for kind in [*kinds_of(results), "all answerable"]:
        if kind == "all answerable":
            subset = [r for r in results if r.answerable]
        else:
            subset = [r for r in results if r.kind == kind]
        if kind == "no_answer":
            rows.append([kind, str(len(subset)), "–", "–", "–",
                         f"{frac(sum(r.how == 'refused' for r in subset), len(subset))} (right)",
                         "–", "–"])
            continue
        counts = [r.count_right for r in subset if r.count_right is not None]
        dates = [r.date_right for r in subset if r.date_right is not None]
        beyond = [r for r in subset if r.how in ("composed", "model")]
        composed = sum(r.how == "composed" for r in subset)
        written = sum(r.how == "model" for r in subset)
        rows.append([
            kind,
            str(len(subset)),
            frac(sum(r.cited for r in subset), len(subset)),
            frac(sum(counts), len(counts)),
            frac(sum(dates), len(dates)),
            frac(sum(r.how == "refused" for r in subset), len(subset)),
            f"{frac(len(beyond), len(subset))} ({composed} c, {written} m)",
            frac(sum(r.right for r in beyond), len(beyond)),
        ])
    return markdown_table(
        ["kind", "n", "right excerpt cited", "right count", "right date", "refused",
         "beyond pasting (composed, model)", "... of which right"],
        rows,
    )


def latency_table(results: Sequence[Result]) -> str:
    rows = []
    for kind in [*kinds_of(results), "all"]:
        subset = [r for r in results if kind in ("all", r.kind)]
        rows.append([kind, str(len(subset)), ms([r.started_ms for r in subset]),
                     ms([r.total_ms for r in subset])])
    return markdown_table(["kind", "n", "to excerpts, ms (median / p90)",
                           "to full answer, ms (median / p90)"], rows)


def how_table(results: Sequence[Result]) -> str:
    found = [r for r in results if r.how != "refused"]
    rows = []
    for how in ("composed", "model", "pasted", "scope"):
        subset = [r for r in found if r.how == how]
        rows.append([how, frac(len(subset), len(found)),
                     frac(sum(r.right for r in subset), len(subset))])
    return markdown_table(["found answers, by form", "share", "right"], rows)


def abstention_row(name: str, results: Sequence[Result]) -> list[str]:
    absent = [r for r in results if not r.answerable]
    present = [r for r in results if r.answerable]
    a = sum(r.how == "refused" for r in absent)
    p = sum(r.how == "refused" for r in present)
    return [name, f"{frac(a, len(absent))} ({a / max(1, len(absent)):.0%})",
            f"{frac(p, len(present))} ({p / max(1, len(present)):.0%})",
            frac(sum(r.cited for r in present), len(present))]


def listing(results: Sequence[Result]) -> str:
    lines = []
    for r in results:
        asked = r.answer.asked
        read = f"{asked.kind}:{asked.topic!r}" if asked else "?"
        if asked and asked.followup:
            read += " (follow-up)"
        if asked and (asked.since or asked.until or asked.session_ids):
            read += f" [{asked.time_words}]"
        marks = [f"cited={'y' if r.cited else 'n'}"]
        if r.count_right is not None:
            marks.append(f"count={'y' if r.count_right else 'n'}")
        if r.date_right is not None:
            marks.append(f"date={'y' if r.date_right else 'n'}")
        text = " ".join(r.answer.text.split())
        lines.append(f"- {r.question['id']} [{r.kind}] {r.how} {' '.join(marks)} "
                     f"{r.total_ms / 1000:.1f}s | {r.question['question']} | read {read}\n"
                     f"    → {text[:300]}")
    return "\n".join(lines)


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def small_vault_ids(questions: Sequence[dict[str, Any]], splits: Sequence[str],
                    first_days: set[dt.date]) -> set[str]:
    return {
        q["id"] for q in questions
        if q["split"] in splits
        and (q["kind"] == "no_answer" or any(day in first_days for day in gold_dates(q)))
    }


@dataclass(frozen=True)
class HistorySet:
    """The history a run is about: its sessions, questions, client name, "today", splits."""

    title: str
    sessions: Path
    questions: Path
    me: str
    today: dt.date
    splits: tuple[str, ...]
    with_demo: bool


def history_set(args: argparse.Namespace) -> HistorySet:
    if args.history2:
        return HistorySet("History2", HISTORY2, HISTORY2_QUESTIONS, "Nadia", HISTORY2_TODAY,
                          ("fresh",), with_demo=False)
    if args.history3:
        return HistorySet("History3", HISTORY3, HISTORY3_QUESTIONS, "Martin", HISTORY3_TODAY,
                          ("fresh",), with_demo=False)
    if args.history4:
        return HistorySet("History4", HISTORY4, HISTORY4_QUESTIONS, "Freya", HISTORY4_TODAY,
                          ("fresh",), with_demo=False)
    if args.history5:
        return HistorySet("History5", HISTORY5, HISTORY5_QUESTIONS, "Elliot", HISTORY5_TODAY,
                          ("fresh",), with_demo=False)
    if args.history6:
        return HistorySet("History6", HISTORY6, HISTORY6_QUESTIONS, "Teo", HISTORY6_TODAY,
                          ("fresh",), with_demo=False)
    if args.history7:
        return HistorySet("History7", HISTORY7, HISTORY7_QUESTIONS, "Dom", HISTORY7_TODAY,
                          ("fresh",), with_demo=False)
    if args.history8:
        return HistorySet("History8", HISTORY8, HISTORY8_QUESTIONS, "Carmel", HISTORY8_TODAY,
                          ("fresh",), with_demo=False)
    if args.history9:
        return HistorySet("History9", HISTORY9, HISTORY9_QUESTIONS, "Ailsa", HISTORY9_TODAY,
                          ("fresh",), with_demo=False)
    if args.history10:
        return HistorySet("History10", HISTORY10, HISTORY10_QUESTIONS, "Garth", HISTORY10_TODAY,
                          ("fresh",), with_demo=False)
    if args.history11:
        return HistorySet("History11", HISTORY11, HISTORY11_QUESTIONS, "Maren", HISTORY11_TODAY,
                          ("fresh",), with_demo=False)
    if args.history12:
        return HistorySet("History12", HISTORY12, HISTORY12_QUESTIONS, "Wilf", HISTORY12_TODAY,
                          ("fresh",), with_demo=False)
    if args.history13:
        return HistorySet("History13", HISTORY13, HISTORY13_QUESTIONS, "Orla", HISTORY13_TODAY,
                          ("fresh",), with_demo=False)
    return HistorySet("History", HISTORY, HISTORY_QUESTIONS, "Jonah", HISTORY_TODAY,
                      ("dev", "heldout") if args.heldout else ("dev",), with_demo=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("both", "model", "none"), default="both",
                        help="with the bundled chat model, without it, or both (default)")
    parser.add_argument("--heldout", action="store_true",
                        help="also score the held-out third (only at the end of a change)")
    parser.add_argument("--list", action="store_true", help="print every answer, one line each")
    parser.add_argument("--no-abstention", action="store_true",
                        help="skip the small vault and the demo")
    parser.add_argument("--progress", action="store_true", help="a line per question on stderr")
    parser.add_argument("--found-by-rule", action="store_true",
                        help="decide found / not found by the rule, not the learned decision")
    fresh = parser.add_mutually_exclusive_group()
    fresh.add_argument("--history2", action="store_true",
                       help="the second, fresh history (Nadia) instead; score it once, at the end")
    fresh.add_argument("--history3", action="store_true",
                       help="the third, fresh history (Martin) instead; score it once, at the end")
    fresh.add_argument("--history4", action="store_true",
                       help="the fourth, fresh history (Freya) instead; score it once, at the end")
    fresh.add_argument("--history5", action="store_true",
                       help="the fifth, fresh history (Elliot) instead; score it once, at the end")
    fresh.add_argument("--history6", action="store_true",
                       help="the sixth, fresh history (Teo) instead; score it once, at the end")
    fresh.add_argument("--history7", action="store_true",
                       help="the seventh, fresh history (Dom) instead; score it once, at the end")
    fresh.add_argument("--history8", action="store_true",
                       help="the eighth, fresh history (Carmel) instead; score it once, at the end")
    fresh.add_argument("--history9", action="store_true",
                       help="the ninth, fresh history (Ailsa) instead; score it once, at the end")
    fresh.add_argument("--history10", action="store_true",
                       help="the tenth, fresh history (Garth) instead; score it once, at the end")
    fresh.add_argument("--history11", action="store_true",
                       help="the eleventh, fresh history (Maren) instead; score it once at the end")
    fresh.add_argument("--history12", action="store_true",
                       help="the twelfth, fresh history (Wilf) instead; score it once at the end")
    fresh.add_argument("--history13", action="store_true",
                       help="the thirteenth, fresh history (Orla) instead; score it once, at end")
    args = parser.parse_args(argv)
    global FOUND_BY_RULE
    FOUND_BY_RULE = args.found_by_rule

    hs = history_set(args)
    questions = load(hs.questions)
    splits = list(hs.splits)
    modes = ["none", "model"] if args.mode == "both" else [args.mode]
    embedder = default_embedder()
    history_files = sorted(hs.sessions.glob("*.txt"))
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reflect-answers-") as tmp:
        history = build_vault(Path(tmp), "history", history_files, hs.me, embedder)
        print(f"Imported {len(history.sessions())} history sessions in "
              f"{time.perf_counter() - began:.1f} s.")
        model_answerer: Answerer | None = None
        for mode in modes:
            if mode == "model":
                model_answerer = answerer_for(history, bundled_model, hs.today)
                t = time.perf_counter()
                model = model_answerer.load_model()
                load_s = time.perf_counter() - t
                print(f"\nChat model {model.model_id} loaded in {load_s:.1f} s.")
                answerer = model_answerer
            else:
                answerer = answerer_for(history, EmptyModel, hs.today)
            answerer.prepare("warming up: how was I sleeping")  # first search loads the index
            for split in splits:
                scored = {q["id"] for q in questions if q["split"] == split}
                result = run(answerer, questions, scored, progress=args.progress)
                label = "with the bundled model" if mode == "model" else "without the model"
                print(f"\n### {hs.title}, {split} questions, {label}\n")
                print(quality_table(result.results))
                print()
                print(how_table(result.results))
                print()
                print(latency_table(result.results))
                if args.list:
                    print()
                    print(listing(result.results))
        if model_answerer is not None and model_answerer._model is not None:
            model_answerer._model = None  # free the model before building more vaults

        if not args.no_abstention:
            rows = []
            for split in splits:
                answerer = answerer_for(history, EmptyModel, hs.today)
                scored = {q["id"] for q in questions if q["split"] == split}
                rows.append(abstention_row(f"{hs.title.lower()}, {len(history_files)} sessions, "
                                           f"{split}",
                                           run(answerer, questions, scored).results))
            small = build_vault(Path(tmp), "small", history_files[:SMALL_SESSIONS], hs.me,
                                embedder)
            first_days = {s.day for s in small.sessions()}
            small_results = []
            for split in splits:
                answerer = answerer_for(small, EmptyModel, hs.today)
                scored = small_vault_ids(questions, [split], first_days)
                results = run(answerer, questions, scored).results
                small_results.extend(results)
                rows.append(abstention_row(f"{hs.title.lower()}, first {SMALL_SESSIONS} sessions, "
                                           f"{split}", results))
            services = [small]
            demo_results: list[Result] = []
            if hs.with_demo:
                demo = build_vault(Path(tmp), "demo", [DEMO_SESSIONS], "Sam", embedder)
                services.append(demo)
                demo_questions = load(DEMO_QUESTIONS)
                answerer = answerer_for(demo, EmptyModel, DEMO_TODAY)
                demo_results = run(answerer, demo_questions,
                                   {q["id"] for q in demo_questions}).results
                rows.append(abstention_row(f"demo, {len(demo.sessions())} sessions, all",
                                           demo_results))
            print("\n### Abstention (decided before any model runs)\n")
            print(markdown_table(["vault, questions", "\"couldn't find\" on no_answer",
                                  "refused, answerable", "right excerpt cited, answerable"],
                                 rows))
            if args.list:
                print("\nSmall vault:\n" + listing(small_results))
                if hs.with_demo:
                    print("\nDemo:\n" + listing(demo_results))
            for service in services:
                service.lock()
        history.lock()
    print(f"\nTotal {time.perf_counter() - began:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
