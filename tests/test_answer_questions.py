"""Questions about time and outcomes, and follow-ups: read by rules, answered from evidence.

Unit tests with the deterministic FakeEmbedder and FakeChatModel (the system answers these
kinds itself, so the model must not even be asked). The people are invented: the client
Noor and her counsellor Ines.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from reflect.answer import Answerer, AnswerSettings, EvidenceThresholds
from reflect.answer.absent import never_mentioned, nothing_about
from reflect.answer.compose import SessionMentions, strong_mentions
from reflect.answer.conversation import Conversation
from reflect.answer.question import PreviousTurn, SessionDate, read_question
from reflect.chunking import chunk_session, embedding_text
from reflect.index import Filters, SearchIndex
from reflect.retrieval import Hit, Retriever
from reflect.session import Session, build_text
from reflect.testing import FakeChatModel, FakeEmbedder
from reflect.transcript import Turn

TODAY = dt.date(2025, 6, 30)
DATES = [SessionDate(f"s{i}", dt.date(2025, 3, 4) + dt.timedelta(days=14 * i)) for i in range(6)]


class TestKinds:
    @pytest.mark.parametrize(
        ("question", "kind", "topic"),
        [
            ("what did we say about sleep?", "recall", "sleep"),
            ("did I keep the worry journal?", "outcome", "keep the worry journal"),
            ("have I stuck to the evening walks?", "outcome", "stuck to the evening walks"),
            ("when did I first talk about my dad?", "first", "my dad"),
            ("when did I last mention the allotment?", "last", "the allotment"),
            ("how often has sleep come up?", "count", "sleep"),
            ("in how many sessions did we talk about work?", "count", "work"),
            ("what did we cover last session?", "recap", ""),
            ("what was my homework last time?", "agreements", ""),
            ("what did we agree I'd try?", "agreements", ""),
            ("can you sum up my first session?", "recap", ""),
            ("remind me what we talked about on 1 April", "recap", ""),
            ("what was my homework after the first session?", "agreements", ""),
            # Recaps asked in other words; what the user was to do, counted.
            ("what was our last session about again?", "recap", ""),
            ("what was the session at the start of February about?", "recap", ""),
            ("what did we go through last time?", "recap", ""),
            ("what two things was I supposed to do in early March?", "agreements", ""),
            ("when was the last time the allotment came up?", "last", "the allotment"),
            ("did I bring the diary?", "outcome", "bring the diary"),
            ("did my counsellor explain how the tablets work?", "recall", "how the tablets work"),
            ("how many of our sessions was Grandad in?", "count", "Grandad"),
            # How something went is what the user said about it.
            ("how did the tribunal go?", "recall", "the tribunal"),
            ("how did it go with the landlord?", "recall", "the landlord"),
            ("how did the new tablets work out?", "recall", "the new tablets"),
            # A recap of the session a moment picks out.
            (
                "what happened in the session where I told you about the caravan?",
                "recap",
                "the caravan",
            ),
            ("what did we go over the week the boiler broke?", "recap", "the boiler broke"),
            ("can you remind me what the very first session was about?", "recap", ""),
            ("what did we decide at the end of the last session?", "agreements", ""),
            ("what did we decide about the car?", "agreements", "the car"),
            # Whether something came up asks for the moments, not what became of it.
            ("did Liam's girlfriend come up?", "recall", "Liam's girlfriend"),
            ("did my brother ever come up?", "recall", "my brother"),
            ("when did the wedding come up?", "recall", "the wedding"),
            # What the user took on to tell someone, and "the plan", are agreements too.
            ("what did I say I'd tell Mum about the visit?", "agreements", "Mum about the visit"),
            ("what was the plan for the handover?", "agreements", "for the handover"),
            ("what was I meant to be working on?", "agreements", ""),
        ],
    )
    def test_the_kind_and_topic_of_a_question(self, question: str, kind: str, topic: str) -> None:
        asked = read_question(question, today=TODAY, sessions=DATES)
        assert (asked.kind, asked.topic) == (kind, topic)

    def test_a_frequency_inside_a_memory_is_not_a_count(self) -> None:
        asked = read_question(
            "what did I say about how often Mum was ringing?", today=TODAY, sessions=DATES
        )
        assert asked.kind == "recall"

    @pytest.mark.parametrize(
        ("question", "kind"),
        [
            ("how often was I checking the watch?", "recall"),
            ("how many times a night do I wake up?", "recall"),
            ("how often did I go swimming in October?", "recall"),
            ("how often did we talk about my sleep?", "count"),
            ("how often did I mention Ken?", "count"),
            ("how often has sleep come up?", "count"),
        ],
    )
    def test_how_often_i_did_something_is_a_moment_not_a_count_of_sessions(
        self, question: str, kind: str
    ) -> None:
        assert read_question(question, today=TODAY).kind == kind

    def test_did_i_say_is_a_memory_not_an_outcome(self) -> None:
        assert read_question("did I say the garage was full?", today=TODAY).kind == "recall"
        asked = read_question("did I ever mention wanting to quit smoking?", today=TODAY)
        assert asked.kind == "recall"
        assert read_question("did I ever ring the GP?", today=TODAY).kind == "outcome"

    @pytest.mark.parametrize(
        ("question", "kind"),
        [
            ("did I ever tell Marek about the loan?", "outcome"),
            ("did I ask my landlord to fix the boiler in the end?", "outcome"),
            ("have I talked to my brother yet?", "outcome"),
            ("did I tell you about the loan?", "recall"),
            # The therapist by name is "you": a moment of the sessions.
            ("did I tell Annika about the loan?", "recall"),
            ("did I tell my counsellor about the loan?", "recall"),
        ],
    )
    def test_speaking_to_someone_in_my_life_is_something_done(
        self, question: str, kind: str
    ) -> None:
        assert read_question(question, today=TODAY, others=["Annika"]).kind == kind


class TestTime:
    def test_last_and_first_session_become_that_session(self) -> None:
        last = read_question("what did we cover last session?", today=TODAY, sessions=DATES)
        assert last.session_ids == frozenset({"s5"})
        assert "the last session (13 May)" in last.summary()
        first = read_question(
            "what did I say about the train in my first session", today=TODAY, sessions=DATES
        )
        assert first.session_ids == frozenset({"s0"}) and first.topic == "the train"

    def test_a_session_in_the_future_is_not_the_last_one(self) -> None:
        asked = read_question("last session?", today=dt.date(2025, 4, 2), sessions=DATES)
        assert asked.session_ids == frozenset({"s2"})  # 1 April; 15 April hasn't happened

    def test_a_day_with_a_session_becomes_that_session(self) -> None:
        asked = read_question(
            "what did we talk about on the 1st of April?", today=TODAY, sessions=DATES
        )
        assert asked.kind == "recap" and asked.session_ids == frozenset({"s2"})

    @pytest.mark.parametrize(
        ("question", "since", "until"),
        [
            ("what did my counsellor say about walking in March?", (2025, 3, 1), (2025, 3, 31)),
            ("have I been sleeping better since April?", (2025, 4, 1), (2025, 6, 30)),
            ("what did we say about sleep before April?", None, (2025, 3, 31)),
        ],
    )
    def test_periods_become_date_filters(
        self,
        question: str,
        since: tuple[int, int, int] | None,
        until: tuple[int, int, int],
    ) -> None:
        asked = read_question(question, today=TODAY, sessions=DATES)
        assert asked.since == (dt.date(*since) if since else None)
        assert asked.until == dt.date(*until)
        assert "april" not in asked.topic.lower() and "march" not in asked.topic.lower()

    @pytest.mark.parametrize(
        ("question", "since", "until"),
        [
            ("what did we go over in the mid-April session?", (2025, 4, 8), (2025, 4, 23)),
            ("what did I say towards the end of April?", (2025, 4, 18), (2025, 4, 30)),
            ("what did we talk about in early May?", (2025, 5, 1), (2025, 5, 13)),
            ("what came up at the beginning of March?", (2025, 3, 1), (2025, 3, 13)),
        ],
    )
    def test_a_part_of_a_month_is_that_part(
        self, question: str, since: tuple[int, int, int], until: tuple[int, int, int]
    ) -> None:
        asked = read_question(question, today=TODAY, sessions=DATES)
        assert (asked.since, asked.until) == (dt.date(*since), dt.date(*until))
        assert not {"mid", "end", "early", "beginning"} & set(asked.topic.lower().split())

    def test_the_session_next_to_a_named_one(self) -> None:
        after = read_question(
            "what did we talk about the week after my first session?", today=TODAY, sessions=DATES
        )
        assert (after.kind, after.topic, after.session_ids) == ("recap", "", frozenset({"s1"}))
        before = read_question(
            "what did we cover in the session before the last session?",
            today=TODAY,
            sessions=DATES,
        )
        assert before.session_ids == frozenset({"s4"})

    def test_about_a_month_ago_with_no_session_then_is_the_nearest_session(self) -> None:
        # Sessions every two weeks from 4 March; "about a month ago" from 20 May is the week
        # around 20 April, which holds none: the nearest session (15 April) is meant.
        asked = read_question(
            "how was the allotment going about a month ago?",
            today=dt.date(2025, 5, 20),
            sessions=DATES,
        )
        assert (asked.since, asked.until) == (dt.date(2025, 4, 15), dt.date(2025, 4, 15))
        assert asked.topic == "the allotment"  # "how was ... going" asks, it is not the subject

    def test_a_couple_of_weeks_ago(self) -> None:
        asked = read_question(
            "what was going on with the allotment a couple of weeks ago?",
            today=TODAY,
            sessions=DATES,
        )
        # The week around 16 June holds no session, and the nearest (13 May) is a month
        # further back than "a couple of weeks": the window stays as said. The topic is what
        # was going on, not the framing.
        assert asked.topic == "the allotment"
        assert asked.time_words == "a couple of weeks ago"
        assert (asked.since, asked.until) == (dt.date(2025, 6, 12), dt.date(2025, 6, 20))

    def test_may_the_verb_is_not_may_the_month(self) -> None:
        asked = read_question("I may try walking, what did we say?", today=TODAY)
        assert asked.since is None and asked.until is None


class TestFollowUps:
    def previous(self, question: str) -> PreviousTurn:
        return PreviousTurn(read_question(question, today=TODAY, sessions=DATES))

    def test_did_i_keep_it_is_about_the_last_topic(self) -> None:
        asked = read_question(
            "did I keep it?",
            today=TODAY,
            sessions=DATES,
            previous=self.previous("what did we say about the worry journal?"),
        )
        assert asked.followup and asked.kind == "outcome"
        assert "worry journal" in asked.topic
        assert asked.speaker == "me"

    def test_what_about_keeps_the_old_topic_as_context(self) -> None:
        asked = read_question(
            "what about weekends?",
            today=TODAY,
            previous=self.previous("what did we say about drinking?"),
        )
        assert asked.followup and asked.topic == "weekends drinking"

    def test_a_what_question_after_a_first_time_asks_what_was_said(self) -> None:
        asked = read_question(
            "what's she going there for?",
            today=TODAY,
            previous=self.previous("when did Noor's sister first say she was moving out?"),
        )
        assert asked.followup and asked.kind == "recall"
        again = read_question(
            "and in April?", today=TODAY, previous=self.previous("how often did sleep come up?")
        )
        assert again.followup and again.kind == "count"

    def test_did_we_get_one_means_the_thing_talked_about(self) -> None:
        asked = read_question(
            "did we get one in the end?",
            today=TODAY,
            previous=self.previous("what did we say about a rabbit for Noor's daughter?"),
        )
        assert asked.followup and asked.kind == "outcome" and "rabbit" in asked.topic

    @pytest.mark.parametrize(
        "question", ["did he come round in the end?", "who did I try it on first?"]
    )
    def test_words_that_ask_are_not_a_subject_of_their_own(self, question: str) -> None:
        asked = read_question(
            question, today=TODAY, previous=self.previous("what did Ines say about saying no?")
        )
        assert asked.followup and "saying no" in asked.topic

    def test_time_words_carry_over_unless_new_ones_are_given(self) -> None:
        before = self.previous("what did we say about sleep in April?")
        again = read_question("and what did she say about that?", today=TODAY, previous=before)
        assert (again.since, again.until) == (dt.date(2025, 4, 1), dt.date(2025, 4, 30))
        assert again.speaker == "other"

    def test_did_i_keep_it_up_looks_after_the_moment_not_inside_its_month(self) -> None:
        # What happened to something from March is told in April or later: the follow-up
        # keeps the topic but not the month, and points at the moment the answer cited.
        moment = hit_of(
            "s0", "Session 1", dt.date(2025, 3, 4), "Ines", "Would you try a worry journal?"
        )
        before = PreviousTurn(
            read_question(
                "what did Ines suggest for worry in March?",
                today=TODAY,
                sessions=DATES,
                others=["Ines"],
            ),
            cited=moment,
            plans=("a worry journal",),
        )
        asked = read_question("did I keep it up?", today=TODAY, sessions=DATES, previous=before)
        assert asked.followup and asked.kind == "outcome"
        assert asked.topic == "a worry journal"
        assert (asked.since, asked.until, asked.session_ids) == (None, None, None)
        assert asked.refers_to is moment

    def test_a_short_question_with_no_subject_continues_the_conversation(self) -> None:
        before = self.previous("did I get the head of department job?")
        asked = read_question("when do I start?", today=TODAY, previous=before)
        assert asked.followup and "head of department job" in asked.topic
        assert "start" in asked.topic and "when" not in asked.topic.split()
        # A short question with a subject of its own is a new question.
        fresh = read_question("how was my sleep?", today=TODAY, previous=before)
        assert not fresh.followup

    def test_what_became_of_it_is_the_users_to_tell(self) -> None:
        # "what did Ines say about guilt?" then "did that stick with me?": the outcome is not
        # looked for in Ines's turns.
        before = PreviousTurn(
            read_question("what did Ines say about guilt?", today=TODAY, others=["Ines"])
        )
        asked = read_question("did that stick with me?", today=TODAY, previous=before)
        assert asked.followup and asked.kind == "outcome" and asked.topic == "guilt"
        assert asked.speaker != "other"

    def test_when_did_i_stop_it_searches_for_the_stopping(self) -> None:
        before = self.previous("what did we say about the worry journal?")
        asked = read_question("when did I stop doing it?", today=TODAY, previous=before)
        assert asked.followup and asked.topic == "stop doing the worry journal"

    def test_a_new_question_is_not_a_follow_up(self) -> None:
        asked = read_question(
            "what did we say about my sister's new flat?",
            today=TODAY,
            previous=self.previous("what did we say about sleep?"),
        )
        assert not asked.followup and asked.topic == "my sister's new flat"


# ---- answers, from evidence ----------------------------------------------------------------

EMBEDDER = FakeEmbedder(64)
ME = ["Noor"]


def noor(text: str) -> Turn:
    return Turn("Noor", text, None, None)


def ines(text: str) -> Turn:
    return Turn("Ines", text, None, None)


def session(sid: str, date: dt.date, turns: list[Turn]) -> Session:
    text, stored = build_text(turns)
    return Session(
        id=sid,
        title=f"Session {sid}",
        date=date,
        date_source="option",
        source_file=f"{sid}.txt",
        content_hash=sid,
        imported_at="2025-06-30T10:00:00",
        format="txt",
        text=text,
        turns=stored,
    )


SUGGESTED = session(
    "a",
    dt.date(2025, 3, 4),
    [
        noor("My head won't stop at night, it replays every conversation from work."),
        ines("Would you be up for keeping a worry journal by the bed, a few lines each night?"),
        noor("Yeah, I'll try the worry journal."),
        ines("Good. And the walks at lunch, how are they?"),
        noor("The walks at lunch are fine, I do them most days with a colleague."),
    ],
)
KEPT = session(
    "b",
    dt.date(2025, 3, 18),
    [
        ines("How has the fortnight been?"),
        noor("I wrote in the worry journal most nights, eleven of fourteen, and it helped."),
        ines("Eleven of fourteen nights. That's real."),
    ],
)
UNRELATED = session(
    "c",
    dt.date(2025, 4, 1),
    [
        noor("My sister is moving to the coast and I feel left behind."),
        ines("Left behind how?"),
    ],
)
SESSIONS = [SUGGESTED, KEPT, UNRELATED]
# The fake embedder's vectors mean nothing: the rule decides, on words (the learned decision,
# fitted on real vectors, is off where these are used).
WORDS_DECIDE = EvidenceThresholds(
    strong_similarity=2.0,
    min_coverage=0.5,
    min_similarity=-1.0,
    partial_coverage=2.0,
    partial_similarity=2.0,
    no_terms_similarity=2.0,
    words_only_coverage=0.5,
)


@pytest.fixture(scope="module")
def retriever() -> Iterator[Retriever]:
    index = SearchIndex()
    for s in SESSIONS:
        chunks = chunk_session(s, min_words=5, max_words=25)
        index.add_lexical(s, chunks)
        index.add_vectors(s.id, chunks, EMBEDDER.embed([embedding_text(s, c) for c in chunks]))
    yield Retriever(index, EMBEDDER, me_labels=frozenset(ME))
    index.close()


class Timeline:
    """A stand-in for the view across sessions: sessions whose text holds the topic word."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever

    def sessions_mentioning(self, topic: str, filters: Filters) -> list[SessionMentions]:
        hits = self.retriever.search(topic, k=20, filters=filters)
        word = topic.split()[-1].lower()
        out: dict[str, SessionMentions] = {}
        for h in hits:
            if word in h.text.lower():
                out.setdefault(
                    h.session_id, SessionMentions(h.session_id, h.session_date, h.session_title, [])
                ).hits.append(h)
        return sorted(out.values(), key=lambda s: s.session_date)

    def recap_moments(self, session_id: str) -> list[Hit]:
        hits = self.retriever.search("journal walks sister", k=20)
        return [h for h in hits if h.session_id == session_id][:3]

    def agreed(self, filters: Filters) -> list[tuple[Hit, Hit | None]]:
        (proposal,) = [h for h in self.retriever.search("worry journal by the bed", k=3)][:1]
        return [(proposal, None)] if proposal.session_id == "a" else []


