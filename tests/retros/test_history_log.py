"""History rows written in bulk (an import) say what one-by-one saves would have said."""

from __future__ import annotations

import copy

import pytest

from retros import history_log
from retros.importing import history_import
from retros.models import Issue, LinkReview, Occurrence
from tests.examples import format_example
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_outside_a_batch_each_save_writes_its_history_row_at_once():
    author = UserFactory()
    issue = Issue(organization=OrganizationFactory(), title="Builds are slow")
    history_log.save(issue, author)
    row = issue.history.get()  # type: ignore[attr-defined]
    assert (row.history_type, row.history_user, row.title) == ("+", author, "Builds are slow")


def test_a_batch_writes_created_rows_at_its_end_as_they_were_saved():
    author = UserFactory()
    organization = OrganizationFactory()
    with history_log.batched():
        issue = Issue(organization=organization, title="Builds are slow")
        history_log.save(issue, author)
        assert not issue.history.exists()  # type: ignore[attr-defined]
        issue.title = "Builds are slow again"
        history_log.save(issue, author, update_fields=["title"])
    rows = list(issue.history.order_by("history_date", "history_id"))  # type: ignore[attr-defined]
    assert [(r.history_type, r.title, r.history_user) for r in rows] == [
        ("+", "Builds are slow", author),
        ("~", "Builds are slow again", author),
    ]


def test_a_batch_that_fails_writes_no_history():
    organization = OrganizationFactory()
    with pytest.raises(RuntimeError), history_log.batched():
        history_log.save(Issue(organization=organization, title="Kept"), None)
        raise RuntimeError("the import stopped")
    assert not Issue.history.exists()  # type: ignore[attr-defined]


def test_an_import_leaves_one_created_row_per_tracked_row_it_wrote():
    doc = format_example()
    doc["retrospectives"][1]["items"][0] = {
        "key": "p33-4",
        "text": "The staging environment went down again",
    }
    history_import(copy.deepcopy(doc))
    for model in (Issue, Occurrence, LinkReview):
        ids = sorted(model.objects.values_list("pk", flat=True))
        created = sorted(
            model.history.filter(history_type="+").values_list("id", flat=True)  # type: ignore[attr-defined]
        )
        assert created == ids, model.__name__
    occurrence = Occurrence.objects.get(import_key="p31-1")
    row = occurrence.history.get()  # type: ignore[attr-defined]
    assert (row.text, row.issue_id, row.retro_id) == (
        occurrence.text,
        occurrence.issue_id,
        occurrence.retro_id,
    )


@pytest.mark.parametrize("in_batch", [False, True])
def test_rows_created_together_get_one_created_row_each(in_batch):
    author = UserFactory()
    organization = OrganizationFactory()
    issues = [Issue(organization=organization, title=f"Issue {n}") for n in range(3)]
    if in_batch:
        with history_log.batched():
            history_log.create_all(issues, author)
            assert not Issue.history.exists()  # type: ignore[attr-defined]
    else:
        history_log.create_all(issues, author)
    rows = Issue.history.order_by("id")  # type: ignore[attr-defined]
    assert [(r.id, r.history_type, r.history_user, r.title) for r in rows] == [
        (i.pk, "+", author, i.title) for i in issues
    ]


@pytest.mark.django_db(transaction=True)
def test_rows_created_together_outside_a_transaction_are_kept_only_with_their_history(
    monkeypatch,
):
    organization = OrganizationFactory()

    def history_lost(objs):
        raise RuntimeError("the history insert failed")

    monkeypatch.setattr(history_log, "_write", history_lost)
    with pytest.raises(RuntimeError):
        history_log.create_all([Issue(organization=organization, title="Builds are slow")])
    assert not Issue.objects.filter(organization=organization).exists()
