"""The engine against the sample histories in examples/, grouped by their `same_as` truth.

Each `NAME.history.json` is replayed with `diagnosis.replay` and judged as of the date of its
last retro (the last day the history speaks for). Each expected finding is matched to the
issue holding its item; over all samples, flag precision and recall must reach 0.9 and
category accuracy 0.8.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from diagnosis.engine import Finding, diagnose
from diagnosis.replay import document_as_of, issues_from_document
from tests.examples import EXAMPLES, example_files

pytestmark = pytest.mark.evaluation

SAMPLES = [p.name.removesuffix(".history.json") for p in example_files()]

MIN_FLAG_PRECISION = 0.9
MIN_FLAG_RECALL = 0.9
MIN_CATEGORY_ACCURACY = 0.8


@dataclass(frozen=True)
class Judged:
    sample: str
    item: str
    expected_category: str
    expected_flagged: bool
    finding: Finding


def judge(sample: str) -> list[Judged]:
    document = json.loads((EXAMPLES / f"{sample}.history.json").read_text())
    expected = json.loads((EXAMPLES / f"{sample}.expected.json").read_text())["findings"]
    today = document_as_of(document)
    issue_of = {item: issue for issue in issues_from_document(document) for item in issue.items}
    return [
        Judged(
            sample,
            e["item"],
            e["category"],
            e["flagged"],
            diagnose(issue_of[e["item"]].history, today=today),
        )
        for e in expected
    ]


@pytest.fixture(scope="module")
def judged() -> list[Judged]:
    return [j for sample in SAMPLES for j in judge(sample)]


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_expected_item_belongs_to_one_replayed_issue(sample: str) -> None:
    document = json.loads((EXAMPLES / f"{sample}.history.json").read_text())
    expected = json.loads((EXAMPLES / f"{sample}.expected.json").read_text())["findings"]
    issues = issues_from_document(document)
    items = [item for issue in issues for item in issue.items]

    assert len(items) == len(set(items))
    assert {e["item"] for e in expected} <= set(items)


def test_the_engine_agrees_with_careful_people_on_the_samples(
    judged: list[Judged], capsys: pytest.CaptureFixture[str]
) -> None:
    true_pos = sum(1 for j in judged if j.finding.flagged and j.expected_flagged)
    flagged = sum(1 for j in judged if j.finding.flagged)
    expected_flags = sum(1 for j in judged if j.expected_flagged)
    precision = true_pos / flagged if flagged else 1.0
    recall = true_pos / expected_flags if expected_flags else 1.0
    accuracy = sum(1 for j in judged if j.finding.category == j.expected_category) / len(judged)
    misses = [
        f"  {j.sample}/{j.item}: expected {j.expected_category} flagged={j.expected_flagged}, "
        f"got {j.finding.category} flagged={j.finding.flagged}"
        for j in judged
        if (j.finding.category, j.finding.flagged) != (j.expected_category, j.expected_flagged)
    ]
    with capsys.disabled():
        print(
            f"\nsamples {', '.join(SAMPLES)}: {len(judged)} findings; flag precision "
            f"{precision:.2f}, recall {recall:.2f}; category accuracy {accuracy:.2f}",
            *misses,
            sep="\n",
        )

    assert precision >= MIN_FLAG_PRECISION, misses
    assert recall >= MIN_FLAG_RECALL, misses
    assert accuracy >= MIN_CATEGORY_ACCURACY, misses


def test_every_sample_finding_explains_itself(judged: list[Judged]) -> None:
    for j in judged:
        assert j.finding.reasons, j.item
        assert all(r.cites for r in j.finding.reasons), j.item
