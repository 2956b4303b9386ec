"""python manage.py matcher_status [--org NAME] [--load] — the matcher's memory budget and
what each organisation's index costs."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandParser

from retros import search
from retros.management.organizations import OrganizationsCommand
from retros.models import Organization

MB = 1024 * 1024


class Command(OrganizationsCommand):
    help = (
        "Show the matcher's memory budget per web process (RECUR_MATCHER_MEMORY_MB) and each "
        "organisation's live raisings; --load loads each index here, as a web process would, "
        "and shows its size and load time and which indexes the budget keeps."
    )
    cache: search.IndexCache

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--load", action="store_true", help="load and measure each index")

    def handle(self, *args: Any, **options: Any) -> None:
        self.cache = search.IndexCache()
        self.stdout.write(f"Budget per web process: {self.cache.budget / MB:.0f} MB")
        super().handle(*args, **options)
        if options["load"]:
            status = self.cache.status()
            self.stdout.write(
                f"Kept within the budget: {status['organizations']} index(es), "
                f"{status['used_bytes'] / MB:.1f} MB; {status['evictions']} let go"
            )

    def handle_organization(self, organization: Organization, **options: Any) -> None:
        rows = search.live_occurrence_count(organization.pk)
        line = f"{organization.name}: {rows} live raising(s)"
        if options["load"]:
            started = time.perf_counter()
            index = self.cache.index(organization.pk)
            elapsed = time.perf_counter() - started
            line += f", index {index.estimate / MB:.1f} MB, loaded in {elapsed:.2f} s"
        self.stdout.write(line)
