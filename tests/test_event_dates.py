"""When an event a question names happened ("before the wedding"), from small invented
transcripts: a date said with it, told as past or as ahead, and nothing when the clues
disagree or are too weak (reflect/answer/events.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from reflect.answer.events import date_of_event, event_window, find_event_mention
from reflect.answer.question import SessionDate, read_question


@dataclass(frozen=True)
class Said:
    id: str
    date: dt.date
    text: str


def sessions(*texts: tuple[str, str]) -> list[Said]:
    return [Said(f"s{i}", dt.date.fromisoformat(day), text) for i, (day, text) in enumerate(texts)]


D = dt.date


# ---- dates said with the event --------------------------------------------------------------


@pytest.mark.parametrize(
    ("said_on", "sentence", "day"),
    [
        ("2025-02-03", "Client: The wedding's on the 14th of March, at the barn.", D(2025, 3, 14)),
        ("2025-02-03", "Client: The hearing is on the 12th.", D(2025, 2, 12)),
        ("2025-02-20", "Client: The hearing is on the 12th.", D(2025, 3, 12)),
        # Thursday 2 April: "next Tuesday, the seventh" is both read and must agree.
        (
            "2026-04-02",
            "Client: The funeral's next Tuesday, the seventh, at the church.",
            D(2026, 4, 7),
        ),
        (
            "2025-05-13",
            "Client: Dad moves into Hollybank on the twenty-second of May.",
            D(2025, 5, 22),
        ),
        # Tuesday 27 May: "on the Thursday", told as done, is the last one.
        ("2025-05-27", "Client: He's in. He moved in on the Thursday.", D(2025, 5, 22)),
        (
            "2025-10-23",
            "Client: The interview was on Tuesday, this Tuesday, and they rang on Wednesday.",
            D(2025, 10, 21),
        ),
        ("2026-01-08", "Client: She's getting married in March, the fourteenth.", D(2026, 3, 14)),
        ("2025-06-06", "Client: The party is this Saturday.", D(2025, 6, 7)),
        ("2025-06-06", "Client: The party was yesterday.", D(2025, 6, 5)),
    ],
)
def test_a_date_said_with_the_event_is_read_against_the_sessions_day(
    said_on: str, sentence: str, day: dt.date
) -> None:
    head = sentence.split(":")[1].split()[1].replace("'s", "").strip(".,").lower()
    event = {"getting": "the wedding", "moves": "the move", "in": "the move"}.get(
        head, f"the {head}"
    )
    found = date_of_event(event, sessions((said_on, sentence)))
    assert found is not None
    assert (found.first, found.last) == (day, day)
    assert found.describe() == f"{day.day} {day:%B}"


def test_next_weekday_alone_is_a_range_not_a_guess() -> None:
    # Friday 6 June: "next Saturday" is the 7th or the 14th, depending on who says it.
    found = date_of_event(
        "the party", sessions(("2025-06-06", "Client: The party's next Saturday."))
    )
    assert found is not None
    assert (found.first, found.last) == (D(2025, 6, 7), D(2025, 6, 14))


def test_a_date_of_something_else_in_the_sentence_is_not_the_events() -> None:
    found = date_of_event(
        "the move",
        sessions(("2025-05-13", "Therapist: We've booked the twenty-seventh, after the move.")),
    )
    assert found is None
    found = date_of_event(
        "the holiday",
        sessions(("2025-10-23", "Client: With the holiday, my last day is Friday the 31st.")),
    )
    assert found is None


# ---- told as past, told as ahead -------------------------------------------------------------


def test_past_and_ahead_bound_the_event_between_two_sessions() -> None:
    found = date_of_event(
        "the wedding",
        sessions(
            ("2026-02-19", "Client: I think the wedding will be huge."),
            ("2026-03-05", "Client: I'm going to dance at that wedding, even sitting down."),
            ("2026-03-19", "Client: The wedding was lovely. Everyone cried."),
        ),
    )
    assert found is not None
    assert (found.first, found.last) == (D(2026, 3, 5), D(2026, 3, 19))
    assert found.describe() == "between 5 March and 19 March"


@pytest.mark.parametrize(
    "sentence",
    [
        "Client: Since the funeral I've been running every day.",
        "Therapist: How did the funeral go?",
        "Client: I didn't drink at the funeral at all.",
        "Client: She'd been to the funeral and stayed for tea.",
        "Client: The funeral was small.",
    ],
)
def test_told_as_past(sentence: str) -> None:
    found = date_of_event(
        "the funeral",
        sessions(
            ("2026-04-02", "Client: The funeral is coming up and I dread it."),
            ("2026-04-23", sentence),
        ),
    )
    assert found is not None
    assert (found.first, found.last) == (D(2026, 4, 2), D(2026, 4, 23))


def test_the_wedding_is_not_placed_by_a_past_verb_about_something_else() -> None:
    # The attempt this replaces read "was" here as the wedding looking back.
    found = date_of_event(
        "the wedding",
        sessions(
            ("2026-01-08", "Client: She's getting married on the 14th of March."),
            (
                "2026-03-05",
                "Client: Mum was on nights, and I don't want to make it a sad speech "
                "at her wedding.",
            ),
        ),
    )
    assert found is not None
    assert found.first == found.last == D(2026, 3, 14)


def test_only_one_side_known_gives_nothing() -> None:
    past_only = sessions(("2026-04-23", "Client: The funeral was small."))
    assert date_of_event("the funeral", past_only) is None
    assert (
        date_of_event("the hearing", sessions(("2026-04-23", "Client: The hearing is coming up.")))
        is None
    )


# ---- disagreement and weak evidence ----------------------------------------------------------


def test_conflicting_dates_give_nothing() -> None:
    found = date_of_event(
        "the hearing",
        sessions(
            ("2025-02-03", "Client: The hearing is on the 12th of March."),
            ("2025-02-17", "Client: The hearing is on the 20th of March now."),
        ),
    )
    assert found is None


def test_told_as_past_before_a_session_where_it_was_ahead_gives_nothing() -> None:
    found = date_of_event(
        "the interview",
        sessions(
            ("2025-03-01", "Client: The interview went badly."),
            ("2025-03-15", "Client: The interview is next week."),
        ),
    )
    assert found is None


def test_a_date_that_contradicts_the_tense_gives_nothing() -> None:
    found = date_of_event(
        "the wedding",
        sessions(
            ("2026-01-08", "Client: The wedding's on the 14th of March."),
            ("2026-02-19", "Client: The wedding was lovely."),
        ),
    )
    assert found is None


def test_two_peoples_events_give_nothing_unless_the_question_names_whose() -> None:
    said = sessions(
        ("2025-05-01", "Client: My cousin's wedding is on the 3rd of June."),
        ("2025-05-01", "Client: My sister's wedding is on the 9th of August."),
    )
    assert date_of_event("the wedding", said) is None
    cousin = date_of_event("my cousin's wedding", said)
    assert cousin is not None and cousin.first == D(2025, 6, 3)


def test_words_that_only_look_like_the_event_are_not_it() -> None:
    said = sessions(
        ("2025-05-01", "Client: I keep thinking about moving house on Friday."),
        ("2025-05-01", "Client: Hearing him say it on Tuesday was hard."),
        ("2025-05-01", "Client: Ray's wife died in February."),
    )
    assert date_of_event("the move", said) is None
    assert date_of_event("the hearing", said) is None
    assert date_of_event("Gran's death", said) is None


def test_nothing_said_about_it_gives_nothing() -> None:
    assert date_of_event("the wedding", sessions(("2025-05-01", "Client: I slept badly."))) is None


# ---- the question ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "side", "event"),
    [
        ("what did I say before the wedding?", "before", "the wedding"),
        ("what did Dr. Rivera say about slipping up after the wedding", "after", "the wedding"),
        ("how have I been sleeping since Gran's funeral?", "after", "Gran's funeral"),
        ("what did I say before my interview?", "before", "my interview"),
        ("what was I worried about until the hearing?", "before", "the hearing"),
        ("what did I say about the care home before the move?", "before", "the move"),
    ],
)
def test_the_event_a_question_names(question: str, side: str, event: str) -> None:
    mention = find_event_mention(question)
    assert mention is not None
    assert (mention.side, mention.event) == (side, event)


@pytest.mark.parametrize(
    "question",
    [
        "what was my homework after the first session?",
        "how was I sleeping after that?",
        "what did I say since last week?",
        "what did I say about sleep?",
    ],
)
def test_not_an_event(question: str) -> None:
    assert find_event_mention(question) is None


def test_window_before_and_after() -> None:
    day = date_of_event(
        "the wedding", sessions(("2026-01-08", "Client: The wedding's on the 14th of March."))
    )
    assert day is not None
    today = D(2026, 4, 30)
    assert event_window("before", day, today) == (None, D(2026, 3, 13))
    assert event_window("after", day, today) == (D(2026, 3, 14), today)


WEDDING = sessions(
    ("2026-01-08", "Client: The wedding's on the 14th of March."),
    ("2026-03-19", "Client: The wedding was lovely."),
)
DATES = [SessionDate(s.id, s.date) for s in WEDDING]


def test_read_question_places_before_the_wedding() -> None:
    asked = read_question(
        "what did I say about the speech before the wedding?",
        today=D(2026, 4, 30),
        sessions=DATES,
        events=lambda event: date_of_event(event, WEDDING),
    )
    assert (asked.since, asked.until) == (None, D(2026, 3, 13))
    assert asked.topic == "the speech"
    assert "before the wedding (14 March)" in asked.summary()


def test_read_question_with_nothing_of_its_own_asks_about_the_event() -> None:
    asked = read_question(
        "what did I say before the wedding?",
        today=D(2026, 4, 30),
        sessions=DATES,
        events=lambda event: date_of_event(event, WEDDING),
    )
    assert asked.topic == "the wedding"
    assert asked.until == D(2026, 3, 13)


def test_an_event_without_a_known_date_is_searched_as_words() -> None:
    asked = read_question(
        "what did I say about the speech before the christening?",
        today=D(2026, 4, 30),
        sessions=DATES,
        events=lambda event: date_of_event(event, WEDDING),
    )
    assert (asked.since, asked.until, asked.time_words) == (None, None, None)
    assert "christening" in asked.topic


def test_other_time_words_come_first() -> None:
    asked = read_question(
        "what happened with Declan after the quarterly review in April",
        today=D(2026, 4, 30),
        sessions=DATES,
        events=lambda event: pytest.fail("not asked"),  # type: ignore[arg-type,return-value]
    )
    assert asked.since == D(2026, 4, 1)


# ---- an event told as a clause, and the one session next to it --------------------------------

MOVE = sessions(
    ("2025-04-29", "Client: We looked round the care home."),
    ("2025-05-13", "Client: The date's set. Dad moves into Hollybank on the twenty-second of May."),
    ("2025-05-27", "Client: He's in. He moved in on the Thursday."),
    ("2025-06-10", "Client: Dad's settling."),
)
MOVE_DATES = [SessionDate(s.id, s.date) for s in MOVE]


def read(question: str, said: list[Said] = MOVE) -> object:
    return read_question(
        question,
        today=D(2025, 8, 1),
        sessions=[SessionDate(s.id, s.date) for s in said],
        events=lambda event: date_of_event(event, said),
    )


@pytest.mark.parametrize(
    ("question", "side", "event"),
    [
        ("what did I say after Dad moved in?", "after", "dad's move"),
        ("how was I sleeping before my dad moved?", "before", "dad's move"),
        ("what did I say since Gran died?", "after", "gran's death"),
        ("what did I say after she passed away?", "after", "the death"),
    ],
)
def test_an_event_told_as_a_clause(question: str, side: str, event: str) -> None:
    mention = find_event_mention(question)
    assert mention is not None
    assert (mention.side, mention.event) == (side, event)


def test_the_clause_is_placed_like_the_noun() -> None:
    asked = read("what did I say about the care home before Dad moved?")
    assert (asked.since, asked.until) == (None, D(2025, 5, 21))  # type: ignore[attr-defined]
    assert asked.topic == "the care home"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("question", "session"),
    [
        ("what did we discuss in the last session before Dad moved?", "s1"),
        ("what did we go over the session after Dad moved in?", "s2"),
        ("what did we talk about the first time I saw you after the move?", "s2"),
    ],
)
def test_the_session_next_to_the_event(question: str, session: str) -> None:
    asked = read(question)
    assert asked.session_ids == frozenset({session})  # type: ignore[attr-defined]
    assert asked.kind == "recap"  # type: ignore[attr-defined]


def test_no_session_next_to_an_event_on_a_session_day() -> None:
    said = sessions(
        ("2025-05-13", "Client: The hearing is on the 22nd of May."),
        ("2025-05-22", "Client: Today is the day."),
        ("2025-05-27", "Client: Fine."),
    )
    asked = read("what did we go over in the session after the hearing?", said)
    # Was the session of the 22nd before the hearing or after it? Not placed: the words
    # go on being read as they were ("the session" is then no session in particular).
    assert asked.session_ids != frozenset({"s1"})  # type: ignore[attr-defined]
    assert asked.session_ids != frozenset({"s2"})  # type: ignore[attr-defined]


def test_a_death_is_the_one_asked_about() -> None:
    said = sessions(
        ("2026-04-02", "Client: Gran died early on Tuesday morning. Ray's wife died in May."),
    )
    found = date_of_event("Gran's death", said)
    assert found is not None and found.first == found.last == D(2026, 3, 31)


def test_a_weekday_with_its_day_of_the_month_is_checked_not_guessed() -> None:
    # Tuesday 15 April: "Sunday the sixth" is nine days back, not the Sunday just gone.
    said = sessions(("2025-04-15", "Client: Dad had a fall. He fell on Sunday the sixth."))
    found = date_of_event("Dad's fall", said)
    assert found is not None and found.first == found.last == D(2025, 4, 6)
    wrong = sessions(("2025-04-15", "Client: He fell on Monday the sixth."))
    assert date_of_event("Dad's fall", wrong) is None


def test_a_modifier_says_which_one() -> None:
    said = sessions(
        ("2026-01-22", "Client: And in my review in December he said I was reliable."),
        ("2026-03-05", "Client: I'm presenting at the quarterly review in April."),
    )
    assert date_of_event("the review", said) is None  # December and April: which review?
    found = date_of_event("the quarterly review", said)
    assert found is not None
    assert (found.first, found.last) == (D(2026, 4, 1), D(2026, 4, 30))


def test_my_last_day() -> None:
    # Thursday 23 October: "Friday the thirty-first", the weekday checking the day.
    said = sessions(("2025-10-23", "Client: So my last day is Friday the thirty-first."))
    found = date_of_event("my last day", said)
    assert found is not None and found.first == found.last == D(2025, 10, 31)
    mention = find_event_mention("what did I say about Graham before my last day?")
    assert mention is not None and mention.event == "my last day"
    assert find_event_mention("what did I say after the last day?") is None


@pytest.mark.parametrize(
    "later",
    [
        "Client: The hearing's been moved to the 20th.",
        "Client: They postponed the hearing.",
        "Client: The hearing was cancelled, so who knows.",
    ],
)
def test_a_moved_event_gives_nothing(later: str) -> None:
    said = sessions(
        ("2025-02-03", "Client: The hearing is on the 12th of March."),
        ("2025-02-17", later),
    )
    assert date_of_event("the hearing", said) is None


def test_a_date_asked_or_hedged_is_no_date() -> None:
    asked = sessions(("2025-02-03", "Therapist: Is the hearing on the 12th of March?"))
    assert date_of_event("the hearing", asked) is None
    hedged = sessions(("2025-02-03", "Client: The hearing's on the 12th, or the 13th."))
    assert date_of_event("the hearing", hedged) is None


def test_only_the_sessions_the_word_index_finds_are_read() -> None:
    from reflect.answer.events import sessions_naming

    said = sessions(
        ("2025-01-01", "Client: I slept badly."),
        ("2025-02-03", "Client: She's getting married on the 14th of March."),
        ("2025-03-20", "Client: The wedding was lovely."),
    )
    index = {"wedding": ["s2"], "married": ["s1"]}
    asked: list[str] = []

    def holding(word: str, most: int) -> list[str]:
        asked.append(word)
        return index.get(word, [])

    assert [s.id for s in sessions_naming("the wedding", said, holding)] == ["s1", "s2"]
    assert asked == ["wedding", "married"]
    # A word in too many passages to list: every session is read.
    assert sessions_naming("the wedding", said, lambda word, most: ["s0"] * most) == said
