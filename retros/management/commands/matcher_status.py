"""python manage.py matcher_status [--org NAME] [--load] [--snapshot] — the matcher's memory
budget, what each organisation's index costs, and its snapshot."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandParser

from retros import search, snapshot
from retros.management.organizations import OrganizationsCommand
from retros.models import Organization

MB = 1024 * 1024


class Command(OrganizationsCommand):
    help = (
        "Show the matcher's memory budget per web process (RECUR_MATCHER_MEMORY_MB) and each "
        "organisation's live raisings; --load loads each index here, as a web process would, "
        "and shows its size and load time and which indexes the budget keeps; --snapshot "
        "writes each organisation's index snapshot, which web processes load in one read "
        "(run it once after a first deploy or a migration)."
    )
    cache: search.IndexCache

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--load", action="store_true", help="load and measure each index")
        parser.add_argument(
            "--snapshot", action="store_true", help="write each organisation's index snapshot"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.cache = search.IndexCache()
        self.stdout.write(f"Budget per web process: {self.cache.budget / MB:.0f} MB")
        super().handle(*args, **options)
        snapshot.wait()  # snapshots the loads had written in this process's threads
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
            loaded = self.cache.snapshot_loads
            started = time.perf_counter()
            index = self.cache.index(organization.pk)
            elapsed = time.perf_counter() - started
            how = "from its snapshot" if self.cache.snapshot_loads > loaded else "from its rows"
            line += f", index {index.estimate / MB:.1f} MB, loaded {how} in {elapsed:.2f} s"
        if options["snapshot"]:
            started = time.perf_counter()
            saved = snapshot.write(organization.pk)
            elapsed = time.perf_counter() - started
            if saved is None:
                line += "; a newer snapshot was written meanwhile"
            else:
                size = len(saved.data) / MB
                line += (
                    f"; snapshot of {saved.rows} rows, {size:.1f} MB, written in {elapsed:.2f} s"
                )
        self.stdout.write(line)
