"""Measure how an organisation's matcher index comes up to date:
``python -m bench.reload --org NAME [--repeat N]`` (Django settings from the environment).

Prints one JSON line: the cold load of the whole index (median and maximum over ``--repeat``
loads in this process), the first suggestion after a relink, a merge and an archive done
through the services (each undone afterwards: the organisation is left as it was), and a
rebuild after the matching stamp moves (as a new model or an import makes it).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from typing import Any

import numpy as np


def _timed(work: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return (time.perf_counter() - started) * 1000, result


def measure(org_name: str, repeat: int) -> dict[str, Any]:
    from django.db import transaction

    from retros import search, services
    from retros.models import Issue, Occurrence, Organization

    organization = Organization.objects.get(name=org_name)
    text = "Staging environment unavailable for most of Tuesday"
    loads = []
    for _ in range(repeat):
        cache = search.IndexCache()
        elapsed, index = _timed(functools.partial(cache.index, organization.pk))
        loads.append(elapsed)
    search._cache = cache  # suggest() answers from the last one loaded

    def first_suggestion() -> float:
        elapsed, _ = _timed(lambda: search.suggest(organization=organization, text=text))
        return round(elapsed, 1)

    first_suggestion()
    occurrences = (
        Occurrence.objects.live()
        .problems()
        .filter(organization=organization, issue__archived_at=None, issue__merged_into=None)
    )
    moved = occurrences.order_by("id")[:1].get()
    other = occurrences.exclude(issue_id=moved.issue_id).order_by("-id")[:1].get()
    home = moved.issue
    after: dict[str, float] = {}
    with transaction.atomic():
        services.occurrence_relink(occurrence=moved, issue=other.issue, user=None)
    after["relink_ms"] = first_suggestion()
    with transaction.atomic():
        services.occurrence_relink(occurrence=moved, issue=home, user=None)
    first_suggestion()
    issues = Issue.objects.filter(organization=organization, archived_at=None, merged_into=None)
    source, target = issues.order_by("-id")[:2]
    with transaction.atomic():
        merge = services.issue_merge(source=source, target=target, user=None)
    after["merge_ms"] = first_suggestion()
    with transaction.atomic():
        services.issue_merge_undo(merge=merge, user=None)
    first_suggestion()
    archived = occurrences.order_by("id")[1:2].get()
    with transaction.atomic():
        services.occurrence_archive(occurrence=archived, user=None)
    after["archive_ms"] = first_suggestion()
    with transaction.atomic():
        services.occurrence_restore(occurrence=archived, user=None)
    first_suggestion()
    search.invalidate(organization.pk)
    after["stamp_rebuild_ms"] = first_suggestion()
    return {
        "organization_rows": len(index),
        "index_mib": round(index.estimate / 2**20, 1),
        "cold_load_median_ms": round(float(np.median(loads)), 1),
        "cold_load_max_ms": round(max(loads), 1),
        **after,
        "rebuilds": cache.loads - 1,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reload")
    parser.add_argument("--org", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    print(json.dumps({"reload": measure(args.org, args.repeat)}))


if __name__ == "__main__":
    main(sys.argv[1:])
