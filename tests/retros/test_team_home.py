"""A team's home: past retros, open fixes, its issues, and starting a retro."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from retros.models import Retrospective, RetroStatus
from tests.factories import RetrospectiveFactory
from tests.retros.conftest import build_board, htmx

pytestmark = pytest.mark.django_db


def home_url(cast) -> str:
    return reverse("retros:team_home", args=[cast.team.pk])


def test_it_lists_retros_open_fixes_and_how_often_issues_were_raised(cast, board):
    html = cast.clients["facilitator"].get(home_url(cast)).content.decode()
    assert "Sprint 1" in html and "Sprint 2" in html
    assert "Weekly sync 0" in html and "Checklist 1" in html
    assert "New runners 0" not in html, "done fixes are not open"
    issues = html.split('id="team-issues"')[1]
    row = issues.split("Deploys are slow 0</a>")[1].split("</tr>")[0]
    assert '<td class="num">2</td>' in row
    assert "Start a retro" in html


def test_members_see_the_history_without_the_start_form(cast, board):
    html = cast.clients["member"].get(home_url(cast)).content.decode()
    assert "Sprint 1" in html and "Start a retro" not in html


def test_the_start_form_defaults_to_today(cast):
    html = cast.clients["facilitator"].get(home_url(cast)).content.decode()
    assert f'value="{timezone.localdate():%Y-%m-%d}"' in html
    assert '<option value="start_stop_continue" selected>' in html
    for label in ("Start / Stop / Continue", "Mad / Sad / Glad", "4Ls", "Free form"):
        assert label in html


def test_starting_a_retro_opens_its_board(cast):
    response = cast.clients["facilitator"].post(
        reverse("retros:retro_start", args=[cast.team.pk]),
        {"held_on": "2026-02-18", "title": " Sprint 9 ", "format": "mad_sad_glad"},
    )
    retro = Retrospective.objects.get()
    assert (retro.title, retro.format, retro.held_on) == (
        "Sprint 9",
        "mad_sad_glad",
        dt.date(2026, 2, 18),
    )
    assert retro.status == RetroStatus.OPEN and retro.facilitator == cast.users["facilitator"]
    assert response["Location"] == reverse("retros:retro_board", args=[retro.pk]) + "?focus=entry"
    board = cast.clients["facilitator"].get(response["Location"]).content.decode()
    assert "autofocus" in board.split('id="entry-text"')[1].split(">")[0]


def test_an_invalid_start_comes_back_with_messages_and_what_was_typed(cast):
    response = cast.clients["facilitator"].post(
        reverse("retros:retro_start", args=[cast.team.pk]),
        {"held_on": "someday", "title": "Sprint 9", "format": "yoga"},
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "Enter a valid date." in html and "Select a valid choice." in html
    assert 'value="someday"' in html and 'value="Sprint 9"' in html
    assert not Retrospective.objects.exists()


def test_retros_are_paginated(cast):
    for n in range(17):
        RetrospectiveFactory(team=cast.team, held_on=dt.date(2025, 1, 1) + dt.timedelta(days=n))
    first = cast.clients["facilitator"].get(home_url(cast)).content.decode()
    assert "Page 1 of 2" in first and ">2 Jan 2025<" not in first
    second = cast.clients["facilitator"].get(home_url(cast), {"page": 2}).content.decode()
    assert ">2 Jan 2025<" in second


def test_the_issue_list_pages_with_htmx(cast, board):
    response = cast.clients["facilitator"].get(
        home_url(cast), {"issues_page": 1}, **htmx(target="team-issues")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="team-issues"')
    assert "Deploys are slow 0" in html


def test_the_team_home_query_count_does_not_grow_with_the_data(cast, django_assert_num_queries):
    client = cast.clients["facilitator"]
    for size in (1, 6):
        build_board(cast, size)
        # session, user, membership with its teams, team, retros count, open fixes
        # with issues, page of retros with facilitators and issue counts, page of issues
        # with counts and their total (retros.pagination), how many went well, the titles
        # the facilitator may read (retros.visibility)
        with django_assert_num_queries(10):
            response = client.get(home_url(cast))
        assert response.status_code == 200


def test_a_retro_without_a_title_is_named_by_its_date_as_pages_write_dates(cast):
    untitled = RetrospectiveFactory(team=cast.team, title="", held_on=dt.date(2026, 12, 5))
    assert str(untitled) == "Retro of 5 December 2026"
    page = cast.clients["member"].get(reverse("retros:team_home", args=[cast.team.pk]))
    assert "Retro of 5 December 2026" in page.content.decode()
    assert str(RetrospectiveFactory(team=cast.team, title="Sprint 12")) == "Sprint 12"
