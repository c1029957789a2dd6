"""A stretch of a session's stored text as a `Hit`, for results that search didn't find (a
recap's moments, an agreement's words): the same shape, so every view shows and cites them
alike, and the same promise, `hit.text == session.text[char_start:char_end]`."""

from __future__ import annotations

import re

from reflect.retrieval import Hit, expand_to_turns, span_hit
from reflect.session import Session, StoredTurn

# A sentence of a turn: up to its closing punctuation (and closing quotes), or the turn's end.
_SENTENCE = re.compile(r"[^.!?…]*(?:[.!?…]+[\"'”’)\]]*|$)")


def moment_hit(session: Session, a: int, b: int, *, rank: int = 1, score: float = 0.0) -> Hit:
    """`session.text[a:b]`, widened to whole words, as a hit (speaker, time, turns)."""
    a, b = expand_to_turns(session, a, b, max_chars=b - a)
    return span_hit(session, a, b, rank=rank, score=score)


def sentences(session: Session, turn: StoredTurn) -> list[tuple[int, int]]:
    """The sentences of a turn, as (start, end) offsets into `session.text`, without the
    white space between them."""
    text = session.turn_text(turn)
    spans = []
    for m in _SENTENCE.finditer(text):
        a, b = m.start(), m.end()
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            spans.append((turn.char_start + a, turn.char_start + b))
    return spans
