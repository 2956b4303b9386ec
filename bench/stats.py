"""Statistics, budgets and the printed report of a benchmark run. Pure: no I/O, no Django."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks, as
    numpy's default; NaN for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not between 0 and 100")
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(
    latencies_s: Sequence[float], *, errors: int, elapsed_s: float, statuses: Mapping[int, int]
) -> dict[str, Any]:
    """One endpoint's numbers: successful requests per second and latency percentiles of the
    successful requests, in milliseconds."""
    ms = [v * 1000 for v in latencies_s]
    return {
        "requests": len(ms),
        "errors": errors,
        "elapsed_s": round(elapsed_s, 3),
        "rps": round(len(ms) / elapsed_s, 2) if elapsed_s > 0 else 0.0,
        "p50_ms": _round(percentile(ms, 50)),
        "p95_ms": _round(percentile(ms, 95)),
        "p99_ms": _round(percentile(ms, 99)),
        "max_ms": _round(max(ms)) if ms else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 2)


def add_relative_throughput(endpoints: dict[str, dict[str, Any]], baseline: str) -> None:
    """Each endpoint's requests per second as a percentage of the baseline's."""
    base = endpoints.get(baseline, {}).get("rps") or 0.0
    for result in endpoints.values():
        rps = result.get("rps")
        result["pct_of_baseline"] = round(100 * rps / base, 1) if base and rps is not None else None


MEDIAN_FIELDS = ("rps", "pct_of_baseline", "p50_ms", "p95_ms", "p99_ms", "other_cpu_pct")


def median_round(rounds: Sequence[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per endpoint, each measured figure's median over the rounds (the throughput ratio of
    each round to that round's /healthz first); counts and errors are summed."""
    if len(rounds) == 1:
        return rounds[0]
    merged: dict[str, dict[str, Any]] = {}
    for key, first in rounds[0].items():
        results = [r[key] for r in rounds if key in r]
        combined = dict(first)
        for name in MEDIAN_FIELDS:
            values = [r[name] for r in results if r.get(name) is not None]
            combined[name] = round(statistics.median(values), 2) if values else None
        for name in ("requests", "errors"):
            combined[name] = sum(r.get(name, 0) for r in results)
        combined["rounds"] = len(results)
        merged[key] = combined
    return merged


@dataclass(frozen=True)
class Budget:
    """A limit on one number of the results: `path` names it (dotted keys)."""

    label: str
    path: str
    limit: float
    at_most: bool  # True: value <= limit passes; False: value >= limit passes
    unit: str = ""

    def value(self, results: Mapping[str, Any]) -> float | None:
        node: Any = results
        for key in self.path.split("."):
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
        return None if node is None else float(node)

    def check(self, results: Mapping[str, Any]) -> dict[str, Any]:
        value = self.value(results)
        if value is None:
            verdict = "n/a"
        elif (value <= self.limit) if self.at_most else (value >= self.limit):
            verdict = "PASS"
        else:
            verdict = "FAIL"
        return {
            "budget": self.label,
            "limit": f"{'≤' if self.at_most else '≥'} {self.limit:g}{self.unit}",
            "value": None if value is None else round(value, 2),
            "unit": self.unit,
            "verdict": verdict,
        }


