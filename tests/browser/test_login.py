"""A person logs in through the real login page in Chromium."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_facilitator_logs_in_and_lands_on_their_team(page, cast):
    page.goto("/")
    assert "/login/" in page.url
    screenshot(page, "login")
    log_in(page, "fay", PASSWORD)
    assert page.get_by_role("heading", name="Payments").is_visible()
    assert page.console_errors == []


def test_a_wrong_password_shows_a_clear_error(page, cast):
    log_in(page, "fay", "not the password")
    assert page.get_by_role("alert").inner_text().startswith("That username and password")
