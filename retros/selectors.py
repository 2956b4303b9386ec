"""Reads for pages: every query a view needs, scoped by retros.access and with its joins
decided here so templates never trigger lazy queries."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from diagnosis.models import Finding
from retros import pagination, visibility
from retros.access import Access, issues_visible, teams_visible
from retros.models import (
    Fix,
    FixStatus,
    Issue,
    IssueMerge,
    ItemType,
    LinkReview,
    Occurrence,
    Retrospective,
    ReviewStatus,
    Team,
)
from vocabulary.fixkinds import BAND_AID_KINDS, FIX_KINDS

# Fixes reviewed at the top of a retro: every open one, and those completed this recently.
REVIEW_COMPLETED_WITHIN = dt.timedelta(days=60)


# --- Teams -----------------------------------------------------------------------------------


def team_list(access: Access) -> QuerySet[Team]:
    return teams_visible(access).annotate(
        retro_count=Count("retrospectives", distinct=True),
        open_fix_count=Count(
            "fixes", filter=Q(fixes__status="open", fixes__archived_at=None), distinct=True
        ),
    )


def team_retros(team: Team) -> QuerySet[Retrospective]:
    """A team's retros, newest first, with how many problems each raised (what went well
    is not an issue raised)."""
    # A subquery per retro on the page, rather than grouping a join with all their raisings.
    raised = (
        Occurrence.objects.filter(
            retro=OuterRef("pk"), archived_at=None, item_type=ItemType.PROBLEM
        )
        .values("retro")
        .annotate(n=Count("*"))
        .values("n")
    )
    return (
        team.retrospectives.select_related("facilitator")
        .order_by("-held_on", "-id")
        .annotate(occurrence_count=Coalesce(Subquery(raised, output_field=IntegerField()), 0))
    )


def team_open_fixes(team: Team) -> QuerySet[Fix]:
    """What the team still has to do, soonest due first."""
    return (
        Fix.objects.live()
        .filter(team=team, status=FixStatus.OPEN)
        .select_related("issue")
        .order_by("due_on", "decided_on", "id")
    )


# A team's problems with how often the team raised each, the most raised first, and the
# list's length, in one statement. The team's live raisings are counted in one pass over
# their index (team, issue) and each counted issue is then read by its key: 744 issues of a
# team in an organisation of 19,683 in 2.7 ms, where counting in a subquery per issue (and
# first reading the ids in a query of their own) took 8 ms. On PostgreSQL the issues are
# read through a LATERAL subquery that the planner cannot merge into a hash join, which
# would read all of the organisation's issues (5 ms). Issues of praise are left out by a
# small partial index (occurrence_praise_live): an issue's raisings are all of one type.
_TEAM_ISSUES_SQL = """
SELECT i.*, c.raised_here, COUNT(*) OVER () AS {total}
FROM (
    SELECT issue_id, COUNT(*) AS raised_here FROM retros_occurrence
    WHERE team_id = %s AND archived_at IS NULL GROUP BY issue_id
) c
{join_issue}
WHERE i.organization_id = %s AND i.archived_at IS NULL AND i.merged_into_id IS NULL
  AND NOT EXISTS (
    SELECT 1 FROM retros_occurrence p
    WHERE p.issue_id = i.id AND p.archived_at IS NULL AND p.item_type = %s
  )
