"""A stretch of a session's stored text as a `Hit`, for results that search didn't find (a
recap's moments, an agreement's words): the same shape, so every view shows and cites them
alike, and the same promise, `hit.text == session.text[char_start:char_end]`."""

from __future__ import annotations

import re

from reflect.chunking import span_times, turn_at
from reflect.retrieval import Hit, expand_to_turns
from reflect.session import Session, StoredTurn

# A sentence of a turn: up to its closing punctuation (and closing quotes), or the turn's end.
_SENTENCE = re.compile(r"[^.!?…]*(?:[.!?…]+[\"'”’)\]]*|$)")


def moment_hit(session: Session, a: int, b: int, *, rank: int = 1, score: float = 0.0) -> Hit:
    """`session.text[a:b]`, widened to whole words, as a hit (speaker, time, turns)."""
    a, b = expand_to_turns(session, a, b, max_chars=b - a)
    first, last = turn_at(session, a), turn_at(session, max(a, b - 1))
    first_turn = first.index if first is not None else 0
    last_turn = last.index if last is not None else first_turn
    speakers = [t.speaker for t in session.turns[first_turn : last_turn + 1] if t.speaker]
    start, end = span_times(session, a, b)
    return Hit(
        rank=rank,
        score=score,
        session_id=session.id,
        session_title=session.title,
        session_date=session.date,
        source_file=session.source_file,
        speaker=", ".join(dict.fromkeys(speakers)) or None,
        start=start,
        end=end,
        text=session.text[a:b],
        char_start=a,
        char_end=b,
        first_turn=first_turn,
        last_turn=last_turn,
        chunk_text=session.text[a:b],
    )


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