BUDGETS: tuple[Budget, ...] = (
    Budget("leader overview throughput", "endpoints.overview.pct_of_baseline", 10, False, " %"),
    Budget("retro board throughput", "endpoints.board.pct_of_baseline", 6, False, " %"),
    Budget("team home throughput", "endpoints.team_home.pct_of_baseline", 6, False, " %"),
    Budget("issue page throughput", "endpoints.issue.pct_of_baseline", 6, False, " %"),
    Budget("suggestions p95", "endpoints.suggest.p95_ms", 50, True, " ms"),
    Budget("issue logging POST p95", "endpoints.log_issue.p95_ms", 100, True, " ms"),
    Budget("recompute of all findings", "timings.recompute_s", 60, True, " s"),
    Budget("import of the history document", "timings.import_s", 60, True, " s"),
    Budget("web worker peak RSS", "memory.peak_worker_mb", 250, True, " MB"),
    Budget("web worker peak PSS", "memory.peak_worker_pss_mb", 250, True, " MB"),
    Budget(
        "cold index load from its snapshot (worst of 3)",
        "timings.reload_cold_load_max_ms",
        1000,
        True,
        " ms",
    ),
    Budget(
        "first suggestion of a fresh worker (p95)", "timings.fresh_first_p95_ms", 1000, True, " ms"
    ),
    Budget("first suggestion after a relink", "timings.reload_relink_ms", 100, True, " ms"),
    Budget("first suggestion after a merge", "timings.reload_merge_ms", 100, True, " ms"),
    Budget("first suggestion after an archive", "timings.reload_archive_ms", 100, True, " ms"),
    Budget(
        "after a moved stamp, first suggestion", "timings.reload_stamp_first_ms", 100, True, " ms"
    ),
    Budget("many organisations: slowest suggestion", "timings.many_slowest_ms", 1000, True, " ms"),
    Budget(
        "live boards: change delivered (p95)", "timings.live_delivery_p95_ms", 1000, True, " ms"
    ),
    Budget("live boards: changes never heard", "timings.live_missed", 0, True, ""),
    Budget(
        "many organisations: worker peak RSS over its budget",
        "timings.many_peak_over_budget_mb",
        150,
        True,
        " MB",
    ),
    Budget("failed requests", "totals.errors", 0, True, ""),
)


def check_budgets(
    results: Mapping[str, Any], budgets: Sequence[Budget] = BUDGETS
) -> list[dict[str, Any]]:
    return [b.check(results) for b in budgets]


def cell(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """A plain-text table, numbers right-aligned, first column left-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


ENDPOINT_HEADERS = (
    "endpoint",
    "req/s",
    "% healthz",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "errors",
    "n",
    "other CPU %",
)


def endpoint_rows(endpoints: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    return [
        [
            str(r.get("label", name)),
            cell(r.get("rps")),
            cell(r.get("pct_of_baseline")),
            cell(r.get("p50_ms")),
            cell(r.get("p95_ms")),
            cell(r.get("p99_ms")),
            cell(r.get("errors")),
            cell(r.get("requests")),
            cell(r.get("other_cpu_pct")),
        ]
        for name, r in endpoints.items()
    ]


#: The int8 instructions onnxruntime's kernels use, best first: the model's and the vector
#: scan's time depend on them (docs/performance.md, "A processor without VNNI").
INT8_INSTRUCTIONS = (("avx512_vnni", "AVX-512 VNNI"), ("avx_vnni", "AVX-VNNI"), ("avx2", "AVX2"))


def cpu_description(cpuinfo: str) -> dict[str, str]:
    """The processor's model and the best int8 instruction set its flags name, from the text
    of ``/proc/cpuinfo`` (empty text: both unknown)."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    best = next((name for flag, name in INT8_INSTRUCTIONS if flag in flags), None)
    return {
        "cpu": fields.get("model name") or "unknown",
        "int8": best
        or ("none of " + ", ".join(n for _, n in INT8_INSTRUCTIONS) if flags else "unknown"),
    }


def report(results: Mapping[str, Any]) -> str:
    """The whole run as text: the machine, endpoints, timings, memory and the budget
    verdicts."""
    parts = []
    machine = results.get("machine", {})
    if machine.get("cpu"):
        parts.append(
            f"machine: {machine['cpu']}, {machine.get('cpus', '?')} CPUs, "
            f"int8 instructions {machine.get('int8', 'unknown')}"
        )
    parts.append(table(endpoint_rows(results.get("endpoints", {})), ENDPOINT_HEADERS))
    timings = results.get("timings", {})
    if timings:
        parts.append(
            table(
                [[k, cell(v, 2)] for k, v in timings.items()],
                ("timing", "value"),
            )
        )
    memory = results.get("memory", {})
    if memory.get("workers"):
        parts.append(
            table(
                [
                    [
                        str(w["pid"]),
                        cell(w.get("hwm_mb")),
                        cell(w.get("rss_mb")),
                        cell(w.get("peak_pss_mb")),
                    ]
                    for w in memory["workers"]
                ],
                ("worker pid", "peak RSS MB", "RSS MB", "peak PSS MB"),
            )
        )
    verdicts = results.get("budgets", [])
    if verdicts:
        parts.append(
            table(
                [[v["budget"], v["limit"], cell(v["value"], 2), v["verdict"]] for v in verdicts],
                ("budget", "limit", "measured", "verdict"),
            )
        )
    return "\n\n".join(parts)
