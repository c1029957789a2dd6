"""Ready for the next session: what to take along, gathered from what is already there.

`reflect prep` and the app's "Next session" view show four things:

- the last session's recap (reflect/recap.py, sealed at import);
- the agreements still open (not marked done or not for me) from the last few sessions,
  each with the later moments that talk about it (reflect/agreements.py's follow-ups);
- the themes that came up most in the last few sessions, each with its timeline across all
  sessions (reflect/timeline.py);
- the user's own notes since the last session (`_notes_since`).

Themes are chosen from the words themselves, not generated: the content words and two-word
phrases ("sleep diary") said most often in the last `THEME_SESSIONS` sessions, weighted by how
particular they are to those sessions against the whole vault (a word said in every session
of a year is background, not a theme), never stopwords, talk about talking, or fillers.
Each theme is then a timeline topic like any the user could type.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from reflect.agreements import Agreement
from reflect.index import STOPWORDS
from reflect.recap import Recap
from reflect.session import Session
from reflect.timeline import Timeline
from reflect.words import DATE_WORDS, GENERIC_WORDS, stem, word_set

# Themes come from the last this many sessions.
THEME_SESSIONS = 3
MAX_THEMES = 5
# A theme is said at least this often in those sessions.
MIN_THEME_COUNT = 3
# Open agreements from the last this many sessions (older ones: `reflect agreements`).
AGREEMENT_SESSIONS = 4

# Words of conversation that the search's lists keep (they help ranking there) but that are
# never what a session was about.
_CHAT_WORDS = word_set(
    """right sure want wanted make made see saw look looked need needed try tried trying
    good bad better worse little much many still even back take took put keep kept start
    started let able always never every sometimes often usually pretty quite rather enough
    probably definitely exactly literally honestly obviously course sounds sound hear heard
    people person someone somebody anyone everyone nobody nothing everybody else first next
    whole same different hard easy big small long short lot right left around away though
    although anyway again already actually done doing happen happened happens work's
    mhm mm-hmm uh-huh ah eh hm hmm er erm cause 'cause coming yeah yep nope alright
    gonna gotta wanna lots since stay find found give gave use used call called
    zero one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty
    forty fifty hundred thousand half couple few minute minutes hour hours second seconds"""
)
_NOT_THEMES = STOPWORDS | GENERIC_WORDS | DATE_WORDS | _CHAT_WORDS
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# Sentence and clause ends: a two-word phrase never spans one.
_BREAK = re.compile(r"[.!?;:,…\n]")
MIN_WORD_CHARS = 3


@dataclass(slots=True)
class Theme:
    topic: str
    timeline: Timeline


@dataclass(slots=True)
class Prep:
    last_session: Recap | None
    agreements: list[Agreement] = field(default_factory=list)
    themes: list[Theme] = field(default_factory=list)
    notes: list[Session] = field(default_factory=list)


def _notes_since(notes: Sequence[Session], day: dt.date | None) -> list[Session]:
    """The user's own notes (reflect/documents.py) dated after `day` (None: all of them),
    oldest first."""
    return [n for n in notes if day is None or n.date > day]


def _clauses(text: str) -> Iterable[list[str]]:
    """The words of each clause, a possessive as its owner ("Tom's" -> "tom", "she's" ->
    "she"); any other word with an apostrophe ("o'clock", "wouldn't") as "", never a theme."""
    for clause in _BREAK.split(text):
        found = _WORD.findall(clause.casefold().replace("’", "'"))
        yield [w.removesuffix("'s") if "'" not in w.removesuffix("'s") else "" for w in found]


def _is_content(word: str, ignore: frozenset[str]) -> bool:
    return len(word) >= MIN_WORD_CHARS and word not in _NOT_THEMES and word not in ignore


def _candidates(
    session: Session, ignore: frozenset[str]
) -> tuple[Counter[tuple[str, ...]], dict[tuple[str, ...], Counter[str]]]:
    """How often each content stem and each pair of adjacent content words (by stems) is said
    in the session, and the words as said for each."""
    counts: Counter[tuple[str, ...]] = Counter()
    said: dict[tuple[str, ...], Counter[str]] = {}
    for words in _clauses(session.text):
        previous: str | None = None
        for word in words:
            if not _is_content(word, ignore):
                previous = None
                continue
            keys: list[tuple[tuple[str, ...], str]] = [((stem(word),), word)]
            if previous is not None:
                keys.append(((stem(previous), stem(word)), f"{previous} {word}"))
            for key, surface in keys:
                counts[key] += 1
                said.setdefault(key, Counter())[surface] += 1
            previous = word
    return counts, said


def salient_themes(
    recent: Sequence[Session],
    everything: Sequence[Session],
    *,
    ignore: Iterable[str] = (),
    limit: int = MAX_THEMES,
) -> list[str]:
    """The themes of the `recent` sessions: their most said content words and two-word
    phrases, weighted by how particular they are to those sessions among `everything`
    (see the module's doc). As the words were said, most prominent first."""
    skip = frozenset(w.casefold() for label in ignore for w in _WORD.findall(label))
    in_sessions: Counter[tuple[str, ...]] = Counter()
    for session in everything:
        in_sessions.update(set(_candidates(session, skip)[0]))
    total: Counter[tuple[str, ...]] = Counter()
    spread: Counter[tuple[str, ...]] = Counter()
    said: dict[tuple[str, ...], Counter[str]] = {}
    for session in recent:
        counts, surfaces = _candidates(session, skip)
        total.update(counts)
        spread.update(set(counts))
        for key, words in surfaces.items():
            said.setdefault(key, Counter()).update(words)
    n = max(len(everything), 1)

    def score(key: tuple[str, ...]) -> float:
        particular = math.log(1.0 + n / max(in_sessions[key], spread[key], 1))
        # A phrase said this often is a theme in itself ("sleep diary"), so it counts double.
        return total[key] * spread[key] * particular * len(key)

    ranked = sorted(
        (key for key, count in total.items() if count >= MIN_THEME_COUNT),
        key=lambda key: (-score(key), key),
    )
    chosen: list[str] = []
    taken: set[str] = set()
    for key in ranked:
        if taken & set(key):
            continue  # "sleep" once "sleep diary" is in, and the other way round
        chosen.append(said[key].most_common(1)[0][0])
        taken.update(key)
        if len(chosen) == limit:
            break
    return chosen


def build_prep(
    sessions: Sequence[Session],
    *,
    speakers: Iterable[str],
    recap: Callable[[str], Recap],
    agreements: Callable[[frozenset[str]], list[Agreement]],
    timeline: Callable[[str], Timeline],
    notes: Sequence[Session] = (),
) -> Prep:
    """What to take to the next session, from `sessions` (oldest first): `recap(id)`,
    `agreements(session ids)` (with follow-ups) and `timeline(topic)` are the service's;
    `speakers`: the speaker labels, never themes; `notes`: the user's notes, oldest first."""
    if not sessions:
        return Prep(None, notes=_notes_since(notes, None))
    last = sessions[-1]
    recent = sessions[-AGREEMENT_SESSIONS:]
    still_open = [
        a
        for a in agreements(frozenset(s.id for s in recent))
        if a.status == "open" and not a.declined
    ]
    themes = [
        Theme(topic, timeline(topic))
        for topic in salient_themes(sessions[-THEME_SESSIONS:], sessions, ignore=speakers)
    ]
    return Prep(recap(last.id), still_open, themes, _notes_since(notes, last.date))
