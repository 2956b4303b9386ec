"""First run: a fresh deployment's first superuser belongs to no organisation. Signing in,
they are offered to create one (and become its admin), then land on the team list with what
to do next; `manage.py create_organization` does the same from the command line."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from retros.models import Membership, Organization, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, signed_in_client

pytestmark = pytest.mark.django_db

CREATE = "retros:organization_create"


def test_the_first_superuser_creates_the_organisation_and_lands_on_the_team_list():
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = signed_in_client(root)

    home = client.get(reverse("home"))
    assert home.status_code == 302 and home["Location"] == reverse(CREATE)
    form = client.get(reverse(CREATE))
    assert form.status_code == 200 and 'name="name"' in form.content.decode()

    response = client.post(reverse(CREATE), {"name": "  Fabrikam Freight "}, follow=True)

    organization = Organization.objects.get()
    assert organization.name == "Fabrikam Freight"
    membership = Membership.objects.get(user=root)
    assert (membership.organization, membership.role) == (organization, Role.ADMIN)
    assert response.redirect_chain[-1][0] == reverse("retros:team_list")
    html = response.content.decode()
    assert "Fabrikam Freight is ready, and you are its admin." in html
    assert reverse("admin:retros_team_add") in html, "the next step is offered"
    assert client.get(reverse(CREATE))["Location"] == reverse("home"), "only once"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("   ", "This field is required."),
        ("N" * 101, "at most 100 characters"),
        ("fabrikam freight", "An organisation named &#x27;fabrikam freight&#x27; already exists."),
    ],
    ids=["blank", "too long", "taken"],
)
def test_an_unusable_name_is_refused_with_the_reason_and_kept(name, message):
    OrganizationFactory(name="Fabrikam Freight")
    client = signed_in_client(UserFactory(username="root", is_staff=True, is_superuser=True))

    response = client.post(reverse(CREATE), {"name": name})

    assert response.status_code == 422
    assert message in response.content.decode()
    if name.strip():
        assert f'value="{name}"' in response.content.decode()
    assert Organization.objects.count() == 1
    assert not Membership.objects.exists()


def test_an_account_without_organisation_that_is_not_a_superuser_cannot_create_one():
    client = signed_in_client(UserFactory(username="someone", is_staff=True))

    assert client.get(reverse("home")).status_code == 404
    assert client.get(reverse(CREATE)).status_code == 404
    assert client.post(reverse(CREATE), {"name": "Mine"}).status_code == 404
    assert not Organization.objects.exists()


def test_the_command_creates_an_organisation_with_its_admin(capsys):
    UserFactory(username="root", is_superuser=True)
    person = UserFactory(username="dana")

    call_command("create_organization", "Tailspin Toys", "--admin", "dana")

    membership = Membership.objects.select_related("organization").get(user=person)
    assert membership.organization.name == "Tailspin Toys"
    assert membership.role == Role.ADMIN
    person.refresh_from_db()
    assert person.is_staff, "an organisation admin adds teams and people in the admin"
    assert (
        "Created the organisation 'Tailspin Toys' with dana as its admin."
        in capsys.readouterr().out
    )

    call_command("create_organization", "Contoso")
    assert Organization.objects.filter(name="Contoso", memberships=None).exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["Northwind"], "An organisation named 'Northwind' already exists."),
        (["Globex", "--admin", "nobody"], "No account named 'nobody'"),
        (["Globex", "--admin", "lee"], "lee already belongs to Northwind."),
    ],
    ids=["name taken", "unknown account", "already a member"],
)
def test_the_command_refuses_with_a_clear_message(arguments, message):
    MembershipFactory(
        organization=OrganizationFactory(name="Northwind"), user=UserFactory(username="lee")
    )
    with pytest.raises(CommandError, match=message):
        call_command("create_organization", *arguments)
    assert list(Organization.objects.values_list("name", flat=True)) == ["Northwind"]
