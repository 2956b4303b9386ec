"""What the operator commands share: choosing organisations by name and writing documents."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
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
