"""Dates as people type them."""

from __future__ import annotations

import datetime as dt

import pytest

from reflect.dates import date_range_phrase, parse_date_phrase
from reflect.errors import DateNotUnderstood, ReflectError

TODAY = dt.date(2024, 5, 22)  # a Wednesday
D = dt.date


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("2024-03-14", D(2024, 3, 14)),
        ("  2024-03-14 ", D(2024, 3, 14)),
        ("today", TODAY),
        ("yesterday", D(2024, 5, 21)),
        ("Yesterday", D(2024, 5, 21)),
        ("3 weeks ago", D(2024, 5, 1)),
        ("two days ago", D(2024, 5, 20)),
        ("a month ago", D(2024, 4, 22)),
        ("last month", D(2024, 4, 1)),
        ("this month", D(2024, 5, 1)),
        ("last week", D(2024, 5, 13)),
        ("last year", D(2023, 1, 1)),
        ("March", D(2024, 3, 1)),
        ("since March", D(2024, 3, 1)),
        ("in march", D(2024, 3, 1)),
        ("December", D(2023, 12, 1)),  # the most recent December, not a future one
        ("May", D(2024, 5, 1)),
        ("March 2023", D(2023, 3, 1)),
        ("2023", D(2023, 1, 1)),
        ("2024-02", D(2024, 2, 1)),
        ("March 14", D(2024, 3, 14)),
        ("14 March 2023", D(2023, 3, 14)),
        ("last Friday", D(2024, 5, 17)),
        ("last 3 weeks", D(2024, 5, 1)),
    ],
)
def test_parse_date_phrase(phrase: str, expected: dt.date) -> None:
    assert parse_date_phrase(phrase, TODAY) == expected


@pytest.mark.parametrize(
    ("phrase", "since", "until"),
    [
        ("last month", D(2024, 4, 1), D(2024, 4, 30)),
        ("this month", D(2024, 5, 1), D(2024, 5, 31)),
        ("this week", D(2024, 5, 20), D(2024, 5, 26)),
        ("last week", D(2024, 5, 13), D(2024, 5, 19)),
        ("this year", D(2024, 1, 1), D(2024, 12, 31)),
        ("last year", D(2023, 1, 1), D(2023, 12, 31)),
        ("in March", D(2024, 3, 1), D(2024, 3, 31)),
        ("during February", D(2024, 2, 1), D(2024, 2, 29)),
        ("in June", D(2023, 6, 1), D(2023, 6, 30)),
        ("Sept 2023", D(2023, 9, 1), D(2023, 9, 30)),
        ("2022", D(2022, 1, 1), D(2022, 12, 31)),
        ("the last 3 weeks", D(2024, 5, 1), TODAY),
        ("past month", D(2024, 4, 22), TODAY),
        ("last 2 months", D(2024, 3, 22), TODAY),
        ("yesterday", D(2024, 5, 21), D(2024, 5, 21)),
        ("2024-03-14", D(2024, 3, 14), D(2024, 3, 14)),
        ("3 weeks ago", D(2024, 5, 1), D(2024, 5, 1)),
    ],
)
def test_date_range_phrase(phrase: str, since: dt.date, until: dt.date) -> None:
    assert date_range_phrase(phrase, TODAY) == (since, until)


def test_last_month_in_january_is_december() -> None:
    assert date_range_phrase("last month", D(2024, 1, 10)) == (D(2023, 12, 1), D(2023, 12, 31))


def test_months_back_clamps_to_month_end() -> None:
    assert date_range_phrase("last month", D(2024, 3, 31))[0] == D(2024, 2, 1)
    assert date_range_phrase("past month", D(2024, 3, 31)) == (D(2024, 2, 29), D(2024, 3, 31))


@pytest.mark.parametrize("phrase", ["", "   ", "blorf", "the day my cat", "2024-13", "2024-02-30x"])
def test_unknown_phrases_raise_a_clear_error(phrase: str) -> None:
    with pytest.raises(DateNotUnderstood) as info:
        parse_date_phrase(phrase, TODAY)
    assert isinstance(info.value, ReflectError)
    assert info.value.message.endswith(".") and "try" in info.value.message
    with pytest.raises(DateNotUnderstood):
        date_range_phrase(phrase, TODAY)
