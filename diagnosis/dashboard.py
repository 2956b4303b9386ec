"""Reads for the leadership dashboard: the flagged band-aid loops, headline figures, the team x
category heatmap, the monthly trend, the spread of issues across teams and one team's health.

Lists read the current Finding rows, which carry their counts (occurrences, teams, band-aid
fixes, last seen), so a page of findings costs a fixed number of queries however much history
lies behind it.

Aggregates over occurrences and fixes (headline figures, heatmap, trend), and the rendered
overview itself, are kept in the Django cache for `CACHE_SECONDS`, under a key made of:

- the organisation,
- its dashboard version: a counter in the cache that `dashboard_invalidate` bumps once the
  transaction commits, after every leader action and after every recompute that wrote a
  finding or its counts (new raisings, fixes, merges and archives all end in a recompute),
- today's date (periods are counted back from today), the filters and the teams shown.

Reading a cached page therefore costs two cache reads and no query over the findings. A
stale entry lives at most `CACHE_SECONDS`, and only for changes no recompute saw (a team
renamed, say); old keys simply expire.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import (
    Cast,
    Coalesce,
    ExtractMonth,
    ExtractYear,
    Greatest,
    TruncMonth,
)

from diagnosis.models import Assessment, Finding, FindingStatus, Hypothesis, LeaderAction
from retros import access as acl
from retros.models import Fix, FixStatus, Issue, Occurrence, Organization, Team
from retros.selectors import TimelineEntry, issue_timeline_entries
from vocabulary.dates import day_text
from vocabulary.fixkinds import BAND_AID_KINDS, CATEGORIES, FIX_KINDS

CACHE_SECONDS = 120
PAGE_SIZE = 20
SPREAD_TEAM_COUNT = 3
SPREAD_LIMIT = 10
# Months of trend shown when the period is "all time".
MAX_TREND_MONTHS = 36
# Recency halves the harm of a loop last seen this many months ago.
RECENCY_MONTHS = 6

PERIODS: dict[str, tuple[str, int | None]] = {
    "3m": ("Last 3 months", 3),
    "6m": ("Last 6 months", 6),
    "12m": ("Last 12 months", 12),
    "24m": ("Last 24 months", 24),
    "all": ("All time", None),
}
DEFAULT_PERIOD = "12m"

STRUCTURAL_KINDS = tuple(slug for slug, kind in FIX_KINDS.items() if kind.nature == "structural")


# --- Filters -----------------------------------------------------------------------------------


def month_start(day: date, months_back: int = 0) -> date:
    """The first day of the month `months_back` months before `day`'s month."""
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Filters:
    """The dashboard's filters, as kept in the URL."""

    period: str = DEFAULT_PERIOD
    team_id: int | None = None
    category: str = ""

    @property
    def period_label(self) -> str:
        return PERIODS[self.period][0]

    def start(self, today: date) -> date | None:
        """First day counted: the start of the month `months - 1` months ago (whole months, so
        the trend's first bar is complete)."""
        months = PERIODS[self.period][1]
        return None if months is None else month_start(today, months - 1)

    def params(self, **changes: object) -> dict[str, str]:
        values = {
            "period": self.period,
            "team": "" if self.team_id is None else str(self.team_id),
            "category": self.category,
        }
        values.update({k: "" if v is None else str(v) for k, v in changes.items()})
        return {
            k: v for k, v in values.items() if v and not (k == "period" and v == DEFAULT_PERIOD)
        }

    def query(self, **changes: object) -> str:
        """The query string for these filters (with `changes`), without defaults."""
        return urlencode(self.params(**changes))

    def initial(self) -> dict[str, str]:
        """The filters as a form's initial values."""
        return {
            "period": self.period,
            "team": "" if self.team_id is None else str(self.team_id),
            "category": self.category,
        }

    def token(self) -> str:
        return f"{self.period}:{self.team_id or ''}:{self.category}"


# --- Cache ---------------------------------------------------------------------------------


def _version_key(organization_id: int) -> str:
    return f"dashboard:version:{organization_id}"


def dashboard_invalidate(organization_id: int) -> None:
    """Make every cached aggregate of the organisation stale (bumps its version)."""
    key = _version_key(organization_id)
    if not cache.add(key, 1, None):
        try:
            cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, None)


