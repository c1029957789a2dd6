"""Other ways of writing a query's words, for word search: "twelve" and "12", "chicken pox"
and "chickenpox", "programme" and "program".

A person remembers what was said, not how a transcript spelled it. Transcribers write numbers
as digits ("£12", "18 years"), a person asking writes "twelve pounds", "eighteen years"; one
writes "chicken pox", the other "chickenpox"; British and American spellings differ in a few
regular ways. Word search adds these forms to the words it looks for (any of them matches).

Rules only, no word lists to fit particular questions: every form made here is either a
number, two adjacent query words joined, or a regular spelling change. A form that occurs
nowhere costs nothing (BM25 scores only the words a chunk holds), so the rules can afford to
make forms that are not words. The index's stemmer (porter) already joins "worry"/"worried";
hyphenated words ("smoke-free") are split into their words on both sides already.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["other_forms"]

_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
NUMBER_OF_WORD = {w: n for n, w in enumerate(_UNITS)} | {
    w: 10 * n for n, w in enumerate(_TENS) if w != "_"
}
NUMBER_OF_WORD |= {"hundred": 100, "thousand": 1000}
# "one" and "zero" stay words: "the one who listens" is not a number, and transcripts write
# small numbers as words anyway; from two up, both forms are looked for.
_SMALLEST = 2
_LARGEST = 1000

# Regular British / American spelling differences, each way: (pattern, replacement).
# Applied to whole words of five letters or more, so that short common words ("four",
# "your", "hour") are never turned into others.
_SPELLINGS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"our(s|ed|ing|ite|ites|able|ably)?$", r"or\1"),  # colour, behaviour, favourite
        (r"(?<=[^aeou])or(s|ed|ing|ite|ites|able|ably)?$", r"our\1"),
        (r"is(e|es|ed|ing|ation|ations)$", r"iz\1"),  # realise, organisation
        (r"iz(e|es|ed|ing|ation|ations)$", r"is\1"),
        (r"ys(e|es|ed|ing)$", r"yz\1"),  # analyse, paralysed
        (r"yz(e|es|ed|ing)$", r"ys\1"),
        (r"(?<=[^aeiou])tre(s)?$", r"ter\1"),  # centre, theatre
        (r"(?<=[^aeiou])ter(s)?$", r"tre\1"),
        (r"amme(s)?$", r"am\1"),  # programme
        (r"(?<=[^aeiou][aeiou])ram(s)?$", r"ramme\1"),
        (r"ell(ed|ing|ings|or|ors|er|ers)$", r"el\1"),  # counselling, travelled, cancelled
        (r"(?<=[^aeiou])el(ed|ing|ings|or|ors|er|ers)$", r"ell\1"),
        (r"ogue(s)?$", r"og\1"),  # dialogue, catalogue
        (r"(?<=[^aeiou])og(s)?$", r"ogue\1"),
        (r"ae(?=[^aeiou])", "e"),  # anaemia, paediatric
        (r"oe(?=[^aeiou])", "e"),  # oestrogen, diarrhoea
    )
)
# Everyday words spelled differently on each side of the Atlantic without a rule.
_DIALECT = {
    "mum": "mom",
    "mom": "mum",
    "mums": "moms",
    "moms": "mums",
    "mummy": "mommy",
    "mommy": "mummy",
}
_MIN_SPELLING_LETTERS = 5
_MIN_JOINED_LETTERS = 3


def number_value(words: Sequence[str]) -> int | None:
    """The number written as `words` ("twenty", "five" -> 25; "twelve" -> 12), or None."""
    if not words or any(w not in NUMBER_OF_WORD for w in words):
        return None
    values = [NUMBER_OF_WORD[w] for w in words]
    if len(values) == 1:
        return values[0]
    if len(values) == 2 and values[0] % 10 == 0 and 20 <= values[0] <= 90 and values[1] < 10:
        return values[0] + values[1]
    if len(values) == 2 and values[0] < 10 and values[1] in (100, 1000):
        return values[0] * values[1]
    return None


def number_words(value: int) -> list[str]:
    """`value` (0-99, or whole hundreds/thousands) in words: 25 -> ["twenty", "five"]."""
    if value < 20:
        return [_UNITS[value]]
    if value < 100:
        tens, units = divmod(value, 10)
        return [_TENS[tens]] + ([_UNITS[units]] if units else [])
    for size, name in ((1000, "thousand"), (100, "hundred")):
        if value % size == 0 and value // size < 10:
            return [_UNITS[value // size], name]
    return []


def spelling_variants(word: str) -> list[str]:
    """The other spellings of `word` by the regular British / American rules."""
    out = [_DIALECT[word]] if word in _DIALECT else []
    if len(word) < _MIN_SPELLING_LETTERS or not word.isalpha():
        return out
    for pattern, replacement in _SPELLINGS:
        other = pattern.sub(replacement, word, count=1)
        if other != word and other not in out:
            out.append(other)
    return out


def _joinable(word: str) -> bool:
    # Not "sister" + "s" (of "sister's"): a part of a closed compound is a word of its own.
    return word.isalpha() and len(word) >= _MIN_JOINED_LETTERS


def other_forms(terms: Sequence[str]) -> list[str]:
    """Other forms of a query's words (lower-cased, in order, as word search reads them):
    numbers the other way (digits <-> words), adjacent words joined ("chicken pox" ->
    "chickenpox"), other spellings. Each form is one word, or several words that must occur
    together (returned space-separated: search them as a phrase). None of `terms` itself."""
    out: dict[str, None] = {}
    i = 0
    while i < len(terms):
        # The longest run of number words from here ("twenty five"), else one digit word.
        for length in (2, 1):
            value = number_value(terms[i : i + length])
            if value is not None and len(terms[i : i + length]) == length:
                if _SMALLEST <= value <= _LARGEST:
                    out[str(value)] = None
                break
        term = terms[i]
        if term.isascii() and term.isdigit() and _SMALLEST <= int(term) <= _LARGEST:
            spelled = number_words(int(term))
            if spelled:
                out[" ".join(spelled)] = None
        if i + 1 < len(terms) and _joinable(term) and _joinable(terms[i + 1]):
            out[term + terms[i + 1]] = None
        for variant in spelling_variants(term):
            out[variant] = None
        i += 1
    given = set(terms)
    return [form for form in out if form not in given]
