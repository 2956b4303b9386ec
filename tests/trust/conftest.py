"""Two organisations with one object of every kind each, and a client for every role.

Every text of Northwind's objects carries the marker `NWSECRET`, every text of Contoso's
`CTSECRET`: a response to a person of one organisation must never contain the other's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from diagnosis.models import Finding, Hypothesis
from diagnosis.services import finding_recompute_many
from retros import services
from retros.models import (
    Card,
    Fix,
    ImportJob,
    Issue,
    IssueMerge,
    LinkReview,
    Occurrence,
    Organization,
    Retrospective,
    Role,
    Team,
)
from tests.factories import MembershipFactory, UserFactory, signed_in_client

MARKERS = {"Northwind": "NWSECRET", "Contoso": "CTSECRET"}

# People of Northwind by role, plus the outsider (a leader of Contoso) and nobody.
ROLES = ("member", "facilitator", "other_facilitator", "leader", "admin")
EVERYONE = frozenset(ROLES)


@dataclass
class OrgObjects:
    """One object of every kind of one organisation, by the name URL kwargs use."""

    org: Organization
    marker: str
    team: Team
    retro: Retrospective
    issue: Issue
    occurrence: Occurrence
    fix: Fix
    finding: Finding
    hypothesis: Hypothesis
    merge: IssueMerge
    review: LinkReview
    job: ImportJob
    card: Card


@dataclass
class World:
    north: OrgObjects
    contoso: OrgObjects
    clients: dict[str, Client]
    users: dict[str, object] = field(default_factory=dict)


def build_objects(org: Organization, team: Team, user, marker: str = "") -> OrgObjects:
    """Real objects of `org` in `team`, written through the services where they exist; every
    text carries `marker` (by default the organisation's)."""
    marker = marker or MARKERS[org.name]
    team.name = f"{team.name} {marker}"
    team.save(update_fields=["name"])

    def retro_on(held_on: dt.date, title: str, **extra) -> Retrospective:
        return Retrospective.objects.create(
            organization=org, team=team, held_on=held_on, title=f"{title} {marker}", **extra
        )

    def raise_in(retro: Retrospective, issue: Issue, text: str, **extra) -> Occurrence:
        return Occurrence.objects.create(
            organization=org,
            issue=issue,
            retro=retro,
            team=team,
            held_on=retro.held_on,
            text=f"{text} {marker}",
            **extra,
        )

    retro = retro_on(dt.date(2026, 1, 14), "Sprint 14", facilitator=user)
    earlier = retro_on(dt.date(2025, 12, 3), "Sprint 12", status="closed")
    issue = Issue.objects.create(organization=org, title=f"Deploys break {marker}")
    raise_in(earlier, issue, "Deploys broke staging twice")
    occurrence = raise_in(retro, issue, "Deploys broke staging again", votes=2)
    fix = services.fix_record(
        issue=issue,
        retro=earlier,
        decided_on=earlier.held_on,
        text=f"Weekly deploy sync {marker}",
        kind="meeting",
        owner=f"Sam {marker}",
        user=user,
        schedule=False,  # the findings are computed below
    )
    duplicate = Issue.objects.create(organization=org, title=f"Staging is down {marker}")
    raise_in(retro, duplicate, "Staging was down all week")
    services.issue_refresh_stats(issue_ids=[issue.pk, duplicate.pk])
    merge = services.issue_merge(source=duplicate, target=issue, user=user)
    candidate = Issue.objects.create(organization=org, title=f"Release nerves {marker}")
    raise_in(earlier, candidate, "Releases make everyone nervous")
    review = LinkReview.objects.create(
        organization=org,
        occurrence=occurrence,
        candidate=candidate,
        score=0.6,
        reasons=[f"similar words {marker}"],
    )
    finding_recompute_many([issue.pk, candidate.pk], today=dt.date(2026, 2, 1))
    finding = Finding.objects.get(issue=issue, is_current=True)
    hypothesis = Hypothesis.objects.create(
        organization=org,
        title=f"Rewarded for own OKRs only {marker}",
        description=f"Each team optimises its own goals {marker}",
        category="culture",
        created_by=user,
    )
    hypothesis.issues.add(issue)
    job = ImportJob.objects.create(
        organization=org,
        filename=f"history-{marker}.json",
        document={"format": "recur-history/1", "organization": org.name, "note": marker},
        status=ImportJob.Status.DONE,
        report={},
    )
    return OrgObjects(
        org=org,
        marker=marker,
        team=team,
        retro=retro,
        issue=issue,
        occurrence=occurrence,
        fix=fix,
        finding=finding,
        hypothesis=hypothesis,
        merge=merge,
        review=review,
        job=job,
        card=Card.objects.create(
            organization=org,
            retro=retro,
            column="Notes",
            text=f"Pairing helps {marker}",
            author=UserFactory(username=f"writer-{org.pk}"),  # none of the roles below
        ),
    )


@pytest.fixture
def world(cast) -> World:
    other = MembershipFactory(
        organization=cast.org,
        role=Role.FACILITATOR,
        user=UserFactory(username="fred"),
        teams=[cast.other_team],
    ).user
    users = {**cast.users, "other_facilitator": other}
    clients = {**cast.clients, "other_facilitator": signed_in_client(other)}
    north = build_objects(cast.org, cast.team, cast.users["facilitator"])
    contoso = build_objects(cast.outsider_org, cast.outsider_team, cast.users["outsider"])
    assert get_user_model().objects.filter(username="fred").exists()
    return World(north=north, contoso=contoso, clients=clients, users=users)
