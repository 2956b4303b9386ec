import pytest
from django.db import connection
from django.test import Client
from django.test.utils import override_settings

pytestmark = pytest.mark.django_db


def test_healthz_answers_json_without_login():
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"status": "ok"}


def test_healthz_reports_an_unreachable_broker_as_an_error():
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        from config import health

        health._redis_client = None
        response = Client().get("/healthz")
        health._redis_client = None
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "error"


def test_healthz_reports_a_database_error(monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise RuntimeError("database is gone")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert "database is gone" in response.json()["checks"]["database"]["error"]


def test_healthz_shows_matcher_memory_without_naming_organisations(settings):
    from retros.search import org_index
    from tests.factories import OccurrenceFactory, OrganizationFactory

    settings.RECUR_MATCHER_MEMORY_MB = 32
    organization = OrganizationFactory(name="Confidential Holdings")
    OccurrenceFactory(retro__team__organization=organization, text="Builds keep timing out")
    org_index(organization.pk)

    response = Client().get("/healthz")

    matcher = response.json()["matcher"]
    assert matcher["budget_mb"] == 32
    assert matcher["indexes"] == 1
    assert "Confidential" not in response.content.decode()
    assert set(matcher) == {
        "budget_mb",
        "used_mb",
        "indexes",
        "loads",
        "snapshot_loads",
        "rebuilding",
        "evictions",
    }
