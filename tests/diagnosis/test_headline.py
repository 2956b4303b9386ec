"""The one line a leader reads first on the dashboard: how the issue keeps coming back and what
points to its category — built from the evidence, claiming nothing the evidence lacks."""

from __future__ import annotations

import re

import pytest

from diagnosis.engine import Override, diagnose
from tests.diagnosis.test_engine import day, done, history

TODAY = day(400)

PRIORITIES = [
    (0, "Payments", "Priorities changed twice mid-sprint"),
    (20, "Mobile", "Roadmap priorities shifted again, half the work thrown away"),
    (40, "Data", "Conflicting priorities from two directors"),
    (60, "Payments", "Priorities changed again mid-sprint"),
]
PRIORITY_BAND_AIDS = (
    done(0, "Payments", "Weekly sync with product", "meeting"),
    done(20, "Mobile", "Planning checklist before each sprint", "process"),
    done(40, "Data", "Extra prioritisation meeting", "meeting"),
)


def quoted(line: str) -> list[str]:
    return re.findall(r"“([^”]+)”", line)


def test_a_band_aid_loop_says_how_it_came_back_and_which_words_point_where():
    finding = diagnose(history(PRIORITIES, PRIORITY_BAND_AIDS), today=TODAY)
    assert finding.flagged
    line = finding.headline
    assert line.startswith(f"Back after {finding.loop_fixes} band-aids in 3 teams; ")
    assert f"point to {finding.category}" in line or "spread across teams" in line
    texts = " ".join(text.lower() for _, _, text in PRIORITIES)
    assert all(word.lower() in texts for word in quoted(line))  # only words that were written


@pytest.mark.parametrize(
    ("raisings", "fixes", "expected_start"),
    [
        ([(0, "Payments", "The coffee machine is broken")], (), "Raised once; "),
        (
            [(0, "Platform", "Builds are slow"), (30, "Platform", "Builds still slow")],
            (done(0, "Platform", "Move builds to faster runners", "infrastructure"),),
            "Raised 2 times; ",
        ),
    ],
)
def test_no_band_aids_are_claimed_where_none_were_tried(raisings, fixes, expected_start):
    line = diagnose(history(raisings, fixes), today=TODAY).headline
    assert line.startswith(expected_start)
    assert "band-aid" not in line


def test_an_issue_without_enough_evidence_says_so_and_cites_no_words():
    finding = diagnose(history([(0, "Payments", "The coffee machine is broken")]), today=TODAY)
    assert finding.category == "undetermined"
    assert finding.headline == "Raised once; the cause is not clear yet."
    assert quoted(finding.headline) == []


def test_a_leaders_category_replaces_the_engines_reading_of_the_words():
    plain = diagnose(history(PRIORITIES, PRIORITY_BAND_AIDS), today=TODAY)
    other = "interpersonal" if plain.category != "interpersonal" else "execution"
    judged = diagnose(
        history(PRIORITIES, PRIORITY_BAND_AIDS, override=Override(category=other)), today=TODAY
    )
    assert judged.headline.split(";")[0] == plain.headline.split(";")[0]
    assert "a leader judged it" in judged.headline
    assert quoted(judged.headline) == []


# What a line must not claim, whatever the rest of the evidence says: (raisings, fixes,
# phrases that must be absent, a pattern that must be absent).
ONE_TEAM = [
    (0, "Payments", "Deploys fail on Fridays"),
    (30, "Payments", "Deploys failed again on Friday"),
    (60, "Payments", "Friday deploy broke checkout"),
]
MUTE_WORDS = [
    (0, "Payments", "Thing with the widget"),
    (30, "Mobile", "The widget thing again"),
]
BAND_AIDS = (
    done(0, "Payments", "Remind people in standup", "reminder"),
    done(30, "Payments", "Extra check meeting", "meeting"),
)
STRUCTURAL = (
    done(0, "Payments", "Automate the deploy pipeline", "tooling"),
    done(30, "Payments", "Freeze window enforced by CI", "infrastructure"),
)
NOT_CLAIMED = [
    pytest.param(ONE_TEAM, BAND_AIDS, (" teams",), id="one team: no spread across teams"),
    pytest.param(ONE_TEAM, STRUCTURAL, ("band-aid",), id="structural fixes only: no band-aids"),
    pytest.param(MUTE_WORDS, (), ("“", "the words point"), id="no category words: none quoted"),
    pytest.param(
        ONE_TEAM,
        BAND_AIDS[:1],
        ("1 band-aids",),
        id="one band-aid: singular",
    ),
    pytest.param(
        [(0, "Payments", "The coffee machine is broken")],
        (),
        ("point to", "band-aid", "times"),
        id="one raising: no pattern, no repetition",
    ),
]


@pytest.mark.parametrize(("raisings", "fixes", "absent"), NOT_CLAIMED)
def test_the_line_claims_nothing_the_evidence_lacks(raisings, fixes, absent):
    finding = diagnose(history(raisings, fixes), today=TODAY)
    line = finding.headline
    assert line.endswith(".") and line[0].isupper()
    for phrase in absent:
        assert phrase not in line, f"{phrase!r} in {line!r}"
    if finding.category == "undetermined":
        assert "not clear yet" in line


def test_structural_fixes_that_missed_the_category_are_not_called_band_aids():
    finding = diagnose(history(ONE_TEAM, STRUCTURAL), today=TODAY)
    assert finding.loop_fixes == len(STRUCTURAL)  # both missed the category: a loop all the same
    assert finding.headline.startswith("Back after 2 structural fixes aimed at another cause")
    assert finding.band_aid_fixes == 0
