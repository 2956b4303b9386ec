"""The model graph rewrite that keeps int8 weights int8 (matching.onnxgraph)."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from matching import embedding, onnxgraph

pytestmark = pytest.mark.slow

ROWS, WIDTH, OUT = 50, 16, 8


def _session(model: bytes) -> ort.InferenceSession:
    return ort.InferenceSession(model, providers=["CPUExecutionProvider"])


def _dequantize(codes: str, scale: str, out: str) -> list[onnx.NodeProto]:
    return [
        helper.make_node("Cast", [codes], [f"{out}_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", [f"{out}_f", scale], [out]),
    ]


def _model(*, float_weight: bool = False) -> bytes:
    """ids -> Gather(table) -> MatMul(weight): the two patterns of the real model, with
    int8 codes and float scales (a table row scale, a weight column scale)."""
    rng = np.random.default_rng(7)
    table = rng.integers(-127, 128, (ROWS, WIDTH), dtype=np.int8)
    table_scale = rng.uniform(0.001, 0.01, (ROWS, 1)).astype(np.float32)
    weight = rng.integers(-127, 128, (WIDTH, OUT), dtype=np.int8)
    weight_scale = rng.uniform(0.001, 0.01, (1, OUT)).astype(np.float32)
    initializers = [
        numpy_helper.from_array(table, "table_q"),
        numpy_helper.from_array(table_scale, "table_scale"),
        numpy_helper.from_array(weight_scale, "weight_scale"),
    ]
    nodes = _dequantize("table_q", "table_scale", "table")
    nodes.append(helper.make_node("Gather", ["table", "ids"], ["rows"], axis=0))
    if float_weight:
        floats = weight.astype(np.float32) * weight_scale
        initializers.append(numpy_helper.from_array(floats, "weight"))
    else:
        initializers.append(numpy_helper.from_array(weight, "weight_q"))
        nodes += _dequantize("weight_q", "weight_scale", "weight")
    nodes.append(helper.make_node("MatMul", ["rows", "weight"], ["out"]))
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [None, None])],
        [
            helper.make_tensor_value_info("rows", TensorProto.FLOAT, [None, None, WIDTH]),
            helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, None, OUT]),
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


IDS = np.array([[0, 3, 49, 3], [7, 7, 1, 20]], dtype=np.int64)


def test_embedding_rows_are_gathered_as_int8_with_the_same_result():
    original = _model()

    rewrite = onnxgraph.integer_weights(original)

    assert (rewrite.gathers, rewrite.matmuls) == (1, 1)
    before = _session(original).run(["rows"], {"ids": IDS})[0]
    after = _session(rewrite.model).run(["rows"], {"ids": IDS})[0]
    np.testing.assert_array_equal(after, before)


def test_linear_layers_multiply_int8_weights_within_quantisation_error():
    original = _model()

    rewrite = onnxgraph.integer_weights(original)

    before = _session(original).run(["out"], {"ids": IDS})[0]
    after = _session(rewrite.model).run(["out"], {"ids": IDS})[0]
    assert after.shape == before.shape
    # Activations are quantised to 8 bits per block: the error is a small fraction of the range.
    assert np.abs(after - before).max() < 0.01 * np.abs(before).max()
    assert not np.array_equal(after, before)


def test_a_row_gives_the_same_output_whatever_rows_run_with_it():
    session = _session(onnxgraph.integer_weights(_model()).model)

    together = session.run(["out"], {"ids": IDS})[0]
    alone = session.run(["out"], {"ids": IDS[1:]})[0]

    np.testing.assert_array_equal(together[1], alone[0])


def test_no_float_copy_of_a_weight_is_left_in_the_graph():
    rewrite = onnxgraph.integer_weights(_model())

    model = onnx.load_from_string(rewrite.model)
    ops = [node.op_type for node in model.graph.node]
    assert "MatMulNBits" in ops
    assert "MatMul" not in ops
    # Only gathered rows are cast to float; no Cast reads a whole int8 table any more.
    casts = [node.input[0] for node in model.graph.node if node.op_type == "Cast"]
    assert casts and all(name.endswith("__codes") for name in casts)
    names = {t.name for t in model.graph.initializer}
    assert "table_q" in names  # gathered from, as int8
    assert "weight_q" not in names  # replaced by the same codes in MatMulNBits' layout
    assert "weight_q__int8_codes" in names


def test_a_float_weight_is_left_as_it_is():
    rewrite = onnxgraph.integer_weights(_model(float_weight=True))

    assert (rewrite.gathers, rewrite.matmuls) == (1, 0)
    ops = [node.op_type for node in onnx.load_from_string(rewrite.model).graph.node]
    assert "MatMul" in ops


def test_the_real_model_keeps_its_meaning_after_the_rewrite():
    """Every embedding table and linear layer of the pinned model is rewritten, and its
    vectors stay within 0.999 cosine of the float model's (onnxruntime folding the weights)."""
    source = embedding.default_model_path().read_bytes()

    rewrite = onnxgraph.integer_weights(source)

    assert rewrite.gathers == 2  # words and positions
    assert rewrite.matmuls == 36  # six layers: query, key, value, output, two feed-forward
    float_model = embedding.EmbeddingModel(
        tokenizer=embedding.get_model().tokenizer,
        session=_session(source),
        input_names=embedding.get_model().input_names,
    )
    texts = [
        "Designs arrived two days before the sprint ended",
        "Mock-ups late for the third sprint in a row",
        "Nobody knows which of the two roadmaps wins when they conflict",
        "Staging was down for most of Tuesday",
    ]
    cosines = (float_model.encode(texts) * embedding.encode(texts)).sum(axis=1)
    assert cosines.min() > 0.999
    assert cosines.min() < 0.999999  # the product really is the int8 one


def test_the_rewrite_runs_in_a_child_process_and_writes_a_loadable_model(tmp_path):
    source, target = tmp_path / "tiny.onnx", tmp_path / "tiny-int8.onnx"
    source.write_bytes(_model())

    onnxgraph.rewrite_file(source, target)

    session = _session(target.read_bytes())
    assert session.run(["out"], {"ids": IDS})[0].shape == (2, 4, OUT)


def test_a_corrupt_model_file_fails_the_rewrite_with_the_reason(tmp_path):
    source = tmp_path / "model.onnx"
    source.write_bytes(b"not a model at all")

    with pytest.raises(onnxgraph.RewriteFailed, match="DecodeError"):
        onnxgraph.rewrite_file(source, tmp_path / "out.onnx")
