"""Scoring an import of a sample history against its truth (`make eval`).

Conventions (examples/README.md): recurrence linking is scored on pairs of items
placed in the same issue, against the `same_as` truth; a finding is matched to the issue
that holds most of its true items; flag precision counts every flagged issue, matched or
not.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matching.fixkind import infer_fix_kind
from vocabulary.fixkinds import FIX_KINDS


def true_groups(document: Mapping[str, Any]) -> dict[str, str]:
    """Item key → key of the first item of its true issue (union of `same_as` chains)."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for retro in document.get("retrospectives", []):
        for item in retro.get("items", []):
            parent.setdefault(item["key"], item["key"])
            if item.get("same_as"):
                parent.setdefault(item["same_as"], item["same_as"])
                root_a, root_b = find(item["same_as"]), find(item["key"])
                if root_a != root_b:
                    parent[root_b] = root_a
    return {key: find(key) for key in parent}


def _pairs(groups: Mapping[str, object]) -> set[tuple[str, str]]:
    members: dict[object, list[str]] = {}
    for key, group in groups.items():
        members.setdefault(group, []).append(key)
    return {
        tuple(sorted(pair))  # type: ignore[misc]
        for keys in members.values()
        for pair in itertools.combinations(keys, 2)
    }


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 3) if denominator else 1.0


def linking_scores(predicted: Mapping[str, object], truth: Mapping[str, str]) -> dict[str, float]:
    predicted_pairs, true_pairs = _pairs(predicted), _pairs(truth)
    hits = len(predicted_pairs & true_pairs)
    precision = _ratio(hits, len(predicted_pairs))
    recall = _ratio(hits, len(true_pairs))
    f1 = round(2 * precision * recall / (precision + recall), 3) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


@dataclass(frozen=True)
class IssueOutcome:
    """What the import produced for one issue: its items and its current finding."""

    items: frozenset[str]
    category: str
    flagged: bool


def finding_scores(
    issues: Sequence[IssueOutcome], expected: Iterable[Mapping[str, Any]], truth: Mapping[str, str]
) -> dict[str, float | int]:
    true_members: dict[str, set[str]] = {}
    for key, root in truth.items():
        true_members.setdefault(root, set()).add(key)
    matched: dict[int, Mapping[str, Any]] = {}
    category_hits = total = 0
    for finding in expected:
        members = true_members.get(truth.get(finding["item"], finding["item"]), {finding["item"]})
        best = max(range(len(issues)), key=lambda i: len(issues[i].items & members), default=None)
        total += 1
        if best is None or not issues[best].items & members:
            continue
        matched[best] = finding
        category_hits += issues[best].category == finding["category"]
    expected_flags = [f for f in expected if f["flagged"]]
    flagged = [i for i, issue in enumerate(issues) if issue.flagged]
    true_positive = sum(1 for i in flagged if i in matched and matched[i]["flagged"])
    found_expected = sum(1 for i, f in matched.items() if f["flagged"] and issues[i].flagged)
    return {
        "flag_precision": _ratio(true_positive, len(flagged)),
        "flag_recall": _ratio(found_expected, len(expected_flags)),
        "category_accuracy": _ratio(category_hits, total),
        "findings": total,
    }


def strip_truth(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document without `same_as` and `kind`: linking and kinds become automatic."""
    copy = dict(document)
    copy["retrospectives"] = [
        {
            **retro,
            "items": [
                {k: v for k, v in item.items() if k != "same_as"} for item in retro.get("items", [])
            ],
            "actions": [
                {k: v for k, v in action.items() if k != "kind"}
                for action in retro.get("actions", [])
            ],
        }
        for retro in document.get("retrospectives", [])
    ]
    return copy


def fix_kind_scores(document: Mapping[str, Any]) -> dict[str, Any]:
    """How often the kind inferred from an action's text (what an import without kinds
    records) equals the kind the file gives, and how often it falls on the same side of the
    band-aid line (`nature`). Only actions with a kind and a text count."""
    labelled = [
        action
        for retro in document.get("retrospectives", [])
        for action in retro.get("actions", [])
        if action.get("kind") in FIX_KINDS and action.get("text")
    ]
    kinds = natures = 0
    for action in labelled:
        inferred = infer_fix_kind(action["text"]).kind
        kinds += inferred == action["kind"]
        natures += FIX_KINDS[inferred].nature == FIX_KINDS[action["kind"]].nature
    return {
        "fixes_labelled": len(labelled),
        "kind_accuracy": round(kinds / len(labelled), 4) if labelled else None,
        "nature_accuracy": round(natures / len(labelled), 4) if labelled else None,
    }
