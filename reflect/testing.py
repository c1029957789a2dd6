"""Stand-ins for the models, for tests, benchmarks and demos: deterministic, no model files.

Kept out of the product modules so that what ships to a person and what only a test uses are
told apart at a glance. Nothing in `reflect` imports this module (a contract test checks).
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from reflect.asr import ProgressCallback, Segment, _as_mono, _stretches
from reflect.audio import SAMPLE_RATE, Samples
from reflect.embedding import Progress, Vectors, _embed_in_batches, _empty
from reflect.llm import Message

if TYPE_CHECKING:
    from reflect.live_index import LiveIndex
    from reflect.service import Reflect
    from reflect.store import SessionStore
    from reflect.vault import Vault

# ---- inside a Reflect ---------------------------------------------------------------------
# The facade keeps its vault and store to itself. Tests that damage objects, count them or
# read an index record as stored, and benchmarks that file prepared sessions, reach them
# here: one documented door, so the product's code never pokes at a Reflect's internals.


def vault_of(service: Reflect) -> Vault:
    return service._vault


def store_of(service: Reflect) -> SessionStore:
    return service._store


def live_index_of(service: Reflect) -> LiveIndex:
    """The in-memory index, for benchmarks that compare stages below the API."""
    return service._live_index()


# ---- the chat model -----------------------------------------------------------------------


class FakeChatModel:
    """A deterministic stand-in: replies from a queue, streamed word by word.

    Records every prompt it receives in `prompts`, so a test can assert the model was (or
    was not) asked. When the queue runs dry it raises, which makes an unexpected call loud.
    """

    def __init__(
        self, replies: Sequence[str], *, model_id: str = "fake-chat", context_size: int = 4096
    ) -> None:
        self.replies = list(replies)
        self.prompts: list[list[Message]] = []
        self.calls: list[dict[str, Any]] = []
        self._model_id = model_id
        self._context_size = context_size
        self._cancel = threading.Event()

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def context_size(self) -> int:
        return self._context_size

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        return sum(self.count_tokens(m["content"]) + 4 for m in messages)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        stop: Sequence[str],
        temperature: float = 0.0,
    ) -> Iterator[str]:
        self.prompts.append([dict(m) for m in messages])
        self.calls.append(
            {"max_tokens": max_tokens, "stop": list(stop), "temperature": temperature}
        )
        if not self.replies:
            raise AssertionError("FakeChatModel was asked for more replies than it was given")
        reply = _cut_at_stop(self.replies.pop(0), stop)
        self._cancel.clear()
        words = reply.split(" ")
        for i, word in enumerate(words[:max_tokens]):
            if self._cancel.is_set():
                return
            yield word if i == 0 else " " + word

    def cancel(self) -> None:
        self._cancel.set()


def _cut_at_stop(text: str, stop: Sequence[str]) -> str:
    cut = min((i for s in stop if s and (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


# ---- the embedding model ----------------------------------------------------------------


class FakeEmbedder:
    """A deterministic stand-in for tests: no model, no torch.

    Each text becomes a bag of hashed features (its words, and the character trigrams of each
    word) folded into `dimension` signed buckets, then L2-normalised. Texts sharing words or
    word parts ("worry" / "worried") come out similar; paraphrases do not, which tests use to
    tell lexical from semantic behaviour.
    """

    def __init__(self, dimension: int = 64) -> None:
        self._dimension = dimension

    @property
    def model_id(self) -> str:
        return f"fake-hash-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Progress | None = None,
    ) -> Vectors:
        def encode(batch: Sequence[str]) -> Vectors:
            return (
                np.stack([self._vector(text) for text in batch])
                if batch
                else _empty(self._dimension)
            )

        return _embed_in_batches(texts, encode, self._dimension, batch_size, progress)

    def _vector(self, text: str) -> Vectors:
        vector = np.zeros(self._dimension, dtype=np.float32)
        for word in _fake_words(text):
            self._add_feature(vector, "w:" + word, 1.0)
            padded = f"#{word}#"
            for i in range(len(padded) - 2):
                self._add_feature(vector, "t:" + padded[i : i + 3], 0.5)
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            # Text without words still gets a valid unit vector, so similarity stays defined.
            self._add_feature(vector, "empty", 1.0)
            norm = 1.0
        return vector / norm

    def _add_feature(self, vector: Vectors, feature: str, weight: float) -> None:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "little") % self._dimension
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[bucket] += sign * weight


def _fake_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.findall(r"\w+", folded)


# ---- the deeper search's judge -------------------------------------------------------------


class FakeJudge:
    """A deterministic stand-in for the judge model (reflect/judge.py): P(yes) is the share of
    the question's words of 4+ letters that the excerpt holds. Every call is kept in `calls`
    as (question, excerpt), so a test can see what the judge was shown."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def p_yes(self, question: str, excerpt: str) -> float:
        self.calls.append((question, excerpt))
        wanted = {w for w in _fake_words(question) if len(w) >= 4}
        held = set(_fake_words(excerpt))
        return len(wanted & held) / len(wanted) if wanted else 0.0


class PrefersWord:
    """A judge that says yes to excerpts holding one word and no to the rest: a test picks
    which moment the deeper search must put first. Keeps what it read in `read`."""

    def __init__(self, word: str) -> None:
        self.word = word
        self.read: list[str] = []

    def p_yes(self, question: str, excerpt: str) -> float:
        self.read.append(excerpt)
        return 0.9 if self.word in excerpt else 0.1


# ---- speech to text -----------------------------------------------------------------------


@dataclass
class FakeCall:
    offset: float
    seconds: float
    language: str | None
    channel: int | None


@dataclass
class FakeTranscriber:
    """A deterministic stand-in for tests of callers: one segment per stretch of sound.

    A stretch is audio above -40 dBFS, with pauses under half a second bridged. Its text is
    `text_for(start, end, channel)` (absolute times), by default "speech at 12.30", so the
    result depends only on the audio and the offset, as a resumed run needs. Every call is
    recorded in `calls`.
    """

    text_for: Callable[[float, float, int | None], str] | None = None
    language: str = "en"
    calls: list[FakeCall] = field(default_factory=list)

    def transcribe(
        self,
        samples: Samples,
        *,
        offset: float = 0.0,
        language: str | None = None,
        channel: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[Segment]:
        mono = _as_mono(samples)
        seconds = mono.size / SAMPLE_RATE
        self.calls.append(FakeCall(offset, seconds, language, channel))
        segments = []
        for start, end in _stretches(mono):
            a, b = round(offset + start, 2), round(offset + end, 2)
            text = self.text_for(a, b, channel) if self.text_for else f"speech at {a:.2f}"
            segments.append(Segment(a, b, text, channel, language or self.language, 1.0))
            if on_progress is not None:
                on_progress(b)
        if on_progress is not None:
            on_progress(offset + seconds)
        return segments
