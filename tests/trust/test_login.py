"""Logging in: rate limiting (django-axes), password rules, CSRF and session lifetime."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _log_in(client: Client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_repeated_failures_lock_the_account_at_that_address_with_a_friendly_page(cast, settings):
    client = Client()
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = _log_in(client, "lee", "wrong password")
        assert response.status_code == 200  # the form again, with its error
    locked = _log_in(client, "lee", "wrong password")
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    # While locked, even the right password is refused.
    again = _log_in(client, "lee", PASSWORD)
    assert again.status_code == 429 and not _signed_in(client)
    assert client.get("/").status_code == 302
    # The lock is for this account at this address: others are not locked out.
    elsewhere = Client()
    assert _log_in(elsewhere, "lee", PASSWORD, address="198.51.100.4").status_code == 302
    colleague = Client()
    assert _log_in(colleague, "fay", PASSWORD).status_code == 302


def test_a_successful_login_resets_the_failure_count(cast, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _log_in(client, "lee", "wrong password")
    assert _log_in(client, "lee", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _log_in(client, "lee", "wrong password").status_code == 200


def test_the_lockout_lasts_a_quarter_of_an_hour(settings):
    assert settings.AXES_ENABLED
    assert settings.AXES_FAILURE_LIMIT <= 10
    assert settings.AXES_COOLOFF_TIME == dt.timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


@pytest.mark.parametrize(
    "weak",
    ["password", "Password1", "123456789012345", "qwertyuiop", "short1!", "marjorie2026!"],
)
def test_weak_passwords_are_rejected(weak):
    from django.contrib.auth import get_user_model

    user = get_user_model()(username="marjorie", first_name="Marjorie", last_name="Lee-Smith")
    with pytest.raises(ValidationError):
        validate_password(weak, user)


def test_a_long_uncommon_passphrase_is_accepted():
    validate_password("velvet-orbit-candle-harbour-9")


def test_the_login_form_requires_its_csrf_token(cast):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "lee", "password": PASSWORD})
    assert response.status_code == 403
    assert not _signed_in(client)


def test_logging_in_gives_a_new_session_that_ends_with_the_browser_and_in_twelve_hours(
    cast, settings
):
    client = Client()
    client.get(reverse("login"))
    before = client.session.session_key
    assert _log_in(client, "lee", PASSWORD).status_code == 302
    session = client.session
    assert session.session_key != before  # no session fixation
    assert session.get_expire_at_browser_close()
    assert settings.SESSION_COOKIE_AGE <= 12 * 60 * 60
    assert session.get_expiry_age() <= settings.SESSION_COOKIE_AGE


def test_an_expired_session_must_log_in_again(cast):
    client = Client()
    assert _log_in(client, "lee", PASSWORD).status_code == 302
    assert client.get(reverse("retros:team_list")).status_code == 200
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    response = client.get(reverse("retros:team_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_logging_out_needs_a_post_and_ends_the_session(cast):
    client = Client()
    _log_in(client, "lee", PASSWORD)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    response = client.get(reverse("retros:team_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
