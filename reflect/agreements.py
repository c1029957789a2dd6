"""What client and therapist agreed to try: homework, plans, commitments, found by rules.

Two shapes cover what sessions say (measured on the invented history and the demo,
bench/bench_across_sessions.py):

- a proposal ("Would you be up for keeping a sleep diary this week?", "How about trying
  the three lines?", "Your homework is..."), with the other speaker's next turn as the reply
  that accepts or declines it;
- a commitment, said unprompted ("I'll ring the surgery on Monday.", "I'll cut down to
  weekends"): "I'll" or "I'm going to" with a verb of doing, and something after it.

Both are read a sentence at a time. A second match within a few turns of the first one is
the same agreement being worked out ("Keep it by the kettle", "I'll put it by the kettle"),
so it is folded into the first. Follow-ups are found by the timeline of the agreement's own
words in later sessions (reflect/timeline.py), with its measured thresholds.

Every excerpt is a slice of the stored text (reflect/moments.py); nothing is paraphrased.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from reflect.errors import UsageError
from reflect.moments import moment_hit, sentences
from reflect.records import AGREEMENT_STATUSES, AgreementMark
from reflect.retrieval import Hit
from reflect.session import Session, StoredTurn

_APOSTROPHE = "['’]"

PROPOSAL = re.compile(
    r"\b(?:would|could|will) you (?:be )?(?:up for|willing to|consider|like to try|try)\b"
    r"|\bhow about (?:you |we )?(?:try|trying|keeping|doing|writing|making|starting|giving)\b"
    r"|\b(?:your|some|a bit of|my|the|this week's) homework\b"
    # "Could you jot down each time you say no?", "would you maybe keep a tally?": asking the
    # client to do something between sessions. Verbs of doing only: "could you tell me
    # more?" and "can you give me an example?" ask about now.
    r"|\b(?:would|could|can) you (?:maybe |perhaps |possibly |also |just )?(?:jot|note down|"
    r"write|keep|track|count|list|practi[sc]e|spend|set aside|book|bring|ring|call|text|"
    r"email|have a go|make a (?:note|list)|leave|walk(?! me\b)|go for|stop|swap|pick)\b"
    # "What if you tried leaving it in the kitchen?"
    r"|\bwhat if you (?:tried|try|kept|wrote|put|left|took|went|started|stopped|did|gave)\b"
    r"|\bbetween now and next (?:time|week|session)\b"
    rf"|\bI{_APOSTROPHE}d (?:like|love) you to (?:try|keep|write|notice|practi[sc]e|do)\b"
    r"|\b(?:shall|should) we (?:book|say|keep)\b"
    r"|\bsame time\?"
    # "And keep the sleep diary going": carrying on is asked as an instruction.
    # (with something to keep going: a bare "Keep going." is encouragement)
    r"|^(?:and |so )?(?:keep|carry on)\s+\w.*\b(?:going|up)\b",
    re.IGNORECASE,
)
# Verbs of doing: "I'll ring", "I'm going to cut down". Not "I'll be honest", "I'll see".
_DOING = (
    r"ring|call|phone|go|try|start|restart|keep|write|cut|clear|book|ask|stop|walk|run|put|"
    r"leave|practi[sc]e|text|email|tell|take|give|set|plan|visit|drink|limit|stick|jot|note|"
    r"track|count|list|spend|bring|swap|pick"
)
COMMITMENT = re.compile(
    rf"\bI(?:{_APOSTROPHE}ll| will| am going to|{_APOSTROPHE}m going to) (?:{_DOING})\b"
    r"(?=\s+\w)",  # something after the verb: a bare "I'll try." commits to nothing
    re.IGNORECASE,
)
# "I've said I'll take the room": a commitment reported, not made here.
REPORTED = re.compile(r"\b(?:said|told|says|promised)\b[^.?!]*\bI\b", re.IGNORECASE)
ACCEPT = re.compile(
    rf"^\W*(?:yeah|yes|yep|ok(?:ay)?|sure|alright|all right|definitely|I can|I{_APOSTROPHE}ll|"
    rf"I will|I could|let{_APOSTROPHE}s|that sounds|good|great|right|fine|deal)\b",
    re.IGNORECASE,
)
DECLINE = re.compile(
    rf"\b(?:not for me|I don{_APOSTROPHE}t think (?:so|I could|that)|no,? thanks|"
    rf"I{_APOSTROPHE}d rather not|I can{_APOSTROPHE}t do that|I won{_APOSTROPHE}t)\b",
    re.IGNORECASE,
)
# A second match this close to an agreement (in turns) is the same agreement.
SAME_AGREEMENT_TURNS = 3
FOLLOW_UP_SESSIONS = 3


@dataclass(slots=True)
class Agreement:
    """`words`: the sentence that proposes or commits (whole turn around it, verbatim);
    `reply`: the other speaker's next turn when it accepts or declines."""

    id: str
    kind: str  # "proposal" | "commitment"
    words: Hit
    reply: Hit | None
    declined: bool = False
    follow_ups: list[Hit] = field(default_factory=list)
    status: str = "open"  # or "done", "dropped" (not for me): the user's mark

    @property
    def session_id(self) -> str:
        return self.words.session_id

    @property
    def session_date(self) -> dt.date:
        return self.words.session_date


