"""Findings of the security review in the Django admin, one test each (issue history pages,
raw-id labels, rule overrides and list filters)."""

from __future__ import annotations

import pytest

from retros.models import Issue, Organization

pytestmark = pytest.mark.django_db


def test_history_pages_of_another_organisations_issue_are_not_found(world):
    client = world.clients["admin"]
    issue = world.contoso.issue
    version = issue.history.order_by("history_id").first().history_id
    for url in (
        f"/admin/retros/issue/{issue.pk}/history/",
        f"/admin/retros/issue/{issue.pk}/history/{version}/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert world.contoso.marker.encode() not in response.content


def test_a_version_page_never_saves_even_for_the_admins_own_organisation(world):
    client = world.clients["admin"]
    for issue in (world.contoso.issue, world.north.issue):
        version = issue.history.order_by("history_id").first().history_id
        response = client.post(
            f"/admin/retros/issue/{issue.pk}/history/{version}/",
            {"title": "Renamed from a version page", "_save": "Save"},
        )
        assert response.status_code == 405
        issue.refresh_from_db()
        assert issue.title != "Renamed from a version page"


def test_own_history_pages_still_show_the_change_history(world):
    issue = world.north.issue
    response = world.clients["admin"].get(f"/admin/retros/issue/{issue.pk}/history/")
    assert response.status_code == 200
    assert world.north.marker.encode() in response.content


def test_add_form_does_not_label_another_organisations_ids(world):
    contoso = world.contoso
    for model in ("occurrence", "fix"):
        response = world.clients["admin"].get(
            f"/admin/retros/{model}/add/?issue={contoso.issue.pk}&retro={contoso.retro.pk}"
        )
        assert response.status_code == 200
        assert contoso.marker.encode() not in response.content


def test_malformed_rule_overrides_are_a_form_error_not_a_server_error(world):
    org = world.north.org
    response = world.clients["admin"].post(
        f"/admin/retros/organization/{org.pk}/change/",
        {
            "name": org.name,
            "rules_overrides": '{"no_such_rule": 3}',
            "auto_link_threshold": "0.55",
        },
    )
    assert response.status_code == 200
    assert b"Unknown rule" in response.content
    assert Organization.objects.get(pk=org.pk).rules_overrides == org.rules_overrides


@pytest.mark.parametrize(
    "query",
    [
        "held_on__year=99999999999999999999",
        "held_on__year=2026&held_on__month=13",
        "held_on__year=0",
        "q=%00",
        "q=abc%00def",
        "link_source=%00",
    ],
)
def test_admin_list_filters_with_impossible_values_do_not_fail(world, query):
    response = world.clients["admin"].get(f"/admin/retros/occurrence/?{query}")
    assert response.status_code in (200, 302)


def test_nul_characters_are_dropped_from_an_admin_search(world):
    Issue.objects.filter(pk=world.north.issue.pk).update(title="Flaky deploys")
    response = world.clients["admin"].get("/admin/retros/issue/?q=Flaky%00")
    assert response.status_code == 200
    assert b"Flaky deploys" in response.content
