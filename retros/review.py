"""The link review queue: possible recurrences that a person confirms or rejects.

Imports link automatically only above a high-precision threshold; every other likely
recurrence waits here, and so does a raising logged as new on a retro board while a
plausible earlier issue exists (`review_queue_from_board`): nothing is silently lost.
Confirming relinks the occurrence to the candidate issue; rejecting
records the pair so it is never suggested again. Every decision is in the history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, QuerySet
from django.utils import timezone

from matching.embedding import EmbeddingUnavailable
from matching.ranker import review_pairs
from matching.weights import DEFAULT_WEIGHTS
from retros import history_log, live, visibility
from retros.access import Access
from retros.models import (
    Issue,
    ItemType,
    LinkReview,
    LinkSource,
    Occurrence,
    ReviewSource,
    ReviewStatus,
)
from retros.search import suggest
from retros.services import occurrence_relink

logger = logging.getLogger(__name__)


def _reviews_of(access: Access) -> QuerySet[LinkReview]:
    """The pairs of live raisings the person may decide: leaders all teams, facilitators
    their teams'."""
    qs = LinkReview.objects.filter(organization=access.organization, occurrence__archived_at=None)
    if not access.is_leader:
        qs = qs.filter(occurrence__team_id__in=access.team_ids)
    return qs


def pending_reviews(access: Access) -> QuerySet[LinkReview]:
    """Pending reviews the person may decide, the likeliest first."""
    return (
        _reviews_of(access)
        .filter(status=ReviewStatus.PENDING)
        .select_related("occurrence__team", "occurrence__issue", "candidate")
        .order_by("-score", "pk")
    )


@dataclass(frozen=True)
class ReviewGroup:
    """The raisings waiting to be judged against one earlier issue: one decision can settle
    them all."""

    candidate: Issue
    reviews: Sequence[LinkReview]

    @property
    def review_ids(self) -> str:
        return ",".join(str(r.pk) for r in self.reviews)


def pending_candidates(access: Access) -> QuerySet[Any]:
    """One row per candidate issue with pending reviews: `candidate_id`, `best` (highest
    score) and `waiting` (how many raisings). The groups the person can judge come first,
    the likeliest first: a candidate none of whose raisings they may read (another team's
    words, shown under a neutral title, retros.visibility) only after those, since a leader,
    who reads both sides, is better placed to decide it."""
    rows = (
        pending_reviews(access)
        .order_by()
        .values("candidate_id")
        .annotate(best=Max("score"), waiting=Count("id"))
    )
    if visibility.sees_every_team(access):
        return rows.order_by("-best", "candidate_id")
    readable = Occurrence.objects.filter(
        issue_id=OuterRef("candidate_id"), archived_at=None, team_id__in=access.team_ids
    )
    return rows.annotate(readable=Exists(readable)).order_by("-readable", "-best", "candidate_id")


def review_groups(access: Access, candidate_ids: Sequence[int]) -> list[ReviewGroup]:
    """The pending reviews of these candidates, grouped, in the order given. Each review's
    ``contenders`` is how many earlier issues its raising waits on (a close second is queued
    too): confirming one settles the others."""
    by_candidate: dict[int, list[LinkReview]] = {pk: [] for pk in candidate_ids}
    items = list(pending_reviews(access).filter(candidate_id__in=list(candidate_ids)))
    waiting = dict(
        LinkReview.objects.filter(
            occurrence_id__in={i.occurrence_id for i in items}, status=ReviewStatus.PENDING
        )
        .order_by()
        .values("occurrence_id")
        .annotate(n=Count("id"))
        .values_list("occurrence_id", "n")
    )
    for item in items:
        item.contenders = waiting.get(item.occurrence_id, 1)  # type: ignore[attr-defined]
        by_candidate[item.candidate_id].append(item)
    return [
        ReviewGroup(candidate=items[0].candidate, reviews=items)
        for items in by_candidate.values()
        if items
    ]


def reviews_for(access: Access, review_ids: Iterable[int]) -> list[LinkReview]:
    return list(pending_reviews(access).filter(pk__in=list(review_ids)))


def _decide(review: LinkReview, status: str, user: Any, *also: str) -> None:
    review.status = status
    review.decided_by = _author(user)
    review.decided_at = timezone.now()
    review._history_user = review.decided_by  # type: ignore[attr-defined]
    review.save(update_fields=["status", "decided_by", "decided_at", *also])


def review_confirm(*, review: LinkReview, user: Any) -> LinkReview:
    """The occurrence is a recurrence of the candidate: link it; the occurrence's other
    pending candidates are rejected."""
    with transaction.atomic():
        occurrence = review.occurrence
        if occurrence.issue_id != review.candidate_id:
            review.moved_from_id = occurrence.issue_id
            occurrence_relink(
                occurrence=occurrence,
                issue=review.candidate,
                user=user,
                link_source=LinkSource.REVIEW,
                link_score=review.score,
            )
        _decide(review, ReviewStatus.CONFIRMED, user, "moved_from")
        for other in LinkReview.objects.filter(
            occurrence=occurrence, status=ReviewStatus.PENDING
        ).exclude(pk=review.pk):
            other.settled_by = review
            _decide(other, ReviewStatus.REJECTED, user, "settled_by")
    return review


