"""Forms: parse and validate what people post; the services check the rules again."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils import timezone

from matching.fixkind import infer_fix_kind
from retros.models import FixOutcome, FixStatus, ItemType, RetroFormat, Team
from retros.selectors import ISSUE_SHOW, ISSUE_SORT, IssueFilters
from retros.validators import validate_sane_date
from vocabulary.fixkinds import FIX_KINDS, KIND_CHOICES
from vocabulary.limits import (
    EARLIEST_DATE,
    ORGANIZATION_NAME_MAX,
    OWNER_MAX,
    TEXT_MAX,
    TITLE_MAX,
    latest_date,
)


def _stripped_text(value: str | None, *, what: str, max_length: int = TEXT_MAX) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise forms.ValidationError(f"{what} cannot be empty.", code="required")
    if len(cleaned) > max_length:
        raise forms.ValidationError(
            f"{what} is {len(cleaned)} characters long; the limit is {max_length}.",
            code="max_length",
        )
    return cleaned


def _bound_date_picker(field: forms.Field) -> None:
    """The browser's date picker offers only the accepted dates (the server checks again)."""
    field.widget.attrs.update(
        min=EARLIEST_DATE.isoformat(), max=latest_date(timezone.localdate()).isoformat()
    )


def _date_field(label: str, *, required: bool = True) -> forms.DateField:
    """A date chosen with the browser's picker; dates outside the sane range are refused."""
    return forms.DateField(
        label=label,
        required=required,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[validate_sane_date],
    )


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(
        label="Name of the organisation",
        max_length=ORGANIZATION_NAME_MAX,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Fabrikam Freight", "autofocus": True}),
    )


