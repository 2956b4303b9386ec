"""Rank an organisation's issues as the likely earlier raisings of a new text.

One function, :func:`rank`, serves both the suggestions shown while a facilitator types and
the linking of imported history (:func:`link_decision` turns the best suggestion into
link / review / new). It combines

- **meaning**: cosines between the query's embedding and the issue's occurrences, not their
  centroid. An issue that keeps coming back "in a different form" has occurrences worded in
  several ways; a centroid sits between them and matches none well, while the nearest
  occurrence matches whichever form the new text resembles. The maximum alone favours issues
  with many occurrences (more chances of one lucky cosine), so meaning is the maximum blended
  with the mean of the two best (an issue raised once counts its one cosine twice).
  :class:`MatrixIndex` computes them for a whole organisation at once;
- **wording**: the IDF-weighted share of the query's distinctive words that the issue's
  texts use, occurrences *and fixes* (what was done about a problem describes it), with
  words common in the organisation counting little (:class:`~matching.wordindex.TermIndex`;
  misspelt words are read through the organisation's vocabulary first);
- **root cause**: whether the query's category words agree with the issue's
  (:mod:`~matching.rootcause`), a small feature;
- **context**: same team, recency of the last raising, still active or flagged, open fixes.

Weights and thresholds live in :class:`~matching.weights.MatchWeights`, whose docstring
says why they are what they are. Pure: no Django, no clock (the query carries its date).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

import numpy as np

from matching import heap, int8scan, lexical, rootcause, wordindex
from matching.centring import Centring
from matching.weights import DEFAULT_WEIGHTS, MatchWeights
from vocabulary.dates import day_text


@dataclass(frozen=True, eq=False)
class Query:
    """What is being matched: typed text or an imported item. ``vector`` is one unit vector
    ``(d,)`` or several readings of the text ``(k, d)`` (see ``embedding.encode_query``);
    ``reading`` is the text with misspelt words read as the organisation's words
    (``Vocabulary.correct``); the wording score takes the better of text and reading."""

    text: str
    vector: np.ndarray
    team: str | None = None
    on: date | None = None
    reading: str | None = None


@dataclass(frozen=True, eq=False)
class Candidate:
    """An existing issue. Give ``vector`` (shape ``(d,)`` or the issue's occurrence matrix
    ``(m, d)``) or precomputed cosines: ``semantic`` (the best occurrence's) and
    ``semantic_top2`` (mean of the two best; default: ``semantic``), e.g. from
    :class:`MatrixIndex`. ``lexical`` (the wording score, 0..1) is computed when None from
    ``terms`` (default: the terms of ``texts`` or the title, and ``fix_texts``);
    ``profile`` (root-cause category scores) likewise from the texts when None."""

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
    semantic_top2: float | None = None
    fix_texts: tuple[str, ...] = ()
    terms: frozenset[str] | None = None
    fix_terms: frozenset[str] = frozenset()
    profile: np.ndarray | None = None


@dataclass(frozen=True)
class Suggestion:
    """A ranked issue. ``semantic`` is the best raw cosine, ``lexical`` the wording score
    (0..1), ``cause`` the root-cause agreement (0..1)."""

    issue_id: int
    score: float
    semantic: float
    lexical: float
    reasons: tuple[str, ...]
    cause: float = 0.0


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
    terms: wordindex.TermIndex | None = None,
) -> list[Suggestion]:
    """Candidates scoring at least ``min_score`` (default ``weights.suggest``), best first.

    ``terms`` holds the organisation's word frequencies for the wording score; without it
    they are taken from the candidates themselves."""
    floor = weights.suggest if min_score is None else min_score
    candidates = list(candidates)
    features = _features(query, candidates, weights, terms)
    scored = [(_suggest(query, features, c, weights), c) for c in candidates]
    kept = [(s, c) for s, c in scored if s.score >= floor]
    kept.sort(key=lambda pair: (-pair[0].score, -pair[0].semantic, pair[0].issue_id))
    # Reasons are words for people: only for the suggestions returned.
    return [
        dataclasses.replace(s, reasons=_reasons(query, c, s.semantic, s.lexical, weights))
        for s, c in (kept if limit is None else kept[:limit])
    ]


def contenders(
    query: Query,
    candidates: Iterable[Candidate],
    weights: MatchWeights = DEFAULT_WEIGHTS,
    *,
    limit: int,
    terms: wordindex.TermIndex | None = None,
) -> list[Candidate]:
    """The candidates that can still be among the ``limit`` best once their context (team,
    recency, fixes, flags) is known, from their likeness alone: context scales a likeness by
    ``1 - context_weight`` to 1, so a candidate whose likeness is below ``1 - context_weight``
    times the ``limit``-th best one's cannot overtake those ``limit``. A caller then reads the
    context of the contenders only (for suggestions: a third of the pool on average)."""
    candidates = list(candidates)
    if len(candidates) <= limit:
        return candidates
    features = _features(query, candidates, weights, terms)
    matches = [_match(query, features, c, weights)[0] for c in candidates]
    bar = sorted(matches, reverse=True)[limit - 1] * (1.0 - weights.context_weight)
    bar -= 1e-6  # scores are rounded to six decimals: keep whatever could tie
    return [c for c, match in zip(candidates, matches, strict=True) if match >= bar]


def link_decision(best: Suggestion | None, weights: MatchWeights = DEFAULT_WEIGHTS) -> Decision:
    """For imports: link to the best match, queue it for review, or start a new issue."""
    if best is None or best.score < weights.review:
        return Decision.NEW
    return Decision.LINK if best.score >= weights.auto_link else Decision.REVIEW


class _Scored(Protocol):
    @property
    def score(self) -> float: ...


def review_pairs[S: _Scored](
    ranked: Sequence[S], weights: MatchWeights = DEFAULT_WEIGHTS
) -> list[S]:
    """Of one raising's candidates, best first, those a person should judge: the best when
    it reaches the review band, and the ones close behind it (within ``review_margin`` of
    it, ``review_contenders`` in all). When two earlier issues score alike, the right one is
    as often the second: queueing only the first loses it."""
    if not ranked or ranked[0].score < weights.review:
        return []
    floor = max(weights.review, ranked[0].score - weights.review_margin)
    return [s for s in ranked[: weights.review_contenders] if s.score >= floor]


@dataclass(frozen=True)
class _QueryFeatures:
    readings: tuple[dict[str, float], ...]  # per reading: word -> share of its IDF mass
    profile: np.ndarray
    strength: float
    index: wordindex.TermIndex
    mask: np.ndarray  # per category, how much its agreement counts


def semantic_scores(query_vector: np.ndarray, candidate: Candidate) -> tuple[float, float]:
    """The candidate's best cosine and the mean of its two best (one occurrence: the same)."""
    if candidate.semantic is not None:
        top2 = candidate.semantic if candidate.semantic_top2 is None else candidate.semantic_top2
        return candidate.semantic, top2
    if candidate.vector is None:
        return 0.0, 0.0
    cosines = (np.atleast_2d(candidate.vector) @ np.atleast_2d(query_vector).T).max(axis=1)
    best = np.sort(cosines)[::-1][:2]
    return float(best[0]), float(best.mean())


def semantic_score(query_vector: np.ndarray, candidate: Candidate) -> float:
    """The candidate's best cosine: precomputed, or the max over its occurrence vectors."""
    return semantic_scores(query_vector, candidate)[0]


def _wording(features: _QueryFeatures, cand: Candidate, w: MatchWeights) -> float:
    if cand.lexical is not None:
        return cand.lexical
    if cand.terms is not None:
        document, fix_only = cand.terms, cand.fix_terms
    else:
        raised = frozenset().union(*(lexical.terms(t) for t in cand.texts or (cand.title,)))
        fixed = frozenset().union(*(lexical.terms(t) for t in cand.fix_texts))
        document, fix_only = raised | fixed, fixed - raised
    # Like the embedding, the better of the typed text and its reading: a wrong correction
    # of a word ("unblocking" read as "blocking") costs nothing.
    return max(
        features.index.coverage(weights, document, fix_only, w.fix_share)
        for weights in features.readings
    )


def _profile(cand: Candidate) -> np.ndarray:
    if cand.profile is not None:
        return cand.profile
    raised = cand.texts or (cand.title,)
    return rootcause.issue_profile(
        rootcause.profile(raised),
        len(raised),
        rootcause.profile(cand.fix_texts),
        len(cand.fix_texts),
    )


def _features(
    query: Query,
    candidates: list[Candidate],
    weights: MatchWeights,
    terms: wordindex.TermIndex | None,
) -> _QueryFeatures:
    """What scoring every candidate needs of the query. ``terms`` holds the organisation's
    word frequencies; without it they are taken from the candidates themselves."""
    if terms is None:
        terms = wordindex.TermIndex()
        for i, cand in enumerate(candidates):
            for text in cand.texts or (cand.title,):
                terms.add(i, text)
            for text in cand.fix_texts:
                terms.add(i, text, fix=True)
    readings = {query.text, query.reading or query.text}
    mask = rootcause.cause_mask(weights.cause_execution_share)
    profile = rootcause.profile([query.text]) * mask
    return _QueryFeatures(
        readings=tuple(terms.weights(lexical.terms(r)) for r in sorted(readings)),
        profile=profile,
        strength=rootcause.strength(profile),
        index=terms,
        mask=mask,
    )


def _match(
    query: Query, features: _QueryFeatures, cand: Candidate, w: MatchWeights
) -> tuple[float, float, float, float]:
    """``(likeness, best cosine, wording, cause)``: the score before context."""
    cosine, top2 = semantic_scores(query.vector, cand)
    meaning = (1.0 - w.top2_share) * cosine + w.top2_share * top2
    wording = _wording(features, cand, w)
    cause = 0.0
    if features.strength:  # a query without category words agrees with nothing
        cause = rootcause.agreement(features.profile, _profile(cand) * features.mask)
        cause *= features.strength
    match = w.semantic_weight * _ramp(meaning, w.semantic_floor, w.semantic_ceiling)
    match += w.lexical_weight * _ramp(wording, w.lexical_floor, w.lexical_ceiling)
    if match > 0:  # the kind of problem reorders likenesses; alone it is none
        match += w.cause_weight * cause
    return match, cosine, wording, cause


def _suggest(
    query: Query, features: _QueryFeatures, cand: Candidate, w: MatchWeights
) -> Suggestion:
    match, cosine, wording, cause = _match(query, features, cand, w)
    context = context_score(query, cand, w)
    score = match * (1.0 - w.context_weight + w.context_weight * context)
    return Suggestion(cand.issue_id, round(score, 6), cosine, wording, (), round(cause, 4))


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
    # What the match rests on comes first, named even when it is weak: a suggestion always
    # says why it is there, and a weak one says so.
    reasons = []
    if cosine >= w.reason_semantic:
        reasons.append("similar meaning")
    elif cosine > w.semantic_floor:
        reasons.append("loosely related meaning")
    if trigram >= w.reason_lexical:
        reasons.append("similar wording")
    elif trigram > 0:
        reasons.append("a few words in common")
    if _same_team(query, cand):
        reasons.append("same team")
    if cand.occurrences > 1:
        reasons.append(_raised(cand.occurrences, len(cand.teams)))
    if cand.last_seen is not None:
        reasons.append(f"last raised {day_text(cand.last_seen)}")
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


@dataclass(frozen=True)
class _Rows:
    """A consistent view of a quantized index's codes: the packed blocks, then the rows not
    packed yet (``tail``, from row ``tail_start``), ``size`` rows in all. Replaced, never
    changed in place, so a query reading it while rows are added sees whole rows only."""

    packed: tuple[int8scan.PackedRows | _CodeBlock, ...]
    tail: np.ndarray
    tail_start: int
    size: int


class _CodeBlock:
    """A full block of codes not packed yet (an index restored by
    :meth:`MatrixIndex.from_arrays` with ``pack=False``): scored by numpy, as the unpacked
    rows are, until :meth:`MatrixIndex.pack` hands it to onnxruntime."""

    def __init__(
        self, codes: np.ndarray, release: Callable[[np.ndarray], None] | None = None
    ) -> None:
        self.codes = codes
        self.rows, self.dimension = codes.shape
        # Told when the codes were read (a query scored them) and when the block is packed:
        # pages of a mapped file then go until read again (from the page cache), so that a
        # query while the blocks are packing does not hold every block's pages at once.
        self.release = release

    def dot(self, queries: np.ndarray) -> np.ndarray:
        out = np.empty((len(queries), self.rows), dtype=np.float32)
        for start in range(0, self.rows, MatrixIndex.CHUNK):
            chunk = self.codes[start : start + MatrixIndex.CHUNK].astype(np.float32)
            out[:, start : start + len(chunk)] = queries @ chunk.T
        if self.release is not None:
            self.release(self.codes)
        return out


class MatrixIndex:
    """Exact in-memory nearest-issue search over an organisation's occurrence vectors.

    One row per occurrence (unit vector, issue id, occurrence id). A query scores every row,
    then finds the best issues by their closest occurrence: the top-k issues are the first k
    distinct issues in descending row order, so :func:`np.argpartition` over a growing prefix
    of rows finds them exactly.

    ``quantized=True`` stores each row as int8 codes with one float32 scale (the row's largest
    magnitude / 127): a quarter of float32's memory (100k x 384 rows: 38 MB instead of 154 MB)
    for a cosine error below 0.003. Full blocks of ``pack_rows`` rows are handed to
    onnxruntime's int8 product (:mod:`~matching.int8scan`), which keeps them in its own
    packed layout and scores 100k rows in about 1 ms; the rows of the last, unfilled block are
    converted to float32 in chunks of :data:`CHUNK` (small enough to stay in the CPU cache) and
    scored by numpy. ``quantized=False`` keeps float32 rows, scored by numpy.

    Rows are never moved: removing an issue or occurrence marks its rows dead (their issue
    becomes -1 and they score -inf); the index is rebuilt from its source for large changes.
    """

    #: Unpacked rows converted to float32 at a time (1024 x 384 x 4 B = 1.5 MB).
    CHUNK = 1024

    def __init__(
        self,
        dimension: int = 384,
        capacity: int = 1024,
        *,
        quantized: bool = False,
        pack_rows: int = int8scan.ROWS,
    ):
        self.quantized = quantized
        self.pack_rows = pack_rows
        capacity = max(1, capacity)
        self._vectors = np.zeros((0 if quantized else capacity, dimension), dtype=np.float32)
        self._scales = np.ones(capacity if quantized else 0, dtype=np.float32)
        self._issues = np.zeros(capacity, dtype=np.int64)
        self._occurrences = np.zeros(capacity, dtype=np.int64)
        tail = np.zeros((min(capacity, pack_rows) if quantized else 0, dimension), np.int8)
        self._rows = _Rows((), tail, 0, 0)
        self._dimension = dimension
        self._dead = 0
        # The codes of the packed blocks, only when kept for :meth:`arrays` (onnxruntime
        # holds its own packed copy: keeping them doubles the memory of the vectors).
        self._kept: list[np.ndarray] | None = None
        # Full blocks left to :meth:`pack` rather than packed as they fill (:meth:`defer_packing`).
        self._deferred = False
        self._swap = threading.Lock()  # held to replace self._rows from another thread
        # Cosines centred on a shared direction (matching.centring), or plain when None.
        self.centring: Centring | None = None
        # The packed rows' norms under a centring: (the blocks' state, the centring, the
        # norms). The state is the number of blocks and of those not packed yet: blocks are
        # only added, and packed once, so it names one set of blocks without holding them.
        self._norms: tuple[tuple[int, int], Centring, np.ndarray] | None = None

    def __len__(self) -> int:
        """Live rows."""
        return self._rows.size - self._dead

    @property
    def _size(self) -> int:
        return self._rows.size

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def nbytes(self) -> int:
        """Memory held for the rows (capacity included; packed blocks at one byte a code)."""
        arrays = (self._vectors, self._scales, self._issues, self._occurrences, self._rows.tail)
        packed = sum(block.rows * block.dimension for block in self._rows.packed)
        norms = self._norms[2].nbytes if self._norms is not None else 0
        return sum(a.nbytes for a in arrays) + packed + norms

    def issue_ids(self) -> set[int]:
        return {int(i) for i in np.unique(self._issues[: self._size]) if i >= 0}

    def add(self, issue_id: int, occurrence_ids: Sequence[int], vectors: np.ndarray) -> None:
        """Append the occurrence vectors (``(d,)`` or ``(m, d)``) of one issue."""
        matrix = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if matrix.shape != (len(occurrence_ids), self.dimension):
            raise ValueError(f"expected {len(occurrence_ids)} vectors of {self.dimension}")
        start = self._size
        end = start + len(matrix)
        self._reserve(end)
        self._issues[start:end] = issue_id
        self._occurrences[start:end] = occurrence_ids
        if not self.quantized:
            self._vectors[start:end] = matrix
            self._rows = dataclasses.replace(self._rows, size=end)
            return
        scales = np.maximum(np.abs(matrix).max(axis=1), 1e-12) / 127.0
        self._scales[start:end] = scales
        codes = np.rint(matrix / scales[:, None]).astype(np.int8)
        for row in range(0, len(codes), self.pack_rows):  # a block at a time
            self._append_codes(codes[row : row + self.pack_rows])

    def add_rows(
        self, issue_ids: np.ndarray, occurrence_ids: Sequence[int], vectors: np.ndarray
    ) -> None:
        """:meth:`add` for rows of several issues (``issue_ids``, one per row): a load's
        rows converted together rather than one call per row."""
        self.add(issue_ids, occurrence_ids, vectors)  # type: ignore[arg-type]  # per row

    def _append_codes(self, codes: np.ndarray) -> None:
        with self._swap:  # not while :meth:`pack` swaps a block
            rest = self._append_block(codes)
        if len(rest):
            self._append_codes(rest)

    def _append_block(self, codes: np.ndarray) -> np.ndarray:
        rows = self._rows
        filled = rows.size - rows.tail_start
        room = self.pack_rows - filled
        head, rest = codes[:room], codes[room:]
        tail = rows.tail
        if filled + len(head) > len(tail):  # grow the unfilled block (up to pack_rows)
            capacity = min(self.pack_rows, max(filled + len(head), 2 * len(tail)))
            tail = _grown(tail, capacity)
        tail[filled : filled + len(head)] = head
        rows = _Rows(rows.packed, tail, rows.tail_start, rows.size + len(head))
        if rows.size - rows.tail_start == self.pack_rows:
            block: int8scan.PackedRows | _CodeBlock
            if self._kept is not None:  # an index to be saved, not queried: left unpacked
                self._kept.append(tail)
            if self._kept is not None or self._deferred:  # saved, or packed later by pack()
                block = _CodeBlock(tail)
            else:
                block = int8scan.PackedRows(tail)
            empty = np.zeros((min(self.pack_rows, 1024), self.dimension), dtype=np.int8)
            rows = _Rows((*rows.packed, block), empty, rows.size, rows.size)
        self._rows = rows
        return rest

    def defer_packing(self) -> None:
        """Leave the blocks that fill to :meth:`pack` (a caller's thread) instead of packing
        each as it fills: a load then packs after its transient objects are gone, not on top
        of them (100k raisings read in one process: peak 249 -> 238 MB)."""
        if self.quantized:
            self._deferred = True

    @property
    def unpacked_blocks(self) -> int:
        """Full blocks waiting for :meth:`pack`."""
        return sum(isinstance(b, _CodeBlock) for b in self._rows.packed)

    def keep_codes(self) -> None:
        """Keep the codes of the blocks packed from now on, for :meth:`arrays` (before any
        row is added: an index built to be saved, not to answer queries)."""
        if not self.quantized or self._size:
            raise ValueError("codes are kept by an empty quantized index only")
        self._kept = []

    def arrays(self) -> dict[str, np.ndarray]:
        """The rows as plain arrays (``codes``, ``scales``, ``issues``, ``occurrences``; dead
        rows included, their issue -1), for :meth:`from_arrays` (needs :meth:`keep_codes`)."""
        rows, n = self._rows, self._size
        if self._kept is None:
            raise ValueError("the codes of the packed blocks were not kept")
        codes = np.concatenate(
            [*self._kept, rows.tail[: n - rows.tail_start]], dtype=np.int8
        ).reshape(n, self.dimension)
        return {
            "codes": codes,
            "scales": self._scales[:n].copy(),
            "issues": self._issues[:n].copy(),
            "occurrences": self._occurrences[:n].copy(),
        }

    @classmethod
    def from_arrays(
        cls,
        codes: np.ndarray,
        scales: np.ndarray,
        issues: np.ndarray,
        occurrences: np.ndarray,
        *,
        pack_rows: int | None = None,
        pack: bool = True,
        release: Callable[[np.ndarray], None] | None = None,
    ) -> MatrixIndex:
        """A quantized index of rows saved by :meth:`arrays`: full blocks packed straight
        from ``codes`` (a read-only view will do), the rest copied; no row is quantized
        again. With ``pack=False`` the full blocks are scored from ``codes`` by numpy until
        :meth:`pack` packs them (a caller's thread): the index answers at once; ``release``
        is then given each block's codes once packed (e.g. to let a mapped file's pages go).
        """
        n, dimension = codes.shape
        pack_rows = pack_rows or int8scan.ROWS
        index = cls(dimension, n, quantized=True, pack_rows=pack_rows)
        index._scales[:n] = scales
        index._issues[:n] = issues
        index._occurrences[:n] = occurrences
        index._dead = int(np.count_nonzero(index._issues[:n] < 0))
        full = n - n % pack_rows
        blocks = (codes[start : start + pack_rows] for start in range(0, full, pack_rows))
        packed = tuple(
            int8scan.PackedRows(np.ascontiguousarray(block)) if pack else _CodeBlock(block, release)
            for block in blocks
        )
        rest = codes[full:]
        tail = np.zeros((min(pack_rows, max(len(rest), 1024)), dimension), dtype=np.int8)
        tail[: len(rest)] = rest
        index._rows = _Rows(packed, tail, full, n)
        return index

    def pack(self) -> None:
        """Pack the blocks :meth:`from_arrays` or :meth:`defer_packing` left unpacked, one at a
        time, each swapped in once packed (queries and additions go on meanwhile); blocks
        that fill from now on are packed as they fill."""
        with self._swap:
            self._deferred = False
        while True:
            pending = [b for b in self._rows.packed if isinstance(b, _CodeBlock)]
            if not pending:
                return
            block = pending[0]
            packed = int8scan.PackedRows(np.ascontiguousarray(block.codes))
            with self._swap:
                rows = self._rows
                blocks = tuple(packed if b is block else b for b in rows.packed)
                self._rows = dataclasses.replace(rows, packed=blocks)
            if block.release is not None:  # a query under way may still read them: no harm
                block.release(block.codes)
            # Each block leaves onnxruntime's transient copies in this thread's heap: give
            # them back before the next (4 MB off the load's peak at 100k raisings).
            heap.release_free_heap()

    def reserve(self, rows: int) -> None:
        """Make room for ``rows`` rows in all, exactly (e.g. before loading them)."""
        if rows > len(self._issues):
            self._resize(rows)

    def _reserve(self, needed: int) -> None:
        if needed > len(self._issues):
            self._resize(max(needed, 2 * len(self._issues)))

    def _resize(self, capacity: int) -> None:
        if not self.quantized:
            self._vectors = _grown(self._vectors, capacity)
        else:
            self._scales = _grown(self._scales, capacity)
        self._issues = _grown(self._issues, capacity)
        self._occurrences = _grown(self._occurrences, capacity)

    def remove_issue(self, issue_id: int) -> int:
        """Drop every row of an issue; returns the number of rows removed."""
        return self._kill(self._issues[: self._size] == issue_id)

    def remove_occurrence(self, occurrence_id: int) -> int:
        issues = self._issues[: self._size]
        return self._kill((self._occurrences[: self._size] == occurrence_id) & (issues >= 0))

    def _kill(self, rows: np.ndarray) -> int:
        removed = int(rows.sum())
        self._issues[: self._size][rows] = -1
        self._dead += removed
        return removed

    def reassign_issue(self, old_issue_id: int, new_issue_id: int) -> int:
        """Merge: the rows of ``old_issue_id`` now belong to ``new_issue_id``."""
        rows = self._issues[: self._size] == old_issue_id
        self._issues[: self._size][rows] = new_issue_id
        return int(rows.sum())

    def move_occurrence(self, occurrence_id: int, new_issue_id: int) -> int:
        """Relink one occurrence (e.g. an automatic link undone by a person)."""
        rows = (self._occurrences[: self._size] == occurrence_id) & (
            self._issues[: self._size] >= 0
        )
        self._issues[: self._size][rows] = new_issue_id
        return int(rows.sum())

    def scores(self, query_vector: np.ndarray) -> np.ndarray:
        """The cosine of every row with the query (best over the query's readings), centred
        when :attr:`centring` is set (:mod:`~matching.centring`); dead rows score -inf."""
        queries = np.atleast_2d(np.asarray(query_vector, dtype=np.float32))
        centring = self.centring
        if centring is None or centring.dimension != self.dimension:
            centring = None
        rows = self._rows  # one consistent view, whatever is added meanwhile
        n = rows.size
        if centring is None:
            products = self._products(rows, queries)
            out = products[0] if len(products) == 1 else products.max(axis=0)
        elif not self.quantized:
            centred, beta = centring.queries(queries)
            out = centring.best(
                self._products(rows, np.vstack([centred, centring.direction])), beta
            )
        else:
            # The packed rows' norms are kept (a query scans them with its readings only);
            # the rows not packed yet are scored with mu too.
            centred, beta = centring.queries(queries)
            packed = rows.tail_start
            norm = np.empty(n, dtype=np.float32)
            norm[:packed] = self._packed_norms(rows, centring)
            products = np.empty((len(centred), n), dtype=np.float32)
            self._dot_packed(rows, centred, products)
            tail = np.empty((len(centred) + 1, n - packed), dtype=np.float32)
            self._score_unpacked(
                rows.tail[: n - packed], np.vstack([centred, centring.direction]), tail
            )
            tail *= self._scales[packed:n]
            products[:, packed:] = tail[:-1]
            products[:, :packed] *= self._scales[:packed]
            norm[packed:] = centring.norms(tail[-1])
            out = centring.best_of(products, beta, norm)
        if self._dead:
            out[self._issues[:n] < 0] = -np.inf
        return out

    def _products(self, rows: _Rows, queries: np.ndarray) -> np.ndarray:
        """``(len(queries), rows)``: every row's scaled product with each query."""
        n = rows.size
        if not self.quantized:
            return np.ascontiguousarray((self._vectors[:n] @ queries.T).T)
        products = np.empty((len(queries), n), dtype=np.float32)
        start = self._dot_packed(rows, queries, products)
        self._score_unpacked(rows.tail[: n - start], queries, products[:, start:])
        products *= self._scales[:n]
        return products

    @staticmethod
    def _dot_packed(rows: _Rows, queries: np.ndarray, out: np.ndarray) -> int:
        """The packed blocks' unscaled products into ``out``; returns the rows they hold."""
        start = 0
        for block in rows.packed:
            out[:, start : start + block.rows] = block.dot(queries)
            start += block.rows
        return start

    def _packed_norms(self, rows: _Rows, centring: Centring) -> np.ndarray:
        """``|o - a*mu|`` of the packed blocks' rows, computed by the same products as a
        query's (so a score is the same bit for bit) and kept until a block is added or
        swapped for its packed form: 4 bytes a row."""
        state = (len(rows.packed), sum(isinstance(b, _CodeBlock) for b in rows.packed))
        kept = self._norms
        if kept is not None and kept[0] == state and kept[1] is centring:
            return kept[2]
        packed = sum(block.rows for block in rows.packed)
        along = np.empty((1, packed), dtype=np.float32)
        self._dot_packed(rows, centring.direction[None, :], along)
        along *= self._scales[:packed]
        norm = centring.norms(along[0])
        self._norms = (state, centring, norm)
        return norm

    def _score_unpacked(self, codes: np.ndarray, queries: np.ndarray, out: np.ndarray) -> None:
        """Each chunk is converted once, then scored by one matrix-vector product per query
        row (``out[i]``): a (rows x readings) product costs three times as much."""
        n = len(codes)
        buffer = np.empty((min(n, self.CHUNK), self.dimension), dtype=np.float32)
        for start in range(0, n, self.CHUNK):
            end = min(n, start + self.CHUNK)
            chunk = buffer[: end - start]
            np.copyto(chunk, codes[start:end], casting="unsafe")
            for line, reading in zip(out, queries, strict=True):
                np.dot(chunk, reading, out=line[start:end])

    def top_k_issues(
        self, query_vector: np.ndarray, k: int, *, exclude: Iterable[int] = ()
    ) -> list[tuple[int, float]]:
        """The ``k`` issues whose closest occurrence is closest: ``(issue_id, cosine)``.
        ``query_vector`` is ``(d,)`` or ``(k, d)`` (best over the query's readings)."""
        if k <= 0 or self._size == 0:
            return []
        return self.top_k_from_scores(self.scores(query_vector), k, exclude=exclude)

    def top_k_from_scores(
        self, scores: np.ndarray, k: int, *, exclude: Iterable[int] = ()
    ) -> list[tuple[int, float]]:
        """:meth:`top_k_issues` for row scores already computed by :meth:`scores`."""
        if k <= 0 or self._size == 0:
            return []
        issues = self._issues[: self._size]
        excluded = np.fromiter(exclude, dtype=np.int64)
        if excluded.size:
            scores = scores.copy()
            scores[np.isin(issues, excluded)] = -np.inf
        rows = _first_distinct_rows(scores, issues, k)
        return [(int(issues[r]), float(scores[r])) for r in rows if np.isfinite(scores[r])]

    def issue_cosines(
        self, scores: np.ndarray, issue_ids: Iterable[int]
    ) -> dict[int, tuple[float, float]]:
        """For each issue: its best row score and the mean of its two best (one row: the
        same), from row scores computed by :meth:`scores`."""
        wanted = np.fromiter(issue_ids, dtype=np.int64)
        issues = self._issues[: len(scores)]
        rows = _rows_of(issues, wanted)
        if not rows.size:
            return {}
        order = np.lexsort((-scores[rows], issues[rows]))  # by issue, best score first
        rows = rows[order]
        owners = issues[rows]
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        best = scores[rows[starts]]
        has_second = np.r_[starts[1:], len(rows)] - starts > 1
        second = np.where(has_second, scores[rows[np.minimum(starts + 1, len(rows) - 1)]], best)
        return {
            int(owner): (float(b), float((b + s) / 2))
            for owner, b, s in zip(owners[starts], best, second, strict=True)
        }


def _grown(array: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown


def _first_distinct_rows(scores: np.ndarray, issues: np.ndarray, k: int) -> np.ndarray:
    """Rows holding the best score of each of the k best issues, best first."""
    n = len(scores)
    prefix = min(n, 4 * k)
    while True:
        top = _top_rows(scores, prefix)
        _, first = np.unique(issues[top], return_index=True)
        if len(first) >= k or prefix >= n:
            return top[np.sort(first)[:k]]
        prefix = min(n, prefix * 4)


#: Every how many rows :func:`_top_rows` samples a score to guess its threshold.
_SAMPLE_STEP = 64


def _top_rows(scores: np.ndarray, count: int) -> np.ndarray:
    """The rows of the ``count`` best scores, best first (ties by row). Exact: a threshold
    guessed from a sample of the scores keeps the rows at or above it, which hold the
    ``count`` best whenever there are at least ``count`` of them; otherwise every row is
    partitioned. A fifth of a millisecond less than partitioning 100k rows every time."""
    n = len(scores)
    if count >= n:
        return np.argsort(-scores, kind="stable")
    sample = scores[::_SAMPLE_STEP]
    # Twice the sample's expected share of the best rows, and some: rarely too few.
    wanted = min(len(sample), 2 * count // _SAMPLE_STEP + 8)
    threshold = np.partition(sample, len(sample) - wanted)[len(sample) - wanted]
    rows = np.flatnonzero(scores >= threshold)
    if len(rows) < count:
        rows = np.argpartition(-scores, count - 1)[:count]
        rows.sort()
    return rows[np.argsort(-scores[rows], kind="stable")][:count]


def _rows_of(issues: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The rows whose issue is one of ``wanted``, in row order (``np.isin`` through a lookup
    table over the wanted ids' range: a tenth of its time for a pool of 80 issues)."""
    if not len(wanted):
        return np.zeros(0, dtype=np.int64)
    low, high = int(wanted.min()), int(wanted.max())
    if high - low > 4 * len(issues):  # ids too far apart for a table
        return np.flatnonzero(np.isin(issues, wanted))
    table = np.zeros(high - low + 1, dtype=bool)
    table[wanted - low] = True
    rows = np.flatnonzero((issues >= low) & (issues <= high))
    return rows[table[issues[rows] - low]]
