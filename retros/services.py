"""Writes for the facilitator workflow: retros, occurrences, issues and fixes.

Every function is keyword-only and typed, validates its input (raising ValidationError with a
message meant for the person), writes inside a transaction when more than one row changes,
records the acting user as the history author, and keeps the derived issue statistics and
the diagnosis findings up to date. Nothing a person entered is deleted: occurrences and
issues are archived and restored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from diagnosis.tasks import schedule_recompute
from retros.history_log import save as _save
from retros.models import (
    Fix,
    FixOutcome,
    FixStatus,
    Issue,
    IssueMerge,
    ItemType,
    LinkSource,
    Membership,
    Occurrence,
    Organization,
    RetroFormat,
    Retrospective,
    RetroStatus,
    Role,
    Team,
)
from retros.search import changed, embed_occurrence, vector_fields
from retros.validators import check_date
from vocabulary import limits
from vocabulary.fixkinds import FIX_KINDS
from vocabulary.limits import title_from_text

TEXT_MAX = limits.TEXT_MAX
TITLE_MAX = limits.TITLE_MAX
OWNER_MAX = limits.OWNER_MAX


# --- Validation ------------------------------------------------------------------------------


def clean_text(text: str, *, what: str = "The text", max_length: int = TEXT_MAX) -> str:
    """The text without surrounding blanks; 1 to `max_length` characters."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise ValidationError(f"{what} cannot be empty.", code="required")
    if len(cleaned) > max_length:
        raise ValidationError(
            f"{what} is {len(cleaned)} characters long; the limit is {max_length}.",
            code="max_length",
        )
    return cleaned


class EditConflict(ValidationError):
    """An edit of a row that changed after the person opened the form: archived meanwhile
    (`archived`), or changed in another tab or by someone else. Nothing was saved; the view
    shows what is saved now next to what the person typed."""

    def __init__(self, message: str, *, archived: bool) -> None:
        super().__init__(message, code="archived" if archived else "changed")
        self.archived = archived


def edit_version(*values: object) -> str:
    """A fingerprint of what an edit form showed. The form sends it back; a different one on
    save means the row changed in between (optimistic concurrency, no column needed)."""
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


def occurrence_version(occurrence: Occurrence) -> str:
    return edit_version(occurrence.text)


def fix_values(fix: Fix) -> tuple[str, str, str, dt.date | None]:
    """What the fix edit form changes."""
    return (fix.text, fix.kind, fix.owner, fix.due_on)


def fix_version(fix: Fix) -> str:
    return edit_version(*fix_values(fix))


def _after_commit_changed(organization_id: int, issue_ids: Iterable[int]) -> None:
    """Relinks, merges, archives and text changes make the matcher re-read those issues."""
    ids = list(issue_ids)
    transaction.on_commit(lambda: changed(organization_id=organization_id, issue_ids=ids))


# --- Organisations ---------------------------------------------------------------------------


def organization_create(*, name: str, admin: Any | None = None) -> Organization:
    """A new organisation; `admin`, who must not belong to one yet, becomes its admin member
    (and staff, so that the admin site, where teams and people are added, opens for them)."""
    name = clean_text(name, what="The name", max_length=limits.ORGANIZATION_NAME_MAX)
    if any(ch in name for ch in "\r\n\t") or not name.isprintable():
        raise ValidationError("The name must be one line of text.", code="invalid")
    if Organization.objects.filter(name__iexact=name).exists():
        raise ValidationError(f"An organisation named {name!r} already exists.", code="unique")
    with transaction.atomic():
        if admin is not None:
            current = Membership.objects.filter(user_id=admin.pk).select_related("organization")
            membership = current.first()
            if membership is not None:
                raise ValidationError(
                    f"{admin.get_username()} already belongs to {membership.organization.name}.",
                    code="member",
                )
        organization = Organization.objects.create(name=name)
        if admin is not None:
            Membership.objects.create(user=admin, organization=organization, role=Role.ADMIN)
            if not admin.is_staff:
                admin.is_staff = True
                admin.save(update_fields=["is_staff"])
    return organization


