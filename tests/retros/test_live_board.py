"""The live board through its views: members write from their own devices, cards stay
private until revealed, anonymity shows no name, errors keep what was typed, and the event
stream tells an open board that something changed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from retros import cards, live, services
from retros.models import Anonymity, Card, LinkReview, Occurrence, RetroPhase, Role
from tests.factories import (
    IssueFactory,
    MembershipFactory,
    OccurrenceFactory,
    RetrospectiveFactory,
    UserFactory,
    signed_in_client,
)

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def retro(cast):
    return RetrospectiveFactory(team=cast.team, format="mad_sad_glad", title="Sprint 30")


def _add(client, retro, text, column="Sad"):
    return client.post(
        reverse("retros:live_cards", args=[retro.pk]),
        {"text": text, "column": column},
        headers=HTMX,
    )


def _shown_name(user):
    return user.get_full_name() or user.get_username()


def _cards_html(client, retro):
    return client.get(reverse("retros:live_cards", args=[retro.pk]), headers=HTMX).content.decode()


def test_a_member_adds_a_card_that_others_see_only_once_revealed(cast, retro):
    member, facilitator = cast.clients["member"], cast.clients["facilitator"]
    page = member.get(reverse("retros:live_board", args=[retro.pk])).content.decode()
    assert 'sse-connect="' in page and "Names shown." in page
    response = _add(member, retro, "Our on-call rota burns people out")
    assert response.status_code == 200
    assert Card.objects.get().author == cast.users["member"]
    assert "Our on-call rota" in _cards_html(member, retro)
    hidden = _cards_html(facilitator, retro)
    assert "Our on-call rota" not in hidden and "1 card hidden until revealed" in hidden
    facilitator.post(reverse("retros:live_phase", args=[retro.pk]), {"reveal": "1"}, headers=HTMX)
    assert "Our on-call rota" in _cards_html(facilitator, retro)


def test_a_rejected_card_comes_back_with_its_text_and_the_reason(cast, retro):
    member = cast.clients["member"]
    cards.phase_move(retro=retro, phase=RetroPhase.VOTE, user=cast.users["facilitator"])
    response = _add(member, retro, "Late thought about flaky tests")
    body = response.content.decode()
    assert response.status_code == 422
    assert "write phase" in body and 'value="Late thought about flaky tests"' in body
    assert not Card.objects.exists()


def test_an_anonymous_board_names_nobody_even_to_the_facilitator(cast, retro):
    cards.board_settings(
        retro=retro, anonymity=Anonymity.ANONYMOUS, private_until_reveal=False, vote_budget=3
    )
    _add(cast.clients["member"], retro, "Reviews from one senior feel harsh")
    html = _cards_html(cast.clients["facilitator"], retro)
    assert "Reviews from one senior feel harsh" in html and "A member of the team" in html
    assert _shown_name(cast.users["member"]) not in html
    assert Card.objects.get().author_id is None


def test_names_go_to_the_facilitator_only_when_asked(cast, retro):
    cards.board_settings(
        retro=retro, anonymity=Anonymity.FACILITATOR, private_until_reveal=False, vote_budget=3
    )
    _add(cast.clients["facilitator"], retro, "Too many meetings on Mondays")
    assert _shown_name(cast.users["facilitator"]) not in _cards_html(cast.clients["member"], retro)
    _add(cast.clients["member"], retro, "Standups run long")
    assert _shown_name(cast.users["member"]) in _cards_html(cast.clients["facilitator"], retro)


def test_members_cannot_run_the_phases(cast, retro):
    response = cast.clients["member"].post(
        reverse("retros:live_phase", args=[retro.pk]), {"phase": "vote"}, headers=HTMX
    )
    assert response.status_code == 403
    retro.refresh_from_db()
    assert retro.phase == RetroPhase.WRITE


def test_an_edit_of_a_card_grouped_meanwhile_keeps_the_typed_text(cast, retro):
    member = cast.clients["member"]
    _add(member, retro, "Flaky tests")
    _add(member, retro, "Tests fail at random")
    mine, other = Card.objects.order_by("id")
    cards.phase_move(retro=retro, phase=RetroPhase.GROUP, user=cast.users["facilitator"])
    cards.card_group(card=mine, under=other)
    response = member.post(
        reverse("retros:card_edit", args=[mine.pk]),
        {"text": "Flaky UI tests on Safari", "revision": "0"},
        headers=HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert "grouped under another" in body and 'value="Flaky UI tests on Safari"' in body


def test_the_stream_says_when_the_board_is_behind_and_when_it_changes(
    cast, retro, django_capture_on_commit_callbacks
):
    url = reverse("retros:live_stream", args=[retro.pk])
    with django_capture_on_commit_callbacks(execute=True):
        cards.card_add(retro=retro, text="Builds are slow", column="Sad", user=None)
    version = live.current_version(retro.pk)
    behind = cast.clients["member"].get(url, {"v": str(version - 1)})
    assert behind["Content-Type"].startswith("text/event-stream")
    assert f"id: {version}\nevent: changed" in b"".join(behind.streaming_content).decode()
    current = cast.clients["member"].get(url, headers={"Last-Event-ID": str(version)})
    assert "event: changed" not in b"".join(current.streaming_content).decode()


def test_the_stream_is_closed_to_other_teams_and_organisations(cast, retro):
    url = reverse("retros:live_stream", args=[retro.pk])
    assert cast.clients["outsider"].get(url).status_code == 404
    assert cast.clients["anonymous"].get(url).status_code in (302, 404)


def _group(client, card, under):
    return client.post(
        reverse("retros:card_group", args=[card.pk]), {"under": str(under.pk)}, headers=HTMX
    )


def test_members_group_cards_only_when_the_facilitator_allows_it(cast, retro):
    member, facilitator = cast.clients["member"], cast.clients["facilitator"]
    _add(member, retro, "Flaky tests")
    _add(member, retro, "Tests fail at random")
    first, second = Card.objects.order_by("id")
    cards.phase_move(retro=retro, phase=RetroPhase.GROUP, user=cast.users["facilitator"])
    page = _cards_html(member, retro)
    assert "The facilitator groups cards" in page and 'draggable="true"' not in page
    assert _group(member, second, first).status_code == 403
    assert Card.objects.get(pk=second.pk).lead_id is None

    response = facilitator.post(
        reverse("retros:live_settings", args=[retro.pk]),
        {"anonymity": "named", "vote_budget": "3", "members_group": "on"},
        headers=HTMX,
    )
    assert response.status_code == 200
    page = _cards_html(member, retro)
    assert "Everyone on the team groups cards" in page and 'draggable="true"' in page
    assert _group(member, second, first).status_code == 200
    assert Card.objects.get(pk=second.pk).lead_id == first.pk

    other = MembershipFactory(
        organization=cast.org, role=Role.MEMBER, user=UserFactory(), teams=[cast.other_team]
    )
    stranger = signed_in_client(other.user)
    assert _group(stranger, second, first).status_code == 403


@pytest.mark.parametrize("typed", ["²", "0", "21", "three", ""])
def test_a_vote_budget_that_is_not_1_to_20_is_refused_with_a_reason(cast, retro, typed):
    response = cast.clients["facilitator"].post(
        reverse("retros:live_settings", args=[retro.pk]),
        {"anonymity": "named", "vote_budget": typed},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert "between 1 and 20 votes" in response.content.decode()
    retro.refresh_from_db()
    assert retro.vote_budget != 0


def _discussed(cast, retro, text):
    """``text`` written, then discussed: the group's raising, logged as a new issue."""
    _add(cast.clients["member"], retro, text)
    cards.phase_move(retro=retro, phase=RetroPhase.DISCUSS, user=cast.users["facilitator"])
    return Occurrence.objects.get(retro=retro)


