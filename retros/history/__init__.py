"""The `recur-history/1` exchange format: parse and validate (schema), later import and export."""

from retros.history.schema import (
    FIX_KIND_SLUGS,
    FORMAT,
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
    retrospectives_in_date_order,
)

__all__ = [
    "FIX_KIND_SLUGS",
    "FORMAT",
    "ActionRecord",
    "HistoryDocument",
    "HistoryError",
    "HistoryValidationError",
    "ItemRecord",
    "RetroRecord",
    "TeamRecord",
    "dump_history",
    "iter_items_in_date_order",
    "parse_history",
    "retrospectives_in_date_order",
]
