"""Inside one organisation: members read their own team's retro notes. An issue spans
teams, so its page is open to everyone in the organisation with the finding's category and
next step, but what another team's retro said about it, and the finding's reasons (which
quote every team's notes), stay with the people who may open that team's retros and with
leaders."""

from __future__ import annotations

import pytest
from django.urls import reverse

from diagnosis.services import finding_recompute_many
from retros import services
from retros.models import Retrospective

pytestmark = pytest.mark.django_db

ELSEWHERE = "Checkout said: Dana and Lou cannot agree on anything"


@pytest.fixture
def shared_issue(cast):
    mine = Retrospective.objects.create(organization=cast.org, team=cast.team, title="Payments 9")
    theirs = Retrospective.objects.create(
        organization=cast.org, team=cast.other_team, title="Checkout 9"
    )
    first = services.occurrence_record(retro=mine, text="Hand-offs to Checkout stall", user=None)
    services.occurrence_record(retro=theirs, text=ELSEWHERE, user=None, link_to_issue=first.issue)
    finding_recompute_many([first.issue_id])
    return first.issue


@pytest.mark.parametrize("role", ["member", "facilitator"])
def test_the_issue_page_shows_other_teams_notes_only_to_people_who_may_open_them(
    cast, shared_issue, role
):
    response = cast.clients[role].get(reverse("retros:issue_detail", args=[shared_issue.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Hand-offs to Checkout stall" in body  # their own team's raising
    assert "Dana and Lou" not in body, f"a {role} of Payments reads Checkout's retro notes"


@pytest.mark.parametrize("role", ["member", "facilitator"])
def test_the_issue_page_shows_the_diagnosis_only_to_leaders(cast, shared_issue, role):
    finding = shared_issue.findings.get(is_current=True)
    first_reason = finding.reasons[0]["text"]
    body = (
        cast.clients[role]
        .get(reverse("retros:issue_detail", args=[shared_issue.pk]))
        .content.decode()
    )
    assert first_reason not in body, f"a {role} reads reasons quoting other teams' notes"
    leader = cast.clients["leader"].get(reverse("retros:issue_detail", args=[shared_issue.pk]))
    assert first_reason in leader.content.decode() and "Dana and Lou" in leader.content.decode()
