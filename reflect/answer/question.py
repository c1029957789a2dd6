"""Stage 1 of answering: what kind of question this is, about what, when, and what it builds on.

Search already reads quotes, framing and who said it (`reflect.understanding`). Answering
needs more, because some questions are not "find the moment" at all:

- "did I keep the sleep diary?": an *outcome*: what was said after the suggestion;
- "when did I first talk about my dad?" / "...last...": the *first* / *last* session with it;
- "how often has sleep come up?": a *count* of sessions;
- "what did we cover last session?": that session's *recap*;
- "what did we agree I'd try?": the *agreements*;
- "in September", "last month", "last time", "on 16 October", "in my first session": *when*,
  which becomes a date or session filter;
- "did I keep it?", "when was that?", "and what did she say about that?": a *follow-up*,
  whose topic, filters and cited moment come from the conversation so far;
- "when's my next appointment?": the *next session*, as the sessions booked it
  (reflect.answer.appointments);
- "who's Lyle?", "who's the guy I go walking with?": *who* someone is, from the moments that
  introduce them (reflect.answer.people);
- "before the summer break", "before you went on leave": the session before the break in
  the session dates (reflect.answer.breaks), a *when* like "last time".

All of it by rules over the words and the session dates (the bundled 0.5B model reads
questions unreliably: models/README.md), each rule tested on its own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from reflect.answer.appointments import asks_next_session
from reflect.answer.breaks import find_break, session_before_break
from reflect.answer.events import EventDate, place_event
from reflect.answer.labels import label_alternatives
from reflect.answer.people import asks_who
from reflect.dates import MONTH_PATTERN, date_range_phrase
from reflect.retrieval import Hit
from reflect.understanding import (
    SpeakerRole,
    Understood,
    asks_what_someone_else_said,
    strip_framing,
    understand,
)
from reflect.words import content_stems, stem

__all__ = [
    "OUTCOME_VERBS",
    "AskedQuestion",
    "Kind",
    "PreviousTurn",
    "people_named",
    "read_question",
    "says_nothing_of_its_own",
]

Kind = Literal[
    "recall",
    "outcome",
    "first",
    "last",
    "count",
    "recap",
    "agreements",
    "when",
    "next_session",
    "who",
]

_MONTH = MONTH_PATTERN

# When: phrases that place a question in time. Each is removed from the topic once read.
_LAST_SESSION = re.compile(
    r"\b(?:(?:in|at|during|from|on)\s+)?(?:the|our|my)?\s*(?:last|latest|most recent|previous)"
    r"\s+(?:session|appointment|meeting|time we (?:met|spoke|talked))\b"
    # "what did we cover last time?", but not "when was the last time Pesto came up?"
    r"|(?<!\bthe\s)\blast\s+time\b",
    re.IGNORECASE,
)
_SESSION_BEFORE = re.compile(
    r"\b(?:in\s+)?the\s+session\s+before\s+(?:that|last|the last one)\b", re.IGNORECASE
)
# "the week after my first session", "the session before the last one".
_NEXT_TO = re.compile(
    r"\b(?:in\s+|on\s+)?(?:the\s+)?(?:week|session|appointment|one|time)\s+(after|before)\s*$",
    re.IGNORECASE,
)
_FIRST_SESSION = re.compile(
    r"\b(?:in|at|during|from)?\s*(?:the|our|my)\s+(?:very\s+)?first\s+(?:session|appointment|"
    r"meeting)\b",
    re.IGNORECASE,
)
_ON_DAY = re.compile(
    rf"\b(?:on|in|from)\s+(?:the\s+)?(?:(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})|({_MONTH})\s+"
    rf"(\d{{1,2}})(?:st|nd|rd|th)?)(?:,?\s+(\d{{4}}))?\b",
    re.IGNORECASE,
)
# "mid-April", "early May", "towards the end of June": a part of the month, not all of it.
_PART_OF_MONTH = r"early|late|mid|middle|start|beginning|end"
_PERIOD = re.compile(
    rf"\b(?:(?:in|during|back in|over)\s+)?(?:(?:(?:towards?\s+)?the\s+)?(?:{_PART_OF_MONTH})"
    rf"(?:\s*-\s*|\s+of\s+|\s+))?(?:{_MONTH})"
    rf"(?:\s+\d{{4}})?\b"
    r"|\b(?:last|this|past)\s+(?:month|week|year)\b"
    r"|\b(?:(?:about|around|roughly)\s+)?(?:a\s+couple\s+of|a\s+few|a|one|two|three|four|five|"
    r"six|\d+)\s+(?:weeks?|months?|days?)\s+ago\b"
    r"|\b(?:in\s+)?the\s+(?:last|past)\s+(?:few\s+|couple of\s+|\d+\s+|two\s+|three\s+)?"
    r"(?:weeks?|months?)\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = {
    "a": "1",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
}

# The verbs of talking about the talking ("did I MENTION", "how often did we DISCUSS"): a
# question with one asks for a moment, not for what happened or how often it happened.
_TALKING = (
    r"say|said|says|tell|told|mention(?:ed|s)?|talk(?:ed|s)?|speak|spoke|discuss(?:ed)?|"
    r"describe[ds]?|explain(?:ed|s)?|ask(?:ed|s)?|bring\s+up|brought\s+up|"
    # "did Liam's girlfriend come up?" asks whether it was talked about, not what became of it
    r"come\s+up|came\s+up"
)

# Kinds. Order matters in `_kind_of`: the most specific first.
# At the start only: "what did I say about how often Mum rang" asks for a moment, not a count.
_COUNT = re.compile(
    r"^(?:and\s+|so\s+)?(?:how\s+(?:often|many\s+(?:times|sessions|weeks|of\s+(?:my|our|the)\s+"
    r"sessions))\b|in\s+how\s+many\s+"
    r"(?:sessions|of\s+(?:my|our|the)\s+sessions)\b|how\s+much\s+(?:have|did)\s+we\s+"
    r"(?:talk|talked)\b)",
    re.IGNORECASE,
)
# "How often was I checking the watch?", "how many times a night do I wake?": how often
# something happened in the user's life, which a moment answers ("maybe three or four times
# a day"), not how many sessions mention it. Unless it asks about the talking itself.
_HOW_OFTEN_I_DID = re.compile(
    r"^(?:and\s+|so\s+)?how\s+(?:often|many\s+times)\b(?:\s+a\s+\w+)?\s+"
    rf"(?:was|am|did|do|have|had|were)\s+(?:i|we)\b(?!\s+(?:\w+\s+)?(?:{_TALKING}|bring|brought|come|came)\b)",
    re.IGNORECASE,
)
_FIRST_LAST = re.compile(
    r"\bwhen\s+(?:did|was|have)\b.*?\b(first|last)\b|\b(?:the\s+)?(first|last)\s+time\s+"
    r"(?:i|we|you|she|he|it)\b|\bwhen\s+did\s+(?:i|we)\s+(start|begin)\b",
    re.IGNORECASE,
)
_AGREEMENTS = re.compile(
    r"\bwhat\s+(?:did|have|had)\s+(?:we|i|you)\s+(?:agree|agreed|plan|planned|decide|decided|"
    r"commit|committed|set)\b|\b(?:my|our|the|any)\s+homework\b|^homework\b|\bwhat\s+(?:was|is|were|are)\s+(?:my|our)\s+"
    r"(?:task|tasks|plan|plans|assignment|exercise|exercises|goals?)\b|\bwhat\s+did\s+i\s+"
    r"(?:say|promise)\s+i(?:'d|’d|\s+would)\s+(?:try|do)\b|\bwhat\s+(?:\w+\s+){0,2}?(?:am|was)\s+i\s+(?:meant|supposed)"
    r"\s+to\s+(?:be\s+)?(?:do|doing|try|trying|working\s+on)\b|\bwhat\s+(?:should|do)\s+i\s+"
    r"(?:try|do)\s+(?:this|next)\s+week\b"
    # What the user took on to tell someone, and "the plan", are agreements too ("what did I
    # say I'd tell Mum?", "what was the plan for the handover?"); where none is about it, the
    # question is answered as any other. (What the therapist suggested or wanted them to do
    # was read so as well, and lost more than it won on the dev histories: the agreements
    # found in a session miss suggestions made in two turns, which a search finds.)
    r"|\bwhat\s+did\s+i\s+(?:say|promise)\s+i(?:'d|’d|\s+would)\s+(?:tell|say\s+to|ask)\b"
    r"|\bwhat\s+(?:was|is)\s+the\s+plan\b",
    re.IGNORECASE,
)
_RECAP = re.compile(
    r"\bwhat\s+(?:did|do|have)\s+we\s+(?:cover|covered|talk\s+about|talked\s+about|discuss|"
    r"discussed|go\s+over|go\s+through|do|work\s+on)\b|\bwhat\s+was\s+(?:the|that|our|my)\s+(?:session|"
    r"appointment)\s+(?:(?:at|in|on|from|during)\s+)?about\b|\brecap\b|\bsumm(?:ary|arise|arize)\b|\bwhat\s+happened\s+in\b"
    # "can you sum up my first session?", "remind me what we talked about on 9 October"
    # "remind me what the very first session was about" (the session read as its time)
    # ("what was our last session about again?", "what was the session at the start of
    # February about?": the time words read, "at" is left)
    r"|\b(?:(?:can|could)\s+you\s+)?(?:remind\s+me\s+)?what\s+(?:\w+\s+){0,3}?was\s+"
    r"(?:(?:at|in|on|from|during)\s+)?about(?:\s+again)?\s*\??$"
    r"|\bsum\s+(?:it\s+)?up\b|\b(?:remind\s+me\s+(?:of\s+)?)?what\s+we\s+(?:covered|talked\s+about|"
    r"discussed|went\s+over|went\s+through|did)\b",
    re.IGNORECASE,
)
# "Did the pharmacist explain...?", "did I ever mention...?": asking about the talking is
# asking for a moment, wherever the speech verb stands.
_OUTCOME_ANY = re.compile(
    rf"^(?:and\s+|so\s+|but\s+)?(?:did|has|have|had)\s+(?!.*\b(?:{_TALKING})\b)",
    re.IGNORECASE,
)
_OUTCOME = re.compile(
    r"^(?:and\s+|so\s+|but\s+)?(?:did|have|has|had|was|were)\s+(?:i|we|it|that|they|she|he|"
    r"things|the\s+\w+)\s+"
    # "did I ever mention...?" asks for a moment: the speech verb may follow an adverb.
    rf"(?!(?:(?:ever|actually|really|even|then|finally)\s+)?(?:{_TALKING})\b)"
    r"(?:ever\s+|actually\s+|really\s+|even\s+|then\s+|finally\s+|end\s+up\s+)?(\w+)",
    re.IGNORECASE,
)
# "How did the court hearing go?", "how did it go with Gwen?": what happened, in the user's
# words, after it (not an outcome: nothing was planned). The subject is the group not None.
_HOW_DID_IT_GO = re.compile(
    r"^(?:and\s+|so\s+|but\s+)?how\s+did\s+(?:(?:it|things|that)\s+(?:go|turn\s+out|work\s+out)"
    r"\s+(?:with|at|on|in)\s+(?P<with>.+?)|(?P<what>.+?)\s+(?:go|turn\s+out|work\s+out|pan\s+out|"
    r"end\s+up))\s*\??$",
    re.IGNORECASE,
)
# "what happened in the session where I told you...", "what did we go over the week Nell
# started crawling?": the recap of the session a moment picks out (the words after this).
_SESSION_WHERE = re.compile(
    r"\b(?:in\s+|on\s+|during\s+|from\s+)?the\s+(?:session|week|day|appointment|time)\s+"
    r"(?:where|when|that|in\s+which|after|before)?\s*(?=\w)",
    re.IGNORECASE,
)
# "Did I ever tell Graham...?", "did I ask Gwen to have Nell?": speaking to someone in the
# user's life is a thing done between sessions (an outcome), not a moment of the sessions,
# unlike "did I tell you about...".
_SPOKE_TO_SOMEONE = re.compile(
    r"^(?:and\s+|so\s+|but\s+)?(?:did|have|had)\s+i\s+(?:ever\s+|actually\s+|finally\s+|even\s+|"
    r"really\s+)?(?:ask|asked|tell|told|talk\s+to|talked\s+to|speak\s+to|spoke\s+to|ring|rang|"
    r"call|called|text|texted|message|messaged|email|emailed)\s+"
    r"(?!you\b|u\b|(?:my|the)\s+(?:therapist|counsellor|counselor)\b)\w",
    re.IGNORECASE,
)
_WHEN_THAT = re.compile(
    r"^(?:and\s+|so\s+)?(?:when|which\s+session|what\s+(?:day|date|session))\s+(?:was|is|did)\s+"
    r"(?:(?:that|it|this)(?:\s+happen)?|(?:she|he|you|i)\s+(?:say|tell\s+(?:you|me|her|him))\s+"
    r"(?:that|it|this))"
    # "when was it again?", "when was that exactly?"
    r"(?:\s+(?:again|exactly|then))?\s*\??$",
    re.IGNORECASE,
)
# "when did I tell you that?": the day of the telling, which is the session's; "when was
# that?" may be a day the moment itself names ("the hearing's on Thursday the twelfth").
_WHEN_TOLD = re.compile(rf"\b(?:{_TALKING})\b", re.IGNORECASE)
# "how was I sleeping after that?", "what did she say afterwards?": after the moment the last
# answer cited. Not "after that one" / "after that session", a session the time words read.
_AFTER_THAT = re.compile(
    r"\b(?:after\s+(?:that|this|it)(?!\s+(?:one|session|appointment|week|month))|afterwards?|"
    r"since\s+then|after\s+(?:she|he|they|you|i)\s+(?:said|told\s+(?:me|you|her|him))\s+"
    r"(?:it|that|this))\b",
    re.IGNORECASE,
)
# "how did I sleep that night?", "how many was I having by then?": at the time of that moment,
# which the session that told it covers.
_AT_THAT_TIME = re.compile(
    r"\b(?:that\s+(?:night|day|morning|evening|afternoon|weekend)|by\s+then|"
    r"at\s+(?:that|the)\s+(?:time|point))\b",
    re.IGNORECASE,
)

# A follow-up leans on the conversation: it says "it", "that", "she"... and little else.
_REFERS_BACK = re.compile(
    # "did we get one in the end?": "one" stands for the thing talked about. "That time I
    # said I felt like a ghost at work" opens a recollection of its own: no "that" to resolve.
    r"\b(?:it|that(?!\s+time\s+(?:when\s+|that\s+)?(?:i|we|you|she|he|they|my)\b)|this|those|"
    r"these|them|she|he|they|her|him|then|there|the\s+same|"
    r"(?:get|got|find|found|have|had|buy|bought)\s+one)\b"
    r"|^(?:and|so|but|what\s+about|how\s+about|and\s+what\s+about)\b",
    re.IGNORECASE,
)
_OUTCOME_LEAD = re.compile(
    r"^(?:and\s+|so\s+|but\s+)?(?:did|have|has|had|was|were)\s+(?:i|we|it|that|they|she|he)\s+"
    r"(?:ever\s+|actually\s+|really\s+|even\s+|then\s+|finally\s+|end\s+up\s+)?",
    re.IGNORECASE,
)
# "...like Annika said", "as we agreed", "like I said I would": who proposed it, not a
# subject, and not a question about what they said.
_AS_SUGGESTED = re.compile(
    r",?\s*\b(?:like|as)\s+(?:my\s+(?:therapist|counsellor|counselor)|\w+)\s+(?:said|suggested|"
    r"asked|told\s+me|advised|recommended|planned|agreed|wanted)\b(?:\s+(?:i\s+would|i'd|to))?"
    r"(?=\s*[?.!]?\s*$)",
    re.IGNORECASE,
)
_DID_I = re.compile(r"\b(?:did|have|has|had)\s+(?:i|we)\b", re.IGNORECASE)
_ASKS_ABOUT_ME = re.compile(r"^(?:and\s+|so\s+|but\s+)?(?:did|have|had|was)\s+i\b", re.I)
_PRONOUNS = re.compile(
    r"\b(?:it|that|this|those|these|them|she|he|they|her|him|then|there)\b", re.IGNORECASE
)
_ASKS_WHEN = re.compile(
    r"^(?:(?:when|what\s+day|which\s+session)\s+)?(?:did|do|was|were|have|had)\s+"
    r"(?:i|we|you|she|he|they)\b\s*",
    re.IGNORECASE,
)
_ASKS_WHAT = re.compile(
    r"^(?:and\s+|so\s+|but\s+)?(?:what(?!\s+about)|who|why|where|how(?!\s+(?:about|often|many)))\b",
    re.IGNORECASE,
)
_LEADS = re.compile(r"^(?:and|so|but|ok|okay|what about|how about)\b[\s,]*", re.IGNORECASE)
_KIND_WORDS = re.compile(
    r"\b(?:how\s+often|how\s+many\s+(?:times|sessions|weeks)|in\s+how\s+many\s+sessions|"
    r"first|last|when|homework|recap|summary|start|begin|come\s+up|came\s+up|did\s+it\s+come\s+up)"
    r"\b|\bhas\b|\bhave\b",
    re.IGNORECASE,
)


# Whom "she" / "he" stand for: the people a question names ("Graham", "Mum", "my sister").
_KIN_SHE = "mum|mom|mother|sister|wife|daughter|gran|granny|grandma|nan|nana|aunt|auntie|girlfriend"
_KIN_HE = "dad|father|brother|husband|son|grandad|granddad|grandpa|uncle|boyfriend"
_KIN = re.compile(
    rf"\b(?:(?:my|our|her|his)\s+(?:(?:big|little|older|younger|step|new|old)\s*-?\s*)?)?"
    rf"(?P<kin>{_KIN_SHE}|{_KIN_HE}|partner|boss|manager|friend|flatmate|housemate|mate|"
    r"neighbour|colleague)\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][a-z]+(?:-[A-Z][a-z]+)?\b")
_NOT_NAMES = frozenset(
    "I I'm I'd I'll I've Mr Mrs Ms Dr Christmas Easter Monday Tuesday Wednesday Thursday Friday "  # noqa: SIM905
    "Saturday Sunday January February March April May June July August September October "
    "November December".split()
)
_SHE = re.compile(r"\b(?:she|her)\b", re.IGNORECASE)
_HE = re.compile(r"\b(?:he|him|his)\b", re.IGNORECASE)


def people_named(text: str) -> tuple[str, ...]:
    """The people `text` names, in order: names ("Graham", "Leona") and kin or roles with
    their possessive ("my sister", "Mum"); the speaker labels of the sessions were already
    read as the other person's role by `read_question`."""
    found: list[tuple[int, str]] = []
    for m in _KIN.finditer(text):
        found.append((m.start(), " ".join(m.group(0).split())))
    for m in _NAME.finditer(text):
        if m.group(0) not in _NOT_NAMES and not any(s <= m.start() < s + len(k) for s, k in found):
            found.append((m.start(), m.group(0)))
    out: list[str] = []
    for _, who in sorted(found):
        if who.lower() not in (o.lower() for o in out):
            out.append(who)
    return tuple(out)


