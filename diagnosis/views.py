"""Leader pages: the recurrence dashboard and finding detail."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from diagnosis.models import Finding
from retros import access as acl


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    access = acl.access_for(request)
    acl.require_leader(access)
    findings = (
        Finding.objects.filter(organization=access.organization, is_current=True, flagged=True)
        .select_related("issue")
        .order_by("-occurrence_count", "-last_seen")
    )
    page = Paginator(findings, 25).get_page(request.GET.get("page"))
    return render(request, "diagnosis/overview.html", {"findings": page})