# --- Retros ----------------------------------------------------------------------------------


def retro_start(
    *, team: Team, held_on: dt.date, title: str, format: str, user: Any
) -> Retrospective:
    if format not in RetroFormat.values:
        raise ValidationError("Choose one of the retro formats.", code="invalid_format")
    title = (title or "").strip()
    if len(title) > TITLE_MAX:
        raise ValidationError(f"The title is limited to {TITLE_MAX} characters.")
    if team.archived_at is not None:
        raise ValidationError("This team is archived; it cannot start a retro.")
    check_date(held_on, what="The date")
    retro = Retrospective(
        organization_id=team.organization_id,
        team=team,
        held_on=held_on,
        title=title,
        format=format,
        facilitator=user,
        status=RetroStatus.OPEN,
    )
    retro.save()
    return retro


def retro_close(*, retro: Retrospective, user: Any) -> Retrospective:
    if not retro.is_open:
        raise ValidationError("This retro is already closed.", code="closed")
    retro.status = RetroStatus.CLOSED
    retro.closed_at = timezone.now()
    retro.save(update_fields=["status", "closed_at"])
    return retro


# --- Occurrences -----------------------------------------------------------------------------


def _live_target(issue: Issue) -> Issue:
    """The issue an occurrence can be linked to: a merged issue's final target."""
    seen = {issue.pk}
    while issue.merged_into_id is not None:
        issue = Issue.objects.get(pk=issue.merged_into_id)
        if issue.pk in seen:  # pragma: no cover - merges never form a cycle
            break
        seen.add(issue.pk)
    if issue.archived_at is not None:
        raise ValidationError("That issue was archived; choose another one.", code="archived")
    return issue


def issue_item_type(issue: Issue, *, besides: Occurrence | None = None) -> str | None:
    """The type of an issue's raisings (they are all of one type); None when it has no
    other live raising than `besides`."""
    raisings = Occurrence.objects.live().filter(issue_id=issue.pk)
    if besides is not None:
        raisings = raisings.exclude(pk=besides.pk)
    return raisings.values_list("item_type", flat=True).first()


def _require_same_type(item_type: str, issue: Issue) -> None:
    other = issue_item_type(issue)
    if other is None or other == item_type:
        return
    if item_type == ItemType.APPRECIATION:
        raise ValidationError(
            "This went well: praise is never a raising of a problem. Mark it as a problem "
            "first if it is one.",
            code="type_mismatch",
        )
    raise ValidationError(
        "That issue collects things that went well, not problems; choose another issue.",
        code="type_mismatch",
    )


def occurrence_record(
    *,
    retro: Retrospective,
    text: str,
    user: Any,
    link_to_issue: Issue | None = None,
    link_source: str = LinkSource.NEW,
    link_score: float | None = None,
    votes: int = 0,
    item_type: str = ItemType.PROBLEM,
) -> Occurrence:
    """Log one raising of an issue on a retro: a recurrence of `link_to_issue`, or else a new
    issue titled with the text. An appreciation joins only an issue of appreciations."""
    text = clean_text(text, what="The issue")
    if item_type not in ItemType.values:
        raise ValidationError("An item is a problem or an appreciation.", code="item_type")
    if not retro.is_open:
        raise ValidationError("This retro is closed; reopen it to add issues.", code="closed")
    if votes < 0:
        raise ValidationError("Votes cannot be negative.", code="votes")
    if link_score is not None and not 0.0 <= link_score <= 1.0:
        link_score = min(1.0, max(0.0, link_score))
    vector = vector_fields(text)  # before the transaction: written with the row
    with transaction.atomic():
        if link_to_issue is not None:
            if link_to_issue.organization_id != retro.organization_id:
                raise ValidationError("That issue belongs to another organisation.")
            issue = _live_target(link_to_issue)
            _require_same_type(item_type, issue)
            if link_source == LinkSource.NEW:
                link_source = LinkSource.MANUAL
        else:
            # A new issue's figures are this one raising's: no counting needed.
            issue = Issue(
                organization_id=retro.organization_id,
                title=title_from_text(text),
                title_team_id=retro.team_id,
                occurrence_count=1,
                team_count=1,
                first_seen=retro.held_on,
                last_seen=retro.held_on,
            )
            _save(issue, user)
            link_source, link_score = LinkSource.NEW, None
        occurrence = Occurrence(
            organization_id=retro.organization_id,
            issue=issue,
            retro=retro,
            team_id=retro.team_id,
            held_on=retro.held_on,
            text=text,
            item_type=item_type,
            votes=votes,
            link_source=link_source,
            link_score=link_score,
            created_by=user,
            **vector,
        )
        _save(occurrence, user)
        if link_to_issue is not None:
            issue_refresh_stats(issue_ids=[issue.pk])
        schedule_recompute([issue.pk])
    return occurrence


