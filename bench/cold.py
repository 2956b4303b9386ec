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

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Setting:
    """What every run here shares: gunicorn's environment, the logins' password, the
    benchmark database (for the CPU of its backends) and where progress is said."""

    env: Mapping[str, str]
    password: str
    database: str
    say: Callable[[str], None]


def fresh_workers(
    setting: Setting, *, facilitator: str, suggest_url: str, starts: int, log: Path
) -> dict[str, Any]:
    """The first suggestion of a freshly started worker, ``starts`` times."""
    firsts, seconds, snapshot_loads, other_cpu = [], [], 0, []
    for number in range(1, starts + 1):
        port = free_port()
        with gunicorn(dict(setting.env), port=port, workers=1, threads=1, log=log) as server:
            session = load.Session("127.0.0.1", port)
            # Django warmed up by a page that reads no index
            session.login(facilitator, setting.password)
            ours = {os.getpid(), server.process.pid, *server.worker_pids()}
            before = cpu_sample(ours, setting.database)
            firsts.append(_suggest(session, suggest_url))
            other_cpu.append(before.other_percent(cpu_sample(ours, setting.database)))
            seconds.append(_suggest(session, suggest_url, "Release notes were late again"))
            _, body = session.get("/healthz")
            snapshot_loads += '"snapshot_loads": 1' in body
        setting.say(
            f"  start {number}: first suggestion {firsts[-1]:.0f} ms, then {seconds[-1]:.0f} ms"
        )
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
    setting: Setting,
    *,
    organizations: list[dict[str, str]],
    rounds: int,
    budget_mb: int,
    log: Path,
) -> dict[str, Any]:
    """Each organisation's suggestions in turn, ``rounds`` times over all of them, from two
    connections at once against two workers with ``budget_mb`` each for indexes."""
    port = free_port()
    served = {**setting.env, "RECUR_MATCHER_MEMORY_MB": str(budget_mb)}
    with gunicorn(served, port=port, workers=2, threads=1, log=log) as server:
        sessions = []
        for organization in organizations:
            session = load.Session("127.0.0.1", port)
            session.login(organization["facilitator"], setting.password)
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
        before = cpu_sample(ours, setting.database)
        started = time.perf_counter()
        clients = [
            threading.Thread(target=client, args=(offset,)) for offset in (0, len(sessions) // 2)
        ]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        elapsed = time.perf_counter() - started
        other = before.other_percent(cpu_sample(ours, setting.database))
        workers = [memory_of(pid) for pid in server.worker_pids()]
        # Each worker's matcher counts (which worker answers is the kernel's choice).
        health = [load.Session("127.0.0.1", port).get("/healthz")[1] for _ in range(6)]
    matchers = {json.dumps(json.loads(body).get("matcher")) for body in health}
    peak = max((w.get("hwm_mb", 0.0) for w in workers), default=0.0)
    setting.say(
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
        "matchers": [json.loads(m) for m in sorted(matchers) if m != "null"],
    }
