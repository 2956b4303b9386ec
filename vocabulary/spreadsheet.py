"""A spreadsheet of retro items, one row per item, as a `recur-history/1` document.

Most teams' history lives in a sheet: a date, a team, what came up, and sometimes the fix
decided. :func:`read_spreadsheet` reads such a sheet (CSV, or the first sheet of an .xlsx
workbook) and returns the document an import of it would be, so that the import's own checks,
preview, idempotence and undo apply unchanged (docs/history-format.md, "Spreadsheets").

Pure: no Django. Decisions this module makes:

- The first row names the columns, in any order, by any of the names in :data:`COLUMNS`
  (case, spaces and punctuation do not matter). ``date``, ``team`` and ``item`` are required;
  a column with another name is ignored and named in no error, so a sheet's own notes can stay.
- Rows of one team and one date (and one ``retro`` title, when that column is there) are one
  retrospective; blank rows are skipped. Dates are ISO (2026-03-02), a spreadsheet's own
  date cells, written with the month's name ("2 March 2026"), or in numbers: "03/02/2026" is
  March in one country and February in another, so the sheet's other dates decide (one with
  a first number over 12 says the day comes first); when none does, the row is refused
  rather than guessed.
- A row's ``fix`` becomes an action for that row's item (its owner, due date, status and kind
  from the columns of the same name; no kind: inferred at import, as for any file).
- Keys are made from what the row says (team, date, item text and how many identical items
  came before it in that retro), not from its position: the same sheet imported twice, sorted
  differently or with rows added, creates only what is new.
- Every problem is reported with its row number, as the sheet shows it, before anything is
  returned: all or nothing, like the file import.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import Any, Final

from vocabulary import limits
from vocabulary.history import ACTION_STATUSES, FIX_KIND_SLUGS, FORMAT, ITEM_TYPES

# Column -> the header names it is recognised by (compared without case, spaces or punctuation).
COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "date": ("date", "day", "held on", "retro date", "when"),
    "team": ("team", "squad"),
    "retro": ("retro", "retrospective", "title", "sprint"),
    "item": ("item", "text", "issue", "what came up", "problem", "note"),
    "column": ("column", "category", "lane"),
    "type": ("type", "item type"),
    "votes": ("votes", "dots"),
    "fix": ("fix", "action", "action item", "what we will do"),
    "owner": ("owner", "action owner", "who"),
    "due": ("due", "due on", "due date"),
    "status": ("status", "fix status", "action status"),
    "kind": ("kind", "fix kind"),
}
REQUIRED: Final = ("date", "team", "item")
MAX_ROWS: Final = 50_000  # items; more are refused (read no further than one over)
MAX_COLUMNS: Final = 100
_ERRORS_SHOWN: Final = 20
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMERIC = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


class SpreadsheetError(ValueError):
    """What is wrong with a sheet: one line per problem, each naming its row."""

    def __init__(self, errors: Sequence[str], omitted: int = 0) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)
        self.omitted = omitted


def is_spreadsheet(filename: str) -> bool:
    return filename.lower().endswith((".csv", ".xlsx"))


def read_spreadsheet(
    raw: bytes, filename: str, *, organization: str, today: date | None = None
) -> dict[str, Any]:
    """The `recur-history/1` document of a CSV or .xlsx sheet (not yet validated by
    :func:`vocabulary.history.parse_history`, which the import runs on it)."""
    if filename.lower().endswith(".xlsx"):
        rows = _xlsx_rows(raw)
    else:
        rows = _csv_rows(raw)
    return document_from_rows(rows, organization=organization, today=today)


def _csv_rows(raw: bytes) -> list[list[Any]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpreadsheetError(
            ["the file is not UTF-8 text: save it as “CSV UTF-8” and upload it again"]
        ) from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    return [list(row) for row in islice(csv.reader(io.StringIO(text), dialect), MAX_ROWS + 2)]


def _xlsx_rows(raw: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook  # only for .xlsx uploads

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise SpreadsheetError(
            ["the file is not an Excel workbook (.xlsx): save it as .xlsx or as CSV UTF-8"]
        ) from None
    try:
        sheet = book.worksheets[0]
        # Bounded: a workbook is compressed, and its size says little about its rows.
        rows = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)
        return [list(row) for row in islice(rows, MAX_ROWS + 2)]
    finally:
        book.close()


def _normal(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name or "").casefold())


_BY_NAME: Final = {_normal(alias): column for column, names in COLUMNS.items() for alias in names}


@dataclass
class _Row:
    number: int  # as the sheet numbers it (the header is row 1)
    values: dict[str, Any]

    def text(self, column: str) -> str:
        value = self.values.get(column)
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()


def document_from_rows(
    rows: Sequence[Sequence[Any]], *, organization: str, today: date | None = None
) -> dict[str, Any]:
    """The document of a sheet's rows, the first naming the columns."""
    header_at = next((i for i, row in enumerate(rows) if any(_filled(v) for v in row)), None)
    if header_at is None:
        raise SpreadsheetError(["the sheet is empty: its first row names the columns"])
    columns = _columns(rows[header_at])
    body = [
        _Row(header_at + 2 + i, {c: row[j] for j, c in columns.items() if j < len(row)})
        for i, row in enumerate(rows[header_at + 1 :])
        if any(_filled(v) for v in row)
    ]
    if not body:
        raise SpreadsheetError(["the sheet has a header row but no items under it"])
    if len(body) > MAX_ROWS:
        raise SpreadsheetError(
            [f"the sheet has more than {MAX_ROWS:,} items: split it into smaller sheets"]
        )
    today = today or date.today()
    day_first = _day_first(body)
    errors: list[str] = []
    retros: dict[tuple[str, date, str], dict[str, Any]] = {}
    teams: dict[str, str] = {}  # casefolded name -> the name as first written
    seen: Counter[tuple[tuple[str, date, str], str]] = Counter()
    for row in body:
        problems: list[str] = []
        held_on = _date(row, "date", today, problems, required=True, day_first=day_first)
        team = row.text("team")
        text = row.text("item")
        if not team:
            problems.append("the team is empty")
        elif len(team) > limits.TEAM_NAME_MAX:
            problems.append(f"the team name is longer than {limits.TEAM_NAME_MAX} characters")
        if not text:
            problems.append("the item is empty")
        elif len(text) > limits.TEXT_MAX:
            problems.append(f"the item is longer than {limits.TEXT_MAX:,} characters")
        title = row.text("retro")[: limits.TITLE_MAX]
        item: dict[str, Any] = {"text": text}
        _optional_item_fields(row, item, problems)
        action = _action(row, today, problems, day_first)
        if problems:
            errors += [f"row {row.number}: {p}" for p in problems]
            continue
        assert held_on is not None
        team = teams.setdefault(team.casefold(), team)
        where = (team.casefold(), held_on, title)
        retro = retros.setdefault(
            where,
            {
                "key": _key("retro", team.casefold(), held_on.isoformat(), title),
                "team": _key("team", team.casefold()),
                "held_on": held_on.isoformat(),
                **({"title": title} if title else {}),
                "items": [],
                "actions": [],
            },
        )
        seen[where, text] += 1
        item["key"] = _key("item", retro["key"], text, str(seen[where, text]))
        retro["items"].append(item)
        if action is not None:
            action["key"] = _key("action", item["key"], action["text"])
            action["item"] = item["key"]
            retro["actions"].append(action)
    if errors:
        raise SpreadsheetError(errors[:_ERRORS_SHOWN], omitted=max(0, len(errors) - _ERRORS_SHOWN))
    return {
        "format": FORMAT,
        "organization": organization,
        "teams": [{"key": _key("team", k), "name": name} for k, name in teams.items()],
        "retrospectives": sorted(retros.values(), key=lambda r: (r["held_on"], r["key"])),
    }


