"""Replay a `recur-history/1` document through the engine, grouping items by their `same_as`
truth. Pure: takes the parsed JSON, returns engine inputs; used by the example tests and by
the evaluation command.

Conventions:
- an issue is a chain of items linked by `same_as` (in either direction, transitively);
- a fix belongs to the issue of the item it names; it was decided on its retro's date, by its
  retro's team; a missing `kind` is inferred from the text;
- `team_retro_dates` lists every retro of every team in the file (the engine picks the
  involved teams), so quiet periods count retros where the issue could have come back;
- `document_as_of` is the date of the last retro in the file: a history is judged as of the
  last day it knows about, never as of a later day it cannot speak for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from diagnosis.engine import FixFact, IssueHistory, OccurrenceFact
from matching.fixkind import infer_fix_kind

FORMAT = "recur-history/1"


@dataclass(frozen=True)
class ReplayedIssue:
    """One true issue of a history document: its item keys (in date order) and its history."""

    items: tuple[str, ...]
    history: IssueHistory


def document_as_of(document: Mapping[str, Any]) -> date:
    """The date of the last retro in the document."""
    retros = document.get("retrospectives") or []
    if not retros:
        raise ValueError("retrospectives: the document holds no retrospective.")
    return max(date.fromisoformat(r["held_on"]) for r in retros)


def issues_from_document(document: Mapping[str, Any]) -> tuple[ReplayedIssue, ...]:
    """The document's issues by `same_as` truth, in order of first raising."""
    if document.get("format") != FORMAT:
        raise ValueError(f"format: expected {FORMAT!r}, got {document.get('format')!r}.")
    team_names = {t["key"]: t["name"] for t in document.get("teams", [])}
    retros = sorted(document.get("retrospectives", []), key=lambda r: (r["held_on"], r["key"]))
    occurrences: dict[str, OccurrenceFact] = {}
    links: list[tuple[str, str]] = []
    fixes: list[tuple[str, FixFact]] = []
    retro_dates: dict[str, list[date]] = {}
    for index, retro in enumerate(retros):
        team = team_names.get(retro["team"])
        if team is None:
            raise ValueError(f"retrospectives[{index}].team: unknown team {retro['team']!r}.")
        held_on = date.fromisoformat(retro["held_on"])
        retro_dates.setdefault(team, []).append(held_on)
        for item in retro.get("items", []):
            occurrences[item["key"]] = OccurrenceFact(item["key"], held_on, team, item["text"])
            if item.get("same_as"):
                links.append((item["key"], item["same_as"]))
        for action in retro.get("actions", []):
            fixes.append((action["item"], _fix(action, held_on, team)))

    groups = _group(list(occurrences), links)
    all_teams = tuple(team_names.values())
    retro_map = {team: tuple(sorted(set(dates))) for team, dates in retro_dates.items()}
    fixes_by_root: dict[str, list[FixFact]] = {}
    for item, fix in fixes:
        if item not in groups:
            raise ValueError(f"actions[{fix.id}].item: unknown item {item!r}.")
        fixes_by_root.setdefault(groups[item], []).append(fix)

    members: dict[str, list[OccurrenceFact]] = {}
    for key, occurrence in occurrences.items():
        members.setdefault(groups[key], []).append(occurrence)
    issues = []
    for root, items in members.items():
        items.sort(key=lambda o: (o.held_on, o.id))
        history = IssueHistory(
            title=items[0].text,
            occurrences=tuple(items),
            fixes=tuple(fixes_by_root.get(root, ())),
            team_retro_dates=retro_map,
            organisation_teams=all_teams,
        )
        issues.append(ReplayedIssue(tuple(o.id for o in items), history))
    issues.sort(key=lambda i: (i.history.occurrences[0].held_on, i.items[0]))
    return tuple(issues)


def _fix(action: Mapping[str, Any], decided_on: date, team: str) -> FixFact:
    kind = action.get("kind") or infer_fix_kind(action["text"]).kind
    return FixFact(
        id=action["key"],
        decided_on=decided_on,
        team=team,
        text=action["text"],
        kind=kind,
        status=action.get("status") or "open",
        outcome=action.get("outcome") or None,
        completed_on=_date(action.get("completed_on")),
        due_on=_date(action.get("due_on")),
    )


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _group(keys: Sequence[str], links: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Union-find over `same_as` links: item key -> key of its group's root."""
    parent = {key: key for key in keys}

    def find(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for item, same_as in links:
        if same_as not in parent:
            raise ValueError(f"items[{item}].same_as: unknown item {same_as!r}.")
        a, b = find(item), find(same_as)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return {key: find(key) for key in keys}
