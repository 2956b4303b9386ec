"""Leader pages: the dashboard, finding pages with leaders' actions, root-cause hypotheses,
a team's health, exports and the digest switch. Leaders and admins only (403 for everyone
else in the organisation); objects of another organisation are never found (404)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from diagnosis import actions, charts, dashboard, exports
from diagnosis.forms import (
    AssignOwnerForm,
    ConfirmCategoryForm,
    DashboardFilterForm,
    DismissFlagForm,
    GroupForm,
    HypothesisForm,
    OverrideCategoryForm,
    PeriodForm,
    StructuralFixForm,
)
from diagnosis.models import Hypothesis
from retros import access as acl
from retros import visibility
from retros.models import Issue, Membership, Organization, Role, Team
from retros.partials import HtmxRequest, render_page, wants_partial
from vocabulary.fixkinds import CATEGORIES

# --- Access helpers: every lookup is scoped to the person's organisation -------------------


def _leader(request: HttpRequest) -> acl.Access:
    """These pages, exports and the cached dashboard body show every team's words as stored
    (titles, raisings, reasons): only for people who read every team's words."""
    access = acl.access_for(request)
    acl.require_leader(access)
    if not visibility.sees_every_team(access):
        raise PermissionDenied("Only leaders and admins read every team's words.")
    return access


def _hypothesis_for(access: acl.Access, hypothesis_id: int) -> Hypothesis:
    hypothesis = Hypothesis.objects.filter(
        organization=access.organization, pk=hypothesis_id
    ).first()
    if hypothesis is None:
        raise Http404
    return hypothesis


# --- Overview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    note: str


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{round(share * 100)}%"


def _figures(headline: dashboard.Headline, flagged: int) -> list[Figure]:
    median = headline.median_days_back
    return [
        Figure("Issues raised", str(headline.raised), "raisings in retros in the period"),
        Figure(
            "Recurrences",
            _percent(headline.recurrence_share),
            f"{headline.recurrences} of the raisings had been raised before",
        ),
        Figure("Band-aid loops", str(flagged), "flagged: back after band-aid fixes"),
        Figure(
            "Band-aid fixes",
            _percent(headline.band_aid_share),
            f"{headline.band_aid_fixes} of {headline.fixes} fixes decided",
        ),
        Figure(
            "Days until back",
            "—" if median is None else f"{median:.0f}",
            f"median over {headline.fixes_back} fixes the issue came back after"
            if headline.fixes_back
            else "no fixed issue has come back",
        ),
    ]


def _heat_rows(
    heatmap: dashboard.Heatmap | None, filters: dashboard.Filters, base: str
) -> list[dict[str, Any]]:
    if heatmap is None:
        return []
    rows = []
    for row in heatmap.rows:
        cells = [
            {
                "cell": cell,
                "href": f"{base}?{filters.query(team=cell.team_id, category=cell.category)}",
                "selected": filters.team_id == cell.team_id and filters.category == cell.category,
            }
            for cell in row.cells
        ]
        rows.append(
            {
                "row": row,
                "cells": cells,
                "selected": filters.team_id == row.team_id,
                "href": reverse("diagnosis:team_health", args=[row.team_id])
                + (
                    f"?period={filters.period}"
                    if filters.period != dashboard.DEFAULT_PERIOD
                    else ""
                ),
            }
        )
    return rows


def _digest_enabled(access: acl.Access) -> bool | None:
    """The leader's digest switch; None for roles that receive no digest."""
    if access.role != Role.LEADER:
        return None
    return bool(
        Membership.objects.filter(user_id=access.user_id)
        .values_list("digest_enabled", flat=True)
        .first()
    )


@require_GET
def overview(request: HtmxRequest) -> HttpResponse:
    access = _leader(request)
    org = access.organization
    today = timezone.localdate()
    teams = list(acl.teams_visible(access).order_by("name"))
    filters = DashboardFilterForm(request.GET, teams=teams).filters()
    page_number = request.GET.get("page", "")[:12]
    # The body is the same for every leader of the organisation (it holds no token and no
    # per-person content): rendered once per dashboard version, filters, page and day.
    body = dashboard.cached(
        org,
        "overview-body",
        f"{dashboard.overview_parts(filters, today=today, teams=teams)}:{page_number}",
        lambda: render_to_string(
            "diagnosis/overview.html#dashboard-body",
            _overview_context(org, filters, teams, page_number, today=today),
            request=request,
        ),
    )
    if wants_partial(request):
        response = HttpResponse(body)
        patch_vary_headers(response, ("HX-Request",))
        return response
    # Our own template's output, escaped when it was rendered.
    context = {"dashboard_body": mark_safe(body), "digest_enabled": _digest_enabled(access)}  # noqa: S308
    return render_page(request, "diagnosis/overview.html", "dashboard-body", context)


