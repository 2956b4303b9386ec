"""Where the sample histories live: examples/ in the repository (each NAME.history.json with
its NAME.expected.json), or RECUR_EXAMPLES_DIR for another set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = Path(os.environ.get("RECUR_EXAMPLES_DIR", ROOT / "examples"))


def example_files() -> list[Path]:
    files = sorted(EXAMPLES.glob("*.history.json"))
    if not files:
        pytest.fail(f"No sample histories in {EXAMPLES}; set RECUR_EXAMPLES_DIR")
    return files
