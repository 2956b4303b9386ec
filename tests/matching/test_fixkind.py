"""A fix's kind from its words, and from its meaning when the words say too little."""

from __future__ import annotations

import pytest

from matching import embedding
from matching.fixkind import infer_fix_kind
from vocabulary.fixkinds import FALLBACK_KIND, FIX_KINDS, KIND_EXAMPLES
from vocabulary.fixkinds import infer_fix_kind as infer_from_words

# No mechanism word of any kind; what each changes is plain to a reader.
SAYS_NOTHING_BY_WORDS = "Hand the billing service to the payments team"


def test_every_kind_has_examples_and_only_kinds_have_them():
    assert set(KIND_EXAMPLES) == set(FIX_KINDS)
    assert all(len(texts) >= 4 for texts in KIND_EXAMPLES.values())


def test_a_fix_whose_words_say_nothing_is_read_from_its_meaning():
    by_words = infer_from_words(SAYS_NOTHING_BY_WORDS)
    assert by_words.kind == FALLBACK_KIND  # a band-aid, by default

    inferred = infer_fix_kind(SAYS_NOTHING_BY_WORDS)

    assert inferred.kind == "reorg"
    assert FIX_KINDS[inferred.kind].nature == "structural"
    # A kind read from the meaning is a guess: the form asks rather than pre-selecting it.
    assert not inferred.sure
    assert 0 < inferred.confidence < 0.6


@pytest.mark.parametrize(
    "text", ["Add a sign-off checklist before each release", "Automate the smoke test in CI"]
)
def test_clear_words_decide_and_the_meaning_is_not_asked(text, monkeypatch):
    def must_not_encode(text):
        raise AssertionError("the meaning was consulted for a fix whose words are clear")

    monkeypatch.setattr(embedding, "encode_one", must_not_encode)

    assert infer_fix_kind(text) == infer_from_words(text)
    assert infer_fix_kind(text).sure


def test_without_the_model_the_words_decide(monkeypatch):
    def unavailable(text):
        raise embedding.EmbeddingUnavailable("embedding file model.onnx is missing")

    monkeypatch.setattr(embedding, "encode_one", unavailable)

    assert infer_fix_kind(SAYS_NOTHING_BY_WORDS) == infer_from_words(SAYS_NOTHING_BY_WORDS)


def test_an_empty_text_is_not_encoded():
    assert infer_fix_kind("   ") == infer_from_words("   ")
