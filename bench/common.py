"""Helpers the bench scripts share: tables for the reports, generated speech, percentiles.

The scripts run as `python bench/<script>.py`, so their folder is on the import path and they
import this as `common`.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence

import numpy as np


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), separator, *(line(r) for r in rows)])


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


class BigramText:
    """Sentence-like utterances from a word-bigram model of `texts`."""

    def __init__(self, texts: Iterable[str], rng: random.Random) -> None:
        self.rng = rng
        self.followers: dict[str, list[str]] = {}
        for text in texts:
            words = ["<s>", *text.split(), "</s>"]
            for a, b in itertools.pairwise(words):
                self.followers.setdefault(a, []).append(b)

    def utterance(self, max_words: int) -> str:
        words: list[str] = []
        word = "<s>"
        while len(words) < max_words:
            word = self.rng.choice(self.followers.get(word) or ["</s>"])
            if word == "</s>":
                if len(words) >= max_words // 3:
                    break
                word = "<s>"
                continue
            words.append(word)
        return " ".join(words) or "Okay."
