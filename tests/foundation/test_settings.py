"""Settings come from the environment and bad values stop the process with a clear message."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_path_prefix, env_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("False", False), ("1", True), ("0", False), ("yes", True), ("", True)],
)
def test_env_bool_reads_the_usual_spellings(raw, expected):
    assert env_bool("X", True, environ={"X": raw}) is expected


def test_env_bool_rejects_maybe():
    with pytest.raises(ImproperlyConfigured, match="X='maybe' is not a boolean"):
        env_bool("X", False, environ={"X": "maybe"})


def test_env_int_rejects_words_and_out_of_range_values():
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("N", 1, environ={"N": "ten"})
    with pytest.raises(ImproperlyConfigured, match="below the minimum"):
        env_int("N", 1, minimum=0, environ={"N": "-5"})
    assert env_int("N", 1, environ={"N": " 42 "}) == 42


def test_env_list_splits_on_commas():
    assert env_list("H", [], environ={"H": "a.example, b.example,,"}) == ["a.example", "b.example"]


def test_env_url_requires_a_known_scheme_and_hides_credentials():
    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_url("DATABASE_URL", ("postgres",), environ={"DATABASE_URL": "mysql://u:pw@h/db"})
    assert "postgres://" in str(excinfo.value)
    assert "pw" not in str(excinfo.value)


def test_env_path_prefix_normalises_slashes():
    assert env_path_prefix("P", "admin", environ={"P": "/staff/"}) == "staff/"
    with pytest.raises(ImproperlyConfigured):
        env_path_prefix("P", "admin", environ={"P": "a b"})


def _load_settings(
    code: str = "import config.settings", *, development: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    """Load config.settings in a fresh process with `env` and nothing else of Django's: as
    `make run` does (DJANGO_DEBUG=True) unless `development` is false."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    if development:
        environ["DJANGO_DEBUG"] = "True"
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG='maybe' is not a boolean"),
        ({"DJANGO_DEBUG": "False"}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": "short"}, "at least 50 characters"),
        ({"DATABASE_URL": "mysql://localhost/recur"}, "DATABASE_URL must be a URL starting with"),
        ({"CELERY_BROKER_URL": "localhost:6379"}, "CELERY_BROKER_URL must be a URL"),
        ({"DJANGO_LOG_LEVEL": "LOUD"}, "DJANGO_LOG_LEVEL='LOUD'"),
        ({"DJANGO_SESSION_AGE": "soon"}, "DJANGO_SESSION_AGE='soon' is not a whole number"),
    ],
)
def test_bad_environment_fails_at_start_with_a_clear_message(env, message):
    result = _load_settings(**env)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.slow
def test_debug_is_off_unless_asked_for():
    bare = _load_settings(development=False)
    assert bare.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false" in bare.stderr
    assert "set DJANGO_DEBUG=True" in bare.stderr
    code = "import config.settings as s; print(s.DEBUG, getattr(s, 'SESSION_COOKIE_SECURE', False))"
    keyed = _load_settings(code, development=False, DJANGO_SECRET_KEY="x" * 60)
    assert keyed.returncode == 0, keyed.stderr
    assert keyed.stdout.split() == ["False", "True"]
    asked = _load_settings(code, development=False, DJANGO_DEBUG="True")
    assert asked.stdout.split() == ["True", "False"]


@pytest.mark.slow
def test_sessions_are_read_from_a_shared_cache_only():
    """With Redis, sessions are read from it and written through to the database; with each
    process's own memory cache, from the database alone (a session ended in one process
    must end in all)."""
    code = "import config.settings as s; print(getattr(s, 'SESSION_ENGINE', '-'))"
    shared = _load_settings(code, CACHE_URL="redis://127.0.0.1:6379/1")
    assert shared.returncode == 0, shared.stderr
    assert shared.stdout.split() == ["django.contrib.sessions.backends.cached_db"]
    local = _load_settings(code, CACHE_URL="")
    assert local.returncode == 0, local.stderr
    assert local.stdout.split() == ["-"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_asks_for_debug_and_starts_with_no_environment(tmp_path):
    """`make run`'s commands get DJANGO_DEBUG=True from the Makefile; an explicit value wins.
    A stand-in interpreter prints what each command would see."""
    probe = tmp_path / "python"
    probe.write_text(f"#!{sys.executable}\nimport os\nprint(os.environ.get('DJANGO_DEBUG'))\n")
    probe.chmod(0o755)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}

    def make_run(**extra: str) -> list[str]:
        result = subprocess.run(
            ["make", "-s", "-o", "install", "run", f"PY={probe}"],
            cwd=ROOT,
            env={**environ, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return [line for line in result.stdout.splitlines() if not line.startswith("Recur")]

    assert make_run() == ["True", "True", "True"]  # migrate, seed_demo, runserver
    assert make_run(DJANGO_DEBUG="False") == ["False", "False", "False"]


@pytest.mark.slow
def test_production_settings_load_and_harden(tmp_path):
    result = _load_settings(
        DJANGO_DEBUG="False",
        DJANGO_SECRET_KEY="x" * 60,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_settings_choose_the_database_from_the_environment():
    code = "import config.settings as s; print(s.DATABASES['default']['ENGINE'])"
    sqlite = _load_settings(code)
    assert sqlite.stdout.strip() == "django.db.backends.sqlite3", sqlite.stderr
    postgres = _load_settings(code, DATABASE_URL="postgres://u@127.0.0.1:5432/recur")
    assert postgres.stdout.strip() == "django.db.backends.postgresql", postgres.stderr
