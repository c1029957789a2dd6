"""Validate the evaluation question sets in bench/eval/.

questions_demo.jsonl (over reflect/demo/sessions/):
  * every record has the expected fields, ids are unique, kinds and speakers are known;
  * each answer_contains substring occurs verbatim in the raw text of the named session file
    and in no other demo session file (so a hit identifies the session);
  * no_answer questions have no session and no answer_contains, and none of their
    absent_terms (case-insensitive regular expressions) matches any session file;
  * date_filter questions carry date_from/date_to that include the session's date;
  * the demo files are exactly what make_demo_sessions.py renders from demo_script.txt.

questions_annomi.jsonl (over the AnnoMI CSV, which is not part of the repository):
  * every referenced transcript and utterance exists, the utterances belong to that
    transcript, and the speaker ("me" = client) matches each utterance's interlocutor;
  * no_answer questions have no transcript and no utterances, and none of their
    absent_terms matches any utterance in the dataset;
  * no question or note repeats six or more consecutive words of any AnnoMI utterance
    (the repository must not carry AnnoMI text).

questions_annomi_v2.jsonl (same corpus, loaded for benchmarks by annomi_questions.load_v2):
  * the v1 rules, plus: kinds paraphrase/therapist/exact_quote/no_answer only; "split" is the
    seeded draw of annomi_questions.heldout_ids (one third of each kind, rounded, held out);
  * alt_refs point at existing utterances;
  * exact_quote: "{quote}" appears once in the template, quote_ref spans 3-9 words inside the
    utterance, quote_variant only changes case/punctuation, and the quote (normalised for case
    and punctuation) occurs in the corpus at exactly the listed places (main ref + alt_refs);
  * no question template or note repeats six or more consecutive AnnoMI words.

questions_annomi_v3.jsonl (a fresh set, loaded by annomi_questions.load_set(csv, "v3")):
  * the v2 rules, except that every "split" is "fresh" (the whole set is scored once, at the end);
  * ids look like v001; no question answers with a moment (transcript and utterance, main ref
    or alt_refs) already used by a v1 or v2 question unless its notes name that question's id.

questions_annomi_v4/v5/v6/v7.jsonl (loaded by load_set(csv, "v4") ... "v7"):
  * the v3 rules, ids w001 / x001 / y001 / z001, and no moment of any earlier set (v1, v2, v3;
    v5 also v4; v6 also v4 and v5; v7 also v4 to v6);
  * questions_annomi_v9.jsonl: the same rules, ids s001, and no moment of v1 to v7;
  * v5 on: an exact_quote typed without quotation marks carries "quote_marks": "none" (its
    template has no quote character next to {quote}, and the quote spans 5-9 words); every
    other exact_quote has a quote character right before {quote}.

questions_annomi_v8.jsonl (load_set(csv, "v8")): the v7 rules, ids r001, and no moment of v1
to v7.

questions_annomi_v10.jsonl (load_set(csv, "v10")): the v7 rules, ids u001, and no moment of v1
to v9.
questions_annomi_v11.jsonl (load_set(csv, "v11")): the v7 rules, ids o001, and no moment of v1
to v10.
questions_annomi_v12.jsonl (load_set(csv, "v12")): the v7 rules, ids q001, and no moment of v1
to v11.
questions_annomi_v13.jsonl (load_set(csv, "v13")): the v7 rules, ids l001, and no moment of v1
to v11 (v13 asks only about odd-numbered transcripts).

The CSV is found at $REFLECT_ANNOMI_CSV, else ../shared/corpora/annomi/AnnoMI-simple.csv
relative to the repository root. Without it, the AnnoMI references are not checked (a
warning is printed) unless --require-annomi is given.

    python bench/eval/check_questions.py [--require-annomi]

Exit status 0 when everything checks out, 1 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEMO_DIR = REPO / "reflect" / "demo" / "sessions"
DEMO_QUESTIONS = HERE / "questions_demo.jsonl"
ANNOMI_QUESTIONS = HERE / "questions_annomi.jsonl"
ANNOMI_V2_QUESTIONS = HERE / "questions_annomi_v2.jsonl"
ANNOMI_V3_QUESTIONS = HERE / "questions_annomi_v3.jsonl"
ANNOMI_V4_QUESTIONS = HERE / "questions_annomi_v4.jsonl"
ANNOMI_V5_QUESTIONS = HERE / "questions_annomi_v5.jsonl"
ANNOMI_V6_QUESTIONS = HERE / "questions_annomi_v6.jsonl"
ANNOMI_V7_QUESTIONS = HERE / "questions_annomi_v7.jsonl"
ANNOMI_V8_QUESTIONS = HERE / "questions_annomi_v8.jsonl"
ANNOMI_V9_QUESTIONS = HERE / "questions_annomi_v9.jsonl"
ANNOMI_V10_QUESTIONS = HERE / "questions_annomi_v10.jsonl"
ANNOMI_V11_QUESTIONS = HERE / "questions_annomi_v11.jsonl"
ANNOMI_V12_QUESTIONS = HERE / "questions_annomi_v12.jsonl"
ANNOMI_V13_QUESTIONS = HERE / "questions_annomi_v13.jsonl"
ANNOMI_DEFAULT = REPO.parent / "shared" / "corpora" / "annomi" / "AnnoMI-simple.csv"

KINDS = {"paraphrase", "exact_quote", "therapist", "no_answer", "date_filter", "speaker"}
SPEAKERS = {"me", "therapist", None}
LEAK_NGRAM = 6


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, where: str, msg: str) -> None:
        self.errors.append(f"{where}: {msg}")

    def warn(self, where: str, msg: str) -> None:
        self.warnings.append(f"{where}: {msg}")


def load_jsonl(path: Path, rep: Report) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            rep.error(f"{path.name}:{n}", f"not JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            rep.error(f"{path.name}:{n}", "not a JSON object")
            continue
        obj["_line"] = n
        records.append(obj)
    return records


def common_checks(
    q: dict[str, Any], where: str, id_prefix: str, seen: set[str], rep: Report
) -> None:
    qid = q.get("id")
    if not isinstance(qid, str) or not re.fullmatch(rf"{id_prefix}\d{{2,}}", qid):
        rep.error(where, f"id should look like {id_prefix}01, got {qid!r}")
    elif qid in seen:
        rep.error(where, f"duplicate id {qid}")
    else:
        seen.add(qid)
    if not isinstance(q.get("question"), str) or not q["question"].strip():
        rep.error(where, "empty question")
    if q.get("kind") not in KINDS:
        rep.error(where, f"unknown kind {q.get('kind')!r}")
    if q.get("speaker", "missing") not in SPEAKERS:
        rep.error(where, f"speaker must be 'me', 'therapist' or null, got {q.get('speaker')!r}")
    terms = q.get("absent_terms")
    if q.get("kind") == "no_answer":
        if not isinstance(terms, list) or not terms:
            rep.error(where, "no_answer question needs a non-empty absent_terms list")
        else:
            for t in terms:
                try:
                    re.compile(t)
                except (re.error, TypeError):
                    rep.error(where, f"absent_terms entry is not a valid regex: {t!r}")
    elif terms:
        rep.error(where, "absent_terms only belongs on no_answer questions")


def compile_terms(terms: Iterable[str]) -> list[re.Pattern[str]]:
    out = []
    for t in terms:
        try:
            out.append(re.compile(t, re.IGNORECASE))
        except (re.error, TypeError):
            continue
    return out


def session_date(name: str) -> dt.date | None:
    m = re.match(r"(\d{4}-\d{2}-\d{2})", name)
    return dt.date.fromisoformat(m.group(1)) if m else None


# --------------------------------------------------------------------------- demo


def check_demo(rep: Report) -> collections.Counter[str]:
    sys.path.insert(0, str(HERE))
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # keep bench/eval clean
    try:
        import make_demo_sessions as mds
    finally:
        sys.path.pop(0)
        sys.dont_write_bytecode = saved

    expected = mds.render_all()
    texts: dict[str, str] = {}
    for name, text in expected.items():
        path = DEMO_DIR / name
        if not path.is_file():
            rep.error("demo", f"missing session file {path.relative_to(REPO)}")
            continue
        raw = path.read_bytes()
        try:
            texts[name] = raw.decode("utf-8")
        except UnicodeDecodeError:
            rep.error("demo", f"{name} is not UTF-8")
            continue
        if texts[name] != text:
            rep.error("demo", f"{name} is out of date; run bench/eval/make_demo_sessions.py")
    extra = sorted(p.name for p in DEMO_DIR.glob("*") if p.name not in expected)
    if extra:
        rep.error("demo", f"unexpected files in {DEMO_DIR.relative_to(REPO)}: {extra}")

    questions = load_jsonl(DEMO_QUESTIONS, rep)
    seen: set[str] = set()
    kinds: collections.Counter[str] = collections.Counter()
    for q in questions:
        where = f"{DEMO_QUESTIONS.name}:{q['_line']} {q.get('id', '?')}"
        common_checks(q, where, "d", seen, rep)
        kinds[str(q.get("kind"))] += 1
        sf = q.get("session_file")
        answers = q.get("answer_contains")
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            rep.error(where, "answer_contains must be a list of strings")
            continue
        if q.get("kind") == "no_answer":
            if sf is not None:
                rep.error(where, "no_answer question must have session_file null")
            if answers:
                rep.error(where, "no_answer question must have an empty answer_contains")
            for pat in compile_terms(q.get("absent_terms") or []):
                for name, text in texts.items():
                    m = pat.search(text)
                    if m:
                        rep.error(
                            where, f"absent term /{pat.pattern}/ found in {name}: {m.group(0)!r}"
                        )
            continue
        if sf not in expected:
            rep.error(where, f"session_file {sf!r} is not a demo session")
            continue
        if not answers:
            rep.error(where, "answer_contains is empty")
        for a in answers:
            if not a.strip():
                rep.error(where, "blank answer_contains entry")
                continue
            if sf in texts and a not in texts[sf]:
                rep.error(where, f"not found verbatim in {sf}: {a!r}")
            others = [n for n, t in texts.items() if n != sf and a in t]
            if others:
                rep.error(where, f"{a!r} also occurs in {others}; pick a substring unique to {sf}")
        if q.get("kind") == "date_filter":
            try:
                lo = dt.date.fromisoformat(q["date_from"])
                hi = dt.date.fromisoformat(q["date_to"])
            except (KeyError, TypeError, ValueError):
                rep.error(where, "date_filter question needs ISO date_from and date_to")
            else:
                d = session_date(sf)
                if d is None or not lo <= d <= hi:
                    rep.error(where, f"session date {d} outside {lo}..{hi}")
    return kinds


# --------------------------------------------------------------------------- annomi


def annomi_csv_path() -> Path:
    env = os.environ.get("REFLECT_ANNOMI_CSV")
    return Path(env).expanduser() if env else ANNOMI_DEFAULT


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def check_annomi(rep: Report, require_csv: bool) -> collections.Counter[str]:
    questions = load_jsonl(ANNOMI_QUESTIONS, rep)
    seen: set[str] = set()
    kinds: collections.Counter[str] = collections.Counter()
    for q in questions:
        where = f"{ANNOMI_QUESTIONS.name}:{q['_line']} {q.get('id', '?')}"
        common_checks(q, where, "a", seen, rep)
        kinds[str(q.get("kind"))] += 1
        tid, uids = q.get("transcript_id"), q.get("utterance_ids")
        if not isinstance(uids, list) or not all(isinstance(u, int) for u in uids):
            rep.error(where, "utterance_ids must be a list of integers")
        if q.get("kind") == "no_answer":
            if tid is not None or uids:
                rep.error(
                    where, "no_answer question must have transcript_id null and no utterance_ids"
                )
        elif not isinstance(tid, int) or not uids:
            rep.error(where, "needs an integer transcript_id and at least one utterance id")
        if "answer_contains" in q or "utterance_text" in q:
            rep.error(where, "AnnoMI questions reference utterances by id only, never by text")

    path = annomi_csv_path()
    if not path.is_file():
        msg = f"AnnoMI CSV not found at {path}; references not checked"
        if require_csv:
            rep.error("annomi", msg)
        else:
            rep.warn("annomi", msg + " (set REFLECT_ANNOMI_CSV)")
        return kinds

    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    utter: dict[tuple[int, int], dict[str, str]] = {}
    for r in rows:
        utter[(int(r["transcript_id"]), int(r["utterance_id"]))] = r
    transcripts = {t for t, _ in utter}
    leak_grams: set[tuple[str, ...]] = set()
    for r in rows:
        leak_grams |= ngrams(words(r["utterance_text"]), LEAK_NGRAM)

    for q in questions:
        where = f"{ANNOMI_QUESTIONS.name}:{q['_line']} {q.get('id', '?')}"
        for field in ("question", "notes"):
            shared = ngrams(words(str(q.get(field) or "")), LEAK_NGRAM) & leak_grams
            if shared:
                rep.error(where, f"{field} repeats AnnoMI wording: {' '.join(sorted(shared)[0])!r}")
        if q.get("kind") == "no_answer":
            for pat in compile_terms(q.get("absent_terms") or []):
                hits = [k for k, r in utter.items() if pat.search(r["utterance_text"])]
                if hits:
                    rep.error(
                        where,
                        f"absent term /{pat.pattern}/ occurs in {len(hits)} "
                        f"utterance(s), e.g. transcript {hits[0][0]} "
                        f"utterance {hits[0][1]}",
                    )
            continue
        tid = q.get("transcript_id")
        if tid not in transcripts:
            rep.error(where, f"transcript_id {tid!r} not in the dataset")
            continue
        want = {"me": "client", "therapist": "therapist"}.get(q.get("speaker") or "")
        for u in q.get("utterance_ids") or []:
            r = utter.get((tid, u))
            if r is None:
                rep.error(where, f"utterance {u} is not in transcript {tid}")
            elif want and r["interlocutor"] != want:
                rep.error(
                    where,
                    f"utterance {u} of transcript {tid} is by "
                    f"{r['interlocutor']}, question says {q.get('speaker')}",
                )
    return kinds


# --------------------------------------------------------------------------- annomi v2

V2_KINDS = {"paraphrase", "therapist", "exact_quote", "no_answer"}
V2_SPLITS = {"dev", "heldout"}
V3_SPLITS = {"fresh"}
QUOTE_WORDS = (3, 9)
UNQUOTED_WORDS = (5, 9)  # a bare remembered phrase needs a few words to be recognisable
QUOTE_CHARS = "\"'\u2018\u2019\u201c\u201d"


def import_annomi_questions():
    sys.path.insert(0, str(HERE))
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        import annomi_questions as aq
    finally:
        sys.path.pop(0)
        sys.dont_write_bytecode = saved
    return aq


def check_annomi_v2(rep: Report, require_csv: bool) -> collections.Counter[str]:
    """questions_annomi_v2.jsonl: the v1 rules plus split, alt_refs and quote_ref."""
    return check_annomi_set(rep, require_csv, ANNOMI_V2_QUESTIONS, "b", V2_SPLITS)


# The fresh sets, in the order they were written: (file, id prefix, whether bare quotes are
# tagged with quote_marks). Each is scored once, so each must ask about new moments: none of
# v1, v2 or any fresh set before it.
FRESH_SETS = (
    (ANNOMI_V3_QUESTIONS, "v", False),
    (ANNOMI_V4_QUESTIONS, "w", False),
    (ANNOMI_V5_QUESTIONS, "x", True),
    (ANNOMI_V6_QUESTIONS, "y", True),
    (ANNOMI_V7_QUESTIONS, "z", True),
    (ANNOMI_V8_QUESTIONS, "r", True),
    (ANNOMI_V9_QUESTIONS, "s", True),
    (ANNOMI_V10_QUESTIONS, "u", True),
    (ANNOMI_V11_QUESTIONS, "o", True),
    (ANNOMI_V12_QUESTIONS, "q", True),
    (ANNOMI_V13_QUESTIONS, "l", True),
)


def check_annomi_fresh(
    rep: Report, require_csv: bool
) -> list[tuple[str, collections.Counter[str]]]:
    """questions_annomi_v3 on: the v2 rules, all split "fresh", and no reused moment."""
    earlier = [ANNOMI_QUESTIONS, ANNOMI_V2_QUESTIONS]
    results = []
    for path, id_prefix, tagged_marks in FRESH_SETS:
        kinds = check_annomi_set(
            rep,
            require_csv,
            path,
            id_prefix,
            V3_SPLITS,
            earlier=tuple(earlier),
            tagged_marks=tagged_marks,
        )
        results.append((path.name, kinds))
        earlier.append(path)
    return results


def check_quote_marks(
    q: dict[str, Any], where: str, tagged: bool, allowed: tuple[str, ...], rep: Report
) -> None:
    """In a set that tags them, a quote typed bare (no quotation mark next to {quote}) carries
    quote_marks "none" and spans UNQUOTED_WORDS words; every other quote is in quotation marks."""
    marks = q.get("quote_marks")
    if not tagged:
        if marks is not None:
            rep.error(where, "quote_marks is only used in sets that tag bare quotes (v5 on)")
        return
    if marks not in (None, *allowed):
        rep.error(where, f"unknown quote_marks {marks!r}")
        return
    template = str(q.get("question"))
    at = template.find("{quote}")
    before = template[at - 1 : at] if at > 0 else ""
    after = template[at + len("{quote}") : at + len("{quote}") + 1]
    quoted = bool(before) and before in QUOTE_CHARS
    if marks == "none":
        if quoted or (after and after in QUOTE_CHARS):
            rep.error(where, 'quote_marks "none" but the template quotes {quote}')
        ref = q.get("quote_ref") or {}
        n = int(ref.get("end_word", 0)) - int(ref.get("start_word", 0))
        if not UNQUOTED_WORDS[0] <= n <= UNQUOTED_WORDS[1]:
            rep.error(
                where,
                f"a bare quote must span {UNQUOTED_WORDS[0]}-{UNQUOTED_WORDS[1]} words, got {n}",
            )
    elif not quoted:
        rep.error(where, 'a quote without quotation marks needs "quote_marks": "none"')


def moments(q: dict[str, Any]) -> set[tuple[Any, Any]]:
    """The (transcript_id, utterance_id) places that answer a question, alt_refs included."""
    refs = [(q.get("transcript_id"), q.get("utterance_ids") or [])]
    refs += [
        (a.get("transcript_id"), a.get("utterance_ids") or []) for a in q.get("alt_refs") or []
    ]
    return {(tid, u) for tid, uids in refs if tid is not None for u in uids}


def check_annomi_set(
    rep: Report,
    require_csv: bool,
    path: Path,
    id_prefix: str,
    splits: set[str],
    earlier: tuple[Path, ...] = (),
    tagged_marks: bool = False,
) -> collections.Counter[str]:
    """An AnnoMI set in the v2 format. splits == V2_SPLITS means the seeded dev/heldout draw;
    `earlier` sets must not share an answering moment unless the notes name their question;
    `tagged_marks`: bare quotes carry quote_marks "none", and only they (see check_quote_marks)."""
    aq = import_annomi_questions()
    questions = load_jsonl(path, rep)
    seen: set[str] = set()
    kinds: collections.Counter[str] = collections.Counter()
    for q in questions:
        where = f"{path.name}:{q['_line']} {q.get('id', '?')}"
        common_checks(q, where, id_prefix, seen, rep)
        kind = q.get("kind")
        kinds[f"{kind}/{q.get('split')}"] += 1
        if kind not in V2_KINDS:
            rep.error(where, f"kind {kind!r} is not used in {path.name}")
        if q.get("split") not in splits:
            rep.error(where, f"split must be one of {sorted(splits)}, got {q.get('split')!r}")
        tid, uids = q.get("transcript_id"), q.get("utterance_ids")
        if not isinstance(uids, list) or not all(isinstance(u, int) for u in uids):
            rep.error(where, "utterance_ids must be a list of integers")
        if "answer_contains" in q or "utterance_text" in q or "quote" in q:
            rep.error(where, "AnnoMI questions reference utterances by id only, never by text")
        alts = q.get("alt_refs", [])
        if not isinstance(alts, list) or not all(
            isinstance(a, dict)
            and isinstance(a.get("transcript_id"), int)
            and isinstance(a.get("utterance_ids"), list)
            and a["utterance_ids"]
            and all(isinstance(u, int) for u in a["utterance_ids"])
            for a in alts
        ):
            rep.error(
                where, "alt_refs must be a list of {transcript_id, utterance_ids (non-empty)}"
            )
            q["alt_refs"] = alts = []
        if kind == "no_answer":
            if tid is not None or uids or alts:
                rep.error(where, "no_answer question must have transcript_id null and no refs")
        elif not isinstance(tid, int) or not uids:
            rep.error(where, "needs an integer transcript_id and at least one utterance id")
        has_tpl = "{quote}" in str(q.get("question"))
        ref = q.get("quote_ref")
        if kind == "exact_quote":
            if not has_tpl or str(q.get("question")).count("{quote}") != 1:
                rep.error(where, "exact_quote question must contain {quote} exactly once")
            if not (
                isinstance(ref, dict)
                and all(
                    isinstance(ref.get(k), int) for k in ("utterance_id", "start_word", "end_word")
                )
            ):
                rep.error(where, "exact_quote needs quote_ref {utterance_id, start_word, end_word}")
                q["quote_ref"] = None
            else:
                n = ref["end_word"] - ref["start_word"]
                if not QUOTE_WORDS[0] <= n <= QUOTE_WORDS[1] or ref["start_word"] < 0:
                    rep.error(
                        where,
                        f"quote_ref must span {QUOTE_WORDS[0]}-{QUOTE_WORDS[1]} words, got {n}",
                    )
                if isinstance(uids, list) and ref["utterance_id"] not in uids:
                    rep.error(where, "quote_ref utterance_id must be one of utterance_ids")
            if q.get("quote_variant") not in (None, *aq.QUOTE_VARIANTS):
                rep.error(where, f"unknown quote_variant {q.get('quote_variant')!r}")
            check_quote_marks(q, where, tagged_marks, aq.QUOTE_MARKS, rep)
        else:
            if has_tpl or ref is not None or "quote_variant" in q or "quote_marks" in q:
                rep.error(
                    where,
                    "only exact_quote questions carry {quote}, quote_ref, quote_variant, "
                    "quote_marks",
                )

    # the split is the seeded draw, one third (rounded) of each kind held out
    held = aq.heldout_ids(questions) if splits == V2_SPLITS else set()
    for q in questions:
        want = "heldout" if q.get("id") in held else "dev"
        if splits == V2_SPLITS and q.get("split") in V2_SPLITS and q.get("split") != want:
            rep.error(
                f"{path.name}:{q['_line']} {q.get('id')}",
                f"split is {q.get('split')}, the seeded draw says {want}",
            )

    # a fresh set asks about new moments; an overlap must be deliberate and say so
    used: dict[tuple[Any, Any], set[str]] = {}
    for earlier_path in earlier:
        for old in load_jsonl(earlier_path, rep):
            for m in moments(old):
                used.setdefault(m, set()).add(str(old.get("id")))
    for q in questions:
        old_ids = set().union(*(used.get(m, set()) for m in moments(q)))
        unnamed = sorted(i for i in old_ids if i not in str(q.get("notes") or ""))
        if unnamed:
            rep.error(
                f"{path.name}:{q['_line']} {q.get('id')}",
                f"answers with a moment of earlier question(s) {unnamed}; pick another moment "
                "or name them in notes",
            )

    csv_path = annomi_csv_path()
    if not csv_path.is_file():
        msg = f"AnnoMI CSV not found at {csv_path}; {path.name} references not checked"
        if require_csv:
            rep.error(path.stem, msg)
        else:
            rep.warn(path.stem, msg + " (set REFLECT_ANNOMI_CSV)")
        return kinds

    corpus = aq.read_corpus(csv_path)
    leak_grams: set[tuple[str, ...]] = set()
    norm_utts: dict[tuple[int, int], list[str]] = {}
    for k, r in corpus.items():
        leak_grams |= ngrams(words(r["utterance_text"]), LEAK_NGRAM)
        norm_utts[k] = aq.norm_tokens(r["utterance_text"])
    # a quote must occur only at its listed places; the alt_refs of other kinds must exist
    for q in questions:
        where = f"{path.name}:{q['_line']} {q.get('id', '?')}"
        for field in ("question", "notes"):
            text = str(q.get(field) or "").replace("{quote}", " ")
            shared = ngrams(words(text), LEAK_NGRAM) & leak_grams
            if shared:
                rep.error(where, f"{field} repeats AnnoMI wording: {' '.join(sorted(shared)[0])!r}")
        kind = q.get("kind")
        if kind == "no_answer":
            for pat in compile_terms(q.get("absent_terms") or []):
                hits = [k for k, r in corpus.items() if pat.search(r["utterance_text"])]
                if hits:
                    rep.error(
                        where,
                        f"absent term /{pat.pattern}/ occurs in {len(hits)} utterance(s), "
                        f"e.g. transcript {hits[0][0]} utterance {hits[0][1]}",
                    )
            continue
        want = {"me": "client", "therapist": "therapist"}.get(q.get("speaker") or "")
        refs = [(q.get("transcript_id"), q.get("utterance_ids") or [], "")]
        refs += [
            (a["transcript_id"], a["utterance_ids"], "alt_refs ") for a in q.get("alt_refs", [])
        ]
        ok = True
        for tid, uids, label in refs:
            for u in uids:
                r = corpus.get((tid, u))
                if r is None:
                    rep.error(where, f"{label}utterance {u} is not in transcript {tid!r}")
                    ok = False
                elif want and r["interlocutor"] != want and not label:
                    rep.error(
                        where,
                        f"utterance {u} of transcript {tid} is by {r['interlocutor']}, "
                        f"question says {q.get('speaker')}",
                    )
        if kind != "exact_quote" or not ok or not q.get("quote_ref"):
            continue
        ref = q["quote_ref"]
        row = corpus[(q["transcript_id"], ref["utterance_id"])]
        n_words = len(row["utterance_text"].split())
        if ref["end_word"] > n_words or ref["start_word"] >= ref["end_word"]:
            rep.error(
                where,
                f"quote_ref words {ref['start_word']}:{ref['end_word']} outside the utterance "
                f"({n_words} words)",
            )
            continue
        quote = aq.quote_text(row["utterance_text"], ref["start_word"], ref["end_word"])
        variant = q.get("quote_variant")
        rendered = aq.apply_variant(quote, variant)
        if variant and rendered == quote:
            rep.error(where, f"quote_variant {variant} does not change the quote")
        needle = aq.norm_tokens(rendered)
        if needle != aq.norm_tokens(quote):
            rep.error(where, "quote_variant changes more than case and punctuation")
        m = len(needle)
        found = {
            k
            for k, t in norm_utts.items()
            if any(t[i : i + m] == needle for i in range(len(t) - m + 1))
        }
        listed = {(tid, u) for tid, uids, _ in refs for u in uids}
        extra = sorted(found - listed)
        if extra:
            rep.error(where, f"quote also occurs at {extra}; list them in alt_refs")
        for tid, uids, label in refs:
            if not any((tid, u) in found for u in uids):
                rep.error(
                    where, f"quote does not occur in {label}transcript {tid} utterances {uids}"
                )
    return kinds


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Validate bench/eval question sets.")
    ap.add_argument(
        "--require-annomi",
        action="store_true",
        help="fail (instead of warn) when the AnnoMI CSV is not available",
    )
    args = ap.parse_args(argv)
    rep = Report()
    demo_kinds = check_demo(rep)
    annomi_kinds = check_annomi(rep, args.require_annomi)
    v2_kinds = check_annomi_v2(rep, args.require_annomi)
    fresh_kinds = check_annomi_fresh(rep, args.require_annomi)
    for label, kinds in (
        ("questions_demo.jsonl", demo_kinds),
        ("questions_annomi.jsonl", annomi_kinds),
        ("questions_annomi_v2.jsonl", v2_kinds),
        *fresh_kinds,
    ):
        detail = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        print(f"{label}: {sum(kinds.values())} questions ({detail})")
    for w in rep.warnings:
        print(f"warning: {w}")
    for e in rep.errors:
        print(f"error: {e}")
    print("OK" if not rep.errors else f"{len(rep.errors)} error(s)")
    return 1 if rep.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
