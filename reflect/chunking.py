"""Cut a session into the passages that search indexes and returns.

A chunk is a span of `session.text`, never a copy: it records character offsets, the turns it
touches and who spoke. Chunks follow speaker turns, because a turn is what a person remembers
("when I told her about the letter"). Two adjustments keep them useful for retrieval:

- very short turns ("Mm-hmm.", "Okay.") are folded into their neighbours, so no chunk is a
  content-free backchannel that would match everything and mean nothing;
- long monologues are split at sentence boundaries (or, for a sentence longer than the budget,
  between words), so a chunk fits what the embedding model reads. all-MiniLM-L6-v2 truncates at
  256 word pieces; 150 words of conversational English with its punctuation stays under that.

The defaults are provisional: they are parameters so they can be tuned on an evaluation set.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reflect.session import HANDOUT, Session, StoredTurn

DEFAULT_MIN_WORDS = 40
DEFAULT_MAX_WORDS = 150
DEFAULT_TRIVIAL_WORDS = 3

# A "word" for budgeting and splitting: one CJK/kana/hangul character (those scripts do not
# separate words with spaces and the model's tokenizer reads each character as a piece), or a
# run of other non-space characters.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
# A word that ends a sentence: terminal punctuation, optionally followed by closing quotes or
# brackets ('"Stop."' / 'gone?)').
_SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'”’»)\]]*$")
_QUESTION_END = re.compile(r"[?？][\"'”’»)\]]*$")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A span of one session's text. `first_turn`/`last_turn` are turn indices, inclusive."""

    session_id: str
    index: int
    first_turn: int
    last_turn: int
    char_start: int
    char_end: int
    speakers: tuple[str | None, ...]
    start: float | None
    end: float | None


@dataclass(frozen=True, slots=True)
class _Unit:
    """A whole turn, or a piece of a long turn, before units are grouped into chunks."""

    turn: int
    char_start: int
    char_end: int
    words: int
    whole_turn: bool
    asks: bool


def is_cjk(ch: str) -> bool:
    """True for a character of a script written without spaces between words."""
    return _CJK_CHAR.match(ch) is not None


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def chunk_session(
    session: Session,
    *,
    min_words: int = DEFAULT_MIN_WORDS,
    max_words: int = DEFAULT_MAX_WORDS,
    trivial_words: int = DEFAULT_TRIVIAL_WORDS,
    remark_words: int | None = None,
) -> list[Chunk]:
    """Split `session` into chunks of whole turns, or pieces of turns longer than `max_words`.

    Consecutive turns are grouped while the chunk has fewer than `min_words` words. Then:
    - a turn of at most `trivial_words` words ("Mm-hmm.") is attached to the chunk before it
      (after it, at the very start), even a few words past `max_words`;
    - a short remark (fewer than `remark_words` words, default `min_words // 2`) that asks
      nothing ("That sounds heavy.") closes the chunk before it when it fits, because it answers
      what came before; a short question opens the next chunk, because it introduces what
      follows.
    Every turn with any text ends up in exactly one chunk, or, when split, its pieces in
    consecutive chunks.
    """
    if not 0 <= trivial_words < min_words <= max_words:
        raise ValueError("need 0 <= trivial_words < min_words <= max_words")

    def grouped(units: list[_Unit]) -> list[list[_Unit]]:
        return _group_units(
            units,
            min_words=min_words,
            max_words=max_words,
            trivial_words=trivial_words,
            remark_words=min_words // 2 if remark_words is None else remark_words,
        )

    if session.kind == HANDOUT:
        # A handout's turns are its pages: each is chunked on its own, so every excerpt (and
        # its citation, "page 2") lies on one page.
        pages = [_turn_units(session.text, turn, max_words) for turn in session.turns]
        groups = [group for units in pages if units for group in grouped(units)]
    else:
        groups = grouped(
            [unit for turn in session.turns for unit in _turn_units(session.text, turn, max_words)]
        )
    return [_make_chunk(session, i, group) for i, group in enumerate(groups)]


