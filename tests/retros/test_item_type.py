"""Praise is kept and shown, never diagnosed, suggested or counted as a raising of a problem."""

from __future__ import annotations

import pytest
from django.urls import reverse

from diagnosis.models import Finding
from diagnosis.services import finding_recompute_many
from retros.importing import history_import
from retros.models import ItemType, Occurrence
from retros.search import suggest
from tests.retros.conftest import htmx
from vocabulary.itemtype import column_type, infer_item_type


@pytest.mark.parametrize(
    ("text", "column", "expected"),
    [
        ("Celebrate: zero payment incidents", None, "appreciation"),
        ("Onboarding buddy system worked well", None, "appreciation"),
        ("The new CI worked well but is still slow", None, "problem"),
        ("Releases are not on time", None, "problem"),
        ("Staging was down again", None, "problem"),
        ("Tests are slow", "Glad", "appreciation"),
        ("Great teamwork", "Mad", "problem"),
        ("Pairing sessions", "Went well", "appreciation"),
        ("Pairing sessions", "Stop", "problem"),
    ],
)
def test_the_type_comes_from_the_column_then_the_wording(text, column, expected):
    assert infer_item_type(text, column) == expected


PRAISE_COLUMNS = [
    "What went well?",
    "Things we did well",
    "What worked",
    "What worked? What do you appreciate?",
    "Successes and achievements",
    "We should keep",
    "What should we keep doing well?",
    "Kudos",
    "Rose",
]
# Columns that negate their praise word or wish for better name problems.
PROBLEM_COLUMNS = [
    "What didn't go well",
    "What didn\u2019t we do so well / Testing",  # a typographic apostrophe
    "What did not work",
    "What didn't",
    "Not so good",
    "What could have gone better in 1.3",
    "What could we have done better?",
    "What do you think could be improved?",
    "Improvements we're implementing for our next sprint",
    "We need to change",
    "Delta",
    "Thorn",
    "Pain points",
    "Anything we would do differently? Puzzles?",
]


@pytest.mark.parametrize(
    ("column", "text", "expected"),
    # The item's own wording says nothing (praise columns) or the opposite (problem ones).
    [(column, "Release notes", "appreciation") for column in PRAISE_COLUMNS]
    + [(column, "Great teamwork", "problem") for column in PROBLEM_COLUMNS],
)
def test_a_column_that_names_a_type_gives_it_to_every_item(column, text, expected):
    assert column_type(column) == expected
    assert infer_item_type(text, column) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Code reviews came back quickly this sprint", "appreciation"),
        ("The new onboarding docs are excellent", "appreciation"),
        ("Got the 2.0 release out", "appreciation"),
        ("We didn\u2019t have clear signals that testing happened", "problem"),
        ("It would be great to have a staging environment per team", "problem"),
        ("We need better test data", "problem"),
        ("How can we release quickly?", "problem"),
        ("Planning well is important", "problem"),
        ("Good docs are still missing", "problem"),
        ("Released with two regressions", "problem"),
        ("Trees were closed for 14 hours", "problem"),
        # A comparative alone is as often a wish ("better alerting") as praise.
        ("Better alerting", "problem"),
        ("Easier onboarding for new hires", "problem"),
        # What an item concedes is not what it says; a problem besides it still counts.
        ("Despite the delays, the release shipped thanks to everyone", "appreciation"),
        ("We got the fix merged in spite of the outage", "appreciation"),
        ("Despite the new checklist, deploys still fail", "problem"),
        ("Deploys fail again despite the new checklist", "problem"),
        # "down" names harm ("the server was down"), not a hyphenated verb.
        ("Liked the pin-down of open questions on the board", "appreciation"),
        ("Liked the dashboard, but the server was down", "problem"),
    ],
)
def test_without_a_column_positive_words_praise_unless_the_item_wishes_or_complains(text, expected):
    assert infer_item_type(text) == expected


@pytest.mark.parametrize("column", ["Start", "What we learned", "Insights", "Summary", ""])
def test_a_column_that_says_neither_leaves_the_type_to_the_wording(column):
    assert column_type(column) is None
    assert infer_item_type("Great teamwork, well done", column) == "appreciation"
    assert infer_item_type("Staging was down again", column) == "problem"


