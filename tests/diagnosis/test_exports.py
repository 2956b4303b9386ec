"""Exports: the dashboard's filtered list as CSV (formula injection neutralised) and the
organisation's diagnoses as a recur-diagnoses/1 document."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from diagnosis.exports import build_diagnoses_document, csv_safe
from diagnosis.models import Finding
from tests.diagnosis.stories import band_aid_loop, months_ago, raise_issue, recompute

pytestmark = pytest.mark.usefixtures("cold_cache")


ISSUE_KEYS = {
    "id",
    "title",
    "items",
    "teams",
    "occurrences",
    "first_seen",
    "last_seen",
    "fixes",
    "band_aid_fixes",
    "structural_fixes",
    "category",
    "confidence",
    "flagged",
    "status",
    "reasons",
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Priorities churn", "Priorities churn"),
        ("a=b", "a=b"),
        (3, "3"),
        (None, ""),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(value, expected):
    assert csv_safe(value) == expected


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_the_csv_holds_the_current_filtered_list(cast, loops):
    evil = band_aid_loop(cast.org, [cast.team], title='=HYPERLINK("http://evil","x")', start=6)
    recompute(evil)
    client = cast.clients["leader"]
    response = client.get(reverse("diagnosis:export_csv"))
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="recur-band-aid-')
    rows = _csv(response)
    assert rows[0][:3] == ["issue_id", "title", "category"]
    titles = [r[1] for r in rows[1:]]
    assert set(titles) == {"Priorities churn", "Hand-offs stall", '\'=HYPERLINK("http://evil","x")'}
    wide = next(r for r in rows[1:] if r[1] == "Priorities churn")
    finding = Finding.objects.get(issue=loops["wide"], is_current=True)
    assert wide[0] == str(loops["wide"].pk)
    assert wide[6] == "Checkout; Payments"
    assert wide[7] == "3" and wide[8] == "2"
    assert wide[10] == finding.reasons[0]["text"]
    assert wide[11] == f"http://testserver/dashboard/findings/{loops['wide'].pk}/"

    filtered = _csv(
        client.get(reverse("diagnosis:export_csv"), {"team": cast.other_team.pk, "period": "12m"})
    )
    assert {r[1] for r in filtered[1:]} == {"Priorities churn", "Hand-offs stall"}


def test_the_csv_is_for_leaders_only(cast, loops):
    assert cast.clients["member"].get(reverse("diagnosis:export_csv")).status_code == 403
    rows = _csv(cast.clients["outsider"].get(reverse("diagnosis:export_csv")))
    assert [r[1] for r in rows[1:]] == ["Contoso secret loop"]


def test_the_diagnoses_document_has_exactly_the_documented_shape(cast, loops):
    from retros.models import Occurrence

    wide = loops["wide"]
    occurrences = list(Occurrence.objects.filter(issue=wide).order_by("held_on"))
    occurrences[0].import_key = "p31-1"
    occurrences[0].save()
    occurrences[2].import_key = "p35-2"
    occurrences[2].save()
    archived = raise_issue(cast.org, [(cast.team, months_ago(2))], title="Archived one")
    recompute(archived)
    archived.archived_at = timezone.now()
    archived.save()

    document = build_diagnoses_document(cast.org)
    assert set(document) == {"format", "organization", "generated_at", "issues"}
    assert document["format"] == "recur-diagnoses/1"
    assert document["organization"] == "Northwind"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["generated_at"])
    issues = document["issues"]
    assert [i["id"] for i in issues] == sorted(
        [loops["wide"].pk, loops["narrow"].pk, loops["single"].pk]
    )
    for issue in issues:
        assert set(issue) == ISSUE_KEYS
        assert issue["category"] in {
            "execution",
            "strategy",
            "culture",
            "interpersonal",
            "undetermined",
        }
        assert issue["status"] in {"active", "watching", "resolved"}
        assert all(isinstance(r, str) for r in issue["reasons"])
        assert isinstance(issue["confidence"], float)
    entry = next(i for i in issues if i["id"] == wide.pk)
    finding = Finding.objects.get(issue=wide, is_current=True)
    assert entry["title"] == "Priorities churn"
    assert entry["items"] == ["p31-1", "p35-2"]  # import keys only, never empty ones
    assert entry["teams"] == ["Payments", "Checkout"]  # in the order they raised it
    assert entry["occurrences"] == 3
    assert entry["first_seen"] == occurrences[0].held_on.isoformat()
    assert entry["last_seen"] == occurrences[2].held_on.isoformat()
    assert (entry["fixes"], entry["band_aid_fixes"], entry["structural_fixes"]) == (2, 2, 0)
    assert entry["category"] == finding.category
    assert entry["flagged"] is True and entry["status"] == finding.status
    assert entry["reasons"] == [r["text"] for r in finding.reasons]
    assert entry["confidence"] == round(finding.confidence, 2)
    single = next(i for i in issues if i["id"] == loops["single"].pk)
    assert single["items"] == [] and single["fixes"] == 0
    json.dumps(document)  # JSON-ready


def test_the_json_download_is_the_document(cast, loops):
    response = cast.clients["leader"].get(reverse("diagnosis:export_json"))
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="recur-diagnoses-')
    document = json.loads(response.content)
    assert document["format"] == "recur-diagnoses/1"
    assert "Contoso secret loop" not in response.content.decode()
    assert len(document["issues"]) == 3


def test_the_export_command_writes_the_same_document(cast, loops, tmp_path):
    from django.core.management import call_command

    out = tmp_path / "diagnoses.json"
    call_command("export_diagnoses", org="Northwind", output=str(out))
    document = json.loads(out.read_text())
    assert [i["id"] for i in document["issues"]] == [
        i["id"] for i in build_diagnoses_document(cast.org)["issues"]
    ]
