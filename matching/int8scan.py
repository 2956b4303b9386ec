"""Dot products of a query with many int8 rows, in onnxruntime's int8 kernels. Pure: no Django.

numpy has no int8 matrix product: scoring int8 rows there means converting them to float32
first, which costs more than the product itself (100k x 384 rows: 4 ms of 6.5). onnxruntime's
``MatMulNBits`` with 8-bit weights multiplies the same codes directly, from a layout it packs
once when the session is created (1.1 ms for the same rows). :class:`PackedRows` holds one
immutable block of rows that way; :class:`~matching.ranker.MatrixIndex` packs its rows
in blocks of :data:`ROWS` as they fill, and converts only the rows not packed yet.

The query is quantized too, to int8 per block of :data:`BLOCK` values (the kernel's "int8
compute"): a cosine moves by about 0.0005, a sixth of what storing the rows as int8 costs.

The one-node ONNX model is written here, field by field, in protobuf's wire format (a dozen
fields of ``onnx.proto``), so that the serving process needs no onnx package. It is loaded
from a file: onnxruntime keeps a model given as bytes for the life of the session.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from matching import embedding

if TYPE_CHECKING:
    import onnxruntime

#: Rows per packed block: small enough to pack without a large transient copy (3 MB of codes
#: at 384 dimensions; at 16384 rows a load of 100k raisings peaked 11 MB higher), large
#: enough that the per-block call overhead stays small (100k rows scored in 1.9 ms either way).
ROWS = 8192
#: Query values quantized together; the rows' codes share one scale anyway (applied after).
BLOCK = 128
_CONTRIB = "com.microsoft"
_FLOAT, _UINT8 = 1, 2  # onnx TensorProto.DataType
_ATTRIBUTE_INT = 2  # onnx AttributeProto.AttributeType


class PackedRows:
    """``n`` rows of int8 codes, scored against float queries by onnxruntime.

    :meth:`dot` returns ``queries @ codes.T`` (up to the query's quantization), unscaled: the
    caller multiplies by its per-row scales. The codes are not kept here (onnxruntime holds
    its packed copy)."""

    def __init__(self, codes: np.ndarray) -> None:
        if codes.ndim != 2 or codes.dtype != np.int8 or not len(codes):
            raise ValueError("expected a non-empty (rows, dimension) int8 array")
        self.rows, self.dimension = codes.shape
        with tempfile.TemporaryDirectory(prefix="recur-rows-") as scratch:
            path = Path(scratch) / "rows.onnx"
            write_model(codes, path)
            self._session: onnxruntime.InferenceSession = embedding.cpu_session(path)

    def dot(self, queries: np.ndarray) -> np.ndarray:
        """``(readings, rows)`` float32 products of each query row with every code row."""
        feeds = {"query": np.ascontiguousarray(queries, dtype=np.float32)}
        out: np.ndarray = self._session.run(None, feeds)[0]
        return out


def write_model(codes: np.ndarray, path: Path) -> None:
    """Write the ONNX model ``scores = MatMulNBits(query, codes)`` to ``path``: the codes as
    8-bit weights (code + 128, zero point 128, scale 1) for queries of shape
    ``(readings, dimension)``. The codes are written straight from one array, never copied
    into a serialized message."""
    rows, dimension = codes.shape
    blocks = -(-dimension // BLOCK)
    unsigned = np.full((rows, blocks * BLOCK), 128, dtype=np.uint8)  # padding reads as zero
    np.bitwise_xor(codes.view(np.uint8), 0x80, out=unsigned[:, :dimension])  # code + 128
    weights = _tensor("codes", _UINT8, (rows, blocks, BLOCK), memoryview(unsigned).cast("B"))
    scales = _tensor("scales", _FLOAT, (rows * blocks,), np.ones(rows * blocks, "<f4").tobytes())
    zeros = _tensor("zero_points", _UINT8, (rows * blocks,), bytes([128]) * (rows * blocks))
    node = _message(
        (1, "query"), (1, "codes"), (1, "scales"), (1, "zero_points"),
        (2, "scores"), (3, "rows"), (4, "MatMulNBits"), (7, _CONTRIB),
        (5, _int_attribute("K", dimension)), (5, _int_attribute("N", rows)),
        (5, _int_attribute("bits", 8)), (5, _int_attribute("block_size", BLOCK)),
        (5, _int_attribute("accuracy_level", 4)),
    )  # fmt: skip
    graph = _message(
        (1, node),
        (2, "rows"),
        (5, weights),
        (5, scales),
        (5, zeros),
        (11, _value_info("query", ("readings", dimension))),
        (12, _value_info("scores", ("readings", rows))),
    )
    model = _message(
        (1, 8),  # ir_version
        (8, _message((1, ""), (2, 17))),  # opset_import: the default domain
        (8, _message((1, _CONTRIB), (2, 1))),
        (7, graph),
    )
    with path.open("wb") as out:
        for part in model:
            out.write(part)


# --- protobuf wire format (https://protobuf.dev/programming-guides/encoding/) ---------------


class _Parts(list[bytes | memoryview]):
    """A serialized message as its parts in order (large payloads are not copied)."""

    @property
    def size(self) -> int:
        return sum(len(part) for part in self)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _message(*fields: tuple[int, int | str | bytes | memoryview | _Parts]) -> _Parts:
    """Fields in order: an int is a varint; anything else is length-delimited."""
    parts = _Parts()
    for number, value in fields:
        if isinstance(value, int):
            parts.append(_varint(number << 3) + _varint(value))
            continue
        payload = value.encode() if isinstance(value, str) else value
        size = payload.size if isinstance(payload, _Parts) else len(payload)
        parts.append(_varint(number << 3 | 2) + _varint(size))
        if isinstance(payload, _Parts):
            parts.extend(payload)
        else:
            parts.append(payload)
    return parts


def _int_attribute(name: str, value: int) -> _Parts:
    return _message((1, name), (3, value), (20, _ATTRIBUTE_INT))


def _tensor(name: str, data_type: int, dims: tuple[int, ...], raw: bytes | memoryview) -> _Parts:
    packed_dims = b"".join(_varint(d) for d in dims)
    return _message((1, packed_dims), (2, data_type), (8, name), (9, raw))


def _value_info(name: str, dims: tuple[str | int, ...]) -> _Parts:
    shape = _message(
        *((1, _message((2, d) if isinstance(d, str) else (1, d))) for d in dims),
    )
    tensor_type = _message((1, _FLOAT), (2, shape))
    return _message((1, name), (2, _message((1, tensor_type))))
