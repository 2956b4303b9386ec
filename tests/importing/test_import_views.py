"""Uploading history in the browser: leaders only, into their own organisation."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from retros.import_jobs import import_job_run
from retros.models import ImportJob, Occurrence
from tests.importing.test_import import DOC

pytestmark = pytest.mark.django_db


def _upload(client, document: dict | bytes, name: str = "history.json"):
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return client.post(
        reverse("imports:start"), {"file": SimpleUploadedFile(name, raw, "application/json")}
    )


def test_a_leader_imports_into_their_own_organisation_after_the_preview(cast):
    leader = cast.clients["leader"]
    response = _upload(leader, DOC)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.status, job.organization_id) == ("preview", cast.org.pk)
    preview = leader.get(response["Location"]).content.decode()
    assert "What this import will create" in preview and "Items: 3 new" in preview
    assert not Occurrence.objects.exists()
    confirmed = leader.post(reverse("imports:confirm", args=[job.pk]))
    assert confirmed.status_code == 302
    assert import_job_run(job.pk) == "done"  # what the background runner does
    assert set(Occurrence.objects.values_list("organization__name", flat=True)) == {"Northwind"}
    page = leader.get(response["Location"])
    assert "Items created: 3" in page.content.decode()


def test_an_invalid_file_is_refused_with_every_error_and_nothing_written(cast):
    bad = json.loads(json.dumps(DOC))
    bad["retrospectives"][1]["items"][0]["same_as"] = "p9-2"
    response = _upload(cast.clients["admin"], bad)
    assert response.status_code == 400
    assert "retrospectives[1].items[0].same_as" in response.content.decode()
    assert not ImportJob.objects.exists() and not Occurrence.objects.exists()
    garbage = _upload(cast.clients["admin"], b"\x00\xff not json")
    assert garbage.status_code == 400


@pytest.mark.parametrize("role", ["facilitator", "member"])
def test_only_leaders_and_admins_can_import(cast, role):
    assert cast.clients[role].get(reverse("imports:start")).status_code == 403
    assert _upload(cast.clients[role], DOC).status_code == 403


def test_people_of_another_organisation_cannot_see_an_import(cast):
    _upload(cast.clients["leader"], DOC)
    job = ImportJob.objects.get()
    cast.clients["leader"].post(reverse("imports:confirm", args=[job.pk]))  # queued: it polls
    assert cast.clients["outsider"].get(reverse("imports:detail", args=[job.pk])).status_code == 404
    progress = cast.clients["leader"].get(
        reverse("imports:detail", args=[job.pk]), HTTP_HX_REQUEST="true"
    )
    assert progress.status_code == 200 and b"import-progress" in progress.content
