"""Finding an issue from the keyboard: "/" focuses the search, typing narrows the list in
place (the address follows, so Back and a shared link give the same list), praise waits
behind "Went well"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from retros import services
from retros.models import ItemType
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, RetrospectiveFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_typing_narrows_the_issue_list_without_a_reload(cast, page):
    retro = RetrospectiveFactory(team=cast.team)
    for text in ("Staging was down all week", "Invoices were late", "VPN drops at noon"):
        services.occurrence_record(retro=retro, text=text, user=None)
    services.occurrence_record(
        retro=retro, text="Great pairing on the form", user=None, item_type=ItemType.APPRECIATION
    )
    log_in(page, "fay", PASSWORD)
    page.goto("/issues/")
    rows = page.locator("#issue-results tbody tr")
    expect(rows).to_have_count(3)  # problems only
    page.evaluate("window.sentinel = 1")  # gone if the page reloads

    page.keyboard.press("/")
    expect(page.get_by_label("Search")).to_be_focused()
    page.keyboard.type("staging")

    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Staging was down all week")
    expect(page).to_have_url("/issues/?q=staging&show=problems&team=&sort=recent")
    assert page.evaluate("window.sentinel") == 1
    # Escape leaves the search as it is; j and k move between the rows' links.
    page.keyboard.press("Escape")
    expect(page.get_by_label("Search")).to_have_value("staging")
    page.keyboard.press("j")
    expect(rows.first.get_by_role("link")).to_be_focused()
    page.get_by_label("Search").fill("")
    expect(rows).to_have_count(3)
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(1).get_by_role("link")).to_be_focused()
    page.keyboard.press("k")
    expect(rows.nth(0).get_by_role("link")).to_be_focused()
    page.get_by_label("Search").fill("staging")
    expect(rows).to_have_count(1)
    page.get_by_label("Show").select_option("appreciation")
    expect(page.locator("#issue-results")).to_contain_text("nothing you may read says")
    page.get_by_label("Search").fill("")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Great pairing on the form")
    screenshot(page, "issue-list-went-well")
    page.go_back()
    expect(page.get_by_label("Show")).to_have_value("appreciation")
    assert page.console_errors == []  # type: ignore[attr-defined]