def cached[T](organization: Organization, name: str, parts: str, build: Callable[[], T]) -> T:
    """`build()`'s value, from the cache while the organisation's dashboard version holds;
    `parts` names everything else the value depends on (filters, date, teams, page)."""
    version = cache.get(_version_key(organization.pk), 0)
    raw = f"{organization.pk}:{version}:{parts}"
    digest = hashlib.sha256(raw.encode()).hexdigest()[:32]
    key = f"dashboard:{name}:{organization.pk}:{digest}"
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, CACHE_SECONDS)
    return value


# --- Flagged band-aid loops (lists of findings) --------------------------------------------


def _harm(today: date) -> ExpressionWrapper:
    """recurrences x teams x recency, with recency = R / (R + months since last seen)."""
    months_ago = Greatest(
        Value(today.year * 12 + today.month)
        - (ExtractYear("last_seen") * 12 + ExtractMonth("last_seen")),
        Value(0),
    )
    recurrences = Greatest(F("occurrence_count") - 1, Value(0))
    return ExpressionWrapper(
        Cast(recurrences * F("team_count"), FloatField())
        * Value(float(RECENCY_MONTHS))
        / (Value(float(RECENCY_MONTHS)) + Cast(months_ago, FloatField())),
        output_field=FloatField(),
    )


def _raised_in_team(team_id: int, start: date | None) -> Exists:
    occurrences = Occurrence.objects.filter(
        issue_id=OuterRef("issue_id"), team_id=team_id, archived_at__isnull=True
    )
    if start is not None:
        occurrences = occurrences.filter(held_on__gte=start)
    return Exists(occurrences)


def current_findings(
    organization: Organization, filters: Filters, *, today: date
) -> QuerySet[Finding]:
    """The organisation's current findings within the filters (period: last seen in it;
    team: raised by that team in it; category: the category leaders see)."""
    start = filters.start(today)
    qs = Finding.objects.filter(organization=organization, is_current=True)
    if start is not None:
        qs = qs.filter(last_seen__gte=start)
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.team_id is not None:
        qs = qs.filter(_raised_in_team(filters.team_id, start))
    return qs


def flagged_loops(
    organization: Organization, filters: Filters, *, today: date
) -> QuerySet[Finding]:
    """Flagged band-aid loops, most harmful first (recurrences x teams x recency)."""
    return (
        current_findings(organization, filters, today=today)
        .filter(flagged=True)
        .select_related("issue")
        .annotate(harm=_harm(today))
        .order_by(F("harm").desc(nulls_last=True), "-last_seen", "-id")
    )


@dataclass(frozen=True)
class FindingRow:
    """A finding as a list shows it."""

    finding: Finding
    teams: tuple[str, ...]

    @property
    def first_reason(self) -> str:
        reasons = self.finding.reasons or []
        return str(reasons[0].get("text", "")) if reasons else ""

    @property
    def why(self) -> str:
        """The finding's one line; a finding written before it had one shows its first
        reason."""
        return self.finding.headline or self.first_reason

    @property
    def issue_id(self) -> int:
        return self.finding.issue_id


