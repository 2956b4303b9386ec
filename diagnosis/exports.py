"""Exports: the dashboard's filtered list as CSV, and the organisation's diagnoses as a
`recur-diagnoses/1` document (docs/history-format.md). Both read in batches, so memory stays
bounded whatever the size of the organisation."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from diagnosis.dashboard import team_names_by_issue
from diagnosis.models import Finding
from retros.models import Fix, Occurrence, Organization
from vocabulary.fixkinds import FIX_KINDS

FORMAT = "recur-diagnoses/1"
BATCH_SIZE = 500

# Cells starting with these are read as formulas by spreadsheets (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """The cell as text, with a leading single quote when a spreadsheet would read it as a
    formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Echo:
    """A file-like object whose write returns the line, for streaming csv rows."""

    def write(self, value: str) -> str:
        return value


CSV_HEADER = (
    "issue_id",
    "title",
    "category",
    "confidence",
    "flagged",
    "status",
    "teams",
    "times_raised",
    "band_aid_fixes",
    "last_seen",
    "first_reason",
    "link",
)


def _batches(findings: QuerySet[Finding], size: int) -> Iterator[list[Finding]]:
    batch: list[Finding] = []
    for finding in findings.iterator(chunk_size=size):
        batch.append(finding)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def csv_rows(findings: QuerySet[Finding], *, link: Any) -> Iterator[str]:
    """The findings as CSV lines (header first); `link(issue_id)` gives each row's URL.
    Team names are read per batch of findings (one query each)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for batch in _batches(findings, BATCH_SIZE):
        teams = team_names_by_issue(f.issue_id for f in batch)
        for finding in batch:
            reasons = finding.reasons or []
            first_reason = reasons[0].get("text", "") if reasons else ""
            row = (
                finding.issue_id,
                finding.issue.title,
                finding.category,
                f"{finding.confidence:.2f}",
                "yes" if finding.flagged else "no",
                finding.status,
                "; ".join(teams.get(finding.issue_id, ())),
                finding.occurrence_count,
                finding.band_aid_fixes,
                finding.last_seen.isoformat() if finding.last_seen else "",
                first_reason,
                link(finding.issue_id),
            )
            yield writer.writerow([csv_safe(cell) for cell in row])


# --- recur-diagnoses/1 ------------------------------------------------------------------------


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _issue_entries(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    ids = [f.issue_id for f in findings]
    items: dict[int, list[str]] = defaultdict(list)
    teams: dict[int, dict[str, None]] = defaultdict(dict)
    counts: dict[int, int] = defaultdict(int)
    first: dict[int, date] = {}
    last: dict[int, date] = {}
    for issue_id, key, team, held_on in (
        Occurrence.objects.live()
        .filter(issue_id__in=ids)
        .order_by("issue_id", "held_on", "id")
        .values_list("issue_id", "import_key", "team__name", "held_on")
    ):
        counts[issue_id] += 1
        if key:
            items[issue_id].append(key)
        teams[issue_id][team] = None
        first.setdefault(issue_id, held_on)
        last[issue_id] = held_on
    fixes: dict[int, list[str]] = defaultdict(list)
    for issue_id, kind in (
        Fix.objects.live().filter(issue_id__in=ids).values_list("issue_id", "kind")
    ):
        fixes[issue_id].append(kind)
    entries = []
    for finding in findings:
        kinds = fixes[finding.issue_id]
        band_aid = sum(1 for k in kinds if k in FIX_KINDS and FIX_KINDS[k].nature == "band_aid")
        entries.append(
            {
                "id": finding.issue_id,
                "title": finding.issue.title,
                "items": items[finding.issue_id],
                "teams": list(teams[finding.issue_id]),
                "occurrences": counts[finding.issue_id],
                "first_seen": _iso(first.get(finding.issue_id)),
                "last_seen": _iso(last.get(finding.issue_id)),
                "fixes": len(kinds),
                "band_aid_fixes": band_aid,
                "structural_fixes": len(kinds) - band_aid,
                "category": finding.category,
                "confidence": round(finding.confidence, 2),
                "flagged": finding.flagged,
                "status": finding.status,
                "reasons": [str(r.get("text", "")) for r in (finding.reasons or [])],
            }
        )
    return entries


def iter_diagnosed_issues(organization: Organization) -> Iterable[dict[str, Any]]:
    """Every live issue of the organisation that has a current finding, by id, in batches
    (three queries per batch)."""
    findings = (
        Finding.objects.filter(
            organization=organization,
            is_current=True,
            issue__archived_at__isnull=True,
            issue__merged_into__isnull=True,
        )
        .select_related("issue")
        .order_by("issue_id")
    )
    for batch in _batches(findings, BATCH_SIZE):
        yield from _issue_entries(batch)


def build_diagnoses_document(organization: Organization) -> dict[str, Any]:
    """The organisation's diagnoses as a `recur-diagnoses/1` document (a JSON-ready dict)."""
    generated_at = timezone.now().astimezone(UTC).replace(microsecond=0)
    return {
        "format": FORMAT,
        "organization": organization.name,
        "generated_at": generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "issues": list(iter_diagnosed_issues(organization)),
    }
