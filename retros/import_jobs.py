"""Import jobs: a previewed, confirmed, background history import that can be undone.

A job belongs to the organisation chosen when it is created (the importer's own), by id;
the import writes there whatever organisation the document names. The job keeps the parsed,
validated document in canonical form, never the uploaded bytes.

Imports never run inside a web request. With a broker a worker runs them; without one (the
embedded default) they run in a background thread of the process that queued them. Either
way the import is one transaction, so its rows stay invisible until it commits: the live
progress and the heartbeat go through the cache (shared between processes when CACHE_URL is
set), and the job row records the start and the outcome. A running job silent for
RECUR_IMPORT_STALE_SECONDS is marked failed with the reason when it is next looked at; its
transaction never committed, so nothing was written.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connections, transaction
from django.db.models import Q
from django.utils import timezone

from diagnosis.tasks import schedule_recompute
from retros.importing import LEDGER_KINDS, history_import
from retros.models import (
    Fix,
    ImportJob,
    Issue,
    IssueMerge,
    LinkReview,
    Membership,
    Occurrence,
    Organization,
    Retrospective,
    Team,
)
from retros.services import issue_refresh_stats
from vocabulary.history import (
    HistoryDocument,
    HistoryValidationError,
    dump_history,
    parse_history,
)

logger = logging.getLogger(__name__)

_PROGRESS_KEY = "import:progress:{}"
Status = ImportJob.Status

# Jobs running in a thread of this process, by id (the embedded default).
_threads: dict[int, threading.Thread] = {}
_one_at_a_time = threading.Lock()


class ImportUndoRefused(Exception):
    """The import cannot be undone without losing someone's later work; says why."""


# --- creating and starting ------------------------------------------------------------------


def import_job_create(
    *,
    organization: Organization,
    doc: HistoryDocument,
    filename: str,
    user: Any,
    confirmed: bool = False,
) -> ImportJob:
    """A job for `doc` into `organization`: waiting for confirmation, or queued at once when
    `confirmed` (the command line). Only the parsed content is stored."""
    job = ImportJob.objects.create(
        organization=organization,
        document=dump_history(doc),
        filename=filename[:255],
        status=Status.QUEUED if confirmed else Status.PREVIEW,
        total=sum(len(r.items) for r in doc.retrospectives),
        created_by=user if user is not None and user.is_authenticated else None,
    )
    if confirmed:
        transaction.on_commit(lambda: import_job_start(job.pk))
    return job


def import_job_confirm(*, job: ImportJob) -> bool:
    """Queue a previewed job; False when it was not waiting for confirmation."""
    queued = ImportJob.objects.filter(pk=job.pk, status=Status.PREVIEW).update(status=Status.QUEUED)
    if queued:
        transaction.on_commit(lambda: import_job_start(job.pk))
    return bool(queued)


