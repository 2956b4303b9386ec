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

import functools
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping

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
            "words": join_words(words),
            "trigrams": join_words(trigrams),
            "lengths": np.fromiter(map(len, self._postings.values()), np.int64, len(trigrams)),
            "postings": np.fromiter(
                (position[w] for ws in self._postings.values() for w in ws), np.int32
            ),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Vocabulary:
        vocabulary = cls()
        words = [sys.intern(w) for w in split_words(arrays["words"])]
        vocabulary._words = set(words)
        listed = np.array(words, dtype=object)[arrays["postings"]].tolist()
        ends = np.cumsum(arrays["lengths"]).tolist()
        start = 0
        for trigram, end in zip(split_words(arrays["trigrams"]), ends, strict=True):
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
#: organisation only ("sprint", "team", "release") are discounted by the word index
#: (:class:`~matching.wordindex.TermIndex`).
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


def join_words(words: list[str]) -> np.ndarray:
    """Words (never blank, no line breaks: normalised words and their trigrams) as UTF-8
    bytes, one a line."""
    return np.frombuffer("\n".join(words).encode(), dtype=np.uint8)


def split_words(joined: np.ndarray) -> list[str]:
    return joined.tobytes().decode().split("\n") if len(joined) else []
