"""What the tests compare in the database before and after an action: the rows a history
import writes (with their change history), counted or listed in full."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from retros.models import Fix, Issue, LinkReview, Occurrence, Organization, Retrospective, Team

# What an import writes, parents first; the last four keep a change history too.
IMPORTED: tuple[type[Model], ...] = (
    Organization,
    Team,
    Retrospective,
    Issue,
    Occurrence,
    Fix,
    LinkReview,
)
WITH_HISTORY = (Issue, Occurrence, Fix, LinkReview)


def row_counts(*extra: type[Model]) -> dict[str, int]:
    """How many rows of each imported model (and of `extra`) and of their change history."""
    counts = {model.__name__: model._default_manager.count() for model in (*IMPORTED, *extra)}
    counts.update({f"{m.__name__} history": m.history.count() for m in WITH_HISTORY})
    return counts


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of the imported models and of their change history, field by field."""
    snap = {m.__name__: list(m._default_manager.order_by("pk").values()) for m in IMPORTED}
    # The matcher's version stamp moves on when rows go (every process rebuilds its index);
    # it is a counter, not content.
    for org in snap["Organization"]:
        del org["matching_stamp"]
    for m in WITH_HISTORY:
        snap[f"{m.__name__} history"] = list(m.history.order_by("pk").values())
    return snap
