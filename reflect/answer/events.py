"""When did it happen? Placing an event a question names ("before the wedding", "since the
funeral", "after my interview") from what the sessions say about it.

An event's day is read from three kinds of clue, each from one sentence that names it:

- a date said with it, resolved against the day of the session it was said in ("the wedding's
  on the 14th of March", "the funeral's next Tuesday, the seventh", "he moved in on the
  Thursday");
- a sentence that tells it as past ("the wedding was lovely", "she danced at the wedding",
  "since the funeral", "how did the interview go?"): it happened on or before that session;
- a sentence that tells it as ahead ("the hearing is coming up", "I'm going to cry at the
  wedding", "she's getting married"): it happens on or after that session.

Every clue is a range of days; the event's date is where all of them meet: a day, or a range
between two sessions. Clues that don't meet (a date moved, two weddings, a sentence misread)
give nothing, and so does a date with only one side bounded: the question is then searched
as words, as it would be without this. Why so strict: a wrong date filter hides the answer,
which is worse than no filter (a rule reading tense from any verb in the sentence put a
wedding a month early; bench/README.md, #17).

Deliberately narrow patterns, each tested on invented transcripts: nothing here is a
general parser of English, and a sentence no pattern reads gives no clue.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from reflect.dates import MONTH_PATTERN, MONTHS
from reflect.words import content_stems

__all__ = [
    "Clue",
    "Dated",
    "EventDate",
    "EventMention",
    "date_of_event",
    "day_ahead",
    "day_told",
    "event_window",
    "find_event_mention",
    "place_event",
    "says_day_number",
    "sessions_naming",
]

Side = Literal["before", "after"]
# "moved": the event was put off, brought forward or cancelled; any date said of it may be old.
ClueKind = Literal["date", "past", "ahead", "moved"]


class DatedText(Protocol):
    """A session as read here: its id, day and text (reflect.session.Session is one)."""

    @property
    def id(self) -> str: ...
    @property
    def date(self) -> dt.date: ...
    @property
    def text(self) -> str: ...


class Dated(Protocol):
    """A session as the question reader knows it: its id and day."""

    @property
    def id(self) -> str: ...
    @property
    def date(self) -> dt.date: ...


@dataclass(frozen=True, slots=True)
class Clue:
    """What one sentence of one session says about when the event was: within first..last
    (None: unbounded on that side)."""

    session_id: str
    session_date: dt.date
    sentence: str
    kind: ClueKind
    first: dt.date | None
    last: dt.date | None


@dataclass(frozen=True, slots=True)
class EventDate:
    """When the event was: on `first` when first == last, else some day between them."""

    event: str
    first: dt.date
    last: dt.date
    clues: tuple[Clue, ...]

    @property
    def is_day(self) -> bool:
        return self.first == self.last

    def describe(self) -> str:
        """ "14 March", or "between 19 March and 2 April"."""
        if self.is_day:
            return _day(self.first)
        return f"between {_day(self.first)} and {_day(self.last)}"


@dataclass(frozen=True, slots=True)
class EventMention:
    """ "before the wedding" in a question: where it is, which side, and the event."""

    start: int
    end: int
    side: Side
    words: str  # as typed: "before the wedding"
    event: str  # "the wedding"; "Dad's move" for "before Dad moved"
    # "the last session before the wedding": the one session next to the event on its side.
    one_session: bool = False

    @property
    def named(self) -> str:
        """The event in the question's words: "the wedding", "Gran died"."""
        return re.sub(
            r"^.*?\b(?:before|until|till|up\s+to|prior\s+to|in\s+the\s+run-up\s+to|leading\s+up\s+to|"
            r"after|since|following)\s+",
            "",
            self.words,
            flags=re.IGNORECASE,
        )


# ---- the question ----------------------------------------------------------------------------

_SIDES = {
    "before": "before",
    "until": "before",
    "till": "before",
    "up to": "before",
    "prior to": "before",
    "in the run-up to": "before",
    "leading up to": "before",
    "after": "after",
    "since": "after",
    "following": "after",
}
_DETERMINER = r"(?:the|my|our|his|her|their|[a-z]+(?:'s|’s))"
_QUESTION_EVENT = re.compile(
    r"\b(?:right\s+|just\s+|straight\s+|not\s+long\s+)?(?P<side>before|until|till|up\s+to|prior\s+to|"
    r"in\s+the\s+run-up\s+to|leading\s+up\s+to|after|since|following)\s+"
    rf"(?P<event>{_DETERMINER}\s+(?:[a-z]+(?:'s|’s)\s+)?(?:[a-z-]+\s+)?[a-z-]+?)"
    r"(?=\s*(?:[?.!,;]|$|\s+(?:about|with|when|where|what|and|or|in|on|at|to|that|did|was|i|we|"
    r"you|he|she|they)\b))",
    re.IGNORECASE,
)
# Heads that name a session or a stretch of time, which the question reader places itself
# ("after the first session", "since last week"), or that point back ("after that one").
_NOT_EVENTS = frozenset(
    "session sessions appointment appointments time times week weeks month months year years "  # noqa: SIM905
    "day days weekend weekends morning mornings night nights evening evenings afternoon one "
    "ones bit start end beginning first last next other same rest lot summer winter spring "
    "autumn went left came got christmas".split()
)


