"""The board as people really use it: Back after adding an item, a session that ends mid-retro,
and a phone held upright with long links and right-to-left words in the notes."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from retros import services
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def retro(cast):
    return services.retro_start(
        team=cast.team,
        held_on=timezone.localdate(),
        title="Sprint 12",
        format="free",
        user=cast.users["facilitator"],
    )


def add_item(page, text: str) -> None:
    entry = page.locator("#entry-text")
    entry.fill(text)
    entry.press("Enter")
    expect(page.locator("#occurrence-list > li.occ").filter(has_text=text)).to_have_count(1)


def test_back_after_adding_an_item_shows_it(page, cast, retro):
    log_in(page, "fay", PASSWORD)
    page.goto(f"/retros/{retro.pk}/")
    add_item(page, "Release checklist lives in three places")
    expect(page.locator("#raised-count")).to_have_text("1 issue raised")

    page.get_by_role("link", name=cast.team.name).first.click()
    page.wait_for_url(f"**/teams/{cast.team.pk}/")
    page.go_back()
    page.wait_for_url(f"**/retros/{retro.pk}/")

    expect(page.locator("#occurrence-list > li.occ")).to_have_count(1)
    expect(page.locator("#occurrence-list")).to_contain_text(
        "Release checklist lives in three places"
    )
    expect(page.locator("#raised-count")).to_have_text("1 issue raised")


@pytest.mark.parametrize("lost", ["session", "all cookies"])
def test_a_session_ended_mid_retro_keeps_the_typed_text(page, retro, lost):
    log_in(page, "fay", PASSWORD)
    page.goto(f"/retros/{retro.pk}/")
    typed = "Nobody owns the flaky payment sandbox tests"
    entry = page.locator("#entry-text")
    entry.fill(typed)

    if lost == "session":  # expired or signed out elsewhere; the security token cookie stays
        cookies = [c for c in page.context.cookies() if c["name"] != "sessionid"]
        page.context.clear_cookies()
        page.context.add_cookies(cookies)
    else:  # cookies cleared: the form's token no longer matches anything
        page.context.clear_cookies()
    entry.press("Enter")

    # The whole page goes to sign in (not the sign-in form swapped into the board) ...
    page.wait_for_url("**/login/**")
    expect(page.locator("#entry-form")).to_have_count(0)
    page.get_by_label("Username").fill("fay")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # ... and back on the board, the text is in the field, ready for Enter.
    page.wait_for_url(f"**/retros/{retro.pk}/")
    expect(page.locator("#entry-text")).to_have_value(typed)
    expect(page.locator("#entry-status")).to_contain_text("press Enter to add it")
    screenshot(page, f"board-draft-restored-{lost.replace(' ', '-')}")
    page.locator("#entry-text").press("Enter")
    expect(page.locator("#occurrence-list > li.occ").filter(has_text=typed)).to_have_count(1)
    expect(page.locator("#entry-text")).to_have_value("")

    # Once added, the draft is spent: a reload shows an empty field.
    page.reload()
    expect(page.locator("#entry-text")).to_have_value("")


LONG_URL = (
    "https://wiki.example.com/engineering/payments/runbooks/2026/deployments/"
    + "a" * 120
    + "?query=1234567890"
)
HEBREW = "הבדיקות נכשלות שוב"


def test_the_board_at_390px_has_no_horizontal_scroll_and_reads_right_to_left_text_rightly(
    browser, live_server, cast, retro
):
    services.occurrence_record(retro=retro, text=f"Deploy notes at {LONG_URL} are stale", user=None)
    rtl = services.occurrence_record(retro=retro, text=HEBREW, user=None)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=live_server.url, is_mobile=True
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    log_in(page, "fay", PASSWORD)

    for path in (
        f"/retros/{retro.pk}/",
        f"/teams/{cast.team.pk}/",
        f"/issues/{rtl.issue_id}/",
        "/issues/",
    ):
        page.goto(path)
        widths = page.evaluate(
            "[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"{path} scrolls sideways: {widths}"

    page.goto(f"/retros/{retro.pk}/")
    screenshot(page, "board-390")
    # A short right-to-left note sits against the right edge of its line, as it is read.
    gap = page.evaluate(
        """(id) => {
            const p = document.querySelector(`#occ-${id} .occ-text`);
            const range = document.createRange();
            range.selectNodeContents(p);
            const text = range.getBoundingClientRect(), box = p.getBoundingClientRect();
            return [text.left - box.left, box.right - text.right];
        }""",
        rtl.pk,
    )
    assert gap[1] < 2 < gap[0], f"right-to-left text is not aligned to the right: {gap}"
    context.close()