def _overview_context(
    org: Organization,
    filters: dashboard.Filters,
    teams: list[Team],
    page_number: str,
    *,
    today: date,
) -> dict[str, Any]:
    # Shown unbound with the filters in effect, so defaults and ignored values display right.
    form = DashboardFilterForm(initial=filters.initial(), teams=teams)
    page = Paginator(
        dashboard.flagged_loops(org, filters, today=today), dashboard.PAGE_SIZE
    ).get_page(page_number)
    aggregates = dashboard.overview_aggregates(org, filters, today=today, teams=teams)
    base = reverse("diagnosis:overview")
    team_names = {t.pk: t.name for t in teams}
    return {
        "form": form,
        "filters": filters,
        "filter_team": team_names.get(filters.team_id) if filters.team_id else "",
        "filter_category": CATEGORIES.get(filters.category, ""),
        "page": page,
        "loops": dashboard.finding_rows(list(page.object_list)),
        "figures": _figures(aggregates.headline, page.paginator.count),
        "trend": aggregates.trend,
        "trend_svg": charts.trend_chart(aggregates.trend),
        "heatmap": aggregates.heatmap,
        "heat_rows": _heat_rows(aggregates.heatmap, filters, base),
        "spread": dashboard.spread(org, filters, today=today),
        "query": filters.query(),
    }


@require_POST
def digest_toggle(request: HtmxRequest) -> HttpResponse:
    access = _leader(request)
    if access.role != Role.LEADER:
        raise Http404
    enabled = request.POST.get("enabled") == "on"
    actions.digest_set_enabled(user=request.user, enabled=enabled)  # type: ignore[arg-type]
    if wants_partial(request):
        return render(request, "diagnosis/overview.html#digest-toggle", {"digest_enabled": enabled})
    messages.success(
        request, "Weekly digest switched on." if enabled else "Weekly digest switched off."
    )
    return redirect("diagnosis:overview")


# --- Exports ---------------------------------------------------------------------------------


@require_GET
def export_csv(request: HtmxRequest) -> StreamingHttpResponse:
    """The dashboard's current filtered list of band-aid loops, every page of it."""
    access = _leader(request)
    teams = list(acl.teams_visible(access).order_by("name"))
    filters = DashboardFilterForm(request.GET, teams=teams).filters()
    findings = dashboard.flagged_loops(access.organization, filters, today=timezone.localdate())

    def link(issue_id: int) -> str:
        return request.build_absolute_uri(reverse("diagnosis:finding", args=[issue_id]))

    response = StreamingHttpResponse(
        exports.csv_rows(findings, link=link), content_type="text/csv; charset=utf-8"
    )
    name = f"recur-band-aid-loops-{slugify(access.organization.name)}-{timezone.localdate()}"
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@require_GET
def export_json(request: HtmxRequest) -> HttpResponse:
    """The organisation's diagnoses as a recur-diagnoses/1 document."""
    access = _leader(request)
    document = exports.build_diagnoses_document(access.organization)
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    name = f"recur-diagnoses-{slugify(access.organization.name)}-{timezone.localdate()}"
    response["Content-Disposition"] = f'attachment; filename="{name}.json"'
    return response


# --- Finding page and leaders' actions ------------------------------------------------------


def _finding_forms(
    access: acl.Access, page: dashboard.FindingPage, bound: Mapping[str, django_forms.Form]
) -> dict[str, django_forms.Form]:
    org = access.organization
    category = page.leader_category or (page.finding.category if page.finding else "")
    owner = page.assessment.owner if page.assessment else None
    note = page.assessment.dismiss_note if page.assessment else ""
    initial: dict[str, django_forms.Form] = {
        "override": OverrideCategoryForm(
            prefix="override",
            initial={"category": page.leader_category if page.category_overridden else ""},
        ),
        "dismiss": DismissFlagForm(prefix="dismiss", initial={"note": note}),
        "owner": AssignOwnerForm(
            prefix="owner", organization=org, initial={"owner": owner.pk if owner else None}
        ),
        "fix": StructuralFixForm(
            prefix="fix", organization=org, initial={"kind": _structural_kind_for(category)}
        ),
        "group": GroupForm(prefix="group", organization=org),
    }
    initial.update(bound)
    return initial