class RetroStartForm(forms.Form):
    held_on = _date_field("Date")
    title = forms.CharField(
        label="Title",
        required=False,
        max_length=TITLE_MAX,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Sprint 42"}),
    )
    format = forms.ChoiceField(
        label="Format", choices=RetroFormat.choices, initial=RetroFormat.START_STOP_CONTINUE
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["held_on"].initial = timezone.localdate
        _bound_date_picker(self.fields["held_on"])


class OccurrenceForm(forms.Form):
    """The board's one text field. A suggestion button adds `link_to` ("issue id:score")."""

    # No max_length here: the text is checked after stripping, with a message that says how
    # long it is, and the field keeps what was typed.
    text = forms.CharField(label="Issue", required=False, strip=False)
    link_to = forms.CharField(required=False)
    # Empty: decided from the wording (vocabulary.itemtype); a recurrence is always a problem.
    item_type = forms.ChoiceField(
        required=False, choices=[("", "From the wording"), *ItemType.choices]
    )

    def clean_text(self) -> str:
        return _stripped_text(self.cleaned_data.get("text"), what="The issue")

    def clean_link_to(self) -> tuple[int, float | None] | None:
        raw = (self.cleaned_data.get("link_to") or "").strip()
        if not raw:
            return None
        issue_part, _, score_part = raw.partition(":")
        try:
            issue_id = int(issue_part)
            score = float(score_part) if score_part else None
        except ValueError:
            raise forms.ValidationError("That suggestion is not valid.") from None
        if score is not None and not 0.0 <= score <= 1.0:
            score = min(1.0, max(0.0, score))
        return issue_id, score


class OccurrenceTextForm(forms.Form):
    text = forms.CharField(label="Text", required=False, strip=False)

    def clean_text(self) -> str:
        return _stripped_text(self.cleaned_data.get("text"), what="The issue")


class VoteForm(forms.Form):
    delta = forms.TypedChoiceField(choices=[("1", "+1"), ("-1", "-1")], coerce=int)


class RelinkForm(forms.Form):
    """Link to an issue (`issue`, "id" or "id:score" from a suggestion) or `split` it off."""

    issue = forms.CharField(required=False)
    split = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw = (data.get("issue") or "").strip()
        if data.get("split"):
            data["issue_id"], data["score"] = None, None
            return data
        if not raw:
            raise forms.ValidationError("Choose the issue to link to, or split it off.")
        issue_part, _, score_part = raw.partition(":")
        try:
            data["issue_id"] = int(issue_part)
            data["score"] = float(score_part) if score_part else None
        except ValueError:
            raise forms.ValidationError("That issue is not valid.") from None
        return data


class IssueRenameForm(forms.Form):
    title = forms.CharField(label="Title", required=False, strip=False)

    def clean_title(self) -> str:
        return _stripped_text(
            self.cleaned_data.get("title"), what="The title", max_length=TITLE_MAX
        )


class QueryFilterForm(forms.Form):
    """Filters read from a list's query string, with a ``team`` among the teams the person
    may see. A value a field does not accept (a team since archived, a hand-edited address)
    reads as blank, so the list falls back to its default rather than failing."""

    team = forms.ChoiceField(label="Team", required=False)

    def __init__(self, *args: Any, teams: Sequence[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team = self.fields["team"]
        assert isinstance(team, forms.ChoiceField)
        team.choices = [("", "All teams"), *[(str(t.pk), t.name) for t in teams]]

    def value_or_blank(self, name: str) -> Any:
        raw = self.data.get(name, "") if hasattr(self.data, "get") else ""
        try:
            return self.fields[name].clean(raw)
        except forms.ValidationError:
            return ""

    def team_id(self) -> int | None:
        team = self.value_or_blank("team")
        return int(team) if team else None


class IssueFilterForm(QueryFilterForm):
    """The issue list's search and filters. A search longer than a title is cut to a
    title's length."""

    q = forms.CharField(
        label="Search",
        required=False,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "maxlength": TITLE_MAX,
                "placeholder": "Words of an issue, e.g. staging",
                "autocomplete": "off",
                "data-slash-focus": "",
            }
        ),
    )
    show = forms.ChoiceField(label="Show", choices=list(ISSUE_SHOW.items()), required=False)
    sort = forms.ChoiceField(
        label="Order",
        choices=[(key, label) for key, (label, _) in ISSUE_SORT.items()],
        required=False,
    )
    field_order = ["q", "show", "team", "sort"]

    def filters(self) -> IssueFilters:
        words = " ".join(str(self.data.get("q", "")).replace("\x00", "").split())
        return IssueFilters(
            q=words[:TITLE_MAX],
            show=self.value_or_blank("show") or "problems",
            team_id=self.team_id(),
            sort=self.value_or_blank("sort") or "recent",
        )


class MergeForm(forms.Form):
    target = forms.IntegerField(min_value=1)


KIND_SOURCE_INFERRED = "inferred"
KIND_SOURCE_PERSON = "person"
KIND_UNSURE_ERROR = (
    "Choose a kind: the text does not make clear what this fix changes. A band-aid treats "
    "the symptom (a meeting, a step, a reminder); a structural fix changes the cause."
)


class _FixFieldsForm(forms.Form):
    """What recording a fix and editing one both ask: its text, kind, owner and due date."""

    field_order = ["text", "kind", "owner", "due_on"]

    text = forms.CharField(label="What will be done", required=False, strip=False)
    kind = forms.ChoiceField(label="Kind", choices=KIND_CHOICES)
    owner = forms.CharField(label="Owner", required=False, max_length=OWNER_MAX)
    due_on = _date_field("Due", required=False)

    def clean_text(self) -> str:
        return _stripped_text(self.cleaned_data.get("text"), what="The fix")


class FixForm(_FixFieldsForm):
    """A fix for an issue. An empty kind means "infer it from the text" when the inference is
    sure, and asks the person otherwise. With JavaScript a sure kind is pre-selected from the
    text as the person types (`kind_source=inferred`) until they choose one themselves
    (`kind_source=person`); a kept inferred kind is recorded as inferred."""

    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "Suggest from the text"), *KIND_CHOICES]
    )
    kind_source = forms.CharField(required=False, widget=forms.HiddenInput)

    field_order = ["text", "kind", "kind_source", "owner", "due_on"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        text = data.get("text")
        if not text:
            return data
        inferred = infer_fix_kind(text)
        kind = data.get("kind") or ""
        if not kind and inferred.sure:
            data["kind"], data["kind_inferred"] = inferred.kind, True
        elif not kind:
            # Not sure from the text: ask rather than count it on a guessed side of the
            # band-aid line.
            self.add_error("kind", KIND_UNSURE_ERROR)
        else:
            data["kind_inferred"] = (
                data.get("kind_source") == KIND_SOURCE_INFERRED and kind == inferred.kind
            )
        return data


class OccurrenceReviewForm(forms.Form):
    """A decision on the possible recurrence a board row offers."""

    review = forms.IntegerField(min_value=1)
    decision = forms.ChoiceField(choices=[("confirm", "Link it"), ("reject", "Not the same")])


class FixEditForm(_FixFieldsForm):
    """An existing fix's text, kind, owner and due date; the kind is always chosen."""


class FixOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[("", "Not yet known"), *FixOutcome.choices], required=False
    )


class FixStatusForm(forms.Form):
    status = forms.ChoiceField(choices=FixStatus.choices)


@dataclass(frozen=True)
class KindChoices:
    """Every fix kind with its nature and one-line explanation, for the kind field: all of
    them in order, and the band-aids and structural ones apart (the field lists them in two
    groups, once per row of a board: one pass each instead of a test of every kind twice)."""

    all: tuple[dict[str, str], ...]
    band_aid: tuple[dict[str, str], ...]
    structural: tuple[dict[str, str], ...]


@functools.cache
def kind_explanations() -> KindChoices:
    """The fix kinds for the kind field (:class:`KindChoices`)."""
    kinds = tuple(
        {
            "slug": slug,
            "label": kind.label,
            "nature": "band-aid" if kind.nature == "band_aid" else "structural",
            "explanation": kind.explanation,
        }
        for slug, kind in FIX_KINDS.items()
    )
    return KindChoices(
        all=kinds,
        band_aid=tuple(k for k in kinds if k["nature"] == "band-aid"),
        structural=tuple(k for k in kinds if k["nature"] == "structural"),
    )
