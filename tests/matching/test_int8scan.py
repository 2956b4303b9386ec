"""Scoring int8 rows with onnxruntime's int8 product (matching.int8scan)."""

import numpy as np
import onnx
import pytest

from matching import int8scan


def _codes(rng: np.random.Generator, rows: int, dimension: int = 384) -> np.ndarray:
    return rng.integers(-127, 128, (rows, dimension), dtype=np.int8)


def test_the_written_model_is_a_valid_onnx_model_of_one_int8_product(tmp_path):
    path = tmp_path / "rows.onnx"

    int8scan.write_model(_codes(np.random.default_rng(1), 40), path)

    model = onnx.load(path)
    onnx.checker.check_model(model)
    (node,) = model.graph.node
    assert (node.op_type, node.domain) == ("MatMulNBits", "com.microsoft")
    attributes = {a.name: a.i for a in node.attribute}
    assert attributes == {"K": 384, "N": 40, "bits": 8, "block_size": 128, "accuracy_level": 4}
    codes = onnx.numpy_helper.to_array(
        next(t for t in model.graph.initializer if t.name == "codes")
    )
    assert codes.shape == (40, 3, 128) and codes.dtype == np.uint8


@pytest.mark.parametrize("dimension", [384, 100])  # whole blocks, and a padded last block
def test_products_match_numpy_up_to_the_query_quantization(dimension):
    rng = np.random.default_rng(2)
    codes = _codes(rng, 500, dimension)
    queries = rng.standard_normal((2, dimension)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

    products = int8scan.PackedRows(codes).dot(queries)

    expected = queries @ codes.T.astype(np.float32)
    assert products.shape == (2, 500)
    # The query is quantized to int8 per block of 128: under 1% of the largest product.
    assert np.abs(products - expected).max() < 0.01 * np.abs(expected).max()
    assert np.corrcoef(products.ravel(), expected.ravel())[0, 1] > 0.9999


def test_it_refuses_what_is_not_a_block_of_int8_rows():
    with pytest.raises(ValueError, match="int8"):
        int8scan.PackedRows(np.zeros((4, 384), dtype=np.float32))
    with pytest.raises(ValueError, match="int8"):
        int8scan.PackedRows(np.zeros((0, 384), dtype=np.int8))


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**35])
def test_varints_follow_the_protobuf_encoding(value):
    encoded = int8scan._varint(value)

    decoded = sum((byte & 0x7F) << (7 * i) for i, byte in enumerate(encoded))
    assert decoded == value
    assert all(byte & 0x80 for byte in encoded[:-1]) and not encoded[-1] & 0x80
