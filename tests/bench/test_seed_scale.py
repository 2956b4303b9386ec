"""seed_scale at a tiny size: counts, issue statistics, vectors, findings, logins and the
organisation boundary all hold; an existing organisation is refused unless --replace."""

from __future__ import annotations

import datetime as dt
import random
from io import StringIO

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F, Max, Min

from bench import corpus
from diagnosis.management.commands.seed_scale import (
    DEFAULT_PASSWORD,
    delete_organization,
    noisy_vectors,
    usernames_for,
)
from diagnosis.models import Finding
from matching import embedding
from retros.models import Fix, Occurrence, Organization, Retrospective, Role
from vocabulary.history import parse_history

pytestmark = pytest.mark.slow

TODAY = dt.date(2026, 3, 2)


def seed(*extra: str, org: str = "Tiny Co", teams: int = 3, occurrences: int = 120) -> str:
    out = StringIO()
    call_command(
        "seed_scale",
        "--org",
        org,
        "--teams",
        str(teams),
        "--occurrences",
        str(occurrences),
        "--years",
        "1",
        "--base-sentences",
        "40",
        "--jobs",
        "1",
        *extra,
        stdout=out,
    )
    return out.getvalue()


@pytest.mark.django_db
def test_it_seeds_the_requested_size_with_consistent_issue_statistics():
    output = seed()
    org = Organization.objects.get(name="Tiny Co")
    assert org.teams.count() == 3
    assert org.occurrences.count() == 120
    assert org.retrospectives.count() == 3 * 26
    issues = org.issues.all()
    assert 0 < issues.count() < 120
    live = issues.annotate(
        n=Count("occurrences"),
        teams=Count("occurrences__team", distinct=True),
        first=Min("occurrences__held_on"),
        last=Max("occurrences__held_on"),
    )
    for issue in live:
        assert issue.occurrence_count == issue.n
        assert issue.team_count == issue.teams
        assert (issue.first_seen, issue.last_seen) == (issue.first, issue.last)
    assert org.fixes.exists()
    assert "120 occurrences" in output


@pytest.mark.django_db
def test_every_occurrence_has_a_unit_vector_of_the_current_model():
    seed()
    rows = Occurrence.objects.values_list("embedding", "embedding_model")
    assert rows
    for blob, model_id in rows:
        assert model_id == embedding.MODEL_ID
        vector = embedding.from_bytes(bytes(blob))
        assert vector.shape == (embedding.DIMENSION,)
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4


@pytest.mark.django_db
def test_rows_never_cross_the_organisation_boundary():
    seed(org="First Co")
    seed(org="Second Co", teams=2, occurrences=60)
    occurrences = Occurrence.objects.all()
    assert not occurrences.exclude(issue__organization=F("organization")).exists()
    assert not occurrences.exclude(retro__organization=F("organization")).exists()
    assert not occurrences.exclude(team_id=F("retro__team_id")).exists()
    assert not occurrences.exclude(held_on=F("retro__held_on")).exists()
    fixes = Fix.objects.all()
    assert not fixes.exclude(issue__organization=F("organization")).exists()
    assert not fixes.exclude(retro__organization=F("organization")).exists()
    assert not fixes.exclude(team__organization=F("organization")).exists()
    assert not Retrospective.objects.exclude(team__organization=F("organization")).exists()


@pytest.mark.django_db
def test_it_computes_one_current_finding_per_issue_unless_told_not_to():
    seed()
    org = Organization.objects.get(name="Tiny Co")
    issues = org.issues.count()
    assert Finding.objects.filter(organization=org, is_current=True).count() == issues
    seed("--no-findings", org="Quiet Co", teams=2, occurrences=30)
    assert not Finding.objects.filter(organization__name="Quiet Co").exists()


@pytest.mark.django_db
def test_it_creates_a_leader_and_a_facilitator_of_the_first_team_with_the_known_password():
    output = seed()
    leader_name, facilitator_name = usernames_for("Tiny Co")
    users = get_user_model().objects
    leader, facilitator = users.get(username=leader_name), users.get(username=facilitator_name)
    assert leader.check_password(DEFAULT_PASSWORD)
    assert facilitator.check_password(DEFAULT_PASSWORD)
    assert leader.membership.role == Role.LEADER
    assert facilitator.membership.role == Role.FACILITATOR
    assert [t.name for t in facilitator.membership.teams.all()] == [corpus.TEAM_NAMES[0]]
    assert DEFAULT_PASSWORD in output and facilitator_name in output


