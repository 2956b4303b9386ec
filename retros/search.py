"""The recurrence matcher over the database: suggestions while typing and import linking.

An organisation's live occurrences and fixes are held in an in-memory :class:`OrgIndex`, an
:class:`~matching.index.IssueIndex` (int8 vectors, the distinctive words and
root-cause profiles of occurrence and fix texts; no texts kept) that the replay evaluation
ranks against too. Each web process keeps its indexes in an :class:`IndexCache`: by recent
use within a memory budget (``RECUR_MATCHER_MEMORY_MB``), with a lock per organisation, so
that a load never holds up another organisation's queries. An index is brought up to date on
every query: one query reads the organisation's matching stamp and the newest occurrence, fix
and change ids of the database. When the ids have moved, new occurrences and new fixes are
appended (one indexed query each for rows newer than the newest it holds), and structural
changes of a few issues (relinks, splits, merges, archives: :func:`changed` writes a
:class:`~retros.models.MatchingChange` after they commit) are applied in place, by re-reading
just those issues. A moved stamp (:func:`invalidate`: a new model, an import) rebuilds the
index in a thread while the old one keeps answering. A cold load reads the organisation's
snapshot (:mod:`retros.snapshot`: the built index saved whole) when one fits, then what
came after it; else every row, the stored profiles and words read in bulk, and a snapshot is
then written in the background. The candidates by wording
come from the index's distinctive words, on every database alike. Ranking itself is
:func:`matching.ranker.rank`. Never returns another organisation's issue: every
query is filtered by organisation.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F, QuerySet

from matching import centring, embedding, heap, ranker, rootcause
from matching.index import POOL, IssueIndex, OneRetroIssues, Words
from matching.ranker import Candidate, Decision, Query, Suggestion
from matching.weights import DEFAULT_WEIGHTS, MatchWeights
from retros import profile_store, visibility
from retros.models import (
    Fix,
    FixStatus,
    Issue,
    ItemType,
    LinkReview,
    MatchingChange,
    Occurrence,
    Organization,
    Retrospective,
    ReviewStatus,
    Team,
)
from retros.sql import Prepared
from retros.sql import among as sql_among
from vocabulary.fixkinds import BAND_AID_KINDS

logger = logging.getLogger(__name__)

_LOAD_CHUNK = 1000


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
    # How its title is decided for the person asking (when they do not read every team's
    # words and asked with readable_teams): retros.visibility.show_titles_read.
    provenance: visibility.Provenance | None = None


_text_key = profile_store.text_key


#: Texts appended by queries that wait before their profiles are merged and stored.
_MERGE_AT_LEAST = 1024


class ProfileCache:
    """Root-cause profiles of texts by database id (and a hash of the text, so an edited
    text is read again). Profiling is the costly part of loading an index (about 0.15 ms a
    text, 15 s for 100k), so a rebuild after a relink or merge takes them from the index it
    replaces. Compact: sorted arrays, 28 bytes a text; texts put since the last
    :meth:`freeze` wait in flat arrays, not as objects per text (100k of them, freed
    together, would leave the Python heap fragmented)."""

    def __init__(self) -> None:
        width = len(rootcause.CATEGORIES)
        self._ids = np.zeros(0, dtype=np.int64)
        self._keys = np.zeros(0, dtype=np.uint64)
        self._values = np.zeros((0, width), dtype=np.float32)
        self._pending_ids = array("q")
        self._pending_keys = array("Q")
        self._pending_values = array("f")
        self._pending_texts: list[str] = []  # to store their words with them
        self._stored: profile_store.Stored | None = None

    def __len__(self) -> int:
        return len(self._ids) + len(self._pending_ids)

    @classmethod
    def stored(cls, organization_id: int, kind: str) -> ProfileCache:
        """The profiles the database keeps for the organisation's texts of one kind, with
        their words until :meth:`freeze` (a load's lookups)."""
        cache = cls()
        cache._stored = profile_store.read(organization_id, kind)  # ordered by id
        cache._ids, cache._keys = cache._stored.ids, cache._stored.keys
        cache._values = cache._stored.values
        return cache

    def arrays(self) -> dict[str, np.ndarray]:
        """What :meth:`freeze` merged (ids, keys, profiles), for :meth:`from_arrays`."""
        return {"ids": self._ids, "keys": self._keys, "values": self._values}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ProfileCache:
        cache = cls()
        cache._ids = np.array(arrays["ids"], dtype=np.int64)
        cache._keys = np.array(arrays["keys"], dtype=np.uint64)
        cache._values = np.array(arrays["values"], dtype=np.float32).reshape(
            -1, len(rootcause.CATEGORIES)
        )
        return cache

    def store_pending(self, organization_id: int, kind: str) -> None:
        """Keep in the database what was put since the last :meth:`freeze`."""
        width = self._values.shape[1]
        profile_store.write(
            organization_id,
            kind,
            np.frombuffer(self._pending_ids, dtype=np.int64),
            np.frombuffer(self._pending_keys, dtype=np.uint64),
            np.frombuffer(self._pending_values, dtype=np.float32).reshape(-1, width),
            self._pending_texts,
        )

    @property
    def nbytes(self) -> int:
        held = (self._ids, self._keys, self._values)
        pending = (self._pending_ids, self._pending_keys, self._pending_values)
        return sum(a.nbytes for a in held) + sum(a.itemsize * len(a) for a in pending)

    def get(self, row_id: int, text: str) -> np.ndarray | None:
        at = int(np.searchsorted(self._ids, row_id))
        if at < len(self._ids) and self._ids[at] == row_id and self._keys[at] == _text_key(text):
            return self._values[at]
        return None

    def get_many(
        self, row_ids: list[int], texts: list[str]
    ) -> tuple[list[np.ndarray | None], list[Words | None]]:
        """:meth:`get` of many rows, looked up together; and their stored words, while a
        load from the store lasts."""
        if not len(self._ids):
            return [None] * len(row_ids), [None] * len(row_ids)
        ids = np.asarray(row_ids, dtype=np.int64)
        keys = np.fromiter(map(_text_key, texts), dtype=np.uint64, count=len(texts))
        at = np.minimum(np.searchsorted(self._ids, ids), len(self._ids) - 1)
        found = (self._ids[at] == ids) & (self._keys[at] == keys)
        profiles = [self._values[a] if hit else None for a, hit in zip(at, found, strict=True)]
        stored = self._stored
        if stored is None:
            return profiles, [None] * len(row_ids)
        words = [stored.words_at(a) if hit else None for a, hit in zip(at, found, strict=True)]
        if found.any():
            stored.release_before(int(at[found].min()))
        return profiles, words

    def get_one(self, row_id: int, text: str) -> tuple[np.ndarray | None, Words | None]:
        profiles, words = self.get_many([row_id], [text])
        return profiles[0], words[0]

    def pending_is_large(self) -> bool:
        """Whether the texts put since the last :meth:`freeze` are worth merging now. A
        merge copies and sorts every profile held (100k rows: milliseconds) and a store
        writes to the database, so the few texts a query appends wait for many more; until
        then :meth:`get` does not find them, which costs only profiling them again should
        their rows be read again (an edit, a change re-read)."""
        return len(self._pending_ids) >= max(_MERGE_AT_LEAST, len(self._ids) // 16)

    def put(self, row_id: int, text: str, profile: np.ndarray) -> None:
        self._pending_texts.append(text)
        self._pending_ids.append(row_id)
        self._pending_keys.append(_text_key(text))
        self._pending_values.extend(profile.tolist())

    def freeze(self) -> None:
        """Merge what was put since the last call (before the next lookups); the stored
        words are let go (a load is over)."""
        self._stored = None
        if not self._pending_ids:
            return
        width = self._values.shape[1]
        ids = np.concatenate([self._ids, np.frombuffer(self._pending_ids, dtype=np.int64)])
        keys = np.concatenate([self._keys, np.frombuffer(self._pending_keys, dtype=np.uint64)])
        pending = np.frombuffer(self._pending_values, dtype=np.float32).reshape(-1, width)
        values = np.concatenate([self._values, pending])
        order = np.argsort(ids, kind="stable")
        ids, keys, values = ids[order], keys[order], values[order]
        last = np.append(ids[1:] != ids[:-1], True)  # an edited text: its newest profile
        self._ids, self._keys, self._values = ids[last], keys[last], values[last]
        self._pending_ids, self._pending_keys = array("q"), array("Q")
        self._pending_values = array("f")
        self._pending_texts = []


class OrgIndex(IssueIndex):
    """One organisation's live occurrences and fixes as matcher input."""

    def __init__(
        self,
        stamp: int = 0,
        *,
        occurrence_profiles: ProfileCache | None = None,
        fix_profiles: ProfileCache | None = None,
    ) -> None:
        super().__init__(
            embedding.DIMENSION, quantized=True, pool=POOL, centring=centring.default()
        )
        self.stamp = stamp
        self.newest_id = 0
        self.newest_fix_id = 0
        # The newest ids of any organisation when it was last brought up to date.
        self.checked = (0, 0)
        self.occurrence_profiles = occurrence_profiles or ProfileCache()
        self.fix_profiles = fix_profiles or ProfileCache()
        # The newest change (MatchingChange id, of any organisation) applied, the ids of the
        # organisation's changes just behind it that are applied, and how many rows changes
        # have replaced since the index was loaded (dead rows: a rebuild beyond a share).
        self.seen_change = 0
        self.applied: set[int] = set()
        self.replaced = 0
        self.estimate = 0  # bytes, as of the last load or change

    def estimate_size(self) -> int:
        profiles = self.occurrence_profiles.nbytes + self.fix_profiles.nbytes
        self.estimate = self.nbytes + profiles
        return self.estimate

    def add(
        self, *, occurrence_id: int, issue_id: int, text: str, team: str, vector: np.ndarray
    ) -> None:
        """Add one live occurrence (its vector computed already)."""
        self.add_many([(occurrence_id, issue_id, text, team)], vector.reshape(1, -1))

    def add_many(
        self,
        rows: list[tuple[int, int, str, str]],
        vectors: np.ndarray,
    ) -> None:
        """Add live occurrences (``(id, issue id, text, team)``, their vectors as one
        array): profiles looked up and vectors converted together."""
        if not rows:
            return
        ids, issue_ids, texts, teams = (list(column) for column in zip(*rows, strict=True))
        known, words = self.occurrence_profiles.get_many(ids, texts)
        profiles = self.add_occurrences(
            occurrence_ids=ids,
            issue_ids=issue_ids,
            texts=texts,
            teams=teams,
            vectors=vectors,
            profiles=known,
            words=words,
        )
        for row_id, text, was, profile in zip(ids, texts, known, profiles, strict=True):
            if was is None:
                self.occurrence_profiles.put(row_id, text, profile)
        self.newest_id = max(self.newest_id, max(ids))

    def add_live_fixes(self, rows: list[tuple[int, int, str]]) -> None:
        """Add live fixes (``(id, issue id, text)``), their profiles looked up together."""
        if not rows:
            return
        ids, _, texts = (list(column) for column in zip(*rows, strict=True))
        known, words = self.fix_profiles.get_many(ids, texts)
        for (fix_id, issue_id, text), was, read in zip(rows, known, words, strict=True):
            profile = self.add_fix(issue_id, text, was, read)
            if was is None:
                self.fix_profiles.put(fix_id, text, profile)
        self.newest_fix_id = max(self.newest_fix_id, max(ids))

    def query_vectors(self, text: str) -> np.ndarray:
        return self.read(text)[1]


def _live_occurrences(organization_id: int):
    # Appreciation is never a candidate recurrence of a problem: only problems are matched.
    return (
        Occurrence.objects.live()
        .problems()
        .filter(
            organization_id=organization_id,
            issue__archived_at=None,
            issue__merged_into=None,
        )
    )


def live_occurrence_count(organization_id: int) -> int:
    """The raisings an index of the organisation holds."""
    return _live_occurrences(organization_id).count()


def _stream[T](rows: Iterable[T], *, whole: bool) -> Iterable[T]:
    """A whole organisation in chunks (a server-side cursor on PostgreSQL); the few rows
    added since the last query in one fetch (a cursor would cost three round trips)."""
    if whole and isinstance(rows, QuerySet):
        return rows.iterator(chunk_size=_LOAD_CHUNK)
    return rows


def _load_rows(
    org_index: OrgIndex,
    organization_id: int,
    newer_than: int = 0,
    fixes_newer_than: int = 0,
    *,
    issue_ids: Sequence[int] | None = None,
    store: bool = True,
) -> None:
    """Add the organisation's live rows newer than the ids given; with ``issue_ids``, only
    those issues' rows up to the newest ids the index holds (the newer ones join with the
    next append)."""
    whole = not newer_than and issue_ids is None
    rows: Iterable[tuple[int, int, str, str, Any, str]]
    fix_rows: Iterable[tuple[int, int, str]]
    if issue_ids is None and not whole:
        # The few rows added since the last query, read after every write: statements
        # compiled once.
        rows = _NEWER_OCCURRENCES.rows(organization=organization_id, after=newer_than)
        fix_rows = _NEWER_FIXES.rows(organization=organization_id, after=fixes_newer_than)
    else:
        rows, fix_rows = _rows_of(organization_id, org_index, fixes_newer_than, issue_ids=issue_ids)
    _add_rows(org_index, organization_id, rows, fix_rows, whole=whole, store=store)


def _newer_occurrences(organization: int, after: int) -> QuerySet[Any, Any]:
    return _live_occurrences(organization).filter(id__gt=after).order_by("id").values_list(*_ROW)


def _newer_fixes(organization: int, after: int) -> QuerySet[Any, Any]:
    return _live_fixes(organization).filter(id__gt=after).order_by("id").values_list(*_FIX_ROW)


def _live_fixes(organization_id: int) -> QuerySet[Fix, Fix]:
    return Fix.objects.live().filter(
        organization_id=organization_id, issue__archived_at=None, issue__merged_into=None
    )


#: What the index reads of an occurrence and of a fix.
_ROW = ("id", "issue_id", "text", "team__name", "embedding", "embedding_model")
_FIX_ROW = ("id", "issue_id", "text")
_NEWER_OCCURRENCES = Prepared(_newer_occurrences, "organization", "after")
_NEWER_FIXES = Prepared(_newer_fixes, "organization", "after")


def _rows_of(
    organization_id: int,
    org_index: OrgIndex,
    fixes_newer_than: int,
    *,
    issue_ids: Sequence[int] | None,
) -> tuple[QuerySet[Any, Any], QuerySet[Any, Any]]:
    """The organisation's rows (all, or those of ``issue_ids``) as querysets; fixes newer
    than ``fixes_newer_than``."""
    live = _live_occurrences(organization_id)
    fixes = _live_fixes(organization_id).filter(id__gt=fixes_newer_than)
    if issue_ids is not None:
        # The organisation through the issues' rows, so that the issue index is used (by the
        # occurrence's own organisation column, SQLite scans the whole organisation).
        live = (
            Occurrence.objects.live()
            .problems()
            .filter(
                issue_id__in=issue_ids,
                issue__organization_id=organization_id,
                issue__archived_at=None,
                issue__merged_into=None,
                id__lte=org_index.newest_id,
            )
        )
        fixes = fixes.filter(issue_id__in=issue_ids, id__lte=org_index.newest_fix_id)
    else:
        org_index.matrix.reserve(live.count())  # exact size: no spare doubled capacity
    return live.order_by("id").values_list(*_ROW), fixes.order_by("id").values_list(*_FIX_ROW)


def _add_rows(
    org_index: OrgIndex,
    organization_id: int,
    rows: Iterable[tuple[int, int, str, str, Any, str]],
    fix_rows: Iterable[tuple[int, int, str]],
    *,
    whole: bool,
    store: bool,
) -> None:
    """Add the rows read to the index (vectors a chunk at a time, profiles looked up
    together), those of the whole organisation streamed."""
    missing: list[tuple[int, int, str, str]] = []
    chunk: list[tuple[int, int, str, str]] = []
    blobs: list[bytes] = []

    def flush() -> None:
        # The chunk's vectors read as one array: no conversion per row.
        vectors = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(chunk), -1)
        org_index.add_many(chunk, vectors.astype(np.float32))
        large = whole or len(chunk) == _LOAD_CHUNK
        chunk.clear()
        blobs.clear()
        if large:
            # What the chunk's rows left between the index's growing arrays goes back now,
            # not at the end of the load (100k raisings read in one process: peak 273 -> 265
            # MB). Not after the few rows a write adds: the heap has nothing to give back.
            heap.release_free_heap()

    width = 4 * embedding.DIMENSION
    for occ_id, issue_id, text, team, blob, model_id in _stream(rows, whole=whole):
        if blob is None or model_id != embedding.MODEL_ID or len(blob) != width:
            missing.append((occ_id, issue_id, text, team))
            continue
        chunk.append((occ_id, issue_id, text, team))
        blobs.append(bytes(blob))
        if len(chunk) == _LOAD_CHUNK:
            flush()
    if chunk:
        flush()
    if missing:
        vectors = embedding.encode([m[2] for m in missing])
        for (occ_id, issue_id, text, team), vector in zip(missing, vectors, strict=True):
            Occurrence.objects.filter(pk=occ_id).update(
                embedding=embedding.to_bytes(vector), embedding_model=embedding.MODEL_ID
            )
            org_index.add(
                occurrence_id=occ_id, issue_id=issue_id, text=text, team=team, vector=vector
            )
    fix_chunk: list[tuple[int, int, str]] = []
    for row in _stream(fix_rows, whole=whole):
        fix_chunk.append(row)
        if len(fix_chunk) == _LOAD_CHUNK:
            org_index.add_live_fixes(fix_chunk)
            fix_chunk = []
    org_index.add_live_fixes(fix_chunk)
    for cache, kind in (
        (org_index.occurrence_profiles, profile_store.OCCURRENCE),
        (org_index.fix_profiles, profile_store.FIX),
    ):
        if whole or cache.pending_is_large():
            if store:
                cache.store_pending(organization_id, kind)
            cache.freeze()


#: Change ids read again behind the newest one seen: an id handed out just before a newer
#: one can commit just after it.
_CHANGE_SLACK = 200
#: Likewise rows: those of ids this far behind the newest of any organisation at the last
#: check are read again when not held. The rows newer than an index holds are asked for
#: from there, not from its own newest: PostgreSQL cannot tell that an organisation's ids
#: stop where another's begin, and for "this organisation's rows above its newest id"
#: (a quiet organisation among busy ones) it scans the whole organisation or every newer
#: row of the others (100k raisings: 0.1-0.25 s; an index on (organisation, id) is not
#: chosen); rows added since the last check are few, and found by the primary key.
_ROW_SLACK = 200
#: A change touching more issues than this rebuilds the index instead.
_MAX_CHANGED_ISSUES = 500
#: Rows replaced by changes, as a share of the index, beyond which it is rebuilt (the
#: replaced rows stay in its arrays, dead, until then), and no sooner than this many.
_REBUILD_SHARE = 0.25
_REBUILD_ROWS = 5000


def invalidate(organization_id: int) -> None:
    """A change of the whole organisation (a new model, an import): every process rebuilds
    the organisation's index on its next query."""
    Organization.objects.filter(pk=organization_id).update(matching_stamp=F("matching_stamp") + 1)


def changed(*, organization_id: int, issue_ids: Iterable[int]) -> None:
    """Structural change of a few issues (relink, split, merge, archive, restore, edited
    text): every process re-reads just those issues into its index on its next query."""
    ids = sorted(set(issue_ids))
    if ids:
        MatchingChange.objects.create(organization_id=organization_id, issue_ids=ids)


def _settle() -> None:
    """After a (re)build: return the heap the load churned through to the OS, and move the
    index's millions of long-lived objects out of the cyclic garbage collector's
    generations, whose full passes over them would otherwise stall queries for tens of
    milliseconds (they hold no reference cycles; reference counting still frees them)."""
    gc.collect()
    gc.freeze()
    heap.release_free_heap()


@dataclass(frozen=True)
class _Fresh:
    stamp: int
    newest: tuple[int, int]  # occurrence and fix ids, of any organisation
    change: int  # the newest MatchingChange id, of any organisation


def _freshness(organization_id: int) -> _Fresh:
    """The organisation's matching stamp, and the newest occurrence, fix and change ids of
    any organisation: one round trip (four primary-key lookups)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT matching_stamp FROM retros_organization WHERE id = %s),"
            " (SELECT MAX(id) FROM retros_occurrence), (SELECT MAX(id) FROM retros_fix),"
            " (SELECT MAX(id) FROM retros_matchingchange)",
            [organization_id],
        )
        stamp, occurrence_id, fix_id, change_id = cursor.fetchone()
    return _Fresh(stamp or 0, (occurrence_id or 0, fix_id or 0), change_id or 0)


def _changes(organization_id: int, after: int, upto: int) -> list[tuple[int, list[int]]]:
    rows = MatchingChange.objects.filter(
        organization_id=organization_id, id__gt=after, id__lte=upto
    ).values_list("id", "issue_ids")
    return list(rows)


def build_index(
    organization_id: int,
    fresh: _Fresh | None = None,
    *,
    keep_codes: bool = False,
    pack: bool = True,
) -> OrgIndex:
    """The organisation's whole index read from its rows (the stored profiles and words
    read in bulk); ``keep_codes`` keeps the vectors' codes, to save it as a snapshot;
    ``pack=False`` leaves the vectors' blocks for ``matrix.pack()`` to pack."""
    fresh = fresh or _freshness(organization_id)
    current = OrgIndex(
        stamp=fresh.stamp,
        occurrence_profiles=ProfileCache.stored(organization_id, profile_store.OCCURRENCE),
        fix_profiles=ProfileCache.stored(organization_id, profile_store.FIX),
    )
    if keep_codes:
        current.matrix.keep_codes()
    elif not pack:
        current.matrix.defer_packing()
    # Changes up to the newest are in the rows read below; those just behind it are
    # marked applied, so that reading them again (see _CHANGE_SLACK) changes nothing.
    current.seen_change = fresh.change
    recent = _changes(organization_id, fresh.change - _CHANGE_SLACK, fresh.change)
    current.applied = {change_id for change_id, _ in recent}
    _load_rows(current, organization_id)
    current.checked = fresh.newest
    return current


