"""Root-cause profiles of texts kept in the database (:class:`~retros.models.TextProfile`), so
that loading an organisation's matcher index reads them in bulk instead of computing them
(about 0.15 ms a text: 15 s for 100k raisings).

Rows are read and written as arrays: ids, keys (a keyed 64-bit hash of the text and of the
category vocabulary, so an edited text or a changed vocabulary never matches) and profiles.
A load stores the profiles it had to compute, once; ``manage.py matcher_status --load``
fills the store for every organisation ahead of time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging

import numpy as np
from django.db import DatabaseError, connection, transaction

from matching import rootcause
from retros.models import TextProfile
from vocabulary.rules import DEFAULT_RULES
from vocabulary.signals import CATEGORY_VOCABULARY, SIGNAL_CATEGORIES

logger = logging.getLogger(__name__)

OCCURRENCE, FIX = TextProfile.Kind.OCCURRENCE.value, TextProfile.Kind.FIX.value
WIDTH = len(rootcause.CATEGORIES)
_WRITE_BATCH = 2000


def _vocabulary_key() -> bytes:
    """What a profile depends on besides its text: the categories, their words, the rules."""
    rules = dataclasses.asdict(DEFAULT_RULES)
    described = json.dumps(
        [SIGNAL_CATEGORIES, CATEGORY_VOCABULARY, rules],
        sort_keys=True,
        default=lambda value: sorted(value) if isinstance(value, set | frozenset) else repr(value),
    )
    return hashlib.blake2b(described.encode(), digest_size=16).digest()


VOCABULARY_KEY = _vocabulary_key()


def text_key(text: str) -> int:
    """The text's key, as an unsigned 64-bit integer."""
    digest = hashlib.blake2b(text.encode(), digest_size=8, key=VOCABULARY_KEY).digest()
    return int.from_bytes(digest, "little")


def read(organization_id: int, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The organisation's stored profiles of one kind: ids, keys (uint64), profiles
    ``(n, WIDTH)`` float32; a row stored with another width is left out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_id, text_key, profile FROM retros_textprofile"
            " WHERE organization_id = %s AND kind = %s",
            [organization_id, kind],
        )
        rows = [row for row in cursor.fetchall() if len(row[2]) == 4 * WIDTH]
    if not rows:
        return (np.zeros(0, np.int64), np.zeros(0, np.uint64), np.zeros((0, WIDTH), np.float32))
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    keys = np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows))
    blob = b"".join(bytes(row[2]) for row in rows)
    values = np.frombuffer(blob, dtype="<f4").reshape(-1, WIDTH).astype(np.float32)
    return ids, keys.view(np.uint64), values


def write(
    organization_id: int, kind: str, ids: np.ndarray, keys: np.ndarray, values: np.ndarray
) -> None:
    """Store profiles computed by a load (replacing what was stored for those rows). A
    store that cannot be written (a read-only replica, say) only costs the next load
    the same work."""
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
                TextProfile.objects.bulk_create(
                    TextProfile(
                        organization_id=organization_id,
                        kind=kind,
                        row_id=row_id,
                        text_key=int(key),
                        profile=profile.tobytes(),
                    )
                    for row_id, key, profile in zip(
                        row_ids, signed[chunk], profiles[chunk], strict=True
                    )
                )
    except DatabaseError as error:
        logger.warning("Matcher profiles not stored: %s", error)
