"""The `recur-history/1` parser and validator: pure, so no database and no Django."""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.examples import EXAMPLES, format_example
from vocabulary.history import (
    FIX_KIND_SLUGS,
    FORMAT,
    MAX_REPORTED_ERRORS,
    ActionRecord,
    HistoryDocument,
    HistoryError,
    HistoryValidationError,
    ItemRecord,
    RetroRecord,
    TeamRecord,
    dump_history,
    iter_items_in_date_order,
    parse_history,
)
from vocabulary.limits import EARLIEST_DATE, latest_date

KINDS = ", ".join(FIX_KIND_SLUGS)

Doc = dict[str, Any]
Edit = Callable[[Doc], None]


def errors_of(data: object, **options: int) -> list[HistoryError]:
    with pytest.raises(HistoryValidationError) as caught:
        parse_history(data, **options)
    return caught.value.errors


# --- editing a document by JSON path, as the error paths read ------------------------------


def _walk(doc: Doc, path: str) -> tuple[Any, str | int]:
    steps: list[str | int] = [
        int(index) if index else name for name, index in re.findall(r"(\w+)|\[(\d+)\]", path)
    ]
    parent: Any = doc
    for step in steps[:-1]:
        parent = parent[step]
    return parent, steps[-1]


def put(path: str, value: object) -> Edit:
    def edit(doc: Doc) -> None:
        parent, last = _walk(doc, path)
        parent[last] = value

    return edit


def drop(path: str) -> Edit:
    def edit(doc: Doc) -> None:
        parent, last = _walk(doc, path)
        del parent[last]

    return edit


def add(path: str, value: object) -> Edit:
    def edit(doc: Doc) -> None:
        parent, last = _walk(doc, path)
        parent[last].append(value)

    return edit


def edited(*edits: Edit) -> Doc:
    doc = format_example()
    for edit in edits:
        edit(doc)
    return doc


# --- one case per error class ---------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    edits: tuple[Edit, ...]
    path: str
    message: str


ITEM = "retrospectives[0].items[1]"
ACTION = "retrospectives[0].actions[0]"
LATER_ITEM = "retrospectives[1].items[0]"