def _structural_kind_for(category: str) -> str:
    return {
        "strategy": "strategy",
        "culture": "incentives",
        "interpersonal": "coaching",
        "execution": "infrastructure",
    }.get(category, "strategy")


def _render_finding(
    request: HtmxRequest,
    access: acl.Access,
    issue: Issue,
    *,
    bound: Mapping[str, django_forms.Form] | None = None,
    done: str = "",
) -> HttpResponse:
    page = dashboard.finding_page(issue, access=access, today=timezone.localdate())
    context = {
        "page": page,
        "issue": issue,
        "finding": page.finding,
        "forms": _finding_forms(access, page, bound or {}),
        "categories": CATEGORIES,
        "done": done,
    }
    return render_page(request, "diagnosis/finding.html", "finding-body", context)


@require_GET
def finding(request: HtmxRequest, issue_id: int) -> HttpResponse:
    access = _leader(request)
    return _render_finding(request, access, acl.issue_for(access, issue_id))


# --- Leaders' actions on a finding: one table, one view ----------------------------------------


@dataclass(frozen=True)
class LeaderAction:
    """One leader's action on a finding: the message when done, the service it calls (with
    `issue`, `actor` and the form's fields as keywords) and the form validated first, posted
    under the action's name as prefix. `scoped` forms choose among the organisation's people,
    teams or hypotheses; `route` is the URL segment when it is not the action's name."""

    done: str
    service: Callable[..., object]
    form: Callable[..., django_forms.Form] | None = None
    scoped: bool = False
    route: str = ""


def _group_under(
    *, issue: Issue, actor: Any, hypothesis: Hypothesis | None, new_title: str
) -> Hypothesis:
    """Group the issue under the chosen hypothesis, or a new one of that title."""
    hypothesis = hypothesis or actions.hypothesis_create(
        organization=issue.organization, actor=actor, title=new_title
    )
    return actions.hypothesis_add_issue(hypothesis=hypothesis, issue=issue, actor=actor)


# URL names `diagnosis:finding_<name>`: diagnosis/urls.py builds one URL per row.
LEADER_ACTIONS: dict[str, LeaderAction] = {
    "acknowledge": LeaderAction("Acknowledged.", actions.finding_acknowledge),
    "confirm": LeaderAction(
        "Category confirmed.", actions.assessment_confirm_category, ConfirmCategoryForm
    ),
    "override": LeaderAction(
        "Category set.", actions.assessment_override_category, OverrideCategoryForm
    ),
    "dismiss": LeaderAction("Flag dismissed.", actions.flag_dismiss, DismissFlagForm),
    "restore": LeaderAction("Flag restored.", actions.flag_restore),
    "owner": LeaderAction(
        "Owner assigned.", actions.assessment_assign_owner, AssignOwnerForm, scoped=True
    ),
    "fix": LeaderAction(
        "Structural fix recorded.",
        actions.fix_record_structural,
        StructuralFixForm,
        scoped=True,
        route="fixes",
    ),
    "group": LeaderAction("Grouped under the hypothesis.", _group_under, GroupForm, scoped=True),
}


@require_POST
def finding_action(request: HtmxRequest, issue_id: int, action: str) -> HttpResponse:
    """Validate the action's form and call its service; the finding page again, with the
    form's errors when it was not valid or the service refused it."""
    step = LEADER_ACTIONS[action]
    access = _leader(request)
    issue = acl.issue_for(access, issue_id)
    form = None
    if step.form is not None:
        scope = {"organization": access.organization} if step.scoped else {}
        form = step.form(request.POST, prefix=action, **scope)
        if not form.is_valid():
            return _render_finding(request, access, issue, bound={action: form})
    data = form.cleaned_data if form is not None else {}
    try:
        step.service(issue=issue, actor=request.user, **data)
    except ValidationError as error:
        if form is None:
            raise
        form.add_error(None, error)
        return _render_finding(request, access, issue, bound={action: form})
    if wants_partial(request):
        response = _render_finding(request, access, issue, done=step.done)
        response["HX-Trigger"] = "finding-changed"
        return response
    messages.success(request, step.done)
    return redirect("diagnosis:finding", issue_id=issue.pk)