# "before Dad moved", "since Gran died", "after my sister got married": an event told as a
# clause, for the few events the sessions' own words are read for (`_FORMS`).
_CLAUSE_NOUNS = {
    "moved": "move",
    "moved in": "move",
    "moved out": "move",
    "moved house": "move",
    "died": "death",
    "passed away": "death",
    "passed": "death",
    "got married": "wedding",
}
_QUESTION_CLAUSE = re.compile(
    r"\b(?:right\s+|just\s+|straight\s+|not\s+long\s+)?(?P<side>before|until|till|after|since)\s+"
    r"(?P<who>(?:my\s+)?[a-z]+)\s+(?P<verb>moved(?:\s+(?:in|out|house))?|died|passed(?:\s+away)?|"
    r"got\s+married)\b",
    re.IGNORECASE,
)
# "the last session before the wedding", "the session after Dad moved in", "the first time I
# saw you after the funeral": one session, the closest on that side.
_ONE_SESSION = re.compile(
    r"\b(?:(?:in|at|during|from|on)\s+)?(?:the|our|my)\s+(?:(?:very\s+)?(?:last|first|next)\s+)?"
    r"(?:session|appointment|time\s+(?:i|we)\s+(?:saw|met|spoke\s+to|talked\s+to)\s+you)\s*$",
    re.IGNORECASE,
)
# "before my last day", "since her first day": a day of its own.
_LAST_DAY = re.compile(r"\b(?:my|his|her|their|our)\s+(?:last|first)\s+day$", re.IGNORECASE)
_PRONOUNS = frozenset(["i", "we", "she", "he", "they"])


def find_event_mention(text: str) -> EventMention | None:
    """ "before the wedding", "since Gran's funeral", "after my interview", "before Dad
    moved", "the last session before the wedding" in a question."""
    found: list[EventMention] = []
    # A clause first: "before my dad moved" is Dad's move, not an event called "dad moved".
    for m in _QUESTION_CLAUSE.finditer(text):
        who = re.sub(r"^my\s+", "", m.group("who").lower())
        noun = _CLAUSE_NOUNS[" ".join(m.group("verb").lower().split())]
        found.append(_mention(text, m, f"the {noun}" if who in _PRONOUNS else f"{who}'s {noun}"))
    for m in _QUESTION_EVENT.finditer(text):
        event = " ".join(m.group("event").split())
        head = event.split()[-1].lower()
        if (head in _NOT_EVENTS and not _LAST_DAY.search(event)) or len(head) < 3:
            continue
        found.append(_mention(text, m, event))
    return min(found, key=lambda e: e.start, default=None)


def _mention(text: str, m: re.Match[str], event: str) -> EventMention:
    side: Side = (
        "before" if _SIDES[" ".join(m.group("side").lower().split())] == "before" else "after"
    )
    session = _ONE_SESSION.search(text[: m.start()])
    if session is not None:
        return EventMention(
            session.start(),
            m.end(),
            side,
            text[session.start() : m.end()].strip(),
            event,
            one_session=True,
        )
    return EventMention(m.start(), m.end(), side, m.group(0).strip(), event)


def event_window(
    side: Side, when: EventDate, today: dt.date
) -> tuple[dt.date | None, dt.date | None]:
    """(since, until) of the sessions before or after the event. Where only a range is known,
    the window takes every session that may be on the asked side: a session that may be
    on the wrong side dilutes the answer, a session left out hides it."""
    if side == "before":
        return None, when.last - dt.timedelta(days=1)
    return when.first, today


def place_event(
    text: str,
    today: dt.date,
    sessions: Sequence[Dated],
    date_of: Callable[[str], EventDate | None],
    *,
    timed: bool = False,
) -> tuple[str, dt.date | None, dt.date | None, frozenset[str] | None, str] | None:
    """The question without its event words, the window (since, until) or the one session
    they give, and the words to show ("before the wedding (14 March)"); None when it names no
    event or its date isn't known. `timed`: other time words already placed the question;
    only "the last session before the wedding" (read there as the last session) overrides."""
    mention = find_event_mention(text)
    if mention is None or (timed and not mention.one_session):
        return None
    when = date_of(mention.event)
    if when is None:
        return None
    since, until = event_window(mention.side, when, today)
    session_ids = None
    chosen = _session_next_to(mention.side, when, sessions) if mention.one_session else None
    if mention.one_session:
        if chosen is None:
            return None
        since = until = None
        session_ids = frozenset({chosen.id})
    rest = " ".join((text[: mention.start] + " " + text[mention.end :]).split())
    rest = re.sub(r"\s+([?.!,])", r"\1", rest)
    if not content_stems(rest) and not mention.one_session:
        # "what did I say before my interview?" asks about the interview, before it.
        rest = f"{rest.rstrip(' ?.!')} about {mention.named}?"
    words = f"{mention.words} ({when.describe()})"
    if chosen is not None:
        words += f", on {_day(chosen.date)}"
    return rest, since, until, session_ids, words


