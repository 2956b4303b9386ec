"""Celery tasks for diagnosis. Thin: take ids, call one service, safe to run twice."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

# Changes to one issue within this many seconds share one recompute: the first change queues
# a task that runs after the window, so it sees every change made inside it.
_PENDING_KEY = "diagnosis:recompute-pending:{}"
DEBOUNCE_SECONDS = 3


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def recompute_issue_findings(issue_ids: list[int]) -> int:
    from diagnosis.services import finding_recompute_many

    return finding_recompute_many(issue_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def recompute_all_organizations() -> int:
    """Nightly: every organisation's findings, which also catches quiet periods ending."""
    from diagnosis.services import finding_recompute_organization
    from retros.models import Organization

    return sum(finding_recompute_organization(org) for org in Organization.objects.all())


@shared_task(acks_late=True, reject_on_worker_lost=True)
def recompute_stale_findings(batch_size: int = 500) -> int:
    """Every few minutes (beat): recompute the findings of issues changed more than
    STALE_AFTER_SECONDS ago and not recomputed since, e.g. because the worker that held
    their task died (the broker gives it back only after its visibility timeout)."""
    from diagnosis.models import PendingRecompute
    from diagnosis.services import finding_recompute_many

    cutoff = timezone.now() - timedelta(seconds=settings.RECUR_STALE_AFTER_SECONDS)
    ids = sorted(
        set(
            PendingRecompute.objects.filter(requested_at__lte=cutoff).values_list(
                "issue_id", flat=True
            )
        )
    )
    for start in range(0, len(ids), batch_size):
        finding_recompute_many(ids[start : start + batch_size])
    return len(ids)


def schedule_recompute(issue_ids: Iterable[int]) -> None:
    """Recompute these issues' findings once the current transaction commits.

    Each issue gets a stale marker in the current transaction, which the recompute clears;
    one whose task is lost is picked up by recompute_stale_findings. With a broker, an issue
    that already has a recompute queued within the debounce window is skipped (deduplication
    when many changes arrive at once). In-process (no broker) the work runs right after the
    commit."""
    from diagnosis.models import PendingRecompute

    ids = sorted({int(i) for i in issue_ids})
    if not ids:
        return
    PendingRecompute.objects.bulk_create([PendingRecompute(issue_id=i) for i in ids])
    if settings.CELERY_TASK_ALWAYS_EAGER:
        transaction.on_commit(lambda: recompute_issue_findings.apply(args=(ids,)))
        return
    fresh = [i for i in ids if cache.add(_PENDING_KEY.format(i), 1, DEBOUNCE_SECONDS)]
    if fresh:
        transaction.on_commit(
            lambda: recompute_issue_findings.apply_async((fresh,), countdown=DEBOUNCE_SECONDS)
        )


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=60,
    max_retries=5,
)
def send_weekly_digests() -> int:
    """Weekly: the digest e-mail to every leader who wants it, at most once per ISO week
    (see diagnosis.digest for the delivery guarantee)."""
    from diagnosis.digest import digest_send_weekly

    return digest_send_weekly()
