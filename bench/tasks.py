"""The benchmark's steps that run inside Django, one process each:

    python -m bench.tasks STEP '{"org": "...", ...}'

The environment (DATABASE_URL and the rest) selects the benchmark database. The step's
result is printed as one JSON line after RESULT_MARK, so the command's other output (logs,
progress) can go to the same stream.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import json
import os
import pstats
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULT_MARK = "BENCH-RESULT "
BENCH_RETRO_TITLE = "Benchmark run"
PROJECT = str(Path(__file__).resolve().parent.parent)


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def status(args: dict[str, Any]) -> dict[str, Any]:
    """Whether the organisation exists at the requested size (bench runs' own rows aside)."""
    from diagnosis.models import Finding
    from matching import embedding
    from retros.models import Occurrence, Organization, Team

    org = Organization.objects.filter(name=args["org"]).first()
    if org is None:
        return {"exists": False, "seeded": False}
    teams = Team.objects.filter(organization=org).count()
    occurrences = (
        Occurrence.objects.filter(organization=org)
        .exclude(retro__title__startswith=BENCH_RETRO_TITLE)
        .count()
    )
    findings = Finding.objects.filter(organization=org, is_current=True).count()
    # Vectors of another model version would all be recomputed by the first suggestion.
    stale_vectors = (
        Occurrence.objects.filter(organization=org)
        .exclude(embedding_model=embedding.MODEL_ID)
        .count()
    )
    return {
        "exists": True,
        "teams": teams,
        "occurrences": occurrences,
        "findings": findings,
        "stale_vectors": stale_vectors,
        "seeded": teams == args["teams"]
        and occurrences == args["occurrences"]
        and findings > 0
        and stale_vectors == 0,
    }


def _bench_retros(org: Any) -> Any:
    from retros.models import Retrospective

    return Retrospective.objects.filter(organization=org, title__startswith=BENCH_RETRO_TITLE)


def cleanup(args: dict[str, Any]) -> dict[str, Any]:
    """Remove what earlier benchmark runs logged: their retros, occurrences and the issues
    those started; linked issues get their statistics back. Between load rounds
    (``between_rounds``) the retros stay, and the web workers' matcher indexes are told of
    the issues whose rows went, as the product's own removals tell them: a round's issues
    are too many to re-read, so each process reloads, from the snapshot written here as a
    task worker writes one after the first process to load from rows. Untold, the indexes
    would keep the removed rows: every later suggestion would rank issues that no longer
    exist and ask the database again for want of their rows, which no removal through the
    product causes."""
    from django.db import connection, transaction

    from diagnosis.dashboard import dashboard_invalidate
    from diagnosis.models import Finding, PendingRecompute
    from retros.models import Card, CardVote, Issue, LinkReview, Occurrence, Organization
    from retros.search import changed, invalidate
    from retros.services import issue_refresh_stats

    org = Organization.objects.filter(name=args["org"]).first()
    if org is None:
        return {"removed_occurrences": 0}
    with transaction.atomic():
        retro_ids = list(_bench_retros(org).values_list("id", flat=True))
        occurrences = Occurrence.objects.filter(retro_id__in=retro_ids)
        touched = set(occurrences.values_list("issue_id", flat=True))
        occurrence_ids = list(occurrences.values_list("id", flat=True))
        started = {
            i
            for i in touched
            if not Occurrence.objects.filter(issue_id=i).exclude(retro_id__in=retro_ids).exists()
        }
        LinkReview.objects.filter(occurrence_id__in=occurrence_ids)._raw_delete(connection.alias)
        history = Occurrence.history.model  # type: ignore[attr-defined]
        history.objects.filter(retro_id__in=retro_ids)._raw_delete(connection.alias)
        occurrences._raw_delete(connection.alias)
        finding_history = Finding.history.model  # type: ignore[attr-defined]
        finding_history.objects.filter(issue_id__in=started)._raw_delete(connection.alias)
        Finding.objects.filter(issue_id__in=started)._raw_delete(connection.alias)
        # Recomputes the logging round scheduled and a worker has not run yet.
        PendingRecompute.objects.filter(issue_id__in=started)._raw_delete(connection.alias)
        issue_history = Issue.history.model  # type: ignore[attr-defined]
        issue_history.objects.filter(id__in=started)._raw_delete(connection.alias)
        Issue.objects.filter(pk__in=started)._raw_delete(connection.alias)
        if not args.get("between_rounds"):
            CardVote.objects.filter(retro_id__in=retro_ids)._raw_delete(connection.alias)
            Card.objects.filter(retro_id__in=retro_ids)._raw_delete(connection.alias)
            _bench_retros(org)._raw_delete(connection.alias)
        issue_refresh_stats(issue_ids=touched - started)
    if args.get("between_rounds"):
        changed(organization_id=org.pk, issue_ids=touched)
        if touched:
            from retros import snapshot

            snapshot.write(org.pk)
    else:
        invalidate(org.pk)
    dashboard_invalidate(org.pk)
    queue = args.get("queue")
    if queue and args.get("broker"):
        import redis

        redis.Redis.from_url(args["broker"]).delete(queue)
    return {"removed_occurrences": len(occurrence_ids), "removed_issues": len(started)}


def _open_bench_retro(org: Any, team: Any, user: Any) -> Any:
    """An open retro of today where the benchmark logs and asks for suggestions (removed by
    ``cleanup``, found by its title)."""
    from django.utils import timezone

    from retros.models import Retrospective, RetroStatus

    return Retrospective.objects.create(
        organization=org,
        team=team,
        held_on=timezone.localdate(),
        title=f"{BENCH_RETRO_TITLE} {timezone.now():%Y-%m-%d %H:%M}",
        facilitator=user,
        status=RetroStatus.OPEN,
    )


def live_prepare(args: dict[str, Any]) -> dict[str, Any]:
    """``retros`` open retros of the facilitator's team held live, each with ``participants``
    members of the team (created once, reused), and their URLs."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from diagnosis.management.commands.seed_scale import usernames_for
    from retros.models import Membership, Organization, Role

    org = Organization.objects.get(name=args["org"])
    _, facilitator = usernames_for(org.name)
    user = get_user_model().objects.get(username=facilitator)
    team = Membership.objects.get(user=user).teams.get()
    users = get_user_model().objects
    boards = []
    for number in range(args["retros"]):
        retro = _open_bench_retro(org, team, user)
        retro.title = f"{retro.title} live {number + 1}"
        retro.private_until_reveal = False
        retro.save(update_fields=["title", "private_until_reveal"])
        names = []
        for seat in range(args["participants"]):
            name = f"bench-live-{number:02d}-{seat:02d}"
            if not users.filter(username=name).exists():
                person = users.create_user(name, password=args["password"])
                membership = Membership.objects.create(
                    user=person, organization=org, role=Role.MEMBER
                )
                membership.teams.add(team)
            names.append(name)
        boards.append(
            {
                "retro": retro.pk,
                "participants": names,
                "page": reverse("retros:live_board", kwargs={"retro_id": retro.pk}),
                "cards": reverse("retros:live_cards", kwargs={"retro_id": retro.pk}),
                "stream": reverse("retros:live_stream", kwargs={"retro_id": retro.pk}),
            }
        )
    return {"boards": boards}


def prepare(args: dict[str, Any]) -> dict[str, Any]:
    """The pages to load: an open retro for logging, a closed retro with items, a much
    raised issue; the logins; the URLs, found by name."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.urls import NoReverseMatch, reverse

    from diagnosis.management.commands.seed_scale import usernames_for
    from retros.models import Issue, Membership, Organization, Retrospective, RetroStatus

    cleanup(args)
    org = Organization.objects.get(name=args["org"])
    leader, facilitator = usernames_for(org.name)
    user = get_user_model().objects.get(username=facilitator)
    team = Membership.objects.get(user=user).teams.get()
    open_retro = _open_bench_retro(org, team, user)
    closed = (
        Retrospective.objects.filter(team=team, status=RetroStatus.CLOSED)
        .annotate(items=Count("occurrences"))
        .order_by("-held_on")
    )
    board = (
        next((r for r in closed[:20] if r.items >= 10), None) or closed.order_by("-items").first()
    )
    issue = (
        Issue.objects.filter(organization=org, occurrences__team=team)
        .order_by("-occurrence_count", "pk")
        .first()
    )
    # Issues raised before: one with no raisings (left by other work on the database) would be
    # removed with the round's raisings that link to it, and later rounds' links would fail.
    issue_ids = list(
        Issue.objects.filter(organization=org, occurrence_count__gt=0).values_list("pk", flat=True)
    )
    link_ids = random.Random(5).sample(issue_ids, min(300, len(issue_ids)))

    def url(name: str, **kwargs: int) -> str | None:
        try:
            return reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            return None

    assert board is not None and issue is not None
    return {
        "organization_id": org.pk,
        "leader": leader,
        "facilitator": facilitator,
        "team_id": team.pk,
        "open_retro_id": open_retro.pk,
        "board_retro_id": board.pk,
        "board_items": board.occurrences.count(),
        "issue_id": issue.pk,
        "issue_occurrences": issue.occurrence_count,
        "link_issue_ids": link_ids,
        "urls": {
            "login": url("login"),
            "healthz": url("healthz"),
            "overview": url("diagnosis:overview"),
            "team_home": url("retros:team_home", team_id=team.pk),
            "board": url("retros:retro_board", retro_id=board.pk),
            "open_board": url("retros:retro_board", retro_id=open_retro.pk),
            "issue": url("retros:issue_detail", issue_id=issue.pk),
            "suggest": url("retros:retro_suggestions", retro_id=open_retro.pk),
            "log_issue": url("retros:occurrence_create", retro_id=open_retro.pk),
        },
        "dataset": _dataset(org),
    }


def _dataset(org: Any) -> dict[str, int]:
    from diagnosis.models import Finding
    from retros.models import Fix, Issue, Occurrence, Retrospective, Team

    return {
        "teams": Team.objects.filter(organization=org).count(),
        "retros": Retrospective.objects.filter(organization=org).count(),
        "issues": Issue.objects.filter(organization=org).count(),
        "occurrences": Occurrence.objects.filter(organization=org).count(),
        "fixes": Fix.objects.filter(organization=org).count(),
        "findings": Finding.objects.filter(organization=org, is_current=True).count(),
        "flagged": Finding.objects.filter(organization=org, is_current=True, flagged=True).count(),
    }


def recompute(args: dict[str, Any]) -> dict[str, Any]:
    """A full recompute of the organisation's findings in this one process."""
    from diagnosis.services import finding_recompute_organization
    from retros.models import Issue, Organization

    org = Organization.objects.get(name=args["org"])
    issues = Issue.objects.filter(organization=org).count()
    started = time.perf_counter()
    changed = finding_recompute_organization(org)
    return {"seconds": time.perf_counter() - started, "issues": issues, "changed": changed}


def import_history(args: dict[str, Any]) -> dict[str, Any]:
    """Import a generated recur-history/1 document into a fresh organisation, then remove
    that organisation again."""
    from django.utils import timezone

    from bench.corpus import history_document
    from diagnosis.management.commands.seed_scale import delete_organization
    from diagnosis.services import finding_recompute_organization
    from retros.importing import history_import
    from retros.models import Organization

    name = f"Bench import {timezone.now():%Y%m%d%H%M%S}"
    for stale in Organization.objects.filter(name__startswith="Bench import "):
        delete_organization(stale)
    document = history_document(
        name, items=args["items"], teams=args.get("teams", 12), today=timezone.localdate()
    )
    size_mb = len(json.dumps(document)) / 1e6

    def progress(done: int, total: int) -> None:
        if done % 2000 == 0 or done == total:
            print(f"  imported {done}/{total} items", file=sys.stderr, flush=True)

    started = time.perf_counter()
    report = history_import(document, progress=progress)
    seconds = time.perf_counter() - started
    org = Organization.objects.get(name=name)
    started = time.perf_counter()
    finding_recompute_organization(org)
    recompute_seconds = time.perf_counter() - started
    delete_organization(org)
    summary = report.as_dict()
    summary.pop("auto_links", None)
    return {
        "seconds": seconds,
        "recompute_seconds": recompute_seconds,
        "items": args["items"],
        "document_mb": round(size_mb, 2),
        "report": summary,
    }


# --- Where the time goes: queries and Python per page, in-process -------------------------

_NUMBERS = re.compile(r"\b\d+\b")


def _profile_page(client: Any, path: str, headers: dict[str, str], runs: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path, headers=headers, secure=True)  # warm: caches, indexes, templates
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, headers=headers, secure=True)
        timings.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        profile = cProfile.Profile()
        profile.enable()
        client.get(path, headers=headers, secure=True)
        profile.disable()
    shapes = Counter(_NUMBERS.sub("N", q["sql"])[:160] for q in queries.captured_queries)
    slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]
    return {
        "status": response.status_code,
        "median_ms": round(statistics.median(timings) * 1000, 1),
        "queries": len(queries.captured_queries),
        "sql_ms": round(sum(float(q["time"]) for q in queries.captured_queries) * 1000, 1),
        "repeated_queries": [{"count": n, "sql": s} for s, n in shapes.most_common(3) if n > 1],
        "slowest_queries": [
            {"ms": round(float(q["time"]) * 1000, 1), "sql": q["sql"][:300]} for q in slowest
        ],
        "template_pct": _template_share(profile),
        "hot_spots": _hot_spots(profile),
    }