#: Rows a load from a snapshot added or re-read beyond which a newer snapshot is written.
_SNAPSHOT_LAG = 2000


class IndexCache:
    """A process's indexes, one per organisation, kept by recent use within a memory budget
    (``RECUR_MATCHER_MEMORY_MB``, or ``budget_bytes``): beyond it the organisations queried
    least recently are let go, and load again on their next query. Each organisation has its
    own lock: a load never waits for another organisation's, nor holds up its queries.

    A load reads the organisation's snapshot (``retros.snapshot``) when one fits, then the
    rows and changes since; without one it reads every row, and has a snapshot written in
    the background. When the stamp moves, the index is rebuilt in a thread while the old
    one keeps answering (``background``, ``RECUR_MATCHER_BACKGROUND_REBUILD``), then
    swapped in."""

    def __init__(self, budget_bytes: int | None = None, *, background: bool | None = None) -> None:
        self.indexes: OrderedDict[int, OrgIndex] = OrderedDict()
        self._budget = budget_bytes
        self._background = background
        self._registry = threading.Lock()  # held only to look up or reorder, never to load
        self._locks: dict[int, threading.Lock] = {}
        self._rebuilding: dict[int, threading.Thread] = {}
        self._packing: list[threading.Thread] = []
        self.loads = 0
        self.snapshot_loads = 0
        self.evictions = 0

    @property
    def budget(self) -> int:
        if self._budget is not None:
            return self._budget
        return int(settings.RECUR_MATCHER_MEMORY_MB) * 1024 * 1024

    @property
    def background(self) -> bool:
        if self._background is not None:
            return self._background
        return bool(settings.RECUR_MATCHER_BACKGROUND_REBUILD)

    def _lock_of(self, organization_id: int) -> threading.Lock:
        with self._registry:
            lock = self._locks.get(organization_id)
            if lock is None:
                lock = self._locks[organization_id] = threading.Lock()
            return lock

    def index(self, organization_id: int) -> OrgIndex:
        """This process's up-to-date index of the organisation."""
        with self._lock_of(organization_id):
            with self._registry:
                current = self.indexes.get(organization_id)
            # Read before loading, so a row written meanwhile is loaded by the next query.
            fresh = _freshness(organization_id)
            if current is not None and current.stamp != fresh.stamp:
                if self.background:  # the old index answers until the new one is built
                    self._rebuild_in_background(organization_id)
                else:
                    self._drop(organization_id)
                    current = None
            if current is None:
                current = self._load(organization_id, fresh)
            elif not self._update(current, organization_id, fresh):
                self._drop(organization_id)
                del current
                current = self._load(organization_id, fresh)
            current.checked = fresh.newest
            self._keep(organization_id, current)
            return current

    def _drop(self, organization_id: int) -> None:
        """Let an index go before loading its replacement (not two in memory at once)."""
        with self._registry:
            self.indexes.pop(organization_id, None)

    def _update(self, current: OrgIndex, organization_id: int, fresh: _Fresh) -> bool:
        """Append the rows added since the index was last brought up to date and apply the
        changes since; False when it should rather be rebuilt."""
        if current.checked == fresh.newest and current.seen_change == fresh.change:
            return True
        _load_rows(
            current,
            organization_id,
            newer_than=max(current.newest_id, current.checked[0] - _ROW_SLACK),
            fixes_newer_than=max(current.newest_fix_id, current.checked[1] - _ROW_SLACK),
        )
        if current.seen_change != fresh.change:
            return self._apply(current, organization_id, fresh.change)
        return True

    def _load(self, organization_id: int, fresh: _Fresh) -> OrgIndex:
        """The organisation's index from its snapshot and what came after, when a snapshot
        fits; else from every row (a snapshot is then written in the background)."""
        from retros import snapshot

        current = snapshot.restore(organization_id, fresh.stamp)
        if current is not None:
            held = len(current)
            if self._update(current, organization_id, fresh):
                if abs(len(current) - held) + current.replaced > _SNAPSHOT_LAG:
                    snapshot.schedule(organization_id)
                self.snapshot_loads += 1
                self._pack_in_background(organization_id, current)
                return self._loaded(current)
            del current
        # Packed once the load's transient objects are gone, not on top of them.
        current = self._loaded(build_index(organization_id, fresh, pack=False))
        self._pack_in_background(organization_id, current)
        snapshot.schedule(organization_id)
        return current

    def _pack_in_background(self, organization_id: int, current: OrgIndex) -> None:
        """Hand the index's vector blocks to onnxruntime in a thread; until each is, numpy
        scores it (queries are answered meanwhile)."""
        if not current.matrix.unpacked_blocks:  # a small organisation: nothing to wait for
            current.matrix.pack()  # blocks filled from now on are packed as they fill
            return
        # Not a daemon: the process waits for it to leave onnxruntime before exiting.
        packing = threading.Thread(
            target=current.matrix.pack, name=f"recur-matcher-pack-{organization_id}"
        )
        with self._registry:
            self._packing = [t for t in self._packing if t.is_alive()] + [packing]
        packing.start()

    def _loaded(self, current: OrgIndex) -> OrgIndex:
        _settle()
        current.estimate_size()
        self.loads += 1
        return current

    def _rebuild_in_background(self, organization_id: int) -> None:
        with self._registry:
            if organization_id in self._rebuilding:
                return
            thread = threading.Thread(
                target=self._rebuild,
                args=(organization_id,),
                name=f"recur-matcher-rebuild-{organization_id}",
            )  # not a daemon: an exit waits for it to leave onnxruntime
            self._rebuilding[organization_id] = thread
        thread.start()

    def _rebuild(self, organization_id: int) -> None:
        """Build the organisation's index afresh, without holding its lock (queries go on
        with the old one), then bring it up to date under the lock and swap it in."""
        try:
            built = self._load(organization_id, _freshness(organization_id))
            with self._lock_of(organization_id):
                fresh = _freshness(organization_id)
                if not self._update(built, organization_id, fresh):
                    built = self._load(organization_id, fresh)
                built.checked = fresh.newest
                self._keep(organization_id, built)
        except Exception:
            logger.exception("Matcher index of organisation %s not rebuilt", organization_id)
        finally:
            with self._registry:
                self._rebuilding.pop(organization_id, None)
            connections.close_all()  # this thread's connections

    def wait_for_rebuilds(self, timeout: float | None = None) -> None:
        """Wait for the rebuilds and packing running in the background (tests, benchmarks,
        and before forking)."""
        with self._registry:
            threads = [*self._rebuilding.values(), *self._packing]
        for thread in threads:
            thread.join(timeout)

    def _apply(self, current: OrgIndex, organization_id: int, newest: int) -> bool:
        """Re-read the issues of the changes not applied yet; False when the index should
        rather be rebuilt."""
        issue_ids: set[int] = set()
        for change_id, ids in _changes(
            organization_id, current.seen_change - _CHANGE_SLACK, newest
        ):
            if change_id not in current.applied:
                current.applied.add(change_id)
                issue_ids.update(ids)
        current.seen_change = newest
        current.applied = {c for c in current.applied if c > newest - _CHANGE_SLACK}
        if not issue_ids:
            return True
        if len(issue_ids) > _MAX_CHANGED_ISSUES:
            return False
        for issue_id in issue_ids:
            current.replaced += current.occurrences_of(issue_id)
            current.remove_issue(issue_id)
        if current.replaced > max(_REBUILD_ROWS, _REBUILD_SHARE * len(current)):
            return False
        _load_rows(current, organization_id, issue_ids=sorted(issue_ids))
        current.estimate_size()
        return True

    def _keep(self, organization_id: int, current: OrgIndex) -> None:
        """Hold the index as the most recently used; let the least recently used go while
        the indexes held exceed the budget (the one just used always stays)."""
        with self._registry:
            self.indexes[organization_id] = current
            self.indexes.move_to_end(organization_id)
            used = sum(index.estimate for index in self.indexes.values())
            while used > self.budget and len(self.indexes) > 1:
                _, evicted = self.indexes.popitem(last=False)
                used -= evicted.estimate
                self.evictions += 1

    def status(self) -> dict[str, Any]:
        """The budget and what is held now (organisation ids, rows and estimated bytes)."""
        with self._registry:
            held = [
                {"organization_id": org_id, "rows": len(index), "bytes": index.estimate}
                for org_id, index in reversed(self.indexes.items())
            ]
        return {
            "budget_bytes": self.budget,
            "used_bytes": sum(h["bytes"] for h in held),
            "organizations": len(held),
            "loads": self.loads,
            "snapshot_loads": self.snapshot_loads,
            "rebuilding": len(self._rebuilding),
            "evictions": self.evictions,
            "held": held,
        }