def team_names_by_issue(issue_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """Names of the teams that raised each issue: one query for a page of issues."""
    ids = list(issue_ids)
    names: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return {}
    rows = (
        Occurrence.objects.live()
        .filter(issue_id__in=ids)
        .values_list("issue_id", "team__name")
        .order_by("issue_id", "team__name")
        .distinct()
    )
    for issue_id, name in rows:
        names[issue_id].append(name)
    return {issue_id: tuple(team_names) for issue_id, team_names in names.items()}


def finding_rows(findings: Sequence[Finding]) -> list[FindingRow]:
    teams = team_names_by_issue(f.issue_id for f in findings)
    return [FindingRow(f, teams.get(f.issue_id, ())) for f in findings]


def spread(organization: Organization, filters: Filters, *, today: date) -> list[FindingRow]:
    """Issues raised in three or more teams, widest first (two queries)."""
    findings = list(
        current_findings(organization, filters, today=today)
        .filter(team_count__gte=SPREAD_TEAM_COUNT)
        .select_related("issue")
        .order_by("-team_count", "-occurrence_count", "-last_seen", "-id")[:SPREAD_LIMIT]
    )
    return finding_rows(findings)


# --- Aggregates ------------------------------------------------------------------------------


class _Counts(Protocol):
    @property
    def raised(self) -> int: ...
    @property
    def recurrences(self) -> int: ...
    @property
    def fixes(self) -> int: ...
    @property
    def band_aid_fixes(self) -> int: ...


class _Shares:
    """The two rates a leader reads, over a period or a month: None where nothing was
    counted."""

    @property
    def recurrence_share(self: _Counts) -> float | None:
        return self.recurrences / self.raised if self.raised else None

    @property
    def band_aid_share(self: _Counts) -> float | None:
        return self.band_aid_fixes / self.fixes if self.fixes else None


@dataclass(frozen=True)
class Headline(_Shares):
    raised: int = 0
    recurrences: int = 0
    fixes: int = 0
    band_aid_fixes: int = 0
    fixes_back: int = 0  # fixes carried out after which the issue came back
    median_days_back: float | None = None


@dataclass(frozen=True)
class Month(_Shares):
    month: date
    raised: int = 0
    recurrences: int = 0
    band_aid_fixes: int = 0
    structural_fixes: int = 0

    @property
    def fixes(self) -> int:
        return self.band_aid_fixes + self.structural_fixes


@dataclass(frozen=True)
class HeatCell:
    team_id: int
    category: str
    count: int
    level: int  # 0-5, for the cell's shade


@dataclass(frozen=True)
class HeatRow:
    team_id: int
    team: str
    cells: tuple[HeatCell, ...]
    total: int


@dataclass(frozen=True)
class Heatmap:
    categories: tuple[tuple[str, str], ...]
    rows: tuple[HeatRow, ...]
    max_count: int


@dataclass(frozen=True)
class Aggregates:
    headline: Headline
    trend: tuple[Month, ...]
    heatmap: Heatmap | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _earlier_raising() -> Exists:
    """The occurrence's issue was raised before it: the occurrence is a recurrence."""
    return Exists(
        Occurrence.objects.filter(issue_id=OuterRef("issue_id"), archived_at__isnull=True).filter(
            Q(held_on__lt=OuterRef("held_on"))
            | Q(held_on=OuterRef("held_on"), id__lt=OuterRef("id"))
        )
    )


def _filtered(qs: QuerySet, filters: Filters, start: date | None, *, dated_by: str) -> QuerySet:
    """The rows from `start` on (by their `dated_by` date), of the filtered team, of issues
    whose current finding is of the filtered category."""
    if start is not None:
        qs = qs.filter(**{f"{dated_by}__gte": start})
    if filters.team_id is not None:
        qs = qs.filter(team_id=filters.team_id)
    if filters.category:
        qs = qs.filter(issue__findings__is_current=True, issue__findings__category=filters.category)
    return qs


def _occurrences(organization: Organization, filters: Filters, start: date | None) -> QuerySet:
    occurrences = Occurrence.objects.live().problems().filter(organization=organization)
    return _filtered(occurrences, filters, start, dated_by="held_on")


def _fixes(organization: Organization, filters: Filters, start: date | None) -> QuerySet:
    fixes = Fix.objects.live().filter(organization=organization)
    return _filtered(fixes, filters, start, dated_by="decided_on")


def _median_days_back(fixes: QuerySet) -> tuple[int, float | None]:
    """How many carried-out fixes the issue came back after, and the median number of days
    until it did: two queries (a count, then the one or two middle rows), no rows loaded."""
    applied_on = Coalesce("completed_on", "decided_on")
    next_raising = Subquery(
        Occurrence.objects.filter(
            issue_id=OuterRef("issue_id"),
            archived_at__isnull=True,
            held_on__gt=OuterRef("applied_on"),
        )
        .order_by("held_on")
        .values("held_on")[:1]
    )
    came_back = (
        fixes.filter(Q(status=FixStatus.DONE) | Q(outcome__in=["worked", "did_not_work"]))
        .annotate(applied_on=applied_on)
        .annotate(back_on=next_raising)
        .filter(back_on__isnull=False)
        .annotate(
            gap=ExpressionWrapper(F("back_on") - F("applied_on"), output_field=DurationField())
        )
    )
    count = came_back.count()
    if not count:
        return 0, None
    low, high = (count - 1) // 2, count // 2
    gaps = list(came_back.order_by("gap", "id").values_list("gap", flat=True)[low : high + 1])
    days = [g.days if isinstance(g, timedelta) else int(g) for g in gaps]
    return count, sum(days) / len(days)


def _months(first: date, last: date) -> list[date]:
    months = []
    current = month_start(first)
    while current <= last:
        months.append(current)
        current = month_start(current + timedelta(days=32))
    return months


def _build_aggregates(
    organization: Organization, filters: Filters, today: date, *, heatmap_teams: Sequence[Team]
) -> Aggregates:
    """Seven queries whatever the amount of data (eight with the heatmap)."""
    start = filters.start(today)
    occurrences = _occurrences(organization, filters, start)
    fixes = _fixes(organization, filters, start)
    recurrence = Q(_earlier_raising())

    totals = occurrences.aggregate(raised=Count("id"), recurrences=Count("id", filter=recurrence))
    fix_totals = fixes.aggregate(
        total=Count("id"), band_aid=Count("id", filter=Q(kind__in=BAND_AID_KINDS))
    )
    fixes_back, median = _median_days_back(fixes)
    headline = Headline(
        raised=totals["raised"],
        recurrences=totals["recurrences"],
        fixes=fix_totals["total"],
        band_aid_fixes=fix_totals["band_aid"],
        fixes_back=fixes_back,
        median_days_back=median,
    )

    by_month: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in (
        occurrences.annotate(month=TruncMonth("held_on"))
        .values("month")
        .annotate(raised=Count("id"), recurrences=Count("id", filter=recurrence))
        .order_by("month")
    ):
        by_month[_as_date(row["month"])].update(
            raised=row["raised"], recurrences=row["recurrences"]
        )
    for row in (
        fixes.annotate(month=TruncMonth("decided_on"))
        .values("month")
        .annotate(
            band_aid=Count("id", filter=Q(kind__in=BAND_AID_KINDS)),
            structural=Count("id", filter=Q(kind__in=STRUCTURAL_KINDS)),
        )
        .order_by("month")
    ):
        by_month[_as_date(row["month"])].update(
            band_aid_fixes=row["band_aid"], structural_fixes=row["structural"]
        )
    last = month_start(today)
    first = start or (min(by_month) if by_month else last)
    months = _months(max(first, month_start(last, MAX_TREND_MONTHS - 1)), last)
    trend = tuple(Month(m, **by_month.get(m, {})) for m in months)

    heatmap = _heatmap(organization, filters, start, heatmap_teams) if heatmap_teams else None
    return Aggregates(headline=headline, trend=trend, heatmap=heatmap)


def _as_date(value: Any) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def _heatmap(
    organization: Organization, filters: Filters, start: date | None, teams: Sequence[Team]
) -> Heatmap:
    """Active findings per team and category (a team counts an issue it raised in the period).
    Every team and category is shown; the team and category filters only highlight."""
    occurrences = Occurrence.objects.live().filter(
        organization=organization,
        issue__findings__is_current=True,
        issue__findings__status=FindingStatus.ACTIVE,
    )
    if start is not None:
        occurrences = occurrences.filter(held_on__gte=start)
    counts: dict[tuple[int, str], int] = {}
    for row in (
        occurrences.values("team_id", "issue__findings__category")
        .annotate(n=Count("issue_id", distinct=True))
        .order_by()
    ):
        counts[(row["team_id"], row["issue__findings__category"])] = row["n"]
    # The shades scale with the determined categories: a column of undetermined findings
    # (shown in grey) must not make the real signal look faint.
    max_count = max((n for (_, c), n in counts.items() if c != "undetermined"), default=0)
    max_count = max_count or max(counts.values(), default=0)
    categories = tuple(CATEGORIES.items())
    rows = []
    for team in teams:
        cells = tuple(
            HeatCell(team.pk, slug, n, _level(n, max_count))
            for slug, _ in categories
            for n in [counts.get((team.pk, slug), 0)]
        )
        rows.append(HeatRow(team.pk, team.name, cells, sum(c.count for c in cells)))
    return Heatmap(categories, tuple(rows), max_count)


def _level(count: int, max_count: int) -> int:
    if not count or not max_count:
        return 0
    return max(1, min(5, round(5 * count / max_count)))


def overview_parts(filters: Filters, *, today: date, teams: Sequence[Team]) -> str:
    """What the overview shows besides the organisation's data: the day, the filters and
    the teams (names included), for the keys of :func:`cached`."""
    team_token = ",".join(f"{t.pk}:{t.name}" for t in teams)
    return f"{today.isoformat()}:{filters.token()}:{team_token}"


def overview_aggregates(
    organization: Organization, filters: Filters, *, today: date, teams: Sequence[Team]
) -> Aggregates:
    """Headline figures, trend and heatmap, cached (see the module docstring)."""
    return cached(
        organization,
        "overview",
        overview_parts(filters, today=today, teams=teams),
        lambda: _build_aggregates(organization, filters, today, heatmap_teams=teams),
    )


def team_aggregates(
    organization: Organization, team: Team, period: str, *, today: date
) -> Aggregates:
    """One team's health over the period: its raisings, recurrences and fixes per month."""
    filters = Filters(period=period, team_id=team.pk)
    return cached(
        organization,
        "team",
        f"{today.isoformat()}:{filters.token()}",
        lambda: _build_aggregates(organization, filters, today, heatmap_teams=()),
    )


def team_findings(
    organization: Organization, team: Team, *, today: date, period: str
) -> QuerySet[Finding]:
    """Current findings of the issues this team raised in the period, flagged first."""
    filters = Filters(period=period, team_id=team.pk)
    return (
        current_findings(organization, filters, today=today)
        .select_related("issue")
        .order_by("-flagged", F("last_seen").desc(nulls_last=True), "-id")
    )


# --- Finding page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cite:
    """One piece of evidence a reason rests on, resolved to the timeline entry it names."""

    kind: str  # "occurrence" or "fix"
    id: int
    label: str
    anchor: str
    known: bool


@dataclass(frozen=True)
class ReasonView:
    text: str
    cites: tuple[Cite, ...]


@dataclass(frozen=True)
class FindingPage:
    issue: Issue
    finding: Finding | None
    assessment: Assessment | None
    engine_category: str
    engine_flagged: bool
    reasons: tuple[ReasonView, ...]
    history: tuple[Finding, ...]
    flagged_since: Finding | None
    actions: tuple[LeaderAction, ...]
    hypotheses: tuple[Hypothesis, ...]
    timeline: tuple[TimelineEntry, ...]
    occurrences: tuple[Occurrence, ...]
    fixes: tuple[Fix, ...]
    teams: tuple[str, ...]

    @property
    def engine_category_label(self) -> str:
        return CATEGORIES.get(self.engine_category, self.engine_category)

    @property
    def leader_category(self) -> str:
        return self.assessment.category_override if self.assessment else ""

    @property
    def category_overridden(self) -> bool:
        return bool(self.leader_category) and self.leader_category != self.engine_category

    @property
    def flag_dismissed(self) -> bool:
        return bool(self.assessment and self.assessment.flag_dismissed)


HISTORY_LIMIT = 50
ACTIONS_LIMIT = 100


def _cite_label_occurrence(occurrence: Occurrence) -> str:
    return f"{occurrence.team.name}, {day_text(occurrence.held_on)}"


def _cite_label_fix(fix: Fix) -> str:
    text = fix.text if len(fix.text) <= 60 else fix.text[:57] + "..."
    return f'"{text}" ({fix.get_kind_display().lower()}, {day_text(fix.decided_on)})'


def resolve_reasons(
    reasons: Iterable[dict[str, Any]], occurrences: Iterable[Occurrence], fixes: Iterable[Fix]
) -> tuple[ReasonView, ...]:
    """Reasons as stored ({"text", "cites": ["occurrence:12", "fix:3"]}) with each cite
    resolved to the timeline entry it names (unknown ids are shown as no longer recorded)."""
    occurrence_by_id = {o.pk: o for o in occurrences}
    fix_by_id = {f.pk: f for f in fixes}
    views = []
    for reason in reasons:
        cites = []
        for cite in reason.get("cites", []) or []:
            kind, _, raw_id = str(cite).partition(":")
            try:
                cite_id = int(raw_id)
            except ValueError:
                continue
            if kind == "occurrence":
                occurrence = occurrence_by_id.get(cite_id)
                label = _cite_label_occurrence(occurrence) if occurrence else "a removed raising"
                cites.append(Cite(kind, cite_id, label, f"tl-occ-{cite_id}", bool(occurrence)))
            elif kind == "fix":
                fix = fix_by_id.get(cite_id)
                label = _cite_label_fix(fix) if fix else "a removed fix"
                cites.append(Cite(kind, cite_id, label, f"tl-fix-{cite_id}", bool(fix)))
        views.append(ReasonView(str(reason.get("text", "")), tuple(cites)))
    return tuple(views)


def _flagged_since(history: Sequence[Finding]) -> Finding | None:
    """The row where the current flag began: the oldest of the newest run of flagged rows."""
    since = None
    for row in history:  # newest first
        if not row.flagged:
            break
        since = row
    return since


def _engine_view(
    issue: Issue,
    organization: Organization,
    finding: Finding | None,
    assessment: Assessment | None,
    today: date,
) -> tuple[str, bool]:
    """The engine's own category and flag. Without a leader's override they are the finding's;
    with one, the engine is run once more on the issue (the pure engine keeps its own view
    beside the leader's: `engine_category`, `engine_flagged`)."""
    if finding is None:
        return "undetermined", False
    if assessment is None or not (assessment.category_override or assessment.flag_dismissed):
        return finding.category, finding.flagged
    from diagnosis import engine
    from diagnosis.selectors import issue_histories, rules_for

    history = issue_histories([issue.pk]).get(issue.pk)
    if history is None or not history.occurrences:
        return finding.category, finding.flagged
    result = engine.diagnose(history, rules=rules_for(organization), today=today)
    return result.engine_category, result.engine_flagged


def finding_page(issue: Issue, *, access: acl.Access, today: date) -> FindingPage:
    """Everything the finding page shows in a fixed number of queries (five more when a
    leader's override makes the engine run again for its own view)."""
    finding = Finding.objects.filter(issue=issue, is_current=True).first()
    assessment = (
        Assessment.objects.filter(issue=issue).select_related("owner", "acknowledged_by").first()
    )
    history = tuple(
        Finding.objects.filter(issue=issue).order_by("-created_at", "-id")[:HISTORY_LIMIT]
    )
    # Without `access`: leaders read every entry, and relinking stays on the issue page.
    timeline = tuple(issue_timeline_entries(issue))
    occurrences = tuple(e.occurrence for e in timeline if e.occurrence is not None)
    fixes = tuple(e.fix for e in timeline if e.fix is not None)
    engine_category, engine_flagged = _engine_view(
        issue, access.organization, finding, assessment, today
    )
    return FindingPage(
        issue=issue,
        finding=finding,
        assessment=assessment,
        engine_category=engine_category,
        engine_flagged=engine_flagged,
        reasons=resolve_reasons(finding.reasons if finding else [], occurrences, fixes),
        history=history,
        flagged_since=_flagged_since(history),
        actions=tuple(
            LeaderAction.objects.filter(issue=issue).select_related("actor")[:ACTIONS_LIMIT]
        ),
        hypotheses=tuple(issue.hypotheses.filter(archived_at__isnull=True).order_by("title")),
        timeline=timeline,
        occurrences=occurrences,
        fixes=fixes,
        teams=tuple(dict.fromkeys(o.team.name for o in occurrences)),
    )


# --- Hypotheses --------------------------------------------------------------------------------


def hypothesis_list(organization: Organization) -> QuerySet[Hypothesis]:
    return (
        Hypothesis.objects.filter(organization=organization, archived_at__isnull=True)
        .select_related("created_by")
        .annotate(issue_count=Count("issues", distinct=True))
        .order_by("-created_at", "-id")
    )


def hypothesis_choices(organization: Organization) -> QuerySet[Hypothesis]:
    return Hypothesis.objects.filter(organization=organization, archived_at__isnull=True).order_by(
        "title"
    )


def hypothesis_rows(hypothesis: Hypothesis) -> list[tuple[Issue, Finding | None, tuple[str, ...]]]:
    """The grouped issues with their current findings and teams: three queries."""
    issues = list(hypothesis.issues.order_by("-last_seen", "-id")[:1000])
    ids = [i.pk for i in issues]
    findings = {f.issue_id: f for f in Finding.objects.filter(issue_id__in=ids, is_current=True)}
    teams = team_names_by_issue(ids)
    return [(i, findings.get(i.pk), teams.get(i.pk, ())) for i in issues]
