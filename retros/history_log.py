"""Saving a tracked row with its author in the change history, one row at a time or, for
work that creates thousands at once (an import), in bulk.

django-simple-history writes a history row after every save, one insert each, and builds a
manager class to do it: an import of 10,000 items spent about a third of its time there.
Within :func:`batched`, a row saved for the first time through :func:`save` gets its
"created" history row when the block ends, together with the others of its model (one
insert per model and batch), as of the moment it was saved: same author, date and values.
Later saves of the same row inside the block are recorded at once, as outside it.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

_created: ContextVar[list[Model] | None] = ContextVar("recur_history_created", default=None)

#: History rows per insert when a batch is written.
BATCH_SIZE = 1000


def save(instance: Any, user: Any = None, **kwargs: Any) -> None:
    """Save with `user` as the history author, also outside a request."""
    instance._history_user = user
    created = _created.get()
    if created is None or not instance._state.adding:
        instance.save(**kwargs)
        return
    instance.skip_history_when_saving = True
    try:
        instance.save(**kwargs)
    finally:
        del instance.skip_history_when_saving
    _defer(created, [instance])


def create_all(objs: list[Any], user: Any = None) -> None:
    """Create rows of one model together (one insert), each with its "created" history row
    (one insert more, or at the end of the batch block it is in). Outside a transaction the
    rows and their history commit together, once."""
    if not objs:
        return
    for obj in objs:
        obj._history_user = user
    with transaction.atomic(savepoint=False):
        type(objs[0]).objects.bulk_create(objs)
        created = _created.get()
        if created is None:
            _write(objs)
        else:
            _defer(created, objs)


def _defer(created: list[Model], objs: list[Any]) -> None:
    """Keep the rows as saved (whatever changes the instances later), dated now."""
    now = timezone.now()
    for obj in objs:
        snapshot = copy.copy(obj)
        snapshot._history_date = now
        created.append(snapshot)


@contextmanager
def batched() -> Iterator[None]:
    """Write the "created" history rows of what :func:`save` creates inside the block when
    it ends (inside the caller's transaction: an import that fails leaves neither)."""
    if _created.get() is not None:  # already batching: the outer block writes them
        yield
        return
    token = _created.set([])
    try:
        yield
        _write(_created.get() or [])
    finally:
        _created.reset(token)


def _write(rows: list[Model]) -> None:
    by_model: dict[type[Model], list[Model]] = defaultdict(list)
    for row in rows:
        by_model[type(row)].append(row)
    for model, objs in by_model.items():
        model.history.bulk_history_create(objs, batch_size=BATCH_SIZE)  # type: ignore[attr-defined]
