"""The Django admin for organisation admins: organisations, teams, people and roles.

An organisation admin (role `admin`, staff flag set) sees and changes only their own
organisation; superusers see all. Issues, occurrences and fixes show their change history
read-only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseNotAllowed, QueryDict
from simple_history.admin import SimpleHistoryAdmin

from retros.models import (
    Fix,
    Issue,
    Membership,
    Occurrence,
    Organization,
    Retrospective,
    Role,
    Team,
)
from vocabulary.fixkinds import FIX_KINDS
from vocabulary.rules import DEFAULT_RULES

User = get_user_model()


def admin_organization(request: HttpRequest) -> Organization | None:
    """The organisation an organisation admin manages; None for superusers (all)."""
    if request.user.is_superuser:
        return None
    membership = getattr(request.user, "membership", None)
    if membership is None or membership.role != Role.ADMIN:
        return None
    return membership.organization


def is_org_admin(request: HttpRequest) -> bool:
    user = request.user
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    membership = getattr(user, "membership", None)
    return membership is not None and membership.role == Role.ADMIN


def organization_id_of(obj: Any) -> int | None:
    """The organisation an admin object belongs to (a person: through their membership)."""
    if isinstance(obj, Organization):
        return obj.pk
    if isinstance(obj, User):
        membership = Membership.objects.filter(user=obj).only("organization_id").first()
        return membership.organization_id if membership else None
    return getattr(obj, "organization_id", None)


def in_admin_scope(request: HttpRequest, obj: Any) -> bool:
    """Whether the admin may see `obj` at all: superusers everything, an organisation admin
    their own organisation's rows only. `obj=None` asks about the model as a whole."""
    if obj is None or request.user.is_superuser:
        return True
    org = admin_organization(request)
    return org is not None and organization_id_of(obj) == org.pk


class OrgScopedPermissions:
    """Admin permissions by role instead of per-model permission rows, and never for another
    organisation's object, whichever view asks (change, history, version, delete)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_org_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_org_admin(request) and in_admin_scope(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_org_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_org_admin(request) and in_admin_scope(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Nothing a person entered is hard-deleted; superusers may still clean up.
        return request.user.is_superuser


def _is_small_int(value: str, limit: int) -> bool:
    return value.isdecimal() and 0 < int(value) <= limit


# Date-hierarchy parameters and the largest value each may take.
_DATE_PARTS = {"__year": 9999, "__month": 12, "__day": 31}


def cleaned_changelist_query(query: QueryDict) -> QueryDict | None:
    """The changelist's query without what the database cannot take (NUL characters) and
    without date-hierarchy parts out of range; None when nothing needed cleaning."""
    cleaned = QueryDict(mutable=True)
    changed = False
    for key, values in query.lists():
        kept = []
        for value in values:
            if "\x00" in value or "\x00" in key:
                value = value.replace("\x00", "")
                changed = True
            suffix = next((s for s in _DATE_PARTS if key.endswith(s)), None)
            if suffix and not _is_small_int(value, _DATE_PARTS[suffix]):
                changed = True
                continue
            kept.append(value)
        if kept:
            cleaned.setlist(key.replace("\x00", ""), kept)
    return cleaned if changed else None


class OrgScopedAdmin(OrgScopedPermissions, admin.ModelAdmin):
    """Rows of the admin's own organisation only; foreign keys offer only that organisation's
    rows; new rows join the admin's organisation."""

    org_field = "organization"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        org = admin_organization(request)
        return qs if org is None else qs.filter(**{self.org_field: org})

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])
        if admin_organization(request) is not None and self.org_field == "organization":
            exclude.append("organization")
        return exclude

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        org = admin_organization(request)
        model = db_field.related_model
        if org is not None:
            if model is Organization:
                kwargs["queryset"] = Organization.objects.filter(pk=org.pk)
            elif hasattr(model, "organization"):
                kwargs["queryset"] = model._default_manager.filter(organization=org)
            elif model is User:
                kwargs["queryset"] = User.objects.filter(membership__organization=org)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        org = admin_organization(request)
        if org is not None and hasattr(db_field.related_model, "organization"):
            kwargs["queryset"] = db_field.related_model._default_manager.filter(organization=org)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        org = admin_organization(request)
        if org is not None and self.org_field == "organization" and not change:
            obj.organization = org
        super().save_model(request, obj, form, change)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        cleaned = cleaned_changelist_query(request.GET)
        if cleaned is not None:
            cleaned._mutable = False
            request.GET = cleaned  # type: ignore[assignment]
        return super().changelist_view(request, extra_context)


