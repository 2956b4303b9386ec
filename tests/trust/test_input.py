"""Hostile and unusual input: markup and template syntax are shown as text everywhere,
spreadsheet formulas are neutralised in CSV, any Unicode survives create → page → export →
import, and malformed import files are refused whole with a clear message."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from diagnosis.digest import build_digest, digest_message
from diagnosis.exports import csv_safe
from diagnosis.models import Finding, Hypothesis
from diagnosis.services import finding_recompute_many
from retros import services
from retros.importing import history_export, history_import
from retros.models import (
    Fix,
    ImportJob,
    Issue,
    Occurrence,
    Organization,
    Retrospective,
    Role,
    Team,
)
from tests import rows
from tests.factories import MembershipFactory, UserFactory, signed_in_client
from tests.trust.conftest import build_objects
from tests.trust.matrix import KWARG_OBJECTS, url_entries
from tests.trust.test_access_matrix import POLICIES
from vocabulary.history import HistoryValidationError

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

PAYLOAD = "<script>alert(1)</script>{{ request }}{% debug %}\"'><img src=x onerror=alert(2)>"
RAW = ("<script>alert(", "<img src=x onerror")
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def assert_shown_as_text(body: str, where: str, *, shown: bool = True) -> None:
    for raw in RAW:
        assert raw not in body, f"{where}: unescaped markup {raw!r}"
    # Template syntax in data is never evaluated: no request repr, no debug dump.
    assert "WSGIRequest" not in body and "sql_queries" not in body, where
    if shown:
        assert ESCAPED in body, f"{where}: the text is not shown (escaped) at all"
        assert "{{ request }}" in body and "{% debug %}" in body, where


@pytest.fixture
def hostile(db):
    """An organisation whose every text is hostile markup, and its admin (staff)."""
    org = Organization.objects.create(name=f"Hostile {PAYLOAD}")
    team = Team.objects.create(organization=org, name="Ops")
    admin = MembershipFactory(
        organization=org,
        role=Role.ADMIN,
        user=UserFactory(username="hazel", first_name=PAYLOAD[:150], is_staff=True),
        teams=[team],
    ).user
    objects = build_objects(org, team, admin, marker=PAYLOAD)
    return objects, signed_in_client(admin)


def _readable_urls(objects) -> list[tuple[str, str]]:
    urls = []
    for entry in url_entries():
        policy = POLICIES.get(entry.name)
        if policy is None or policy.read is None or "admin" not in policy.read:
            continue
        if 200 not in policy.get_ok:  # sends people on (home, first run): no page of its own
            continue
        if entry.name in {"home", "healthz", "login"}:
            continue
        kwargs = {k: getattr(objects, KWARG_OBJECTS[k]).pk for k in entry.kwargs}
        urls.append((entry.name, reverse(entry.name, kwargs=kwargs)))
    return urls


def test_markup_and_template_syntax_are_shown_as_text_on_every_page(hostile):
    objects, client = hostile
    services.retro_close(retro=objects.retro, user=None)  # the summary shows too
    not_html = {"diagnosis:export_csv", "diagnosis:export_json", "retros:live_stream"}
    checked = 0
    for name, url in _readable_urls(objects):
        headers = {"HX-Request": "true"} if POLICIES[name].headers else {}
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (name, response.status_code)
        body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode()
        if name in not_html:
            assert not response["Content-Type"].startswith("text/html")
            continue
        # Fragments (htmx) may show no object text; full pages always show the organisation.
        assert_shown_as_text(body, name, shown=not headers)
        checked += 1
    assert checked >= 15


def test_the_json_export_keeps_the_text_exact_for_the_receiving_program(hostile):
    objects, client = hostile
    finding_recompute_many([objects.issue.pk])
    response = client.get(reverse("diagnosis:export_json"))
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"  # never sniffed as HTML
    assert json.loads(response.content)["organization"] == objects.org.name


ADMIN_MODELS = [
    "retros/organization",
    "retros/team",
    "retros/membership",
    "retros/retrospective",
    "retros/issue",
    "retros/occurrence",
    "retros/fix",
    "auth/user",
]


def test_markup_is_escaped_in_the_admin_lists_change_forms_and_histories(hostile):
    objects, client = hostile
    services.issue_rename(issue=objects.issue, title=f"Renamed {PAYLOAD}", user=None)
    for model in ADMIN_MODELS:
        changelist = client.get(f"/{_admin()}{model}/")
        assert changelist.status_code == 200, model
        assert_shown_as_text(changelist.content.decode(), f"admin {model} list")
    for model, obj in [
        ("retros/team", objects.team),
        ("retros/retrospective", objects.retro),
        ("retros/issue", objects.issue),
        ("retros/occurrence", objects.occurrence),
        ("retros/fix", objects.fix),
    ]:
        change = client.get(f"/{_admin()}{model}/{obj.pk}/change/")
        assert change.status_code == 200, model
        assert_shown_as_text(change.content.decode(), f"admin {model} change", shown=False)
        assert "&lt;script&gt;" in change.content.decode()
    for model, obj in [("retros/issue", objects.issue), ("retros/fix", objects.fix)]:
        history = client.get(f"/{_admin()}{model}/{obj.pk}/history/")
        assert history.status_code == 200, model
        assert_shown_as_text(history.content.decode(), f"admin {model} history", shown=False)


def _admin() -> str:
    from django.conf import settings

    return settings.ADMIN_PATH


def test_the_markdown_summary_escapes_markup_so_it_renders_as_text(hostile):
    from retros import selectors

    objects, _ = hostile
    services.retro_close(retro=objects.retro, user=None)
    summary = selectors.retro_summary(selectors.retro_board(objects.retro))
    assert "<script>" not in summary.markdown
    assert not re.search(r"(?<!\\)[<>]", summary.markdown.split("\n", 1)[1])
    assert r"\<script\>alert(1)\</script\>" in summary.markdown


def test_the_digest_email_escapes_markup_in_html_and_keeps_one_line_subjects(hostile):
    objects, _ = hostile
    objects.fix.due_on = timezone.localdate() + dt.timedelta(days=2)
    objects.fix.save(update_fields=["due_on"])
    digest = build_digest(objects.org)
    assert digest.fixes_due, "the hostile fix should be due in the digest"
    message = digest_message(digest, to="lee@example.com", name=PAYLOAD)
    html = message.alternatives[0].content
    assert_shown_as_text(html, "digest html")
    assert "\n" not in message.subject and "\r" not in message.subject
    message.send()
    assert len(mail.outbox) == 1


# --- CSV ---------------------------------------------------------------------------------------


def _band_aid_loop(org: Organization, team: Team, title: str) -> Issue:
    """An issue raised three times with a band-aid fix after each of the first two raisings:
    the engine flags it."""
    today = timezone.localdate()
    issue = Issue.objects.create(organization=org, title=title)
    for days, kind in ((150, "meeting"), (100, "process"), (40, None)):
        held_on = today - dt.timedelta(days=days)
        retro = Retrospective.objects.create(organization=org, team=team, held_on=held_on)
        Occurrence.objects.create(
            organization=org, issue=issue, retro=retro, team=team, held_on=held_on, text=title
        )
        if kind:
            Fix.objects.create(
                organization=org,
                issue=issue,
                retro=retro,
                team=team,
                decided_on=held_on,
                text=f"{title} fix",
                kind=kind,
                status="done",
                completed_on=held_on + dt.timedelta(days=7),
            )
    services.issue_refresh_stats(issue_ids=[issue.pk])
    finding_recompute_many([issue.pk], today=today)
    return issue


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(start):
    assert csv_safe(f"{start}cmd|' /C calc'!A0") == f"'{start}cmd|' /C calc'!A0"
    assert csv_safe("Deploys break") == "Deploys break"


def test_the_dashboard_csv_export_neutralises_formulas_in_every_cell(cast):
    org = cast.org
    team = Team.objects.create(organization=org, name='=HYPERLINK("http://evil")')
    formulas = ['=HYPERLINK("http://evil","x")', "+1+cmd", "-2-cmd", "@SUM(A1)"]
    for formula in formulas:
        _band_aid_loop(org, team, formula)
    assert Finding.objects.filter(organization=org, flagged=True, is_current=True).count() == 4
    response = cast.clients["leader"].get(reverse("diagnosis:export_csv"))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1 + len(formulas)
    titles = {row[1] for row in rows[1:]}
    assert titles == {f"'{formula}" for formula in formulas}
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


# --- Unicode round trip ------------------------------------------------------------------------

UNICODE_TEXTS = [
    "النشر يتعطل كل أسبوع 🚀",  # Arabic, right to left, with an emoji
    "הפריסה נשברת שוב ושוב",  # Hebrew
    "Zoë's ‮ desrever‬ café — e\u0301 👩🏽‍💻 🏳️‍🌈",  # RLO override, combining mark, ZWJ
    "日本語のテキストと한국어",
]


def test_unicode_and_right_to_left_text_round_trips_through_pages_export_and_import(cast):
    client = cast.clients["facilitator"]
    retro = Retrospective.objects.create(organization=cast.org, team=cast.team, title="Ünïcode")
    for text in UNICODE_TEXTS:
        response = client.post(reverse("retros:occurrence_create", args=[retro.pk]), {"text": text})
        assert response.status_code == 302, response.content[:300]
    occurrence = Occurrence.objects.get(retro=retro, text=UNICODE_TEXTS[0])
    response = client.post(
        reverse("retros:fix_create", args=[occurrence.pk]),
        {"text": UNICODE_TEXTS[2], "kind": "coaching", "owner": "Zoë 🙂"},
    )
    assert response.status_code == 302
    board = client.get(reverse("retros:retro_board", args=[retro.pk])).content.decode()
    for text in UNICODE_TEXTS:
        assert text.replace("'", "&#x27;") in board

    document = json.loads(json.dumps(history_export(cast.org), ensure_ascii=False))
    document["organization"] = "Restored Northwind"
    history_import(json.dumps(document, ensure_ascii=False).encode("utf-8"))
    restored = Organization.objects.get(name="Restored Northwind")
    assert set(Occurrence.objects.filter(organization=restored).values_list("text", flat=True)) >= (
        set(UNICODE_TEXTS)
    )
    fix = Fix.objects.get(organization=restored, text=UNICODE_TEXTS[2])
    assert fix.owner == "Zoë 🙂" and fix.kind == "coaching"


# --- Malformed import files --------------------------------------------------------------------

VALID = {
    "format": "recur-history/1",
    "organization": "Imported Ltd",
    "teams": [{"key": "t", "name": "Team"}],
    "retrospectives": [
        {
            "key": "r1",
            "team": "t",
            "held_on": "2026-01-07",
            "items": [{"key": "i1", "text": "Builds are slow", "votes": 1}],
            "actions": [{"key": "a1", "item": "i1", "text": "Weekly sync", "kind": "meeting"}],
        },
        {
            "key": "r2",
            "team": "t",
            "held_on": "2026-01-21",
            "items": [{"key": "i2", "text": "Builds still slow", "same_as": "i1"}],
        },
    ],
}


def _with(path: list, value) -> bytes:
    doc = json.loads(json.dumps(VALID))
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return json.dumps(doc).encode()


MALFORMED = {
    "random bytes": bytes(range(256)) * 4,
    "not UTF-8": b'{"format": "recur-history/1", "organization": "\xff\xfe"}',
    "empty": b"",
    "truncated JSON": json.dumps(VALID).encode()[:-7],
    "deeply nested lists": b"[" * 100_000 + b"]" * 100_000,
    "deeply nested objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "a number with 5000 digits": _with(["retrospectives", 0, "items", 0, "votes"], 0).replace(
        b'"votes": 0', b'"votes": ' + b"9" * 5000
    ),
    "a huge vote count": _with(["retrospectives", 0, "items", 0, "votes"], 10**30),
    "an infinite vote count": _with(["retrospectives", 0, "items", 0, "votes"], 0).replace(
        b'"votes": 0', b'"votes": 1e400'
    ),
    "NaN": _with(["retrospectives", 0, "items", 0, "votes"], 0).replace(
        b'"votes": 0', b'"votes": NaN'
    ),
    "negative votes": _with(["retrospectives", 0, "items", 0, "votes"], -1),
    "teams as a string": _with(["teams"], "t"),
    "retrospectives as an object": _with(["retrospectives"], {"key": "r1"}),
    "text as a number": _with(["retrospectives", 0, "items", 0, "text"], 42),
    "a date as a number": _with(["retrospectives", 0, "held_on"], 20260107),
    "an impossible date": _with(["retrospectives", 0, "held_on"], "2026-02-30"),
    "a key as a list": _with(["retrospectives", 0, "items", 0, "key"], ["i1"]),
    "a control character": _with(["retrospectives", 0, "items", 0, "text"], "a\x00b"),
    "text too long": _with(["retrospectives", 0, "items", 0, "text"], "x" * 2001),
    "an unknown kind": _with(["retrospectives", 0, "actions", 0, "kind"], "magic"),
    "a list at the top": b"[]",
    "another format": _with(["format"], "recur-history/9"),
    # Valid up to the last retrospective: nothing of the first may be written either.
    "a bad reference at the end": _with(["retrospectives", 1, "items", 0, "same_as"], "nope"),
}


def row_counts() -> dict[str, int]:
    return rows.row_counts(ImportJob, Hypothesis)


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_import_files_are_refused_whole_with_a_clear_message(db, name):
    before = row_counts()
    with pytest.raises(HistoryValidationError) as refused:
        history_import(MALFORMED[name])
    message = str(refused.value)
    assert message.startswith("The history file has") and len(message) < 20_000
    assert "Traceback" not in message
    assert row_counts() == before


def test_malformed_uploads_in_the_browser_answer_400_and_start_nothing(cast):
    client = cast.clients["leader"]
    before = row_counts()
    for name, content in MALFORMED.items():
        upload = io.BytesIO(content)
        upload.name = "history.json"
        response = client.post(reverse("imports:start"), {"file": upload})
        assert response.status_code == 400, name
        assert response.context["errors"], name
    assert row_counts() == before


def test_an_import_that_fails_half_way_writes_nothing(db, monkeypatch):
    before = row_counts()
    real_save = Fix.save

    def failing_save(self, *args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Fix, "save", failing_save)  # the last rows the import writes
    with pytest.raises(RuntimeError):
        history_import(json.dumps(VALID))
    monkeypatch.setattr(Fix, "save", real_save)
    assert row_counts() == before
    history_import(json.dumps(VALID))
    assert Fix.objects.filter(organization__name="Imported Ltd").count() == 1


# --- Property-based: arbitrary input at every form and at history_import ----------------------

# The fields each endpoint reads. Every URL that takes a POST must be listed (an empty list
# when it reads none): a new form means saying which fields to throw input at.
POST_FIELDS: dict[str, list[str]] = {
    "login": ["username", "password"],
    "logout": [],
    "retros:organization_create": ["name"],
    "retros:retro_start": ["held_on", "title", "format"],
    "retros:retro_close": [],
    "retros:live_cards": ["text", "column"],
    "retros:live_settings": [
        "anonymity",
        "private_until_reveal",
        "vote_budget",
        "members_group",
    ],
    "retros:live_phase": ["phase", "reveal"],
    "retros:live_timer": ["minutes", "stop"],
    "retros:card_remove": [],
    "retros:card_restore": [],
    "retros:card_group": ["under"],
    "retros:card_vote": ["on"],
    "retros:live_review": ["review", "decision"],
    "retros:occurrence_create": ["text", "link_to", "item_type"],
    "retros:occurrence_edit": ["text"],
    "retros:occurrence_vote": ["delta"],
    "retros:occurrence_archive": [],
    "retros:occurrence_restore": [],
    "retros:occurrence_link": ["issue", "split", "next"],
    "retros:occurrence_review": ["review", "decision"],
    "retros:occurrence_type": ["item_type"],
    "retros:fix_create": ["text", "kind", "kind_source", "owner", "due_on"],
    "retros:fix_edit": ["text", "kind", "owner", "due_on", "next"],
    "retros:fix_outcome": ["outcome", "next"],
    "retros:fix_status": ["status", "next"],
    "retros:issue_rename": ["title"],
    "retros:issue_merge": ["target"],
    "retros:merge_undo": [],
    "review:decide": ["decision", "review", "single", "group", "page"],
    "review:undo": ["review", "page"],
    "imports:start": [],  # a file upload: see the history_import tests
    "imports:confirm": ["anyway"],
    "imports:undo": [],
    "diagnosis:digest_toggle": ["enabled"],
    "diagnosis:finding_acknowledge": [],
    "diagnosis:finding_confirm": ["confirm-category"],
    "diagnosis:finding_override": ["override-category", "override-note"],
    "diagnosis:finding_dismiss": ["dismiss-note"],
    "diagnosis:finding_restore": [],
    "diagnosis:finding_owner": ["owner-owner"],
    "diagnosis:finding_fix": ["fix-text", "fix-kind", "fix-team", "fix-owner", "fix-due_on"],
    "diagnosis:finding_group": ["group-hypothesis", "group-new_title"],
    "diagnosis:hypothesis_create": ["title", "description", "category"],
    "diagnosis:hypothesis_remove_issue": [],
}
# Query parameters read by pages and fragments.
GET_FIELDS: dict[str, list[str]] = {
    "retros:team_home": ["page", "issues_page"],
    "retros:retro_suggestions": ["text"],
    "retros:fix_kind_field": ["text", "kind", "kind_source", "prefix", "allow_blank"],
    "retros:occurrence_link": ["q", "next"],
    "retros:issue_list": ["page", "q", "show", "team", "sort"],
    "retros:issue_detail": ["merge_q"],
    "review:queue": ["page", "undo"],
    "diagnosis:overview": ["period", "team", "category", "page"],
    "diagnosis:export_csv": ["period", "team", "category"],
    "diagnosis:team_health": ["period", "page"],
    "diagnosis:hypothesis_list": ["page"],
}

INTERESTING = [
    "",
    " ",
    "0",
    "-1",
    "1",
    "99999999999999999999",
    "1:0.5",
    "1:nan",
    "1:inf",
    "x:y",
    "confirm:1",
    "2026-02-30",
    "2026-01-07",
    "1900-01-01",
    "confirm",
    "reject",
    "meeting",
    "coaching",
    "culture",
    "on",
    "done",
    "worked",
    "inferred",
    "\x00",
    "a\x00b",
    PAYLOAD,
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example",
    "x" * 2001,
    "١٢٣",
    "²",  # a digit to str.isdigit, not a number to int()
]


def _values():
    text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120)
    return st.one_of(text, st.sampled_from(INTERESTING), st.integers().map(str))


def _fuzzed(method: str) -> list[str]:
    fields = POST_FIELDS if method == "POST" else GET_FIELDS
    return sorted(name for name, names in fields.items() if names)


def _role_for(name: str, method: str) -> str:
    policy = POLICIES[name]
    allowed = (policy.write if method == "POST" else policy.read) or frozenset()
    for role in ("facilitator", "leader", "admin"):
        if role in allowed:
            return role
    raise AssertionError(f"nobody may {method} {name}")


def test_every_form_endpoint_lists_the_fields_it_reads():
    posting = {name for name, policy in POLICIES.items() if policy.write}
    missing = sorted(posting - POST_FIELDS.keys())
    assert not missing, "list the POST fields of: " + ", ".join(missing)
    assert not (POST_FIELDS.keys() - POLICIES.keys()), "POST_FIELDS names unknown URLs"
    assert not (GET_FIELDS.keys() - POLICIES.keys()), "GET_FIELDS names unknown URLs"


def _url(name: str, objects) -> str:
    entry = next(e for e in url_entries() if e.name == name)
    return reverse(name, kwargs={k: getattr(objects, KWARG_OBJECTS[k]).pk for k in entry.kwargs})


def _fuzz(world, name: str, method: str, data) -> None:
    objects = world.north
    client = world.clients[_role_for(name, method)]
    url = _url(name, objects)
    headers = dict(POLICIES[name].headers)
    fields = (POST_FIELDS if method == "POST" else GET_FIELDS)[name]

    # Hostile values in every field at once, always tried before the random ones.
    @settings(
        max_examples=40 if method == "POST" else 20,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @example(values=dict.fromkeys(fields, "a\x00b"))
    @example(values=dict.fromkeys(fields, PAYLOAD))
    @example(values=dict.fromkeys(fields, "x" * 2001))
    @example(values=dict.fromkeys(fields, "99999999999999999999"))
    @example(values=dict.fromkeys(fields, "²"))
    @given(values=data)
    def run(values):
        before = row_counts()
        if method == "POST":
            response = client.post(url, values, headers=headers)
        else:
            response = client.get(url, values, headers=headers)
        status = response.status_code
        assert status < 500
        if response.streaming:
            b"".join(response.streaming_content)
        if status == 302:
            location = response["Location"]
            assert location.startswith("/") and not location.startswith(("//", "/\\")), location
        if method == "POST" and status in (200, 400, 422):
            assert row_counts() == before, "a rejected input changed rows"
        if method == "GET":
            assert row_counts() == before, "a GET changed rows"

    run()


@pytest.mark.parametrize("name", _fuzzed("POST"))
def test_arbitrary_form_input_never_causes_a_server_error_or_a_partial_write(world, name):
    fields = POST_FIELDS[name]
    data = st.fixed_dictionaries({}, optional={field: _values() for field in fields})
    _fuzz(world, name, "POST", data)


@pytest.mark.parametrize("name", _fuzzed("GET"))
def test_arbitrary_query_parameters_never_cause_a_server_error(world, name):
    fields = GET_FIELDS[name]
    data = st.fixed_dictionaries({}, optional={field: _values() for field in fields})
    _fuzz(world, name, "GET", data)


def _json_values():
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=30),
        st.sampled_from(["t", "r1", "i1", "a1", "2026-01-07", "meeting", "done"]),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=12,
    )


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _paths(value, (*prefix, index))


VALID_PATHS = [path for path in _paths(VALID) if path]


def test_history_import_refuses_arbitrary_documents_whole_or_imports_them(db):
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        path=st.sampled_from(VALID_PATHS),
        value=_json_values(),
        whole=st.one_of(st.none(), _json_values(), st.binary(max_size=200)),
    )
    def run(path, value, whole):
        if whole is not None:
            data = whole if isinstance(whole, bytes) else json.dumps(whole)
        else:
            doc = json.loads(json.dumps(VALID))
            target = doc
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
            data = json.dumps(doc)
        before = row_counts()
        try:
            history_import(data, link_automatically=False)
        except HistoryValidationError as refused:
            assert refused.errors
            assert row_counts() == before

    run()