def embedding_text(session: Session, chunk: Chunk, *, speaker_labels: bool = False) -> str:
    """The text the embedding model reads for `chunk`.

    By default the verbatim chunk text. With `speaker_labels=True` (what the index uses), each
    turn's part is prefixed with "Label: ". Questions name the speaker ("what did my therapist
    say about...", "when I said..."), and the labels let the embedding see who said what: on
    both evaluation corpora this was the one robust gain of the tuning sweep. The cost is a few
    word pieces of the model's 256-piece budget per turn.
    """
    if not speaker_labels:
        return session.text[chunk.char_start : chunk.char_end]
    lines = []
    for turn in session.turns[chunk.first_turn : chunk.last_turn + 1]:
        a = max(turn.char_start, chunk.char_start)
        b = min(turn.char_end, chunk.char_end)
        part = session.text[a:b].strip()
        if not part:
            continue
        lines.append(f"{turn.speaker}: {part}" if turn.speaker else part)
    return "\n".join(lines)


# A sentence shorter than this ("Yeah.", "Okay, so.") is not embedded on its own: it says too
# little to be the moment a question describes, and there are many of them.
SENTENCE_MIN_WORDS = 3


def sentence_spans(session: Session) -> list[tuple[int, int]]:
    """The sentences of every turn of `session` of at least SENTENCE_MIN_WORDS words, as
    (start, end) offsets into `session.text`, in order. The index embeds each one (beside the
    chunks): the learned stage reads a candidate's best sentence's closeness to the question,
    which a whole chunk's vector blurs (bench/README.md, #15 "Seventh round")."""
    spans = []
    for turn in session.turns:
        text = session.text
        found = [(m.start(), m.end()) for m in _WORD.finditer(text, turn.char_start, turn.char_end)]
        for sentence in _sentence_ranges(text, found):
            # A turn with no punctuation (some transcribers write none) is one long
            # "sentence": cut as the chunker cuts it, so that each piece fits the model.
            for i, j in _even_ranges(*sentence, DEFAULT_MAX_WORDS):
                if j - i >= SENTENCE_MIN_WORDS:
                    spans.append((found[i][0], found[j - 1][1]))
    return spans


def span_times(
    session: Session, char_start: int, char_end: int
) -> tuple[float | None, float | None]:
    """Recording times (seconds) of a span of `session.text`, when the turns carry them."""
    first = turn_at(session, char_start)
    last = turn_at(session, max(char_start, char_end - 1))
    if first is None or last is None:
        return None, None
    return _time_at(first, char_start), _time_at(last, char_end)


def turn_at(session: Session, pos: int) -> StoredTurn | None:
    """The turn whose span contains `pos`, or the next turn when `pos` falls between turns."""
    turns = session.turns
    lo, hi = 0, len(turns)
    while lo < hi:
        mid = (lo + hi) // 2
        if turns[mid].char_end <= pos:
            lo = mid + 1
        else:
            hi = mid
    if lo < len(turns):
        return turns[lo]
    return turns[-1] if turns else None


def _time_at(turn: StoredTurn, pos: int) -> float | None:
    # A span that starts or ends where the turn does gets the turn's own time. Inside a turn (a
    # long monologue split in pieces) we only know the turn's start and end, so we interpolate
    # proportionally to characters: speech rate is roughly constant within a turn, which puts the
    # estimate within a few seconds; with only one of the two times known we say nothing.
    if pos <= turn.char_start:
        return turn.start
    if pos >= turn.char_end:
        return turn.end
    if turn.start is None or turn.end is None:
        return None
    fraction = (pos - turn.char_start) / (turn.char_end - turn.char_start)
    return turn.start + (turn.end - turn.start) * fraction


def _turn_units(text: str, turn: StoredTurn, max_words: int) -> list[_Unit]:
    words = [m.span() for m in _WORD.finditer(text, turn.char_start, turn.char_end)]
    if not words:
        return []
    pieces = _split_words(text, words, max_words)
    whole = len(pieces) == 1
    return [
        _Unit(
            turn.index,
            words[i][0],
            words[j - 1][1],
            j - i,
            whole,
            asks=_QUESTION_END.search(text, *words[j - 1]) is not None,
        )
        for i, j in pieces
    ]


