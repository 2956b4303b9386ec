"""An organisation admin manages only their organisation in the Django admin."""

from __future__ import annotations

import pytest

from retros.models import Membership, Role, Team
from tests.factories import MembershipFactory, TeamFactory, UserFactory, signed_in_client

pytestmark = pytest.mark.django_db


def test_org_admin_sees_only_their_organisations_teams_and_people(cast, outsider_data):
    client = cast.clients["admin"]
    teams = client.get("/admin/retros/team/")
    assert teams.status_code == 200
    assert b"Payments" in teams.content and b"Engine" not in teams.content
    people = client.get("/admin/auth/user/")
    # Usernames as the list shows them: a bare "oz" can occur in a random token on the page.
    assert b">lee</a>" in people.content and b">oz</a>" not in people.content


def test_org_admin_gets_404_for_another_organisations_objects(cast, outsider_data):
    client = cast.clients["admin"]
    url = f"/admin/retros/team/{cast.outsider_team.pk}/change/"
    assert client.get(url).status_code in (302, 404)
    assert b"Engine" not in client.get(url, follow=True).content


def test_team_created_by_org_admin_joins_their_organisation(cast):
    client = cast.clients["admin"]
    response = client.post(
        "/admin/retros/team/add/",
        {
            "name": "Mobile",
            "Membership_teams-TOTAL_FORMS": "0",
            "Membership_teams-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert Team.objects.get(name="Mobile").organization == cast.org


def test_people_without_the_admin_role_cannot_use_the_admin(cast):
    leader = cast.users["leader"]
    leader.is_staff = True
    leader.save()
    client = signed_in_client(leader)
    assert client.get("/admin/retros/team/").status_code in (302, 403)


def test_superuser_sees_every_organisation(cast, outsider_data):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = signed_in_client(root)
    content = client.get("/admin/retros/team/").content
    assert b"Payments" in content and b"Engine" in content


def test_admin_offers_only_own_teams_when_editing_a_membership(cast, outsider_data):
    membership = Membership.objects.get(user=cast.users["member"])
    page = cast.clients["admin"].get(f"/admin/retros/membership/{membership.pk}/change/")
    assert page.status_code == 200
    assert b"Checkout" in page.content and b"Engine" not in page.content


def test_fix_admin_shows_band_aid_or_structural_nature(cast):
    from tests.factories import FixFactory, IssueFactory

    FixFactory(issue=IssueFactory(organization=cast.org), kind="meeting", text="Daily sync")
    FixFactory(issue=IssueFactory(organization=cast.org), kind="infrastructure", text="New servers")
    page = cast.clients["admin"].get("/admin/retros/fix/").content.decode()
    assert "Band-aid" in page and "Structural for execution" in page


def test_role_choices_are_enforced(cast):
    team = TeamFactory(organization=cast.org)
    m = MembershipFactory(organization=cast.org, role=Role.FACILITATOR, teams=[team])
    assert list(m.teams.all()) == [team]