def _session_next_to(side: Side, when: EventDate, sessions: Sequence[Dated]) -> Dated | None:
    """The last session before the event, or the first after it; None where a session falls
    where the event may be (on its day, or inside its range: before or after it?)."""
    if any(when.first <= s.date <= when.last for s in sessions) and not _bounded_by_sessions(
        when, sessions
    ):
        return None
    if side == "before":
        earlier = [s for s in sessions if s.date <= when.first and s.date < when.last]
        return max(earlier, key=lambda s: (s.date, s.id), default=None)
    later = [s for s in sessions if s.date >= when.last and s.date > when.first]
    return min(later, key=lambda s: (s.date, s.id), default=None)


def _bounded_by_sessions(when: EventDate, sessions: Sequence[Dated]) -> bool:
    """The event fell between two sessions (told as ahead in one, as past in the next), with
    no session between them."""
    ahead = any(c.kind == "ahead" and c.session_date == when.first for c in when.clues)
    past = any(c.kind == "past" and c.session_date == when.last for c in when.clues)
    inside = [s for s in sessions if when.first < s.date < when.last]
    return ahead and past and not inside


# ---- the sessions ----------------------------------------------------------------------------

# Other ways the sessions name some events: "Dad moves in on the 22nd" is the move, "she's
# getting married in March" the wedding, "she died on Tuesday" the death.
_FORMS: dict[str, str] = {
    "move": r"move|(?:moves|moved)(?=\s+(?:in|into|out|to|house|home))"
    r"|moving(?=\s+(?:in|into|out|day|house|home))",
    "wedding": r"wedding|(?:getting|get|got|gets)\s+married",
    "death": r"death|died|passed\s+away",
    "interview": r"interview",
    "funeral": r"funeral",
    "fall": r"fall|fell(?!\s+(?:asleep|out|apart|for|behind|through|in\s+love|off|over))",
}
_DETERMINERS = frozenset(
    ["the", "my", "our", "his", "her", "their", "your", "a", "an", "that", "this"]
)
_PRONOUN_SUBJECTS = frozenset(["she", "he", "they", "it"])
# "someone's wedding" names no one: it is not another person's event.
# "she's getting married" is a contraction, not an owner.
_NOT_OWNERS = frozenset(
    "someone somebody anyone anybody everyone everybody one people she he it that there what "  # noqa: SIM905
    "who here let where how this everything nothing something".split()
)

_WEEKDAYS = {
    d: i
    for i, d in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}
_UNITS = (  # noqa: SIM905
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth"
).split()
_ORDINAL_WORDS = {w: i for i, w in enumerate(_UNITS, start=1)}
_ORDINAL_WORDS["twentieth"] = 20
_ORDINAL_WORDS["thirtieth"] = 30
for _i, _w in enumerate(_UNITS[:9], start=1):
    _ORDINAL_WORDS[f"twenty-{_w}"] = 20 + _i
    _ORDINAL_WORDS[f"twenty {_w}"] = 20 + _i
_ORDINAL_WORDS["thirty-first"] = _ORDINAL_WORDS["thirty first"] = 31

_MONTH_RE = MONTH_PATTERN
_WEEKDAY_RE = "|".join(_WEEKDAYS)
_ORD_RE = "|".join(sorted((re.escape(w) for w in _ORDINAL_WORDS), key=len, reverse=True))
_DAY_RE = rf"(?:(?P<num>[12]?\d|3[01])(?:st|nd|rd|th)?|(?P<word>{_ORD_RE}))"
_DAY_NUM_ORD = rf"(?:(?P<onum>[12]?\d|3[01])(?:st|nd|rd|th)|(?P<oword>{_ORD_RE}))"

_ANY_DAY = rf"(?:(?:[12]?\d|3[01])(?:st|nd|rd|th)|{_ORD_RE})"

