"""The facilitator workflow's services: what they write, what they refuse, and what they keep."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from retros import services
from retros.models import (
    Fix,
    FixOutcome,
    FixStatus,
    Issue,
    IssueMerge,
    LinkSource,
    Occurrence,
    RetroStatus,
)
from retros.selectors import md_inline, retro_board, retro_summary
from tests.factories import FixFactory, IssueFactory, OccurrenceFactory, RetrospectiveFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def recompute(monkeypatch) -> list[list[int]]:
    """The issue ids handed to the diagnosis engine, in order."""
    calls: list[list[int]] = []
    monkeypatch.setattr(services, "schedule_recompute", lambda ids: calls.append(sorted(ids)))
    return calls


@pytest.fixture
def embedded(monkeypatch) -> list[str]:
    """The texts given vectors: when logged (with the row) and when their text changes."""
    calls: list[str] = []
    monkeypatch.setattr(
        services, "embed_occurrence", lambda occurrence: calls.append(occurrence.text)
    )

    def vector_fields(text: str) -> dict[str, object]:
        calls.append(text)
        return {}

    monkeypatch.setattr(services, "vector_fields", vector_fields)
    return calls


@pytest.fixture
def retro(cast):
    return RetrospectiveFactory(team=cast.team, held_on=dt.date(2026, 2, 11))


@pytest.fixture
def fay(cast):
    return cast.users["facilitator"]


def test_it_records_a_new_issue_titled_with_the_text(retro, fay, recompute, embedded):
    occurrence = services.occurrence_record(retro=retro, text="  Deploys are slow  ", user=fay)
    issue = occurrence.issue
    assert occurrence.text == "Deploys are slow"
    assert (occurrence.link_source, occurrence.link_score) == (LinkSource.NEW, None)
    assert (occurrence.team_id, occurrence.held_on) == (retro.team_id, retro.held_on)
    assert issue.title == "Deploys are slow"
    issue.refresh_from_db()
    assert (issue.occurrence_count, issue.team_count) == (1, 1)
    assert issue.first_seen == issue.last_seen == retro.held_on
    assert recompute == [[issue.pk]]
    assert embedded == ["Deploys are slow"]
    assert occurrence.history.first().history_user == fay
    assert issue.history.first().history_user == fay


def test_a_recurrence_joins_the_earlier_issue_and_updates_its_stats(cast, retro, fay, recompute):
    earlier = RetrospectiveFactory(team=cast.other_team, held_on=dt.date(2026, 1, 7))
    first = OccurrenceFactory(retro=earlier, text="Slow deploys")
    services.issue_refresh_stats(issue_ids=[first.issue_id])
    occurrence = services.occurrence_record(
        retro=retro,
        text="Deploys still slow",
        user=fay,
        link_to_issue=first.issue,
        link_source=LinkSource.SUGGESTION,
        link_score=0.87,
    )
    issue = Issue.objects.get(pk=first.issue_id)
    assert occurrence.issue_id == issue.pk
    assert (occurrence.link_source, occurrence.link_score) == (LinkSource.SUGGESTION, 0.87)
    assert (issue.occurrence_count, issue.team_count) == (2, 2)
    assert (issue.first_seen, issue.last_seen) == (dt.date(2026, 1, 7), dt.date(2026, 2, 11))
    assert Issue.objects.count() == 1


def test_linking_to_a_merged_issue_links_to_where_it_was_merged(cast, retro, fay):
    target = IssueFactory(organization=cast.org)
    merged = IssueFactory(organization=cast.org, merged_into=target)
    occurrence = services.occurrence_record(
        retro=retro, text="Again", user=fay, link_to_issue=merged
    )
    assert occurrence.issue_id == target.pk
    assert occurrence.link_source == LinkSource.MANUAL


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "cannot be empty"), ("   \n ", "cannot be empty"), ("x" * 2001, "the limit is 2000")],
)
def test_it_refuses_empty_or_too_long_text(retro, fay, text, message):
    with pytest.raises(ValidationError, match=message):
        services.occurrence_record(retro=retro, text=text, user=fay)
    assert not Occurrence.objects.exists() and not Issue.objects.exists()


def test_two_thousand_characters_after_stripping_are_accepted(retro, fay, embedded):
    occurrence = services.occurrence_record(retro=retro, text=f"  {'x' * 2000}  ", user=fay)
    assert len(occurrence.text) == 2000
    assert len(occurrence.issue.title) == 200 and occurrence.issue.title.endswith("…")


def test_a_closed_retro_takes_no_new_issues(retro, fay):
    services.retro_close(retro=retro, user=fay)
    assert retro.status == RetroStatus.CLOSED and retro.closed_at is not None
    with pytest.raises(ValidationError, match="closed"):
        services.occurrence_record(retro=retro, text="Late", user=fay)
    with pytest.raises(ValidationError, match="already closed"):
        services.retro_close(retro=retro, user=fay)


def test_votes_go_up_and_down_but_never_below_zero(retro, fay):
    occurrence = OccurrenceFactory(retro=retro, votes=0)
    services.occurrence_vote(occurrence=occurrence, delta=1, user=fay)
    services.occurrence_vote(occurrence=occurrence, delta=1, user=fay)
    services.occurrence_vote(occurrence=occurrence, delta=-1, user=fay)
    assert Occurrence.objects.get(pk=occurrence.pk).votes == 1
    services.occurrence_vote(occurrence=occurrence, delta=-1, user=fay)
    with pytest.raises(ValidationError, match="below zero"):
        services.occurrence_vote(occurrence=occurrence, delta=-1, user=fay)
    with pytest.raises(ValidationError):
        services.occurrence_vote(occurrence=occurrence, delta=5, user=fay)
    assert Occurrence.objects.get(pk=occurrence.pk).votes == 0


def test_editing_the_text_of_a_new_issue_renames_it(retro, fay, embedded, recompute):
    occurrence = services.occurrence_record(retro=retro, text="Deplyos are slow", user=fay)
    services.occurrence_update_text(occurrence=occurrence, text="Deploys are slow", user=fay)
    occurrence.refresh_from_db()
    assert occurrence.text == occurrence.issue.title == "Deploys are slow"
    assert embedded == ["Deplyos are slow", "Deploys are slow"]


def test_editing_a_recurrence_keeps_the_issue_title(cast, retro, fay, embedded):
    first = OccurrenceFactory(retro=RetrospectiveFactory(team=cast.team), text="Slow deploys")
    first.issue.title = "Slow deploys"
    first.issue.save()
    occurrence = services.occurrence_record(
        retro=retro, text="Deploys slow", user=fay, link_to_issue=first.issue
    )
    services.occurrence_update_text(occurrence=occurrence, text="Deploys slow again", user=fay)
    assert Issue.objects.get(pk=first.issue_id).title == "Slow deploys"


def test_archive_keeps_the_row_and_undo_restores_it(retro, fay, embedded):
    occurrence = services.occurrence_record(retro=retro, text="Typo issue", user=fay)
    issue = occurrence.issue
    services.occurrence_archive(occurrence=occurrence, user=fay)
    occurrence.refresh_from_db()
    issue.refresh_from_db()
    assert occurrence.archived_at is not None
    assert issue.archived_at is not None, "an issue with nothing left in it is archived too"
    assert issue.occurrence_count == 0
    services.occurrence_restore(occurrence=occurrence, user=fay)
    occurrence.refresh_from_db()
    issue.refresh_from_db()
    assert occurrence.archived_at is None and issue.archived_at is None
    assert issue.occurrence_count == 1


def test_archiving_one_raising_keeps_an_issue_with_others(cast, retro, fay):
    earlier = OccurrenceFactory(retro=RetrospectiveFactory(team=cast.team))
    occurrence = OccurrenceFactory(retro=retro, issue=earlier.issue)
    services.issue_refresh_stats(issue_ids=[earlier.issue_id])
    services.occurrence_archive(occurrence=occurrence, user=fay)
    issue = Issue.objects.get(pk=earlier.issue_id)
    assert issue.archived_at is None and issue.occurrence_count == 1


def test_split_makes_a_new_issue_and_relink_moves_the_occurrence(cast, retro, fay, recompute):
    first = OccurrenceFactory(retro=RetrospectiveFactory(team=cast.team), text="A")
    second = OccurrenceFactory(retro=retro, issue=first.issue, text="B")
    services.issue_refresh_stats(issue_ids=[first.issue_id])
    services.occurrence_relink(occurrence=second, issue=None, user=fay)
    second.refresh_from_db()
    assert second.issue_id != first.issue_id
    assert second.issue.title == "B" and second.link_source == LinkSource.NEW
    assert Issue.objects.get(pk=first.issue_id).occurrence_count == 1
    assert second.issue.occurrence_count == 1

    services.occurrence_relink(
        occurrence=second, issue=first.issue, user=fay, link_source=LinkSource.MANUAL
    )
    second.refresh_from_db()
    old = Issue.objects.get(pk=second.history.all()[1].issue_id)
    assert second.issue_id == first.issue_id and second.link_source == LinkSource.MANUAL
    assert Issue.objects.get(pk=first.issue_id).occurrence_count == 2
    assert old.archived_at is not None, "the emptied split-off issue is archived, not deleted"


def test_the_only_raising_of_an_issue_cannot_be_split_off(retro, fay):
    occurrence = OccurrenceFactory(retro=retro)
    services.issue_refresh_stats(issue_ids=[occurrence.issue_id])
    with pytest.raises(ValidationError, match="only raising"):
        services.occurrence_relink(occurrence=occurrence, issue=None, user=fay)


def test_merge_moves_everything_and_undo_puts_it_back(cast, retro, fay, recompute):
    source = IssueFactory(organization=cast.org, title="Deploys slow")
    target = IssueFactory(organization=cast.org, title="Slow deploys")
    kept = OccurrenceFactory(retro=retro, issue=source)
    archived = OccurrenceFactory(retro=retro, issue=source)
    archived.archived_at = dt.datetime(2026, 2, 11, tzinfo=dt.UTC)
    archived.save()
    OccurrenceFactory(retro=RetrospectiveFactory(team=cast.other_team), issue=target)
    fix = FixFactory(issue=source, team=cast.team)
    services.issue_refresh_stats(issue_ids=[source.pk, target.pk])

    merge = services.issue_merge(source=source, target=target, user=fay)
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.merged_into_id == target.pk
    assert set(merge.occurrence_ids) == {kept.pk, archived.pk} and merge.fix_ids == [fix.pk]
    assert merge.source_title == "Deploys slow" and merge.merged_by == fay
    assert Occurrence.objects.filter(issue=target).count() == 3
    assert Fix.objects.get(pk=fix.pk).issue_id == target.pk
    assert (target.occurrence_count, target.team_count) == (2, 2)
    assert source.occurrence_count == 0
    assert recompute[-1] == sorted([source.pk, target.pk])
    assert Occurrence.history.filter(id=kept.pk).first().history_user == fay

    services.issue_merge_undo(merge=merge, user=fay)
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.merged_into_id is None
    assert set(Occurrence.objects.filter(issue=source).values_list("id", flat=True)) == {
        kept.pk,
        archived.pk,
    }
    assert Fix.objects.get(pk=fix.pk).issue_id == source.pk
    assert (source.occurrence_count, target.occurrence_count) == (1, 1)
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == fay
    with pytest.raises(ValidationError, match="already undone"):
        services.issue_merge_undo(merge=merge, user=fay)


def test_merge_refuses_nonsense(cast, fay):
    issue = IssueFactory(organization=cast.org)
    other_org_issue = IssueFactory(organization=cast.outsider_org)
    with pytest.raises(ValidationError, match="itself"):
        services.issue_merge(source=issue, target=issue, user=fay)
    with pytest.raises(ValidationError, match="different organisations"):
        services.issue_merge(source=issue, target=other_org_issue, user=fay)
    assert not IssueMerge.objects.exists()


def test_rename_validates_the_title(cast, fay):
    issue = IssueFactory(organization=cast.org, title="Old")
    services.issue_rename(issue=issue, title="  New   title ", user=fay)
    assert Issue.objects.get(pk=issue.pk).title == "New title"
    with pytest.raises(ValidationError, match="cannot be empty"):
        services.issue_rename(issue=issue, title=" ", user=fay)
    with pytest.raises(ValidationError, match="limit is 200"):
        services.issue_rename(issue=issue, title="x" * 201, user=fay)


def test_fixes_are_applied_marked_and_completed(retro, fay, recompute):
    occurrence = OccurrenceFactory(retro=retro)
    fix = services.fix_apply(
        issue=occurrence.issue,
        retro=retro,
        text=" Weekly sync ",
        kind="meeting",
        kind_inferred=True,
        owner=" Sam ",
        due_on=dt.date(2026, 3, 1),
        user=fay,
    )
    assert (fix.text, fix.owner, fix.team_id, fix.decided_on) == (
        "Weekly sync",
        "Sam",
        retro.team_id,
        retro.held_on,
    )
    assert fix.kind_inferred and fix.status == FixStatus.OPEN
    services.fix_mark_outcome(fix=fix, outcome=FixOutcome.TOO_EARLY, user=fay)
    services.fix_set_status(fix=fix, status=FixStatus.DONE, user=fay, on=dt.date(2026, 3, 2))
    fix.refresh_from_db()
    assert (fix.outcome, fix.status, fix.completed_on) == ("too_early", "done", dt.date(2026, 3, 2))
    services.fix_set_status(fix=fix, status=FixStatus.OPEN, user=fay)
    assert Fix.objects.get(pk=fix.pk).completed_on is None
    services.fix_update(fix=fix, text="Daily sync", kind="meeting", user=fay)
    assert Fix.objects.get(pk=fix.pk).kind_inferred, "an unchanged kind stays inferred"
    services.fix_update(fix=fix, text="Daily sync", kind="reminder", user=fay)
    assert not Fix.objects.get(pk=fix.pk).kind_inferred
    assert fix.history.first().history_user == fay
    assert all(ids == [occurrence.issue_id] for ids in recompute)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"text": ""}, "cannot be empty"),
        ({"kind": "magic"}, "kind"),
        ({"owner": "x" * 101}, "owner"),
        ({"due_on": dt.date(2026, 1, 1)}, "before the retro"),
    ],
)
def test_fixes_are_validated(retro, fay, changes, message):
    occurrence = OccurrenceFactory(retro=retro)
    values = {"text": "Sync", "kind": "meeting", "owner": "", "due_on": None, **changes}
    with pytest.raises(ValidationError, match=message):
        services.fix_apply(issue=occurrence.issue, retro=retro, user=fay, **values)
    fix = FixFactory(issue=occurrence.issue)
    with pytest.raises(ValidationError):
        services.fix_mark_outcome(fix=fix, outcome="great", user=fay)
    with pytest.raises(ValidationError):
        services.fix_set_status(fix=fix, status="finished", user=fay)


def test_markdown_neutralises_what_people_typed():
    assert md_inline("**bold** _it_ `code`") == r"\*\*bold\*\* \_it\_ \`code\`"
    assert md_inline("[link](http://evil) ![img](x)") == r"\[link\](http://evil) \!\[img\](x)"
    assert md_inline("<script>alert(1)</script> & &amp;") == (
        r"\<script\>alert(1)\</script\> \& \&amp;"
    )
    assert md_inline("# Heading") == r"\# Heading"
    assert md_inline("- item") == r"\- item"
    assert md_inline("1. first") == r"1\. first"
    assert md_inline("> quote\n\nnext | cell ~~x~~") == r"\> quote next \| cell \~\~x\~\~"
    assert md_inline("Deploys are slow (again).") == "Deploys are slow (again)."


def test_the_summary_counts_and_escapes(cast, retro, fay, embedded):
    earlier = OccurrenceFactory(retro=RetrospectiveFactory(team=cast.team), text="Slow")
    services.occurrence_record(
        retro=retro, text="*Slow* again", user=fay, link_to_issue=earlier.issue
    )
    new = services.occurrence_record(retro=retro, text="<b>New</b> thing", user=fay)
    services.fix_apply(issue=new.issue, retro=retro, text="Sync [daily]", kind="meeting", user=fay)
    summary = retro_summary(retro_board(retro))
    assert (summary.raised, summary.recurrences, summary.fixes_decided) == (2, 1, 1)
    assert r"- \*Slow\* again (0 votes, raised for the 2nd time)" in summary.markdown
    assert r"- \<b\>New\</b\> thing (0 votes)" in summary.markdown
    assert r"- Sync \[daily\] · Meeting (band-aid)" in summary.markdown
    assert "<b>" not in summary.markdown
