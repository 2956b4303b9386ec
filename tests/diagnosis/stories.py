"""Issues with a known story for the dashboard, export, digest and leader-action tests:
raisings on given months, band-aid loops, the organisation's findings recomputed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils import timezone

from diagnosis.services import finding_recompute_many
from retros.models import Issue, Organization, Team
from tests.factories import FixFactory, OccurrenceFactory, RetrospectiveFactory

TODAY = timezone.localdate()

# The leaders' actions on a finding, as their URLs read: written out rather than taken from
# the views' table, so that a lost or renamed URL fails the tests that post to them all.
FINDING_ACTIONS = (
    "acknowledge",
    "confirm",
    "override",
    "dismiss",
    "restore",
    "owner",
    "fixes",
    "group",
)


def finding_action_urls(issue_id: int) -> list[str]:
    return [f"/dashboard/findings/{issue_id}/{action}/" for action in FINDING_ACTIONS]


def months_ago(n: int, day: int = 10) -> dt.date:
    index = TODAY.year * 12 + TODAY.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, day)


def raise_issue(
    org: Organization,
    raisings: Sequence[tuple[Team, dt.date]],
    *,
    title: str,
    text: str = "Priorities changed mid-sprint again",
    fixes: Sequence[tuple[Team | None, dt.date, str]] = (),
) -> Issue:
    """An issue raised by these teams on these dates, with done fixes (team, date, kind)."""
    issue = Issue.objects.create(organization=org, title=title)
    for raised_by, held_on in raisings:
        retro = RetrospectiveFactory(team=raised_by, held_on=held_on)
        OccurrenceFactory(retro=retro, issue=issue, text=f"{text} ({held_on:%b})")
    for fixed_by, decided_on, kind in fixes:
        FixFactory(
            issue=issue,
            team=fixed_by,
            decided_on=decided_on,
            completed_on=decided_on + dt.timedelta(days=5),
            status="done",
            kind=kind,
            text=f"{kind.title()} to stop it",
        )
    return issue


def band_aid_loop(org: Organization, teams: Sequence[Team], *, title: str, start: int = 5) -> Issue:
    """Raised, band-aid, raised again, second band-aid, raised again: a flagged loop."""
    raisings = [(teams[i % len(teams)], months_ago(start - 2 * i)) for i in range(3)]
    fixes = [
        (teams[0], months_ago(start, day=12), "meeting"),
        (teams[0], months_ago(start - 2, day=12), "process"),
    ]
    return raise_issue(org, raisings, title=title, fixes=fixes)


def recompute(*issues: Issue) -> None:
    finding_recompute_many([i.pk for i in issues], today=TODAY)


def make_loops(cast) -> dict[str, Issue]:
    """Two flagged loops (one in both teams), a one-off issue, and the outsider's own loop."""
    wide = band_aid_loop(cast.org, [cast.team, cast.other_team], title="Priorities churn")
    narrow = band_aid_loop(cast.org, [cast.other_team], title="Hand-offs stall", start=7)
    single = raise_issue(cast.org, [(cast.team, months_ago(1))], title="Office too noisy")
    secret = band_aid_loop(cast.outsider_org, [cast.outsider_team], title="Contoso secret loop")
    recompute(wide, narrow, single, secret)
    return {"wide": wide, "narrow": narrow, "single": single, "secret": secret}