# Each date pattern names its parts; `_resolve` turns a match into a range of days.
_DATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(p, re.IGNORECASE))
    for name, p in (
        # "the 14th of March", "14 March", "on the twenty-second of May"
        ("day_month", rf"\b(?:the\s+)?{_DAY_RE}\s+(?:of\s+)?(?P<month>{_MONTH_RE})\b\.?"),
        # "March 14th", "March, the fourteenth", "in March, the 14th"
        (
            "month_day",
            rf"\b(?P<month>{_MONTH_RE})\.?,?\s+(?:the\s+)?{_DAY_RE}(?!\s*(?:[:.]\d|minutes|hours|"
            r"years|people|times|\d))\b",
        ),
        # "on the 12th", "the seventh,": a day of a month said before or after
        (
            "day",
            rf"\b(?:on\s+)?the\s+{_DAY_NUM_ORD}(?=\s*(?:[,.;!?)]|$|\s+(?:at|in|and|then|so|but|"
            r"which|is|was)\b))",
        ),
        # "next Tuesday", "on Friday", "this Saturday", "last Friday", "on the Thursday"
        (
            "weekday",
            rf"\b(?:(?P<rel>next|this|last|coming|on|on\s+the|by)\s+)?(?P<wd>{_WEEKDAY_RE})\b"
            r"(?!\s+(?:stand-up|meeting|class|club|group|shift|list|routine)s?\b)"
            # A bare weekday only as "Friday the thirty-first", which the day of the month reads.
            rf"(?(rel)|(?=\s+the\s+{_ANY_DAY}))",
        ),
        ("yesterday", r"\byesterday\b|\blast\s+night\b"),
        ("today", r"\btoday\b|\bthis\s+(?:morning|afternoon|evening)\b|\btonight\b"),
        ("tomorrow", r"\btomorrow\b"),
        ("last_week", r"\blast\s+week\b"),
        ("next_week", r"\bnext\s+week\b"),
        # "in March" alone: the month, a loose bound
        ("month", rf"\b(?:in|during|end\s+of|start\s+of)\s+(?P<month>{_MONTH_RE})\b(?!\s+\d)"),
    )
)

# Tense around a mention. Past: the event told as done; ahead: told as to come. Only the
# words next to the event count: "Mum was on nights ... a sad speech at her wedding" says
# nothing of when the wedding is.
_MODALS = (
    r"(?:will|'ll|’ll|would|'d|’d|going\s+to|gonna|want\s+to|hope\s+to|plan\s+to"
    r"|need\s+to|have\s+to|got\s+to|could|should|might|may|can|must)"
)
_PAST_VERB = (
    r"(?:was|were|did|didn't|didn’t|had|hadn't|went|gave|said|told|cried|danced|drank|sang|"
    r"spoke|saw|met|got|felt|sat|stood|wore|made|took|came|left|ate|laughed|\w{3,}ed)"
)


@dataclass(frozen=True, slots=True)
class _Mention:
    start: int
    end: int
    owner: str | None  # "cousin" in "my cousin's wedding"; None for the/my/her...
    verb_form: bool  # "moved", "died", "getting married": a verb, not the noun
    modifier: str | None = None  # the word before the noun: "quarterly" in "the quarterly review"


def date_of_event(event: str, sessions: Iterable[DatedText]) -> EventDate | None:
    """When `event` ("the wedding", "Gran's funeral", "my interview") happened, from what
    `sessions` say about it; None when they don't say, or say things that don't agree."""
    head, owner = _head_and_owner(event)
    if not head:
        return None
    # "the quarterly review" is not "my review in December".
    named = re.findall(r"[a-z]+(?:['’]s)?", event.lower())
    modifier = named[-2] if len(named) > 1 and named[-2] not in _DETERMINERS else None
    if modifier and modifier.endswith(("'s", "’s")):
        modifier = None
    forms = _FORMS.get(head, re.escape(head))
    pattern = re.compile(rf"\b(?:{forms})\b", re.IGNORECASE)
    clues: list[Clue] = []
    owners: set[str] = set()
    for session in sorted(sessions, key=lambda s: (s.date, s.id)):
        for mention, sentence, at in _mentions(pattern, session.text, head, owner):
            if owner and mention.owner and mention.owner != owner:
                continue  # "my cousin's wedding" is not "my sister's wedding"
            if modifier and not mention.verb_form and mention.modifier != modifier:
                continue
            clue = _clue(session, sentence, at, mention)
            if clue is None:
                continue
            if mention.owner:
                owners.add(mention.owner)
            clues.append(clue)
    if not clues:
        return None
    if not owner and len(owners) > 1:
        return None  # "the wedding", told of two people's weddings: which one?
    return _agree(event, clues)


# The words the word index is asked for, per event with other forms (`_FORMS`).
_INDEX_WORDS = {
    "move": ("move", "moves", "moved", "moving"),
    "wedding": ("wedding", "married"),
    "death": ("death", "died", "passed"),
    "fall": ("fall", "fell"),
}
_S = TypeVar("_S", bound=Dated)


def sessions_naming(
    event: str,
    sessions: Sequence[_S],
    holding: Callable[[str, int], Iterable[str]],
    cap: int = 2000,
) -> list[_S]:
    """The sessions that name the event's words, as the word index finds them (`holding`:
    word, most passages -> the ids of the sessions of the passages that hold it), so a large
    vault's text is not read whole; all `sessions` when a word is in `cap` passages or more."""
    head, _ = _head_and_owner(event)
    ids: set[str] = set()
    for word in _INDEX_WORDS.get(head, (head,)):
        found = list(holding(word, cap))
        if len(found) >= cap:
            return list(sessions)
        ids.update(found)
    return [s for s in sessions if s.id in ids]


