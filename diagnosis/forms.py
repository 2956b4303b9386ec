"""Forms of the leader pages: the dashboard's filters and the actions on a finding."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from diagnosis.dashboard import DEFAULT_PERIOD, PERIODS, Filters
from diagnosis.models import Hypothesis
from retros.forms import QueryFilterForm
from retros.models import Organization, Team
from retros.validators import validate_sane_date
from vocabulary.fixkinds import CATEGORIES, FIX_KINDS

CATEGORY_CHOICES = list(CATEGORIES.items())
STRUCTURAL_KIND_CHOICES = [
    (slug, f"{kind.label} (for {' and '.join(sorted(kind.structural_for))})")
    for slug, kind in FIX_KINDS.items()
    if kind.nature == "structural"
]


class DashboardFilterForm(QueryFilterForm):
    """Period, team and category, read from the query string."""

    period = forms.ChoiceField(
        choices=[(k, label) for k, (label, _) in PERIODS.items()], required=False
    )
    category = forms.ChoiceField(
        choices=[("", "All categories"), *CATEGORY_CHOICES], required=False
    )
    field_order = ["period", "team", "category"]

    def filters(self) -> Filters:
        return Filters(
            period=self.value_or_blank("period") or DEFAULT_PERIOD,
            team_id=self.team_id(),
            category=self.value_or_blank("category") or "",
        )


class PeriodForm(forms.Form):
    period = forms.ChoiceField(
        choices=[(k, label) for k, (label, _) in PERIODS.items()], required=False
    )

    def period_value(self) -> str:
        raw = self.data.get("period", "") if hasattr(self.data, "get") else ""
        try:
            return self.fields["period"].clean(raw) or DEFAULT_PERIOD
        except forms.ValidationError:
            return DEFAULT_PERIOD


class OverrideCategoryForm(forms.Form):
    category = forms.ChoiceField(
        choices=[("", "Follow the engine's view"), *CATEGORY_CHOICES],
        required=False,
        label="Category",
    )
    note = forms.CharField(
        max_length=2000, required=False, label="Why (optional)", widget=forms.TextInput
    )


class ConfirmCategoryForm(forms.Form):
    category = forms.ChoiceField(choices=CATEGORY_CHOICES)


class DismissFlagForm(forms.Form):
    note = forms.CharField(
        max_length=2000,
        label="Why dismiss the flag?",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why the flag is dismissed."},
    )


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()


class AssignOwnerForm(forms.Form):
    owner = PersonChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label="Nobody",
        label="Owner of the root-cause work",
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["owner"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = people_of(organization)


def people_of(organization: Organization) -> QuerySet:
    return (
        get_user_model()
        .objects.filter(membership__organization=organization, is_active=True)
        .order_by("first_name", "last_name", "username")
    )


class StructuralFixForm(forms.Form):
    text = forms.CharField(max_length=2000, label="What will change", widget=forms.TextInput)
    kind = forms.ChoiceField(choices=STRUCTURAL_KIND_CHOICES, label="Kind of fix")
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="Organisation-wide"
    )
    owner = forms.CharField(max_length=100, required=False, label="Owner")
    due_on = forms.DateField(
        required=False,
        label="Due",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_sane_date],
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["team"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Team.objects.filter(organization=organization).live().order_by("name")


class GroupForm(forms.Form):
    """Group the issue under an existing hypothesis, or a new one named here."""

    hypothesis = forms.ModelChoiceField(
        queryset=Hypothesis.objects.none(),
        required=False,
        empty_label="— a new hypothesis —",
        label="Hypothesis",
    )
    new_title = forms.CharField(max_length=200, required=False, label="New hypothesis")

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["hypothesis"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Hypothesis.objects.filter(
            organization=organization, archived_at__isnull=True
        ).order_by("title")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("hypothesis") and not (data.get("new_title") or "").strip():
            raise forms.ValidationError("Choose a hypothesis or name a new one.")
        return data


class HypothesisForm(forms.Form):
    title = forms.CharField(max_length=200, label="Suspected root cause")
    description = forms.CharField(
        max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    category = forms.ChoiceField(choices=[("", "Not decided"), *CATEGORY_CHOICES], required=False)