def review_reject(*, review: LinkReview, user: Any) -> LinkReview:
    """Not the same issue: the pair is never suggested again. The raising's live board
    stops offering it (a confirm saves the raising, which tells the board itself)."""
    with transaction.atomic():
        _decide(review, ReviewStatus.REJECTED, user)
        live.touch(review.occurrence.retro_id)
    return review


def _author(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def decided_reviews_for(access: Access, review_ids: Iterable[int]) -> list[LinkReview]:
    """Decided pairs the person may undo: of the raisings whose pairs they may decide."""
    qs = _reviews_of(access).filter(pk__in=list(review_ids)).exclude(status=ReviewStatus.PENDING)
    return list(qs.select_related("occurrence", "candidate").order_by("pk"))


def review_undo(*, review: LinkReview, user: Any) -> LinkReview:
    """Take a decision back: the pair waits in the queue again. Undoing a confirmation moves
    the raising (and the fixes that went with it) back to the issue it left, brought back if
    it was archived for being empty, and the raising's other pairs that the confirmation
    settled wait again too. A pair settled by another's confirmation is undone through that
    one; a raising moved again since is not moved back (its row's "Change link" is the way)."""
    if review.status == ReviewStatus.PENDING:
        raise ValidationError("That pair is waiting for a decision already.", code="pending")
    if review.settled_by_id is not None:
        raise ValidationError(
            "That pair was kept apart because another issue was confirmed for the same "
            "raising: undo that link instead.",
            code="settled",
        )
    with transaction.atomic():
        occurrence = Occurrence.objects.select_for_update().get(pk=review.occurrence_id)
        if review.status == ReviewStatus.CONFIRMED and review.moved_from_id is not None:
            if occurrence.issue_id != review.candidate_id:
                raise ValidationError(
                    "That raising has been moved to another issue since; change its link "
                    "from its row instead.",
                    code="moved",
                )
            back = Issue.objects.get(pk=review.moved_from_id)
            if back.archived_at is not None and back.merged_into_id is None:
                back.archived_at = None
                history_log.save(back, _author(user), update_fields=["archived_at"])
            occurrence_relink(
                occurrence=occurrence, issue=back, user=user, link_source=LinkSource.NEW
            )
        settled = list(LinkReview.objects.filter(settled_by=review))
        for item in [review, *settled]:
            item.status = ReviewStatus.PENDING
            item.decided_by = item.decided_at = item.moved_from = item.settled_by = None
            history_log.save(
                item,
                _author(user),
                update_fields=["status", "decided_by", "decided_at", "moved_from", "settled_by"],
            )
        live.touch(occurrence.retro_id)
    return review


def rejected_issue_ids(occurrence_id: int) -> set[int]:
    """Issues a person said this occurrence is not a raising of."""
    return set(
        LinkReview.objects.filter(
            occurrence_id=occurrence_id, status=ReviewStatus.REJECTED
        ).values_list("candidate_id", flat=True)
    )


def review_queue_from_board(
    *, occurrence: Occurrence, access: Access | None = None
) -> list[LinkReview]:
    """A raising just logged as a new issue, while earlier issues score in the review band
    or above: the pairs (its best match and the close contenders, as an import queues them)
    wait in the review queue, and the board offers the best on the row, then the next if
    that one is not the same. Empty when nothing plausible exists (or the matcher cannot run:
    the raising stays logged either way). With `access`, the candidates come with the titles
    that person may read (retros.visibility), decided from what the matcher read with them."""
    if occurrence.link_source != LinkSource.NEW or occurrence.item_type != ItemType.PROBLEM:
        return []
    retro = occurrence.retro
    try:
        found = suggest(
            organization=retro.organization,
            text=occurrence.text,
            team=retro.team,
            limit=DEFAULT_WEIGHTS.review_contenders,
            exclude_issue_ids={occurrence.issue_id},  # just logged: nobody has rejected a pair yet
            on=occurrence.held_on,
            min_score=DEFAULT_WEIGHTS.review,
            readable_teams=visibility.readable_teams(access) if access else None,
            retro=retro,
        )
    except EmbeddingUnavailable:
        logger.warning("No review queued for occurrence %s: no model.", occurrence.pk)
        return []
    reviews = [
        LinkReview(
            organization_id=occurrence.organization_id,
            occurrence=occurrence,
            candidate=pair.issue,  # with its title and count, for the board row
            score=round(pair.score, 4),
            reasons=list(pair.reasons),
            source=ReviewSource.BOARD,
        )
        for pair in review_pairs(found)
    ]
    if access is not None:
        visibility.show_titles_read(
            access,
            [review.candidate for review in reviews],
            {pair.issue.pk: pair.provenance for pair in found if pair.provenance is not None},
            teams={pair.issue.pk: pair.teams for pair in found},
        )
    history_log.create_all(reviews)
    return reviews


def pending_review_for(occurrence: Occurrence) -> LinkReview | None:
    """The best pending pair of one raising, for its board row."""
    return pending_reviews_for([occurrence]).first()


def pending_reviews_for(occurrences: Iterable[Occurrence]) -> QuerySet[LinkReview]:
    """The pending pairs of these raisings, each raising's best first, in one query."""
    return (
        LinkReview.objects.filter(occurrence__in=list(occurrences), status=ReviewStatus.PENDING)
        .select_related("candidate")
        .order_by("occurrence_id", "-score", "pk")
    )