def occurrence_update_text(
    *,
    occurrence: Occurrence,
    text: str,
    user: Any,
    version: str | None = None,
    restore: bool = False,
) -> Occurrence:
    """Correct what was written. A new issue's title follows its only raising's text.

    Never saves into an archived occurrence: EditConflict, unless `restore` asks to restore
    it first. With `version` (occurrence_version of what the form showed), a text changed
    since is an EditConflict too. `occurrence` then holds what is saved now."""
    text = clean_text(text, what="The issue")
    with transaction.atomic():
        current = Occurrence.objects.select_for_update().get(pk=occurrence.pk)
        occurrence.text, occurrence.archived_at = current.text, current.archived_at
        if occurrence.archived_at is not None:
            if not restore:
                raise EditConflict(
                    "This item was archived while you were editing it; your text is not saved.",
                    archived=True,
                )
            occurrence_restore(occurrence=occurrence, user=user)
        if text == occurrence.text:
            return occurrence
        if version is not None and version != occurrence_version(occurrence):
            raise EditConflict(
                "This item was changed elsewhere while you were editing it; your text is not "
                "saved.",
                archived=False,
            )
        issue = occurrence.issue
        alone = not Occurrence.objects.filter(issue_id=issue.pk).exclude(pk=occurrence.pk).exists()
        if alone and issue.title == title_from_text(occurrence.text):
            issue.title = title_from_text(text)
            issue.title_team_id, issue.title_renamed = occurrence.team_id, False
            _save(issue, user, update_fields=["title", "title_team", "title_renamed"])
        occurrence.text = text
        _save(occurrence, user, update_fields=["text"])
        schedule_recompute([occurrence.issue_id])
        _after_commit_changed(occurrence.organization_id, [occurrence.issue_id])
    embed_occurrence(occurrence)
    return occurrence


def occurrence_vote(*, occurrence: Occurrence, delta: int, user: Any) -> Occurrence:
    """Add (+1) or take away (-1) a vote; votes never go below zero."""
    if delta not in (1, -1):
        raise ValidationError("A vote changes the count by one.", code="delta")
    with transaction.atomic():
        locked = Occurrence.objects.select_for_update().get(pk=occurrence.pk)
        if locked.votes + delta < 0:
            raise ValidationError("Votes cannot go below zero.", code="votes")
        locked.votes += delta
        _save(locked, user, update_fields=["votes"])
    occurrence.votes = locked.votes
    return occurrence


def occurrence_archive(*, occurrence: Occurrence, user: Any) -> Occurrence:
    """Take an occurrence off the board, keeping it so that it can be restored. An issue left
    with nothing in it is archived with it."""
    if occurrence.archived_at is not None:
        return occurrence
    with transaction.atomic():
        occurrence.archived_at = timezone.now()
        _save(occurrence, user, update_fields=["archived_at"])
        _archive_if_empty(occurrence.issue, user)
        issue_refresh_stats(issue_ids=[occurrence.issue_id])
        schedule_recompute([occurrence.issue_id])
        _after_commit_changed(occurrence.organization_id, [occurrence.issue_id])
    return occurrence