# --- Hypotheses -------------------------------------------------------------------------------


@require_GET
def hypothesis_list(request: HtmxRequest) -> HttpResponse:
    access = _leader(request)
    page = Paginator(dashboard.hypothesis_list(access.organization), 25).get_page(
        request.GET.get("page")
    )
    return render(
        request, "diagnosis/hypothesis_list.html", {"page": page, "form": HypothesisForm()}
    )


@require_POST
def hypothesis_create(request: HtmxRequest) -> HttpResponse:
    access = _leader(request)
    form = HypothesisForm(request.POST)
    hypothesis = None
    if form.is_valid():
        try:
            hypothesis = actions.hypothesis_create(
                organization=access.organization,
                actor=request.user,  # type: ignore[arg-type]
                **form.cleaned_data,
            )
        except ValidationError as error:
            form.add_error("title", error)
    if hypothesis is None:
        page = Paginator(dashboard.hypothesis_list(access.organization), 25).get_page(1)
        return render(request, "diagnosis/hypothesis_list.html", {"page": page, "form": form})
    messages.success(request, "Hypothesis created. Group issues under it from their findings.")
    return redirect("diagnosis:hypothesis_detail", hypothesis_id=hypothesis.pk)


@require_GET
def hypothesis_detail(request: HtmxRequest, hypothesis_id: int) -> HttpResponse:
    access = _leader(request)
    hypothesis = _hypothesis_for(access, hypothesis_id)
    return _render_hypothesis(request, hypothesis)


def _render_hypothesis(request: HtmxRequest, hypothesis: Hypothesis) -> HttpResponse:
    rows = dashboard.hypothesis_rows(hypothesis)
    teams = sorted({name for _, _, names in rows for name in names})
    context = {
        "hypothesis": hypothesis,
        "rows": rows,
        "teams": teams,
        "categories": CATEGORIES,
    }
    return render_page(request, "diagnosis/hypothesis_detail.html", "hypothesis-issues", context)


@require_POST
def hypothesis_remove_issue(
    request: HtmxRequest, hypothesis_id: int, issue_id: int
) -> HttpResponse:
    access = _leader(request)
    hypothesis = _hypothesis_for(access, hypothesis_id)
    issue = acl.issue_for(access, issue_id)
    actions.hypothesis_remove_issue(
        hypothesis=hypothesis,
        issue=issue,
        actor=request.user,  # type: ignore[arg-type]
    )
    if wants_partial(request):
        return _render_hypothesis(request, hypothesis)
    messages.success(request, "Removed from the hypothesis.")
    return redirect("diagnosis:hypothesis_detail", hypothesis_id=hypothesis.pk)


# --- One team's health -----------------------------------------------------------------------


@require_GET
def team_health(request: HtmxRequest, team_id: int) -> HttpResponse:
    access = _leader(request)
    team = acl.team_for(access, team_id)
    today = timezone.localdate()
    period = PeriodForm(request.GET).period_value()
    form = PeriodForm(initial={"period": period})
    aggregates = dashboard.team_aggregates(access.organization, team, period, today=today)
    findings = dashboard.team_findings(access.organization, team, today=today, period=period)
    page = Paginator(findings, dashboard.PAGE_SIZE).get_page(request.GET.get("page"))
    headline = aggregates.headline
    context = {
        "team": team,
        "form": form,
        "period": period,
        "period_label": dashboard.PERIODS[period][0],
        "page": page,
        "rows": dashboard.finding_rows(list(page.object_list)),
        "headline": headline,
        "recurrence_share": _percent(headline.recurrence_share),
        "band_aid_share": _percent(headline.band_aid_share),
        "trend": aggregates.trend,
        "rate_svg": charts.rate_chart(aggregates.trend, chart_id="team-rate"),
        "trend_svg": charts.trend_chart(aggregates.trend, chart_id="team-trend"),
        "query": f"period={period}" if period != dashboard.DEFAULT_PERIOD else "",
    }
    return render_page(request, "diagnosis/team_health.html", "team-body", context)
