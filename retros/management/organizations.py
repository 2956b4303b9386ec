"""What the operator commands share: choosing organisations by name and writing documents.

Two kinds of command build on it: one over every organisation or the one named with `--org`
(`OrganizationsCommand`), and one that exports one organisation's document
(`ExportCommand`)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from retros.models import Organization


def organizations_named(name: str | None) -> QuerySet[Organization]:
    """Every organisation, or the one named; a clear error when there is none of that name."""
    organizations = Organization.objects.all()
    if name:
        organizations = organizations.filter(name=name)
        if not organizations.exists():
            raise CommandError(f"No organisation named {name!r}.")
    return organizations


def write_document(command: BaseCommand, document: Any, output: str | None) -> None:
    """The document as indented JSON, to `output` or standard output."""
    text = json.dumps(document, indent=1, ensure_ascii=False)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        command.stdout.write(text)


class OrganizationsCommand(BaseCommand):
    """Runs `handle_organization` for every organisation, or only the one named with --org.
    A subclass adds its own options after calling `super().add_arguments`."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="organisation name (default: every organisation)")

    def handle(self, *args: Any, **options: Any) -> None:
        for organization in organizations_named(options["org"]):
            self.handle_organization(organization, **options)

    def handle_organization(self, organization: Organization, **options: Any) -> None:
        raise NotImplementedError


class ExportCommand(BaseCommand):
    """`--org NAME [--output FILE]`: the named organisation's `document` as JSON."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organisation name")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = organizations_named(options["org"]).get()
        write_document(self, self.document(organization), options["output"])

    def document(self, organization: Organization) -> dict[str, Any]:
        raise NotImplementedError
