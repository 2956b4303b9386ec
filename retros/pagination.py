"""A page of a list and the list's length from one query.

Django's Paginator counts the list in a query of its own. For a list whose rows must all be
computed to be ordered (a team's issues ordered by how often the team raised them), that
count repeats the whole computation; a window function, ``COUNT(*) OVER ()``, gives it
with the page instead (PostgreSQL and SQLite alike): the query reading the rows selects it
as :data:`TOTAL`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.paginator import Page, Paginator

#: The attribute each fetched row carries the list's length in.
TOTAL = "_pagination_total"
_LAST_PAGE_ASKED = 10**6

#: Rows ``start`` to ``stop`` of a list, each with the list's length as :data:`TOTAL`.
Fetch = Callable[[int, int], Sequence[Any]]


def page_of(fetch: Fetch, per_page: int, number: object) -> Page:
    """The page numbered ``number`` (as Paginator.get_page: the first for what is not a
    number, the last for one out of range) of the list ``fetch`` reads, its paginator
    knowing the list's length from the rows (one query for a page within the list)."""
    try:
        wanted = int(str(number))
    except ValueError:
        wanted = 1
    # Out of range (zero, negative, or an offset no database takes): the last page, as
    # Paginator.get_page gives it.
    rows = _rows(fetch, per_page, wanted) if 1 <= wanted <= _LAST_PAGE_ASKED else []
    if rows:
        total = getattr(rows[0], TOTAL)
    else:  # past the end (or an empty list): the length from its first row
        first = fetch(0, 1)
        total = getattr(first[0], TOTAL) if first else 0
    paginator: Paginator[Any] = Paginator([], per_page)
    paginator.__dict__["count"] = total  # Paginator.count is a cached property
    if not rows and total:
        wanted = paginator.num_pages
        rows = _rows(fetch, per_page, wanted)
    if rows:
        return Page(rows, wanted, paginator)
    return paginator.page(1)  # the list is empty


def _rows(fetch: Fetch, per_page: int, number: int) -> list[Any]:
    start = (number - 1) * per_page
    return list(fetch(start, start + per_page))
