"""Pages and exports for a signed-in person carry Cache-Control: private, no-store."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("member", "retros:team_list"),
        ("facilitator", "retros:issue_list"),
        ("leader", "diagnosis:overview"),
        ("leader", "diagnosis:export_csv"),
        ("leader", "diagnosis:export_json"),
    ],
)
def test_signed_in_pages_and_exports_are_never_stored(cast, role, url):
    response = cast.clients[role].get(reverse(url))
    assert response.status_code == 200
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"private", "no-store", "no-cache", "must-revalidate"} <= directives
