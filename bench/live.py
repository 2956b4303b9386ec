"""The live-retro scenario of ``make bench``: retros held live by their whole team at once.

``retros`` open retros with ``participants`` members each, every member's board connected to
its retro's event stream (idle connections), and every member adding a card every
``interval`` seconds. Delivery is the time from sending a change to each of that retro's
streams hearing a version at least as new as the one the change produced (the POST answers
with it); the memory per idle connection is the workers' resident memory with every stream
open, less before, over the streams.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bench import load
from bench.server import free_port, gunicorn, memory_of
from bench.stats import percentile


class _Stream(threading.Thread):
    """One board's event stream: the versions it heard, with when."""

    def __init__(self, port: int, path: str, cookie: str) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.cookie = port, path, cookie
        self.heard: list[tuple[float, int]] = []
        self.connected = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {
            "Cookie": self.cookie,
            "X-Forwarded-Proto": "https",
            "Accept": "text/event-stream",
        }
        conn.request("GET", self.path, headers=headers)
        response = conn.getresponse()
        self.connected.set()
        while not self.stop.is_set():
            line = response.fp.readline()
            if not line:
                return
            if line.startswith(b"id: "):
                self.heard.append((time.monotonic(), int(line[4:].strip())))
        conn.close()


def scenario(
    env: Mapping[str, str],
    *,
    boards: list[dict[str, Any]],
    password: str,
    interval: float,
    duration: float,
    log: Path,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """``boards``: each retro's live URLs and its participants' usernames."""
    port = free_port()
    served = {**env, "RECUR_LIVE_TICK_SECONDS": "15", "RECUR_LIVE_STREAM_SECONDS": "600"}
    connections = sum(len(board["participants"]) for board in boards)
    with gunicorn(served, port=port, workers=2, threads=connections + 16, log=log) as server:
        people = []
        for board in boards:
            for username in board["participants"]:
                session = load.Session("127.0.0.1", port)
                session.login(username, password)
                people.append((board, session))
        before = [memory_of(pid) for pid in server.worker_pids()]
        streams = []
        for board, session in people:
            cookie = "; ".join(f"{k}={m.value}" for k, m in session.cookies.items())
            stream = _Stream(port, f"{board['stream']}?v=0", cookie)
            stream.start()
            streams.append((board, stream))
        for _, stream in streams:
            stream.connected.wait(30)
        time.sleep(2)  # every stream waiting
        idle = [memory_of(pid) for pid in server.worker_pids()]
        grown_kb = sum(
            (i.get("rss_mb", 0.0) - b.get("rss_mb", 0.0)) * 1024
            for i, b in zip(idle, before, strict=False)
        )
        say(f"  {len(streams)} streams open; workers' RSS {[w.get('rss_mb') for w in idle]} MB")

        sent: list[tuple[dict[str, Any], float, int]] = []
        errors: list[str] = []
        lock = threading.Lock()

        def participant(board: dict[str, Any], session: load.Session, offset: float) -> None:
            _, page = session.get(board["page"])
            token = load.csrf_token_in(page) or ""
            deadline = time.monotonic() + duration
            next_at = time.monotonic() + offset
            n = 0
            while next_at < deadline:
                time.sleep(max(0.0, next_at - time.monotonic()))
                n += 1
                started = time.monotonic()
                status, headers, _ = session.request(
                    load.Request(
                        "POST",
                        board["cards"],
                        f"text=Card+{n}+from+{id(session)}&column=Notes".encode(),
                        session.headers(
                            **{
                                "Content-Type": "application/x-www-form-urlencoded",
                                "HX-Request": "true",
                                "X-CSRFToken": token,
                                "Origin": session.origin,
                                "Referer": f"{session.origin}{board['page']}",
                            }
                        ),
                    )
                )
                with lock:
                    if status != 200:
                        errors.append(f"POST {status}")
                    else:
                        sent.append((board, started, int(headers.get("X-Board-Version", "0"))))
                next_at += interval

        rng = random.Random(5)
        workers = [
            threading.Thread(target=participant, args=(board, session, rng.uniform(0, interval)))
            for board, session in people
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        time.sleep(2)  # the last changes arrive
        for _, stream in streams:
            stream.stop.set()
        peak = [memory_of(pid) for pid in server.worker_pids()]

    delays = []
    missed = 0
    for board, started, version in sent:
        for owner, stream in streams:
            if owner is not board:
                continue
            arrival = next((t for t, v in stream.heard if v >= version and t >= started), None)
            if arrival is None:
                missed += 1
            else:
                delays.append((arrival - started) * 1000)
    p95 = percentile(delays, 95) if delays else None
    say(
        f"  {len(sent)} changes ({len(errors)} refused: {sorted(set(errors))[:3]}),"
        f" {len(delays)} deliveries, p95 {p95:.0f} ms, {missed} missed"
        if p95 is not None
        else "  no delivery measured"
    )
    return {
        "retros": len(boards),
        "connections": connections,
        "changes": len(sent),
        "deliveries": len(delays),
        "missed": missed,
        "refused": len(errors),
        "errors": sorted(set(errors))[:5],
        "delivery_p50_ms": round(percentile(delays, 50), 1) if delays else None,
        "delivery_p95_ms": round(p95, 1) if p95 is not None else None,
        "delivery_max_ms": round(max(delays), 1) if delays else None,
        "idle_kb_per_connection": round(grown_kb / max(1, connections), 1),
        "workers_rss_mb": [w.get("rss_mb") for w in peak],
    }
