"""The recurrence matcher over the database: suggestions while typing and import linking.

An organisation's live occurrence vectors, texts and teams are held in an in-memory
:class:`OrgIndex` (exact search over a matrix; no approximate index structures). Each web
process keeps one per organisation and brings it up to date on every query: new occurrences
are appended (one indexed query for rows newer than the newest it holds), and structural
changes (relinks, merges, archives) bump a per-organisation stamp in the cache that makes
the next query rebuild it. On PostgreSQL the lexical pool comes from the trigram GiST index;
on SQLite from the texts in memory. Ranking itself is :func:`retros.matching.ranker.rank`.
Never returns another organisation's issue: every query is filtered by organisation.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q

from diagnosis.fixkinds import FIX_KINDS
from retros.matching import embedding, lexical
from retros.matching.ranker import Candidate, Decision, MatrixIndex, Query, Suggestion, rank
from retros.matching.weights import DEFAULT_WEIGHTS, MatchWeights
from retros.models import Fix, Issue, LinkReview, Occurrence, Organization, ReviewStatus, Team

POOL = 40  # candidates per signal: best by meaning plus best by spelling
BAND_AID_KINDS = [slug for slug, kind in FIX_KINDS.items() if kind.nature == "band_aid"]
_STAMP_KEY = "matching:stamp:{}"


@dataclass
class IssueSuggestion:
    """A ranked earlier issue with what a facilitator needs to judge it."""

    issue: Issue
    score: float
    reasons: tuple[str, ...]
    teams: list[str]
    fixes_tried: int
    band_aid_fixes: int
    semantic: float = 0.0
    lexical: float = 0.0
    same_team: bool = False


@dataclass
class OrgIndex:
    """One organisation's occurrences as matcher input."""

    index: MatrixIndex = field(default_factory=lambda: MatrixIndex(embedding.DIMENSION))
    texts: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    teams: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    vocabulary: lexical.Vocabulary = field(default_factory=lexical.Vocabulary)
    newest_id: int = 0
    stamp: int = 0

    def add(
        self, *, occurrence_id: int, issue_id: int, text: str, team: str, vector: np.ndarray
    ) -> None:
        self.index.add(issue_id, [occurrence_id], vector)
        self.texts[issue_id].append(text)
        self.teams[issue_id].add(team)
        self.vocabulary.update([text])
        self.newest_id = max(self.newest_id, occurrence_id)

    def pool(
        self,
        text: str,
        vectors: np.ndarray,
        *,
        exclude: Iterable[int] = (),
        lexical_ids: Iterable[int] | None = None,
    ) -> dict[int, float]:
        """Issue id → best cosine, for the best issues by meaning and by spelling."""
        excluded = set(exclude)
        semantic = dict(self.index.top_k_issues(vectors, POOL, exclude=excluded))
        for issue_id in lexical_ids if lexical_ids is not None else self._lexical_ids(text):
            if issue_id not in semantic and issue_id not in excluded and issue_id in self.texts:
                cosines = self.index.vectors_of(issue_id) @ np.atleast_2d(vectors).T
                semantic[issue_id] = float(np.max(cosines))
        return semantic

    def _lexical_ids(self, text: str) -> list[int]:
        query = lexical.trigrams(lexical.normalize(text))
        scores = {
            issue_id: max(
                lexical.set_similarity(query, lexical.trigrams(lexical.normalize(t))) for t in texts
            )
            for issue_id, texts in self.texts.items()
        }
        return sorted(scores, key=lambda i: -scores[i])[:POOL]

    def lexical_score(self, text: str, issue_id: int) -> float:
        query = lexical.normalize(text)
        return max(
            (lexical.word_similarity(query, lexical.normalize(t)) for t in self.texts[issue_id]),
            default=0.0,
        )

    def query_vectors(self, text: str) -> np.ndarray:
        return embedding.encode_query(text, self.vocabulary)


def _live_occurrences(organization_id: int):
    return Occurrence.objects.live().filter(
        organization_id=organization_id,
        issue__archived_at=None,
        issue__merged_into=None,
    )


def _load_rows(org_index: OrgIndex, organization_id: int, newer_than: int = 0) -> None:
    rows = (
        _live_occurrences(organization_id)
        .filter(id__gt=newer_than)
        .order_by("id")
        .values_list("id", "issue_id", "text", "team__name", "embedding", "embedding_model")
    )
    missing: list[tuple[int, int, str, str]] = []
    for occ_id, issue_id, text, team, blob, model_id in rows.iterator(chunk_size=2000):
        if blob is None or model_id != embedding.MODEL_ID:
            missing.append((occ_id, issue_id, text, team))
            continue
        org_index.add(
            occurrence_id=occ_id,
            issue_id=issue_id,
            text=text,
            team=team,
            vector=embedding.from_bytes(bytes(blob)),
        )
    if missing:
        vectors = embedding.encode([m[2] for m in missing])
        for (occ_id, issue_id, text, team), vector in zip(missing, vectors, strict=True):
            Occurrence.objects.filter(pk=occ_id).update(
                embedding=embedding.to_bytes(vector), embedding_model=embedding.MODEL_ID
            )
            org_index.add(
                occurrence_id=occ_id, issue_id=issue_id, text=text, team=team, vector=vector
            )


