"""python manage.py evaluate_diagnosis DIR — import each sample history twice into a scratch
organisation (as written, then without `same_as` and `kind`) and score linking, flags and
categories against NAME.expected.json. Nothing is kept: every import is rolled back."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from diagnosis.evaluation import (
    IssueOutcome,
    finding_scores,
    linking_scores,
    strip_truth,
    true_groups,
)
from diagnosis.models import Finding
from diagnosis.replay import document_as_of
from diagnosis.services import finding_recompute_organization
from retros.importing import history_import
from retros.models import LinkReview, Occurrence, Organization


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Score recurrence linking and diagnosis on sample histories with expected findings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", help="folder with NAME.history.json + NAME.expected.json")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["directory"])
        files = sorted(folder.glob("*.history.json"))
        if not files:
            raise CommandError(f"No *.history.json files in {folder}.")
        for path in files:
            expected_path = path.with_name(path.name.replace(".history.json", ".expected.json"))
            document = json.loads(path.read_text(encoding="utf-8"))
            expected = (
                json.loads(expected_path.read_text(encoding="utf-8"))["findings"]
                if expected_path.exists()
                else []
            )
            for mode, doc in (
                ("as written", document),
                ("links and kinds removed", strip_truth(document)),
            ):
                scores = self._score(doc, document, expected)
                self.stdout.write(json.dumps({"file": path.name, "mode": mode, **scores}))

    def _score(
        self, doc: dict[str, Any], truth_doc: dict[str, Any], expected: list[dict[str, Any]]
    ) -> dict[str, Any]:
        scratch = {**doc, "organization": f"evaluation {uuid.uuid4().hex[:12]}"}
        result: dict[str, Any] = {}
        try:
            with transaction.atomic():
                report = history_import(scratch)
                organization = Organization.objects.get(pk=report.organization_id)
                finding_recompute_organization(organization, today=document_as_of(truth_doc))
                predicted = dict(
                    Occurrence.objects.filter(organization=organization).values_list(
                        "import_key", "issue_id"
                    )
                )
                issues: dict[int, set[str]] = {}
                for key, issue_id in predicted.items():
                    issues.setdefault(issue_id, set()).add(key)
                findings = {
                    f.issue_id: f
                    for f in Finding.objects.filter(organization=organization, is_current=True)
                }
                outcomes = [
                    IssueOutcome(
                        frozenset(keys),
                        findings[i].category if i in findings else "undetermined",
                        findings[i].flagged if i in findings else False,
                    )
                    for i, keys in issues.items()
                ]
                truth = true_groups(truth_doc)
                result["linking"] = linking_scores(predicted, truth)
                # If a person confirmed each queued candidate (the link review queue).
                reviewed = dict(predicted)
                for key, candidate in LinkReview.objects.filter(
                    organization=organization, status="pending"
                ).values_list("occurrence__import_key", "candidate_id"):
                    reviewed[key] = candidate
                result["linking_after_review"] = linking_scores(reviewed, truth)
                result.update(finding_scores(outcomes, expected, truth))
                result["auto_links"] = len(report.auto_links)
                result["queued_for_review"] = report.queued_for_review
                raise _Rollback
        except _Rollback:
            pass
        return result