def _person_meant(question: str, people: Sequence[str]) -> str | None:
    """Whom "she" or "he" in `question` stands for: the first person named before whose kin
    word (if it has one) fits the pronoun; None when the question has neither pronoun."""
    she, he = bool(_SHE.search(question)), bool(_HE.search(question))
    if she == he:
        return None  # neither, or both ("did she tell him?"): not one person to put in
    wrong = _KIN_HE if she else _KIN_SHE
    return next((p for p in people if not re.search(rf"\b(?:{wrong})$", p, re.IGNORECASE)), None)


# Words of the asking, not of what happened: "did I keep / stick to / try the diary?" is
# answered by any later mention of the diary, kept or not.
OUTCOME_VERBS = frozenset(
    stem(w)
    for w in (
        "keep",
        "kept",
        "stick",
        "stuck",
        "try",
        "tried",
        "manage",
        "managed",
        "start",
        "started",
        "stop",
        "stopped",
        "finish",
        "finished",
        "use",
        "used",
        "do",
        "did",
        "make",
        "made",
        "get",
        "got",
        "go",
        "went",
        "end",
        "up",
        "ever",
        "actually",
        "really",
        "help",
        "helped",
        "work",
        "worked",
    )
)


@dataclass(frozen=True, slots=True)
class SessionDate:
    """A session as the question reader needs it: its id and day."""

    id: str
    date: dt.date


