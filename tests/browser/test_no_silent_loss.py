"""A reworded recurrence logged with Enter, without choosing the suggestion, is not lost: its
row offers the link, the review queue holds the pair, and the link is made from the keyboard."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from retros import services
from retros.models import LinkReview, LinkSource, Occurrence, ReviewStatus
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, IssueFactory, OccurrenceFactory, RetrospectiveFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open_board_after(page, cast, title: str, *texts: str):
    """An issue raised in an earlier retro with ``texts`` (the first its title), and a new
    retro's board opened by its facilitator: the entry field focused. Returns the issue."""
    earlier = RetrospectiveFactory(
        team=cast.team, held_on=timezone.localdate() - dt.timedelta(days=30)
    )
    issue = IssueFactory(organization=cast.org, title=texts[0])
    for text in texts:
        OccurrenceFactory(retro=earlier, issue=issue, text=text)
    services.issue_refresh_stats(issue_ids=[issue.pk])
    retro = services.retro_start(
        team=cast.team,
        held_on=timezone.localdate(),
        title=title,
        format="free",
        user=cast.users["facilitator"],
    )
    log_in(page, "fay", PASSWORD)
    page.goto(f"/retros/{retro.pk}/")
    page.locator("#entry-text").focus()
    return issue


def test_enter_without_choosing_queues_the_pair_and_the_row_links_it(page, cast):
    issue = _open_board_after(
        page,
        cast,
        "Sprint 9",
        "Chargeback emails sit unanswered",
        "Nobody answers the chargeback emails in the shared inbox",
    )
    entry = page.locator("#entry-text")
    page.keyboard.type("Chargeback emails still sit in the shared inbox and nobody picks them up")
    expect(page.locator("#suggestion-1")).to_contain_text("Chargeback emails sit unanswered")
    page.keyboard.press("Enter")  # as new, without choosing the suggestion
    expect(page.locator("#occurrence-list > li.occ")).to_have_count(1)

    logged = Occurrence.objects.get(text__startswith="Chargeback emails still sit")
    row = page.locator(f"#occ-{logged.pk}")
    expect(row).to_contain_text("Looks like “Chargeback emails sit unanswered”")
    expect(row.get_by_role("button", name="Link it")).to_be_visible()
    expect(entry).to_be_focused()
    review = LinkReview.objects.get(occurrence=logged)
    assert review.candidate_id == issue.pk and review.status == ReviewStatus.PENDING
    screenshot(page, "board-possible-link")
    page.evaluate("document.querySelectorAll('[style]').forEach(e => e.removeAttribute('style'))")

    # The review queue holds the pair.
    queue = page.context.new_page()
    queue.goto("/reviews/")
    expect(queue.locator(f'.review-row[data-review="{review.pk}"]')).to_be_visible()
    queue.close()

    # Alt+L links the newest row that looks like an earlier issue, from the entry field.
    page.bring_to_front()
    entry.focus()
    page.keyboard.press("Alt+l")
    expect(row).to_contain_text("Raised again")
    expect(row).not_to_contain_text("Looks like")
    logged.refresh_from_db()
    assert logged.issue_id == issue.pk and logged.link_source == LinkSource.REVIEW
    assert LinkReview.objects.get(pk=review.pk).status == ReviewStatus.CONFIRMED
    assert not page.console_errors


def test_an_item_of_the_same_retro_is_not_offered_as_raised_before(page, cast):
    """Two people in one retro say the same thing: the first item is no earlier raising of
    the second, while an issue of an earlier retro is still offered."""
    _open_board_after(page, cast, "Sprint 10", "Staging environment broken for days")
    entry = page.locator("#entry-text")
    page.keyboard.type("Invoices for the Nordic customers were sent twice")
    page.keyboard.press("Enter")
    expect(page.locator("#occurrence-list > li.occ")).to_have_count(1)

    with page.expect_response(lambda response: "/suggestions/" in response.url):
        page.keyboard.type("Staging env was down again, nobody could test")
    expect(page.locator("#suggestion-1")).to_contain_text("Staging environment broken")
    entry.fill("")
    with page.expect_response(lambda response: "twice" in response.url):  # the whole text
        page.keyboard.type("Nordic customers got their invoices twice")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#suggestions")).not_to_contain_text("Invoices for the Nordic")
    screenshot(page, "board-same-retro-item")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "board-same-retro-item-390")
    page.keyboard.press("Enter")
    expect(page.locator("#occurrence-list > li.occ")).to_have_count(2)

    second = Occurrence.objects.get(text="Nordic customers got their invoices twice")
    expect(page.locator(f"#occ-{second.pk}")).not_to_contain_text("Looks like")
    assert not LinkReview.objects.filter(occurrence=second).exists()
    assert not page.console_errors