@dataclass(frozen=True, slots=True)
class _Found:
    turn: StoredTurn
    sentence: tuple[int, int]
    kind: str


def agreement_id(session: Session, char_start: int) -> str:
    """Stable while the session is unchanged, so a status stored later still finds it."""
    digest = hashlib.blake2b(f"{session.content_hash}:{char_start}".encode(), digest_size=4)
    return digest.hexdigest()


def _matches(session: Session, me: frozenset[str]) -> list[_Found]:
    found = []
    for turn in session.turns:
        # Commitments are the client's: a therapist's "I'll ask a lot of questions" is not
        # homework. Until reflect knows which speaker is the client, anyone's count.
        can_commit = not me or turn.speaker in me
        for a, b in sentences(session, turn):
            sentence = session.text[a:b]
            if PROPOSAL.search(sentence):
                found.append(_Found(turn, (a, b), "proposal"))
                break
            if can_commit and COMMITMENT.search(sentence) and not REPORTED.search(sentence):
                found.append(_Found(turn, (a, b), "commitment"))
                break
    return found


def _reply(session: Session, turn: StoredTurn) -> tuple[StoredTurn | None, bool]:
    """The other speaker's turn, within a few, that accepts or declines (a sentence of it
    starting "Yeah", "I'll", "Let's"... or saying "not for me"), and whether it declines."""
    for later in session.turns[turn.index + 1 : turn.index + 1 + SAME_AGREEMENT_TURNS]:
        if later.speaker == turn.speaker:
            continue
        said = session.turn_text(later)
        if DECLINE.search(said):
            return later, True
        if any(ACCEPT.search(session.text[a:b]) for a, b in sentences(session, later)):
            return later, False
    return None, False


def _is_reply_to_proposal(found: _Found, previous: _Found | None) -> bool:
    return (
        previous is not None
        and previous.kind == "proposal"
        and found.turn.index - previous.turn.index <= SAME_AGREEMENT_TURNS
    )


def find_agreements(session: Session, me: Iterable[str] = ()) -> list[Agreement]:
    """The session's agreements, in the order they were made. `me`: the client's speaker
    labels (commitments are theirs)."""
    agreements: list[Agreement] = []
    last: _Found | None = None
    for found in _matches(session, frozenset(me)):
        if last is not None and found.turn.index - last.turn.index <= SAME_AGREEMENT_TURNS:
            if found.kind == "commitment" and _is_reply_to_proposal(found, last):
                continue  # "Yeah, I'll try that": the reply, read below
            sentence = session.text[found.sentence[0] : found.sentence[1]]
            if found.kind == "commitment" or not sentence.rstrip().endswith("?"):
                # Working out the details of the same agreement ("Keep it by the kettle").
                # A new question ("Tuesday the ninth, same time?") is a new agreement.
                continue
        a, b = found.sentence
        turn_a, turn_b = found.turn.char_start, found.turn.char_end
        # The whole turn when it is short enough to read at a glance, else the sentence.
        words = moment_hit(session, turn_a, turn_b) if turn_b - turn_a <= 600 else None
        if words is None:
            words = moment_hit(session, a, b)
        words.match_spans = [(a - words.char_start, b - words.char_start)]
        reply_turn, declined = _reply(session, found.turn)
        reply = None
        if reply_turn is not None:
            reply = moment_hit(session, reply_turn.char_start, reply_turn.char_end, rank=2)
        agreements.append(Agreement(agreement_id(session, a), found.kind, words, reply, declined))
        last = found
    return agreements


