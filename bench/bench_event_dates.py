"""Event-relative dates (#17): when reflect places the events the evaluation sessions tell of,
against the dates read by hand in their scripts, and how it reads every question of the
evaluation sets that is relative to an event.

    .venv/bin/python bench/bench_event_dates.py

No vault and no model: each corpus's files are parsed with the real parsers
(`parse_transcript` + `build_text`, as an import builds a session's text) and handed to
`reflect.answer.events.date_of_event`; the questions go through `read_question` as `Reflect.ask`
reads them. Corpora: the demo (reflect/demo/sessions, "Sam"), the first history
(bench/eval/history, "Jonah") and the second (bench/eval/history2, "Nadia").

Verdicts per event: "day" (the right day), "range" (a range that holds the right day), "none"
(nothing found: the question is searched as words), "WRONG" (a day or range that does not
hold the truth: a window that may hide the answer). Precision is right / (right + wrong).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from common import markdown_table

from reflect.answer.events import date_of_event, find_event_mention
from reflect.answer.question import SessionDate, read_question
from reflect.formats import parse_transcript
from reflect.session import build_text

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "bench" / "eval"
D = dt.date


@dataclass(frozen=True)
class Said:
    id: str
    date: dt.date
    text: str


# (corpus, event as a question would name it, the day it was, where the script says so)
TRUTH: tuple[tuple[str, str, dt.date | None, str], ...] = (
    ("demo", "the wedding", D(2026, 3, 14), "S1 'getting married in March, the fourteenth'"),
    ("demo", "my sister's wedding", D(2026, 3, 14), "as above"),
    ("demo", "Gran's death", D(2026, 3, 31), "S7 (Thu 2 Apr) 'she died early on Tuesday'"),
    ("demo", "the funeral", D(2026, 4, 7), "S7 'the funeral's next Tuesday, the seventh'"),
    ("demo", "the speech", D(2026, 3, 14), "given at the wedding"),
    ("demo", "the quarterly review", None, "S5 'the quarterly review in April' (no day)"),
    ("demo", "the panic attack", None, "S1 'just before Christmas' (no day)"),
    ("demo", "Gran's fall", None, "S3 'Gran had had a fall' (no day)"),
    ("history", "the move", D(2025, 5, 22), "S7 'Dad moves ... on the twenty-second of May'"),
    ("history", "Dad's fall", D(2025, 4, 6), "S5 'He fell on Sunday the sixth'"),
    ("history", "the interview", D(2025, 6, 18), "S10 (Tue 24 Jun) 'the interview last Wednesday'"),
    ("history", "the holiday", None, "between S10 (24 Jun) and S11 (15 Jul), no day"),
    ("history", "the assessment", D(2025, 4, 14), "S4 'an assessment booked for the fourteenth'"),
    ("history2", "the interview", D(2025, 10, 21), "S5 (Thu 23 Oct) 'on Tuesday, this Tuesday'"),
    ("history2", "the new job", D(2025, 11, 3), "S5 'When do you start?' 'Monday the third'"),
    ("history2", "my last day", D(2025, 10, 31), "S5 'my last day is Friday the thirty-first'"),
)
CORPORA = {
    "demo": (ROOT / "reflect" / "demo" / "sessions", EVAL / "questions_demo.jsonl", D(2026, 4, 30)),
    "history": (EVAL / "history", EVAL / "questions_history.jsonl", D(2025, 8, 1)),
    "history2": (EVAL / "history2", EVAL / "questions_history2.jsonl", D(2025, 12, 19)),
}
_RELATIVE = re.compile(r"\b(?:before|after|since|until|till)\b", re.IGNORECASE)


def load(folder: Path) -> list[Said]:
    said = []
    for path in sorted(folder.iterdir()):
        text, _ = build_text(parse_transcript(path.read_bytes(), path.name).turns)
        said.append(Said(path.name, D.fromisoformat(path.name[:10]), text))
    return said


def verdict(truth: dt.date | None, first: dt.date | None, last: dt.date | None) -> str:
    if first is None or last is None:
        return "none"
    if truth is None:
        return "range?" if first != last else "day?"
    if not first <= truth <= last:
        return "WRONG"
    return "day" if first == last else "range"


def main() -> int:
    corpora = {name: load(folder) for name, (folder, _, _) in CORPORA.items()}
    rows, right, wrong, known = [], 0, 0, 0
    for corpus, event, truth, where in TRUTH:
        found = date_of_event(event, corpora[corpus])
        v = verdict(truth, found.first if found else None, found.last if found else None)
        right += v in ("day", "range")
        wrong += v == "WRONG"
        known += truth is not None
        rows.append(
            [
                corpus,
                event,
                f"{truth:%d %b}" if truth else "–",
                found.describe() if found else "–",
                str(len(found.clues)) if found else "–",
                v,
                where,
            ]
        )
    print(markdown_table(["corpus", "event", "truth", "found", "clues", "verdict", "source"], rows))
    print(
        f"\nEvents with a known day: {known}; placed right {right}, wrong {wrong} "
        f"(precision {right / max(1, right + wrong):.0%}, coverage {right / max(1, known):.0%})."
    )
    print("\nQuestions of the evaluation sets with before/after/since/until:\n")
    qrows = []
    for corpus, (_, questions, today) in CORPORA.items():
        said = corpora[corpus]
        dates = [SessionDate(s.id, s.date) for s in said]
        for line in questions.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            text = item.get("question") or ""
            if not _RELATIVE.search(text):
                continue
            mention = find_event_mention(text)
            asked = read_question(
                text, today=today, sessions=dates, events=lambda e, s=said: date_of_event(e, s)
            )
            if asked.session_ids:
                window = ", ".join(sorted(s[:10] for s in asked.session_ids))
            elif asked.since or asked.until:
                window = f"{asked.since or '…'} to {asked.until or '…'}"
            else:
                window = "–"
            qrows.append(
                [
                    item["id"],
                    item.get("split") or "",
                    text,
                    mention.event if mention else "–",
                    asked.time_words or "–",
                    window,
                ]
            )
    print(markdown_table(["id", "split", "question", "event read", "understood", "window"], qrows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
