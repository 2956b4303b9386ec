"""Spelling similarity: text normalisation and trigram scores with PostgreSQL pg_trgm semantics.

:func:`similarity` and :func:`word_similarity` return what pg_trgm's functions of the same
names return for the same strings (pg_trgm 1.6, PostgreSQL 15; checked against a live server):
words are runs of letters and digits, lower-cased, padded with two spaces in front and one
behind, and cut into trigrams. ``similarity`` is the Jaccard index of the two trigram sets;
``word_similarity(a, b)`` is the best similarity between the trigrams of ``a`` and a
continuous extent of the (ordered) trigrams of ``b``.

Recur scores in Python on :func:`normalize`-d text (lower case, accents folded, punctuation
stripped) on every database, so SQLite and PostgreSQL agree; nothing reads pg_trgm at run
time (no trigram column is stored). (pg_trgm does not fold accents; after normalisation
there are none left to disagree on.) pg_trgm hashes
trigrams of multi-byte characters into 3 bytes, so non-Latin text can differ only by a
hash collision.

Trigram sets are cached per string, so scoring one query against a few thousand candidate
texts costs a set intersection each (about a millisecond per thousand).
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import math
import re
import sys
import unicodedata
from array import array
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

import numpy as np

# Letters that do not decompose under NFKD but have a plain Latin spelling.
_FOLD = str.maketrans(
    {
        "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss",
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "þ": "th", "\u0131": "i",
    }
)  # fmt: skip
_NON_WORD = re.compile(r"[^\w]|_", re.UNICODE)
_SPACES = re.compile(r"\s+")


def fold_accents(text: str) -> str:
    """``"Déjà vu, Øresund"`` -> ``"Deja vu, Oresund"``."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Lower case, accents folded, every non-alphanumeric run turned into one space."""
    folded = fold_accents(text).lower()
    return _SPACES.sub(" ", _NON_WORD.sub(" ", folded)).strip()


def words(text: str) -> list[str]:
    """The words pg_trgm sees: runs of letters and digits, lower-cased."""
    return [w for w in _NON_WORD.sub(" ", text.lower()).split() if w]


def _word_trigrams(word: str) -> list[str]:
    padded = f"  {word} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


def _word_trigram_set(word: str) -> set[str]:
    """The trigrams of one normalised word (uncached: vocabularies hold many words)."""
    return set(_word_trigrams(word))


@functools.lru_cache(maxsize=8192)
def trigram_list(text: str) -> tuple[str, ...]:
    """Trigrams in text order, with repeats (pg_trgm's ``generate_trgm_only``)."""
    return tuple(t for word in words(text) for t in _word_trigrams(word))


@functools.lru_cache(maxsize=8192)
def trigrams(text: str) -> frozenset[str]:
    """The trigram set (what ``show_trgm`` shows)."""
    return frozenset(trigram_list(text))


def _calcsml(count: int, len1: int, len2: int) -> float:
    """pg_trgm's CALCSML: shared / (len1 + len2 - shared)."""
    return count / (len1 + len2 - count)


def set_similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return _calcsml(len(a & b), len(a), len(b))


def similarity(a: str, b: str) -> float:
    """pg_trgm ``similarity(a, b)``: shared trigrams / all distinct trigrams."""
    return set_similarity(trigrams(a), trigrams(b))


def word_similarity(needle: str, haystack: str) -> float:
    """pg_trgm ``word_similarity(needle, haystack)`` (a port of ``iterate_word_similarity``).

    High when the words of ``needle`` appear, possibly misspelt, somewhere in ``haystack``.
    """
    wanted = trigrams(needle)
    text = trigram_list(haystack)
    if not wanted or not text:
        return 0.0
    return _iterate_word_similarity(wanted, text)


def _iterate_word_similarity(wanted: frozenset[str], text: tuple[str, ...]) -> float:
    """pg_trgm's ``iterate_word_similarity`` (plain, not strict), one loop for speed.

    Scans ``text`` keeping an extent [lower, i]; at each trigram the needle has, it tries
    every lower bound up to i and keeps the one with the best similarity so far.
    """
    ulen1 = len(wanted)
    found = [t in wanted for t in text]
    lastpos: dict[str, int] = {}
    ulen2 = count = 0
    lower = -1
    best = 0.0
    for i, trg in enumerate(text):
        if lower >= 0 or found[i]:
            if lastpos.get(trg, -1) < 0:
                ulen2 += 1
                count += found[i]
            lastpos[trg] = i
        if not found[i]:
            continue
        if lower == -1:
            lower, ulen2 = i, 1
        current = count / (ulen1 + ulen2 - count)
        tmp_count, tmp_ulen2, prev_lower = count, ulen2, lower
        for tmp_lower in range(prev_lower, i + 1):
            candidate = tmp_count / (ulen1 + tmp_ulen2 - tmp_count)
            if candidate > current:
                current, ulen2, lower, count = candidate, tmp_ulen2, tmp_lower, tmp_count
            if lastpos.get(text[tmp_lower]) == tmp_lower:
                tmp_ulen2 -= 1
                tmp_count -= found[tmp_lower]
        best = max(best, current)
        for j in range(prev_lower, lower):
            if lastpos.get(text[j]) == j:
                lastpos[text[j]] = -1
    return best


