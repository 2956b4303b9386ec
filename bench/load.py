"""A small HTTP load generator on loopback: threads with keep-alive connections
(http.client), each looping until a deadline. Also the browser-like session (cookies, CSRF,
log-in form) the load runs as."""

from __future__ import annotations

import http.client
import itertools
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from bench.stats import summarise

REQUEST_TIMEOUT_S = 60.0
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"')
_CSRF_HEADER = re.compile(r'"X-CSRFToken"\s*:\s*"([^"]+)"')


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


RequestFactory = Callable[[int], Request]


class LoginFailed(RuntimeError):
    pass


def csrf_token_in(html: str) -> str | None:
    """The CSRF token a page carries: a form's hidden input or htmx's hx-headers."""
    match = _CSRF_INPUT.search(html) or _CSRF_HEADER.search(html)
    return match.group(1) if match else None


class Session:
    """One signed-in browser: cookies and the headers a browser behind TLS sends."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookies: SimpleCookie = SimpleCookie()
        self.origin = f"https://{host}:{port}"

    def headers(self, **extra: str) -> dict[str, str]:
        cookie = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        headers = {
            "Host": f"{self.host}:{self.port}",
            # TLS ends at a proxy in production; the proxy says so in this header.
            "X-Forwarded-Proto": "https",
            "User-Agent": "recur-bench",
            "Accept": "text/html",
        }
        if cookie:
            headers["Cookie"] = cookie
        headers.update(extra)
        return headers

    def request(self, request: Request) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_S)
        try:
            conn.request(request.method, request.path, body=request.body, headers=request.headers)
            response = conn.getresponse()
            body = response.read().decode("utf-8", "replace")
            for value in response.headers.get_all("Set-Cookie") or []:
                self.cookies.load(value)
            return response.status, dict(response.headers.items()), body
        finally:
            conn.close()

    def get(self, path: str, **headers: str) -> tuple[int, str]:
        status, _, body = self.request(Request("GET", path, headers=self.headers(**headers)))
        return status, body

    def post_form(self, path: str, data: dict[str, str], **headers: str) -> tuple[int, str]:
        body = urlencode(data).encode()
        request = Request(
            "POST",
            path,
            body,
            self.headers(
                **{
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Origin": self.origin,
                    "Referer": f"{self.origin}{path}",
                    **headers,
                }
            ),
        )
        status, _, text = self.request(request)
        return status, text

    def login(self, username: str, password: str, path: str = "/login/") -> None:
        status, html = self.get(path)
        token = csrf_token_in(html)
        if status != 200 or token is None:
            raise LoginFailed(f"GET {path} answered {status} without a CSRF token")
        status, _ = self.post_form(
            path, {"username": username, "password": password, "csrfmiddlewaretoken": token}
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise LoginFailed(f"logging in as {username} answered {status}, not a redirect")

    @property
    def csrf_cookie(self) -> str:
        morsel = self.cookies.get("csrftoken")
        return morsel.value if morsel else ""


@dataclass
class _Worker:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)


def run(
    host: str,
    port: int,
    factory: RequestFactory,
    *,
    duration_s: float,
    concurrency: int,
    expect: tuple[int, ...] = (200,),
    counter: itertools.count[int] | None = None,
) -> dict[str, Any]:
    """Send requests from `concurrency` threads until `duration_s` has passed; every thread
    stops by itself at the deadline (a request in flight finishes or times out after
    REQUEST_TIMEOUT_S)."""
    numbers = counter or itertools.count()
    workers = [_Worker() for _ in range(concurrency)]
    started = time.perf_counter()
    deadline = started + duration_s

    def loop(worker: _Worker) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_S)
        try:
            while time.perf_counter() < deadline:
                request = factory(next(numbers))
                t0 = time.perf_counter()
                try:
                    conn.request(
                        request.method, request.path, body=request.body, headers=request.headers
                    )
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException) as error:
                    conn.close()
                    worker.errors += 1
                    if len(worker.error_samples) < 3:
                        worker.error_samples.append(f"{type(error).__name__}: {error}")
                    continue
                elapsed = time.perf_counter() - t0
                worker.statuses[status] += 1
                if status in expect:
                    worker.latencies.append(elapsed)
                else:
                    worker.errors += 1
                    if len(worker.error_samples) < 3:
                        worker.error_samples.append(f"HTTP {status} {request.path}")
        finally:
            conn.close()

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration_s + REQUEST_TIMEOUT_S + 5)
    elapsed = time.perf_counter() - started
    statuses: Counter[int] = Counter()
    for worker in workers:
        statuses.update(worker.statuses)
    result = summarise(
        [v for w in workers for v in w.latencies],
        errors=sum(w.errors for w in workers),
        elapsed_s=elapsed,
        statuses=statuses,
    )
    result["error_samples"] = [s for w in workers for s in w.error_samples][:5]
    result["concurrency"] = concurrency
    return result
