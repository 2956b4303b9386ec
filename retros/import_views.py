"""Uploading a history file in the browser: validated at once, previewed, imported in the
background with visible progress once confirmed, undoable as a whole. Leaders and admins
import into their own organisation only: the job is bound to it by id when it is created."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retros import access as acl
from retros.import_jobs import (
    ImportUndoRefused,
    import_job_confirm,
    import_job_create,
    import_job_fail_if_stale,
    import_job_progress,
    import_job_undo,
    import_jobs_fail_stale,
)
from retros.importing import import_plan, report_lines
from retros.models import ImportJob
from vocabulary.history import HistoryDocument, HistoryValidationError, parse_history
from vocabulary.spreadsheet import SpreadsheetError, is_spreadsheet, read_spreadsheet


def _importer(request: HttpRequest) -> acl.Access:
    access = acl.access_for(request)
    if not access.is_leader:
        raise PermissionDenied("Only leaders and admins can import history.")
    return access


@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    access = _importer(request)
    errors: list[str] = []
    limit = settings.RECUR_IMPORT_MAX_BYTES
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors.append("Choose a recur-history/1 JSON file, or a spreadsheet, to import.")
        elif upload.size and upload.size > limit:
            errors.append(
                f"The file is {filesizeformat(upload.size)} and the limit is "
                f"{filesizeformat(limit)}: split it into smaller files, or import it with "
                "manage.py import_history."
            )
        else:
            try:
                doc = _read_upload(upload.read(), upload.name or "", access, limit)
            except (HistoryValidationError, SpreadsheetError) as error:
                errors = [str(e) for e in error.errors]
                if error.omitted:
                    errors.append(f"… and {error.omitted} more")
            else:
                job = import_job_create(
                    organization=access.organization,
                    doc=doc,
                    filename=upload.name or "",
                    user=request.user,
                )
                return redirect("imports:detail", job_id=job.pk)
    import_jobs_fail_stale(organization=access.organization)
    recent = ImportJob.objects.filter(organization=access.organization).only(
        "id", "filename", "status", "created_at", "total", "processed"
    )[:10]
    return render(
        request,
        "retros/import_start.html",
        {"errors": errors, "recent": recent, "limit": limit},
        status=400 if errors else 200,
    )


def _read_upload(raw: bytes, filename: str, access: acl.Access, limit: int) -> HistoryDocument:
    """A history file as it is, or a spreadsheet (CSV, .xlsx) read into one for the
    signed-in organisation (vocabulary.spreadsheet): both are then checked alike."""
    if not is_spreadsheet(filename):
        return parse_history(raw, max_bytes=limit)
    name = access.organization.name
    return parse_history(read_spreadsheet(raw, filename, organization=name), max_bytes=limit)


def _names_another_organization(job: ImportJob, access: acl.Access) -> bool:
    named = str(job.document.get("organization", ""))
    return named.strip().casefold() != access.organization.name.strip().casefold()


def _detail(
    request: HttpRequest, access: acl.Access, job: ImportJob, *, error: str = ""
) -> HttpResponse:
    job = import_job_fail_if_stale(job=job)
    processed, total = import_job_progress(job)
    percent = int(100 * processed / total) if total else 0
    plan = None
    if job.status == ImportJob.Status.PREVIEW:
        plan = import_plan(organization=access.organization, doc=parse_history(job.document))
    context = {
        "job": job,
        "plan": plan,
        "other_organization": _names_another_organization(job, access),
        "confirm_error": error,
        "processed": processed,
        "total": total,
        "percent": percent,
        "report": report_lines(job.report) if job.report else [],
        "finished": job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING),
    }
    template = "retros/import_detail.html"
    if getattr(request, "htmx", False) and not error:
        template += "#progress"
    return render(request, template, context, status=400 if error else 200)


@require_GET
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    access = _importer(request)
    return _detail(request, access, acl.import_job_for(access, job_id))


@require_POST
def import_confirm(request: HttpRequest, job_id: int) -> HttpResponse:
    """Start a previewed import. A file that names another organisation is imported here
    only when the person says so."""
    access = _importer(request)
    job = acl.import_job_for(access, job_id)
    if job.status != ImportJob.Status.PREVIEW:
        return _detail(request, access, job, error="This import is not waiting to be started.")
    if _names_another_organization(job, access) and not request.POST.get("anyway"):
        return _detail(
            request,
            access,
            job,
            error=(
                f"This file is the history of “{job.document.get('organization', '')}”. "
                f"Tick “Import into {access.organization.name} anyway” to import it here, "
                "or upload your own organisation's file."
            ),
        )
    import_job_confirm(job=job)
    messages.success(request, "The import has started.")
    return redirect("imports:detail", job_id=job.pk)


@require_POST
def import_undo(request: HttpRequest, job_id: int) -> HttpResponse:
    access = _importer(request)
    job = acl.import_job_for(access, job_id)
    try:
        import_job_undo(job=job, user=request.user)
    except ImportUndoRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "The import was undone: everything it created is removed.")
    return redirect("imports:detail", job_id=job.pk)
