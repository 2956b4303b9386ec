"""Recur's management commands run as a separate process, as an operator would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
