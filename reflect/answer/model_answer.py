"""Stages 4 and 5 for the questions the model answers: its short answer, written from the
excerpts, each sentence checked as it completes (checks.py) and only those that pass shown;
the best excerpts' own words follow, or stand alone when no sentence passes (the
extractive answer, also what a request for advice quotes under its pointer to the
therapist)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from reflect.answer.checks import CheckedSentence, SentenceChecker, SentenceSplitter
from reflect.answer.compose import best_quote
from reflect.answer.excerpts import Excerpt, ends_asking
from reflect.answer.results import (
    Answer,
    AnswerError,
    AnswerSettings,
    AnswerToken,
    EventCallback,
    Timings,
)
from reflect.embedding import Embedder
from reflect.llm import ChatModel, Message
from reflect.prompt_templates import Prompts
from reflect.words import content_stems

__all__ = ["ModelWriter", "extractive_lines", "prompt_messages", "stop_lines"]

# Lines the model must not start: it would be pasting the transcript or the prompt back.
_BASE_STOPS = (
    "\nExcerpts:",
    "Question:",
    "\n[",
    "\nYou:",
    "\nTherapist:",
    "<|im_end|>",
    "\n\n",
    "Example.",
)


@dataclass(frozen=True, slots=True)
class ModelWriter:
    """Writes a found answer with the model. `cancelled`: set (from any thread) to stop it;
    the answer is then returned with `cancelled=True`."""

    prompts: Prompts
    settings: AnswerSettings
    embedder: Embedder | None
    cancelled: threading.Event

    def write(
        self,
        answer: Answer,
        model: ChatModel,
        emit: EventCallback,
        began: float,
        load_ms: float | None,
    ) -> None:
        """Fill `answer` (its excerpts already chosen) with the checked sentences and the
        excerpts' words; `load_ms`: how long loading `model` took, if it was loaded now."""
        answer.model_id = model.model_id
        answer.excerpts = self._fit_context(model, answer.question, answer.excerpts)
        messages = prompt_messages(self.prompts, answer.question, answer.excerpts)
        prompt_tokens = model.count_prompt_tokens(messages)

        generation_began = time.perf_counter()
        kept, first_token_at = self._stream_checked(model, messages, answer, emit)
        finished = time.perf_counter()
        if self.cancelled.is_set():
            # Also when the stop came while the model was still reading the prompt and no
            # token arrived: the answer was cut short either way.
            answer.cancelled = True

        generated = model.count_tokens(answer.model_text) if answer.model_text else 0
        gen_seconds = finished - (first_token_at or finished)
        answer.timings = Timings(
            retrieval_ms=answer.timings.retrieval_ms,
            prompt_tokens=prompt_tokens,
            ttft_ms=(first_token_at - generation_began) * 1000 if first_token_at else None,
            total_ms=(finished - began) * 1000,
            tokens_per_s=(generated - 1) / gen_seconds
            if generated > 1 and gen_seconds > 0
            else None,
            generated_tokens=generated,
            model_load_ms=load_ms,
        )
        added = self._finish(answer, kept)
        if added:
            emit(AnswerToken(added))

    def _stream_checked(
        self, model: ChatModel, messages: list[Message], answer: Answer, emit: EventCallback
    ) -> tuple[list[CheckedSentence], float | None]:
        """Run the model, checking each sentence as it completes; emit only what passes."""
        checker = SentenceChecker(
            answer.question,
            answer.excerpts,
            embedder=self.embedder,
            bounds=self.settings.check,
            example=f"{self.prompts.example_question} {self.prompts.example_answer}",
        )
        splitter = SentenceSplitter()
        kept: list[CheckedSentence] = []
        raw: list[str] = []
        first_token_at: float | None = None

        def take(sentences: list[str]) -> None:
            for sentence in sentences:
                result = checker.check(sentence)
                answer.removed_citations.extend(
                    n for n in result.removed_citations if n not in answer.removed_citations
                )
                if not result.kept:
                    answer.dropped_sentences.append((result.text, result.reason))
                    continue
                if result.corrected_from:
                    answer.corrected_citations.append((result.corrected_from, result.citations[0]))
                emit(AnswerToken(("" if not kept else " ") + result.text))
                kept.append(result)

        for piece in model.stream(
            messages,
            max_tokens=self.settings.max_answer_tokens,
            stop=stop_lines(answer.excerpts),
            temperature=self.settings.temperature,
        ):
            if first_token_at is None:
                first_token_at = time.perf_counter()
            raw.append(piece)
            take(splitter.feed(piece))
            if self.cancelled.is_set():
                answer.cancelled = True
                model.cancel()
                break
        if not answer.cancelled:
            take(splitter.flush())
        answer.model_text = "".join(raw)
        return kept, first_token_at

    def _finish(self, answer: Answer, kept: list[CheckedSentence]) -> str:
        """The checked sentences become the answer, followed by the best excerpts they did
        not cite, in their own words; with no sentence kept, the excerpts' own words alone.
        Returns what was added after the streamed sentences (to be shown too).

        Why the excerpts follow the model's sentences: on the evaluation history the bundled
        model's kept sentences cite one excerpt where the extractive answer quotes the two
        best, and not always the one that answers (bench/README.md, #17), so a sentence
        alone lost answers that pasting found."""
        added = ""
        if kept:
            answer.text = " ".join(k.text for k in kept)
            answer.unverified_quotes = [q for k in kept for q in k.unverified_quotes]
            cited = sorted({n for k in kept for n in k.citations})
            if not answer.cancelled:
                also = [
                    (e, line)
                    for e, line in extractive_lines(self.prompts, self.settings, answer)
                    if e.n not in cited
                ]
                added = "".join("\n" + line for _, line in also)
                answer.text += added
                # What the sentences cite comes first: it is what the answer points at.
                cited = [*cited, *(e.n for e, _ in also)]
        elif answer.cancelled:
            answer.text = ""
            cited = []
        else:
            lines = extractive_lines(self.prompts, self.settings, answer)
            answer.text = "\n".join(line for _, line in lines)
            answer.extractive = True
            cited = [e.n for e, _ in lines]
        by_number = {e.n: e for e in answer.excerpts}
        answer.citations = [(n, by_number[n].hit) for n in cited]
        return added

    def _fit_context(
        self, model: ChatModel, question: str, excerpts: Sequence[Excerpt]
    ) -> list[Excerpt]:
        """Drop trailing excerpts while the prompt plus room for the answer overflows.

        Rare with the default budget (about 600 of 4096 tokens); the dropped excerpts were
        already shown in AnswerStarted, and simply go uncited.
        """
        fitted = list(excerpts)
        room = self.settings.answer_room_tokens
        while fitted and (
            model.count_prompt_tokens(prompt_messages(self.prompts, question, fitted)) + room
            > model.context_size
        ):
            fitted.pop()
        if not fitted:
            raise AnswerError("The chat model's context is too small for even one excerpt.")
        return fitted


