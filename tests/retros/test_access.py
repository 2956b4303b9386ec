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
        _read("team home", "team_home", cast.team, member_may=True),
        _read("board", "retro_board", retro, member_may=True),
        _read("issue", "issue_detail", issue, member_may=True),
        _read("row", "occurrence_row", occ, member_may=True),
        _read("suggestions", "retro_suggestions", retro),
        _read("edit form", "occurrence_edit", occ),
        _read("link page", "occurrence_link", occ),
        _read("fix edit form", "fix_edit", fix),
        _write("start retro", "retro_start", cast.team, held_on="2026-02-18", format="free"),
        _write("add issue", "occurrence_create", retro, text="Something new"),
        _write("edit issue", "occurrence_edit", occ, text="Changed"),
        _write("vote", "occurrence_vote", occ, delta="1"),
        _write("archive", "occurrence_archive", occ),
        _write("restore", "occurrence_restore", occ),
        _write("relink", "occurrence_link", occ, issue=str(other.pk)),
        _write("record fix", "fix_create", occ, text="Weekly sync", kind="meeting"),
        _write("outcome", "fix_outcome", fix, outcome="worked"),
        _write("status", "fix_status", fix, status="done"),
        _write("edit fix", "fix_edit", fix, text="Daily sync", kind="meeting"),
        _write("rename", "issue_rename", issue, title="Renamed"),
        _write("merge", "issue_merge", issue, target=str(board.issues[3].pk)),
        _write("undo merge", "merge_undo", merge),
        _write("close retro", "retro_close", retro),
    ]


def _read(name: str, route: str, obj, *, member_may: bool = False) -> Endpoint:
    return Endpoint(name, reverse(f"retros:{route}", args=[obj.pk]), member_may=member_may)


def _write(name: str, route: str, obj, **data: str) -> Endpoint:
    return Endpoint(name, reverse(f"retros:{route}", args=[obj.pk]), "post", data)


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
