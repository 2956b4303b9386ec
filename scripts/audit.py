"""Audit pinned dependencies for known vulnerabilities with pip-audit.

What it says is what was checked. A package pip-audit skipped (its advisory service unreachable,
or answering "not found") was not checked, and the summary counts it apart; when nothing
could be checked it says "not checked: advisory database unreachable" instead of a count.

Exits 1 only when a check that ran found a vulnerability. Anything that kept the check from
running (no network, pip-audit failing) is said plainly and exits 0: an unreachable service
must not turn CI red, and must not pass for a clean audit either.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements" / "base.txt"
UNREACHABLE = "advisory database unreachable"
# pip-audit's own words when it cannot reach the advisory service (it stops, or it skips
# each package with one of these reasons).
UNREACHABLE_MARKERS = (
    "ConnectionError",
    "Could not connect",
    "not redirecting properly",
    "Max retries exceeded",
    "Temporary failure",
    "Name or service not known",
    "timed out",
    "HTTPSConnectionPool",
    "not found on PyPI",
)
SKIPS_SHOWN = 5


@dataclass
class Verdict:
    lines: list[str] = field(default_factory=list)
    exit_code: int = 0


def _unreachable(text: str) -> bool:
    return any(marker in text for marker in UNREACHABLE_MARKERS)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def summarise(returncode: int, stdout: str, stderr: str) -> Verdict:
    """What a pip-audit run (`--format json`) found, as lines to print and an exit code."""
    try:
        report = json.loads(stdout) if stdout.strip() else None
    except json.JSONDecodeError:
        report = None
    if not isinstance(report, dict) or not isinstance(report.get("dependencies"), list):
        reason = UNREACHABLE if _unreachable(stderr) else "pip-audit did not produce a report"
        detail = _last_line(stderr) or f"exit status {returncode}"
        return Verdict([f"pip-audit: not checked: {reason} ({detail})."])

    dependencies = [d for d in report["dependencies"] if isinstance(d, dict)]
    skipped = [d for d in dependencies if "skip_reason" in d or "vulns" not in d]
    checked = [d for d in dependencies if d not in skipped]
    vulnerable = [d for d in checked if d.get("vulns")]

    verdict = Verdict(exit_code=1 if vulnerable else 0)
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            verdict.lines.append(
                f"VULNERABLE {dep.get('name')} {dep.get('version')}: {vuln.get('id')}"
                f" (fixed in {fixes})"
            )
    reasons = [str(d.get("skip_reason") or "no reason given") for d in skipped]
    if not checked:
        why = UNREACHABLE if all(map(_unreachable, reasons)) else "every package was skipped"
        verdict.lines.append(
            f"pip-audit: not checked: {why} ({len(skipped)} packages skipped"
            + (f"; first: {reasons[0]}" if reasons else "")
            + ")."
        )
        return verdict
    summary = f"pip-audit: {len(checked)} packages checked, {len(vulnerable)} vulnerable"
    if skipped:
        why = f": {UNREACHABLE}" if all(map(_unreachable, reasons)) else ""
        summary += f"; {len(skipped)} not checked{why}"
    verdict.lines.append(summary + ".")
    for dep, reason in list(zip(skipped, reasons, strict=True))[:SKIPS_SHOWN]:
        verdict.lines.append(f"  not checked: {dep.get('name')}: {reason}")
    if len(skipped) > SKIPS_SHOWN:
        verdict.lines.append(f"  … and {len(skipped) - SKIPS_SHOWN} more")
    return verdict


def main() -> int:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(REQUIREMENTS),
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--timeout",
        "20",
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        verdict = Verdict([f"pip-audit: not checked: {UNREACHABLE} (no answer in 600 s)."])
    else:
        verdict = summarise(result.returncode, result.stdout, result.stderr)
    print("\n".join(verdict.lines))
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
