"""The database itself refuses links across organisations and invalid values."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from retros.models import Membership, Occurrence
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_orgs():
    a, b = factories.OrganizationFactory(name="A"), factories.OrganizationFactory(name="B")
    return a, b, factories.TeamFactory(organization=a), factories.TeamFactory(organization=b)


def _refused(create):
    with (
        pytest.raises(IntegrityError, match=r"integrity rule|constraint|CHECK"),
        transaction.atomic(),
    ):
        create()


def test_a_retro_cannot_belong_to_another_organisations_team(two_orgs):
    a, _b, _team_a, team_b = two_orgs
    _refused(lambda: factories.RetrospectiveFactory(team=team_b, organization=a))


def test_an_occurrence_cannot_link_an_issue_of_another_organisation(two_orgs):
    _a, b, team_a, _team_b = two_orgs
    retro = factories.RetrospectiveFactory(team=team_a)
    foreign_issue = factories.IssueFactory(organization=b)
    _refused(lambda: factories.OccurrenceFactory(retro=retro, issue=foreign_issue))


def test_an_occurrence_cannot_be_moved_to_another_organisations_issue(two_orgs):
    _a, b, team_a, _team_b = two_orgs
    occurrence = factories.OccurrenceFactory(retro=factories.RetrospectiveFactory(team=team_a))
    foreign_issue = factories.IssueFactory(organization=b)
    _refused(lambda: Occurrence.objects.filter(pk=occurrence.pk).update(issue=foreign_issue))


def test_a_fix_cannot_link_an_issue_of_another_organisation(two_orgs):
    a, b, team_a, _team_b = two_orgs
    foreign_issue = factories.IssueFactory(organization=b)
    _refused(lambda: factories.FixFactory(issue=foreign_issue, organization=a))
    retro_a = factories.RetrospectiveFactory(team=team_a)
    issue_b = factories.IssueFactory(organization=b)
    _refused(lambda: factories.FixFactory(issue=issue_b, retro=retro_a))


def test_issues_merge_only_within_an_organisation(two_orgs):
    a, b, _ta, _tb = two_orgs
    issue = factories.IssueFactory(organization=a)
    issue.merged_into = factories.IssueFactory(organization=b)
    _refused(issue.save)


def test_a_person_joins_only_teams_of_their_organisation(two_orgs):
    a, _b, _team_a, team_b = two_orgs
    membership = factories.MembershipFactory(organization=a)
    _refused(lambda: membership.teams.add(team_b))
    assert Membership.objects.get(pk=membership.pk).teams.count() == 0


def test_import_keys_are_unique_per_organisation(two_orgs):
    _a, _b, team_a, team_b = two_orgs
    retro_a = factories.RetrospectiveFactory(team=team_a)
    factories.OccurrenceFactory(retro=retro_a, import_key="p31-1")
    factories.OccurrenceFactory(
        retro=factories.RetrospectiveFactory(team=team_b), import_key="p31-1"
    )  # other org: fine
    _refused(lambda: factories.OccurrenceFactory(retro=retro_a, import_key="p31-1"))


def test_votes_cannot_be_negative_and_kinds_must_be_known(two_orgs):
    _a, _b, team_a, _tb = two_orgs
    retro_a = factories.RetrospectiveFactory(team=team_a)
    _refused(lambda: factories.OccurrenceFactory(retro=retro_a, votes=-1))
    _refused(lambda: factories.FixFactory(kind="prayer"))
