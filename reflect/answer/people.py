"""Who is someone? "who is Lyle?", "who's my manager?", "who's the guy I go walking with?".

Answered with the moments that introduce the person: a name with the words that say who
they are around it ("Lyle, the camping dad", "my manager Gordon", "a nurse called Imogen",
"Hattie, that's my daughter"), and the first time the name came up, first mention first.
A question that names a role rather than a name ("my manager", "the guy I go walking with")
is answered by the name the sessions say with the role's words ("Hilary, my manager", "walk
with Lyle"); where they never name one, by the moments that speak of the role.

Rules over the words, each tested on invented transcripts: nothing here guesses who someone
is beyond what a sentence says next to their name.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reflect.session import Session
from reflect.words import DATE_WORDS, content_stems

__all__ = ["Said", "asks_who", "introductions", "is_a_name", "role_words", "said_with_role"]

_WHO = re.compile(
    r"^(?:and\s+|so\s+|but\s+|sorry,?\s+)?(?:remind\s+me,?\s+)?who(?:['’]s|\s+is|\s+was|\s+are|\s+were)"
    r"\s+(?P<who>.+?)(?:,?\s+again)?\s*[?.!]*$",
    re.IGNORECASE,
)
# Whose identity is asked: a name ("Lyle", "Dr Patel") or a person described ("my manager",
# "the guy I go walking with"); not a doing ("who's taking her room?") or a pronoun.
_DESCRIBED = re.compile(r"^(?:the|my|that|this|our|his|her|their|mum['’]s|dad['’]s)\s+\w", re.I)
_NAME_WORDS = re.compile(
    r"^(?:(?:Dr|Mr|Mrs|Ms|Miss|Auntie|Aunt|Uncle)\.?\s+)?[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?$"
)
_NOT_NAMES = frozenset(
    "I I'm I'd I'll I've It It's That That's This There What Who Yeah Yes No Okay Ok Oh Um Mm "  # noqa: SIM905
    "Hmm Right Well So And But Or If When Then Just Still Honestly Really Sorry Thanks Mum Dad "
    "Mom Gran Nan Christmas Easter Monday Tuesday Wednesday Thursday Friday Saturday Sunday "
    "January February March April May June July August September October November December "
    "God Good Great Fine Sure Maybe Anyway Not Never Nothing Everything Basically Apparently "
    "Obviously Actually Luckily Sadly Normally Usually Look Listen Because Although Also Plus "
    "Now Today Tonight Yesterday Tomorrow Last Next Sometimes Everyone Nobody Someone Home "
    "Work Besides Meanwhile Afterwards Later Anyhow Which Like".split()
)
_NOT_NAMES_LOWER = frozenset(w.lower() for w in _NOT_NAMES)
# Words for a person that say nothing of which one: "the GUY I go walking with" is "walk".
_PERSON = frozenset(
    content_stems(
        "guy guys man men woman women lady ladies bloke person people girl boy fella chap "
        "someone somebody one name called"
    )
)


def asks_who(text: str) -> str | None:
    """Whom "who is ...?" asks about, as typed ("Lyle", "my manager", "the guy I go walking
    with"); None when the question is not one."""
    m = _WHO.search(" ".join(text.split()))
    if m is None:
        return None
    who = m.group("who").strip(" ,")
    if is_a_name(who) or (_DESCRIBED.match(who) and role_words(who)):
        return who
    return None


def is_a_name(words: str) -> bool:
    return bool(_NAME_WORDS.match(words)) and words.split()[-1] not in _NOT_NAMES


def role_words(who: str) -> set[str]:
    """The stems that say which person a description means: "the guy I go walking with" ->
    {"walk"}; "my manager" -> {"manag"}."""
    return content_stems(who) - _PERSON


@dataclass(frozen=True, slots=True, eq=False)
class Said:
    """A sentence of a session: `session.text[a:b]`."""

    session: Session
    a: int
    b: int

    @property
    def text(self) -> str:
        return self.session.text[self.a : self.b]


_SENTENCE = re.compile(r"[^.!?\n]+[.!?\"”]*")
_DET = r"(?:the|my|our|a|an|his|her|their|this|that|your)"


def _introduces(name: str) -> re.Pattern[str]:
    n = re.escape(name)
    return re.compile(
        # "Lyle, the camping dad", "Hilary, my manager", "Hattie, that's my daughter"
        rf"\b{n}\b\s*(?:,|—|–|\s-)\s*(?:{_DET}|that['’]s|who['’]s|who|she['’]s|he['’]s)\s+\w"
        # "a nurse called Imogen", "this dad named Lyle"
        rf"|\b{_DET}\s+(?:[a-z-]+\s+){{0,3}}(?:called|named)\s+{n}\b"
        # "my manager Gordon", "my manager, Hilary", "our neighbour Bev"
        rf"|\b(?:my|our|his|her|their)\s+(?:[a-z-]+\s+){{0,2}}[a-z-]+,?\s+{n}\b"
        # "Lyle's the dad from...", "Hilary is my manager"
        rf"|\b{n}\s+(?:is|was|['’]s)\s+(?:{_DET}|one\s+of)\s+\w"
        # "One of them, Lyle, ..."
        rf"|\bone\s+of\s+(?:them|the\s+[a-z-]+|my\s+[a-z-]+),?\s+{n}\b",
        re.IGNORECASE,
    )


def _sentences(session: Session) -> Iterable[Said]:
    for m in _SENTENCE.finditer(session.text):
        if m.group(0).strip():
            a = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
            yield Said(session, a, m.end())


def introductions(sessions: Sequence[Session], name: str, most: int = 3) -> list[Said]:
    """Where `name` came up first, and the first sentences that say who they are, oldest
    first (at most `most`); [] when no sentence names them."""
    word = re.compile(rf"\b{re.escape(name)}\b")
    intro = _introduces(name)
    first: Said | None = None
    introducing: list[Said] = []
    for session in sorted(sessions, key=lambda s: (s.date, s.id)):
        if name not in session.text:
            continue
        for said in _sentences(session):
            if not word.search(said.text):
                continue
            if first is None:
                first = said
            if intro.search(said.text) and len(introducing) < most:
                introducing.append(said)
    if first is None:
        return []
    chosen = [first, *(s for s in introducing if s != first)][:most]
    return sorted(chosen, key=lambda s: (s.session.date, s.session.id, s.a))


def said_with_role(
    sessions: Sequence[Session], role: set[str], not_names: Iterable[str] = ()
) -> tuple[str | None, list[Said]]:
    """The name the sessions say with the role's words (within a few words, in one
    sentence: "Hilary, my manager", "walk with Lyle"), and the sentences that do, oldest
    first; (None, the sentences that say the role) when no name goes with it."""
    names = _names_in(sessions, frozenset(not_names))
    with_name: dict[str, list[Said]] = {}
    plain: list[Said] = []
    for session in sorted(sessions, key=lambda s: (s.date, s.id)):
        for said in _sentences(session):
            if not content_stems(said.text) & role:
                continue
            words = re.findall(r"[\w'’-]+", said.text)
            at = [i for i, w in enumerate(words) if content_stems(w) & role]
            if not at:
                continue
            plain.append(said)
            for i, w in enumerate(words):
                if w in names and any(abs(i - j) <= 6 for j in at):
                    with_name.setdefault(w, []).append(said)
    if not with_name:
        return None, plain
    counts = Counter({n: len(s) for n, s in with_name.items()})
    best = max(counts, key=lambda n: (counts[n], -with_name[n][0].session.date.toordinal()))
    return best, with_name[best]


# "Hilda, my manager, ...": a name at the start of a sentence, told as one.
_APPOSITION = re.compile(
    r"\s*(?:,|—|–)\s*(?:the|my|our|his|her|their|that['’]s|who['’]s)\s", re.IGNORECASE
)


def _names_in(sessions: Sequence[Session], not_names: frozenset[str]) -> set[str]:
    """The capitalised words of the sessions that are names: said capitalised inside a
    sentence at least once (not only at its start, as "Honestly" is), never in lower case."""
    inside: set[str] = set()
    lower: set[str] = set()
    for session in sessions:
        text = session.text
        for m in re.finditer(r"[\w'’-]+", text):
            w = m.group(0)
            if w[:1].islower():
                lower.add(w)
                continue
            if not re.match(r"[A-Z][a-z]+$", w):
                continue
            before = text[max(0, m.start() - 3) : m.start()].rstrip(" \"“‘'")
            if (before and before[-1] not in ".!?\n:]") or _APPOSITION.match(text, m.end()):
                inside.add(w)
    skip = {w for label in not_names for w in label.split()} | _NOT_NAMES
    return {
        w
        for w in inside
        if w.lower() not in lower
        and w not in skip
        # "Tuesdays", "Christmases": days and seasons, not people.
        and w.lower() not in DATE_WORDS
        and w.lower().removesuffix("s") not in DATE_WORDS | _NOT_NAMES_LOWER
    }
