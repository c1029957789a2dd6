"""Validate the multi-session history and its gold files in bench/eval/.

Checks, over bench/eval/history/ (rendered from history_script.txt):
  * the session files are exactly what make_history_sessions.py renders (no stale or extra files);
  * questions_history.jsonl: fields, unique ids, known kinds and speakers; every answer_contains
    substring is verbatim in its session file, inside one turn, and in no other history file;
    when the question names a speaker ("me" = Jonah, "therapist" = Helen) the substring is in
    that speaker's turn; no_answer questions have no gold and their absent_terms
    (case-insensitive regular expressions) match no session; how_often counts equal the listed
    sessions and the gold sessions; first_last dates are the gold session's date; outcome
    questions carry expected_answer; date_from/date_to include every gold session's date;
    exactly one third of each kind is heldout, by the seeded draw in assign_splits();
    conversations have turns 0..n-1 once each, turn 0 is not a followup, later turns are;
  * agreements_history.jsonl: proposal / acceptance / follow-up substrings are verbatim and
    unique, spoken by the right speakers, follow-ups come after the agreement, statuses known;
  * themes_history.jsonl: evidence verbatim and unique, not_in is the complement;
  * recaps_history.jsonl: every session once, 3-6 topics, evidence verbatim and unique.

and the same question checks over the second, fresh history, bench/eval/history2/ (rendered from
history2_script.txt, "me" = Nadia, "therapist" = Owen, today 19 December 2025) and
questions_history2.jsonl: ids k001.. in order, every split "fresh" (no dev/heldout draw: the set
is scored once, at the end), the minimum count of each kind, every accept_dates a date. It has
no agreements, themes or recaps file. The third history, bench/eval/history3/ (from
history3_script.txt, "me" = Martin, "therapist" = Ingrid, today 21 May 2026) and
questions_history3.jsonl (ids t001..), is checked the same way, and so is the fourth,
bench/eval/history4/ (from history4_script.txt, "me" = Freya, "therapist" = Callum, today
20 November 2026) with questions_history4.jsonl (ids f001..), and the fifth, bench/eval/history5/
(from history5_script.txt, "me" = Elliot, "therapist" = Bronwen, today 2 October 2026) with
questions_history5.jsonl (ids g001..). The sixth, bench/eval/history6/
(from history6_script.txt, "me" = Teo, "therapist" = Marisol, today 5 November 2026) with
questions_history6.jsonl (ids m001..), is checked the same way, and so is the seventh,
bench/eval/history7/ (from history7_script.txt, "me" = Dom, "therapist" = Annika, today
27 August 2026) with questions_history7.jsonl (ids p001..). The eighth, bench/eval/history8/
(from history8_script.txt, "me" = Carmel, "therapist" = Ewan, today 20 April 2026) with
questions_history8.jsonl (ids n001..), is checked the same way, and so is the ninth,
bench/eval/history9/ (from history9_script.txt, "me" = Ailsa, "therapist" = Gideon, today
16 December 2026) with questions_history9.jsonl (ids j001..). The tenth, bench/eval/history10/
(from history10_script.txt, "me" = Garth, "therapist" = Meena, today 2 July 2026) with
questions_history10.jsonl (ids c001..), is checked the same way. The eleventh, bench/eval/history11/
(from history11_script.txt, "me" = Maren, "therapist" = Rosalind, today 9 March 2026) with
questions_history11.jsonl (ids e001..), is checked the same way. The twelfth, bench/eval/history12/
(from history12_script.txt, "me" = Wilf, "therapist" = Orla, today 3 February 2026) with
questions_history12.jsonl (ids i001..), is checked the same way. The thirteenth,
bench/eval/history13/ (from history13_script.txt, "me" = Orla, "therapist" = Hugh, today
1 June 2026) with questions_history13.jsonl (ids hm001..), is checked the same way.

    python bench/eval/check_history.py

Exit status 0 when everything checks out, 1 otherwise. Standard library only.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
HIST = HERE / "history"
TODAY = dt.date(2025, 8, 1)  # the fixed "today" of the questions
KINDS = {
    "outcome",
    "first_last",
    "how_often",
    "recap",
    "agreements",
    "speaker",
    "relative_date",
    "paraphrase",
    "followup",
    "no_answer",
}
SPEAKER_NAMES = {"me": "Jonah", "therapist": "Helen"}
STATUSES = {"kept", "not_kept", "dropped", "declined", "unknown"}
SPLIT_SEED = "reflect-history-split-v1"


@dataclass(frozen=True)
class Corpus:
    """One rendered history and its question file."""

    name: str
    script: Path
    folder: Path
    questions: Path
    id_prefix: str
    sessions: int
    turns: tuple[int, int]  # inclusive range of turns per session
    today: dt.date
    speakers: dict[str, str]
    fresh: bool  # every split "fresh" (scored once) instead of the seeded dev/heldout draw
    min_kinds: dict[str, int] = field(default_factory=dict)


HISTORY = Corpus(
    "history",
    HERE / "history_script.txt",
    HIST,
    HERE / "questions_history.jsonl",
    "h",
    12,
    (45, 80),
    TODAY,
    SPEAKER_NAMES,
    fresh=False,
)
# The least count of each kind in a fresh set (one scored once, at the end).
FRESH_MIN_KINDS = {
    "outcome": 9,
    "first_last": 6,
    "how_often": 5,
    "recap": 5,
    "agreements": 6,
    "speaker": 6,
    "relative_date": 6,
    "paraphrase": 6,
    "followup": 9,
    "no_answer": 8,
}


def fresh_history(
    name: str, id_prefix: str, turns: tuple[int, int], today: dt.date, speakers: dict[str, str]
) -> Corpus:
    """A fresh history of ten sessions: `<name>_script.txt` rendered into `<name>/`, its
    questions in `questions_<name>.jsonl`, every split "fresh"."""
    return Corpus(
        name,
        HERE / f"{name}_script.txt",
        HERE / name,
        HERE / f"questions_{name}.jsonl",
        id_prefix,
        10,
        turns,
        today,
        speakers,
        fresh=True,
        min_kinds=FRESH_MIN_KINDS,
    )


HISTORY2 = fresh_history(
    "history2", "k", (60, 90), dt.date(2025, 12, 19), {"me": "Nadia", "therapist": "Owen"}
)
HISTORY3 = fresh_history(
    "history3", "t", (45, 90), dt.date(2026, 5, 21), {"me": "Martin", "therapist": "Ingrid"}
)
HISTORY4 = fresh_history(
    "history4", "f", (35, 90), dt.date(2026, 11, 20), {"me": "Freya", "therapist": "Callum"}
)
HISTORY5 = fresh_history(
    "history5", "g", (30, 90), dt.date(2026, 10, 2), {"me": "Elliot", "therapist": "Bronwen"}
)
HISTORY6 = fresh_history(
    "history6", "m", (35, 90), dt.date(2026, 11, 5), {"me": "Teo", "therapist": "Marisol"}
)
HISTORY7 = fresh_history(
    "history7", "p", (25, 90), dt.date(2026, 8, 27), {"me": "Dom", "therapist": "Annika"}
)
HISTORY8 = fresh_history(
    "history8", "n", (30, 45), dt.date(2026, 4, 20), {"me": "Carmel", "therapist": "Ewan"}
)
HISTORY9 = fresh_history(
    "history9", "j", (30, 90), dt.date(2026, 12, 16), {"me": "Ailsa", "therapist": "Gideon"}
)
HISTORY10 = fresh_history(
    "history10", "c", (30, 45), dt.date(2026, 7, 2), {"me": "Garth", "therapist": "Meena"}
)
HISTORY11 = fresh_history(
    "history11", "e", (30, 45), dt.date(2026, 3, 9), {"me": "Maren", "therapist": "Rosalind"}
)
HISTORY12 = fresh_history(
    "history12", "i", (30, 45), dt.date(2026, 2, 3), {"me": "Wilf", "therapist": "Orla"}
)
HISTORY13 = fresh_history(
    "history13", "hm", (30, 45), dt.date(2026, 6, 1), {"me": "Orla", "therapist": "Hugh"}
)


def assign_splits(items: list[tuple[str, str]]) -> dict[str, str]:
    """Seeded draw: for each kind, exactly a third of its ids (sorted) go to "heldout"."""
    by_kind: dict[str, list[str]] = collections.defaultdict(list)
    for qid, kind in items:
        by_kind[kind].append(qid)
    out: dict[str, str] = {}
    for kind in sorted(by_kind):
        ids = sorted(by_kind[kind])
        held = set(random.Random(f"{SPLIT_SEED}:{kind}").sample(ids, len(ids) // 3))
        for qid in ids:
            out[qid] = "heldout" if qid in held else "dev"
    return out


def session_date(name: str) -> dt.date:
    return dt.date.fromisoformat(name[:10])


class Checker:
    def __init__(self, corpus: Corpus = HISTORY) -> None:
        self.corpus = corpus
        self.errors: list[str] = []
        self.texts = {
            p.name: p.read_text(encoding="utf-8") for p in sorted(corpus.folder.glob("*.txt"))
        }
        self.lines = {n: t.splitlines() for n, t in self.texts.items()}

    def err(self, where: str, msg: str) -> None:
        self.errors.append(f"{where}: {msg}")

    def substring(self, where: str, file: str, sub: str, speaker: str | None = None) -> None:
        if file not in self.texts:
            self.err(where, f"no session file {file!r}")
            return
        if not sub or "\n" in sub:
            self.err(where, f"empty or multi-line substring {sub!r}")
            return
        hits = [ln for ln in self.lines[file] if sub in ln]
        if not hits:
            self.err(where, f"{sub!r} not found (within one turn) in {file}")
            return
        others = [n for n, t in self.texts.items() if n != file and sub in t]
        if others:
            self.err(where, f"{sub!r} also occurs in {others}")
        if speaker is not None:
            name = self.corpus.speakers[speaker]
            if not all(re.match(rf"\[\d\d:\d\d:\d\d\] {re.escape(name)}: ", ln) for ln in hits):
                self.err(where, f"{sub!r} is not (only) in {name}'s turns in {file}")

    # ------------------------------------------------------------------ sessions
    def check_render(self) -> None:
        sys.path.insert(0, str(HERE))
        import make_history_sessions as mk

        c = self.corpus
        for name in mk.stale_files(c.script, c.folder):
            self.err(c.name, f"out of date: {name} (run make_history_sessions.py)")
        if len(self.texts) != c.sessions:
            self.err(c.name, f"expected {c.sessions} session files, found {len(self.texts)}")
        lo, hi = c.turns
        for n, lines in self.lines.items():
            if not lo <= len(lines) <= hi:
                self.err(n, f"{len(lines)} turns, expected {lo}-{hi}")
            if session_date(n) >= c.today:
                self.err(n, "session is not before today")

    # ------------------------------------------------------------------ questions
    def check_questions(self) -> None:
        c = self.corpus
        rows = [
            json.loads(line)
            for line in c.questions.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        ids = [r["id"] for r in rows]
        if len(set(ids)) != len(ids):
            self.err(c.questions.name, "duplicate ids")
        if ids != [f"{c.id_prefix}{i:03d}" for i in range(1, len(rows) + 1)]:
            self.err(c.questions.name, f"ids are not {c.id_prefix}001.. in order")
        kinds = collections.Counter(r["kind"] for r in rows)
        expected = assign_splits([(r["id"], r["kind"]) for r in rows])
        convs: dict[str, list[dict]] = collections.defaultdict(list)
        for r in rows:
            w = r["id"]
            for f in ("question", "kind", "split", "speaker", "gold", "notes"):
                if f not in r:
                    self.err(w, f"missing field {f}")
            if r["kind"] not in KINDS:
                self.err(w, f"unknown kind {r['kind']!r}")
            if r["speaker"] not in (None, "me", "therapist"):
                self.err(w, f"unknown speaker {r['speaker']!r}")
            want = "fresh" if c.fresh else expected[w]
            if r["split"] != want:
                self.err(w, f"split {r['split']!r}, expected {want!r}")
            gold = r["gold"]
            for gi in gold:
                for sub in gi["answer_contains"]:
                    self.substring(w, gi["session_file"], sub, r["speaker"])
            files = [gi["session_file"] for gi in gold]
            if len(set(files)) != len(files):
                self.err(w, "a session appears twice in gold")
            if r["kind"] == "no_answer":
                if gold:
                    self.err(w, "no_answer question with gold")
                terms = r.get("absent_terms") or []
                if not terms:
                    self.err(w, "no_answer without absent_terms")
                for term in terms:
                    rx = re.compile(term, re.I)
                    for n, t in self.texts.items():
                        m = rx.search(t)
                        if m:
                            self.err(w, f"absent term {term!r} matches {m.group(0)!r} in {n}")
            elif not gold:
                self.err(w, "answerable question without gold")
            if r["kind"] == "how_often":
                es = r.get("expected_sessions")
                if es is None or r.get("expected_count") != len(es) or sorted(es) != sorted(files):
                    self.err(w, "expected_count / expected_sessions / gold sessions disagree")
            if r["kind"] == "first_last" and (
                r.get("expected_date") != files[0][:10] or len(files) != 1
            ):
                self.err(w, "first_last needs one gold session and its date as expected_date")
            for day in [r.get("expected_date"), *r.get("accept_dates", [])]:
                if day is not None:
                    dt.date.fromisoformat(day)  # may be after today: "when do I start?"
            if r["kind"] == "outcome" and not r.get("expected_answer"):
                self.err(w, "outcome without expected_answer")
            if "date_from" in r or "date_to" in r:
                a, b = dt.date.fromisoformat(r["date_from"]), dt.date.fromisoformat(r["date_to"])
                for f in files:
                    if not a <= session_date(f) <= b:
                        self.err(w, f"{f} outside {a}..{b}")
                if b > c.today:
                    self.err(w, f"date_to {b} is after today")
            if r["kind"] == "relative_date" and "date_from" not in r:
                self.err(w, "relative_date without date_from/date_to")
            if "conversation" in r:
                convs[r["conversation"]].append(r)
            elif r["kind"] == "followup":
                self.err(w, "followup without conversation")
        for kind, n in kinds.items():
            held = sum(1 for r in rows if r["kind"] == kind and r["split"] == "heldout")
            if not c.fresh and (n % 3 or held * 3 != n):
                self.err("split", f"{kind}: {held} of {n} heldout, need exactly a third")
        for kind, least in c.min_kinds.items():
            if kinds[kind] < least:
                self.err(c.questions.name, f"{kinds[kind]} {kind} questions, need {least}+")
        for conv, turns in convs.items():
            order = sorted(t["turn"] for t in turns)
            if order != list(range(len(turns))):
                self.err(conv, f"turns {order}, expected 0..{len(turns) - 1}")
            for t in turns:
                if (t["turn"] == 0) == (t["kind"] == "followup"):
                    self.err(t["id"], "turn 0 must not be a followup, later turns must be")
            if len(turns) < 2:
                self.err(conv, "a conversation needs at least one followup")
            by_turn = sorted(turns, key=lambda t: t["turn"])
            if [t["id"] for t in by_turn] != sorted(t["id"] for t in turns):
                self.err(conv, "turn order does not follow id order")
        self.rows = rows

    # ------------------------------------------------------------------ agreements
    def check_agreements(self) -> None:
        rows = [
            json.loads(line)
            for line in (HERE / "agreements_history.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        statuses = collections.Counter()
        for r in rows:
            w, f = r["id"], r["session_file"]
            statuses[r["status"]] += 1
            if r["status"] not in STATUSES:
                self.err(w, f"unknown status {r['status']!r}")
            prop = r["proposed_by"]
            other = "therapist" if prop == "me" else "me"
            self.substring(w, f, r["proposal"], prop)
            if r["acceptance"] is not None:
                self.substring(w, f, r["acceptance"], other)
            elif r["status"] != "declined":
                self.err(w, "no acceptance but not declined")
            if r["date"] != f[:10]:
                self.err(w, "date is not the session's date")
            for fu in r["follow_ups"]:
                if session_date(fu["session_file"]) <= session_date(f):
                    self.err(w, f"follow-up {fu['session_file']} is not after the agreement")
                for sub in fu["answer_contains"]:
                    self.substring(w, fu["session_file"], sub)
            if r["status"] in {"kept", "not_kept", "dropped"} and not r["follow_ups"]:
                self.err(w, f"status {r['status']} needs a follow-up")
        for s in ("kept", "not_kept", "dropped", "declined"):
            if not statuses[s]:
                self.err("agreements", f"no agreement with status {s}")
        if len(rows) < 8:
            self.err("agreements", "fewer than 8 agreements")

    # ------------------------------------------------------------------ themes, recaps
    def check_themes(self) -> None:
        rows = [
            json.loads(line)
            for line in (HERE / "themes_history.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        for r in rows:
            w = f"theme {r['theme']}"
            files = [s["session_file"] for s in r["sessions"]]
            if files != sorted(files, key=session_date) or len(set(files)) != len(files):
                self.err(w, "sessions not in date order or repeated")
            for s in r["sessions"]:
                self.substring(w, s["session_file"], s["evidence"])
            if sorted(r["not_in"]) != sorted(set(self.texts) - set(files)):
                self.err(w, "not_in is not the complement of sessions")
            if not r["not_in"]:
                self.err(w, "a theme should be absent from some sessions")
        if not 6 <= len(rows) <= 8:
            self.err("themes", f"{len(rows)} themes, expected 6-8")

    def check_recaps(self) -> None:
        rows = [
            json.loads(line)
            for line in (HERE / "recaps_history.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        if sorted(r["session_file"] for r in rows) != sorted(self.texts):
            self.err("recaps", "not exactly one recap per session")
        for r in rows:
            if not 3 <= len(r["topics"]) <= 6:
                self.err(r["session_file"], f"{len(r['topics'])} recap topics, expected 3-6")
            for t in r["topics"]:
                self.substring(f"recap {r['session_file']}", r["session_file"], t["evidence"])


def main() -> int:
    c = Checker()
    c.check_render()
    c.check_questions()
    c.check_agreements()
    c.check_themes()
    c.check_recaps()
    # The fresh histories, from history2 on: rendering and questions only.
    later = [
        Checker(h)
        for h in (
            HISTORY2,
            HISTORY3,
            HISTORY4,
            HISTORY5,
            HISTORY6,
            HISTORY7,
            HISTORY8,
            HISTORY9,
            HISTORY10,
            HISTORY11,
            HISTORY12,
            HISTORY13,
        )
    ]
    for checker in later:
        checker.check_render()
        checker.check_questions()
    errors = c.errors + [e for checker in later for e in checker.errors]
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"{len(errors)} problem(s)", file=sys.stderr)
        return 1
    fresh, third, fourth, fifth = later[:4]
    kinds = collections.Counter((r["kind"], r["split"]) for r in c.rows)
    kinds2 = collections.Counter(r["kind"] for r in fresh.rows)
    kinds3 = collections.Counter(r["kind"] for r in third.rows)
    kinds4 = collections.Counter(r["kind"] for r in fourth.rows)
    kinds5 = collections.Counter(r["kind"] for r in fifth.rows)
    for k in sorted(KINDS):
        print(
            f"{k:14s} dev={kinds[(k, 'dev')]:3d} heldout={kinds[(k, 'heldout')]:3d}"
            f"   history2 fresh={kinds2[k]:3d}   history3 fresh={kinds3[k]:3d}"
            f"   history4 fresh={kinds4[k]:3d}   history5 fresh={kinds5[k]:3d}"
        )
    print(
        f"ok: {len(c.rows)} questions over {len(c.texts)} sessions (history), "
        f"{len(fresh.rows)} over {len(fresh.texts)} (history2), "
        f"{len(third.rows)} over {len(third.texts)} (history3), "
        f"{len(fourth.rows)} over {len(fourth.texts)} (history4), "
        f"{len(fifth.rows)} over {len(fifth.texts)} (history5)"
    )
    for checker in later[4:]:
        name = checker.corpus.name  # by name, not position: not every number has a history
        counts = collections.Counter(r["kind"] for r in checker.rows)
        print(f"{name} fresh: " + ", ".join(f"{k}={counts[k]}" for k in sorted(KINDS)))
        print(f"ok: {len(checker.rows)} questions over {len(checker.texts)} sessions ({name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
