"""The word index (matching.wordindex): each word's weight within the organisation, an
issue's share of a query's words, the issues sharing its rarest words, kept exact through
additions, removals and snapshots."""

import random

import numpy as np
import pytest

from matching import lexical, wordindex


def _term_index():
    index = wordindex.TermIndex()
    index.add(1, "Staging down again this sprint")
    index.add(2, "Priorities changed again this sprint")
    index.add(3, "Code reviews slow again this sprint")
    return index


def test_words_every_issue_uses_weigh_little():
    index = _term_index()

    assert index.idf("sprint") < index.idf("stag") / 3
    query = lexical.terms("Staging is down this sprint")
    assert index.issue_coverage(query, 1) == pytest.approx(1.0)
    assert index.issue_coverage(query, 2) < 0.2
    # A word the organisation never used counts against every issue.
    assert index.issue_coverage(lexical.terms("Staging broke this sprint"), 1) < 0.5


def test_a_fix_describes_its_issue_too():
    index = _term_index()
    query = lexical.terms("Flaky deploy pipeline")
    before = index.issue_coverage(query, 1)

    index.add(1, "Rebuild the deploy pipeline", fix=True)

    assert index.issue_coverage(query, 1) > before
    assert index.fix_only_terms_of(1) == lexical.terms("rebuild deploy pipeline")
    assert index.issue_coverage(query, 1, fix_share=0.5) < index.issue_coverage(query, 1)
    index.add(1, "Deploy pipeline down")
    assert index.fix_only_terms_of(1) == lexical.terms("rebuild")


def test_rare_shared_words_find_the_candidates_and_removal_forgets_them():
    index = _term_index()

    assert index.best_issues(lexical.terms("staging unreachable"), 5) == [1]
    assert index.best_issues(lexical.terms("again this sprint"), 5) == []  # common words only
    assert index.df("stag") == 1  # the index holds stems: "staging" is "stag"
    index.remove_issue(1)
    assert index.df("stag") == 0
    assert len(index) == 2


_WORDS = (
    "staging deploy flaky build review priorities geocoding quota pipeline runner cache "
    "sandbox release scope estimate handover onboarding alerts pager tests docs"
).split()


def _answers(index: wordindex.TermIndex, issue_ids, queries):
    """Everything the index answers: its size, each issue's words, each word's issues
    and the candidate pools of the queries."""
    return (
        len(index),
        {i: (index.terms_of(i), index.fix_only_terms_of(i)) for i in issue_ids},
        {w: index.df(lexical.stem(w)) for w in _WORDS},
        [index.best_issues(q, 5, max_share=0.5) for q in queries],
    )


@pytest.mark.parametrize("fold_at", [3, 10_000])
def test_an_index_changed_in_place_answers_as_one_built_afresh(monkeypatch, fold_at):
    # Folding the changes into new arrays (every few changes, or never) changes no answer.
    monkeypatch.setattr(wordindex, "_FOLD_AT", fold_at)
    chance = random.Random(7)
    texts: dict[int, list[tuple[str, bool]]] = {}
    index = wordindex.TermIndex()
    queries = [frozenset(lexical.stem(w) for w in chance.sample(_WORDS, 3)) for _ in range(8)]
    for step in range(300):
        issue_id = chance.randrange(1, 40)
        if chance.random() < 0.15:
            index.remove_issue(issue_id)
            texts.pop(issue_id, None)
        else:
            text = " ".join(chance.sample(_WORDS, chance.randint(0, 4)))
            fix = chance.random() < 0.3
            index.add(issue_id, text, fix=fix)
            texts.setdefault(issue_id, []).append((text, fix))
        if step % 50 == 49:
            index = wordindex.TermIndex.from_arrays(index.arrays())
        afresh = wordindex.TermIndex()
        for i, added in texts.items():
            for text, fix in added:
                afresh.add(i, text, fix=fix)
        assert _answers(index, range(1, 40), queries) == _answers(afresh, range(1, 40), queries)
        raised = {
            i: set().union(*(lexical.terms(t) for t, f in ts if not f)) for i, ts in texts.items()
        }
        fixed = {i: set().union(*(lexical.terms(t) for t, f in ts if f)) for i, ts in texts.items()}
        for i in texts:
            assert index.terms_of(i) == raised[i] | fixed[i]
            assert index.fix_only_terms_of(i) == fixed[i] - raised[i]
    assert len(texts) > 10 and any(fixed.values())


def test_a_snapshot_of_the_earlier_layout_reads_the_same():
    # Written before the word index kept its issues in order: ids in the order they came.
    arrays = {
        "words": np.frombuffer(b"stag\ndeploy\npin", dtype=np.uint8),
        "issue_ids": np.array([9, 4], np.int64),
        "issue_lengths": np.array([2, 3], np.int64),
        "issue_words": np.array([0, 1, 1, 2, 0], np.int32),
        "fix_ids": np.array([4], np.int64),
        "fix_lengths": np.array([1], np.int64),
        "fix_words": np.array([2], np.int32),
        "posting_lengths": np.array([2, 2, 1], np.int64),
        "postings": np.array([9, 4, 9, 4, 4], np.int64),
    }
    index = wordindex.TermIndex.from_arrays(arrays)

    assert len(index) == 2
    assert index.terms_of(9) == {"stag", "deploy"} and index.fix_only_terms_of(9) == frozenset()
    assert index.terms_of(4) == {"stag", "deploy", "pin"} and index.fix_only_terms_of(4) == {"pin"}
    assert (index.df("stag"), index.df("pin"), index.df("other")) == (2, 1, 0)
    assert index.best_issues(frozenset({"pin"}), 5, max_share=1.0) == [4]
    index.remove_issue(4)
    assert index.df("stag") == 1 and index.terms_of(4) == frozenset()


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda a: a.update(issue_words=a["issue_words"] + 5),  # a word it does not list
        lambda a: a.update(issue_lengths=a["issue_lengths"] + 1),  # longer than its words
        lambda a: a.update(fix_ids=a["fix_ids"] + 100),  # fixes of an issue not listed
        lambda a: a.update(issue_ids=np.array([2, 2]), issue_lengths=np.array([1, 2])),
    ],
)
def test_a_snapshot_that_does_not_add_up_is_refused(corrupt):
    index = wordindex.term_index([(1, "Staging deploys fail"), (2, "Geocoding quota")])
    index.add(1, "Pin the scripts", fix=True)
    arrays = index.arrays()
    corrupt(arrays)

    with pytest.raises(ValueError):
        wordindex.TermIndex.from_arrays(arrays)
