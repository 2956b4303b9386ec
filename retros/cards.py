"""Writes of the live board: members' cards, grouping, dot votes and the facilitator's phases.

A retro moves through write → group → vote → discuss (``RetroPhase``). Members of the team
add cards in the write phase; with ``private_until_reveal`` a card is shown to no one until
the facilitator reveals them. The facilitator (and the members, when the retro allows it)
groups duplicates under a lead card; everyone spends ``vote_budget`` dots on groups, one per
group at most, hidden until the vote ends; at discuss each group becomes one raising
(``services.occurrence_record``), which meets Recur's memory as any raising does. In an
anonymous retro no author is stored anywhere: not on the card, not on the raising, not in its
history.

Every change says so to the open boards (``live.touch``) once it commits.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from retros import live, services
from retros.models import Anonymity, Card, CardVote, RetroPhase, Retrospective
from retros.review import review_queue_from_board
from vocabulary import limits
from vocabulary.itemtype import infer_item_type

PHASES = [p.value for p in RetroPhase]

# The columns of each retro format; a free-form retro has one.
COLUMNS: dict[str, tuple[str, ...]] = {
    "start_stop_continue": ("Start", "Stop", "Continue"),
    "mad_sad_glad": ("Mad", "Sad", "Glad"),
    "four_ls": ("Liked", "Learned", "Lacked", "Longed for"),
    "free": ("Notes",),
}


def columns_of(retro: Retrospective) -> tuple[str, ...]:
    return COLUMNS.get(retro.format, COLUMNS["free"])


def _require_open(retro: Retrospective) -> None:
    if not retro.is_open:
        raise ValidationError("This retro is closed.", code="closed")


def _require_phase(retro: Retrospective, *phases: str, doing: str) -> None:
    if retro.phase not in phases:
        names = " or ".join(RetroPhase(p).label.lower() for p in phases)
        raise ValidationError(
            f"{doing} is for the {names} phase; the retro is in the "
            f"{RetroPhase(retro.phase).label.lower()} phase now.",
            code="phase",
        )


def _locked(retro: Retrospective) -> Retrospective:
    """The retro's row, locked until the transaction ends: phase moves, votes and groupings
    of one retro happen one at a time."""
    return Retrospective.objects.select_for_update().get(pk=retro.pk)


# --- Settings and phases ---------------------------------------------------------------------


def board_settings(
    *,
    retro: Retrospective,
    anonymity: str,
    private_until_reveal: bool,
    vote_budget: int,
    members_group: bool = False,
) -> Retrospective:
    """How the board works. Anonymity is fixed once a card is written: what was written
    under one promise is never shown under another. ``members_group``: the team's members
    group cards too, not only the facilitator."""
    if anonymity not in Anonymity.values:
        raise ValidationError("Choose how names are shown.", code="anonymity")
    if not 1 <= vote_budget <= 20:
        raise ValidationError("Each person has between 1 and 20 votes.", code="vote_budget")
    with transaction.atomic():
        retro = _locked(retro)
        _require_open(retro)
        if anonymity != retro.anonymity and retro.cards.exists():
            raise ValidationError(
                "Cards have been written under the current anonymity; it can no longer change.",
                code="anonymity_fixed",
            )
        retro.anonymity = anonymity
        retro.private_until_reveal = private_until_reveal
        retro.vote_budget = vote_budget
        retro.members_group = members_group
        retro.save(
            update_fields=["anonymity", "private_until_reveal", "vote_budget", "members_group"]
        )
        live.touch(retro.pk)
    return retro


def reveal(*, retro: Retrospective) -> Retrospective:
    with transaction.atomic():
        retro = _locked(retro)
        _require_open(retro)
        if retro.revealed_at is None:
            retro.revealed_at = timezone.now()
            retro.save(update_fields=["revealed_at"])
            live.touch(retro.pk)
    return retro


#: The longest countdown a facilitator can start, in minutes.
TIMER_MAX_MINUTES = 60


def timer_set(*, retro: Retrospective, minutes: int) -> Retrospective:
    """Start a countdown of ``minutes`` on every open board (0 stops it). Moving to another
    phase stops it too."""
    if not 0 <= minutes <= TIMER_MAX_MINUTES:
        raise ValidationError(
            f"A countdown lasts from 1 to {TIMER_MAX_MINUTES} minutes.", code="timer"
        )
    with transaction.atomic():
        retro = _locked(retro)
        _require_open(retro)
        retro.timer_ends_at = timezone.now() + timedelta(minutes=minutes) if minutes else None
        retro.save(update_fields=["timer_ends_at"])
        live.touch(retro.pk)
    return retro


def timer_left(retro: Retrospective) -> int | None:
    """Whole seconds left of the countdown (0 once over); None without one."""
    if retro.timer_ends_at is None or not retro.is_open:
        return None
    return max(0, math.ceil((retro.timer_ends_at - timezone.now()).total_seconds()))


def phase_move(*, retro: Retrospective, phase: str, user: Any) -> Retrospective:
    """Move the retro to ``phase``. Leaving the write phase reveals the cards; reaching
    discuss turns each group into a raising (once: moving back and forth again does not
    log a group twice)."""
    if phase not in PHASES:
        raise ValidationError("Choose one of the phases.", code="phase")
    with transaction.atomic():
        retro = _locked(retro)
        _require_open(retro)
        retro.phase = phase
        retro.timer_ends_at = None  # a countdown belongs to the phase it was started in
        fields = ["phase", "timer_ends_at"]
        if phase != RetroPhase.WRITE and retro.revealed_at is None:
            retro.revealed_at = timezone.now()
            fields.append("revealed_at")
        retro.save(update_fields=fields)
        if phase == RetroPhase.DISCUSS:
            _raise_groups(retro, user)
        live.touch(retro.pk)
    return retro


def _dots(retro: Retrospective) -> Counter[int]:
    """Each card's dots."""
    counted = CardVote.objects.filter(retro=retro).values("card_id").annotate(n=Count("id"))
    return Counter(dict(counted.values_list("card_id", "n")))


