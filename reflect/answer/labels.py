"""How a question names the therapist: by a speaker label of the other side ("Annika",
"Dr. Rivera"; `others`: the labels that are not the user's).

Two readings, kept apart on purpose. Who said something ("what did Dr. Rivera say?", "did
I tell Annika?", question.py) is read with the whole label and, for a label of several
words, its last word; when the next session is ("when do I see Rivera next?",
appointments.py) and a break ("before Annika went away", breaks.py) with the last word of
each label alone. Reading all three the same way would change which questions those read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["label_alternatives", "label_names", "last_words"]


def label_names(others: Sequence[str]) -> set[str]:
    """The other side's labels as a question may name them, escaped for a pattern."""
    names = set()
    for label in others:
        label = label.strip()
        if not label or len(label) < 2:
            continue
        names.add(re.escape(label))
        last = label.split()[-1]
        if len(label.split()) > 1 and len(last) > 2:
            names.add(re.escape(last))  # "Rivera" for "Dr. Rivera"
    return names


def label_alternatives(others: Sequence[str]) -> str | None:
    """`label_names` as one alternation for a pattern, the longest first (so "Dr. Rivera"
    is matched whole before "Rivera"); None when no label can be named."""
    names = label_names(others)
    if not names:
        return None
    return "|".join(sorted(names, key=len, reverse=True))


def last_words(others: Sequence[str]) -> list[str]:
    """The last word of each of the other side's labels, escaped for a pattern ("Rivera" for
    "Dr. Rivera")."""
    return [re.escape(o.split()[-1]) for o in others if len(o.strip()) > 1]
