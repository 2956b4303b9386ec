"""python manage.py recompute_findings [--org NAME]"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from diagnosis.services import finding_recompute_organization
from retros.models import Organization


class Command(BaseCommand):
    help = "Recompute the diagnosis findings of every issue (of one organisation)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="organisation name (default: every organisation)")

    def handle(self, *args: Any, **options: Any) -> None:
        organizations = Organization.objects.all()
        if options["org"]:
            organizations = organizations.filter(name=options["org"])
            if not organizations.exists():
                raise CommandError(f"No organisation named {options['org']!r}.")
        for organization in organizations:
            started = time.perf_counter()
            changed = finding_recompute_organization(organization)
            elapsed = time.perf_counter() - started
            self.stdout.write(
                f"{organization.name}: {changed} finding(s) changed in {elapsed:.1f}s"
            )
