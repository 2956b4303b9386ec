"""Every page needs a login; people of another organisation never find its objects."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _object_urls(outsider_data) -> list[str]:
    return [
        reverse("retros:team_home", args=[outsider_data["team"].pk]),
        reverse("retros:retro_board", args=[outsider_data["retro"].pk]),
        reverse("retros:issue_detail", args=[outsider_data["issue"].pk]),
    ]


def test_anonymous_people_are_sent_to_the_login_page(cast, outsider_data):
    for url in ["/", reverse("retros:team_list"), *_object_urls(outsider_data)]:
        response = cast.clients["anonymous"].get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


@pytest.mark.parametrize("role", ["admin", "leader", "facilitator", "member"])
def test_people_of_another_organisation_get_404_and_no_data(cast, outsider_data, role):
    for url in _object_urls(outsider_data):
        response = cast.clients[role].get(url)
        assert response.status_code == 404, (role, url)
        assert b"Contoso secret" not in response.content


def test_lists_never_show_another_organisations_rows(cast, outsider_data):
    for url in [reverse("retros:team_list"), reverse("retros:issue_list")]:
        response = cast.clients["leader"].get(url)
        assert response.status_code == 200
        assert b"Contoso" not in response.content and b"Engine" not in response.content


def test_members_see_only_their_teams(cast):
    assert (
        cast.clients["member"].get(reverse("retros:team_home", args=[cast.team.pk])).status_code
        == 200
    )
    response = cast.clients["member"].get(reverse("retros:team_home", args=[cast.other_team.pk]))
    assert response.status_code == 403


def test_login_page_renders_and_logs_in(cast):
    from django.test import Client

    client = Client()
    assert client.get(reverse("login")).status_code == 200
    response = client.post(
        reverse("login"), {"username": "lee", "password": "correct-horse-battery-staple"}
    )
    assert response.status_code == 302
    assert client.get("/", follow=True).status_code == 200
