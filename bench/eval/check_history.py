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
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(HIST.glob("*.txt"))}
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
            name = SPEAKER_NAMES[speaker]
            if not all(re.match(rf"\[\d\d:\d\d:\d\d\] {re.escape(name)}: ", ln) for ln in hits):
                self.err(where, f"{sub!r} is not (only) in {name}'s turns in {file}")

    # ------------------------------------------------------------------ sessions
    def check_render(self) -> None:
        sys.path.insert(0, str(HERE))
        import make_history_sessions as mk

        for name in mk.stale_files():
            self.err("render", f"out of date: {name} (run make_history_sessions.py)")
        if len(self.texts) != 12:
            self.err("render", f"expected 12 session files, found {len(self.texts)}")
        for n, lines in self.lines.items():
            if not 45 <= len(lines) <= 80:
                self.err(n, f"{len(lines)} turns, expected 45-80")
            if session_date(n) >= TODAY:
                self.err(n, "session is not before today")

    # ------------------------------------------------------------------ questions
    def check_questions(self) -> None:
        rows = [
            json.loads(line)
            for line in (HERE / "questions_history.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        ids = [r["id"] for r in rows]
        if len(set(ids)) != len(ids):
            self.err("questions", "duplicate ids")
        if ids != [f"h{i:03d}" for i in range(1, len(rows) + 1)]:
            self.err("questions", "ids are not h001.. in order")
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
            if r["split"] != expected[w]:
                self.err(w, f"split {r['split']!r}, the seeded draw says {expected[w]!r}")
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
            if "expected_date" in r:
                dt.date.fromisoformat(r["expected_date"])
            if r["kind"] == "outcome" and not r.get("expected_answer"):
                self.err(w, "outcome without expected_answer")
            if "date_from" in r or "date_to" in r:
                a, b = dt.date.fromisoformat(r["date_from"]), dt.date.fromisoformat(r["date_to"])
                for f in files:
                    if not a <= session_date(f) <= b:
                        self.err(w, f"{f} outside {a}..{b}")
            if r["kind"] == "relative_date" and "date_from" not in r:
                self.err(w, "relative_date without date_from/date_to")
            if "conversation" in r:
                convs[r["conversation"]].append(r)
            elif r["kind"] == "followup":
                self.err(w, "followup without conversation")
        for kind, n in kinds.items():
            held = sum(1 for r in rows if r["kind"] == kind and r["split"] == "heldout")
            if n % 3 or held * 3 != n:
                self.err("split", f"{kind}: {held} of {n} heldout, need exactly a third")
        for c, turns in convs.items():
            order = sorted(t["turn"] for t in turns)
            if order != list(range(len(turns))):
                self.err(c, f"turns {order}, expected 0..{len(turns) - 1}")
            for t in turns:
                if (t["turn"] == 0) == (t["kind"] == "followup"):
                    self.err(t["id"], "turn 0 must not be a followup, later turns must be")
            if len(turns) < 2:
                self.err(c, "a conversation needs at least one followup")
            by_turn = sorted(turns, key=lambda t: t["turn"])
            if [t["id"] for t in by_turn] != sorted(t["id"] for t in turns):
                self.err(c, "turn order does not follow id order")
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
    for e in c.errors:
        print(e, file=sys.stderr)
    if c.errors:
        print(f"{len(c.errors)} problem(s)", file=sys.stderr)
        return 1
    kinds = collections.Counter((r["kind"], r["split"]) for r in c.rows)
    for k in sorted(KINDS):
        print(f"{k:14s} dev={kinds[(k, 'dev')]:3d} heldout={kinds[(k, 'heldout')]:3d}")
    print(f"ok: {len(c.rows)} questions over {len(c.texts)} sessions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
