"""A history import survives its worker being killed half-way: the task goes back to the
queue (late acknowledgement, short visibility timeout), a new worker runs it again, and the
result is the same as one clean run: every item once, no duplicates.

Needs a real broker (CELERY_BROKER_URL; CI configures Redis); skipped without one.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
import uuid

import pytest

from retros.models import ImportJob, Occurrence, Organization, Retrospective
from retros.tasks import run_import_job
from tests.worker import broker_configured, running_worker, wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not broker_configured(), reason="no CELERY_BROKER_URL configured"),
]

RETROS = 30
ITEMS_PER_RETRO = 20  # 600 items: several seconds of matching and writing in one transaction


def _document(organization: str) -> dict:
    start = dt.date(2024, 1, 3)
    retros = []
    for r in range(RETROS):
        items = [
            {
                "key": f"i{r}-{k}",
                "text": f"Retro {r} point {k}: the deploy pipeline stalls at step {k * 7 % 13}",
                "votes": k % 4,
            }
            for k in range(ITEMS_PER_RETRO)
        ]
        actions = [{"key": f"a{r}", "item": f"i{r}-0", "text": "Weekly sync", "kind": "meeting"}]
        retros.append(
            {
                "key": f"r{r}",
                "team": "t",
                "held_on": (start + dt.timedelta(days=14 * r)).isoformat(),
                "items": items,
                "actions": actions,
            }
        )
    return {
        "format": "recur-history/1",
        "organization": organization,
        "teams": [{"key": "t", "name": "Platform"}],
        "retrospectives": retros,
    }


def _output(worker) -> str:
    try:
        return worker.stdout.read1().decode(errors="replace")[-3000:]  # type: ignore[union-attr]
    except Exception:  # pragma: no cover - diagnostics only
        return ""


def test_an_import_killed_with_its_worker_completes_exactly_once_on_a_new_worker():
    queue = f"test-crash-{uuid.uuid4().hex[:8]}"
    name = f"Crash Test {queue}"
    org = Organization.objects.create(name=name)
    job = ImportJob.objects.create(
        organization=org, document=_document(name), filename="big.json", total=600
    )
    env = {"CELERY_VISIBILITY_TIMEOUT": "3"}

    with running_worker(queue=queue, extra_env=env) as worker:
        run_import_job.apply_async((job.pk,), queue=queue)
        running = wait_until(
            lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.RUNNING,
            timeout=60,
            interval=0.05,
        )
        assert running, "the worker never started the import:\n" + _output(worker)
        time.sleep(0.5)  # well inside the import's one transaction
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING, "the import finished before the kill"
    # The killed run's transaction never committed: nothing of it is visible.
    assert not Occurrence.objects.filter(organization=org).exists()

    with running_worker(queue=queue, extra_env=env) as worker:
        finished = wait_until(
            lambda: (
                ImportJob.objects.get(pk=job.pk).status
                in (ImportJob.Status.DONE, ImportJob.Status.FAILED)
            ),
            timeout=120,
        )
        assert finished, "the task was not redelivered to the new worker:\n" + _output(worker)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.errors
    assert Occurrence.objects.filter(organization=org).count() == RETROS * ITEMS_PER_RETRO
    assert Retrospective.objects.filter(organization=org).count() == RETROS
    keys = list(Occurrence.objects.filter(organization=org).values_list("import_key", flat=True))
    assert len(keys) == len(set(keys))
    assert job.report["items_created"] == RETROS * ITEMS_PER_RETRO

    # Delivered once more (e.g. a late redelivery): nothing changes.
    assert run_import_job.apply(args=(job.pk,)).get() == ImportJob.Status.DONE
    assert Occurrence.objects.filter(organization=org).count() == RETROS * ITEMS_PER_RETRO
