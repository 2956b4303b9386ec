"""Two real processes on one database: a relink done through one is in the other's next
suggestion, without a rebuild (the change log, ``MatchingChange``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.commands import manage

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
from tests.factories import (
    OrganizationFactory, RetrospectiveFactory, TeamFactory, embedded_occurrence,
)
org = OrganizationFactory(name="Two Processes")
retro = RetrospectiveFactory(team=TeamFactory(organization=org, name="Routing"))
builds = embedded_occurrence(retro, "Builds keep timing out")
notes = embedded_occurrence(retro, "Release notes are written the night before launch")
staging = embedded_occurrence(retro, "Staging deploys fail every Friday", issue=builds.issue)
print("IDS", org.pk, builds.issue_id, staging.pk)
"""

# Answers each line read ("suggest") with the top issue of a query, and the matcher's
# counts, as one JSON line; the process keeps its index between lines, as a web process does.
SERVE = """
import json, sys
from retros import search
from retros.models import Organization
org = Organization.objects.get(name="Two Processes")
for line in sys.stdin:
    found = search.suggest(organization=org, text="Staging deploys fail on Fridays", min_score=0)
    status = search.matcher_status()
    answer = {"top": found[0].issue.pk, "loads": status["loads"]}
    print("ANSWER", json.dumps(answer), flush=True)
"""

RELINK = """
from django.db import transaction
from retros import services
from retros.models import Occurrence
occurrence = Occurrence.objects.get(pk={occurrence_id})
with transaction.atomic():
    services.occurrence_relink(occurrence=occurrence, issue=None, user=None)
occurrence.refresh_from_db()
print("NEW", occurrence.issue_id)
"""


def _env(database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_DEBUG="True",
        RECUR_MATCHER_SNAPSHOTS="False",
        RECUR_MATCHER_BACKGROUND_REBUILD="False",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    done = manage(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def database() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recur.sqlite3"
        _manage(_env(path), "migrate", "--noinput", "-v0")
        yield path


def test_a_relink_through_one_process_is_in_the_other_processs_next_suggestion(database):
    env = _env(database)
    _, org_id, builds_issue, staging_id = _manage(env, "shell", "-c", SETUP).split()[-4:]
    serving = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", SERVE],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert serving.stdin is not None and serving.stdout is not None

    def ask() -> dict[str, int]:
        serving.stdin.write("suggest\n")
        serving.stdin.flush()
        for line in serving.stdout:
            if line.startswith("ANSWER "):
                return json.loads(line.removeprefix("ANSWER "))
        raise AssertionError("the serving process ended without answering")

    try:
        before = ask()
        assert before == {"top": int(builds_issue), "loads": 1}

        relinked = _manage(env, "shell", "-c", RELINK.format(occurrence_id=int(staging_id)))
        new_issue = int(relinked.split()[-1])

        after = ask()
        assert new_issue != int(builds_issue)
        assert after == {"top": new_issue, "loads": 1}  # applied in place: not reloaded
    finally:
        serving.stdin.close()
        serving.wait(60)
    assert org_id
