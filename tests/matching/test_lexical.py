import random

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