class ScopedHistoryMixin:
    """Change history is shown for the admin's own organisation's objects only, and never
    rewritten from the admin: a version page is read-only and refuses every POST.

    django-simple-history looks the object (or its last historical version) up without the
    admin's queryset, so both views first require the object in `get_queryset(request)`.
    """

    def _object_in_scope_or_404(self, request: HttpRequest, object_id: str) -> None:
        queryset = self.get_queryset(request)  # type: ignore[attr-defined]
        try:
            found = queryset.filter(pk=unquote(object_id)).exists()
        except (ValueError, TypeError, ValidationError):
            found = False
        if not found:
            raise Http404("No such object.")

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> Any:
        self._object_in_scope_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)  # type: ignore[misc]

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict | None = None,
    ) -> Any:
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        self._object_in_scope_or_404(request, object_id)
        extra_context = {**(extra_context or {}), "revert_disabled": True}
        return super().history_form_view(  # type: ignore[misc]
            request, object_id, version_id, extra_context
        )

    def has_change_history_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrganizationForm(forms.ModelForm):
    def clean_rules_overrides(self) -> Any:
        overrides = self.cleaned_data.get("rules_overrides") or {}
        try:
            DEFAULT_RULES.with_overrides(overrides)
        except (ValueError, TypeError) as error:
            raise ValidationError(str(error)) from error
        return overrides


