"""What the therapist suggested (#17): "what did my therapist suggest about the baby monitor?",
"what did Owen want me to try when people ask me for things?".

Searched like any question about what the other person said, these were answered with the
moments that share the most words with the topic, which are mostly the *questions* about it
("How was it for Nell?", "And the messages from Lorna?"): on the dev histories none of 24
cited the suggestion. A suggestion seldom repeats the topic's words; it follows them ("What
if the screen went face down, and you only had the sound?" after the client described
checking the monitor). So the moments found are read turn by turn, with the turns around
them, for the other person's turns that suggest something; the first in the search's order
is cited whole, quoted by its sentences that suggest.

None when nothing found suggests anything: the question is then answered as any other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from reflect.agreements import proposes
from reflect.answer.compose import AnswerServices, composed_answer, day
from reflect.answer.excerpts import grow_span, sentence_spans
from reflect.answer.question import AskedQuestion
from reflect.answer.results import Answer
from reflect.index import Filters
from reflect.moments import moment_hit
from reflect.retrieval import Hit
from reflect.session import Session
from reflect.words import content_stems

__all__ = [
    "answer_suggestion",
    "asks_for_suggestion",
    "suggestion_strength",
    "suggestions_in",
]

# "What did my therapist / Owen / you suggest / recommend / advise / want me to ... / tell me
# to ... / say I could ...": what the other person put forward. Not "what did I say I'd
# try" (the user's own plan: an agreement) and not "did I try..." (an outcome).
_ASKS = re.compile(
    r"\bwhat\s+(?:did|does|has|had|would)\s+(?:my\s+\w+|the\s+\w+|you|she|he|they|\w+)\s+"
    r"(?:suggest\w*|recommend\w*|advis\w*|propos\w*|want(?:ed)?\s+me\s+to|tell\s+me\s+to|"
    r"ask\s+me\s+to|say\s+(?:i|to)\s+(?:could|should|might|try|do)|think\s+i\s+should)\b"
    r"|\bwhat\s+(?:was|were)\s+(?:the|my|her|his|their|your)\s+(?:suggestion|advice|idea|"
    r"tip)s?\b",
    re.IGNORECASE,
)

# What a suggestion sounds like, beyond the agreement rules' proposals (which want a verb of
# doing between sessions): put forward as such ("What if the screen went face down?", "Could
# you ask Bev for that swap?", "Can I suggest...") ...
_PROPOSES = re.compile(
    r"\bwhat\s+if\b|\bhow\s+about\b|\bwhat\s+about\s+(?:trying|having|making|doing|keeping)\b"
    r"|\bI\s+wonder\s+(?:if|whether)\b|\bwould\s+it\s+help\b|\bcould\s+you\s+(?!tell|say|"
    r"describe|explain|remember)\w+|\bcan\s+you\s+try\b|\blet['’]s\s+(?:try|see\s+if)\b"
    r"|\bI['’]d\s+(?:like|love)\s+you\s+to\b|\bI\s+(?:want|would\s+like)\s+you\s+to\b"
    r"|\bgive\s+it\s+a\s+(?:go|try)\b|\bwhy\s+not\s+\w+"
    r"|\bwhy\s+don['’]t\s+you\b|\bsuggest\w*\b|\bhomework\b"
    r"|\bif\s+you['’]re\s+willing\b|\bwould\s+you\s+be\s+willing\b"
    # "What would it be like to charge your phone somewhere else?", "How would it be to..."
    r"|\b(?:what|how)\s+would\s+it\s+be(?:\s+like)?\s+(?:to|if)\b",
    re.IGNORECASE,
)
# ... or hinted at ("you could say 'let me check'", "we could make it harder", "maybe try",
# "So this week you'll try two early swims") ...
_HINTS = re.compile(
    r"(?<!if\s)\b(?:you|we)\s+(?:could|might|can)\s+(?!not\b)\w+|\b(?:maybe|perhaps)\s+(?:you|try|we)\b"
    r"|\bnext\s+time\b|\byou['’]ll\s+(?:try|do|keep|write|give|have\s+a\s+go)\b"
    # talk about trying things, not yet a thing to try ("a few small experiments")
    r"|\bexperiments?\b|\bsmall\s+steps?\b",
    re.IGNORECASE,
)
# ... or, said as a statement only (as a question, "Anything else happen this week?" and
# "Tell me?" ask about now), the week's plan or a sentence that starts with what to do
# ("Say you're up at half six.", "Try leaving it downstairs.", not "Take care").
_PLANS = re.compile(
    r"\b(?:for\s+)?this\s+week\b|\bbefore\s+next\s+time\b|\bif\s+you\s+can\b"
    r"|\bfor\s+the\s+next\s+(?:\w+\s+)?(?:days?|weeks?)\b"
    r"|^(?:so,?\s+|and\s+|just\s+|maybe\s+)?(?:try|say|keep|write|put|leave|pick|"
    r"tell(?!\s+me\b)|ask|take(?!\s+care)|give|set|notice|practi[sc]e|start|stop|use|swap|"
    r"turn|plan|book|ring|text|email|go(?!\s+on\b))\b",
    re.IGNORECASE,
)
# A sentence of a turn: up to its closing punctuation.
_SENTENCE = re.compile(r"[^.!?…]+[.!?…]*")

# The turns around a moment found that are read too: a suggestion often answers what the
# client said in it, or comes just before the client's reply that the moment holds ("Not
# ring. Oh God. Okay. A coffee.").
TURNS_BEFORE = 1
TURNS_AFTER = 2
# The moments found that are read, best first, and the suggestions quoted at most.
MOMENTS_READ = 6
MOST_SUGGESTIONS = 2
# A second suggestion is shown when it holds at least this share of the first one's nearness.
NEAR_ENOUGH = 0.5


def asks_for_suggestion(asked: AskedQuestion) -> bool:
    """Whether the question asks what the other person suggested."""
    return asked.speaker == "other" and bool(_ASKS.search(asked.text))


def suggestion_strength(text: str) -> int:
    """2 when a turn proposes something outright, 1 when it hints at or plans something,
    0 when it suggests nothing."""
    if proposes(text) or _PROPOSES.search(text):
        return 2
    if _HINTS.search(text) or any(
        _PLANS.search(sentence.strip()) and not sentence.rstrip().endswith("?")
        for sentence in _SENTENCE.findall(text)
    ):
        return 1
    return 0


@dataclass(frozen=True, slots=True)
class _Suggestion:
    turn: Hit  # the turn that suggests, as a hit (whole turn: quoted and cited)
    strength: int  # suggestion_strength: outright proposals before hints
    near: float  # how much of the topic it and the turn before it hold (weighed words)
    rank: int  # the rank of the moment it was found in or after


def answer_suggestion(
    services: AnswerServices, asked: AskedQuestion, filters: Filters, began: float
) -> Answer | None:
    """What the other person suggested about the topic, from the moments found: their
    turns that suggest something, in the search's order (within a moment, outright proposals
    first), at most MOST_SUGGESTIONS from different sessions, shown oldest first. None when
    there is nothing to go on."""
    if not asked.topic:
        return None
    found = services.search(asked.topic, filters, asked, 8)
    evidence = services.decide(asked.topic, found, filters)
    if not evidence.found:
        return None
    weights = services.retriever.term_weights(asked.topic)
    me = set(services.me_labels)
    candidates: dict[tuple[str, int], _Suggestion] = {}
    topic = set(weights)
    for hit in found[:MOMENTS_READ]:
        session = services.session_of(hit.session_id)
        if session is None:
            continue
        # The turns around a moment that names the topic are about it too ("The monitor,
        # has it got a screen?" ... "What if the screen went face down?").
        names_it = bool(content_stems(hit.text) & topic)
        for turn, before, inside in _turns_in_and_after(hit, session):
            strength = suggestion_strength(turn.text)
            if turn.speaker is None or turn.speaker in me or not strength:
                continue
            said = content_stems(turn.text) | content_stems(before)
            near = _weight(said, weights)
            key = (turn.session_id, turn.char_start)
            # A turn of the moment found counts as about the topic (search found it for it,
            # in meaning too); one around it when the moment names the topic, or when it
            # or the turn it answers does.
            about = inside or names_it or near > 0
            if about and (key not in candidates or candidates[key].rank > hit.rank):
                candidates[key] = _Suggestion(turn, strength, near, hit.rank)
    if not candidates:
        return None
    # The search's order first (it weighs meaning, not only the topic's words); within a
    # moment what is proposed outright (talk of "a few small experiments" leads up to the one
    # proposed: "Would you be up for keeping a sleep diary?"), then the nearest to the topic.
    ranked = sorted(
        candidates.values(), key=lambda s: (s.rank, -s.strength, -s.near, s.turn.char_start)
    )
    best = ranked[0]
    chosen = [best]
    for other in ranked[1:]:
        if len(chosen) == MOST_SUGGESTIONS:
            break
        # Another session's suggestion about it, about as near ("What if the screen went
        # face down?" in August, "What if there was just one check?" in October); never two
        # of one session.
        if other.near >= NEAR_ENOUGH * best.near and all(
            other.turn.session_id != c.turn.session_id for c in chosen
        ):
            chosen.append(other)
    chosen.sort(key=lambda s: (s.turn.session_date, s.turn.char_start))
    today = services.today()
    most = services.settings.extractive_max_words
    lines = [
        (
            s.turn,
            f"On {day(s.turn.session_date, today)}, {{who}} suggested: "
            f"“{_braces(suggesting_quote(s.turn.text, most))}” [{{n}}]",
        )
        for s in chosen
    ]
    answer = composed_answer(services, asked, found, lines, began, topic_words=False)
    answer.evidence = evidence
    answer.focus = answer.citations[0][1] if answer.citations else None
    return answer


def _turns_in_and_after(hit: Hit, session: Session) -> list[tuple[Hit, str, bool]]:
    """The turns of `hit`, the TURNS_BEFORE before it and the TURNS_AFTER after it, each as
    a whole-turn hit with the text of the turn before it (what it answers) and whether it is
    one of the hit's."""
    first, last = hit.first_turn, min(hit.last_turn, len(session.turns) - 1)
    inside = set(range(first, last + 1))
    around = range(max(0, first - TURNS_BEFORE), min(last + 1 + TURNS_AFTER, len(session.turns)))
    indices = sorted(inside | set(around))
    out = []
    for i in indices:
        turn = session.turns[i]
        piece = moment_hit(session, turn.char_start, turn.char_end, rank=hit.rank)
        before = session.turn_text(session.turns[i - 1]) if i > 0 else ""
        out.append((piece, before, i in inside))
    return out


