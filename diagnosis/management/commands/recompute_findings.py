"""python manage.py recompute_findings [--org NAME]"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from diagnosis.services import finding_recompute_organization
from retros.management.organizations import organizations_named


class Command(BaseCommand):
    help = "Recompute the diagnosis findings of every issue (of one organisation)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="organisation name (default: every organisation)")

    def handle(self, *args: Any, **options: Any) -> None:
        organizations = organizations_named(options["org"])
        for organization in organizations:
            started = time.perf_counter()
            changed = finding_recompute_organization(organization)
            elapsed = time.perf_counter() - started
            self.stdout.write(
                f"{organization.name}: {changed} finding(s) changed in {elapsed:.1f}s"
            )
