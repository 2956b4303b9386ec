"""The demo organisation: realistic, every root-cause category, logins per role, idempotent."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from diagnosis.models import Finding
from retros.demo.story import DEMO_PASSWORD, DEMO_PEOPLE
from retros.models import Fix, Issue, Membership, Organization, Retrospective, Team
from tests.rows import row_counts

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_seed_demo_builds_a_realistic_organisation_and_is_idempotent(capsys):
    call_command("seed_demo")
    first = row_counts(Membership)
    org = Organization.objects.get(name="Fabrikam Freight")
    assert Team.objects.filter(organization=org).count() >= 6
    dates = Retrospective.objects.filter(organization=org).values_list("held_on", flat=True)
    assert (max(dates) - min(dates)).days >= 365
    assert Issue.objects.filter(organization=org, team_count__gte=3).exists()
    kinds = {fix.is_band_aid for fix in Fix.objects.filter(organization=org)}
    assert kinds == {True, False}
    current = Finding.objects.filter(organization=org, is_current=True)
    flagged_categories = set(current.filter(flagged=True).values_list("category", flat=True))
    assert {"strategy", "culture", "interpersonal"} <= flagged_categories
    assert current.filter(category="execution", flagged=False).exists()

    call_command("seed_demo")
    assert row_counts(Membership) == first
    output = capsys.readouterr().out
    assert DEMO_PASSWORD in output and "facilitator" in output


@pytest.mark.parametrize("username", [person[0] for person in DEMO_PEOPLE])
def test_every_printed_demo_login_works(username):
    call_command("seed_demo")
    client = Client()
    response = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.content[:500]
    assert client.get("/", follow=True).status_code == 200
