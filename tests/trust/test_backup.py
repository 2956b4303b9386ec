"""Restoring an organisation from `export_history` into an empty database: teams, retros,
items grouped into the same issues, and actions with their kind, status, owner and dates.

`recur-history/1` is the portable history, not the whole database: people, roles, leaders'
assessments, hypotheses, outcomes of fixes, archived rows and the change history are not in
it. Backups of a running installation are PostgreSQL dumps (docs/backup.md)."""

from __future__ import annotations

import datetime as dt
import io
import typing

import pytest
from django.core.management import call_command

from retros import services
from retros.models import Fix, Occurrence, Organization, Retrospective, Team
from tests.factories import OrganizationFactory, TeamFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _build(name: str) -> Organization:
    org = typing.cast(Organization, OrganizationFactory(name=name))
    payments = TeamFactory(organization=org, name="Payments")
    checkout = TeamFactory(organization=org, name="Checkout")

    def retro(team: Team, day: int, title: str) -> Retrospective:
        return services.retro_start(
            team=team, held_on=dt.date(2026, 1, day), title=title, format="free", user=None
        )

    r1 = retro(payments, 7, "Sprint 1 ✨")
    r2 = retro(checkout, 14, "")
    r3 = retro(payments, 21, "S3")
    slow = services.occurrence_record(retro=r1, text="Builds are slow", user=None, votes=3)
    blame = services.occurrence_record(retro=r1, text="Handoffs to Checkout stall", user=None)
    again = services.occurrence_record(
        retro=r2, text="Builds still slow", user=None, link_to_issue=slow.issue
    )
    other = services.occurrence_record(retro=r3, text="CI takes an hour", user=None)
    services.issue_merge(source=other.issue, target=slow.issue, user=None)  # one issue now
    services.occurrence_record(retro=r3, text="שוב תקוע 🚧", user=None)
    fix = services.fix_apply(
        issue=slow.issue,
        retro=r1,
        text="Weekly build sync",
        kind="meeting",
        owner="Sam",
        due_on=dt.date(2026, 1, 20),
        user=None,
    )
    services.fix_set_status(fix=fix, status="done", user=None, on=dt.date(2026, 1, 19))
    dropped = services.fix_apply(
        issue=blame.issue, retro=r1, text="Escalate to the VP", kind="escalation", user=None
    )
    services.fix_set_status(fix=dropped, status="dropped", user=None, on=dt.date(2026, 1, 10))
    services.fix_apply(
        issue=again.issue, retro=r2, text="Buy faster CI runners", kind="infrastructure", user=None
    )
    for retro_ in (r1, r2, r3):
        services.retro_close(retro=retro_, user=None)
    return org


def _snapshot(name: str) -> dict[str, object]:
    org = Organization.objects.get(name=name)
    items = Occurrence.objects.live().filter(organization=org).select_related("retro__team")

    def item_key(o: Occurrence) -> tuple:
        return (o.retro.team.name, o.held_on, o.text)

    groups: dict[int, set] = {}
    for o in items:
        groups.setdefault(o.issue_id, set()).add(item_key(o))
    group_of = {issue_id: frozenset(keys) for issue_id, keys in groups.items()}
    return {
        "teams": set(Team.objects.filter(organization=org).values_list("name", flat=True)),
        "retros": set(
            Retrospective.objects.filter(organization=org).values_list(
                "team__name", "held_on", "title"
            )
        ),
        "items": {(*item_key(o), o.votes) for o in items},
        "issues": set(group_of.values()),
        "actions": {
            (
                group_of[f.issue_id],
                f.text,
                f.kind,
                f.status,
                f.owner,
                f.due_on,
                # The format carries the completion date of done actions only.
                f.completed_on if f.status == "done" else None,
            )
            for f in Fix.objects.live().filter(organization=org)
        },
    }


def test_an_exported_organisation_is_restored_completely_into_an_empty_database(tmp_path):
    name = "Backup Ltd"
    _build(name)
    before = _snapshot(name)
    assert len(before["issues"]) == 3 and len(before["actions"]) == 3
    backup = tmp_path / "backup.json"
    call_command("export_history", "--org", name, "--output", str(backup))

    call_command("flush", "--noinput")
    assert not Organization.objects.exists()
    call_command("import_history", str(backup), stdout=io.StringIO())

    assert _snapshot(name) == before
    # Restoring the same file again changes nothing.
    counts = (Occurrence.objects.count(), Fix.objects.count(), Retrospective.objects.count())
    call_command("import_history", str(backup), stdout=io.StringIO())
    assert (Occurrence.objects.count(), Fix.objects.count(), Retrospective.objects.count()) == (
        counts
    )
