"""Reads for diagnosis: an issue's history as the engine's input."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any, cast

from diagnosis.engine import FixFact, IssueHistory, OccurrenceFact, Override
from diagnosis.models import Assessment, Hypothesis, LeaderAction
from retros.models import Fix, Issue, Occurrence, Organization, Retrospective, Team
from vocabulary.rules import DEFAULT_RULES, Rules

logger = logging.getLogger(__name__)


def issue_histories(issue_ids: Iterable[int]) -> dict[int, IssueHistory]:
    """Engine inputs for many issues in a fixed number of queries (six, whatever the count)."""
    ids = list(issue_ids)
    if not ids:
        return {}
    issues = {
        i.pk: i for i in Issue.objects.filter(pk__in=ids).only("id", "title", "organization_id")
    }
    org_ids = {issue.organization_id for issue in issues.values()}
    org_teams: dict[int, list[str]] = defaultdict(list)
    for org_id, name in Team.objects.filter(organization_id__in=org_ids).values_list(
        "organization_id", "name"
    ):
        org_teams[org_id].append(name)
    occurrences: dict[int, list[OccurrenceFact]] = defaultdict(list)
    team_ids: dict[int, set[int]] = defaultdict(set)
    team_names: dict[int, str] = {}
    for occ in (
        Occurrence.objects.live()
        .problems()  # appreciation is never diagnosed: an issue of praise has no history
        .filter(issue_id__in=ids)
        .select_related("team")
        .only("id", "issue_id", "held_on", "text", "team_id", "team__name")
        .order_by("held_on", "id")
    ):
        team_names[occ.team_id] = occ.team.name
        team_ids[occ.issue_id].add(occ.team_id)
        occurrences[occ.issue_id].append(
            OccurrenceFact(id=str(occ.pk), held_on=occ.held_on, team=occ.team.name, text=occ.text)
        )
    fixes: dict[int, list[FixFact]] = defaultdict(list)
    for fix in (
        Fix.objects.live()
        .filter(issue_id__in=ids)
        .select_related("team")
        .order_by("decided_on", "id")
    ):
        team_name = fix.team.name if fix.team is not None else ""
        if fix.team_id:
            team_names[fix.team_id] = team_name
            team_ids[fix.issue_id].add(fix.team_id)
        fixes[fix.issue_id].append(
            FixFact(
                id=str(fix.pk),
                decided_on=fix.decided_on,
                team=team_name,
                text=fix.text,
                kind=fix.kind,
                status=cast(Any, fix.status),
                outcome=cast(Any, fix.outcome or None),
                completed_on=fix.completed_on,
                due_on=fix.due_on,
            )
        )
    all_team_ids = set().union(*team_ids.values()) if team_ids else set()
    retro_dates: dict[int, list[date]] = defaultdict(list)
    for team_id, held_on in (
        Retrospective.objects.filter(team_id__in=all_team_ids)
        .order_by("held_on")
        .values_list("team_id", "held_on")
    ):
        retro_dates[team_id].append(held_on)
    overrides = {
        a.issue_id: Override(
            category=a.category_override or None,
            flag_dismissed=a.flag_dismissed,
            note=a.dismiss_note,
        )
        for a in Assessment.objects.filter(issue_id__in=ids)
    }
    return {
        issue_id: IssueHistory(
            title=issue.title,
            occurrences=tuple(occurrences[issue_id]),
            fixes=tuple(fixes[issue_id]),
            team_retro_dates={team_names[t]: tuple(retro_dates[t]) for t in team_ids[issue_id]},
            override=overrides.get(issue_id),
            organisation_teams=tuple(org_teams[issue.organization_id]),
        )
        for issue_id, issue in issues.items()
    }


def leaders_worked_on(issue_ids: list[int]) -> str:
    """Whether leaders assessed, acted on or hypothesised about any of these issues: an import
    that created them cannot be undone without losing that work (retros.import_jobs asks)."""
    worked = (
        Assessment.objects.filter(issue_id__in=issue_ids).exists()
        or LeaderAction.objects.filter(issue_id__in=issue_ids).exists()
        or Hypothesis.issues.through.objects.filter(issue_id__in=issue_ids).exists()
    )
    return "leaders have worked on issues it created" if worked else ""


def rules_for(organization: Organization) -> Rules:
    """The organisation's rules: the defaults with its validated overrides."""
    try:
        return DEFAULT_RULES.with_overrides(organization.rules_overrides or {})
    except ValueError:
        logger.exception("Ignoring invalid rule overrides of %s", organization)
        return DEFAULT_RULES
