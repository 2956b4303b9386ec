"""Facilitator and member pages. Every lookup goes through retros.access."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from retros import access as acl
from retros import selectors


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails


@require_GET
def home(request: HtmxRequest) -> HttpResponse:
    access = acl.access_for(request)
    if access.is_leader:
        return redirect("diagnosis:overview")
    teams = list(acl.teams_visible(access)[:2])
    if len(teams) == 1:
        return redirect("retros:team_home", team_id=teams[0].pk)
    return redirect("retros:team_list")


@require_GET
def team_list(request: HtmxRequest) -> HttpResponse:
    access = acl.access_for(request)
    return render(request, "retros/team_list.html", {"teams": selectors.team_list(access)})


@require_GET
def team_home(request: HtmxRequest, team_id: int) -> HttpResponse:
    access = acl.access_for(request)
    team = acl.team_for(access, team_id)
    page = Paginator(selectors.team_retros(team), 20).get_page(request.GET.get("page"))
    return render(request, "retros/team_home.html", {"team": team, "retros": page})


@require_GET
def retro_board(request: HtmxRequest, retro_id: int) -> HttpResponse:
    access = acl.access_for(request)
    retro = acl.retro_for(access, retro_id)
    occurrences = selectors.retro_occurrences(retro)
    return render(request, "retros/retro_board.html", {"retro": retro, "occurrences": occurrences})


@require_GET
def issue_list(request: HtmxRequest) -> HttpResponse:
    access = acl.access_for(request)
    page = Paginator(selectors.issue_list(access), 50).get_page(request.GET.get("page"))
    return render(request, "retros/issue_list.html", {"issues": page})


@require_GET
def issue_detail(request: HtmxRequest, issue_id: int) -> HttpResponse:
    access = acl.access_for(request)
    issue = acl.issue_for(access, issue_id)
    occurrences, fixes = selectors.issue_timeline(issue)
    return render(
        request,
        "retros/issue_detail.html",
        {"issue": issue, "occurrences": occurrences, "fixes": fixes},
    )