def occurrence_restore(*, occurrence: Occurrence, user: Any) -> Occurrence:
    if occurrence.archived_at is None:
        return occurrence
    with transaction.atomic():
        occurrence.archived_at = None
        _save(occurrence, user, update_fields=["archived_at"])
        issue = occurrence.issue
        if issue.archived_at is not None:
            issue.archived_at = None
            _save(issue, user, update_fields=["archived_at"])
        issue_refresh_stats(issue_ids=[issue.pk])
        schedule_recompute([issue.pk])
        _after_commit_changed(occurrence.organization_id, [issue.pk])
    return occurrence


def occurrence_set_type(*, occurrence: Occurrence, item_type: str, user: Any) -> Occurrence:
    """Mark a raising as a problem or as an appreciation. A raising that shares its issue
    with others of the old type is split off into an issue of its own (praise is never a
    raising of a problem), with the fixes decided for it."""
    if item_type not in ItemType.values:
        raise ValidationError("An item is a problem or an appreciation.", code="item_type")
    if item_type == occurrence.item_type:
        return occurrence
    with transaction.atomic():
        shared = issue_item_type(occurrence.issue, besides=occurrence) is not None
        occurrence.item_type = item_type
        _save(occurrence, user, update_fields=["item_type"])
        if shared:
            occurrence_relink(occurrence=occurrence, issue=None, user=user)
        else:
            schedule_recompute([occurrence.issue_id])
            _after_commit_changed(occurrence.organization_id, [occurrence.issue_id])
    return occurrence


def occurrence_relink(
    *,
    occurrence: Occurrence,
    issue: Issue | None,
    user: Any,
    link_source: str = LinkSource.MANUAL,
    link_score: float | None = None,
) -> Occurrence:
    """Link an occurrence to another issue, or with `issue=None` split it off into a new
    issue titled with its text. The raising's own fixes (see `_own_fixes`) go with it; a
    split records where it came from, so that it can be undone by merging it back."""
    old_issue = occurrence.issue
    with transaction.atomic():
        if issue is None:
            others = Occurrence.objects.live().filter(issue_id=old_issue.pk)
            if not others.exclude(pk=occurrence.pk).exists():
                raise ValidationError(
                    "This is the issue's only raising: it already stands on its own. "
                    "Rename the issue instead.",
                    code="only_occurrence",
                )
            target = Issue(organization_id=occurrence.organization_id, split_from=old_issue)
            target.title = title_from_text(occurrence.text)
            target.title_team_id = occurrence.team_id
            _save(target, user)
            link_source, link_score = LinkSource.NEW, None
        else:
            if issue.organization_id != occurrence.organization_id:
                raise ValidationError("That issue belongs to another organisation.")
            target = _live_target(issue)
            if target.pk == old_issue.pk:
                raise ValidationError("The occurrence is already linked to that issue.")
            _require_same_type(occurrence.item_type, target)
        fixes = _own_fixes(occurrence, old_issue)
        occurrence.issue = target
        occurrence.link_source = link_source
        occurrence.link_score = link_score
        _save(occurrence, user, update_fields=["issue", "link_source", "link_score"])
        if fixes:
            for fix in fixes:
                fix.issue = target
            bulk_update_with_history(fixes, Fix, ["issue"], default_user=user)
        old_issue.refresh_from_db(fields=["archived_at"])
        _archive_if_empty(old_issue, user)
        ids = [old_issue.pk, target.pk]
        issue_refresh_stats(issue_ids=ids)
        schedule_recompute(ids)
        _after_commit_changed(occurrence.organization_id, ids)
    return occurrence


