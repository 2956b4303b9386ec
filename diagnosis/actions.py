"""Writes for leaders' actions on a finding.

The leader's view lives in Assessment, beside the engine's: a recompute reads it as an
Override and never writes it. Every action is recorded in LeaderAction (who, what, when).
Actions that change what the engine reads schedule a recompute of the issue once the
transaction commits, and every action makes the organisation's cached dashboard aggregates
stale (diagnosis.dashboard.dashboard_invalidate).
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from diagnosis.dashboard import dashboard_invalidate
from diagnosis.models import Assessment, Hypothesis, LeaderAction
from diagnosis.tasks import schedule_recompute
from retros import services
from retros.models import Fix, Issue, Membership, Organization, Team
from vocabulary.fixkinds import CATEGORIES, FIX_KINDS

Kind = LeaderAction.Kind


def _assessment(issue: Issue) -> Assessment:
    """The issue's assessment, locked for this transaction (created when missing)."""
    assessment, _ = Assessment.objects.select_for_update().get_or_create(
        issue=issue, defaults={"organization_id": issue.organization_id}
    )
    return assessment


def _record(issue: Issue, actor: AbstractBaseUser | None, kind: str, detail: str = "") -> None:
    LeaderAction.objects.create(
        organization_id=issue.organization_id,
        issue=issue,
        kind=kind,
        detail=detail[:2000],
        actor_id=actor.pk if actor is not None else None,
    )


def _after_commit(issue: Issue, *, recompute: bool) -> None:
    if recompute:
        schedule_recompute([issue.pk])
    organization_id = issue.organization_id
    transaction.on_commit(lambda: dashboard_invalidate(organization_id))


def _check_category(category: str) -> None:
    if category not in CATEGORIES:
        raise ValidationError(
            f"Unknown category {category!r}; use one of: {', '.join(CATEGORIES)}.",
            code="category",
        )


def _assessment_update(
    issue: Issue,
    actor: AbstractBaseUser,
    kind: str,
    detail: str = "",
    *,
    recompute: bool,
    **values: object,
) -> Assessment:
    """Set `values` on the issue's assessment and record the leader's action, in one
    transaction."""
    with transaction.atomic():
        assessment = _assessment(issue)
        for name, value in values.items():
            setattr(assessment, name, value)
        assessment.updated_at = timezone.now()
        assessment.save(update_fields=[*values, "updated_at"])
        _record(issue, actor, kind, detail)
        _after_commit(issue, recompute=recompute)
    return assessment


def finding_acknowledge(*, issue: Issue, actor: AbstractBaseUser) -> Assessment:
    """The leader has seen the finding."""
    return _assessment_update(
        issue,
        actor,
        Kind.ACKNOWLEDGE,
        recompute=False,
        acknowledged_at=timezone.now(),
        acknowledged_by_id=actor.pk,
    )


def assessment_override_category(
    *, issue: Issue, actor: AbstractBaseUser, category: str, note: str = ""
) -> Assessment:
    """Set the leader's category (kept beside the engine's), or clear it with "" to follow
    the engine again."""
    if category:
        _check_category(category)
    detail = (
        f"Set the category to {CATEGORIES[category]}" if category else "Back to the engine's view"
    )
    if note.strip():
        detail += f": {note.strip()}"
    return _assessment_update(
        issue,
        actor,
        Kind.OVERRIDE,
        detail,
        recompute=True,
        category_override=category,
        category_confirmed=False,
    )


def assessment_confirm_category(
    *, issue: Issue, actor: AbstractBaseUser, category: str
) -> Assessment:
    """The leader agrees with `category` (the engine's current view): it is pinned as the
    leader's, so a later change of the engine's mind shows beside it rather than replacing it."""
    _check_category(category)
    return _assessment_update(
        issue,
        actor,
        Kind.CONFIRM,
        CATEGORIES[category],
        recompute=True,
        category_override=category,
        category_confirmed=True,
    )


def flag_dismiss(*, issue: Issue, actor: AbstractBaseUser, note: str) -> Assessment:
    """Dismiss the band-aid loop flag, with a note saying why (required)."""
    note = note.strip()
    if not note:
        raise ValidationError("Say why the flag is dismissed.", code="note")
    return _assessment_update(
        issue,
        actor,
        Kind.DISMISS,
        note,
        recompute=True,
        flag_dismissed=True,
        dismiss_note=note[:2000],
    )


