"""Rank an organisation's issues as the likely earlier raisings of a new text.

One function, :func:`rank`, serves both the suggestions shown while a facilitator types and
the linking of imported history (:func:`link_decision` turns the best suggestion into
link / review / new). It combines

- **meaning**: the cosine between the query's embedding and the issue's *closest occurrence*
  (the maximum over the issue's occurrence vectors, not their centroid). An issue that keeps
  coming back "in a different form" has occurrences worded in several ways; a centroid sits
  between them and matches none well, while the nearest occurrence matches whichever form
  the new text resembles. :class:`MatrixIndex` computes it for a whole organisation at once;
- **spelling**: pg_trgm ``word_similarity`` between the normalised query and the issue's
  closest text (typos, names, ticket codes);
- **context**: same team, recency of the last raising, still active or flagged, open fixes.

Weights and thresholds live in :class:`~retros.matching.weights.MatchWeights`, whose docstring
says why they are what they are. Pure: no Django, no clock (the query carries its date).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np

from retros.matching import lexical
from retros.matching.weights import DEFAULT_WEIGHTS, MatchWeights


@dataclass(frozen=True, eq=False)
class Query:
    """What is being matched: typed text or an imported item. ``vector`` is one unit vector
    ``(d,)`` or several readings of the text ``(k, d)`` (see ``embedding.encode_query``)."""

    text: str
    vector: np.ndarray
    team: str | None = None
    on: date | None = None


@dataclass(frozen=True, eq=False)
class Candidate:
    """An existing issue. Give ``vector`` (shape ``(d,)`` or the issue's occurrence matrix
    ``(m, d)``) or a precomputed ``semantic`` cosine (e.g. from :class:`MatrixIndex`);
    ``lexical`` is computed from ``texts`` (default: the title) when None."""

    issue_id: int
    title: str
    vector: np.ndarray | None = None
    lexical: float | None = None
    teams: frozenset[str] = frozenset()
    occurrences: int = 1
    last_seen: date | None = None
    active: bool = True
    flagged: bool = False
    open_fixes: int = 0
    band_aid_fixes: int = 0
    texts: tuple[str, ...] = ()
    semantic: float | None = None


@dataclass(frozen=True)
class Suggestion:
    """A ranked issue. ``semantic`` is the raw cosine, ``lexical`` the raw trigram score."""

    issue_id: int
    score: float
    semantic: float
    lexical: float
    reasons: tuple[str, ...]


class Decision(StrEnum):
    LINK = "link"
    REVIEW = "review"
    NEW = "new"


def rank(
    query: Query,
    candidates: Iterable[Candidate],
    weights: MatchWeights = DEFAULT_WEIGHTS,
    *,
    limit: int | None = None,
    min_score: float | None = None,
) -> list[Suggestion]:
    """Candidates scoring at least ``min_score`` (default ``weights.suggest``), best first."""
    floor = weights.suggest if min_score is None else min_score
    query_norm = lexical.normalize(query.text)
    scored = [_suggest(query, query_norm, c, weights) for c in candidates]
    kept = [s for s in scored if s.score >= floor]
    kept.sort(key=lambda s: (-s.score, -s.semantic, s.issue_id))
    return kept if limit is None else kept[:limit]


def link_decision(best: Suggestion | None, weights: MatchWeights = DEFAULT_WEIGHTS) -> Decision:
    """For imports: link to the best match, queue it for review, or start a new issue."""
    if best is None or best.score < weights.review:
        return Decision.NEW
    return Decision.LINK if best.score >= weights.auto_link else Decision.REVIEW


def semantic_score(query_vector: np.ndarray, candidate: Candidate) -> float:
    """The candidate's cosine: precomputed, or the max over its occurrence vectors."""
    if candidate.semantic is not None:
        return candidate.semantic
    if candidate.vector is None:
        return 0.0
    return float(np.max(np.atleast_2d(candidate.vector) @ np.atleast_2d(query_vector).T))


