"""What the therapist suggested (reflect/answer/suggestion.py): the question is recognised, the
turn that puts something forward is quoted whole and cited, not the question about the topic;
nothing suggested: answered as any other question. Invented sessions of an invented client,
Noor, and her therapist, Ines."""

from __future__ import annotations

import datetime as dt

import pytest

from reflect.answer.question import AskedQuestion, read_question
from reflect.answer.suggestion import (
    asks_for_suggestion,
    suggesting_quote,
    suggestion_strength,
    suggestions_in,
)
from reflect.session import Session
from reflect.testing import FakeChatModel
from reflect.transcript import Turn
from tests.test_answer_questions import ME, TODAY, answerer_over, ines, noor, session


def read(question: str) -> AskedQuestion:
    return read_question(question, today=TODAY, others=["Ines"])


MONITOR = session(
    "m",
    dt.date(2025, 3, 4),
    [
        noor("I check the baby monitor all night, I zoom in on the screen to see her breathing."),
        ines("How often would you say you look at the monitor?"),
        noor("Twenty times a night, maybe more."),
        ines("What if the screen went face down, and you only had the sound? You'd hear her."),
        noor("Face down. That's scary. But I could try it."),
    ],
)
LATER = session(
    "n",
    dt.date(2025, 4, 1),
    [
        noor("The screen's face down most nights now, I still peek at the monitor once or twice."),
        ines("Once or twice. How was the monitor the other nights?"),
        noor("Quiet. I slept more."),
    ],
)


@pytest.mark.parametrize(
    "question",
    [
        "what did Ines suggest about the baby monitor?",
        "what did my therapist want me to try with the monitor?",
        "what did she tell me to do about the monitor",
        "what did my counsellor recommend for the monitor?",
    ],
)
def test_questions_asking_what_the_therapist_suggested(question: str) -> None:
    assert asks_for_suggestion(read(question))


@pytest.mark.parametrize(
    "question",
    [
        "what did I say about the monitor?",  # the user's own words
        "did I try the monitor face down?",  # an outcome
        "what did Ines say about the monitor?",  # all she said, not only suggestions
    ],
)
def test_other_questions_are_not_read_as_asking_for_a_suggestion(question: str) -> None:
    assert not asks_for_suggestion(read(question))


@pytest.mark.parametrize(
    ("text", "strength"),
    [
        ("What if the screen went face down?", 2),
        ("Could you ask Bev for that swap?", 2),
        ("Would you be up for keeping a sleep diary?", 2),
        ("We could make it a bit harder to do automatically.", 1),
        ("Say you're up at half six and at the plot by seven.", 1),
        ("So this week. The pool, if you can.", 1),
        ("What would it be like to charge your phone somewhere other than the bedroom?", 2),
        ("For the next two weeks: a paper sleep diary.", 1),
        # Talk of trying things leads up to the thing proposed.
        ("We can do a few small experiments with the conditions around it.", 1),
        # Asking about now, saying goodbye, scheduling: nothing to try.
        ("Anything else happen this week?", 0),
        ("Could you tell me more about that?", 0),
        ("Take care, Noor.", 0),
        ("No need to be sorry. Tell me.", 0),
        ("Why not?", 0),
        ("Let's say the thirteenth, a Wednesday.", 0),
        ("How often would you say you look at the monitor?", 0),
    ],
)
def test_how_strongly_a_turn_suggests_something(text: str, strength: int) -> None:
    assert suggestion_strength(text) == strength


def test_the_suggestion_is_quoted_whole_and_cited_not_the_question_about_it() -> None:
    with answerer_over([MONITOR, LATER], min_words=20) as a:
        answer = a.ask("what did Ines suggest I do with the baby monitor?")
    assert answer.found
    assert answer.text.startswith(
        "On 4 March, your therapist suggested: “What if the screen went face down, and you only"
    )
    cited = [hit.text for _, hit in answer.citations]
    assert cited[0].startswith("What if the screen went face down")
    assert not any(text.startswith("How often") for text in cited)
    # Every quote is the session's own words.
    for _, hit in answer.citations:
        assert hit.text in (MONITOR.text + LATER.text)
    assert answer.focus is answer.citations[0][1]