FIELD_CASES = [
    Case("missing organization", (drop("organization"),), "organization", "missing required field"),
    Case("missing team name", (drop("teams[0].name"),), "teams[0].name", "missing required field"),
    Case("missing item text", (drop(f"{ITEM}.text"),), f"{ITEM}.text", "missing required field"),
    Case(
        "missing held_on",
        (drop("retrospectives[0].held_on"),),
        "retrospectives[0].held_on",
        "missing required field",
    ),
    Case(
        "string field holding a number",
        (put("organization", 5),),
        "organization",
        "expected a string, got a whole number",
    ),
    Case(
        "votes holding a string",
        (put(f"{ITEM}.votes", "4"),),
        f"{ITEM}.votes",
        "expected a whole number, got a string",
    ),
    Case(
        "votes holding a boolean",
        (put(f"{ITEM}.votes", True),),
        f"{ITEM}.votes",
        "expected a whole number, got true",
    ),
    Case(
        "votes holding a decimal",
        (put(f"{ITEM}.votes", 2.5),),
        f"{ITEM}.votes",
        "expected a whole number, got a decimal number",
    ),
    Case("negative votes", (put(f"{ITEM}.votes", -1),), f"{ITEM}.votes", "must not be negative"),
    Case(
        "votes too large",
        (put(f"{ITEM}.votes", 2**31),),
        f"{ITEM}.votes",
        "is too large (at most 2147483647)",
    ),
    Case("teams not a list", (put("teams", {}),), "teams", "expected a list, got an object"),
    Case(
        "retrospective not an object",
        (put("retrospectives[1]", "payments-2026-02-11"),),
        "retrospectives[1]",
        "expected an object, got a string",
    ),
    Case(
        "newer format version",
        (put("format", "recur-history/2"),),
        "format",
        'unsupported version "recur-history/2"; Recur reads "recur-history/1"',
    ),
    Case(
        "another kind of document",
        (put("format", "recur-diagnoses/1"),),
        "format",
        'expected "recur-history/1", got "recur-diagnoses/1"; is this a Recur history file?',
    ),
    Case("missing format", (drop("format"),), "format", "missing required field"),
    Case("blank organization", (put("organization", "  "),), "organization", "must not be empty"),
    Case(
        "organization too long",
        (put("organization", "N" * 101),),
        "organization",
        "is too long (101 characters; at most 100)",
    ),
    Case(
        "duplicate team key",
        (add("teams", {"key": "payments", "name": "Payments EU"}),),
        "teams[2].key",
        'duplicate team key "payments"; first used at teams[0]',
    ),
    Case(
        "two teams with one name",
        (add("teams", {"key": "pay", "name": "Payments"}),),
        "teams[2].name",
        'team "payments" already has the name "Payments"',
    ),
    Case(
        "duplicate retrospective key",
        (put("retrospectives[1].key", "payments-2026-01-14"),),
        "retrospectives[1].key",
        'duplicate retrospective key "payments-2026-01-14"; first used at retrospectives[0]',
    ),
    Case(
        "item key used twice in the file",
        (put(f"{LATER_ITEM}.key", "p31-2"),),
        f"{LATER_ITEM}.key",
        'duplicate item key "p31-2"; first used at retrospectives[0].items[1]',
    ),
    Case(
        "action key used twice in the file",
        (put("retrospectives[1].actions", [{"key": "p31-a1", "item": "p33-4", "text": "Again"}]),),
        "retrospectives[1].actions[0].key",
        'duplicate action key "p31-a1"; first used at retrospectives[0].actions[0]',
    ),
    Case(
        "key with surrounding spaces",
        (put("teams[1].key", "checkout "),),
        "teams[1].key",
        "must not start or end with spaces",
    ),
    Case(
        "key too long",
        (put("teams[1].key", "k" * 101),),
        "teams[1].key",
        "is too long (101 characters; at most 100)",
    ),
    Case(
        "team name too long",
        (put("teams[1].name", "C" * 101),),
        "teams[1].name",
        "is too long (101 characters; at most 100)",
    ),
    Case(
        "title too long",
        (put("retrospectives[0].title", "S" * 201),),
        "retrospectives[0].title",
        "is too long (201 characters; at most 200)",
    ),
    Case(
        "owner too long",
        (put(f"{ACTION}.owner", "D" * 101),),
        f"{ACTION}.owner",
        "is too long (101 characters; at most 100)",
    ),
    Case(
        "unknown team",
        (put("retrospectives[1].team", "pay"),),
        "retrospectives[1].team",
        'unknown team "pay"; the teams are "payments", "checkout"',
    ),
    Case(
        "held_on not an ISO date",
        (put("retrospectives[0].held_on", "14/01/2026"),),
        "retrospectives[0].held_on",
        'expected a date as YYYY-MM-DD, got "14/01/2026"',
    ),
    Case(
        "held_on as a number",
        (put("retrospectives[0].held_on", 20260114),),
        "retrospectives[0].held_on",
        "expected a date as YYYY-MM-DD, got a whole number",
    ),
    Case(
        "held_on an impossible date",
        (put("retrospectives[0].held_on", "2026-02-30"),),
        "retrospectives[0].held_on",
        "2026-02-30 is not a real date",
    ),
    Case(
        "held_on at the calendar's start",
        (put("retrospectives[0].held_on", "0001-01-01"),),
        "retrospectives[0].held_on",
        "0001-01-01 is outside the dates Recur accepts (1990-01-01 to "
        f"{latest_date(date.today()).isoformat()})",
    ),
    Case(
        "due_on at the calendar's end",
        (put(f"{ACTION}.due_on", "9999-12-31"),),
        f"{ACTION}.due_on",
        "9999-12-31 is outside the dates Recur accepts (1990-01-01 to "
        f"{latest_date(date.today()).isoformat()})",
    ),
    Case(
        "due_on not an ISO date",
        (put(f"{ACTION}.due_on", "next week"),),
        f"{ACTION}.due_on",
        'expected a date as YYYY-MM-DD, got "next week"',
    ),
    Case(
        "completed_on an impossible date",
        (put(f"{ACTION}.completed_on", "2026-13-01"),),
        f"{ACTION}.completed_on",
        "2026-13-01 is not a real date",
    ),
    Case("blank item text", (put(f"{ITEM}.text", " \n "),), f"{ITEM}.text", "must not be empty"),
    Case(
        "item text too long",
        (put(f"{ITEM}.text", "x" * 2001),),
        f"{ITEM}.text",
        "is too long (2001 characters; at most 2000)",
    ),
    Case("blank action text", (put(f"{ACTION}.text", ""),), f"{ACTION}.text", "must not be empty"),
    Case(
        "action text too long",
        (put(f"{ACTION}.text", "x" * 2001),),
        f"{ACTION}.text",
        "is too long (2001 characters; at most 2000)",
    ),
    Case(
        "control character in item text",
        (put(f"{ITEM}.text", "Staging\x00down"),),
        f"{ITEM}.text",
        "contains the control character U+0000 at character 8;"
        " only line breaks and tabs are allowed",
    ),
    Case(
        "line break in a title",
        (put("retrospectives[0].title", "Sprint\n31"),),
        "retrospectives[0].title",
        "contains the control character U+000A at character 7; it must be a single line",
    ),
    Case(
        "unpaired surrogate in decoded text",
        (put(f"{ITEM}.text", "\ud83d"),),
        f"{ITEM}.text",
        "contains an unpaired surrogate (U+D83D) at character 1, which is not valid Unicode",
    ),
    Case(
        "same_as naming an unknown item",
        (put(f"{LATER_ITEM}.same_as", "p9-2"),),
        f"{LATER_ITEM}.same_as",
        'unknown item "p9-2"',
    ),
    Case(
        "same_as naming an action",
        (put(f"{LATER_ITEM}.same_as", "p31-a1"),),
        f"{LATER_ITEM}.same_as",
        '"p31-a1" is the key of an action, not of an item',
    ),
    Case(
        "same_as naming an item of a later retrospective",
        (put(f"{ITEM}.same_as", "p33-4"),),
        f"{ITEM}.same_as",
        'same_as must name an earlier item, but "p33-4" was raised later, on 2026-02-11',
    ),
    Case(
        "same_as naming an item further down the same retrospective",
        (put("retrospectives[0].items[0].same_as", "p31-2"),),
        "retrospectives[0].items[0].same_as",
        'same_as must name an earlier item, but "p31-2" comes after this one in the same'
        " retrospective",
    ),
    Case(
        "same_as naming an item further down the file on the same date",
        (put("retrospectives[1].held_on", "2026-01-14"), put(f"{ITEM}.same_as", "p33-4")),
        f"{ITEM}.same_as",
        'same_as must name an earlier item, but "p33-4" comes later in the file on the same date'
        f" ({LATER_ITEM})",
    ),
    Case(
        "same_as naming the item itself",
        (put(f"{LATER_ITEM}.same_as", "p33-4"),),
        f"{LATER_ITEM}.same_as",
        "an item cannot be a recurrence of itself",
    ),
    Case(
        "same_as links forming a cycle",
        (put("retrospectives[0].items[0].same_as", "p31-2"), put(f"{ITEM}.same_as", "p31-1")),
        "retrospectives[0].items[0].same_as",
        'same_as links form a cycle: "p31-1" → "p31-2" → "p31-1"',
    ),
    Case(
        "action for an unknown item",
        (put(f"{ACTION}.item", "p9-2"),),
        f"{ACTION}.item",
        'unknown item "p9-2"',
    ),
    Case(
        "action for an item of a later retrospective",
        (put(f"{ACTION}.item", "p33-4"),),
        f"{ACTION}.item",
        "an action must fix an item of its own or an earlier retrospective,"
        ' but "p33-4" was raised later, on 2026-02-11',
    ),
    Case(
        "unknown fix kind",
        (put(f"{ACTION}.kind", "meetings"),),
        f"{ACTION}.kind",
        f'unknown fix kind "meetings"; expected one of: {KINDS}',
    ),
    Case(
        "unknown status",
        (put(f"{ACTION}.status", "finished"),),
        f"{ACTION}.status",
        'unknown status "finished"; expected one of: open, done, dropped',
    ),
    Case(
        "completion date on an open action",
        (put(f"{ACTION}.status", "open"),),
        f"{ACTION}.completed_on",
        'only a done action has a completion date, and this one is "open"',
    ),
]


