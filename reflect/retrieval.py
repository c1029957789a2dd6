"""Search: a query in, the exact stored words out.

`Retriever.search` combines word search (BM25) and meaning search (embeddings) by reciprocal
rank fusion, and turns the chunks found into `Hit`s: a verbatim excerpt `session.text[a:b]`,
where it is (session, date, speaker, time) and which words to highlight. Nothing in a hit is
generated or re-typed.

A query wholly in double quotes asks for those exact words: chunks containing them verbatim
come first, then the usual results for the same words.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from reflect.chunking import is_cjk, span_times, turn_at
from reflect.embedding import Embedder
from reflect.index import NO_FILTERS, STOPWORDS, ChunkMatch, Filters, SearchIndex
from reflect.rerank import (
    FirstStage,
    LinearRanker,
    candidate_features,
    speaker_closeness,
    turn_overlaps,
)
from reflect.session import Session, StoredTurn
from reflect.sources import page_of
from reflect.understanding import Understood, understand
from reflect.words import content_stems, stem, words

__all__ = ["Filters", "Hit", "Mode", "Retriever", "expand_to_turns"]

Mode = Literal["hybrid", "lexical", "vector"]

DEFAULT_K_RRF = 60.0
DEFAULT_CANDIDATES = 40
# The model reads ~256 word pieces; a longer query only costs tokenizing time.
MAX_QUERY_CHARS_FOR_EMBEDDING = 2000
# About one full chunk: enough to complete a turn split in two, not to pull in a whole
# monologue around a piece of it.
DEFAULT_MAX_EXCERPT_CHARS = 1000
# Verbatim matches of a quoted phrase rank above everything else; this marks them in `score`.
EXACT_MATCH_SCORE = 1.0
# Every place that holds a quoted phrase comes first, up to this many.
EXACT_MATCH_LIMIT = 20
DEFAULT_RERANK_DEPTH = 40
# The second stage multiplies a candidate's fused score by 1 + this times its speaker match
# (0..1). 0.3, 0.5 and 1.0 measured on the dev questions: 0.5 and 1.0 level, 0.3 lower.
RERANK_SPEAKER = 0.5
# When word search's best chunks hold little of what the question asks about (its rarer words
# weigh more), the words were said differently and meaning search is the better guide: its
# list then counts up to 1 + this as much in the fusion (0 when a top chunk holds every
# word). 0.5 and 0.75 measured on the dev questions; 0.75 lost 0.05 on the therapist's words.
LEXICAL_DOUBT = 0.5
# How many of word search's first chunks are read for that.
LEXICAL_DOUBT_DEPTH = 3
# Asked what the user said, meaning search reads the question's content as the index embeds
# the user's turns ("<label>: <content>", reflect.chunking.embedding_text) mixed with the plain
# content, this share labelled: without "I said" (framing) the content no longer leans to the
# user's turns. Pooled over the v2 dev, v3 and v4 AnnoMI sets (149 paraphrases) R@5 117 -> 121,
# therapist equal, no set losing more than one question at 5 (the demo's date questions 4 -> 3
# of 6). 0.5: equal; 1.0 (the labelled text alone): equal pooled, demo paraphrase -1 (bench/
# README.md, #15 fourth round).
USER_LABEL_IN_MEANING = 0.3
# The learned stage also reads chunks the fusion left out: of the first SENTENCE_SEARCH_DEPTH
# of word search's and of meaning search's lists, the SENTENCE_CANDIDATES whose closest
# sentence is closest to the question join its candidates. Of the 55 dev questions (AnnoMI
# v2-v9) whose right excerpt was not among the 40 candidates, 29 had it among those: a
# chunk's vector averages its turns, so one answering sentence in a long chunk ranks low
# by meaning (bench/README.md, #15 "Eighth round"). About 2 candidates more a question.
SENTENCE_SEARCH_DEPTH = 200
SENTENCE_CANDIDATES = 20
# Words typed without quotes that the sessions hold verbatim in at most this many chunks, over
# at least VERBATIM_RUN_WORDS words (two of them not stopwords), are found like quoted words:
# someone who remembers the exact words does not always put them in quotes ("too much sugar in
# the tank, when did I say that"). A rarer run is what they remember, not a turn of phrase.
VERBATIM_RUN_WORDS = 5
VERBATIM_RUN_CONTENT_WORDS = 2
VERBATIM_RUN_MAX_CHUNKS = 2


@dataclass(slots=True)
class Hit:
    """One search result. `text == session.text[char_start:char_end]`, always.

    `score`: higher is better, comparable within one search only (fused rank score for hybrid,
    -BM25 for lexical, cosine similarity for vector, EXACT_MATCH_SCORE for verbatim matches of
    a quoted phrase, which also have `exact=True`). `match_spans` are offsets into `text`.
    """

    rank: int
    score: float
    session_id: str
    session_title: str
    session_date: dt.date
    source_file: str
    speaker: str | None
    start: float | None
    end: float | None
    text: str
    char_start: int
    char_end: int
    first_turn: int
    last_turn: int
    match_spans: list[tuple[int, int]] = field(default_factory=list)
    exact: bool = False
    chunk_index: int = 0
    # The whole chunk that matched, which can be wider than `text` (a speaker-filtered excerpt
    # is one turn of it): deciding whether the sessions answer a question reads this.
    chunk_text: str = ""
    # What it is from: "session", or the user's "note", or a "handout" (reflect.sources says
    # how each is cited); a handout's hit has the page it starts on.
    source: str = "session"
    page: int | None = None

    @property
    def speakers(self) -> list[str]:
        """The speaker labels in `speaker`, which holds them joined (`_hit_speaker`)."""
        return [s.strip() for s in self.speaker.split(",")] if self.speaker else []


class Retriever:
    def __init__(
        self,
        index: SearchIndex,
        embedder: Embedder | None,
        *,
        k_rrf: float = DEFAULT_K_RRF,
        lexical_weight: float = 1.0,
        vector_weight: float = 1.0,
        candidates: int = DEFAULT_CANDIDATES,
        max_excerpt_chars: int = DEFAULT_MAX_EXCERPT_CHARS,
        me_labels: frozenset[str] = frozenset(),
        rerank_depth: int = DEFAULT_RERANK_DEPTH,
        learned: LinearRanker | None = None,
    ) -> None:
        """`embedder` may be None (model not loaded yet): every mode then searches words."""
        self.index = index
        self.embedder = embedder
        self.k_rrf = k_rrf
        self.lexical_weight = lexical_weight
        self.vector_weight = vector_weight
        self.candidates = candidates
        self.max_excerpt_chars = max_excerpt_chars
        self.me_labels = me_labels
        self.rerank_depth = rerank_depth
        # The learned second stage (reflect/rerank.py), after the speaker preference; None
        # keeps the order as it is.
        self.learned = learned

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        filters: Filters = NO_FILTERS,
        mode: Mode = "hybrid",
        as_typed: bool = False,
        understood: Understood | None = None,
    ) -> list[Hit]:
        """The `k` best excerpts for `query`, best first.

        The query is read first (`reflect.understanding`): words in quotes are found verbatim
        and ranked above everything else (every place that holds them); the framing of a
        question ("when did I say", "which session was that") is not searched; words typed
        without quotes that a session holds verbatim, rarely, count as quoted
        (`verbatim_runs`); who said it
        ("my counsellor said", "did I tell") is preferred, not filtered; with `learned` set,
        the first candidates are then re-scored by it (reflect/rerank.py), after the verbatim
        matches, which stay first. `as_typed` searches
        the words exactly as given, as before any of this (for comparisons and for a user
        who clears what was understood). `understood`: the question already read (answering
        reads it further, e.g. completes a follow-up from the conversation); `query` is then
        what to search.
        """
        if mode not in ("hybrid", "lexical", "vector"):
            raise ValueError(f"unknown search mode {mode!r}")
        query = query.strip()
        if not query or k <= 0 or self.index.chunk_count == 0 or filters.allows_nothing():
            return []
        if understood is not None:
            understood = dataclasses.replace(understood, content=query)
        elif not as_typed:
            understood = understand(query)
        if understood is None:
            whole = quoted_phrase(query)
            phrases: tuple[str, ...] = (whole,) if whole is not None else ()
            words = whole if whole is not None else query
        else:
            phrases = understood.phrases
            words = understood.search_text
            if not phrases:
                phrases = tuple(verbatim_runs(self.index, understood.question, filters))
        exact: list[ChunkMatch] = []
        for phrase in phrases:
            exact.extend(self.index.phrase_search(phrase, max(k, EXACT_MATCH_LIMIT), filters))
        seen: set[tuple[str, int]] = set()
        ranked: list[tuple[ChunkMatch, float, bool]] = []
        for m in exact:
            if m.key not in seen:
                seen.add(m.key)
                ranked.append((m, EXACT_MATCH_SCORE, True))
        stage = self._first_stage(
            words,
            k,
            filters,
            mode,
            adaptive=understood is not None,
            user_label=self._user_label(understood),
            # Not under a filter: a filtered meaning search 200 deep falls back to chromadb's
            # own filtered search, which took seconds at 50,000 chunks (bench/README.md, #15
            # "Eighth round"); a filter narrows the vault the 40 candidates are drawn from.
            deeper=self.learned is not None
            and understood is not None
            and mode == "hybrid"
            and filters == NO_FILTERS,
        )
        candidates = stage.fused
        if understood is not None and mode == "hybrid":
            candidates = self._rerank(understood, candidates)
            # Fitted with both lists: not while meaning search is still loading.
            if self.learned is not None and stage.vector:
                candidates = self._learned_rerank(self.learned, understood, stage, candidates)
        for match, score in candidates:
            if len(ranked) >= k:
                break
            if match.key not in seen:
                seen.add(match.key)
                ranked.append((match, score, False))
        return [
            self._hit(rank, match, score, words, filters, exact=is_exact)
            for rank, (match, score, is_exact) in enumerate(ranked[:k], start=1)
        ]

    def _rerank(
        self, understood: Understood, candidates: list[tuple[ChunkMatch, float]]
    ) -> list[tuple[ChunkMatch, float]]:
        """Second stage: read the first-stage candidates for who said what.

        A candidate gains as far as the person the question names ("what did my counsellor
        say...") said what it shares with the question (`_speaker_closeness`). A preference,
        not a filter: the other side's turns stay in. Measured alternatives that did not help
        (bench/README.md, "Find the moment"): the share of the question's words in the best
        turn (lost 0.19 R@5 on the demo's paraphrases), and a third list from each turn
        embedded on its own (+0.05 on paraphrases, -0.08 on the therapist's words, and twice
        the embedding at import).
        """
        prefer = self._preferred_speakers(understood)
        pool = candidates[: self.rerank_depth]
        if prefer is None or not pool:
            return candidates
        terms = self.term_weights(understood.content)
        rescored = []
        for position, (match, score) in enumerate(pool, start=1):
            fused = 1.0 / (self.k_rrf + position)
            bonus = RERANK_SPEAKER * _speaker_closeness(
                match, terms, prefer, by_share=understood.speaker == "other"
            )
            rescored.append((fused * (1.0 + bonus), position, match, score))
        rescored.sort(key=lambda item: (-item[0], item[1]))
        return [(m, s) for _, _, m, s in rescored] + candidates[self.rerank_depth :]

    def _learned_rerank(
        self,
        ranker: LinearRanker,
        understood: Understood,
        stage: FirstStage,
        candidates: list[tuple[ChunkMatch, float]],
    ) -> list[tuple[ChunkMatch, float]]:
        """The learned second stage (reflect/rerank.py) over the first `rerank_depth` and
        the chunks with the closest sentences (`sentence_candidates`)."""
        pool = self.learned_pool(stage, candidates)
        if len(pool) < 2:
            return candidates
        features = self.candidate_features(understood, stage, [m for m, _ in pool])
        taken = {m.key for m, _ in pool}
        rest = [c for c in candidates[self.rerank_depth :] if c[0].key not in taken]
        return [pool[i] for i in ranker.order(features)] + rest

    def learned_pool(
        self, stage: FirstStage, candidates: list[tuple[ChunkMatch, float]]
    ) -> list[tuple[ChunkMatch, float]]:
        """What the learned stage orders: the first `rerank_depth` of `candidates`, then the
        chunks with the closest sentences that are not among them (with their fused score,
        0 when the fusion did not list them)."""
        pool = candidates[: self.rerank_depth]
        taken = {m.key for m, _ in pool}
        fused = {m.key: score for m, score in candidates}
        extra = [m for m in self.sentence_candidates(stage) if m.key not in taken]
        return pool + [(m, fused.get(m.key, 0.0)) for m in extra]

    def sentence_candidates(self, stage: FirstStage) -> list[ChunkMatch]:
        """Of the chunks further down both first-stage lists, the SENTENCE_CANDIDATES whose
        closest sentence is closest to the question, closest first."""
        if not stage.deeper or stage.query_vector is None:
            return []
        cosines = self.index.best_sentence_cosines(stage.deeper, stage.query_vector)
        known = [(c, i) for i, c in enumerate(cosines) if c is not None]
        known.sort(key=lambda item: (-item[0], item[1]))
        return [stage.deeper[i] for _, i in known[:SENTENCE_CANDIDATES]]

    def candidate_features(
        self, understood: Understood, stage: FirstStage, pool: Sequence[ChunkMatch]
    ) -> npt.NDArray[np.float64]:
        """The learned stage's signals (reflect.rerank.FEATURES) of each of `pool`, in the
        current order; bench/fit_rerank.py fits the weights on these very rows."""
        me = self.me_labels
        sentences = (
            self.index.best_sentence_cosines(pool, stage.query_vector)
            if stage.query_vector is not None
            else []
        )
        return candidate_features(
            pool,
            stage,
            self.term_weights(understood.content),
            speaker=understood.speaker,
            prefer=self._preferred_speakers(understood),
            is_user=lambda speaker: speaker in me,
            sentences=sentences,
        )

    def term_weights(self, text: str) -> dict[str, float]:
        """The content stems of `text`, each weighed by how rare its word is among the chunks
        (inverse chunk frequency): "soccer" tells passages apart, "want" hardly does."""
        by_stem: dict[str, str] = {}
        for word in words(text):
            for term in content_stems(word):
                by_stem.setdefault(term, word)
        if not by_stem:
            return {}
        total = max(1, self.index.chunk_count)
        counts = self.index.chunk_frequencies(list(by_stem.values()))
        return {t: math.log(1.0 + total / (1.0 + counts.get(w, 0))) for t, w in by_stem.items()}

    def _preferred_speakers(self, understood: Understood) -> Callable[[str | None], bool] | None:
        me = self.me_labels
        if understood.speaker is None or not me:
            return None  # nobody said which speaker is the user: no side can be preferred
        if understood.speaker == "me":
            return lambda speaker: speaker in me
        return lambda speaker: speaker is not None and speaker not in me

    def _user_label(self, understood: Understood | None) -> str | None:
        """The user's speaker label when the question is about what they said (the first of
        several, sorted, so that a search is repeatable)."""
        if understood is None or understood.speaker != "me" or not self.me_labels:
            return None
        return sorted(self.me_labels)[0]

    def _query_vector(self, query: str, user_label: str | None) -> npt.NDArray[np.float32]:
        """The meaning query: `query`, or (what the user said) `query` leaning to the user's
        turns as they were embedded (USER_LABEL_IN_MEANING). One call embeds both."""
        assert self.embedder is not None
        text = query[:MAX_QUERY_CHARS_FOR_EMBEDDING]
        if user_label is None:
            return np.asarray(self.embedder.embed([text])[0], dtype=np.float32)
        plain, labelled = self.embedder.embed([text, f"{user_label}: {text}"])
        mixed = (1.0 - USER_LABEL_IN_MEANING) * plain + USER_LABEL_IN_MEANING * labelled
        norm = float(np.linalg.norm(mixed))
        return np.asarray(mixed / norm if norm else plain, dtype=np.float32)

    def _first_stage(
        self,
        query: str,
        k: int,
        filters: Filters,
        mode: Mode,
        *,
        adaptive: bool = False,
        user_label: str | None = None,
        deeper: bool = False,
    ) -> FirstStage:
        """First stage: word search and meaning search on `query`, fused. (The question's
        framing is already gone: searching meaning on the whole question instead lost 0.05
        R@5 on the demo's exact quotes and gained nothing on AnnoMI.) `adaptive`: meaning
        search counts more when word search's best chunks miss the question's words
        (LEXICAL_DOUBT). `user_label`: the question is about what the user said, whose turns
        the index embedded with this label (`_query_vector`). `deeper`: also keep the
        chunks further down both lists (`FirstStage.deeper`), for the learned stage."""
        # Twice k: a quoted search drops the chunks already listed as verbatim matches.
        pool = max(2 * k, self.candidates)
        if mode == "lexical" or self.embedder is None or self.index.vector_count == 0:
            # Until vectors are loaded every mode searches words: something beats nothing.
            found = self.index.lexical_search(query, pool, filters)
            return FirstStage(found, (), [(m, m.score) for m in found])
        query_vector = self._query_vector(query, user_label if mode == "hybrid" else None)
        # The learned stage looks further down both lists for close sentences: one search
        # each, the first `pool` of which are the lists as fused.
        depth = max(pool, SENTENCE_SEARCH_DEPTH) if deeper else pool
        vector_deep = self.index.vector_search(query_vector, depth, filters)
        vector = vector_deep[:pool]
        if mode == "vector":
            return FirstStage((), vector, [(m, m.score) for m in vector], query_vector)
        lexical_deep = self.index.lexical_search(query, depth, filters)
        lexical = lexical_deep[:pool]
        further = _distinct([*lexical_deep, *vector_deep]) if deeper else []
        if not adaptive:
            fused = self._fuse(lexical, vector)
            return FirstStage(lexical, vector, fused, query_vector, further)
        doubt = 1.0 - self._lexical_coverage(query, lexical[:LEXICAL_DOUBT_DEPTH])
        fused = self._fuse(
            lexical, vector, vector_weight=self.vector_weight * (1.0 + LEXICAL_DOUBT * doubt)
        )
        return FirstStage(lexical, vector, fused, query_vector, further)

    def _lexical_coverage(self, query: str, found: Sequence[ChunkMatch]) -> float:
        """The most of the query's content (its stems weighed by rarity) that one of `found`
        holds: 1 when a chunk holds every word, 0 when none holds any."""
        weights = self.term_weights(query)
        total = sum(weights.values())
        if not total:
            return 1.0  # nothing to look for by word: word search is not in doubt
        best = 0.0
        for match in found:
            chunk = match.chunk
            said = {stem(w) for w in words(match.session.text[chunk.char_start : chunk.char_end])}
            best = max(best, sum(v for t, v in weights.items() if t in said) / total)
        return best

    def _fuse(
        self,
        lexical: Sequence[ChunkMatch],
        vector: Sequence[ChunkMatch],
        *,
        vector_weight: float | None = None,
    ) -> list[tuple[ChunkMatch, float]]:
        """Reciprocal rank fusion: each list adds weight / (k_rrf + rank) to a chunk's score.

        Ranks rather than scores, because BM25 and cosine similarity live on unrelated scales.
        Ties go to the better word-search rank: exact words are the easier result to trust.
        """
        scores: dict[tuple[str, int], float] = {}
        matches: dict[tuple[str, int], ChunkMatch] = {}
        lexical_rank: dict[tuple[str, int], int] = {}
        meaning = self.vector_weight if vector_weight is None else vector_weight
        for weight, ranked in ((self.lexical_weight, lexical), (meaning, vector)):
            for rank, match in enumerate(ranked, start=1):
                scores[match.key] = scores.get(match.key, 0.0) + weight / (self.k_rrf + rank)
                matches.setdefault(match.key, match)
        for rank, match in enumerate(lexical, start=1):
            lexical_rank[match.key] = rank
        order = sorted(scores, key=lambda key: (-scores[key], lexical_rank.get(key, 1 << 30)))
        return [(matches[key], scores[key]) for key in order]

    def hit(
        self, rank: int, match: ChunkMatch, score: float, query: str, filters: Filters = NO_FILTERS
    ) -> Hit:
        """A chunk found some other way (a timeline, a recap) as a hit, exactly as search
        would show it: widened to whole turns, `query`'s words highlighted."""
        return self._hit(rank, match, score, query, filters, exact=False)

    def _hit(
        self,
        rank: int,
        match: ChunkMatch,
        score: float,
        query: str,
        filters: Filters,
        *,
        exact: bool,
    ) -> Hit:
        session, chunk = match.session, match.chunk
        a, b = expand_to_turns(
            session, chunk.char_start, chunk.char_end, max_chars=self.max_excerpt_chars
        )
        spans = (
            list(match.match_spans)
            if exact
            else self.index.term_spans(query, session.id, chunk.index)
        )
        spans = [(max(s, a), min(e, b)) for s, e in spans if s < b and e > a]
        if filters.speakers is not None:
            a, b = _own_turn(session, a, b, spans, filters.speakers)
            spans = [(max(s, a), min(e, b)) for s, e in spans if s < b and e > a]
        return span_hit(
            session,
            a,
            b,
            rank=rank,
            score=score,
            spans=spans,
            exact=exact,
            chunk_index=chunk.index,
            chunk_text=session.text[chunk.char_start : chunk.char_end],
        )


def _distinct(matches: Sequence[ChunkMatch]) -> list[ChunkMatch]:
    """`matches` without repeats, in their order."""
    first: dict[tuple[str, int], ChunkMatch] = {}
    for m in matches:
        first.setdefault(m.key, m)
    return list(first.values())


def verbatim_runs(index: SearchIndex, question: str, filters: Filters = NO_FILTERS) -> list[str]:
    """Runs of the question's words, typed without quotes, that some session holds word for
    word and rarely (VERBATIM_RUN_*): each grown as long as a chunk still holds it. On the v4
    AnnoMI set the two exact-quote questions typed without quotes were 9th and 15th; with
    this, first (pooled quotes 58/60 -> 60/60 at 5, no paraphrase or therapist question lost at
    5 on any set)."""
    tokens = question.split()
    runs: list[str] = []
    i = 0
    while i + VERBATIM_RUN_WORDS <= len(tokens):
        window = tokens[i : i + VERBATIM_RUN_WORDS]
        content = [t for t in window if t.casefold().strip(",.?!;:'\"") not in STOPWORDS]
        found = (
            index.phrase_search(" ".join(window), VERBATIM_RUN_MAX_CHUNKS + 1, filters)
            if len(content) >= VERBATIM_RUN_CONTENT_WORDS
            else []
        )
        if not 1 <= len(found) <= VERBATIM_RUN_MAX_CHUNKS:
            i += 1
            continue
        j = i + VERBATIM_RUN_WORDS
        while j < len(tokens) and index.phrase_search(" ".join(tokens[i : j + 1]), 1, filters):
            j += 1
        runs.append(" ".join(tokens[i:j]).strip(" ,.;:!?…—-\"'"))
        i = j
    return runs


def _speaker_closeness(
    match: ChunkMatch,
    weights: dict[str, float],
    prefer: Callable[[str | None], bool],
    *,
    by_share: bool = False,
) -> float:
    """How much the chunk is the preferred side saying what the question asks about, 0..1:
    the question's words (weighed by rarity) in that side's best turn, over those in anyone's
    best turn. 1 when it says as much as anyone: a therapist who reflects the client's words
    back does not take the moment from the client (as "whose turn holds the most words" did:
    dev paraphrase R@5 +0.05 over that). No turn holding any: 0.5 if the side speaks.

    `by_share` (asked what the other person said): when no turn holds any of the question's
    words, the share of the chunk's text that side speaks decides instead, since what a
    therapist explains is often worded unlike the question ("how long until the
    antidepressant works" for "four to six weeks"). Only then: averaged in always, it put a
    chunk the therapist speaks alone above the moment the question names whenever the
    client also spoke in it (fresh v3 therapist R@1 0.61 -> 0.42; bench/README.md, third
    round). Not for the user's own words: their turns are short beside the reflections, and
    the share put the wrong chunk first (dev paraphrase R@1 0.74 -> 0.50).
    """
    return speaker_closeness(turn_overlaps(match, weights), prefer, by_share=by_share)


def span_hit(
    session: Session,
    a: int,
    b: int,
    *,
    rank: int = 1,
    score: float = 0.0,
    spans: Sequence[tuple[int, int]] = (),
    exact: bool = False,
    chunk_index: int = 0,
    chunk_text: str | None = None,
) -> Hit:
    """`session.text[a:b]` as a Hit: its turns, who spoke (who said the matched `spans`, else
    everyone in it) and when. Search results and the views built without a search (a recap's
    moments, an agreement's words) are all made here, so they look and cite alike."""
    first_turn, last_turn = _turn_range(session, a, b)
    start, end = span_times(session, a, b)
    return Hit(
        rank=rank,
        score=score,
        session_id=session.id,
        session_title=session.title,
        session_date=session.date,
        source_file=session.source_file,
        speaker=_hit_speaker(session, spans, first_turn, last_turn),
        start=start,
        end=end,
        text=session.text[a:b],
        char_start=a,
        char_end=b,
        first_turn=first_turn,
        last_turn=last_turn,
        match_spans=[(s - a, e - a) for s, e in spans],
        exact=exact,
        chunk_index=chunk_index,
        chunk_text=session.text[a:b] if chunk_text is None else chunk_text,
        source=session.kind,
        page=page_of(session, first_turn),
    )


def _own_turn(
    session: Session,
    a: int,
    b: int,
    spans: Sequence[tuple[int, int]],
    speakers: frozenset[str],
) -> tuple[int, int]:
    """ "What did *I* say": the excerpt narrows to one of the chosen speaker's turns.

    The turn holding the most matched words wins (the first such turn was often a short aside
    while the answering turn came later in the chunk); with no matched words, the longest of
    them, which is where a chunk's meaning mostly sits.
    """
    own = [
        t for t in session.turns if t.speaker in speakers and t.char_start < b and t.char_end > a
    ]
    if not own:
        return a, b

    def weight(turn: StoredTurn) -> tuple[int, int]:
        hits = sum(1 for s, _ in spans if turn.char_start <= s < turn.char_end)
        return hits, min(b, turn.char_end) - max(a, turn.char_start)

    best = max(own, key=weight)
    return max(a, best.char_start), min(b, best.char_end)


def quoted_phrase(query: str) -> str | None:
    """The words inside a query that is wholly in double quotes ("..." or “...”), else None."""
    query = query.strip()
    if len(query) >= 2 and query[0] in '"“' and query[-1] in '"”':
        inner = query[1:-1].strip()
        if inner and '"' not in inner:
            return inner
    return None


def expand_to_turns(
    session: Session,
    char_start: int,
    char_end: int,
    *,
    max_chars: int = DEFAULT_MAX_EXCERPT_CHARS,
) -> tuple[int, int]:
    """Widen a span of `session.text` to the whole turns it touches, without cutting a word.

    Each side is widened to its turn's boundary if the excerpt stays within `max_chars` (so a
    chunk that is a piece of a long monologue stays that piece). Whatever the limit, an edge
    never falls inside a word, and the excerpt never starts or ends with white space.
    """
    text = session.text
    if not session.turns:
        return char_start, char_end
    first = turn_at(session, char_start)
    last = turn_at(session, max(char_start, char_end - 1))
    assert first is not None and last is not None
    a, b = max(char_start, first.char_start), min(char_end, last.char_end)
    if first.char_start < a and b - first.char_start <= max_chars:
        a = first.char_start
    if last.char_end > b and last.char_end - a <= max_chars:
        b = last.char_end
    while a > first.char_start and not _is_word_boundary(text, a):
        a -= 1
    while b < last.char_end and not _is_word_boundary(text, b):
        b += 1
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _is_word_boundary(text: str, pos: int) -> bool:
    if pos <= 0 or pos >= len(text):
        return True
    before, after = text[pos - 1], text[pos]
    return before.isspace() or after.isspace() or is_cjk(before) or is_cjk(after)


def _turn_range(session: Session, a: int, b: int) -> tuple[int, int]:
    first = turn_at(session, a)
    last = turn_at(session, max(a, b - 1))
    if first is None or last is None:
        return 0, 0
    return first.index, last.index


def _speaker_at(session: Session, pos: int) -> str | None:
    turn = turn_at(session, pos)
    return turn.speaker if turn is not None else None


def _hit_speaker(
    session: Session, spans: Sequence[tuple[int, int]], first_turn: int, last_turn: int
) -> str | None:
    """Who said the matched words; everyone in the excerpt when no word matched."""
    if spans:
        speakers = [_speaker_at(session, s) for s, _ in spans]
    else:
        speakers = [t.speaker for t in session.turns[first_turn : last_turn + 1]]
    labelled = list(dict.fromkeys(s for s in speakers if s is not None))
    return ", ".join(labelled) if labelled else None