def _glad_history():
    def retro(key, day, items, actions=()):
        return {
            "key": key,
            "team": "p",
            "held_on": f"2026-0{day}-01",
            "items": items,
            "actions": list(actions),
        }

    praise = "Pairing with support went really well"
    return {
        "format": "recur-history/1",
        "organization": "Gladco",
        "teams": [{"key": "p", "name": "Payments"}],
        "retrospectives": [
            retro(
                "r1",
                1,
                [{"key": "g1", "text": praise, "column": "Glad"}],
                [
                    {
                        "key": "a1",
                        "item": "g1",
                        "text": "Weekly sync with support",
                        "kind": "meeting",
                    }
                ],
            ),
            retro(
                "r2",
                2,
                [{"key": "g2", "text": praise, "column": "Glad", "same_as": "g1"}],
                [{"key": "a2", "item": "g2", "text": "Add a checklist", "kind": "process"}],
            ),
            retro("r3", 3, [{"key": "g3", "text": praise, "column": "Glad", "same_as": "g2"}]),
            retro("r4", 4, [{"key": "g4", "text": praise, "column": "Glad", "same_as": "g3"}]),
        ],
    }


@pytest.mark.django_db
def test_an_appreciation_in_a_glad_column_is_never_flagged(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        history_import(_glad_history())
    occurrences = Occurrence.objects.filter(organization__name="Gladco")
    assert {o.item_type for o in occurrences} == {ItemType.APPRECIATION}
    issue_ids = {o.issue_id for o in occurrences}
    assert len(issue_ids) == 1
    finding_recompute_many(issue_ids)
    assert not Finding.objects.filter(issue_id__in=issue_ids, is_current=True).exists()


@pytest.mark.django_db
def test_praise_is_never_suggested_as_a_recurrence_of_a_problem(cast, board, real_matcher):
    client = cast.clients["facilitator"]
    url = reverse("retros:occurrence_create", args=[board.retro.pk])
    client.post(url, {"text": "Celebrate: zero payment incidents this sprint"}, **htmx())
    praise = Occurrence.objects.get(text="Celebrate: zero payment incidents this sprint")
    assert praise.item_type == ItemType.APPRECIATION
    found = suggest(organization=cast.org, text="Celebrate zero payment incidents", team=cast.team)
    assert praise.issue_id not in {s.issue.pk for s in found}


@pytest.mark.django_db
def test_one_key_marks_a_row_as_a_problem_and_back(cast, board, real_matcher):
    client = cast.clients["facilitator"]
    client.post(
        reverse("retros:occurrence_create", args=[board.retro.pk]),
        {"text": "Onboarding buddy system worked well"},
        **htmx(),
    )
    occ = Occurrence.objects.get(text="Onboarding buddy system worked well")
    assert occ.item_type == ItemType.APPRECIATION
    row = client.get(reverse("retros:retro_board", args=[board.retro.pk])).content.decode()
    assert 'aria-keyshortcuts="Alt+W"' in row and "Went well</span>" in row
    response = client.post(
        reverse("retros:occurrence_type", args=[occ.pk]), {"item_type": "problem"}, **htmx()
    )
    assert response.status_code == 200
    occ.refresh_from_db()
    assert occ.item_type == ItemType.PROBLEM
    bad = client.post(
        reverse("retros:occurrence_type", args=[occ.pk]), {"item_type": "maybe"}, **htmx()
    )
    assert bad.status_code == 422


@pytest.mark.django_db
def test_praise_cannot_be_linked_to_a_problem(cast, board):
    client = cast.clients["facilitator"]
    problem = board.issues[0]
    client.post(
        reverse("retros:occurrence_create", args=[board.retro.pk]),
        {"text": "Great job on the deploy tooling", "item_type": "appreciation"},
        **htmx(),
    )
    occ = Occurrence.objects.get(text="Great job on the deploy tooling")
    response = client.post(
        reverse("retros:occurrence_link", args=[occ.pk]), {"issue": str(problem.pk)}
    )
    assert response.status_code == 422
    assert "praise is never a raising of a problem" in response.content.decode()
    occ.refresh_from_db()
    assert occ.issue_id != problem.pk


def _log_praise(client, board, text: str) -> Occurrence:
    """Log `text` on the board as something that went well; the raising it became."""
    client.post(
        reverse("retros:occurrence_create", args=[board.retro.pk]),
        {"text": text, "item_type": "appreciation"},
        **htmx(),
    )
    return Occurrence.objects.get(text=text)


@pytest.mark.django_db
def test_the_link_page_offers_praise_only_praise_and_a_problem_only_problems(cast, board):
    client = cast.clients["facilitator"]
    praise = _log_praise(client, board, "Great job on the deploy tooling")
    earlier_praise = _log_praise(client, board, "Great deploy pairing with Ops").issue
    problem = board.occurrences[0]  # "Deploys still slow 0", of "Deploys are slow 0"

    page = client.get(reverse("retros:occurrence_link", args=[praise.pk]), {"q": "deploy"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Praise is never the raising of a problem" in html
    assert earlier_praise.title in html  # found by its words
    assert "Deploys are slow" not in html  # neither suggested nor found

    page = client.get(reverse("retros:occurrence_link", args=[problem.pk]), {"q": "deploy"})
    html = page.content.decode()
    assert "Deploys are slow 1" in html
    assert earlier_praise.title not in html and "Praise is never" not in html


@pytest.mark.django_db
def test_the_merge_search_offers_issues_of_the_issue_own_type(cast, board):
    client = cast.clients["facilitator"]
    praise = _log_praise(client, board, "Great deploy pairing with Ops").issue
    problem = board.issues[0]  # "Deploys are slow 0"

    html = client.get(
        reverse("retros:issue_detail", args=[problem.pk]), {"merge_q": "deploy"}
    ).content.decode()
    assert "Deploys are slow 1" in html and praise.title not in html
    html = client.get(
        reverse("retros:issue_detail", args=[praise.pk]), {"merge_q": "deploy"}
    ).content.decode()
    assert "Deploys are slow" not in html.split("merge-candidates", 1)[1]


def test_the_history_format_names_the_same_item_types():
    from vocabulary.history import ITEM_TYPES
    from vocabulary.itemtype import ITEM_TYPES as TYPES

    assert ITEM_TYPES == TYPES == tuple(ItemType.values)


@pytest.mark.django_db
def test_praise_is_not_counted_as_an_issue_raised(cast, board):
    client = cast.clients["facilitator"]
    board_url = reverse("retros:retro_board", args=[board.retro.pk])
    raised = len(board.occurrences)
    client.post(
        reverse("retros:occurrence_create", args=[board.retro.pk]),
        {"text": "Great job on the deploy tooling", "item_type": "appreciation"},
        **htmx(),
    )
    praise = Occurrence.objects.get(text="Great job on the deploy tooling")

    html = client.get(board_url).content.decode()
    assert f"{raised} issues raised · 1 went well</span>" in html
    home = client.get(reverse("retros:team_home", args=[cast.team.pk])).content.decode()
    assert f"{raised} issues raised · <a" in home and ">1 went well</a>" in home
    assert "Great job on the deploy tooling" not in home.split('id="team-issues"')[1]
    # One key makes it a problem: the board's head counts follow in the same response.
    response = client.post(
        reverse("retros:occurrence_type", args=[praise.pk]), {"item_type": "problem"}, **htmx()
    )
    assert f"{raised + 1} issues raised</span>" in response.content.decode()


@pytest.mark.django_db
def test_the_summary_lists_praise_apart_from_the_issues_raised(cast, board):
    client = cast.clients["facilitator"]
    client.post(
        reverse("retros:occurrence_create", args=[board.retro.pk]),
        {"text": "Pairing on the release went well", "item_type": "appreciation"},
    )
    client.post(reverse("retros:retro_close", args=[board.retro.pk]))

    html = client.get(reverse("retros:retro_board", args=[board.retro.pk])).content.decode()

    raised = f"**{len(board.occurrences)} issues raised ("
    assert raised in html
    went_well = html.split("## Went well")[1].split("## Fixes decided")[0]
    assert "Pairing on the release went well (0 votes)" in went_well
    assert "Pairing on the release" not in html.split("## Issues raised")[1].split("## Went")[0]