@pytest.mark.django_db
def test_it_refuses_an_existing_organisation_unless_asked_to_replace_it():
    seed()
    with pytest.raises(CommandError, match=r"already exists.*--replace"):
        seed()
    seed("--replace", occurrences=50)
    org = Organization.objects.get(name="Tiny Co")
    assert org.occurrences.count() == 50
    assert org.memberships.count() == 2


@pytest.mark.django_db
def test_deleting_an_organisation_leaves_the_others_untouched():
    seed(org="Gone Co")
    seed(org="Kept Co", teams=2, occurrences=40)
    delete_organization(Organization.objects.get(name="Gone Co"))
    assert not Organization.objects.filter(name="Gone Co").exists()
    assert not Occurrence.objects.filter(organization__name="Gone Co").exists()
    assert not get_user_model().objects.filter(username__startswith="gone-co").exists()
    kept = Organization.objects.get(name="Kept Co")
    assert kept.occurrences.count() == 40
    assert Finding.objects.filter(organization=kept).exists()
    assert kept.memberships.count() == 2


def test_noisy_vectors_are_unit_vectors_near_their_base():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((3, embedding.DIMENSION)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    vectors = noisy_vectors(base, np.array([0, 0, 2]), 0.25, rng)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * base[[0, 0, 2]]).sum(axis=1)
    assert np.all(cosines > 0.95) and np.all(cosines < 0.99)
    assert not np.allclose(vectors[0], vectors[1])


# --- The plan behind it ---------------------------------------------------------------------


def test_the_plan_has_exactly_the_requested_raisings_on_valid_retros():
    plan = corpus.plan(teams=4, occurrences=500, today=TODAY, years=2, seed=3, base_count=80)
    assert plan.occurrence_count == 500
    per_team = len(plan.retros) // 4
    for issue in plan.issues:
        dates = [plan.retros[o.retro].held_on for o in issue.occurrences]
        assert dates == sorted(dates)
        assert all(plan.retros[o.retro].team == o.team for o in issue.occurrences)
        assert len({o.retro for o in issue.occurrences}) == len(issue.occurrences)
        assert all(plan.base_family[o.base] == issue.family for o in issue.occurrences)
        for fix in issue.fixes:
            assert 0 <= fix.occurrence < len(issue.occurrences)
            assert fix.decided_on == dates[fix.occurrence]
            assert fix.completed_on is None or fix.status == "done"
    assert all(r.held_on <= TODAY for r in plan.retros)
    assert per_team == round(2 * 365.25 / 14)


def test_the_plan_has_recurrences_across_teams_and_both_kinds_of_fix():
    plan = corpus.plan(teams=5, occurrences=2000, today=TODAY, years=2, seed=1, base_count=200)
    sizes = [len(i.occurrences) for i in plan.issues]
    assert 3 < 2000 / len(sizes) < 8
    assert any(len({o.team for o in i.occurrences}) > 1 for i in plan.issues)
    kinds = {f.kind for i in plan.issues for f in i.fixes}
    assert {"meeting", "reminder"} <= kinds and kinds & {"tooling", "infrastructure", "coaching"}
    texts = [o.text for i in plan.issues for o in i.occurrences]
    assert len(set(texts)) > len(texts) / 4
    assert corpus.render("See {ticket}", random.Random(1)).startswith("See ")


def test_the_plan_is_the_same_for_the_same_seed():
    a = corpus.plan(teams=2, occurrences=100, today=TODAY, seed=9, base_count=40)
    b = corpus.plan(teams=2, occurrences=100, today=TODAY, seed=9, base_count=40)
    assert [o.text for i in a.issues for o in i.occurrences] == [
        o.text for i in b.issues for o in i.occurrences
    ]


def test_queries_are_distinct_typed_texts():
    texts = list(corpus.queries(300))
    assert len(texts) == len(set(texts)) == 300
    assert all(len(t) >= 10 for t in texts)


def test_the_generated_history_document_is_valid_recur_history():
    document = corpus.history_document("Import Co", items=300, teams=4, today=TODAY)
    parsed = parse_history(document)
    items = [item for retro in parsed.retrospectives for item in retro.items]
    assert len(items) == 300
    assert any(item.same_as for item in items)
    assert any(retro.actions for retro in parsed.retrospectives)


def test_typos_change_one_word_only():
    rng = random.Random(4)
    text = "Staging environment unavailable again"
    for _ in range(20):
        changed = corpus.typo(text, rng)
        differing = [a for a, b in zip(text.split(), changed.split(), strict=True) if a != b]
        assert len(differing) <= 1


def test_usernames_follow_the_organisation_name():
    assert usernames_for("Globex Scale") == ("globex-scale-leader", "globex-scale-facilitator")