def answerer(retriever: Retriever, model: FakeChatModel) -> Answerer:
    return Answerer(
        retriever,
        EMBEDDER,
        lambda: model,
        me_labels=ME,
        therapist_labels=["Ines"],
        settings=AnswerSettings(evidence=WORDS_DECIDE, answerability=None),
        session_dates=lambda: [SessionDate(s.id, s.date) for s in SESSIONS],
        across=Timeline(retriever),
        today=lambda: TODAY,
    )


class Reversed:
    """A shown order: the same search, last first; counts its calls."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever, self.calls = retriever, 0

    def search(self, query: str, **kwargs: Any) -> list[Hit]:
        self.calls += 1
        return list(reversed(self.retriever.search(query, **kwargs)))


def test_found_moments_are_shown_in_the_shown_order_decided_on_the_first(
    retriever: Retriever,
) -> None:
    shown = Reversed(retriever)
    a = Answerer(
        retriever,
        EMBEDDER,
        lambda: FakeChatModel([]),
        me_labels=ME,
        settings=AnswerSettings(evidence=WORDS_DECIDE, answerability=None),
        shown_order=shown,  # type: ignore[arg-type]
    )
    plain = answerer(retriever, FakeChatModel([]))
    found = a.prepare("what did I say about the worry journal?")
    assert found.evidence.found and shown.calls == 1
    expected = plain.prepare("what did I say about the worry journal?")
    assert [h.chunk_index for h in found.hits] == [h.chunk_index for h in reversed(expected.hits)]
    # Whether the sessions hold it is decided before: an absent subject never asks the order.
    absent = a.prepare("what did I say about the zeppelin?")
    assert not absent.evidence.found and shown.calls == 1


def test_did_i_keep_it_answers_with_what_was_said_afterwards(retriever: Retriever) -> None:
    model = FakeChatModel([])
    answer = answerer(retriever, model).ask("did I keep the worry journal?")
    assert answer.found and answer.asked is not None and answer.asked.kind == "outcome"
    assert answer.text.startswith("Afterwards, on 18 March, you said: “I wrote in the worry")
    assert "It came up on 4 March" in answer.text
    cited = {hit.session_id for _, hit in answer.citations}
    assert cited == {"a", "b"}
    for _, hit in answer.citations:  # every excerpt is the transcript's own words
        source = next(s for s in SESSIONS if s.id == hit.session_id)
        assert source.text[hit.char_start : hit.char_end] == hit.text
    assert model.calls == []  # the system answered; the model was never asked


def test_when_later_sessions_say_nothing_it_says_so(retriever: Retriever) -> None:
    answer = answerer(retriever, FakeChatModel([])).ask("did I keep up the walks at lunch?")
    assert answer.text.startswith("Your sessions after 4 March don't say what happened.")
    assert [hit.session_id for _, hit in answer.citations] == ["a"]


def test_a_conversation_carries_the_topic_and_the_cited_moment(retriever: Retriever) -> None:
    a = answerer(retriever, FakeChatModel(["You agreed to try a worry journal [2]."]))
    talk = Conversation()
    a.ask("what did we say about the worry journal?", conversation=talk)
    kept = a.ask("did I keep it?", conversation=talk)
    assert kept.asked is not None and kept.asked.followup
    assert "I wrote in the worry journal" in kept.text
    when = a.ask("when was that?", conversation=talk)
    assert when.text.startswith("That was on 18 March, in “Session b”")
    talk.clear()
    fresh = a.ask("when was that?", conversation=talk)
    assert fresh.asked is not None and not fresh.asked.followup


def test_first_last_and_how_often_come_from_the_sessions_that_mention_it(
    retriever: Retriever,
) -> None:
    a = answerer(retriever, FakeChatModel([]))
    first = a.ask("when did I first talk about the journal?")
    assert first.text.startswith("It first came up on 4 March, in “Session a”")
    last = a.ask("when did I last mention the journal?")
    assert last.text.startswith("It last came up on 18 March, in “Session b”")
    count = a.ask("how often has the journal come up?")
    assert count.text.startswith("The journal came up in 2 sessions: 4 March and 18 March.")


def test_nothing_about_a_topic_never_mentioned(retriever: Retriever) -> None:
    answer = answerer(retriever, FakeChatModel([])).ask("did I keep the gratitude letters?")
    assert not answer.found
    assert answer.citations == []


class TestRegressionsFromTheBench:
    """Misreadings found by bench_answers.py on the dev questions (written fresh here)."""

    @pytest.mark.parametrize(
        ("question", "kind", "topic"),
        [
            ("when did a garden shed first come up?", "first", "a garden shed"),
            ("how many sessions did Ken come up in?", "count", "Ken"),
            ("has my sleep got better?", "outcome", "my sleep got better"),
            ("did Mum settle in at the flat?", "outcome", "Mum settle in at the flat"),
            ("did I ever see a doctor about it?", "outcome", "see a doctor about it"),
            (
                "where I said he marks emails like homework",
                "recall",
                "he marks emails like homework",  # the "where" asked for the moment
            ),
        ],
    )
    def test_kinds_and_topics(self, question: str, kind: str, topic: str) -> None:
        asked = read_question(question, today=TODAY, sessions=DATES)
        assert (asked.kind, asked.topic) == (kind, topic)

    def test_a_session_named_by_its_day(self) -> None:
        asked = read_question(
            "what did we agree in the 1 April session?", today=TODAY, sessions=DATES
        )
        assert asked.kind == "agreements" and asked.session_ids == frozenset({"s2"})

    @pytest.mark.parametrize(
        ("question", "others", "topic", "who"),
        [
            ("what did Ines say about guilt?", ["Ines"], "guilt", "Ines"),
            ("what did Dr. Osei say about panic?", ["Dr. Osei"], "panic", "Dr. Osei"),
        ],
    )
    def test_the_therapist_by_name(
        self, question: str, others: list[str], topic: str, who: str
    ) -> None:
        asked = read_question(question, today=TODAY, others=others)
        assert asked.topic == topic and asked.speaker == "other"
        assert asked.understood.speaker_description() == who


def test_what_did_we_cover_is_that_sessions_moments(retriever: Retriever) -> None:
    answer = answerer(retriever, FakeChatModel([])).ask("what did we cover on 18 March?")
    assert answer.asked is not None and answer.asked.kind == "recap"
    assert answer.text.startswith("In “Session b”, on 18 March, these were the main moments:")
    assert {hit.session_id for _, hit in answer.citations} == {"b"}


def test_a_recap_of_the_session_where_something_was_said_is_that_sessions_moments(
    retriever: Retriever,
) -> None:
    answer = answerer(retriever, FakeChatModel([])).ask(
        "what did we talk about in the session where I told you my sister is moving?"
    )
    assert answer.asked is not None and answer.asked.kind == "recap"
    assert answer.text.startswith("In “Session c”, on 1 April")
    assert {hit.session_id for _, hit in answer.citations} == {"c"}
    never = answerer(retriever, FakeChatModel([])).ask(
        "what did we cover in the session where I told you about the zeppelin?"
    )
    assert not never.found and not never.citations


def test_what_did_we_agree_is_the_agreements_with_their_words(retriever: Retriever) -> None:
    answer = answerer(retriever, FakeChatModel([])).ask("what did we agree in March?")
    assert answer.asked is not None and answer.asked.kind == "agreements"
    assert answer.text.startswith("What you agreed on 4 March:")
    assert "worry journal" in answer.text


def test_agreements_about_something_never_agreed_are_not_the_other_agreements(
    retriever: Retriever,
) -> None:
    # Only the worry journal was agreed. Asked about a subject no agreement names, the answer
    # must not list the journal as if it were about that subject: the question is answered
    # as a search, which reports an absent subject as absent.
    answer = answerer(retriever, FakeChatModel([])).ask("what did we agree about the aquarium?")
    assert answer.asked is not None and answer.asked.kind == "agreements"
    assert not answer.found
    assert "worry journal" not in answer.text
    about = answerer(retriever, FakeChatModel([])).ask("what did we agree about the journal?")
    assert about.found and "worry journal" in about.text


def test_the_named_speaker_is_not_evidence_of_the_subject(retriever: Retriever) -> None:
    # Ines's name is on every one of her turns; that must not count as the sessions holding
    # what she was asked about.
    a = answerer(retriever, FakeChatModel([]))
    absent = a.ask("what did Ines say about antidepressants?")
    assert not absent.found
    assert absent.text.startswith("Nothing about antidepressants came up in your sessions.")
    told = answerer(retriever, FakeChatModel(["Ines suggested a worry journal [1]."]))
    assert told.ask("what did Ines say about the worry journal?").found


def test_when_was_that_after_an_outcome_is_the_report_it_rests_on(
    retriever: Retriever,
) -> None:
    a = answerer(retriever, FakeChatModel([]))
    talk = Conversation()
    kept = a.ask("did I keep the worry journal?", conversation=talk)
    assert kept.focus is not None and kept.focus.session_id == "b"
    when = a.ask("when was that?", conversation=talk)
    assert when.text.startswith("That was on 18 March, in “Session b”")


def test_did_i_keep_it_means_what_the_cited_moment_suggested(retriever: Retriever) -> None:
    # "It" after "what did we say about my nights?" is the worry journal the cited excerpt
    # proposed, not "nights": the follow-up looks for what happened to the journal.
    a = answerer(retriever, FakeChatModel(["Ines suggested a worry journal [1]."] * 2))
    talk = Conversation()
    first = a.ask("what did we say about my head at night?", conversation=talk)
    assert any("worry journal" in hit.text for _, hit in first.citations)
    kept = a.ask("did I keep it?", conversation=talk)
    assert kept.asked is not None and kept.asked.followup
    assert kept.asked.topic == "keeping a worry journal"
    assert "I wrote in the worry journal" in kept.text


def test_proposed_things_are_the_words_after_the_asking() -> None:
    from reflect.agreements import proposed_things

    assert proposed_things(
        "Would you be up for keeping a sleep diary for the next two weeks? Just a few lines."
    ) == ["keeping a sleep diary"]
    assert proposed_things("Yeah. I'll cut down to weekends, I think.") == ["cut down to weekends"]
    assert proposed_things("How about trying the three lines before bed?") == [
        "trying the three lines"
    ]
    assert proposed_things("That sounds hard. Tell me more.") == []


def test_an_outcome_told_in_other_words_is_found_by_the_moment_it_answers() -> None:
    # The report never says "worry time": it echoes the suggestion's own words (fifteen
    # minutes, the kitchen table). The client's words are quoted, not Ines's question.
    sessions = [
        session(
            "p",
            dt.date(2025, 5, 6),
            [
                noor("The worrying eats my whole evening, every evening."),
                ines(
                    "Would you try a worry time: fifteen minutes at seven, at the kitchen table, "
                    "and outside it you park the worries?"
                ),
                noor("Fifteen minutes at the kitchen table. Okay, I can try that."),
            ],
        ),
        session(
            "q",
            dt.date(2025, 5, 20),
            [
                ines("How did the fortnight go?"),
                noor(
                    "I sat at the kitchen table for the fifteen minutes most evenings, nine of "
                    "fourteen, and the nights were quieter."
                ),
                ines("Nine of fourteen."),
            ],
        ),
        session(
            "r",
            dt.date(2025, 6, 3),
            [
                noor("My brother rang about the car again."),
                ines("What did he want?"),
            ],
        ),
    ]
    with answerer_over(sessions) as a:
        answer = a.ask("did the worry time actually work?")
        assert answer.found and answer.asked is not None and answer.asked.kind == "outcome"
        assert answer.text.startswith("Afterwards, on 20 May, you said: “I sat at the kitchen")
        assert "It came up on 6 May" in answer.text
        assert {hit.session_id for _, hit in answer.citations} == {"p", "q"}


def test_of_the_users_turns_in_a_later_passage_the_one_that_tells_it_is_quoted() -> None:
    # "Hiya. Mixed bag, honestly." opens the passage; the report comes a turn later, in the
    # same passage (chunks of at least 20 words here).
    sessions = [
        session(
            "p",
            dt.date(2025, 5, 6),
            [
                ines("Would you try a worry time: fifteen minutes at seven, at the kitchen table?"),
                noor("Fifteen minutes at the kitchen table. Okay, I can try that."),
            ],
        ),
        session(
            "q",
            dt.date(2025, 5, 20),
            [
                noor("Hiya. Mixed bag, honestly."),
                ines("Go on."),
                noor("The kitchen table, fifteen minutes, most evenings."),
                ines("Most evenings."),
            ],
        ),
    ]
    with answerer_over(sessions, min_words=20) as a:
        answer = a.ask("did the worry time actually work?")
        assert answer.text.startswith("Afterwards, on 20 May, you said: “The kitchen table,")


def test_when_the_moment_it_came_up_tells_it_that_moment_is_the_answer() -> None:
    # Nothing later names the climbing; where it came up, the user told it had happened,
    # after the therapist's question: that turn answers, not the later talk of the nephew.
    sessions = [
        session(
            "p",
            dt.date(2025, 5, 6),
            [
                ines("How was the weekend with your nephew?"),
                noor("He climbed the big frame at the park, all the way up, on his own."),
            ],
        ),
        session(
            "q",
            dt.date(2025, 5, 20),
            [
                noor("My nephew stayed over again and we watched a film."),
                ines("How was that?"),
            ],
        ),
    ]
    with answerer_over(sessions, min_words=20) as a:
        answer = a.ask("has my nephew climbed the big frame yet?")
        assert answer.asked is not None and answer.asked.kind == "outcome"
        assert answer.text.startswith("On 6 May, you said: “He climbed the big frame")
        assert [hit.session_id for _, hit in answer.citations] == ["p"]
        # A plan where it came up is not what happened: the sessions after it are looked at.
        planned = [
            session(
                "p",
                dt.date(2025, 5, 6),
                [noor("I'll try to get him to climb the big frame at the park next weekend.")],
            ),
            sessions[1],
        ]
    with answerer_over(planned, min_words=5) as a:
        answer = a.ask("has my nephew climbed the big frame yet?")
        assert answer.text.startswith("Afterwards, on 20 May") or "don't say" in answer.text
        assert "It came up on 6 May" in answer.text or "after 6 May" in answer.text


def test_a_state_where_it_came_up_is_not_what_happened() -> None:
    # "He's at camp" holds "camp" but not "home": the report is the later "back on Sunday".
    sessions = [
        session(
            "p",
            dt.date(2025, 5, 6),
            [noor("My nephew is away at camp in the hills this month, he hates the camp food.")],
        ),
        session(
            "q",
            dt.date(2025, 5, 20),
            [noor("He got home on Sunday, sunburnt, and slept for a whole day at home.")],
        ),
    ]
    with answerer_over(sessions) as a:
        answer = a.ask("did my nephew make it home from camp?")
        assert answer.asked is not None and answer.asked.kind == "outcome"
        assert answer.text.startswith("Afterwards, on 20 May, you said: “He got home on Sunday")


def test_a_question_asked_in_the_session_is_quoted_by_its_reply() -> None:
    # "How are the courgettes doing?" holds the question's word; "Huge, I gave six away"
    # answers it and holds none of them.
    sessions = [
        session(
            "p",
            dt.date(2025, 5, 6),
            [
                ines("And the allotment, how are the courgettes doing?"),
                noor("Huge, I gave six away to the neighbours."),
                ines("Anything else this week?"),
                noor("My cousin rang from Leeds, we talked for an hour."),
            ],
        ),
    ]
    with answerer_over(sessions) as a:
        a.model_factory = lambda: FakeChatModel(["Something unsupported about a parrot [1]."])
        answer = a.ask("what was I saying about the courgettes?")
        assert answer.extractive and answer.found
        assert answer.text.startswith('On 6 May 2025 you said: "Huge, I gave six away')
        assert "how are the courgettes doing?" not in answer.text


def test_a_turn_that_ends_asking_is_answered_by_the_next_one() -> None:
    # Seen in the demo: "how many hours was I sleeping?" quoted the therapist's "Three weeks.
    # That's great. How's your sleep?" and not the answer after it, which says how many.
    sessions = [
        session(
            "h",
            dt.date(2025, 5, 6),
            [
                ines("Three weeks off the late shifts. That's great. How's your sleep?"),
                noor("Properly good. I worked out I'm getting about seven hours now."),
                ines("Pick three friendly faces for the speech. Could that help?"),
                noor("Maybe. I'm not sure."),
            ],
        ),
    ]
    with answerer_over(sessions) as a:
        a.model_factory = lambda: FakeChatModel(["A parrot [1].", "A parrot [1]."])
        answer = a.ask("how many hours was I sleeping?")
        assert answer.extractive and answer.found
        assert "getting about seven hours" in answer.text
        # Asked what the therapist said, the suggestion is the answer, question or not.
        said = a.ask("what did Ines suggest for the speech?")
        assert "Pick three friendly faces" in said.text


@contextlib.contextmanager
def answerer_over(
    sessions: list[Session], *, min_words: int = 5, across: bool = False
) -> Iterator[Answerer]:
    """An answerer over `sessions`, indexed in chunks of `min_words`-25 words; words decide;
    with `across`, the stand-in `Timeline` for questions across sessions."""
    index = SearchIndex()
    for s in sessions:
        chunks = chunk_session(s, min_words=min_words, max_words=25)
        index.add_lexical(s, chunks)
        index.add_vectors(s.id, chunks, EMBEDDER.embed([embedding_text(s, c) for c in chunks]))
    retriever = Retriever(index, EMBEDDER, me_labels=frozenset(ME))
    try:
        yield Answerer(
            retriever,
            EMBEDDER,
            lambda: FakeChatModel([]),
            me_labels=ME,
            therapist_labels=["Ines"],
            settings=AnswerSettings(evidence=WORDS_DECIDE, answerability=None),
            session_dates=lambda: [SessionDate(s.id, s.date) for s in sessions],
            across=Timeline(retriever) if across else None,
            today=lambda: TODAY,
        )
    finally:
        index.close()


class TestNeverMentioned:
    """What the sessions never mention is said as such, and only when it is a fact."""

    HELD = frozenset({"sister", "journal", "worried"})

    def held(self, word: str) -> bool:
        return word in self.HELD

    def test_a_subject_no_session_holds_is_named_back(self) -> None:
        missing = never_mentioned("my brother", self.held)
        assert missing == ["brother"]
        assert nothing_about("my brother", missing) == (
            "Nothing about your brother came up in your sessions."
        )

    def test_only_the_missing_words_of_a_clause_are_named(self) -> None:
        topic = "I was worried about being made redundant"
        missing = never_mentioned(topic, self.held)
        assert missing == ["redundant"]
        assert nothing_about(topic, missing) == (
            "Your sessions never mention “redundant”, and nothing else in them answers this."
        )

    def test_nothing_is_claimed_when_every_word_occurs(self) -> None:
        assert (
            nothing_about("my sister's journal", never_mentioned("my sister's journal", self.held))
            is None
        )


def test_the_first_time_of_a_theme_of_several_words_is_a_strong_mention_of_all_of_it() -> None:
    # "When did Leona first tell me she was moving out?": Leona is in every session, the
    # move in the third; the weak mentions (one word of the theme) are not its first time.
    def mentions(day: int, score: float) -> SessionMentions:
        hit = hit_of(f"s{day}", f"Session {day}", dt.date(2025, 3, day), "Noor", "Leona.", score)
        return SessionMentions(hit.session_id, hit.session_date, hit.session_title, [hit])

    sessions = [mentions(4, 0.9), mentions(11, 1.0), mentions(18, 1.6), mentions(25, 1.3)]
    strong = strong_mentions(sessions)
    assert [s.session_date.day for s in strong] == [18, 25]
    assert strong_mentions([]) == []


def hit_of(
    session_id: str, title: str, date: dt.date, speaker: str, text: str, score: float = 1.0
) -> Hit:
    """A found moment: one turn, the whole of a session's text."""
    return Hit(
        rank=1,
        score=score,
        session_id=session_id,
        session_title=title,
        session_date=date,
        source_file=f"{session_id}.txt",
        speaker=speaker,
        start=None,
        end=None,
        text=text,
        char_start=0,
        char_end=len(text),
        first_turn=0,
        last_turn=0,
    )