def _template_share(profile: cProfile.Profile) -> float:
    """Percentage of the request's time spent rendering its template (under the profiler)."""
    stats = pstats.Stats(profile)
    rendering = max(
        (
            cumulative
            for (filename, _line, name), (_cc, _n, _tt, cumulative, _callers) in stats.stats.items()  # type: ignore[attr-defined]
            if filename.endswith("django/template/backends/django.py") and name == "render"
        ),
        default=0.0,
    )
    total = stats.total_tt  # type: ignore[attr-defined]
    return round(100 * rendering / total, 1) if total else 0.0


def _hot_spots(profile: cProfile.Profile, limit: int = 8) -> list[dict[str, Any]]:
    """The project's functions with the most time spent inside them and their callees."""
    stats = pstats.Stats(profile)
    rows = []
    for (filename, line, name), (_cc, calls, _tt, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if filename.startswith(PROJECT) and "/.venv/" not in filename and "/bench/" not in filename:
            where = f"{os.path.relpath(filename, PROJECT)}:{line} {name}"
            rows.append({"function": where, "calls": calls, "cumulative_ms": cumulative * 1000})
    rows.sort(key=lambda r: -r["cumulative_ms"])
    for row in rows:
        row["cumulative_ms"] = round(row["cumulative_ms"], 1)
    return rows[:limit]


def profile_pages(args: dict[str, Any]) -> dict[str, Any]:
    """Queries, SQL time and Python hot spots of each page, through Django's test client."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    users = get_user_model().objects
    leader = Client(SERVER_NAME="127.0.0.1")
    leader.force_login(users.get(username=args["leader"]))
    facilitator = Client(SERVER_NAME="127.0.0.1")
    facilitator.force_login(users.get(username=args["facilitator"]))
    htmx = {"HX-Request": "true"}
    pages: dict[str, tuple[Any, str, dict[str, str]]] = {
        "overview": (leader, args["urls"]["overview"], {}),
        "team_home": (facilitator, args["urls"]["team_home"], {}),
        "board": (facilitator, args["urls"]["board"], {}),
        "issue": (facilitator, args["urls"]["issue"], {}),
    }
    if args["urls"].get("suggest"):
        query = "stagin environment down again, cant test the release"
        pages["suggest"] = (
            facilitator,
            f"{args['urls']['suggest']}?text={query.replace(' ', '+')}",
            htmx,
        )
    return {
        name: _profile_page(client, path, headers, args.get("runs", 5))
        for name, (client, path, headers) in pages.items()
    }


def suggest_inprocess(args: dict[str, Any]) -> dict[str, Any]:
    """When the suggestion endpoint is missing: retros.search.suggest() timed
    directly for distinct queries."""
    from bench.corpus import queries
    from bench.stats import summarise
    from retros.models import Organization, Retrospective
    from retros.search import suggest

    org = Organization.objects.get(name=args["org"])
    retro = Retrospective.objects.select_related("team").get(pk=args["open_retro_id"])
    texts = queries(args.get("count", 300), seed=args.get("seed", 7))
    suggest(organization=org, text="warm the index", team=retro.team, on=retro.held_on)
    latencies = []
    started = time.perf_counter()
    deadline = started + args.get("duration", 10)
    for text in texts:
        t0 = time.perf_counter()
        suggest(organization=org, text=text, team=retro.team, on=retro.held_on)
        latencies.append(time.perf_counter() - t0)
        if time.perf_counter() > deadline:
            break
    result = summarise(
        latencies, errors=0, elapsed_s=time.perf_counter() - started, statuses={200: len(latencies)}
    )
    result["label"] = "suggestions (in-process, no HTTP)"
    return result


def reload_index(args: dict[str, Any]) -> dict[str, Any]:
    """The organisation's matcher index: cold loads, the first suggestion after a relink, a
    merge and an archive (each undone), a rebuild after a moved stamp (bench.reload)."""
    from bench.reload import measure

    return measure(args["org"], args.get("repeat", 3))


def snapshot(args: dict[str, Any]) -> dict[str, Any]:
    """Write the matcher snapshots of the organisations named (``orgs``) or whose names
    start with ``prefix``, as ``matcher_status --snapshot`` does after a deploy."""
    from retros import snapshot as snapshots
    from retros.models import Organization

    organizations = Organization.objects.order_by("pk")
    if args.get("prefix"):
        organizations = organizations.filter(name__startswith=args["prefix"])
    else:
        organizations = organizations.filter(name__in=args["orgs"])
    seconds, sizes = [], []
    for organization in organizations:
        started = time.perf_counter()
        saved = snapshots.write(organization.pk)
        seconds.append(time.perf_counter() - started)
        sizes.append(len(saved.data) / 2**20 if saved is not None else 0.0)
    return {
        "organizations": len(seconds),
        "seconds": round(sum(seconds), 2),
        "slowest_s": round(max(seconds, default=0.0), 2),
        "mb": round(sum(sizes), 1),
    }


def many_status(args: dict[str, Any]) -> dict[str, Any]:
    """The organisations named ``prefix`` + a number: raisings of each (seeded ones only)."""
    from retros.models import Occurrence, Organization

    found = {}
    for organization in Organization.objects.filter(name__startswith=args["prefix"]):
        found[organization.name] = (
            Occurrence.objects.filter(organization=organization)
            .exclude(retro__title__startswith=BENCH_RETRO_TITLE)
            .count()
        )
    return {"organizations": found}


def many_prepare(args: dict[str, Any]) -> dict[str, Any]:
    """For each organisation named ``prefix``...: its facilitator's login and the URL of the
    suggestions of an open retro of the facilitator's team (reused between runs)."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from diagnosis.management.commands.seed_scale import usernames_for
    from retros.models import Membership, Organization, RetroStatus

    out = []
    for org in Organization.objects.filter(name__startswith=args["prefix"]).order_by("name"):
        _, facilitator = usernames_for(org.name)
        user = get_user_model().objects.get(username=facilitator)
        team = Membership.objects.get(user=user).teams.get()
        retro = _bench_retros(org).filter(team=team, status=RetroStatus.OPEN).first()
        if retro is None:
            retro = _open_bench_retro(org, team, user)
        suggest = reverse("retros:retro_suggestions", kwargs={"retro_id": retro.pk})
        out.append({"org": org.name, "facilitator": facilitator, "suggest": suggest})
    return {"organizations": out}


STEPS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "snapshot": snapshot,
    "many_status": many_status,
    "many_prepare": many_prepare,
    "live_prepare": live_prepare,
    "status": status,
    "cleanup": cleanup,
    "prepare": prepare,
    "recompute": recompute,
    "import": import_history,
    "profile": profile_pages,
    "suggest": suggest_inprocess,
    "reload": reload_index,
}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in STEPS:
        print(f"usage: python -m bench.tasks {{{','.join(STEPS)}}} JSON", file=sys.stderr)
        return 2
    _setup()
    result = STEPS[argv[1]](json.loads(argv[2]) if len(argv) > 2 else {})
    print(RESULT_MARK + json.dumps(result, default=_json_default), flush=True)
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
