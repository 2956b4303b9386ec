"""Pieces of raw SQL that PostgreSQL and SQLite both run."""

from __future__ import annotations

from collections.abc import Sequence


def among(ids: Sequence[int], *, vendor: str) -> tuple[str, list[int] | list[list[int]]]:
    """``column {among}`` for a non-empty list of ids, and its parameters. On PostgreSQL
    one array parameter (``= ANY(%s)``): the statement's text stays the same whatever the
    number of ids, so psycopg parses it once (with 80 placeholders it parses it each time,
    0.6 ms); elsewhere one placeholder per id."""
    if vendor == "postgresql":
        return "= ANY(%s)", [list(ids)]
    return "IN ({})".format(", ".join(["%s"] * len(ids))), list(ids)
