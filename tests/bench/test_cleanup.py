"""The benchmark's cleanup between load rounds removes what a round logged and tells the
matcher indexes, as the product's own removals do: a later suggestion never offers a
removed issue nor counts a removed raising."""

from __future__ import annotations

import pytest

from bench import tasks
from retros.models import Issue, MatcherSnapshot, MatchingChange
from retros.search import org_index, suggest
from tests.factories import (
    OrganizationFactory,
    RetrospectiveFactory,
    TeamFactory,
    embedded_occurrence,
)

pytestmark = pytest.mark.django_db


def test_a_round_s_raisings_go_and_the_indexes_are_told():
    organization = OrganizationFactory(name="Bench Cleanup")
    team = TeamFactory(organization=organization, name="Routing")
    earlier = RetrospectiveFactory(team=team, title="Sprint 4")
    kept = embedded_occurrence(earlier, "Builds keep timing out on the shared runners")
    round_retro = RetrospectiveFactory(team=team, title=f"{tasks.BENCH_RETRO_TITLE} today")
    started = embedded_occurrence(round_retro, "Release notes are written the night before")
    embedded_occurrence(round_retro, "Builds time out again", issue=kept.issue)
    assert len(org_index(organization.pk)) == 3  # the index holds the round's rows

    removed = tasks.cleanup({"org": organization.name, "between_rounds": True})

    assert removed == {"removed_occurrences": 2, "removed_issues": 1}
    assert not Issue.objects.filter(pk=started.issue_id).exists()
    changes = MatchingChange.objects.filter(organization=organization)
    assert {i for change in changes for i in change.issue_ids} == {kept.issue_id, started.issue_id}
    # A snapshot past the change: processes reload from it rather than from every row.
    saved = MatcherSnapshot.objects.get(organization=organization)
    assert saved.newest_change_id == max(change.pk for change in changes)
    assert len(org_index(organization.pk)) == 1  # the next query re-read both issues
    listed = suggest(organization=organization, text="Release notes written the night before")
    assert started.issue_id not in [s.issue.pk for s in listed]
    kept.issue.refresh_from_db()
    assert kept.issue.occurrence_count == 1  # the linked raising went with the round
