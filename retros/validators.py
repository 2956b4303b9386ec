"""Field validators shared by models and forms (the limits themselves: vocabulary/limits.py)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.deconstruct import deconstructible

from vocabulary.limits import date_problem


def check_date(value: dt.date | None, *, what: str) -> None:
    """Refuse a date outside the accepted range, naming the field ("The due date: …")."""
    if value is None:
        return
    problem = date_problem(value, today=timezone.localdate())
    if problem:
        raise ValidationError(f"{what}: {problem}.", code="date_out_of_range")


@deconstructible(path="retros.validators.SaneDateValidator")
class SaneDateValidator:
    """Refuses a date outside the accepted range (vocabulary.limits), measured from today."""

    code = "date_out_of_range"

    def __call__(self, value: dt.date | None) -> None:
        if value is None:
            return
        problem = date_problem(value, today=timezone.localdate())
        if problem:
            raise ValidationError(f"{problem[:1].upper()}{problem[1:]}.", code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SaneDateValidator)

    def __hash__(self) -> int:
        return hash(SaneDateValidator)


validate_sane_date = SaneDateValidator()
