"""A facilitator runs a retro end to end in real Chromium, mostly from the keyboard."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from retros import services
from retros.models import Fix, FixOutcome, LinkSource, Occurrence
from tests.browser.conftest import log_in, screenshot
from tests.factories import (
    PASSWORD,
    FixFactory,
    IssueFactory,
    OccurrenceFactory,
    RetrospectiveFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def screenshot_mid_flow(page, name: str) -> None:
    """A screenshot between two htmx swaps. Playwright hides the caret for screenshots by
    styling the inputs and leaves `style=""` behind; htmx would copy that attribute onto the
    swapped-in inputs, which the Content Security Policy rightly blocks."""
    screenshot(page, name)
    page.evaluate("document.querySelectorAll('[style]').forEach(e => e.removeAttribute('style'))")


@pytest.fixture
def history(cast):
    """Four weeks ago Payments raised slow staging deploys and agreed a weekly sync."""
    earlier = RetrospectiveFactory(
        team=cast.team, held_on=timezone.localdate() - dt.timedelta(days=28), title="Sprint 2"
    )
    issue = IssueFactory(organization=cast.org, title="Staging deploys take forever")
    OccurrenceFactory(retro=earlier, issue=issue, text="Staging deploys take forever", votes=4)
    fix = FixFactory(
        issue=issue,
        retro=earlier,
        team=cast.team,
        decided_on=earlier.held_on,
        text="Weekly sync with Platform about deploys",
        kind="meeting",
        owner="Sam",
    )
    other = IssueFactory(organization=cast.org, title="Too many meetings")
    OccurrenceFactory(retro=earlier, issue=other, text="Too many meetings")
    services.retro_close(retro=earlier, user=cast.users["facilitator"])
    services.issue_refresh_stats(issue_ids=[issue.pk, other.pk])
    return {"issue": issue, "fix": fix}


def test_a_facilitator_runs_a_retro_from_the_keyboard(page, cast, history):
    log_in(page, "fay", PASSWORD)
    expect(page.get_by_role("heading", name="Payments", exact=True)).to_be_visible()

    # Start a retro: the date defaults to today.
    page.get_by_label("Title").fill("Sprint 3")
    page.get_by_label("Format").select_option("start_stop_continue")
    page.get_by_role("button", name="Start retro").click()
    expect(page.get_by_role("heading", name="Sprint 3")).to_be_visible()

    # The weekly sync from four weeks ago is up for review.
    review = page.locator(f"#fix-{history['fix'].pk}")
    expect(review).to_contain_text("Weekly sync with Platform about deploys")

    # Three issues from the keyboard: "/" focuses the field, Enter adds.
    entry = page.locator("#entry-text")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")
    expect(entry).to_be_focused()
    page.keyboard.type("Standups keep running over time")
    page.keyboard.press("Enter")
    rows = page.locator("#occurrence-list > li.occ")
    expect(rows).to_have_count(1)
    expect(entry).to_be_focused()
    expect(entry).to_have_value("")

    # The second one was raised before: pick the suggestion with the arrow keys and Enter.
    page.keyboard.type("Deploys to staging are slow again")
    first_suggestion = page.locator("#suggestion-1")
    expect(first_suggestion).to_contain_text("Staging deploys take forever")
    expect(first_suggestion).to_contain_text("1 band-aid")
    screenshot_mid_flow(page, "board-suggestions")
    page.keyboard.press("ArrowDown")
    expect(first_suggestion).to_be_focused()
    page.keyboard.press("Enter")
    expect(rows).to_have_count(2)
    expect(entry).to_be_focused()

    page.keyboard.type("Nobody owns the flaky end-to-end suite")
    page.keyboard.press("Enter")
    expect(rows).to_have_count(3)

    recurrence = Occurrence.objects.get(text="Deploys to staging are slow again")
    assert recurrence.issue_id == history["issue"].pk
    assert recurrence.link_source == LinkSource.SUGGESTION
    assert recurrence.link_score is not None and recurrence.link_score > 0
    row = page.locator(f"#occ-{recurrence.pk}")
    expect(row).to_contain_text("Raised again")
    expect(row).to_contain_text("1 band-aid fix already tried since")
    expect(page.locator("#raised-count")).to_have_text("3 issues raised")

    # A band-aid fix for it: the kind is suggested from the text.
    row.get_by_text("Record a fix").click()
    row.get_by_label("What will be done").fill("Add a deploy checklist to the release process")
    kind = row.get_by_label("Kind")
    expect(kind).to_have_value("process")
    expect(row.locator(".kind-help")).to_contain_text("Suggested from the text")
    row.get_by_label("Owner").fill("Priya")
    row.get_by_label("Due").fill((timezone.localdate() + dt.timedelta(days=14)).isoformat())
    row.get_by_role("button", name="Record fix").click()
    expect(row.locator(".fixes-here")).to_contain_text("Add a deploy checklist")
    fix = Fix.objects.get(text="Add a deploy checklist to the release process")
    assert (fix.kind, fix.kind_inferred, fix.owner) == ("process", True, "Priya")

    # The weekly sync did not work.
    review.get_by_role("button", name="Did not work").click()
    expect(review.get_by_role("button", name="Did not work")).to_have_attribute(
        "aria-pressed", "true"
    )
    history["fix"].refresh_from_db()
    assert history["fix"].outcome == FixOutcome.DID_NOT_WORK

    # A vote from the keyboard keeps the focus on the button.
    row.locator(f"#vote-up-{recurrence.pk}").focus()
    page.keyboard.press("Enter")
    expect(row.locator(".vote-count")).to_contain_text("1")
    expect(page.locator(f"#vote-up-{recurrence.pk}")).to_be_focused()

    page.mouse.move(0, 0)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "board")

    # Close the retro and read the summary.
    page.get_by_role("button", name=re.compile("Close retro")).click()
    summary = page.locator("#summary")
    expect(summary).to_contain_text("Issues raised")
    expect(summary.locator("dd").nth(0)).to_have_text("3")
    expect(summary.locator("dd").nth(1)).to_have_text("1")
    expect(summary.locator("dd").nth(2)).to_have_text("1")
    markdown = page.locator("#summary-md").input_value()
    assert "Deploys to staging are slow again" in markdown
    assert "Add a deploy checklist to the release process" in markdown
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "board-closed")

    # The issue page shows the thread: both raisings and both fixes, newest first.
    row.locator(".issue-link").click()
    expect(page.get_by_role("heading", name="Staging deploys take forever")).to_be_visible()
    entries = page.locator(".timeline > li")
    expect(entries).to_have_count(4)
    expect(entries.nth(0)).to_contain_text("Add a deploy checklist")
    expect(entries.nth(1)).to_contain_text("Deploys to staging are slow again")
    expect(entries.nth(1)).to_contain_text("Came back after 1 fix")
    expect(entries.nth(2)).to_contain_text("Weekly sync with Platform about deploys")
    expect(entries.nth(2)).to_contain_text("Did not work")
    expect(entries.nth(3)).to_contain_text("Staging deploys take forever")
    expect(entries.nth(3)).to_contain_text("First raised")
    screenshot(page, "issue-page")

    assert page.console_errors == []


def test_raising_editing_and_archiving_work_from_the_keyboard_alone(page, cast, history):
    retro = RetrospectiveFactory(team=cast.team, held_on=timezone.localdate(), title="Sprint 4")
    log_in(page, "fay", PASSWORD)
    page.goto(f"/retros/{retro.pk}/")
    # The "/" shortcut is attached by a deferred script: wait until the page has settled.
    page.wait_for_load_state("networkidle")
    page.keyboard.press("/")
    page.keyboard.type("Staging deploys are slow")
    expect(page.locator("#suggestion-1")).to_be_visible()
    page.keyboard.press("Alt+1")
    rows = page.locator("#occurrence-list > li.occ")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Raised again")
    # htmx moves the focus back to the new-issue field once the swap has settled.
    expect(page.locator("#entry-text")).to_be_focused()

    # Escape clears the field and the suggestions.
    page.keyboard.type("Staging again")
    expect(page.locator("#suggestion-1")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#entry-text")).to_have_value("")
    expect(page.locator("#suggestion-1")).to_have_count(0)

    # Edit in place: Enter saves, and the focus comes back to the Edit button.
    occurrence = Occurrence.objects.get(retro=retro)
    page.locator(f"#edit-{occurrence.pk}").focus()
    page.keyboard.press("Enter")
    field = page.locator(f"#edit-text-{occurrence.pk}")
    expect(field).to_be_focused()
    page.keyboard.press("End")
    page.keyboard.type(" (again)")
    page.keyboard.press("Enter")
    expect(rows.first).to_contain_text("Staging deploys are slow (again)")
    expect(page.locator(f"#edit-{occurrence.pk}")).to_be_focused()
    # Escape cancels an edit.
    page.keyboard.press("Enter")
    expect(field).to_be_focused()
    page.keyboard.type(" nope")
    page.keyboard.press("Escape")
    expect(page.locator(f"#edit-{occurrence.pk}")).to_be_focused()
    expect(rows.first).to_contain_text("Staging deploys are slow (again)")
    expect(rows.first).not_to_contain_text("nope")

    # Archive, then Undo, which has the focus.
    page.locator(f"#archive-{occurrence.pk}").focus()
    page.keyboard.press("Enter")
    undo = page.locator(f"#undo-{occurrence.pk}")
    expect(undo).to_be_focused()
    expect(page.locator("#raised-count")).to_have_text("0 issues raised")
    page.keyboard.press("Enter")
    expect(page.locator(f"#archive-{occurrence.pk}")).to_be_focused()
    expect(page.locator("#raised-count")).to_have_text("1 issue raised")
    assert page.console_errors == []


def test_the_board_works_without_javascript(browser, live_server, cast, history):
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        log_in(page, "fay", PASSWORD)
        page.get_by_label("Title").fill("Sprint 5")
        page.get_by_role("button", name="Start retro").click()
        page.get_by_label("New issue").fill("Release notes are always late")
        page.get_by_role("button", name="Add", exact=True).click()
        row = page.locator("#occurrence-list > li.occ")
        expect(row).to_have_count(1)
        expect(page.locator(".messages")).to_contain_text("as a new issue")

        row.get_by_role("button", name="Add a vote").click()
        expect(row.locator(".vote-count")).to_contain_text("1")

        row.get_by_text("Record a fix").click()
        row.get_by_label("What will be done").fill("Remind everyone to write release notes")
        row.get_by_role("button", name="Record fix").click()
        fix = Fix.objects.get(text="Remind everyone to write release notes")
        assert (fix.kind, fix.kind_inferred) == ("reminder", True)

        # Linking later, from the raising's own page.
        row.get_by_role("link", name=re.compile("Change link")).click()
        page.get_by_label("Title contains").fill("staging")
        page.get_by_role("button", name="Search").click()
        page.get_by_role("button", name="Link here").first.click()
        occurrence = Occurrence.objects.get(text="Release notes are always late")
        assert occurrence.issue_id == history["issue"].pk
        assert occurrence.link_source == LinkSource.MANUAL

        row.get_by_role("button", name=re.compile("Archive")).click()
        expect(page.locator("#occurrence-list > li.occ")).to_have_count(0)
        page.get_by_text("Archived in this retro (1)").click()
        page.get_by_role("button", name=re.compile("Restore")).click()
        expect(page.locator("#occurrence-list > li.occ")).to_have_count(1)
    finally:
        context.close()