def _columns(header: Sequence[Any]) -> dict[int, str]:
    columns: dict[int, str] = {}
    for index, name in enumerate(header):
        column = _BY_NAME.get(_normal(name))
        if column is not None and column not in columns.values():
            columns[index] = column
    missing = [c for c in REQUIRED if c not in columns.values()]
    if missing:
        named = ", ".join(f"“{c}”" for c in missing)
        found = ", ".join(f"“{str(v).strip()}”" for v in header if _filled(v)) or "nothing"
        raise SpreadsheetError(
            [
                f"the first row must name the columns {named} (it names {found}); "
                "the other columns Recur reads are retro, column, type, votes, fix, owner, "
                "due, status and kind"
            ]
        )
    return columns


def _optional_item_fields(row: _Row, item: dict[str, Any], problems: list[str]) -> None:
    column = row.text("column")
    if column:
        item["column"] = column[: limits.TITLE_MAX]
    kind = row.text("type").casefold()
    if kind:
        if kind in ("went well", "praise", "glad", "kudos"):
            kind = "appreciation"
        if kind not in ITEM_TYPES:
            problems.append(f"type “{row.text('type')}” is not problem or appreciation")
        else:
            item["type"] = kind
    votes = row.text("votes")
    if votes:
        if votes.isascii() and votes.isdigit() and len(votes) <= 9:
            item["votes"] = int(votes)
        else:
            problems.append(f"votes “{votes}” is not a whole number")


