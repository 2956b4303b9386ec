"""The benchmark's statistics, budgets, report and parsing helpers."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from bench import cli, load, stats
from bench.server import CpuSample


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 95, 99, 100])
def test_percentiles_match_numpy_linear_interpolation(q):
    values = [0.3, 12.0, 4.5, 4.5, 7.25, 100.0, 0.01, 55.5, 3.0]
    assert stats.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_of_nothing_is_nan_and_out_of_range_is_refused():
    assert stats.percentile([], 50) != stats.percentile([], 50)
    with pytest.raises(ValueError):
        stats.percentile([1.0], 101)


def test_summary_counts_successes_per_second_in_milliseconds():
    result = stats.summarise(
        [0.010, 0.020, 0.030, 0.040], errors=1, elapsed_s=2.0, statuses={200: 4, 500: 1}
    )
    assert result["requests"] == 4
    assert result["rps"] == 2.0
    assert result["p50_ms"] == 25.0
    assert result["max_ms"] == 40.0
    assert result["errors"] == 1
    assert result["statuses"] == {"200": 4, "500": 1}


def test_summary_of_no_successful_request_has_no_latencies():
    result = stats.summarise([], errors=3, elapsed_s=1.0, statuses={502: 3})
    assert result["rps"] == 0.0
    assert result["p95_ms"] is None and result["max_ms"] is None


def test_throughput_is_relative_to_the_baseline():
    endpoints = {"healthz": {"rps": 400.0}, "overview": {"rps": 50.0}, "board": {"rps": None}}
    stats.add_relative_throughput(endpoints, "healthz")
    assert endpoints["healthz"]["pct_of_baseline"] == 100.0
    assert endpoints["overview"]["pct_of_baseline"] == 12.5
    assert endpoints["board"]["pct_of_baseline"] is None


def results(**overrides):
    base = {
        "endpoints": {
            "overview": {"pct_of_baseline": 12.0},
            "board": {"pct_of_baseline": 5.9},
            "team_home": {"pct_of_baseline": 6.0},
            "issue": {"pct_of_baseline": 30.0},
            "suggest": {"p95_ms": 49.0},
            "log_issue": {"p95_ms": 140.0},
        },
        "timings": {
            "recompute_s": 61.0,
            "import_s": 12.0,
            "reload_cold_load_max_ms": 1000.0,
            "reload_relink_ms": 40.0,
            "reload_merge_ms": 100.5,
            "fresh_first_p95_ms": 1000.0,
            "reload_stamp_first_ms": 30.0,
            "many_slowest_ms": 1000.5,
            "many_peak_over_budget_mb": 150.0,
            "live_delivery_p95_ms": 1000.0,
            "live_missed": 1,
        },
        "memory": {"peak_worker_mb": 250.0, "peak_worker_pss_mb": 250.5},
        "totals": {"errors": 0},
    }
    base.update(overrides)
    return base


def test_budgets_pass_at_the_limit_and_fail_beyond_it():
    verdicts = {v["budget"]: v["verdict"] for v in stats.check_budgets(results())}
    assert verdicts == {
        "leader overview throughput": "PASS",
        "retro board throughput": "FAIL",
        "team home throughput": "PASS",
        "issue page throughput": "PASS",
        "suggestions p95": "PASS",
        "issue logging POST p95": "FAIL",
        "recompute of all findings": "FAIL",
        "import of the history document": "PASS",
        "web worker peak RSS": "PASS",
        "web worker peak PSS": "FAIL",
        "failed requests": "PASS",
        "cold index load from its snapshot (worst of 3)": "PASS",
        "first suggestion of a fresh worker (p95)": "PASS",
        "first suggestion after a relink": "PASS",
        "first suggestion after a merge": "FAIL",
        "first suggestion after an archive": "n/a",
        "after a moved stamp, first suggestion": "PASS",
        "many organisations: slowest suggestion": "FAIL",
        "many organisations: worker peak RSS over its budget": "PASS",
        "live boards: change delivered (p95)": "PASS",
        "live boards: changes never heard": "FAIL",
    }


def test_a_number_that_was_not_measured_is_not_applicable():
    verdict = stats.Budget("x", "timings.missing", 1, True, " s").check(results())
    assert verdict["verdict"] == "n/a" and verdict["value"] is None
    assert verdict["limit"] == "≤ 1 s"


def test_the_report_lists_endpoints_timings_memory_and_verdicts():
    outcome = results()
    outcome["endpoints"]["healthz"] = {"label": "GET /healthz", "rps": 500.0, "requests": 10}
    outcome["memory"]["workers"] = [{"pid": 42, "hwm_mb": 240.5, "rss_mb": 200.0}]
    outcome["budgets"] = stats.check_budgets(outcome)
    text = stats.report(outcome)
    assert "GET /healthz" in text and "500.0" in text
    assert "recompute_s" in text and "240.5" in text
    assert "retro board throughput" in text and "FAIL" in text


def test_tables_align_columns():
    text = stats.table([["a", "1.0"], ["longer name", "123.4"]], ("name", "value"))
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[2].startswith("a ") and lines[2].endswith("  1.0")


def test_seed_phases_are_read_from_the_command_output():
    output = (
        "Planning the history… 2.4 s\n"
        "Embedding 2609 base sentences with the real model… 14.0 s\n"
        "Writing the organisation… 80.5 s\n"
        "Computing the findings… 480.2 s\n"
        "Organisation “X”: 50 teams in 600.1 s.\n"
    )
    assert cli.seed_phases(output) == {
        "planning_the_history_s": 2.4,
        "embedding_base_sentences_with_the_real_model_s": 14.0,
        "writing_the_organisation_s": 80.5,
        "computing_the_findings_s": 480.2,
    }


def test_quick_and_full_sizes_use_their_own_databases():
    full, quick = cli.parse_args([]), cli.parse_args(["--quick"])
    assert (full.occurrences, full.teams, full.duration) == (100_000, 50, 10.0)
    assert full.database == "recur_bench"
    assert quick.occurrences < full.occurrences and quick.duration < full.duration
    assert quick.database == f"recur_bench_{quick.teams}t_{quick.occurrences}o"
    assert cli.parse_args(["--quick", "--duration", "1"]).duration == 1.0
    with pytest.raises(SystemExit):
        cli.parse_args(["--database", "Robert'); DROP"])


def test_bench_settings_are_production_ones_against_the_bench_database(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://elsewhere/prod")
    env = cli.bench_env(cli.Services(), "recur_bench")
    assert env["DJANGO_DEBUG"] == "False"
    assert len(env["DJANGO_SECRET_KEY"]) >= 50
    assert env["DATABASE_URL"].endswith("/recur_bench")
    assert env["CACHE_URL"].endswith("/1") and env["CELERY_BROKER_URL"].endswith("/0")


def test_the_csrf_token_is_found_in_a_form_or_in_htmx_headers():
    form = '<input type="hidden" name="csrfmiddlewaretoken" value="abc123">'
    body = '<body hx-headers=\'{"X-CSRFToken": "xyz789"}\'>'
    assert load.csrf_token_in(form) == "abc123"
    assert load.csrf_token_in(body) == "xyz789"
    assert load.csrf_token_in("<p>nothing</p>") is None


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        status = 500 if self.path.endswith("/fail") else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_the_load_generator_stops_by_itself_and_counts_errors(server):
    def factory(i: int) -> load.Request:
        return load.Request("GET", "/fail" if i % 5 == 0 else "/ok")

    result = load.run("127.0.0.1", server, factory, duration_s=0.3, concurrency=2)
    assert result["elapsed_s"] < 2
    total = result["requests"] + result["errors"]
    assert result["requests"] > 0 and result["errors"] > 0
    assert result["errors"] == pytest.approx(total / 5, abs=2)
    assert set(result["statuses"]) == {"200", "500"}


def test_other_work_is_the_machine_busy_time_not_spent_by_the_benchmark():
    before = CpuSample(busy=1000, total=4000, ours=300)
    after = CpuSample(busy=1700, total=4400, ours=800)
    assert before.other_percent(after) == 50.0
    assert after.other_percent(CpuSample(busy=1700, total=4400, ours=800)) == 0.0
    assert before.other_percent(CpuSample(busy=1100, total=4400, ours=500)) == 0.0


def test_rounds_are_combined_by_their_median_figure_by_figure():
    def round_(healthz_rps, page_rps, page_p95):
        endpoints = {
            "healthz": {"rps": healthz_rps, "p95_ms": 3.0, "requests": 100, "errors": 0},
            "board": {"rps": page_rps, "p95_ms": page_p95, "requests": 10, "errors": 1},
        }
        stats.add_relative_throughput(endpoints, "healthz")
        return endpoints

    rounds = [round_(1000, 70, 50.0), round_(1500, 90, 40.0), round_(2000, 100, 45.0)]
    merged = stats.median_round(rounds)

    assert merged["board"]["rps"] == 90
    assert merged["board"]["pct_of_baseline"] == 6.0  # 7.0, 6.0 and 5.0 in the rounds
    assert merged["board"]["p95_ms"] == 45.0
    assert (merged["board"]["requests"], merged["board"]["errors"]) == (30, 3)
    assert stats.median_round(rounds[:1]) is rounds[0]


def test_a_process_proportional_memory_is_read_and_a_gone_one_is_none():
    from bench.server import proportional_mb

    assert proportional_mb(os.getpid()) > 10
    assert proportional_mb(2**22 + 7) is None


def _cpuinfo(model: str, flags: str) -> str:
    core = f"processor\t: {{n}}\nmodel name\t: {model}\nflags\t\t: {flags}\n"
    return "\n".join(core.format(n=n) for n in range(2))


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu sse2 avx2 avx512f avx512_vnni", "AVX-512 VNNI"),
        ("fpu sse2 avx2 avx_vnni", "AVX-VNNI"),
        ("fpu sse2 fma avx2", "AVX2"),
        ("fpu sse2", "none of AVX-512 VNNI, AVX-VNNI, AVX2"),
    ],
)
def test_the_cpu_is_described_by_its_best_int8_instructions(flags, expected):
    described = stats.cpu_description(_cpuinfo("AMD EPYC", flags))
    assert described == {"cpu": "AMD EPYC", "int8": expected}


def test_an_unreadable_cpuinfo_leaves_the_cpu_unknown_and_the_report_names_the_machine():
    assert stats.cpu_description("") == {"cpu": "unknown", "int8": "unknown"}
    machine = {"cpus": 2, **stats.cpu_description(_cpuinfo("Xeon", "avx2 avx512_vnni"))}
    text = stats.report({"machine": machine, "endpoints": {}})
    assert text.splitlines()[0] == "machine: Xeon, 2 CPUs, int8 instructions AVX-512 VNNI"