def _weight(stems: set[str], weights: Mapping[str, float]) -> float:
    return sum(w for t, w in weights.items() if t in stems)


# Of a session's suggestions, at most this many are shown for "what was I supposed to do?".
MOST_IN_A_SESSION = 3


def suggestions_in(session: Session, me: frozenset[str]) -> list[Hit]:
    """The turns of `session` in which someone other than the user puts something forward
    (as whole-turn hits, in order): outright proposals when there are any, else hints and
    plans; the last MOST_IN_A_SESSION of them (a session's plans are made towards its end).
    What "what was I supposed to do?" falls back on when the agreement rules found none
    ("Once this week, cook or eat one meal in the kitchen while someone else is in there.")."""
    found: list[tuple[int, Hit]] = []
    for turn in session.turns:
        if turn.speaker is None or turn.speaker in me:
            continue
        strength = suggestion_strength(session.turn_text(turn))
        if strength:
            found.append((strength, moment_hit(session, turn.char_start, turn.char_end)))
    strongest = max((strength for strength, _ in found), default=0)
    return [hit for strength, hit in found if strength == strongest][-MOST_IN_A_SESSION:]


def suggesting_quote(text: str, max_words: int) -> str:
    """The sentences of a turn that suggest (the strongest first one, with its neighbours
    while they fit in `max_words`), verbatim: "Would you be up for keeping a sleep diary?",
    not "So I'd like to start there" before it."""
    spans = sentence_spans(text) or [(0, len(text))]
    strengths = [suggestion_strength(text[a:b]) for a, b in spans]
    best = strengths.index(max(strengths))
    a, b = grow_span(spans, best, lambda na, nb: len(text[na:nb].split()) <= max_words)
    words = text[a:b].split()
    return " ".join(words[:max_words])


def _braces(text: str) -> str:
    """`text` as literal text in a str.format template."""
    return text.replace("{", "{{").replace("}", "}}")