def import_job_start(job_id: int) -> None:
    """Hand a queued job to a worker, or, without a broker, to a background thread."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        from retros.tasks import run_import_job

        run_import_job.delay(job_id)
        return
    thread = threading.Thread(
        target=_run_in_thread, args=(job_id,), name=f"recur-import-{job_id}", daemon=True
    )
    _threads[job_id] = thread
    thread.start()


def import_job_wait(job_id: int, *, timeout: float | None = None) -> bool:
    """Wait for a job running in a thread of this process; True while it still runs there."""
    thread = _threads.get(job_id)
    if thread is None:
        return False
    thread.join(timeout)
    return thread.is_alive()


def _run_in_thread(job_id: int) -> None:
    try:
        with _one_at_a_time:  # SQLite takes one writer at a time; imports wait their turn
            import_job_run(job_id)
    finally:
        _threads.pop(job_id, None)
        connections.close_all()  # this thread's connections


# --- running --------------------------------------------------------------------------------


def import_job_run(job_id: int) -> str:
    """Run a queued job (the body of the task). Safe to run twice: a finished job is left
    alone, and so is one whose import is still running (it holds the job's row on
    PostgreSQL, the database's write lock on SQLite). A running job nobody holds lost its
    worker: this run takes it over. The claim is checked again when the import commits, so
    a job marked failed or taken over meanwhile writes nothing."""
    now = timezone.now()
    job = _claim(job_id, now)
    if job is None:
        current = ImportJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
        return current or "missing"
    if job.organization_id is None:
        return _fail(job_id, now, ["This import names no organisation; upload the file again."])
    key = _PROGRESS_KEY.format(job_id)

    def progress(done: int, total: int) -> None:
        cache.set(key, (done, total, time.time()), timeout=settings.RECUR_IMPORT_STALE_SECONDS * 4)

    try:
        with transaction.atomic():
            # Hold the job's row (PostgreSQL): a sweep skips a job whose import is alive.
            mine = ImportJob.objects.select_for_update().filter(
                pk=job_id, status=Status.RUNNING, started_at=now
            )
            if mine.first() is None:
                raise _Abandoned
            report = history_import(
                parse_history(job.document), organization=job.organization, progress=progress
            )
            finished = mine.update(
                status=Status.DONE,
                report=report.as_dict(),
                created=report.created,
                processed=report.items_created + report.items_skipped,
                heartbeat_at=timezone.now(),
                finished_at=timezone.now(),
            )
            if not finished:
                raise _Abandoned
    except _Abandoned:
        return ImportJob.objects.get(pk=job_id).status
    except HistoryValidationError as error:
        return _fail(job_id, now, [str(e) for e in error.errors])
    except Exception as error:
        logger.exception("Import %s failed", job_id)
        return _fail(
            job_id,
            now,
            [f"The import stopped with an error ({type(error).__name__}); nothing was written."],
        )
    finally:
        cache.delete(key)
    return Status.DONE


def _claim(job_id: int, now: dt.datetime) -> ImportJob | None:
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update(skip_locked=True)
            .filter(pk=job_id, status__in=[Status.QUEUED, Status.RUNNING])
            .first()
        )
        if job is None:
            return None
        ImportJob.objects.filter(pk=job_id).update(
            status=Status.RUNNING, started_at=now, heartbeat_at=now
        )
    job.status, job.started_at, job.heartbeat_at = Status.RUNNING, now, now
    return job


class _Abandoned(Exception):
    """The job was marked failed (or claimed again) while this import ran."""


def _fail(job_id: int, started_at: dt.datetime, errors: list[str]) -> str:
    ImportJob.objects.filter(pk=job_id, status=Status.RUNNING, started_at=started_at).update(
        status=Status.FAILED, errors=errors, finished_at=timezone.now()
    )
    return Status.FAILED


def import_job_progress(job: ImportJob) -> tuple[int, int]:
    """(processed, total) of a job; a running import reports through the cache."""
    if job.status == Status.RUNNING:
        live = import_job_live_progress(job.pk)
        if live:
            return live
    return job.processed, job.total


def import_job_live_progress(job_id: int) -> tuple[int, int] | None:
    """(processed, total) reported by a running import, None before its first report."""
    live = cache.get(_PROGRESS_KEY.format(job_id))
    return (live[0], live[1]) if live else None


def import_job_fail_if_stale(*, job: ImportJob) -> ImportJob:
    """Mark a running job failed, with the reason, when it has shown no sign of life for
    RECUR_IMPORT_STALE_SECONDS (its worker or process stopped). Returns the job as it is
    now."""
    if job.status != Status.RUNNING or job.pk in _threads:
        return job
    limit = settings.RECUR_IMPORT_STALE_SECONDS
    last = job.heartbeat_at or job.started_at or job.created_at
    live = cache.get(_PROGRESS_KEY.format(job.pk))
    if live:
        last = max(last, dt.datetime.fromtimestamp(live[2], tz=dt.UTC))
    if timezone.now() - last < dt.timedelta(seconds=limit):
        return job
    minutes = max(1, round(limit / 60))
    reason = (
        f"The import stopped: no progress for over {minutes} minute{'s' if minutes > 1 else ''}"
        " (the process running it ended). Nothing was written; import the file again."
    )
    try:
        with transaction.atomic():
            row = (
                ImportJob.objects.select_for_update(skip_locked=True)
                .filter(pk=job.pk, status=Status.RUNNING, started_at=job.started_at)
                .first()
            )
            if row is not None:  # None: its import holds the row, so it is alive
                ImportJob.objects.filter(pk=row.pk).update(
                    status=Status.FAILED, errors=[reason], finished_at=timezone.now()
                )
    except OperationalError:  # SQLite: an import holds the database; it is alive
        return job
    job.refresh_from_db()
    return job


def import_jobs_fail_stale(*, organization: Organization) -> None:
    """The sweep: every silent running job of an organisation marked failed."""
    for job in ImportJob.objects.filter(organization=organization, status=Status.RUNNING):
        import_job_fail_if_stale(job=job)


# --- undo -----------------------------------------------------------------------------------


def import_job_undo(*, job: ImportJob, user: Any) -> None:
    """Remove exactly what the import created: its rows, the team keys it set, and its links
    into earlier issues (whose counts and dates are recomputed). Rows it only reused stay.

    Refused, with the reason, when people have since built on what it created (raisings,
    fixes or retros added to it, edits, merges, leaders' notes): an undo never takes anyone's
    later work with it."""
    with transaction.atomic():
        row = ImportJob.objects.select_for_update().get(pk=job.pk)
        if row.status != Status.DONE or row.organization_id is None:
            raise ImportUndoRefused("Only a finished import can be undone.")
        org_id: int = row.organization_id
        created = {kind: [int(i) for i in row.created.get(kind, [])] for kind in LEDGER_KINDS}
        _check_undo(org_id, created)
        occurrences = Occurrence.objects.filter(
            organization_id=org_id, pk__in=created["occurrences"]
        )
        fixes = Fix.objects.filter(organization_id=org_id, pk__in=created["fixes"])
        # Earlier issues that hold the import's raisings or fixes (linked, or moved since).
        refresh = (
            set(created["linked_issues"])
            | set(occurrences.values_list("issue_id", flat=True))
            | set(fixes.values_list("issue_id", flat=True))
        ) - set(created["issues"])
        LinkReview.objects.filter(
            Q(occurrence_id__in=created["occurrences"]) | Q(candidate_id__in=created["issues"]),
            organization_id=org_id,
        ).delete()
        fixes.delete()
        occurrences.delete()
        Issue.objects.filter(organization_id=org_id, pk__in=created["issues"]).delete()
        Retrospective.objects.filter(organization_id=org_id, pk__in=created["retros"]).delete()
        Team.objects.filter(organization_id=org_id, pk__in=created["teams"]).delete()
        Team.objects.filter(organization_id=org_id, pk__in=created["keyed_teams"]).update(
            import_key=""
        )
        # The change history of rows that no longer exist, the import's and the undo's.
        for model, kind in (
            (Occurrence, "occurrences"),
            (Fix, "fixes"),
            (Issue, "issues"),
            (LinkReview, "reviews"),
        ):
            model.history.filter(id__in=created[kind]).delete()  # type: ignore[attr-defined]
        LinkReview.history.filter(  # type: ignore[attr-defined]
            Q(occurrence_id__in=created["occurrences"]) | Q(candidate_id__in=created["issues"])
        ).delete()
        issue_refresh_stats(issue_ids=refresh)
        schedule_recompute(refresh)
        _invalidate_matcher(org_id)
        ImportJob.objects.filter(pk=row.pk).update(
            status=Status.UNDONE,
            undone_at=timezone.now(),
            undone_by=user if user is not None and user.is_authenticated else None,
        )


def _invalidate_matcher(organization_id: int) -> None:
    from retros.search import invalidate

    invalidate(organization_id)


# Apps that build on recorded issues register here (from their AppConfig.ready) a check that,
# given the ids of issues an import created, says what people did with them since, or "".
# diagnosis registers its leaders' assessments, actions and hypotheses; recording never
# imports interpretation.
undo_guards: list[Callable[[list[int]], str]] = []


def _check_undo(org_id: int, created: dict[str, list[int]]) -> None:
    issues, retros, teams = created["issues"], created["retros"], created["teams"]
    problems: list[str] = []
    on_created = Q(organization_id=org_id) & (
        Q(issue_id__in=issues) | Q(retro_id__in=retros) | Q(team_id__in=teams)
    )
    later_raisings = (
        Occurrence.objects.filter(on_created).exclude(pk__in=created["occurrences"]).count()
    )
    if later_raisings:
        problems.append(f"{later_raisings} item(s) were added since to what it created")
    later_fixes = Fix.objects.filter(on_created).exclude(pk__in=created["fixes"]).count()
    if later_fixes:
        problems.append(f"{later_fixes} fix(es) were recorded since on what it created")
    later_retros = (
        Retrospective.objects.filter(organization_id=org_id, team_id__in=teams)
        .exclude(pk__in=retros)
        .count()
    )
    if later_retros:
        problems.append(f"{later_retros} retro(s) were held since by teams it created")
    if IssueMerge.objects.filter(Q(source_id__in=issues) | Q(target_id__in=issues)).exists():
        problems.append("issues it created were merged since")
    if Membership.teams.through.objects.filter(team_id__in=teams).exists():
        problems.append("people were added to teams it created")
    edited = sum(
        model.history.filter(id__in=created[kind], history_type="~").count()  # type: ignore[attr-defined]
        for model, kind in (
            (Occurrence, "occurrences"),
            (Fix, "fixes"),
            (Issue, "issues"),
            (LinkReview, "reviews"),
        )
    )
    if edited:
        problems.append(f"{edited} change(s) were made since to what it created")
    problems.extend(found for guard in undo_guards if (found := guard(issues)))
    if problems:
        raise ImportUndoRefused(
            "This import cannot be undone without losing later work: "
            + "; ".join(problems)
            + ". Undo later imports first, or change those by hand."
        )
