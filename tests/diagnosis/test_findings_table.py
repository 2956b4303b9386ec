"""One findings table (templates/diagnosis/_findings_table.html) serves the dashboard's band-aid
loops and a team's issues: the loops show their confidence, explained on the page; a team's
list shows each finding's status and marks the band-aid loops among its issues."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from tests.diagnosis.stories import make_loops

pytestmark = pytest.mark.usefixtures("cold_cache")


def _rows(response) -> dict[str, str]:
    """The findings table's body rows as text, by issue title."""
    html = response.content.decode()
    table = re.search(r'<table class="loops">(.*?)</table>', html, re.S)
    assert table is not None
    head, _, body = table.group(1).partition("<tbody>")
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        text = unescape(" ".join(re.sub(r"<[^>]+>", " ", row).split()))
        title = re.search(r'<a href="[^"]*">([^<]*)</a>', row)
        assert title is not None
        rows[title.group(1)] = text
    rows["<head>"] = " ".join(re.sub(r"<[^>]+>", " ", head).split())
    return rows


def test_the_dashboard_table_shows_confidence_with_its_explanation(cast):
    make_loops(cast)
    response = cast.clients["leader"].get(reverse("diagnosis:overview"))
    rows = _rows(response)
    assert "Confidence" in rows["<head>"] and "Status" not in rows["<head>"]
    assert set(rows) == {"<head>", "Priorities churn", "Hand-offs stall"}
    for row in response.context["loops"]:
        assert f"{round(row.finding.confidence * 100)}%" in rows[row.finding.issue.title]
        assert row.why in rows[row.finding.issue.title]
        assert "Band-aid loop" not in rows[row.finding.issue.title]
    assert 'id="confidence-note"' in response.content.decode()


def test_a_teams_table_shows_status_and_marks_only_its_loops(cast):
    make_loops(cast)
    response = cast.clients["leader"].get(reverse("diagnosis:team_health", args=[cast.team.pk]))
    rows = _rows(response)
    assert "Status" in rows["<head>"] and "Confidence" not in rows["<head>"]
    for row in response.context["rows"]:
        text = rows[row.finding.issue.title]
        assert row.finding.get_status_display() in text
        assert row.why in text
        assert ("Band-aid loop" in text) == row.finding.flagged
    assert {r.finding.flagged for r in response.context["rows"]} == {True, False}


@pytest.mark.parametrize(
    ("role", "url_name"),
    [
        ("leader", "diagnosis:overview"),
        ("leader", "diagnosis:finding"),
        ("leader", "retros:issue_detail"),
        ("facilitator", "retros:issue_detail"),
    ],
)
def test_wherever_a_confidence_is_shown_it_is_explained_in_visible_text(cast, role, url_name):
    loops = make_loops(cast)
    args = [] if url_name == "diagnosis:overview" else [loops["wide"].pk]
    html = cast.clients[role].get(reverse(url_name, args=args)).content.decode()
    shown = re.findall(r'aria-describedby="confidence-note"', html)
    assert shown, "the page shows a confidence"
    note = re.search(r'<p class="[^"]*" id="confidence-note">(.*?)</p>', html, re.S)
    assert note is not None
    assert "not a probability" in note.group(1)
    assert html.count('id="confidence-note"') == 1
