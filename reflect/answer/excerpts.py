"""Stage 3: the excerpts an answer shows and cites, read from the stored transcript and
trimmed to the part that answers (never re-typed)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reflect.agreements import proposes
from reflect.chunking import span_times
from reflect.prompt_templates import format_date
from reflect.retrieval import Hit
from reflect.session import HANDOUT, NOTE, Session
from reflect.sources import citation
from reflect.speakers import DEFAULT_ME_LABELS, DEFAULT_THERAPIST_LABELS, speaker_role
from reflect.words import content_stems

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
        cited = citation(self.hit)
        if cited is not None:
            # A note or a handout says what it is, so the model doesn't take it for a session.
            return f'[{self.n}] {cited}: "{text}"'
        who = f", {self.who}" if self.who else ""
        return f'[{self.n}] {format_date(self.hit.session_date)}{who}: "{text}"'

    def source_line(self, quote: str) -> str | None:
        """How an answer quotes a note or a handout: 'Your note, 12 March: “…” [2]',
        'Handout: Sleep hygiene, page 2: “…” [3]'; None for a session's words (the answer's
        own sentence says who said them and when)."""
        cited = citation(self.hit)
        if cited is None:
            return None
        return f"{cited[:1].upper()}{cited[1:]}: “{quote}” [{self.n}]"

    @property
    def speaker_phrase(self) -> str:
        """Who said it, as the extractive answer puts it: "you", "your therapist", "Amara"."""
        if self.hit.source == NOTE:
            return "your note"
        if self.hit.source == HANDOUT:
            return f"the handout “{self.hit.session_title}”"
        if self.who == "You":
            return "you"
        if self.who == "Therapist":
            return "your therapist"
        return self.who or "someone in the session"


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
        for piece in _relevant_pieces(turn_pieces(hit, session), terms):
            piece = _trim(piece, session, terms, max_excerpt_tokens)
            who = _role(piece, speakers, me_labels, therapist_labels)
            candidate = Excerpt(len(excerpts) + 1, piece, who)
            cost = estimate_tokens(candidate.render())
            if len(excerpts) >= max_excerpts or (excerpts and used + cost > token_budget):
                return excerpts
            excerpts.append(candidate)
            used += cost
    return excerpts


def _role(piece: Hit, speakers: Sequence[str], me: Sequence[str], therapist: Sequence[str]) -> str:
    """A note is the user's own words whatever its label; a handout is nobody's speech."""
    if piece.source == NOTE:
        return "You"
    if piece.source == HANDOUT:
        return ""
    return speaker_role(piece.speaker, speakers, me, therapist)


def _relevant_pieces(pieces: list[Hit], terms: set[str]) -> list[Hit]:
    matching = [i for i, p in enumerate(pieces) if content_stems(p.text) & terms]
    if not matching:
        return pieces
    keep = {j for i in matching for j in (i - 1, i) if j >= 0}
    # A question that holds the words ("How's the swimming going?") is answered by the turn
    # after it ("Once. In two weeks."), which holds none of them.
    keep |= {i + 1 for i in matching if i + 1 < len(pieces) and ends_asking(pieces[i].text)}
    return [p for i, p in enumerate(pieces) if i in keep]


def ends_asking(text: str) -> bool:
    """Whether `text` ends with a question that proposes nothing ("Three weeks. That's great.
    How's your sleep?"): the other speaker's next turn answers it."""
    sentences = [text[a:b].strip() for a, b in sentence_spans(text)] or [text.strip()]
    last = next((s for s in reversed(sentences) if s), "")
    return last.endswith("?") and not proposes(text)


def turn_pieces(hit: Hit, session: Session | None) -> list[Hit]:
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


def sentence_spans(text: str) -> list[tuple[int, int]]:
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
    sentences = sentence_spans(text) or [(0, len(text))]

    def score(span: tuple[int, int]) -> tuple[int, int, bool]:
        a, b = span
        marked = sum(1 for s, _ in piece.match_spans if a <= s < b)
        return (len(content_stems(text[a:b]) & terms), marked, proposes(text[a:b]))

    best = max(range(len(sentences)), key=lambda i: (score(sentences[i]), -i))
    a, b = sentences[best]
    if estimate_tokens(text[a:b]) > max_tokens:
        b = _cut_at_word(text, a, b, max_tokens)
    else:
        a, b = grow_span(sentences, best, lambda na, nb: estimate_tokens(text[na:nb]) <= max_tokens)
    return _sub_hit(piece, session, piece.char_start + a, piece.char_start + b)


def grow_span(
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
