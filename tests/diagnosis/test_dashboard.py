"""The leadership dashboard: who may see it, what it shows, its filters (htmx partial and full
page), exports' CSV, the team health page, and its query count at two data sizes."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from diagnosis.models import Finding
from diagnosis.services import finding_recompute_many
from retros.models import Team
from tests.diagnosis.stories import (
    TODAY,
    band_aid_loop,
    finding_action_urls,
    months_ago,
    raise_issue,
    recompute,
)
from tests.factories import FixFactory, OccurrenceFactory, RetrospectiveFactory

pytestmark = pytest.mark.usefixtures("cold_cache")


def _html(response) -> str:
    return response.content.decode()


OVERVIEW = reverse("diagnosis:overview")


# --- Who may see it ------------------------------------------------------------------------


def _leader_urls(cast, loops, hypothesis) -> list[tuple[str, str]]:
    issue = loops["wide"].pk
    return [
        ("get", OVERVIEW),
        ("get", reverse("diagnosis:export_csv")),
        ("get", reverse("diagnosis:export_json")),
        ("post", reverse("diagnosis:digest_toggle")),
        ("get", reverse("diagnosis:team_health", args=[cast.team.pk])),
        ("get", reverse("diagnosis:finding", args=[issue])),
        *[("post", url) for url in finding_action_urls(issue)],
        ("get", reverse("diagnosis:hypothesis_list")),
        ("post", reverse("diagnosis:hypothesis_create")),
        ("get", reverse("diagnosis:hypothesis_detail", args=[hypothesis.pk])),
        ("post", reverse("diagnosis:hypothesis_remove_issue", args=[hypothesis.pk, issue])),
    ]


@pytest.fixture
def hypothesis(cast, loops):
    from diagnosis.models import Hypothesis

    h = Hypothesis.objects.create(organization=cast.org, title="Own OKRs only")
    h.issues.add(loops["wide"])
    return h


@pytest.mark.parametrize("role", ["facilitator", "member"])
def test_facilitators_and_members_get_403_on_every_dashboard_url(cast, loops, hypothesis, role):
    client = cast.clients[role]
    for method, url in _leader_urls(cast, loops, hypothesis):
        response = getattr(client, method)(url)
        assert response.status_code == 403, (method, url, response.status_code)


def test_anonymous_people_are_sent_to_log_in(cast, loops, hypothesis):
    for method, url in _leader_urls(cast, loops, hypothesis):
        response = getattr(cast.clients["anonymous"], method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/")


def test_outsiders_see_404_on_every_finding_hypothesis_and_team_url(cast, loops, hypothesis):
    client = cast.clients["outsider"]
    scoped = [
        (method, url)
        for method, url in _leader_urls(cast, loops, hypothesis)
        if re.search(r"/(findings|hypotheses|teams)/\d+/", url)
    ]
    assert len(scoped) == 12
    for method, url in scoped:
        response = getattr(client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)


def test_outsiders_see_only_their_own_organisation_on_the_overview(cast, loops):
    html = _html(cast.clients["outsider"].get(OVERVIEW))
    assert "Contoso secret loop" in html
    assert "Priorities churn" not in html
    assert "Contoso secret loop" not in _html(cast.clients["leader"].get(OVERVIEW))


def test_admins_see_the_dashboard_too(cast, loops):
    assert cast.clients["admin"].get(OVERVIEW).status_code == 200


# --- What the overview shows ---------------------------------------------------------------


def test_it_lists_flagged_loops_most_harmful_first_with_their_evidence(cast, loops):
    response = cast.clients["leader"].get(OVERVIEW)
    assert response.status_code == 200
    rows = [r.finding.issue.title for r in response.context["loops"]]
    # Both were raised three times; the wide one in two teams and more recently.
    assert rows == ["Priorities churn", "Hand-offs stall"]
    html = _html(response)
    wide = Finding.objects.get(issue=loops["wide"], is_current=True)
    assert wide.headline and escape(wide.headline) in html  # the why, in one line
    assert wide.headline.startswith("Back after 2 band-aids in 2 teams; ")
    assert "Checkout, Payments" in html  # teams
    assert f"{round(wide.confidence * 100)}%" in html
    assert f"{wide.last_seen.day} {wide.last_seen:%b %Y}" in html  # "10 Nov 2026", as elsewhere
    assert reverse("diagnosis:finding", args=[loops["wide"].pk]) in html
    assert "Office too noisy" not in html  # not a loop


def test_headline_figures_come_from_the_period(cast, loops):
    figures = {f.label: f for f in cast.clients["leader"].get(OVERVIEW).context["figures"]}
    # 3 + 3 + 1 raisings; 2 + 2 of them recurrences; 4 fixes, all band-aids.
    assert figures["Issues raised"].value == "7"
    assert figures["Recurrences"].value == "57%"
    assert figures["Band-aid loops"].value == "2"
    assert figures["Band-aid fixes"].value == "100%"
    # Each fix was done 5 days after the 12th; the issue came back on the 10th, two months on.
    days = (months_ago(3) - (months_ago(5, day=12) + dt.timedelta(days=5))).days
    assert figures["Days until back"].value.isdigit()
    assert abs(int(figures["Days until back"].value) - days) <= 3


def test_filters_narrow_the_list_and_are_read_from_the_url(cast, loops):
    client = cast.clients["leader"]
    response = client.get(OVERVIEW, {"team": cast.team.pk})
    assert [r.finding.issue.title for r in response.context["loops"]] == ["Priorities churn"]
    category = Finding.objects.get(issue=loops["wide"], is_current=True).category
    other = next(c for c in ("strategy", "culture", "interpersonal") if c != category)
    response = client.get(OVERVIEW, {"category": other})
    assert list(response.context["loops"]) == [] or all(
        r.finding.category == other for r in response.context["loops"]
    )
    response = client.get(OVERVIEW, {"period": "3m"})
    titles = [r.finding.issue.title for r in response.context["loops"]]
    assert "Hand-offs stall" not in titles  # last raised three months ago
    html = _html(response)
    assert '<option value="3m" selected>' in html


def test_unknown_filter_values_fall_back_to_the_defaults(cast, loops):
    response = cast.clients["leader"].get(
        OVERVIEW, {"team": cast.outsider_team.pk, "category": "nonsense", "period": "99y"}
    )
    assert response.status_code == 200
    assert response.context["filters"].team_id is None
    assert response.context["filters"].category == ""
    assert response.context["filters"].period == "12m"
    assert len(response.context["loops"]) == 2


def test_htmx_requests_get_only_the_dashboard_region(cast, loops):
    client = cast.clients["leader"]
    partial = client.get(OVERVIEW, {"team": cast.team.pk}, headers={"HX-Request": "true"})
    html = _html(partial)
    assert html.lstrip().startswith('<div id="dashboard-body"')
    assert "<html" not in html
    assert "Priorities churn" in html
    assert "HX-Request" in partial["Vary"]
    full = _html(client.get(OVERVIEW, {"team": cast.team.pk}))
    assert "<html" in full and 'id="dashboard-body"' in full
    # The filters form swaps this region and pushes the URL.
    assert 'hx-push-url="true"' in full and 'hx-target="#dashboard-body"' in full
    restore = client.get(
        OVERVIEW, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in _html(restore)


def test_pages_follow_the_content_security_policy(cast, loops, hypothesis):
    client = cast.clients["leader"]
    urls = [
        OVERVIEW,
        reverse("diagnosis:finding", args=[loops["wide"].pk]),
        reverse("diagnosis:team_health", args=[cast.team.pk]),
        reverse("diagnosis:hypothesis_list"),
        reverse("diagnosis:hypothesis_detail", args=[hypothesis.pk]),
    ]
    for url in urls:
        html = _html(client.get(url))
        assert "style=" not in html, url
        assert " hx-on" not in html and " onclick=" not in html, url
        assert "<script>" not in html, url
        assert "css/dashboard.css" in html, url


def test_the_heatmap_counts_active_findings_per_team_and_category(cast, loops) -> None:
    response = cast.clients["leader"].get(OVERVIEW)
    heatmap = response.context["heatmap"]
    wide = Finding.objects.get(issue=loops["wide"], is_current=True)
    narrow = Finding.objects.get(issue=loops["narrow"], is_current=True)
    single = Finding.objects.get(issue=loops["single"], is_current=True)
    expected: dict[tuple[str, str], int] = {}
    for finding, teams in (
        (wide, ["Payments", "Checkout"]),
        (narrow, ["Checkout"]),
        (single, ["Payments"]),
    ):
        if finding.status == "active":
            for team in teams:
                key = (team, finding.category)
                expected[key] = expected.get(key, 0) + 1
    counts = {
        (row.team, cell.category): cell.count
        for row in heatmap.rows
        for cell in row.cells
        if cell.count
    }
    assert counts == expected
    html = _html(response)
    # A cell opens the filtered list; a row header opens the team's health page.
    assert f"?team={cast.team.pk}&amp;category={wide.category}" in html
    assert reverse("diagnosis:team_health", args=[cast.team.pk]) in html


def test_the_trend_chart_is_svg_with_a_text_alternative(cast, loops):
    response = cast.clients["leader"].get(OVERVIEW)
    html = _html(response)
    assert '<svg class="chart"' in html and 'role="img"' in html
    assert '<title id="trend-title">' in html and '<desc id="trend-desc">' in html
    assert "<summary>Data table</summary>" in html
    trend = response.context["trend"]
    assert len(trend) == 12
    assert sum(m.recurrences for m in trend) == 4
    assert sum(m.band_aid_fixes for m in trend) == 4
    assert sum(m.structural_fixes for m in trend) == 0
    assert "http" not in html.split('<svg class="chart"')[1].split("</svg>")[0].replace(
        "http://www.w3.org/2000/svg", ""
    )


def test_spread_lists_issues_raised_in_three_or_more_teams(cast, loops):
    from tests.factories import TeamFactory

    third = TeamFactory(organization=cast.org, name="Mobile")
    wide = raise_issue(
        cast.org,
        [(cast.team, months_ago(4)), (cast.other_team, months_ago(3)), (third, months_ago(2))],
        title="Nobody knows the strategy",
    )
    recompute(wide)
    spread = cast.clients["leader"].get(OVERVIEW).context["spread"]
    assert [r.finding.issue.title for r in spread] == ["Nobody knows the strategy"]
    assert spread[0].teams == ("Checkout", "Mobile", "Payments")


def test_the_list_is_paginated(cast, loops, monkeypatch):
    from diagnosis import dashboard

    monkeypatch.setattr(dashboard, "PAGE_SIZE", 1)
    client = cast.clients["leader"]
    first = client.get(OVERVIEW)
    assert [r.finding.issue.title for r in first.context["loops"]] == ["Priorities churn"]
    assert "page=2" in _html(first)
    second = client.get(OVERVIEW, {"page": 2}, headers={"HX-Request": "true"})
    assert [r.finding.issue.title for r in second.context["loops"]] == ["Hand-offs stall"]


# --- Team health ---------------------------------------------------------------------------


def test_team_health_shows_its_issues_recurrence_rate_and_band_aid_share(cast, loops):
    response = cast.clients["leader"].get(reverse("diagnosis:team_health", args=[cast.team.pk]))
    assert response.status_code == 200
    titles = [r.finding.issue.title for r in response.context["rows"]]
    assert titles == ["Priorities churn", "Office too noisy"]
    headline = response.context["headline"]
    # Payments raised "Priorities churn" twice (months 5 and 1) and "Office too noisy" once.
    assert headline.raised == 3
    assert headline.recurrences == 1
    assert response.context["band_aid_share"] == "100%"
    html = _html(response)
    assert 'aria-labelledby="team-rate-title team-rate-desc"' in html
    assert "Recurrence rate" in html


def test_team_health_of_another_organisations_team_is_not_found(cast, loops):
    url = reverse("diagnosis:team_health", args=[cast.outsider_team.pk])
    assert cast.clients["leader"].get(url).status_code == 404


# --- Performance ---------------------------------------------------------------------------


def _grow(cast, count: int) -> None:
    """`count` more flagged loops, one-off issues and issues spread over three teams."""
    third, _ = Team.objects.get_or_create(organization=cast.org, name="Mobile")
    issues = []
    for n in range(count):
        issues.append(band_aid_loop(cast.org, [cast.team, cast.other_team], title=f"Loop {n}"))
        issues.append(
            raise_issue(cast.org, [(cast.other_team, months_ago(n % 10))], title=f"One-off {n}")
        )
        issues.append(
            raise_issue(
                cast.org,
                [
                    (cast.team, months_ago(6)),
                    (cast.other_team, months_ago(4)),
                    (third, months_ago(2)),
                ],
                title=f"Spread {n}",
            )
        )
    recompute(*issues)


def _overview_queries(client, **params) -> list[str]:
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(OVERVIEW, params).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("params", [{}, {"period": "all", "category": "strategy"}])
def test_the_overview_query_count_does_not_grow_with_the_data(
    cast, django_assert_num_queries, params
):
    """Expected queries with a cold cache, 17 whatever the amount of data:
    1 session, 2 user, 3 membership with its organisation and team ids (retros.access),
    4 teams (filter and heatmap rows), 5 count of flagged loops (paginator),
    6 raisings and recurrences, 7 fixes and band-aid fixes, 8 fixes the issue came back
    after, 9 the middle one or two gaps of those (median), 10 raisings per month,
    11 fixes per month, 12 heatmap counts,
    13 the page of loops, 14 their teams, 15 spread, 16 its teams,
    17 the leader's digest switch.
    With a warm cache the rendered body comes from the cache: 5 to 16 are not run."""
    client = cast.clients["leader"]
    params = {"team": cast.team.pk, **params}
    _grow(cast, 2)
    small = _overview_queries(client, **params)
    _grow(cast, 25)
    assert Finding.objects.filter(organization=cast.org, flagged=True, is_current=True).count() > 25
    cache.clear()
    with django_assert_num_queries(len(small)):
        response = client.get(OVERVIEW, params)
    assert len(small) == 17
    assert len(response.context["loops"]) == 20  # a page, never the whole list
    with CaptureQueriesContext(connection) as warm:
        warm_response = client.get(OVERVIEW, params)
    assert len(warm.captured_queries) == 5
    assert warm_response.context["dashboard_body"] == response.context["dashboard_body"]


def test_cached_aggregates_follow_new_findings_and_leader_actions(
    cast, loops, django_capture_on_commit_callbacks
):
    from diagnosis import actions

    client = cast.clients["leader"]
    before = {f.label: f.value for f in client.get(OVERVIEW).context["figures"]}
    assert before["Issues raised"] == "7"
    # Until something changes, the page comes from the cache.
    assert "figures" not in client.get(OVERVIEW).context
    # A new raising recorded elsewhere: once its recompute commits, the version moves on.
    late = raise_issue(cast.org, [(cast.team, months_ago(0))], title="New thing")
    with django_capture_on_commit_callbacks(execute=True):
        recompute(late)
    after = {f.label: f.value for f in client.get(OVERVIEW).context["figures"]}
    assert after["Issues raised"] == "8"
    # A recompute that changes only an issue's counts moves it on too.
    Finding.objects.filter(issue=late, is_current=True).update(occurrence_count=5)
    with django_capture_on_commit_callbacks(execute=True):
        assert finding_recompute_many([late.pk], today=TODAY) == 0
    assert Finding.objects.get(issue=late, is_current=True).occurrence_count == 1
    assert client.get(OVERVIEW).context["figures"]
    # A leader action bumps the organisation's dashboard version.
    from diagnosis.dashboard import _version_key

    version = cache.get(_version_key(cast.org.pk), 0)
    with django_capture_on_commit_callbacks(execute=True):
        actions.finding_acknowledge(issue=loops["wide"], actor=cast.users["leader"])
    assert cache.get(_version_key(cast.org.pk), 0) == version + 1


def _queries(client, url: str) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_team_health_query_count_does_not_grow_with_the_data(cast, django_assert_num_queries):
    """Expected queries with a cold cache (13): 1 session, 2 user, 3 membership with team ids,
    4 the team, 5 raisings and recurrences, 6 fixes and band-aids, 7 fixes the issue came
    back after, 8 the middle gaps (median), 9 raisings per month, 10 fixes per month,
    11 count of the team's issues, 12 the page of them, 13 their teams."""
    client = cast.clients["leader"]
    url = reverse("diagnosis:team_health", args=[cast.team.pk])
    _grow(cast, 2)
    small = _queries(client, url)
    _grow(cast, 25)
    cache.clear()
    with django_assert_num_queries(small):
        client.get(url)
    assert small == 13


