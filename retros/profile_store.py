"""Root-cause profiles and words of texts kept in the database
(:class:`~retros.models.TextProfile`), so that loading an organisation's matcher index reads
them in bulk instead of computing them (about 0.15 ms a text: 15 s for 100k raisings).

Rows are read and written as arrays: ids, keys (a keyed 64-bit hash of the text and of the
code that reads it, so an edited text or a changed vocabulary never matches), profiles, and
the words as space-separated strings.
A load stores the profiles it had to compute, once; ``manage.py matcher_status --load``
fills the store for every organisation ahead of time.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.db import DatabaseError, connection, transaction

from matching import lexical, rootcause
from matching.index import Words
from retros.models import TextProfile
from vocabulary import rules, signals

logger = logging.getLogger(__name__)

OCCURRENCE, FIX = TextProfile.Kind.OCCURRENCE.value, TextProfile.Kind.FIX.value
WIDTH = len(rootcause.CATEGORIES)
_WRITE_BATCH = 2000
_READ_BATCH = 5000


def _vocabulary_key() -> bytes:
    """What a text's profile and words depend on besides the text: the code and vocabulary
    that read them (any change to them reads every text again, once)."""
    digest = hashlib.blake2b(digest_size=16)
    for module in (signals, rules, lexical, rootcause):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.digest()


VOCABULARY_KEY = _vocabulary_key()


def text_key(text: str) -> int:
    """The text's key, as an unsigned 64-bit integer."""
    digest = hashlib.blake2b(text.encode(), digest_size=8, key=VOCABULARY_KEY).digest()
    return int.from_bytes(digest, "little")


@dataclass
class Stored:
    """An organisation's stored rows of one kind, as arrays; the words of the rows as lines
    (``terms<TAB>words``) of a few large strings, one per batch read, so that a load holds no
    object per row, and lets each batch go once the load has passed it."""

    ids: np.ndarray  # int64
    keys: np.ndarray  # uint64
    values: np.ndarray  # (n, WIDTH) float32
    chunks: list[str]
    chunk_of: np.ndarray  # per row: its chunk
    starts: np.ndarray  # per row: where its line starts in its chunk
    ends: np.ndarray

    def words_at(self, at: int) -> Words:
        line = self.chunks[self.chunk_of[at]][self.starts[at] : self.ends[at]]
        terms, _, words = line.partition("\t")
        # Interned, as lexical.terms gives them: the index keeps one copy of each word.
        return Words(frozenset(map(sys.intern, terms.split())), tuple(words.split()))

    def release_before(self, at: int) -> None:
        """A load reads rows in id order: the chunks before row ``at``'s are done with."""
        for chunk in range(int(self.chunk_of[at]) if len(self.chunk_of) else 0):
            self.chunks[chunk] = ""


def read(organization_id: int, kind: str) -> Stored:
    """The organisation's stored profiles and words of one kind, by id; a row stored with
    another width is left out."""
    ids, keys, profiles = array("q"), array("q"), bytearray()
    chunks: list[str] = []
    chunk_of, starts, ends = array("i"), array("i"), array("i")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_id, text_key, profile, terms, words FROM retros_textprofile"
            " WHERE organization_id = %s AND kind = %s ORDER BY row_id",
            [organization_id, kind],
        )
        while rows := cursor.fetchmany(_READ_BATCH):
            lines, at = [], 0
            for row_id, key, profile, terms, words in rows:
                if len(profile) != 4 * WIDTH:
                    continue
                ids.append(row_id)
                keys.append(key)
                profiles += profile
                line = f"{terms}\t{words}"
                lines.append(line)
                chunk_of.append(len(chunks))
                starts.append(at)
                at += len(line)
                ends.append(at)
            chunks.append("".join(lines))
    values = np.frombuffer(bytes(profiles), dtype="<f4").reshape(-1, WIDTH).astype(np.float32)
    return Stored(
        np.frombuffer(ids, dtype=np.int64).copy(),
        np.frombuffer(keys, dtype=np.int64).view(np.uint64).copy(),
        values,
        chunks,
        np.frombuffer(chunk_of, dtype=np.int32).copy(),
        np.frombuffer(starts, dtype=np.int32).copy(),
        np.frombuffer(ends, dtype=np.int32).copy(),
    )


def write(
    organization_id: int,
    kind: str,
    ids: np.ndarray,
    keys: np.ndarray,
    values: np.ndarray,
    texts: list[str],
) -> None:
    """Store profiles computed by a load, with the words of their texts (replacing what was
    stored for those rows). A store that cannot be written (a read-only replica, say) only
    costs the next load the same work."""
    if not len(ids):
        return
    signed = np.asarray(keys, dtype=np.uint64).view(np.int64)
    profiles = np.asarray(values, dtype="<f4").reshape(-1, WIDTH)
    try:
        with transaction.atomic():
            for start in range(0, len(ids), _WRITE_BATCH):
                chunk = slice(start, start + _WRITE_BATCH)
                row_ids = [int(i) for i in ids[chunk]]
                TextProfile.objects.filter(kind=kind, row_id__in=row_ids).delete()
                rows = []
                for row_id, key, profile, text in zip(
                    row_ids, signed[chunk], profiles[chunk], texts[chunk], strict=True
                ):
                    words = Words.of(text)
                    rows.append(
                        TextProfile(
                            organization_id=organization_id,
                            kind=kind,
                            row_id=row_id,
                            text_key=int(key),
                            profile=profile.tobytes(),
                            terms=" ".join(sorted(words.terms)),
                            words=" ".join(words.words),
                        )
                    )
                TextProfile.objects.bulk_create(rows)
    except DatabaseError as error:
        logger.warning("Matcher profiles not stored: %s", error)
