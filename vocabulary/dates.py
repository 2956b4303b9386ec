"""How Recur writes a day in a sentence: "2 Mar 2026", the same on every page and in every
reason, whatever the process's locale. Pure, no Django."""

from __future__ import annotations

from datetime import date
from typing import Final

_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def day_text(day: date) -> str:
    """``date(2026, 3, 2)`` -> ``"2 Mar 2026"`` (Django's ``date:"j M Y"``)."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
