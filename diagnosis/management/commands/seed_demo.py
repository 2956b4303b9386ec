"""python manage.py seed_demo — the demo organisation with a login for each role."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from diagnosis.services import finding_recompute_organization
from retros.demo.story import DEMO_PASSWORD, DEMO_PEOPLE, ORGANIZATION, TEAMS, build_history
from retros.importing import history_import
from retros.models import Membership, Team


class Command(BaseCommand):
    help = "Create (or bring up to date) the demo organisation and its demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        report = history_import(build_history())
        organization_id = report.organization_id
        User = get_user_model()
        with transaction.atomic():
            for username, first, last, role, team_keys in DEMO_PEOPLE:
                user, created = User.objects.get_or_create(
                    username=username,
                    defaults={
                        "first_name": first,
                        "last_name": last,
                        "email": f"{username}@fabrikam.example",
                        "is_staff": role == "admin",
                    },
                )
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.save()
                membership, _ = Membership.objects.get_or_create(
                    user=user, defaults={"organization_id": organization_id, "role": role}
                )
                if membership.organization_id == organization_id:
                    names = [TEAMS[key] for key in team_keys]
                    membership.teams.set(
                        Team.objects.filter(organization_id=organization_id, name__in=names)
                    )
        from retros.models import Organization

        finding_recompute_organization(Organization.objects.get(pk=organization_id))
        self.stdout.write(
            f"Demo organisation “{ORGANIZATION}”: {report.items_created} new items "
            f"({report.items_skipped} already present)."
        )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, _first, _last, role, team_keys in DEMO_PEOPLE:
            teams = ", ".join(TEAMS[k] for k in team_keys) or "all teams"
            self.stdout.write(f"  {username:<12} {role:<12} {teams}")
