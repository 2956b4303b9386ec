"""Read, validate and write `recur-history/1` documents (the contract in docs/history-format.md).

Pure: no Django, no I/O; the clock is read only when the caller passes no `today`.
`parse_history` validates the whole document and reports
every problem with its JSON path before anything is returned, so an import is all or nothing.

Decisions this module makes where the written contract is silent:

- Unknown fields are ignored, so files written by a newer release of version 1 still load.
- An optional field that is `null` or `""` counts as absent; a required one is an error.
- Text is kept exactly as written (no stripping, no Unicode normalisation). "Empty" means
  blank after stripping; length limits count the characters as written, because that is what
  is stored. Control characters are refused (item and action text may hold line breaks and
  tabs), and so are unpaired surrogates, which are not Unicode text.
- Keys are single-line, at most 100 characters, without surrounding whitespace. Items and
  actions are separate key spaces: references are typed (`same_as` and `item` name items), so
  an item and an action may share a key.
- Two team keys with the same name are refused: import matches teams by name, so they would
  merge into one team and the round trip would break.
- Order is (held_on, position in file): import processes items in that order, so `same_as`
  must name an item that comes before it, and an action's item must come from its own
  retrospective or one before it. A `same_as` cycle is reported once, as a cycle.
- `completed_on` on an action whose status is not `done` is an error, not a warning.
- Lengths and dates are the models' own (vocabulary/limits.py): a string the schema accepts fits
  its column, and every date lies between 1990-01-01 and five years after `today`.
- A `format` other than `recur-history/1` stops validation there: a different version has a
  different shape, and listing its fields as errors would only bury the real message.
- Canonical form written by `dump_history`: keys in the order of docs/history-format.md; `teams`,
  `retrospectives`, `items`, `actions`, `votes` and `status` always written; `title`,
  `same_as`, `type`, `column`, `kind`, `owner`, `due_on` and `completed_on` omitted when
  empty.
- An item's optional `type` ("problem" or "appreciation") and `column` (the retro format's
  column it was written in) are backward compatible: files without them still load, and
  import decides a missing type from the column and the text (vocabulary.itemtype). For every
  document `parse_history` returns, `parse_history(json.dumps(dump_history(doc))) == doc`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from operator import attrgetter
from typing import Any, Final

from vocabulary import limits
from vocabulary.itemtype import infer_item_type

FORMAT: Final = "recur-history/1"
SUPPORTED_FORMATS: Final = (FORMAT,)

# Must match vocabulary.fixkinds.FIX_KINDS (docs/domain.md, "Fix kinds"); a test asserts they match.
FIX_KIND_SLUGS: Final = (
    "meeting",
    "process",
    "reminder",
    "workaround",
    "escalation",
    "tooling",
    "infrastructure",
    "training",
    "staffing",
    "strategy",
    "incentives",
    "coaching",
    "reorg",
)
ACTION_STATUSES: Final = ("open", "done", "dropped")
# Must match vocabulary.itemtype.ITEM_TYPES; a test asserts they match.
ITEM_TYPES: Final = ("problem", "appreciation")
DEFAULT_ACTION_STATUS: Final = "open"

MAX_DOCUMENT_BYTES: Final = 50 * 1024 * 1024
MAX_REPORTED_ERRORS: Final = 200
MAX_KEY_LENGTH: Final = limits.IMPORT_KEY_MAX
MAX_ORGANIZATION_LENGTH: Final = limits.ORGANIZATION_NAME_MAX
MAX_TEAM_NAME_LENGTH: Final = limits.TEAM_NAME_MAX
MAX_TITLE_LENGTH: Final = limits.TITLE_MAX
MAX_OWNER_LENGTH: Final = limits.OWNER_MAX
MAX_TEXT_LENGTH: Final = limits.TEXT_MAX
MAX_COLUMN_LENGTH: Final = 100
MAX_VOTES: Final = 2_147_483_647  # the largest value a database integer column holds

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SINGLE_LINE_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MULTILINE_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SAME_AS_RULE: Final = "same_as must name an earlier item"
_ACTION_ITEM_RULE: Final = "an action must fix an item of its own or an earlier retrospective"
_QUOTE_LIMIT = 60
_CYCLE_SHOWN = 6
_KNOWN_TEAMS_SHOWN = 10
_TYPE_NAMES: Final = (
    (int, "a whole number"),
    (float, "a decimal number"),
    (str, "a string"),
    (list, "a list"),
    (dict, "an object"),
)


# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamRecord:
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class ItemRecord:
    key: str
    text: str
    votes: int = 0
    same_as: str | None = None
    # Optional: "problem" or "appreciation"; when absent, import decides from the column
    # (the retro format's, e.g. "Glad", "Went well") and the text.
    type: str | None = None
    column: str = ""

    @property
    def read_type(self) -> str:
        """The type the file gives, else the one its column and wording say."""
        return self.type or infer_item_type(self.text, self.column)


@dataclass(frozen=True, slots=True)
class ActionRecord:
    key: str
    item: str
    text: str
    kind: str | None = None
    owner: str = ""
    due_on: date | None = None
    status: str = DEFAULT_ACTION_STATUS
    completed_on: date | None = None


@dataclass(frozen=True, slots=True)
class RetroRecord:
    key: str
    team: str
    held_on: date
    title: str = ""
    items: tuple[ItemRecord, ...] = ()
    actions: tuple[ActionRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class HistoryDocument:
    format: str
    organization: str
    teams: tuple[TeamRecord, ...] = ()
    retrospectives: tuple[RetroRecord, ...] = ()


# --- errors --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryError:
    path: str  # "" for the document as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class HistoryValidationError(ValueError):
    """Not a valid history: `errors` holds the first problems found, `total` counts them all."""

    def __init__(self, errors: list[HistoryError], total: int | None = None) -> None:
        self.errors = list(errors)
        self.total = max(total or 0, len(self.errors))
        super().__init__(self.summary())

    def __reduce__(self) -> tuple[type[HistoryValidationError], tuple[list[HistoryError], int]]:
        return (type(self), (self.errors, self.total))  # picklable, e.g. across a task queue

    @property
    def omitted(self) -> int:
        return self.total - len(self.errors)

    def summary(self) -> str:
        noun = "problem" if self.total == 1 else "problems"
        lines = [f"The history file has {self.total} {noun}:"]
        lines += [f"- {error}" for error in self.errors]
        if self.omitted:
            lines.append(f"… and {self.omitted} more")
        return "\n".join(lines)


class _Errors:
    def __init__(self, limit: int) -> None:
        self.kept: list[HistoryError] = []
        self.total = 0
        self._limit = limit

    def add(self, path: str, message: str) -> None:
        self.total += 1
        if len(self.kept) < self._limit:
            self.kept.append(HistoryError(path, message))

    def raise_if_any(self) -> None:
        if self.total:
            raise HistoryValidationError(self.kept, self.total)


def _document_error(message: str) -> HistoryValidationError:
    return HistoryValidationError([HistoryError("", message)])


# --- public API ----------------------------------------------------------------------------


def parse_history(
    data: bytes | str | object,
    *,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    max_errors: int = MAX_REPORTED_ERRORS,
    today: date | None = None,
) -> HistoryDocument:
    """Validate a whole document (UTF-8 bytes, JSON text, or an already decoded object).

    Raises HistoryValidationError listing every problem (the first `max_errors` of them).
    `max_bytes` applies to bytes and text; an already decoded object is not measured.
    Dates may lie up to five years after `today` (default: the system's date).
    """
    errors = _Errors(max_errors)
    reader = _Reader(errors, today=today if today is not None else date.today())
    document = reader.document(_load(data, max_bytes))
    errors.raise_if_any()
    assert document is not None  # no errors means the reader built a document
    return document


def retrospectives_in_date_order(doc: HistoryDocument) -> list[RetroRecord]:
    """Retrospectives by held_on, ties in file order: the order import must follow."""
    return sorted(doc.retrospectives, key=attrgetter("held_on"))  # sorted() is stable


def iter_items_in_date_order(doc: HistoryDocument) -> Iterator[tuple[RetroRecord, ItemRecord]]:
    """Every (retro, item) in import order: held_on, then position in the file."""
    for retro in retrospectives_in_date_order(doc):
        for item in retro.items:
            yield retro, item


def dump_history(doc: HistoryDocument) -> dict[str, Any]:
    """The canonical JSON-ready form of `doc` (see the module docstring)."""
    return {
        "format": doc.format,
        "organization": doc.organization,
        "teams": [{"key": team.key, "name": team.name} for team in doc.teams],
        "retrospectives": [_dump_retro(retro) for retro in doc.retrospectives],
    }


# --- writing -------------------------------------------------------------------------------


def _dump_retro(retro: RetroRecord) -> dict[str, Any]:
    data: dict[str, Any] = {"key": retro.key, "team": retro.team, "held_on": _iso(retro.held_on)}
    _put(data, "title", retro.title)
    data["items"] = [_dump_item(item) for item in retro.items]
    data["actions"] = [_dump_action(action) for action in retro.actions]
    return data


def _dump_item(item: ItemRecord) -> dict[str, Any]:
    data: dict[str, Any] = {"key": item.key, "text": item.text, "votes": item.votes}
    _put(data, "same_as", item.same_as)
    _put(data, "type", item.type)
    _put(data, "column", item.column)
    return data


def _dump_action(action: ActionRecord) -> dict[str, Any]:
    data: dict[str, Any] = {"key": action.key, "item": action.item, "text": action.text}
    _put(data, "kind", action.kind)
    _put(data, "owner", action.owner)
    _put(data, "due_on", _iso(action.due_on))
    data["status"] = action.status
    _put(data, "completed_on", _iso(action.completed_on))
    return data


def _put(data: dict[str, Any], name: str, value: str | None) -> None:
    if value:
        data[name] = value


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- decoding ------------------------------------------------------------------------------


class _JsonObjectWithRepeats(dict[str, Any]):
    """A decoded JSON object in which some field names appeared more than once."""

    repeated: tuple[str, ...] = ()


class _NotJsonError(ValueError):
    pass


def _load(data: object, max_bytes: int) -> object:
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        _check_size(len(raw), max_bytes)
        return _load_json(_decode_utf8(raw))
    if isinstance(data, str):
        _check_size(len(data.encode("utf-8", "surrogatepass")), max_bytes)
        return _load_json(data.removeprefix("\ufeff"))
    return data


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise _document_error(
            f"the file is too large: {size:,} bytes, and the limit is {max_bytes:,} bytes"
        )


def _decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")  # a leading byte order mark is allowed and dropped
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _document_error(
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02X} on line {line});"
            " save it as UTF-8"
        ) from None


def _load_json(text: str) -> object:
    if not text.strip():
        raise _document_error("the file is empty")
    try:
        return json.loads(
            text, object_pairs_hook=_object_from_pairs, parse_constant=_refuse_constant
        )
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    except _NotJsonError as exc:
        message = f"not valid JSON: {exc}"
    except RecursionError:
        message = "not valid JSON for a history: it is nested too deeply"
    except ValueError:  # the only other one: an integer too long to convert
        message = "not valid JSON for a history: a number has too many digits"
    raise _document_error(message)


def _object_from_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    counts = Counter(name for name, _ in pairs)
    repeats = _JsonObjectWithRepeats(obj)
    repeats.repeated = tuple(name for name, count in counts.items() if count > 1)
    return repeats


def _refuse_constant(name: str) -> object:
    raise _NotJsonError(f"{name} is not a JSON value")


# --- reading -------------------------------------------------------------------------------

_ABSENT: Final = object()


@dataclass(frozen=True, slots=True, eq=False)
class _Place:
    """Where an item (or an action, item_pos -1) sits in import order."""

    path: str
    held_on: date | None
    retro_pos: int
    item_pos: int


@dataclass(frozen=True, slots=True)
class _Ref:
    path: str  # of the referring field
    source: str | None  # key of the referring item or action, when it has a valid one
    target: str
    place: _Place


class _Fields:
    """Typed access to one JSON object's fields; every problem is recorded with its path."""

    def __init__(self, errors: _Errors, obj: Mapping[str, Any], path: str) -> None:
        self._errors = errors
        self._obj = obj
        self.path = path
        self.failed: set[str] = set()
        for name in getattr(obj, "repeated", ()):
            self.error(name, "the field appears more than once; keep one")

    def at(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, message: str) -> None:
        self.failed.add(name)
        self._errors.add(self.at(name), message)

    def key(self) -> str | None:
        value = self.string("key", required=True, max_length=MAX_KEY_LENGTH)
        if value is not None and value != value.strip():
            self.error("key", "must not start or end with spaces")
            return None
        return value

    def string(
        self,
        name: str,
        *,
        required: bool = False,
        max_length: int | None = None,
        multiline: bool = False,
    ) -> str | None:
        value = self._value(name, required=required)
        if value is _ABSENT:
            return None
        if not isinstance(value, str):
            self.error(name, f"expected a string, got {_describe(value)}")
            return None
        problem = _string_problem(
            value, not_blank=required, max_length=max_length, multiline=multiline
        )
        if problem:
            self.error(name, problem)
            return None
        return value

    def date(self, name: str, *, today: date, required: bool = False) -> date | None:
        value = self._value(name, required=required)
        if value is _ABSENT:
            return None
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            got = _quote(value) if isinstance(value, str) else _describe(value)
            self.error(name, f"expected a date as YYYY-MM-DD, got {got}")
            return None
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            self.error(name, f"{value} is not a real date")
            return None
        problem = limits.date_problem(parsed, today=today)
        if problem:
            self.error(name, problem)
            return None
        return parsed

    def count(self, name: str, *, maximum: int) -> int:
        value = self._value(name, required=False)
        if value is _ABSENT:
            return 0
        if not isinstance(value, int) or isinstance(value, bool):
            self.error(name, f"expected a whole number, got {_describe(value)}")
        elif value < 0:
            self.error(name, "must not be negative")
        elif value > maximum:
            self.error(name, f"is too large (at most {maximum})")
        else:
            return value
        return 0

    def choice(self, name: str, choices: tuple[str, ...], *, what: str) -> str | None:
        value = self.string(name)
        if value is None or value in choices:
            return value
        self.error(name, f"unknown {what} {_quote(value)}; expected one of: {', '.join(choices)}")
        return None

    def objects(self, name: str, *, required: bool) -> list[tuple[int, str, Mapping[str, Any]]]:
        value = self._value(name, required=required)
        if value is _ABSENT:
            return []
        if not isinstance(value, list):
            self.error(name, f"expected a list, got {_describe(value)}")
            return []
        found: list[tuple[int, str, Mapping[str, Any]]] = []
        for index, element in enumerate(value):
            path = f"{self.at(name)}[{index}]"
            if isinstance(element, dict):
                found.append((index, path, element))
            else:
                self._errors.add(path, f"expected an object, got {_describe(element)}")
        return found

    def _value(self, name: str, *, required: bool) -> object:
        value = self._obj.get(name, _ABSENT)
        if not required and (value is None or (isinstance(value, str) and not value)):
            return _ABSENT
        if value is _ABSENT and required:
            self.error(name, "missing required field")
        return value


class _Reader:
    """Builds the records, registers every key and reference, then checks the references."""

    def __init__(self, errors: _Errors, *, today: date) -> None:
        self._errors = errors
        self._today = today
        self._first_seen: dict[tuple[str, str], str] = {}  # (kind, key) -> path
        self._team_names: dict[str, str] = {}  # name -> team key
        self._item_places: dict[str, _Place] = {}
        self._same_as: list[_Ref] = []
        self._item_types: dict[str, str] = {}  # item key -> its explicit type
        self._action_items: list[_Ref] = []
        self._teams_known = True  # False when the team list itself is broken

    def document(self, raw: object) -> HistoryDocument | None:
        if not isinstance(raw, dict):
            self._errors.add("", f"the document must be a JSON object, got {_describe(raw)}")
            return None
        fields = _Fields(self._errors, raw, "")
        if not self._format_is_supported(fields):
            return None
        organization = fields.string(
            "organization", required=True, max_length=MAX_ORGANIZATION_LENGTH
        )
        teams = [self._team(obj, path) for _, path, obj in fields.objects("teams", required=True)]
        self._teams_known = "teams" not in fields.failed
        retros = [
            self._retro(obj, path, pos)
            for pos, path, obj in fields.objects("retrospectives", required=True)
        ]
        self._check_item_references()
        return HistoryDocument(FORMAT, organization or "", tuple(teams), tuple(retros))

    def _format_is_supported(self, fields: _Fields) -> bool:
        value = fields.string("format", required=True)
        if value is None or value in SUPPORTED_FORMATS:
            return True
        supported = ", ".join(_quote(name) for name in SUPPORTED_FORMATS)
        if value.startswith("recur-history/"):
            message = f"unsupported version {_quote(value)}; Recur reads {supported}"
        else:
            message = f"expected {supported}, got {_quote(value)}; is this a Recur history file?"
        fields.error("format", message)
        return False

    def _keyed(self, kind: str, obj: Mapping[str, Any], path: str) -> tuple[_Fields, str | None]:
        """The object's fields and its key, claimed for `kind` (a key used twice is an
        error)."""
        fields = _Fields(self._errors, obj, path)
        key = fields.key()
        if key is not None:
            self._claim(kind, key, fields)
        return fields, key

    def _team(self, obj: Mapping[str, Any], path: str) -> TeamRecord:
        fields, key = self._keyed("team", obj, path)
        name = fields.string("name", required=True, max_length=MAX_TEAM_NAME_LENGTH)
        if name is not None and key is not None:
            self._claim_team_name(name, key, fields)
        return TeamRecord(key or "", name or "")

    def _retro(self, obj: Mapping[str, Any], path: str, pos: int) -> RetroRecord:
        fields, key = self._keyed("retrospective", obj, path)
        team = fields.string("team", required=True)
        if team is not None and self._teams_known and ("team", team) not in self._first_seen:
            fields.error("team", self._unknown_team(team))
        held_on = fields.date("held_on", required=True, today=self._today)
        title = fields.string("title", max_length=MAX_TITLE_LENGTH) or ""
        items = [
            self._item(item, item_path, _Place(item_path, held_on, pos, index))
            for index, item_path, item in fields.objects("items", required=False)
        ]
        actions = [
            self._action(action, action_path, _Place(action_path, held_on, pos, -1))
            for _, action_path, action in fields.objects("actions", required=False)
        ]
        return RetroRecord(
            key or "", team or "", held_on or date.min, title, tuple(items), tuple(actions)
        )

    def _item(self, obj: Mapping[str, Any], path: str, place: _Place) -> ItemRecord:
        fields = _Fields(self._errors, obj, path)
        key = fields.key()
        if key is not None and self._claim("item", key, fields):
            self._item_places[key] = place
        text = fields.string("text", required=True, max_length=MAX_TEXT_LENGTH, multiline=True)
        votes = fields.count("votes", maximum=MAX_VOTES)
        same_as = fields.string("same_as")
        if same_as is not None:
            self._same_as.append(_Ref(fields.at("same_as"), key, same_as, place))
        item_type = fields.choice("type", ITEM_TYPES, what="item type")
        if key is not None and item_type is not None:
            self._item_types[key] = item_type
        column = fields.string("column", max_length=MAX_COLUMN_LENGTH) or ""
        return ItemRecord(key or "", text or "", votes, same_as, item_type, column)

    def _action(self, obj: Mapping[str, Any], path: str, place: _Place) -> ActionRecord:
        fields, key = self._keyed("action", obj, path)
        item = fields.string("item", required=True)
        if item is not None:
            self._action_items.append(_Ref(fields.at("item"), key, item, place))
        text = fields.string("text", required=True, max_length=MAX_TEXT_LENGTH, multiline=True)
        kind = fields.choice("kind", FIX_KIND_SLUGS, what="fix kind")
        owner = fields.string("owner", max_length=MAX_OWNER_LENGTH) or ""
        due_on = fields.date("due_on", today=self._today)
        status = fields.choice("status", ACTION_STATUSES, what="status") or DEFAULT_ACTION_STATUS
        completed_on = fields.date("completed_on", today=self._today)
        if completed_on is not None and status != "done" and "status" not in fields.failed:
            fields.error(
                "completed_on",
                f'only a done action has a completion date, and this one is "{status}"',
            )
        return ActionRecord(
            key or "", item or "", text or "", kind, owner, due_on, status, completed_on
        )

    # --- keys and references ---

    def _claim(self, kind: str, key: str, fields: _Fields) -> bool:
        first = self._first_seen.setdefault((kind, key), fields.path)
        if first != fields.path:
            fields.error("key", f"duplicate {kind} key {_quote(key)}; first used at {first}")
        return first == fields.path

    def _claim_team_name(self, name: str, key: str, fields: _Fields) -> None:
        first = self._team_names.setdefault(name, key)
        if first != key:
            fields.error("name", f"team {_quote(first)} already has the name {_quote(name)}")

    def _unknown_team(self, team: str) -> str:
        known = [key for kind, key in self._first_seen if kind == "team"]
        if not known:
            return f"unknown team {_quote(team)}; the file lists no teams"
        shown = ", ".join(_quote(key) for key in known[:_KNOWN_TEAMS_SHOWN])
        more = ", …" if len(known) > _KNOWN_TEAMS_SHOWN else ""
        return f"unknown team {_quote(team)}; the teams are {shown}{more}"

    def _unknown_item(self, key: str) -> str:
        if ("action", key) in self._first_seen:
            return f"{_quote(key)} is the key of an action, not of an item"
        return f"unknown item {_quote(key)}"

    def _check_item_references(self) -> None:
        edges = {
            ref.source: ref.target
            for ref in self._same_as
            if ref.source is not None and self._item_places.get(ref.source) is ref.place
        }
        on_cycle: set[str] = set()
        for cycle in _find_cycles(edges):
            on_cycle.update(cycle)
            self._report_cycle(cycle)
        for ref in self._same_as:
            if ref.source not in on_cycle:
                self._check_order(ref, same_retro_ok=False, rule=_SAME_AS_RULE)
            types = {self._item_types.get(k) for k in (ref.source or "", ref.target)}
            if {"problem", "appreciation"} <= types:
                self._errors.add(
                    ref.path,
                    "same_as links a problem and an appreciation; praise is never a raising "
                    "of a problem",
                )
        for ref in self._action_items:
            self._check_order(ref, same_retro_ok=True, rule=_ACTION_ITEM_RULE)

    def _check_order(self, ref: _Ref, *, same_retro_ok: bool, rule: str) -> None:
        target = self._item_places.get(ref.target)
        if target is None:
            self._errors.add(ref.path, self._unknown_item(ref.target))
            return
        reason = _later_reason(ref.target, ref.place, target, same_retro_ok=same_retro_ok)
        if reason:
            self._errors.add(ref.path, f"{rule}, but {reason}")

    def _report_cycle(self, cycle: list[str]) -> None:
        places = [self._item_places[key] for key in cycle]
        start = min(range(len(cycle)), key=lambda i: (places[i].retro_pos, places[i].item_pos))
        path = f"{places[start].path}.same_as"
        if len(cycle) == 1:
            self._errors.add(path, "an item cannot be a recurrence of itself")
            return
        ordered = cycle[start:] + cycle[:start]
        shown = [_quote(key) for key in ordered[:_CYCLE_SHOWN]]
        chain = " → ".join([*shown, "…" if len(ordered) > _CYCLE_SHOWN else _quote(ordered[0])])
        self._errors.add(path, f"same_as links form a cycle: {chain}")


def _later_reason(key: str, source: _Place, target: _Place, *, same_retro_ok: bool) -> str | None:
    """Why `target` cannot be referred to from `source` in import order, or None if it can."""
    if source.held_on is None or target.held_on is None or target.held_on < source.held_on:
        return None
    if target.held_on > source.held_on:
        return f"{_quote(key)} was raised later, on {target.held_on.isoformat()}"
    if target.retro_pos < source.retro_pos:
        return None
    if target.retro_pos > source.retro_pos:
        return f"{_quote(key)} comes later in the file on the same date ({target.path})"
    if same_retro_ok or target.item_pos < source.item_pos:
        return None
    return f"{_quote(key)} comes after this one in the same retrospective"


def _find_cycles(edges: dict[str, str]) -> list[list[str]]:
    """Cycles of a graph in which every node has at most one outgoing edge."""
    done: set[str] = set()
    cycles = []
    for start in edges:
        walk: dict[str, None] = {}  # an ordered set
        node = start
        while node in edges and node not in done and node not in walk:
            walk[node] = None
            node = edges[node]
        if node in walk:
            members = list(walk)
            cycles.append(members[members.index(node) :])
        done.update(walk)
    return cycles


# --- values --------------------------------------------------------------------------------


def _string_problem(value: str, *, not_blank: bool, max_length: int | None, multiline: bool) -> str:
    if not_blank and not value.strip():
        return "must not be empty"
    if max_length is not None and len(value) > max_length:
        return f"is too long ({len(value)} characters; at most {max_length})"
    forbidden = (_MULTILINE_FORBIDDEN if multiline else _SINGLE_LINE_FORBIDDEN).search(value)
    if forbidden is None:
        return ""
    code = f"U+{ord(forbidden.group()):04X}"
    where = f"at character {forbidden.start() + 1}"
    if "\ud800" <= forbidden.group() <= "\udfff":
        return f"contains an unpaired surrogate ({code}) {where}, which is not valid Unicode"
    allowed = "only line breaks and tabs are allowed" if multiline else "it must be a single line"
    return f"contains the control character {code} {where}; {allowed}"


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    for kind, name in _TYPE_NAMES:
        if isinstance(value, kind):
            return name
    return f"a Python {type(value).__name__}"


def _quote(value: str) -> str:
    shown = value if len(value) <= _QUOTE_LIMIT else value[:_QUOTE_LIMIT] + "…"
    quoted = json.dumps(shown, ensure_ascii=False)
    return quoted.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates too
