from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from retros.models import Issue
from tests.diagnosis.stories import make_loops


@pytest.fixture
def cold_cache() -> Iterator[None]:
    """A cold cache per test: the dashboard caches what it reads."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def loops(cast) -> dict[str, Issue]:
    return make_loops(cast)