@dataclass(frozen=True, slots=True)
class PreviousTurn:
    """What a follow-up can lean on: the last question as read, and what its answer cited."""

    question: AskedQuestion
    cited_session: str | None = None  # the session of the first excerpt the answer cited
    cited_date: dt.date | None = None
    cited: Hit | None = None  # that excerpt, for "when was that?"
    # What the cited excerpts proposed or committed to ("keeping a sleep diary"), in order:
    # "did I keep it?" asks about one of these.
    plans: tuple[str, ...] = ()
    # The people named so far, the last question's first ("she" is one of them), and all
    # the excerpts its answer cited (where "when do I start?" is looked for first).
    people: tuple[str, ...] = ()
    cited_all: tuple[Hit, ...] = ()


@dataclass(frozen=True, slots=True)
class AskedQuestion:
    """A question as reflect will answer it. `topic` is what to look for; `since`/`until`/
    `session_ids` place it in time (None: anywhere); `followup` says it was completed from
    the conversation; `time_words` are the words that placed it, to show the user."""

    text: str
    kind: Kind
    topic: str
    understood: Understood
    since: dt.date | None = None
    until: dt.date | None = None
    session_ids: frozenset[str] | None = None
    time_words: str | None = None
    followup: bool = False
    refers_to_date: dt.date | None = None  # "when was that?": the moment it points back to
    refers_to_session: str | None = None
    refers_to: Hit | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    # "when do I start?": the words whose day is asked ("start"), looked for first in
    # `context`, the excerpts the last answer cited (the one it pointed at first).
    when_words: str = ""
    context: tuple[Hit, ...] = ()
    # "what did she say?" ("said") / "what did I do when he said it?" ("did"): asked of the
    # moment the last answer cited (`refers_to`), answered from the turns that follow it.
    reply: str = ""
    # Who "she" / "he" is in it: the pronoun and the person it stands for ("she", "Mum").
    reply_by: tuple[str, ...] = ()

    @property
    def speaker(self) -> SpeakerRole | None:
        return self.understood.speaker

    @property
    def asks_when_said(self) -> bool:
        """ "When did I tell you that?": the day of the telling, not of what was told."""
        return self.kind == "when" and _WHEN_TOLD.search(self.text) is not None

    @property
    def search_text(self) -> str:
        """The words to search for this question: its topic, with quoted words first."""
        return " ".join(part for part in (*self.understood.phrases, self.topic) if part).strip()

    def summary(self) -> str:
        """What was understood, for the user: "about: the sleep diary · after 8 January"."""
        parts = [f"about: {self.topic}"] if self.topic else []
        if self.kind not in ("recall", "when"):
            parts.append(
                {
                    "outcome": "what happened after",
                    "first": "the first time",
                    "last": "the last time",
                    "count": "how many sessions",
                    "recap": "what the session covered",
                    "agreements": "what was agreed",
                    "next_session": "when the next session is",
                    "who": "who they are",
                }[self.kind]
            )
        if self.reply and self.refers_to is not None:
            # "what did she say?": what was said back at the moment the last answer cited.
            whom = self.reply_by[-1] if self.reply_by else "they"
            then = _day(self.refers_to.session_date)
            parts.append(
                f"what {whom} said then ({then})"
                if self.reply == "said"
                else f"what you did then ({then})"
            )
        who = self.understood.speaker_description()
        if who and not self.reply:
            parts.append(f"said by {who}")
        if self.time_words:
            parts.append(self.time_words)
        elif self.since and self.until:
            parts.append(f"{_day(self.since)} to {_day(self.until)}")
        elif self.since:
            parts.append(f"after {_day(self.since)}")
        elif self.until:
            parts.append(f"before {_day(self.until)}")
        return " · ".join(parts)


