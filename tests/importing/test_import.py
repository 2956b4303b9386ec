"""history import: all or nothing, idempotent, automatic links reported, round trip."""

from __future__ import annotations

import copy
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from retros.importing import history_export, history_import
from retros.models import Fix, LinkReview, Occurrence, Organization, Team
from tests.examples import example_files, format_example, one_retro_history
from tests.factories import (
    IssueFactory,
    OccurrenceFactory,
    OrganizationFactory,
    RetrospectiveFactory,
    TeamFactory,
)
from tests.rows import row_counts
from vocabulary.history import HistoryValidationError

pytestmark = pytest.mark.django_db

# The format's example, with a second action of no kind (the importer infers it).
DOC = format_example()
DOC["retrospectives"][0]["actions"].append(
    {"key": "p31-a2", "item": "p31-2", "text": "Rebuild the staging servers"}
)


def test_it_imports_teams_retros_items_and_actions():
    report = history_import(copy.deepcopy(DOC))
    assert (report.teams_created, report.retros_created) == (2, 2)
    assert (report.items_created, report.actions_created) == (3, 2)
    assert report.linked_by_file == 1
    first = Occurrence.objects.get(import_key="p31-1")
    again = Occurrence.objects.get(import_key="p33-4")
    assert again.issue_id == first.issue_id
    issue = first.issue
    assert (issue.occurrence_count, issue.team_count) == (2, 1)
    assert str(issue.last_seen) == "2026-02-11"
    inferred = Fix.objects.get(import_key="p31-a2")
    assert inferred.kind_inferred and inferred.kind == "infrastructure"
    assert Fix.objects.get(import_key="p31-a1").kind_inferred is False


def test_importing_the_same_file_twice_changes_nothing():
    history_import(copy.deepcopy(DOC))
    before = row_counts()
    report = history_import(copy.deepcopy(DOC))
    assert row_counts() == before
    assert report.items_created == 0 and report.items_skipped == 3
    assert report.actions_skipped == 2


def test_a_team_renamed_since_the_last_import_is_the_same_team_on_the_next():
    history_import(copy.deepcopy(DOC))
    Team.objects.filter(import_key="payments").update(name="Payments and Billing")
    longer = copy.deepcopy(DOC)
    longer["retrospectives"][1]["items"].append(
        {"key": "p33-5", "text": "Flaky end-to-end tests", "votes": 1}
    )
    report = history_import(longer)  # used to end in an IntegrityError on the team's key
    assert report.teams_created == 0 and report.items_created == 1
    team = Team.objects.get(import_key="payments")
    assert team.name == "Payments and Billing"
    assert Occurrence.objects.get(import_key="p33-5").team == team
    assert not Team.objects.filter(name="Payments").exists()


def test_a_longer_version_of_a_file_adds_only_what_is_new():
    history_import(copy.deepcopy(DOC))
    longer = copy.deepcopy(DOC)
    longer["retrospectives"][1]["items"].append(
        {"key": "p33-5", "text": "Flaky end-to-end tests", "votes": 1}
    )
    report = history_import(longer)
    assert report.items_created == 1 and report.items_skipped == 3


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(format="recur-history/2"), "format"),
        (
            lambda d: d["retrospectives"][1]["items"][0].update(same_as="p9-2"),
            "retrospectives[1].items[0].same_as",
        ),
        (lambda d: d["retrospectives"][0].update(team="mobile"), "retrospectives[0].team"),
        (
            lambda d: d["retrospectives"][0].update(held_on="2026-02-30"),
            "retrospectives[0].held_on",
        ),
        (
            lambda d: d["retrospectives"][0]["items"][0].update(text=""),
            "retrospectives[0].items[0].text",
        ),
        (
            lambda d: d["retrospectives"][0]["items"][0].update(votes=-1),
            "retrospectives[0].items[0].votes",
        ),
        (
            lambda d: d["retrospectives"][0]["actions"][0].update(kind="prayer"),
            "retrospectives[0].actions[0].kind",
        ),
        (
            lambda d: d["retrospectives"][0]["actions"][0].update(item="nope"),
            "retrospectives[0].actions[0].item",
        ),
        (
            lambda d: d["retrospectives"][1]["items"][0].update(key="p31-1"),
            "retrospectives[1].items[0].key",
        ),
        (lambda d: d.pop("teams"), "teams"),
    ],
)
def test_an_invalid_file_is_refused_with_its_json_path_and_nothing_is_written(mutate, path):
    doc = copy.deepcopy(DOC)
    mutate(doc)
    with pytest.raises(HistoryValidationError) as excinfo:
        history_import(doc)
    assert any(error.path == path for error in excinfo.value.errors), excinfo.value.summary()
    assert not any(row_counts().values())


