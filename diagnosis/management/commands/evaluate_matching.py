"""python manage.py evaluate_matching FILE [FILE ...]"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vocabulary.history import HistoryValidationError, dump_history, parse_history

#: What each output line holds, in this order.
FIELDS = ("file", "recurrences", "top1", "top3", "mrr", "p95_ms", "lexical_top3")
IMPORT_FIELDS = ("queued_or_linked", "queue_precision", "autolink_precision", "links", "queued")
KIND_FIELDS = ("fixes_labelled", "kind_accuracy", "nature_accuracy")
TYPE_FIELDS = ("items_typed", "type_accuracy")


class Command(BaseCommand):
    help = (
        "Measure recurrence suggestions on recur-history/1 files. Each file is validated, then "
        "replayed in date order into a scratch organisation held in memory (nothing is "
        "written to the database): issues are built from the file's same_as links, and for "
        "every item that recurs the matcher ranks the issues raised before it. The replay "
        "ranks with the production code path of suggest() (the same in-memory issue index, "
        "candidate pool, weights and rank()); only the issue context (teams, dates, fixes) "
        "comes from the file instead of the database. Prints one JSON line per file: "
        "recurrences, top-1 and top-3 rate of the true earlier issue, MRR, p95 latency in ms "
        "(embedding the text included) and the top-3 rate of trigram similarity alone; then, "
        "replaying the import with every same_as and kind removed: the share of true "
        "recurrences linked or queued with their true issue (queued_or_linked), the share of "
        "queued pairs and of automatic links that are right, and how often the kind inferred "
        "from each action's text equals the file's kind (kind_accuracy) and falls on the "
        "same side of the band-aid line (nature_accuracy); and how often the type read from an "
        "item's column and text (problem or appreciation) equals the file's (type_accuracy)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="recur-history/1 file")
        parser.add_argument(
            "--write-centre",
            action="store_true",
            help="instead of measuring, store the mean vector of every item of the files as "
            "the matcher's centring direction (see matching.centring)",
        )
        parser.add_argument(
            "--centre-file",
            type=Path,
            default=None,
            help="where --write-centre writes (default: matching/centre.json)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        documents = [(Path(name).name, _validated(name)) for name in options["files"]]
        if options["write_centre"]:
            self._write_centre([document for _, document in documents], options["centre_file"])
            return
        from diagnosis.evaluation import fix_kind_scores
        from matching.embedding import EmbeddingUnavailable
        from matching.evaluation import evaluate_import, evaluate_suggestions, item_type_scores

        for name, document in documents:
            try:
                result = evaluate_suggestions(document, name=name)
                imported = evaluate_import(document)
            except EmbeddingUnavailable as error:
                raise CommandError(str(error)) from None
            kinds = fix_kind_scores(document)
            line = {key: result[key] for key in FIELDS}
            line.update({key: imported[key] for key in IMPORT_FIELDS})
            line.update({key: kinds[key] for key in KIND_FIELDS})
            types = item_type_scores(document)
            line.update({key: types[key] for key in TYPE_FIELDS})
            self.stdout.write(json.dumps(line))

    def _write_centre(self, documents: list[dict[str, Any]], path: Path | None) -> None:
        from matching import centring, embedding
        from matching.evaluation import load_history

        texts = [
            item.text
            for document in documents
            for retro in load_history(document)[1]
            for item in retro.items
        ]
        try:
            vectors = embedding.encode(texts)
        except embedding.EmbeddingUnavailable as error:
            raise CommandError(str(error)) from None
        path = path or centring.CENTRE_FILE
        centring.write(centring.compute(vectors), len(texts), path)
        self.stdout.write(f"Wrote {path.name}: the mean of {len(texts)} items.")


def _validated(name: str) -> dict[str, Any]:
    """The canonical form of a valid history file; CommandError naming the file otherwise."""
    path = Path(name)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise CommandError(f"Cannot read {name}: {error.strerror or error}") from None
    try:
        document = parse_history(raw)
    except HistoryValidationError as error:
        raise CommandError(
            f"{name} is not a valid recur-history/1 file. {error.summary()}"
        ) from None
    return dump_history(document)
