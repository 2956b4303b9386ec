import dataclasses
import datetime as dt
from datetime import date

import numpy as np
import pytest

from matching import embedding, wordindex
from matching.lexical import Vocabulary
from matching.ranker import (
    Candidate,
    Decision,
    MatrixIndex,
    Query,
    Suggestion,
    link_decision,
    rank,
    review_pairs,
)
from matching.weights import DEFAULT_WEIGHTS, MatchWeights

ISSUES = [
    "Designs arrived two days before the sprint ended",
    "Staging environment unavailable",
    "Priorities changed twice in the middle of the sprint",
    "On-call rota puts the same two people on every weekend",
    "Flaky end-to-end tests block merges to main",
    "Nobody knows who approves database schema changes",
    "The coffee machine on the third floor is broken",
    "Release notes are written the night before launch",
    "Customer support tickets are not routed to the right team",
    "The production database ran out of disk space",
    "Code reviews wait several days for an approver",
]


@pytest.fixture(scope="module")
def candidates():
    vectors = embedding.encode(ISSUES)
    return [Candidate(i, text, vector=vectors[i]) for i, text in enumerate(ISSUES)]


def _best(text, candidates):
    query = Query(text, embedding.encode_query(text, Vocabulary(ISSUES)))
    return rank(query, candidates, min_score=0.0)[0]


@pytest.mark.parametrize(
    "text",
    [
        "We got mock-ups far too late to build them properly",  # no word in common
        "Mock-ups late for the third sprint in a row",
    ],
)
def test_it_ranks_a_reworded_recurrence_first(text, candidates):
    assert ISSUES[_best(text, candidates).issue_id] == ISSUES[0]


@pytest.mark.parametrize("text", ["stagng is down again", "Stagin server not reachable"])
def test_it_ranks_a_misspelt_recurrence_first(text, candidates):
    best = _best(text, candidates)

    assert ISSUES[best.issue_id] == "Staging environment unavailable"
    assert "similar meaning" in best.reasons


def test_it_shows_nothing_below_the_suggest_threshold(candidates):
    text = "Great demo to the sales team, thanks everyone"
    query = Query(text, embedding.encode_one(text))

    assert all(s.score >= DEFAULT_WEIGHTS.suggest for s in rank(query, candidates))
    assert len(rank(query, candidates)) < len(rank(query, candidates, min_score=0.0))


def _unit(*values):
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_spelling_breaks_a_tie_in_meaning_for_a_ticket_code():
    vector = _unit(1, 0, 0)
    query = Query("PAY-1234 refunds failing", vector)
    plain = Candidate(1, "Refund job crashes on PAY-9876", vector=vector)
    coded = Candidate(2, "Refund job crashes on PAY-1234", vector=vector)

    ranked = rank(query, [plain, coded], min_score=0.0)

    assert [s.issue_id for s in ranked] == [2, 1]


def test_context_breaks_a_tie_in_favour_of_the_same_team():
    vector = _unit(1, 0, 0)
    query = Query("Builds are slow", vector, team="payments", on=date(2026, 3, 9))
    other = Candidate(1, "Builds are slow", vector=vector, teams=frozenset({"mobile"}))
    same = Candidate(2, "Builds are slow", vector=vector, teams=frozenset({"payments"}))

    ranked = rank(query, [other, same])

    assert [s.issue_id for s in ranked] == [2, 1]
    assert "same team" in ranked[0].reasons
    assert ranked[0].score - ranked[1].score <= DEFAULT_WEIGHTS.context_weight


def test_context_alone_never_makes_a_suggestion():
    query = Query("Anything", _unit(1, 0, 0), team="payments", on=date(2026, 3, 9))
    unrelated = Candidate(
        1,
        "zzz",
        vector=_unit(0, 1, 0),
        teams=frozenset({"payments"}),
        last_seen=date(2026, 3, 9),
        flagged=True,
        open_fixes=2,
    )

    assert rank(query, [unrelated], min_score=0.0)[0].score == 0.0


def test_meaning_is_the_closest_occurrence_not_the_centroid():
    occurrences = np.stack([_unit(1, 0, 0), _unit(0, 1, 0)])
    query = Query("as worded the second time", _unit(0, 1, 0))

    best = rank(query, [Candidate(7, "x", vector=occurrences)], min_score=0.0)[0]

    assert best.semantic == pytest.approx(1.0)


