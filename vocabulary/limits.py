"""The limits every layer applies alike: the models' column sizes, the forms, the services and
the `recur-history/1` schema all read them from here, so they cannot drift apart.

Pure: no Django, no clock (the rolling date bound takes `today`).

Dates: a retro, a fix's decision, due and completion dates lie between 1 January 1990 and
five years after today. Nothing Recur records is older than the practice of retrospectives;
a due date years ahead is a plan, decades ahead or at the calendar's edge (0001-01-01,
9999-12-31) is a typing slip, and date arithmetic on the pages would overflow there. The
upper bound moves with the clock, so a date accepted once stays acceptable.
"""

from __future__ import annotations

from datetime import date
from typing import Final

ORGANIZATION_NAME_MAX: Final = 100
TEAM_NAME_MAX: Final = 100
IMPORT_KEY_MAX: Final = 100  # the `key` of teams, retrospectives, items and actions
TITLE_MAX: Final = 200  # retro and issue titles
TEXT_MAX: Final = 2000  # what was raised, what will be done
OWNER_MAX: Final = 100

EARLIEST_DATE: Final = date(1990, 1, 1)
YEARS_AHEAD: Final = 5

# An organisation's auto-link threshold is a matcher score, which lies between 0 and 1.
AUTO_LINK_THRESHOLD_MIN: Final = 0.0
AUTO_LINK_THRESHOLD_MAX: Final = 1.0


def title_from_text(text: str) -> str:
    """An issue title from the text that first raised it: one line, cut to `TITLE_MAX`."""
    one_line = " ".join(text.split())
    if len(one_line) <= TITLE_MAX:
        return one_line
    return one_line[: TITLE_MAX - 1].rstrip() + "…"


def latest_date(today: date) -> date:
    """The last acceptable date: `YEARS_AHEAD` years after `today` (28 February for 29th)."""
    year = today.year + YEARS_AHEAD
    try:
        return today.replace(year=year)
    except ValueError:  # 29 February, and the target year is not a leap year
        return today.replace(year=year, day=28)


def date_problem(value: date, *, today: date) -> str:
    """Why `value` is outside the accepted dates, or "" when it is inside."""
    latest = latest_date(today)
    if EARLIEST_DATE <= value <= latest:
        return ""
    return (
        f"{value.isoformat()} is outside the dates Recur accepts"
        f" ({EARLIEST_DATE.isoformat()} to {latest.isoformat()})"
    )