def test_a_word_that_places_the_question_in_time_is_never_its_missing_subject() -> None:
    # No session says "recently": the question asks when, not about what; "Mum" and "shoes"
    # are said together. "Crocodile", said nowhere, still is a missing subject. (Asked of
    # "my crocodile shoes", the learned decision shows the shoes: a detail the sessions lack
    # beside the thing they hold is how paraphrases look too.)
    sessions = [
        session(
            "r",
            dt.date(2025, 6, 3),
            [
                noor("Mum rang about the shoes again, she thinks they pinch my toes."),
                ines("And what did you tell her about the shoes?"),
            ],
        )
    ]
    with answerer_over(sessions) as a:
        assert a.prepare("what did Mum say recently about my shoes?").evidence.found
        assert not a.prepare("what did we say about my crocodile?").evidence.found


def test_when_i_first_mentioned_someone_quotes_my_first_words_about_them_that_session() -> None:
    # The therapist's later question names Craig twice and scores higher; the user named him
    # first, and "when did I first mention Craig?" asks for that.
    sessions = [
        session(
            "c",
            dt.date(2025, 5, 12),
            [
                noor("The fifth text I sent straight off. It was about Craig, her new fella."),
                ines("And the weekend itself, with the children, how was that for you?"),
                noor("Long. Good, mostly. We went to the park twice and fed the ducks."),
                ines("How was the handover with Craig? What was Craig like at the door?"),
            ],
        )
    ]
    with answerer_over(sessions, across=True) as a:
        first = a.ask("when did I first mention Craig?")
        assert first.text.startswith("It first came up on 12 May, in “Session c”: you said")
        assert "It was about Craig" in first.text


