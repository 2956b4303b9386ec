"""Root-cause words as a matching signal: do the query and the issue read as the same kind of
problem (execution, strategy, culture, interpersonal)?

The category vocabulary is the diagnosis engine's (:mod:`vocabulary.signals`, pure and read
only here), so the matcher and the diagnosis agree on what the words point to. An issue's
profile sums the category scores of its occurrence texts and its fixes' texts: what a team
decided to do about a problem ("mediated conversation between the two leads", "shared OKR
for both teams") says which kind of problem it took it to be. Agreement is the cosine of
two profiles: 0 when either text carries no category word, 1 when both point the same way.
Occurrence and fix texts are weighed as the diagnosis engine weighs them (fix words count
less). It is a small feature (``MatchWeights.cause_weight``): two issues of one category are not
the same issue, but between two candidates that match equally well by meaning and wording,
the one whose root-cause words agree with the query's is the better guess.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np

from vocabulary.rules import DEFAULT_RULES
from vocabulary.signals import SIGNAL_CATEGORIES, score_text

CATEGORIES: tuple[str, ...] = tuple(SIGNAL_CATEGORIES)
EMPTY = np.zeros(len(CATEGORIES), dtype=np.float32)
EMPTY.flags.writeable = False


@functools.lru_cache(maxsize=4096)
def _text_profile(text: str) -> tuple[float, ...]:
    """``vocabulary.signals.score_text(text).scores`` as a tuple in CATEGORIES order."""
    scores = score_text(text).scores
    return tuple(scores.get(c, 0.0) for c in CATEGORIES)


def text_profile(text: str) -> np.ndarray:
    """The category scores of one text, shape ``(4,)`` in :data:`CATEGORIES` order."""
    return np.asarray(_text_profile(text), dtype=np.float32)


def profile(texts: Iterable[str]) -> np.ndarray:
    """The summed category scores of ``texts``, shape ``(4,)`` in :data:`CATEGORIES` order."""
    total = EMPTY.copy()
    for text in texts:
        total += text_profile(text)
    return total


@functools.lru_cache(maxsize=8)
def cause_mask(execution_share: float) -> np.ndarray:
    """Per category, how much agreement on it counts: execution words ("build", "deploy",
    "tests") name what a problem is about, which meaning and wording already see, more than
    why it keeps coming back; strategy, culture and interpersonal words name the cause."""
    mask = np.ones(len(CATEGORIES), dtype=np.float32)
    mask[CATEGORIES.index("execution")] = execution_share
    mask.flags.writeable = False
    return mask


def agreement(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Cosine of two profiles; 0 when either is missing or empty."""
    if a is None or b is None:
        return 0.0
    norm = float(np.linalg.norm(a)) * float(np.linalg.norm(b))
    return float(np.dot(a, b)) / norm if norm > 0 else 0.0


def strength(profile_: np.ndarray) -> float:
    """0..1: how clearly one text's words point to a category (one strong word or two weak
    ones: 1; one weak word: 0.5)."""
    return min(1.0, float(profile_.max(initial=0.0)) / DEFAULT_RULES.word_strong)


def issue_profile(
    occurrences: np.ndarray, n_occurrences: int, fixes: np.ndarray | None, n_fixes: int
) -> np.ndarray:
    """An issue's profile from the summed profiles of its occurrence and fix texts, weighed
    as the diagnosis engine weighs them (``occurrence_words_weight`` and
    ``fix_words_weight`` times the mean of each)."""
    rules = DEFAULT_RULES
    total = occurrences * (rules.occurrence_words_weight / max(1, n_occurrences))
    if fixes is not None and n_fixes:
        total = total + fixes * (rules.fix_words_weight / n_fixes)
    return total


def issue_profiles(
    occurrences: np.ndarray, n_occurrences: np.ndarray, fixes: np.ndarray, n_fixes: np.ndarray
) -> np.ndarray:
    """:func:`issue_profile` of many issues at once: one row per issue, the same values."""
    rules = DEFAULT_RULES
    per_occurrence = rules.occurrence_words_weight / np.maximum(1, n_occurrences)
    total = occurrences * per_occurrence.astype(np.float32)[:, None]
    per_fix = np.where(n_fixes > 0, rules.fix_words_weight / np.maximum(1, n_fixes), 0.0)
    return total + fixes * per_fix.astype(np.float32)[:, None]


def dominant(profile_: np.ndarray) -> str | None:
    """The category a profile points to most, or None when it carries no category word."""
    if not profile_.any():
        return None
    return CATEGORIES[int(np.argmax(profile_))]
