"""A session that ends mid-work: the person signs in again and comes back to the page they were
on, and a form whose security token is gone gets a page with a way back — never the sign-in
page inside a fragment of the board, never Django's bare "CSRF verification failed"."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from retros.models import Occurrence
from tests.factories import PASSWORD, RetrospectiveFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def retro(cast):
    return RetrospectiveFactory(team=cast.team)


def board_and_post(retro) -> tuple[str, str]:
    return (
        reverse("retros:retro_board", args=[retro.pk]),
        reverse("retros:occurrence_create", args=[retro.pk]),
    )


def test_htmx_post_without_a_session_leads_to_sign_in_and_back_to_the_board(retro):
    board, post = board_and_post(retro)
    response = Client().post(
        post,
        {"text": "Staging was down again"},
        HTTP_HX_CURRENT_URL=f"http://testserver{board}",
        **HTMX,
    )
    assert response.status_code == 401
    assert response["HX-Redirect"] == f"{reverse('login')}?next={quote(board, safe='/')}"
    assert b"<form" not in response.content  # nothing to swap into the board
    assert not Occurrence.objects.exists()


def test_htmx_suggestions_without_a_session_are_refused_not_answered_with_the_sign_in_page(retro):
    board, _ = board_and_post(retro)
    url = reverse("retros:retro_suggestions", args=[retro.pk])
    response = Client().get(
        url, {"text": "Staging"}, HTTP_HX_CURRENT_URL=f"http://testserver{board}", **HTMX
    )
    assert response.status_code == 401
    assert response["HX-Redirect"].endswith(f"?next={quote(board, safe='/')}")


def test_the_way_back_never_leaves_the_site(retro):
    _, post = board_and_post(retro)
    response = Client().post(
        post, {"text": "x"}, HTTP_HX_CURRENT_URL="https://evil.example/phish", **HTMX
    )
    assert response["HX-Redirect"] == f"{reverse('login')}?next=/"


def test_a_plain_form_post_without_a_session_returns_to_the_page_it_was_sent_from(retro):
    board, post = board_and_post(retro)
    response = Client().post(post, {"text": "x"}, HTTP_REFERER=f"http://testserver{board}")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(board, safe='/')}"


def test_a_page_visit_without_a_session_keeps_the_usual_redirect(retro):
    board, _ = board_and_post(retro)
    response = Client().get(board)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(board, safe='/')}"


def test_signing_in_with_the_next_page_lands_on_the_board(cast, retro):
    board, _ = board_and_post(retro)
    client = Client()
    response = client.post(
        f"{reverse('login')}?next={quote(board, safe='/')}",
        {"username": "fay", "password": PASSWORD, "next": board},
    )
    assert response.status_code == 302 and response["Location"] == board


def csrf_client(cast) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.users["facilitator"])
    return client


def test_a_form_without_its_token_gets_a_branded_page_with_a_way_back(cast, retro):
    board, post = board_and_post(retro)
    response = csrf_client(cast).post(
        post, {"text": "Staging was down"}, HTTP_REFERER=f"http://testserver{board}"
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "That form had expired" in page and "Nothing was saved" in page
    assert f'href="{board}"' in page
    assert "CSRF verification failed" not in page
    assert not Occurrence.objects.exists()


def test_an_htmx_request_without_its_token_reloads_the_page_it_is_on(cast, retro):
    board, post = board_and_post(retro)
    response = csrf_client(cast).post(
        post, {"text": "Staging was down"}, HTTP_HX_CURRENT_URL=f"http://testserver{board}", **HTMX
    )
    assert response.status_code == 403
    assert response["HX-Redirect"] == board
    assert not Occurrence.objects.exists()