@pytest.mark.parametrize("case", FIELD_CASES, ids=lambda case: case.name)
def test_it_reports_each_problem_once_at_its_json_path(case: Case) -> None:
    assert errors_of(edited(*case.edits)) == [HistoryError(case.path, case.message)]


TEXT_CASES = [
    ("empty file", b"", "the file is empty"),
    ("not JSON", b'{"format": }', "not valid JSON: Expecting value at line 1, column 12"),
    (
        "not UTF-8",
        b'{"organization": "Caf\xe9"}',
        "the file is not UTF-8 text (byte 0xE9 on line 1); save it as UTF-8",
    ),
    ("a list at the top", b"[]", "the document must be a JSON object, got a list"),
    ("NaN", b'{"votes": NaN}', "not valid JSON: NaN is not a JSON value"),
    ("deep nesting", b"[" * 100_000, "not valid JSON for a history: it is nested too deeply"),
    (
        "a huge integer",
        b'{"votes": ' + b"9" * 5000 + b"}",
        "not valid JSON for a history: a number has too many digits",
    ),
]


@pytest.mark.parametrize(
    ("raw", "message"), [c[1:] for c in TEXT_CASES], ids=[c[0] for c in TEXT_CASES]
)
def test_it_reports_a_broken_file_as_a_whole(raw: bytes, message: str) -> None:
    assert errors_of(raw) == [HistoryError("", message)]


