"""No silent loss: a raising logged as new while a plausible earlier issue exists waits in the
review queue, and its board row offers the link."""

from __future__ import annotations

import pytest
from django.urls import reverse

from retros.models import LinkReview, LinkSource, Occurrence, ReviewSource, ReviewStatus
from tests.factories import IssueFactory, OccurrenceFactory, RetrospectiveFactory
from tests.retros.conftest import EARLIER, htmx

pytestmark = pytest.mark.django_db


def raise_earlier_issue(cast, team):
    """An issue `team` raised twice before: what a reworded recurrence should be linked to."""
    from retros import services

    retro = RetrospectiveFactory(team=team, held_on=EARLIER)
    issue = IssueFactory(organization=cast.org, title="Staging environment broken for days")
    for text in ("Staging environment broken for days", "Staging was down most of the week"):
        OccurrenceFactory(retro=retro, issue=issue, text=text)
    services.issue_refresh_stats(issue_ids=[issue.pk])
    return issue


@pytest.fixture
def earlier_issue(cast, real_matcher):
    return raise_earlier_issue(cast, cast.team)


def log(client, retro, text):
    return client.post(
        reverse("retros:occurrence_create", args=[retro.pk]), {"text": text}, **htmx()
    )


REWORDED = "Staging env was broken for a couple of days again"
NOTE = "other teams\N{RIGHT SINGLE QUOTATION MARK} words, which you cannot read"


def log_reworded(client, retro) -> tuple[Occurrence, LinkReview]:
    """Log a reworded recurrence of the earlier issue as new: its raising and the review
    it queued."""
    log(client, retro, REWORDED)
    logged = Occurrence.objects.get(text=REWORDED)
    return logged, LinkReview.objects.get(occurrence=logged)


def decide(client, review: LinkReview, decision: str):
    """Decide on the board row of the review's raising, as its buttons do."""
    return client.post(
        reverse("retros:occurrence_review", args=[review.occurrence_id]),
        {"review": review.pk, "decision": decision},
        **htmx(),
    )


def test_a_reworded_recurrence_logged_as_new_is_queued_and_offered_on_its_row(
    cast, board, earlier_issue
):
    client = cast.clients["facilitator"]
    response = log(client, board.retro, "Staging env was broken for a couple of days again")
    assert response.status_code == 200
    logged = Occurrence.objects.get(text="Staging env was broken for a couple of days again")
    assert logged.link_source == LinkSource.NEW
    review = LinkReview.objects.get(occurrence=logged)
    assert review.candidate_id == earlier_issue.pk
    assert (review.source, review.status) == (ReviewSource.BOARD, ReviewStatus.PENDING)
    html = response.content.decode()
    assert "It looks like “Staging environment broken for days”" in html
    row = client.get(reverse("retros:retro_board", args=[board.retro.pk])).content.decode()
    assert "Looks like" in row and f'id="link-it-{logged.pk}"' in row
    assert "raised 2 times" in row
    # The link review queue holds the pair too.
    queue = client.get(reverse("review:queue")).content.decode()
    assert "Staging env was broken for a couple of days again" in queue


def test_link_it_from_the_row_links_the_raising_to_the_earlier_issue(cast, board, earlier_issue):
    client = cast.clients["facilitator"]
    logged, review = log_reworded(client, board.retro)
    response = decide(client, review, "confirm")
    assert response.status_code == 200
    logged.refresh_from_db()
    assert logged.issue_id == earlier_issue.pk and logged.link_source == LinkSource.REVIEW
    assert LinkReview.objects.get(pk=review.pk).status == ReviewStatus.CONFIRMED
    assert "Raised again" in response.content.decode()
    assert "Looks like" not in response.content.decode()


def test_not_the_same_keeps_it_apart_for_good(cast, board, earlier_issue):
    client = cast.clients["facilitator"]
    logged, review = log_reworded(client, board.retro)
    response = decide(client, review, "reject")
    assert response.status_code == 200
    assert "Looks like" not in response.content.decode()
    logged.refresh_from_db()
    assert logged.issue_id != earlier_issue.pk
    assert LinkReview.objects.get(pk=review.pk).status == ReviewStatus.REJECTED