def _head_and_owner(event: str) -> tuple[str, str | None]:
    words = re.findall(r"[a-z]+(?:['’]s)?", event.lower())
    if not words:
        return "", None
    head = words[-1].rstrip("s") if words[-1].endswith(("'s", "’s")) else words[-1]
    if head in ("died", "passing"):
        head = "death"
    owner = next((re.sub(r"['’]s$", "", w) for w in words[:-1] if re.search(r"['’]s$", w)), None)
    return head, owner


def _mentions(
    pattern: re.Pattern[str], text: str, head: str, owner_asked: str | None = None
) -> Iterable[tuple[_Mention, str, int]]:
    """Each mention of the event, with its sentence and where in the sentence it is."""
    for m in pattern.finditer(text):
        start = max(text.rfind(c, 0, m.start()) for c in ".!?\n") + 1
        ends = [i for i in (text.find(c, m.end()) for c in ".!?\n") if i >= 0]
        end = min(ends) + 1 if ends else len(text)
        lead = text[max(start, m.start() - 40) : m.start()].lower().replace("’", "'")
        named = re.search(r"\b([a-z]+)'s\s+(?:[a-z]+\s+)?$", lead)
        owner = named.group(1) if named and named.group(1) not in _NOT_OWNERS else None
        verb_form = " ".join(m.group(0).lower().split()) != head
        article = re.search(
            r"\b(?:the|my|our|his|her|their|your|that|this|([a-z]+)'s)\s+(?:[a-z]+\s+)?$", lead
        )
        if not verb_form and (article is None or article.group(1) in _NOT_OWNERS):
            continue  # the noun of an event is named with its article: "the funeral"
        if verb_form and head in ("death", "fall"):
            # "she died", "Gran died", "he fell": whose it was is told by the subject; a named
            # other ("whose wife died") is someone else's.
            subject = re.findall(r"[a-z']+", lead)
            if not subject or subject[-1] not in _PRONOUN_SUBJECTS | {owner_asked}:
                continue
        before = re.findall(r"[a-z']+", lead)
        modifier = before[-1] if before else None
        yield (
            _Mention(m.start(), m.end(), owner, verb_form, modifier),
            text[start:end],
            m.start() - start,
        )


_MOVES = (
    r"(?:moved|postponed|cancell?ed|rescheduled|put\s+back|put\s+off|pushed\s+back|delayed|"
    r"called\s+off|brought\s+forward|changed)"
)
_MOVED_AFTER = re.compile(
    rf"^(?:'s|\s+(?:is|has|had|was|were|got|'s|'ve))?(?:\s+(?:been|got|now|just|already))*\s+{_MOVES}\b"
)
_MOVED_BEFORE = re.compile(rf"\b{_MOVES}\s+(?:the|her|his|my|our|their|[a-z]+'s)\s+(?:[a-z]+\s+)?$")


def _clue(session: DatedText, sentence: str, at: int, mention: _Mention) -> Clue | None:
    """What `sentence` (said in `session`, the event named at `at`) says about its date."""
    lower = sentence.lower().replace("’", "'")
    before_event = lower[:at]
    # "booked the 27th, after the move", "two weeks before the wedding": a date of something
    # else, placed by the event, not the event's date.
    relative = re.search(
        r"\b(?:before|after|since|until|till|by|for|about|because\s+of)\s+(?:the\s+|her\s+|his\s+|"
        r"my\s+|our\s+|their\s+|[a-z]+'s\s+)?(?:[a-z]+\s+)?$",
        before_event,
    )
    word_end = re.match(r"[a-z]+", lower[at:])
    after_event = lower[at + (word_end.end() if word_end else 0) :]
    if not mention.verb_form and (
        _MOVED_AFTER.match(after_event) or _MOVED_BEFORE.search(before_event)
    ):
        return Clue(session.id, session.date, sentence.strip(), "moved", None, None)
    tense = _tense(lower, at, mention)
    # A question proposes a date ("Is the wedding on the 14th?"); the answer may say another.
    asked = lower.rstrip().endswith("?")
    date = None if relative or asked else _date_near(lower, mention, at, session.date, tense)
    if date is not None:
        first, last = date
        return Clue(session.id, session.date, sentence.strip(), "date", first, last)
    if tense == "past":
        return Clue(session.id, session.date, sentence.strip(), "past", None, session.date)
    if tense == "ahead":
        return Clue(session.id, session.date, sentence.strip(), "ahead", session.date, None)
    return None


