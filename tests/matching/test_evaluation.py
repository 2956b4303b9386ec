from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from matching import evaluation
from matching.evaluation import (
    evaluate_autolink,
    evaluate_import,
    evaluate_suggestions,
    load_history,
    pair_scores,
    true_issues,
)
from tests.examples import example_files

pytestmark = pytest.mark.evaluation

SAMPLES = example_files()
DATA = Path(__file__).parent / "data"
# Written before the ranker was changed and only ever measured as a whole: a check on
# organisations, wording and problems the matcher was not tuned on.
HELD_OUT = sorted(DATA.glob("*.history.json"))
TUNING = sorted((DATA / "tuning").glob("*.history.json"))

# What every replay of a history reports first: its file, how many recurrences it holds and
# how well the matcher ranked their true issues.
RANKING_FIELDS = ["file", "recurrences", "top1", "top3", "mrr", "p95_ms"]


def _history():
    def item(key, text, same_as=None):
        return {"key": key, "text": text, **({"same_as": same_as} if same_as else {})}

    return {
        "format": "recur-history/1",
        "organization": "Tiny",
        "teams": [{"key": "a", "name": "A"}, {"key": "b", "name": "B"}],
        "retrospectives": [
            {
                "key": "r2",
                "team": "b",
                "held_on": "2026-02-01",
                "items": [item("x2", "Staging down again", "x1"), item("y1", "Coffee broken")],
            },
            {
                "key": "r1",
                "team": "a",
                "held_on": "2026-01-01",
                "items": [item("x1", "Staging down")],
                "actions": [
                    {"key": "f1", "item": "x1", "text": "Restart it", "kind": "workaround"}
                ],
            },
            {
                "key": "r3",
                "team": "a",
                "held_on": "2026-02-01",
                "items": [item("x3", "Staging unavailable", "x2")],
            },
        ],
    }


def _fake_encoder(texts):
    """Staging texts point one way, everything else another."""
    rows = [[1.0, 0.0] if "staging" in t.lower() else [0.0, 1.0] for t in texts]
    return np.array(rows, dtype=np.float32).reshape(len(texts), 2)


def _fake_query_encoder(text, vocabulary):
    return _fake_encoder([text])


def test_it_replays_retrospectives_by_date_then_file_order():
    _, retros = load_history(_history())

    assert [it.key for r in retros for it in r.items] == ["x1", "x2", "y1", "x3"]
    assert true_issues(retros) == {"x1": "x1", "x2": "x1", "x3": "x1", "y1": "y1"}


def test_it_records_the_rank_of_the_true_issue_for_every_recurrence():
    result = evaluate_suggestions(
        _history(), encoder=_fake_encoder, query_encoder=_fake_query_encoder
    )

    assert result["recurrences"] == 2
    assert (result["top1"], result["top3"], result["mrr"]) == (1.0, 1.0, 1.0)
    assert set(result) == {*RANKING_FIELDS, "lexical_top1", "lexical_top3"}


def test_pair_scores_count_pairs_of_items_in_the_same_issue():
    truth = {"a": 1, "b": 1, "c": 1, "d": 2}
    predicted = {"a": 1, "b": 1, "c": 2, "d": 2}

    scores = pair_scores(predicted, truth)

    assert (scores["pairs_true"], scores["pairs_predicted"], scores["pairs_correct"]) == (3, 2, 1)
    assert scores["precision"] == 0.5
    assert scores["recall"] == pytest.approx(0.3333, abs=1e-4)


def test_autolink_joins_only_what_scores_above_the_threshold():
    result = evaluate_autolink(
        _history(), encoder=_fake_encoder, query_encoder=_fake_query_encoder, threshold=0.5
    )

    assert result["precision"] == 1.0
    assert result["recall"] == 1.0
    assert result["links"] == 2