def _raise_groups(retro: Retrospective, user: Any) -> None:
    """Each lead card not yet raised becomes one raising: its text, its column's type, the
    dots of its group; its grouped cards point to the same raising."""
    dots = _dots(retro)
    leads = retro.cards.live().filter(lead=None, occurrence=None).order_by("id")
    author = None if retro.anonymity == Anonymity.ANONYMOUS else user
    for lead in leads:
        occurrence = services.occurrence_record(
            retro=retro,
            text=lead.text,
            user=author,
            votes=dots[lead.pk],
            item_type=infer_item_type(lead.text, lead.column or None),
        )
        retro.cards.filter(pk=lead.pk).update(occurrence=occurrence)
        lead.grouped.live().update(occurrence=occurrence)
        # As for a raising typed on the board: a likely recurrence waits in the review queue
        # and its row offers the link, so none is lost among new issues. In the same
        # transaction, so an open board never shows the raising without its offer.
        review_queue_from_board(occurrence=occurrence)


# --- Cards -----------------------------------------------------------------------------------


def _card_text(text: str) -> str:
    if "\x00" in text:
        raise ValidationError("The card contains a character that cannot be stored.", code="nul")
    return services.clean_text(text, what="The card", max_length=limits.TEXT_MAX)


def card_add(*, retro: Retrospective, text: str, column: str, user: Any) -> Card:
    text = _card_text(text)
    if column not in columns_of(retro):
        raise ValidationError("Choose one of the board's columns.", code="column")
    with transaction.atomic():
        retro = _locked(retro)
        _require_open(retro)
        _require_phase(retro, RetroPhase.WRITE, doing="Adding a card")
        card = Card.objects.create(
            organization_id=retro.organization_id,
            retro=retro,
            column=column,
            text=text,
            author=None if retro.anonymity == Anonymity.ANONYMOUS else user,
        )
        live.touch(retro.pk)
    return card


