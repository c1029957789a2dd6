"""Answering a question from the user's own sessions: short, warm, and every claim cited.

The small local model summarises well enough, but (measured, see the project notes) it also
restates the question as if it were the answer, pastes transcript lines, and asserts answers
that no excerpt holds. So the model decides nothing that matters here:

- whether the sessions hold an answer is decided from retrieval evidence before the model is
  called (`decide_found`); when they don't, the user gets an honest "couldn't find that";
- requests for a diagnosis, medication advice or a decision get a pointer back to the
  therapist, and crisis language gets a fixed safety message: both are fixed texts;
- every sentence the model writes is checked against the excerpt it cites; sentences the
  excerpt does not support are dropped, quotes not found verbatim are flagged, and when no
  sentence survives the answer is built from the excerpts themselves (extractive fallback).

Transcript text is data, never instructions: it only ever reaches the model inside numbered,
quoted excerpts, and none of the checks above depends on what the model says about it.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from reflect.chunking import span_times
from reflect.embedding import Embedder
from reflect.errors import ReflectError
from reflect.index import NO_FILTERS, STOPWORDS, Filters
from reflect.llm import ChatModel, Message
from reflect.prompt_templates import Prompts, format_date, validate_prompts
from reflect.retrieval import Hit, Mode, Retriever
from reflect.session import Session

ModelFactory = Callable[[], ChatModel]

# ---- words ---------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that say how something was said or asked, not what: "what did I SAY in our SESSION
# about..." has one content word. Also the contractions the index's list leaves out.
GENERIC_WORDS = _word_set(
    """said say says saying tell tells telling told talk talks talking talked mention
    mentions mentioning mentioned discuss discussed discussing discussion bring brought
    came come up session sessions therapy therapist counsellor counselor counselling
    counseling remember remembered recall time times thing things something anything
    everything stuff bit part parts ever last week weeks day days today yesterday ago once
    whether like kind sort get got go went know also really just maybe way lot lots one
    feel feels felt feeling feelings think thought ask asked asking answer suggest
    suggested suggestion suggestions recommend recommended explain explained describe
    described share shared note noted point pointed idea ideas talked us i'm i've i'd i'll
    you're you've you'd you'll we're we've we'd it's that's there's don't didn't doesn't
    can't couldn't won't wouldn't isn't wasn't aren't weren't haven't hasn't let's yeah
    yes okay ok um uh mm hmm oh well going goes gone new"""
)
_STOP = STOPWORDS | GENERIC_WORDS

# Words that place a question in time ("in my first session in February"). Once a date or
# session filter has been applied they are already answered, and they almost never occur in
# what was said, so counting them as content made date questions look unanswerable.
DATE_WORDS = _word_set(
    """january february march april may june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday
    thursday friday saturday sunday first second third fourth fifth sixth seventh eighth
    ninth tenth 1st 2nd 3rd 4th 5th 6th 7th 8th 9th 10th latest recent recently earlier
    previous month months year years spring summer autumn fall winter before after since
    until during"""
)


def stem(word: str) -> str:
    """A light English stemmer: enough for "sleeping" ~ "sleep", "worried" ~ "worry".

    Deliberately crude and symmetric (question, excerpt and answer words all go through it),
    so it only has to map related forms together, not produce real words.
    """
    w = word.casefold().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    for suffix, replacement in (
        ("ies", "y"),
        ("ied", "y"),
        ("ing", ""),
        ("ed", ""),
        ("ly", ""),
        ("sses", "ss"),
        ("shes", "sh"),
        ("ches", "ch"),
        ("xes", "x"),
        ("s", ""),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
            w = w[: -len(suffix)] + replacement
            break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]  # "stopped" -> "stopp" -> "stop"
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]  # "hope"/"hoped", "tire"/"tired" meet at "hop", "tir"
    return w


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold().replace("’", "'"))


def content_stems(text: str, *, ignore: frozenset[str] = frozenset()) -> set[str]:
    """Stems of the words that carry meaning: not stopwords, not generic talk-about-talk,
    nor any word in `ignore`."""
    return {
        stem(w)
        for w in words(text)
        if w not in _STOP and w not in ignore and (len(w) > 1 or w.isdigit())
    }


def question_terms(question: str, filters: Filters = NO_FILTERS) -> set[str]:
    """The question's content stems, without its date words once a filter placed it in time."""
    placed = filters.since is not None or filters.until is not None or bool(filters.session_ids)
    return content_stems(question, ignore=DATE_WORDS if placed else frozenset())


def normalize_for_quote(text: str) -> str:
    """Case, punctuation and spacing folded away, for 'is this quote verbatim' checks."""
    return " ".join(re.sub(r"[^\w\s]|_", " ", text.casefold().replace("’", "")).split())


# ---- evidence: is the answer in the sessions at all? ---------------------------------------

# Provisional, chosen on 24 invented in-session and 20 out-of-session questions over the demo
# sessions with the bundled all-MiniLM-L6-v2 (24/24 found, 1/20 wrongly found; the numbers
# are in the helper's report). In-session questions nearly always have all their content
# words in the hits; out-of-session ones at most half. Similarity alone decides only when
# high: out-of-session questions reached 0.48. The lead calibrates these on the evaluation
# set; `Evidence` keeps the raw numbers so a benchmark can sweep them.


@dataclass(frozen=True, slots=True)
class EvidenceThresholds:
    strong_similarity: float = 0.50  # found on meaning alone
    min_coverage: float = 0.67  # most content words present ...
    min_similarity: float = 0.15  # ... and the hits at least vaguely related
    partial_coverage: float = 0.5  # half the content words present ...
    partial_similarity: float = 0.50  # ... and the hits clearly related
    no_terms_similarity: float = 0.40  # "what did I say about feeling like myself again?"
    words_only_coverage: float = 0.75  # no embedder (vectors still loading): words decide