def test_nothing_suggested_is_answered_as_any_other_question() -> None:
    # Only a question about the monitor, nothing put forward: the usual answer, which quotes.
    asked_only = session(
        "q",
        dt.date(2025, 3, 4),
        [
            noor("I check the baby monitor all night, I zoom in on the screen."),
            ines("How often would you say you look at the monitor?"),
            noor("Twenty times a night, maybe more, the monitor is always on."),
        ],
    )
    with answerer_over([asked_only], min_words=20) as a:
        a.model_factory = lambda: FakeChatModel([""])  # writes nothing: quotes are pasted
        answer = a.ask("what did Ines suggest I do with the baby monitor?")
    assert answer.found and answer.extractive
    assert "suggested:" not in answer.text


def test_an_absent_topic_is_still_not_found() -> None:
    with answerer_over([MONITOR, LATER], min_words=20) as a:
        answer = a.ask("what did Ines suggest about my driving test?")
    assert not answer.found
    assert "suggested:" not in answer.text


FIRST = session(
    "f",
    dt.date(2025, 3, 4),
    [
        ines("We've got fifty minutes. You asked if you could record these?"),
        noor("Yes, if that's alright. I forget things."),
        ines("Of course. So the kitchen is hard when your flatmates are in there."),
        noor("I wait in my room until it's empty, sometimes till ten at night."),
        ines("Once this week, cook one meal in the kitchen while someone else is in there."),
        noor("Okay. One meal."),
        ines("And the breathing, try it twice a day, when you're calm, if you're willing."),
        noor("I can do that."),
    ],
)


def test_a_sessions_suggestions_are_the_other_persons_turns_that_put_something_forward() -> None:
    suggested = suggestions_in(FIRST, frozenset(ME))
    assert [h.text for h in suggested] == [
        # the outright proposal only, when there is one ("if you're willing")
        "And the breathing, try it twice a day, when you're calm, if you're willing.",
    ]
    assert all(h.text in FIRST.text for h in suggested)
    hints_only = session("g", FIRST.date, [t for t in _turns(FIRST) if "willing" not in t.text])
    assert [h.text for h in suggestions_in(hints_only, frozenset(ME))] == [
        "Once this week, cook one meal in the kitchen while someone else is in there.",
    ]
    assert suggestions_in(FIRST, frozenset({"Noor", "Ines"})) == []


def test_what_was_i_supposed_to_do_falls_back_on_the_sessions_suggestions() -> None:
    # Nothing the agreement rules read as agreed ("would you...", "I'll..."): the session's
    # suggestions are shown, and said to be suggestions.
    with answerer_over([FIRST], min_words=20, across=True) as a:
        answer = a.ask("what was I supposed to do after the session on 4 March?")
    assert answer.found
    assert answer.text.startswith(
        "On 4 March, these were the suggestions (nothing was agreed in so many words):"
    )
    assert "try it twice a day" in answer.text
    assert [hit.text for _, hit in answer.citations] == [
        "And the breathing, try it twice a day, when you're calm, if you're willing."
    ]


def _turns(s: Session) -> list[Turn]:
    return [Turn(t.speaker, s.turn_text(t), None, None) for t in s.turns]


def test_the_quote_is_the_sentence_that_suggests() -> None:
    turn = (
        "So I'd like to start there, if that's okay. Sleep isn't something you can force. "
        "Would you be up for keeping a sleep diary for the next two weeks? Just a few lines."
    )
    assert suggesting_quote(turn, 20) == (
        "Would you be up for keeping a sleep diary for the next two weeks? Just a few lines."
    )
    assert suggesting_quote(turn, 5) == "Would you be up for"  # cut at the most words
