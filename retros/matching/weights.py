"""Every weight and threshold of the recurrence matcher, in one versioned place.

Why these numbers (chosen from what the signals mean, not fitted to sample wording):

- **Meaning dominates** (``semantic_weight`` 0.75 of the match). Teams describe the same
  problem in new words each time ("designs arrived late" / "mock-ups late again"); only the
  embedding sees that. all-MiniLM-L6-v2 cosines below about 0.15 are what unrelated
  sentences score, and about 0.85 is a restatement of the same sentence, so the cosine is
  mapped linearly from ``[semantic_floor, semantic_ceiling]`` onto 0..1.
- **Spelling is secondary** (``lexical_weight`` 0.25). Trigrams catch what the embedding
  misses: typos ("stagng"), names ("Priya"), ticket codes ("PAY-123"), product jargon. Unrelated
  texts still share short words ("the", "again"), so trigram scores below 0.10 count as
  nothing, and 0.60 (most words shared) counts as full agreement.
- **Context only breaks ties**: the same team, a recent raising, an issue still active or
  flagged, open fixes, combined into 0..1 and applied as a factor,
  ``score = match * (1 - context_weight + context_weight * context)``. With 0.08 it moves a
  score by at most 8 % of itself: it reorders near-ties between real candidates but never
  lifts a text that matches nothing (match 0 stays 0) and never decides on its own.
- **Thresholds on the final score.** ``suggest``: below it nothing is shown (roughly a cosine
  of 0.5 with little shared wording). ``review``: from here up to ``auto_link`` an import
  puts the pair in the review queue as a likely recurrence. ``auto_link``: an import links
  without asking; it needs a near-restatement (cosine about 0.8 with some shared wording),
  aiming at a precision of 0.95 or better because a wrong automatic link pollutes a
  diagnosis, while a missed one only waits in the review queue. Known limit: two different
  problems about the same thing ("CI builds are slow" / "CI builds are flaky") share both
  meaning and wording and score above it; no threshold on these two signals separates them.

Bump ``version`` whenever a number changes; suggestions and import links record it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MatchWeights:
    version: str = "2026.1"

    # Match = semantic_weight * meaning + lexical_weight * spelling (both rescaled to 0..1).
    semantic_weight: float = 0.75
    lexical_weight: float = 0.25
    semantic_floor: float = 0.15
    semantic_ceiling: float = 0.85
    lexical_floor: float = 0.10
    lexical_ceiling: float = 0.60

    # Score = match * (1 - context_weight + context_weight * context), context in 0..1.
    context_weight: float = 0.08
    same_team: float = 0.40
    recency: float = 0.30
    recency_half_life_days: float = 90.0
    active: float = 0.10
    flagged: float = 0.10
    open_fixes: float = 0.10

    # Thresholds on the final score.
    suggest: float = 0.30
    review: float = 0.45
    auto_link: float = 0.75

    # When a reason is worth saying (raw cosine / raw trigram word similarity).
    reason_semantic: float = 0.50
    reason_lexical: float = 0.30

    def __post_init__(self) -> None:
        _require(
            abs(self.semantic_weight + self.lexical_weight - 1.0) < 1e-9,
            "semantic_weight + lexical_weight must be 1",
        )
        context = self.same_team + self.recency + self.active + self.flagged + self.open_fixes
        _require(abs(context - 1.0) < 1e-9, "context feature weights must add up to 1")
        _require(0.0 <= self.context_weight <= 0.2, "context is a tie-breaker (0 to 0.2)")
        _require(self.semantic_floor < self.semantic_ceiling, "semantic floor >= ceiling")
        _require(self.lexical_floor < self.lexical_ceiling, "lexical floor >= ceiling")
        _require(
            0.0 <= self.suggest <= self.review <= self.auto_link <= 1.0,
            "thresholds must satisfy 0 <= suggest <= review <= auto_link <= 1",
        )
        _require(self.recency_half_life_days > 0, "recency half-life must be positive")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(f"MatchWeights: {message}")


DEFAULT_WEIGHTS = MatchWeights()
