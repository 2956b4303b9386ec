import json

import numpy as np
import pytest
from django.core.management import call_command

from matching import centring, embedding
from matching.centring import Centring
from matching.index import IssueIndex
from matching.ranker import MatrixIndex
from tests.examples import one_retro_history


def _centred_cosines(centre, query, rows):
    """The definition: cos(q - a*mu, o - a*mu) of one query with every row."""
    q = query - centre.share * centre.direction
    o = rows - centre.share * centre.direction
    return (o / np.linalg.norm(o, axis=1, keepdims=True)) @ (q / np.linalg.norm(q))


def _units(rng, n, d):
    vectors = rng.normal(size=(n, d)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def shared():
    """A direction every vector leans towards, as all retro text does."""
    rng = np.random.default_rng(7)
    lean = _units(rng, 1, 16)[0]
    rows = _units(rng, 300, 16) + 1.5 * lean
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows, Centring(rows.mean(axis=0))


@pytest.mark.parametrize("quantized", [True, False])
def test_index_scores_are_the_centred_cosines(shared, quantized):
    rows, centre = shared
    matrix = MatrixIndex(16, quantized=quantized, pack_rows=128)  # two packed blocks and a tail
    matrix.centring = centre
    matrix.add_rows(np.arange(len(rows)) // 3, list(range(len(rows))), rows)
    queries = rows[[5, 250]] * 0.6 + _units(np.random.default_rng(1), 2, 16) * 0.4
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

    scores = matrix.scores(queries)  # two readings: the best of either

    expected = np.maximum(
        _centred_cosines(centre, queries[0], rows), _centred_cosines(centre, queries[1], rows)
    )
    plain = (rows @ queries.T).max(axis=1)
    tolerance = 0.01 if quantized else 1e-5
    assert np.allclose(scores, expected, atol=tolerance)
    assert not np.allclose(scores, plain, atol=0.05)


def test_kept_row_norms_follow_new_blocks_packing_and_another_centring(shared):
    """The packed rows' norms are kept between queries: rows that fill another block, a
    block swapped for its packed form and another centring each give the scores of the
    definition again."""
    rows, centre = shared
    query = rows[7] * 0.5 + _units(np.random.default_rng(2), 1, 16)[0] * 0.5
    query /= np.linalg.norm(query)

    def check(matrix, count, centring_now):
        expected = _centred_cosines(centring_now, query, rows[:count])
        assert matrix.scores(query).shape == (count,)
        assert np.allclose(matrix.scores(query), expected, atol=0.01)

    saved = MatrixIndex(16, quantized=True, pack_rows=64)
    saved.keep_codes()
    saved.add_rows(np.arange(200) // 3, list(range(200)), rows[:200])
    matrix = MatrixIndex.from_arrays(**saved.arrays(), pack_rows=64, pack=False)
    matrix.centring = centre
    check(matrix, 200, centre)  # three blocks scored by numpy until packed
    matrix.pack()
    check(matrix, 200, centre)
    matrix.add_rows(np.arange(200, 300) // 3, list(range(200, 300)), rows[200:300])
    check(matrix, 300, centre)  # a fourth block packed as it filled, and a tail
    other = Centring(rows[:50].mean(axis=0), share=0.8)
    matrix.centring = other
    check(matrix, 300, other)


def test_an_occurrence_made_of_the_shared_direction_loses_to_a_specific_one():
    centre = Centring(np.array([0.6, 0, 0], dtype=np.float32))
    query = np.array([1, 1, 0], dtype=np.float32) / np.sqrt(2)
    generic = np.array([1, 0, 0], dtype=np.float32)  # only what every item says
    specific = np.array([0, 1, 0], dtype=np.float32)  # what this query is about
    assert generic @ query == pytest.approx(specific @ query)  # plain cosines tie

    index = IssueIndex(dimension=3, pool=2, centring=centre)
    index.add_occurrence(occurrence_id=1, issue_id=10, text="a", team="A", vector=generic)
    index.add_occurrence(occurrence_id=2, issue_id=20, text="b", team="A", vector=specific)
    cosines = index.pool("z", query[None, :])

    assert cosines[20][0] > cosines[10][0] + 0.03


def test_a_restored_index_keeps_its_centring(shared):
    rows, centre = shared
    index = IssueIndex(dimension=16, pool=5, centring=centre)
    index.matrix.keep_codes()  # an index built to be saved
    for n, vector in enumerate(rows[:40]):
        index.add_occurrence(
            occurrence_id=n, issue_id=n // 2, text=f"t{n}", team="A", vector=vector
        )
    restored = IssueIndex(dimension=16, pool=5, centring=centre)
    restored.restore(index.arrays())

    query = rows[3:4]
    assert restored.pool("t3", query) == index.pool("t3", query)


def test_the_shipped_centre_belongs_to_the_model():
    centre = centring.load()
    assert centre is not None
    assert centre.dimension == embedding.DIMENSION
    assert 0.2 < float(np.linalg.norm(centre.direction)) < 0.6  # a mean of unit vectors


def test_a_centre_of_another_model_is_not_used(tmp_path, caplog):
    path = tmp_path / "centre.json"
    path.write_text(json.dumps({"model": "other-model@1", "texts": 1, "vector": [0.1] * 384}))
    assert centring.load(path) is None
    assert "not centred" in caplog.text


def test_write_centre_stores_the_mean_of_the_items(tmp_path):
    history = one_retro_history(
        "Centre",
        [("a1", "Deploys wait for a manual sign-off"), ("a2", "The on-call rota was unclear")],
    )
    source, target = tmp_path / "h.history.json", tmp_path / "centre.json"
    source.write_text(json.dumps(history))

    call_command("evaluate_matching", str(source), "--write-centre", "--centre-file", str(target))

    stored = centring.load(target)
    assert stored is not None
    mean = embedding.encode(
        ["Deploys wait for a manual sign-off", "The on-call rota was unclear"]
    ).mean(axis=0)
    assert np.allclose(stored.direction, mean, atol=1e-5)
    assert json.loads(target.read_text())["texts"] == 2
