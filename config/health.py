"""Liveness and readiness: /healthz checks the database and, when configured, the broker, and
shows the process's matcher memory against its budget."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

_redis_client = None


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready"
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_broker() -> str | None:
    global _redis_client
    url = settings.CELERY_BROKER_URL
    if not url:
        return None
    try:
        if url.startswith("redis"):
            import redis

            if _redis_client is None:
                _redis_client = redis.Redis.from_url(
                    url, socket_timeout=1, socket_connect_timeout=1
                )
            _redis_client.ping()
        else:
            from config.celery import app

            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=1)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _matcher_memory() -> dict[str, int]:
    """This process's matcher indexes against its budget: sizes and counts only, never
    which organisations."""
    from retros.search import matcher_status

    status = matcher_status()
    mb = 1024 * 1024
    return {
        "budget_mb": round(status["budget_bytes"] / mb),
        "used_mb": round(status["used_bytes"] / mb),
        "indexes": status["organizations"],
        "loads": status["loads"],
        "snapshot_loads": status["snapshot_loads"],
        "rebuilding": status["rebuilding"],
        "evictions": status["evictions"],
    }


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    checks: dict[str, dict[str, str]] = {}
    db_error = _check_database()
    checks["database"] = {"status": "error", "error": db_error} if db_error else {"status": "ok"}
    if settings.CELERY_BROKER_URL:
        broker_error = _check_broker()
        checks["broker"] = (
            {"status": "error", "error": broker_error} if broker_error else {"status": "ok"}
        )
    else:
        checks["broker"] = {"status": "in-process"}
    healthy = all(c["status"] != "error" for c in checks.values())
    body = {
        "status": "ok" if healthy else "error",
        "checks": checks,
        "matcher": _matcher_memory(),
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    return JsonResponse(body, status=200 if healthy else 503)