def test_what_someone_outside_the_sessions_said_is_found_in_the_users_report_of_it() -> None:
    # Mum never speaks in a session: her words are in Noor's report, quoted. The therapist's
    # question about Mum holds more of the question's words; "she" later in the question is
    # Mum, not the therapist.
    sessions = [
        session(
            "m",
            dt.date(2025, 6, 10),
            [
                ines("And when your mum came round with the shopping, what did she say then?"),
                noor("She put the bags down and said, “You look like you again.” Just that."),
                ines("How did that land with you, hearing that from her at the door?"),
                noor("I had to go and stand in the garden for a minute, honestly."),
            ],
        )
    ]
    with answerer_over(sessions) as a:
        asked = a.read("what did Mum say when she came round with the shopping?")
        assert asked.understood.speaker == "me"
        prepared = a.prepare(asked.text, asked=asked)
        assert "You look like you again." in prepared.hits[0].text


class TwoAgreements:
    """The view across sessions with two agreements that both name Dad."""

    def __init__(self, visit: Hit, ring: Hit) -> None:
        self.pairs: list[tuple[Hit, Hit | None]] = [(visit, None), (ring, None)]

    def agreed(self, filters: Filters) -> list[tuple[Hit, Hit | None]]:
        return list(self.pairs)


def test_what_we_agreed_about_something_is_the_agreement_that_holds_most_of_it() -> None:
    # Dad is in every session; the visit once he'd moved is the agreement asked about, not
    # the later one that only names Dad.
    visit = "Would you visit Dad at the new home once he has moved in, just for an hour?"
    ring = "Could you ring Dad on Thursday evening and tell him about the garden?"
    dad = [noor(f"Dad was on my mind again, {n}.") for n in ("Monday", "Tuesday", "all week")]
    sessions = [
        session("v", dt.date(2025, 3, 4), [ines(visit), *dad]),
        session("r", dt.date(2025, 3, 18), [ines(ring), noor("Dad rang me first, in the end.")]),
    ]
    with answerer_over(sessions, across=True) as a:
        a.across = TwoAgreements(
            hit_of("v", "Session v", dt.date(2025, 3, 4), "Ines", visit),
            hit_of("r", "Session r", dt.date(2025, 3, 18), "Ines", ring),
        )
        answer = a.ask("what did we agree about visiting Dad once he'd moved?")
        assert answer.text.startswith("What you agreed on 4 March:")
        assert "ring Dad" not in answer.text


def test_whether_someone_came_up_is_answered_from_the_sessions_not_as_an_outcome() -> None:
    # "did Liam's girlfriend come up?" had been read as "did ... come up" happening after a
    # plan, and quoted Liam; no session holds "girlfriend".
    sessions = [
        session(
            "l",
            dt.date(2025, 4, 2),
            [
                noor("Liam rang on Sunday. He's doing the Wednesday evenings now, with Dad."),
                ines("How was that, hearing him offer?"),
            ],
        )
    ]
    with answerer_over(sessions) as a:
        answer = a.ask("did Liam's girlfriend come up?")
        assert answer.asked is not None and answer.asked.kind == "recall"
        assert not answer.found
        assert answer.text.startswith("Your sessions never mention “girlfriend”")
