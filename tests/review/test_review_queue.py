"""The link review queue: who sees it, confirming links, rejecting keeps pairs apart."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from retros import access as acl
from retros import review, services
from retros.models import LinkReview, Occurrence
from retros.review import rejected_issue_ids
from retros.search import suggest
from tests.factories import (
    FixFactory,
    IssueFactory,
    MembershipFactory,
    OccurrenceFactory,
    RetrospectiveFactory,
    UserFactory,
    signed_in_client,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(cast):
    earlier = OccurrenceFactory(
        retro=RetrospectiveFactory(team=cast.team), text="Staging environment unavailable"
    )
    later = OccurrenceFactory(
        retro=RetrospectiveFactory(team=cast.team), text="stagng is down again"
    )
    other_team = OccurrenceFactory(
        retro=RetrospectiveFactory(team=cast.other_team), text="Checkout tests flaky"
    )
    review = LinkReview.objects.create(
        organization=cast.org,
        occurrence=later,
        candidate=earlier.issue,
        score=0.6,
        reasons=["similar meaning"],
    )
    hidden = LinkReview.objects.create(
        organization=cast.org,
        occurrence=other_team,
        candidate=IssueFactory(organization=cast.org, title="Flaky checkout tests"),
        score=0.5,
    )
    return {"review": review, "hidden": hidden, "earlier": earlier, "later": later}


def test_facilitators_see_their_teams_reviews_and_leaders_all(cast, queued):
    url = reverse("review:queue")
    facilitator = cast.clients["facilitator"].get(url).content.decode()
    assert "stagng is down again" in facilitator and "Checkout tests flaky" not in facilitator
    leader = cast.clients["leader"].get(url).content.decode()
    assert "stagng is down again" in leader and "Checkout tests flaky" in leader


def test_members_cannot_review_and_anonymous_must_log_in(cast, queued):
    assert cast.clients["member"].get(reverse("review:queue")).status_code == 403
    response = cast.clients["member"].post(
        reverse("review:decide"), {"decision": "confirm", "review": queued["review"].pk}
    )
    assert response.status_code == 403
    assert cast.clients["anonymous"].get(reverse("review:queue")).status_code == 302


def test_outsiders_cannot_decide_another_organisations_reviews(cast, queued):
    response = cast.clients["outsider"].post(
        reverse("review:decide"), {"decision": "confirm", "review": queued["review"].pk}
    )
    assert response.status_code in (302, 403)
    queued["review"].refresh_from_db()
    assert queued["review"].status == "pending"


def test_confirming_links_the_occurrence_and_records_who_decided(cast, queued):
    client = cast.clients["facilitator"]
    response = client.post(reverse("review:decide"), {"single": f"confirm:{queued['review'].pk}"})
    assert response.status_code == 302
    later = Occurrence.objects.get(pk=queued["later"].pk)
    assert later.issue_id == queued["earlier"].issue_id
    assert later.link_source == "review"
    review = LinkReview.objects.get(pk=queued["review"].pk)
    assert review.status == "confirmed" and review.decided_by == cast.users["facilitator"]
    assert review.history.first().history_user == cast.users["facilitator"]


def test_facilitators_cannot_decide_other_teams_reviews(cast, queued):
    cast.clients["facilitator"].post(
        reverse("review:decide"), {"decision": "reject", "review": queued["hidden"].pk}
    )
    assert LinkReview.objects.get(pk=queued["hidden"].pk).status == "pending"


def test_a_rejected_pair_is_never_suggested_again(cast, queued):
    cast.clients["leader"].post(
        reverse("review:decide"), {"decision": "reject", "review": queued["review"].pk}
    )
    assert LinkReview.objects.get(pk=queued["review"].pk).status == "rejected"
    later = queued["later"]
    excluded = rejected_issue_ids(later.pk)
    assert excluded == {queued["earlier"].issue_id}
    suggestions = suggest(
        organization=cast.org,
        text=later.text,
        team=cast.team,
        exclude_issue_ids=excluded | {later.issue_id},
    )
    assert queued["earlier"].issue_id not in {s.issue.pk for s in suggestions}
    page = cast.clients["leader"].get(reverse("review:queue")).content.decode()
    assert "stagng is down again" not in page


def test_bulk_decisions_apply_to_every_selected_pair(cast, queued):
    response = cast.clients["leader"].post(
        reverse("review:decide"),
        {"decision": "reject", "review": [queued["review"].pk, queued["hidden"].pk]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Nothing to review" in response.content.decode()
    assert set(LinkReview.objects.values_list("status", flat=True)) == {"rejected"}


def test_decisions_need_a_csrf_token(cast, queued):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.users["leader"])
    response = client.post(
        reverse("review:decide"), {"decision": "reject", "review": queued["review"].pk}
    )
    assert response.status_code == 403


@pytest.fixture
def grouped(cast):
    """Three raisings that may all be one earlier issue, and one that may be another."""
    earlier = OccurrenceFactory(
        retro=RetrospectiveFactory(team=cast.team), text="Release checklist is out of date"
    )
    texts = ("Checklist missed a step again", "Release steps wrong", "Outdated release list")
    group = [
        LinkReview.objects.create(
            organization=cast.org,
            occurrence=OccurrenceFactory(retro=RetrospectiveFactory(team=cast.team), text=text),
            candidate=earlier.issue,
            score=score,
        )
        for text, score in zip(texts, (0.55, 0.7, 0.6), strict=True)
    ]
    alone = LinkReview.objects.create(
        organization=cast.org,
        occurrence=OccurrenceFactory(retro=RetrospectiveFactory(team=cast.team), text="VPN drops"),
        candidate=IssueFactory(organization=cast.org, title="VPN unstable"),
        score=0.9,
    )
    return {"earlier": earlier, "group": group, "alone": alone}


def test_the_queue_groups_raisings_under_their_candidate_issue(cast, grouped):
    access = acl.Access(user_id=cast.users["leader"].pk, organization=cast.org, role="leader")
    rows = list(review.pending_candidates(access))
    assert [(r["candidate_id"], r["waiting"]) for r in rows] == [
        (grouped["alone"].candidate_id, 1),  # the likeliest group first
        (grouped["earlier"].issue_id, 3),
    ]
    groups = review.review_groups(access, [r["candidate_id"] for r in rows])
    assert [len(g.reviews) for g in groups] == [1, 3]
    assert [r.score for r in groups[1].reviews] == [0.7, 0.6, 0.55]

    page = cast.clients["leader"].get(reverse("review:queue")).content.decode()
    assert "4 raisings waiting, under 2 earlier issues" in page
    assert page.count('class="card review-group"') == 2
    assert "All 3 are this issue" in page  # one decision for the group ...
    assert "All 1 are" not in page  # ... offered only where there are several


def test_one_group_decision_settles_the_raisings_it_showed_and_no_others(cast, grouped):
    shown = ",".join(str(r.pk) for r in grouped["group"][:2])
    arrived_since = grouped["group"][2]  # queued after the page was drawn
    response = cast.clients["facilitator"].post(
        reverse("review:decide"), {"group": f"confirm:{shown}"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    for item in grouped["group"][:2]:
        item.refresh_from_db()
        assert item.status == "confirmed"
        assert item.occurrence.issue_id == grouped["earlier"].issue_id
    arrived_since.refresh_from_db()
    grouped["alone"].refresh_from_db()
    assert arrived_since.status == grouped["alone"].status == "pending"
    assert "2 raisings waiting, under 2 earlier issues" in response.content.decode()


def test_a_group_rejection_keeps_every_raising_apart(cast, grouped):
    ids = ",".join(str(r.pk) for r in grouped["group"])
    cast.clients["leader"].post(reverse("review:decide"), {"group": f"reject:{ids}"})
    statuses = set(
        LinkReview.objects.filter(pk__in=[r.pk for r in grouped["group"]]).values_list(
            "status", flat=True
        )
    )
    assert statuses == {"rejected"}
    assert LinkReview.objects.get(pk=grouped["alone"].pk).status == "pending"


@pytest.mark.parametrize(
    "posted",
    [
        {"single": "confirm:²"},
        {"single": "confirm:٣"},
        {"group": "confirm:²,99999999999999999999999999"},
        {"decision": "reject", "review": ["99999999999999999999999999", "¹"]},
    ],
)
def test_ids_that_are_not_plain_keys_decide_nothing_and_break_nothing(cast, queued, posted):
    response = cast.clients["leader"].post(reverse("review:decide"), posted)
    assert response.status_code == 302
    assert set(LinkReview.objects.values_list("status", flat=True)) == {"pending"}


def test_a_raising_waiting_on_two_issues_is_counted_once_and_says_so(cast, grouped):
    raising = grouped["group"][0].occurrence
    second = LinkReview.objects.create(
        organization=cast.org, occurrence=raising, candidate=grouped["alone"].candidate, score=0.52
    )
    page = cast.clients["leader"].get(reverse("review:queue")).content.decode()
    assert "4 raisings waiting, under 2 earlier issues" in page
    assert page.count("one of 2 earlier issues it may be") == 2  # under each candidate
    review.review_confirm(review=second, user=cast.users["leader"])
    page = cast.clients["leader"].get(reverse("review:queue")).content.decode()
    assert "3 raisings waiting" in page and "one of 2" not in page


def test_facilitators_judge_what_they_can_read_first(cast, grouped):
    """A candidate whose raisings are all another team's words comes after the groups the
    facilitator can read, however likely, and says who is better placed to decide it."""
    hidden_words = OccurrenceFactory(
        retro=RetrospectiveFactory(team=cast.other_team), text="Staging VPN drops nightly"
    )
    hidden = LinkReview.objects.create(
        organization=cast.org,
        occurrence=OccurrenceFactory(retro=RetrospectiveFactory(team=cast.team), text="VPN off"),
        candidate=hidden_words.issue,
        score=0.95,
    )
    facilitator = acl.Access(
        user_id=cast.users["facilitator"].pk,
        organization=cast.org,
        role="facilitator",
        team_ids=frozenset({cast.team.pk}),
    )
    order = [r["candidate_id"] for r in review.pending_candidates(facilitator)]
    assert order == [
        grouped["earlier"].issue_id,  # their team's words
        hidden.candidate_id,  # the likeliest unreadable group first among those
        grouped["alone"].candidate_id,
    ]
    leader = acl.Access(user_id=cast.users["leader"].pk, organization=cast.org, role="leader")
    first = review.pending_candidates(leader).first()
    assert first is not None
    assert first["candidate_id"] == hidden.candidate_id  # leaders read every team

    page = cast.clients["facilitator"].get(reverse("review:queue")).content.decode()
    assert "Staging VPN drops nightly" not in page
    assert page.count("leave this pair to a leader") == 2
    assert "leave this pair to a leader" not in (
        cast.clients["leader"].get(reverse("review:queue")).content.decode()
    )


def test_undoing_a_confirmation_moves_the_raising_and_its_fix_back(cast, grouped):
    """A confirmation moved the raising off the issue it started (archived once empty) and
    settled its other pair; undo brings the issue back, the raising and its fix with it,
    and both pairs wait again."""
    confirmed = grouped["group"][0]
    raising = confirmed.occurrence
    started = raising.issue
    fix = FixFactory(issue=started, retro=raising.retro, team=cast.team, text="Own fix")
    other = LinkReview.objects.create(
        organization=cast.org, occurrence=raising, candidate=grouped["alone"].candidate, score=0.5
    )
    client = cast.clients["facilitator"]
    page = client.post(
        reverse("review:decide"), {"single": f"confirm:{confirmed.pk}"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert (
        "Linked “Checklist missed a step again” to “Release checklist is out of date”." in page
        and "Undo" in page
    )
    raising.refresh_from_db()
    fix.refresh_from_db()
    started.refresh_from_db()
    assert raising.issue_id == fix.issue_id == grouped["earlier"].issue_id
    assert started.archived_at is not None
    assert LinkReview.objects.get(pk=other.pk).status == "rejected"

    page = client.post(
        reverse("review:undo"), {"review": [confirmed.pk]}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Undone: 1 decision" in page
    raising.refresh_from_db()
    fix.refresh_from_db()
    started.refresh_from_db()
    assert raising.issue_id == fix.issue_id == started.pk
    assert started.archived_at is None and raising.link_source == "new"
    assert set(
        LinkReview.objects.filter(pk__in=[confirmed.pk, other.pk]).values_list("status", flat=True)
    ) == {"pending"}
    assert "Release checklist is out of date" in page  # the group waits again


def test_undo_without_htmx_is_offered_by_the_address_and_takes_a_rejection_back(cast, queued):
    client = cast.clients["facilitator"]
    response = client.post(reverse("review:decide"), {"single": f"reject:{queued['review'].pk}"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Kept “stagng is down again” apart from “Staging environment unavailable”." in page
    assert f'name="review" value="{queued["review"].pk}"' in page
    response = client.post(reverse("review:undo"), {"review": [queued["review"].pk]})
    assert response.status_code == 302
    assert LinkReview.objects.get(pk=queued["review"].pk).status == "pending"


def test_undo_refuses_what_it_cannot_take_back(cast, grouped):
    first = grouped["group"][0]
    sibling = LinkReview.objects.create(
        organization=cast.org,
        occurrence=first.occurrence,
        candidate=grouped["alone"].candidate,
        score=0.4,
    )
    review.review_confirm(review=first, user=cast.users["leader"])
    sibling.refresh_from_db()
    assert sibling.status == "rejected" and sibling.settled_by_id == first.pk
    with pytest.raises(ValidationError, match="undo that link instead"):
        review.review_undo(review=sibling, user=cast.users["leader"])
    elsewhere = OccurrenceFactory(retro=RetrospectiveFactory(team=cast.team), text="Elsewhere")
    services.occurrence_relink(
        occurrence=Occurrence.objects.get(pk=first.occurrence_id),
        issue=elsewhere.issue,
        user=None,
    )
    first.refresh_from_db()
    with pytest.raises(ValidationError, match="moved to another issue since"):
        review.review_undo(review=first, user=cast.users["leader"])
    with pytest.raises(ValidationError, match="waiting for a decision already"):
        review.review_undo(review=grouped["alone"], user=cast.users["leader"])
    # Another team's facilitator cannot undo this team's decisions.
    other = MembershipFactory(
        organization=cast.org,
        role="facilitator",
        user=UserFactory(username="otto"),
        teams=[cast.other_team],
    )
    response = signed_in_client(other.user).post(reverse("review:undo"), {"review": [first.pk]})
    assert response.status_code == 302
    assert LinkReview.objects.get(pk=first.pk).status == "confirmed"
