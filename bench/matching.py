"""Measure the matcher: ``python -m bench.matching [--django] [--float32] [FILE ...]``.

Prints, one JSON line each:

- ``embedding``: the cost of embedding one typed sentence, and the process memory after
  loading the model;
- ``scale``: an organisation of 100k occurrences in 20k issues with 30k fixes, built in
  memory without a database (synthetic texts drawn from a 40k-word vocabulary, random unit
  vectors): build time, memory of the index and of the whole process, and the latency of
  the suggestion path as ``retros.search.suggest`` runs it minus the database (embed the typed
  text with its typo reading, candidate pool by meaning and by rare words, rank), median
  and p95 over 200 queries. ``--float32`` holds vectors in float32 instead of int8;
  ``--django`` first loads Django and the project's apps, as a web worker has them;
- ``kernels``: two inner loops against their budgets (``within_budget`` says whether each
  held): the int8 top-k over 100k occurrence vectors (median of 20 queries, budget
  40 ms) and trigram similarity of one typed text against 3,000 candidates (budget
  500 ms). Timings live here, not in the unit tests, whose
  machine may be shared;
- ``suggestions``: the replay metrics of each history file given (default: the sample
  histories under ``examples/``).
"""

from __future__ import annotations

import gc
import json
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from matching import centring, embedding, heap, lexical
from matching.evaluation import evaluate_suggestions
from matching.index import IssueIndex
from matching.ranker import MatrixIndex, Query

SENTENCES = [
    "Designs arrived two days before the sprint ended",
    "Staging environment unavailable for most of Tuesday",
    "Priorities changed twice in the middle of the sprint and we dropped half the work",
    "Code reviews wait several days for an approver",
    "On-call rota puts the same two people on every weekend",
]
COMMON = (
    "the a we our again this sprint team was were is are for to of in on and but not no "
    "still another week days late slow down blocked waiting nobody because after before "
    "release build review deploy test meeting priority goal customer support people"
).split()