EVIDENCE_HITS = 5


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a question was judged answerable or not; raw numbers kept for calibration.

    `max_similarity`: best cosine similarity between the question and the sessions' chunks
    (None without an embedder). `term_coverage`: share of the question's content words
    (stemmed) found in the hits (None when it has none, e.g. "what did we talk about?").
    """

    found: bool
    reason: str
    max_similarity: float | None
    term_coverage: float | None
    content_terms: tuple[str, ...]
    matched_terms: tuple[str, ...]
    exact_match: bool
    hit_count: int


def decide_found(
    question: str,
    hits: Sequence[Hit],
    *,
    similarity: float | None = None,
    embedder: Embedder | None = None,
    thresholds: EvidenceThresholds = EvidenceThresholds(),
    evidence_hits: int = EVIDENCE_HITS,
    filters: Filters = NO_FILTERS,
) -> Evidence:
    """Decide from the hits alone, before any model runs, whether they answer `question`.

    `similarity` is the question's best cosine similarity to the sessions (see
    `question_similarity`); without it, and with an `embedder`, the hits' texts are embedded
    to get it (slower). Found when a quoted phrase matched verbatim, or the meaning is close
    enough, or enough of the question's content words occur in the hits and the meaning is
    related: see `EvidenceThresholds`. `filters` are the search's: with a date or session
    filter, the question's date words are not counted (see `question_terms`).
    """
    t = thresholds
    considered = list(hits[:evidence_hits])
    terms = sorted(question_terms(question, filters))
    if not considered:
        return Evidence(False, "no hits", similarity, None, tuple(terms), (), False, 0)
    exact = any(h.exact for h in considered)
    # Whole chunks, not the (possibly one-turn) excerpts: a speaker-filtered excerpt drops the
    # other speaker's words around it, which made answerable questions look unanswered.
    # "What did Ellie say..." names a speaker; labels are not in the text but are in the hit.
    present = set().union(
        *(content_stems(f"{h.chunk_text or h.text} {h.speaker or ''}") for h in considered)
    )
    matched = tuple(term for term in terms if _term_present(term, present))
    coverage = len(matched) / len(terms) if terms else None
    if similarity is None and embedder is not None:
        vectors = embedder.embed([question, *(h.chunk_text or h.text for h in considered)])
        similarity = float(np.max(vectors[1:] @ vectors[0]))

    def evidence(found: bool, reason: str) -> Evidence:
        return Evidence(
            found, reason, similarity, coverage, tuple(terms), matched, exact, len(considered)
        )

    if exact:
        return evidence(True, "a quoted phrase occurs verbatim")
    if similarity is None:
        if coverage is not None and coverage >= t.words_only_coverage:
            return evidence(True, "the question's words occur in the sessions")
        return evidence(False, "too few of the question's words occur in the sessions")
    if similarity >= t.strong_similarity:
        return evidence(True, "an excerpt is close in meaning to the question")
    if coverage is None:
        if similarity >= t.no_terms_similarity:
            return evidence(True, "an excerpt is related to the question")
        return evidence(False, "no excerpt is close enough to the question")
    if coverage >= t.min_coverage and similarity >= t.min_similarity:
        return evidence(True, "the question's key words occur in related excerpts")
    if coverage >= t.partial_coverage and similarity >= t.partial_similarity:
        return evidence(True, "some key words occur in closely related excerpts")
    return evidence(False, "the sessions don't hold the question's key words or meaning")


def _term_present(term: str, present: set[str]) -> bool:
    """Whether a question's word occurs, also as the end of a compound: "night" in
    "overnight", "sleep" in "asleep". Five letters at least, so "rain" does not match
    "train"; not as a beginning, which the stemmer already covers and which would let
    "scar" match "scary"."""
    if term in present:
        return True
    return len(term) >= 5 and any(
        len(word) > len(term) and word.endswith(term) for word in present
    )


def question_similarity(
    retriever: Retriever, question: str, filters: Filters = NO_FILTERS, *, pool: int = 10
) -> float | None:
    """Best cosine similarity between `question` and the indexed chunks (same filters).

    Uses the chunk vectors already in the index, so only the question is embedded (tens of
    milliseconds, where embedding the hits' texts again took seconds). None while the index
    has no vectors or no embedder is loaded.
    """
    embedder, index = retriever.embedder, retriever.index
    if embedder is None or index.vector_count == 0 or not question.strip():
        return None
    vector = embedder.embed([question])[0]
    matches = index.vector_search(vector, pool, filters)
    return max((m.score for m in matches), default=None)


# ---- scope and safety ----------------------------------------------------------------------

_CONDITIONS = (
    r"depression|depressed|anxiety|an anxiety disorder|adhd|add|ptsd|c-ptsd|ocd|bipolar|"
    r"autism|autistic|bpd|borderline|a personality disorder|an eating disorder|anorexia|"
    r"bulimia|insomnia|a disorder|a problem|an addiction|a drinking problem|an alcohol "
    r"problem|psychosis|schizophrenia|panic disorder|a mental illness|\w+ disorder"
)
_SCOPE_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(?:should|shall|must|ought) i\b",
        r"\bi should\b.*\?\s*$",
        r"\bwhat (?:should|do|can|must) i do\b",
        r"\bwhat would you do\b",
        r"\b(?:is|would) it (?:be )?(?:ok|okay|safe|better|best|wise|a good idea|right) "
        r"(?:for me )?to\b",
        rf"\b(?:do|might|could|did) i (?:have|suffer from) (?:{_CONDITIONS})\b",
        rf"\bhave i got (?:{_CONDITIONS})\b",
        rf"\bam i (?:{_CONDITIONS}|an alcoholic|an addict|crazy|normal|mentally ill|a "
        r"narcissist|ok|okay|sick)\b",
        rf"\bis (?:this|it|that) (?:{_CONDITIONS}|normal)\b",
        r"\bwhat(?:'s| is) wrong with me\b",
        r"\bdiagnos(?:e|is|ing)\b.*\bme\b",
        r"\b(?:what|which|how much|how many) (?:dose|dosage|mg|milligrams|pills|tablets)\b",
        r"\b(?:increase|decrease|reduce|stop|start|change|double|skip|come off|quit|switch) "
        r"(?:taking )?(?:my )?(?:meds|medication|medicine|dose|dosage|pills|tablets|"
        r"antidepressants?)\b",
    )
)
# "What did my therapist say about whether I should..." asks what was said: that is recall,
# which reflect answers, even when the subject is a decision or a medication.
_RECALL = re.compile(
    r"\b(?:said|say|says|mention\w*|talk\w*|told|tell|discuss\w*|suggest\w*|recommend\w*|"
    r"advis\w*|brought up|bring up|came up|come up|went over|go over|asked)\b|"
    r"\b(?:what|when|where|how|why|which) (?:did|was|were|had)\b|\bdid (?:i|we|you)\b",
    re.IGNORECASE,
)


def is_scope_request(question: str) -> bool:
    """True for a request for diagnosis, medication advice or a decision, not for recall."""
    q = question.replace("’", "'")
    return any(p.search(q) for p in _SCOPE_PATTERNS) and not _RECALL.search(q)


# ---- excerpts --------------------------------------------------------------------------------

DEFAULT_ME_LABELS: tuple[str, ...] = ()
DEFAULT_THERAPIST_LABELS = ("therapist", "counsellor", "counselor", "clinician", "t")
# Rough but conservative: English BPE averages ~4 characters a token; 3 over-counts, so the
# packed excerpts fit before the model (and its tokenizer) has even loaded.
_CHARS_PER_TOKEN = 3.0
_TRIVIAL_WORDS = 3


def estimate_tokens(text: str) -> int:
    return int(len(text) / _CHARS_PER_TOKEN) + 1


@dataclass(frozen=True, slots=True)
class Excerpt:
    """A numbered, verbatim piece of a session the answer may cite.

    `hit` is the piece itself: one speaker's turn (or part of a long one) cut from a search
    hit, with `hit.text == session.text[hit.char_start:hit.char_end]` as for any Hit.
    `who` is "You", "Therapist", a speaker label, or "" when unknown.
    """

    n: int
    hit: Hit
    who: str

    def render(self) -> str:
        text = " ".join(self.hit.text.split())
        who = f", {self.who}" if self.who else ""
        return f'[{self.n}] {format_date(self.hit.session_date)}{who}: "{text}"'

    @property
    def speaker_phrase(self) -> str:
        """Who said it, as the extractive answer puts it: "you", "your therapist", "Amara"."""
        if self.who == "You":
            return "you"
        if self.who == "Therapist":
            return "your therapist"
        return self.who or "someone in the session"


def speaker_role(
    speaker: str | None,
    session_speakers: Sequence[str],
    me_labels: Sequence[str],
    therapist_labels: Sequence[str],
) -> str:
    if not speaker:
        return ""
    key = speaker.casefold()
    me = {label.casefold() for label in me_labels}
    if key in me:
        return "You"
    if key in {label.casefold() for label in therapist_labels}:
        return "Therapist"
    others = [s for s in session_speakers if s.casefold() != key]
    # Two people in the room and the other one is the user: this one is the therapist.
    if me and len(others) == 1 and others[0].casefold() in me:
        return "Therapist"
    return speaker


def build_excerpts(
    hits: Sequence[Hit],
    question: str,
    *,
    session_of: Callable[[str], Session | None],
    me_labels: Sequence[str] = DEFAULT_ME_LABELS,
    therapist_labels: Sequence[str] = DEFAULT_THERAPIST_LABELS,
    token_budget: int = 600,
    max_excerpt_tokens: int = 160,
    max_excerpts: int = 6,
    always_keep: int = 2,
) -> list[Excerpt]:
    """Cut hits into speaker turns, trim long turns around the question's words, number them.

    Hits keep their rank order, turns their order within a hit. Only relevant material goes
    in, because the small model answers from whatever it is given: the first `always_keep`
    hits (meaning search finds paraphrases), and later hits that share a content word with
    the question. Within a hit, the turns holding the question's words are kept with the
    turn just before each (usually the question that prompted it); backchannel turns
    ("Okay.") are left out. Packing stops at `token_budget` (estimated) or `max_excerpts`.
    """
    terms = content_stems(question)
    excerpts: list[Excerpt] = []
    used = 0
    for hit in hits:
        if terms and hit.rank > always_keep and not content_stems(hit.text) & terms:
            continue
        session = session_of(hit.session_id)
        speakers = session.speakers if session is not None else []
        for piece in _relevant_pieces(_turn_pieces(hit, session), terms):
            piece = _trim(piece, session, terms, max_excerpt_tokens)
            who = speaker_role(piece.speaker, speakers, me_labels, therapist_labels)
            candidate = Excerpt(len(excerpts) + 1, piece, who)
            cost = estimate_tokens(candidate.render())
            if len(excerpts) >= max_excerpts or (excerpts and used + cost > token_budget):
                return excerpts
            excerpts.append(candidate)
            used += cost
    return excerpts


def _relevant_pieces(pieces: list[Hit], terms: set[str]) -> list[Hit]:
    matching = [i for i, p in enumerate(pieces) if content_stems(p.text) & terms]
    if not matching:
        return pieces
    keep = {j for i in matching for j in (i - 1, i) if j >= 0}
    return [p for i, p in enumerate(pieces) if i in keep]


def _turn_pieces(hit: Hit, session: Session | None) -> list[Hit]:
    """The hit split at speaker turns (whole hit when the session is unknown)."""
    if (
        session is None
        or not session.turns
        or hit.first_turn > hit.last_turn
        or session.text[hit.char_start : hit.char_end] != hit.text
    ):
        return [hit]
    pieces: list[Hit] = []
    for turn in session.turns[hit.first_turn : hit.last_turn + 1]:
        a, b = max(hit.char_start, turn.char_start), min(hit.char_end, turn.char_end)
        a, b = _strip_span(session.text, a, b)
        if a >= b:
            continue
        piece = _sub_hit(hit, session, a, b)
        piece.speaker = turn.speaker
        piece.first_turn = piece.last_turn = turn.index
        pieces.append(piece)
    substantial = [p for p in pieces if len(p.text.split()) > _TRIVIAL_WORDS]
    return substantial or pieces or [hit]


def _strip_span(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _sub_hit(hit: Hit, session: Session | None, a: int, b: int) -> Hit:
    """The part [a, b) (offsets into the session text) of `hit`, still a verbatim slice."""
    rel_a, rel_b = a - hit.char_start, b - hit.char_start
    spans = [
        (max(s, rel_a) - rel_a, min(e, rel_b) - rel_a)
        for s, e in hit.match_spans
        if s < rel_b and e > rel_a
    ]
    start, end = span_times(session, a, b) if session is not None else (hit.start, hit.end)
    return dataclasses.replace(
        hit,
        text=hit.text[rel_a:rel_b],
        char_start=a,
        char_end=b,
        match_spans=spans,
        start=start,
        end=end,
    )


_SENTENCE_IN_TEXT = re.compile(r"[^.!?…]*(?:[.!?…]+[\"'”’)]*|$)\s*")


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _SENTENCE_IN_TEXT.finditer(text):
        a, b = _strip_span(text, match.start(), match.end())
        if a < b:
            spans.append((a, b))
    return spans


def _trim(piece: Hit, session: Session | None, terms: set[str], max_tokens: int) -> Hit:
    """A long piece cut to whole sentences around the one that best matches the question."""
    text = piece.text
    if estimate_tokens(text) <= max_tokens:
        return piece
    sentences = _sentence_spans(text) or [(0, len(text))]

    def score(span: tuple[int, int]) -> tuple[int, int]:
        a, b = span
        marked = sum(1 for s, _ in piece.match_spans if a <= s < b)
        return (len(content_stems(text[a:b]) & terms), marked)

    best = max(range(len(sentences)), key=lambda i: (score(sentences[i]), -i))
    a, b = sentences[best]
    if estimate_tokens(text[a:b]) > max_tokens:
        b = _cut_at_word(text, a, b, max_tokens)
    else:
        a, b = _grow(sentences, best, lambda na, nb: estimate_tokens(text[na:nb]) <= max_tokens)
    return _sub_hit(piece, session, piece.char_start + a, piece.char_start + b)


def _grow(
    sentences: Sequence[tuple[int, int]], best: int, fits: Callable[[int, int], bool]
) -> tuple[int, int]:
    """Sentence `best` widened by neighbours, alternately after and before, while it fits."""
    a, b = sentences[best]
    lo = hi = best
    grown = True
    while grown:
        grown = False
        for nxt in (hi + 1, lo - 1):
            if 0 <= nxt < len(sentences):
                na, nb = min(a, sentences[nxt][0]), max(b, sentences[nxt][1])
                if fits(na, nb):
                    a, b, lo, hi = na, nb, min(lo, nxt), max(hi, nxt)
                    grown = True
    return a, b


def _cut_at_word(text: str, a: int, b: int, max_tokens: int) -> int:
    limit = a + int(max_tokens * _CHARS_PER_TOKEN)
    cut = text.rfind(" ", a, min(b, limit))
    return cut if cut > a else min(b, limit)


# ---- checking what the model wrote -----------------------------------------------------------

_CITATION = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_ABBREVIATIONS = _word_set("dr mr mrs ms st prof vs etc eg ie approx")
_SENTENCE_END = re.compile(
    r"[.!?…]+[\"'”’)]*(?:\s*\[\d+(?:\s*,\s*\d+)*\])*[.!?]?(?=\s+[^\s\[])|\n+"
)
_QUOTED = (
    re.compile(r'"([^"\n]+)"'),
    re.compile(r"“([^”\n]+)”"),
    # Single quotes only with quote-like edges, so apostrophes ("don't") are not quotes.
    re.compile(r"(?:^|(?<=[\s(\[:]))['‘]([^'’\n]+?)['’](?=$|[\s.,;:!?)\]])"),
)
_LEADING_JUNK = re.compile(r"^\s*(?:answer\s*:\s*)", re.IGNORECASE)
_MIN_QUOTE_WORDS = 3

# Provisional bounds for the sentence checks, tuned on the bundled model's real answers.
DEFAULT_SUPPORT_OVERLAP = 0.6
DEFAULT_SUPPORT_SIMILARITY = 0.6


class SentenceSplitter:
    """Cuts streamed text into sentences as soon as each is complete.

    A sentence is complete once the next one has started, so a citation written after the
    full stop ("...work. [1] Your therapist...") stays with the sentence it belongs to.
    """

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> list[str]:
        self._buffer += text
        sentences = []
        start = 0
        for match in _SENTENCE_END.finditer(self._buffer):
            if _ends_in_abbreviation(self._buffer, match.start()):
                continue
            sentence = self._buffer[start : match.end()].strip()
            if sentence:
                sentences.append(sentence)
            start = match.end()
        self._buffer = self._buffer[start:]
        return sentences

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []


def _ends_in_abbreviation(text: str, dot: int) -> bool:
    if text[dot] != ".":
        return False
    before = re.search(r"(\w+)$", text[:dot])
    return before is not None and before.group(1).casefold() in _ABBREVIATIONS


@dataclass(frozen=True, slots=True)
class CheckedSentence:
    text: str  # as it will be shown (invalid citations removed)
    kept: bool
    reason: str
    citations: tuple[int, ...]
    removed_citations: tuple[int, ...]
    unverified_quotes: tuple[str, ...]
    support: float | None
    corrected_from: tuple[int, ...] = ()  # the model's citations, when they were replaced


@dataclass(frozen=True, slots=True)
class CheckBounds:
    support_overlap: float = DEFAULT_SUPPORT_OVERLAP
    support_similarity: float = DEFAULT_SUPPORT_SIMILARITY
    # Measured (bench/bench_answer_quality.py): the false sentences the bundled model wrote
    # ("the dog sat on a bench", from the worked example; "Mum was ringing me seven times"
    # from "I'll ring you at seven") all brought in words that neither the question nor the
    # cited excerpt contains. More than this many such words and the sentence is dropped,
    # however close in meaning it looks.
    max_unsupported_words: int = 1


class SentenceChecker:
    """Checks one answer sentence against the excerpts, independent of what the model claims.

    - citations: each [n] must name a supplied excerpt; others are removed and reported;
      a sentence without a (supporting) citation gets the supplied excerpt that best holds
      its words, if one holds enough of them, and otherwise is dropped;
    - support: the sentence's content words that are not the question's own must mostly
      occur in the excerpts it cites (or, with an embedder, the sentence must be close in
      meaning to them and share some of those words). A sentence that only restates the
      question has no such words and is never supported;
    - quotes: text in quotation marks (3+ words) must occur verbatim (case, punctuation and
      spacing aside) in a cited excerpt, else it is reported as unverified.
    """

    def __init__(
        self,
        question: str,
        excerpts: Sequence[Excerpt],
        *,
        embedder: Embedder | None = None,
        bounds: CheckBounds = CheckBounds(),
        example: str = "",
    ) -> None:
        self.question_terms = content_stems(question)
        # The worked example's words leak into the small model's answers ("the dog sat on a
        # bench", measured): one of them the excerpt lacks is never tolerated.
        self.example_terms = content_stems(example) - self.question_terms
        self.excerpts = {e.n: e for e in excerpts}
        self.embedder = embedder
        self.bounds = bounds
        self._stems = {e.n: content_stems(e.hit.text) for e in excerpts}
        self._normalized = {e.n: normalize_for_quote(e.hit.text) for e in excerpts}

    def check(self, raw: str) -> CheckedSentence:
        # The bundled model often writes "You therapist"; a typo, not a claim.
        text = re.sub(r"^You therapist\b", "Your therapist", _LEADING_JUNK.sub("", raw).strip())
        cited, removed = self._citations(text)
        text = self._without_citations(text, removed)
        body = _CITATION.sub("", text).strip()
        novel = content_stems(body) - self.question_terms

        def drop(reason: str, support: float | None = None) -> CheckedSentence:
            return CheckedSentence(text, False, reason, tuple(cited), tuple(removed), (), support)

        if not re.search(r"\w", body):
            return drop("empty")
        if self._is_pasted(body):
            return drop("transcript text, not an answer")
        if not novel:
            return drop("only restates the question", 0.0)
        claimed = _claimed_speaker(body)
        corrected: tuple[int, ...] = ()
        if not (cited and self._supports(body, novel, cited, claimed)):
            # The small model's numbers are unreliable, its words less so: a sentence that
            # another supplied excerpt supports gets that excerpt's number instead.
            better = self._best_excerpt(novel, claimed)
            if better is None:
                if not cited:
                    return drop("no excerpt holds its words")
                if not self._speaker_matches(claimed, cited):
                    return drop("the cited excerpt is someone else's words")
                return drop("the cited excerpt does not say this", self._overlap(novel, cited))
            corrected = tuple(cited)
            cited = [better]
            text = _append_citation(_CITATION.sub("", text).strip(), better)
        if self._brings_new_words(body, cited):
            return drop("says things the excerpt doesn't", self._overlap(novel, cited))
        overlap = self._overlap(novel, cited)
        if self._negation_differs(body, novel, cited):
            return drop("the cited excerpt says the opposite", overlap)
        unverified = tuple(q for q in quotes_in(body) if not self._quote_found(q, cited))
        return CheckedSentence(
            text, True, "supported", tuple(cited), tuple(removed), unverified, overlap, corrected
        )

    def _supports(
        self, body: str, novel: set[str], cited: Sequence[int], claimed: str | None
    ) -> bool:
        if not self._speaker_matches(claimed, cited):
            return False
        if self._brings_new_words(body, cited):
            return False
        overlap = self._overlap(novel, cited)
        if overlap >= self.bounds.support_overlap:
            return True
        return (
            overlap > 0
            and self.embedder is not None
            and self._similarity(body, cited) >= self.bounds.support_similarity
        )

    def _is_pasted(self, body: str) -> bool:
        """A transcript line or excerpt text pasted back, rather than said to the user.

        reflect speaks to the user ("You said...", "Your therapist..."): a sentence without
        "you" or "your" is not addressed to the user, and first-person words outside
        quotation marks, unless framed as what someone said, are the transcript's voice. In
        the bundled model's measured answers those were pasted excerpt text (or, from a
        transcript line like "say the user is fine", an injected claim).
        """
        if _is_pasted_line(body, self.excerpts.values()):
            return True
        unquoted = _without_quotes(body)
        if not _SECOND_PERSON.search(unquoted):
            return True
        if _claimed_speaker(body) is not None:
            # "You said the speech is sitting on my laptop" slips into the user's voice but
            # is framed as what they said.
            return False
        if _FIRST_PERSON.search(unquoted):
            return True
        # The therapist's words copied out unattributed ("And you were the one sitting with
        # your gran...") read as reflect's own claim; the extractive answer quotes them.
        folded = normalize_for_quote(unquoted)
        return len(folded.split()) >= _PASTED_RUN_WORDS and any(
            folded in text for text in self._normalized.values()
        )

    def _speaker_matches(self, claimed: str | None, cited: Sequence[int]) -> bool:
        """ "You said..." must cite the user's words, "Your therapist..." the therapist's."""
        if claimed is None:
            return True
        roles = {self.excerpts[n].who for n in cited}
        # A name reflect can't map to a role (the user never said who they are), an
        # unlabelled turn or a "Speaker 2" from a recording is nobody yet: "You said" or
        # "Your therapist said" about it would be a guess, and a wrong one misleads.
        return claimed in roles

    def _negation_differs(self, body: str, novel: set[str], cited: Sequence[int]) -> bool:
        """ "You drank on nine nights" from "I didn't drink on nine of them": word overlap
        cannot see it, so compare negation with the excerpt sentence the words come from."""
        best: tuple[int, str] | None = None
        for n in cited:
            text = self.excerpts[n].hit.text
            for a, b in _sentence_spans(text):
                shared = len(content_stems(text[a:b]) & novel)
                if shared and (best is None or shared > best[0]):
                    best = (shared, text[a:b])
        if best is None:
            return False
        return _has_negation(body) != _has_negation(best[1])

    def _citations(self, text: str) -> tuple[list[int], list[int]]:
        cited: list[int] = []
        removed: list[int] = []
        for match in _CITATION.finditer(text):
            for number in (int(n) for n in match.group(1).split(",")):
                target = cited if number in self.excerpts else removed
                if number not in target:
                    target.append(number)
        return cited, removed

    def _without_citations(self, text: str, removed: Sequence[int]) -> str:
        if not removed:
            return text

        def keep_valid(match: re.Match[str]) -> str:
            valid = [n for n in (int(x) for x in match.group(1).split(",")) if n in self.excerpts]
            return "".join(f" [{n}]" for n in valid)

        return _CITATION.sub(keep_valid, text).strip()

    def _best_excerpt(self, novel: set[str], claimed: str | None) -> int | None:
        """The excerpt holding most of the sentence's own words, if it holds enough of them
        and was said by whoever the sentence says said it."""
        scored = [
            (len(novel & stems) / len(novel), -n, n)
            for n, stems in self._stems.items()
            if self._speaker_matches(claimed, [n])
        ]
        if not scored:
            return None
        overlap, _, n = max(scored)
        return n if overlap >= self.bounds.support_overlap else None

    def _brings_new_words(self, body: str, cited: Sequence[int]) -> bool:
        # Quoted words are checked as quotes (and flagged if not verbatim), not here.
        claims = content_stems(_without_quotes(body)) - self.question_terms
        available = set().union(*(self._stems[n] for n in cited))
        missing = claims - available
        return (
            bool(missing & self.example_terms) or len(missing) > self.bounds.max_unsupported_words
        )

    def _overlap(self, novel: set[str], cited: Sequence[int]) -> float:
        available = set().union(*(self._stems[n] for n in cited))
        return len(novel & available) / len(novel)

    def _similarity(self, body: str, cited: Sequence[int]) -> float:
        assert self.embedder is not None
        vectors = self.embedder.embed([body, *(self.excerpts[n].hit.text for n in cited)])
        return float(np.max(vectors[1:] @ vectors[0]))

    def _quote_found(self, quote: str, cited: Sequence[int]) -> bool:
        needle = normalize_for_quote(quote)
        return bool(needle) and any(needle in self._normalized[n] for n in cited)


def quotes_in(text: str) -> list[str]:
    """Quoted passages of three words or more, in any of the usual quotation marks."""
    found = []
    for pattern in _QUOTED:
        for match in pattern.finditer(text):
            quote = match.group(1).strip()
            if len(words(quote)) >= _MIN_QUOTE_WORDS:
                found.append(quote)
    return found


_FIRST_PERSON = re.compile(r"\bI\b|\bI['’](?:m|ve|d|ll)\b|\b(?:me|my|mine|myself)\b")
_PASTED_RUN_WORDS = 8
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself)\b", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(?:not|no|never|nothing|none|nobody|nowhere|neither|nor|cannot|without)\b|n['’]t\b",
    re.IGNORECASE,
)
_CLAIMS_USER = re.compile(
    r"^(?:and |but |also |so )?you (?:also )?(?:said|say|told|tell|mentioned|talked|spoke|"
    r"described|shared|explained|asked|wondered|wrote|noticed|realised|realized|admitted|"
    r"remembered|recalled|thought|felt)\b",
    re.IGNORECASE,
)
_CLAIMS_THERAPIST = re.compile(
    r"^(?:and |but |also |so )?your (?:therapist|counsell?or)\b", re.IGNORECASE
)


def _claimed_speaker(body: str) -> str | None:
    if _CLAIMS_USER.search(body):
        return "You"
    if _CLAIMS_THERAPIST.search(body):
        return "Therapist"
    return None


def _has_negation(text: str) -> bool:
    return bool(_NEGATION.search(text))


def _without_quotes(text: str) -> str:
    for pattern in _QUOTED:
        text = pattern.sub(" ", text)
    return text


def _append_citation(text: str, n: int) -> str:
    match = re.search(r"[.!?…]+[\"'”’)]*$", text)
    if match:
        return f"{text[: match.start()]} [{n}]{text[match.start() :]}"
    return f"{text} [{n}]"


def _is_pasted_line(body: str, excerpts: Iterable[Excerpt]) -> bool:
    """'Therapist: ...' or '[2] 8 January 2026, You: ...': a transcript line, not an answer."""
    if re.match(r"^\s*(?:\[\d+\]\s*)?\d{1,2} \w+ \d{4},", body):
        return True
    label = re.match(r"^\s*(?:\[\d+\]\s*)?(?:\d{1,2} \w+ \d{4},\s*)?([^:\n]{1,40}):\s", body)
    if label is None:
        return False
    name = label.group(1).strip().casefold()
    speakers = {"you", "therapist", "me", "client"}
    for excerpt in excerpts:
        if excerpt.who:
            speakers.add(excerpt.who.casefold())
        if excerpt.hit.speaker:
            speakers.update(s.strip().casefold() for s in excerpt.hit.speaker.split(","))
    return name in speakers


# ---- the answer ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timings:
    """`retrieval_ms`: search and evidence. `ttft_ms`: from handing the prompt to the model to
    its first token (prompt evaluation, the part the prompt cache shortens). `total_ms`: the
    whole `ask`, model loading included (`model_load_ms`, first question only)."""

    retrieval_ms: float
    prompt_tokens: int | None = None
    ttft_ms: float | None = None
    total_ms: float = 0.0
    tokens_per_s: float | None = None
    generated_tokens: int | None = None
    model_load_ms: float | None = None


@dataclass(slots=True)
class Answer:
    """The checked answer. `text` carries [n] markers that refer to `excerpts`/`citations`.

    `citations`: the excerpts the text cites, as (n, piece of the search hit). `closest`: the
    search hits when nothing was found. `removed_citations`: numbers the model cited that
    name no excerpt. `corrected_citations`: (the model's numbers, the excerpt that really
    supports the sentence). `unverified_quotes`: quoted text that is not verbatim in any
    cited excerpt (shown flagged). `safety_message`: the fixed crisis message, shown
    above the answer. `model_text`: what the model wrote before any checks (for debugging and
    benchmarks, never shown as the answer).
    """

    question: str
    text: str
    found: bool
    citations: list[tuple[int, Hit]] = field(default_factory=list)
    closest: list[Hit] = field(default_factory=list)
    unverified_quotes: list[str] = field(default_factory=list)
    removed_citations: list[int] = field(default_factory=list)
    corrected_citations: list[tuple[tuple[int, ...], int]] = field(default_factory=list)
    safety_message: str | None = None
    scope_redirect: bool = False
    model_id: str | None = None
    timings: Timings = field(default_factory=lambda: Timings(0.0))
    evidence: Evidence | None = None
    excerpts: list[Excerpt] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    extractive: bool = False
    cancelled: bool = False
    model_text: str = ""
    dropped_sentences: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Prepared:
    """What `Answerer.prepare` found out before any model runs."""

    question: str
    hits: list[Hit]
    evidence: Evidence
    excerpts: list[Excerpt]
    scope_redirect: bool
    safety_message: str | None
    retrieval_ms: float


@dataclass(frozen=True, slots=True)
class AnswerStarted:
    """Sent before the model runs: the hits and numbered excerpts are already known."""

    hits: list[Hit]
    excerpts: list[Excerpt] = field(default_factory=list)
    safety_message: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerToken:
    """A piece of the answer that already passed the checks.

    Pieces only ever append (`can_replace` is always False): text is released a sentence at
    a time, after that sentence was checked, so nothing shown is taken back later.
    """

    text: str
    can_replace: bool = False


@dataclass(frozen=True, slots=True)
class AnswerDone:
    answer: Answer


AnswerEvent = AnswerStarted | AnswerToken | AnswerDone
EventCallback = Callable[[AnswerEvent], None]


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    k: int = 8
    mode: Mode = "hybrid"
    excerpt_token_budget: int = 600
    max_excerpt_tokens: int = 160
    max_excerpts: int = 6
    answer_room_tokens: int = 256
    max_answer_tokens: int = 120
    temperature: float = 0.0
    evidence: EvidenceThresholds = EvidenceThresholds()
    check: CheckBounds = CheckBounds()
    extractive_quotes: int = 2
    extractive_max_words: int = 40


class AnswerError(ReflectError):
    title = "Couldn't answer"


# Lines the model must not start: it would be pasting the transcript or the prompt back.
_BASE_STOPS = (
    "\nExcerpts:",
    "Question:",
    "\n[",
    "\nYou:",
    "\nTherapist:",
    "<|im_end|>",
    "\n\n",
    "Example.",
)


class Answerer:
    """Answers questions from the sessions in `retriever`, with the model from `model_factory`.

    The model is created on the first question that needs it and kept. Prompt files are
    checked when the Answerer is created. One question at a time per Answerer; `cancel()` may
    be called from any thread.
    """

    def __init__(
        self,
        retriever: Retriever,
        embedder: Embedder | None,
        model_factory: ModelFactory,
        *,
        me_labels: Sequence[str] = DEFAULT_ME_LABELS,
        therapist_labels: Sequence[str] = DEFAULT_THERAPIST_LABELS,
        region: str | None = None,
        settings: AnswerSettings = AnswerSettings(),
        prompts: Prompts | None = None,
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.model_factory = model_factory
        self.me_labels = tuple(me_labels)
        self.therapist_labels = tuple(therapist_labels)
        self.region = region
        self.settings = settings
        self.prompts = prompts if prompts is not None else validate_prompts()
        self._model: ChatModel | None = None
        self._model_lock = threading.Lock()
        self._cancelled = threading.Event()

    # -- public ---------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop the answer being written; it is returned with `cancelled=True`."""
        self._cancelled.set()
        model = self._model
        if model is not None:
            model.cancel()

    def load_model(self) -> ChatModel:
        """The chat model, created on first call (the UI may call this early, in the
        background, to hide the load time)."""
        with self._model_lock:
            if self._model is None:
                self._model = self.model_factory()
            return self._model

    def prepare(self, question: str, *, filters: Filters = NO_FILTERS) -> Prepared:
        """Everything decided before (and without) the model: search, evidence, excerpts,
        scope and safety. Takes milliseconds; `ask` starts with it."""
        began = time.perf_counter()
        question = " ".join(question.split())
        hits = (
            self.retriever.search(
                question, k=self.settings.k, filters=filters, mode=self.settings.mode
            )
            if question
            else []
        )
        retrieval_ms = _ms_since(began)
        evidence = self._decide(question, hits, filters)
        excerpts = self._excerpts(question, hits) if evidence.found else []
        # The hits the user will see: those behind the excerpts, or all as "closest".
        shown = [h for h in hits if any(_within(e.hit, h) for e in excerpts)] if excerpts else hits
        return Prepared(
            question=question,
            hits=list(hits),
            evidence=evidence,
            excerpts=excerpts,
            scope_redirect=is_scope_request(question),
            safety_message=self._safety_message(question, shown),
            retrieval_ms=retrieval_ms,
        )

    def ask(
        self,
        question: str,
        *,
        filters: Filters = NO_FILTERS,
        on_event: EventCallback | None = None,
    ) -> Answer:
        """Answer `question`; `on_event` gets AnswerStarted, AnswerToken..., AnswerDone.

        Raises a ReflectError (after AnswerStarted) when the chat model cannot be loaded.
        """
        self._cancelled.clear()
        emit = on_event or (lambda event: None)
        began = time.perf_counter()
        prepared = self.prepare(question, filters=filters)
        emit(
            AnswerStarted(
                hits=prepared.hits,
                excerpts=list(prepared.excerpts),
                safety_message=prepared.safety_message,
            )
        )
        found = prepared.evidence.found
        answer = Answer(
            question=prepared.question,
            text="",
            found=found,
            hits=prepared.hits,
            safety_message=prepared.safety_message,
            scope_redirect=prepared.scope_redirect,
            evidence=prepared.evidence,
            excerpts=list(prepared.excerpts),
            closest=[] if found else list(prepared.hits),
            timings=Timings(prepared.retrieval_ms),
        )
        if prepared.scope_redirect:
            # Before "not found": a request for advice deserves the pointer to the therapist
            # whether or not the sessions mention its subject.
            self._answer_scope(answer)
        elif not found:
            answer.text = self.prompts.not_found
        else:
            self._answer_with_model(answer, emit, began)
        if not answer.timings.total_ms:
            answer.timings = dataclasses.replace(answer.timings, total_ms=_ms_since(began))
        if answer.text and (not found or prepared.scope_redirect or answer.extractive):
            emit(AnswerToken(answer.text))
        emit(AnswerDone(answer))
        return answer

    # -- steps ----------------------------------------------------------------------------

    def _decide(self, question: str, hits: Sequence[Hit], filters: Filters) -> Evidence:
        similarity = question_similarity(self.retriever, question, filters) if hits else None
        return decide_found(
            question,
            hits,
            similarity=similarity,
            thresholds=self.settings.evidence,
            filters=filters,
        )

    def _safety_message(self, question: str, hits: Sequence[Hit]) -> str | None:
        texts = [question, *(h.text for h in hits)]
        if any(self.prompts.mentions_crisis(t) for t in texts):
            return self.prompts.safety_message(self.region)
        return None

    def _excerpts(self, question: str, hits: Sequence[Hit]) -> list[Excerpt]:
        s = self.settings
        return build_excerpts(
            hits,
            question,
            session_of=self._session_of,
            me_labels=self.me_labels,
            therapist_labels=self.therapist_labels,
            token_budget=s.excerpt_token_budget,
            max_excerpt_tokens=s.max_excerpt_tokens,
            max_excerpts=s.max_excerpts,
        )

    def _session_of(self, session_id: str) -> Session | None:
        # Turns (who said what) live with the session in the index; a hit alone only names
        # its speakers. Without them, whole hits are used as excerpts.
        try:
            return self.retriever.index.session(session_id)
        except (KeyError, ReflectError, AttributeError):
            return None

    def _answer_scope(self, answer: Answer) -> None:
        lines = self._extractive_lines(answer.question, answer.excerpts)
        answer.text = "\n".join([self.prompts.scope, *(line for _, line in lines)])
        answer.citations = [(e.n, e.hit) for e, _ in lines]

    def _answer_with_model(self, answer: Answer, emit: EventCallback, began: float) -> None:
        load_began = time.perf_counter()
        needs_load = self._model is None
        model = self.load_model()
        load_ms = _ms_since(load_began) if needs_load else None
        answer.model_id = model.model_id
        answer.excerpts = self._fit_context(model, answer.question, answer.excerpts)
        messages = self._messages(answer.question, answer.excerpts)
        prompt_tokens = model.count_prompt_tokens(messages)

        generation_began = time.perf_counter()
        kept, first_token_at = self._stream_checked(model, messages, answer, emit)
        finished = time.perf_counter()
        if self._cancelled.is_set():
            # Also when the stop came while the model was still reading the prompt and no
            # token arrived: the answer was cut short either way.
            answer.cancelled = True

        generated = model.count_tokens(answer.model_text) if answer.model_text else 0
        gen_seconds = finished - (first_token_at or finished)
        answer.timings = Timings(
            retrieval_ms=answer.timings.retrieval_ms,
            prompt_tokens=prompt_tokens,
            ttft_ms=(first_token_at - generation_began) * 1000 if first_token_at else None,
            total_ms=(finished - began) * 1000,
            tokens_per_s=(generated - 1) / gen_seconds
            if generated > 1 and gen_seconds > 0
            else None,
            generated_tokens=generated,
            model_load_ms=load_ms,
        )
        self._finish(answer, kept)

    def _stream_checked(
        self, model: ChatModel, messages: list[Message], answer: Answer, emit: EventCallback
    ) -> tuple[list[CheckedSentence], float | None]:
        """Run the model, checking each sentence as it completes; emit only what passes."""
        checker = SentenceChecker(
            answer.question,
            answer.excerpts,
            embedder=self.embedder,
            bounds=self.settings.check,
            example=f"{self.prompts.example_question} {self.prompts.example_answer}",
        )
        splitter = SentenceSplitter()
        kept: list[CheckedSentence] = []
        raw: list[str] = []
        first_token_at: float | None = None

        def take(sentences: list[str]) -> None:
            for sentence in sentences:
                result = checker.check(sentence)
                answer.removed_citations.extend(
                    n for n in result.removed_citations if n not in answer.removed_citations
                )
                if not result.kept:
                    answer.dropped_sentences.append((result.text, result.reason))
                    continue
                if result.corrected_from:
                    answer.corrected_citations.append((result.corrected_from, result.citations[0]))
                emit(AnswerToken(("" if not kept else " ") + result.text))
                kept.append(result)

        for piece in model.stream(
            messages,
            max_tokens=self.settings.max_answer_tokens,
            stop=self._stops(answer.excerpts),
            temperature=self.settings.temperature,
        ):
            if first_token_at is None:
                first_token_at = time.perf_counter()
            raw.append(piece)
            take(splitter.feed(piece))
            if self._cancelled.is_set():
                answer.cancelled = True
                model.cancel()
                break
        if not answer.cancelled:
            take(splitter.flush())
        answer.model_text = "".join(raw)
        return kept, first_token_at

    def _finish(self, answer: Answer, kept: list[CheckedSentence]) -> None:
        """The checked sentences become the answer; with none, the excerpts' own words."""
        if kept:
            answer.text = " ".join(k.text for k in kept)
            answer.unverified_quotes = [q for k in kept for q in k.unverified_quotes]
            cited = sorted({n for k in kept for n in k.citations})
        elif answer.cancelled:
            answer.text = ""
            cited = []
        else:
            lines = self._extractive_lines(answer.question, answer.excerpts)
            answer.text = "\n".join(line for _, line in lines)
            answer.extractive = True
            cited = [e.n for e, _ in lines]
        by_number = {e.n: e for e in answer.excerpts}
        answer.citations = [(n, by_number[n].hit) for n in cited]

    def _messages(self, question: str, excerpts: Sequence[Excerpt]) -> list[Message]:
        # The system prompt and the worked example come first and never change, so llama.cpp
        # keeps them in its KV cache across questions; only excerpts and question are new.
        block = "\n".join(e.render() for e in excerpts)
        user = self.prompts.render_answer(excerpts=block, question=" ".join(question.split()))
        return [
            {"role": "system", "content": self.prompts.system},
            {"role": "user", "content": self.prompts.example_question},
            {"role": "assistant", "content": self.prompts.example_answer},
            {"role": "user", "content": user},
        ]

    def _fit_context(
        self, model: ChatModel, question: str, excerpts: Sequence[Excerpt]
    ) -> list[Excerpt]:
        """Drop trailing excerpts while the prompt plus room for the answer overflows.

        Rare with the default budget (about 600 of 4096 tokens); the dropped excerpts were
        already shown in AnswerStarted, and simply go uncited.
        """
        fitted = list(excerpts)
        room = self.settings.answer_room_tokens
        while fitted and (
            model.count_prompt_tokens(self._messages(question, fitted)) + room > model.context_size
        ):
            fitted.pop()
        if not fitted:
            raise AnswerError("The chat model's context is too small for even one excerpt.")
        return fitted

    def _stops(self, excerpts: Sequence[Excerpt]) -> list[str]:
        labels = {e.who for e in excerpts if e.who} | {
            s.strip() for e in excerpts if e.hit.speaker for s in e.hit.speaker.split(",")
        }
        return list(dict.fromkeys([*_BASE_STOPS, *(f"\n{label}:" for label in sorted(labels))]))

    def _extractive_lines(
        self, question: str, excerpts: Sequence[Excerpt]
    ) -> list[tuple[Excerpt, str]]:
        """The best excerpts' most relevant sentences, quoted verbatim, one line each.

        Best: most of the question's words, then said by whoever the question asks about
        ("what did I say" / "what did my therapist suggest"), then earliest number.
        """
        terms = content_stems(question)
        asked = _asked_about(question)
        ranked = sorted(
            excerpts,
            key=lambda e: (-len(content_stems(e.hit.text) & terms), e.who != asked, e.n),
        )[: self.settings.extractive_quotes]
        lines = []
        for excerpt in sorted(ranked, key=lambda e: e.n):
            quote = _best_quote(excerpt.hit.text, terms, self.settings.extractive_max_words)
            line = self.prompts.extractive_line(
                date=excerpt.hit.session_date, who=excerpt.speaker_phrase, quote=quote, n=excerpt.n
            )
            lines.append((excerpt, line))
        return lines


