"""The issue list: problems by default, praise on request, one team's, the words one may read,
the order asked for; unknown filter values fall back to the defaults; htmx swaps the results."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from retros import services
from retros.models import Issue, ItemType, Retrospective
from tests.diagnosis.stories import band_aid_loop, recompute

pytestmark = pytest.mark.django_db

URL = reverse("retros:issue_list")


def _log(retro, text, *, link_to=None, item_type=ItemType.PROBLEM):
    return services.occurrence_record(
        retro=retro, text=text, user=None, link_to_issue=link_to, item_type=item_type
    ).issue


def _retro(team, held_on):
    return Retrospective.objects.create(
        organization=team.organization, team=team, title=f"{team.name} {held_on}", held_on=held_on
    )


@pytest.fixture
def issues(cast):
    """Payments: a problem raised three times, one raised once, praise; Checkout: its own."""
    first, second, third = (_retro(cast.team, dt.date(2026, 3, day)) for day in (2, 9, 16))
    other = _retro(cast.other_team, dt.date(2026, 3, 20))
    staging = _log(first, "Staging was down all week")
    _log(second, "Staging down again", link_to=staging)
    _log(third, "Staging broken once more", link_to=staging)
    return {
        "staging": staging,
        "invoices": _log(third, "Invoices were late to customers"),
        "praise": _log(
            second, "Great pairing on the payment form", item_type=ItemType.APPRECIATION
        ),
        "checkout": _log(other, "Coupon codes stacked in a way nobody intended"),
    }


def _titles(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200
    html = response.content.decode()
    titles = ("Staging was down", "Invoices were late", "Great pairing", "Coupon codes")
    return [t for t in titles if t in html], html


def test_problems_are_listed_and_praise_only_on_request(cast, issues):
    client = cast.clients["leader"]

    listed, html = _titles(client)
    assert listed == ["Staging was down", "Invoices were late", "Coupon codes"]
    assert "Showing 3:" in html and "Clear filters" not in html
    praise, html = _titles(client, show="appreciation")
    assert praise == ["Great pairing"] and "Went well</span>" in html
    assert len(_titles(client, show="all")[0]) == 4


def test_a_team_and_an_order_narrow_and_sort_the_list(cast, issues):
    client = cast.clients["leader"]

    assert _titles(client, team=cast.other_team.pk)[0] == ["Coupon codes"]
    # By recency Checkout's issue (20 March) comes first; by raisings, staging (three).
    recent = client.get(URL).content.decode()
    assert recent.index("Coupon codes") < recent.index("Staging was down")
    raised = client.get(URL, {"sort": "raised"}).content.decode()
    assert raised.index("Staging was down") < raised.index("Coupon codes")


def test_flagged_shows_only_band_aid_loops(cast, issues):
    loop = band_aid_loop(cast.org, [cast.team], title="Priorities churn")
    recompute(loop, *issues.values())

    response = cast.clients["leader"].get(URL, {"show": "flagged"})
    html = response.content.decode()

    assert "Priorities churn" in html and "Band-aid loop</span>" in html
    assert _titles(cast.clients["leader"], show="flagged")[0] == []
    assert "Band-aid loop</span>" in cast.clients["leader"].get(URL).content.decode()


def test_unknown_filter_values_fall_back_to_the_defaults(cast, issues):
    listed, html = _titles(
        cast.clients["leader"], show="everything!", team="99999", sort="-id", page="x"
    )
    assert listed == ["Staging was down", "Invoices were late", "Coupon codes"]
    assert 'value="problems" selected' in html


def test_a_search_with_nothing_found_says_so_and_offers_the_whole_list(cast, issues):
    listed, html = _titles(cast.clients["leader"], q="  kubernetes   upgrades ")
    assert listed == []
    assert "nothing you may read says “kubernetes upgrades”" in html
    assert 'value="kubernetes upgrades"' in html  # what was typed stays in the field


def test_htmx_swaps_only_the_results_and_pages_keep_the_filters(cast, issues):
    for n in range(55):
        _log(_retro(cast.team, dt.date(2025, 1, 1) + dt.timedelta(days=n)), f"Build {n} broke")
    client = cast.clients["leader"]

    response = client.get(URL, {"q": "build"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()

    assert html.lstrip().startswith('<div id="issue-results">')
    assert "Showing 55:" in html and "Page 1 of 2" in html
    assert "?q=build&amp;page=2" in html
    assert "HX-Request" in response["Vary"]


def test_the_query_count_does_not_grow_with_the_list(cast, django_assert_max_num_queries):
    client = cast.clients["facilitator"]
    retro = _retro(cast.team, dt.date(2026, 1, 5))
    for size in (2, 40):
        while Issue.objects.count() < size:
            _log(retro, f"Problem number {Issue.objects.count()}")
        # session, user, membership with its teams, the teams offered, the count, the page,
        # the titles a facilitator may read, which of the page's issues are flagged
        with django_assert_max_num_queries(8):
            response = client.get(URL, {"show": "all", "sort": "teams"})
        assert response.status_code == 200
