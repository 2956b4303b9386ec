"""The one place where a person's organisation and role scope what they may read and change.

Every view resolves objects through these functions. An object of another organisation is
never found (404, never data); an object of the person's own organisation that their role
does not open is refused (403).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import ForeignKey, ManyToManyField, Model
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
from retros.sql import JoinedRow

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


def _membership_rows() -> JoinedRow[Membership]:
    teams = Membership._meta.get_field("teams")
    assert isinstance(teams, ManyToManyField)
    through = teams.remote_field.through
    assert through is not None
    return JoinedRow(
        Membership,
        ("organization",),
        also=(
            f'mt."{teams.m2m_reverse_name()}"',
            f'LEFT OUTER JOIN "{through._meta.db_table}" mt'
            f' ON mt."{teams.m2m_column_name()}" = t0."id"',
        ),
    )


_MEMBERSHIP = _membership_rows()


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
    rows = _MEMBERSHIP.rows('t0."user_id" = %s', [user.pk])
    if not rows:
        raise Http404("You do not belong to an organisation yet.")
    membership = _MEMBERSHIP.build(rows[0])
    team_ids = frozenset(row[-1] for row in rows if row[-1] is not None)
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


# A row id the database can hold (a URL's digits can name more).
_ID_RANGE = range(-(2**63), 2**63)


def _of_organization[M: Model](access: Access, rows: JoinedRow[M], pk: int) -> M:
    """The object `pk` among `rows` of the person's organisation; 404 otherwise, so that
    another organisation's objects look like ones that do not exist."""
    found = None
    if pk in _ID_RANGE:
        found = rows.one(_organization_and_key(rows.model), [access.organization.pk, pk])
    if found is None:
        raise Http404
    return found


@functools.cache
def _organization_and_key(model: type[Model]) -> str:
    """The condition on a model's organisation and key, as JoinedRow reads its rows."""
    organization = model._meta.get_field("organization")
    assert isinstance(organization, ForeignKey)
    return f't0."{organization.column}" = %s AND t0."{model._meta.pk.column}" = %s'


_TEAM = JoinedRow(Team)
_RETRO = JoinedRow(Retrospective, ("team", "facilitator"))
_ISSUE = JoinedRow(Issue)
_OCCURRENCE = JoinedRow(Occurrence, ("retro", "issue"))
_FIX = JoinedRow(Fix, ("issue", "team"))
_MERGE = JoinedRow(IssueMerge, ("source", "target"))
_IMPORT_JOB = JoinedRow(ImportJob)


def team_for(access: Access, team_id: int, *, write: bool = False) -> Team:
    team = _of_organization(access, _TEAM, team_id)
    _check_team(access, team.pk, write=write)
    return team


def retro_for(access: Access, retro_id: int, *, write: bool = False) -> Retrospective:
    retro = _of_organization(access, _RETRO, retro_id)
    _check_team(access, retro.team_id, write=write)
    retro.organization = access.organization  # the one it was filtered by: no query for it
    return retro


def issue_for(access: Access, issue_id: int, *, write: bool = False) -> Issue:
    issue = _of_organization(access, _ISSUE, issue_id)
    _check_issue_change(access, write=write)
    return issue


def occurrence_for(access: Access, occurrence_id: int, *, write: bool = False) -> Occurrence:
    occurrence = _of_organization(access, _OCCURRENCE, occurrence_id)
    _check_team(access, occurrence.team_id, write=write)
    return occurrence


def fix_for(access: Access, fix_id: int, *, write: bool = False) -> Fix:
    fix = _of_organization(access, _FIX, fix_id)
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
    merge = _of_organization(access, _MERGE, merge_id)
    _check_issue_change(access, write=write)
    return merge


def import_job_for(access: Access, job_id: int) -> ImportJob:
    """An import job of the person's organisation (bound by id when the job was created,
    whatever the document names); leaders and admins only."""
    if not access.is_leader:
        raise PermissionDenied("Only leaders and admins can import history.")
    return _of_organization(access, _IMPORT_JOB, job_id)
