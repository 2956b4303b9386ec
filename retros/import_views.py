"""Uploading a history file in the browser: validated at once, imported in the background
with visible progress. Leaders and admins import into their own organisation only."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from retros import access as acl
from retros.history.schema import HistoryValidationError, parse_history
from retros.importing import report_lines
from retros.models import ImportJob
from retros.tasks import import_job_enqueue, import_job_progress

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _importer(request: HttpRequest) -> acl.Access:
    access = acl.access_for(request)
    if not access.is_leader:
        raise PermissionDenied("Only leaders and admins can import history.")
    return access


@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    access = _importer(request)
    errors: list[str] = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors.append("Choose a recur-history/1 JSON file to import.")
        elif upload.size and upload.size > MAX_UPLOAD_BYTES:
            errors.append("The file is larger than 50 MB; import it with the command line.")
        else:
            raw = upload.read()
            try:
                parse_history(raw)
            except HistoryValidationError as error:
                errors = [str(e) for e in error.errors]
                if error.omitted:
                    errors.append(f"… and {error.omitted} more")
            else:
                document = json.loads(raw)
                # Always into the importer's own organisation, whatever the file says.
                document["organization"] = access.organization.name
                job = import_job_enqueue(
                    document=document, filename=upload.name or "", user=request.user
                )
                messages.success(request, "The file is valid; the import has started.")
                return redirect("imports:detail", job_id=job.pk)
    recent = ImportJob.objects.filter(organization=access.organization).only(
        "id", "filename", "status", "created_at", "total", "processed"
    )[:10]
    return render(
        request,
        "retros/import_start.html",
        {"errors": errors, "recent": recent},
        status=400 if errors else 200,
    )


@require_GET
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    access = _importer(request)
    job = ImportJob.objects.filter(pk=job_id).first()
    mine = job is not None and (
        job.organization_id == access.organization.pk
        or (
            job.organization_id is None
            and job.document.get("organization") == access.organization.name
        )
    )
    if job is None or not mine:
        raise Http404
    processed, total = import_job_progress(job)
    percent = int(100 * processed / total) if total else 0
    context = {
        "job": job,
        "processed": processed,
        "total": total,
        "percent": percent,
        "report": report_lines(job.report) if job.report else [],
        "finished": job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED),
    }
    template = "retros/import_detail.html"
    if getattr(request, "htmx", False):
        template += "#progress"
    return render(request, template, context)