def test_the_facilitator_links_a_discussed_group_from_the_live_board(
    cast, retro, django_capture_on_commit_callbacks
):
    earlier = RetrospectiveFactory(team=cast.team, held_on=retro.held_on - dt.timedelta(days=14))
    issue = IssueFactory(organization=cast.org, title="Staging keeps breaking")
    OccurrenceFactory(retro=earlier, issue=issue, text="Staging keeps breaking")
    raising = _discussed(cast, retro, "Staging was down for two days again")
    offer = LinkReview.objects.get_or_create(
        occurrence=raising,
        candidate=issue,
        defaults={"organization": cast.org, "score": 0.7, "reasons": ["same words: staging"]},
    )[0]
    facilitator, member = cast.clients["facilitator"], cast.clients["member"]
    assert "Looks like" in _cards_html(facilitator, retro)
    assert "Looks like" not in _cards_html(member, retro)  # the facilitator's decision

    url = reverse("retros:live_review", args=[raising.pk])
    assert member.post(url, {"review": offer.pk, "decision": "confirm"}).status_code == 403
    version = live.current_version(retro.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = facilitator.post(url, {"review": offer.pk, "decision": "confirm"}, headers=HTMX)
    assert response.status_code == 200
    raising.refresh_from_db()
    assert raising.issue_id == issue.pk
    assert live.current_version(retro.pk) > version  # every open board hears of it
    assert "Raised before:" in response.content.decode()

    again = facilitator.post(url, {"review": offer.pk, "decision": "reject"}, headers=HTMX)
    assert again.status_code == 422 and "already decided" in again.content.decode()


def test_a_member_reads_an_earlier_issue_by_the_titles_they_may_read(cast, retro):
    elsewhere = RetrospectiveFactory(team=cast.other_team)
    issue = IssueFactory(organization=cast.org, title="Checkout's private words about Dana")
    OccurrenceFactory(retro=elsewhere, issue=issue, text="Checkout's private words about Dana")
    raising = _discussed(cast, retro, "Releases slip every sprint")
    services.occurrence_relink(occurrence=raising, issue=issue, user=cast.users["facilitator"])
    services.issue_refresh_stats(issue_ids=[issue.pk])
    page = _cards_html(cast.clients["member"], retro)
    assert "Raised before:" in page and "Releases slip every sprint" in page
    assert "private words" not in page
    assert "private words" in _cards_html(cast.clients["leader"], retro)


def test_a_removed_card_comes_back_with_undo(cast, retro):
    member = cast.clients["member"]
    _add(member, retro, "Too many meetings on Mondays")
    card = Card.objects.get()
    response = member.post(reverse("retros:card_remove", args=[card.pk]), headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Removed “Too many meetings on Mondays”." in body and ">Undo</button>" in body
    assert "Too many meetings" not in _cards_html(member, retro)

    stranger = signed_in_client(
        MembershipFactory(
            organization=cast.org, role=Role.MEMBER, user=UserFactory(), teams=[cast.team]
        ).user
    )
    restore = reverse("retros:card_restore", args=[card.pk])
    assert stranger.post(restore, headers=HTMX).status_code == 403  # not theirs to undo
    response = member.post(restore, headers=HTMX)
    assert response.status_code == 200
    assert "Too many meetings on Mondays" in _cards_html(member, retro)
    assert Card.objects.live().filter(pk=card.pk).exists()
    again = member.post(restore, headers=HTMX)
    assert again.status_code == 422 and "on the board already" in again.content.decode()


def test_the_facilitator_starts_a_countdown_every_board_shows(cast, retro):
    url = reverse("retros:live_timer", args=[retro.pk])
    assert cast.clients["member"].post(url, {"minutes": "5"}, headers=HTMX).status_code == 403
    response = cast.clients["facilitator"].post(url, {"minutes": "5"}, headers=HTMX)
    assert response.status_code == 200
    page = _cards_html(cast.clients["member"], retro)
    assert "Time left" in page and ("5:00" in page or "4:59" in page)
    refused = cast.clients["facilitator"].post(url, {"minutes": "90"}, headers=HTMX)
    assert refused.status_code == 422 and "1 to 60 minutes" in refused.content.decode()
    cast.clients["facilitator"].post(url, {"minutes": "5", "stop": "1"}, headers=HTMX)
    assert "Time left" not in _cards_html(cast.clients["member"], retro)