def _own_fixes(occurrence: Occurrence, issue: Issue) -> list[Fix]:
    """The fixes decided for this raising: the issue's fixes from the raising's retro, unless
    another live raising of the issue was logged in that retro too (then they stay)."""
    if occurrence.retro_id is None:
        return []
    shared = (
        Occurrence.objects.live()
        .filter(issue_id=issue.pk, retro_id=occurrence.retro_id)
        .exclude(pk=occurrence.pk)
        .exists()
    )
    if shared:
        return []
    return list(
        Fix.objects.select_for_update().filter(issue_id=issue.pk, retro_id=occurrence.retro_id)
    )


def _archive_if_empty(issue: Issue, user: Any) -> None:
    if issue.archived_at is not None or issue.merged_into_id is not None:
        return
    if issue.occurrences.live().exists() or issue.fixes.live().exists():
        return
    issue.archived_at = timezone.now()
    _save(issue, user, update_fields=["archived_at"])


# --- Issues ----------------------------------------------------------------------------------


def issue_rename(*, issue: Issue, title: str, user: Any) -> Issue:
    """A name a person chose for the issue: shown to everyone who may see one of its raisings
    (retros.visibility), whichever team's words it was before."""
    title = " ".join(clean_text(title, what="The title", max_length=TITLE_MAX).split())
    if title != issue.title or not issue.title_renamed:
        issue.title, issue.title_team, issue.title_renamed = title, None, True
        _save(issue, user, update_fields=["title", "title_team", "title_renamed"])
    return issue


def issue_merge(*, source: Issue, target: Issue, user: Any) -> IssueMerge:
    """Merge `source` into `target`: every occurrence and fix of `source` (archived ones too)
    moves to `target`, and the merge is recorded so that it can be undone exactly."""
    if source.pk == target.pk:
        raise ValidationError("An issue cannot be merged into itself.", code="same")
    if source.organization_id != target.organization_id:
        raise ValidationError("Issues of different organisations cannot be merged.")
    if source.merged_into_id is not None:
        raise ValidationError("This issue was already merged into another one.", code="merged")
    if target.merged_into_id is not None:
        raise ValidationError(
            "That issue was merged into another one; merge into that one instead.",
            code="target_merged",
        )
    if target.archived_at is not None:
        raise ValidationError("That issue is archived; choose another one.", code="archived")
    source_type = issue_item_type(source)
    if source_type is not None:
        _require_same_type(source_type, target)
    with transaction.atomic():
        occurrences = list(Occurrence.objects.select_for_update().filter(issue=source))
        fixes = list(Fix.objects.select_for_update().filter(issue=source))
        for occurrence in occurrences:
            occurrence.issue = target
        for fix in fixes:
            fix.issue = target
        bulk_update_with_history(occurrences, Occurrence, ["issue"], default_user=user)
        bulk_update_with_history(fixes, Fix, ["issue"], default_user=user)
        source.merged_into = target
        _save(source, user, update_fields=["merged_into"])
        merge = IssueMerge.objects.create(
            organization_id=source.organization_id,
            source=source,
            target=target,
            occurrence_ids=[o.pk for o in occurrences],
            fix_ids=[f.pk for f in fixes],
            source_title=source.title,
            merged_by=user,
        )
        ids = [source.pk, target.pk]
        issue_refresh_stats(issue_ids=ids)
        schedule_recompute(ids)
        _after_commit_changed(source.organization_id, ids)
    return merge


def issue_merge_undo(*, merge: IssueMerge, user: Any) -> IssueMerge:
    """Put back what a merge moved. Occurrences and fixes relinked elsewhere since the merge
    stay where they are."""
    if merge.undone_at is not None:
        raise ValidationError("This merge was already undone.", code="undone")
    with transaction.atomic():
        source = Issue.objects.select_for_update().get(pk=merge.source_id)
        if source.merged_into_id != merge.target_id:
            raise ValidationError(
                "The issue was changed since the merge; it can no longer be undone.",
                code="changed",
            )
        occurrences = list(
            Occurrence.objects.select_for_update().filter(
                pk__in=merge.occurrence_ids, issue_id=merge.target_id
            )
        )
        fixes = list(
            Fix.objects.select_for_update().filter(pk__in=merge.fix_ids, issue_id=merge.target_id)
        )
        for occurrence in occurrences:
            occurrence.issue = source
        for fix in fixes:
            fix.issue = source
        bulk_update_with_history(occurrences, Occurrence, ["issue"], default_user=user)
        bulk_update_with_history(fixes, Fix, ["issue"], default_user=user)
        source.merged_into = None
        _save(source, user, update_fields=["merged_into"])
        merge.undone_at = timezone.now()
        merge.undone_by = user
        merge.save(update_fields=["undone_at", "undone_by"])
        ids = [merge.source_id, merge.target_id]
        issue_refresh_stats(issue_ids=ids)
        schedule_recompute(ids)
        _after_commit_changed(merge.organization_id, ids)
    return merge


