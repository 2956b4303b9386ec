"""Celery tasks for retros: background history imports."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_import_job(job_id: int) -> str:
    """Idempotent: a finished job, or one running with a recent heartbeat, is left alone,
    and the import itself is idempotent, so a worker killed mid-import re-runs it safely
    (the killed run's transaction never committed)."""
    from retros.import_jobs import import_job_run

    return import_job_run(job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def write_matcher_snapshot(organization_id: int) -> int:
    """Save the organisation's matcher index as its snapshot (after a web process had to
    read every row to load it); returns the rows saved. Safe to run twice: the newer of two
    snapshots is kept."""
    from retros import snapshot

    try:
        saved = snapshot.write(organization_id)
    finally:
        snapshot.written(organization_id)
    return saved.rows if saved is not None else 0
