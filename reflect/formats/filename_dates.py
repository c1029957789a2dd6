"""Session dates written into file names (and into notes inside files), in Y-M-D order only.

A regular expression rather than dateparser: dateparser's fuzzy search finds "dates" in
ordinary words of a file name ("may", "march", "sat", a lone "10"), fills missing parts with
today's date and resolves 03/04 by locale. A wrong date silently files a session on the wrong
day, so only forms that cannot be misread are accepted: the year first, four digits, then
month and day, with the same separator twice (2024-03-14, 2024_03_14, 2024.03.14) or none
(20240314). Day-first forms such as 14.03.2024 are ambiguous with month-first ones and are
left to the user.
"""

from __future__ import annotations

import datetime as dt
import re

# Digits next to the match would mean it is part of a longer number (a meeting id, a
# phone number), not a date.
_SEPARATED = re.compile(r"(?<!\d)(\d{4})([-_.])(\d{1,2})\2(\d{1,2})(?!\d)")
_COMPACT = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")

# Sessions recorded before 1970 or after 2099 are not a case this app has; a number outside
# that range is something else (an id, a count).
_FIRST_YEAR = 1970
_LAST_YEAR = 2099


def find_iso_date(text: str) -> dt.date | None:
    """The first valid Y-M-D date in `text`, or None."""
    candidates: list[tuple[int, dt.date]] = []
    for pattern in (_SEPARATED, _COMPACT):
        for match in pattern.finditer(text):
            groups = match.groups()
            year, month, day = int(groups[0]), int(groups[-2]), int(groups[-1])
            if not _FIRST_YEAR <= year <= _LAST_YEAR:
                continue
            try:
                candidates.append((match.start(), dt.date(year, month, day)))
            except ValueError:  # 2024-13-45, 2023-02-29
                continue
    return min(candidates)[1] if candidates else None


def date_from_filename(name: str) -> dt.date | None:
    """The session date written in a file name, or None when there is no unambiguous one."""
    basename = name.replace("\\", "/").rsplit("/", 1)[-1]
    return find_iso_date(basename)