def test_it_refuses_a_file_over_the_size_limit_before_reading_it() -> None:
    raw = json.dumps(format_example()).encode()

    errors = errors_of(raw, max_bytes=100)

    assert errors == [
        HistoryError("", f"the file is too large: {len(raw):,} bytes, and the limit is 100 bytes")
    ]


def test_it_measures_text_input_in_utf8_bytes() -> None:
    assert errors_of('"éé"', max_bytes=5) == [
        HistoryError("", "the file is too large: 6 bytes, and the limit is 5 bytes")
    ]


def test_it_reports_a_field_written_twice_in_one_object() -> None:
    raw = json.dumps(format_example()).replace(
        '"key": "checkout"', '"key": "checkout", "key": "checkout-2"'
    )

    assert errors_of(raw) == [
        HistoryError("teams[1].key", "the field appears more than once; keep one")
    ]


def test_it_collects_every_problem_in_one_pass() -> None:
    doc = edited(
        put("organization", ""),
        put("teams[1].name", 7),
        put("retrospectives[0].held_on", "2026-02-30"),
        put(f"{ITEM}.votes", -3),
        put(f"{ACTION}.kind", "magic"),
        put(f"{LATER_ITEM}.same_as", "nope"),
    )

    assert [str(error) for error in errors_of(doc)] == [
        "organization: must not be empty",
        "teams[1].name: expected a string, got a whole number",
        "retrospectives[0].held_on: 2026-02-30 is not a real date",
        f"{ITEM}.votes: must not be negative",
        f'{ACTION}.kind: unknown fix kind "magic"; expected one of: {KINDS}',
        f'{LATER_ITEM}.same_as: unknown item "nope"',
    ]


def test_it_keeps_the_first_200_problems_and_counts_the_rest() -> None:
    items = [{"key": f"i{n}", "text": ""} for n in range(250)]
    doc = edited(
        put("retrospectives[0].items", items),
        put(f"{ACTION}.item", "i0"),
        drop(f"{LATER_ITEM}.same_as"),
    )

    with pytest.raises(HistoryValidationError) as caught:
        parse_history(doc)

    error = caught.value
    assert len(error.errors) == MAX_REPORTED_ERRORS
    assert (error.total, error.omitted) == (250, 50)
    assert str(error).startswith("The history file has 250 problems:\n- ")
    assert str(error).endswith("\n… and 50 more")


def test_a_validation_error_survives_pickling_with_its_errors() -> None:
    error = HistoryValidationError([HistoryError("teams", "missing required field")], total=3)

    copied = pickle.loads(pickle.dumps(error))  # noqa: S301 - bytes this test just wrote

    assert (copied.errors, copied.total) == (error.errors, 3)