def card_edit(*, card: Card, text: str, revision: int, user: Any) -> Card:
    """Change a card's text. When someone grouped, removed or raised the card meanwhile, or
    changed it since the person read it, the change is refused with a message that says so;
    the view keeps the text the person typed."""
    text = _card_text(text)
    with transaction.atomic():
        current = Card.objects.select_for_update().get(pk=card.pk)
        if current.archived_at is not None:
            raise ValidationError("This card was removed meanwhile.", code="archived")
        if current.occurrence_id is not None:
            raise ValidationError("This card is already being discussed.", code="raised")
        if current.lead_id is not None:
            raise ValidationError("This card was grouped under another meanwhile.", code="grouped")
        if current.revision != revision:
            raise ValidationError("Someone changed this card meanwhile.", code="conflict")
        current.text = text
        current.revision += 1
        current.save(update_fields=["text", "revision"])
        live.touch(current.retro_id)
    return current


def card_remove(*, card: Card) -> Card:
    with transaction.atomic():
        current = Card.objects.select_for_update().get(pk=card.pk)
        if current.occurrence_id is not None:
            raise ValidationError("This card is already being discussed.", code="raised")
        if current.archived_at is None:
            current.archived_at = timezone.now()
            current.revision += 1
            current.save(update_fields=["archived_at", "revision"])
            current.grouped.live().update(lead=None)
            CardVote.objects.filter(card=current).delete()
            live.touch(current.retro_id)
    return current


def card_restore(*, card: Card) -> Card:
    """Undo :func:`card_remove`: the card is back where it was, with its text (not its
    group or dots, which the removal gave back)."""
    with transaction.atomic():
        retro = _locked(card.retro)
        _require_open(retro)
        current = Card.objects.select_for_update().get(pk=card.pk)
        if current.archived_at is None:
            raise ValidationError("This card is on the board already.", code="not_removed")
        current.archived_at = None
        current.revision += 1
        current.save(update_fields=["archived_at", "revision"])
        live.touch(retro.pk)
    return current


def card_group(*, card: Card, under: Card | None) -> Card:
    """Put ``card`` (and what was grouped under it) under ``under``'s group; ``None`` takes
    it out of its group."""
    with transaction.atomic():
        retro = _locked(card.retro)
        _require_open(retro)
        _require_phase(retro, RetroPhase.GROUP, doing="Grouping")
        current = Card.objects.select_for_update().get(pk=card.pk)
        if current.archived_at is not None:
            raise ValidationError("This card was removed meanwhile.", code="archived")
        lead = None
        if under is not None:
            if under.retro_id != current.retro_id:
                raise ValidationError("Cards group only with cards of the same retro.")
            lead = Card.objects.get(pk=under.pk)
            if lead.archived_at is not None:
                raise ValidationError("That card was removed meanwhile.", code="archived")
            while lead.lead_id is not None:  # group under the group's lead
                lead = Card.objects.get(pk=lead.lead_id)
            if lead.pk == current.pk:
                raise ValidationError("A card cannot be grouped under itself.")
        current.lead = lead
        current.revision += 1
        current.save(update_fields=["lead", "revision"])
        if lead is not None:
            current.grouped.update(lead=lead)
            # Dots follow the group: one per person on the group's lead.
            for dot in CardVote.objects.filter(card=current):
                CardVote.objects.get_or_create(retro=retro, card=lead, voter_id=dot.voter_id)
            CardVote.objects.filter(card=current).delete()
        live.touch(retro.pk)
    return current


# --- Votes -----------------------------------------------------------------------------------


def votes_left(retro: Retrospective, user: Any) -> int:
    return retro.vote_budget - CardVote.objects.filter(retro=retro, voter=user).count()


def vote(*, card: Card, user: Any, on: bool = True) -> int:
    """Give (``on``) or take back a dot on ``card``'s group; returns the dots left. Votes of
    one retro are counted one at a time, so two at once never pass the budget."""
    with transaction.atomic():
        retro = _locked(card.retro)
        _require_open(retro)
        _require_phase(retro, RetroPhase.VOTE, doing="Voting")
        lead = Card.objects.get(pk=card.pk)
        if lead.archived_at is not None:
            raise ValidationError("This card was removed meanwhile.", code="archived")
        if lead.lead_id is not None:
            lead = Card.objects.get(pk=lead.lead_id)
        if on:
            if votes_left(retro, user) <= 0:
                raise ValidationError(
                    f"You have used all {retro.vote_budget} of your votes; take one back first.",
                    code="budget",
                )
            CardVote.objects.get_or_create(retro=retro, card=lead, voter=user)
        else:
            CardVote.objects.filter(card=lead, voter=user).delete()
        live.touch(retro.pk)
        return votes_left(retro, user)


