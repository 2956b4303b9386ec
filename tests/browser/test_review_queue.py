"""The link review queue from the keyboard: after a decision, focus stays where it was, on
the pair that followed the decided one, so the next key never decides an unseen pair."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from retros.models import LinkReview
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, IssueFactory, OccurrenceFactory, RetrospectiveFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_focus_moves_to_the_next_pair_after_a_decision(cast, page):
    reviews = []
    for n, score in enumerate((0.9, 0.8, 0.7, 0.6)):
        raised = OccurrenceFactory(
            retro=RetrospectiveFactory(team=cast.team), text=f"Raised again number {n}"
        )
        candidate = IssueFactory(organization=cast.org, title=f"Earlier issue {n}")
        reviews.append(
            LinkReview.objects.create(
                organization=cast.org, occurrence=raised, candidate=candidate, score=score
            )
        )
    log_in(page, "fay", PASSWORD)
    page.goto("/reviews/")
    page.keyboard.press("j")  # first pair
    page.keyboard.press("j")  # second pair
    focused = page.locator(".review-row:focus")
    expect(focused).to_have_attribute("data-review", str(reviews[1].pk))
    page.keyboard.press("n")
    expect(page.locator(".review-row")).to_have_count(3)
    expect(page.locator(".review-row:focus")).to_have_attribute("data-review", str(reviews[2].pk))
    page.keyboard.press("y")
    expect(page.locator(".review-row")).to_have_count(2)
    expect(page.locator(".review-row:focus")).to_have_attribute("data-review", str(reviews[3].pk))
    assert LinkReview.objects.get(pk=reviews[1].pk).status == "rejected"
    assert LinkReview.objects.get(pk=reviews[2].pk).status == "confirmed"
    assert LinkReview.objects.get(pk=reviews[0].pk).status == "pending"


def test_one_key_settles_a_whole_group_and_focus_moves_to_the_next_group(cast, page):
    def queue(candidate, text, score):
        raised = OccurrenceFactory(retro=RetrospectiveFactory(team=cast.team), text=text)
        return LinkReview.objects.create(
            organization=cast.org, occurrence=raised, candidate=candidate, score=score
        )

    staging = IssueFactory(organization=cast.org, title="Staging is down")
    vpn = IssueFactory(organization=cast.org, title="VPN drops")
    group = [queue(staging, f"Staging broke again ({n})", 0.9 - n / 10) for n in range(3)]
    after = queue(vpn, "VPN keeps dropping", 0.5)

    log_in(page, "fay", PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/reviews/")
    expect(page.locator(".review-group")).to_have_count(2)
    widths = page.evaluate(
        "[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the queue scrolls sideways at 390 px: {widths}"
    screenshot(page, "review-queue-grouped-390")

    page.keyboard.press("j")
    page.keyboard.press("j")  # the second raising of the staging group
    expect(page.locator(".review-row:focus")).to_have_attribute("data-review", str(group[1].pk))
    page.keyboard.press("Shift+Y")
    expect(page.locator(".review-group")).to_have_count(1)
    expect(page.locator(".review-row:focus")).to_have_attribute("data-review", str(after.pk))
    for item in group:
        item.refresh_from_db()
        assert item.status == "confirmed"
        assert item.occurrence.issue_id == staging.pk
    after.refresh_from_db()
    assert after.status == "pending"


def test_a_raising_that_may_be_either_of_two_issues_is_settled_by_one_same(cast, page):
    raised = OccurrenceFactory(
        retro=RetrospectiveFactory(team=cast.team), text="Staging env broken for days again"
    )

    def earlier(title: str) -> object:
        issue = IssueFactory(organization=cast.org, title=title, occurrence_count=1)
        before = RetrospectiveFactory(team=cast.team, held_on=dt.date(2025, 11, 5))
        OccurrenceFactory(retro=before, issue=issue, text=title)
        return issue

    pairs = [
        LinkReview.objects.create(
            organization=cast.org, occurrence=raised, candidate=earlier(title), score=score
        )
        for title, score in (("Staging broken for days", 0.62), ("Staging down all week", 0.6))
    ]
    log_in(page, "fay", PASSWORD)
    page.goto("/reviews/")
    expect(page.locator(".review-row .contenders")).to_have_count(2)
    screenshot(page, "review-queue-contenders")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "review-queue-contenders-390")
    page.keyboard.press("j")
    page.keyboard.press("j")  # the raising under the second issue
    page.keyboard.press("y")
    expect(page.locator(".review-row")).to_have_count(0)
    assert [LinkReview.objects.get(pk=p.pk).status for p in pairs] == ["rejected", "confirmed"]
    expect(page.locator(".review-outcome")).to_contain_text(
        "Linked “Staging env broken for days again” to “Staging down all week”"
    )

    page.keyboard.press("u")  # both pairs of the raising wait again, focus on the one taken back
    expect(page.locator(".review-row")).to_have_count(2)
    expect(page.locator(".review-outcome")).to_contain_text("Undone: 1 decision")
    expect(page.locator(".review-row:focus")).to_have_attribute("data-review", str(pairs[1].pk))
    screenshot(page, "review-queue-undone-390")
    assert [LinkReview.objects.get(pk=p.pk).status for p in pairs] == ["pending", "pending"]
    raised.refresh_from_db()
    assert raised.issue.archived_at is None and raised.link_source == "new"
