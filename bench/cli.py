"""``python -m bench``: seed (or reuse) a large organisation in a PostgreSQL benchmark
database, serve it with gunicorn in production settings, load the main pages from a
threaded client on loopback, time a full findings recompute and a history import, and
compare everything with the performance budgets."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import itertools
import json
import os
import platform
import re
import secrets
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode

from bench import cold, corpus, live, load, stats
from bench.server import (
    ROOT,
    BenchError,
    Gunicorn,
    PssSampler,
    Services,
    check_services,
    cpu_sample,
    ensure_database,
    free_port,
    gunicorn,
    manage,
    memory_of,
    run_streaming,
)
from bench.tasks import RESULT_MARK

QUEUE = "recur-bench"
ORG = "Globex Scale"
PASSWORD = "recur-bench-2026"  # noqa: S105 (seed_scale's default password of its logins)
OUT = ROOT / "bench-results"

MANY = "Bench Many "  # the organisations queried in turn: "Bench Many 01"...
QUICK = {
    "teams": 6,
    "occurrences": 3000,
    "duration": 3.0,
    "import_items": 500,
    "runs": 1,
    "fresh_starts": 2,
    "many_orgs": 0,
    "live_retros": 2,
    "live_seconds": 10.0,
}
FULL = {
    "teams": 50,
    "occurrences": 100_000,
    "duration": 10.0,
    "import_items": 10_000,
    "runs": 3,
    "fresh_starts": 5,
    "many_orgs": 20,
    "live_retros": 10,
    "live_seconds": 30.0,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small size, short runs")
    parser.add_argument("--occurrences", type=int, help="raisings to seed (default 100000)")
    parser.add_argument("--teams", type=int, help="teams to seed (default 50)")
    parser.add_argument("--duration", type=float, help="seconds of load per endpoint")
    parser.add_argument(
        "--runs", type=int, help="load rounds over every endpoint; the median is reported"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--concurrency", type=int, default=4, help="client connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help=">1 uses gthread workers")
    parser.add_argument("--import-items", type=int, help="items of the imported document")
    parser.add_argument("--database", help="benchmark database (default recur_bench...)")
    parser.add_argument("--reseed", action="store_true", help="seed again even if present")
    parser.add_argument("--skip-import", action="store_true", help="do not time the import")
    parser.add_argument("--skip-recompute", action="store_true", help="do not time recompute")
    parser.add_argument(
        "--skip-reload", action="store_true", help="do not time the matcher index's loads"
    )
    parser.add_argument(
        "--skip-profile", action="store_true", help="do not profile the pages in-process"
    )
    parser.add_argument(
        "--fresh-starts",
        type=int,
        help="gunicorn starts timing a fresh worker's first suggestion (0: none; default 5)",
    )
    parser.add_argument(
        "--many-orgs",
        type=int,
        help="organisations queried in turn by two workers (0: none; default 20)",
    )
    parser.add_argument(
        "--live-retros",
        type=int,
        help="retros held live at once, 8 participants each (0: none; default 10)",
    )
    parser.add_argument(
        "--live-seconds", type=float, help="seconds of the live scenario (default 30)"
    )
    parser.add_argument("--many-size", type=int, default=5000, help="raisings of each of them")
    parser.add_argument("--many-rounds", type=int, default=3, help="times each is queried")
    parser.add_argument(
        "--many-budget-mb", type=int, default=200, help="RECUR_MATCHER_MEMORY_MB of that run"
    )
    parser.add_argument(
        "--redis-db",
        type=int,
        help="one Redis database for broker and cache (default: 0 for the broker, 1 the cache)",
    )
    parser.add_argument("--output", type=Path, default=OUT / "latest.json")
    parser.add_argument(
        "--fail-on-budget", action="store_true", help="exit with status 3 when a budget fails"
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    for key, value in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.database is None:
        default = args.teams == FULL["teams"] and args.occurrences == FULL["occurrences"]
        args.database = (
            "recur_bench" if default else f"recur_bench_{args.teams}t_{args.occurrences}o"
        )
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.database):
        parser.error("--database: lower-case letters, digits and underscores only")
    if (
        min(args.fresh_starts, args.many_orgs, args.live_retros) < 0
        or min(args.many_size, args.many_rounds) < 1
    ):
        parser.error(
            "--fresh-starts, --many-orgs, --live-retros: 0 or more; --many-size, --many-rounds: 1+"
        )
    if min(args.concurrency, args.workers, args.threads, args.runs) < 1 or args.duration <= 0:
        parser.error("--duration, --runs, --concurrency, --workers and --threads must be positive")
    return args


def bench_env(services: Services, database: str, redis_db: int | None = None) -> dict[str, str]:
    """Production settings against the benchmark database, Redis broker and cache."""
    prefixes = ("DJANGO_", "DATABASE_", "CELERY_", "CACHE_", "RECUR_", "EMAIL_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(
        {
            "DJANGO_DEBUG": "False",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "False",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": services.database_url(database),
            "DATABASE_CONN_MAX_AGE": "600",
            "CELERY_BROKER_URL": f"{services.redis_url}/{redis_db or 0}",
            # Tasks the pages enqueue go to a queue of their own, emptied after the run.
            "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
            "CACHE_URL": f"{services.redis_url}/{1 if redis_db is None else redis_db}",
            "PYTHONUNBUFFERED": "1",
            # The host's copies of matcher snapshots: with the results, not in the system's.
            "RECUR_MATCHER_SNAPSHOT_DIR": str(OUT / "matcher-snapshots"),
        }
    )
    return env


def task(env: dict[str, str], step: str, args: dict[str, Any], *, timeout: float) -> Any:
    """Run one step of bench.tasks in its own process and return its result."""
    output = run_streaming(
        [sys.executable, "-m", "bench.tasks", step, json.dumps(args)], env, timeout=timeout
    )
    for line in reversed(output.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :])
    raise BenchError(f"bench.tasks {step} printed no result")


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def seed_if_needed(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Seed the organisation unless it is there at the requested size; the seeding's own
    timings are kept beside the results so reused runs still report them."""
    record = OUT / f"seed-{args.database}.json"
    wanted = {"org": ORG, "teams": args.teams, "occurrences": args.occurrences}
    state = task(env, "status", wanted, timeout=120)
    if state["seeded"] and not args.reseed:
        say(f"reusing the seeded organisation ({state['occurrences']} occurrences)")
        seed = json.loads(record.read_text()) if record.exists() else {}
        return {**seed, "reused": True}
    say(f"seeding {args.occurrences} occurrences over {args.teams} teams")
    started = time.perf_counter()
    output = run_streaming(
        [
            sys.executable,
            "manage.py",
            "seed_scale",
            "--org",
            ORG,
            "--teams",
            str(args.teams),
            "--occurrences",
            str(args.occurrences),
            "--replace",
        ],
        env,
        timeout=3600,
    )
    seed = {"seconds": round(time.perf_counter() - started, 1), **seed_phases(output)}
    OUT.mkdir(exist_ok=True)
    record.write_text(json.dumps(seed, indent=2))
    return {**seed, "reused": False}


