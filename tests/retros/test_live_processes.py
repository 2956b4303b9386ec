"""Two web processes on PostgreSQL: a card added through one reaches a board whose event
stream is connected to the other. The stream re-reads the database only every 30 s here, so
what arrives sooner came by NOTIFY (delivery times are measured by `make bench`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.test import Client

from tests.commands import wait_until_serving
from tests.factories import RetrospectiveFactory
from tests.worker import ROOT, _database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _gunicorn(env: dict[str, str], folder: Path) -> Iterator[str]:
    port = _free_port()
    with open(folder / f"gunicorn-{port}.log", "w+b") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.py",
             "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--graceful-timeout", "1"],  # open streams end with the server
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(base, process, log, seconds=60)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=15)


def test_a_change_through_one_process_reaches_a_board_on_the_other(cast):
    if connection.vendor != "postgresql":
        pytest.skip("across processes the wake-up is PostgreSQL's NOTIFY; SQLite is one process")
    retro = RetrospectiveFactory(team=cast.team, format="free", title="Two processes")
    signed_in = Client()
    signed_in.force_login(cast.users["member"])
    cookies = {"sessionid": signed_in.cookies["sessionid"].value}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DJANGO_DEBUG="True",
        DATABASE_URL=_database_url(),
        DATABASE_CONN_MAX_AGE="0",
        RECUR_LIVE_TICK_SECONDS="30",  # only a wake-up can deliver within the test's 2 s
    )
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as servers:
        writer = servers.enter_context(_gunicorn(env, Path(tmp)))
        reader = servers.enter_context(_gunicorn(env, Path(tmp)))
        heard: list[tuple[float, str]] = []  # (when, the event's id line)
        connected = threading.Event()

        def listen() -> None:
            url = f"{reader}/retros/{retro.pk}/live/stream/?v=0"
            with requests.get(url, cookies=cookies, stream=True, timeout=40) as stream:
                assert stream.status_code == 200
                connected.set()
                for line in stream.iter_lines(decode_unicode=True):
                    if line.startswith("id: "):
                        heard.append((time.monotonic(), line))
                        if len(heard) >= 1:
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert connected.wait(30)
        time.sleep(1)  # the reader's listener thread is up and LISTENing
        session = requests.Session()
        session.cookies.update(cookies)
        page = session.get(f"{writer}/retros/{retro.pk}/live/", timeout=30)
        assert page.status_code == 200
        added = session.post(
            f"{writer}/retros/{retro.pk}/live/cards/",
            data={"text": "Deploys wait on a manual approval", "column": "Notes"},
            headers={
                "HX-Request": "true",
                "X-CSRFToken": session.cookies["csrftoken"],
                "Referer": f"{writer}/retros/{retro.pk}/live/",
            },
            timeout=30,
        )
        assert added.status_code == 200, added.text[:500]
        listener.join(10)
        assert heard, "the board on the other process heard nothing within 10 s"
        assert heard[0][1] == "id: 1"


def test_the_listener_stops_and_lets_its_connection_go():
    """Before a database is dropped (a test run's end) its listener must let it go."""
    from retros import live

    if connection.vendor != "postgresql":
        pytest.skip("the listener is PostgreSQL's LISTEN")

    def listening() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'LISTEN %%'"
            )
            return int(cursor.fetchone()[0])

    live.ensure_listener()
    deadline = time.monotonic() + 10
    while listening() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listening() >= 1
    live.stop_listener()
    deadline = time.monotonic() + 10
    while listening() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listening() == 0
    live.ensure_listener()  # and it starts again when a board next needs it
    deadline = time.monotonic() + 10
    while listening() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listening() >= 1
