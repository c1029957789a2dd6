"""Dates as people type them: "2024-03-14", "last month", "March", "3 weeks ago".

`parse_date_phrase` turns a phrase into one day; `date_range_phrase` turns a phrase that names
a period ("last month", "this week", "in March", "2023") into its first and last day. Both
read the phrase relative to `today`, preferring the past: sessions have already happened.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from reflect.errors import DateNotUnderstood

# Month names and their short forms, to their numbers; shared with the readers of questions
# (reflect.answer.question, reflect.answer.events).
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
# Any of them, longest first (so "march" is read whole, not as "mar").
MONTH_PATTERN = "|".join(sorted(MONTHS, key=len, reverse=True))
_UNITS = {"day": 1, "week": 7}
_MONTH_YEAR = re.compile(r"^([a-z]+)\.?(?:,?\s+(\d{4}))?$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_ISO_LIKE = re.compile(r"\d{4}-\d{1,2}(?:-\d{1,2})?")
_LAST_N = re.compile(r"^(?:the\s+)?(?:last|past)\s+(\d+|a|one)?\s*(day|week|month|year)s?$")
_FILLER = re.compile(r"^(?:since|after|in|during|for|from|on)\s+")
_EXAMPLES = '2024-03-14, "yesterday", "3 weeks ago", "last month" or "March"'


def parse_date_phrase(text: str, today: dt.date) -> dt.date:
    """The day `text` names, read relative to `today`.

    A phrase naming a period gives its first day, so that "since March" (with "since" stripped
    by the caller) includes all of March and "since last month" all of last month.
    """
    phrase = _clean(text)
    if not phrase:
        raise DateNotUnderstood(f"No date was given; try {_EXAMPLES}.")
    try:
        return dt.date.fromisoformat(phrase)
    except ValueError:
        pass
    period = _period(phrase, today)
    if period is not None:
        return period[0]
    if _ISO_LIKE.fullmatch(phrase):
        # dateparser would guess ("2024-13" -> 13 May); a mistyped ISO date is an error.
        raise DateNotUnderstood(f'"{text.strip()}" is not a valid date; try {_EXAMPLES}.')
    return _dateparser_day(phrase, text, today)


def date_range_phrase(text: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """(first day, last day) of the period `text` names, both inclusive.

    "last month" is the whole previous calendar month; "this week" is Monday to Sunday of the
    current week; "last 3 weeks" runs from 21 days ago to today; "March" or "in March" is the
    most recent March that has begun; "2023" is that year. A phrase naming a single day
    ("yesterday", "2024-03-14", "3 weeks ago") gives that day twice.
    """
    phrase = _clean(text)
    period = _period(phrase, today) if phrase else None
    if period is not None:
        return period
    day = parse_date_phrase(text, today)
    return day, day


def _clean(text: str) -> str:
    phrase = " ".join(text.casefold().split())
    return _FILLER.sub("", phrase)


def _period(phrase: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    if phrase == "today":
        return today, today
    if phrase == "yesterday":
        day = today - dt.timedelta(days=1)
        return day, day
    relative = re.fullmatch(r"(this|last|previous)\s+(week|month|year)", phrase)
    if relative:
        return _calendar_period(relative.group(2), today, back=relative.group(1) != "this")
    last_n = _LAST_N.fullmatch(phrase)
    if last_n:
        count_text, unit = last_n.groups()
        count = 1 if count_text in (None, "a", "one") else int(count_text)
        return _months_back(today, count, unit), today
    if re.fullmatch(r"\d{4}", phrase):
        year = int(phrase)
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    iso_month = _ISO_MONTH.fullmatch(phrase)
    if iso_month:
        year, month = int(iso_month.group(1)), int(iso_month.group(2))
        return _month(year, month) if 1 <= month <= 12 else None
    month_year = _MONTH_YEAR.fullmatch(phrase)
    if month_year and month_year.group(1) in MONTHS:
        month = MONTHS[month_year.group(1)]
        if month_year.group(2):
            return _month(int(month_year.group(2)), month)
        year = today.year if month <= today.month else today.year - 1
        return _month(year, month)
    return None


def _calendar_period(unit: str, today: dt.date, *, back: bool) -> tuple[dt.date, dt.date]:
    if unit == "week":
        monday = today - dt.timedelta(days=today.weekday() + (7 if back else 0))
        return monday, monday + dt.timedelta(days=6)
    if unit == "month":
        year, month = today.year, today.month
        if back:
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        return _month(year, month)
    year = today.year - (1 if back else 0)
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _months_back(today: dt.date, count: int, unit: str) -> dt.date:
    if unit in _UNITS:
        return today - dt.timedelta(days=count * _UNITS[unit])
    months = count * (12 if unit == "year" else 1)
    total = today.year * 12 + today.month - 1 - months
    year, month = divmod(total, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(today.day, last_day))


def _month(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _dateparser_day(phrase: str, original: str, today: dt.date) -> dt.date:
    # Imported here: dateparser takes a noticeable fraction of a second to import.
    import dateparser

    parsed = dateparser.parse(
        phrase,
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "past",
            "RELATIVE_BASE": dt.datetime(today.year, today.month, today.day),
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    if parsed is None:
        raise DateNotUnderstood(
            f'"{original.strip()}" is not a date reflect understands; try {_EXAMPLES}.'
        )
    return parsed.date()
