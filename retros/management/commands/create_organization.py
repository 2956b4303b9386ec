"""python manage.py create_organization NAME [--admin USERNAME]"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from retros.services import organization_create


class Command(BaseCommand):
    help = (
        "Create an organisation; with --admin, that existing account (which must not belong "
        "to an organisation yet) becomes its admin member and staff."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the organisation's name")
        parser.add_argument("--admin", metavar="USERNAME", help="an existing account")

    def handle(self, *args: Any, **options: Any) -> None:
        admin = None
        if options["admin"]:
            User = get_user_model()
            admin = User.objects.filter(**{User.USERNAME_FIELD: options["admin"]}).first()
            if admin is None:
                raise CommandError(
                    f"No account named {options['admin']!r}; create it first "
                    "(python manage.py createsuperuser)."
                )
        try:
            organization = organization_create(name=options["name"], admin=admin)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        line = f"Created the organisation {organization.name!r}"
        if admin is not None:
            line += f" with {admin.get_username()} as its admin"
        self.stdout.write(line + ".")