def test_it_explains_itself_in_short_phrases():
    query = Query("Staging down", _unit(1, 0, 0), team="payments", on=date(2026, 3, 9))
    cand = Candidate(
        3,
        "Staging down",
        vector=_unit(1, 0, 0),
        teams=frozenset({"payments", "data", "web"}),
        occurrences=4,
        last_seen=date(2026, 3, 2),
        band_aid_fixes=2,
        open_fixes=1,
    )

    reasons = rank(query, [cand])[0].reasons

    assert reasons == (
        "similar meaning",
        "similar wording",
        "same team",
        "raised 4 times in 3 teams",
        "last raised 2 Mar 2026",
        "2 band-aid fixes tried",
        "1 open fix",
    )


def test_a_weak_match_still_says_what_it_rests_on():
    query = Query("staging deploys broke", _unit(1, 0.9, 0))
    loose = Candidate(1, "Release notes late", semantic=0.30, lexical=0.0)
    wording = Candidate(2, "Staging costs", semantic=0.0, lexical=0.15)

    reasons = {s.issue_id: s.reasons for s in rank(query, [loose, wording], min_score=0.0)}

    assert reasons[1][0] == "loosely related meaning" and "similar meaning" not in reasons[1]
    assert reasons[2][0] == "a few words in common" and "similar wording" not in reasons[2]


def test_it_uses_given_scores_instead_of_recomputing_them():
    query = Query("typed", _unit(1, 0, 0))
    cand = Candidate(1, "unrelated title", semantic=0.9, lexical=0.5)

    best = rank(query, [cand])[0]

    assert (best.semantic, best.lexical) == (0.9, 0.5)


def test_imports_link_review_or_start_a_new_issue():
    w = DEFAULT_WEIGHTS

    assert link_decision(Suggestion(1, w.auto_link, 0.9, 0.5, ()), w) is Decision.LINK
    assert link_decision(Suggestion(1, w.review, 0.6, 0.2, ()), w) is Decision.REVIEW
    assert link_decision(Suggestion(1, w.review - 0.01, 0.5, 0.1, ()), w) is Decision.NEW
    assert link_decision(None, w) is Decision.NEW


def test_a_raising_queues_its_best_match_and_the_close_contenders_only():
    w = MatchWeights(review=0.25, review_margin=0.05, review_contenders=3)

    def ranked(*scores: float) -> list[Suggestion]:
        return [Suggestion(i, s, 0.5, 0.2, ()) for i, s in enumerate(scores, start=1)]

    def ids(*scores: float) -> list[int]:
        return [s.issue_id for s in review_pairs(ranked(*scores), w)]

    assert ids(0.50, 0.47, 0.46, 0.455) == [1, 2, 3]  # three in all
    assert ids(0.50, 0.47, 0.44) == [1, 2]  # the third is not close
    assert ids(0.28, 0.24) == [1]  # nor below the review band
    assert ids(0.24, 0.23) == []
    assert review_pairs([], w) == []


def test_weights_are_frozen_versioned_and_validated():
    assert DEFAULT_WEIGHTS.version
    assert DEFAULT_WEIGHTS.semantic_weight > DEFAULT_WEIGHTS.lexical_weight
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_WEIGHTS.auto_link = 0.1  # type: ignore[misc]
    with pytest.raises(ValueError, match="thresholds"):
        MatchWeights(suggest=0.8, review=0.5)
    with pytest.raises(ValueError, match="must be 1"):
        MatchWeights(semantic_weight=0.9)


