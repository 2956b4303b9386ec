"""Recur's management commands run as a separate process, as an operator would run them."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]


def manage(env: dict[str, str], *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """``manage.py ARGS`` in a process of its own with exactly ``env``; its output captured."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_until_serving(
    base: str,
    process: subprocess.Popen[bytes],
    log: BinaryIO,
    *,
    headers: dict[str, str] | None = None,
    seconds: float = 30,
) -> None:
    """Wait for a server started as ``process`` to answer ``/healthz`` at ``base``; fail the
    test with the end of its ``log`` if it exits or stays silent."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(f"{base}/healthz", headers=headers, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            pytest.fail("the server did not start:\n" + log.read().decode()[-3000:])
        time.sleep(0.2)