def test_a_decision_on_a_pair_already_decided_says_so(cast, board, earlier_issue):
    client = cast.clients["facilitator"]
    logged, review = log_reworded(client, board.retro)
    decide(client, review, "reject")
    again = decide(client, review, "confirm")
    assert again.status_code == 422
    assert "already decided" in again.content.decode()
    assert Occurrence.objects.get(pk=logged.pk).issue_id != earlier_issue.pk


def test_an_unrelated_new_item_is_not_queued(cast, board, earlier_issue):
    log(cast.clients["facilitator"], board.retro, "The coffee machine on floor 3 leaks")
    logged = Occurrence.objects.get(text="The coffee machine on floor 3 leaks")
    assert not LinkReview.objects.filter(occurrence=logged).exists()


def test_close_contenders_wait_too_and_the_row_offers_the_next_after_not_the_same(
    cast, board, earlier_issue
):
    """Two earlier issues alike: both pairs wait; "Not the same" on the first offers the
    second, and linking it settles the raising."""
    from retros import services

    retro = RetrospectiveFactory(team=cast.other_team, held_on=EARLIER)
    twin = IssueFactory(organization=cast.org, title="Staging environment broken for two days")
    for text in ("Staging environment broken for two days", "Staging was down for days"):
        OccurrenceFactory(retro=retro, issue=twin, text=text)
    services.issue_refresh_stats(issue_ids=[twin.pk])
    client = cast.clients["facilitator"]
    added = log(client, board.retro, REWORDED).content.decode()
    logged = Occurrence.objects.get(text=REWORDED)
    first, second = LinkReview.objects.filter(occurrence=logged).order_by("-score", "pk")
    assert {first.candidate_id, second.candidate_id} == {earlier_issue.pk, twin.pk}
    assert first.score - second.score <= 0.05
    # The logged row offers the best pair at once, with its issue's title and count.
    assert f'name="review" value="{first.pk}"' in added
    assert f'name="review" value="{second.pk}"' not in added
    assert f"“{first.candidate.title}”</a>, raised 2 times" in added
    response = decide(client, first, "reject")
    assert f'name="review" value="{second.pk}"' in response.content.decode()
    decide(client, second, "confirm")
    logged.refresh_from_db()
    assert logged.issue_id == second.candidate_id
    statuses = dict(LinkReview.objects.filter(occurrence=logged).values_list("pk", "status"))
    assert statuses == {first.pk: ReviewStatus.REJECTED, second.pk: ReviewStatus.CONFIRMED}


def test_a_row_offering_an_issue_of_other_teams_words_says_so(cast, board, real_matcher):
    """The facilitator reads the row's offer under a neutral title when the earlier issue was
    raised only in teams they do not see, and is told who can judge it; a leader is not."""
    issue = raise_earlier_issue(cast, cast.other_team)
    client = cast.clients["facilitator"]
    _, queued = log_reworded(client, board.retro)
    assert queued.candidate_id == issue.pk
    row = client.get(reverse("retros:retro_board", args=[board.retro.pk])).content.decode()
    assert "Staging environment broken for days" not in row
    assert "Issue raised 2 times in Checkout" in row and NOTE in row
    leader = cast.clients["leader"].get(reverse("retros:retro_board", args=[board.retro.pk]))
    leader_row = leader.content.decode()
    assert "Staging environment broken for days" in leader_row
    assert NOTE not in leader_row


def test_a_row_offering_an_issue_of_the_teams_own_words_has_no_such_note(
    cast, board, earlier_issue
):
    client = cast.clients["facilitator"]
    log_reworded(client, board.retro)
    row = client.get(reverse("retros:retro_board", args=[board.retro.pk])).content.decode()
    assert "Looks like" in row and NOTE not in row


def test_a_second_alike_item_of_the_same_retro_is_not_queued_with_the_first(
    cast, board, real_matcher
):
    """Two people in one retro say the same: the first is no earlier raising of the second."""
    client = cast.clients["facilitator"]
    log(client, board.retro, "Invoices for the Nordic customers were sent twice")
    response = log(client, board.retro, "Nordic customers got their invoices twice")
    assert response.status_code == 200
    second = Occurrence.objects.get(text="Nordic customers got their invoices twice")
    assert second.link_source == LinkSource.NEW
    assert not LinkReview.objects.filter(occurrence=second).exists()
    assert "Looks like" not in response.content.decode()