def _random_unit(rng, n, d=384):
    matrix = rng.standard_normal((n, d)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _brute_force(matrix, issues, query, k):
    scores = matrix @ query
    best = {}
    for issue, score in zip(issues.tolist(), scores.tolist(), strict=True):
        best[issue] = max(best.get(issue, -2.0), score)
    return sorted(best.items(), key=lambda p: -p[1])[:k]


def test_the_index_finds_exactly_the_issues_with_the_closest_occurrences():
    rng = np.random.default_rng(1)
    matrix, issues = _random_unit(rng, 3000), rng.integers(0, 400, 3000)
    index = MatrixIndex(capacity=8)
    for row, issue in enumerate(issues.tolist()):
        index.add(issue, [row], matrix[row])
    query = _random_unit(rng, 1)[0]

    found = index.top_k_issues(query, 25)
    expected = _brute_force(matrix, issues, query, 25)

    assert [i for i, _ in found] == [i for i, _ in expected]
    np.testing.assert_allclose([s for _, s in found], [s for _, s in expected], rtol=1e-5)


def test_the_index_follows_removals_merges_and_relinks():
    index = MatrixIndex(dimension=3)
    index.add(1, [10, 11], np.stack([_unit(1, 0, 0), _unit(1, 1, 0)]))
    index.add(2, [20], _unit(0, 1, 0))
    index.add(3, [30], _unit(0, 0, 1))

    assert index.top_k_issues(_unit(1, 0, 0), 1) == [(1, pytest.approx(1.0))]
    index.move_occurrence(10, 3)
    assert index.top_k_issues(_unit(1, 0, 0), 1)[0][0] == 3
    index.reassign_issue(3, 2)
    assert index.issue_ids() == {1, 2}
    assert index.remove_issue(2) == 3
    assert len(index) == 1
    assert index.top_k_issues(_unit(0, 1, 0), 5, exclude=[1]) == []
    assert index.issue_ids() == {1}
    assert index.top_k_issues(_unit(0, 1, 0), 5) == [(1, pytest.approx(0.7071, abs=1e-3))]


def test_the_index_takes_the_best_of_several_query_readings():
    index = MatrixIndex(dimension=3)
    index.add(1, [1], _unit(1, 0, 0))
    index.add(2, [2], _unit(0, 1, 0))

    found = index.top_k_issues(np.stack([_unit(1, 0, 0), _unit(0, 1, 0)]), 2)

    assert sorted(s for _, s in found) == pytest.approx([1.0, 1.0])


def test_an_int8_index_finds_the_same_issues_with_a_quarter_of_the_memory():
    rng = np.random.default_rng(4)
    matrix, issues = _random_unit(rng, 5000), rng.integers(0, 800, 5000)
    exact = MatrixIndex(capacity=5000)
    small = MatrixIndex(capacity=5000, quantized=True)
    for row, issue in enumerate(issues.tolist()):
        exact.add(issue, [row], matrix[row])
        small.add(issue, [row], matrix[row])
    queries = _random_unit(rng, 10)

    for query in queries:
        error = np.abs(small.scores(query) - exact.scores(query)).max()
        assert error < 0.003
        found = dict(small.top_k_issues(query, 10))
        expected = dict(exact.top_k_issues(query, 10))
        # Same issues except where two scores are closer than the error.
        tenth = sorted(expected.values())[0]
        assert {i for i, s in expected.items() if s > tenth + 0.006} <= set(found)
    assert small.nbytes < exact.nbytes / 3


@pytest.mark.parametrize("readings", [1, 2])
def test_rows_packed_for_the_int8_product_score_as_the_unpacked_ones(readings):
    """Blocks of pack_rows rows go to onnxruntime's int8 product; the rest stay in numpy.
    Both score within the int8 error of the float index, with the same best issues."""
    rng = np.random.default_rng(5)
    matrix, issues = _random_unit(rng, 1300), rng.integers(0, 300, 1300)
    exact = MatrixIndex(capacity=8)
    packed = MatrixIndex(capacity=8, quantized=True, pack_rows=256)  # 5 blocks and a tail
    for row, issue in enumerate(issues.tolist()):
        exact.add(issue, [row], matrix[row])
        packed.add(issue, [row], matrix[row])
    query = _random_unit(rng, readings)

    assert len(packed) == 1300
    assert packed.nbytes < exact.nbytes / 3
    error = np.abs(packed.scores(query) - exact.scores(query)).max()
    assert 0 < error < 0.003
    found = dict(packed.top_k_issues(query, 10))
    expected = dict(exact.top_k_issues(query, 10))
    tenth = sorted(expected.values())[0]
    assert {i for i, s in expected.items() if s > tenth + 0.006} <= set(found)


def test_deferred_blocks_score_alike_unpacked_and_pack_later():
    """A load defers packing: its full blocks are scored by numpy until pack(), with the same
    scores as once packed, and blocks that fill after pack() are packed as they fill."""
    rng = np.random.default_rng(9)
    matrix = _random_unit(rng, 1000)
    index = MatrixIndex(capacity=8, quantized=True, pack_rows=256)
    index.defer_packing()
    index.add_rows(np.arange(600) % 50, list(range(600)), matrix[:600])
    query = _random_unit(rng, 1)

    assert index.unpacked_blocks == 2
    before = index.scores(query)
    index.pack()
    assert index.unpacked_blocks == 0
    assert np.abs(index.scores(query) - before).max() < 0.003
    index.add_rows(np.arange(400) % 50, list(range(600, 1000)), matrix[600:])
    assert (index.unpacked_blocks, len(index._rows.packed)) == (0, 3)


def test_an_add_spanning_several_blocks_packs_each_of_them():
    rng = np.random.default_rng(6)
    matrix = _random_unit(rng, 700)
    index = MatrixIndex(capacity=8, quantized=True, pack_rows=256)

    index.add(1, list(range(300)), matrix[:300])
    index.add(2, list(range(300, 700)), matrix[300:])

    assert len(index) == 700
    assert [issue for issue, _ in index.top_k_issues(matrix[10], 2)] == [1, 2]
    assert [issue for issue, _ in index.top_k_issues(matrix[650], 2)] == [2, 1]
    assert index.top_k_issues(matrix[650], 1)[0][1] == pytest.approx(1.0, abs=0.003)


def test_removed_rows_of_packed_blocks_no_longer_score():
    rng = np.random.default_rng(8)
    matrix = _random_unit(rng, 600)
    index = MatrixIndex(capacity=8, quantized=True, pack_rows=256)
    for row in range(600):
        index.add(row, [1000 + row], matrix[row])

    assert index.remove_issue(5) == 1
    assert index.remove_occurrence(1000 + 550) == 1

    assert len(index) == 598
    assert index.top_k_issues(matrix[5], 1)[0][0] != 5
    assert index.top_k_issues(matrix[550], 1)[0][0] != 550
    assert index.top_k_issues(matrix[300], 1)[0][0] == 300


def test_issue_cosines_give_the_best_and_the_mean_of_the_two_best():
    index = MatrixIndex(dimension=3, quantized=True)
    index.add(1, [10, 11, 12], np.stack([_unit(1, 0, 0), _unit(1, 1, 0), _unit(0, 0, 1)]))
    index.add(2, [20], _unit(0, 1, 0))
    query = _unit(1, 0, 0)

    cosines = index.issue_cosines(index.scores(query), [1, 2, 3])

    assert cosines[1] == pytest.approx((1.0, (1.0 + 0.7071) / 2), abs=0.01)
    assert cosines[2] == pytest.approx((0.0, 0.0), abs=0.01)
    assert 3 not in cosines


def test_a_second_occurrence_that_agrees_beats_one_lucky_cosine():
    query = Query("q", _unit(1, 0, 0))
    lucky = Candidate(1, "x", semantic=0.60, semantic_top2=0.35)
    steady = Candidate(2, "y", semantic=0.58, semantic_top2=0.56)

    ranked = rank(query, [lucky, steady], min_score=0.0, terms=wordindex.TermIndex())

    assert [s.issue_id for s in ranked] == [2, 1]
    assert ranked[1].semantic == 0.60  # the reported cosine is still the best one


def test_words_every_issue_uses_count_little_and_distinctive_ones_decide():
    vector = _unit(1, 0, 0)
    query = Query("Sandbox down again this sprint", vector)
    filler = Candidate(1, "Designs late again this sprint", vector=vector)
    subject = Candidate(2, "Vendor sandbox unavailable", vector=vector)
    others = [Candidate(i, f"Thing {i} broke again this sprint", vector=vector) for i in (3, 4)]

    ranked = rank(query, [filler, subject, *others], min_score=0.0)

    wording = {s.issue_id: s.lexical for s in ranked}
    assert ranked[0].issue_id == 2
    assert wording[2] > 2 * wording[1]


def test_what_was_done_about_an_issue_describes_it():
    vector = _unit(1, 0, 0)
    query = Query("Runners keep crashing", vector)
    plain = Candidate(1, "Builds time out", vector=vector)
    fixed = Candidate(2, "Builds time out", vector=vector, fix_texts=("Replace the CI runners",))

    ranked = rank(query, [plain, fixed], min_score=0.0)

    assert [s.issue_id for s in ranked] == [2, 1]


def test_agreeing_root_cause_words_break_a_tie_in_meaning_and_wording():
    vector = _unit(1, 0, 0)
    query = Query("Tension between the two leads again", vector)
    people = Candidate(1, "The two leads clash once more", vector=vector)
    builds = Candidate(2, "Builds time out on the old servers", vector=vector)

    ranked = rank(query, [builds, people], min_score=0.0, terms=wordindex.TermIndex())

    assert [s.issue_id for s in ranked] == [1, 2]
    assert ranked[0].cause == pytest.approx(1.0)
    assert ranked[1].cause == 0.0


def test_root_cause_words_alone_never_make_a_suggestion():
    query = Query("Tension between the two leads", _unit(1, 0, 0))
    unrelated = Candidate(1, "The two managers clash", vector=_unit(0, 1, 0))

    best = rank(query, [unrelated], min_score=0.0)[0]

    assert best.cause > 0.9
    assert best.score < DEFAULT_WEIGHTS.suggest


def test_execution_words_alone_do_not_make_two_problems_agree_on_their_cause():
    query = Query("The build keeps failing", _unit(1, 0, 0))
    candidate = Candidate(1, "Deploys to staging fail", vector=_unit(0.6, 0.8, 0))
    interpersonal = Query("The two leads disagree again", _unit(1, 0, 0))
    clash = Candidate(2, "Priya and Marco argue about ownership", vector=_unit(0.6, 0.8, 0))

    assert rank(query, [candidate], min_score=0.0)[0].cause == 0.0
    counting_execution = dataclasses.replace(DEFAULT_WEIGHTS, cause_execution_share=1.0)
    assert rank(query, [candidate], counting_execution, min_score=0.0)[0].cause > 0.5
    assert rank(interpersonal, [clash], min_score=0.0)[0].cause > 0.5


def _top_by_sorting(scores: np.ndarray, count: int) -> list[int]:
    return np.argsort(-scores, kind="stable")[:count].tolist()


@pytest.mark.parametrize("count", [1, 160, 5000])
def test_the_best_rows_are_exactly_those_of_a_full_sort(count):
    from matching.ranker import _top_rows

    rng = np.random.default_rng(9)
    scores = rng.standard_normal(20_000).astype(np.float32)
    scores[rng.integers(0, 20_000, 50)] = -np.inf  # dead rows

    assert _top_rows(scores, count).tolist() == _top_by_sorting(scores, count)


def test_the_best_rows_are_exact_when_the_sample_overestimates_them():
    from matching.ranker import _SAMPLE_STEP, _top_rows

    rng = np.random.default_rng(11)
    scores = rng.uniform(0.0, 0.5, 20_000).astype(np.float32)
    # The sampled rows are the best ones: the threshold guessed from them keeps too few.
    scores[::_SAMPLE_STEP] = np.linspace(1.0, 2.0, len(scores[::_SAMPLE_STEP]))

    assert _top_rows(scores, 200).tolist() == _top_by_sorting(scores, 200)


@pytest.mark.parametrize("spread", [50, 10**9])  # ids close together, and far apart
def test_the_rows_of_a_few_issues_are_those_numpy_finds(spread):
    from matching.ranker import _rows_of

    rng = np.random.default_rng(10)
    issues = rng.integers(1000, 1000 + spread, 5000)
    wanted = rng.choice(np.unique(issues), 20, replace=False)

    assert _rows_of(issues, wanted).tolist() == np.flatnonzero(np.isin(issues, wanted)).tolist()
    assert _rows_of(issues, np.zeros(0, dtype=np.int64)).tolist() == []


@pytest.mark.parametrize("seed", range(5))
def test_the_contenders_hold_every_candidate_context_could_bring_into_the_list(seed):
    """Ranking only the contenders gives the same list as ranking every candidate, whatever
    their context (teams, recency, flags, open fixes)."""
    from matching.ranker import contenders

    rng = np.random.default_rng(seed)
    words = ["deploy", "staging", "flaky", "tests", "roadmap", "priorities", "review", "late"]
    candidates = [
        Candidate(
            issue_id=i,
            title="",
            semantic=float(rng.uniform(0.1, 0.9)),
            terms=frozenset(rng.choice(words, 3, replace=False).tolist()),
            teams=frozenset({"Apps"} if rng.random() < 0.5 else {"Web"}),
            last_seen=date(2026, 1, 1) + dt.timedelta(days=int(rng.integers(0, 300))),
            flagged=bool(rng.random() < 0.3),
            open_fixes=int(rng.integers(0, 2)),
        )
        for i in range(60)
    ]
    query = Query("flaky tests on staging", _unit(1, 0, 0), team="Apps", on=date(2026, 11, 1))

    likely = contenders(query, candidates, limit=5)

    assert 5 <= len(likely) < len(candidates)
    assert rank(query, likely, limit=5) == rank(query, candidates, limit=5)