@admin.register(Organization)
class OrganizationAdmin(OrgScopedAdmin):
    form = OrganizationForm
    org_field = "pk"
    list_display = ["name", "team_count", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = admin.ModelAdmin.get_queryset(self, request)
        org = admin_organization(request)
        return qs if org is None else qs.filter(pk=org.pk)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.is_superuser

    @admin.display(description="Teams")
    def team_count(self, obj: Organization) -> int:
        return obj.teams.count()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        admin.ModelAdmin.save_model(self, request, obj, form, change)


class TeamMembershipInline(admin.TabularInline):
    model = Membership.teams.through
    extra = 1
    verbose_name = "member"
    verbose_name_plural = "members"
    autocomplete_fields = ["membership"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_org_admin(request)

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission  # type: ignore[assignment]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        org = admin_organization(request)
        if org is not None and db_field.name == "membership":
            kwargs["queryset"] = Membership.objects.filter(organization=org)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Team)
class TeamAdmin(OrgScopedAdmin):
    list_display = ["name", "organization", "archived_at"]
    list_filter = [("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name"]
    inlines = [TeamMembershipInline]
    readonly_fields = ["created_at", "import_key"]


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdmin):
    list_display = ["user", "role", "organization", "team_list", "digest_enabled"]
    list_filter = ["role", "digest_enabled"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    filter_horizontal = ["teams"]
    list_select_related = ["user", "organization"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("teams")

    @admin.display(description="Teams")
    def team_list(self, obj: Membership) -> str:
        return ", ".join(team.name for team in obj.teams.all()) or "—"


class MembershipInline(admin.StackedInline):
    model = Membership
    can_delete = False
    filter_horizontal = ["teams"]
    fields = ["organization", "role", "teams", "digest_enabled"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if admin_organization(request) is not None:
            return ["role", "teams", "digest_enabled"]
        return self.fields

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        org = admin_organization(request)
        if org is not None:
            kwargs["queryset"] = Team.objects.filter(organization=org)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_org_admin(request)

    has_add_permission = has_change_permission = has_view_permission  # type: ignore[assignment]


admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(OrgScopedPermissions, UserAdmin):
    """People and their roles. Organisation admins see only their organisation's people and
    cannot grant superuser rights."""

    inlines = [MembershipInline]
    list_display = ["username", "first_name", "last_name", "email", "role", "is_active"]
    list_filter = ["membership__role", "is_active"]
    list_select_related = ["membership"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        org = admin_organization(request)
        return qs if org is None else qs.filter(membership__organization=org)

    @admin.display(description="Role", ordering="membership__role")
    def role(self, obj: Any) -> str:
        membership = getattr(obj, "membership", None)
        return membership.get_role_display() if membership else "—"

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser or obj is None:
            return fieldsets
        return [
            (None, {"fields": ("username", "password")}),
            ("Personal info", {"fields": ("first_name", "last_name", "email")}),
            ("Access", {"fields": ("is_active", "is_staff")}),
        ]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        org = admin_organization(request)
        if org is not None and formset.model is Membership:
            for inline_form in formset.forms:
                if inline_form.has_changed() or not change:
                    inline_form.instance.organization = org
        super().save_formset(request, form, formset, change)


@admin.register(Retrospective)
class RetrospectiveAdmin(OrgScopedAdmin):
    list_display = ["__str__", "team", "held_on", "status", "facilitator"]
    list_filter = ["status", "format", ("team", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "team__name"]
    date_hierarchy = "held_on"
    list_select_related = ["team", "facilitator"]
    readonly_fields = ["import_key", "created_at", "closed_at"]


@admin.register(Issue)
class IssueAdmin(ScopedHistoryMixin, OrgScopedAdmin, SimpleHistoryAdmin):
    list_display = [
        "title",
        "occurrence_count",
        "team_count",
        "first_seen",
        "last_seen",
        "archived_at",
    ]
    list_filter = [("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["title"]
    readonly_fields = [
        "occurrence_count",
        "team_count",
        "first_seen",
        "last_seen",
        "created_at",
        "merged_into",
        "title_team",
        "title_renamed",
    ]


@admin.register(Occurrence)
class OccurrenceAdmin(ScopedHistoryMixin, OrgScopedAdmin, SimpleHistoryAdmin):
    list_display = ["text", "team", "held_on", "votes", "link_source", "archived_at"]
    list_filter = ["link_source", ("team", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["text", "import_key"]
    date_hierarchy = "held_on"
    list_select_related = ["team"]
    # Autocomplete reads through IssueAdmin's and RetrospectiveAdmin's scoped querysets; a
    # raw-id widget would label any organisation's id given in the URL.
    autocomplete_fields = ["issue", "retro"]
    readonly_fields = [
        "import_key",
        "link_source",
        "link_score",
        "embedding_model",
        "created_at",
        "created_by",
    ]


class FixKindFilter(admin.SimpleListFilter):
    title = "nature"
    parameter_name = "nature"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("band_aid", "Band-aid"), ("structural", "Structural")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            kinds = [slug for slug, kind in FIX_KINDS.items() if kind.nature == self.value()]
            return queryset.filter(kind__in=kinds)
        return queryset


@admin.register(Fix)
class FixAdmin(ScopedHistoryMixin, OrgScopedAdmin, SimpleHistoryAdmin):
    list_display = [
        "text",
        "kind",
        "nature",
        "kind_inferred",
        "status",
        "outcome",
        "team",
        "decided_on",
    ]
    list_filter = [FixKindFilter, "kind", "status", "outcome", "kind_inferred"]
    search_fields = ["text", "owner", "import_key"]
    date_hierarchy = "decided_on"
    list_select_related = ["team"]
    # Autocomplete reads through IssueAdmin's and RetrospectiveAdmin's scoped querysets; a
    # raw-id widget would label any organisation's id given in the URL.
    autocomplete_fields = ["issue", "retro"]
    readonly_fields = ["import_key", "created_at", "created_by"]

    @admin.display(description="Nature")
    def nature(self, obj: Fix) -> str:
        kind = FIX_KINDS[obj.kind]
        if kind.nature == "band_aid":
            return "Band-aid"
        return "Structural for " + ", ".join(sorted(kind.structural_for))
