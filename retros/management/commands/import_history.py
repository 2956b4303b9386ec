"""python manage.py import_history FILE.json [--background]"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from vocabulary.history import HistoryValidationError, parse_history

BACKGROUND_AT = 5000  # items; larger files go to a worker when one is configured


class Command(BaseCommand):
    help = "Import a recur-history/1 file: validated first, all or nothing, idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path to the JSON file, or - for standard input")
        parser.add_argument(
            "--background",
            action="store_true",
            help="run as a background task and follow its progress",
        )
        parser.add_argument(
            "--no-auto-link", action="store_true", help="link only what the file's same_as says"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        raw = self._read(options["file"])
        try:
            doc = parse_history(raw)
        except HistoryValidationError as error:
            raise CommandError(error.summary()) from None
        items = sum(len(r.items) for r in doc.retrospectives)
        background = options["background"] or (
            items >= BACKGROUND_AT and bool(settings.CELERY_BROKER_URL)
        )
        if background:
            report = self._run_in_background(doc, options["file"], items)
        else:
            from retros.importing import history_import

            report = history_import(
                doc, progress=self._progress, link_automatically=not options["no_auto_link"]
            ).as_dict()
            if items:
                self.stderr.write("")
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=1, ensure_ascii=False))
        else:
            from retros.importing import report_lines

            for line in report_lines(report):
                self.stdout.write(line)

    def _read(self, name: str) -> bytes:
        if name == "-":
            return sys.stdin.buffer.read()
        path = Path(name)
        if not path.is_file():
            raise CommandError(f"No such file: {name}")
        return path.read_bytes()

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"\rImported {done}/{total} items", ending="")
        self.stderr.flush()

    def _run_in_background(self, doc: Any, name: str, items: int) -> dict[str, Any]:
        from django.db import transaction

        from retros.import_jobs import (
            import_job_create,
            import_job_live_progress,
            import_job_progress,
            import_job_wait,
        )
        from retros.models import ImportJob, Organization

        with transaction.atomic():
            # The organisation the file names, bound to the job by id from here on.
            organization, _ = Organization.objects.get_or_create(name=doc.organization)
            job = import_job_create(
                organization=organization,
                doc=doc,
                filename=Path(name).name,
                user=None,
                confirmed=True,
            )
        self.stderr.write(f"Import {job.pk} queued ({items} items).")
        while True:
            # Without a broker the import runs in a thread of this process: follow it there.
            if import_job_wait(job.pk, timeout=1):
                self._progress(*(import_job_live_progress(job.pk) or (0, items)))
                continue
            job = ImportJob.objects.get(pk=job.pk)
            self._progress(*import_job_progress(job))
            if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
                break
            time.sleep(1)
        self.stderr.write("")
        if job.status == ImportJob.Status.FAILED:
            raise CommandError("\n".join(job.errors) or "The import failed.")
        return job.report
