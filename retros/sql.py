"""Pieces of raw SQL that PostgreSQL and SQLite both run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections
from django.db.models import Field, ForeignKey, Model, QuerySet
from django.db.models.expressions import Col


def among(ids: Sequence[int], *, vendor: str) -> tuple[str, list[int] | list[list[int]]]:
    """``column {among}`` for a non-empty list of ids, and its parameters. On PostgreSQL
    one array parameter (``= ANY(%s)``): the statement's text stays the same whatever the
    number of ids, so psycopg parses it once (with 80 placeholders it parses it each time,
    0.6 ms); elsewhere one placeholder per id."""
    if vendor == "postgresql":
        return "= ANY(%s)", [list(ids)]
    return "IN ({})".format(", ".join(["%s"] * len(ids))), list(ids)


class JoinedRow[M: Model]:
    """One model's row with the rows its foreign keys point to, read in one statement whose
    text is built once from the models' metadata (what ``select_related`` reads).

    The ORM builds and compiles a lookup's SQL anew on every request: for a retro with its
    team and facilitator, 1.9-2.3 ms of a request, against 0.6 ms for the same row read
    here with the same instances built (``Model.from_db``, every field's database converters
    applied, so dates and times are the same objects on SQLite as on PostgreSQL). For the
    lookups every page makes; anything with conditions of its own stays with the ORM."""

    def __init__(
        self, model: type[M], related: Sequence[str] = (), *, also: tuple[str, str] | None = None
    ) -> None:
        """``related``: foreign keys of ``model`` whose rows come with it; ``also``: one more
        column and the join it needs (``(column, join)``), read after the models' columns."""
        self.model = model
        # Per model read: its fields, their attribute names, where its key is, its name on M.
        self._parts: list[tuple[type[Model], list[Field[Any, Any]], list[str], int, str | None]]
        self._parts = []
        columns: list[str] = []
        joins = [f'FROM "{model._meta.db_table}" t0']
        self._add(model, columns, "t0", None)
        for number, name in enumerate(related, start=1):
            foreign = model._meta.get_field(name)
            if not isinstance(foreign, ForeignKey):
                raise ValueError(f"{model.__name__}.{name} is not a foreign key")
            target = foreign.related_model
            assert isinstance(target, type)
            alias = f"t{number}"
            join = "LEFT OUTER JOIN" if foreign.null else "INNER JOIN"
            joins.append(
                f'{join} "{target._meta.db_table}" {alias}'
                f' ON {alias}."{foreign.target_field.column}" = t0."{foreign.column}"'
            )
            self._add(target, columns, alias, name)
        if also is not None:
            columns.append(also[0])
            joins.append(also[1])
        self.select = "SELECT " + ", ".join(columns) + " " + " ".join(joins)
        self._converters: dict[str, list[tuple[int, list[Any], Col]]] = {}

    def _add(self, model: type[Model], columns: list[str], alias: str, name: str | None) -> None:
        fields = list(model._meta.concrete_fields)
        columns.extend(f'{alias}."{f.column}"' for f in fields)
        attnames = [f.attname for f in fields]
        self._parts.append((model, fields, attnames, fields.index(model._meta.pk), name))

    def one(self, where: str, params: Sequence[Any], *, using: str = "default") -> M | None:
        """The row matching ``where`` (columns of the model as ``t0."column"``), or None."""
        rows = self.rows(where, params, using=using)
        return self.build(rows[0], using=using) if rows else None

    def rows(self, where: str, params: Sequence[Any], *, using: str = "default") -> list[Any]:
        """The rows matching ``where``, as the database gives them (:meth:`build` makes the
        instances of one)."""
        with connections[using].cursor() as cursor:
            cursor.execute(f"{self.select} WHERE {where}", list(params))
            return cursor.fetchall()

    def build(self, row: Sequence[Any], *, using: str = "default") -> M:
        """The instances of one row of :attr:`select` (extra columns after them ignored)."""
        connection = connections[using]
        prepared = self._converters.get(using)
        if prepared is None:
            prepared = self._converters[using] = [
                (at, converters, column)
                for at, column in enumerate(
                    Col(f"t{number}", f)
                    for number, (_model, fields, *_rest) in enumerate(self._parts)
                    for f in fields
                )
                if (
                    converters := connection.ops.get_db_converters(column)
                    + column.get_db_converters(connection)
                )
            ]
        values = list(row)
        for at, converters, column in prepared:
            value = values[at]
            for converter in converters:
                value = converter(value, column, connection)
            values[at] = value
        start = 0
        instances: list[Model | None] = []
        for model, _fields, attnames, pk_at, _name in self._parts:
            own = values[start : start + len(attnames)]
            start += len(attnames)
            if own[pk_at] is None:  # a nullable foreign key pointing at nothing
                instances.append(None)
                continue
            instances.append(model.from_db(using, attnames, own))
        main = instances[0]
        assert isinstance(main, self.model)
        for part, instance in zip(self._parts[1:], instances[1:], strict=True):
            setattr(main, str(part[-1]), instance)
        return main


class Prepared:
    """A query the ORM defines, compiled once per database and run with new values.

    The ORM builds and compiles a queryset's SQL anew each time (1.6 ms for the two reads a
    matcher index makes after every write). ``build`` makes the queryset from keyword
    values; it is compiled once with a marker number in place of each value, and each run
    puts the values where the markers stand. Every value must reach the SQL as one
    parameter of its own (a comparison with a column), which compiling checks."""

    def __init__(self, build: Callable[..., QuerySet[Any, Any]], *names: str) -> None:
        self._build = build
        self._names = names
        self._compiled: dict[str, tuple[str, list[Any], list[int | None]]] = {}

    def _compile(self, using: str) -> tuple[str, list[Any], list[int | None]]:
        compiled = self._compiled.get(using)
        if compiled is None:
            markers = {name: _MARKER - number for number, name in enumerate(self._names)}
            query = self._build(**markers).query
            sql, params = query.get_compiler(using=using).as_sql()
            slots = [
                self._names.index(name) if (name := _marked(value, markers)) else None
                for value in params
            ]
            found = sorted(slot for slot in slots if slot is not None)
            if found != list(range(len(self._names))):
                raise ValueError(f"each of {self._names} must be one parameter of the query")
            compiled = self._compiled[using] = (sql, list(params), slots)
        return compiled

    def rows(self, *, using: str = "default", **values: Any) -> list[Any]:
        """The query's rows (tuples, as the database gives them) for these values."""
        sql, params, slots = self._compile(using)
        ordered = [values[name] for name in self._names]
        bound = [
            p if slot is None else ordered[slot] for p, slot in zip(params, slots, strict=True)
        ]
        with connections[using].cursor() as cursor:
            cursor.execute(sql, bound)
            return cursor.fetchall()


#: Numbers no id takes, standing for a :class:`Prepared` query's values while compiling it.
_MARKER = -(2**62)


def _marked(value: Any, markers: dict[str, int]) -> str | None:
    if type(value) is not int:
        return None
    return next((name for name, marker in markers.items() if marker == value), None)
