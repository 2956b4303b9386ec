"""Error pages are Recur's own, say what happened and offer a way back; the 500 page renders
without touching the database."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from tests.factories import OccurrenceFactory, RetrospectiveFactory

pytestmark = pytest.mark.django_db

HOME = reverse("home")


def _has_way_home(html: str) -> bool:
    return f'href="{HOME}"' in html and "Go to your start page" in html


def test_an_unknown_page_is_a_branded_404_with_a_way_back(cast, outsider_data):
    client = cast.clients["facilitator"]
    came_from = "http://testserver" + reverse("retros:issue_list")
    for url in ("/no-such-page/", reverse("retros:issue_detail", args=[outsider_data["issue"].pk])):
        response = client.get(url, HTTP_REFERER=came_from)
        html = response.content.decode()
        assert response.status_code == 404
        assert "Page not found" in html and "<title>Page not found · Recur</title>" in html
        assert _has_way_home(html)
        assert f'href="{came_from}"' in html and "← Back" in html
        assert "Contoso" not in html


def test_the_404_offers_no_way_back_to_another_site(cast):
    response = cast.clients["member"].get("/no-such-page/", HTTP_REFERER="https://evil.example/")
    html = response.content.decode()
    assert response.status_code == 404 and _has_way_home(html)
    assert "evil.example" not in html and "← Back" not in html


def test_a_refusal_is_a_branded_403_that_says_why_and_leads_back(cast):
    retro = RetrospectiveFactory(team=cast.team)
    occurrence = OccurrenceFactory(retro=retro, text="Deploys are slow")
    board = "http://testserver" + reverse("retros:retro_board", args=[retro.pk])
    response = cast.clients["member"].get(
        reverse("retros:occurrence_edit", args=[occurrence.pk]), HTTP_REFERER=board
    )
    html = response.content.decode()
    assert response.status_code == 403
    assert "You cannot do that here" in html
    assert "You can read this team&#x27;s retros but not change them." in html
    assert _has_way_home(html) and f'href="{board}"' in html


def test_a_bad_request_is_a_branded_400(cast):
    response = cast.clients["member"].get("/", HTTP_HOST="not-allowed.example")
    html = response.content.decode()
    assert response.status_code == 400
    assert "That request could not be understood" in html and _has_way_home(html)


def test_the_500_page_is_branded_and_reads_nothing_from_the_database(
    django_assert_num_queries,
):
    request = RequestFactory().get("/teams/")
    with django_assert_num_queries(0):
        response = server_error(request)
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html and _has_way_home(html)
