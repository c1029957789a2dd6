"""Answering a question from the user's own sessions: short, warm, and every claim cited.

The small local model summarises well enough, but (measured, see the project notes) it also
restates the question as if it were the answer, pastes transcript lines, and asserts answers
that no excerpt holds. So the model decides nothing that matters here:

- whether the sessions hold an answer is decided from retrieval evidence before the model is
  called (`decide_found`); when they don't, the user gets an honest "couldn't find that";
- requests for a diagnosis, medication advice or a decision get a pointer back to the
  therapist, and crisis language gets a fixed safety message: both are fixed texts;
- every sentence the model writes is checked against the excerpt it cites; sentences the
  excerpt does not support are dropped, quotes not found verbatim are flagged, and when no
  sentence survives the answer is built from the excerpts themselves (extractive fallback).

Transcript text is data, never instructions: it only ever reaches the model inside numbered,
quoted excerpts, and none of the checks above depends on what the model says about it.

The package follows the stages a question goes through (see answerer.py for the order):
`question` (what is asked), `evidence` (found / not found), `excerpts`, `scope` (advice and
safety), `model_answer` (the model's answer) and `checks` (every rule that decides which of
its sentences are shown), `compose` with one module per kind of answer the system composes
itself from evidence (`next_session`, `who`, `followups`, `across`, `outcome`, `recap`),
`results` (the answer, its events and settings) and `answerer` (the stages run in order).
Understanding the question is shared with search: `reflect.understanding`; words as
compared everywhere: `reflect.words`.
"""

from __future__ import annotations

from reflect.answer.answerer import Answerer
from reflect.answer.checks import (
    CheckBounds,
    CheckedSentence,
    SentenceChecker,
    SentenceSplitter,
    quotes_in,
)
from reflect.answer.evidence import Evidence, EvidenceThresholds, decide_found, question_similarity
from reflect.answer.excerpts import Excerpt, build_excerpts
from reflect.answer.results import (
    Answer,
    AnswerDone,
    AnswerError,
    AnswerEvent,
    AnswerSettings,
    AnswerStarted,
    AnswerToken,
    EventCallback,
    Prepared,
    Timings,
)
from reflect.answer.scope import is_scope_request
from reflect.speakers import DEFAULT_ME_LABELS, DEFAULT_THERAPIST_LABELS, speaker_role
from reflect.words import content_stems, normalize_for_quote, question_terms, stem

__all__ = [
    "DEFAULT_ME_LABELS",
    "DEFAULT_THERAPIST_LABELS",
    "Answer",
    "AnswerDone",
    "AnswerError",
    "AnswerEvent",
    "AnswerSettings",
    "AnswerStarted",
    "AnswerToken",
    "Answerer",
    "CheckBounds",
    "CheckedSentence",
    "EventCallback",
    "Evidence",
    "EvidenceThresholds",
    "Excerpt",
    "Prepared",
    "SentenceChecker",
    "SentenceSplitter",
    "Timings",
    "build_excerpts",
    "content_stems",
    "decide_found",
    "is_scope_request",
    "normalize_for_quote",
    "question_similarity",
    "question_terms",
    "quotes_in",
    "speaker_role",
    "stem",
]
