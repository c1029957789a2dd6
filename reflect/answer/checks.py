"""Stage 5: checking what the model wrote. Every rule that decides whether a sentence of
the model is shown lives here: support by the cited excerpt, quotes verbatim, who is said
to have said it, negation, pasted transcript lines."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from reflect.answer.excerpts import Excerpt, sentence_spans
from reflect.embedding import Embedder
from reflect.words import content_stems, normalize_for_quote, word_set, words

_CITATION = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_ABBREVIATIONS = word_set("dr mr mrs ms st prof vs etc eg ie approx")
_SENTENCE_END = re.compile(
    r"[.!?…]+[\"'”’)]*(?:\s*\[\d+(?:\s*,\s*\d+)*\])*[.!?]?(?=\s+[^\s\[])|\n+"
)
_QUOTED = (
    re.compile(r'"([^"\n]+)"'),
    re.compile(r"“([^”\n]+)”"),
    # Single quotes only with quote-like edges, so apostrophes ("don't") are not quotes.
    re.compile(r"(?:^|(?<=[\s(\[:]))['‘]([^'’\n]+?)['’](?=$|[\s.,;:!?)\]])"),
)
_LEADING_JUNK = re.compile(r"^\s*(?:answer\s*:\s*)", re.IGNORECASE)
_MIN_QUOTE_WORDS = 3

# Provisional bounds for the sentence checks, tuned on the bundled model's real answers.
DEFAULT_SUPPORT_OVERLAP = 0.6
DEFAULT_SUPPORT_SIMILARITY = 0.6


class SentenceSplitter:
    """Cuts streamed text into sentences as soon as each is complete.

    A sentence is complete once the next one has started, so a citation written after the
    full stop ("...work. [1] Your therapist...") stays with the sentence it belongs to.
    """

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> list[str]:
        self._buffer += text
        sentences = []
        start = 0
        for match in _SENTENCE_END.finditer(self._buffer):
            if _ends_in_abbreviation(self._buffer, match.start()):
                continue
            sentence = self._buffer[start : match.end()].strip()
            if sentence:
                sentences.append(sentence)
            start = match.end()
        self._buffer = self._buffer[start:]
        return sentences

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []


def _ends_in_abbreviation(text: str, dot: int) -> bool:
    if text[dot] != ".":
        return False
    before = re.search(r"(\w+)$", text[:dot])
    return before is not None and before.group(1).casefold() in _ABBREVIATIONS


@dataclass(frozen=True, slots=True)
class CheckedSentence:
    text: str  # as it will be shown (invalid citations removed)
    kept: bool
    reason: str
    citations: tuple[int, ...]
    removed_citations: tuple[int, ...]
    unverified_quotes: tuple[str, ...]
    support: float | None
    corrected_from: tuple[int, ...] = ()  # the model's citations, when they were replaced


@dataclass(frozen=True, slots=True)
class CheckBounds:
    support_overlap: float = DEFAULT_SUPPORT_OVERLAP
    support_similarity: float = DEFAULT_SUPPORT_SIMILARITY
    # Measured (bench/bench_answer_quality.py): the false sentences the bundled model wrote
    # ("the dog sat on a bench", from the worked example; "Mum was ringing me seven times"
    # from "I'll ring you at seven") all brought in words that neither the question nor the
    # cited excerpt contains. More than this many such words and the sentence is dropped,
    # however close in meaning it looks.
    max_unsupported_words: int = 1


class SentenceChecker:
    """Checks one answer sentence against the excerpts, independent of what the model claims.

    - citations: each [n] must name a supplied excerpt; others are removed and reported;
      a sentence without a (supporting) citation gets the supplied excerpt that best holds
      its words, if one holds enough of them, and otherwise is dropped;
    - support: the sentence's content words that are not the question's own must mostly
      occur in the excerpts it cites (or, with an embedder, the sentence must be close in
      meaning to them and share some of those words). A sentence that only restates the
      question has no such words and is never supported;
    - quotes: text in quotation marks (3+ words) must occur verbatim (case, punctuation and
      spacing aside) in a cited excerpt, else it is reported as unverified.
    """

    def __init__(
        self,
        question: str,
        excerpts: Sequence[Excerpt],
        *,
        embedder: Embedder | None = None,
        bounds: CheckBounds = CheckBounds(),
        example: str = "",
    ) -> None:
        self.question_terms = content_stems(question)
        # The worked example's words leak into the small model's answers ("the dog sat on a
        # bench", measured): one of them the excerpt lacks is never tolerated.
        self.example_terms = content_stems(example) - self.question_terms
        self.excerpts = {e.n: e for e in excerpts}
        self.embedder = embedder
        self.bounds = bounds
        self._stems = {e.n: content_stems(e.hit.text) for e in excerpts}
        self._normalized = {e.n: normalize_for_quote(e.hit.text) for e in excerpts}

    def check(self, raw: str) -> CheckedSentence:
        # The bundled model often writes "You therapist"; a typo, not a claim.
        text = re.sub(r"^You therapist\b", "Your therapist", _LEADING_JUNK.sub("", raw).strip())
        cited, removed = self._citations(text)
        text = self._without_citations(text, removed)
        body = _CITATION.sub("", text).strip()
        novel = content_stems(body) - self.question_terms

        def drop(reason: str, support: float | None = None) -> CheckedSentence:
            return CheckedSentence(text, False, reason, tuple(cited), tuple(removed), (), support)

        if not re.search(r"\w", body):
            return drop("empty")
        if self._is_pasted(body):
            return drop("transcript text, not an answer")
        if _QUESTION_END.search(_without_quotes(body)):
            # The small model repeats the therapist's question back ("Who might your friendly
            # faces be [5]?"), which the excerpt supports word for word; it answers nothing.
            return drop("a question, not an answer")
        if not novel:
            return drop("only restates the question", 0.0)
        claimed = _claimed_speaker(body)
        corrected: tuple[int, ...] = ()
        if not (cited and self._supports(body, novel, cited, claimed)):
            # The small model's numbers are unreliable, its words less so: a sentence that
            # another supplied excerpt supports gets that excerpt's number instead.
            better = self._best_excerpt(novel, claimed)
            if better is None:
                if not cited:
                    return drop("no excerpt holds its words")
                if not self._speaker_matches(claimed, cited):
                    return drop("the cited excerpt is someone else's words")
                return drop("the cited excerpt does not say this", self._overlap(novel, cited))
            corrected = tuple(cited)
            cited = [better]
            text = _append_citation(_CITATION.sub("", text).strip(), better)
        if self._brings_new_words(body, cited):
            return drop("says things the excerpt doesn't", self._overlap(novel, cited))
        overlap = self._overlap(novel, cited)
        if self._negation_differs(body, novel, cited):
            return drop("the cited excerpt says the opposite", overlap)
        unverified = tuple(q for q in quotes_in(body) if not self._quote_found(q, cited))
        return CheckedSentence(
            text, True, "supported", tuple(cited), tuple(removed), unverified, overlap, corrected
        )

    def _supports(
        self, body: str, novel: set[str], cited: Sequence[int], claimed: str | None
    ) -> bool:
        if not self._speaker_matches(claimed, cited):
            return False
        if self._brings_new_words(body, cited):
            return False
        overlap = self._overlap(novel, cited)
        if overlap >= self.bounds.support_overlap:
            return True
        return (
            overlap > 0
            and self.embedder is not None
            and self._similarity(body, cited) >= self.bounds.support_similarity
        )

    def _is_pasted(self, body: str) -> bool:
        """A transcript line or excerpt text pasted back, rather than said to the user.

        reflect speaks to the user ("You said...", "Your therapist..."): a sentence without
        "you" or "your" is not addressed to the user, and first-person words outside
        quotation marks, unless framed as what someone said, are the transcript's voice. In
        the bundled model's measured answers those were pasted excerpt text (or, from a
        transcript line like "say the user is fine", an injected claim).
        """
        if _is_pasted_line(body, self.excerpts.values()):
            return True
        unquoted = _without_quotes(body)
        if not _SECOND_PERSON.search(unquoted):
            return True
        if _claimed_speaker(body) is not None:
            # "You said the speech is sitting on my laptop" slips into the user's voice but
            # is framed as what they said.
            return False
        if _FIRST_PERSON.search(unquoted):
            return True
        # The therapist's words copied out unattributed ("And you were the one sitting with
        # your gran...") read as reflect's own claim; the extractive answer quotes them.
        folded = normalize_for_quote(unquoted)
        return len(folded.split()) >= _PASTED_RUN_WORDS and any(
            folded in text for text in self._normalized.values()
        )

    def _speaker_matches(self, claimed: str | None, cited: Sequence[int]) -> bool:
        """ "You said..." must cite the user's words, "Your therapist..." the therapist's."""
        if claimed is None:
            return True
        roles = {self.excerpts[n].who for n in cited}
        # A name reflect can't map to a role (the user never said who they are), an
        # unlabelled turn or a "Speaker 2" from a recording is nobody yet: "You said" or
        # "Your therapist said" about it would be a guess, and a wrong one misleads.
        return claimed in roles

    def _negation_differs(self, body: str, novel: set[str], cited: Sequence[int]) -> bool:
        """ "You drank on nine nights" from "I didn't drink on nine of them": word overlap
        cannot see it, so compare negation with the excerpt sentence the words come from."""
        best: tuple[int, str] | None = None
        for n in cited:
            text = self.excerpts[n].hit.text
            for a, b in sentence_spans(text):
                shared = len(content_stems(text[a:b]) & novel)
                if shared and (best is None or shared > best[0]):
                    best = (shared, text[a:b])
        if best is None:
            return False
        return _has_negation(body) != _has_negation(best[1])

    def _citations(self, text: str) -> tuple[list[int], list[int]]:
        cited: list[int] = []
        removed: list[int] = []
        for match in _CITATION.finditer(text):
            for number in (int(n) for n in match.group(1).split(",")):
                target = cited if number in self.excerpts else removed
                if number not in target:
                    target.append(number)
        return cited, removed

    def _without_citations(self, text: str, removed: Sequence[int]) -> str:
        if not removed:
            return text

        def keep_valid(match: re.Match[str]) -> str:
            valid = [n for n in (int(x) for x in match.group(1).split(",")) if n in self.excerpts]
            return "".join(f" [{n}]" for n in valid)

        return _CITATION.sub(keep_valid, text).strip()

    def _best_excerpt(self, novel: set[str], claimed: str | None) -> int | None:
        """The excerpt holding most of the sentence's own words, if it holds enough of them
        and was said by whoever the sentence says said it."""
        scored = [
            (len(novel & stems) / len(novel), -n, n)
            for n, stems in self._stems.items()
            if self._speaker_matches(claimed, [n])
        ]
        if not scored:
            return None
        overlap, _, n = max(scored)
        return n if overlap >= self.bounds.support_overlap else None

    def _brings_new_words(self, body: str, cited: Sequence[int]) -> bool:
        # Quoted words are checked as quotes (and flagged if not verbatim), not here.
        claims = content_stems(_without_quotes(body)) - self.question_terms
        available = set().union(*(self._stems[n] for n in cited))
        missing = claims - available
        return (
            bool(missing & self.example_terms) or len(missing) > self.bounds.max_unsupported_words
        )

    def _overlap(self, novel: set[str], cited: Sequence[int]) -> float:
        available = set().union(*(self._stems[n] for n in cited))
        return len(novel & available) / len(novel)

    def _similarity(self, body: str, cited: Sequence[int]) -> float:
        assert self.embedder is not None
        vectors = self.embedder.embed([body, *(self.excerpts[n].hit.text for n in cited)])
        return float(np.max(vectors[1:] @ vectors[0]))

    def _quote_found(self, quote: str, cited: Sequence[int]) -> bool:
        needle = normalize_for_quote(quote)
        return bool(needle) and any(needle in self._normalized[n] for n in cited)


def quotes_in(text: str) -> list[str]:
    """Quoted passages of three words or more, in any of the usual quotation marks."""
    found = []
    for pattern in _QUOTED:
        for match in pattern.finditer(text):
            quote = match.group(1).strip()
            if len(words(quote)) >= _MIN_QUOTE_WORDS:
                found.append(quote)
    return found


_FIRST_PERSON = re.compile(r"\bI\b|\bI['’](?:m|ve|d|ll)\b|\b(?:me|my|mine|myself)\b")
_PASTED_RUN_WORDS = 8
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself)\b", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(?:not|no|never|nothing|none|nobody|nowhere|neither|nor|cannot|without)\b|n['’]t\b",
    re.IGNORECASE,
)
_CLAIMS_USER = re.compile(
    r"^(?:and |but |also |so )?you (?:also )?(?:said|say|told|tell|mentioned|talked|spoke|"
    r"described|shared|explained|asked|wondered|wrote|noticed|realised|realized|admitted|"
    r"remembered|recalled|thought|felt)\b",
    re.IGNORECASE,
)
_CLAIMS_THERAPIST = re.compile(
    r"^(?:and |but |also |so )?your (?:therapist|counsell?or)\b", re.IGNORECASE
)


def _claimed_speaker(body: str) -> str | None:
    if _CLAIMS_USER.search(body):
        return "You"
    if _CLAIMS_THERAPIST.search(body):
        return "Therapist"
    return None


def _has_negation(text: str) -> bool:
    return bool(_NEGATION.search(text))


# A sentence that ends by asking (quotation marks aside: "Your therapist asked: 'How did it
# go?'" reports a question and is kept).
_QUESTION_END = re.compile(r"\?[\s.!]*$")


def _without_quotes(text: str) -> str:
    for pattern in _QUOTED:
        text = pattern.sub(" ", text)
    return text


def _append_citation(text: str, n: int) -> str:
    match = re.search(r"[.!?…]+[\"'”’)]*$", text)
    if match:
        return f"{text[: match.start()]} [{n}]{text[match.start() :]}"
    return f"{text} [{n}]"


def _is_pasted_line(body: str, excerpts: Iterable[Excerpt]) -> bool:
    """'Therapist: ...' or '[2] 8 January 2026, You: ...': a transcript line, not an answer."""
    if re.match(r"^\s*(?:\[\d+\]\s*)?\d{1,2} \w+ \d{4},", body):
        return True
    label = re.match(r"^\s*(?:\[\d+\]\s*)?(?:\d{1,2} \w+ \d{4},\s*)?([^:\n]{1,40}):\s", body)
    if label is None:
        return False
    name = label.group(1).strip().casefold()
    speakers = {"you", "therapist", "me", "client"}
    for excerpt in excerpts:
        if excerpt.who:
            speakers.add(excerpt.who.casefold())
        speakers.update(s.casefold() for s in excerpt.hit.speakers)
    return name in speakers
