"""Celery tasks for retros: background history imports and (re)embedding."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from retros.models import ImportJob

_PROGRESS_KEY = "import:progress:{}"


def import_job_enqueue(*, document: Any, filename: str, user: Any) -> ImportJob:
    """Store the document and queue its import (in-process: right after the commit)."""
    retros = document.get("retrospectives", []) if isinstance(document, dict) else []
    items = sum(len(r.get("items", []) or []) for r in retros if isinstance(r, dict))
    job = ImportJob.objects.create(
        document=document,
        filename=filename[:255],
        total=items,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    transaction.on_commit(lambda: run_import_job.delay(job.pk))
    return job


def import_job_progress(job: ImportJob) -> tuple[int, int]:
    """(processed, total) of a job. While the import's transaction is open its rows are not
    visible to others, so a running import reports progress through the cache."""
    if job.status == ImportJob.Status.RUNNING:
        live = cache.get(_PROGRESS_KEY.format(job.pk))
        if live:
            return live
    return job.processed, job.total


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_import_job(job_id: int) -> str:
    """Idempotent: a finished job is left alone, and the import itself is idempotent, so a
    worker killed mid-import re-runs it safely (the killed run's transaction never
    committed)."""
    from retros.history.schema import HistoryValidationError
    from retros.importing import history_import

    job = ImportJob.objects.get(pk=job_id)
    if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        return job.status
    ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.RUNNING)
    key = _PROGRESS_KEY.format(job_id)

    def progress(done: int, total: int) -> None:
        cache.set(key, (done, total), timeout=3600)

    try:
        report = history_import(job.document, progress=progress)
    except HistoryValidationError as error:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            errors=[str(e) for e in error.errors],
            finished_at=timezone.now(),
        )
        return ImportJob.Status.FAILED
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.DONE,
        report=report.as_dict(),
        processed=report.items_created + report.items_skipped,
        organization_id=report.organization_id,
        finished_at=timezone.now(),
    )
    cache.delete(key)
    return ImportJob.Status.DONE