def read_question(
    text: str,
    *,
    today: dt.date,
    sessions: Sequence[SessionDate] = (),
    previous: PreviousTurn | None = None,
    others: Sequence[str] = (),
    events: Callable[[str], EventDate | None] | None = None,
) -> AskedQuestion:
    """Read `text`: its kind, topic and time, completed from `previous` when it leans on it.
    `others`: the speaker labels that are not the user ("Helen", "Dr. Rivera"): "what did
    Helen say" is then the other person, and the name isn't searched. `events`: when an
    event was ("the wedding" -> 14 March), for "before the wedding" (reflect.answer.events)."""
    text = _told_by_name_as_you(" ".join(text.split()), others)
    if _DID_I.search(text):
        # "did I read to him like Annika said?" asks what the user did, not what Annika said.
        text = " ".join(_AS_SUGGESTED.sub(" ", text).split())
    understood = understand(text)
    named = _named_speaker(text, others)
    if named is not None:
        # Read as the role it is, so the framing around it goes too; shown by name.
        text = " ".join((text[: named.start()] + "my therapist" + text[named.end() :]).split())
        understood = replace(
            understand(text), speaker="other", speaker_words=named.group("name").strip()
        )
    elif asks_what_someone_else_said(text):
        # Mum, Lorna, the boss never speak in the sessions: what they said is in the user's
        # own reports ("She stood there at the flap and said, 'Your dad never once...'"),
        # whatever pronoun comes later ("when she brought the hot chocolate out").
        understood = replace(understood, speaker="me", speaker_words=None)
    rest, since, until, session_ids, time_words = _read_time(text, today, sessions)
    gap = _before_break(rest, today, sessions, others) if time_words is None else None
    if gap is not None:
        rest, since, until, session_ids, time_words = gap
    placed = (
        place_event(text, today, sessions, events, timed=time_words is not None)
        if events and gap is None
        else None
    )
    if placed is not None:
        rest, since, until, session_ids, time_words = placed
    who = asks_who(rest)
    kind: Kind = (
        "next_session"
        if asks_next_session(text, others)
        else "who"
        if who is not None
        else _kind_of(rest)
    )
    topic = (who or "") if kind in ("next_session", "who") else _topic(rest, kind, understood)
    went = _HOW_DID_IT_GO.search(rest)
    if went is not None and kind == "recall":
        # "How did the hearing go?" is told by the user, after it: where the sessions date
        # it, only what was said from then on.
        topic = went.group("with") or went.group("what")
        if understood.speaker is None:
            understood = replace(understood, speaker="me")
        after = place_event(f"after {topic}", today, sessions, events) if events else None
        if after is not None and time_words is None:
            _, since, until, session_ids, time_words = after
    if kind == "outcome" and understood.speaker is None and _ASKS_ABOUT_ME.search(rest):
        # "did I keep it?": what happened is told by the user, in a later session.
        understood = replace(understood, speaker="me")
    asked = AskedQuestion(
        text=text,
        kind=kind,
        topic=topic,
        understood=understood,
        since=since,
        until=until,
        session_ids=session_ids,
        time_words=time_words,
    )
    # When the next session is, and who someone is, are asked of the sessions, whatever
    # the conversation was about ("and when's my next appointment?").
    own = kind in ("next_session", "who")
    if previous is not None and not own and _leans_on_conversation(text, topic):
        asked = _complete_from(asked, previous)
    return asked


