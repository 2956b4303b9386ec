"""Open boards hear of every change to their retro: a version counter per retro, moved after
each committed change, and a wake-up delivered to every web process.

On PostgreSQL the wake-up is ``NOTIFY recur_live, '<retro id>:<version>'``: each web process
that serves a board stream runs one listener thread with its own connection (``LISTEN``) and
hands what it hears to the streams waiting in that process. Nothing else is needed, and a
notification is sent only when the change commits, in the same database the change went to
(docs/live.md says why this over Redis pub/sub or Channels, with the measurements). On SQLite
(one process, the embedded default) the wake-up stays in the process.

A stream also re-reads the version from the database at every keep-alive tick, so a wake-up
lost while a listener reconnects delays a board by one tick at most; a browser that
reconnects sends the last version it saw (``Last-Event-ID``) and catches up at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

logger = logging.getLogger(__name__)

CHANNEL = "recur_live"

_lock = threading.Condition()
_versions: dict[int, int] = {}  # retro id -> the newest version this process has heard of
_listener: threading.Thread | None = None
_stopping = threading.Event()
#: Seconds the listener waits for notifications before it checks whether to stop.
_LISTEN_POLL = 1.0


# --- Changes -----------------------------------------------------------------------------------


def touch(retro_id: int) -> None:
    """Say, once the current transaction commits, that ``retro_id``'s board changed."""
    transaction.on_commit(lambda: _bump(retro_id))


def _bump(retro_id: int) -> None:
    from retros.models import Retrospective

    rows = Retrospective.objects.filter(pk=retro_id)
    rows.update(live_version=F("live_version") + 1)
    version = rows.values_list("live_version", flat=True).first()
    if version is None:
        return
    _heard(retro_id, version)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, f"{retro_id}:{version}"])


def _heard(retro_id: int, version: int) -> None:
    with _lock:
        if version > _versions.get(retro_id, -1):
            _versions[retro_id] = version
            _lock.notify_all()


def current_version(retro_id: int) -> int:
    from retros.models import Retrospective

    found = Retrospective.objects.filter(pk=retro_id).values_list("live_version", flat=True)
    version = found.first() or 0
    _heard(retro_id, version)
    return version


# --- Streams -----------------------------------------------------------------------------------


def wait_for_change(retro_id: int, seen: int, timeout: float) -> int:
    """The retro's version once it is newer than ``seen``, or ``seen`` after ``timeout``."""
    with _lock:
        _lock.wait_for(lambda: _versions.get(retro_id, -1) > seen, timeout=timeout)
        return max(seen, _versions.get(retro_id, -1))


def event(version: int) -> str:
    """One server-sent event: the board is at ``version``."""
    return f"id: {version}\nevent: changed\ndata: {version}\n\n"


def stream(retro_id: int, seen: int | None) -> Iterator[str]:
    """The events of one board stream: a first one when the board is behind, then one per
    change, keep-alive comments between, for ``RECUR_LIVE_STREAM_SECONDS``; the browser then
    reconnects with the last version it saw."""
    ensure_listener()
    tick = settings.RECUR_LIVE_TICK_SECONDS
    deadline = time.monotonic() + settings.RECUR_LIVE_STREAM_SECONDS
    yield "retry: 1000\n\n"
    version = current_version(retro_id)
    _let_go()
    if seen is None or version != seen:
        yield event(version)
    seen = version
    while time.monotonic() < deadline:
        heard = wait_for_change(retro_id, seen, timeout=tick)
        if heard == seen:  # a quiet tick: check the database too (a lost wake-up)
            try:
                heard = current_version(retro_id)
            except Exception:  # the database is away: end; the browser reconnects
                logger.info("Live board stream of retro %s ended: no database.", retro_id)
                return
            _let_go()
        if heard != seen:
            seen = heard
            yield event(seen)
        else:
            yield ": still here\n\n"


def _let_go() -> None:
    """A waiting stream holds no database connection: with one per open board, PostgreSQL's
    connection limit would be reached by boards doing nothing. (Not inside a transaction,
    which only a test's request has: that connection is the test's.)"""
    if not connection.in_atomic_block:
        connection.close()


# --- The PostgreSQL listener -------------------------------------------------------------------


def ensure_listener() -> None:
    """Start this process's listener thread (PostgreSQL only; once per process)."""
    global _listener
    if connection.vendor != "postgresql":
        return
    with _lock:
        if _listener is not None and _listener.is_alive():
            return
        _listener = threading.Thread(target=_listen, name="recur-live-listener", daemon=True)
        _listener.start()


def _conninfo() -> dict[str, object]:
    db = connection.settings_dict
    params: dict[str, object] = {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
    }
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout"):
        if key in db.get("OPTIONS", {}):
            params[key] = db["OPTIONS"][key]
    return {k: v for k, v in params.items() if v is not None}


def stop_listener(timeout: float = 5.0) -> None:
    """Stop this process's listener thread and close its connection (before the database it
    listens to is dropped, as a test run's is at its end)."""
    global _listener
    with _lock:
        thread = _listener
    if thread is None:
        return
    _stopping.set()
    thread.join(timeout)
    with _lock:
        _listener = None
    _stopping.clear()


def _listen() -> None:
    import psycopg

    params = _conninfo()
    while not _stopping.is_set():
        try:
            with psycopg.connect(autocommit=True, **params) as listening:  # type: ignore[arg-type]
                listening.execute(f"LISTEN {CHANNEL}")
                while not _stopping.is_set():
                    for note in listening.notifies(timeout=_LISTEN_POLL):
                        retro_id, _, version = note.payload.partition(":")
                        if retro_id.isdecimal() and version.isdecimal():
                            _heard(int(retro_id), int(version))
        except Exception:  # the database restarted or the connection dropped: listen again
            if _stopping.is_set():
                return
            logger.warning("The live board listener lost its connection; reconnecting.")
            time.sleep(1)
