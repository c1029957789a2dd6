"""What an answer is: the result, its timings, the events streamed while it is written,
and the settings of the answerer."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from reflect.answer.checks import CheckBounds
from reflect.answer.evidence import (
    ANSWERABILITY_MODEL,
    AnswerabilityModel,
    Evidence,
    EvidenceThresholds,
)
from reflect.answer.excerpts import Excerpt
from reflect.answer.question import AskedQuestion
from reflect.errors import ReflectError
from reflect.retrieval import Hit, Mode


@dataclass(frozen=True, slots=True)
class Timings:
    """`retrieval_ms`: search and evidence. `ttft_ms`: from handing the prompt to the model to
    its first token (prompt evaluation, the part the prompt cache shortens). `total_ms`: the
    whole `ask`, model loading included (`model_load_ms`, first question only)."""

    retrieval_ms: float
    prompt_tokens: int | None = None
    ttft_ms: float | None = None
    total_ms: float = 0.0
    tokens_per_s: float | None = None
    generated_tokens: int | None = None
    model_load_ms: float | None = None


def ms_since(start: float) -> float:
    """Milliseconds since `start` (a `time.perf_counter()` reading)."""
    return (time.perf_counter() - start) * 1000


@dataclass(slots=True)
class Answer:
    """The checked answer. `text` carries [n] markers that refer to `excerpts`/`citations`.

    `citations`: the excerpts the text cites, as (n, piece of the search hit). `closest`: the
    search hits when nothing was found. `removed_citations`: numbers the model cited that
    name no excerpt. `corrected_citations`: (the model's numbers, the excerpt that really
    supports the sentence). `unverified_quotes`: quoted text that is not verbatim in any
    cited excerpt (shown flagged). `safety_message`: the fixed crisis message, shown
    above the answer. `model_text`: what the model wrote before any checks (for debugging and
    benchmarks, never shown as the answer).
    """

    question: str
    text: str
    found: bool
    citations: list[tuple[int, Hit]] = field(default_factory=list)
    closest: list[Hit] = field(default_factory=list)
    unverified_quotes: list[str] = field(default_factory=list)
    removed_citations: list[int] = field(default_factory=list)
    corrected_citations: list[tuple[tuple[int, ...], int]] = field(default_factory=list)
    safety_message: str | None = None
    scope_redirect: bool = False
    model_id: str | None = None
    timings: Timings = field(default_factory=lambda: Timings(0.0))
    evidence: Evidence | None = None
    excerpts: list[Excerpt] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    extractive: bool = False
    cancelled: bool = False
    model_text: str = ""
    dropped_sentences: list[tuple[str, str]] = field(default_factory=list)
    # The question as answered (kind, topic, time, follow-up): shown so the user sees what
    # was understood and can start afresh.
    asked: AskedQuestion | None = None
    # The moment the answer rests on, when that is not its first citation (an outcome's
    # best later report, shown among others in date order): what "that" in a follow-up
    # ("when did I tell you that?") points at.
    focus: Hit | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """What `Answerer.prepare` found out before any model runs."""

    question: str
    hits: list[Hit]
    evidence: Evidence
    excerpts: list[Excerpt]
    scope_redirect: bool
    safety_message: str | None
    retrieval_ms: float


@dataclass(frozen=True, slots=True)
class AnswerStarted:
    """Sent before the model runs: the hits and numbered excerpts are already known."""

    hits: list[Hit]
    excerpts: list[Excerpt] = field(default_factory=list)
    safety_message: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerToken:
    """A piece of the answer that already passed the checks.

    Pieces only ever append (`can_replace` is always False): text is released a sentence at
    a time, after that sentence was checked, so nothing shown is taken back later.
    """

    text: str
    can_replace: bool = False


@dataclass(frozen=True, slots=True)
class AnswerDone:
    answer: Answer


AnswerEvent = AnswerStarted | AnswerToken | AnswerDone
EventCallback = Callable[[AnswerEvent], None]


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    k: int = 8
    mode: Mode = "hybrid"
    excerpt_token_budget: int = 600
    max_excerpt_tokens: int = 160
    max_excerpts: int = 6
    answer_room_tokens: int = 256
    max_answer_tokens: int = 120
    temperature: float = 0.0
    evidence: EvidenceThresholds = EvidenceThresholds()
    # The learned found / not-found decision (evidence.py); None: the rule alone decides.
    answerability: AnswerabilityModel | None = ANSWERABILITY_MODEL
    check: CheckBounds = CheckBounds()
    extractive_quotes: int = 2
    extractive_max_words: int = 40


class AnswerError(ReflectError):
    title = "Couldn't answer"