def test_an_import_replay_counts_recurrences_linked_or_queued_with_their_true_issue():
    # Both staging recurrences score 1.0 on meaning (a match of at least 0.6): linked, rightly.
    weights = replace(evaluation.DEFAULT_WEIGHTS, auto_link=0.55)
    result = evaluate_import(
        _history(), weights=weights, encoder=_fake_encoder, query_encoder=_fake_query_encoder
    )
    assert result["recurrences"] == 2
    assert (result["links"], result["autolink_precision"]) == (2, 1.0)
    assert result["queued_or_linked"] == 1.0


def test_an_import_replay_loses_a_recurrence_below_the_review_band():
    weights = evaluation.DEFAULT_WEIGHTS
    # Meaning alone: with the typed text unrelated to the earlier one, nothing is proposed.
    result = evaluate_import(
        _history(),
        weights=weights,
        encoder=lambda texts: np.eye(len(texts), 8, dtype=np.float32)[: len(texts)],
        query_encoder=lambda text, vocabulary: np.full((1, 8), 0.0, dtype=np.float32),
    )
    assert result["recurrences"] == 2
    assert result["queued_or_linked"] < 1.0


def _one_retro_history():
    """Two staging items in one retro (two aspects of one discussion, not the same issue),
    then staging again in a later retro, the same issue as the first."""

    def item(key, text, same_as=None):
        return {"key": key, "text": text, **({"same_as": same_as} if same_as else {})}

    return {
        "format": "recur-history/1",
        "organization": "Tiny",
        "teams": [{"key": "a", "name": "A"}],
        "retrospectives": [
            {
                "key": "r1",
                "team": "a",
                "held_on": "2026-01-01",
                "items": [item("s1", "Staging down"), item("s2", "Staging slow")],
            },
            {
                "key": "r2",
                "team": "a",
                "held_on": "2026-02-01",
                "items": [item("s3", "Staging down again", "s1")],
            },
        ],
    }


def test_an_issue_raised_only_in_the_retro_being_captured_is_no_candidate():
    weights = replace(evaluation.DEFAULT_WEIGHTS, auto_link=0.99)
    result = evaluate_import(
        _one_retro_history(),
        weights=weights,
        encoder=_fake_encoder,
        query_encoder=_fake_query_encoder,
    )
    # s2 is not queued with s1 (one retro); s3, in a later retro, is queued with both.
    assert (result["recurrences"], result["queued_or_linked"]) == (1, 1.0)
    assert result["queued"] == 2
    linked = evaluate_autolink(
        _one_retro_history(), encoder=_fake_encoder, query_encoder=_fake_query_encoder,
        threshold=0.5,
    )  # fmt: skip
    assert linked["links"] == 1 and linked["precision"] == 1.0