# --- Reading ---------------------------------------------------------------------------------


@dataclass
class ShownCard:
    card: Card
    author: str  # "" when the viewer may not see who wrote it
    mine: bool
    my_dot: bool
    dots: int | None  # None while votes are hidden
    grouped: list[ShownCard] = field(default_factory=list)
    alike: Card | None = None  # a card of another group that reads the same (group phase)
    raising: Any = None  # (occurrence, its fixes in this retro) once discussed


@dataclass
class ShownColumn:
    name: str
    cards: list[ShownCard]
    hidden: int  # cards not shown to this viewer until the reveal


def cards_hidden(retro: Retrospective) -> bool:
    return (
        retro.private_until_reveal and retro.revealed_at is None and retro.phase == RetroPhase.WRITE
    )


def _author_name(card: Card, retro: Retrospective, *, facilitates: bool) -> str:
    if card.author is None or retro.anonymity == Anonymity.ANONYMOUS:
        return ""
    if retro.anonymity == Anonymity.FACILITATOR and not facilitates:
        return ""
    return card.author.get_full_name() or card.author.get_username()


def board_columns(
    retro: Retrospective, *, user: Any, facilitates: bool, propose: bool = False
) -> list[ShownColumn]:
    """The board as ``user`` sees it: their own cards and, once revealed, everyone's, each
    group under its lead; dots shown once the vote is over; in the group phase, with
    ``propose``, the card of another group each one reads most like."""
    live_cards = list(retro.cards.live().select_related("author").order_by("id"))
    mine_dotted = set(
        CardVote.objects.filter(retro=retro, voter=user).values_list("card_id", flat=True)
    )
    totals = _dots(retro)
    hidden = cards_hidden(retro)
    show_dots = retro.phase == RetroPhase.DISCUSS or not retro.is_open
    shown: dict[int, ShownCard] = {}
    columns = {name: ShownColumn(name, [], 0) for name in columns_of(retro)}
    for card in live_cards:
        mine = card.author_id is not None and card.author_id == getattr(user, "pk", None)
        column = columns.setdefault(card.column, ShownColumn(card.column, [], 0))
        if hidden and not mine:
            column.hidden += 1
            continue
        shown[card.pk] = ShownCard(
            card=card,
            author=_author_name(card, retro, facilitates=facilitates),
            mine=mine,
            my_dot=card.pk in mine_dotted,
            dots=totals[card.pk] if show_dots else None,
        )
    for item in shown.values():
        lead = shown.get(item.card.lead_id) if item.card.lead_id else None
        if lead is not None:
            lead.grouped.append(item)
        else:
            columns[item.card.column].cards.append(item)
    if show_dots:
        for column in columns.values():
            column.cards.sort(key=lambda c: (-(c.dots or 0), c.card.pk))
    if propose and retro.phase == RetroPhase.GROUP:
        _propose_groups([c for column in columns.values() for c in column.cards])
    return list(columns.values())


#: Two cards whose meanings are at least this alike are proposed as one group. Chosen so
#: that rewordings ("CI takes forever" / "Builds are slow") pair and topics alone do not.
ALIKE = 0.6


def _propose_groups(leads: list[ShownCard]) -> None:
    from matching import embedding

    if len(leads) < 2:
        return
    try:  # each card's vector once per process: every open board asks again on each change
        vectors = np.stack([embedding.encode_one(c.card.text) for c in leads])
    except embedding.EmbeddingUnavailable:
        return
    similarity = vectors @ vectors.T
    for i, item in enumerate(leads):
        similarity[i, i] = -1.0
        j = int(similarity[i].argmax())
        if similarity[i, j] >= ALIKE and j < i:  # propose the later card under the earlier
            item.alike = leads[j].card


def is_facilitating(access: Any, retro: Retrospective) -> bool:
    return bool(access.facilitates_team(retro.team_id))


def may_group(access: Any, retro: Retrospective) -> bool:
    """The facilitator groups cards; the team's members too when the retro allows it."""
    if is_facilitating(access, retro):
        return True
    return retro.members_group and retro.team_id in access.team_ids