def lexical_score(query_norm: str, candidate: Candidate) -> float:
    """The candidate's trigram score: given, or the best over its texts."""
    if candidate.lexical is not None:
        return candidate.lexical
    texts = candidate.texts or (candidate.title,)
    return lexical.best_word_similarity(query_norm, (lexical.normalize(t) for t in texts))


def _suggest(query: Query, query_norm: str, cand: Candidate, w: MatchWeights) -> Suggestion:
    cosine = semantic_score(query.vector, cand)
    trigram = lexical_score(query_norm, cand)
    match = w.semantic_weight * _ramp(cosine, w.semantic_floor, w.semantic_ceiling)
    match += w.lexical_weight * _ramp(trigram, w.lexical_floor, w.lexical_ceiling)
    context = context_score(query, cand, w)
    score = match * (1.0 - w.context_weight + w.context_weight * context)
    reasons = _reasons(query, cand, cosine, trigram, w)
    return Suggestion(cand.issue_id, round(score, 6), cosine, trigram, reasons)


def _ramp(value: float, floor: float, ceiling: float) -> float:
    return min(1.0, max(0.0, (value - floor) / (ceiling - floor)))


def context_score(query: Query, cand: Candidate, w: MatchWeights) -> float:
    """0..1: how much the circumstances favour this issue, independent of the words."""
    score = w.same_team * _same_team(query, cand)
    score += w.recency * _recency(query.on, cand.last_seen, w.recency_half_life_days)
    score += w.active * cand.active + w.flagged * cand.flagged
    score += w.open_fixes * (cand.open_fixes > 0)
    return score


def _same_team(query: Query, cand: Candidate) -> bool:
    return query.team is not None and query.team in cand.teams


def _recency(today: date | None, last_seen: date | None, half_life_days: float) -> float:
    if today is None or last_seen is None:
        return 0.0
    age = max(0, (today - last_seen).days)
    return float(0.5 ** (age / half_life_days))


def _reasons(
    query: Query, cand: Candidate, cosine: float, trigram: float, w: MatchWeights
) -> tuple[str, ...]:
    reasons = []
    if cosine >= w.reason_semantic:
        reasons.append("similar meaning")
    if trigram >= w.reason_lexical:
        reasons.append("similar wording")
    if _same_team(query, cand):
        reasons.append("same team")
    if cand.occurrences > 1:
        reasons.append(_raised(cand.occurrences, len(cand.teams)))
    if cand.last_seen is not None:
        reasons.append(f"last raised {cand.last_seen.isoformat()}")
    if cand.flagged:
        reasons.append("flagged as a band-aid loop")
    if cand.band_aid_fixes:
        reasons.append(f"{_count(cand.band_aid_fixes, 'band-aid fix', 'band-aid fixes')} tried")
    if cand.open_fixes:
        reasons.append(f"{_count(cand.open_fixes, 'open fix', 'open fixes')}")
    return tuple(reasons)


def _raised(occurrences: int, teams: int) -> str:
    text = f"raised {_count(occurrences, 'time', 'times')}"
    return f"{text} in {_count(teams, 'team', 'teams')}" if teams else text


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


