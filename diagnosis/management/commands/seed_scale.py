"""python manage.py seed_scale — a large organisation for load and scale tests."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections, transaction
from django.utils import timezone
from django.utils.text import slugify

from bench import corpus
from matching import embedding
from retros.models import (
    Fix,
    Issue,
    LinkSource,
    Membership,
    Occurrence,
    Organization,
    RetroFormat,
    Retrospective,
    RetroStatus,
    Role,
    Team,
)

DEFAULT_ORG = "Globex Scale"
DEFAULT_PASSWORD = "recur-bench-2026"  # noqa: S105 (a seeded test organisation's known login)
FORMATS = [f.value for f in RetroFormat]

HELP = """Create a large organisation for load and scale tests: fortnightly retros of
--teams teams over --years years, about --occurrences / 5 issues with --occurrences raisings,
about 0.4 fixes per raising (band-aids and structural fixes with outcomes), the current
findings, and two logins (a leader, and a facilitator of the first team) with a known
password. Texts are realistic: problem families with rewordings, typos, team and product
names, ticket codes, recurrences across teams. Vectors approximate the model's: only a few
thousand distinct base sentences (--base-sentences) are embedded with the real model; each
raising's vector is its base sentence's vector plus random noise of length --noise,
normalised (cosine to the base about 0.97), because embedding every text would take minutes.
Rows are written with bulk_create, so seeded rows have no django-simple-history entries."""


def slug_for(name: str) -> str:
    return slugify(name) or "org"


def usernames_for(org_name: str) -> tuple[str, str]:
    """The leader's and the facilitator's usernames for a seeded organisation."""
    slug = slug_for(org_name)
    return f"{slug}-leader", f"{slug}-facilitator"


def noisy_vectors(
    base_vectors: np.ndarray, base_index: np.ndarray, noise: float, rng: np.random.Generator
) -> np.ndarray:
    """Unit vectors near the given base vectors: base + a random direction of length
    `noise`, normalised."""
    base = base_vectors[base_index]
    jitter = rng.standard_normal(base.shape).astype(np.float32)
    jitter *= noise / np.linalg.norm(jitter, axis=1, keepdims=True)
    vectors = base + jitter
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def _encode_chunk(texts: list[str]) -> np.ndarray:
    return embedding.encode(texts, batch_size=64)


def embed_texts(texts: list[str], jobs: int) -> np.ndarray:
    """Real model vectors of `texts`, in `jobs` processes (the model runs on one core)."""
    if jobs <= 1 or len(texts) < 200:
        return embedding.encode(texts, batch_size=64)
    import multiprocessing

    connections.close_all()  # forked children must not share the database connection
    size = -(-len(texts) // jobs)
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        parts = pool.map(_encode_chunk, chunks)
    return np.concatenate(parts)


def _aware(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def delete_organization(organization: Organization) -> None:
    """Delete an organisation with everything in it, and its people's accounts, in a few
    set-based statements (the ORM's cascade would load every row and write a history row
    for each)."""
    from django.apps import apps

    org_id = organization.pk
    user_ids = list(
        Membership.objects.filter(organization_id=org_id).values_list("user_id", flat=True)
    )
    ordered = [
        "diagnosis.HistoricalFinding",
        "diagnosis.Finding",
        "diagnosis.HistoricalAssessment",
        "diagnosis.Assessment",
        "diagnosis.LeaderAction",
        "diagnosis.HistoricalHypothesis",
        "diagnosis.Hypothesis",
        "retros.HistoricalLinkReview",
        "retros.LinkReview",
        "retros.IssueMerge",
        "retros.HistoricalFix",
        "retros.Fix",
        "retros.HistoricalOccurrence",
        "retros.Occurrence",
        "retros.HistoricalIssue",
        "retros.Issue",
        "retros.ImportJob",
        "retros.Retrospective",
    ]
    statements = [
        (
            "DELETE FROM diagnosis_historicalhypothesis_issues WHERE history_id IN "
            "(SELECT history_id FROM diagnosis_historicalhypothesis WHERE organization_id = %s)"
        ),
        (
            "DELETE FROM diagnosis_hypothesis_issues WHERE hypothesis_id IN "
            "(SELECT id FROM diagnosis_hypothesis WHERE organization_id = %s)"
        ),
        "UPDATE retros_issue SET merged_into_id = NULL WHERE organization_id = %s",
        (
            "DELETE FROM diagnosis_pendingrecompute WHERE issue_id IN "
            "(SELECT id FROM retros_issue WHERE organization_id = %s)"
        ),
        *(
            f"DELETE FROM {apps.get_model(label)._meta.db_table} WHERE organization_id = %s"
            for label in ordered
        ),
        (
            "DELETE FROM retros_membership_teams WHERE membership_id IN "
            "(SELECT id FROM retros_membership WHERE organization_id = %s)"
        ),
        "DELETE FROM retros_membership WHERE organization_id = %s",
        "DELETE FROM retros_team WHERE organization_id = %s",
    ]
    with transaction.atomic():
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql, [org_id])
        get_user_model().objects.filter(pk__in=user_ids).delete()
        Organization.objects.filter(pk=org_id).delete()


def _batches[T](items: Iterator[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Command(BaseCommand):
    help = HELP

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--teams", type=int, default=50)
        parser.add_argument("--occurrences", type=int, default=100_000)
        parser.add_argument("--org", default=DEFAULT_ORG, help="organisation name")
        parser.add_argument("--seed", type=int, default=1, help="random seed")
        parser.add_argument("--years", type=float, default=5.0, help="history length")
        parser.add_argument(
            "--base-sentences",
            type=int,
            help="distinct sentences embedded with the real model "
            "(default: one per 30 occurrences, at most 3000)",
        )
        parser.add_argument(
            "--noise", type=float, default=0.25, help="length of the noise added to vectors"
        )
        parser.add_argument("--replace", action="store_true", help="delete the org first")
        parser.add_argument(
            "--no-findings", action="store_true", help="skip computing the findings"
        )
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="password of the logins")
        parser.add_argument("--jobs", type=int, default=2, help="processes for embedding")
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        name: str = options["org"]
        teams, occurrences = options["teams"], options["occurrences"]
        if teams < 1 or occurrences < 1:
            raise CommandError("--teams and --occurrences must be at least 1.")
        leader_name, facilitator_name = usernames_for(name)
        existing = Organization.objects.filter(name=name).first()
        if existing is not None:
            if not options["replace"]:
                raise CommandError(
                    f"The organisation “{name}” already exists. Use --replace to delete it "
                    "and seed it again, or --org to choose another name."
                )
            self._step("Deleting the existing organisation", lambda: delete_organization(existing))
        User = get_user_model()
        taken = User.objects.filter(username__in=[leader_name, facilitator_name])
        if taken.exists():
            raise CommandError(
                f"The usernames {leader_name} / {facilitator_name} are taken by people outside "
                f"“{name}”; choose another --org."
            )
        today = timezone.localdate()
        history = self._step(
            "Planning the history",
            lambda: corpus.plan(
                teams=teams,
                occurrences=occurrences,
                today=today,
                years=options["years"],
                seed=options["seed"],
                base_count=options["base_sentences"] or min(3000, max(60, occurrences // 30)),
            ),
        )
        base_vectors = self._step(
            f"Embedding {len(history.base_texts)} base sentences with the real model",
            lambda: embed_texts(history.base_texts, options["jobs"]),
        )
        org = self._step(
            "Writing the organisation",
            lambda: self._write(history, base_vectors, name, options, today),
        )
        if not options["no_findings"]:
            from diagnosis.services import finding_recompute_organization

            self._step(
                "Computing the findings",
                lambda: finding_recompute_organization(org, today=today),
            )
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self._step("Vacuuming and analysing the tables", self._analyse)
        from retros.search import invalidate

        invalidate(org.pk)
        self.stdout.write(
            f"Organisation “{name}”: {len(history.teams)} teams, {len(history.retros)} retros, "
            f"{len(history.issues)} issues, {history.occurrence_count} occurrences, "
            f"{history.fix_count} fixes in {time.perf_counter() - started:.1f} s."
        )
        self.stdout.write(f"Logins (password {options['password']}):")
        self.stdout.write(f"  {leader_name:<30} leader")
        self.stdout.write(f"  {facilitator_name:<30} facilitator of {history.teams[0]}")

    def _step[T](self, label: str, run: Callable[[], T]) -> T:
        started = time.perf_counter()
        self.stdout.write(f"{label}…", ending="")
        self.stdout.flush()
        result: T = run()
        self.stdout.write(f" {time.perf_counter() - started:.1f} s")
        return result

    @staticmethod
    def _analyse() -> None:
        """Planner statistics and the visibility map, as a database in use has them
        (index-only scans need the latter)."""
        from diagnosis.models import Finding

        with connection.cursor() as cursor:
            for model in (Retrospective, Issue, Occurrence, Fix, Finding):
                cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")

    def _write(
        self,
        history: corpus.Plan,
        base_vectors: np.ndarray,
        name: str,
        options: dict[str, Any],
        today: dt.date,
    ) -> Organization:
        size = options["batch_size"]
        rng = np.random.default_rng(options["seed"])
        with transaction.atomic():
            org = Organization.objects.create(
                name=name, created_at=_aware(history.retros[0].held_on)
            )
            teams = Team.objects.bulk_create(
                [Team(organization=org, name=team_name) for team_name in history.teams]
            )
            _leader, facilitator = self._people(org, teams[0], options["password"])
            retros = Retrospective.objects.bulk_create(
                (
                    Retrospective(
                        organization=org,
                        team=teams[r.team],
                        held_on=r.held_on,
                        title=f"Sprint {r.number}",
                        format=FORMATS[r.number % len(FORMATS)],
                        facilitator=facilitator if r.team == 0 else None,
                        status=RetroStatus.CLOSED,
                        created_at=_aware(r.held_on, 9),
                        closed_at=_aware(r.held_on, 11),
                    )
                    for r in history.retros
                ),
                batch_size=size,
            )
            retro_ids = [r.pk for r in retros]
            team_ids = [t.pk for t in teams]
            dates = [r.held_on for r in history.retros]
            stamps = [_aware(day, 10) for day in dates]
            creator = {0: facilitator.pk}
            issues = Issue.objects.bulk_create(
                (self._issue(org, planned, dates) for planned in history.issues),
                batch_size=size,
            )
            rows = (
                (issue.pk, n, occ)
                for issue, planned in zip(issues, history.issues, strict=True)
                for n, occ in enumerate(planned.occurrences)
            )
            for batch in _batches(rows, size):
                vectors = noisy_vectors(
                    base_vectors, np.array([occ.base for _, _, occ in batch]), options["noise"], rng
                )
                Occurrence.objects.bulk_create(
                    [
                        Occurrence(
                            organization_id=org.pk,
                            issue_id=issue_id,
                            retro_id=retro_ids[occ.retro],
                            team_id=team_ids[occ.team],
                            held_on=dates[occ.retro],
                            text=occ.text,
                            votes=occ.votes,
                            link_source=LinkSource.NEW if n == 0 else LinkSource.SUGGESTION,
                            link_score=None if n == 0 else 0.8,
                            embedding=embedding.to_bytes(vector),
                            embedding_model=embedding.MODEL_ID,
                            created_by_id=creator.get(occ.team),
                            created_at=stamps[occ.retro],
                        )
                        for (issue_id, n, occ), vector in zip(batch, vectors, strict=True)
                    ]
                )
            fixes = (
                Fix(
                    organization_id=org.pk,
                    issue_id=issue.pk,
                    retro_id=retro_ids[planned.occurrences[fix.occurrence].retro],
                    team_id=team_ids[planned.occurrences[fix.occurrence].team],
                    decided_on=fix.decided_on,
                    text=fix.text,
                    kind=fix.kind,
                    owner=fix.owner,
                    due_on=fix.due_on,
                    status=fix.status,
                    outcome=fix.outcome,
                    completed_on=fix.completed_on,
                    created_at=stamps[planned.occurrences[fix.occurrence].retro],
                )
                for issue, planned in zip(issues, history.issues, strict=True)
                for fix in planned.fixes
            )
            for fix_batch in _batches(fixes, size):
                Fix.objects.bulk_create(fix_batch)
        return org

    @staticmethod
    def _issue(org: Organization, planned: corpus.PlannedIssue, dates: list[dt.date]) -> Issue:
        from vocabulary.limits import title_from_text

        held = [dates[o.retro] for o in planned.occurrences]
        return Issue(
            organization=org,
            title=title_from_text(planned.occurrences[0].text),
            occurrence_count=len(planned.occurrences),
            team_count=len({o.team for o in planned.occurrences}),
            first_seen=min(held),
            last_seen=max(held),
            created_at=_aware(min(held), 10),
        )

    @staticmethod
    def _people(org: Organization, team: Team, password: str) -> tuple[Any, Any]:
        User = get_user_model()
        leader_name, facilitator_name = usernames_for(org.name)
        people = []
        for username, role, first in (
            (leader_name, Role.LEADER, "Lena"),
            (facilitator_name, Role.FACILITATOR, "Felix"),
        ):
            user = User(username=username, first_name=first, email=f"{username}@example.com")
            user.set_password(password)
            user.save()
            membership = Membership.objects.create(user=user, organization=org, role=role)
            if role == Role.FACILITATOR:
                membership.teams.set([team])
            people.append(user)
        return people[0], people[1]
