"""A leader works through the dashboard in real Chromium, on the demo organisation."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from diagnosis.models import Assessment, Finding, Hypothesis
from diagnosis.services import finding_recompute_many
from retros.models import Occurrence, Organization
from tests.browser.conftest import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "recur-demo-2026"
HYPOTHESIS = "Teams are rewarded only for their own OKRs"


def _flagged_team_and_category(org: Organization) -> tuple[str, str]:
    """A team and category with at least one flagged loop in the demo data."""
    finding = (
        Finding.objects.filter(organization=org, is_current=True, flagged=True)
        .order_by("-team_count", "-occurrence_count")
        .first()
    )
    assert finding is not None, "the demo organisation has no flagged loop"
    team = Occurrence.objects.filter(issue=finding.issue).order_by("held_on").first().team
    return team.name, finding.category


def test_a_leader_filters_the_dashboard_overrides_a_category_and_groups_issues(page):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    org = Organization.objects.get(name="Fabrikam Freight")
    team_name, category = _flagged_team_and_category(org)

    log_in(page, "leader", DEMO_PASSWORD)
    page.goto("/dashboard/")
    expect(page.get_by_role("heading", name="Recurrence dashboard")).to_be_visible()
    loops = page.locator("table.loops tbody tr")
    expect(loops.first).to_be_visible()
    assert page.locator("svg.chart").count() == 1
    assert page.locator("table.heatmap").is_visible()
    screenshot(page, "dashboard-overview")

    # Filtering swaps the dashboard with htmx: the URL follows, the page is not reloaded.
    page.evaluate("window.recurMarker = 'still here'")
    page.select_option("#id_team", label=team_name)
    page.wait_for_url(re.compile(r"[?&]team=\d+"))
    page.select_option("#id_category", category)
    page.wait_for_url(re.compile(rf"[?&]category={category}"))
    expect(page.locator(".showing")).to_contain_text(team_name)
    assert page.evaluate("window.recurMarker") == "still here"
    badges = page.locator("table.loops tbody tr td:nth-child(2) .badge")
    expect(badges.first).to_be_visible()
    for text in badges.all_inner_texts():
        assert text.strip().lower() == category
    assert page.locator("#id_team option:checked").inner_text() == team_name

    # Open a finding and override its category.
    first = page.locator("table.loops tbody tr .loop-title > a").first
    first_title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/dashboard/findings/\d+/$"))
    issue_id = int(re.search(r"/findings/(\d+)/", page.url).group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text(first_title)
    new_category = "interpersonal" if category != "interpersonal" else "culture"
    page.select_option("#id_override-category", new_category)
    page.fill("#id_override-note", "The two leads disagree about scope")
    page.get_by_role("button", name="Save category").click()
    leader_view = page.locator(".view").nth(1)
    expect(leader_view).to_contain_text(new_category.capitalize())
    expect(page.locator(".action-log")).to_contain_text("Overrode the category")

    # A recompute keeps the leader's view; the engine's own view stays beside it.
    finding_recompute_many([issue_id])
    page.reload()
    expect(page.locator(".view").nth(1)).to_contain_text(new_category.capitalize())
    expect(page.locator(".view").nth(0)).to_contain_text(category.capitalize())
    expect(page.locator(".page-head .badges .badge").first).to_have_text(new_category.capitalize())
    assert Assessment.objects.get(issue_id=issue_id).category_override == new_category
    assert Finding.objects.get(issue_id=issue_id, is_current=True).category == new_category
    screenshot(page, "finding")
    # The screenshot leaves empty style attributes on text inputs (to hide the caret), which
    # the strict CSP would then refuse when htmx settles the swapped form: start afresh.
    page.reload()

    # Group this issue and a second one under a new root-cause hypothesis.
    page.fill("#id_group-new_title", HYPOTHESIS)
    page.get_by_role("button", name="Group under hypothesis").click()
    expect(page.locator("#hypothesis-title + ul")).to_contain_text(HYPOTHESIS)
    page.goto("/dashboard/")
    second = page.locator("table.loops tbody tr .loop-title > a").nth(1)
    second_title = second.inner_text()
    second.click()
    page.wait_for_url(re.compile(r"/dashboard/findings/\d+/$"))
    page.select_option("#id_group-hypothesis", label=HYPOTHESIS)
    page.get_by_role("button", name="Group under hypothesis").click()
    page.get_by_role("link", name=HYPOTHESIS).click()
    page.wait_for_url(re.compile(r"/dashboard/hypotheses/\d+/$"))
    rows = page.locator("#hypothesis-issues tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#hypothesis-issues")).to_contain_text(first_title)
    expect(page.locator("#hypothesis-issues")).to_contain_text(second_title)
    assert Hypothesis.objects.get(organization=org, title=HYPOTHESIS).issues.count() == 2
    screenshot(page, "hypothesis")

    # A team's health trend opens from its row of the heatmap.
    page.goto("/dashboard/")
    page.locator("table.heatmap tbody th a", has_text=team_name).click()
    page.wait_for_url(re.compile(r"/dashboard/teams/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{team_name}: team health")
    assert page.locator("svg.chart").count() == 2
    screenshot(page, "team-health")

    assert page.console_errors == []