def _told_by_name_as_you(text: str, others: Sequence[str]) -> str:
    """ "did I tell Annika about...?" is "did I tell you about...?" when Annika is the
    therapist: a moment of the sessions, not something done in the user's life."""
    names = label_alternatives(others)
    if names is None:
        return text
    return re.sub(
        rf"\b(tell|told|ask|asked|(?:mention|mentioned|say|said|talk|talked)\s+to)\s+"
        rf"(?:dr\.?\s+)?(?:{names})\b",
        r"\1 you",
        text,
        flags=re.IGNORECASE,
    )


def _named_speaker(text: str, others: Sequence[str]) -> re.Match[str] | None:
    """ "what did Helen say", "Dr. Rivera's advice": a label of the other side, named."""
    names = label_alternatives(others)
    if names is None:
        return None
    pattern = re.compile(
        rf"(?P<name>\b(?:dr\.?\s+)?(?:{names}))"
        rf"(?:['’]s)?\b(?=\s+(?:\w+\s+)?(?:say|says|said|tell|told|mention|suggest|"
        rf"recommend|explain|ask|think|thought|advice|idea|put it|mean|gave|give|taught|teach|"
        rf"showed|show|want|wanted|need|needed|expect|expected)|['’]s\s)",
        re.IGNORECASE,
    )
    return pattern.search(text)


# ---- time ----------------------------------------------------------------------------------


