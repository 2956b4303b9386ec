"""The live board's rules: cards, phases, grouping, dot votes within budget, anonymity, and
changes that never lose what a person typed."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from retros import cards, live, services
from retros.models import Anonymity, Card, CardVote, Occurrence, RetroPhase
from tests.factories import RetrospectiveFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def retro(cast):
    return RetrospectiveFactory(team=cast.team, format="start_stop_continue")


def _at(retro, phase, user):
    return cards.phase_move(retro=retro, phase=phase, user=user)


def test_a_card_goes_in_one_of_the_formats_columns_during_the_write_phase(cast, retro):
    card = cards.card_add(retro=retro, text="  Deploys wait on QA  ", column="Stop", user=None)
    assert (card.text, card.column) == ("Deploys wait on QA", "Stop")
    with pytest.raises(ValidationError, match="columns"):
        cards.card_add(retro=retro, text="Deploys wait", column="Mad", user=None)
    with pytest.raises(ValidationError, match="The card"):
        cards.card_add(retro=retro, text="   ", column="Stop", user=None)
    _at(retro, RetroPhase.VOTE, cast.users["facilitator"])
    with pytest.raises(ValidationError, match="write phase"):
        cards.card_add(retro=retro, text="Too late", column="Stop", user=None)


def test_every_committed_change_moves_the_boards_version(
    cast, retro, django_capture_on_commit_callbacks
):
    before = live.current_version(retro.pk)
    with django_capture_on_commit_callbacks(execute=True):
        card = cards.card_add(retro=retro, text="Flaky tests", column="Stop", user=None)
    with django_capture_on_commit_callbacks(execute=True):
        cards.card_edit(card=card, text="Flaky end-to-end tests", revision=0, user=None)
    assert live.current_version(retro.pk) == before + 2
    assert live.wait_for_change(retro.pk, before + 1, timeout=0) == before + 2


def test_an_anonymous_card_and_its_raising_store_no_author(cast, retro):
    member = cast.users["member"]
    cards.board_settings(
        retro=retro, anonymity=Anonymity.ANONYMOUS, private_until_reveal=True, vote_budget=3
    )
    card = cards.card_add(retro=retro, text="Reviews feel personal", column="Stop", user=member)
    _at(retro, RetroPhase.DISCUSS, cast.users["facilitator"])
    card.refresh_from_db()
    occurrence = Occurrence.objects.get(pk=card.occurrence_id)
    assert card.author_id is None and occurrence.created_by_id is None
    assert not occurrence.history.exclude(history_user=None).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT author_id FROM retros_card WHERE id = %s", [card.pk])
        assert cursor.fetchone() == (None,)
        cursor.execute(
            "SELECT COUNT(*) FROM retros_historicaloccurrence WHERE history_user_id = %s",
            [member.pk],
        )
        assert cursor.fetchone() == (0,)


def test_anonymity_cannot_change_once_cards_are_written(cast, retro):
    cards.card_add(retro=retro, text="Standups run long", column="Stop", user=None)
    with pytest.raises(ValidationError, match="can no longer change"):
        cards.board_settings(
            retro=retro, anonymity=Anonymity.ANONYMOUS, private_until_reveal=True, vote_budget=3
        )


def test_votes_stay_within_each_persons_budget_one_per_group(cast, retro):
    member = cast.users["member"]
    cards.board_settings(
        retro=retro, anonymity=Anonymity.NAMED, private_until_reveal=False, vote_budget=2
    )
    made = [cards.card_add(retro=retro, text=f"Item {n}", column="Stop", user=None) for n in "abc"]
    with pytest.raises(ValidationError, match="vote phase"):
        cards.vote(card=made[0], user=member)
    _at(retro, RetroPhase.VOTE, cast.users["facilitator"])
    assert cards.vote(card=made[0], user=member) == 1
    assert cards.vote(card=made[0], user=member) == 1  # one dot per group and person
    assert cards.vote(card=made[1], user=member) == 0
    with pytest.raises(ValidationError, match="all 2 of your votes"):
        cards.vote(card=made[2], user=member)
    assert cards.vote(card=made[1], user=member, on=False) == 1
    assert cards.vote(card=made[2], user=member) == 0
    assert CardVote.objects.filter(voter=member).count() == 2


def test_grouping_puts_a_card_and_its_dots_under_the_groups_lead(cast, retro):
    facilitator = cast.users["facilitator"]
    first = cards.card_add(retro=retro, text="Builds are slow", column="Stop", user=None)
    second = cards.card_add(retro=retro, text="CI takes forever", column="Stop", user=None)
    third = cards.card_add(retro=retro, text="Slow pipeline", column="Stop", user=None)
    with pytest.raises(ValidationError, match="group phase"):
        cards.card_group(card=second, under=first)
    _at(retro, RetroPhase.GROUP, facilitator)
    cards.card_group(card=second, under=first)
    cards.card_group(card=third, under=second)  # joins the group's lead, not a member
    assert {c.lead_id for c in Card.objects.filter(pk__in=[second.pk, third.pk])} == {first.pk}
    with pytest.raises(ValidationError, match="under itself"):
        cards.card_group(card=first, under=third)
    _at(retro, RetroPhase.DISCUSS, facilitator)
    raised = Occurrence.objects.filter(retro=retro)
    assert [o.text for o in raised] == ["Builds are slow"]
    assert set(Card.objects.values_list("occurrence_id", flat=True)) == {raised.get().pk}


def test_discuss_raises_each_group_once_with_its_dots_and_type(cast, retro):
    facilitator, member = cast.users["facilitator"], cast.users["member"]
    problem = cards.card_add(retro=retro, text="Releases slip", column="Stop", user=member)
    praise = cards.card_add(retro=retro, text="Pairing on support", column="Continue", user=None)
    _at(retro, RetroPhase.VOTE, facilitator)
    cards.vote(card=problem, user=member)
    _at(retro, RetroPhase.DISCUSS, facilitator)
    _at(retro, RetroPhase.VOTE, facilitator)
    _at(retro, RetroPhase.DISCUSS, facilitator)
    raised = {o.text: o for o in Occurrence.objects.filter(retro=retro)}
    assert set(raised) == {"Releases slip", "Pairing on support"}
    assert raised["Releases slip"].votes == 1
    assert raised["Pairing on support"].item_type == "appreciation"
    assert raised["Releases slip"].created_by == facilitator
    assert Card.objects.get(pk=praise.pk).occurrence == raised["Pairing on support"]


@pytest.mark.parametrize("change", ["grouped", "removed", "edited"])
def test_an_edit_after_someone_else_changed_the_card_is_refused_and_says_why(cast, retro, change):
    facilitator = cast.users["facilitator"]
    card = cards.card_add(retro=retro, text="Flaky tests", column="Stop", user=None)
    other = cards.card_add(retro=retro, text="Tests fail at random", column="Stop", user=None)
    if change == "grouped":
        _at(retro, RetroPhase.GROUP, facilitator)
        cards.card_group(card=card, under=other)
        message = "grouped under another"
    elif change == "removed":
        cards.card_remove(card=card)
        message = "removed"
    else:
        cards.card_edit(card=card, text="Flaky UI tests", revision=0, user=None)
        message = "changed this card"
    with pytest.raises(ValidationError, match=message):
        cards.card_edit(card=card, text="My careful rewording", revision=0, user=None)
    assert Card.objects.get(pk=card.pk).text != "My careful rewording"


def test_a_raised_group_that_looks_like_an_earlier_issue_waits_in_the_review_queue(
    cast, retro, django_capture_on_commit_callbacks
):
    from retros.models import LinkReview
    from tests.factories import IssueFactory, OccurrenceFactory

    earlier = RetrospectiveFactory(team=cast.team, held_on=retro.held_on.replace(day=1))
    issue = IssueFactory(organization=cast.org, title="Staging environment keeps breaking")
    for text in ("Staging environment keeps breaking", "Staging was broken for two days"):
        OccurrenceFactory(retro=earlier, issue=issue, text=text)
    services.issue_refresh_stats(issue_ids=[issue.pk])
    cards.card_add(retro=retro, text="Staging env was broken again", column="Stop", user=None)
    with django_capture_on_commit_callbacks(execute=True):
        _at(retro, RetroPhase.DISCUSS, cast.users["facilitator"])
    review = LinkReview.objects.get()
    assert review.candidate_id == issue.pk and review.occurrence.retro_id == retro.pk


def test_a_countdown_runs_until_stopped_or_the_phase_moves(cast, retro):
    facilitator = cast.users["facilitator"]
    assert cards.timer_left(retro) is None
    retro = cards.timer_set(retro=retro, minutes=5)
    assert 299 <= cards.timer_left(retro) <= 300
    with pytest.raises(ValidationError, match="1 to 60 minutes"):
        cards.timer_set(retro=retro, minutes=61)
    retro = cards.timer_set(retro=retro, minutes=0)
    assert cards.timer_left(retro) is None
    cards.timer_set(retro=retro, minutes=3)
    retro = _at(retro, RetroPhase.GROUP, facilitator)
    assert cards.timer_left(retro) is None  # a countdown belongs to its phase
