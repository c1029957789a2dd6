"""The Answerer: runs the stages of answering a question, in order.

1. understand the question (reflect.understanding) and search (reflect.retrieval);
2. decide whether the sessions hold an answer (evidence.py);
3. build the excerpts (excerpts.py); scope and safety (scope.py);
4. compose: the model's short answer, or the extractive one from the excerpts;
5. check every sentence and quote the model wrote (checks.py);
then report through events (results.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from reflect.agreements import proposes
from reflect.answer.absent import never_mentioned, nothing_about
from reflect.answer.appointments import next_session_booked
from reflect.answer.checks import CheckedSentence, SentenceChecker, SentenceSplitter
from reflect.answer.compose import (
    AcrossSessions,
    SessionMentions,
    day,
    sessions_list,
    strong_mentions,
)
from reflect.answer.conversation import (
    Conversation,
    DatedMoment,
    dated_moment,
    reply_at,
    with_reply,
)
from reflect.answer.events import EventDate, date_of_event, sessions_naming
from reflect.answer.evidence import Evidence, decide_found, question_similarity
from reflect.answer.excerpts import (
    Excerpt,
    build_excerpts,
    grow_span,
    only_asks,
    sentence_spans,
    turn_pieces,
)
from reflect.answer.outcome import proposal_turn, report_turn
from reflect.answer.people import Said, introductions, is_a_name, role_words, said_with_role
from reflect.answer.question import (
    OUTCOME_VERBS,
    AskedQuestion,
    SessionDate,
    read_question,
    says_nothing_of_its_own,
)
from reflect.answer.results import (
    Answer,
    AnswerDone,
    AnswerError,
    AnswerSettings,
    AnswerStarted,
    AnswerToken,
    EventCallback,
    Prepared,
    Timings,
)
from reflect.answer.scope import is_scope_request
from reflect.embedding import Embedder
from reflect.errors import ReflectError
from reflect.index import NO_FILTERS, Filters
from reflect.llm import ChatModel, Message
from reflect.prompt_templates import Prompts, validate_prompts
from reflect.retrieval import Hit, Retriever, span_hit
from reflect.session import SESSION, Session
from reflect.speakers import DEFAULT_ME_LABELS, DEFAULT_THERAPIST_LABELS
from reflect.understanding import asks_what_someone_else_said
from reflect.words import DATE_WORDS, content_stems, stem, words

ModelFactory = Callable[[], ChatModel]

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
        today, index = self.today(), self.retriever.index
        sessions = [s for s in index.sessions() if s.kind == SESSION and s.date <= today]

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
        retrieval_ms = _ms_since(began)
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
        shown = [h for h in hits if any(_within(e.hit, h) for e in excerpts)] if excerpts else hits
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
        filters = _placed_in_time(filters, asked)
        answer = self._answer(question, asked, filters, emit, began)
        answer.asked = asked
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
    ) -> Answer:
        composed = self._compose(asked, filters, began)
        if composed is not None:
            emit(
                AnswerStarted(
                    hits=composed.hits,
                    excerpts=list(composed.excerpts),
                    safety_message=composed.safety_message,
                )
            )
            emit(AnswerToken(composed.text))
            emit(AnswerDone(composed))
            return composed
        prepared = self.prepare(question, filters=filters, asked=asked)
        emit(
            AnswerStarted(
                hits=prepared.hits,
                excerpts=list(prepared.excerpts),
                safety_message=prepared.safety_message,
            )
        )
        found = prepared.evidence.found
        answer = Answer(
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
        )
        if prepared.scope_redirect:
            # Before "not found": a request for advice deserves the pointer to the therapist
            # whether or not the sessions mention its subject.
            self._answer_scope(answer)
        elif not found:
            answer.text = self._not_found(asked)
        else:
            self._answer_with_model(answer, emit, began)
        if not answer.timings.total_ms:
            answer.timings = dataclasses.replace(answer.timings, total_ms=_ms_since(began))
        if answer.text and (not found or prepared.scope_redirect or answer.extractive):
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
        quoting = [h for h in found if _REPORTED_SPEECH.search(h.text)]
        return (quoting + [h for h in found if h not in quoting])[:k]

    def _compose(self, asked: AskedQuestion, filters: Filters, began: float) -> Answer | None:
        """Questions the system answers from evidence, without the model; None for the rest."""
        if asked.kind == "next_session":
            return self._answer_next_session(asked, began)
        if asked.kind == "who" and asked.topic:
            who = self._answer_who(asked, began)
            if who is not None:
                return who
        if asked.reply and asked.refers_to is not None:
            reply = self._answer_reply(asked, asked.refers_to, filters, began)
            if reply is not None:
                return reply
        if asked.kind == "when" and (asked.refers_to is not None or asked.when_words):
            when = self._answer_when(asked, filters, began)
            if when is not None:
                return when
        if asked.kind in ("first", "last", "count") and self.across is not None and asked.topic:
            return self._answer_across(asked, filters, began)
        if asked.kind == "outcome" and asked.topic:
            return self._answer_outcome(asked, filters, began)
        if asked.kind == "recap" and self.across is not None:
            return self._answer_recap(asked, filters, began)
        if asked.kind == "agreements" and self.across is not None:
            return self._answer_agreements(asked, filters, began)
        return None

    def _held_sessions(self) -> list[Session]:
        """The sessions held by today, with their text (not notes or handouts)."""
        today = self.today()
        return [s for s in self.retriever.index.sessions() if s.kind == SESSION and s.date <= today]

    def _answer_next_session(self, asked: AskedQuestion, began: float) -> Answer:
        """ "When's my next appointment?": the day the sessions booked, with the words that
        booked it (reflect.answer.appointments); that they booked none, when they didn't."""
        today = self.today()
        held = self._held_sessions()
        booking = next_session_booked(held, today)
        if booking is None:
            answer = self._nothing_about(asked, [], None, began)
            if held:
                last = max(s.date for s in held)
                answer.text = (
                    "Your sessions don't say when the next one is: nothing in the last one, "
                    f"on {day(last, today)}, books it."
                )
            return answer
        session, said_on = booking.session, day(booking.session.date, today)
        lines = [(span_hit(session, booking.a, booking.b), "{who_cap} said: “{quote}” [{n}]")]
        if booking.day_at is not None:
            lines.append((span_hit(session, *booking.day_at), "{who_cap} said: “{quote}” [{n}]"))
        if booking.day is None:
            lead = f"The session on {said_on} booked the next one without a day:"
        else:
            when = f"{booking.day:%A} {day(booking.day, today)}"
            lead = (
                f"Your next session is on {when}, booked on {said_on}:"
                if booking.day >= today
                else f"Your next session was booked for {when}, on {said_on}:"
            )
        quoted = dataclasses.replace(asked, topic=f"{booking.sentence} {booking.day_sentence}")
        answer = self._composed(quoted, [h for h, _ in lines], lines, began, lead=lead)
        answer.question = asked.text
        return answer

    def _answer_who(self, asked: AskedQuestion, began: float) -> Answer | None:
        """ "Who's Lyle?", "who's my manager?": the moments that introduce them, first mention
        first (reflect.answer.people); None when the sessions never name them."""
        today, sessions, who = self.today(), self._held_sessions(), asked.topic
        name: str | None = who if is_a_name(who) else None
        said: list[Said] = []
        if name is None:
            labels = (*self.me_labels, *self.therapist_labels)
            name, said = said_with_role(sessions, role_words(who), labels)
        moments = introductions(sessions, name) if name else said[:2]
        # The role said with the name ("walk with Lyle") answers a question asked by role.
        unique = {(s.session.id, s.a): s for s in [*moments, *said[:1]]}
        chosen = sorted(unique.values(), key=lambda s: (s.session.date, s.session.id, s.a))
        if not chosen:
            return None
        hits: list[Hit] = []
        for s in chosen:
            turn = next((t for t in s.session.turns if t.char_start <= s.a < t.char_end), None)
            a, b = (turn.char_start, turn.char_end) if turn is not None else (s.a, s.b)
            if not any(h.session_id == s.session.id and h.char_start == a for h in hits):
                hits.append(span_hit(s.session, a, b))
        lines = [
            (h, f"On {day(h.session_date, today)}, {{who}} said: “{{quote}}” [{{n}}]") for h in hits
        ]
        if name is not None and name in hits[0].text:
            lines[0] = (
                hits[0],
                f"{name} first came up on {day(hits[0].session_date, today)}: "
                "{who} said “{quote}” [{n}]",
            )
        lead = "" if name == who else f"That sounds like {name}:" if name else ""
        words = " ".join(dict.fromkeys([name or "", who, *(s.text for s in chosen)]))
        answer = self._composed(
            dataclasses.replace(asked, topic=words), hits, lines, began, lead=lead
        )
        answer.question = asked.text
        return answer

    def _one_session(self, filters: Filters) -> SessionDate | None:
        """The session a question names ("last time", "on 15 April"), else the latest."""
        known = sorted(
            (s for s in self.session_dates() if s.date <= self.today()),
            key=lambda s: (s.date, s.id),
        )
        if filters.session_ids is not None:
            known = [s for s in known if s.id in filters.session_ids]
        if filters.since is not None:
            known = [s for s in known if s.date >= filters.since]
        if filters.until is not None:
            known = [s for s in known if s.date <= filters.until]
        return known[-1] if known else None

    def _answer_recap(self, asked: AskedQuestion, filters: Filters, began: float) -> Answer:
        """ "What did we cover last time?": that session's key moments, verbatim."""
        assert self.across is not None
        chosen = self._one_session(filters)
        if asked.topic:
            # "the session where I told you the date Mum was coming home": the session of the
            # moment that matches best (within the time the question names, if any).
            found = self._search(asked.topic, filters, asked)
            evidence = self._decide(asked.topic, found, filters)
            if not evidence.found:
                return self._nothing_about(asked, found, evidence, began)
            chosen = next((s for s in self.session_dates() if s.id == found[0].session_id), chosen)
        moments = self.across.recap_moments(chosen.id) if chosen is not None else []
        if chosen is None or not moments:
            return self._nothing_about(asked, [], None, began)
        today = self.today()
        title = moments[0].session_title
        lead = f"In “{title}”, on {day(chosen.date, today)}, these were the main moments:"
        lines = [(h, "{who_cap} said: “{quote}” [{n}]") for h in moments]
        return self._composed(asked, moments, lines, began, lead=lead, topic_words=False)

    def _answer_agreements(
        self, asked: AskedQuestion, filters: Filters, began: float
    ) -> Answer | None:
        """ "What did we agree?": the agreements of the session it names (else the latest
        session that had any), each with the reply that took it on."""
        assert self.across is not None
        today = self.today()
        named = bool(filters.session_ids or filters.since or filters.until)
        agreed = self.across.agreed(filters)
        if asked.topic:
            # Those that hold most of what the question is about, its telling words counting
            # before the rest ("visiting Dad once he'd moved": "visit" and "moved" before the
            # "Dad" of every session).
            terms = content_stems(asked.topic)
            telling = self._telling_words(asked.topic, terms)

            def about(pair: tuple[Hit, Hit | None]) -> tuple[int, int]:
                said = content_stems(" ".join(h.text for h in pair if h))
                return len(said & telling), len(said & terms)

            most = max((about(a) for a in agreed), default=(0, 0))
            agreed = [a for a in agreed if most[1] and about(a) == most]
        if not agreed:
            # Nothing agreed about it: what was *said* about it may still answer ("what did I
            # say I'd do about my sister?"), so the question goes the usual way, where an
            # absent subject is reported as absent.
            return None if asked.topic else self._nothing_about(asked, [], None, began)
        if not named:
            latest = max(a[0].session_date for a in agreed)
            agreed = [a for a in agreed if a[0].session_date == latest]
        agreed = agreed[-4:]
        dates = sorted({a[0].session_date for a in agreed})
        lead = f"What you agreed on {sessions_list(dates, today)}:"
        lines: list[tuple[Hit, str]] = []
        for proposal, reply in agreed:
            lines.append((proposal, "{who_cap} said: “{quote}” [{n}]"))
            if reply is not None:
                lines.append((reply, "  {who_cap} said: “{quote}” [{n}]"))
        hits = [h for pair in agreed for h in pair if h is not None]
        return self._composed(asked, hits, lines, began, lead=lead, topic_words=False)

    def _composed(
        self,
        asked: AskedQuestion,
        hits: Sequence[Hit],
        lines: Sequence[tuple[Hit, str]],
        began: float,
        *,
        found: bool = True,
        lead: str = "",
        topic_words: bool = True,
        tellers: frozenset[str] = frozenset(),
        told: Sequence[Hit] = (),
        telling: set[str] | None = None,
    ) -> Answer:
        """An answer whose sentences are built here: `lines` pair a hit with a sentence
        template holding `{n}` (its excerpt number) and `{quote}` (its own words). Within a
        hit of `told`, the excerpt by one of `tellers` is quoted before the others', the one
        sharing most of the topic's and the `telling` words."""
        excerpts: list[Excerpt] = []
        text_lines = [lead] if lead else []
        terms = content_stems(asked.topic) if topic_words else set()
        weights = self.retriever.term_weights(asked.topic) if topic_words else {}
        for hit, template in lines:
            is_told = any(hit is t for t in told)
            pieces = self._excerpts(asked.topic or asked.text, [hit]) if topic_words else []
            if not topic_words:
                # A recap moment or an agreement is shown whole: its own turn, as found.
                pieces = self._excerpts(hit.text, [hit])[:1]
            elif not pieces:
                # A moment chosen for what it tells, in words other than the topic's.
                pieces = self._excerpts(hit.text, [hit])
            elif is_told and not any(p.hit.speaker in tellers for p in pieces):
                # What the teller said there, even in words other than the topic's: "That was
                # the point. How's the sleep been?" is the question, not the report; and of
                # their turns, the one that tells it, not "Hiya. Um. Mixed bag." before it.
                pieces += [p for p in self._excerpts(hit.text, [hit]) if p.hit.speaker in tellers]
            if not pieces:
                continue
            wanted = terms | (telling or set()) if is_told else terms
            # Of the turns, the one holding the rarer of the words: "She crawled!", not "How
            # was it for Nell?" before it, for "has Nell started crawling?".
            best = max(
                pieces,
                key=lambda e: (
                    is_told and e.hit.speaker in tellers,
                    sum(weights.get(t, 1.0) for t in content_stems(e.hit.text) & wanted),
                    -e.n,
                ),
            )
            excerpt = dataclasses.replace(best, n=len(excerpts) + 1)
            excerpts.append(excerpt)
            quote = _best_quote(excerpt.hit.text, wanted, self.settings.extractive_max_words)
            text_lines.append(
                excerpt.source_line(quote)
                or template.format(
                    n=excerpt.n,
                    quote=quote,
                    who=excerpt.speaker_phrase,
                    who_cap=excerpt.speaker_phrase[:1].upper() + excerpt.speaker_phrase[1:],
                )
            )
        answer = Answer(
            question=asked.text,
            text="\n".join(text_lines),
            found=found,
            hits=list(hits),
            excerpts=excerpts,
            closest=[] if found else list(hits),
            timings=Timings(_ms_since(began)),
            extractive=True,
        )
        by_n = {e.n: e for e in excerpts}
        answer.citations = [(n, by_n[n].hit) for n in sorted(by_n)]
        answer.timings = dataclasses.replace(answer.timings, total_ms=_ms_since(began))
        return answer

    def _answer_when(self, asked: AskedQuestion, filters: Filters, began: float) -> Answer | None:
        """ "When was that?": the day the moment the last answer cited gives for it ("the
        hearing, Thursday the twelfth of March"), else the day it was said; "when do I
        start?": the moment that tells it, looked for first in the sessions the last answer
        cited (reflect.answer.conversation.dated_moment). None: nothing holds it."""
        today = self.today()
        if asked.when_words:
            moment = self._moment_asked_about(asked, filters)
            if moment is None:
                return None
        else:
            assert asked.refers_to is not None
            cited = asked.refers_to
            if cited.text.rstrip().endswith("?"):
                # A question was cited ("And your mum came to stay?"): the reply tells when.
                cited = with_reply(cited, self._session_of(cited.session_id), turns=1)
            moment = dated_moment([cited], content_stems(asked.topic))
            if (moment is None or moment.day is None) and not asked.asks_when_said:
                # The moment cited tells no day ("I've been reading the thesis since I
                # handed it in"): the day is looked for where the thing is said with one
                # ("I hand it in on Friday the fourth"), as for "when do I start?".
                told = self._moment_asked_about(
                    dataclasses.replace(asked, when_words=asked.topic), filters, dated=True
                )
                moment = told or moment
            if moment is None or asked.asks_when_said:
                moment = DatedMoment(asked.refers_to, None)
        hit = moment.hit
        said = f"{day(hit.session_date, today)}, in “{hit.session_title}”"
        if moment.day is not None and moment.day != hit.session_date:
            line = f"On {day(moment.day, today)}: on {said}, {{who}} said “{{quote}}” [{{n}}]"
        else:
            line = f"That was on {said} [{{n}}]: {{who}} said “{{quote}}”"
        # The excerpt and its quote hold the words that give the day.
        quoted = dataclasses.replace(asked, topic=moment.sentence) if moment.sentence else asked
        answer = self._composed(quoted, [hit], [(hit, line)], began)
        answer.question = asked.text
        return answer

    def _answer_reply(
        self, asked: AskedQuestion, moment: Hit, filters: Filters, began: float
    ) -> Answer | None:
        """ "What did she say?" / "what did I do when he said it?": the user's turn at or
        right after the moment the last answer cited that tells it
        (reflect.answer.conversation.reply_at), or at the other moments it cited, or at a
        later moment about the same thing. None: no turn there does."""

        def later() -> Iterator[Hit]:
            # "did I take the money Mum offered?" cited her offer; "what did she say?" is
            # where the user told her yes, sessions later: the topic, from that day on.
            after = dataclasses.replace(
                filters, since=moment.session_date, until=None, session_ids=None
            )
            mine = dataclasses.replace(asked.understood, speaker="me", speaker_words=None)
            yield from self._search(asked.topic, after, dataclasses.replace(asked, understood=mine))

        # The moment the last answer pointed at first, then the others it cited: "what did
        # she say?" after "did I tell work?" is at the telling, wherever the answer led.
        cited_first = (moment, *(h for h in asked.context if h is not moment))
        turn = None
        for cited in itertools.chain(cited_first, later()):
            session = self._session_of(cited.session_id)
            turn = reply_at(cited, session, asked.reply, asked.reply_by, self.me_labels)
            if turn is not None:
                break
        if turn is None:
            return None
        line = f"Then, on {day(turn.session_date, self.today())}, {{who}} said: “{{quote}}” [{{n}}]"
        answer = self._composed(asked, [turn], [(turn, line)], began, topic_words=False)
        # "that" in the next question ("and when was that?") is still the moment replied to.
        answer.focus = cited
        return answer

    def _moment_asked_about(
        self, asked: AskedQuestion, filters: Filters, *, dated: bool = False
    ) -> DatedMoment | None:
        """Where "when do I start?" is answered, looked for in turn: the excerpts the last
        answer cited with the replies after them; the sessions they are from (the topic and
        the asked words searched there); everywhere; and, for "when did he move in?" after
        the care home he was to move to, the asked words from that moment on."""
        said = content_stems(asked.when_words)
        context = asked.context
        # Whoever said it (the day is often in a reply to the other person's question), and
        # the asked words alone too ("start"): "When do you start?" names no job.
        neutral = dataclasses.replace(
            asked,
            understood=dataclasses.replace(asked.understood, speaker=None, speaker_words=None),
        )
        alone = dataclasses.replace(neutral, topic=asked.when_words)
        groups: list[Callable[[], list[Hit]]] = [
            lambda: [with_reply(h, self._session_of(h.session_id)) for h in context]
        ]
        if context:
            there = dataclasses.replace(
                filters, session_ids=frozenset(h.session_id for h in context)
            )
            groups.append(
                lambda: [
                    *self._search(asked.topic, there, neutral),
                    *self._search(asked.when_words, there, alone),
                ]
            )
        groups.append(lambda: self._search(asked.topic, filters, neutral))
        if context:
            since = min(h.session_date for h in context)
            later = dataclasses.replace(filters, since=since, until=None, session_ids=None)
            groups.append(lambda: self._search(asked.when_words, later, alone))
        about = content_stems(asked.topic) - said
        for group in groups:
            moment = dated_moment(group(), said, about, dated=dated)
            if moment is not None:
                return moment
        return None

    def _answer_outcome(self, asked: AskedQuestion, filters: Filters, began: float) -> Answer:
        """ "Did I keep the diary?": where it first came up among the moments found, then
        what was said about it in *later* sessions (the user's own words preferred); say what
        those show, or that the sessions after it don't say."""
        today = self.today()
        # Where it came up is often the therapist's suggestion: found without preferring the
        # user; what happened after is the user's to tell, so that search prefers them.
        neutral = dataclasses.replace(
            asked,
            understood=dataclasses.replace(asked.understood, speaker=None, speaker_words=None),
        )
        found = self._search(asked.topic, filters, neutral)
        evidence = self._decide(asked.topic, found, filters, asking=OUTCOME_VERBS)
        # "did I keep it up?": "it" is the moment the last answer cited.
        cited_before = asked.refers_to if asked.followup else None
        if not evidence.found and cited_before is None:
            return self._nothing_about(asked, found, evidence, began)
        # After an answer that cited it, "did I keep it up?" is about something the sessions
        # hold, whatever words the question gave it: what happened is looked for after it.
        if cited_before is not None:
            found = found or [cited_before]
        terms = content_stems(asked.topic) - OUTCOME_VERBS or content_stems(asked.topic)
        key = self._rarest(asked.topic, terms) if terms else ""
        stems: dict[Place, set[str]] = {}

        def said(hit: Hit) -> set[str]:
            place = _place(hit)
            if place not in stems:
                stems[place] = content_stems(hit.text)
            return stems[place]

        def mentions(hit: Hit) -> bool:
            # A later mention names the thing itself (its rarest word: "diary" rather than
            # "sleep" in "the sleep diary"); the user's own turn may say no more ("I brought
            # the diary"), anyone else's must say all of it.
            return key in said(hit) and (hit.speaker in self.me_labels or terms <= said(hit))

        turns_of: dict[Place, list[Hit]] = {}

        def turns(hit: Hit) -> list[Hit]:
            place = _place(hit)
            if place not in turns_of:
                turns_of[place] = turn_pieces(hit, self._session_of(hit.session_id))
            return turns_of[place]

        relevant = [h for h in found if key in said(h)] or found[:1]
        fullest = max(len(said(h) & terms) for h in relevant)
        anchor = min(
            (h for h in relevant if len(said(h) & terms) == fullest),
            key=lambda h: (h.session_date, h.rank),
        )
        # Where it was proposed, when that was earlier ("Can I suggest something small? ...
        # Wait an hour."), rather than a later plan that shares more of the question's words
        # ("What if you asked Lorna, not by text, at the handover?"): the proposing turn
        # itself. A proposal after the fullest moment is left alone: "I'm going to go back
        # swimming" is told after "I used to swim every morning", and the report between
        # them would be lost (bench/README.md, #17).
        naming = self._telling_words(asked.topic, terms) | {key}
        most = max(len(said(h) & terms) for h in found)
        proposals = [
            turn
            for h in found
            if len(said(h) & terms) >= max(1, most - 1)
            and (turn := proposal_turn(turns(h), naming, said)) is not None
        ]
        if proposals:
            first = min(proposals, key=lambda h: (h.session_date, h.char_start))
            if first.session_date < anchor.session_date:
                anchor = first
        if cited_before is not None:
            anchor = cited_before
        # The words of the question and of the moment it came up that say what it is about:
        # a later report shares them ("Tuesday and Thursday, before work" -> "I went. To the
        # pool. Tuesday and Thursday, both of them.").
        echo = f"{asked.topic} {anchor.text}"
        telling = self._telling_words(echo, content_stems(echo) - OUTCOME_VERBS)
        later = [h for h in relevant if h.session_date > anchor.session_date and mentions(h)]
        if not filters.session_ids:
            after = dataclasses.replace(filters, since=anchor.session_date + dt.timedelta(days=1))
            named = [h for h in self._search(asked.topic, after, asked, k=5) if mentions(h)]
            later = self._told_after(asked, echo, after, mentions, said, telling) + later + named
        # Of each later moment, the user's turn that tells about it (what happened between
        # sessions is theirs to tell): the one holding most of the question's and the
        # moment's words, or their answer to a question that holds them ("And the texts,
        # since we last met?"). A moment without one holds something else ("Can I come to
        # Poppy's party?" for the texts): it is left out.
        weights = self.retriever.term_weights(asked.topic)
        report_of: dict[Place, Hit | None] = {}

        def told_in(hit: Hit) -> Hit | None:
            place = _place(hit)
            if place not in report_of:
                wanted = telling | terms | {key}
                report_of[place] = report_turn(turns(hit), wanted, self.me_labels, said, weights)
            return report_of[place]

        later = [h for h in later if told_in(h) is not None]
        if cited_before is None and not any(mentions(h) for h in later):
            # Nothing after it names the thing, and where it came up the user told all of
            # what happened, beyond whom it happened to, without planning it ("She crawled!"
            # for "has Nell started crawling yet?"; not "She's in hospital" for "did Mum make
            # it home from hospital?"): that moment is the answer, not a plan to look past.
            subject = next(
                (content_stems(w) for w in asked.topic.split() if content_stems(w)), set()
            )
            report = self._users_report(anchor, terms - subject or terms)
            if report is not None:
                told_it = f"On {day(report.session_date, today)}, {{who}} said: “{{quote}}” [{{n}}]"
                answer = self._composed(
                    asked,
                    found,
                    [(report, told_it)],
                    began,
                    tellers=frozenset(self.me_labels),
                    told=[report],
                    telling=telling,
                )
                answer.evidence = evidence
                answer.focus = answer.citations[0][1] if answer.citations else None
                return answer
        # Up to three sessions, the closest first; from each, its first moment about it:
        # what happened is told when the session comes back to it ("Hi. Good mixed, I
        # think. I brought the diary."), later in the session come new plans.
        chosen: list[str] = []
        for h in later:
            if len(chosen) < 3 and h.session_id not in chosen:
                chosen.append(h.session_id)
        picks = [
            min((h for h in later if h.session_id == sid), key=lambda h: h.char_start)
            for sid in chosen
        ]
        # Quoted and cited: the turn of it that tells.
        picks = [told_in(h) or h for h in picks]
        # What "that" in the next question points at: the earliest report that names the
        # thing in the user's words, else the closest.
        best = min(
            (h for h in picks if mentions(h) and h.speaker in self.me_labels),
            key=lambda h: (h.session_date, h.char_start),
            default=picks[0] if picks else None,
        )
        came_up = (
            anchor,
            f"It came up on {day(anchor.session_date, today)}: {{who}} said “{{quote}}” [{{n}}]",
        )
        if picks:
            picks.sort(key=lambda h: (h.session_date, h.char_start))
            lines = [
                (
                    h,
                    ("Afterwards, on " if i == 0 else "On ")
                    + day(h.session_date, today)
                    + ", {who} said: “{quote}” [{n}]",
                )
                for i, h in enumerate(picks)
            ]
            tellers = frozenset() if asked.speaker == "other" else frozenset(self.me_labels)
            answer = self._composed(
                asked,
                found,
                [*lines, came_up],
                began,
                tellers=tellers,
                told=picks,
                telling=telling,
            )
        else:
            answer = self._composed(
                asked,
                found,
                [came_up],
                began,
                lead=f"Your sessions after {day(anchor.session_date, today)} don't say "
                "what happened.",
            )
        answer.evidence = evidence
        if best is not None:
            # The excerpt quoted from it (a piece of the hit, as cited).
            answer.focus = next((h for _, h in answer.citations if _within(h, best)), None)
        return answer

    def _users_report(self, moment: Hit, terms: set[str]) -> Hit | None:
        """`moment` when one of the user's own turns in it holds all of `terms` and proposes
        nothing (a report, not a plan: "I went to the pool twice", not "I'll try the
        pool"), else None."""
        for piece in self._excerpts(moment.text, [moment]):
            turn = piece.hit
            if turn.speaker in self.me_labels and terms <= content_stems(turn.text):
                return None if proposes(turn.text) else moment
        return None

    def _told_after(
        self,
        asked: AskedQuestion,
        echo: str,
        after: Filters,
        mentions: Callable[[Hit], bool],
        said: Callable[[Hit], set[str]],
        telling: set[str],
    ) -> list[Hit]:
        """The moments after the moment it came up (`after`: the filters from the next day
        on) that tell what became of it, closest first. `echo`: the question's topic and that
        moment's text; `telling`, their telling words.

        What happened is told in words of its own, often echoing the moment it came up
        rather than the question ("fifteen minutes, seven o'clock, the kitchen table" ->
        "I did the fifteen minutes most evenings"), so the later sessions are searched for the
        question and that moment together, the user's own words preferred (what happened
        between sessions is theirs to tell) unless the question asks what the other person
        said. A moment counts when it names the thing (`mentions`) or shares a telling word
        with the question or the moment (see `_telling_words`; two were tried and lost
        reports, bench/README.md)."""
        teller = asked.understood
        if teller.speaker != "other":
            teller = dataclasses.replace(teller, speaker="me", speaker_words=None)
        ranked = self.retriever.search(
            echo, k=8, filters=after, mode=self.settings.mode, understood=teller
        )
        return [h for h in ranked if mentions(h) or said(h) & telling]

    def _telling_words(self, text: str, terms: set[str]) -> set[str]:
        """The words of `text` that say what it is about: those that at most a tenth of the
        passages hold, or four in a small vault ("ECG", "allotment"; not "Dad" in a history of
        caring for a father)."""
        most = max(4, self.retriever.index.chunk_count // 10)
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

    def _answer_across(self, asked: AskedQuestion, filters: Filters, began: float) -> Answer:
        """ "When did I first / last...", "how often...": from the sessions that mention it."""
        assert self.across is not None
        today = self.today()
        sessions = self.across.sessions_mentioning(asked.topic, filters)
        if not sessions:
            first = self._search(asked.topic, filters, asked)
            evidence = self._decide(asked.topic, first, filters)
            return self._nothing_about(asked, first, evidence, began)
        hits = [h for s in sessions for h in s.hits]
        topic = asked.topic
        if asked.kind == "count":
            dates = [s.session_date for s in sessions]
            lead = (
                f"{topic[:1].upper() + topic[1:]} came up in {len(sessions)} "
                f"session{'s' if len(sessions) != 1 else ''}: {sessions_list(dates, today)}."
            )
            picks = [sessions[0], sessions[-1]] if len(sessions) > 1 else [sessions[0]]
            lines = [
                (
                    _best(s.hits),
                    "On " + day(s.session_date, today) + ", {who} said: “{quote}” [{n}]",
                )
                for s in picks
            ]
            return self._composed(asked, hits, lines, began, lead=lead)
        if len(content_stems(topic)) > 1:
            sessions = strong_mentions(sessions)
        chosen = sessions[0] if asked.kind == "first" else sessions[-1]
        word = "first" if asked.kind == "first" else "last"
        line = (
            "It "
            + word
            + " came up on "
            + day(chosen.session_date, today)
            + ", in “"
            + chosen.session_title
            + "”: {who} said “{quote}” [{n}]"
        )
        return self._composed(asked, hits, [(self._when_it_came_up(asked, chosen), line)], began)

    def _when_it_came_up(self, asked: AskedQuestion, session: SessionMentions) -> Hit:
        """The moment of `session` a "when did I first / last..." answer quotes: its strongest
        moment that holds the theme's rarest word, said by the user when the question asks
        what they said ("when did I first mention Craig?": "It was about Craig. That's her
        new fella", not the therapist's "How was the handover, with Craig?", though that
        scored higher). Dev histories 1-7: 3 more first/last answers cite the right moment,
        none fewer. (The session's earliest such moment for "first", its latest for "last",
        was tried: 5 more, 3 fewer.)"""
        terms = content_stems(asked.topic)
        key = self._rarest(asked.topic, terms) if terms else ""
        holding = [h for h in session.hits if key and key in content_stems(h.text)]
        if asked.speaker == "me":
            me = set(self.me_labels)
            by_user = [h for h in holding if me & set(h.speakers)]
            holding = by_user or holding
        return _best(holding or session.hits)

    def _nothing_about(
        self, asked: AskedQuestion, hits: Sequence[Hit], evidence: Evidence | None, began: float
    ) -> Answer:
        answer = Answer(
            question=asked.text,
            text=self._not_found(asked),
            found=False,
            hits=list(hits),
            closest=list(hits),
            evidence=evidence,
            timings=Timings(_ms_since(began)),
        )
        answer.timings = dataclasses.replace(answer.timings, total_ms=_ms_since(began))
        return answer

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
        ("did it WORK?"), never taken as a subject the sessions lack."""
        similarity = question_similarity(self.retriever, question, filters) if hits else None

        def held(word: str, terms: set[str]) -> bool:
            # Only the words the decision counts: not "2nd" once a date placed the question;
            # and a word that places it in time ("what did Mum say RECENTLY...?") is never
            # the subject the sessions lack, whether or not a date was read from it.
            return stem(word) not in terms - asking or word in DATE_WORDS or self._held(word)

        return decide_found(
            question,
            hits,
            similarity=similarity,
            thresholds=self.settings.evidence,
            filters=filters,
            never_held=lambda terms: never_mentioned(question, lambda word: held(word, terms)),
            telling=lambda terms: self._telling_words(question, terms - asking),
            model=self.settings.answerability,
            frequencies=lambda terms: self._passages_holding(question, terms),
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
        lines = self._extractive_lines(answer.question, answer.excerpts)
        answer.text = "\n".join([self.prompts.scope, *(line for _, line in lines)])
        answer.citations = [(e.n, e.hit) for e, _ in lines]

    def _answer_with_model(self, answer: Answer, emit: EventCallback, began: float) -> None:
        load_began = time.perf_counter()
        needs_load = self._model is None
        model = self.load_model()
        load_ms = _ms_since(load_began) if needs_load else None
        answer.model_id = model.model_id
        answer.excerpts = self._fit_context(model, answer.question, answer.excerpts)
        messages = self._messages(answer.question, answer.excerpts)
        prompt_tokens = model.count_prompt_tokens(messages)

        generation_began = time.perf_counter()
        kept, first_token_at = self._stream_checked(model, messages, answer, emit)
        finished = time.perf_counter()
        if self._cancelled.is_set():
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
            stop=self._stops(answer.excerpts),
            temperature=self.settings.temperature,
        ):
            if first_token_at is None:
                first_token_at = time.perf_counter()
            raw.append(piece)
            take(splitter.feed(piece))
            if self._cancelled.is_set():
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
                    for e, line in self._extractive_lines(answer.question, answer.excerpts)
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
            lines = self._extractive_lines(answer.question, answer.excerpts)
            answer.text = "\n".join(line for _, line in lines)
            answer.extractive = True
            cited = [e.n for e, _ in lines]
        by_number = {e.n: e for e in answer.excerpts}
        answer.citations = [(n, by_number[n].hit) for n in cited]
        return added

    def _messages(self, question: str, excerpts: Sequence[Excerpt]) -> list[Message]:
        # The system prompt and the worked example come first and never change, so llama.cpp
        # keeps them in its KV cache across questions; only excerpts and question are new.
        block = "\n".join(e.render() for e in excerpts)
        user = self.prompts.render_answer(excerpts=block, question=" ".join(question.split()))
        return [
            {"role": "system", "content": self.prompts.system},
            {"role": "user", "content": self.prompts.example_question},
            {"role": "assistant", "content": self.prompts.example_answer},
            {"role": "user", "content": user},
        ]

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
            model.count_prompt_tokens(self._messages(question, fitted)) + room > model.context_size
        ):
            fitted.pop()
        if not fitted:
            raise AnswerError("The chat model's context is too small for even one excerpt.")
        return fitted

    def _stops(self, excerpts: Sequence[Excerpt]) -> list[str]:
        labels = {e.who for e in excerpts if e.who} | {s for e in excerpts for s in e.hit.speakers}
        return list(dict.fromkeys([*_BASE_STOPS, *(f"\n{label}:" for label in sorted(labels))]))

    def _extractive_lines(
        self, question: str, excerpts: Sequence[Excerpt]
    ) -> list[tuple[Excerpt, str]]:
        """The best excerpts' most relevant sentences, quoted verbatim, one line each.

        Best: most of the question's words, then said by whoever the question asks about
        ("what did I say" / "what did my therapist suggest"), then earliest number.
        """
        terms = content_stems(question)
        asked = _asked_about(question)
        ordered = sorted(
            excerpts,
            key=lambda e: (-len(content_stems(e.hit.text) & terms), e.who != asked, e.n),
        )
        # A question asked in the session ("How's your mum doing?") shares the words and
        # answers nothing: its reply, the next turn, is quoted in its place.
        replies = {r.n: r for r in (_reply_to(e, excerpts) for e in ordered)}
        ranked = list(replies.values())[: self.settings.extractive_quotes]
        lines = []
        for excerpt in sorted(ranked, key=lambda e: e.n):
            quote = _best_quote(excerpt.hit.text, terms, self.settings.extractive_max_words)
            line = excerpt.source_line(quote) or self.prompts.extractive_line(
                date=excerpt.hit.session_date, who=excerpt.speaker_phrase, quote=quote, n=excerpt.n
            )
            lines.append((excerpt, line))
        return lines


def _reply_to(excerpt: Excerpt, excerpts: Sequence[Excerpt]) -> Excerpt:
    """The excerpt answering `excerpt` when it only asks (the other speaker's turn right after
    it in the same session), else `excerpt` itself."""
    if not only_asks(excerpt.hit.text):
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


def _without_speaker(question: str, asked: AskedQuestion | None) -> str:
    """The question as evidence is judged on: without the person it names as the speaker.
    "What did Helen say about my divorce?" is close in meaning to every turn of Helen's, and
    her name is on every one of her hits, but neither says anything about a divorce."""
    who = asked.understood.speaker_words if asked is not None else None
    if not who:
        return question
    pattern = r"\b" + r"\s+".join(map(re.escape, who.split())) + r"(?:['’]s)?\b"
    return " ".join(re.sub(pattern, " ", question, flags=re.IGNORECASE).split()) or question


# Where a hit is: its session and its span, the key its words and turns are kept under.
Place = tuple[str, int, int]


def _place(hit: Hit) -> Place:
    return (hit.session_id, hit.char_start, hit.char_end)


# Someone's words as the user reports them: in quotation marks, or "she said, ..." / "he
# goes, ...".
_REPORTED_SPEECH = re.compile(
    r"[\"“][^\"“”]{3,}[\"”]|\b(?:said|says|goes|went|told me),?\s+[\"“‘']", re.IGNORECASE
)


def _best(hits: Sequence[Hit]) -> Hit:
    """The strongest of a session's moments (a timeline lists them in the session's order)."""
    return max(hits, key=lambda h: (h.score, -h.rank))


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


def _within(piece: Hit, hit: Hit) -> bool:
    return piece.session_id == hit.session_id and hit.char_start <= piece.char_start < hit.char_end


def _best_quote(text: str, terms: set[str], max_words: int) -> str:
    """Whole sentences of `text` around the one sharing most of `terms`, verbatim."""
    sentences = sentence_spans(text) or [(0, len(text))]
    best = max(
        range(len(sentences)),
        key=lambda i: (
            len(content_stems(text[slice(*sentences[i])]) & terms),
            proposes(text[slice(*sentences[i])]),
            -i,
        ),
    )
    a, b = grow_span(sentences, best, lambda na, nb: len(text[na:nb].split()) <= max_words)
    quote = " ".join(text[a:b].split())
    if len(quote.split()) > max_words:
        quote = " ".join(quote.split()[:max_words])
    return quote


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000
