"""The direction all retro text shares, taken partly out of the matcher's cosines. Pure.

Every retro item is about work, a team and a sprint or release, and all-MiniLM-L6-v2 places
such sentences in one narrow cone: two unrelated items of one organisation's release retros
score a cosine of 0.4 to 0.6 ("The time between KF 1.3 first cut and distribution support was
too short" / "We did not cut a stable release for 1.3"), and an item that is mostly that
shared language is close to everything. Subtracting part of the mean retro vector ``mu``
from both sides before the cosine (``cos(q - a*mu, o - a*mu)``, ``a`` = :attr:`Centring.share`)
lets what is specific to each item decide; it is the "remove the common direction"
correction of sentence-embedding literature, with one fixed direction per model.

``mu`` is the mean embedding of the real retrospective items of the tuning set
(``examples/real/``: 443 items of six projects), stored in :data:`CENTRE_FILE` with the model
it was computed with (``python manage.py evaluate_matching --write-centre``). The mean of any
five of the six projects gives the same rankings on the sixth as the mean of all six.

:class:`~matching.ranker.MatrixIndex` applies it while scoring rows: the query is centred once
(:meth:`Centring.queries`); each row's norm ``|o - a*mu|`` depends on the row alone and is
kept beside the rows once computed, so a query scans the rows with its own readings only.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from matching import embedding

logger = logging.getLogger(__name__)

CENTRE_FILE = Path(__file__).with_name("centre.json")
#: How much of the mean direction is taken out (0: plain cosines).
SHARE = 0.5


@dataclass(frozen=True, eq=False)
class Centring:
    """``mu`` (the mean direction) and the share of it subtracted from queries and rows."""

    direction: np.ndarray
    share: float = SHARE

    @property
    def dimension(self) -> int:
        return int(self.direction.shape[0])

    @cached_property
    def _length2(self) -> float:
        """``|mu|^2``, used by every query."""
        return float(self.direction @ self.direction)

    def queries(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(w, beta)`` for unit query rows ``q`` (``(k, d)``): ``w = (q - a*mu) / |q - a*mu|``
        and the per-query constant ``beta`` such that, for a unit row ``o`` with
        ``m = o . mu``, ``cos(q - a*mu, o - a*mu) = (w . o + beta) / |o - a*mu|``."""
        a, mu = self.share, self.direction
        along = queries @ mu  # q . mu
        norms = np.sqrt(np.maximum(1.0 - 2.0 * a * along + a * a * self._length2, 1e-12))
        centred = (queries - a * mu) / norms[:, None]
        beta = a * (a * self._length2 - along) / norms
        return centred.astype(np.float32), beta.astype(np.float32)

    def best(self, products: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """Each row's best centred cosine over the queries, from ``products``: the rows'
        (scaled) products with each centred query ``w`` (one line per query) and, last, with
        ``mu``. Rows scoring ``-inf`` stay ``-inf``."""
        norm = self.norms(products[-1])  # in place of the products with mu
        return self.best_of(products[:-1], beta, norm)

    def norms(self, along: np.ndarray) -> np.ndarray:
        """``|o - a*mu|`` of unit rows from their products with ``mu`` (``along``, turned into
        the norms in place: no other array per query)."""
        norm = along
        norm *= -2.0 * self.share
        norm += 1.0 + self.share * self.share * self._length2
        np.maximum(norm, 1e-12, out=norm)
        np.sqrt(norm, out=norm)
        return norm

    @staticmethod
    def best_of(cosines: np.ndarray, beta: np.ndarray, norm: np.ndarray) -> np.ndarray:
        """:meth:`best` from the products with the centred queries alone (``cosines``, added
        to in place) and the rows' :meth:`norms`."""
        cosines += beta[:, None]
        best = cosines[0] if len(cosines) == 1 else cosines.max(axis=0)
        best /= norm
        return best


def compute(vectors: np.ndarray, share: float = SHARE) -> Centring:
    """The centring of a set of unit vectors: their mean direction."""
    if not len(vectors):
        raise ValueError("no vectors to take a mean of")
    return Centring(np.asarray(vectors, dtype=np.float32).mean(axis=0), share)


def write(centring: Centring, texts: int, path: Path = CENTRE_FILE) -> None:
    """Store ``mu`` with the model it belongs to and how many texts it is the mean of."""
    document = {
        "model": embedding.MODEL_ID,
        "texts": texts,
        "vector": [round(float(x), 6) for x in centring.direction],
    }
    path.write_text(json.dumps(document, indent=0) + "\n", encoding="utf-8")


def load(path: Path = CENTRE_FILE) -> Centring | None:
    """The centring stored at ``path``, or None (plain cosines) when it was computed with
    another model: a direction of one model means nothing in another's space."""
    document = json.loads(path.read_text(encoding="utf-8"))
    vector = np.asarray(document["vector"], dtype=np.float32)
    if document["model"] != embedding.MODEL_ID or vector.shape != (embedding.DIMENSION,):
        logger.warning(
            "%s was computed with %s, not %s: cosines are not centred.",
            path.name,
            document["model"],
            embedding.MODEL_ID,
        )
        return None
    return Centring(vector)


_default: Centring | None = None
_loaded = False
_lock = threading.Lock()


def default() -> Centring | None:
    """:func:`load` of the shipped file, once per process."""
    global _default, _loaded
    if not _loaded:
        with _lock:
            if not _loaded:
                _default = load()
                _loaded = True
    return _default
