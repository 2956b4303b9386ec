"""A finding whose recompute was lost with its worker is caught up by the periodic sweep.

A change writes a stale marker in its own transaction and queues a recompute; the recompute
clears the marker in its transaction. If the queued task dies with its worker the broker
gives it back only after the visibility timeout (an hour); recompute_stale_findings, run by
beat every few minutes, recomputes the marked issues instead. Here the "lost task" is the
on-commit recompute that a test transaction never runs.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F

from config.celery import app
from diagnosis.models import Finding, PendingRecompute
from diagnosis.tasks import recompute_stale_findings
from retros import services

pytestmark = pytest.mark.django_db


def _current(issue_id: int) -> Finding:
    return Finding.objects.get(issue_id=issue_id, is_current=True)


def test_the_sweep_recomputes_a_finding_whose_task_was_lost_once(
    cast, settings, django_capture_on_commit_callbacks
):
    leader = cast.users["leader"]
    retro = services.retro_start(
        team=cast.team, held_on=dt.date(2026, 3, 4), title="", format="free", user=leader
    )
    with django_capture_on_commit_callbacks(execute=True):
        first = services.occurrence_record(
            retro=retro, text="The deploy pipeline stalls again", user=leader
        )
    issue_id = first.issue_id
    assert _current(issue_id).occurrence_count == 1
    assert not PendingRecompute.objects.exists()  # the recompute cleared its marker

    # A second raising whose queued recompute is lost (its on-commit task never runs).
    services.occurrence_record(
        retro=retro, text="Deploys stall", user=leader, link_to_issue=first.issue
    )
    assert _current(issue_id).occurrence_count == 1  # stale
    assert PendingRecompute.objects.filter(issue_id=issue_id).exists()

    # A change younger than RECUR_STALE_AFTER_SECONDS is left to its own task ...
    assert recompute_stale_findings.delay().get() == 0
    assert _current(issue_id).occurrence_count == 1
    # ... an older one is recomputed by the sweep.
    PendingRecompute.objects.update(
        requested_at=F("requested_at") - dt.timedelta(seconds=settings.RECUR_STALE_AFTER_SECONDS)
    )
    assert recompute_stale_findings.delay().get() == 1
    assert _current(issue_id).occurrence_count == 2
    assert not PendingRecompute.objects.exists()

    # Running it again changes nothing.
    rows = Finding.objects.count()
    assert recompute_stale_findings.delay().get() == 0
    assert Finding.objects.count() == rows and _current(issue_id).occurrence_count == 2


def test_beat_runs_the_sweep_every_few_minutes(settings):
    entries = [
        entry
        for entry in app.conf.beat_schedule.values()
        if entry["task"] == "diagnosis.tasks.recompute_stale_findings"
    ]
    assert len(entries) == 1
    assert entries[0]["schedule"] <= dt.timedelta(minutes=10)
    assert settings.RECUR_STALE_AFTER_SECONDS <= 10 * 60
