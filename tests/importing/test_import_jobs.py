"""Import jobs: bound to an organisation by id, previewed, run outside the request, capped in
size, failed when silent, and undone exactly."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from retros import importing
from retros.import_jobs import (
    ImportUndoRefused,
    import_job_create,
    import_job_run,
    import_job_undo,
    import_job_wait,
)
from retros.importing import history_import
from retros.models import (
    ImportJob,
    Occurrence,
    Organization,
    Retrospective,
    Team,
)
from tests.importing.test_import import DOC
from tests.rows import snapshot
from vocabulary.history import dump_history, parse_history

pytestmark = pytest.mark.django_db


def _upload(client, document: dict | bytes, name: str = "history.json"):
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return client.post(
        reverse("imports:start"), {"file": SimpleUploadedFile(name, raw, "application/json")}
    )


def _job(org: Organization, document: dict, *, confirmed: bool = True) -> ImportJob:
    return import_job_create(
        organization=org,
        doc=parse_history(document),
        filename="h.json",
        user=None,
        confirmed=confirmed,
    )


# --- finding 4: bound by id, authorised by id, another organisation's file --------------------


def test_a_queued_job_imports_into_the_organisation_it_was_created_for_whatever_the_names(cast):
    job = _job(cast.org, {**DOC, "organization": "Northwind"})
    # Renamed between queueing and running, and another organisation takes the old name.
    Organization.objects.filter(pk=cast.org.pk).update(name="Northwind Traders")
    impostor = Organization.objects.create(name="Northwind")
    assert import_job_run(job.pk) == "done"
    assert set(Occurrence.objects.values_list("organization_id", flat=True)) == {cast.org.pk}
    assert not Team.objects.filter(organization=impostor).exists()


def test_the_job_page_authorises_by_the_jobs_organisation_never_by_the_name_in_the_file(cast):
    unbound = ImportJob.objects.create(document={**DOC, "organization": "Contoso"})
    named_other = ImportJob.objects.create(
        organization=cast.org, document={**DOC, "organization": "Contoso"}
    )
    outsider, leader = cast.clients["outsider"], cast.clients["leader"]
    assert outsider.get(reverse("imports:detail", args=[unbound.pk])).status_code == 404
    assert outsider.get(reverse("imports:detail", args=[named_other.pk])).status_code == 404
    assert leader.get(reverse("imports:detail", args=[named_other.pk])).status_code == 200


def test_a_file_of_another_organisation_is_previewed_and_imported_only_when_chosen(cast):
    leader = cast.clients["leader"]
    response = _upload(leader, {**DOC, "organization": "Contoso Games"})
    job = ImportJob.objects.get()
    assert job.status == "preview" and not Occurrence.objects.exists()
    preview = leader.get(response["Location"]).content.decode()
    assert "Contoso Games" in preview and "Import into Northwind anyway" in preview
    assert "Teams: 0 new" in preview  # Payments and Checkout exist already

    refused = leader.post(reverse("imports:confirm", args=[job.pk]))
    assert refused.status_code == 400
    assert "Import into Northwind anyway" in refused.content.decode()
    job.refresh_from_db()
    assert job.status == "preview"

    chosen = leader.post(reverse("imports:confirm", args=[job.pk]), {"anyway": "1"})
    assert chosen.status_code == 302
    assert import_job_run(job.pk) == "done"
    assert set(Occurrence.objects.values_list("organization_id", flat=True)) == {cast.org.pk}
    assert not Organization.objects.filter(name="Contoso Games").exists()


def test_a_file_of_ones_own_organisation_needs_no_extra_choice(cast):
    leader = cast.clients["leader"]
    _upload(leader, DOC)
    job = ImportJob.objects.get()
    assert "anyway" not in leader.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert leader.post(reverse("imports:confirm", args=[job.pk])).status_code == 302
    job.refresh_from_db()
    assert job.status == "queued"


# --- finding 5: size, content kept, outside the request, silent jobs ----------------------------


@override_settings(RECUR_IMPORT_MAX_BYTES=1024)
def test_an_upload_over_the_size_setting_is_refused_with_a_clear_error(cast):
    raw = json.dumps(DOC, indent=2).encode()
    assert len(raw) > 1024
    response = _upload(cast.clients["leader"], raw)
    assert response.status_code == 400
    assert "the limit is 1.0\xa0KB" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_only_the_parsed_content_is_kept_on_the_job(cast):
    document = copy.deepcopy(DOC)
    document["exported_by"] = "spreadsheet tool"
    document["retrospectives"][0]["items"][0]["colour"] = "x" * 5000
    _upload(cast.clients["leader"], document)
    job = ImportJob.objects.get()
    assert job.document == dump_history(parse_history(DOC))
    assert "colour" not in json.dumps(job.document)


@pytest.mark.django_db(transaction=True)
def test_a_web_import_runs_outside_the_request_without_a_broker(cast, monkeypatch):
    ran_in: list[threading.Thread] = []
    real = importing.history_import

    def spy(*args, **kwargs):
        ran_in.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr("retros.import_jobs.history_import", spy)
    leader = cast.clients["leader"]
    _upload(leader, DOC)
    job = ImportJob.objects.get()
    assert leader.post(reverse("imports:confirm", args=[job.pk])).status_code == 302
    import_job_wait(job.pk, timeout=60)
    job.refresh_from_db()
    assert job.status == "done", job.errors
    assert ran_in and ran_in[0] is not threading.main_thread()
    assert Occurrence.objects.filter(organization=cast.org).count() == 3


def test_a_running_job_without_a_heartbeat_is_marked_failed_with_its_reason(cast):
    long_ago = timezone.now() - dt.timedelta(hours=1)
    job = ImportJob.objects.create(
        organization=cast.org,
        document=dump_history(parse_history(DOC)),
        status="running",
        total=3,
        started_at=long_ago,
        heartbeat_at=long_ago,
    )
    page = cast.clients["leader"].get(reverse("imports:detail", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "failed"
    assert "no progress" in job.errors[0] and "no progress" in page.content.decode()


def test_a_job_run_twice_imports_once(cast):
    job = _job(cast.org, DOC)
    assert import_job_run(job.pk) == "done"
    assert import_job_run(job.pk) == "done"
    assert Occurrence.objects.count() == 3


# --- undo -----------------------------------------------------------------------------------


def test_undo_removes_what_the_import_created_and_keeps_what_it_reused(cast):
    history_import(DOC)  # the first two retros, already here
    Team.objects.filter(organization=cast.org, name="Checkout").update(import_key="")
    before = snapshot()
    longer = copy.deepcopy(DOC)
    longer["teams"].append({"key": "mobile", "name": "Mobile"})
    longer["retrospectives"].append(
        {
            "key": "mobile-2026-03-04",
            "team": "mobile",
            "held_on": "2026-03-04",
            "items": [{"key": "m1", "text": "Scope changed again", "same_as": "p31-1"}],
            "actions": [{"key": "m1-a", "item": "m1", "text": "Freeze scope", "kind": "process"}],
        }
    )
    job = _job(cast.org, longer)
    assert import_job_run(job.pk) == "done"
    earlier_issue = Occurrence.objects.get(import_key="p31-1").issue
    assert earlier_issue.occurrence_count == 3
    job.refresh_from_db()
    assert job.report["items_skipped"] == 3 and job.report["items_created"] == 1

    import_job_undo(job=job, user=cast.users["leader"])
    assert snapshot() == before
    job.refresh_from_db()
    assert job.status == "undone"


def test_undo_is_refused_when_people_built_on_the_import(cast):
    job = _job(cast.org, DOC)
    import_job_run(job.pk)
    retro = Retrospective.objects.get(import_key="payments-2026-01-14")
    Occurrence.objects.create(
        organization=cast.org,
        issue=Occurrence.objects.get(import_key="p31-1").issue,
        retro=retro,
        team=retro.team,
        held_on=retro.held_on,
        text="Added by hand after the import",
    )
    before = snapshot()
    job.refresh_from_db()
    with pytest.raises(ImportUndoRefused, match="1 item"):
        import_job_undo(job=job, user=None)
    assert snapshot() == before
    response = cast.clients["leader"].post(reverse("imports:undo", args=[job.pk]), follow=True)
    assert "cannot be undone" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "done"


def test_a_leader_undoes_an_import_from_its_page(cast):
    before = snapshot()
    job = _job(cast.org, DOC)
    import_job_run(job.pk)
    page = cast.clients["leader"].get(reverse("imports:detail", args=[job.pk]))
    assert "Undo this import" in page.content.decode()
    response = cast.clients["leader"].post(reverse("imports:undo", args=[job.pk]))
    assert response.status_code == 302
    assert snapshot() == before
    assert cast.clients["outsider"].post(reverse("imports:undo", args=[job.pk])).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_command_line_background_import_binds_the_named_organisation_by_id(tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps(DOC))
    call_command(
        "import_history", str(path), "--background", stdout=io.StringIO(), stderr=io.StringIO()
    )
    job = ImportJob.objects.get()
    org = Organization.objects.get(name="Northwind")
    assert (job.status, job.organization_id) == ("done", org.pk)
    assert Occurrence.objects.filter(organization=org).count() == 3
