"""`make audit` says what it checked: skipped packages are not counted as clean, and an
unreachable advisory database is reported as "not checked", never as "0 vulnerable".
pip-audit's output is fed in as it writes it; nothing goes to the network."""

from __future__ import annotations

import json
import subprocess

import pytest

from scripts import audit

NAMES = [f"package{n}" for n in range(49)]
NOT_FOUND = "Dependency not found on PyPI and could not be audited: {name} (1.0)"


def _report(*, skipped: list[str] | None = None, vulnerable: dict[str, str] | None = None) -> str:
    skipped, vulnerable = skipped or [], vulnerable or {}
    dependencies: list[dict[str, object]] = []
    for name in NAMES:
        if name in skipped:
            dependencies.append({"name": name, "skip_reason": NOT_FOUND.format(name=name)})
        else:
            vulns = (
                [{"id": vulnerable[name], "fix_versions": ["1.1"]}] if name in vulnerable else []
            )
            dependencies.append({"name": name, "version": "1.0", "vulns": vulns})
    return json.dumps({"dependencies": dependencies, "fixes": []})


def _run(monkeypatch, capsys, *, returncode: int, stdout: str, stderr: str = "") -> tuple[int, str]:
    def fake_run(command, **kwargs):
        assert "pip_audit" in command
        return subprocess.CompletedProcess(command, returncode, stdout, stderr)

    monkeypatch.setattr(audit.subprocess, "run", fake_run)
    code = audit.main()
    return code, capsys.readouterr().out


def test_every_package_skipped_is_reported_as_not_checked(monkeypatch, capsys):
    code, out = _run(monkeypatch, capsys, returncode=0, stdout=_report(skipped=NAMES))

    assert "not checked: advisory database unreachable" in out
    assert "49 packages skipped" in out
    assert "0 vulnerable" not in out and "packages checked" not in out
    assert code == 0


def test_pip_audit_stopping_on_a_connection_error_is_reported_as_not_checked(monkeypatch, capsys):
    stderr = (
        "ERROR:pip_audit._cli:Could not connect to PyPI's vulnerability feed\n"
        "ERROR:pip_audit._cli:Tip: your network may be blocking this service.\n"
    )
    code, out = _run(monkeypatch, capsys, returncode=1, stdout="", stderr=stderr)

    assert "not checked: advisory database unreachable" in out
    assert code == 0


def test_some_packages_skipped_are_counted_apart_and_named(monkeypatch, capsys):
    code, out = _run(monkeypatch, capsys, returncode=0, stdout=_report(skipped=NAMES[:2]))

    assert "47 packages checked, 0 vulnerable; 2 not checked: advisory database unreachable" in out
    assert f"not checked: {NAMES[0]}: " in out
    assert code == 0


@pytest.mark.parametrize("skipped", [[], NAMES[:3]], ids=["all checked", "some skipped"])
def test_a_vulnerability_found_fails_the_audit(monkeypatch, capsys, skipped):
    stdout = _report(skipped=skipped, vulnerable={NAMES[10]: "GHSA-xxxx-yyyy-zzzz"})
    code, out = _run(monkeypatch, capsys, returncode=1, stdout=stdout)

    assert f"VULNERABLE {NAMES[10]} 1.0: GHSA-xxxx-yyyy-zzzz (fixed in 1.1)" in out
    assert f"{len(NAMES) - len(skipped)} packages checked, 1 vulnerable" in out
    assert code == 1


def test_a_clean_audit_says_how_many_packages_it_checked(monkeypatch, capsys):
    code, out = _run(monkeypatch, capsys, returncode=0, stdout=_report())

    assert out.strip() == "pip-audit: 49 packages checked, 0 vulnerable."
    assert code == 0
