"""The one place where a person's organisation and role scope what they may read and change.

Every view resolves objects through these functions. An object of another organisation is
never found (404, never data); an object of the person's own organisation that their role
does not open is refused (403).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import F, Model, QuerySet
from django.http import Http404, HttpRequest

from retros.models import (
    ArchivableQuerySet,
    Fix,
    ImportJob,
    Issue,
    IssueMerge,
    Membership,
    Occurrence,
    Organization,
    Retrospective,
    Role,
    Team,
)

ORG_WIDE_ROLES = frozenset({Role.ADMIN, Role.LEADER})


@dataclass(frozen=True)
class Access:
    """What the signed-in person may see: their organisation, role and teams."""

    user_id: int
    organization: Organization
    role: str
    team_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_leader(self) -> bool:
        return self.role in ORG_WIDE_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def sees_team(self, team_id: int) -> bool:
        return self.is_leader or team_id in self.team_ids

    def facilitates_team(self, team_id: int) -> bool:
        """Leaders and admins may run any team's retro; facilitators only their own teams'."""
        if self.is_leader:
            return True
        return self.role == Role.FACILITATOR and team_id in self.team_ids

    @property
    def can_facilitate(self) -> bool:
        return self.is_leader or (self.role == Role.FACILITATOR and bool(self.team_ids))


def access_for(request: HttpRequest) -> Access:
    """The request's Access, computed once per request. 404 for people without a membership:
    an account that belongs to no organisation sees nothing."""
    cached = getattr(request, "_recur_access", None)
    if cached is not None:
        return cached
    user = request.user
    if not user.is_authenticated:
        raise Http404
    # The membership with its organisation, one row per team (one query on every page).
    rows = list(
        Membership.objects.select_related("organization")
        .filter(user_id=user.pk)
        .annotate(team=F("teams__id"))
    )
    if not rows:
        raise Http404("You do not belong to an organisation yet.")
    membership = rows[0]
    team_ids = frozenset(row.team for row in rows if row.team is not None)
    access = Access(
        user_id=user.pk,
        organization=membership.organization,
        role=membership.role,
        team_ids=team_ids,
    )
    request._recur_access = access  # type: ignore[attr-defined]
    return access


def belongs_to_organization(user: Any) -> bool:
    """Whether a signed-in account has a membership (first run: a superuser may not)."""
    return user.is_authenticated and Membership.objects.filter(user_id=user.pk).exists()


def require_leader(access: Access) -> None:
    if not access.is_leader:
        raise PermissionDenied("Only leaders and admins can open the dashboard.")


# Scoped querysets -------------------------------------------------------------------------


def teams_visible(access: Access) -> ArchivableQuerySet[Team]:
    qs = Team.objects.filter(organization=access.organization).live()
    if not access.is_leader:
        qs = qs.filter(id__in=access.team_ids)
    return qs


def issues_visible(access: Access) -> ArchivableQuerySet[Issue]:
    """Issues are organisation-wide (one problem may span teams): everyone in the
    organisation may read them."""
    return Issue.objects.filter(organization=access.organization)


# Single objects: 404 across organisations, 403 inside it ---------------------------------


def _of_organization[M: Model](access: Access, objects: QuerySet[M], pk: int) -> M:
    """The object `pk` among `objects` of the person's organisation; 404 otherwise, so that
    another organisation's objects look like ones that do not exist."""
    found = objects.filter(organization=access.organization, pk=pk).first()
    if found is None:
        raise Http404
    return found


def team_for(access: Access, team_id: int, *, write: bool = False) -> Team:
    team = _of_organization(access, Team.objects.all(), team_id)
    _check_team(access, team.pk, write=write)
    return team


def retro_for(access: Access, retro_id: int, *, write: bool = False) -> Retrospective:
    retro = _of_organization(
        access, Retrospective.objects.select_related("team", "facilitator"), retro_id
    )
    _check_team(access, retro.team_id, write=write)
    retro.organization = access.organization  # the one it was filtered by: no query for it
    return retro


def issue_for(access: Access, issue_id: int, *, write: bool = False) -> Issue:
    issue = _of_organization(access, Issue.objects.all(), issue_id)
    _check_issue_change(access, write=write)
    return issue


def occurrence_for(access: Access, occurrence_id: int, *, write: bool = False) -> Occurrence:
    occurrence = _of_organization(
        access, Occurrence.objects.select_related("retro", "issue"), occurrence_id
    )
    _check_team(access, occurrence.team_id, write=write)
    return occurrence


def fix_for(access: Access, fix_id: int, *, write: bool = False) -> Fix:
    fix = _of_organization(access, Fix.objects.select_related("issue", "team"), fix_id)
    if fix.team_id is not None:
        _check_team(access, fix.team_id, write=write)
    elif write and not access.is_leader:
        raise PermissionDenied
    return fix


def _check_team(access: Access, team_id: int, *, write: bool) -> None:
    if write:
        if not access.facilitates_team(team_id):
            raise PermissionDenied("You can read this team's retros but not change them.")
    elif not access.sees_team(team_id):
        raise PermissionDenied("You are not a member of this team.")


def _check_issue_change(access: Access, *, write: bool) -> None:
    if write and not access.can_facilitate:
        raise PermissionDenied("Only facilitators and leaders can change issues.")


def merge_for(access: Access, merge_id: int, *, write: bool = False) -> IssueMerge:
    """A merge of two issues of the person's organisation; undoing it is a change to issues."""
    merge = _of_organization(
        access, IssueMerge.objects.select_related("source", "target"), merge_id
    )
    _check_issue_change(access, write=write)
    return merge


def import_job_for(access: Access, job_id: int) -> ImportJob:
    """An import job of the person's organisation (bound by id when the job was created,
    whatever the document names); leaders and admins only."""
    if not access.is_leader:
        raise PermissionDenied("Only leaders and admins can import history.")
    return _of_organization(access, ImportJob.objects.all(), job_id)
