"""Logging in: guessing limits (django-axes, config/login.py), password rules, CSRF and
session lifetime."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db.models import F
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _log_in(client: Client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _through_proxy(client: Client, username: str, password: str, address: str):
    """A log-in through one TLS proxy: every request comes from the proxy's own address."""
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=address,
    )


def test_spraying_guesses_over_many_people_from_one_address_locks_that_address(cast, settings):
    people = [UserFactory(username=f"sprayed{n}").username for n in range(10)]
    statuses = [_log_in(Client(), username, "Winter2026!") for username in people for _ in range(4)]
    assert statuses[0].status_code == 200  # the form again, with its error
    locked = statuses[-1]
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert "this address" in locked.content.decode()
    # While locked, even the right password is refused from that address ...
    client = Client()
    assert _log_in(client, "lee", PASSWORD).status_code == 429 and not _signed_in(client)
    # ... but not from anywhere else.
    elsewhere = Client()
    assert _log_in(elsewhere, "lee", PASSWORD, address="198.51.100.4").status_code == 302


def test_logging_in_to_ones_own_account_does_not_clear_an_address_s_failures(cast, settings):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _log_in(Client(), f"guess{n}", "wrong password").status_code == 200
    own = Client()
    assert _log_in(own, "fay", PASSWORD).status_code == 302
    own.post(reverse("logout"))
    assert _log_in(Client(), "guess-last", "wrong password").status_code == 429


def test_a_strangers_guesses_do_not_lock_the_person_out(cast, settings):
    settings.RECUR_TRUSTED_PROXIES = 1
    for _ in range(5):
        response = _through_proxy(Client(), "lee", "wrong password", "203.0.113.66")
        assert response.status_code == 200
    client = Client()
    assert _through_proxy(client, "lee", PASSWORD, "198.51.100.4").status_code == 302
    assert _signed_in(client)


def test_guessing_one_account_from_many_addresses_is_slowed_down_never_locked(cast, settings):
    for n in range(settings.RECUR_LOGIN_ACCOUNT_FAILURE_LIMIT + 3):
        _log_in(Client(), "lee", "wrong password", address=f"203.0.113.{n + 10}")
    # The next attempt, even the owner's from a fresh address, waits a few seconds ...
    client = Client()
    refused = _log_in(client, "lee", PASSWORD, address="198.51.100.4")
    assert refused.status_code == 429 and not _signed_in(client)
    assert re.search(r"Wait \d+ seconds?", refused.content.decode())
    # ... at most RECUR_LOGIN_ACCOUNT_MAX_WAIT after the last failure, then gets in.
    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - dt.timedelta(seconds=settings.RECUR_LOGIN_ACCOUNT_MAX_WAIT)
    )
    assert _log_in(client, "lee", PASSWORD, address="198.51.100.4").status_code == 302
    # Other people are not slowed down.
    assert _log_in(Client(), "fay", PASSWORD, address="203.0.113.10").status_code == 302


def test_the_client_address_is_the_proxys_view_only_when_proxies_are_configured(settings):
    from config.login import client_address

    request = RequestFactory().post(
        "/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5"
    )
    settings.RECUR_TRUSTED_PROXIES = 0
    assert client_address(request) == "10.0.0.2"  # a forged header is ignored
    settings.RECUR_TRUSTED_PROXIES = 1
    assert client_address(request) == "203.0.113.5"  # what our proxy saw, not what was sent


def test_a_successful_login_resets_the_persons_own_failure_count(cast, settings):
    client = Client()
    for _ in range(settings.RECUR_LOGIN_ACCOUNT_FAILURE_LIMIT):
        _log_in(client, "lee", "wrong password")
    assert _log_in(client, "lee", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(settings.RECUR_LOGIN_ACCOUNT_FAILURE_LIMIT):
        assert _log_in(client, "lee", "wrong password").status_code == 200


def test_the_limits_are_per_address_for_a_quarter_of_an_hour_and_short_per_account(settings):
    assert settings.AXES_ENABLED
    assert settings.AXES_LOCKOUT_PARAMETERS == ["ip_address"]
    assert settings.AXES_FAILURE_LIMIT <= 50
    assert settings.AXES_COOLOFF_TIME == dt.timedelta(minutes=15)
    assert settings.RECUR_LOGIN_ACCOUNT_MAX_WAIT <= 5 * 60


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