class MatrixIndex:
    """Exact in-memory nearest-issue search over an organisation's occurrence vectors.

    One row per occurrence (unit float32 vector, issue id, occurrence id) in a growable
    matrix. A query is one matrix-vector product, then the best issues by their closest
    occurrence: the top-k issues are the first k distinct issues in descending row order, so
    :func:`np.argpartition` over a growing prefix of rows finds them exactly.
    """

    def __init__(self, dimension: int = 384, capacity: int = 1024) -> None:
        self._vectors = np.zeros((max(1, capacity), dimension), dtype=np.float32)
        self._issues = np.zeros(max(1, capacity), dtype=np.int64)
        self._occurrences = np.zeros(max(1, capacity), dtype=np.int64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def dimension(self) -> int:
        return int(self._vectors.shape[1])

    def issue_ids(self) -> set[int]:
        return {int(i) for i in np.unique(self._issues[: self._size])}

    def add(self, issue_id: int, occurrence_ids: Sequence[int], vectors: np.ndarray) -> None:
        """Append the occurrence vectors (``(d,)`` or ``(m, d)``) of one issue."""
        matrix = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if matrix.shape != (len(occurrence_ids), self.dimension):
            raise ValueError(f"expected {len(occurrence_ids)} vectors of {self.dimension}")
        self._reserve(len(matrix))
        end = self._size + len(matrix)
        self._vectors[self._size : end] = matrix
        self._issues[self._size : end] = issue_id
        self._occurrences[self._size : end] = occurrence_ids
        self._size = end

    def _reserve(self, extra: int) -> None:
        needed = self._size + extra
        if needed <= len(self._issues):
            return
        capacity = max(needed, 2 * len(self._issues))
        self._vectors = _grown(self._vectors, capacity)
        self._issues = _grown(self._issues, capacity)
        self._occurrences = _grown(self._occurrences, capacity)

    def remove_issue(self, issue_id: int) -> int:
        """Drop every row of an issue; returns the number of rows removed."""
        return self._keep(self._issues[: self._size] != issue_id)

    def remove_occurrence(self, occurrence_id: int) -> int:
        return self._keep(self._occurrences[: self._size] != occurrence_id)

    def reassign_issue(self, old_issue_id: int, new_issue_id: int) -> int:
        """Merge: the rows of ``old_issue_id`` now belong to ``new_issue_id``."""
        rows = self._issues[: self._size] == old_issue_id
        self._issues[: self._size][rows] = new_issue_id
        return int(rows.sum())

    def move_occurrence(self, occurrence_id: int, new_issue_id: int) -> int:
        """Relink one occurrence (e.g. an automatic link undone by a person)."""
        rows = self._occurrences[: self._size] == occurrence_id
        self._issues[: self._size][rows] = new_issue_id
        return int(rows.sum())

    def vectors_of(self, issue_id: int) -> np.ndarray:
        rows = np.flatnonzero(self._issues[: self._size] == issue_id)
        return np.array(self._vectors[rows], dtype=np.float32)

    def _keep(self, keep: np.ndarray) -> int:
        removed = self._size - int(keep.sum())
        if removed:
            n = self._size - removed
            self._vectors[:n] = self._vectors[: self._size][keep]
            self._issues[:n] = self._issues[: self._size][keep]
            self._occurrences[:n] = self._occurrences[: self._size][keep]
            self._size = n
        return removed

    def top_k_issues(
        self, query_vector: np.ndarray, k: int, *, exclude: Iterable[int] = ()
    ) -> list[tuple[int, float]]:
        """The ``k`` issues whose closest occurrence is closest: ``(issue_id, cosine)``.
        ``query_vector`` is ``(d,)`` or ``(k, d)`` (best over the query's readings)."""
        if k <= 0 or self._size == 0:
            return []
        queries = np.atleast_2d(np.asarray(query_vector, dtype=np.float32))
        scores = self._vectors[: self._size] @ queries[0]
        for row in queries[1:]:
            np.maximum(scores, self._vectors[: self._size] @ row, out=scores)
        issues = self._issues[: self._size]
        excluded = np.fromiter(exclude, dtype=np.int64)
        if excluded.size:
            scores[np.isin(issues, excluded)] = -np.inf
        rows = _first_distinct_rows(scores, issues, k)
        return [(int(issues[r]), float(scores[r])) for r in rows if np.isfinite(scores[r])]


def _grown(array: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown


def _first_distinct_rows(scores: np.ndarray, issues: np.ndarray, k: int) -> np.ndarray:
    """Rows holding the best score of each of the k best issues, best first."""
    n = len(scores)
    prefix = min(n, 4 * k)
    while True:
        top = np.argpartition(-scores, prefix - 1)[:prefix] if prefix < n else np.arange(n)
        top = top[np.argsort(-scores[top], kind="stable")]
        _, first = np.unique(issues[top], return_index=True)
        if len(first) >= k or prefix >= n:
            return top[np.sort(first)[:k]]
        prefix = min(n, prefix * 4)
