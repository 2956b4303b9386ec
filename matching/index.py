"""An organisation's issues as matcher input, held in memory. Pure: no Django.

:class:`IssueIndex` is what both the web process (``retros.search.OrgIndex``, loaded from the
database) and the replay evaluation (``evaluation.Replay``, built from a history file) rank
against, so an evaluation measures the production code path. Per issue it keeps:

- its occurrence vectors, in a :class:`~matching.ranker.MatrixIndex` (int8 by
  default: a quarter of float32's memory, cosine error below 0.003);
- the distinctive words of its occurrence and fix texts
  (:class:`~matching.wordindex.TermIndex`) and its root-cause profile (summed category
  scores of the same texts), both computed once when a text is added;
- its teams and number of occurrences.

Texts themselves are not kept (100k occurrence texts would cost more memory than the
vectors): everything a query needs was extracted when they were added. The organisation's
words also feed a :class:`~matching.lexical.Vocabulary` that reads typos in queries.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import date
from typing import Any

import numpy as np

from matching import embedding, lexical, rootcause, wordindex
from matching.centring import Centring
from matching.ranker import Candidate, MatrixIndex, Query, Suggestion, rank
from matching.weights import DEFAULT_WEIGHTS, MatchWeights

POOL = 40  # candidates per signal: best by meaning plus best by wording


@dataclasses.dataclass(frozen=True)
class Words:
    """What the index reads from a text's words, when computed earlier (e.g. stored): its
    distinctive words (``lexical.terms``) and its normalised words (for the vocabulary)."""

    terms: frozenset[str]
    words: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> Words:
        return cls(lexical.terms(text), tuple(dict.fromkeys(lexical.normalize(text).split())))


class OneRetroIssues:
    """The issues raised so far in one retro only, while retros are captured in order (an
    import, a replay of a history). Such an issue is another item of the retro being
    captured, not an earlier raising: two items of one retro are one discussion, and a
    recurrence is a problem raised again in a later retro. Issues this never saw raised
    (an organisation's earlier issues) are never among them."""

    def __init__(self) -> None:
        self._retro_of: dict[int, Hashable] = {}
        self._issues_of: dict[Hashable, set[int]] = {}

    def raised(self, issue_id: int, retro: Hashable, *, new: bool) -> None:
        """Record a raising of ``issue_id`` in ``retro``; ``new``: the issue starts with it."""
        if new:
            self._retro_of[issue_id] = retro
            self._issues_of.setdefault(retro, set()).add(issue_id)
            return
        first = self._retro_of.get(issue_id)
        if first is not None and first != retro:  # raised in a second retro: an issue of both
            del self._retro_of[issue_id]
            self._issues_of[first].discard(issue_id)

    def of(self, retro: Hashable | None) -> frozenset[int]:
        """The issues raised in ``retro`` and nowhere else (none for an unknown retro)."""
        return frozenset(self._issues_of.get(retro, ())) if retro is not None else frozenset()


class IssueIndex:
    def __init__(
        self,
        dimension: int = embedding.DIMENSION,
        *,
        quantized: bool = True,
        pool: int = POOL,
        centring: Centring | None = None,
    ) -> None:
        self.matrix = MatrixIndex(dimension, quantized=quantized)
        self.matrix.centring = centring
        self.terms = wordindex.TermIndex()
        self.vocabulary = lexical.Vocabulary()
        self.pool_size = pool
        # Per issue, in one array (a row per issue, found through _slots): the summed
        # root-cause profiles of its occurrences and of its fixes, and how many of each.
        self._slots: dict[int, int] = {}
        self._sums = np.zeros((64, 2 * len(rootcause.CATEGORIES)), dtype=np.float32)
        self._counts = np.zeros((64, 2), dtype=np.int32)
        # Per issue, its teams as a bit mask over the organisation's team names.
        self._teams: dict[int, int] = {}
        self._team_bits: dict[str, int] = {}
        self._team_names: list[str] = []
        self._team_sets: dict[int, frozenset[str]] = {}  # mask -> its team names

    def __len__(self) -> int:
        """Number of occurrences."""
        return len(self.matrix)

    def __contains__(self, issue_id: object) -> bool:
        return issue_id in self._teams

    def issue_ids(self) -> Iterable[int]:
        return self._teams.keys()

    def _slot(self, issue_id: int) -> int:
        slot = self._slots.get(issue_id)
        if slot is None:
            slot = self._slots[issue_id] = len(self._slots)
            if slot == len(self._sums):
                self._sums = np.concatenate([self._sums, np.zeros_like(self._sums)])
                self._counts = np.concatenate([self._counts, np.zeros_like(self._counts)])
        return slot

    def add_occurrence(
        self,
        *,
        occurrence_id: int,
        issue_id: int,
        text: str,
        team: str,
        vector: np.ndarray,
        profile: np.ndarray | None = None,
    ) -> np.ndarray:
        """Add an occurrence; returns its root-cause profile (``profile`` when given: one
        computed earlier for the same text)."""
        self.matrix.add(issue_id, [occurrence_id], vector)
        profile = self._add_text(issue_id, text, profile, fix=False)
        self._mark_team(issue_id, team)
        return profile

    def add_occurrences(
        self,
        *,
        occurrence_ids: list[int],
        issue_ids: list[int],
        texts: list[str],
        teams: list[str],
        vectors: np.ndarray,
        profiles: list[np.ndarray | None],
        words: list[Words | None] | None = None,
    ) -> list[np.ndarray]:
        """:meth:`add_occurrence` for many at once (their vectors as one ``(n, d)`` array,
        quantized together; their profiles and words when read earlier); returns their
        profiles."""
        self.matrix.add_rows(np.asarray(issue_ids, dtype=np.int64), occurrence_ids, vectors)
        out = []
        read = words or [None] * len(texts)
        for issue_id, text, team, profile, known in zip(
            issue_ids, texts, teams, profiles, read, strict=True
        ):
            out.append(self._add_text(issue_id, text, profile, fix=False, words=known))
            self._mark_team(issue_id, team)
        return out

    def _mark_team(self, issue_id: int, team: str) -> None:
        """Record that ``team`` raised ``issue_id`` (one bit per team name)."""
        bit = self._team_bits.get(team)
        if bit is None:
            bit = self._team_bits[team] = 1 << len(self._team_names)
            self._team_names.append(team)
        self._teams[issue_id] = self._teams.get(issue_id, 0) | bit

    def add_fix(
        self,
        issue_id: int,
        text: str,
        profile: np.ndarray | None = None,
        words: Words | None = None,
    ) -> np.ndarray:
        """A fix's text describes its issue too: its words and category words count."""
        return self._add_text(issue_id, text, profile, fix=True, words=words)

    def _add_text(
        self,
        issue_id: int,
        text: str,
        profile: np.ndarray | None,
        *,
        fix: bool,
        words: Words | None = None,
    ) -> np.ndarray:
        if words is None:
            self.terms.add(issue_id, text, fix=fix)
            self.vocabulary.update([text])
        else:
            self.terms.add(issue_id, text, fix=fix, text_terms=words.terms)
            self.vocabulary.add_words(words.words)
        if profile is None:
            profile = rootcause.text_profile(text)
        slot, width = self._slot(issue_id), len(rootcause.CATEGORIES)
        self._sums[slot, width * fix : width * (fix + 1)] += profile
        self._counts[slot, int(fix)] += 1
        return profile

    def remove_issue(self, issue_id: int) -> None:
        """Forget an issue: its rows, words, profile sums and teams (before adding back what
        it holds now, after a relink, merge or archive)."""
        self.matrix.remove_issue(issue_id)
        self.terms.remove_issue(issue_id)
        slot = self._slots.get(issue_id)
        if slot is not None:
            self._sums[slot] = 0.0
            self._counts[slot] = 0
        self._teams.pop(issue_id, None)

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything the index holds as plain arrays, named by part (``matrix.``, ``terms.``,
        ``vocabulary.``, ``issues.``), for :meth:`restore`: no object is pickled. The matrix
        must have kept its codes (``self.matrix.keep_codes()`` before the first row)."""
        out = {f"matrix.{k}": v for k, v in self.matrix.arrays().items()}
        out.update({f"terms.{k}": v for k, v in self.terms.arrays().items()})
        out.update({f"vocabulary.{k}": v for k, v in self.vocabulary.arrays().items()})
        slots = len(self._slots)
        out["issues.slots"] = np.fromiter(self._slots, np.int64, slots)  # in slot order
        out["issues.sums"] = self._sums[:slots].copy()
        out["issues.counts"] = self._counts[:slots].copy()
        out["issues.team_ids"] = np.fromiter(self._teams, np.int64, len(self._teams))
        # Masks as decimal text: one bit per team, so more than 64 teams fit.
        masks = " ".join(map(str, self._teams.values()))
        out["issues.team_masks"] = np.frombuffer(masks.encode(), dtype=np.uint8)
        out["issues.team_names"] = np.frombuffer(json.dumps(self._team_names).encode(), np.uint8)
        return out

    def restore(
        self,
        arrays: Mapping[str, np.ndarray],
        *,
        pack: bool = True,
        release: Callable[[np.ndarray], None] | None = None,
    ) -> None:
        """Take the state :meth:`arrays` gave (into an empty index of the same dimension);
        with ``pack=False`` the vectors' full blocks wait for ``self.matrix.pack()``, which
        gives each block's codes to ``release`` once packed."""

        def part(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

        matrix = part("matrix.")
        centring = self.matrix.centring
        self.matrix = MatrixIndex.from_arrays(
            matrix["codes"],
            matrix["scales"],
            matrix["issues"],
            matrix["occurrences"],
            pack=pack,
            release=release,
        )
        self.matrix.centring = centring
        self.terms = wordindex.TermIndex.from_arrays(part("terms."))
        self.vocabulary = lexical.Vocabulary.from_arrays(part("vocabulary."))
        slots = arrays["issues.slots"].tolist()
        self._slots = {issue_id: slot for slot, issue_id in enumerate(slots)}
        capacity = max(64, len(slots))
        self._sums = np.zeros((capacity, self._sums.shape[1]), dtype=np.float32)
        self._counts = np.zeros((capacity, 2), dtype=np.int32)
        self._sums[: len(slots)] = arrays["issues.sums"]
        self._counts[: len(slots)] = arrays["issues.counts"]
        masks = arrays["issues.team_masks"].tobytes().decode().split()
        team_ids = arrays["issues.team_ids"].tolist()
        self._teams = dict(zip(team_ids, map(int, masks), strict=True))
        self._team_names = json.loads(arrays["issues.team_names"].tobytes().decode())
        self._team_bits = {name: 1 << bit for bit, name in enumerate(self._team_names)}
        self._team_sets = {}

    @property
    def nbytes(self) -> int:
        """Memory held, estimated from the arrays and the word indexes."""
        own = self._sums.nbytes + self._counts.nbytes + 120 * (len(self._slots) + len(self._teams))
        return self.matrix.nbytes + own + self.terms.nbytes + self.vocabulary.nbytes

    def profile_of(self, issue_id: int) -> np.ndarray:
        """The issue's root-cause profile (occurrence and fix words, weighed as diagnosis
        weighs them)."""
        profile = self.candidate(issue_id, (0.0, 0.0)).profile
        return rootcause.EMPTY if profile is None else profile

    def teams_of(self, issue_id: int) -> frozenset[str]:
        mask = self._teams.get(issue_id, 0)
        teams = self._team_sets.get(mask)
        if teams is None:  # a bit always names the same team: a mask's set never changes
            teams = frozenset(name for i, name in enumerate(self._team_names) if mask >> i & 1)
            self._team_sets[mask] = teams
        return teams

    def occurrences_of(self, issue_id: int) -> int:
        slot = self._slots.get(issue_id)
        return 0 if slot is None else int(self._counts[slot, 0])

    def read(self, text: str) -> tuple[str, np.ndarray]:
        """The query's reading (typos read as the organisation's words) and vectors."""
        return embedding.read_query(text, self.vocabulary)

    def pool(
        self,
        reading: str,
        vectors: np.ndarray,
        *,
        exclude: Iterable[int] = (),
    ) -> dict[int, tuple[float, float]]:
        """Issue id → (best cosine, mean of the two best), for the ``pool_size`` best issues
        by meaning plus the ``pool_size`` best by wording (the rarest shared words)."""
        if not len(self.matrix):
            return {}
        excluded = set(exclude)
        scores = self.matrix.scores(vectors)
        top = self.matrix.top_k_from_scores(scores, self.pool_size, exclude=excluded)
        ids = dict.fromkeys(issue_id for issue_id, _ in top)
        for issue_id in self.terms.best_issues(lexical.terms(reading), self.pool_size):
            if issue_id not in excluded and issue_id in self._teams:
                ids.setdefault(issue_id)
        return self.matrix.issue_cosines(scores, ids)

    def candidate(self, issue_id: int, cosines: tuple[float, float], **fields: Any) -> Candidate:
        """A :class:`Candidate` with what the index knows; ``fields`` add the context
        (title, last_seen, active, flagged, open_fixes, band_aid_fixes, occurrences)."""
        (candidate,) = self.candidates({issue_id: cosines})
        return dataclasses.replace(candidate, **fields) if fields else candidate

    def candidates(
        self,
        cosines: dict[int, tuple[float, float]],
        *,
        titles: Mapping[int, str] | None = None,
        last_seen: Mapping[int, date] | None = None,
    ) -> list[Candidate]:
        """:meth:`candidate` of every issue of a pool (``issue id -> cosines``), with their
        root-cause profiles computed together, and the ``titles`` and dates ``last_seen`` the
        caller knows of them (each candidate is built once: an import asks for thousands)."""
        titles = titles or {}
        last_seen = last_seen or {}
        ids = list(cosines)
        slots = np.array([self._slots.get(i, -1) for i in ids], dtype=np.int64)
        width = len(rootcause.CATEGORIES)
        sums, counts = self._sums[slots], self._counts[slots]
        profiles = rootcause.issue_profiles(
            sums[:, :width], counts[:, 0], sums[:, width:], counts[:, 1]
        )
        missing = slots < 0  # not in the index (a caller's id): no words, no raisings
        profiles[missing] = 0.0
        occurrences = np.where(missing, 0, counts[:, 0])
        documents = self.terms.documents(ids)
        return [
            Candidate(
                issue_id=issue_id,
                title=titles.get(issue_id, ""),
                last_seen=last_seen.get(issue_id),
                semantic=cosines[issue_id][0],
                semantic_top2=cosines[issue_id][1],
                terms=words,
                fix_terms=fix_words,
                profile=profile,
                teams=self.teams_of(issue_id),
                occurrences=int(count),
            )
            for issue_id, profile, count, (words, fix_words) in zip(
                ids, profiles, occurrences, documents, strict=True
            )
        ]

    def rank(
        self,
        query: Query,
        candidates: Iterable[Candidate],
        weights: MatchWeights = DEFAULT_WEIGHTS,
        **options: Any,
    ) -> list[Suggestion]:
        """:func:`~matching.ranker.rank` with the organisation's word frequencies."""
        return rank(query, candidates, weights, terms=self.terms, **options)
