"""The matcher's cold starts and many organisations, through gunicorn as deployed:

- **fresh workers**: gunicorn started again and again with one worker; each time the
  facilitator signs in and the time of the worker's first suggestion is taken (it loads the
  organisation's index: from its snapshot, written beforehand as a deploy would with
  ``manage.py matcher_status --snapshot``);
- **many organisations**: organisations of a few thousand raisings each, queried in turn by
  two client connections against two workers (each worker loads, keeps and lets go of
  indexes within its memory budget): the slowest suggestion and each worker's peak resident
  memory against the budget.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from bench import load, stats
from bench.server import BenchError, cpu_sample, free_port, gunicorn, memory_of

TEXT = "Staging environment unavailable for most of Tuesday"
HTMX = {"HX-Request": "true"}


def _suggest(session: load.Session, url: str, text: str = TEXT) -> float:
    started = time.perf_counter()
    status, _ = session.get(f"{url}?text={quote_plus(text)}", **HTMX)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise BenchError(f"a suggestion answered {status}")
    return elapsed


def fresh_workers(
    env: Mapping[str, str],
    *,
    facilitator: str,
    password: str,
    suggest_url: str,
    starts: int,
    database: str,
    log: Path,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """The first suggestion of a freshly started worker, ``starts`` times."""
    firsts, seconds, snapshot_loads, other_cpu = [], [], 0, []
    for number in range(1, starts + 1):
        port = free_port()
        with gunicorn(dict(env), port=port, workers=1, threads=1, log=log) as server:
            session = load.Session("127.0.0.1", port)
            session.login(facilitator, password)  # Django warmed up by a page that reads no index
            ours = {os.getpid(), server.process.pid, *server.worker_pids()}
            before = cpu_sample(ours, database)
            firsts.append(_suggest(session, suggest_url))
            other_cpu.append(before.other_percent(cpu_sample(ours, database)))
            seconds.append(_suggest(session, suggest_url, "Release notes were late again"))
            _, body = session.get("/healthz")
            snapshot_loads += '"snapshot_loads": 1' in body
        say(f"  start {number}: first suggestion {firsts[-1]:.0f} ms, then {seconds[-1]:.0f} ms")
    return {
        "starts": starts,
        "first_ms": [round(v, 1) for v in firsts],
        "first_p50_ms": round(stats.percentile(firsts, 50), 1),
        "first_p95_ms": round(stats.percentile(firsts, 95), 1),
        "first_max_ms": round(max(firsts), 1),
        "second_p50_ms": round(stats.percentile(seconds, 50), 1),
        "loaded_from_snapshot": snapshot_loads,
        "other_cpu_pct_max": max(other_cpu),
    }


def many_organizations(
    env: Mapping[str, str],
    *,
    organizations: list[dict[str, str]],
    password: str,
    rounds: int,
    budget_mb: int,
    database: str,
    log: Path,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Each organisation's suggestions in turn, ``rounds`` times over all of them, from two
    connections at once against two workers with ``budget_mb`` each for indexes."""
    port = free_port()
    served = {**env, "RECUR_MATCHER_MEMORY_MB": str(budget_mb)}
    with gunicorn(served, port=port, workers=2, threads=1, log=log) as server:
        sessions = []
        for organization in organizations:
            session = load.Session("127.0.0.1", port)
            session.login(organization["facilitator"], password)
            sessions.append((session, organization["suggest"]))
        timings: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()

        def client(offset: int) -> None:
            for _ in range(rounds):
                for at in range(len(sessions)):
                    session, url = sessions[(at + offset) % len(sessions)]
                    try:
                        elapsed = _suggest(session, url)
                    except (BenchError, OSError) as error:
                        with lock:
                            errors.append(str(error))
                        continue
                    with lock:
                        timings.append(elapsed)

        ours = {os.getpid(), server.process.pid, *server.worker_pids()}
        before = cpu_sample(ours, database)
        started = time.perf_counter()
        clients = [
            threading.Thread(target=client, args=(offset,)) for offset in (0, len(sessions) // 2)
        ]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        elapsed = time.perf_counter() - started
        other = before.other_percent(cpu_sample(ours, database))
        workers = [memory_of(pid) for pid in server.worker_pids()]
        health = [load.Session("127.0.0.1", port).get("/healthz")[1] for _ in range(4)]
    peak = max((w.get("hwm_mb", 0.0) for w in workers), default=0.0)
    say(
        f"  {len(timings)} suggestions in {elapsed:.0f} s, slowest {max(timings, default=0):.0f}"
        f" ms; workers' peak RSS {[w.get('hwm_mb') for w in workers]} MB"
    )
    return {
        "organizations": len(sessions),
        "rounds": rounds,
        "budget_mb": budget_mb,
        "suggestions": len(timings),
        "errors": len(errors),
        "slowest_ms": round(max(timings, default=0.0), 1),
        "p50_ms": round(stats.percentile(timings, 50), 1),
        "p95_ms": round(stats.percentile(timings, 95), 1),
        "workers": workers,
        "peak_rss_mb": peak,
        "peak_over_budget_mb": round(peak - budget_mb, 1),
        "other_cpu_pct": other,
        "healthz": health[-1][:400],
    }
