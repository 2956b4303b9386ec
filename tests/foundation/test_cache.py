"""The Redis cache (config.cache) against the Redis server CI configures as the broker: it
stores, reads and forgets like Django's own, through one client made once per server.

Skipped only when no Redis broker is configured (the embedded default, which caches in
memory)."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings

from config.cache import RedisCache


def _redis_url() -> str:
    url = settings.CELERY_BROKER_URL or ""
    return url if url.startswith(("redis://", "rediss://")) else ""


pytestmark = pytest.mark.skipif(not _redis_url(), reason="no Redis broker configured")


@pytest.fixture
def cache():
    prefix = f"test-cache-{uuid.uuid4().hex}"
    backend = RedisCache(_redis_url(), {"KEY_PREFIX": prefix})
    yield backend
    # Only this test's keys: clear() would empty the whole database, the broker's queues too.
    client = backend._cache.get_client(write=True)
    stale = list(client.scan_iter(match=f"{prefix}:*"))
    if stale:
        client.delete(*stale)
    backend.close()


def test_it_stores_reads_and_forgets_like_djangos_cache(cache):
    assert cache.get("session") is None
    cache.set("session", {"user": 7, "teams": [1, 2]}, 60)
    assert cache.get("session") == {"user": 7, "teams": [1, 2]}
    assert cache.add("session", "other") is False
    assert cache.add("digest", "queued") is True
    assert cache.get_many(["session", "digest"]) == {
        "session": {"user": 7, "teams": [1, 2]},
        "digest": "queued",
    }
    cache.add("digest-count", 1)
    assert cache.incr("digest-count") == 2
    cache.delete("session")
    assert cache.get("session", "gone") == "gone"


def test_one_client_serves_every_call(cache):
    client = cache._cache.get_client()
    cache.set("a", 1)
    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client("any key") is client
    # Django's own client makes a new one per call: this is the difference.
    from django.core.cache.backends.redis import RedisCacheClient

    plain = RedisCacheClient([_redis_url()])
    assert plain.get_client() is not plain.get_client()