def test_the_command_reports_validation_errors_and_exits_non_zero(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "recur-history/1", "organization": "X", "teams": [')
    with pytest.raises(CommandError, match=r"not valid JSON|JSON"):
        call_command("import_history", str(bad))
    assert not any(row_counts().values())


def test_items_without_same_as_are_linked_automatically_and_reported(capsys):
    doc = copy.deepcopy(DOC)
    doc["retrospectives"][1]["items"][0] = {
        "key": "p33-4",
        "text": "Releases slip because the priorities change mid-sprint",
    }
    report = history_import(doc)
    assert len(report.auto_links) == 1
    link = report.auto_links[0]
    assert link.item == "p33-4" and link.score >= 0.75
    occurrence = Occurrence.objects.get(import_key="p33-4")
    assert occurrence.issue_id == Occurrence.objects.get(import_key="p31-1").issue_id
    assert occurrence.link_source == "auto"


def test_likely_recurrences_below_the_auto_link_threshold_wait_for_review():
    doc = copy.deepcopy(DOC)
    doc["retrospectives"][1]["items"][0] = {
        "key": "p33-4",
        "text": "The staging environment went down again",
    }
    report = history_import(doc)
    reviews = LinkReview.objects.filter(status="pending")
    assert report.queued_for_review == reviews.count()
    if report.auto_links:
        assert report.auto_links[0].item == "p33-4"
    else:
        assert reviews.get().candidate == Occurrence.objects.get(import_key="p31-2").issue


def test_export_import_export_round_trips(tmp_path):
    for path in example_files():
        document = json.loads(path.read_text())
        history_import(document)
        organization = Organization.objects.get(name=document["organization"])
        first = history_export(organization)
        Organization.objects.filter(pk=organization.pk).update(name="old " + organization.name)
        history_import(first)
        second = history_export(Organization.objects.get(name=document["organization"]))
        assert _without_generated(first) == _without_generated(second)
        # Every item and action of the sample survives the trip.
        keys = {i["key"] for r in first["retrospectives"] for i in r["items"]}
        assert keys == {i["key"] for r in document["retrospectives"] for i in r["items"]}


def _without_generated(doc: dict) -> dict:
    return json.loads(json.dumps(doc))


def test_export_command_writes_the_document(tmp_path):
    history_import(copy.deepcopy(DOC))
    out = tmp_path / "out.json"
    call_command("export_history", "--org", "Northwind", "--output", str(out))
    exported = json.loads(out.read_text())
    assert exported["format"] == "recur-history/1"
    assert exported["retrospectives"][1]["items"][0]["same_as"] == "p31-1"
    with pytest.raises(CommandError, match="No organisation"):
        call_command("export_history", "--org", "Nobody")


def test_an_item_with_two_alike_earlier_issues_queues_both_pairs():
    """The best match and a close contender both wait: one decision among them settles it."""
    org = OrganizationFactory(name="Northwind")
    alike = []
    for name, texts in (
        ("Payments", ["Staging environment broken for days", "Staging was down most of the week"]),
        ("Checkout", ["Staging environment broken for two days", "Staging was down for days"]),
    ):
        retro = RetrospectiveFactory(team=TeamFactory(organization=org, name=name))
        issue = IssueFactory(organization=org, title=texts[0])
        for text in texts:
            OccurrenceFactory(retro=retro, issue=issue, text=text)
        alike.append(issue.pk)
    doc = one_retro_history(
        "Northwind",
        [("p-1", "Staging env was broken for a couple of days again")],
        team=("payments", "Payments"),
        retro=("payments-2026-03-04", "2026-03-04"),
    )
    report = history_import(doc)
    pairs = LinkReview.objects.filter(occurrence__import_key="p-1", status="pending")
    assert sorted(p.candidate_id for p in pairs) == sorted(alike)
    assert report.queued_for_review == 1


def test_alike_items_of_one_retro_are_not_queued_as_recurrences_of_each_other():
    """Two items of one retro are one discussion; in a later retro the same words are a
    recurrence and wait for review (or are linked)."""
    doc = one_retro_history(
        "Contoso",
        [
            ("s-1", "The staging environment was down all afternoon"),
            ("s-2", "Staging environment down, could not test the release"),
        ],
        team=("payments", "Payments"),
        retro=("payments-2026-03-04", "2026-03-04"),
    )
    later = copy.deepcopy(doc["retrospectives"][0])
    later.update(key="payments-2026-03-18", held_on="2026-03-18")
    later["items"] = [{"key": "s-3", "text": "Staging environment was down again all day"}]
    doc["retrospectives"].append(later)

    report = history_import(doc)

    first_two = Occurrence.objects.filter(import_key__in=["s-1", "s-2"])
    assert len({o.issue_id for o in first_two}) == 2
    assert not LinkReview.objects.filter(occurrence__import_key__in=["s-1", "s-2"]).exists()
    third = Occurrence.objects.get(import_key="s-3")
    queued = set(LinkReview.objects.filter(occurrence=third).values_list("candidate_id", flat=True))
    assert third.issue_id in {o.issue_id for o in first_two} or queued
    assert report.new_issues == 3 - len(report.auto_links)
