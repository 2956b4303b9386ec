"""The problems a team raised, for its home page (retros.selectors.team_issue_page)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from retros.models import ItemType
from retros.selectors import team_issue_page
from tests.factories import IssueFactory, OccurrenceFactory, RetrospectiveFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)


def raise_in(retro, issue, times: int = 1, **fields):
    for _ in range(times):
        OccurrenceFactory(retro=retro, issue=issue, **fields)


def listed(page) -> list[tuple[str, int]]:
    return [(issue.title, issue.raised_here) for issue in page.object_list]


@pytest.fixture
def raised(cast):
    """Issues raised in the team (and elsewhere), and some that must not be listed."""
    here = RetrospectiveFactory(team=cast.team)
    there = RetrospectiveFactory(team=cast.other_team)
    issue = lambda title, last_seen=DAY: IssueFactory(  # noqa: E731
        organization=cast.org, title=title, last_seen=last_seen
    )
    often = issue("Deploys are slow")
    often.occurrence_count = 8  # the organisation's count, kept by retros.services
    often.save()
    raise_in(here, often, 3)
    raise_in(there, often, 5)  # another team's raisings are not counted here
    older = issue("Flaky tests", last_seen=DAY - dt.timedelta(days=9))
    newer = issue("Release notes late", last_seen=DAY + dt.timedelta(days=1))
    raise_in(here, older, 2)
    raise_in(here, newer, 2)
    archived_raisings = issue("Too many meetings")
    raise_in(here, archived_raisings, 1)
    raise_in(here, archived_raisings, 4, archived_at=timezone.now())
    raise_in(here, issue("Zero incidents, well done"), 6, item_type=ItemType.APPRECIATION)
    merged = issue("Deploys slow again")
    merged.merged_into = often
    merged.save()
    raise_in(here, merged, 7)
    gone = issue("Archived issue")
    gone.archived_at = timezone.now()
    gone.save()
    raise_in(here, gone, 7)
    raise_in(there, issue("Only in checkout"), 9)
    raise_in(
        RetrospectiveFactory(team=cast.outsider_team),
        IssueFactory(organization=cast.outsider_org),
        9,
    )
    return cast.team


def test_problems_raised_in_the_team_the_most_raised_here_first_then_the_latest_seen(raised):
    page = team_issue_page(raised, 1)

    assert listed(page) == [
        ("Deploys are slow", 3),
        ("Release notes late", 2),
        ("Flaky tests", 2),
        ("Too many meetings", 1),
    ]
    assert page.paginator.count == 4
    assert page.object_list[0].occurrence_count == 8


def test_pages_as_the_paginator_does_and_reads_a_page_in_one_query(raised):
    with CaptureQueriesContext(connection) as queries:
        second = team_issue_page(raised, 2, per_page=3)
        rows = listed(second)
    assert len(queries.captured_queries) == 1
    assert (second.number, second.paginator.num_pages, rows) == (2, 2, [("Too many meetings", 1)])
    assert listed(team_issue_page(raised, 99, per_page=3)) == rows, "past the end: the last"
    assert team_issue_page(raised, "x", per_page=3).number == 1
    assert team_issue_page(raised, -1, per_page=3).number == 2


def test_a_team_that_raised_nothing_has_one_empty_page(cast):
    page = team_issue_page(cast.team, 3)
    assert (page.number, list(page.object_list), page.paginator.count) == (1, [], 0)