def seed_many_if_needed(args: argparse.Namespace, env: dict[str, str]) -> None:
    """Seed the organisations queried in turn (``Bench Many 01``...) that are missing or of
    another size: small teams, no findings (the suggestions do not read them)."""
    found = task(env, "many_status", {"prefix": MANY}, timeout=120)["organizations"]
    for number in range(1, args.many_orgs + 1):
        name = f"{MANY}{number:02d}"
        if found.get(name) == args.many_size:
            continue
        say(f"seeding {name}: {args.many_size} raisings")
        command = [sys.executable, "manage.py", "seed_scale", "--org", name, "--teams", "5"]
        command += ["--occurrences", str(args.many_size), "--seed", str(number)]
        run_streaming([*command, "--no-findings", "--replace"], env, timeout=1800)


def seed_phases(output: str) -> dict[str, float]:
    """The phase timings seed_scale prints ("Computing the findings… 12.3 s")."""
    phases = {}
    for label, seconds in re.findall(r"^([A-Z][^…\n]*)… ([0-9.]+) s$", output, re.MULTILINE):
        key = re.sub(r"[^a-z]+", "_", label.lower()).strip("_")
        key = re.sub(r"^embedding_\d+_", "embedding_", key)
        phases[f"{key}_s"] = float(seconds)
    return phases


