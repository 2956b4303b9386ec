"""Every page and action of the facilitator workflow, for every kind of visitor.

Facilitators of the team may do everything; members read their team's history and are
refused every write (403); people of another organisation never find anything (404);
anonymous visitors are sent to the login page; every write needs the CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.urls import reverse

from retros import services
from tests.factories import IssueFactory, OccurrenceFactory

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    method: str = "get"
    data: dict[str, str] = field(default_factory=dict)
    member_may: bool = False  # reads open to members of the team


def endpoints(cast, board) -> list[Endpoint]:
    retro = board.retro
    occ = board.occurrences[0]
    issue = board.issues[0]
    other = board.issues[1]
    fix = board.review_fixes[0]
    merged = IssueFactory(organization=cast.org, title="Duplicate")
    OccurrenceFactory(retro=board.earlier, issue=merged)
    services.issue_refresh_stats(issue_ids=[merged.pk])
    merge = services.issue_merge(source=merged, target=other, user=cast.users["leader"])
    return [
        Endpoint("team home", reverse("retros:team_home", args=[cast.team.pk]), member_may=True),
        Endpoint("board", reverse("retros:retro_board", args=[retro.pk]), member_may=True),
        Endpoint("issue", reverse("retros:issue_detail", args=[issue.pk]), member_may=True),
        Endpoint("row", reverse("retros:occurrence_row", args=[occ.pk]), member_may=True),
        Endpoint("suggestions", reverse("retros:retro_suggestions", args=[retro.pk])),
        Endpoint("edit form", reverse("retros:occurrence_edit", args=[occ.pk])),
        Endpoint("link page", reverse("retros:occurrence_link", args=[occ.pk])),
        Endpoint("fix edit form", reverse("retros:fix_edit", args=[fix.pk])),
        Endpoint(
            "start retro",
            reverse("retros:retro_start", args=[cast.team.pk]),
            "post",
            {"held_on": "2026-02-18", "title": "Sprint 3", "format": "free"},
        ),
        Endpoint(
            "add issue",
            reverse("retros:occurrence_create", args=[retro.pk]),
            "post",
            {"text": "Something new"},
        ),
        Endpoint(
            "edit issue",
            reverse("retros:occurrence_edit", args=[occ.pk]),
            "post",
            {"text": "Changed"},
        ),
        Endpoint("vote", reverse("retros:occurrence_vote", args=[occ.pk]), "post", {"delta": "1"}),
        Endpoint("archive", reverse("retros:occurrence_archive", args=[occ.pk]), "post"),
        Endpoint("restore", reverse("retros:occurrence_restore", args=[occ.pk]), "post"),
        Endpoint(
            "relink",
            reverse("retros:occurrence_link", args=[occ.pk]),
            "post",
            {"issue": str(board.issues[1].pk)},
        ),
        Endpoint(
            "record fix",
            reverse("retros:fix_create", args=[occ.pk]),
            "post",
            {"text": "Weekly sync", "kind": "meeting"},
        ),
        Endpoint(
            "outcome", reverse("retros:fix_outcome", args=[fix.pk]), "post", {"outcome": "worked"}
        ),
        Endpoint("status", reverse("retros:fix_status", args=[fix.pk]), "post", {"status": "done"}),
        Endpoint(
            "edit fix",
            reverse("retros:fix_edit", args=[fix.pk]),
            "post",
            {"text": "Daily sync", "kind": "meeting"},
        ),
        Endpoint(
            "rename", reverse("retros:issue_rename", args=[issue.pk]), "post", {"title": "Renamed"}
        ),
        Endpoint(
            "merge",
            reverse("retros:issue_merge", args=[issue.pk]),
            "post",
            {"target": str(board.issues[3].pk)},
        ),
        Endpoint("undo merge", reverse("retros:merge_undo", args=[merge.pk]), "post"),
        Endpoint("close retro", reverse("retros:retro_close", args=[retro.pk]), "post"),
    ]


def _call(client: Client, endpoint: Endpoint, **extra):
    return getattr(client, endpoint.method)(endpoint.url, endpoint.data, **extra)


def _token(client: Client, cast) -> str:
    client.get(reverse("retros:team_home", args=[cast.team.pk]))
    return client.cookies["csrftoken"].value


def test_facilitators_may_do_everything_with_the_csrf_token(cast, board, csrf_clients):
    client = csrf_clients["facilitator"]
    token = _token(client, cast)
    for endpoint in endpoints(cast, board):
        response = _call(client, endpoint, HTTP_X_CSRFTOKEN=token)
        assert response.status_code in (200, 302), (endpoint.name, response.status_code)


def test_every_write_needs_the_csrf_token(cast, board, csrf_clients):
    client = csrf_clients["facilitator"]
    for endpoint in endpoints(cast, board):
        if endpoint.method == "post":
            response = _call(client, endpoint)
            assert response.status_code == 403, endpoint.name
            # The token refusal (a page that says the form expired, or for htmx a reload of the
            # page), not a role refusal.
            assert b"That form had expired" in response.content or response.has_header(
                "HX-Redirect"
            ), endpoint.name


def test_members_read_their_teams_history_but_change_nothing(cast, board, csrf_clients):
    client = csrf_clients["member"]
    token = _token(client, cast)
    for endpoint in endpoints(cast, board):
        response = _call(client, endpoint, HTTP_X_CSRFTOKEN=token)
        expected = 200 if endpoint.member_may else 403
        if endpoint.name == "row":
            expected = 302  # a plain request for a row goes to the board
        assert response.status_code == expected, (endpoint.name, response.status_code)
        if endpoint.member_may and response.status_code == 200:
            html = response.content.decode()
            assert html.count('method="post"') == 1, f"{endpoint.name}: only the log-out form"
            assert "hx-post" not in html, endpoint.name


def test_members_get_no_forms_in_htmx_fragments_either(cast, board):
    client = cast.clients["member"]
    occ = board.occurrences[0]
    response = client.get(reverse("retros:occurrence_row", args=[occ.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"<form" not in response.content and occ.text.encode() in response.content


def test_members_of_another_team_are_refused(cast, board):
    from tests.factories import MembershipFactory, UserFactory, signed_in_client

    stranger = MembershipFactory(
        organization=cast.org,
        role="facilitator",
        user=UserFactory(username="sid"),
        teams=[cast.other_team],
    ).user
    client = signed_in_client(stranger)
    for endpoint in endpoints(cast, board):
        if endpoint.name in {"issue", "rename", "merge", "undo merge"}:
            continue  # issues are organisation-wide
        response = _call(client, endpoint)
        assert response.status_code == 403, endpoint.name


def test_people_of_another_organisation_find_nothing(cast, board):
    client = cast.clients["outsider"]
    for endpoint in endpoints(cast, board):
        response = _call(client, endpoint)
        assert response.status_code == 404, endpoint.name
        assert b"Deploys" not in response.content


def test_anonymous_visitors_are_sent_to_log_in(cast, board):
    client = cast.clients["anonymous"]
    for endpoint in endpoints(cast, board):
        response = _call(client, endpoint)
        assert response.status_code == 302, endpoint.name
        assert response["Location"].startswith(reverse("login")), endpoint.name


@pytest.mark.parametrize("role", ["leader", "admin"])
def test_leaders_and_admins_may_run_any_teams_retro(cast, board, role):
    client = cast.clients[role]
    assert client.get(reverse("retros:team_home", args=[cast.other_team.pk])).status_code == 200
    response = client.post(
        reverse("retros:occurrence_create", args=[board.retro.pk]), {"text": "From a leader"}
    )
    assert response.status_code == 302


def test_the_kind_field_is_for_facilitators_only(cast):
    url = reverse("retros:fix_kind_field")
    assert cast.clients["facilitator"].get(url, {"text": "weekly sync"}).status_code == 200
    assert cast.clients["member"].get(url, {"text": "weekly sync"}).status_code == 403
    assert cast.clients["anonymous"].get(url).status_code == 302
