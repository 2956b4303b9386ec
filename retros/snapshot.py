"""Snapshots of organisations' matcher indexes (:class:`~retros.models.MatcherSnapshot`), so
that a process loads an index in one read instead of building it from every row.

A snapshot is the whole built index as plain arrays (the int8 vectors with their scales and
ids, the word index, the vocabulary, the issues' profile sums and teams, the texts'
profiles) in one binary blob: a fixed header, a JSON table of contents (names, dtypes,
shapes, offsets) and the arrays' bytes, read back as views of the blob. Nothing is pickled:
reading a snapshot runs no code from the database. A load (``retros.search.IndexCache``)
restores the snapshot and then appends the rows newer than its newest ids and applies the
changes after its newest change, as any process does between two queries.

Snapshots are written in the background, never in a request: by the Celery task
``retros.tasks.write_matcher_snapshot`` (in a thread of the process without a broker) after
a load had to read every row, and by ``manage.py matcher_status --snapshot``. The writer
builds its own index from the rows (it keeps the vectors' codes, which a serving index hands
to onnxruntime and lets go). A snapshot built for another matching stamp, embedding model,
weights version, vocabulary or layout is ignored.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.utils import timezone

from matching import embedding
from matching.weights import DEFAULT_WEIGHTS
from retros import profile_store
from retros.models import MatcherSnapshot
from retros.search import OrgIndex, ProfileCache, _freshness, build_index

logger = logging.getLogger(__name__)

#: The blob's layout: bump when it changes (older snapshots are then ignored).
LAYOUT = 1
_MAGIC = b"RECURIDX"
_ALIGN = 64
_PENDING_KEY = "matcher:snapshot:{}"
_PENDING_SECONDS = 600

# Organisations whose snapshot a thread of this process is writing (without a broker).
_writing: set[int] = set()
_writing_lock = threading.Lock()
_threads: list[threading.Thread] = []


def _fits() -> dict[str, Any]:
    """What a snapshot must have been built for to be used."""
    return {
        "model_id": embedding.MODEL_ID,
        "weights_version": DEFAULT_WEIGHTS.version,
        "vocabulary_key": profile_store.VOCABULARY_KEY.hex(),
        "layout": LAYOUT,
    }


# --- the blob -----------------------------------------------------------------------------


def encode(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> bytes:
    """Arrays (numeric dtypes only) and a JSON-able ``meta`` as one blob."""
    table: list[list[Any]] = []
    offset = 0
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        if array.dtype.hasobject:
            raise ValueError(f"{name}: object arrays are not stored")
        offset = -(-offset // _ALIGN) * _ALIGN
        table.append([name, array.dtype.str, list(array.shape), offset, array.nbytes])
        offset += array.nbytes
    header = json.dumps({"meta": meta, "arrays": table}).encode()
    start = -(-(len(_MAGIC) + 4 + len(header)) // _ALIGN) * _ALIGN
    out = bytearray(start + offset)
    out[: len(_MAGIC)] = _MAGIC
    out[len(_MAGIC) : len(_MAGIC) + 4] = struct.pack("<I", len(header))
    out[len(_MAGIC) + 4 : len(_MAGIC) + 4 + len(header)] = header
    for (_, _, _, at, size), array in zip(table, arrays.values(), strict=True):
        out[start + at : start + at + size] = np.ascontiguousarray(array).tobytes()
    return bytes(out)


def decode(blob: bytes | memoryview | mmap.mmap) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays (read-only views of ``blob``) and meta of :func:`encode`'s blob."""
    view = memoryview(blob)
    if bytes(view[: len(_MAGIC)]) != _MAGIC:
        raise ValueError("not a matcher snapshot")
    (size,) = struct.unpack("<I", view[len(_MAGIC) : len(_MAGIC) + 4])
    header = json.loads(bytes(view[len(_MAGIC) + 4 : len(_MAGIC) + 4 + size]))
    start = -(-(len(_MAGIC) + 4 + size) // _ALIGN) * _ALIGN
    arrays = {}
    for name, dtype, shape, at, nbytes in header["arrays"]:
        kind = np.dtype(dtype)
        if kind.hasobject or start + at + nbytes > len(view):
            raise ValueError(f"{name}: not a stored array")
        data = view[start + at : start + at + nbytes]
        arrays[name] = np.frombuffer(data, dtype=kind).reshape(shape)
    return arrays, header["meta"]


# --- writing ------------------------------------------------------------------------------


def write(organization_id: int) -> MatcherSnapshot | None:
    """Build the organisation's index from its rows and save it as its snapshot (replacing
    an older one); None when a newer snapshot was saved meanwhile."""
    fresh = _freshness(organization_id)
    index = build_index(organization_id, fresh, keep_codes=True)
    arrays = index.arrays()
    for kind, profiles in (("occurrence", index.occurrence_profiles), ("fix", index.fix_profiles)):
        profiles.freeze()
        arrays.update({f"{kind}_profiles.{k}": v for k, v in profiles.arrays().items()})
    meta = {
        "stamp": index.stamp,
        "newest_id": index.newest_id,
        "newest_fix_id": index.newest_fix_id,
        "seen_change": index.seen_change,
        "applied": sorted(index.applied),
        "checked": list(fresh.newest),
    }
    rows = len(index)
    del index
    blob = encode(arrays, meta)
    del arrays
    fields = {
        **_fits(),
        "stamp": meta["stamp"],
        "newest_occurrence_id": meta["newest_id"],
        "newest_fix_id": meta["newest_fix_id"],
        "newest_change_id": meta["seen_change"],
        "rows": rows,
        "built_at": timezone.now(),
        "data": blob,
    }
    try:
        with transaction.atomic():
            existing = (
                MatcherSnapshot.objects.select_for_update()
                .filter(organization_id=organization_id)
                .values_list("stamp", "newest_change_id", "newest_occurrence_id")
                .first()
            )
            if existing is not None and existing[0] == fields["stamp"]:
                if existing[1:] > (fields["newest_change_id"], fields["newest_occurrence_id"]):
                    return None  # a newer one was written meanwhile
            return MatcherSnapshot.objects.update_or_create(
                organization_id=organization_id, defaults=fields
            )[0]
    except IntegrityError:  # another writer created the first one meanwhile
        return None


def schedule(organization_id: int) -> None:
    """Have a snapshot of the organisation written in the background (after a load that
    read every row): a Celery task, or without a broker a thread of this process. At most
    one at a time per organisation (per process without a broker; for ten minutes
    everywhere with one)."""
    if not settings.RECUR_MATCHER_SNAPSHOTS:
        return
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        from retros.tasks import write_matcher_snapshot

        if cache.add(_PENDING_KEY.format(organization_id), 1, _PENDING_SECONDS):
            try:
                write_matcher_snapshot.delay(organization_id)
            except Exception:  # the broker is down: the next full load asks again
                cache.delete(_PENDING_KEY.format(organization_id))
                logger.exception("Matcher snapshot of %s not queued", organization_id)
        return
    with _writing_lock:
        if organization_id in _writing:
            return
        _writing.add(organization_id)
        thread = threading.Thread(
            target=_write_in_thread,
            args=(organization_id,),
            name=f"recur-matcher-snapshot-{organization_id}",
            daemon=True,
        )
        _threads[:] = [t for t in _threads if t.is_alive()] + [thread]
    thread.start()


def written(organization_id: int) -> None:
    """The task is done: another may be queued."""
    cache.delete(_PENDING_KEY.format(organization_id))


def _write_in_thread(organization_id: int) -> None:
    try:
        write(organization_id)
    except Exception:
        logger.exception("Matcher snapshot of organisation %s not written", organization_id)
    finally:
        with _writing_lock:
            _writing.discard(organization_id)
        connections.close_all()  # this thread's connections


def wait(timeout: float | None = None) -> None:
    """Wait for the snapshots this process is writing in threads (tests, benchmarks)."""
    with _writing_lock:
        threads = list(_threads)
    for thread in threads:
        thread.join(timeout)


# --- reading ------------------------------------------------------------------------------


def restore(organization_id: int, stamp: int) -> OrgIndex | None:
    """The organisation's index as its snapshot saved it, when one fits ``stamp`` and the
    code in use; None otherwise (or when it cannot be read)."""
    for local in (True, False):  # this host's copy, then (should it not do) the database's
        try:
            blob, mapped = _read(organization_id, stamp, local=local)
        except DatabaseError as error:  # e.g. not migrated yet: a load from the rows
            logger.warning("Matcher snapshot not read: %s", error)
            return None
        except _Replaced:  # written again while read: the next load reads the new one
            return None
        if blob is None:
            return None
        try:
            return _restored(blob, stamp)
        except (ValueError, KeyError, TypeError) as error:
            logger.warning("Matcher snapshot of %s not used: %s", organization_id, error)
            if mapped is None:
                return None
            _forget(mapped)
    return None


def _restored(blob: bytes | mmap.mmap, stamp: int) -> OrgIndex:
    arrays, meta = decode(blob)
    index = OrgIndex(
        stamp=stamp,
        occurrence_profiles=ProfileCache.from_arrays(_part(arrays, "occurrence_profiles.")),
        fix_profiles=ProfileCache.from_arrays(_part(arrays, "fix_profiles.")),
    )
    if arrays["matrix.codes"].shape[1] != embedding.DIMENSION:
        raise ValueError("vectors of another dimension")
    # Packed by the caller, in a thread; a mapped copy's pages of each block let go once it
    # is packed (else they would stay resident, beside onnxruntime's copy, until all are).
    release = _dropper(blob) if isinstance(blob, mmap.mmap) else None
    index.restore(arrays, pack=False, release=release)
    if isinstance(blob, mmap.mmap):
        # The words, teams and counts are copied out by now: let all the pages read so far
        # go at once, not when the last block is packed (17 MB at 100k raisings, resident
        # through the packing, its peak). The arrays still read from the copy come back
        # from the page cache when next read.
        _let_go(blob)
    index.newest_id = int(meta["newest_id"])
    index.newest_fix_id = int(meta["newest_fix_id"])
    index.seen_change = int(meta["seen_change"])
    index.applied = {int(c) for c in meta["applied"]}
    index.checked = (int(meta["checked"][0]), int(meta["checked"][1]))
    return index


def _let_go(mapped: mmap.mmap, start: int = 0, length: int | None = None) -> None:
    """Let the process's pages of the mapped file go, all of them or ``length`` bytes from
    the page holding ``start`` (they stay in the page cache: read again, they come back
    from it)."""
    first = start - start % mmap.PAGESIZE
    try:
        if length is None:
            mapped.madvise(mmap.MADV_DONTNEED)
        else:
            mapped.madvise(mmap.MADV_DONTNEED, first, start + length - first)
    except (OSError, ValueError):
        pass


def _dropper(mapped: mmap.mmap) -> Callable[[np.ndarray], None]:
    """:func:`_let_go` of an array's pages, for arrays read from ``mapped``."""
    base = np.frombuffer(mapped, dtype=np.uint8).__array_interface__["data"][0]

    def drop(codes: np.ndarray) -> None:
        _let_go(mapped, codes.__array_interface__["data"][0] - base, codes.nbytes)

    return drop


def _read(
    organization_id: int, stamp: int, *, local: bool = True
) -> tuple[bytes | mmap.mmap | None, Path | None]:
    """The blob of the organisation's snapshot that fits: this host's copy of it, mapped,
    when there is one (see :func:`_local_copy`; then its path too), else read from the
    database in one piece (and copied for the next process)."""
    rows = MatcherSnapshot.objects.filter(organization_id=organization_id, stamp=stamp, **_fits())
    found = rows.values_list("pk", "built_at", "newest_change_id").first()
    if found is None:
        return None, None
    path = _local_copy(organization_id, *found)
    if path is not None and local:
        mapped = _mapped(path)
        if mapped is not None:
            return mapped, path
    chunks = _chunks(rows.filter(pk=found[0]), found[0], found[1])
    if path is not None and _keep(path, chunks):
        mapped = _mapped(path) if local else None
        if mapped is not None:  # the copy just written, so that its pages can be let go
            return mapped, path
        chunks = _chunks(rows.filter(pk=found[0]), found[0], found[1])
    blob = b"".join(chunks)
    return (blob or None), None


#: Bytes of the blob read at a time from PostgreSQL: libpq keeps its input buffer as large
#: as the largest row it was sent, for the life of the connection (a 50 MB blob read whole
#: would stay resident in every process that read it).
_READ_CHUNK = 4 << 20


class _Replaced(Exception):
    """The snapshot was written again while it was being read."""


def _chunks(rows: Any, snapshot_id: int, built_at: datetime) -> Iterator[bytes]:
    """The blob, in pieces. On PostgreSQL in binary (in text, bytea comes as hex: twice the
    bytes and a decode, 1.3 s instead of 0.2 s for 50 MB), a slice at a time, each of the
    same version of the row (its build time)."""
    if connection.vendor != "postgresql":
        value = rows.values_list("data", flat=True).first()
        if value is not None:
            yield bytes(value)
        return
    import psycopg

    sql = (
        "SELECT octet_length(data), substring(data FROM %s FOR %s)"
        f" FROM {MatcherSnapshot._meta.db_table} WHERE id = %s AND built_at = %s"
    )
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        at, size = 1, None
        while size is None or at <= size:
            cursor.execute(sql, [at, _READ_CHUNK, snapshot_id, built_at], binary=True)
            row = cursor.fetchone()
            if row is None:
                raise _Replaced
            size = row[0]
            yield row[1]
            at += _READ_CHUNK


# --- this host's copies ----------------------------------------------------------------------
# A snapshot read from the database is kept as a file (RECUR_MATCHER_SNAPSHOT_DIR, a
# directory only this user may read), named by everything that tells one snapshot from
# another: a process started later (a restarted worker, after a deploy) maps it, from the
# page cache, instead of reading 50 MB from the database again. A file that cannot be read
# or is not a snapshot is removed and the database read instead.


def _local_copy(
    organization_id: int, snapshot_id: int, built_at: datetime, change_id: int
) -> Path | None:
    directory = settings.RECUR_MATCHER_SNAPSHOT_DIR
    if not directory:
        return None
    stamp = f"{built_at.timestamp():.6f}".replace(".", "")
    return Path(directory) / f"{organization_id}-{snapshot_id}-{stamp}-{change_id}-{LAYOUT}.idx"


def _mapped(path: Path) -> mmap.mmap | None:
    try:
        with path.open("rb") as file:
            return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # none yet (or empty)
        return None


def _keep(path: Path, chunks: Iterable[bytes]) -> bool:
    """Write the copy (in full, then renamed into place) and remove the organisation's
    older copies; False when it could not be written."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with partial.open("wb") as file:
            for chunk in chunks:
                file.write(chunk)
        os.replace(partial, path)
        organization = path.name.split("-", 1)[0]
        for older in path.parent.glob(f"{organization}-*.idx"):
            if older != path:
                older.unlink(missing_ok=True)
    except OSError as error:
        logger.info("Matcher snapshot not kept on this host: %s", error)
        partial.unlink(missing_ok=True)
        return False
    except BaseException:  # e.g. written again while read
        partial.unlink(missing_ok=True)
        raise
    return True


def _forget(path: Path | None) -> None:
    if path is not None:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


def _part(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