def test_the_finding_page_query_count_does_not_grow_with_the_history(
    cast, django_assert_num_queries
):
    """Expected queries (14): 1 session, 2 user, 3 membership with team ids, 4 the issue,
    5 its current finding, 6 assessment, 7 finding history, 8 occurrences, 9 fixes,
    10 leader actions, 11 its hypotheses; for the forms 12 people, 13 teams and
    14 hypotheses of the organisation. (The engine's own view comes from the finding while no
    leader overrode it; with an override, the engine runs once more: five more queries.)"""
    client = cast.clients["leader"]
    issue = band_aid_loop(cast.org, [cast.team, cast.other_team], title="Growing")
    recompute(issue)
    url = reverse("diagnosis:finding", args=[issue.pk])
    small = _queries(client, url)
    for n in range(12):
        retro = RetrospectiveFactory(team=cast.other_team, held_on=months_ago(0, day=1 + n))
        OccurrenceFactory(retro=retro, issue=issue, text=f"Again {n}")
        FixFactory(
            issue=issue, team=cast.team, decided_on=months_ago(0, day=1 + n), kind="reminder"
        )
    recompute(issue)
    with django_assert_num_queries(small):
        client.get(url)
    assert small == 14


def test_undetermined_findings_are_grey_and_do_not_set_the_heatmaps_shades(cast, loops):
    response = cast.clients["leader"].get(OVERVIEW)
    cells = [cell for row in response.context["heatmap"].rows for cell in row.cells]
    determined = [c for c in cells if c.category != "undetermined" and c.count]
    undetermined = [c for c in cells if c.category == "undetermined" and c.count]
    assert determined and undetermined  # the fixture has both
    assert max(c.level for c in determined) == 5  # the strongest real signal is full colour
    html = _html(response)
    assert html.count("heat-neutral") == sum(1 for c in cells if c.category == "undetermined")
    assert "Undetermined, in grey, means too little evidence yet" in html
