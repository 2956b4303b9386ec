"""Retro boards with history behind them, for the facilitator workflow's tests."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.test import Client

from retros import services
from retros.models import Fix, FixStatus, Issue, Occurrence, Retrospective
from retros.search import IssueSuggestion, invalidate
from tests.factories import (
    FixFactory,
    IssueFactory,
    OccurrenceFactory,
    RetrospectiveFactory,
    signed_in_client,
)

EARLIER = dt.date(2026, 1, 14)
TODAY = dt.date(2026, 2, 11)


@dataclass
class Board:
    earlier: Retrospective
    retro: Retrospective
    issues: list[Issue]
    occurrences: list[Occurrence]
    review_fixes: list[Fix]


def build_board(cast, size: int) -> Board:
    """An earlier retro of the team with `size` issues, each with an open band-aid fix and a
    done structural one; and an open retro raising each of them again plus `size` new ones,
    with a fix decided for each recurrence."""
    earlier = RetrospectiveFactory(team=cast.team, held_on=EARLIER, title="Sprint 1")
    retro = RetrospectiveFactory(team=cast.team, held_on=TODAY, title="Sprint 2")
    issues, occurrences, review = [], [], []

    def decide(in_retro: Retrospective, issue: Issue, **fields):
        """A fix the team decided in `in_retro` for `issue`."""
        return FixFactory(
            issue=issue, retro=in_retro, team=cast.team, decided_on=in_retro.held_on, **fields
        )

    for n in range(size):
        issue = IssueFactory(organization=cast.org, title=f"Deploys are slow {n}")
        OccurrenceFactory(retro=earlier, issue=issue, text=f"Deploys are slow {n}", votes=2)
        review.append(decide(earlier, issue, text=f"Weekly sync {n}", kind="meeting"))
        decide(
            earlier,
            issue,
            text=f"New runners {n}",
            kind="infrastructure",
            status=FixStatus.DONE,
            completed_on=EARLIER + dt.timedelta(days=7),
        )
        occurrences.append(
            OccurrenceFactory(retro=retro, issue=issue, text=f"Deploys still slow {n}")
        )
        decide(retro, issue, text=f"Checklist {n}", kind="process")
        new_issue = IssueFactory(organization=cast.org, title=f"Flaky test {n}")
        occurrences.append(OccurrenceFactory(retro=retro, issue=new_issue, text=f"Flaky test {n}"))
        issues += [issue, new_issue]
    services.issue_refresh_stats(issue_ids=[i.pk for i in issues])
    invalidate(cast.org.pk)
    return Board(earlier, retro, issues, occurrences, review)


def fake_suggest(
    *,
    organization,
    text,
    team=None,
    limit=5,
    exclude_issue_ids=(),
    on=None,
    readable_teams=None,
    retro=None,
):
    """Earlier issues sharing a word of four letters or more with `text`, this team's first,
    as retros.search.suggest returns them but without the embedding model (and, like it,
    none raised in `retro` alone)."""
    words = {w.lower() for w in text.split() if len(w) >= 4}
    found = []
    issues = (
        Issue.objects.live()
        .filter(organization=organization, merged_into=None)
        .exclude(pk__in=list(exclude_issue_ids))
        .prefetch_related("occurrences__team", "fixes")
        .order_by("id")
    )
    for issue in issues:
        shared = words & {w.lower() for w in issue.title.split()}
        if not shared:
            continue
        raisings = [
            o for o in issue.occurrences.all() if o.archived_at is None and o.item_type == "problem"
        ]
        if retro is not None and all(o.retro_id == retro.pk for o in raisings):
            continue
        teams = sorted({o.team.name for o in issue.occurrences.all() if o.archived_at is None})
        fixes = [f for f in issue.fixes.all() if f.archived_at is None]
        found.append(
            IssueSuggestion(
                issue=issue,
                score=min(1.0, 0.5 + 0.1 * len(shared)),
                reasons=("similar wording",),
                teams=teams,
                fixes_tried=len(fixes),
                band_aid_fixes=sum(1 for f in fixes if f.is_band_aid),
            )
        )
    mine = team.name if team is not None else None
    found.sort(key=lambda s: (mine not in s.teams, -s.score))
    return found[:limit]


@pytest.fixture(autouse=True)
def matcher_stand_in(request, monkeypatch):
    """The views' suggestions come from a stand-in unless a test asks for `real_matcher`:
    the matcher has its own tests, these test what the facilitator's pages do with it."""
    if "real_matcher" in request.fixturenames:
        return
    monkeypatch.setattr("retros.views.suggest", fake_suggest)
    monkeypatch.setattr("retros.services.embed_occurrence", lambda occurrence: None)
    monkeypatch.setattr("retros.services.vector_fields", lambda text: {})


@pytest.fixture
def real_matcher(cast):
    """The real matcher and embedding model, with a fresh index of the cast's organisation."""
    invalidate(cast.org.pk)


@pytest.fixture
def board(cast) -> Board:
    return build_board(cast, 2)


@pytest.fixture
def csrf_clients(cast) -> dict[str, Client]:
    """Clients that enforce CSRF like a browser does."""
    clients = {}
    for role, user in cast.users.items():
        clients[role] = signed_in_client(user, enforce_csrf_checks=True)
    clients["anonymous"] = Client(enforce_csrf_checks=True)
    return clients


def opened_at(response) -> str:
    """The version an edit form was opened at (its hidden field)."""
    match = re.search(r'name="version" value="([0-9a-f]+)"', response.content.decode())
    assert match, "the edit form carries the version it shows"
    return match.group(1)


def htmx(**headers: str) -> dict[str, str]:
    """Headers of an htmx request."""
    return {"HTTP_HX_REQUEST": "true", **{f"HTTP_HX_{k.upper()}": v for k, v in headers.items()}}
