"""Words as reflect compares them: a light stemmer, content words, quote folding.

Shared by search (which turns best match a question), the found/not-found decision and the
answer checks, so all three agree on what counts as the same word.
"""

from __future__ import annotations

import re

from reflect.index import NO_FILTERS, STOPWORDS, Filters

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that say how something was said or asked, not what: "what did I SAY in our SESSION
# about..." has one content word. Also the contractions the index's list leaves out.
GENERIC_WORDS = word_set(
    """said say says saying tell tells telling told talk talks talking talked mention
    mentions mentioning mentioned discuss discussed discussing discussion bring brought
    came come up session sessions therapy therapist counsellor counselor counselling
    counseling remember remembered recall time times thing things something anything
    everything stuff bit part parts ever last week weeks day days today yesterday ago once
    whether like kind sort get got go went know also really just maybe way lot lots one
    feel feels felt feeling feelings think thought ask asked asking answer suggest
    suggested suggestion suggestions recommend recommended explain explained describe
    described share shared note noted point pointed idea ideas talked us i'm i've i'd i'll
    you're you've you'd you'll we're we've we'd it's that's there's don't didn't doesn't
    can't couldn't won't wouldn't isn't wasn't aren't weren't haven't hasn't let's yeah
    yes okay ok um uh mm hmm oh well going goes gone new much many right back make makes
    made making getting gets take takes took taken taking put puts putting give gives gave
    given giving he's she's they're they've they'd they'll he'd she'd he'll she'll it'll
    we'll who's what's yet already finally eventually actually"""
)
_STOP = STOPWORDS | GENERIC_WORDS

# Words that place a question in time ("in my first session in February"). Once a date or
# session filter has been applied they are already answered, and they almost never occur in
# what was said, so counting them as content made date questions look unanswerable.
DATE_WORDS = word_set(
    """january february march april may june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday
    thursday friday saturday sunday first second third fourth fifth sixth seventh eighth
    ninth tenth 1st 2nd 3rd 4th 5th 6th 7th 8th 9th 10th latest recent recently earlier
    previous month months year years spring summer autumn fall winter before after since
    until during ago couple few"""
)


def stem(word: str) -> str:
    """A light English stemmer: enough for "sleeping" ~ "sleep", "worried" ~ "worry".

    Deliberately crude and symmetric (question, excerpt and answer words all go through it),
    so it only has to map related forms together, not produce real words.
    """
    w = word.casefold().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    for suffix, replacement in (
        ("ies", "y"),
        ("ied", "y"),
        ("ing", ""),
        ("ed", ""),
        ("ly", ""),
        ("sses", "ss"),
        ("shes", "sh"),
        ("ches", "ch"),
        ("xes", "x"),
        ("s", ""),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
            w = w[: -len(suffix)] + replacement
            break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]  # "stopped" -> "stopp" -> "stop"
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]  # "hope"/"hoped", "tire"/"tired" meet at "hop", "tir"
    return w


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold().replace("’", "'"))


def content_stems(text: str, *, ignore: frozenset[str] = frozenset()) -> set[str]:
    """Stems of the words that carry meaning: not stopwords, not generic talk-about-talk,
    nor any word in `ignore`."""
    return {
        stem(w)
        for w in words(text)
        if w not in _STOP and w not in ignore and (len(w) > 1 or w.isdigit())
    }


def question_terms(question: str, filters: Filters = NO_FILTERS) -> set[str]:
    """The question's content stems, without its date words once a filter placed it in time."""
    placed = filters.since is not None or filters.until is not None or bool(filters.session_ids)
    return content_stems(question, ignore=DATE_WORDS if placed else frozenset())


def normalize_for_quote(text: str) -> str:
    """Case, punctuation and spacing folded away, for 'is this quote verbatim' checks."""
    return " ".join(re.sub(r"[^\w\s]|_", " ", text.casefold().replace("’", "")).split())