def endpoints(
    info: dict[str, Any],
    leader: load.Session,
    facilitator: load.Session,
    anonymous: load.Session,
    csrf: str,
) -> list[tuple[str, str, load.RequestFactory]]:
    """(key, label, request factory) of every endpoint, in the order they are loaded."""
    urls = info["urls"]

    def fixed(session: load.Session, path: str, **headers: str) -> load.RequestFactory:
        request = load.Request("GET", path, headers=session.headers(**headers))
        return lambda _i: request

    plan: list[tuple[str, str, load.RequestFactory]] = [
        ("healthz", "GET /healthz", fixed(anonymous, urls["healthz"])),
        ("overview", "leader overview", fixed(leader, urls["overview"])),
        ("team_home", "team home", fixed(facilitator, urls["team_home"])),
        ("board", f"retro board ({info['board_items']} items)", fixed(facilitator, urls["board"])),
        (
            "issue",
            f"issue page ({info['issue_occurrences']} raisings)",
            fixed(facilitator, urls["issue"]),
        ),
    ]
    if urls.get("suggest"):
        texts = list(corpus.queries(20_000, seed=7))
        headers = facilitator.headers(**{"HX-Request": "true"})

        def suggest(i: int) -> load.Request:
            text = quote_plus(texts[i % len(texts)])
            return load.Request("GET", f"{urls['suggest']}?text={text}", headers=headers)

        plan.append(("suggest", "suggestions (htmx, distinct texts)", suggest))
    if urls.get("log_issue"):
        notes = list(corpus.queries(20_000, seed=99))
        link_ids = info["link_issue_ids"]
        post_headers = facilitator.headers(
            **{
                "Content-Type": "application/x-www-form-urlencoded",
                "HX-Request": "true",
                "X-CSRFToken": csrf,
                "Origin": facilitator.origin,
                "Referer": f"{facilitator.origin}{urls['open_board']}",
            }
        )

        def log_issue(i: int) -> load.Request:
            data = {"text": notes[i % len(notes)]}
            if i % 10 < 3:  # three in ten raisings are linked to a suggested earlier issue
                data["link_to"] = f"{link_ids[i % len(link_ids)]}:0.81"
            return load.Request(
                "POST", urls["log_issue"], urlencode(data).encode(), headers=post_headers
            )

        plan.append(("log_issue", "log an issue (htmx POST)", log_issue))
    return plan


def measure(
    server: Gunicorn,
    plan: list[tuple[str, str, load.RequestFactory]],
    args: argparse.Namespace,
) -> dict[str, dict[str, Any]]:
    port = server.port
    results: dict[str, dict[str, Any]] = {}
    for key, label, factory in plan:
        say(f"{label}: warm-up {args.warmup:g} s, then {args.duration:g} s")
        # The warm-up and the measured run send the same requests, numbered on.
        send = functools.partial(
            load.run,
            "127.0.0.1",
            port,
            factory,
            concurrency=args.concurrency,
            counter=itertools.count(),
        )
        warm = send(duration_s=args.warmup)
        ours = {os.getpid(), server.process.pid, *server.worker_pids()}
        before = cpu_sample(ours, args.database)
        result = send(duration_s=args.duration)
        result["other_cpu_pct"] = before.other_percent(cpu_sample(ours, args.database))
        result["label"] = label
        result["warmup_max_ms"] = warm["max_ms"]
        result["warmup_errors"] = warm["errors"]
        results[key] = result
        say(
            f"  {result['rps']} req/s, p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
            f"{result['errors']} errors; warm-up max {warm['max_ms']} ms; "
            f"other work on the machine {result['other_cpu_pct']} % CPU"
        )
        if result["errors"]:
            say(f"  {result['errors']} errors, e.g. {result['error_samples'][:2]}")
    return results


def _read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux
        return ""


