"""Which issues use which words: the word index the matcher ranks with. Pure: no Django.

:class:`TermIndex` holds, per issue, its distinctive words (:func:`~matching.lexical.terms`
of its occurrence and fix texts) and, per word, its issues, as flat arrays; it gives each
word's weight within the organisation (inverse document frequency), an issue's share of a
query's words, and the issues sharing a query's rarest words. How the words are read from a
text is :mod:`matching.lexical`'s; how they are held is this module's.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import sys
from array import array
from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np

from matching.lexical import join_words, split_words, terms


class TermIndex:
    """Which issues use which words: one document per issue (its occurrence and fix texts).

    Gives :meth:`coverage`, the share of a query's distinctive vocabulary that an issue uses,
    each word weighted by its inverse document frequency *within the organisation*: words
    every issue uses ("again", "sprint", "team" in a team's retros) weigh almost nothing,
    words that name the problem ("sandbox", "geocoding", a person's name, a ticket code)
    weigh most. Words found only in the issue's fixes are kept apart, for a caller to count
    them less (what was done describes a problem less directly than how it was raised).
    :meth:`best_issues` gives the issues sharing the query's rarest words (a candidate pool
    without a database).

    Compact: each word is a number, and the documents and each word's issues are held in
    flat arrays (:class:`_Documents`: a few bytes a word an issue, no object per issue).
    """

    def __init__(self) -> None:
        self._words: list[str] = []  # word number -> word; only ever appended to
        self._numbers: dict[str, int] = {}
        self._word_table = np.empty(0, dtype=object)  # the same, as an array: see _table
        self._tabled = 0
        self._documents = _Documents(_Base.empty())

    def _number(self, word: str) -> int:
        number = self._numbers.get(word)
        if number is None:
            number = self._numbers[word] = len(self._words)
            self._words.append(word)
        return number

    def __len__(self) -> int:
        return self._documents.count

    def add(
        self,
        issue_id: int,
        text: str,
        *,
        fix: bool = False,
        text_terms: frozenset[str] | None = None,
    ) -> None:
        """Add a text to an issue's document: an occurrence's, or a fix's (``fix=True``);
        ``text_terms``, when given, are ``terms(text)`` computed earlier."""
        if text_terms is None:
            text_terms = terms(text)
        known = self._numbers
        for term in text_terms:
            if term not in known:
                self._number(term)
        documents = self._documents
        documents.add(issue_id, {known[term] for term in text_terms}, fix=fix)
        if documents.should_fold():
            self._documents = documents.folded(len(self._words))

    def remove_issue(self, issue_id: int) -> None:
        self._documents.remove(issue_id)

    @property
    def nbytes(self) -> int:
        """Memory held, estimated: the documents and the words."""
        return self._documents.nbytes + sum(130 + len(w) for w in self._words)

    def arrays(self) -> dict[str, np.ndarray]:
        """The index as plain arrays (its words, each issue's words and fix-only words, each
        word's issues), for :meth:`from_arrays`."""
        base = self._documents.folded(len(self._words)).base
        used = np.diff(base.posting_starts) > 0  # words no issue uses any more are left out
        renumber = np.cumsum(used, dtype=np.int64) - 1
        fix_lengths = np.diff(base.fix_starts)
        with_fixes = fix_lengths > 0
        return {
            "words": join_words(
                [w for w, kept in zip(self._words, used.tolist(), strict=True) if kept]
            ),
            "issue_ids": base.issue_ids,
            "issue_lengths": np.diff(base.issue_starts),
            "issue_words": renumber[base.issue_words].astype(np.int32),
            "fix_ids": base.issue_ids[with_fixes],
            "fix_lengths": fix_lengths[with_fixes],
            "fix_words": renumber[base.fix_words].astype(np.int32),
            "posting_lengths": np.diff(base.posting_starts)[used],
            "postings": base.postings,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> TermIndex:
        index = cls()
        index._words = [sys.intern(w) for w in split_words(arrays["words"])]
        index._numbers = {word: number for number, word in enumerate(index._words)}
        index._documents = _Documents(_Base.restored(arrays))
        return index

    def terms_of(self, issue_id: int) -> frozenset[str]:
        return self.documents([issue_id])[0][0]

    def fix_only_terms_of(self, issue_id: int) -> frozenset[str]:
        return self.documents([issue_id])[0][1]

    def documents(self, issue_ids: Sequence[int]) -> list[tuple[frozenset[str], frozenset[str]]]:
        """Each issue's words and fix-only words (:meth:`terms_of`, :meth:`fix_only_terms_of`),
        looked up together."""
        none = frozenset[str]()
        return [
            (frozenset(found[0]), frozenset(found[1]) if found[1] else none)
            if found
            else (none, none)
            for found in self._documents.read(issue_ids, self._table())
        ]

    def _table(self) -> np.ndarray:
        """Each word by its number, as an array (grown as words are added)."""
        table, count = self._word_table, len(self._words)
        if self._tabled < count:
            if len(table) < count:
                table = np.empty(2 * count, dtype=object)
                table[: self._tabled] = self._word_table[: self._tabled]
            table[self._tabled : count] = self._words[self._tabled : count]
            self._word_table, self._tabled = table, count
        return table

    def df(self, term: str) -> int:
        number = self._numbers.get(term)
        return 0 if number is None else self._documents.df(number)

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency (BM25's, kept positive)."""
        n, df = len(self), self.df(term)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def weights(self, query_terms: Iterable[str]) -> dict[str, float]:
        """Each query word's share of the query's IDF mass (summing to 1), for
        :meth:`coverage`; compute once per query."""
        weights = {t: self.idf(t) for t in query_terms}
        total = sum(weights.values())
        return {t: w / total for t, w in weights.items()} if total else {}

    def coverage(
        self,
        query_terms: frozenset[str] | dict[str, float],
        document: Collection[str],
        fix_only: Collection[str] = (),
        fix_share: float = 1.0,
    ) -> float:
        """0..1: the IDF-weighted share of ``query_terms`` (or their :meth:`weights`) found
        in ``document``, words in ``fix_only`` counting ``fix_share``."""
        weights = query_terms if isinstance(query_terms, dict) else self.weights(query_terms)
        return sum(
            w * (fix_share if t in fix_only else 1.0) for t, w in weights.items() if t in document
        )

    def issue_coverage(
        self,
        query_terms: frozenset[str] | dict[str, float],
        issue_id: int,
        fix_share: float = 1.0,
    ) -> float:
        """:meth:`coverage` of the issue's words (its fixes' own words counting ``fix_share``)."""
        ((words, fix_only),) = self.documents([issue_id])
        return self.coverage(query_terms, words, fix_only, fix_share)

    def best_issues(
        self,
        query_terms: frozenset[str],
        k: int,
        *,
        max_share: float = 0.2,
        max_found: int = 500,
    ) -> list[int]:
        """Up to ``k`` issues by IDF-weighted shared words, among those sharing a query word
        used by at most ``max_share`` of the issues (common words find everything). Words
        are taken rarest first, and no new word once ``max_found`` issues are found: the
        rarest words weigh most, so the best issues share them. A candidate pool: the
        exact wording score is the ranker's."""
        limit = max(1, int(max_share * len(self)))
        weights = self.weights(query_terms)
        documents = self._documents
        found: dict[int, float] = {}
        for term in sorted(query_terms, key=self.df):
            if self.df(term) > limit or len(found) >= max_found:
                break
            number = self._numbers.get(term)
            if number is None:  # a word no issue uses
                continue
            weight = weights[term]
            for issue_id in documents.issues_of(number):
                found[issue_id] = found.get(issue_id, 0.0) + weight
        return heapq.nsmallest(k, found, key=lambda i: (-found[i], i))


_FOLD_AT = 2048  # changed issues before the changes are folded into new arrays (at least)


@dataclasses.dataclass(frozen=True, slots=True)
class _Base:
    """Documents as flat arrays: issue ids (sorted) with each one's word numbers and fix-only
    word numbers (rows of ``issue_words`` and ``fix_words`` from ``*_starts``), and each
    word's issues (rows of ``postings`` from ``posting_starts``, by word number)."""

    issue_ids: np.ndarray
    issue_starts: np.ndarray
    issue_words: np.ndarray
    fix_starts: np.ndarray
    fix_words: np.ndarray
    posting_starts: np.ndarray
    postings: np.ndarray

    @classmethod
    def empty(cls) -> _Base:
        none, start = np.zeros(0, np.int64), np.zeros(1, np.int64)
        return cls(
            issue_ids=none, issue_starts=start, issue_words=np.zeros(0, np.int32),
            fix_starts=start, fix_words=np.zeros(0, np.int32),
            posting_starts=start, postings=none,
        )  # fmt: skip

    @classmethod
    def restored(cls, arrays: Mapping[str, np.ndarray]) -> _Base:
        """From :meth:`TermIndex.arrays` (copied: the arrays may be a mapped file's)."""
        ids = np.array(arrays["issue_ids"], dtype=np.int64)
        lengths = np.asarray(arrays["issue_lengths"], dtype=np.int64)
        issue_words = np.array(arrays["issue_words"], dtype=np.int32)
        fix_ids = np.asarray(arrays["fix_ids"], dtype=np.int64)
        fix_given = np.asarray(arrays["fix_lengths"], dtype=np.int64)
        fix_words = np.asarray(arrays["fix_words"], dtype=np.int32)
        for listed, counts, values in (
            (ids, lengths, issue_words),
            (fix_ids, fix_given, fix_words),
        ):
            if len(listed) != len(counts) or (counts < 0).any() or counts.sum() != len(values):
                raise ValueError("word lists of other lengths than given")
            if len(np.unique(listed)) != len(listed):
                raise ValueError("an issue listed twice")
        order = np.argsort(ids, kind="stable")
        at = np.searchsorted(ids[order], fix_ids)
        if len(at) and (at.max() >= len(ids) or (ids[order][at] != fix_ids).any()):
            raise ValueError("fix-only words of an issue without words")
        position = order[at]  # each fix-only row's issue, as the issues are listed
        fix_lengths = np.zeros(len(ids), np.int64)
        fix_lengths[position] = fix_given
        fix_words = _take(fix_words, _starts(fix_given), np.argsort(position, kind="stable"))[0]
        words = len(arrays["posting_lengths"])
        return cls.ordered(ids, lengths, issue_words, fix_lengths, fix_words, words)

    @classmethod
    def ordered(
        cls,
        ids: np.ndarray,
        lengths: np.ndarray,
        issue_words: np.ndarray,
        fix_lengths: np.ndarray,
        fix_words: np.ndarray,
        words: int,
    ) -> _Base:
        """From documents in any order: issue ids, and for each its word numbers and fix-only
        word numbers (``lengths`` and ``fix_lengths`` of them, one issue after another), of
        ``words`` words."""
        order = np.argsort(ids, kind="stable")
        if (order != np.arange(len(ids))).any():
            issue_words = _take(issue_words, _starts(lengths), order)[0]
            fix_words = _take(fix_words, _starts(fix_lengths), order)[0]
            ids, lengths, fix_lengths = ids[order], lengths[order], fix_lengths[order]
        if len(issue_words) and (issue_words.min() < 0 or issue_words.max() >= words):
            raise ValueError("a word number out of range")
        # Each word's issues: the documents' (issue, word) pairs ordered by word.
        by_word = np.argsort(issue_words, kind="stable")
        return cls(
            issue_ids=ids,
            issue_starts=_starts(lengths),
            issue_words=issue_words,
            fix_starts=_starts(fix_lengths),
            fix_words=fix_words,
            posting_starts=_starts(np.bincount(issue_words, minlength=words)),
            postings=np.repeat(ids, lengths)[by_word],
        )

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, field.name).nbytes for field in dataclasses.fields(self))

    def rows(self, issue_ids: Sequence[int]) -> list[int]:
        """Each issue's row, -1 for an issue the base does not hold."""
        ids = self.issue_ids
        if not len(ids):
            return [-1] * len(issue_ids)
        at = np.searchsorted(ids, issue_ids)
        found = ids[np.minimum(at, len(ids) - 1)].tolist()
        return [
            row if found[k] == issue_id else -1
            for k, (row, issue_id) in enumerate(zip(at.tolist(), issue_ids, strict=True))
        ]

    def row(self, issue_id: int) -> int:
        """The issue's row, -1 when the base does not hold it."""
        ids = self.issue_ids
        row = int(ids.searchsorted(issue_id))
        return row if row < len(ids) and int(ids[row]) == issue_id else -1

    def read(self, rows: list[int], table: np.ndarray) -> list[tuple[list[str], list[str]]]:
        """The words and fix-only words of these rows (``table``: each word by its number),
        read together."""
        at = np.array(rows, dtype=np.int64)
        words = _gather(self.issue_words, self.issue_starts, at, table)
        return list(zip(words, _gather(self.fix_words, self.fix_starts, at, table), strict=True))

    def document(self, row: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        starts, fix_starts = self.issue_starts, self.fix_starts
        return (
            tuple(self.issue_words[starts[row] : starts[row + 1]].tolist()),
            tuple(self.fix_words[fix_starts[row] : fix_starts[row + 1]].tolist()),
        )

    def df(self, number: int) -> int:
        if number + 1 >= len(self.posting_starts):  # a word added since
            return 0
        return int(self.posting_starts[number + 1] - self.posting_starts[number])

    def issues_of(self, number: int) -> list[int]:
        if number + 1 >= len(self.posting_starts):
            return []
        return self.postings[self.posting_starts[number] : self.posting_starts[number + 1]].tolist()


def _take(
    values: np.ndarray, starts: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a flat array (row ``r`` is ``values[starts[r]:starts[r + 1]]``), the ``rows``
    one after another, and their lengths."""
    first = starts[rows]
    lengths = starts[rows + 1] - first
    ends = np.cumsum(lengths)
    at = np.repeat(first - ends + lengths, lengths) + np.arange(ends[-1] if len(ends) else 0)
    return values[at], lengths


def _gather(
    values: np.ndarray, starts: np.ndarray, rows: np.ndarray, table: np.ndarray
) -> list[list[str]]:
    """:func:`_take`'s rows as the words of ``table`` they number, with one lookup."""
    numbers, lengths = _take(values, starts, rows)
    flat = table[numbers].tolist()
    out, start = [], 0
    for end in np.cumsum(lengths).tolist():
        out.append(flat[start:end])
        start = end
    return out


def _starts(lengths: np.ndarray) -> np.ndarray:
    starts = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=starts[1:])
    return starts


class _Documents:
    """A :class:`_Base` and the changes since: per changed issue its word numbers and
    fix-only word numbers, per word the issues added to it and how many of its base issues
    went, and the issues whose base document no longer counts (removed, perhaps added again
    since). :meth:`folded` makes new arrays of both, once :meth:`should_fold`."""

    def __init__(self, base: _Base) -> None:
        self.base = base
        self.count = len(base.issue_ids)
        self.changed: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        self.gone: set[int] = set()
        self.added: dict[int, array[int]] = {}
        self.lost: dict[int, int] = {}

    def _row(self, issue_id: int) -> int:
        return -1 if issue_id in self.gone else self.base.row(issue_id)

    def read(
        self, issue_ids: Sequence[int], table: np.ndarray
    ) -> list[tuple[list[str], list[str]] | None]:
        """Each issue's words and fix-only words (``table``: each word by its number), None
        for an issue not held."""
        rows = self.base.rows(issue_ids)
        held = [
            row if row >= 0 and issue_id not in self.changed and issue_id not in self.gone else -1
            for issue_id, row in zip(issue_ids, rows, strict=True)
        ]
        read = iter(self.base.read([row for row in held if row >= 0], table))
        out: list[tuple[list[str], list[str]] | None] = []
        for issue_id, row in zip(issue_ids, held, strict=True):
            if row >= 0:
                out.append(next(read))
            elif (changed := self.changed.get(issue_id)) is not None:
                words, fix_only = changed
                out.append((table[list(words)].tolist(), table[list(fix_only)].tolist()))
            else:
                out.append(None)
        return out

    def _document(self, issue_id: int) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        changed = self.changed.get(issue_id)
        if changed is not None:
            return changed
        row = self._row(issue_id)
        return None if row < 0 else self.base.document(row)

    def add(self, issue_id: int, numbers: set[int], *, fix: bool) -> None:
        document = self._document(issue_id)
        current, fix_only = document if document is not None else ((), ())
        new = numbers.difference(current)
        for number in new:
            issues = self.added.get(number)
            if issues is None:
                issues = self.added[number] = array("q")
            issues.append(issue_id)
        words = (*current, *sorted(new))
        if fix:
            fix_only = (*fix_only, *sorted(new))
        elif fix_only and not numbers.isdisjoint(fix_only):
            fix_only = tuple(n for n in fix_only if n not in numbers)
        if document is None:
            self.count += 1
        if document != (words, fix_only):
            self.changed[issue_id] = (words, fix_only)

    def remove(self, issue_id: int) -> None:
        row = self._row(issue_id)
        base: tuple[int, ...] = ()
        if row >= 0:  # its base words lose an issue
            base = self.base.document(row)[0]
            self.gone.add(issue_id)
            for number in base:
                self.lost[number] = self.lost.get(number, 0) + 1
        changed = self.changed.pop(issue_id, None)
        if changed is not None:
            for number in set(changed[0]).difference(base):  # its words added since
                issues = self.added[number]
                issues.remove(issue_id)
                if not issues:
                    del self.added[number]
        if row >= 0 or changed is not None:
            self.count -= 1

    def df(self, number: int) -> int:
        base = self.base.df(number) - self.lost.get(number, 0)
        return base + len(self.added.get(number, ()))

    def issues_of(self, number: int) -> list[int]:
        issues = self.base.issues_of(number)
        if self.lost.get(number):
            issues = [i for i in issues if i not in self.gone]
        added = self.added.get(number)
        return issues + added.tolist() if added else issues

    def should_fold(self) -> bool:
        return len(self.changed) + len(self.gone) > max(_FOLD_AT, len(self.base.issue_ids))

    def folded(self, words: int) -> _Documents:
        """Base and changes as new arrays (the words keep their numbers)."""
        base, changed = self.base, self.changed
        dropped = np.fromiter((*changed, *self.gone), np.int64)
        keep = np.flatnonzero(~np.isin(base.issue_ids, dropped))
        kept_words, kept_lengths = _take(base.issue_words, base.issue_starts, keep)
        kept_fixes, kept_fix_lengths = _take(base.fix_words, base.fix_starts, keep)
        count = len(changed)

        def numbers(part: int) -> tuple[np.ndarray, np.ndarray]:
            lengths = np.fromiter((len(d[part]) for d in changed.values()), np.int64, count)
            flat = np.fromiter((n for d in changed.values() for n in d[part]), np.int32)
            return flat, lengths

        (new_words, new_lengths), (new_fixes, new_fix_lengths) = numbers(0), numbers(1)
        return _Documents(
            _Base.ordered(
                np.concatenate([base.issue_ids[keep], np.fromiter(changed, np.int64, count)]),
                np.concatenate([kept_lengths, new_lengths]),
                np.concatenate([kept_words, new_words]),
                np.concatenate([kept_fix_lengths, new_fix_lengths]),
                np.concatenate([kept_fixes, new_fixes]),
                words,
            )
        )

    @property
    def nbytes(self) -> int:
        changes = sum(150 + 8 * (len(w) + len(f)) for w, f in self.changed.values())
        changes += sum(90 + 8 * len(p) for p in self.added.values())
        return self.base.nbytes + changes + 60 * (len(self.gone) + len(self.lost))


def term_index(documents: Iterable[tuple[int, str]]) -> TermIndex:
    """A :class:`TermIndex` of ``(issue_id, text)`` pairs."""
    index = TermIndex()
    for issue_id, text in documents:
        index.add(issue_id, text)
    return index
