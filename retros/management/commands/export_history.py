"""python manage.py export_history --org NAME [--output FILE]"""

from __future__ import annotations

from typing import Any

from retros.importing import history_export
from retros.management.organizations import ExportCommand
from retros.models import Organization


class Command(ExportCommand):
    help = "Export an organisation's history as a recur-history/1 document."

    def document(self, organization: Organization) -> dict[str, Any]:
        return history_export(organization)