_indexes: dict[int, OrgIndex] = {}
_lock = threading.Lock()


def invalidate(organization_id: int) -> None:
    """Structural change (relink, merge, split, archive): rebuild on the next query."""
    key = _STAMP_KEY.format(organization_id)
    if not cache.add(key, 1, timeout=None):
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=None)


def org_index(organization_id: int) -> OrgIndex:
    """This process's up-to-date index of the organisation."""
    stamp = cache.get(_STAMP_KEY.format(organization_id), 0)
    with _lock:
        current = _indexes.get(organization_id)
        if current is None or current.stamp != stamp:
            current = OrgIndex(stamp=stamp)
            _load_rows(current, organization_id)
            _indexes[organization_id] = current
        else:
            _load_rows(current, organization_id, newer_than=current.newest_id)
        return current


def _lexical_ids_from_postgres(organization_id: int, text: str) -> list[int]:
    """The issues of the nearest occurrence texts by trigram distance, from the GiST index."""
    sql = (
        "SELECT o.issue_id FROM retros_occurrence o "
        "JOIN retros_issue i ON i.id = o.issue_id "
        "WHERE o.organization_id = %s AND o.archived_at IS NULL "
        "AND i.archived_at IS NULL AND i.merged_into_id IS NULL "
        "ORDER BY o.text <-> %s LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization_id, text, POOL * 3])
        seen: dict[int, None] = {}
        for (issue_id,) in cursor.fetchall():
            seen.setdefault(issue_id)
    return list(seen)[:POOL]


def rejected_candidates(occurrence_ids: Sequence[int]) -> set[int]:
    return set(
        LinkReview.objects.filter(
            occurrence_id__in=occurrence_ids, status=ReviewStatus.REJECTED
        ).values_list("candidate_id", flat=True)
    )


def suggest(
    *,
    organization: Organization,
    text: str,
    team: Team | None = None,
    limit: int = 5,
    exclude_issue_ids: Iterable[int] = (),
    on: date | None = None,
    weights: MatchWeights = DEFAULT_WEIGHTS,
    min_score: float | None = None,
) -> list[IssueSuggestion]:
    """The organisation's earlier issues most likely to be the one `text` describes."""
    text = text.strip()
    if len(text) < 3:
        return []
    idx = org_index(organization.pk)
    if not len(idx.index):
        return []
    vectors = idx.query_vectors(text)
    lexical_ids = (
        _lexical_ids_from_postgres(organization.pk, text)
        if connection.vendor == "postgresql"
        else None
    )
    pool = idx.pool(text, vectors, exclude=exclude_issue_ids, lexical_ids=lexical_ids)
    meta = _issue_meta(organization.pk, list(pool))
    candidates = [
        _candidate(issue_id, cosine, idx, meta[issue_id], text)
        for issue_id, cosine in pool.items()
        if issue_id in meta
    ]
    query = Query(text=text, vector=vectors, team=team.name if team else None, on=on)
    ranked = rank(query, candidates, weights, limit=limit, min_score=min_score)
    return [_suggestion(s, meta[s.issue_id], idx, team) for s in ranked]


@dataclass
class _Meta:
    issue: Issue
    fixes: int = 0
    band_aid_fixes: int = 0
    open_fixes: int = 0
    flagged: bool = False


def _issue_meta(organization_id: int, issue_ids: list[int]) -> dict[int, _Meta]:
    """Counts and flags for the pool's issues, in three queries whatever the pool size."""
    from diagnosis.models import Finding

    issues = Issue.objects.filter(
        organization_id=organization_id, pk__in=issue_ids, archived_at=None, merged_into=None
    ).only("id", "title", "occurrence_count", "team_count", "first_seen", "last_seen")
    meta = {issue.pk: _Meta(issue) for issue in issues}
    fix_counts = (
        Fix.objects.live()
        .filter(issue_id__in=meta)
        .values("issue_id")
        .annotate(
            total=Count("id"),
            band_aid=Count("id", filter=Q(kind__in=BAND_AID_KINDS)),
            open=Count("id", filter=Q(status="open")),
        )
    )
    for row in fix_counts:
        m = meta[row["issue_id"]]
        m.fixes, m.band_aid_fixes, m.open_fixes = row["total"], row["band_aid"], row["open"]
    for issue_id in Finding.objects.filter(
        issue_id__in=meta, is_current=True, flagged=True
    ).values_list("issue_id", flat=True):
        meta[issue_id].flagged = True
    return meta


def _candidate(issue_id: int, cosine: float, idx: OrgIndex, meta: _Meta, text: str) -> Candidate:
    issue = meta.issue
    return Candidate(
        issue_id=issue_id,
        title=issue.title,
        semantic=cosine,
        lexical=idx.lexical_score(text, issue_id),
        teams=frozenset(idx.teams[issue_id]),
        occurrences=issue.occurrence_count or len(idx.texts[issue_id]),
        last_seen=issue.last_seen,
        active=True,
        flagged=meta.flagged,
        open_fixes=meta.open_fixes,
        band_aid_fixes=meta.band_aid_fixes,
    )


def _suggestion(s: Suggestion, meta: _Meta, idx: OrgIndex, team: Team | None) -> IssueSuggestion:
    teams = sorted(idx.teams[s.issue_id])
    return IssueSuggestion(
        issue=meta.issue,
        score=s.score,
        reasons=s.reasons,
        teams=teams,
        fixes_tried=meta.fixes,
        band_aid_fixes=meta.band_aid_fixes,
        semantic=s.semantic,
        lexical=s.lexical,
        same_team=team is not None and team.name in teams,
    )


def embed_occurrence(occurrence: Occurrence) -> None:
    """Compute and store the occurrence's vector (in the request for one logged item)."""
    vector = embedding.encode_one(occurrence.text)
    occurrence.embedding = embedding.to_bytes(vector)
    occurrence.embedding_model = embedding.MODEL_ID
    Occurrence.objects.filter(pk=occurrence.pk).update(
        embedding=occurrence.embedding, embedding_model=occurrence.embedding_model
    )


# --- import linking -----------------------------------------------------------------------


@dataclass(frozen=True)
class LinkChoice:
    link_to: int | None
    review_with: int | None
    score: float
    reasons: tuple[str, ...]


class ImportLinker:
    """Links imported items to earlier issues of the organisation, in date order.

    Vectors for the new items are computed in one batch (`prepare`); each new occurrence is
    added to the index as it is written, so later items can match it.
    """

    def __init__(self, organization: Organization, weights: MatchWeights = DEFAULT_WEIGHTS):
        from retros.models import Issue

        self.organization = organization
        self.weights = _weights_for(organization, weights)
        self.idx = OrgIndex()
        _load_rows(self.idx, organization.pk)
        self._vectors: dict[str, np.ndarray] = {}
        self._titles: dict[int, str] = dict(
            Issue.objects.filter(organization=organization).values_list("id", "title")
        )
        self._last_seen: dict[int, date] = {}

    def prepare(self, texts: Sequence[str]) -> None:
        unique = list(dict.fromkeys(texts))
        for text, vector in zip(unique, embedding.encode(unique), strict=True):
            self._vectors[text] = vector

    def vector(self, text: str) -> np.ndarray:
        """The text's vector (computed in `prepare` for a whole import at once)."""
        vector = self._vectors.get(text)
        if vector is None:
            vector = embedding.encode([text])[0]
            self._vectors[text] = vector
        return vector

    def decide(self, text: str, *, team: str, on: date) -> LinkChoice:
        from retros.matching.ranker import link_decision

        vector = self.vector(text)
        if not len(self.idx.index):
            return LinkChoice(None, None, 0.0, ())
        pool = self.idx.pool(text, vector)
        candidates = [
            Candidate(
                issue_id=issue_id,
                title=self._titles.get(issue_id, ""),
                semantic=cosine,
                lexical=self.idx.lexical_score(text, issue_id),
                teams=frozenset(self.idx.teams[issue_id]),
                occurrences=len(self.idx.texts[issue_id]),
                last_seen=self._last_seen.get(issue_id),
            )
            for issue_id, cosine in pool.items()
        ]
        ranked = rank(
            Query(text, vector, team=team, on=on),
            candidates,
            self.weights,
            limit=1,
            min_score=float("-inf"),
        )
        best = ranked[0] if ranked else None
        decision = link_decision(best, self.weights)
        if best is None or decision == Decision.NEW:
            return LinkChoice(None, None, best.score if best else 0.0, ())
        if decision == Decision.LINK:
            return LinkChoice(best.issue_id, None, best.score, best.reasons)
        return LinkChoice(None, best.issue_id, best.score, best.reasons)

    def add(self, occurrence: Occurrence, *, team: str) -> None:
        """Make a just-written occurrence (with its vector) matchable by later items."""
        vector = self.vector(occurrence.text)
        self.idx.add(
            occurrence_id=occurrence.pk,
            issue_id=occurrence.issue_id,
            text=occurrence.text,
            team=team,
            vector=vector,
        )
        self._titles.setdefault(occurrence.issue_id, occurrence.text[:200])
        previous = self._last_seen.get(occurrence.issue_id)
        if previous is None or occurrence.held_on > previous:
            self._last_seen[occurrence.issue_id] = occurrence.held_on

    def title_of(self, issue_id: int) -> str:
        return self._titles.get(issue_id, "")


def _weights_for(organization: Organization, weights: MatchWeights) -> MatchWeights:
    """The organisation's auto-link threshold, when an admin set one."""
    import dataclasses

    threshold = organization.auto_link_threshold
    if threshold is None:
        return weights
    threshold = min(1.0, max(weights.review, float(threshold)))
    return dataclasses.replace(weights, auto_link=threshold)