def test_an_error_without_a_path_reads_as_its_message() -> None:
    assert str(HistoryError("", "the file is empty")) == "the file is empty"
    assert str(HistoryError("teams", "missing required field")) == "teams: missing required field"


# --- what is accepted -----------------------------------------------------------------------


def test_the_format_example_parses_into_records() -> None:
    doc = parse_history(json.dumps(format_example()))

    assert doc == HistoryDocument(
        format=FORMAT,
        organization="Northwind",
        teams=(TeamRecord("payments", "Payments"), TeamRecord("checkout", "Checkout")),
        retrospectives=(
            RetroRecord(
                key="payments-2026-01-14",
                team="payments",
                held_on=date(2026, 1, 14),
                title="Sprint 31",
                items=(
                    ItemRecord("p31-1", "Releases slip because priorities change mid-sprint", 4),
                    ItemRecord("p31-2", "Staging was down two days", 2),
                ),
                actions=(
                    ActionRecord(
                        key="p31-a1",
                        item="p31-1",
                        text="Weekly priority sync with product",
                        kind="meeting",
                        owner="Dana",
                        due_on=date(2026, 1, 28),
                        status="done",
                        completed_on=date(2026, 1, 21),
                    ),
                ),
            ),
            RetroRecord(
                key="payments-2026-02-11",
                team="payments",
                held_on=date(2026, 2, 11),
                items=(ItemRecord("p33-4", "Scope changed twice again this sprint", 0, "p31-1"),),
            ),
        ),
    )


@pytest.mark.parametrize("name", ["harbour", "orchard"])
def test_a_sample_history_parses_and_exports_to_the_same_text(name: str) -> None:
    path = EXAMPLES / f"{name}.history.json"
    if not path.exists():
        pytest.fail(f"the sample {path.name} is not in {EXAMPLES}")
    raw = path.read_text(encoding="utf-8")

    doc = parse_history(raw.encode())

    assert json.dumps(dump_history(doc), indent=1, ensure_ascii=False) == raw
    assert parse_history(json.dumps(dump_history(doc))) == doc


def test_it_accepts_a_decoded_object_bytes_text_and_a_byte_order_mark_alike() -> None:
    doc = format_example()
    text = json.dumps(doc)

    parsed = {
        parse_history(doc),
        parse_history(text),
        parse_history(text.encode()),
        parse_history(bytearray(text.encode())),
        parse_history("\ufeff" + text),
        parse_history(b"\xef\xbb\xbf" + text.encode()),
    }

    assert len(parsed) == 1


def test_it_ignores_unknown_fields_for_forward_compatibility() -> None:
    doc = edited(
        put("exported_by", {"app": "Recur", "version": "2.0"}),
        put("teams[0].colour", "teal"),
        put(f"{ITEM}.sentiment", -1),
    )

    assert parse_history(doc) == parse_history(format_example())


def test_it_reads_null_and_empty_optional_fields_as_absent() -> None:
    doc = edited(
        put("retrospectives[0].title", None),
        put(f"{ITEM}.votes", None),
        put(f"{ITEM}.same_as", ""),
        put(f"{ACTION}.kind", None),
        put(f"{ACTION}.owner", ""),
        put(f"{ACTION}.due_on", ""),
        put(f"{ACTION}.status", None),
        put(f"{ACTION}.completed_on", None),
    )

    retro = parse_history(doc).retrospectives[0]

    assert (retro.title, retro.items[1]) == ("", ItemRecord("p31-2", "Staging was down two days"))
    assert retro.actions[0] == ActionRecord("p31-a1", "p31-1", "Weekly priority sync with product")


def test_an_item_and_an_action_may_share_a_key() -> None:
    doc = parse_history(edited(put(f"{ACTION}.key", "p31-1")))

    assert doc.retrospectives[0].actions[0].key == doc.retrospectives[0].items[0].key


def test_it_keeps_text_exactly_as_written() -> None:
    text = "  Staging was down\n\ttwo days  "

    doc = parse_history(edited(put(f"{ITEM}.text", text)))

    assert doc.retrospectives[0].items[1].text == text


