"""The layers go one way: vocabulary <- matching <- retros <- diagnosis, with vocabulary and
matching free of Django. The contracts live in pyproject.toml ([tool.importlinter]); this runs
them on the project, and — so that a green run means something — on a copy with one forbidden
import added, which must fail."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("vocabulary", "matching", "retros", "diagnosis")
LINT = [
    sys.executable,
    "-c",
    "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())",
]


def lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        LINT, cwd=where, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(where)}
    )


def test_the_project_keeps_its_layers():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.slow  # copies the tree and runs the linter three times
@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # vocabulary reaching up into recording
        (
            "vocabulary/fixkinds.py",
            "import retros.models",
            "vocabulary is not allowed to import retros",
        ),
        # the pure matcher using the database
        ("matching/ranker.py", "import django.db", "matching is not allowed to import django"),
        # recording reaching into interpretation beyond the allowed task and finding
        ("retros/views.py", "import diagnosis.engine", "retros is not allowed to import diagnosis"),
    ],
)
def test_a_forbidden_import_breaks_the_layering_test(copy, module, line, broken):
    assert lint(copy).returncode == 0  # the copy is as good as the project ...
    path = copy / module
    path.write_text(path.read_text() + f"\n{line}  # added by the test\n")
    result = lint(copy)  # ... until one forbidden import is added
    assert result.returncode != 0
    assert broken in result.stdout