def prompt_messages(prompts: Prompts, question: str, excerpts: Sequence[Excerpt]) -> list[Message]:
    """The chat the model answers: the fixed prompt and worked example, then the excerpts
    and the question."""
    # The system prompt and the worked example come first and never change, so llama.cpp
    # keeps them in its KV cache across questions; only excerpts and question are new.
    block = "\n".join(e.render() for e in excerpts)
    user = prompts.render_answer(excerpts=block, question=" ".join(question.split()))
    return [
        {"role": "system", "content": prompts.system},
        {"role": "user", "content": prompts.example_question},
        {"role": "assistant", "content": prompts.example_answer},
        {"role": "user", "content": user},
    ]


def stop_lines(excerpts: Sequence[Excerpt]) -> list[str]:
    """Where the model's answer is cut: lines that would paste the prompt or a speaker's turn."""
    labels = {e.who for e in excerpts if e.who} | {s for e in excerpts for s in e.hit.speakers}
    return list(dict.fromkeys([*_BASE_STOPS, *(f"\n{label}:" for label in sorted(labels))]))


def extractive_lines(
    prompts: Prompts, settings: AnswerSettings, answer: Answer
) -> list[tuple[Excerpt, str]]:
    """The best of the answer's excerpts' most relevant sentences, quoted verbatim, one line
    each.

    Best: most of the question's words, then said by whoever the question asks about
    ("what did I say" / "what did my therapist suggest"), then earliest number.
    """
    question, excerpts = answer.question, answer.excerpts
    terms = content_stems(question)
    # Whom the question asks about, as read ("what did Ines suggest": the other one), else
    # from its words.
    speaker = answer.asked.understood.speaker if answer.asked is not None else None
    asked = {"me": "You", "other": "Therapist"}.get(speaker or "") or _asked_about(question)
    ordered = sorted(
        excerpts,
        key=lambda e: (-len(content_stems(e.hit.text) & terms), e.who != asked, e.n),
    )
    # A question asked in the session ("How's your mum doing?") shares the words and
    # answers nothing: its reply, the next turn, is quoted in its place.
    replies = {r.n: r for r in (_reply_to(e, excerpts, asked) for e in ordered)}
    ranked = list(replies.values())[: settings.extractive_quotes]
    lines = []
    for excerpt in sorted(ranked, key=lambda e: e.n):
        quote = best_quote(excerpt.hit.text, terms, settings.extractive_max_words)
        line = excerpt.source_line(quote) or prompts.extractive_line(
            date=excerpt.hit.session_date, who=excerpt.speaker_phrase, quote=quote, n=excerpt.n
        )
        lines.append((excerpt, line))
    return lines


def _reply_to(excerpt: Excerpt, excerpts: Sequence[Excerpt], asked: str | None) -> Excerpt:
    """The excerpt answering `excerpt` when it ends asking (the other speaker's turn right
    after it in the same session), else `excerpt` itself. Not when `excerpt` is said by the
    one the question asks about (`asked`: "what did my therapist suggest...?" is answered
    by the suggestion, even one put as a question) or holds the words quoted."""
    if excerpt.hit.exact or excerpt.who == asked or not ends_asking(excerpt.hit.text):
        return excerpt
    hit = excerpt.hit
    return next(
        (
            e
            for e in excerpts
            if e.hit.session_id == hit.session_id
            and e.hit.source == hit.source
            and e.hit.first_turn == hit.last_turn + 1
            and e.hit.speaker != hit.speaker
        ),
        excerpt,
    )


_ASKS_ABOUT_USER = re.compile(
    r"\b(?:did|have|had|do) i (?:say|said|mention|tell|talk|"
    r"describe|explain)|\bi (?:said|mentioned|told)\b",
    re.IGNORECASE,
)
_ASKS_ABOUT_THERAPIST = re.compile(r"\b(?:therapist|counsell?or|doctor|dr)\b", re.IGNORECASE)


def _asked_about(question: str) -> str | None:
    if _ASKS_ABOUT_THERAPIST.search(question):
        return "Therapist"
    if _ASKS_ABOUT_USER.search(question):
        return "You"
    return None
