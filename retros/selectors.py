"""Reads for pages: every query a view needs, scoped by retros.access and with its joins
decided here so templates never trigger lazy queries."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from retros.access import Access, issues_visible, teams_visible
from retros.models import Fix, Issue, Occurrence, Retrospective, Team


def team_list(access: Access) -> QuerySet[Team]:
    return teams_visible(access).annotate(
        retro_count=Count("retrospectives", distinct=True),
        open_fix_count=Count(
            "fixes", filter=Q(fixes__status="open", fixes__archived_at=None), distinct=True
        ),
    )


def team_retros(team: Team) -> QuerySet[Retrospective]:
    return (
        team.retrospectives.select_related("facilitator")
        .order_by("-held_on", "-id")
        .annotate(occurrence_count=Count("occurrences", filter=Q(occurrences__archived_at=None)))
    )


def retro_occurrences(retro: Retrospective) -> QuerySet[Occurrence]:
    return retro.occurrences.live().select_related("issue").order_by("id")


def issue_list(access: Access) -> QuerySet[Issue]:
    return issues_visible(access).live().filter(merged_into=None)


def issue_timeline(issue: Issue) -> tuple[list[Occurrence], list[Fix]]:
    occurrences = list(issue.occurrences.live().select_related("team", "retro"))
    fixes = list(issue.fixes.live().select_related("team", "retro"))
    return occurrences, fixes
