"""Which moments answer "did I keep the diary?" (#17): where it was proposed, and the
user's later turns that tell what became of it.

Pure functions over a hit's turns (reflect.answer.excerpts.turn_pieces); the Answerer
chooses the hits. Why turns rather than whole passages: a passage holds three or four turns,
and one of them tells ("Every single one went in with the crumbs") while another starts
something else ("Can I come to Poppy's party?"); the turn is what is quoted and cited.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from itertools import pairwise

from reflect.agreements import proposes
from reflect.retrieval import Hit

Stems = Callable[[Hit], set[str]]

# Suggestions the agreement rules leave out, since without a verb of doing they may not ask
# for anything between sessions ("Can I suggest something small for this week?"); here the
# turn must also hold the thing's own words.
_SUGGESTS = re.compile(
    r"\b(?:can|could|may) I suggest\b|\bI(?:['’]d| would) suggest\b|\bwhy don['’]t you\b"
    r"|\byou could (?:try|maybe|perhaps|always)\b",
    re.IGNORECASE,
)


def suggests(text: str) -> bool:
    """Whether `text` proposes or commits to something to try."""
    return proposes(text) or bool(_SUGGESTS.search(text))


def proposal_turn(turns: Sequence[Hit], terms: Collection[str], stems: Stems) -> Hit | None:
    """The first of `turns` that proposes something named by `terms`, in itself or in the
    reply right after it ("Wait an hour." / "Where do I put the phone?"), else None."""
    wanted = set(terms)
    for i, turn in enumerate(turns):
        if not suggests(turn.text):
            continue
        reply = stems(turns[i + 1]) if i + 1 < len(turns) else set()
        if stems(turn) & wanted or (reply & wanted and not turn.text.rstrip().endswith("?")):
            return turn
    return None


def report_turn(
    turns: Sequence[Hit],
    wanted: Collection[str],
    me: Collection[str],
    stems: Stems,
    weights: Mapping[str, float] | None = None,
) -> Hit | None:
    """The user's turn of `turns` that tells about `wanted` (stems), else None: the one
    holding most of them (a report before a plan: "four of them went in the bread bin", not
    "I'll keep the bread bin"), or else the user's answer to the other's question that holds
    them ("And the texts, since we last met?" / "Good, actually. Every single one...")."""
    words = set(wanted)
    weights = weights or {}

    def weight(turn: Hit) -> float:
        return sum(weights.get(t, 1.0) for t in stems(turn) & words)

    own = [t for t in turns if t.speaker in me and weight(t) > 0]
    if own:
        return max(own, key=lambda t: (not suggests(t.text), weight(t), -t.char_start))
    for asked, answer in pairwise(turns):
        if (
            asked.speaker not in me
            and answer.speaker in me
            and asked.text.rstrip().endswith("?")
            and weight(asked) > 0
        ):
            return answer
    return None
