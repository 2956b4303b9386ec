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