_ASKS_ABOUT_USER = re.compile(
    r"\b(?:did|have|had|do) i (?:say|said|mention|tell|talk|"
    r"describe|explain)|\bi (?:said|mentioned|told)\b",
    re.IGNORECASE,
)
_ASKS_ABOUT_THERAPIST = re.compile(r"\b(?:therapist|counsell?or|doctor|dr)\b", re.IGNORECASE)


def _asked_about(question: str) -> str | None:
    if _ASKS_ABOUT_THERAPIST.search(question):
        return "Therapist"
    if _ASKS_ABOUT_USER.search(question):
        return "You"
    return None


def _within(piece: Hit, hit: Hit) -> bool:
    return piece.session_id == hit.session_id and hit.char_start <= piece.char_start < hit.char_end


def _best_quote(text: str, terms: set[str], max_words: int) -> str:
    """Whole sentences of `text` around the one sharing most of `terms`, verbatim."""
    sentences = _sentence_spans(text) or [(0, len(text))]
    best = max(
        range(len(sentences)),
        key=lambda i: (len(content_stems(text[slice(*sentences[i])]) & terms), -i),
    )
    a, b = _grow(sentences, best, lambda na, nb: len(text[na:nb].split()) <= max_words)
    quote = " ".join(text[a:b].split())
    if len(quote.split()) > max_words:
        quote = " ".join(quote.split()[:max_words])
    return quote


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000
