"""The C heap settings under the matcher's large arrays (matching.heap)."""

import subprocess
import sys
import textwrap

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow  # each test starts Python processes

# What both scripts start with: numpy, the module under test and the process's resident size.
_PRELUDE = textwrap.dedent(
    """
    import sys
    import numpy as np
    from matching import heap

    def rss_mb():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024

    # 800 arrays of 64 kB (under glibc's default mmap threshold, so carved from the heap),
    # each followed by a small array that stays; the large ones freed: 50 MB of holes the
    # heap cannot give back from its top.
    def make_holes():
        blocks, kept = [], []
        for _ in range(800):
            blocks.append(np.ones(64 << 10, dtype=np.uint8))
            kept.append(np.ones(1000, dtype=np.uint8))
        del blocks
        return kept
    """
)

# Frees a 16 MB array (which raises glibc's dynamic mmap threshold to 16 MB), then allocates
# and frees arrays the size of a packed block's copies (3 MB), holding a small object
# allocated after each; prints how much of that stayed resident once all of them are freed.
_RETAINED = _PRELUDE + textwrap.dedent(
    """
    from matching import embedding, int8scan

    if sys.argv[1] == "fixed":
        assert heap.map_large_blocks()
    big = np.ones(16 << 20, dtype=np.uint8)
    del big
    before = rss_mb()
    kept = []
    for _ in range(8):
        block = np.ones(int8scan.ROWS * embedding.DIMENSION, dtype=np.uint8)
        kept.append(np.ones(1000, dtype=np.uint8))
        del block
    print(rss_mb() - before)
    """
)


def _run(script: str, argument: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script, argument],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    return done.stdout


def _retained(mode: str, script: str = _RETAINED) -> float:
    return float(_run(script, mode))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc only")
def test_large_blocks_go_back_to_the_system_once_freed():
    assert _retained("dynamic") > 2  # glibc's default: a freed block stays in the heap
    assert _retained("fixed") < 1


# Leaves 50 MB of holes (make_holes); prints how much of that stays resident,
# after release_free_heap when asked (twice: a second call finds nothing and is harmless).
_HOLES = _PRELUDE + textwrap.dedent(
    """
    before = rss_mb()
    kept = make_holes()
    if sys.argv[1] == "release":
        heap.release_free_heap()
        heap.release_free_heap()
    print(rss_mb() - before)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc only")
def test_releasing_the_free_heap_gives_freed_holes_back_to_the_system():
    assert _retained("keep", _HOLES) > 40  # 50 MB freed but resident between the kept arrays
    assert _retained("release", _HOLES) < 10


# The same holes, 50 MB of them, left after a first call to release_if_grown has recorded the
# resident size; a second call with the limit given trims only when the growth passes it.
_GROWN = _PRELUDE + textwrap.dedent(
    """
    heap.release_if_grown(0)
    before = rss_mb()
    kept = make_holes()
    trimmed = heap.release_if_grown(int(sys.argv[1]) << 20)
    print(trimmed, rss_mb() - before)
    """
)


def _grown(limit_mb: int) -> tuple[bool, float]:
    trimmed, growth = _run(_GROWN, str(limit_mb)).split()
    return trimmed == "True", float(growth)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc only")
def test_a_process_grown_past_the_limit_trims_its_heap_and_one_within_it_does_not():
    trimmed, growth = _grown(8)  # grew by about 50 MB: trimmed back
    assert trimmed and growth < 10
    trimmed, growth = _grown(200)  # within 200 MB: left as it was
    assert not trimmed and growth > 40


# The holes again, then gunicorn's hook after a request (config/gunicorn.py), as a worker
# runs it, with the limit from the environment.
_AFTER_REQUEST = _PRELUDE + textwrap.dedent(
    """
    import os
    os.environ["RECUR_WEB_TRIM_MB"] = sys.argv[1]
    from config import gunicorn
    gunicorn.post_request(None, None, {}, None)
    before = rss_mb()
    kept = make_holes()
    gunicorn.post_request(None, None, {}, None)
    print(rss_mb() - before)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc only")
def test_a_web_worker_gives_its_freed_heap_back_after_a_request():
    assert _retained("8", _AFTER_REQUEST) < 10
    assert _retained("200", _AFTER_REQUEST) > 40  # a limit above the growth keeps it