def test_an_action_may_fix_an_item_of_its_own_retrospective_listed_later() -> None:
    actions = [{"key": "p33-a1", "item": "p33-4", "text": "Freeze scope at planning"}]

    doc = parse_history(edited(put("retrospectives[1].actions", actions)))

    assert doc.retrospectives[1].actions[0].item == "p33-4"


def test_same_as_may_name_an_earlier_retrospective_of_the_same_date() -> None:
    doc = parse_history(edited(put("retrospectives[1].held_on", "2026-01-14")))

    assert doc.retrospectives[1].items[0].same_as == "p31-1"


UNICODE_TEXTS = [
    "Ночные релизы ломаются 🔥",
    "השחרור נדחה שוב בגלל שינוי עדיפויות",  # right to left
    "\u202bמעורב\u202c English and עברית",  # noqa: RUF001 - embedding marks kept as written
    "👩🏽‍💻 team 👨‍👩‍👧 family (zero-width joiners)",
    "e\u0301 (combining accent) and é (precomposed) stay distinct",
]


@pytest.mark.parametrize("text", UNICODE_TEXTS)
def test_unicode_rtl_and_emoji_round_trip_unchanged(text: str) -> None:
    doc = edited(
        put("organization", text[:40]),
        put("teams[0].name", text[:40]),
        put(f"{ITEM}.text", text),
        put(f"{ACTION}.owner", text[:20]),
    )

    parsed = parse_history(json.dumps(doc, ensure_ascii=False).encode())

    assert parsed.retrospectives[0].items[1].text == text
    assert parse_history(json.dumps(dump_history(parsed), ensure_ascii=False)) == parsed
    assert parse_history(json.dumps(dump_history(parsed), ensure_ascii=True)) == parsed


# --- import order and export ----------------------------------------------------------------


def test_items_come_in_date_order_then_file_order() -> None:
    doc = edited(
        put("retrospectives[0].held_on", "2026-03-01"),
        drop(f"{LATER_ITEM}.same_as"),
        add(
            "retrospectives",
            {
                "key": "checkout-2026-02-11",
                "team": "checkout",
                "held_on": "2026-02-11",
                "items": [{"key": "c1", "text": "Flaky tests"}],
            },
        ),
    )

    order = [(retro.key, item.key) for retro, item in iter_items_in_date_order(parse_history(doc))]

    assert order == [
        ("payments-2026-02-11", "p33-4"),
        ("checkout-2026-02-11", "c1"),
        ("payments-2026-01-14", "p31-1"),
        ("payments-2026-01-14", "p31-2"),
    ]


def test_export_writes_the_canonical_form_in_contract_order() -> None:
    dumped = dump_history(parse_history(format_example()))

    assert list(dumped) == ["format", "organization", "teams", "retrospectives"]
    first, second = dumped["retrospectives"]
    assert list(first) == ["key", "team", "held_on", "title", "items", "actions"]
    assert list(first["actions"][0]) == [
        "key", "item", "text", "kind", "owner", "due_on", "status", "completed_on",
    ]  # fmt: skip
    # As written, with the defaults spelled out: no votes, no actions.
    written = format_example()["retrospectives"][1]
    assert second == {**written, "items": [{**written["items"][0], "votes": 0}], "actions": []}


def test_export_omits_empty_optional_action_fields_and_keeps_status() -> None:
    action = ActionRecord("a1", "i1", "Pair on the Kafka consumers")

    doc = HistoryDocument(
        FORMAT,
        "Northwind",
        (TeamRecord("data", "Data"),),
        (
            RetroRecord(
                "r1",
                "data",
                date(2026, 1, 5),
                items=(ItemRecord("i1", "No one knows Kafka"),),
                actions=(action,),
            ),
        ),
    )

    assert dump_history(doc)["retrospectives"][0]["actions"] == [
        {"key": "a1", "item": "i1", "text": "Pair on the Kafka consumers", "status": "open"}
    ]


def test_fix_kind_slugs_are_the_thirteen_kinds_of_the_domain_guide() -> None:
    assert len(set(FIX_KIND_SLUGS)) == 13
    assert FIX_KIND_SLUGS[:5] == ("meeting", "process", "reminder", "workaround", "escalation")


# --- properties -----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
FIELD_NAMES = sorted(set(re.findall(r'"(\w+)":', json.dumps(format_example()))))
history_shaped = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "p31-1", "2026-01-14"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(FIELD_NAMES), children, max_size=6)
    ),
    max_leaves=30,
)