def _tense(lower: str, at: int, mention: _Mention) -> Literal["past", "ahead"] | None:
    """Whether the words next to the mention tell the event as done or as to come."""
    before = lower[:at]
    word_end = re.match(r"[a-z]+", lower[at:])
    after = lower[at + (word_end.end() if word_end else 0) :]
    if mention.verb_form:
        verb = re.match(r"[a-z' ]+", lower[at:])
        said = verb.group(0) if verb else ""
        if re.match(r"(?:moved|died|passed\s+away|got\s+married|fell)\b", said):
            return (
                "past" if not re.search(rf"{_MODALS}\s+(?:have\s+)?(?:\w+\s+)?$", before) else None
            )
        if re.match(r"(?:getting|get|gets)\s+married|moves|moving", said):
            # "she's getting married" is to come; "she was ... getting married" is told.
            if re.search(r"\b(?:was|were)\b", before[-60:]):
                return "past"
            return "ahead"
        return None
    past = (
        re.match(
            r"\s*(?:was|were|went|happened|'s\s+been|has\s+been|had\s+been|is\s+over|'s\s+over|"
            r"was\s+over|is\s+done)\b(?!\s+(?:going|supposed|meant|coming|due|planned|set|booked|"
            r"still|postponed|moved|cancelled|put\s+off))",
            after,
        )
        or re.search(r"\bsince\s+(?:the\s+\w+\s+(?:before|of|after)\s+)?\S+\s+(?:\S+\s+)?$", before)
        or re.search(r"\b(?:how|what)\s+(?:did|was)\s+\S+\s+(?:\S+\s+)?$", before)
        or re.search(r"\b(?:been|went)\s+to\s+\S+\s+(?:\S+\s+)?$", before)
        or (
            re.search(
                rf"\b{_PAST_VERB}\b(?:\s+\S+){{0,3}}\s+(?:at|during)\s+\S+\s+(?:\S+\s+)?$", before
            )
            and not re.search(
                rf"\b{_MODALS}\b(?:\s+\S+){{0,5}}\s+(?:at|during)\s+\S+\s+(?:\S+\s+)?$", before
            )
        )
    )
    if past:
        return "past"
    ahead = (
        re.match(
            r"\s*(?:is|'s|are)\s+(?:coming\s+up|on|next|this|tomorrow|soon|in\s+(?:a|two|three|"
            r"four|\d+)|only|just|getting\s+close|nearly|approaching|booked|set\s+for|planned)\b"
            r"|\s*(?:will|'ll)\s+be\b",
            after,
        )
        or re.search(
            r"\b(?:days|weeks|months|sleeps)\s+(?:until|till|to\s+go\s+(?:until|till|before)|before)"
            r"\s+\S+\s+(?:\S+\s+)?$",
            before,
        )
        or re.search(
            r"\b(?:going\s+to|gonna|will|'ll|have\s+to|need\s+to|got\s+to)\s+(?:\S+\s+){0,3}"
            r"(?:at|for|to)\s+\S+\s+(?:\S+\s+)?$",
            before,
        )
    )
    return "ahead" if ahead else None


# What may stand between the event's name and its date: "the funeral's next Tuesday", "the
# interview was on Tuesday", "the hearing is set for the 12th". Anything else ("the holiday,
# my last day is Friday") makes the date another thing's.
_LINK = re.compile(
    r"^(?:'s)?\s*(?:(?:is|was|were|are|will\s+be|'ll\s+be|'s|has\s+been|had\s+been|is\s+now)\s+)?"
    r"(?:(?:set|booked|planned|fixed|arranged|scheduled|happening|held)\s+(?:for\s+)?)?"
    r"(?:(?:early|late)\s+)?(?:on\s+|in\s+)?,?\s*$"
)
# A verb form ("Dad moves into Saltmarsh House on the 22nd"): a few words of its own, not
# past the start of another clause ("... on Tuesday, and they rang on Wednesday").
_CLAUSE = re.compile(r"[;:—–,]|\s-\s|\b(?:and|but|so|then|when|because|which|who)\b")


