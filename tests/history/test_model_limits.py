"""Every string the history schema accepts fits the column it is imported into: the schema's
limits are the models' own, walked field by field, so an import never ends in a database
error (an organisation name of 150 characters once passed the schema and broke the import)."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest
from django.db import models

from retros.models import Fix, Occurrence, Organization, Retrospective, Team
from tests.history.test_schema import errors_of, format_example, put
from vocabulary.history import (
    ACTION_STATUSES,
    FIX_KIND_SLUGS,
    ITEM_TYPES,
    ActionRecord,
    HistoryDocument,
    HistoryError,
    ItemRecord,
    RetroRecord,
    TeamRecord,
    parse_history,
)

RECORDS = (HistoryDocument, TeamRecord, RetroRecord, ItemRecord, ActionRecord)

# Where each record sits in the example document (elements whose key nothing refers to, so a
# key can change without breaking a reference).
PATHS: dict[type, str] = {
    HistoryDocument: "",
    TeamRecord: "teams[1]",
    RetroRecord: "retrospectives[0]",
    ItemRecord: "retrospectives[0].items[1]",
    ActionRecord: "retrospectives[0].actions[0]",
}

# Every string of the schema that is stored, and the model field it is stored in.
STORED: dict[tuple[type, str], tuple[type[models.Model], str]] = {
    (HistoryDocument, "organization"): (Organization, "name"),
    (TeamRecord, "key"): (Team, "import_key"),
    (TeamRecord, "name"): (Team, "name"),
    (RetroRecord, "key"): (Retrospective, "import_key"),
    (RetroRecord, "title"): (Retrospective, "title"),
    (ItemRecord, "key"): (Occurrence, "import_key"),
    (ItemRecord, "text"): (Occurrence, "text"),
    (ActionRecord, "key"): (Fix, "import_key"),
    (ActionRecord, "text"): (Fix, "text"),
    (ActionRecord, "owner"): (Fix, "owner"),
}
# Strings chosen from a list, and the model field that must hold every choice.
CHOSEN: dict[tuple[type, str], tuple[type[models.Model], str, tuple[str, ...]]] = {
    (ActionRecord, "kind"): (Fix, "kind", FIX_KIND_SLUGS),
    (ActionRecord, "status"): (Fix, "status", ACTION_STATUSES),
    (ItemRecord, "type"): (Occurrence, "item_type", ITEM_TYPES),
}
# Strings that are not stored: the format's name, and references to keys.
NOT_STORED = {
    (HistoryDocument, "format"),
    (RetroRecord, "team"),
    (ItemRecord, "same_as"),
    (ActionRecord, "item"),
    # The column an item was written in decides its type on import; only the type is kept.
    (ItemRecord, "column"),
}


def _string_fields() -> list[tuple[type, str]]:
    found: list[tuple[type, str]] = []
    for record in RECORDS:
        hints = typing.get_type_hints(record)
        for field in dataclasses.fields(record):
            if str in (hints[field.name], *typing.get_args(hints[field.name])):
                found.append((record, field.name))
    return found


def _max_length(model: type[models.Model], name: str) -> int:
    field = model._meta.get_field(name)
    assert isinstance(field, models.CharField) and field.max_length is not None
    return field.max_length


def test_every_string_of_the_schema_is_accounted_for() -> None:
    assert set(_string_fields()) == set(STORED) | set(CHOSEN) | NOT_STORED


def _with(record: type, name: str, value: str) -> dict[str, Any]:
    doc = format_example()
    path = f"{PATHS[record]}.{name}" if PATHS[record] else name
    put(path, value)(doc)
    return doc


@pytest.mark.parametrize("where", list(STORED), ids=lambda w: f"{w[0].__name__}.{w[1]}")
def test_the_schema_accepts_exactly_what_the_column_holds(where: tuple[type, str]) -> None:
    record, name = where
    limit = _max_length(*STORED[where])
    path = f"{PATHS[record]}.{name}" if PATHS[record] else name

    parse_history(_with(record, name, "x" * limit))  # the longest the column holds

    assert errors_of(_with(record, name, "x" * (limit + 1))) == [
        HistoryError(path, f"is too long ({limit + 1} characters; at most {limit})")
    ]


@pytest.mark.parametrize("where", list(CHOSEN), ids=lambda w: f"{w[0].__name__}.{w[1]}")
def test_every_choice_of_the_schema_fits_its_column(where: tuple[type, str]) -> None:
    model, name, choices = CHOSEN[where]
    field = model._meta.get_field(name)
    assert set(choices) <= {value for value, _ in field.choices or ()}
    assert max(map(len, choices)) <= _max_length(model, name)
