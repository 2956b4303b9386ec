"""Property: an import job followed by its undo leaves the database as it was, row for row,
whatever was there before (an earlier, shorter import of the same history, a team of the
same name made by hand) and whatever the file links (same_as, automatic links, reviews)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retros.import_jobs import import_job_create, import_job_run, import_job_undo
from retros.importing import history_import
from retros.models import Team
from tests.rows import snapshot
from vocabulary.history import parse_history

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

TEXTS = [
    "Releases slip because priorities change mid-sprint",
    "Priorities changed mid-sprint again and the release slipped",
    "Staging was down two days",
    "The staging environment was down for two days",
    "Nobody reviews pull requests on Fridays",
    "Onboarding docs are out of date",
]
KINDS = [None, "meeting", "process", "tooling"]
TEAMS = [("payments", "Payments"), ("mobile", "Mobile")]


@st.composite
def histories(draw):
    """A history of up to four retros in date order, and where an earlier import stopped."""
    retros, items_so_far = [], []
    for r in range(draw(st.integers(1, 4))):
        items, actions = [], []
        for i in range(draw(st.integers(0, 3))):
            key = f"r{r}-i{i}"
            item = {
                "key": key,
                "text": draw(st.sampled_from(TEXTS)),
                "votes": draw(st.integers(0, 3)),
            }
            if items_so_far and draw(st.booleans()):
                item["same_as"] = draw(st.sampled_from(items_so_far))
            items.append(item)
            items_so_far.append(key)
        if items_so_far:
            for a in range(draw(st.integers(0, 2))):
                action = {
                    "key": f"r{r}-a{a}",
                    "item": draw(st.sampled_from(items_so_far)),
                    "text": draw(st.sampled_from(TEXTS)),
                }
                kind = draw(st.sampled_from(KINDS))
                if kind:
                    action["kind"] = kind
                actions.append(action)
        retros.append(
            {
                "key": f"retro-{r}",
                "team": draw(st.sampled_from(TEAMS))[0],
                "held_on": (dt.date(2025, 1, 6) + dt.timedelta(days=14 * r)).isoformat(),
                "items": items,
                "actions": actions,
            }
        )
    earlier = draw(st.integers(0, len(retros)))
    return retros, earlier


def _document(retros):
    return {
        "format": "recur-history/1",
        "organization": "Northwind",
        "teams": [{"key": key, "name": name} for key, name in TEAMS],
        "retrospectives": retros,
    }


class _Rollback(Exception):
    pass


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories(), team_by_hand=st.booleans())
def test_import_then_undo_leaves_the_database_as_it_was(cast, history, team_by_hand):
    retros, earlier = history
    try:
        with transaction.atomic():
            if team_by_hand:
                Team.objects.create(organization=cast.org, name="Mobile")
            if earlier:
                history_import(_document(retros[:earlier]), organization=cast.org)
            before = snapshot()
            job = import_job_create(
                organization=cast.org,
                doc=parse_history(_document(retros)),
                filename="h.json",
                user=None,
                confirmed=True,
            )
            assert import_job_run(job.pk) == "done"
            job.refresh_from_db()
            import_job_undo(job=job, user=cast.users["leader"])
            assert snapshot() == before
            raise _Rollback
    except _Rollback:
        pass
