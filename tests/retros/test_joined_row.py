"""One row with the rows its foreign keys point to, read in one statement (retros.sql.JoinedRow),
and the lookups of retros.access that use it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from retros import access as acl
from retros.models import Fix, Issue, Retrospective
from retros.sql import JoinedRow
from tests.factories import (
    FixFactory,
    IssueFactory,
    MembershipFactory,
    OccurrenceFactory,
    RetrospectiveFactory,
    TeamFactory,
    UserFactory,
    signed_in_client,
)

pytestmark = pytest.mark.django_db

RETRO = JoinedRow(Retrospective, ("team", "facilitator"))


def _fields(instance):
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_a_row_and_its_foreign_rows_as_the_orm_reads_them_in_one_query():
    facilitator = UserFactory()
    retro = RetrospectiveFactory(
        facilitator=facilitator,
        held_on=dt.date(2026, 3, 9),
        closed_at=timezone.now(),
    )
    expected = Retrospective.objects.select_related("team", "facilitator").get(pk=retro.pk)
    with CaptureQueriesContext(connection) as queries:
        found = RETRO.one('t0."id" = %s', [retro.pk])
        # The related rows came with it: reading them asks nothing more.
        team_name, username = found.team.name, found.facilitator.username
    assert len(queries) == 1
    assert _fields(found) == _fields(expected)
    assert _fields(found.team) == _fields(expected.team)
    assert _fields(found.facilitator) == _fields(expected.facilitator)
    assert (team_name, username) == (retro.team.name, facilitator.username)
    # Dates and times as Django's own types, on SQLite as on PostgreSQL.
    assert type(found.held_on) is dt.date
    assert isinstance(found.closed_at, dt.datetime) and found.closed_at.tzinfo is not None
    assert found._state.adding is False and found._state.db == "default"


def test_a_nullable_foreign_key_pointing_at_nothing_reads_as_none():
    retro = RetrospectiveFactory(facilitator=None)
    fix = FixFactory(team=None)
    with CaptureQueriesContext(connection) as queries:
        found = RETRO.one('t0."id" = %s', [retro.pk])
        fix_found = JoinedRow(Fix, ("issue", "team")).one('t0."id" = %s', [fix.pk])
        assert found.facilitator is None and fix_found.team is None
        assert fix_found.issue.title == fix.issue.title
    assert len(queries) == 2


def test_no_row_is_none():
    assert RETRO.one('t0."id" = %s', [987654]) is None


def test_only_foreign_keys_can_be_joined():
    with pytest.raises(ValueError, match="not a foreign key"):
        JoinedRow(Issue, ("title",))


def test_saving_what_was_read_updates_the_row():
    issue = IssueFactory(title="Deploys break on Fridays")
    found = JoinedRow(Issue).one('t0."id" = %s', [issue.pk])
    found.title = "Deploys break on Fridays again"
    found.save(update_fields=["title"])
    issue.refresh_from_db()
    assert issue.title == "Deploys break on Fridays again"


def _member(team, role="facilitator"):
    user = UserFactory()
    MembershipFactory(user=user, organization=team.organization, role=role, teams=[team])
    return user


def test_the_lookups_find_only_the_persons_organisation():
    team = TeamFactory()
    retro = RetrospectiveFactory(team=team)
    occurrence = OccurrenceFactory(retro=retro)
    other = RetrospectiveFactory()  # another organisation's
    user = _member(team)
    client = signed_in_client(user)
    request = client.get("/").wsgi_request
    access = acl.access_for(request)
    assert acl.retro_for(access, retro.pk).team.pk == team.pk
    assert acl.occurrence_for(access, occurrence.pk).retro.pk == retro.pk
    assert acl.issue_for(access, occurrence.issue_id).pk == occurrence.issue_id
    for lookup, pk in (
        (acl.retro_for, other.pk),
        (acl.retro_for, 987654),
        (acl.retro_for, 2**63),  # more than a row id can hold: not found, not an error
        (acl.retro_for, -(2**63) - 1),
        (acl.issue_for, 10**30),
    ):
        with pytest.raises(Http404):
            lookup(access, pk)


def test_an_id_too_large_for_the_database_in_a_url_is_not_found():
    team = TeamFactory()
    client = signed_in_client(_member(team))
    assert client.get("/retros/99999999999999999999999/").status_code == 404
    assert client.get(f"/retros/{2**63}/").status_code == 404
    assert client.get("/issues/99999999999999999999999/").status_code == 404


def test_a_persons_access_is_read_in_one_query_with_every_team():
    team = TeamFactory()
    second = TeamFactory(organization=team.organization)
    TeamFactory(organization=team.organization)  # not theirs
    user = UserFactory()
    MembershipFactory(user=user, organization=team.organization, teams=[team, second])
    loner = UserFactory()
    MembershipFactory(user=loner, organization=team.organization, role="leader")
    request = signed_in_client(user).get("/").wsgi_request
    request._recur_access = None
    with CaptureQueriesContext(connection) as queries:
        access = acl.access_for(request)
    assert len(queries) == 1
    assert access.team_ids == {team.pk, second.pk}
    assert access.organization == team.organization
    assert access.organization.name == team.organization.name
    leader_request = signed_in_client(loner).get("/").wsgi_request
    leader_request._recur_access = None
    leader = acl.access_for(leader_request)
    assert (leader.role, leader.team_ids) == ("leader", frozenset())
