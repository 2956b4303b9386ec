"""A real Celery worker against the configured broker runs work enqueued on commit.

Skipped only when no broker is configured (the embedded default); CI configures Redis.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from diagnosis.models import Finding
from diagnosis.tasks import schedule_recompute
from tests.factories import OccurrenceFactory
from tests.worker import broker_configured, running_worker, wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not broker_configured(), reason="no CELERY_BROKER_URL configured"),
]


def test_a_recompute_enqueued_on_commit_runs_in_a_real_worker(settings):
    with running_worker(queue="test-on-commit") as worker:
        settings.CELERY_TASK_DEFAULT_QUEUE = "test-on-commit"
        with transaction.atomic():
            occurrence = OccurrenceFactory(text="Staging was down for two days")
            schedule_recompute([occurrence.issue_id])
            # Nothing is sent before the commit.
            assert not Finding.objects.filter(issue=occurrence.issue).exists()
        found = wait_until(lambda: Finding.objects.filter(issue=occurrence.issue).exists())
        if not found:
            output = worker.stdout.read1().decode() if worker.stdout else ""  # type: ignore[attr-defined]
            pytest.fail(f"the worker did not write a finding; its output:\n{output[-3000:]}")
    finding = Finding.objects.get(issue=occurrence.issue, is_current=True)
    assert finding.category == "undetermined"


def test_a_fix_saved_in_a_request_updates_the_finding_through_a_real_worker(settings, cast):
    """The whole path: a facilitator records a band-aid fix on the board, the request
    commits and enqueues the recompute, a real worker writes the new finding."""
    from django.urls import reverse

    from diagnosis.services import finding_recompute_many
    from tests.factories import RetrospectiveFactory

    retro = RetrospectiveFactory(team=cast.team)
    occurrence = OccurrenceFactory(retro=retro, text="Releases slip because scope keeps changing")
    finding_recompute_many([occurrence.issue_id])
    before = Finding.objects.get(issue=occurrence.issue, is_current=True)
    assert before.band_aid_fixes == 0

    with running_worker(queue="test-fix-request") as worker:
        settings.CELERY_TASK_DEFAULT_QUEUE = "test-fix-request"
        response = cast.clients["facilitator"].post(
            reverse("retros:fix_create", args=[occurrence.pk]),
            {
                "text": "Weekly scope review meeting",
                "kind": "meeting",
                "kind_source": "person",
                "owner": "Dana",
            },
        )
        assert response.status_code in (200, 302)
        updated = wait_until(
            lambda: Finding.objects.filter(
                issue=occurrence.issue, is_current=True, band_aid_fixes=1
            ).exists()
        )
        if not updated:
            output = worker.stdout.read1().decode() if worker.stdout else ""  # type: ignore[attr-defined]
            pytest.fail(f"the worker did not update the finding; its output:\n{output[-3000:]}")
    after = Finding.objects.get(issue=occurrence.issue, is_current=True)
    assert after.pk != before.pk
    assert any("Weekly scope review meeting" in r["text"] for r in after.reasons)
