"""python manage.py recompute_findings [--org NAME]"""

from __future__ import annotations

import time
from typing import Any

from diagnosis.services import finding_recompute_organization
from retros.management.organizations import OrganizationsCommand
from retros.models import Organization


class Command(OrganizationsCommand):
    help = "Recompute the diagnosis findings of every issue (of one organisation)."

    def handle_organization(self, organization: Organization, **options: Any) -> None:
        started = time.perf_counter()
        changed = finding_recompute_organization(organization)
        elapsed = time.perf_counter() - started
        self.stdout.write(f"{organization.name}: {changed} finding(s) changed in {elapsed:.1f}s")