def _date_near(
    lower: str,
    mention: _Mention,
    at: int,
    session_day: dt.date,
    tense: Literal["past", "ahead"] | None,
) -> tuple[dt.date, dt.date] | None:
    """The date said of the event, right after its name, as a range of days: "next Tuesday,
    the seventh" is both read and must agree. None when there is none, or it can't be
    placed without guessing."""
    name_end = at + (re.match(r"[a-z]+(?:\s+married)?", lower[at:]) or re.match("", "")).end()  # type: ignore[union-attr]
    found = sorted(
        (m.start(), m.end(), name, m)
        for name, pattern in _DATE_PATTERNS
        for m in pattern.finditer(lower, name_end)
        if not (name == "day" and _inside_other(lower, m))
    )
    chain: list[tuple[str, re.Match[str]]] = []
    chain_end = None
    for start, end, name, m in found:
        if chain_end is None:
            gap = lower[name_end:start]
            if mention.verb_form:
                if len(gap.split()) > 6 or _CLAUSE.search(gap):
                    break
            elif not _LINK.match(gap):
                break
        elif start > chain_end and not re.fullmatch(r"[\s,]*", lower[chain_end:start]):
            break
        chain.append((name, m))
        chain_end = max(chain_end or end, end)
    if chain_end is not None and re.match(r"\s*,?\s*or\b", lower[chain_end:]):
        return None  # "the 14th, or the 15th": not sure which
    # "Sunday the sixth": the day of the month says which Sunday; the weekday checks it.
    weekdays = [m for name, m in chain if name == "weekday"]
    ranges: list[tuple[dt.date, dt.date]] = []
    for name, m in chain:
        if name == "weekday" and len(weekdays) < len(chain):
            continue
        resolved = _resolve(name, m, session_day, tense)
        if resolved is None:
            return None  # a date too vague to place: no clue rather than a guess
        ranges.append(resolved)
    if not ranges:
        return None
    first = max(r[0] for r in ranges)
    last = min(r[1] for r in ranges)
    if first > last:
        return None
    said_weekday = {_WEEKDAYS[w.group("wd")] for w in weekdays}
    if first == last and len(weekdays) < len(chain) and said_weekday - {first.weekday()}:
        return None
    return first, last


def _inside_other(lower: str, m: re.Match[str]) -> bool:
    """ "the fourteenth" that is part of "the fourteenth of March", read by another pattern."""
    return bool(re.match(rf"\s+(?:of\s+)?(?:{_MONTH_RE})\b", lower[m.end() :])) or bool(
        re.search(rf"(?:{_MONTH_RE})\.?,?\s+$", lower[: m.start()])
    )


def _resolve(
    name: str, m: re.Match[str], day: dt.date, tense: Literal["past", "ahead"] | None
) -> tuple[dt.date, dt.date] | None:
    one = dt.timedelta(days=1)
    if name in ("day_month", "month_day"):
        number = _day_number(m.group("num"), m.group("word"))
        d = _nearest(day, MONTHS[m.group("month").rstrip(".")], number)
        return (d, d) if d else None
    if name == "day":
        number = _day_number(m.group("onum"), m.group("oword"))
        d = _day_of_month(day, number, back=tense == "past")
        return (d, d) if d else None
    if name == "weekday":
        rel = " ".join((m.group("rel") or "on").split())
        wd = _WEEKDAYS[m.group("wd")]
        ahead_days = (wd - day.weekday() - 1) % 7 + 1  # 1..7 days on
        coming = day + dt.timedelta(days=ahead_days)
        previous = coming - dt.timedelta(days=7)
        if rel == "next":
            return coming, coming + dt.timedelta(days=7)  # "next Tuesday": this one or the next
        if rel == "last":
            return previous - dt.timedelta(days=7), previous
        if rel == "coming" or (rel == "this" and tense != "past"):
            return coming, coming
        if tense == "past":
            return previous, previous
        if tense == "ahead":
            return coming, coming
        return None
    if name == "yesterday":
        return day - one, day - one
    if name == "today":
        return day, day
    if name == "tomorrow":
        return day + one, day + one
    if name == "last_week":
        return day - dt.timedelta(days=13), day - one
    if name == "next_week":
        return day + one, day + dt.timedelta(days=13)
    if name == "month":
        month = MONTHS[m.group("month")]
        first = _nearest(day, month, 1)
        if first is None:
            return None
        following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return first, following - one
    return None


def _day_number(digits: str | None, word: str | None) -> int:
    if digits:
        return int(digits)
    return _ORDINAL_WORDS[" ".join((word or "").split())]


def _nearest(day: dt.date, month: int, number: int) -> dt.date | None:
    """The `number`th of `month` in the year that puts it nearest to `day`."""
    best = None
    for year in (day.year - 1, day.year, day.year + 1):
        try:
            d = dt.date(year, month, number)
        except ValueError:
            continue
        if best is None or abs((d - day).days) < abs((best - day).days):
            best = d
    return best


def _day_of_month(day: dt.date, number: int, *, back: bool) -> dt.date | None:
    """The next `number`th of a month from `day` on (or the last one before, `back`)."""
    year, month = day.year, day.month
    for _ in range(3):
        try:
            d = dt.date(year, month, number)
        except ValueError:
            d = None
        if d is not None and ((d <= day) if back else (d >= day)):
            return d
        if back:
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        else:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _agree(event: str, clues: Sequence[Clue]) -> EventDate | None:
    """Where every clue's range meets; None when they don't, or leave a side open."""
    if any(c.kind == "moved" for c in clues):
        return None  # "the hearing's been moved to the 20th": the 12th said before is old
    lows = [c.first for c in clues if c.first is not None]
    highs = [c.last for c in clues if c.last is not None]
    if not lows or not highs:
        return None
    first, last = max(lows), min(highs)
    if first > last:
        return None
    return EventDate(event, first, last, tuple(clues))


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%B}"