def best_word_similarity(needle: str, haystacks: Iterable[str]) -> float:
    """``max(word_similarity(needle, h) for h in haystacks)``, skipping the haystacks that
    cannot beat the best so far (the score is at most shared trigrams / needle trigrams)."""
    wanted = trigrams(needle)
    if not wanted:
        return 0.0
    bounds = sorted(((len(wanted & trigrams(h)) / len(wanted), h) for h in haystacks), reverse=True)
    best = 0.0
    for bound, haystack in bounds:
        if bound <= best:
            break
        best = max(best, _iterate_word_similarity(wanted, trigram_list(haystack)))
    return best


def best_similarity(query: str, texts: Iterable[str]) -> float:
    """The highest :func:`similarity` between normalised ``query`` and normalised ``texts``."""
    q = trigrams(normalize(query))
    return max((set_similarity(q, trigrams(normalize(t))) for t in texts), default=0.0)


_WORD = re.compile(r"[^\W_]+")


class Vocabulary:
    """The words of an organisation's issue texts, used to read misspelt words in a query.

    The embedding model cannot read a word it does not know ("stagng" becomes the pieces
    st/##ag/##ng and the sentence loses its subject), so a query word that is neither a word
    of the model nor of the organisation is read as the organisation's closest word by
    trigram similarity, when one is close enough. Callers embed both the text as typed and
    the corrected text and keep the better match, so a wrong correction costs nothing.
    """

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self._words: set[str] = set()
        self._postings: dict[str, list[str]] = {}  # a word is added once: no repeats
        self.update(texts)

    def __contains__(self, word: object) -> bool:
        return word in self._words

    def __len__(self) -> int:
        return len(self._words)

    @property
    def nbytes(self) -> int:
        """Memory held, estimated: the words and their trigram postings."""
        words = sum(60 + len(w) for w in self._words) + 40 * len(self._words)
        return words + sum(150 + 8 * len(p) for p in self._postings.values())

    def update(self, texts: Iterable[str]) -> None:
        for text in texts:
            for word in normalize(text).split():
                self._add(word)

    def add_words(self, words: Iterable[str]) -> None:
        """Add words already normalised (``normalize(text).split()`` computed earlier)."""
        for word in words:
            self._add(word)

    def _add(self, word: str) -> None:
        if word in self._words:
            return
        word = sys.intern(word)
        self._words.add(word)
        for trigram in _word_trigram_set(word):
            self._postings.setdefault(trigram, []).append(word)

    def arrays(self) -> dict[str, np.ndarray]:
        """The words and their trigram postings as plain arrays, for :meth:`from_arrays`."""
        words = list(self._words)
        position = {word: at for at, word in enumerate(words)}
        trigrams = list(self._postings)
        return {
            "words": _joined(words),
            "trigrams": _joined(trigrams),
            "lengths": np.fromiter(map(len, self._postings.values()), np.int64, len(trigrams)),
            "postings": np.fromiter(
                (position[w] for ws in self._postings.values() for w in ws), np.int32
            ),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Vocabulary:
        vocabulary = cls()
        words = [sys.intern(w) for w in _split(arrays["words"])]
        vocabulary._words = set(words)
        listed = np.array(words, dtype=object)[arrays["postings"]].tolist()
        ends = np.cumsum(arrays["lengths"]).tolist()
        start = 0
        for trigram, end in zip(_split(arrays["trigrams"]), ends, strict=True):
            vocabulary._postings[trigram] = listed[start:end]
            start = end
        return vocabulary

    def closest(self, word: str, threshold: float = 0.5) -> str | None:
        """The most similar known word (pg_trgm similarity >= ``threshold``), or None."""
        wanted = _word_trigram_set(word)
        shared: dict[str, int] = {}
        for trigram in wanted:
            for other in self._postings.get(trigram, ()):
                shared[other] = shared.get(other, 0) + 1
        # similarity = n / (len(wanted) + len(other) - n) <= n / len(wanted): skip the words
        # that cannot reach the threshold before counting their trigrams.
        least = threshold * len(wanted)
        scored = [
            (_calcsml(n, len(wanted), len(_word_trigram_set(other))), other)
            for other, n in shared.items()
            if n >= least
        ]
        best = min(scored, key=lambda p: (-p[0], p[1]), default=None)
        return best[1] if best is not None and best[0] >= threshold else None

    def correct(
        self,
        text: str,
        is_known: Callable[[str], bool] = lambda word: False,
        *,
        threshold: float = 0.5,
        min_length: int = 4,
    ) -> str:
        """``text`` with each unknown word of ``min_length``+ letters replaced by its closest
        word in the vocabulary; ``is_known`` tells which words the model reads as they are."""

        def fix(match: re.Match[str]) -> str:
            word = normalize(match.group())
            if len(word) < min_length or word in self._words or is_known(word):
                return match.group()
            return self.closest(word, threshold) or match.group()

        return _WORD.sub(fix, text)


# --- Distinctive words ---------------------------------------------------------------------

#: English function words and filler that say nothing about which problem a text describes.
#: Generic English, not the wording of any organisation: words that are common in one
#: organisation only ("sprint", "team", "release") are discounted by :class:`TermIndex`.
STOP_WORDS = frozenset(
    """
    a about above after again all also am an and another any are as at be because been before
    being below between both but by can could did do does doing done down during each even
    every few for from further get gets getting got had has have having he her here hers him his
    how i if in into is it its just me more most much my no nor not now of off on once one only
    or other our ours out over own per same she should so some still such than that the their
    theirs them then there these they this those through to too two under until up us very was
    we were what when where which while who whom why will with would yet you your yours
    """.split()
)

# Longest first; a suffix is cut only when at least four letters remain, so short words stay.
_SUFFIXES = ("ingly", "ments", "ment", "edly", "ing", "ies", "ied", "ed", "es", "ly")
_VOWELS = frozenset("aeiou")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A deliberately light English stem, so that inflections meet without a dictionary:
    "flaky", "flaking" and "flakes" give "flak"; "deploy", "deploys", "deployed" and
    "deployment" give "deploy"; "stage", "stages" and "staging" give "stag".

    One inflectional suffix is cut (a plain "s" only when the word does not end in "ss",
    "us" or "is"), then a final "e", or a final "y" after a consonant, is dropped."""
    if len(word) <= 3:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    else:
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    if len(word) >= 5 and (word[-1] == "e" or (word[-1] == "y" and word[-2] not in _VOWELS)):
        word = word[:-1]
    return word


@functools.lru_cache(maxsize=1024)
def terms(text: str) -> frozenset[str]:
    """The stems of the content words of ``text`` (normalised; stop words and single
    characters dropped)."""
    return frozenset(
        sys.intern(stem(w)) for w in normalize(text).split() if len(w) > 1 and w not in STOP_WORDS
    )


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
            "words": _joined(
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
        index._words = [sys.intern(w) for w in _split(arrays["words"])]
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
        return cls._with_postings(ids, lengths, issue_words, fix_lengths, fix_words, words)

    @classmethod
    def _with_postings(
        cls,
        ids: np.ndarray,
        lengths: np.ndarray,
        issue_words: np.ndarray,
        fix_lengths: np.ndarray,
        fix_words: np.ndarray,
        words: int,
    ) -> _Base:
        if len(issue_words) and (issue_words.min() < 0 or issue_words.max() >= words):
            raise ValueError("a word number out of range")
        # Each word's issues: the documents' (issue, word) pairs ordered by word.
        owners = np.repeat(ids, lengths)
        by_word = np.argsort(issue_words, kind="stable")
        counts = np.bincount(issue_words, minlength=words) if len(issue_words) else None
        return cls(
            issue_ids=ids,
            issue_starts=_starts(lengths),
            issue_words=issue_words,
            fix_starts=_starts(fix_lengths),
            fix_words=fix_words,
            posting_starts=_starts(counts if counts is not None else np.zeros(words, np.int64)),
            postings=owners[by_word],
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


def _joined(words: list[str]) -> np.ndarray:
    """Words (never blank, no line breaks: normalised words and their trigrams) as UTF-8
    bytes, one a line."""
    return np.frombuffer("\n".join(words).encode(), dtype=np.uint8)


def _split(joined: np.ndarray) -> list[str]:
    return joined.tobytes().decode().split("\n") if len(joined) else []


def term_index(documents: Iterable[tuple[int, str]]) -> TermIndex:
    """A :class:`TermIndex` of ``(issue_id, text)`` pairs."""
    index = TermIndex()
    for issue_id, text in documents:
        index.add(issue_id, text)
    return index
