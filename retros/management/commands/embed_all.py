"""python manage.py embed_all [--org NAME] [--force] — (re)compute occurrence vectors."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser
from django.db.models import Q

from matching import embedding
from retros.management.organizations import OrganizationsCommand
from retros.models import Occurrence, Organization
from retros.search import invalidate

BATCH = 256


class Command(OrganizationsCommand):
    help = (
        "Compute the sentence vector of every occurrence that has none or was embedded by "
        "another model (after a model change); --force recomputes all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--force", action="store_true", help="recompute every vector")

    def handle_organization(self, organization: Organization, **options: Any) -> None:
        done = embed_organization(organization, force=options["force"], progress=self._progress)
        self.stderr.write("")
        self.stdout.write(
            f"{organization.name}: {done} occurrence(s) embedded with {embedding.MODEL_ID}"
        )

    def _progress(self, done: int, total: int, started: float) -> None:
        rate = done / max(time.perf_counter() - started, 1e-6)
        self.stderr.write(f"\rEmbedded {done}/{total} ({rate:.0f}/s)", ending="")
        self.stderr.flush()


def embed_organization(
    organization: Organization, *, force: bool = False, progress: Any = None
) -> int:
    """Embed the organisation's stale occurrences in batches; returns how many."""
    stale = Occurrence.objects.filter(organization=organization)
    if not force:
        stale = stale.filter(Q(embedding__isnull=True) | ~Q(embedding_model=embedding.MODEL_ID))
    ids = list(stale.order_by("pk").values_list("pk", flat=True))
    started = time.perf_counter()
    for start in range(0, len(ids), BATCH):
        rows = list(Occurrence.objects.filter(pk__in=ids[start : start + BATCH]).only("id", "text"))
        vectors = embedding.encode([row.text for row in rows], threads=settings.RECUR_EMBED_THREADS)
        for row, vector in zip(rows, vectors, strict=True):
            row.embedding = embedding.to_bytes(vector)
            row.embedding_model = embedding.MODEL_ID
        Occurrence.objects.bulk_update(rows, ["embedding", "embedding_model"])
        if progress:
            progress(min(start + BATCH, len(ids)), len(ids), started)
    if ids:
        invalidate(organization.pk)
    return len(ids)
