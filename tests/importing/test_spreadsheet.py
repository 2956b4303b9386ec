"""A spreadsheet of retro items imports as a history file does: read into a
`recur-history/1` document, checked, previewed, idempotent."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from retros.import_jobs import import_job_run
from retros.models import Fix, ImportJob, Occurrence, Retrospective
from vocabulary.history import parse_history
from vocabulary.spreadsheet import SpreadsheetError, document_from_rows, read_spreadsheet

TODAY = date(2026, 12, 5)
HEADER = ["Date", "Team", "Sprint", "What came up", "Column", "Votes", "Action", "Owner", "Due"]
ROWS = [
    ["2026-03-02", "Payments", "Sprint 12", "Staging was down for two days", "Went wrong", "3",
     "Move staging to the managed database", "Dana", "2026-03-30"],
    ["2026-03-02", "Payments", "Sprint 12", "Great handover from support", "Went well", "",
     "", "", ""],
    ["2026-03-16", "payments", "Sprint 13", "Staging broke again", "Went wrong", "4",
     "", "", ""],
    ["2026-03-16", "Checkout", "", "Flaky checkout tests", "", "", "", "", ""],
]  # fmt: skip


def _document(rows, **kwargs):
    return document_from_rows(rows, organization="Northwind", today=TODAY, **kwargs)


def test_rows_of_one_team_and_date_are_one_retro_and_a_fix_belongs_to_its_row():
    doc = parse_history(_document([HEADER, *ROWS]), today=TODAY)
    assert [t.name for t in doc.teams] == ["Payments", "Checkout"]  # "payments" is Payments
    retros = {(r.held_on, r.title): r for r in doc.retrospectives}
    sprint12 = retros[date(2026, 3, 2), "Sprint 12"]
    assert [i.text for i in sprint12.items] == [
        "Staging was down for two days",
        "Great handover from support",
    ]
    assert sprint12.items[0].votes == 3 and sprint12.items[1].column == "Went well"
    (fix,) = sprint12.actions
    assert (fix.text, fix.owner, fix.due_on, fix.item, fix.kind) == (
        "Move staging to the managed database",
        "Dana",
        date(2026, 3, 30),
        sprint12.items[0].key,
        None,  # inferred at import
    )
    assert len(doc.retrospectives) == 3


def test_keys_come_from_what_rows_say_so_a_resorted_longer_sheet_adds_only_what_is_new():
    first = _document([HEADER, *ROWS])
    longer = [*reversed(ROWS), ["2026-04-01", "Checkout", "", "New thing", "", "", "", "", ""]]
    second = _document([HEADER, *longer])

    def keys(doc):
        return {i["key"] for r in doc["retrospectives"] for i in r["items"]}

    assert keys(first) < keys(second) and len(keys(second) - keys(first)) == 1
    twice = _document([HEADER, ROWS[3], ROWS[3]])  # the same words twice in one retro: two items
    assert len(keys(twice)) == 2


def test_every_problem_is_reported_with_its_row_and_nothing_is_returned():
    rows = [
        HEADER,
        ["03/02/2026", "Payments", "", "Dates the other way round", "", "", "", "", ""],
        ["2026-03-02", "", "", "No team", "", "", "", "", ""],
        [],  # blank rows are skipped, and still counted as rows of the sheet
        ["2026-03-02", "Payments", "", "", "", "two", "", "Dana", ""],
        ["1989-12-31", "Payments", "", "Too early", "", "", "", "", ""],
    ]
    with pytest.raises(SpreadsheetError) as raised:
        _document(rows)
    errors = raised.value.errors
    assert errors[0].startswith(
        "row 2: the date “03/02/2026” could be day 3 or day 2 of the month, and no date in "
        "the sheet says which comes first"
    )
    assert "row 3: the team is empty" in errors
    assert "row 5: the item is empty" in errors
    assert "row 5: votes “two” is not a whole number" in errors
    assert "row 5: owner is given but the fix is empty" in errors
    assert any(e.startswith("row 6: the date 1989-12-31 is outside") for e in errors)


def test_a_sheet_without_the_required_columns_says_which_it_names():
    with pytest.raises(
        SpreadsheetError, match=r"must name the columns “team” \(it names “Day”, “Item”\)"
    ):
        _document([["Day", "Item"], ["2026-03-02", "x"]])
    with pytest.raises(SpreadsheetError, match="empty"):
        _document([[], ["", None]])


def test_an_xlsx_workbook_reads_its_date_cells_and_numbers():
    book = Workbook()
    sheet = book.active
    sheet.append(["date", "team", "item", "votes", "fix", "status", "kind"])
    sheet.append([datetime(2026, 3, 2), "Payments", "Staging down", 3, "Weekly sync", "Done",
                  "meeting"])  # fmt: skip
    buffer = io.BytesIO()
    book.save(buffer)
    doc = parse_history(
        read_spreadsheet(buffer.getvalue(), "history.xlsx", organization="Northwind", today=TODAY),
        today=TODAY,
    )
    (retro,) = doc.retrospectives
    assert retro.held_on == date(2026, 3, 2) and retro.items[0].votes == 3
    assert (retro.actions[0].status, retro.actions[0].kind) == ("done", "meeting")
    with pytest.raises(SpreadsheetError, match="not an Excel workbook"):
        read_spreadsheet(b"not a zip", "history.xlsx", organization="Northwind")


def test_a_csv_in_another_encoding_or_with_semicolons():
    with pytest.raises(SpreadsheetError, match="CSV UTF-8"):
        read_spreadsheet("date,team,item\n2026-03-02,Zürich,x\n".encode("cp1252"), "a.csv",
                         organization="Northwind")  # fmt: skip
    doc = read_spreadsheet(
        "\ufeffdate;team;item\n2026-03-02;Zürich;Ärger mit Staging\n".encode(),
        "a.csv",
        organization="Northwind",
        today=TODAY,
    )
    assert doc["teams"][0]["name"] == "Zürich"
    assert doc["retrospectives"][0]["items"][0]["text"] == "Ärger mit Staging"


@pytest.mark.django_db
def test_a_leader_uploads_a_sheet_previews_it_and_imports_it_once(cast):
    leader = cast.clients["leader"]
    raw = "\n".join(",".join(f'"{v}"' for v in row) for row in [HEADER, *ROWS]).encode()

    def upload():
        return leader.post(
            reverse("imports:start"),
            {"file": SimpleUploadedFile("retros.csv", raw, "text/csv")},
        )

    response = upload()
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.document["organization"] == "Northwind"
    preview = leader.get(response["Location"]).content.decode()
    assert "Items: 4 new" in preview
    # "Great handover from support", in a Went well column, is praise: never matched.
    assert "Items matched against earlier issues when the import runs: 3" in preview
    assert "Items that read as something that went well: 1" in preview
    leader.post(reverse("imports:confirm", args=[job.pk]))
    assert import_job_run(job.pk) == "done"
    assert Occurrence.objects.count() == 4 and Retrospective.objects.count() == 3
    assert Fix.objects.get().text == "Move staging to the managed database"
    again = upload()
    second = ImportJob.objects.exclude(pk=job.pk).get()
    assert "Items: 0 new" in leader.get(again["Location"]).content.decode()
    assert second.status == "preview"


@pytest.mark.django_db
def test_a_sheet_with_problems_is_refused_with_its_rows(cast):
    raw = b"date,team,item\n2026-03-02,Payments,\n"
    response = cast.clients["admin"].post(
        reverse("imports:start"), {"file": SimpleUploadedFile("retros.csv", raw, "text/csv")}
    )
    assert response.status_code == 400
    assert "row 2: the item is empty" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_template_offered_on_the_import_page_imports_cleanly():
    template = Path(settings.BASE_DIR) / "static" / "import" / "recur-spreadsheet-template.csv"
    doc = parse_history(
        read_spreadsheet(template.read_bytes(), template.name, organization="N", today=TODAY),
        today=TODAY,
    )
    assert sum(len(r.items) for r in doc.retrospectives) == 3


def test_a_sheet_over_the_row_limit_is_refused_without_reading_it_all(monkeypatch):
    from vocabulary import spreadsheet

    monkeypatch.setattr(spreadsheet, "MAX_ROWS", 3)
    rows = "date,team,item\n" + "".join(f"2026-03-02,Payments,Item {n}\n" for n in range(10))
    with pytest.raises(SpreadsheetError, match="more than 3 items"):
        read_spreadsheet(rows.encode(), "a.csv", organization="Northwind", today=TODAY)
    three = "date,team,item\n" + "".join(f"2026-03-02,Payments,Item {n}\n" for n in range(3))
    doc = read_spreadsheet(three.encode(), "a.csv", organization="Northwind", today=TODAY)
    assert len(doc["retrospectives"][0]["items"]) == 3


def test_dates_in_numbers_follow_the_order_the_sheets_other_dates_show():
    def held_on(*dates):
        rows = [["date", "team", "item"], *([d, "Payments", f"Item {d}"] for d in dates)]
        doc = _document(rows)
        return [r["held_on"] for r in doc["retrospectives"]]

    # 25/03 can only be day first: so 03/02 is 3 February.
    assert held_on("03/02/2026", "25.03.2026") == ["2026-02-03", "2026-03-25"]
    # 03/25 can only be month first: so 03/02 is 2 March.
    assert held_on("03/02/2026", "03/25/2026") == ["2026-03-02", "2026-03-25"]
    # Written with the month's name, or the same number twice: no doubt either way.
    assert held_on("2 March 2026", "Mar 9, 2026", "16-Mar-2026", "04/04/2026") == [
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
        "2026-04-04",
    ]
    # Dates that say both orders leave the ambiguous ones unread, and say so.
    with pytest.raises(SpreadsheetError) as raised:
        held_on("25/03/2026", "03/25/2026", "03/02/2026")
    assert raised.value.errors == [
        "row 4: the date “03/02/2026” could be day 3 or day 2 of the month, and no date in "
        "the sheet says which comes first (one with a day over 12 would): write dates year "
        "first, as 2026-03-02, or make the cells dates"
    ]
    with pytest.raises(SpreadsheetError, match="“soon” is not a date"):
        held_on("soon")
