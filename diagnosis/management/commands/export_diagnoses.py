"""python manage.py export_diagnoses --org NAME [--output FILE]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from diagnosis.exports import build_diagnoses_document
from retros.management.organizations import organizations_named, write_document


class Command(BaseCommand):
    help = "Export an organisation's findings as a recur-diagnoses/1 document."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organisation name")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = organizations_named(options["org"]).get()
        write_document(self, build_diagnoses_document(organization), options["output"])