def rss_mib() -> float:
    """Resident memory of this process (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_embedding(repeat: int = 40) -> dict[str, float]:
    started = time.perf_counter()
    model = embedding.get_model()
    load_s = time.perf_counter() - started
    texts = [f"{s} ({i})" for i in range(repeat) for s in SENTENCES]
    timings = []
    for text in texts:
        started = time.perf_counter()
        model.encode([text])
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "load_s": round(load_s, 2),
        "median_ms": round(float(np.median(timings)), 2),
        "p95_ms": round(float(np.percentile(timings, 95)), 2),
        "rss_mib_after_load": round(rss_mib(), 1),
    }


class _Texts:
    """Retro-like texts: a few common words and several drawn from a Zipf-distributed
    vocabulary of made-up words (so that word tables grow as with real text), a name or a
    ticket code now and then."""

    def __init__(self, seed: int = 0, vocabulary: int = 40_000) -> None:
        self.rng = random.Random(seed)
        letters = "abcdefghiklmnoprstuvwy"
        self.words = [
            "".join(self.rng.choice(letters) for _ in range(self.rng.randint(4, 10)))
            for _ in range(vocabulary)
        ]
        self.cumulative = np.cumsum(1.0 / np.arange(1, vocabulary + 1)).tolist()

    def __call__(self) -> str:
        rare = self.rng.choices(self.words, cum_weights=self.cumulative, k=self.rng.randint(3, 9))
        common = self.rng.choices(COMMON, k=self.rng.randint(2, 6))
        words = rare + common
        self.rng.shuffle(words)
        if self.rng.random() < 0.1:
            words.append(f"PAY-{self.rng.randint(100, 9999)}")
        return " ".join(words).capitalize()


def bench_scale(
    occurrences: int = 100_000,
    issues: int = 20_000,
    fixes: int = 30_000,
    queries: int = 200,
    *,
    quantized: bool = True,
) -> dict[str, Any]:
    embedding.get_model()
    gc.collect()
    before = rss_mib()
    rng = np.random.default_rng(0)
    texts = _Texts()
    owners = rng.integers(1, issues + 1, occurrences)
    teams = [f"Team {i}" for i in range(25)]
    index = IssueIndex(quantized=quantized, centring=centring.default())  # as production
    index.matrix.reserve(occurrences)
    started = time.perf_counter()
    for start in range(0, occurrences, 10_000):
        vectors = rng.standard_normal((min(10_000, occurrences - start), 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        for offset, vector in enumerate(vectors):
            row = start + offset
            index.add_occurrence(
                occurrence_id=row + 1,
                issue_id=int(owners[row]),
                text=texts(),
                team=teams[row % len(teams)],
                vector=vector,
            )
    for fix in range(fixes):
        index.add_fix(int(owners[fix % occurrences]), texts())
    build_s = time.perf_counter() - started
    gc.collect()
    gc.freeze()  # as search.org_index does after a load
    heap.release_free_heap()
    after = rss_mib()
    today = date(2026, 6, 1)
    timings = []
    for i in range(queries):
        text = f"{texts()} {SENTENCES[i % len(SENTENCES)]}"
        started = time.perf_counter()
        reading, vectors = index.read(text)
        pool = index.pool(reading, vectors)
        candidates = [
            index.candidate(
                issue_id,
                cosines,
                title=str(issue_id),
                last_seen=today - timedelta(days=issue_id % 400),
            )
            for issue_id, cosines in pool.items()
        ]
        query = Query(text, vectors, team=teams[i % len(teams)], on=today, reading=reading)
        index.rank(query, candidates, limit=5)
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "occurrences": occurrences,
        "issues": len(list(index.issue_ids())),
        "fixes": fixes,
        "vectors": "int8" if quantized else "float32",
        "build_s": round(build_s, 1),
        "vector_mib": round(index.matrix.nbytes / 2**20, 1),
        "index_rss_mib": round(after - before, 1),
        "rss_mib": round(after, 1),
        "suggest_median_ms": round(float(np.median(timings)), 2),
        "suggest_p95_ms": round(float(np.percentile(timings, 95)), 2),
    }


#: Budgets of :func:`bench_kernels`, in milliseconds.
TOP_K_BUDGET_MS = 40.0
LEXICAL_BUDGET_MS = 500.0


def _random_unit(rng: np.random.Generator, n: int, d: int = 384) -> np.ndarray:
    matrix = rng.standard_normal((n, d)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def bench_kernels(rows: int = 100_000, issues: int = 20_000) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    index = MatrixIndex(capacity=rows, quantized=True)  # as production holds it
    index.centring = centring.default()
    matrix = _random_unit(rng, rows)
    owners = rng.integers(0, issues, rows)
    for start in range(0, rows, 10_000):
        chunk = owners[start : start + 10_000]
        for issue in np.unique(chunk).tolist():
            found = np.flatnonzero(chunk == issue) + start
            index.add(issue, found.tolist(), matrix[found])
    top_k = []
    for query in _random_unit(rng, 20):
        started = time.perf_counter()
        index.top_k_issues(query, 20)
        top_k.append((time.perf_counter() - started) * 1000)

    words = "deploy staging build flaky sprint priorities review release api owner".split()
    pick = random.Random(7)
    texts = [" ".join(pick.choices(words, k=8)) + f" ticket {i}" for i in range(3000)]
    typed = lexical.normalize("stagng deploys are flaky again")
    started = time.perf_counter()
    for text in texts:
        lexical.similarity(typed, text)
    lexical_ms = (time.perf_counter() - started) * 1000

    top_k_ms = float(np.median(top_k))
    return {
        "top_k_rows": len(index),
        "top_k_median_ms": round(top_k_ms, 2),
        "lexical_candidates": len(texts),
        "lexical_ms": round(lexical_ms, 2),
        "within_budget": {
            "top_k": top_k_ms < TOP_K_BUDGET_MS,
            "lexical": lexical_ms < LEXICAL_BUDGET_MS,
        },
    }


def _setup_django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    import diagnosis.views  # noqa: F401  (a web worker imports the views)
    import retros.views  # noqa: F401


def main(argv: list[str]) -> None:
    flags = {a for a in argv if a.startswith("--")}
    if "--django" in flags:
        _setup_django()
    print(json.dumps({"embedding": bench_embedding()}))
    print(json.dumps({"scale": bench_scale(quantized="--float32" not in flags)}))
    print(json.dumps({"kernels": bench_kernels()}))
    examples = Path(__file__).resolve().parents[1] / "examples"
    paths = [Path(a) for a in argv if not a.startswith("--")]
    for path in paths or sorted(examples.glob("*.history.json")):
        print(json.dumps({"suggestions": evaluate_suggestions(path)}))


if __name__ == "__main__":
    main(sys.argv[1:])
