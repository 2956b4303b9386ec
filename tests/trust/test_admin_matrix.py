"""The Django admin joins the access matrix: every admin URL, as Northwind's organisation
admin, with Contoso's ids (tests/trust/admin_matrix.py)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client, override_settings

from tests.factories import UserFactory, signed_in_client
from tests.trust.admin_matrix import admin_entries, check_admin
from tests.trust.open_admin import leaky_site

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def superuser_client() -> Client:
    return signed_in_client(UserFactory(username="root", is_staff=True, is_superuser=True))


def test_the_walk_covers_every_kind_of_admin_url():
    names = {entry.name for entry in admin_entries(admin.site)}
    for suffix in ("changelist", "add", "change", "history", "delete"):
        assert f"retros_issue_{suffix}" in names
    assert "retros_occurrence_simple_history" in names  # the version page
    assert "auth_user_password_change" in names


def test_no_admin_url_reaches_another_organisations_rows(world, superuser_client):
    violations = check_admin(world, admin.site, superuser_client)
    assert not violations, "\n".join(violations)


# --- the test of the test -------------------------------------------------------------------


@override_settings(ROOT_URLCONF="tests.trust.open_admin")
def test_the_admin_matrix_reports_an_unscoped_history_view(world, superuser_client):
    violations = "\n".join(check_admin(world, leaky_site, superuser_client))
    assert "retros_issue_history" in violations
    assert "retros_issue_simple_history" in violations
    assert "the response contains Contoso's data" in violations
    assert "POST retros_issue_simple_history" in violations
    assert "Contoso's rows changed" in violations