# ---- a day told in a passage -------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_AHEAD_WORDS = re.compile(rf"\b{_MODALS}\b|\b(?:is|are|'s)\s+(?:on|coming|due)\b")
_PAST_WORDS = re.compile(rf"\b{_PAST_VERB}\b")


def day_told(
    text: str, said_on: dt.date, words: set[str], *, before: bool = False
) -> tuple[dt.date, str] | None:
    """The day `text` (said on `said_on`) gives for what `words` (stems) name: "I start on
    the first of September" said on 15 July is 1 September; "When do you start?" "Monday the
    third of November." is 3 November. Read in the first sentence holding one of the words,
    or the two right after it (the reply to a question; "Work. So it's official. I go back on
    Monday the fifth."); None when none names one day (a range, "last Thursday" or a weekday
    alone is not placed). `before`: the sentence before it too, last ("She's ten on the
    ninth of June. Lorna's doing a party.")."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    for i, sentence in enumerate(sentences):
        if not content_stems(sentence) & words:
            continue
        for candidate in sentences[i : i + 3] + sentences[max(0, i - 1) : i] * before:
            day = _one_day(candidate.lower().replace("’", "'"), said_on)
            if day is not None:
                return day, candidate.strip()
    return None


def day_ahead(text: str, said_on: dt.date) -> dt.date | None:
    """The first date `text` says, read as a day to come from `said_on` ("Shall we say the
    seventeenth?" said on 3 November is 17 November; "see you on Thursday", the Thursday
    after): for words that book something ahead, whose tense the date words alone don't
    tell. The first date that is one day: "it's Easter next week, so shall we say Tuesday
    the fourteenth?" is the fourteenth. None when it names no one day."""
    lower = text.lower().replace("’", "'")
    starts = sorted({m.start() for _, pattern in _DATE_PATTERNS for m in pattern.finditer(lower)})
    for start in starts:
        day = _one_day(lower[start:], said_on, ahead=True)
        if day is not None:
            return day
    return None


_DAY_NUMBER = re.compile(rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?|{_ORD_RE})\b", re.IGNORECASE)


def says_day_number(sentence: str) -> bool:
    """Whether `sentence` gives a day of the month ("the eighteenth", "July 18th"), not a
    weekday alone."""
    return _DAY_NUMBER.search(sentence.replace("’", "'")) is not None


def _one_day(lower: str, said_on: dt.date, *, ahead: bool = False) -> dt.date | None:
    """The first date `lower` says, as one day, read against the day it was said: a chain of
    date words ("Monday the third of November") must agree with itself. `ahead`: it is a day
    to come, whatever the tense of the words."""
    found = sorted(
        (m.start(), m.end(), name, m)
        for name, pattern in _DATE_PATTERNS
        for m in pattern.finditer(lower)
        if not (name == "day" and _inside_other(lower, m))
    )
    if not found:
        return None if ahead else _weekday_told_as_past(lower, said_on)
    chain = [found[0]]
    for item in found[1:]:
        if item[0] >= chain[-1][1] and re.fullmatch(r"[\s,]*", lower[chain[-1][1] : item[0]]):
            chain.append(item)
        elif item[0] >= chain[-1][1]:
            break
    tense: Literal["past", "ahead"] | None = (
        "ahead"
        if ahead or _AHEAD_WORDS.search(lower)
        else "past"
        if _PAST_WORDS.search(lower)
        else None
    )
    named = [(name, m) for _, _, name, m in chain]
    weekdays = [m for name, m in named if name == "weekday"]
    ranges = [
        _resolve(name, m, said_on, tense)
        for name, m in named
        if not (name == "weekday" and len(weekdays) < len(named))
    ]
    if not ranges or any(r is None for r in ranges):
        return None
    first = max(r[0] for r in ranges if r is not None)
    last = min(r[1] for r in ranges if r is not None)
    if first != last:
        return None
    if len(weekdays) < len(named) and {_WEEKDAYS[w.group("wd")] for w in weekdays} - {
        first.weekday()
    }:
        return None
    return first


_BARE_WEEKDAY = re.compile(rf"\b(?P<wd>{_WEEKDAY_RE})\b(?!s)")


def _weekday_told_as_past(lower: str, said_on: dt.date) -> dt.date | None:
    """ "She came Friday, went home Monday", told as past and with no other date: the first
    weekday named is the last such day before the day it was said. Not when the sentence
    looks ahead ("I'll go Friday") or says nothing of when it happened."""
    m = _BARE_WEEKDAY.search(lower)
    if m is None or _AHEAD_WORDS.search(lower) or not _PAST_WORDS.search(lower):
        return None
    back = (said_on.weekday() - _WEEKDAYS[m.group("wd")] - 1) % 7 + 1  # 1..7 days before
    return said_on - dt.timedelta(days=back)