def _read_time(
    text: str, today: dt.date, sessions: Sequence[SessionDate]
) -> tuple[str, dt.date | None, dt.date | None, frozenset[str] | None, str | None]:
    """(text without its time words, since, until, session ids, the time words)."""
    ordered = sorted((s for s in sessions if s.date <= today), key=lambda s: (s.date, s.id))
    for pattern, pick in (
        (_SESSION_BEFORE, -2),
        (_LAST_SESSION, -1),
        (_FIRST_SESSION, 0),
    ):
        m = pattern.search(text)
        if m and ordered and len(ordered) >= abs(pick) + (1 if pick >= 0 else 0):
            chosen = ordered[pick]
            rest = _cut(text, m)
            words = (
                "the last session"
                if pick == -1
                else ("the session before last" if pick == -2 else "the first session")
            )
            # "the week after my first session": the session next to the one named.
            step = _NEXT_TO.search(text[: m.start()])
            if step is not None:
                at = ordered.index(chosen) + (1 if step.group(1).lower() == "after" else -1)
                if not 0 <= at < len(ordered):
                    step = None
                else:
                    chosen, rest = ordered[at], _cut(rest, step)
                    words = f"the session {step.group(1).lower()} {words}"
            return rest, None, None, frozenset({chosen.id}), f"{words} ({_day(chosen.date)})"
    m = _ON_DAY.search(text)
    if m:
        day_n, month_a, month_b, day_m, year = m.groups()
        phrase = f"{day_n or day_m} {month_a or month_b} {year or ''}".strip()
        try:
            first, last = date_range_phrase(phrase, today)
        except ValueError:
            first = last = None  # type: ignore[assignment]
        if first is not None:
            on_day = [s for s in ordered if s.date == first]
            rest = _cut(text, m)
            if on_day:
                return rest, None, None, frozenset(s.id for s in on_day), f"on {_day(first)}"
            return rest, first, last, None, f"on {_day(first)}"
    m = _PERIOD.search(text)
    if m and not _is_may_the_verb(text, m):
        phrase = re.sub(
            r"^(?:in|during|back in|over|about|around|roughly)\s+", "", m.group(0), flags=re.I
        )
        part = re.match(
            rf"^(?:(?:towards?\s+)?the\s+)?({_PART_OF_MONTH})(?:\s*-\s*|\s+of\s+|\s+)",
            phrase,
            flags=re.IGNORECASE,
        )
        if part:
            phrase = phrase[part.end() :]
        phrase = re.sub(r"^the\s+", "", phrase, flags=re.IGNORECASE)
        for word, digit in _NUMBER_WORDS.items():
            phrase = re.sub(rf"^{word}\b(?!\s+(?:couple|few)\b)", digit, phrase, flags=re.I)
        phrase = re.sub(r"^(?:last|past)\s+(?:few|couple of)\s+", "last 3 ", phrase)
        phrase = re.sub(r"^a\s+couple\s+of\s+", "2 ", phrase, flags=re.IGNORECASE)
        phrase = re.sub(r"^a\s+few\s+", "3 ", phrase, flags=re.IGNORECASE)
        try:
            since, until = date_range_phrase(phrase, today)
        except ValueError:
            return text, None, None, None, None
        if part:
            since, until = _part_of_month(part.group(1).lower(), since, until)
        if "ago" in phrase:
            # "two weeks ago" names a time, not everything since: the week around it.
            back = (today - since).days
            since, until = since - dt.timedelta(days=4), since + dt.timedelta(days=4)
            since, until = _nearest_session_if_none(since, until, ordered, reach=back // 2)
        words = m.group(0).strip()
        start = m.start()
        side = re.search(r"\b(since|after|from|before|until|till)\s*$", text[:start], re.I)
        if side:
            start = side.start()
            words = f"{side.group(1).lower()} {words}"
            if side.group(1).lower() in ("before", "until", "till"):
                since, until = None, since - dt.timedelta(days=1)  # type: ignore[assignment]
            else:
                until = today
        rest = " ".join((text[:start] + " " + text[m.end() :]).split())
        return rest, since, min(until, today), None, words
    return text, None, None, None, None


def _before_break(
    text: str, today: dt.date, sessions: Sequence[SessionDate], others: Sequence[str]
) -> tuple[str, None, None, frozenset[str], str] | None:
    """ "What did we agree before the summer break?": the session before the break
    (reflect.answer.breaks), as the session the question names; None when the question names
    no break or the session dates show none."""
    m = find_break(text, others)
    if m is None:
        return None
    chosen = session_before_break([s for s in sessions if s.date <= today], m.group("season"))
    if chosen is None:
        return None
    words = f"{' '.join(m.group(0).split())} ({_day(chosen.date)})"
    return _cut(text, m), None, None, frozenset({chosen.id}), words


def _nearest_session_if_none(
    since: dt.date, until: dt.date, ordered: Sequence[SessionDate], *, reach: int
) -> tuple[dt.date, dt.date]:
    """ "About a month ago" is approximate: when no session falls in the week around it,
    the session nearest to that week is the one meant (both, when two are as near), if it
    is within `reach` days of it (half of how far back the phrase points: "a couple of weeks
    ago" is not a session seven weeks back)."""
    if not ordered or any(since <= s.date <= until for s in ordered):
        return since, until

    def distance(day: dt.date) -> int:
        return (since - day).days if day < since else (day - until).days

    nearest = min(distance(s.date) for s in ordered)
    if nearest > reach:
        return since, until
    days = [s.date for s in ordered if distance(s.date) == nearest]
    return min(days), max(days)


def _part_of_month(part: str, first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """Days 1-10, 11-20 or 21 to the end, each widened by three days on the open sides: a
    person's "mid-April" for a session on the 8th or the 22nd is still mid-April to them."""
    slack = dt.timedelta(days=3)
    if part in ("early", "start", "beginning"):
        return first, min(last, first + dt.timedelta(days=9) + slack)
    if part in ("mid", "middle"):
        middle = first + dt.timedelta(days=10)
        return middle - slack, min(last, middle + dt.timedelta(days=9) + slack)
    return max(first, first + dt.timedelta(days=20) - slack), last


def _is_may_the_verb(text: str, m: re.Match[str]) -> bool:
    """ "may" is a month only in "in May", "May 2025", "since May": not in "I may try"."""
    word = m.group(0).strip().lower()
    if word != "may":
        return False
    before = text[: m.start()].rstrip().lower()
    return not before.endswith(("in", "during", "since", "until", "of", "from", "before", "after"))


def _cut(text: str, m: re.Match[str]) -> str:
    return " ".join((text[: m.start()] + " " + text[m.end() :]).split())


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%B}"


# ---- kind and topic ------------------------------------------------------------------------


def _kind_of(text: str) -> Kind:
    if _WHEN_THAT.search(text):
        return "when"
    if _COUNT.search(text) and not _HOW_OFTEN_I_DID.search(text):
        return "count"
    m = _FIRST_LAST.search(text)
    if m:
        word = next(g for g in m.groups() if g).lower()
        return "last" if word == "last" else "first"
    if _AGREEMENTS.search(text):
        return "agreements"
    if _RECAP.search(text) and (
        not content_stems(_strip_kind(text, "recap")) or _recap_where(text) is not None
    ):
        return "recap"
    if _OUTCOME.search(text) or _OUTCOME_ANY.search(text) or _SPOKE_TO_SOMEONE.search(text):
        return "outcome"
    return "recall"


def _strip_kind(text: str, kind: Kind) -> str:
    """The question without the words that made it its kind."""
    if kind == "recap":
        where = _recap_where(text)
        if where is not None:
            return where
        text = _RECAP.sub(" ", text)
    elif kind == "agreements":
        text = _AGREEMENTS.sub(" ", text)
        text = re.sub(r"\bwhat\s+(?:was|is|were|are)(?:\s+(?:my|our))?\b", " ", text, flags=re.I)
        text = re.sub(r"\b(?:i(?:'d|’d)?\s+)?(?:try|do|to)\b", " ", text, flags=re.IGNORECASE)
    elif kind == "count":
        text = _COUNT.sub(" ", text)
    elif kind in ("first", "last"):
        text = re.sub(
            r"\bwhen\s+(?:did|was|have|has)\b|\b(?:the\s+)?(?:first|last)\b(?:\s+time\b)?"
            r"|\b(?:start|begin)\b",
            " ",
            text,
            flags=re.IGNORECASE,
        )
    elif kind == "outcome":
        text = _OUTCOME_LEAD.sub("", text)
        text = re.sub(r"^(?:and\s+|so\s+|but\s+)?(?:did|has|have|had)\s+", "", text, flags=re.I)
        text = re.sub(
            r"^(?:and\s+|so\s+|but\s+)?(?:did|has|have|had|was|were)\s+",
            "",
            text,
            flags=re.IGNORECASE,
        )
    elif kind == "when":
        text = _WHEN_THAT.sub(" ", text)
    text = re.sub(
        r"\b(?:come|came|comes|been)\s+up\b|\bbrought\s+up\b|\bhas\b|\bhave\b|\bdid\b",
        " ",
        text,
        flags=re.IGNORECASE,
    )
    return " ".join(text.split())


def _recap_where(text: str) -> str | None:
    """What picks out the session of a recap question ("the session where I told you the
    date Mum was coming home" -> "the date Mum was coming home"), or None. Only after the
    words that ask for a recap: "what did we cover the week Nell started crawling?"."""
    recap = _RECAP.search(text)
    if recap is None:
        return None
    where = _SESSION_WHERE.search(text, recap.end())
    if where is None:
        return None
    moment = understand(text[where.end() :]).content.strip(" ?.!,")
    return moment if content_stems(moment) else None


def _topic(text: str, kind: Kind, understood: Understood) -> str:
    if kind == "recall":
        # Framing, quotes and roles as search reads them (text here is without time words).
        return understand(text).content if text else understood.content
    rest = _strip_kind(text, kind)
    rest = strip_framing(rest, roles=kind != "outcome") if rest else rest
    rest = re.sub(r"\b(?:in|from|at)\s+the\s+session\b", " ", rest, flags=re.IGNORECASE)
    rest = re.sub(r"^(?:the\s+)?(?:sessions?|times?)\b\s*", "", rest, flags=re.IGNORECASE)
    rest = re.sub(r"^(?:did|do|have|had)?\s*(?:we|i|you)\b\s*", "", rest, flags=re.IGNORECASE)
    rest = re.sub(r"^(?:was|were|is|are)\s+", "", rest, flags=re.IGNORECASE)  # "...was Hattie in"
    # "what did we decide at the end of the last session?": where in it, not a subject
    rest = re.sub(
        r"^(?:at|towards?|near)\s+the\s+(?:very\s+)?(?:end|start|beginning)\b(?:\s+of)?\s*",
        "",
        rest,
        flags=re.IGNORECASE,
    )
    rest = re.sub(
        r"\b(?:talk(?:ed)?|spoke|speak|hear|heard)\s+about\b|^(?:i\s+|we\s+)?(?:mention(?:ed)?|"
        r"say|said|bring\s+up|brought\s+up|discuss(?:ed)?|raise[sd]?)\b|^(?:about|of|on)\b",
        " ",
        rest,
        flags=re.IGNORECASE,
    )
    rest = " ".join(rest.split()).strip(" ?,.!")
    rest = re.sub(r"\s+(?:in|on|at|about|of|up|for|to|with)$", "", rest).strip(" ?,.!")
    if kind in ("agreements", "recap") and not content_stems(rest):
        return ""  # "my homework after the first session": the session is the whole subject
    return rest


def says_nothing_of_its_own(text: str) -> bool:
    """No subject beyond the words that ask when, how often, whether it started...:
    "when do I start?" is about whatever the conversation was about."""
    return not content_stems(_KIND_WORDS.sub(" ", text))


def _leans_on_conversation(text: str, topic: str) -> bool:
    """A follow-up: it refers back ("it", "that", "she", "and what about...") and says little
    of its own (at most one content word once the pronouns are gone); or it places itself at
    the last moment ("how did I sleep that night?", "what did she say afterwards?"); or it is
    a short question with no subject at all ("when do I start?" right after the new job,
    "what do I need to get?")."""
    if _WHEN_VERB.search(text):
        return True
    if _AFTER_THAT.search(text) or _AT_THAT_TIME.search(text):
        # "how was I sleeping after that?"; not a question of its own that happens to say
        # "afterwards" ("what did Mum and I argue about at the funeral afterwards?").
        rest = _AT_THAT_TIME.sub(" ", _AFTER_THAT.sub(" ", topic))
        return len(content_stems(_PRONOUNS.sub(" ", rest)) - OUTCOME_VERBS) <= 2
    if not _REFERS_BACK.search(text):
        return len(text.split()) <= 6 and (
            says_nothing_of_its_own(topic) or not content_stems(topic) - _PLAIN_VERBS
        )
    # Words that ask ("who did I try it on first?", "did he come round in the end?") are not
    # a subject of the question's own.
    own = content_stems(_PRONOUNS.sub(" ", _LEADS.sub("", topic)))
    return len(own - OUTCOME_VERBS) <= 1


# "when do I move in?", "when does she start?": a day asked of a verb alone, whose what is
# the conversation's (a question with a what of its own is new: "when did I mention Gran?").
_WHEN_VERB = re.compile(
    r"^(?:and\s+|so\s+)?when\s+(?:do|does|did|will|was|is|am)\s+(?:i|we|she|he|they)\s+"
    r"(?:actually\s+|finally\s+)?\w+(?:\s+(?:in|out|up|off|back|over|there|again|home|it))?\s*\??$",
    re.IGNORECASE,
)
# Verbs that say nothing of what about: "what do I need to get?", "what do I have to bring?".
_PLAIN = (
    "need needed get got do did have bring brought take took make made go went want "
    "start started happen happened mean meant know knew pay paid find found"
)
_PLAIN_VERBS = frozenset(stem(w) for w in _PLAIN.split(" "))
# How a question asks, before what it asks about: "what did (she) end up doing to help" is
# about "end up doing to help".
_WH_ASKING = re.compile(
    r"^(?:what|who|whom|how|why|where|which)(?:['’]s|\s+(?:did|do|does|was|is|were|are|has|"
    r"have|had|will|would|should))?(?:\s+(?:i|we|you|she|he|they))?\b\s*",
    re.IGNORECASE,
)
_THING = re.compile(r"\b(?:it|that|this|those|these|them|one|the\s+same)\b", re.IGNORECASE)


def _complete_from(asked: AskedQuestion, previous: PreviousTurn) -> AskedQuestion:
    before = previous.question
    text = asked.text
    # "after that", "that night": when, not what; read below as the last moment's time.
    after_that = _AFTER_THAT.search(text) is not None
    at_that_time = _AT_THAT_TIME.search(text) is not None
    own_text = _AT_THAT_TIME.sub(" ", _AFTER_THAT.sub(" ", asked.topic))
    refers_to_thing = _THING.search(own_text) is not None
    own = " ".join(_PRONOUNS.sub(" ", _LEADS.sub("", own_text)).split()).strip(" ?,.")
    # "when did I stop doing it?": "stop doing" is what it adds; "when did I" asks for the
    # moment, which the answer's date gives.
    own = _WH_ASKING.sub("", _ASKS_WHEN.sub("", own).strip()).strip()
    own = re.sub(r"^(?:did|do|does|was|is|were|will)\s+", "", own, flags=re.IGNORECASE)
    own_words = content_stems(own)
    kind: Kind = asked.kind
    if kind == "outcome" and not own_words - OUTCOME_VERBS:
        # "did I keep it up?": "keep" asks what happened; it is not part of what "it" is.
        own, own_words = "", set()
    # "did he come round in the end?": "he" is the person named last ("Graham"), not all the
    # words of the last question; "what about weekends?": the new word leads, the old topic
    # keeps it in context.
    person = None if refers_to_thing or not own_words else _person_meant(text, previous.people)
    if person is not None:
        topic = f"{own} {person}"
    elif own_words and (after_that or at_that_time):
        topic = own  # "how was I sleeping after that?": the time gives the context
    else:
        topic = f"{own} {before.topic}".strip() if own_words else before.topic
    if kind == "outcome" and not own_words and previous.plans:
        # "Did I keep it?" after an answer that cited a suggestion: "it" is what was
        # suggested, not the whole topic of the question before ("sleep").
        topic = _plan_meant(previous.plans, before)
    # "and in March?" after "how often...?" asks the same again; "what's she going there
    # for?" after "when did she first...?" asks what was said.
    if (
        kind == "recall"
        and not own_words
        and before.kind in ("first", "last", "count")
        and not _ASKS_WHAT.search(text)
    ):
        kind = before.kind
    # "when do I start?", "when did he move in?", "when did she come?": the day of something
    # the conversation is about, not the first time it came up.
    when_words = ""
    if _ASKS_DAY.search(text) and not _WHEN_TOLD.search(text) and kind in ("recall", "first"):
        # "when did I start there?" was read as the first time; its words are the question's.
        said = own if kind == "recall" else _day_words(text)
        kind = "when"
        if content_stems(said):
            when_words = said
            topic = f"{said} {before.topic}".strip()
    # The time the last question named carries over ("and what about weekends?" is still
    # "in March"), except to an outcome: what happened is told *after* it came up, so "did I
    # keep it up?" looks after the moment the last answer cited, not inside its window; and
    # except to a "when", which asks for a day wherever it is.
    timed = asked.since or asked.until or asked.session_ids or kind in ("outcome", "when")
    completed = replace(
        asked,
        kind=kind,
        topic=topic,
        followup=True,
        since=asked.since if timed else before.since,
        until=asked.until if timed else before.until,
        session_ids=asked.session_ids if timed else before.session_ids,
        time_words=asked.time_words if timed else before.time_words,
        when_words=when_words,
        context=_context_of(previous),
    )
    who = _person_meant(text, previous.people)
    if (
        who is not None
        and asked.understood.speaker == "other"
        and (asked.understood.speaker_words or "").lower() in ("she", "he", "they")
    ):
        # "what did she say afterwards?" after Mum was named: Mum's words, which the user
        # reports, not the other person of the sessions.
        if who.lower() not in completed.topic.lower():
            completed = replace(completed, topic=f"{completed.topic} {who}".strip())
        completed = replace(
            completed, understood=replace(asked.understood, speaker=None, speaker_words=None)
        )
    if (after_that or at_that_time) and previous.cited is not None and not asked.time_words:
        completed = _at_last_moment(completed, previous, after=after_that)
    if kind == "outcome" and previous.cited is not None:
        completed = replace(completed, refers_to=previous.cited)
    reply = _ASKS_REPLY.search(text)
    if reply is not None and kind == "recall" and previous.cited is not None:
        completed = replace(
            completed,
            reply="did" if reply.group("did") else "said",
            reply_by=tuple(
                w
                for w in (
                    *(m.group(0).lower() for m in _SHE_HE_THEY.finditer(reply.group(0))),
                    _person_meant(text, previous.people),
                )
                if w
            ),
            refers_to=previous.cited,
        )
    if kind == "when":
        completed = replace(
            completed,
            refers_to_date=previous.cited_date,
            refers_to_session=previous.cited_session,
            refers_to=previous.cited,
        )
    if (
        asked.understood.speaker is None
        and before.understood.speaker is not None
        and not own
        # What became of it is the user's to tell, whoever said it first ("what did Helen
        # say about guilt?" then "did that stick with me?").
        and kind != "outcome"
    ):
        completed = replace(
            completed,
            understood=replace(
                asked.understood,
                speaker=before.understood.speaker,
                speaker_words=before.understood.speaker_words,
            ),
        )
    return completed


# What someone said back, or what the user did then, at the moment the last answer cited:
# "what did she say?", "and what did she say when she finally got it?", "how did he take
# it?"; "what did I do when he said it?", "and what did I do after she said that?". Not
# "what did she say about that?": her words on the subject, wherever (she may be the
# counsellor, whose words the user does not report).
_SHE_HE_THEY = re.compile(r"\b(?:she|he|they)\b", re.IGNORECASE)
_ASKS_REPLY = re.compile(
    r"^(?:and\s+|so\s+|but\s+)?(?:"
    r"(?:what\s+did\s+(?P<who>she|he|they)\s+(?:say|tell\s+(?:me|you)|reply|answer)|"
    r"how\s+did\s+(?P<pronoun>she|he|they)\s+take\s+(?:it|that))\b(?:\s+(?:to\s+(?:that|it|me)|"
    r"back|then|when\b.*|after\b.*))?"
    r"|(?P<did>what\s+did\s+i\s+(?:do|say)\s+(?:when|after|once)\s+(?:she|he|they)\s+"
    r"(?:said|told\s+me|did)\s+(?:it|that|this)))\s*[?.!]*$",
    re.IGNORECASE,
)


def _day_words(text: str) -> str:
    """What a "when ...?" asks the day of: "when did I start going again?" -> "start going"."""
    rest = _ASKS_DAY.sub("", text)
    rest = re.sub(r"^\s*(?:i|we|you|she|he|they)\b", "", rest, flags=re.IGNORECASE)
    rest = _PRONOUNS.sub(" ", rest)
    rest = re.sub(r"\b(?:again|actually|really|ever|finally)\b", " ", rest, flags=re.IGNORECASE)
    return " ".join(rest.split()).strip(" ?,.!")


def _context_of(previous: PreviousTurn) -> tuple[Hit, ...]:
    """The excerpts the last answer cited, the one it pointed at first."""
    first = () if previous.cited is None else (previous.cited,)
    return (*first, *(h for h in previous.cited_all if h is not previous.cited))


# "when did he move in?", "when do I start?", "what day did she come?"
_ASKS_DAY = re.compile(
    r"^(?:and\s+|so\s+)?(?:when|what\s+day|what\s+date)\s+(?:did|do|does|was|is|were|will)\b"
    r"(?!.*\b(?:first|last)\b)",
    re.IGNORECASE,
)


def _at_last_moment(asked: AskedQuestion, previous: PreviousTurn, *, after: bool) -> AskedQuestion:
    """ "after that": from the day of the moment the last answer cited on (that day
    included: what followed may be told in the same session); "that night", "by then": the
    session that told it."""
    day, session = previous.cited_date, previous.cited_session
    if day is None or session is None:
        return asked
    if after:
        return replace(
            asked, since=day, until=None, session_ids=None, time_words=f"after {_day(day)}"
        )
    return replace(
        asked,
        since=None,
        until=None,
        session_ids=frozenset({session}),
        time_words=f"then ({_day(day)})",
    )


def _plan_meant(plans: Sequence[str], before: AskedQuestion) -> str:
    """The plan a follow-up means: the first that shares a word with the topic asked about
    before, else the first ("what did we say about my nights?" cited "would you keep a sleep
    diary?": "it" is the diary). After a question about what was agreed on a named subject,
    a plan about something else is not it: the subject is ("what did I say I'd do about my
    hours?" cited "would you bring it up then?": "did I do it?" is about the hours)."""
    words = content_stems(before.topic)
    agreed_on = before.topic if before.kind == "agreements" and words else plans[0]
    return next((p for p in plans if content_stems(p) & words), agreed_on)
