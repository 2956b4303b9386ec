"""python manage.py export_diagnoses --org NAME [--output FILE]"""

from __future__ import annotations

from typing import Any

from diagnosis.exports import build_diagnoses_document
from retros.management.organizations import ExportCommand
from retros.models import Organization


class Command(ExportCommand):
    help = "Export an organisation's findings as a recur-diagnoses/1 document."

    def document(self, organization: Organization) -> dict[str, Any]:
        return build_diagnoses_document(organization)
