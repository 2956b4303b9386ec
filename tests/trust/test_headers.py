"""Response headers and cookies of a production-like run: gunicorn in a subprocess with
DJANGO_DEBUG=False behind a TLS-terminating proxy (simulated with X-Forwarded-Proto), and
`manage.py check --deploy` clean with production variables."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.db import connection

from tests.commands import manage, wait_until_serving
from tests.worker import _database_url

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SECRET = "trust-tests-secret-key-with-plenty-of-entropy-0123456789-abcdefghij"
PASSWORD = "header-test-password-2026"
HTTPS = {"X-Forwarded-Proto": "https"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _production_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    env.update(
        DJANGO_DEBUG="False",
        DJANGO_SECRET_KEY=SECRET,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,recur.example.com",
        DATABASE_URL=database_url,
        DATABASE_CONN_MAX_AGE="0",
        RECUR_SITE_URL="https://recur.example.com",
    )
    return env


@pytest.fixture(scope="module")
def server(django_db_setup) -> Iterator[str]:
    """gunicorn serving Recur with production settings; yields its http:// address.

    On PostgreSQL it uses the test database, emptied again afterwards (as after any
    transactional test); SQLite's test database lives in memory, so there the server gets
    a migrated database file of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        if connection.vendor == "sqlite":
            database_url = f"sqlite:///{tmp}/recur.sqlite3"
        else:
            database_url = _database_url()
        env = _production_env(database_url)
        if connection.vendor == "sqlite":
            done = manage(env, "migrate", "--noinput", "-v0")
            assert done.returncode == 0, done.stderr
        # Hashed static file names need the manifest that `collectstatic` writes (as the
        # Dockerfile does).
        done = manage(env, "collectstatic", "--noinput", "-v0")
        assert done.returncode == 0, done.stderr
        code = (
            "from django.contrib.auth import get_user_model;"
            "from retros.models import Membership, Organization, Role, Team;"
            "org = Organization.objects.create(name='Header Test Org');"
            "team = Team.objects.create(organization=org, name='Header Team');"
            f"user = get_user_model().objects.create_user('hedda', password='{PASSWORD}');"
            "m = Membership.objects.create(user=user, organization=org, role=Role.LEADER);"
            "m.teams.add(team)"
        )
        done = manage(env, "shell", "-c", code)
        assert done.returncode == 0, done.stderr
        port = _free_port()
        log = open(Path(tmp) / "gunicorn.log", "w+b")  # closed below
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "config/gunicorn.py",  # as deployed: the model loads before workers fork
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(base, process, log, headers=HTTPS)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=15)
            log.close()
            if connection.vendor != "sqlite":
                manage(env, "flush", "--noinput")


def _csp(response: requests.Response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    assert header, "no Content-Security-Policy header"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _assert_security_headers(response: requests.Response) -> str:
    """The headers every HTML page carries; returns the page's CSP nonce."""
    csp = _csp(response)
    scripts = csp.get("script-src") or csp.get("default-src") or []
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    nonces = [v for v in scripts if v.startswith("'nonce-")]
    assert len(nonces) == 1, csp
    for name, values in csp.items():
        for value in values:
            # Only our own origin: no third-party host, no scheme-wide source.
            assert value.startswith("'") or value in {"data:"}, (name, value)
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    hsts = response.headers["Strict-Transport-Security"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31_536_000
    assert "includeSubDomains" in hsts
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    nonce = nonces[0][len("'nonce-") : -1]
    # Every script on the page carries the nonce; none is inline without it.
    for tag in re.findall(r"<script\b[^>]*>", response.text):
        assert f'nonce="{nonce}"' in tag, tag
    return nonce


def _cookie_attributes(response: requests.Response, name: str) -> str:
    for header in response.raw.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no {name} cookie set; got {response.raw.headers.getlist('Set-Cookie')}")


def _flags(attributes: str) -> set[str]:
    return {part.strip().lower() for part in attributes.split(";")[1:]}


def _cookie_value(attributes: str) -> str:
    return attributes.split(";", 1)[0].split("=", 1)[1]


def test_production_pages_send_strict_security_headers_and_secure_cookies(server):
    # The client talks plain HTTP to gunicorn as a TLS-terminating proxy would, so Secure
    # cookies are sent by hand (an HTTP client rightly keeps them to HTTPS).
    login = requests.get(f"{server}/login/", headers=HTTPS, timeout=10)
    assert login.status_code == 200
    first_nonce = _assert_security_headers(login)
    csrf_cookie = _cookie_attributes(login, "csrftoken")
    assert {"secure", "httponly", "samesite=lax"} <= _flags(csrf_cookie)

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    origin = f"https://127.0.0.1:{server.rsplit(':', 1)[1]}"
    response = requests.post(
        f"{server}/login/",
        data={"username": "hedda", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={
            **HTTPS,
            "Referer": f"{origin}/login/",
            "Origin": origin,
            "Cookie": f"csrftoken={_cookie_value(csrf_cookie)}",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    session_cookie = _cookie_attributes(response, "sessionid")
    assert {"secure", "httponly", "samesite=lax"} <= _flags(session_cookie)
    # Sessions end when the browser closes: no Expires/Max-Age on the session cookie.
    assert not any(f.startswith(("expires", "max-age")) for f in _flags(session_cookie))
    signed_in = {**HTTPS, "Cookie": f"sessionid={_cookie_value(session_cookie)}"}

    page = requests.get(f"{server}/teams/", headers=signed_in, timeout=10)
    assert page.status_code == 200 and "Header Team" in page.text
    assert _assert_security_headers(page) != first_nonce, "the nonce must change per response"

    missing = requests.get(f"{server}/teams/999999/", headers=signed_in, timeout=10)
    assert missing.status_code == 404
    assert "Traceback" not in missing.text and "DEBUG" not in missing.text


def test_plain_http_is_redirected_to_https_except_the_health_check(server):
    response = requests.get(f"{server}/login/", allow_redirects=False, timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"].startswith("https://127.0.0.1")
    health = requests.get(f"{server}/healthz", allow_redirects=False, timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"


def test_check_deploy_is_clean_with_production_variables():
    env = _production_env("postgres://recur:secret@db.example.com:5432/recur")
    env["EMAIL_HOST"] = "smtp.example.com"
    done = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
