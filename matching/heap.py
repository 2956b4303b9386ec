"""The C heap under the matcher's large arrays. glibc only: elsewhere these do nothing.

Two habits of glibc's malloc keep memory resident that the matcher no longer uses:

- freed memory inside the heap is only returned to the system by ``malloc_trim``
  (:func:`release_free_heap`, called after loading the model or an index);
- the mmap threshold is dynamic: once a large block is freed, blocks up to its size are
  carved from the heap instead of mapped, so each block of rows packed while an index loads
  (:mod:`~matching.int8scan`) leaves its transient copies in the heap until the next
  trim. :func:`map_large_blocks` fixes the threshold at :data:`MMAP_THRESHOLD`, so blocks that
  large are mapped and unmapped on free. Measured while loading the 100k-raising bench
  organisation: peak RSS 292 MB instead of 328 MB, the same resident size after it.

Fixing the mmap threshold also fixes the trim threshold (the free space at the top of the
heap returned to the system at once), at 128 kB unless set: every array of a query's
scores would then be returned when freed and faulted in again by the next query (0.3 ms for
a 100k-row array of ids). It is set to :data:`TRIM_THRESHOLD`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

#: Allocations this large (and larger) are mapped on their own and returned when freed:
#: above the arrays of one query (under 1 MB at 100k raisings), below a packed block's copies
#: (3 MB, :data:`~matching.int8scan.ROWS`). At 4 MB those copies stayed in the packing
#: threads' heaps: after three reloads of the 100k-raising index a process held 264-267 MB
#: instead of 249-255.
MMAP_THRESHOLD = 2 << 20
#: Free space kept at the top of the heap for the next query's arrays.
TRIM_THRESHOLD = 32 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def release_free_heap() -> None:
    """Give freed heap back to the system. After loading the model: about 60 MB of parse
    and optimisation buffers that would otherwise stay resident."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_after_trim: int | None = None  # resident bytes just after this process last trimmed


def resident_bytes() -> int | None:
    """This process's resident size now (``/proc/self/statm``: a read of a few microseconds);
    None where there is no such file."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return None


def release_if_grown(limit: int) -> bool:
    """:func:`release_free_heap` once the process has grown by more than ``limit`` bytes
    since it last did. True when it trimmed.

    A web request leaves its query rows, template nodes and response scattered through the
    heap; freed, most of them stay resident between live objects, where no trim threshold
    reaches them. Checking the resident size costs microseconds, a trim under a millisecond,
    so a worker can call this after every request."""
    global _after_trim
    resident = resident_bytes()
    if resident is None or _libc() is None:
        return False
    if _after_trim is not None and resident - _after_trim <= limit:
        return False
    release_free_heap()
    _after_trim = resident_bytes()
    return True


def map_large_blocks() -> bool:
    """Fix the mmap threshold at :data:`MMAP_THRESHOLD` and the trim threshold at
    :data:`TRIM_THRESHOLD` for this process (and the processes it forks). True when the C
    library took both settings."""
    libc = _libc()
    if libc is None:
        return False
    mapped = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and mapped
