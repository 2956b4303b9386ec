"""A fix's kind from its text: its words first, its meaning when the words say too little.

:func:`vocabulary.fixkinds.infer_fix_kind` reads the mechanism words of a fix ("checklist",
"automate", "coach"). Many real fixes name none ("Let's do this again!", "Promote more
reviewers across Working Groups"); for those, the fix's embedding is compared with
:data:`vocabulary.fixkinds.KIND_EXAMPLES` and the kind of the nearest example wins.

A kind read from the meaning is never `sure`: forms still ask the person, and an import
records it as inferred. Measured on the labelled fixes of the real tuning set and the written
histories in docs/evaluation.md.
"""

from __future__ import annotations

import threading

import numpy as np

from matching import embedding
from vocabulary.fixkinds import KIND_EXAMPLES, InferredKind
from vocabulary.fixkinds import infer_fix_kind as infer_from_words
from vocabulary.rules import DEFAULT_RULES, Rules

_examples: tuple[tuple[str, ...], np.ndarray] | None = None
_examples_lock = threading.Lock()


def _example_vectors() -> tuple[tuple[str, ...], np.ndarray]:
    """Each example's kind and its unit vector, encoded once per process."""
    global _examples
    if _examples is None:
        with _examples_lock:
            if _examples is None:
                kinds = tuple(kind for kind, texts in KIND_EXAMPLES.items() for _ in texts)
                texts = [text for examples in KIND_EXAMPLES.values() for text in examples]
                _examples = (kinds, embedding.encode(texts))
    return _examples


def infer_fix_kind(text: str, *, rules: Rules = DEFAULT_RULES) -> InferredKind:
    """The most likely kind of the fix described by ``text``, with a confidence in 0..1."""
    by_words = infer_from_words(text, rules=rules)
    if by_words.confidence >= rules.infer_meaning_below or not text.strip():
        return by_words
    try:
        kinds, vectors = _example_vectors()
        query = embedding.encode_one(text)
    except embedding.EmbeddingUnavailable:
        return by_words
    similarity = vectors @ query
    best: dict[str, float] = {}
    for kind, value in zip(kinds, similarity.tolist(), strict=True):
        best[kind] = max(best.get(kind, -1.0), value)
    ranked = sorted(best.items(), key=lambda item: -item[1])
    (kind, top), (_, second) = ranked[0], ranked[1]
    # The margin over the next kind, on the scale of the words' confidence, kept below `sure`.
    confidence = min(
        rules.infer_sure_confidence - 0.05, rules.infer_confidence_floor + 2 * (top - second)
    )
    return InferredKind(kind, round(confidence, 2))
