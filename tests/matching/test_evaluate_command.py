import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.matching.test_evaluation import RANKING_FIELDS, _history

pytestmark = pytest.mark.evaluation

FIELDS = [
    *RANKING_FIELDS,
    "lexical_top3",
    "queued_or_linked",
    "queue_precision",
    "autolink_precision",
    "links",
    "queued",
    "fixes_labelled",
    "kind_accuracy",
    "nature_accuracy",
    "items_typed",
    "type_accuracy",
]


def _write(tmp_path, name, document):
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def _run(*paths, capsys):
    call_command("evaluate_matching", *map(str, paths))
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_it_prints_one_json_line_per_file(tmp_path, capsys):
    first = _write(tmp_path, "tiny.history.json", _history())
    second = _write(tmp_path, "again.history.json", _history())

    lines = _run(first, second, capsys=capsys)

    assert [line["file"] for line in lines] == ["tiny.history.json", "again.history.json"]
    for line in lines:
        assert list(line) == FIELDS
        assert line["recurrences"] == 2
        assert line["top1"] == line["top3"] == line["mrr"] == 1.0
        assert line["p95_ms"] > 0
        assert 0.0 <= line["lexical_top3"] <= 1.0
        assert line["fixes_labelled"] == 1
        assert line["kind_accuracy"] in (0.0, 1.0)


def test_it_measures_a_held_out_history(capsys):
    from tests.matching.test_evaluation import HELD_OUT

    (line,) = _run(HELD_OUT[0], capsys=capsys)

    assert line["recurrences"] >= 30
    assert line["top3"] >= line["lexical_top3"]


def test_an_invalid_file_stops_it_with_the_problems_and_nothing_printed(tmp_path, capsys):
    good = _write(tmp_path, "good.history.json", _history())
    document = _history()
    document["retrospectives"][0]["items"][0]["same_as"] = "nowhere"
    bad = _write(tmp_path, "bad.history.json", document)

    with pytest.raises(CommandError) as error:
        call_command("evaluate_matching", str(good), str(bad))

    message = str(error.value)
    assert "bad.history.json is not a valid recur-history/1 file" in message
    assert "same_as" in message and "nowhere" in message
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not a valid recur-history/1 file"),
        ('{"format": "recur-history/9"}', "format"),
    ],
)
def test_it_refuses_what_is_not_a_history(tmp_path, content, expected):
    path = _write(tmp_path, "odd.json", content)

    with pytest.raises(CommandError, match=expected):
        call_command("evaluate_matching", str(path))


def test_it_names_a_file_it_cannot_read(tmp_path):
    missing = tmp_path / "missing.history.json"

    with pytest.raises(CommandError, match=r"Cannot read .*missing\.history\.json"):
        call_command("evaluate_matching", str(missing))


def test_it_needs_at_least_one_file():
    with pytest.raises(CommandError):
        call_command("evaluate_matching")
