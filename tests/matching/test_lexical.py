import random

import numpy as np
import pytest

from matching import lexical
from matching.lexical import Vocabulary

# Values returned by PostgreSQL 15 pg_trgm 1.6 for the same calls (float4, hence approx).
PG_TRGM = [
    ("similarity", "word", "two words", 0.36363637),  # the pg_trgm documentation's example
    ("word_similarity", "word", "two words", 0.8),
    ("word_similarity", "two words", "word", 0.4),
    ("similarity", "staging environment unavailable", "stagng is down again", 0.104166664),
    ("word_similarity", "stagng", "staging environment unavailable", 0.5714286),
    ("word_similarity", "abc abd", "xx abc yy abd", 0.6666667),
    ("similarity", "pay 123", "ticket pay 123 failed", 0.36363637),
    ("similarity", "Cafe", "cafe!!", 1.0),
    ("similarity", "abc", "xyz", 0.0),
    ("similarity", "", "", 0.0),
]


@pytest.mark.parametrize(("function", "a", "b", "expected"), PG_TRGM)
def test_it_scores_like_pg_trgm(function, a, b, expected):
    assert getattr(lexical, function)(a, b) == pytest.approx(expected, abs=1e-6)


def test_it_pads_words_with_two_spaces_in_front_and_one_behind():
    assert lexical.trigrams("word") == {"  w", " wo", "wor", "ord", "rd "}
    assert lexical.trigrams("a-b") == {"  a", " a ", "  b", " b "}


def test_it_normalises_case_accents_and_punctuation():
    text = "Déjà vu — PAY-123: Øresund's build_failed!"

    assert lexical.normalize(text) == "deja vu pay 123 oresund s build failed"


def test_accents_no_longer_lower_the_score_once_normalised():
    assert lexical.similarity("café crème", "cafe creme") < 1.0
    a, b = lexical.normalize("Café crème"), lexical.normalize("cafe creme")
    assert lexical.similarity(a, b) == 1.0


def test_best_similarity_takes_the_closest_of_several_texts():
    texts = ["Coffee machine broken", "Staging environment unavailable"]

    assert lexical.best_similarity("Staging environment down", texts) == pytest.approx(
        lexical.similarity("staging environment down", "staging environment unavailable")
    )


def test_the_vocabulary_reads_a_misspelt_word_as_the_organisations_word():
    vocabulary = Vocabulary(["Staging environment unavailable", "Kafka consumers lag"])

    assert vocabulary.correct("stagng is down again") == "staging is down again"
    assert vocabulary.closest("kafak") is None  # too far: no correction beats a wrong one


def test_the_vocabulary_leaves_known_and_short_words_alone():
    vocabulary = Vocabulary(["Sprint goals unclear", "Spring update"])

    assert vocabulary.correct("sprint", is_known=lambda w: w == "sprint") == "sprint"
    assert vocabulary.correct("Springg ok") == "spring ok"
    assert vocabulary.correct("spr") == "spr"


def _postgres():
    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(
            "host=127.0.0.1 user=postgres dbname=postgres connect_timeout=1", autocommit=True
        )
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except psycopg.Error as error:
        pytest.skip(f"no PostgreSQL with pg_trgm: {error}")
    return conn


def test_it_agrees_with_a_live_pg_trgm_on_random_texts():
    conn = _postgres()
    rng = random.Random(3)
    vocab = "staging stagng down again ci runner runners PAY-123 café Marco's a ab word".split()
    for _ in range(300):
        a = " ".join(rng.choices(vocab, k=rng.randint(0, 5)))
        b = ",".join(rng.choices(vocab, k=rng.randint(0, 8)))
        row = conn.execute(
            "SELECT similarity(%s, %s), word_similarity(%s, %s)", (a, b, a, b)
        ).fetchone()
        assert row[0] == pytest.approx(lexical.similarity(a, b), abs=1e-6), (a, b)
        assert row[1] == pytest.approx(lexical.word_similarity(a, b), abs=1e-6), (a, b)


def test_stems_meet_across_inflections_without_shortening_short_words():
    assert lexical.stem("flaky") == lexical.stem("flaking") == lexical.stem("flakes") == "flak"
    assert lexical.stem("priorities") == lexical.stem("priority")
    deploy = {lexical.stem(w) for w in ("deploy", "deploys", "deployed", "deployment")}
    assert deploy == {"deploy"}
    assert {lexical.stem(w) for w in ("stage", "stages", "staging")} == {"stag"}
    assert {lexical.stem(w) for w in ("change", "changes", "changed", "changing")} == {"chang"}
    assert lexical.stem("process") == lexical.stem("processes") == "process"
    assert lexical.stem("days") == lexical.stem("day") == "day"
    assert lexical.stem("tests") == "test"
    assert lexical.stem("ci") == "ci"
    assert lexical.terms("The builds are FLAKY again!") == {"build", "flak"}


def _term_index():
    index = lexical.TermIndex()
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
    index.remove_issue(1)
    assert index.df("staging") == 0
    assert len(index) == 2


_WORDS = (
    "staging deploy flaky build review priorities geocoding quota pipeline runner cache "
    "sandbox release scope estimate handover onboarding alerts pager tests docs"
).split()


def _answers(index: lexical.TermIndex, issue_ids, queries):
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
    monkeypatch.setattr(lexical, "_FOLD_AT", fold_at)
    chance = random.Random(7)
    texts: dict[int, list[tuple[str, bool]]] = {}
    index = lexical.TermIndex()
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
            index = lexical.TermIndex.from_arrays(index.arrays())
        afresh = lexical.TermIndex()
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
    index = lexical.TermIndex.from_arrays(arrays)

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
    index = lexical.term_index([(1, "Staging deploys fail"), (2, "Geocoding quota")])
    index.add(1, "Pin the scripts", fix=True)
    arrays = index.arrays()
    corrupt(arrays)

    with pytest.raises(ValueError):
        lexical.TermIndex.from_arrays(arrays)
