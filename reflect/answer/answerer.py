"""The Answerer: runs the stages of answering a question, in order.

1. read the question (question.py, reflect.understanding) and search (reflect.retrieval);
2. decide whether the sessions hold an answer (evidence.py);
3. build the excerpts (excerpts.py); scope and safety (scope.py);
4. compose: for the kinds of question the system answers itself, from evidence
   (compose.py, and one module per kind: next_session.py, who.py, followups.py, across.py,
   outcome.py, recap.py); for the rest, the model's short answer or the extractive one from
   the excerpts (model_answer.py);
5. check every sentence and quote the model wrote (checks.py);
then report through events (results.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from reflect.answer.absent import never_mentioned, nothing_about
from reflect.answer.across import answer_across
from reflect.answer.compose import AcrossSessions, AnswerServices, within
from reflect.answer.conversation import Conversation, quotes_someone
from reflect.answer.events import EventDate, date_of_event, sessions_naming
from reflect.answer.evidence import Evidence, decide_found, question_closeness
from reflect.answer.excerpts import Excerpt, build_excerpts
from reflect.answer.followups import answer_reply, answer_when
from reflect.answer.model_answer import ModelWriter, extractive_lines
from reflect.answer.next_session import answer_next_session
from reflect.answer.outcome import answer_outcome
from reflect.answer.question import (
    AskedQuestion,
    SessionDate,
    read_question,
    says_nothing_of_its_own,
)
from reflect.answer.recap import answer_agreements, answer_recap
from reflect.answer.results import (
    Answer,
    AnswerDone,
    AnswerSettings,
    AnswerStarted,
    AnswerToken,
    EventCallback,
    Prepared,
    Timings,
    ms_since,
)
from reflect.answer.scope import is_scope_request
from reflect.answer.suggestion import answer_suggestion, asks_for_suggestion
from reflect.answer.who import answer_who
from reflect.embedding import Embedder
from reflect.errors import ReflectError
from reflect.index import NO_FILTERS, Filters
from reflect.llm import ChatModel
from reflect.prompt_templates import Prompts, validate_prompts
from reflect.retrieval import Hit, Retriever
from reflect.session import SESSION, Session
from reflect.speakers import DEFAULT_ME_LABELS, DEFAULT_THERAPIST_LABELS
from reflect.understanding import asks_what_someone_else_said
from reflect.words import DATE_WORDS, stem, words

ModelFactory = Callable[[], ChatModel]


class Answerer:
    """Answers questions from the sessions in `retriever`, with the model from `model_factory`.

    The model is created on the first question that needs it and kept. Prompt files are
    checked when the Answerer is created. One question at a time per Answerer; `cancel()` may
    be called from any thread.
    """

    def __init__(
        self,
        retriever: Retriever,
        embedder: Embedder | None,
        model_factory: ModelFactory,
        *,
        me_labels: Sequence[str] = DEFAULT_ME_LABELS,
        therapist_labels: Sequence[str] = DEFAULT_THERAPIST_LABELS,
        region: str | None = None,
        settings: AnswerSettings = AnswerSettings(),
        prompts: Prompts | None = None,
        session_dates: Callable[[], Sequence[SessionDate]] | None = None,
        across: AcrossSessions | None = None,
        today: Callable[[], dt.date] = dt.date.today,
        shown_order: Retriever | None = None,
    ) -> None:
        """`session_dates` lets questions name a session by time ("last time", "on 16
        October"); `across` answers "how often / first / last" from the sessions that
        mention a theme. Without them those questions are answered as plain searches.
        `shown_order`: the search whose order the moments of a found answer are shown and
        cited in (the learned second stage, reflect/rerank.py); whether the sessions hold an
        answer is still decided on `retriever`'s order, which "couldn't find that" was
        calibrated on (the learned order, deciding too, let more absent questions through:
        bench/README.md, #15 fifth round)."""
        self.shown_order = shown_order
        self.session_dates = session_dates or (lambda: ())
        self.across = across
        self.today = today
        self.retriever = retriever
        self.embedder = embedder
        self.model_factory = model_factory
        self.me_labels = tuple(me_labels)
        self.therapist_labels = tuple(therapist_labels)
        self.region = region
        self.settings = settings
        self.prompts = prompts if prompts is not None else validate_prompts()
        self._model: ChatModel | None = None
        self._model_lock = threading.Lock()
        self._cancelled = threading.Event()

    # -- public ---------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop the answer being written; it is returned with `cancelled=True`."""
        self._cancelled.set()
        model = self._model
        if model is not None:
            model.cancel()

    def load_model(self) -> ChatModel:
        """The chat model, created on first call (the UI may call this early, in the
        background, to hide the load time)."""
        with self._model_lock:
            if self._model is None:
                self._model = self.model_factory()
            return self._model

    def read(self, question: str, conversation: Conversation | None = None) -> AskedQuestion:
        """Stage 1: the question as reflect will answer it (kind, topic, time, follow-up)."""
        return read_question(
            question,
            today=self.today(),
            sessions=self.session_dates(),
            previous=conversation.last if conversation is not None else None,
            others=[label for label in self.therapist_labels if label not in self.me_labels],
            events=self._event_date,
        )

    def _event_date(self, event: str) -> EventDate | None:
        """When an event a question names was ("before the wedding"), from the sessions."""
        index = self.retriever.index
        sessions = self._held_sessions()

        def holding(word: str, most: int) -> list[str]:
            return [m.session.id for m in index.lexical_search(word, most)]

        return date_of_event(event, sessions_naming(event, sessions, holding))

    def prepare(
        self, question: str, *, filters: Filters = NO_FILTERS, asked: AskedQuestion | None = None
    ) -> Prepared:
        """Everything decided before (and without) the model: search, evidence, excerpts,
        scope and safety. Takes milliseconds; `ask` starts with it."""
        began = time.perf_counter()
        question = " ".join(question.split())
        hits = self._search(question, filters, asked) if question else []
        retrieval_ms = ms_since(began)
        judged = _without_speaker(question, asked)
        if (
            asked is not None
            and asked.followup
            and asked.topic
            and says_nothing_of_its_own(question)
        ):
            # "when do I start?" says nothing of its own: what it is about is the topic the
            # conversation completed it with ("start ... the head of department job").
            judged = f"{question} {asked.topic}"
        evidence = self._decide(judged, hits, filters)
        if evidence.found and self.shown_order is not None and question:
            hits = self._search(question, filters, asked, retriever=self.shown_order)
        excerpts = self._excerpts(judged, hits) if evidence.found else []
        # The hits the user will see: those behind the excerpts, or all as "closest".
        shown = [h for h in hits if any(within(e.hit, h) for e in excerpts)] if excerpts else hits
        return Prepared(
            question=question,
            hits=list(hits),
            evidence=evidence,
            excerpts=excerpts,
            scope_redirect=is_scope_request(question),
            safety_message=self._safety_message(question, shown),
            retrieval_ms=retrieval_ms,
        )

    def ask(
        self,
        question: str,
        *,
        filters: Filters = NO_FILTERS,
        on_event: EventCallback | None = None,
        conversation: Conversation | None = None,
    ) -> Answer:
        """Answer `question`; `on_event` gets AnswerStarted, AnswerToken..., AnswerDone.

        With a `conversation`, the question may lean on the ones before it ("did I keep
        it?"), and is added to it. Raises a ReflectError (after AnswerStarted) when the chat
        model cannot be loaded.
        """
        self._cancelled.clear()
        emit = on_event or (lambda event: None)
        began = time.perf_counter()
        asked = self.read(question, conversation)
        placed = _placed_in_time(filters, asked)
        answer = self._answer(
            question, asked, placed, emit, began, widened=_widened(filters, asked)
        )
        # (A question placed in time and answered around it says so: `_answer` keeps that.)
        answer.asked = answer.asked or asked
        asked = answer.asked
        if conversation is not None:
            cited = [hit for _, hit in answer.citations] or answer.hits[:1]
            if answer.focus is not None:
                cited = [answer.focus, *(h for h in cited if h is not answer.focus)]
            conversation.add(asked, cited)
        return answer

    def _answer(
        self,
        question: str,
        asked: AskedQuestion,
        filters: Filters,
        emit: EventCallback,
        began: float,
        *,
        widened: tuple[Filters, AskedQuestion] | None = None,
    ) -> Answer:
        """`widened`: the filters and the reading to try when nothing is found within the
        time the question named (`_widened`)."""
        # Stage 4 first for the kinds the system answers itself from evidence: each
        # searches and decides for itself, and is whole when composed.
        composed = self._compose(asked, filters, began)
        if composed is not None:
            emit(_started(composed))
            emit(AnswerToken(composed.text))
            emit(AnswerDone(composed))
            return composed
        # Stages 1-3: search, found or not, excerpts, scope and safety.
        prepared = self.prepare(question, filters=filters, asked=asked)
        if not prepared.evidence.found and widened is not None:
            # "a couple of weeks ago", "in February": people place things roughly. Nothing
            # then: the sessions around it, said so ("in February, and around it").
            around = self.prepare(question, filters=widened[0], asked=widened[1])
            if around.evidence.found:
                prepared, asked = around, widened[1]
        emit(_started(prepared))
        answer = _unwritten(prepared, asked)
        # Stages 4-5: what is said, checked.
        if prepared.scope_redirect:
            # Before "not found": a request for advice deserves the pointer to the therapist
            # whether or not the sessions mention its subject.
            self._answer_scope(answer)
        elif not answer.found:
            answer.text = self._not_found(asked)
        else:
            self._answer_with_model(answer, emit, began)
        if not answer.timings.total_ms:
            answer.timings = dataclasses.replace(answer.timings, total_ms=ms_since(began))
        if answer.text and (not answer.found or prepared.scope_redirect or answer.extractive):
            emit(AnswerToken(answer.text))
        emit(AnswerDone(answer))
        return answer

    # -- steps ----------------------------------------------------------------------------

    def _search(
        self,
        question: str,
        filters: Filters,
        asked: AskedQuestion | None,
        k: int | None = None,
        *,
        retriever: Retriever | None = None,
    ) -> list[Hit]:
        k = k or self.settings.k
        search = (retriever or self.retriever).search
        if asked is None:
            return search(question, k=k, filters=filters, mode=self.settings.mode)
        query = asked.topic or " ".join(asked.understood.phrases) or question
        if not asks_what_someone_else_said(asked.text):
            return search(
                query, k=k, filters=filters, mode=self.settings.mode, understood=asked.understood
            )
        # What Mum or the boss said is in the user's reports of it, quoted ("She said, 'Your
        # dad never once took you camping.'"): of twice as many moments, those that quote
        # someone come first.
        found = search(
            query, k=2 * k, filters=filters, mode=self.settings.mode, understood=asked.understood
        )
        quoting = [h for h in found if quotes_someone(h.text)]
        return (quoting + [h for h in found if h not in quoting])[:k]

    def _compose(self, asked: AskedQuestion, filters: Filters, began: float) -> Answer | None:
        """Questions the system answers from evidence, without the model (each kind in its
        own module); None for the rest."""
        services = self._services()
        if asked.kind == "next_session":
            return answer_next_session(services, asked, began)
        if asked.kind == "who" and asked.topic:
            who = answer_who(services, asked, began)
            if who is not None:
                return who
        if asked.reply and asked.refers_to is not None:
            reply = answer_reply(services, asked, asked.refers_to, filters, began)
            if reply is not None:
                return reply
        if asked.kind == "when" and (asked.refers_to is not None or asked.when_words):
            when = answer_when(services, asked, filters, began)
            if when is not None:
                return when
        if asked.kind in ("first", "last", "count") and self.across is not None and asked.topic:
            return answer_across(services, asked, filters, began)
        if asked.kind == "outcome" and asked.topic:
            return answer_outcome(services, asked, filters, began)
        if asked.kind == "recap" and self.across is not None:
            return answer_recap(services, asked, filters, began)
        if asked.kind == "agreements" and self.across is not None:
            return answer_agreements(services, asked, filters, began)
        if asked.kind == "recall" and asks_for_suggestion(asked):
            return answer_suggestion(services, asked, filters, began)
        return None

    def _services(self) -> AnswerServices:
        """What the composed answers use of this Answerer, as it is now."""
        return AnswerServices(
            retriever=self.retriever,
            settings=self.settings,
            me_labels=self.me_labels,
            therapist_labels=self.therapist_labels,
            today=self.today,
            session_dates=self.session_dates,
            across=self.across,
            search=self._search,
            decide=self._decide,
            excerpts=self._excerpts,
            session_of=self._session_of,
            held_sessions=self._held_sessions,
            telling_words=self._telling_words,
            rarest=self._rarest,
            not_found=self._not_found,
        )

    def _held_sessions(self) -> list[Session]:
        """The sessions held by today, with their text (not notes or handouts)."""
        today = self.today()
        return [s for s in self.retriever.index.sessions() if s.kind == SESSION and s.date <= today]

    def _telling_words(
        self, text: str, terms: set[str], held: Mapping[str, int] | None = None
    ) -> set[str]:
        """The words of `text` that say what it is about: those that at most a tenth of the
        passages hold, or four in a small vault ("ECG", "allotment"; not "Dad" in a history of
        caring for a father). `held`: `_passages_holding(text, terms)` when already looked up."""
        most = max(4, self.retriever.index.chunk_count // 10)
        if held is None:
            held = self._passages_holding(text, terms)
        return {t for t in terms if 0 < held[t] <= most}

    def _rarest(self, topic: str, terms: set[str]) -> str:
        """The topic's word that the fewest passages of the sessions hold."""
        held = self._passages_holding(topic, terms)
        # A word no passage holds can't be what they said.
        return min(sorted(terms), key=lambda t: held[t] or 1 << 30)

    def _passages_holding(self, text: str, terms: set[str]) -> dict[str, int]:
        """How many passages hold each stem of `terms`, looked up as `text` spells it (word
        search has its own stemmer)."""
        spelled = {stem(w): w for w in reversed(words(text))}
        counts = self.retriever.index.chunk_frequencies([spelled.get(t, t) for t in terms])
        return {t: counts[spelled.get(t, t)] for t in terms}

    def _not_found(self, asked: AskedQuestion) -> str:
        """ "Nothing about your brother came up in your sessions" when the question's own
        words occur nowhere in the vault (a fact, checked in the word index); else the
        general message, which also covers things said in other words."""
        missing = never_mentioned(asked.topic, self._held)
        sentence = nothing_about(asked.topic, missing)
        if sentence is None:
            return self.prompts.not_found
        return f"{sentence} If it was said in other words, you could try asking another way."

    def _held(self, word: str) -> bool:
        """Whether any passage of the vault holds `word` (a word the word index can't look
        up is never claimed absent)."""
        return self.retriever.index.chunk_frequencies([word])[word] > 0

    def _decide(
        self,
        question: str,
        hits: Sequence[Hit],
        filters: Filters,
        asking: frozenset[str] = frozenset(),
    ) -> Evidence:
        """Found or not (evidence.py). `asking`: stems that ask rather than name the subject
        ("did it WORK?"), never taken as a subject the sessions lack; nor is the kind of
        document asked about ("what does the HANDOUT say about...?", SOURCE_WORDS)."""
        asking = asking | SOURCE_STEMS
        closeness = question_closeness(self.retriever, question, filters) if hits else None

        # The learned decision's frequencies and its telling words are of the same stems:
        # looked up in the word index once.
        looked_up: dict[frozenset[str], dict[str, int]] = {}

        def holding(terms: set[str]) -> dict[str, int]:
            key = frozenset(terms)
            if key not in looked_up:
                looked_up[key] = self._passages_holding(question, terms)
            return looked_up[key]

        def held(word: str, terms: set[str]) -> bool:
            # Only the words the decision counts: not "2nd" once a date placed the question;
            # and a word that places it in time ("what did Mum say RECENTLY...?") is never
            # the subject the sessions lack, whether or not a date was read from it.
            return stem(word) not in terms - asking or word in DATE_WORDS or self._held(word)

        return decide_found(
            question,
            hits,
            similarity=None if closeness is None else closeness.passage,
            sentence_similarity=None if closeness is None else closeness.sentence,
            thresholds=self.settings.evidence,
            filters=filters,
            never_held=lambda terms: never_mentioned(question, lambda word: held(word, terms)),
            telling=lambda terms: self._telling_words(
                question, terms - asking, holding(terms - asking)
            ),
            model=self.settings.answerability,
            frequencies=holding,
            passages=self.retriever.index.chunk_count,
            asking=asking,
        )

    def _safety_message(self, question: str, hits: Sequence[Hit]) -> str | None:
        texts = [question, *(h.text for h in hits)]
        if any(self.prompts.mentions_crisis(t) for t in texts):
            return self.prompts.safety_message(self.region)
        return None

    def _excerpts(self, question: str, hits: Sequence[Hit]) -> list[Excerpt]:
        s = self.settings
        return build_excerpts(
            hits,
            question,
            session_of=self._session_of,
            me_labels=self.me_labels,
            therapist_labels=self.therapist_labels,
            token_budget=s.excerpt_token_budget,
            max_excerpt_tokens=s.max_excerpt_tokens,
            max_excerpts=s.max_excerpts,
        )

    def _session_of(self, session_id: str) -> Session | None:
        # Turns (who said what) live with the session in the index; a hit alone only names
        # its speakers. Without them, whole hits are used as excerpts.
        try:
            return self.retriever.index.session(session_id)
        except (KeyError, ReflectError, AttributeError):
            return None

    def _answer_scope(self, answer: Answer) -> None:
        lines = extractive_lines(self.prompts, self.settings, answer)
        answer.text = "\n".join([self.prompts.scope, *(line for _, line in lines)])
        answer.citations = [(e.n, e.hit) for e, _ in lines]

    def _answer_with_model(self, answer: Answer, emit: EventCallback, began: float) -> None:
        """The model writes the answer (model_answer.py), loaded on first use here."""
        load_began = time.perf_counter()
        needs_load = self._model is None
        model = self.load_model()
        load_ms = ms_since(load_began) if needs_load else None
        writer = ModelWriter(self.prompts, self.settings, self.embedder, self._cancelled)
        writer.write(answer, model, emit, began, load_ms)


def _started(known: Answer | Prepared) -> AnswerStarted:
    """What is shown before the answer is written: the hits and the numbered excerpts."""
    return AnswerStarted(
        hits=known.hits, excerpts=list(known.excerpts), safety_message=known.safety_message
    )


def _unwritten(prepared: Prepared, asked: AskedQuestion) -> Answer:
    """The answer as `prepare` leaves it, before anything is said (what was understood is
    in it already: the quotes pasted lean on whom the question asks about)."""
    found = prepared.evidence.found
    return Answer(
        question=prepared.question,
        text="",
        found=found,
        hits=prepared.hits,
        safety_message=prepared.safety_message,
        scope_redirect=prepared.scope_redirect,
        evidence=prepared.evidence,
        excerpts=list(prepared.excerpts),
        closest=[] if found else list(prepared.hits),
        timings=Timings(prepared.retrieval_ms),
        asked=asked,
    )


def _without_speaker(question: str, asked: AskedQuestion | None) -> str:
    """The question as evidence is judged on: without the person it names as the speaker.
    "What did Helen say about my divorce?" is close in meaning to every turn of Helen's, and
    her name is on every one of her hits, but neither says anything about a divorce."""
    who = asked.understood.speaker_words if asked is not None else None
    if not who:
        return question
    pattern = r"\b" + r"\s+".join(map(re.escape, who.split())) + r"(?:['’]s)?\b"
    return " ".join(re.sub(pattern, " ", question, flags=re.IGNORECASE).split()) or question


# Words that name where to look, not what about: a handout's text seldom calls itself one.
SOURCE_WORDS = ("handout", "handouts", "leaflet", "leaflets", "worksheet", "worksheets")
SOURCE_STEMS = frozenset(stem(word) for word in SOURCE_WORDS)

# How far around the time a question names ("last month", "a couple of weeks ago", "in
# February") is looked when nothing is found within it: a fortnightly session either side.
WIDEN_BY = dt.timedelta(days=21)


def _widened(filters: Filters, asked: AskedQuestion) -> tuple[Filters, AskedQuestion] | None:
    """The filters and reading for the time around the one the question's own words named
    (not a session it named, not a filter the user set), or None."""
    if asked.kind != "recall" or asked.session_ids is not None:
        return None
    if asked.since is None and asked.until is None:
        return None
    if filters.since is not None or filters.until is not None:
        return None  # the user's own filter: theirs, exactly
    since = asked.since - WIDEN_BY if asked.since is not None else None
    until = asked.until + WIDEN_BY if asked.until is not None else None
    words = asked.time_words or "then"
    wider = dataclasses.replace(
        asked, since=since, until=until, time_words=f"{words}, and around it"
    )
    return _placed_in_time(filters, wider), wider


def _placed_in_time(filters: Filters, asked: AskedQuestion) -> Filters:
    """The question's own time words ("last session", "in March") as filters, unless the
    user set that filter themselves (theirs wins)."""
    changes: dict[str, object] = {}
    if asked.session_ids is not None and filters.session_ids is None:
        changes["session_ids"] = asked.session_ids
    if asked.since is not None and filters.since is None:
        changes["since"] = asked.since
    if asked.until is not None and filters.until is None:
        changes["until"] = asked.until
    return dataclasses.replace(filters, **changes) if changes else filters  # type: ignore[arg-type]