def _action(
    row: _Row, today: date, problems: list[str], day_first: bool | None
) -> dict[str, Any] | None:
    text = row.text("fix")
    others = [c for c in ("owner", "due", "status", "kind") if row.text(c)]
    if not text:
        if others:
            problems.append(f"{others[0]} is given but the fix is empty")
        return None
    if len(text) > limits.TEXT_MAX:
        problems.append(f"the fix is longer than {limits.TEXT_MAX:,} characters")
    action: dict[str, Any] = {"text": text}
    owner = row.text("owner")
    if owner:
        action["owner"] = owner[: limits.OWNER_MAX]
    due = _date(row, "due", today, problems, required=False, day_first=day_first)
    if due is not None:
        action["due_on"] = due.isoformat()
    status = row.text("status").casefold()
    if status:
        status = {"closed": "done", "complete": "done", "completed": "done"}.get(status, status)
        if status not in ACTION_STATUSES:
            problems.append(f"status “{row.text('status')}” is not open, done or dropped")
        else:
            action["status"] = status
    kind = row.text("kind").casefold().replace(" ", "_")
    if kind:
        if kind not in FIX_KIND_SLUGS:
            problems.append(
                f"kind “{row.text('kind')}” is not a fix kind ({', '.join(FIX_KIND_SLUGS)})"
            )
        else:
            action["kind"] = kind
    return action


def _date(
    row: _Row,
    column: str,
    today: date,
    problems: list[str],
    *,
    required: bool,
    day_first: bool | None,
) -> date | None:
    value = row.values.get(column)
    if isinstance(value, datetime):
        value = value.date()
    text = row.text(column)
    found = value if isinstance(value, date) else _text_date(text, day_first)
    if found is None:
        numeric = _NUMERIC.fullmatch(text)
        if numeric and day_first is None and _text_date(text, True) and _text_date(text, False):
            first, second = numeric.groups()[:2]
            problems.append(
                f"the {column} “{text}” could be day {int(first)} or day {int(second)} of the "
                "month, and no date in the sheet says which comes first (one with a day over "
                "12 would): write dates year first, as 2026-03-02, or make the cells dates"
            )
        elif text:
            problems.append(
                f"the {column} “{text}” is not a date: write it year first, as 2026-03-02, "
                "or as 2 March 2026, or make the cells dates"
            )
        elif required:
            problems.append(f"the {column} is empty")
        return None
    outside = limits.date_problem(found, today=today)
    if outside:
        problems.append(f"the {column} {outside}")
        return None
    return found


def _text_date(text: str, day_first: bool | None) -> date | None:
    """A date written out: ISO; with the month's name ("2 March 2026", "Mar 2, 2026",
    "02-Mar-2026"); or in numbers, day and month in the order the sheet's dates show
    (`day_first`; None: only when both readings agree)."""
    if _ISO.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:  # 2026-02-30
            return None
    numeric = _NUMERIC.fullmatch(text)
    if numeric:
        first, second, year = (int(part) for part in numeric.groups())
        readings = {True: _valid(year, second, first), False: _valid(year, first, second)}
        if day_first is not None:
            return readings[day_first]
        found = {d for d in readings.values() if d is not None}
        return found.pop() if len(found) == 1 else None  # the only one, or both alike
    named = " ".join(text.replace(",", " ").replace("-", " ").split())
    for pattern in ("%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y"):
        try:
            return datetime.strptime(named, pattern).date()
        except ValueError:
            continue
    return None


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _day_first(rows: Sequence[_Row]) -> bool | None:
    """Which comes first in the sheet's numeric dates (03/02/2026): the day when some date
    has a first number over 12 and none a second one over 12, the month in the opposite
    case; None when no date says, or dates say both."""
    firsts = seconds = False
    for row in rows:
        for column in ("date", "due"):
            numeric = _NUMERIC.fullmatch(row.text(column))
            if numeric:
                firsts |= int(numeric.group(1)) > 12
                seconds |= int(numeric.group(2)) > 12
    return firsts if firsts != seconds else None


def _filled(value: object) -> bool:
    return value is not None and str(value).strip() != ""


def _key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"sheet-{kind}-{digest[:20]}"