def test_fix_kinds_are_scored_against_the_files_kinds():
    from diagnosis.evaluation import fix_kind_scores

    document = _history()
    actions = document["retrospectives"][1]["actions"]
    actions.append({"key": "f2", "item": "x1", "text": "Weekly sync with ops", "kind": "meeting"})
    actions.append({"key": "f3", "item": "x1", "text": "Weekly sync with ops", "kind": "tooling"})
    actions.append({"key": "f4", "item": "x1", "text": "No kind given"})
    scores = fix_kind_scores(document)
    assert scores["fixes_labelled"] == 3, "an action without a kind is not scored"
    # "Restart it" reads as a workaround (right), the sync as a meeting: right against the
    # meeting label, and on the wrong side of the band-aid line against the tooling one.
    assert scores["kind_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert scores["nature_accuracy"] == pytest.approx(2 / 3, abs=1e-4)


def test_item_types_are_scored_against_the_files_types():
    document = _history()
    items = document["retrospectives"][1]["items"]
    items.append({"key": "w1", "text": "Pairing", "column": "What worked", "type": "appreciation"})
    items.append({"key": "w2", "text": "Pairing", "column": "What didn't", "type": "problem"})
    items.append({"key": "w3", "text": "Pairing", "column": "What didn't", "type": "appreciation"})
    items.append({"key": "w4", "text": "No type given", "column": "Glad"})
    scores = evaluation.item_type_scores(document)
    assert scores["items_typed"] == 3, "an item without a type is not scored"
    assert scores["type_accuracy"] == pytest.approx(2 / 3, abs=1e-4)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_it_finds_recurrences_in_the_sample_histories(path):
    result = evaluate_suggestions(path)
    autolink = evaluate_autolink(path)
    print(f"\n{result}\n{autolink}")

    # A sample holds 10 to 15 recurrences: one miss is 7 to 10 points, so each file is held
    # to 0.85 and the pool (next test) to 0.9.
    assert result["top3"] >= 0.85
    assert result["top1"] > result["lexical_top1"]
    assert autolink["precision"] >= 0.95


def test_meaning_and_spelling_together_beat_spelling_alone_on_the_samples():
    results = [evaluate_suggestions(path) for path in SAMPLES]
    total = sum(r["recurrences"] for r in results)

    top1 = sum(r["top1"] * r["recurrences"] for r in results) / total
    lexical_top1 = sum(r["lexical_top1"] * r["recurrences"] for r in results) / total
    top3 = sum(r["top3"] * r["recurrences"] for r in results) / total
    mrr = sum(r["mrr"] * r["recurrences"] for r in results) / total
    print(f"\npooled top1 {top1:.3f} vs trigram-only {lexical_top1:.3f} over {total}")

    assert top1 > lexical_top1
    assert top3 >= 0.9
    assert mrr >= 0.85


def test_band_aid_kinds_follow_the_domain_guide():
    assert set(evaluation.BAND_AID_KINDS) == {
        "meeting",
        "process",
        "reminder",
        "workaround",
        "escalation",
    }


def test_the_held_out_histories_are_valid_and_realistic():
    from vocabulary.history import parse_history

    assert len(HELD_OUT) == 2
    for path in HELD_OUT:
        doc = parse_history(path.read_bytes())
        dates = sorted(r.held_on for r in doc.retrospectives)
        items = [i for r in doc.retrospectives for i in r.items]
        assert len(doc.teams) >= 4
        assert (dates[-1] - dates[0]).days >= 365
        assert 40 <= len(items) <= 60
        assert sum(i.same_as is not None for i in items) >= 25


@pytest.mark.parametrize("path", HELD_OUT + TUNING, ids=lambda p: p.name)
def test_on_held_out_histories_meaning_finds_at_least_what_spelling_finds(path):
    result = evaluate_suggestions(path)
    print(
        f"\n{path.name}: top-1 {result['top1']:.3f} top-3 {result['top3']:.3f} "
        f"mrr {result['mrr']:.3f} | trigrams alone top-1 {result['lexical_top1']:.3f} "
        f"top-3 {result['lexical_top3']:.3f} ({result['recurrences']} recurrences)"
    )

    assert result["top3"] >= result["lexical_top3"]
    assert result["top1"] >= result["lexical_top1"]


@pytest.mark.parametrize("path", HELD_OUT, ids=lambda p: p.name)
def test_int8_vectors_rank_like_float32_ones(path):
    quantized = evaluate_suggestions(path)
    exact = evaluate_suggestions(path, quantized=False)

    for key in ("top1", "top3"):
        assert abs(quantized[key] - exact[key]) <= 1 / exact["recurrences"] + 1e-9


def test_the_replays_skip_appreciation_as_import_does():
    document = _history()
    # A praise item worded like the staging items: never a query, never a candidate.
    document["retrospectives"][0]["items"].append(
        {"key": "p1", "text": "Staging worked well this sprint", "type": "appreciation"}
    )
    _, retros = load_history(document)
    assert [it.type for r in retros for it in r.items if it.key == "p1"] == ["appreciation"]
    result = evaluate_suggestions(
        document, encoder=_fake_encoder, query_encoder=_fake_query_encoder
    )
    imported = evaluate_import(document, encoder=_fake_encoder, query_encoder=_fake_query_encoder)
    assert result["recurrences"] == imported["recurrences"] == 2
    assert result["top1"] == 1.0 and imported["autolink_precision"] == 1.0
