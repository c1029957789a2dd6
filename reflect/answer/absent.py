"""When nothing answers: say what the sessions never mention, if that is why.

"What did we say about my brother?" when no session ever says "brother" deserves "Nothing
about your brother came up in your sessions", not the general "I couldn't find that" that
also covers things said in other words. This is stated only when it is a fact that can be
checked: the question's own content words, looked up in the whole vault's word index, occur
nowhere. Where some of its words occur and others never do, the answer names the ones that
never do; where all occur, the general message stands.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from reflect.words import content_stems, words

__all__ = ["never_mentioned", "nothing_about"]

# The user's words turned to the answer's voice: "my brother" -> "your brother".
_TO_YOU = {"my": "your", "our": "your", "me": "you", "myself": "yourself", "mine": "yours"}
# A topic that is a clause ("I was worried about...") would need its verbs turned too
# ("you were"): such a topic is not repeated back, only its missing words are named.
_CLAUSE = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|we|was|were|am|is|are|did|do)\b", re.I)
_MAX_TOPIC_WORDS = 5


def never_mentioned(topic: str, held: Callable[[str], bool]) -> list[str]:
    """The topic's content words (as the user spelled them, in order) that `held` says no
    passage of the vault holds."""
    seen: set[str] = set()
    missing = []
    for word in words(topic):
        word = word.removesuffix("'s")  # "my sister's flat": "sister" is what is looked up
        stems = content_stems(word)
        if not stems or word in seen:
            continue
        seen.add(word)
        if not held(word):
            missing.append(word)
    return missing


def nothing_about(topic: str, missing: list[str]) -> str | None:
    """The sentence that says so, or None when every content word occurs somewhere."""
    if not missing:
        return None
    content = [
        w for w in dict.fromkeys(w.removesuffix("'s") for w in words(topic)) if content_stems(w)
    ]
    if len(missing) == len(content) and _is_short_phrase(topic):
        phrase = " ".join(_TO_YOU.get(w.casefold(), w) for w in topic.split())
        return f"Nothing about {phrase.strip(' ?.!,')} came up in your sessions."
    named = _quoted_list(missing)
    return f"Your sessions never mention {named}, and nothing else in them answers this."


def _is_short_phrase(topic: str) -> bool:
    return len(topic.split()) <= _MAX_TOPIC_WORDS and not _CLAUSE.search(topic)


def _quoted_list(items: list[str]) -> str:
    quoted = [f"“{w}”" for w in items]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]