def subject_of(agreement: Agreement) -> str:
    """What the agreement is about, for finding it again later: its words and its reply's,
    without the asking ("would you be up for").
    """
    a, b = agreement.words.match_spans[0] if agreement.words.match_spans else (0, 0)
    said = agreement.words.text[a:b] or agreement.words.text
    said = COMMITMENT.sub(" ", PROPOSAL.sub(" ", said))
    if agreement.reply is not None and not agreement.declined:
        said += " " + agreement.reply.text.split("\n")[0]
    return " ".join(said.split())


def proposes(text: str) -> bool:
    """Whether `text` proposes or commits to something to try: between two sentences that
    match a question equally, the one with the suggestion in it is the one that answers
    ("Sleep isn't something you can force." / "Would you be up for keeping a sleep diary?")."""
    return bool(PROPOSAL.search(text) or COMMITMENT.search(text))


# Where the thing proposed ends: "keeping a sleep diary | for the next two weeks".
_THING_ENDS = re.compile(
    r"[,.;:?!…]|\b(?:for|before|after|until|between|this|next|every|each|when|if|so|and then|"
    r"just|maybe|instead|by|at|in|on|with|around|from)\b",
    re.IGNORECASE,
)
_THING_WORDS = 6


def proposed_things(text: str) -> list[str]:
    """What `text` proposes or commits to, in its own words and in order: "keeping a sleep
    diary" from "Would you be up for keeping a sleep diary for the next two weeks?". A
    follow-up's "did I keep it?" means one of these."""
    things = []
    for m in [*PROPOSAL.finditer(text), *COMMITMENT.finditer(text)]:
        # The asking's own last word when it is the doing: "how about TRYING the three
        # lines", "I'll CUT down to weekends".
        last = m.group(0).split()[-1]
        doing = last.lower().endswith("ing") or re.fullmatch(_DOING, last, re.IGNORECASE)
        tail = text[m.end() - len(last) if doing else m.end() :]
        end = _THING_ENDS.search(tail)
        thing = " ".join(tail[: end.start() if end else len(tail)].split()[:_THING_WORDS])
        if re.search(r"\w{3,}", thing):
            things.append((m.start(), thing))
    return [thing for _, thing in sorted(things)]


def link_follow_ups(
    agreements: Iterable[Agreement],
    later_mentions: Callable[[str, dt.date], list[list[Hit]]],
    *,
    sessions: int = FOLLOW_UP_SESSIONS,
) -> None:
    """Fill each agreement's `follow_ups` with the best moment of up to `sessions` later
    sessions that talk about it. `later_mentions(subject, after)` gives the hits of each later
    session, oldest first (the service passes a timeline)."""
    for agreement in agreements:
        found = later_mentions(subject_of(agreement), agreement.session_date)
        agreement.follow_ups = [hits[0] for hits in found[:sessions] if hits]


# ---- the user's marks ------------------------------------------------------------------------

# How short an id may be given: ids are 8 hex digits, shown whole.
MIN_ID_PREFIX = 4


def apply_marks(agreements: Iterable[Agreement], marks: Mapping[str, AgreementMark]) -> None:
    """Give each agreement the status the user marked it with (unmarked ones stay open)."""
    for agreement in agreements:
        mark = marks.get(agreement.id)
        agreement.status = mark.status if mark is not None else "open"


def mark_of(session: Session, status: str) -> AgreementMark | None:
    """The mark to store for an agreement of `session` (None: open again, nothing stored)."""
    if status not in AGREEMENT_STATUSES:
        raise UsageError(f"An agreement can be {', '.join(AGREEMENT_STATUSES)}; not {status!r}.")
    if status == "open":
        return None
    return AgreementMark(status, session.content_hash, dt.date.today().isoformat())


def resolve_agreement(
    sessions: Iterable[Session], me: Iterable[str], reference: str
) -> tuple[Agreement, Session]:
    """The agreement whose id is `reference` (or starts with it), and its session."""
    wanted = reference.strip().casefold()
    labels = frozenset(me)
    found = [
        (agreement, session)
        for session in sessions
        for agreement in find_agreements(session, labels)
        if agreement.id == wanted
        or (len(wanted) >= MIN_ID_PREFIX and agreement.id.startswith(wanted))
    ]
    exact = [f for f in found if f[0].id == wanted]
    if len(exact) == 1 or len(found) == 1:
        return (exact or found)[0]
    if found:
        raise UsageError(f"More than one agreement starts with {reference!r}; give its whole id.")
    raise UsageError(
        f"No agreement has the id {reference!r}. `reflect agreements` lists them with their ids."
    )