ORDER BY c.raised_here DESC, i.last_seen DESC, i.id DESC
LIMIT %s OFFSET %s
"""
_LATERAL_ISSUE = "CROSS JOIN LATERAL (SELECT * FROM retros_issue WHERE id = c.issue_id OFFSET 0) i"
_JOINED_ISSUE = "JOIN retros_issue i ON i.id = c.issue_id"


def team_issue_page(team: Team, number: object, per_page: int = 15) -> Page:
    """The page numbered ``number`` (as :func:`retros.pagination.page_of`) of the problems
    raised in this team, the most often raised here first, then the latest seen. Each issue
    carries ``raised_here`` (the team's live raisings of it); ``occurrence_count`` and
    ``team_count`` are the whole organisation's. Praise is left out (:func:`team_went_well`
    counts it)."""
    sql = _TEAM_ISSUES_SQL.format(
        total=pagination.TOTAL,
        join_issue=_LATERAL_ISSUE if connection.vendor == "postgresql" else _JOINED_ISSUE,
    )

    def fetch(start: int, stop: int) -> list[Issue]:
        params = [team.pk, team.organization_id, ItemType.APPRECIATION.value, stop - start, start]
        return list(Issue.objects.raw(sql, params))

    return pagination.page_of(fetch, per_page, number)


def _has_praise() -> Exists:
    """Whether an issue (the outer query's row) has a live raising of praise. An issue's
    raisings are all of one type (``services.issue_item_type``) and praise is rare: this
    tells praise from problems, through a small partial index (``occurrence_praise_live``)."""
    return Exists(
        Occurrence.objects.live().filter(issue_id=OuterRef("pk"), item_type=ItemType.APPRECIATION)
    )


def team_went_well(team: Team) -> int:
    """How many things that went well this team logged (issues of praise; a partial index
    finds them)."""
    return (
        Occurrence.objects.live()
        .filter(team=team, item_type=ItemType.APPRECIATION)
        .values("issue_id")
        .distinct()
        .count()
    )


# --- Retro board -----------------------------------------------------------------------------


@dataclass
class BandAidHistory:
    count: int = 0
    since: dt.date | None = None


@dataclass
class BoardRow:
    """One raised issue on the board, with what the facilitator needs beside it."""

    occurrence: Occurrence
    earlier_raisings: int = 0
    earlier_last_seen: dt.date | None = None
    fixes_here: list[Fix] = field(default_factory=list)
    band_aids: BandAidHistory = field(default_factory=BandAidHistory)
    fixes_before: int = 0
    # An earlier issue this raising may be, waiting in the review queue.
    pending_review: LinkReview | None = None

    @property
    def is_recurrence(self) -> bool:
        return self.earlier_raisings > 0


@dataclass
class Board:
    retro: Retrospective
    rows: list[BoardRow]
    review: list[Fix]
    archived: list[Occurrence]

    @property
    def problems(self) -> list[BoardRow]:
        """The rows that raise a problem: what the board counts as issues raised."""
        return [row for row in self.rows if row.occurrence.item_type == ItemType.PROBLEM]

    @property
    def went_well(self) -> list[BoardRow]:
        """The rows of praise: kept and listed, never counted as an issue raised."""
        return [row for row in self.rows if row.occurrence.item_type != ItemType.PROBLEM]

    @property
    def recurrence_count(self) -> int:
        """Problems raised before (praise is never a recurrence of a problem)."""
        return sum(1 for row in self.problems if row.is_recurrence)

    @property
    def fixes_decided(self) -> list[Fix]:
        return [fix for row in self.rows for fix in row.fixes_here]


#: Archived raisings the board lists for undo, the most recently archived first.
BOARD_ARCHIVED_SHOWN = 10


def retro_occurrences(retro: Retrospective) -> tuple[list[Occurrence], list[Occurrence]]:
    """The retro's live raisings in the order logged, and its last archived ones, in one
    query (a retro holds tens of items: splitting them here costs less than a second query)."""
    # Not the vector: 1.5 kB a row that no page shows.
    rows = retro.occurrences.select_related("issue").defer("embedding").order_by("id")
    live = [o for o in rows if o.archived_at is None]
    archived = [(o.archived_at, o) for o in rows if o.archived_at is not None]
    archived.sort(key=lambda pair: pair[0], reverse=True)
    return live, [o for _at, o in archived[:BOARD_ARCHIVED_SHOWN]]


def board_rows(retro: Retrospective, occurrences: list[Occurrence]) -> list[BoardRow]:
    """Rows for these occurrences of the retro: three queries whatever their number (earlier
    raisings of their issues; the issues' fixes; pending possible recurrences)."""
    rows = [BoardRow(occurrence=o) for o in occurrences]
    issue_ids = {o.issue_id for o in occurrences}
    if not issue_ids:
        return rows
    earlier = (
        Occurrence.objects.live()
        .filter(issue_id__in=issue_ids)
        .exclude(retro_id=retro.pk)
        .filter(Q(held_on__lt=retro.held_on) | Q(held_on=retro.held_on, retro_id__lt=retro.pk))
        .order_by()
        .values("issue_id")
        .annotate(n=Count("id"), last=Max("held_on"))
    )
    earlier_by_issue = {row["issue_id"]: row for row in earlier}
    pending: dict[int, LinkReview] = {}
    for review in (
        LinkReview.objects.filter(
            occurrence_id__in=[o.pk for o in occurrences], status=ReviewStatus.PENDING
        )
        .select_related("candidate")
        .order_by("score", "pk")  # the best pair of each raising is written last
    ):
        pending[review.occurrence_id] = review
    fixes_by_issue: dict[int, list[Fix]] = defaultdict(list)
    for fix in Fix.objects.live().filter(issue_id__in=issue_ids).order_by("decided_on", "id"):
        fixes_by_issue[fix.issue_id].append(fix)
    for row in rows:
        occ = row.occurrence
        row.pending_review = pending.get(occ.pk)
        found = earlier_by_issue.get(occ.issue_id)
        if found:
            row.earlier_raisings, row.earlier_last_seen = found["n"], found["last"]
        for fix in fixes_by_issue[occ.issue_id]:
            if fix.retro_id == retro.pk:
                row.fixes_here.append(fix)
                continue
            if fix.decided_on > retro.held_on:
                continue
            row.fixes_before += 1
            if fix.kind in BAND_AID_KINDS:
                row.band_aids.count += 1
                if row.band_aids.since is None or fix.decided_on < row.band_aids.since:
                    row.band_aids.since = fix.decided_on
    # An issue raised twice on one board gets its fixes listed once, under its first row.
    listed: set[int] = set()
    for row in rows:
        if row.occurrence.issue_id in listed:
            row.fixes_here = []
        listed.add(row.occurrence.issue_id)
    return rows


def review_fixes(retro: Retrospective) -> QuerySet[Fix]:
    """The team's earlier fixes to review at the top of a retro: every open one and those
    completed in the last 60 days, oldest decision first."""
    # A date stored before the sane range existed may sit at the calendar's edge, where
    # subtracting would overflow: the cutoff then clamps to the first representable day.
    reference = min(retro.held_on, timezone.localdate())
    cutoff = max(reference, dt.date.min + REVIEW_COMPLETED_WITHIN) - REVIEW_COMPLETED_WITHIN
    return (
        Fix.objects.live()
        .filter(team_id=retro.team_id)
        .exclude(retro_id=retro.pk)
        .filter(Q(status=FixStatus.OPEN) | Q(completed_on__gte=cutoff))
        .select_related("issue")
        .order_by("decided_on", "id")
    )


def retro_board(retro: Retrospective, *, access: Access | None = None) -> Board:
    """Everything the retro board shows, in five queries whatever the amount of data: the
    occurrences with their issues (live, and the recently archived for undo), earlier
    raisings, pending review pairs, the issues' fixes, the fixes to review; and one or two
    for the issue titles the person may read (retros.visibility: an issue this team raised
    may carry another team's words). Without `access` (the summary) issues get no display
    title."""
    occurrences, archived = retro_occurrences(retro)
    rows = board_rows(retro, occurrences)
    review = list(review_fixes(retro))
    if access is not None:
        issues = [o.issue for o in occurrences + archived] + [f.issue for f in review]
        issues += [r.pending_review.candidate for r in rows if r.pending_review]
        visibility.show_titles(access, issues)
    return Board(retro=retro, rows=rows, review=review, archived=archived)


def board_row(occurrence: Occurrence, *, access: Access) -> BoardRow:
    """One row of the board, after a change to it, its issue with its display title."""
    row = board_rows(occurrence.retro, [occurrence])[0]
    pending = [row.pending_review.candidate] if row.pending_review else []
    visibility.show_titles(access, [occurrence.issue, *pending])
    return row


def new_issue_row(
    occurrence: Occurrence, *, queued: Sequence[LinkReview], access: Access
) -> BoardRow:
    """The row of a raising just logged as a new issue: the issue has no other raising and
    no fix yet, and its pending pairs are the ones just ``queued``, their candidates loaded
    and titled for `access` (review.review_queue_from_board), so nothing needs reading: the
    issue's title is decided from the raising just written."""
    best = max(queued, key=lambda review: (review.score, review.pk), default=None)
    issue = occurrence.issue
    seen = occurrence.text if access.sees_team(occurrence.team_id) else None
    written = visibility.Provenance(issue.title, issue.title_team_id, issue.title_renamed, 1, seen)
    visibility.show_titles_read(access, [issue], {issue.pk: written})
    if best is not None and not hasattr(best.candidate, visibility.DISPLAY):
        visibility.show_titles(access, [best.candidate])  # queued without `access`
    return BoardRow(occurrence=occurrence, pending_review=best)


# --- Retro summary ---------------------------------------------------------------------------


@dataclass
class RetroSummary:
    raised: int
    recurrences: int
    fixes_decided: int
    markdown: str
    line_count: int


def retro_summary(board: Board) -> RetroSummary:
    """What the retro raised and decided, with a Markdown version to paste elsewhere. Every
    piece of text a person typed is escaped so that it renders as text."""
    retro = board.retro
    problems = board.problems
    heading = f"{retro.team.name} retro"
    if retro.title:
        heading += f": {retro.title}"
    lines = [
        f"# {md_inline(heading)}",
        "",
        f"{retro.held_on:%Y-%m-%d} · {md_inline(retro.get_format_display())}",
        "",
        f"**{_count(len(problems), 'issue')} raised"
        f" ({_count(board.recurrence_count, 'recurrence')}),"
        f" {_count(len(board.fixes_decided), 'fix', 'fixes')} decided.**",
        "",
        "## Issues raised",
        "",
    ]
    if not problems:
        lines.append("None.")
    for row in problems:
        occ = row.occurrence
        line = f"- {md_inline(occ.text)}"
        details = [_count(occ.votes, "vote")]
        if row.is_recurrence:
            nth = row.earlier_raisings + 1
            details.append(f"raised for the {nth}{_ordinal(nth)} time")
        if row.band_aids.count:
            band_aids = _count(row.band_aids.count, "band-aid fix", "band-aid fixes")
            details.append(f"{band_aids} tried before")
        lines.append(f"{line} ({', '.join(details)})")
    if board.went_well:
        lines += ["", "## Went well", ""]
        for row in board.went_well:
            lines.append(
                f"- {md_inline(row.occurrence.text)} ({_count(row.occurrence.votes, 'vote')})"
            )
    lines += ["", "## Fixes decided", ""]
    if not board.fixes_decided:
        lines.append("None.")
    for fix in board.fixes_decided:
        kind = FIX_KINDS[fix.kind]
        nature = "band-aid" if kind.nature == "band_aid" else "structural"
        parts = [f"{md_inline(kind.label)} ({nature})"]
        if fix.owner:
            parts.append(f"owner: {md_inline(fix.owner)}")
        if fix.due_on:
            parts.append(f"due {fix.due_on:%Y-%m-%d}")
        lines.append(f"- {md_inline(fix.text)} · {' · '.join(parts)}")
    reviewed = [fix for fix in board.review if fix.outcome or fix.status != FixStatus.OPEN]
    if reviewed:
        lines += ["", "## Earlier fixes reviewed", ""]
        for fix in reviewed:
            state = fix.get_outcome_display() if fix.outcome else "no outcome yet"
            lines.append(f"- {md_inline(fix.text)}: {fix.get_status_display().lower()}, {state}")
    return RetroSummary(
        raised=len(problems),
        recurrences=board.recurrence_count,
        fixes_decided=len(board.fixes_decided),
        markdown="\n".join(lines) + "\n",
        line_count=len(lines) + 1,
    )


def _count(n: int, singular: str, plural: str = "") -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


# Characters with a meaning anywhere in a line of Markdown (CommonMark and GitHub's tables,
# strikethrough); a backslash before any ASCII punctuation renders it literally.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>!|~&])")
# Markers that mean something at the start of a line (headings, lists, quotes, rules).
_MD_LINE_START = re.compile(r"^(\s*)([#+=>-]|\d+(?=[.)]))")


def md_inline(text: str) -> str:
    """Text a person typed, as one line of Markdown that renders as exactly that text."""
    one_line = " ".join(text.split())
    escaped = _MD_INLINE.sub(r"\\\1", one_line)
    return _MD_LINE_START.sub(_escape_line_start, escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    marker = match.group(2)
    if marker.isdigit():
        return f"{match.group(1)}{marker}\\"  # "1." -> "1\." (the dot follows)
    return f"{match.group(1)}\\{marker}"


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


# --- Editing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Archived:
    """When a row was archived and by whom (a name, or "" when no person did it)."""

    at: dt.datetime
    by: str


def archived_record(row: Occurrence | Fix) -> Archived | None:
    """Who archived `row`, from its history: the earliest version that carries its current
    archived_at. None when the row is live."""
    if row.archived_at is None:
        return None
    version = (
        row.history.filter(archived_at=row.archived_at)  # type: ignore[attr-defined]
        .select_related("history_user")
        .order_by("history_date", "history_id")
        .first()
    )
    person = version.history_user if version is not None else None
    name = (person.get_full_name() or person.get_username()) if person is not None else ""
    return Archived(at=row.archived_at, by=name)


# --- Issues ----------------------------------------------------------------------------------


#: What the issue list shows (``IssueFilters.show``): each choice and its label.
ISSUE_SHOW = {
    "problems": "Problems",
    "flagged": "Band-aid loops",
    "appreciation": "Went well",
    "all": "Everything",
}
#: How the issue list is ordered (``IssueFilters.sort``): each choice, its label and its order.
ISSUE_SORT = {
    "recent": ("Last seen", ("-last_seen", "-id")),
    "raised": ("Most raised", ("-occurrence_count", "-last_seen", "-id")),
    "teams": ("Most teams", ("-team_count", "-occurrence_count", "-last_seen", "-id")),
}


@dataclass(frozen=True)
class IssueFilters:
    """What a person asked the issue list for: words to search (only in what they may
    read), which issues (problems by default: praise is kept, never listed as a problem),
    one team's, and the order."""

    q: str = ""
    show: str = "problems"
    team_id: int | None = None
    sort: str = "recent"

    @property
    def narrowed(self) -> bool:
        """Anything but the plain list of problems: the list says so and offers to clear."""
        return bool(self.q or self.team_id or self.show != "problems")

    def initial(self) -> dict[str, str]:
        """The filters as a form's initial values."""
        team = "" if self.team_id is None else str(self.team_id)
        return {"q": self.q, "show": self.show, "team": team, "sort": self.sort}

    def query(self) -> str:
        """The filters that differ from the defaults, as a query string (for page links)."""
        pairs = [
            ("q", self.q),
            ("show", "" if self.show == "problems" else self.show),
            ("team", str(self.team_id or "")),
            ("sort", "" if self.sort == "recent" else self.sort),
        ]
        return urlencode([(key, value) for key, value in pairs if value])


def issue_list(access: Access, filters: IssueFilters | None = None) -> QuerySet[Issue]:
    """The organisation's live issues as ``filters`` ask, each annotated with
    ``raises_problem`` (False: its raisings are praise, :func:`_has_praise`). Which of a
    page's issues are flagged: :func:`mark_flagged`."""
    filters = filters or IssueFilters()
    raisings = Occurrence.objects.live().filter(issue_id=OuterRef("pk"))
    issues = (
        issues_visible(access)
        .live()
        .filter(merged_into=None)
        .annotate(raises_problem=~_has_praise())
    )
    if filters.show == "problems":
        issues = issues.filter(raises_problem=True)
    elif filters.show == "flagged":
        flagged = Finding.objects.filter(issue_id=OuterRef("pk"), is_current=True, flagged=True)
        issues = issues.filter(Exists(flagged), raises_problem=True)
    elif filters.show == "appreciation":
        issues = issues.filter(raises_problem=False)
    if filters.team_id is not None:
        issues = issues.filter(Exists(raisings.filter(team_id=filters.team_id)))
    if filters.q:
        issues = issues.filter(visibility.matching_words(access, filters.q))
    _, order = ISSUE_SORT.get(filters.sort, ISSUE_SORT["recent"])
    return issues.order_by(*order)


def mark_flagged[I: Issue](issues: Sequence[I]) -> Sequence[I]:
    """Set ``is_flagged`` on each of a page of issues: whether its current finding flags a
    band-aid loop (one indexed query for the page, not a scan of every finding)."""
    flagged = set(
        Finding.objects.filter(
            issue_id__in=[issue.pk for issue in issues], is_current=True, flagged=True
        ).values_list("issue_id", flat=True)
    )
    for issue in issues:
        issue.is_flagged = issue.pk in flagged  # type: ignore[attr-defined]
    return issues


def issue_timeline(issue: Issue) -> tuple[list[Occurrence], list[Fix]]:
    # The retro's title is all the timeline shows of it (held_on is the occurrence's own).
    occurrences: list[Occurrence] = list(
        issue.occurrences.live()
        .select_related("team")
        .defer("embedding")
        .annotate(retro_title=F("retro__title"))
    )
    fixes = list(issue.fixes.live().select_related("team"))
    return occurrences, fixes


@dataclass
class TimelineEntry:
    """One dated event in an issue's life: a raising (`occurrence`) or a fix (`fix`)."""

    on: dt.date
    kind: Literal["occurrence", "fix"]
    occurrence: Occurrence | None = None
    fix: Fix | None = None
    # For raisings: the fixes (and band-aids among them) decided before it.
    after_fixes: int = 0
    after_band_aids: int = 0
    # What the viewer may do with the entry's retro and occurrence.
    can_open: bool = True
    can_edit: bool = False
    # The issue's first live raising.
    is_first: bool = False

    @property
    def team_id(self) -> int | None:
        if self.occurrence is not None:
            return self.occurrence.team_id
        return self.fix.team_id if self.fix is not None else None

    @property
    def is_occurrence(self) -> bool:
        return self.kind == "occurrence"


def issue_timeline_entries(issue: Issue, *, access: Access | None = None) -> list[TimelineEntry]:
    """Every live occurrence and fix of the issue in date order (a raising before the fixes
    decided on the same day), in two queries. With `access`, each entry says whether the
    viewer may open its retro and change it; without, retros open and nothing is editable."""
    occurrences, fixes = issue_timeline(issue)
    entries = [TimelineEntry(on=o.held_on, kind="occurrence", occurrence=o) for o in occurrences]
    entries += [TimelineEntry(on=f.decided_on, kind="fix", fix=f) for f in fixes]

    def order(entry: TimelineEntry) -> tuple[dt.date, int, int]:
        obj = entry.occurrence or entry.fix
        assert obj is not None
        return (entry.on, 0 if entry.is_occurrence else 1, obj.pk)

    entries.sort(key=order)
    fixes_so_far = band_aids_so_far = 0
    for entry in entries:
        if entry.fix is not None:
            fixes_so_far += 1
            band_aids_so_far += entry.fix.kind in BAND_AID_KINDS
        else:
            entry.after_fixes, entry.after_band_aids = fixes_so_far, band_aids_so_far
        _grant(entry, access)
    first = next((e for e in entries if e.is_occurrence), None)
    if first is not None:
        first.is_first = True
    return entries


def _grant(entry: TimelineEntry, access: Access | None) -> None:
    """What the viewer may do with the entry (without `access`: open it, change nothing)."""
    if access is None:
        return
    # Whose words the entry's text is (retros.visibility): its team's.
    entry.can_open = visibility.sees_words(access, entry.team_id)
    entry.can_edit = (
        entry.is_occurrence and entry.team_id is not None and access.facilitates_team(entry.team_id)
    )


TIMELINE_PAGE_SIZE = 50


class _Stub(NamedTuple):
    """A timeline entry before its page is cut: what ordering and counting need."""

    on: dt.date
    is_fix: bool
    pk: int
    after_fixes: int = 0
    after_band_aids: int = 0
    is_first: bool = False


def issue_timeline_page(
    issue: Issue, *, access: Access, number: str | int | None, per_page: int = TIMELINE_PAGE_SIZE
) -> Page:
    """One page of the issue's timeline, newest first, as TimelineEntry objects: an issue
    raised 10,000 times renders one page, not 10,000 entries. Four queries whatever the
    size: the ids, dates and fix kinds of every live raising and fix (for the order and the
    fixes decided before each raising), then the page's raisings and fixes in full."""
    keys: list[tuple[dt.date, int, int, str]] = [
        (on, 0, pk, "") for pk, on in issue.occurrences.live().values_list("pk", "held_on")
    ]
    keys += [
        (on, 1, pk, kind)
        for pk, on, kind in issue.fixes.live().values_list("pk", "decided_on", "kind")
    ]
    keys.sort()  # date order, a raising before the fixes decided on the same day
    # The page is cut from stubs; entries and rows are made for its entries alone.
    stubs: list[_Stub] = []
    fixes_so_far = band_aids_so_far = raisings_so_far = 0
    for on, is_fix, pk, kind in keys:
        if is_fix:
            fixes_so_far += 1
            band_aids_so_far += kind in BAND_AID_KINDS
            stubs.append(_Stub(on, True, pk))
        else:
            first = raisings_so_far == 0
            stubs.append(_Stub(on, False, pk, fixes_so_far, band_aids_so_far, first))
            raisings_so_far += 1
    stubs.reverse()
    page = Paginator(stubs, per_page).get_page(number)
    cut: list[_Stub] = list(page.object_list)
    occurrences = (
        Occurrence.objects.select_related("team")
        .defer("embedding")
        .annotate(retro_title=F("retro__title"))
    )
    loaded_occurrences = occurrences.in_bulk([s.pk for s in cut if not s.is_fix])
    loaded_fixes = Fix.objects.select_related("team").in_bulk([s.pk for s in cut if s.is_fix])
    loaded: list[TimelineEntry] = []
    for stub in cut:
        # A row deleted between the two reads is left out rather than failing the page.
        if stub.is_fix:
            if (fix := loaded_fixes.get(stub.pk)) is None:
                continue
            entry = TimelineEntry(on=stub.on, kind="fix", fix=fix)
        else:
            if (occurrence := loaded_occurrences.get(stub.pk)) is None:
                continue
            entry = TimelineEntry(
                on=stub.on,
                kind="occurrence",
                occurrence=occurrence,
                after_fixes=stub.after_fixes,
                after_band_aids=stub.after_band_aids,
                is_first=stub.is_first,
            )
        _grant(entry, access)
        loaded.append(entry)
    page.object_list = loaded  # type: ignore[assignment]  # the page's rows, as entries
    return page


@dataclass
class IssuePage:
    issue: Issue
    timeline: list[TimelineEntry]
    finding: Finding | None
    merged_in: list[IssueMerge]
    merged_out: IssueMerge | None
    timeline_page: Page


def issue_page(issue: Issue, *, access: Access, timeline_page: str | int | None = 1) -> IssuePage:
    """The issue page in six queries whatever the amount of data: a page of the timeline
    (issue_timeline_page: four), the current finding, the merges into and out of the issue;
    and for people who do not read every team's words one or two for the titles
    they may read (retros.visibility): `issue`, the merge target and the merged issues get
    their ``display_title``."""
    page = issue_timeline_page(issue, access=access, number=timeline_page)
    finding = Finding.objects.filter(issue=issue, is_current=True).first()
    # Merges into the issue and out of it, newest first, in one query.
    merges = list(
        IssueMerge.objects.filter(Q(target=issue) | Q(source=issue), undone_at=None)
        .select_related("source", "target", "merged_by")
        .order_by("-merged_at", "-pk")
    )
    merged_in = [merge for merge in merges if merge.target_id == issue.pk]
    merged_out = next((merge for merge in merges if merge.source_id == issue.pk), None)
    visibility.show_titles(access, [issue, *([merged_out.target] if merged_out else [])])
    for merge in merged_in:
        merge.display_title = visibility.merge_source_title(access, merge, target=issue)  # type: ignore[attr-defined]
    return IssuePage(issue, list(page.object_list), finding, merged_in, merged_out, page)


def merge_candidates(issue: Issue, query: str, *, access: Access, limit: int = 8) -> list[Issue]:
    """Live issues of the organisation whose words the person may read contain `query`
    (retros.visibility.matching_words), for the merge form, with their display titles: of
    the issue's own type (praise is never merged with a problem), any when it has none."""
    item_type = (
        Occurrence.objects.live()
        .filter(issue_id=issue.pk)
        .values_list("item_type", flat=True)
        .first()
        if query.strip()
        else None
    )
    return _issues_matching(
        query,
        access=access,
        organization_id=issue.organization_id,
        but=issue.pk,
        limit=limit,
        praise=None if item_type is None else item_type == ItemType.APPRECIATION,
    )


def link_candidates(
    occurrence: Occurrence, query: str, *, access: Access, limit: int = 8
) -> list[Issue]:
    """Live issues whose words the person may read contain `query`, for linking an
    occurrence by hand, with their display titles: praise for praise, problems for a
    problem (an issue's raisings are all of one type)."""
    return _issues_matching(
        query,
        access=access,
        organization_id=occurrence.organization_id,
        but=occurrence.issue_id,
        limit=limit,
        praise=occurrence.item_type == ItemType.APPRECIATION,
    )


def _issues_matching(
    query: str,
    *,
    access: Access,
    organization_id: int,
    but: int,
    limit: int,
    praise: bool | None = None,
) -> list[Issue]:
    """Live, unmerged issues of the organisation other than `but` whose words the person may
    read contain `query`, most recently seen first, with their display titles; with
    `praise`, only issues of praise (True) or of problems (False)."""
    query = query.replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL
    if not query:
        return []
    found = (
        Issue.objects.live()
        .filter(visibility.matching_words(access, query))
        .filter(organization_id=organization_id, merged_into=None)
        .exclude(pk=but)
    )
    if praise is not None:
        found = found.filter(_has_praise() if praise else ~_has_praise())
    found = found.order_by("-last_seen", "-id")[:limit]
    return visibility.show_titles(access, found)


def split_origin(issue: Issue) -> Issue | None:
    """The issue `issue` was split off from, while merging it back can still undo the split:
    neither was merged or archived since."""
    if issue.split_from_id is None or issue.merged_into_id is not None or issue.archived_at:
        return None
    return (
        Issue.objects.live()
        .filter(pk=issue.split_from_id, organization_id=issue.organization_id, merged_into=None)
        .only("id", "title")
        .first()
    )
