from datetime import date

import numpy as np
import pytest

from matching.index import IssueIndex
from matching.ranker import Query


def _unit(*values):
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


# The index's raisings: occurrence, issue, text, team and the direction of its vector.
RAISINGS = [
    (1, 10, "Staging down", "A", (1, 0, 0)),
    (2, 10, "Stagng unavailable", "B", (1, 0.2, 0)),
    (3, 20, "Geocoding quota exhausted", "A", (0, 1, 0)),
]


def _raise(index, occurrence_id, issue_id, text, team, direction):
    index.add_occurrence(
        occurrence_id=occurrence_id,
        issue_id=issue_id,
        text=text,
        team=team,
        vector=_unit(*direction),
    )


@pytest.fixture
def index():
    idx = IssueIndex(dimension=3, pool=1)
    for raising in RAISINGS:
        _raise(idx, *raising)
    idx.add_fix(20, "Cache geocoding results")
    return idx


def test_it_keeps_what_a_query_needs_and_no_text(index):
    assert len(index) == 3
    assert 10 in index and 30 not in index
    assert index.teams_of(10) == {"A", "B"}
    assert index.occurrences_of(10) == 2
    assert "geocod" in index.terms.terms_of(20)
    assert not hasattr(index, "texts")


def test_the_pool_adds_the_best_issues_by_wording_to_the_best_by_meaning(index):
    pool = index.pool("geocoding limits", _unit(1, 0, 0))

    assert set(pool) == {10, 20}  # 10 by meaning (pool of 1), 20 by its rare word
    assert pool[10][0] == pytest.approx(1.0, abs=0.01)
    assert index.pool("geocoding", _unit(1, 0, 0), exclude=[10, 20]) == {}


def test_candidates_carry_words_profile_and_teams_and_rank_with_the_org_frequencies(index):
    pool = index.pool("Geocoding quota hit again", _unit(0, 1, 0))
    candidates = [index.candidate(i, c, last_seen=date(2026, 1, 5)) for i, c in pool.items()]
    query = Query("Geocoding quota hit again", _unit(0, 1, 0), team="A", on=date(2026, 2, 1))

    ranked = index.rank(query, candidates, min_score=0.0)

    assert ranked[0].issue_id == 20
    assert ranked[0].lexical > 0.4
    assert candidates[0].teams
    assert index.profile_of(10)[0] > 0  # "staging", "down": execution words


def test_a_pools_candidates_carry_what_the_index_holds_of_each_issue(index):
    from matching import rootcause

    _raise(index, 4, 30, "Nobody owns the roadmap and priorities keep changing", "B", (0, 0, 1))
    index.add_fix(30, "Quarterly priorities meeting")
    pool = {10: (0.9, 0.8), 20: (0.2, 0.2), 30: (0.5, 0.5), 99: (0.1, 0.1)}  # 99: unknown

    together = index.candidates(pool)

    assert [c.issue_id for c in together] == [10, 20, 30, 99]
    assert [(c.semantic, c.semantic_top2) for c in together] == list(pool.values())
    assert [c.occurrences for c in together] == [2, 1, 1, 0]
    assert together[0].teams == {"A", "B"} and together[3].teams == frozenset()
    assert "geocod" in together[1].terms and "cach" in together[1].fix_terms
    # The root-cause profile, as issue_profile weighs one issue's summed texts.
    expected = rootcause.issue_profile(
        rootcause.profile(["Nobody owns the roadmap and priorities keep changing"]),
        1,
        rootcause.profile(["Quarterly priorities meeting"]),
        1,
    )
    np.testing.assert_allclose(together[2].profile, expected, rtol=1e-6)
    assert together[2].profile.any() and together[2].profile.dtype == np.float32
    assert not together[3].profile.any()


def test_one_retro_issues_are_those_raised_in_that_retro_alone():
    from matching.index import OneRetroIssues

    issues = OneRetroIssues()
    issues.raised(1, "r1", new=True)
    issues.raised(2, "r1", new=True)
    issues.raised(2, "r1", new=False)  # raised twice in one retro: still that retro's own
    issues.raised(9, "r2", new=False)  # an issue raised before these retros: never one
    assert issues.of("r1") == {1, 2}
    assert issues.of("r2") == frozenset()
    assert issues.of(None) == frozenset()  # no retro known: nothing left out

    issues.raised(1, "r2", new=False)  # back in a later retro: an earlier raising from now on

    assert issues.of("r1") == {2}
    assert issues.of("r2") == frozenset()