_cache = IndexCache()
_indexes = _cache.indexes  # the same dict: tests clear it between databases


def org_index(organization_id: int) -> OrgIndex:
    """This process's up-to-date index of the organisation."""
    return _cache.index(organization_id)


def preload(organization_ids: Iterable[int]) -> int:
    """Load these organisations' indexes into this process (gunicorn's master, before the
    workers fork: they start with them) and wait until no thread is left working on them;
    returns the raisings loaded."""
    from retros import snapshot

    rows = sum(len(_cache.index(int(organization_id))) for organization_id in organization_ids)
    _cache.wait_for_rebuilds()
    snapshot.wait()
    return rows


def matcher_status() -> dict[str, Any]:
    """This process's matcher memory: budget, use, indexes held."""
    return _cache.status()


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
    readable_teams: frozenset[int] | None = None,
    retro: Retrospective | None = None,
) -> list[IssueSuggestion]:
    """The organisation's earlier issues most likely to be the one `text` describes. With
    `readable_teams` (:func:`retros.visibility.readable_teams` of a person who does not read
    every team's words), each carries the :class:`~retros.visibility.Provenance` its title is
    decided from, read in the same round trip. With `retro`, the retro being captured, no
    issue raised in that retro alone is suggested: it is another of its items, not an
    earlier raising."""
    text = text.replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL
    if len(text) < 3:
        return []
    idx = org_index(organization.pk)
    if not len(idx):
        return []
    reading, vectors = idx.read(text)
    pool = idx.pool(reading, vectors, exclude=exclude_issue_ids)
    query = Query(
        text=text, vector=vectors, team=team.name if team else None, on=on, reading=reading
    )
    # The database is asked only about the issues that can still make the list: the pool's
    # counts and dates cost a millisecond per 30 issues on the keystroke path.
    bare = {c.issue_id: c for c in idx.candidates(pool)}
    meta: dict[int, _Meta] = {}
    while True:
        likely = ranker.contenders(query, bare.values(), weights, limit=limit, terms=idx.terms)
        ids = [c.issue_id for c in likely]
        meta.update(
            _issue_meta(
                organization.pk,
                ids,
                readable_teams=readable_teams,
                retro_id=retro.pk if retro is not None else None,
            )
        )
        gone = [c.issue_id for c in likely if c.issue_id not in meta]
        # Archived or merged since the index was loaded, or raised in this retro alone:
        # look further.
        if not gone:
            break
        for issue_id in gone:
            del bare[issue_id]
    candidates = [_candidate(c, meta[c.issue_id]) for c in likely]
    ranked = idx.rank(query, candidates, weights, limit=limit, min_score=min_score)
    return [_suggestion(s, meta[s.issue_id], idx, team) for s in ranked]


