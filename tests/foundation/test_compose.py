"""docker-compose.yml cannot run here, so check it against the settings: every variable it
passes is one the settings read, and the services the deployment needs are there."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _variables_read_by_settings() -> set[str]:
    source = (ROOT / "config" / "settings.py").read_text()
    return set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', source))


def test_compose_defines_the_five_services_from_one_image():
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    assert services["postgres"]["image"].startswith("postgres:17")
    for name in ("web", "worker", "beat"):
        assert services[name]["build"] == "."
        assert services[name]["image"] == services["web"]["image"]
    assert "migrate" in services["web"]["command"] and "gunicorn" in services["web"]["command"]
    # The web server and the image share the gunicorn settings (the model loads pre-fork).
    assert "--config config/gunicorn.py" in services["web"]["command"]
    assert '"--config", "config/gunicorn.py"' in (ROOT / "Dockerfile").read_text()
    assert "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]


def test_every_variable_compose_passes_is_read_by_the_settings():
    read = _variables_read_by_settings()
    for name in ("web", "worker", "beat"):
        environment = _compose()["services"][name]["environment"]
        unknown = set(environment) - read
        assert not unknown, f"{name} passes variables the settings ignore: {sorted(unknown)}"
        assert environment["DJANGO_DEBUG"] == "False"


def test_every_variable_in_env_example_is_read_by_the_settings():
    example = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^([A-Z_]+)=", example, flags=re.MULTILINE))
    compose_only = {"POSTGRES_PASSWORD"}
    assert names - _variables_read_by_settings() == compose_only
    assert _variables_read_by_settings() - names == set(), "document every variable"


def test_every_variable_is_in_the_readme_configuration_table():
    readme = (ROOT / "README.md").read_text()
    missing = {n for n in _variables_read_by_settings() if f"`{n}`" not in readme}
    assert not missing


def test_dockerfile_runs_as_a_non_root_user_with_a_health_check():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", dockerfile, flags=re.MULTILINE)
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert "collectstatic" in dockerfile
    assert "requirements/base.txt" in dockerfile and "requirements/tokenizer.txt" in dockerfile
