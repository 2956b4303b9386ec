"""Measure how an organisation's matcher index comes up to date:
``python -m bench.reload [--org NAME [--repeat N]] [--many PREFIX [--rounds N]]`` (Django
settings from the environment).

Prints one JSON line: the cold load of the whole index from its snapshot (median and maximum
over ``--repeat`` loads in this process; the snapshot is written first when there is none
that fits) and once from every row, the first suggestion after a relink, a merge and an
archive done through the services (each undone afterwards: the organisation is left as it
was), and after the matching stamp moves (as a new model or an import makes it): the first
suggestion (the old index answers) and the background rebuild; then a snapshot for the new
stamp is written (timed). With
``--many``, the organisations whose names start so, queried in turn within the process's
memory budget: the slowest suggestion and the peak resident memory.
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

    from retros import search, services, snapshot
    from retros.models import Issue, IssueMerge, Occurrence, Organization

    organization = Organization.objects.get(name=org_name)
    text = "Staging environment unavailable for most of Tuesday"
    stamp = search._freshness(organization.pk).stamp
    if snapshot.restore(organization.pk, stamp) is None:  # none, or a stale one
        snapshot.write(organization.pk)
    from_rows, _ = _timed(functools.partial(search.build_index, organization.pk))
    loads = []
    for _ in range(repeat):
        cache = search.IndexCache(background=True)
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
    # From an issue raised more than once: moving an issue's only raising away archives the
    # issue, and the raising could not be moved back.
    moved = occurrences.filter(issue__occurrence_count__gte=2).order_by("id")[:1].get()
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
        IssueMerge.objects.filter(pk=merge.pk).delete()  # the record of the undone merge too
    first_suggestion()
    archived = occurrences.order_by("id")[1:2].get()
    with transaction.atomic():
        services.occurrence_archive(occurrence=archived, user=None)
    after["archive_ms"] = first_suggestion()
    with transaction.atomic():
        services.occurrence_restore(occurrence=archived, user=None)
    first_suggestion()
    search.invalidate(organization.pk)
    started = time.perf_counter()
    after["stamp_first_ms"] = first_suggestion()  # the old index answers
    cache.wait_for_rebuilds()
    after["stamp_rebuild_ms"] = round((time.perf_counter() - started) * 1000, 1)
    after["stamp_then_ms"] = first_suggestion()
    written, _ = _timed(functools.partial(snapshot.write, organization.pk))  # for the new stamp
    return {
        "organization_rows": len(index),
        "index_mib": round(index.estimate / 2**20, 1),
        "cold_load_median_ms": round(float(np.median(loads)), 1),
        "cold_load_max_ms": round(max(loads), 1),
        "cold_load_snapshots": cache.snapshot_loads,
        "cold_load_from_rows_ms": round(from_rows, 1),
        **after,
        "snapshot_write_ms": round(written, 1),
        "rebuilds": cache.loads - 1,
    }


def measure_many(prefix: str, rounds: int) -> dict[str, Any]:
    """Organisations named ``prefix...`` queried in turn, ``rounds`` times, in this process
    (within its RECUR_MATCHER_MEMORY_MB): the slowest suggestion (a load when the budget let
    the organisation go), this process's peak resident memory, and what the cache holds."""
    import resource

    from retros import search
    from retros.models import Organization

    organizations = list(Organization.objects.filter(name__startswith=prefix).order_by("pk"))
    text = "Staging environment unavailable for most of Tuesday"
    slowest = 0.0
    for _ in range(rounds):
        for organization in organizations:
            elapsed, _ = _timed(
                functools.partial(search.suggest, organization=organization, text=text)
            )
            slowest = max(slowest, elapsed)
    status = search.matcher_status()
    return {
        "organizations": len(organizations),
        "rounds": rounds,
        "slowest_suggestion_ms": round(slowest, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "budget_mb": round(status["budget_bytes"] / 2**20),
        "held_mb": round(status["used_bytes"] / 2**20, 1),
        "held": status["organizations"],
        "loads": status["loads"],
        "evictions": status["evictions"],
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reload")
    parser.add_argument("--org", help="one organisation: its loads and changes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--many", help="organisations named so (a prefix), queried in turn")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    if args.org:
        print(json.dumps({"reload": measure(args.org, args.repeat)}))
    if args.many:
        print(json.dumps({"many": measure_many(args.many, args.rounds)}))


if __name__ == "__main__":
    main(sys.argv[1:])