@dataclass
class _Meta:
    title: str
    occurrence_count: int
    team_count: int
    first_seen: date | None
    last_seen: date | None
    fixes: int = 0
    band_aid_fixes: int = 0
    open_fixes: int = 0
    flagged: bool = False
    provenance: visibility.Provenance | None = None

    def issue(self, issue_id: int) -> Issue:
        """The issue as suggestions show it (the fields read here, not a full row)."""
        return Issue(
            id=issue_id,
            title=self.title,
            occurrence_count=self.occurrence_count,
            team_count=self.team_count,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
        )


# One round trip for the pool's issues, their fix counts and whether they are flagged: the
# ORM's three queries cost more in building and waiting than in running (a keystroke's
# budget). PostgreSQL and SQLite alike, but for how the ids are passed ({in_ids}).
_META_SQL = """
SELECT i.id, i.title, i.occurrence_count, i.team_count, i.first_seen, i.last_seen,
       COALESCE(f.total, 0), COALESCE(f.band_aid, 0), COALESCE(f.open_fixes, 0),
       EXISTS (SELECT 1 FROM diagnosis_finding d
               WHERE d.issue_id = i.id AND d.is_current = %s AND d.flagged = %s),
       i.title_team_id, i.title_renamed, {first_readable}, {elsewhere}
FROM retros_issue i
LEFT JOIN (
    SELECT issue_id, COUNT(*) AS total,
           SUM(CASE WHEN kind IN ({kinds}) THEN 1 ELSE 0 END) AS band_aid,
           SUM(CASE WHEN status = %s THEN 1 ELSE 0 END) AS open_fixes
    FROM retros_fix WHERE archived_at IS NULL AND issue_id {in_ids} GROUP BY issue_id
) f ON f.issue_id = i.id
WHERE i.organization_id = %s AND i.id {in_ids}
  AND i.archived_at IS NULL AND i.merged_into_id IS NULL
"""
# With the retro being captured: whether the issue was raised in another retro too (an issue
# raised in that retro alone is one of its own items, not an earlier raising). A column, not
# a condition: PostgreSQL plans the query in 0.1 ms less.
_ELSEWHERE_SQL = """EXISTS (SELECT 1 FROM retros_occurrence o
               WHERE o.issue_id = i.id AND o.retro_id <> %s
                 AND o.archived_at IS NULL AND o.item_type = %s)"""


