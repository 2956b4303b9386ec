"""The test run's settings: config.settings with the development defaults `make run` uses.

DEBUG is off unless the environment asks for it, and then a secret key is required. The
test run (and the type checker, which loads settings to read the models) asks for it here,
before the settings load; pytest-django still turns DEBUG off while each test runs. An
environment that sets DJANGO_DEBUG keeps its value.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_DEBUG", "True")

from config.settings import *  # noqa: F403

# The matcher's background work (snapshot writes, rebuilds after a moved stamp) would run in
# threads with their own database connections, outside each test's transaction: tests that
# exercise it turn it on themselves.
RECUR_MATCHER_SNAPSHOTS = False
RECUR_MATCHER_BACKGROUND_REBUILD = False
RECUR_MATCHER_SNAPSHOT_DIR = ""  # no copies on the host; tests that read them set a folder
# A live board's event stream ends at once in tests that read one (a browser reconnects);
# the browser tests set production-like values.
RECUR_LIVE_STREAM_SECONDS = 0.2
RECUR_LIVE_TICK_SECONDS = 0.1