def _paths(value: object, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        children = [
            (f"{prefix}.{name}" if prefix else name, child) for name, child in value.items()
        ]
    elif isinstance(value, list):
        children = [(f"{prefix}[{index}]", child) for index, child in enumerate(value)]
    else:
        return [prefix]
    return [prefix] * bool(prefix) + [p for path, child in children for p in _paths(child, path)]


EXAMPLE_PATHS = _paths(format_example())


def _only_validation_errors(data: object) -> None:
    try:
        parse_history(data)
    except HistoryValidationError as error:
        errors = error.errors
    else:
        return
    assert errors
    assert all(isinstance(e, HistoryError) and str(e) for e in errors)


@pytest.mark.slow
@given(json_values | history_shaped)
def test_any_json_value_is_either_a_history_or_a_validation_error(value: object) -> None:
    _only_validation_errors(value)
    _only_validation_errors(json.dumps(value))


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_or_text_are_either_a_history_or_a_validation_error(raw: bytes | str) -> None:
    _only_validation_errors(raw)


@pytest.mark.slow
@given(
    st.lists(st.tuples(st.sampled_from(EXAMPLE_PATHS), json_values | history_shaped), max_size=4)
)
def test_any_damage_to_a_valid_history_is_reported_as_validation_errors(
    damage: list[tuple[str, object]],
) -> None:
    doc = format_example()
    for path, value in damage:
        with contextlib.suppress(KeyError, IndexError, TypeError):  # an earlier edit moved it
            put(path, copy.deepcopy(value))(doc)
    _only_validation_errors(doc)


single_line = st.text(
    st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=20
).filter(lambda s: s.strip() == s and s.strip())
multiline = st.text(
    st.characters(exclude_categories=["Cc", "Cs"]) | st.sampled_from("\n\t"),
    min_size=1,
    max_size=60,
).filter(str.strip)
accepted_dates = st.dates(min_value=EARLIEST_DATE, max_value=latest_date(date.today()))
optional_dates = st.none() | accepted_dates


@st.composite
def histories(draw: st.DrawFn) -> HistoryDocument:
    names = draw(st.lists(single_line, min_size=1, max_size=3, unique=True))
    teams = tuple(TeamRecord(f"t{n}", name) for n, name in enumerate(names))
    prefix = draw(single_line)[:10]
    keys = (f"{prefix}-{n}" for n in itertools.count())
    raised: list[str] = []
    retros = []
    for held_on in sorted(draw(st.lists(accepted_dates, max_size=4))):
        items = []
        for _ in range(draw(st.integers(0, 3))):
            same_as = draw(st.none() | st.sampled_from(raised)) if raised else None
            text, votes = draw(multiline), draw(st.integers(0, 99))
            items.append(ItemRecord(next(keys), text, votes, same_as))
            raised.append(items[-1].key)
        fixed = draw(st.lists(st.sampled_from(raised), max_size=2)) if raised else []
        actions = tuple(_action(draw, next(keys), item) for item in fixed)
        team, title = draw(st.sampled_from(teams)).key, draw(st.just("") | single_line)
        retros.append(RetroRecord(next(keys), team, held_on, title, tuple(items), actions))
    return HistoryDocument(FORMAT, draw(single_line), teams, tuple(retros))


def _action(draw: st.DrawFn, key: str, item: str) -> ActionRecord:
    status = draw(st.sampled_from(["open", "done", "dropped"]))
    completed_on = draw(optional_dates) if status == "done" else None
    kind = draw(st.none() | st.sampled_from(FIX_KIND_SLUGS))
    owner = draw(st.just("") | single_line)
    return ActionRecord(
        key, item, draw(multiline), kind, owner, draw(optional_dates), status, completed_on
    )


@pytest.mark.slow
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.booleans())
def test_any_valid_history_survives_export_and_import_unchanged(
    doc: HistoryDocument, ascii_only: bool
) -> None:
    exported = json.dumps(dump_history(doc), ensure_ascii=ascii_only)

    assert parse_history(exported) == doc
    assert dump_history(parse_history(exported)) == dump_history(doc)
