"""One query for a page and the list's length (retros.pagination)."""

from __future__ import annotations

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Window
from django.test.utils import CaptureQueriesContext

from retros.models import Team
from retros.pagination import TOTAL, page_of
from tests.factories import OrganizationFactory, TeamFactory

pytestmark = pytest.mark.django_db


def page_with_total(queryset, per_page, number):
    def fetch(start, stop):
        return list(queryset.annotate(**{TOTAL: Window(Count("*"))})[start:stop])

    return page_of(fetch, per_page, number)


@pytest.fixture
def teams():
    org = OrganizationFactory()
    for n in range(23):
        TeamFactory(organization=org, name=f"Team {n:02}")
    return Team.objects.filter(organization=org).order_by("name")


@pytest.mark.parametrize(
    "number", [1, 2, 3, "2", None, "x", -4, 0, 4, 99, "99999999999999999999", 10**6, 10**6 + 1]
)
def test_it_pages_as_the_paginator_does(teams, number):
    expected = Paginator(teams, 10).get_page(number)

    page = page_with_total(teams, 10, number)

    assert page.number == expected.number
    assert [t.name for t in page.object_list] == [t.name for t in expected.object_list]
    assert page.paginator.count == 23 and page.paginator.num_pages == 3
    assert page.has_next() == expected.has_next()


def test_a_page_within_the_list_costs_one_query(teams):
    with CaptureQueriesContext(connection) as queries:
        page = page_with_total(teams, 10, 2)
        names = [t.name for t in page.object_list]
        pages = page.paginator.num_pages
    assert len(queries.captured_queries) == 1
    assert (names[0], pages) == ("Team 10", 3)


def test_an_empty_list_has_one_empty_page():
    page = page_with_total(Team.objects.none(), 10, 3)
    assert (page.number, list(page.object_list), page.paginator.count) == (1, [], 0)
