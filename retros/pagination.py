"""A page of a list and the list's length from one query.

Django's Paginator counts the list in a query of its own. For a list whose rows must all be
computed to be ordered (a team's issues ordered by how often the team raised them), that
count repeats the whole computation; a window function, ``COUNT(*) OVER ()``, gives it
with the page instead (PostgreSQL and SQLite alike).
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window

_TOTAL = "_pagination_total"
_LAST_PAGE_ASKED = 10**6


def page_with_total(queryset: QuerySet[Any], per_page: int, number: object) -> Page:
    """The page numbered ``number`` (as Paginator.get_page: the first for what is not a
    number, the last for one out of range), its paginator knowing the count."""
    paginator = Paginator(queryset, per_page)
    try:
        wanted = int(str(number))
    except ValueError:
        wanted = 1
    # Out of range (zero, negative, or an offset no database takes): the last page, as
    # Paginator.get_page gives it.
    rows = _rows(queryset, per_page, wanted) if 1 <= wanted <= _LAST_PAGE_ASKED else []
    if rows:
        total = getattr(rows[0], _TOTAL)
    else:  # past the end (or an empty list): count, then take the last page
        total = queryset.count()
    paginator.__dict__["count"] = total  # Paginator.count is a cached property
    if not rows and total:
        wanted = paginator.num_pages
        rows = _rows(queryset, per_page, wanted)
    if rows:
        return Page(rows, wanted, paginator)
    return paginator.page(1)  # the list is empty


def _rows(queryset: QuerySet[Any], per_page: int, number: int) -> list[Any]:
    start = (number - 1) * per_page
    counted = queryset.annotate(**{_TOTAL: Window(Count("*"))})
    return list(counted[start : start + per_page])
