"""Where the sample histories live: examples/ in the repository (each NAME.history.json with
its NAME.expected.json), or RECUR_EXAMPLES_DIR for another set; and the small example document
of docs/history-format.md."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = Path(os.environ.get("RECUR_EXAMPLES_DIR", ROOT / "examples"))


def example_files() -> list[Path]:
    files = sorted(EXAMPLES.glob("*.history.json"))
    if not files:
        pytest.fail(f"No sample histories in {EXAMPLES}; set RECUR_EXAMPLES_DIR")
    return files


def format_example() -> dict[str, Any]:
    """A small document in the shape of docs/history-format.md's example, fresh for every test."""
    return {
        "format": "recur-history/1",
        "organization": "Northwind",
        "teams": [
            {"key": "payments", "name": "Payments"},
            {"key": "checkout", "name": "Checkout"},
        ],
        "retrospectives": [
            {
                "key": "payments-2026-01-14",
                "team": "payments",
                "held_on": "2026-01-14",
                "title": "Sprint 31",
                "items": [
                    {
                        "key": "p31-1",
                        "text": "Releases slip because priorities change mid-sprint",
                        "votes": 4,
                    },
                    {"key": "p31-2", "text": "Staging was down two days", "votes": 2},
                ],
                "actions": [
                    {
                        "key": "p31-a1",
                        "item": "p31-1",
                        "text": "Weekly priority sync with product",
                        "kind": "meeting",
                        "owner": "Dana",
                        "due_on": "2026-01-28",
                        "status": "done",
                        "completed_on": "2026-01-21",
                    }
                ],
            },
            {
                "key": "payments-2026-02-11",
                "team": "payments",
                "held_on": "2026-02-11",
                "items": [
                    {
                        "key": "p33-4",
                        "text": "Scope changed twice again this sprint",
                        "same_as": "p31-1",
                    }
                ],
            },
        ],
    }


def one_retro_history(
    organization: str,
    items: list[tuple[str, str]],
    *,
    team: tuple[str, str] = ("a", "A"),
    retro: tuple[str, str] = ("a-1", "2026-01-05"),
) -> dict[str, Any]:
    """A document of one team's one retro whose ``items`` are (key, text) pairs."""
    team_key, team_name = team
    retro_key, held_on = retro
    return {
        "format": "recur-history/1",
        "organization": organization,
        "teams": [{"key": team_key, "name": team_name}],
        "retrospectives": [
            {
                "key": retro_key,
                "team": team_key,
                "held_on": held_on,
                "items": [{"key": key, "text": text} for key, text in items],
            }
        ],
    }