def _issue_meta(
    organization_id: int,
    issue_ids: list[int],
    *,
    readable_teams: frozenset[int] | None = None,
    retro_id: int | None = None,
) -> dict[int, _Meta]:
    """Counts and flags for the pool's issues (up to 80, of which a handful are shown), and
    with `readable_teams` their titles' provenance for that reader. With `retro_id`, the
    issues raised in that retro alone are left out."""
    if not issue_ids:
        return {}
    in_ids, ids = sql_among(issue_ids, vendor=connection.vendor)
    kinds = ", ".join(["%s"] * len(BAND_AID_KINDS))
    first_readable, readable_params = visibility.first_readable_raising_sql(
        readable_teams or frozenset(), issue="i.id", vendor=connection.vendor
    )
    elsewhere = _ELSEWHERE_SQL if retro_id is not None else "1 = 1"
    sql = _META_SQL.format(
        in_ids=in_ids, kinds=kinds, first_readable=first_readable, elsewhere=elsewhere
    )
    params: list[bool | int | str | list[int]] = [True, True, *readable_params]
    if retro_id is not None:
        params += [retro_id, str(ItemType.PROBLEM)]
    params += [*BAND_AID_KINDS, str(FixStatus.OPEN), *ids, organization_id, *ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    meta = {}
    for row in rows:
        issue_id, title, occurrences, teams, first, last, fixes, band_aid, open_, flag = row[:10]
        title_team_id, renamed, first_readable_text, elsewhere = row[10:]
        if not elsewhere:  # raised in the retro being captured alone
            continue
        provenance = (
            None
            if readable_teams is None
            else visibility.Provenance(
                title, title_team_id, bool(renamed), occurrences, first_readable_text
            )
        )
        meta[issue_id] = _Meta(
            title,
            occurrences,
            teams,
            _as_date(first),
            _as_date(last),
            fixes=int(fixes),
            band_aid_fixes=int(band_aid),
            open_fixes=int(open_),
            flagged=bool(flag),
            provenance=provenance,
        )
    return meta


def _as_date(value: date | str | None) -> date | None:
    """SQLite hands dates back from raw SQL as text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _candidate(bare: Candidate, meta: _Meta) -> Candidate:
    """An index candidate with what the database says of its issue now."""
    return dataclasses.replace(
        bare,
        title=meta.title,
        occurrences=meta.occurrence_count or bare.occurrences,
        last_seen=meta.last_seen,
        active=True,
        flagged=meta.flagged,
        open_fixes=meta.open_fixes,
        band_aid_fixes=meta.band_aid_fixes,
    )


def _suggestion(s: Suggestion, meta: _Meta, idx: OrgIndex, team: Team | None) -> IssueSuggestion:
    teams = sorted(idx.teams_of(s.issue_id))
    return IssueSuggestion(
        issue=meta.issue(s.issue_id),
        score=s.score,
        reasons=s.reasons,
        teams=teams,
        fixes_tried=meta.fixes,
        band_aid_fixes=meta.band_aid_fixes,
        semantic=s.semantic,
        lexical=s.lexical,
        same_team=team is not None and team.name in teams,
        provenance=meta.provenance,
    )


def vector_fields(text: str) -> dict[str, Any]:
    """An occurrence's vector fields for ``text``, computed before the row is written so that
    logging an item is one insert and one commit (in the request for one logged item); and
    when the model cannot load, none: the item is logged all the same, and ``embed_all`` or the
    next index load computes its vector."""
    try:
        vector = embedding.encode_one(text)
    except embedding.EmbeddingUnavailable as error:
        logger.warning("Logged without a vector: %s", error)
        return {}
    return {"embedding": embedding.to_bytes(vector), "embedding_model": embedding.MODEL_ID}


def embed_occurrence(occurrence: Occurrence) -> None:
    """Compute and store the vector of an occurrence whose text changed."""
    fields = vector_fields(occurrence.text)
    if not fields:  # the model cannot load: left for embed_all or the next index load
        return
    occurrence.embedding = fields["embedding"]
    occurrence.embedding_model = fields["embedding_model"]
    Occurrence.objects.filter(pk=occurrence.pk).update(**fields)
    organization_id, issue_id = occurrence.organization_id, occurrence.issue_id
    transaction.on_commit(lambda: changed(organization_id=organization_id, issue_ids=[issue_id]))


# --- import linking -----------------------------------------------------------------------


@dataclass(frozen=True)
class LinkChoice:
    """An imported item's link (``link_to``), or the pairs a person should judge (``review``:
    the best match and its close contenders, best first), or neither: a new issue."""

    link_to: int | None
    score: float
    reasons: tuple[str, ...] = ()
    review: tuple[Suggestion, ...] = ()


class ImportLinker:
    """Links imported items to earlier issues of the organisation, in date order.

    Vectors for the new items are computed in one batch (`prepare`); each new occurrence is
    added to the index as it is written, so later items can match it.
    """

    def __init__(self, organization: Organization, weights: MatchWeights = DEFAULT_WEIGHTS):
        from retros.models import Issue

        self.organization = organization
        self.weights = _weights_for(organization, weights)
        self.idx = OrgIndex(
            occurrence_profiles=ProfileCache.stored(organization.pk, profile_store.OCCURRENCE),
            fix_profiles=ProfileCache.stored(organization.pk, profile_store.FIX),
        )
        _load_rows(self.idx, organization.pk)
        self._vectors: dict[str, np.ndarray] = {}
        self._titles: dict[int, str] = dict(
            Issue.objects.filter(organization=organization).values_list("id", "title")
        )
        self._last_seen: dict[int, date] = {}
        # The import's new issues raised in one of its retros alone: not offered to that
        # retro's other items as earlier raisings.
        self._one_retro = OneRetroIssues()

    def prepare(self, texts: Sequence[str]) -> None:
        """Embed the import's texts at once, on the cores an import may use (a task's)."""
        unique = list(dict.fromkeys(texts))
        vectors = embedding.encode(unique, threads=settings.RECUR_EMBED_THREADS)
        for text, vector in zip(unique, vectors, strict=True):
            self._vectors[text] = vector

    def vector(self, text: str) -> np.ndarray:
        """The text's vector (computed in `prepare` for a whole import at once)."""
        vector = self._vectors.get(text)
        if vector is None:
            vector = embedding.encode([text])[0]
            self._vectors[text] = vector
        return vector

    def decide(self, text: str, *, team: str, on: date, retro_id: int | None = None) -> LinkChoice:
        """Link, queue or leave new the item ``text`` of the retro ``retro_id`` (whose
        issues raised in it alone are not candidates)."""
        vector = self.vector(text)
        if not len(self.idx):
            return LinkChoice(None, 0.0)
        pool = self.idx.pool(text, vector, exclude=self._one_retro.of(retro_id))
        # The whole pool's profiles at once: one at a time cost an import 3 ms per item.
        candidates = self.idx.candidates(pool, titles=self._titles, last_seen=self._last_seen)
        ranked = self.idx.rank(
            Query(text, vector, team=team, on=on),
            candidates,
            self.weights,
            limit=self.weights.review_contenders,
            min_score=float("-inf"),
        )
        if not ranked:
            return LinkChoice(None, 0.0)
        best = ranked[0]
        if ranker.link_decision(best, self.weights) == Decision.LINK:
            return LinkChoice(best.issue_id, best.score, best.reasons)
        return LinkChoice(None, best.score, review=tuple(ranker.review_pairs(ranked, self.weights)))

    def add(self, occurrence: Occurrence, *, team: str) -> None:
        """Make a just-written occurrence (with its vector) matchable by later items."""
        vector = self.vector(occurrence.text)
        new = occurrence.issue_id not in self._titles
        self._one_retro.raised(occurrence.issue_id, occurrence.retro_id, new=new)
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

    def add_fix(self, issue_id: int, text: str) -> None:
        """Make a just-written fix's words count for its issue in later decisions."""
        self.idx.add_fix(issue_id, text)

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
