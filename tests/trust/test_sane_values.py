"""Values no page can live with are refused where they enter (form, import, model, database),
and a page never fails on one stored before that: a retro dated 0001-01-01 once made its
board a permanent server error, and an auto-link threshold of -5 was accepted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from retros.importing import history_import
from retros.models import Fix, Organization, Retrospective
from tests.examples import format_example
from tests.factories import (
    FixFactory,
    IssueFactory,
    OccurrenceFactory,
    OrganizationFactory,
    RetrospectiveFactory,
)
from vocabulary.history import HistoryValidationError
from vocabulary.limits import EARLIEST_DATE, latest_date

pytestmark = pytest.mark.django_db

EDGES = [dt.date.min, dt.date(1989, 12, 31), dt.date.max]


@pytest.mark.parametrize("day", EDGES, ids=str)
def test_a_board_with_a_date_stored_out_of_range_still_opens(cast, day):
    retro = RetrospectiveFactory(team=cast.team, held_on=day, title="Typed in a hurry")
    issue = IssueFactory(organization=cast.org, title="Deploys are slow")
    OccurrenceFactory(retro=retro, issue=issue, text="Deploys are slow")
    FixFactory(issue=issue, retro=retro, team=cast.team, decided_on=day, due_on=day)
    client = cast.clients["facilitator"]

    for url in (
        reverse("retros:retro_board", args=[retro.pk]),
        reverse("retros:team_home", args=[cast.team.pk]),
        reverse("retros:issue_detail", args=[issue.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Deploys are slow" in response.content.decode()


@pytest.mark.parametrize("day", EDGES, ids=str)
def test_starting_a_retro_outside_the_accepted_dates_is_refused_with_the_range(cast, day):
    response = cast.clients["facilitator"].post(
        reverse("retros:retro_start", args=[cast.team.pk]),
        {"held_on": day.isoformat(), "title": "Sprint 9", "format": "free"},
    )
    html = response.content.decode()

    assert response.status_code == 422
    assert f"outside the dates Recur accepts ({EARLIEST_DATE.isoformat()} to" in html
    assert 'value="Sprint 9"' in html, "what was typed is kept"
    assert not Retrospective.objects.filter(title="Sprint 9").exists()


def test_a_fix_due_outside_the_accepted_dates_is_refused(cast):
    retro = RetrospectiveFactory(team=cast.team, held_on=timezone.localdate())
    occurrence = OccurrenceFactory(retro=retro, issue=IssueFactory(organization=cast.org))
    too_late = latest_date(timezone.localdate()) + dt.timedelta(days=1)

    response = cast.clients["facilitator"].post(
        reverse("retros:fix_create", args=[occurrence.pk]),
        {"text": "Weekly sync", "kind": "meeting", "due_on": too_late.isoformat()},
        headers={"HX-Request": "true"},
    )

    assert "outside the dates Recur accepts" in response.content.decode()
    assert not Fix.objects.filter(text="Weekly sync").exists()


def test_the_models_refuse_dates_outside_the_range(cast):
    retro = RetrospectiveFactory.build(team=cast.team, organization=cast.org, held_on=dt.date.min)
    with pytest.raises(ValidationError) as caught:
        retro.full_clean()
    assert set(caught.value.message_dict) == {"held_on"}

    fix = FixFactory.build(
        issue=IssueFactory(organization=cast.org), due_on=dt.date.max, completed_on=dt.date.min
    )
    with pytest.raises(ValidationError) as caught:
        fix.full_clean()
    assert set(caught.value.message_dict) == {"due_on", "completed_on"}


def test_an_import_dated_0001_01_01_is_refused_whole(db):
    document = format_example()
    document["retrospectives"][0]["held_on"] = "0001-01-01"
    with pytest.raises(HistoryValidationError) as caught:
        history_import(document)

    assert [error.path for error in caught.value.errors] == ["retrospectives[0].held_on"]
    assert not Organization.objects.filter(name=document["organization"]).exists()


@pytest.mark.parametrize("threshold", [-5.0, -0.01, 1.01, 7.0])
def test_an_auto_link_threshold_outside_0_to_1_is_refused(threshold):
    organization = OrganizationFactory(name="Wide World")
    organization.auto_link_threshold = threshold
    with pytest.raises(ValidationError) as caught:
        organization.full_clean()
    assert set(caught.value.message_dict) == {"auto_link_threshold"}

    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=organization.pk).update(auto_link_threshold=threshold)


@pytest.mark.parametrize("threshold", [None, 0.0, 0.55, 1.0])
def test_an_auto_link_threshold_from_0_to_1_or_empty_is_kept(threshold):
    organization = OrganizationFactory(name="Wide World")
    organization.auto_link_threshold = threshold
    organization.full_clean()
    organization.save()
    organization.refresh_from_db()
    assert organization.auto_link_threshold == threshold