def issue_refresh_stats(*, issue_ids: Iterable[int]) -> None:
    """Recompute occurrence_count, team_count, first_seen and last_seen from the issues' live
    occurrences (three queries and one bulk update, whatever the number of issues).

    The issues are locked before counting, so two requests raising the same issue at once
    count one after the other and the second sees the first's committed occurrence."""
    ids = sorted(set(issue_ids))
    if not ids:
        return
    with transaction.atomic():
        issues = list(Issue.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        stats = {
            row["issue_id"]: row
            for row in Occurrence.objects.live()
            .filter(issue_id__in=ids)
            .order_by()
            .values("issue_id")
            .annotate(
                n=Count("id"),
                teams=Count("team_id", distinct=True),
                first=Min("held_on"),
                last=Max("held_on"),
            )
        }
        for issue in issues:
            row = stats.get(issue.pk)
            issue.occurrence_count = row["n"] if row else 0
            issue.team_count = row["teams"] if row else 0
            issue.first_seen = row["first"] if row else None
            issue.last_seen = row["last"] if row else None
        Issue.objects.bulk_update(
            issues, ["occurrence_count", "team_count", "first_seen", "last_seen"]
        )


# --- Fixes -----------------------------------------------------------------------------------


def _clean_fix_fields(*, text: str, kind: str, owner: str) -> tuple[str, str, str]:
    text = clean_text(text, what="The fix")
    if kind not in FIX_KINDS:
        raise ValidationError("Choose the kind of fix.", code="kind")
    owner = (owner or "").strip()
    if len(owner) > OWNER_MAX:
        raise ValidationError(f"The owner is limited to {OWNER_MAX} characters.")
    return text, kind, owner


def fix_record(
    *,
    issue: Issue,
    text: str,
    kind: str,
    user: Any,
    decided_on: dt.date,
    retro: Retrospective | None = None,
    team: Team | None = None,
    owner: str = "",
    due_on: dt.date | None = None,
    kind_inferred: bool = False,
    status: str = FixStatus.OPEN,
    completed_on: dt.date | None = None,
    import_key: str = "",
    schedule: bool = True,
) -> Fix:
    """The one place a fix is written, with one validation per field: from a retro
    (fix_apply), by a leader (diagnosis.actions), by an import (which schedules the recompute
    of all it touched itself: `schedule=False`)."""
    text, kind, owner = _clean_fix_fields(text=text, kind=kind, owner=owner)
    if retro is not None:
        team = retro.team
    for other in (retro, team):
        if other is not None and other.organization_id != issue.organization_id:
            raise ValidationError("That issue belongs to another organisation.")
    if status not in FixStatus.values:
        raise ValidationError("Choose open, done or dropped.", code="status")
    for value, what in (
        (decided_on, "The decision date"),
        (due_on, "The due date"),
        (completed_on, "The completion date"),
    ):
        check_date(value, what=what)
    # All checks are made above; inside, a failure fails the caller's transaction too, so no
    # savepoint is needed (an import records thousands of fixes in one transaction).
    with transaction.atomic(savepoint=False):
        fix = Fix(
            organization_id=issue.organization_id,
            issue=issue,
            retro=retro,
            team=team,
            decided_on=decided_on,
            text=text,
            kind=kind,
            kind_inferred=kind_inferred,
            owner=owner,
            due_on=due_on,
            status=status,
            completed_on=completed_on,
            import_key=import_key,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        _save(fix, user)
        if schedule:
            schedule_recompute([issue.pk])
    return fix


def fix_apply(
    *,
    issue: Issue,
    retro: Retrospective,
    text: str,
    kind: str,
    user: Any,
    owner: str = "",
    due_on: dt.date | None = None,
    kind_inferred: bool = False,
) -> Fix:
    """Record what a retro decided to do about an issue (due no earlier than the retro)."""
    if due_on is not None and due_on < retro.held_on:
        raise ValidationError("The due date is before the retro.", code="due_on")
    return fix_record(
        issue=issue,
        retro=retro,
        decided_on=retro.held_on,
        text=text,
        kind=kind,
        user=user,
        owner=owner,
        due_on=due_on,
        kind_inferred=kind_inferred,
    )


def fix_update(
    *,
    fix: Fix,
    text: str,
    kind: str,
    user: Any,
    owner: str = "",
    due_on: dt.date | None = None,
    kind_inferred: bool | None = None,
    version: str | None = None,
) -> Fix:
    """Change what a fix says. Never saves into an archived fix (EditConflict); with `version`
    (fix_version of what the form showed), a fix changed since is an EditConflict too, and
    `fix` then holds what is saved now."""
    text, kind, owner = _clean_fix_fields(text=text, kind=kind, owner=owner)
    check_date(due_on, what="The due date")
    if due_on is not None and due_on < fix.decided_on:
        raise ValidationError("The due date is before the fix was decided.", code="due_on")
    with transaction.atomic():
        current = Fix.objects.select_for_update().get(pk=fix.pk)
        for name in ("text", "kind", "owner", "due_on", "kind_inferred", "archived_at"):
            setattr(fix, name, getattr(current, name))
        if fix.archived_at is not None:
            raise EditConflict(
                "This fix was archived while you were editing it; your changes are not saved.",
                archived=True,
            )
        wanted = (text, kind, owner, due_on)
        if version is not None and version != fix_version(fix) and wanted != fix_values(fix):
            raise EditConflict(
                "This fix was changed elsewhere while you were editing it; your changes are "
                "not saved.",
                archived=False,
            )
        if kind_inferred is None:
            kind_inferred = fix.kind_inferred and kind == fix.kind
        if text != fix.text:  # its words count for its issue in the matcher
            _after_commit_changed(fix.organization_id, [fix.issue_id])
        fix.text, fix.kind, fix.owner, fix.due_on = text, kind, owner, due_on
        fix.kind_inferred = kind_inferred
        _save(fix, user, update_fields=["text", "kind", "owner", "due_on", "kind_inferred"])
        schedule_recompute([fix.issue_id])
    return fix


def fix_mark_outcome(*, fix: Fix, outcome: str, user: Any) -> Fix:
    """Whether the fix held: worked, did not work, too early to tell ("" clears it)."""
    if outcome not in ("", *FixOutcome.values):
        raise ValidationError("Choose worked, did not work or too early.", code="outcome")
    if outcome != fix.outcome:
        with transaction.atomic():
            fix.outcome = outcome
            _save(fix, user, update_fields=["outcome"])
            schedule_recompute([fix.issue_id])
    return fix


def fix_set_status(*, fix: Fix, status: str, user: Any, on: dt.date | None = None) -> Fix:
    """Done or dropped (completed on `on`, default today), or open again."""
    if status not in FixStatus.values:
        raise ValidationError("Choose open, done or dropped.", code="status")
    if status == fix.status:
        return fix
    check_date(on, what="The completion date")
    fix.status = status
    fix.completed_on = None if status == FixStatus.OPEN else (on or timezone.localdate())
    with transaction.atomic():
        _save(fix, user, update_fields=["status", "completed_on"])
        schedule_recompute([fix.issue_id])
    return fix