def run(args: argparse.Namespace) -> dict[str, Any]:
    services = Services()
    started_at = dt.datetime.now(dt.UTC)
    cpu = stats.cpu_description(_read_cpuinfo())
    say(f"{cpu['cpu']}, {os.cpu_count()} CPUs, int8 instructions {cpu['int8']}")
    say("checking PostgreSQL and Redis")
    versions = check_services(services)
    if ensure_database(services, args.database):
        say(f"created database {args.database}")
    env = bench_env(services, args.database, args.redis_db)
    say(f"migrating {args.database}")
    manage(env, "migrate", "--noinput", "-v", "0", timeout=600)
    seed = seed_if_needed(args, env)
    say("collecting static files (production storage needs the manifest)")
    manage(env, "collectstatic", "--noinput", "-v", "0", timeout=600)
    info = task(env, "prepare", {"org": ORG}, timeout=300)
    timings: dict[str, Any] = {}
    cold_starts: dict[str, Any] = {}
    setting = cold.Setting(env=env, password=PASSWORD, database=args.database, say=say)
    if not args.skip_reload or args.fresh_starts:
        say("writing the matcher index snapshot (as `matcher_status --snapshot` after a deploy)")
        written = task(env, "snapshot", {"orgs": [ORG]}, timeout=1800)
        timings["snapshot_write_s"] = written["seconds"]
        timings["snapshot_mb"] = written["mb"]
    if args.fresh_starts:
        say(f"a fresh worker's first suggestion: gunicorn started {args.fresh_starts} times")
        fresh = cold.fresh_workers(
            setting,
            facilitator=info["facilitator"],
            suggest_url=info["urls"]["suggest"],
            starts=args.fresh_starts,
            log=OUT / "gunicorn-fresh.log",
        )
        cold_starts["fresh_workers"] = fresh
        timings["fresh_first_p95_ms"] = fresh["first_p95_ms"]
        timings["fresh_first_max_ms"] = fresh["first_max_ms"]
    port = free_port()
    log = OUT / "gunicorn.log"
    workers: list[dict[str, Any]] = []
    say(f"starting gunicorn: {args.workers} workers x {args.threads} threads on port {port}")
    with gunicorn(env, port=port, workers=args.workers, threads=args.threads, log=log) as server:
        leader = load.Session("127.0.0.1", port)
        leader.login(info["leader"], PASSWORD)
        facilitator = load.Session("127.0.0.1", port)
        facilitator.login(info["facilitator"], PASSWORD)
        status, board_html = facilitator.get(info["urls"]["open_board"])
        csrf = load.csrf_token_in(board_html) or facilitator.csrf_cookie
        if status != 200:
            raise BenchError(f"the open retro's board answered {status}; see {log}")
        plan = endpoints(info, leader, facilitator, load.Session("127.0.0.1", port), csrf)
        with PssSampler(server) as pss:
            rounds = []
            for number in range(1, args.runs + 1):
                if number > 1:  # every round loads the same data: drop what the last one logged
                    task(env, "cleanup", {"org": ORG, "between_rounds": True}, timeout=300)
                if args.runs > 1:
                    say(f"round {number} of {args.runs}")
                rounds.append(measure(server, plan, args))
                stats.add_relative_throughput(rounds[-1], "healthz")
            results = stats.median_round(rounds)
        workers = [
            {**memory_of(pid), "peak_pss_mb": pss.peaks.get(pid)} for pid in server.worker_pids()
        ]
    broker = env["CELERY_BROKER_URL"]
    if not info["urls"].get("suggest"):
        say("no suggestion endpoint: timing retros.search.suggest in-process")
        results["suggest"] = task(
            env,
            "suggest",
            {"org": ORG, "open_retro_id": info["open_retro_id"], "duration": args.duration},
            timeout=600,
        )
    failures: dict[str, str] = {}

    def attempt(name: str, step: str, step_args: dict[str, Any], timeout: float) -> Any:
        """A step whose failure is reported with the results instead of ending the run."""
        try:
            return task(env, step, step_args, timeout=timeout)
        except BenchError as error:
            say(f"  {name} failed: {error}")
            failures[name] = str(error)
            return None

    if args.many_orgs:
        seed_many_if_needed(args, env)
        task(env, "snapshot", {"prefix": MANY}, timeout=1800)
        found = task(env, "many_prepare", {"prefix": MANY}, timeout=300)["organizations"]
        say(
            f"{len(found)} organisations of {args.many_size} raisings queried in turn by two"
            f" workers ({args.many_budget_mb} MB each for indexes), {args.many_rounds} rounds"
        )
        many = cold.many_organizations(
            setting,
            organizations=found,
            rounds=args.many_rounds,
            budget_mb=args.many_budget_mb,
            log=OUT / "gunicorn-many.log",
        )
        cold_starts["many_organizations"] = many
        timings["many_slowest_ms"] = many["slowest_ms"]
        timings["many_peak_rss_mb"] = many["peak_rss_mb"]
        timings["many_peak_over_budget_mb"] = many["peak_over_budget_mb"]
    if args.live_retros:
        say(
            f"{args.live_retros} retros held live, 8 participants each: every board connected,"
            f" a card from each participant every 5 s for {args.live_seconds:.0f} s"
        )
        boards = task(
            env,
            "live_prepare",
            {"org": ORG, "retros": args.live_retros, "participants": 8, "password": PASSWORD},
            timeout=600,
        )["boards"]
        held = live.scenario(
            env,
            boards=boards,
            password=PASSWORD,
            interval=5.0,
            duration=args.live_seconds,
            log=OUT / "gunicorn-live.log",
            say=say,
        )
        cold_starts["live"] = held
        timings["live_delivery_p95_ms"] = held["delivery_p95_ms"]
        timings["live_idle_kb_per_connection"] = held["idle_kb_per_connection"]
        timings["live_missed"] = held["missed"]
    profile: dict[str, Any] = {}
    if not (args.skip_profile and args.skip_reload):
        # The pages as the rounds loaded them, without the raisings the last round logged
        # (the matcher's changes below must not touch the issues they started).
        task(env, "cleanup", {"org": ORG, "between_rounds": True}, timeout=300)
    if not args.skip_profile:
        say("profiling each page in-process (queries, SQL time, Python hot spots)")
        profile = attempt("profile", "profile", info, 900) or {}
    if not args.skip_reload:
        say("loading the matcher index cold, and after a relink, a merge and an archive")
        reloaded = attempt("reload", "reload", {"org": ORG}, 1800)
        if reloaded:
            timings.update({f"reload_{key}": value for key, value in reloaded.items()})
    cleaned = task(env, "cleanup", {"org": ORG, "queue": QUEUE, "broker": broker}, timeout=600)
    if not args.skip_recompute:
        say("recomputing every finding of the organisation in one process")
        recompute = attempt("recompute", "recompute", {"org": ORG}, 3600)
        if recompute:
            timings["recompute_s"] = round(recompute["seconds"], 2)
            timings["recompute_issues"] = recompute["issues"]
            timings["recompute_changed"] = recompute["changed"]
    if not args.skip_import:
        say(f"importing a {args.import_items}-item recur-history/1 document")
        imported = attempt("import", "import", {"items": args.import_items}, 3600)
        if imported:
            timings["import_s"] = round(imported["seconds"], 2)
            timings["import_items"] = imported["items"]
            timings["import_then_recompute_s"] = round(imported["recompute_seconds"], 2)
        task(env, "cleanup", {"org": ORG, "queue": QUEUE, "broker": broker}, timeout=120)
    if seed.get("computing_the_findings_s") is not None:
        timings["seed_findings_from_empty_s"] = seed["computing_the_findings_s"]
    peak = max((w.get("hwm_mb", 0.0) for w in workers), default=None)
    peak_pss = max((w.get("peak_pss_mb") or 0.0 for w in workers), default=None)
    outcome: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "started_at": started_at.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            **cpu,
            "python": platform.python_version(),
            **versions,
        },
        "config": {
            "teams": args.teams,
            "occurrences": args.occurrences,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "concurrency": args.concurrency,
            "runs": args.runs,
            "workers": args.workers,
            "threads": args.threads,
            "database": args.database,
        },
        "dataset": info["dataset"],
        "seed": seed,
        "endpoints": results,
        "rounds": rounds,
        "totals": {"errors": sum(r.get("errors", 0) for r in results.values())},
        "timings": timings,
        "memory": {"workers": workers, "peak_worker_mb": peak, "peak_worker_pss_mb": peak_pss},
        "profile": profile,
        "cold_starts": cold_starts,
        "cleanup": cleaned,
        "failures": failures,
    }
    outcome["budgets"] = stats.check_budgets(outcome)
    return outcome


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        outcome = run(args)
    except (BenchError, load.LoginFailed) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(outcome, indent=2))
    print()
    print(stats.report(outcome))
    print()
    print(_profile_summary(outcome.get("profile", {})))
    for name, message in outcome["failures"].items():
        print(f"\n{name} failed: {message}")
    shown = args.output.resolve()
    if shown.is_relative_to(Path.cwd()):
        shown = shown.relative_to(Path.cwd())
    print(f"\nResults: {shown}")
    failed = [b for b in outcome["budgets"] if b["verdict"] == "FAIL"]
    return 3 if failed and args.fail_on_budget else 0


def _profile_summary(profile: dict[str, Any]) -> str:
    rows = [
        [
            name,
            str(p.get("status")),
            stats.cell(p.get("median_ms")),
            str(p.get("queries")),
            stats.cell(p.get("sql_ms")),
            stats.cell(p.get("template_pct")),
        ]
        for name, p in profile.items()
    ]
    return stats.table(
        rows, ("in-process", "status", "median ms", "queries", "SQL ms", "template %")
    )