def flag_restore(*, issue: Issue, actor: AbstractBaseUser) -> Assessment:
    return _assessment_update(
        issue, actor, Kind.RESTORE, recompute=True, flag_dismissed=False, dismiss_note=""
    )


def assessment_assign_owner(
    *, issue: Issue, actor: AbstractBaseUser, owner: AbstractBaseUser | None
) -> Assessment:
    """Name the person who owns the root-cause work (someone of the issue's organisation), or
    nobody with None."""
    if owner is not None:
        belongs = Membership.objects.filter(
            user_id=owner.pk, organization_id=issue.organization_id
        ).exists()
        if not belongs:
            raise ValidationError("The owner must belong to the organisation.", code="owner")
    name = _person(owner) if owner is not None else "nobody"
    return _assessment_update(
        issue,
        actor,
        Kind.ASSIGN,
        f"Owner: {name}",
        recompute=False,
        owner_id=owner.pk if owner is not None else None,
    )


def _person(user: AbstractBaseUser) -> str:
    full_name = getattr(user, "get_full_name", lambda: "")()
    return full_name or user.get_username()


def fix_record_structural(
    *,
    issue: Issue,
    actor: AbstractBaseUser,
    text: str,
    kind: str,
    team: Team | None = None,
    owner: str = "",
    due_on: date | None = None,
) -> Fix:
    """Record a structural fix decided by a leader (open until it is done)."""
    if kind not in FIX_KINDS or FIX_KINDS[kind].nature != "structural":
        raise ValidationError(f"{kind!r} is not a structural fix kind.", code="kind")
    with transaction.atomic():
        fix = services.fix_record(
            issue=issue,
            team=team,
            decided_on=timezone.localdate(),
            text=text,
            kind=kind,
            owner=owner,
            due_on=due_on,
            user=actor,
            schedule=False,  # _after_commit below recomputes
        )
        _record(issue, actor, Kind.FIX, f"{FIX_KINDS[kind].label}: {fix.text}")
        _after_commit(issue, recompute=True)
    return fix


def hypothesis_create(
    *,
    organization: Organization,
    actor: AbstractBaseUser,
    title: str,
    description: str = "",
    category: str = "",
) -> Hypothesis:
    """A new root-cause hypothesis; titles are unique within the organisation."""
    title = title.strip()
    if not title:
        raise ValidationError("Give the hypothesis a title.", code="title")
    if category:
        _check_category(category)
    try:
        with transaction.atomic():
            hypothesis = Hypothesis.objects.create(
                organization=organization,
                title=title[:200],
                description=description.strip()[:4000],
                category=category,
                created_by_id=actor.pk,
            )
    except IntegrityError:
        raise ValidationError(
            "A hypothesis with this title already exists.", code="duplicate"
        ) from None
    return hypothesis


def _hypothesis_membership(
    hypothesis: Hypothesis, issue: Issue, actor: AbstractBaseUser, *, grouped: bool
) -> Hypothesis:
    """Put the issue under the hypothesis (or take it out); recorded only when it changes."""
    if hypothesis.organization_id != issue.organization_id:
        raise ValidationError("The issue belongs to another organisation.", code="organization")
    with transaction.atomic():
        if hypothesis.issues.filter(pk=issue.pk).exists() != grouped:
            if grouped:
                hypothesis.issues.add(issue)
            else:
                hypothesis.issues.remove(issue)
            _record(issue, actor, Kind.GROUP if grouped else Kind.UNGROUP, hypothesis.title)
            _after_commit(issue, recompute=False)
    return hypothesis


def hypothesis_add_issue(
    *, hypothesis: Hypothesis, issue: Issue, actor: AbstractBaseUser
) -> Hypothesis:
    return _hypothesis_membership(hypothesis, issue, actor, grouped=True)


def hypothesis_remove_issue(
    *, hypothesis: Hypothesis, issue: Issue, actor: AbstractBaseUser
) -> Hypothesis:
    return _hypothesis_membership(hypothesis, issue, actor, grouped=False)


def digest_set_enabled(*, user: AbstractBaseUser, enabled: bool) -> bool:
    """Switch the weekly digest e-mail on or off for this person."""
    Membership.objects.filter(user_id=user.pk).update(digest_enabled=enabled)
    return enabled