def _split_words(
    text: str, words: Sequence[tuple[int, int]], max_words: int
) -> list[tuple[int, int]]:
    """Word-index ranges [i, j) covering `words`, each at most `max_words` long.

    Cuts at sentence ends, aiming at pieces of equal size so a 160-word turn becomes two of 80
    rather than 150 + 10. A sentence longer than `max_words` is cut between words.
    """
    total = len(words)
    if total <= max_words:
        return [(0, total)]
    sentences = _sentence_ranges(text, words)
    pieces: list[tuple[int, int]] = []
    for i, j in sentences:
        pieces.extend(_even_ranges(i, j, max_words))
    target = total / math.ceil(total / max_words)
    groups: list[tuple[int, int]] = []
    group_start = 0
    for i, j in pieces:
        if j - group_start > max_words and i > group_start:
            groups.append((group_start, i))
            group_start = i
        if j - group_start >= target:
            groups.append((group_start, j))
            group_start = j
    if group_start < total:
        groups.append((group_start, total))
    return groups


def _sentence_ranges(text: str, words: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    ranges = []
    start = 0
    for n, (a, b) in enumerate(words):
        if _SENTENCE_END.search(text, a, b):
            ranges.append((start, n + 1))
            start = n + 1
    if start < len(words):
        ranges.append((start, len(words)))
    return ranges


def _even_ranges(i: int, j: int, max_words: int) -> list[tuple[int, int]]:
    n = j - i
    if n <= max_words:
        return [(i, j)]
    parts = math.ceil(n / max_words)
    size = math.ceil(n / parts)
    return [(s, min(s + size, j)) for s in range(i, j, size)]


def _group_units(
    units: Sequence[_Unit],
    *,
    min_words: int,
    max_words: int,
    trivial_words: int,
    remark_words: int,
) -> list[list[_Unit]]:
    def is_trivial(unit: _Unit) -> bool:
        # Only a whole turn can be a backchannel; a piece of a long turn is never one.
        return unit.whole_turn and unit.words <= trivial_words

    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    words = 0
    for unit in units:
        if current:
            # A backchannel stays with what it answers, even a few words past max_words:
            # those few words cost the model little, a chunk of "Mm-hmm." alone costs a result.
            if is_trivial(unit):
                full = words + unit.words > max_words + trivial_words
            elif words + unit.words > max_words:
                full = True
            elif words < min_words:
                full = False
            else:
                full = unit.asks or unit.words >= remark_words
            if full:
                groups.append(current)
                current, words = [], 0
        current.append(unit)
        words += unit.words
    if current:
        groups.append(current)
    return _merge_small_groups(
        groups, min_words=min_words, max_words=max_words, is_trivial=is_trivial
    )


def _merge_small_groups(
    groups: list[list[_Unit]],
    *,
    min_words: int,
    max_words: int,
    is_trivial: Callable[[_Unit], bool],
) -> list[list[_Unit]]:
    """Fold content-free groups (only backchannels) into a neighbour, and a short last group
    into the one before it when that fits."""
    merged: list[list[_Unit]] = []
    carry: list[_Unit] = []  # content-free units waiting for the next group (session start)
    for group in groups:
        if all(is_trivial(u) for u in group):
            if merged:
                merged[-1].extend(group)
            else:
                carry.extend(group)
            continue
        merged.append(carry + group)
        carry = []
    if carry:  # nothing but backchannels in the whole session: still searchable
        merged.append(carry)
    if len(merged) >= 2:
        last_words = _words(merged[-1])
        if last_words < min_words and _words(merged[-2]) + last_words <= max_words:
            merged[-2].extend(merged.pop())
    return merged


def _words(units: Sequence[_Unit]) -> int:
    return sum(u.words for u in units)


def _make_chunk(session: Session, index: int, units: Sequence[_Unit]) -> Chunk:
    char_start, char_end = units[0].char_start, units[-1].char_end
    speakers: dict[str | None, None] = {}
    for unit in units:
        speakers.setdefault(session.turns[unit.turn].speaker, None)
    start, end = span_times(session, char_start, char_end)
    return Chunk(
        session_id=session.id,
        index=index,
        first_turn=units[0].turn,
        last_turn=units[-1].turn,
        char_start=char_start,
        char_end=char_end,
        speakers=tuple(speakers),
        start=start,
        end=end,
    )
