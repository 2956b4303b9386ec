"""Every URL of the project against every role of two organisations.

POLICIES declares who may read (GET) and write (POST) each URL name. A URL without a
declared policy fails, and so does a URL keyword the matrix cannot fill: adding a view means
saying who may use it. The checks themselves are in tests/trust/matrix.py.
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.trust.conftest import EVERYONE
from tests.trust.matrix import Policy, check_url, url_entries

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ALL = EVERYONE
# Everyone who may facilitate somewhere: issues are organisation-wide, so these may change
# any issue of the organisation (retros.access.issue_for, merge_for).
FACILITATING = frozenset({"facilitator", "other_facilitator", "leader", "admin"})
# The world's objects belong to the team of `member` and `facilitator`; `other_facilitator`
# facilitates another team of the same organisation.
TEAM_READ = frozenset({"member", "facilitator", "leader", "admin"})
TEAM_WRITE = frozenset({"facilitator", "leader", "admin"})
LEADERS = frozenset({"leader", "admin"})
ANYONE = frozenset({*EVERYONE, "anonymous"})
HTMX = {"HX-Request": "true"}

POLICIES: dict[str, Policy] = {
    # --- the site ---------------------------------------------------------------------------
    "healthz": Policy(read=ANYONE, write=None, public=True),
    # Signed-in people are sent on from the login page; a POST without credentials re-shows it.
    "login": Policy(
        read=ANYONE,
        write=ANYONE,
        public=True,
        get_ok=frozenset({200, 302}),
        post_ok=frozenset({200, 302}),
    ),
    "logout": Policy(read=None, write=ALL, post_ok=frozenset({302})),
    "home": Policy(read=ALL, write=None, get_ok=frozenset({302})),
    # First run: only a superuser without an organisation sees the form; members go home.
    "retros:organization_create": Policy(
        read=ALL, write=ALL, get_ok=frozenset({302}), post_ok=frozenset({302})
    ),
    # --- facilitator and member pages (retros) -----------------------------------------------
    "retros:team_list": Policy(read=ALL, write=None),
    "retros:team_home": Policy(read=TEAM_READ, write=None),
    "retros:retro_start": Policy(read=None, write=TEAM_WRITE),
    "retros:retro_board": Policy(read=TEAM_READ, write=None),
    "retros:retro_suggestions": Policy(read=TEAM_WRITE, write=None, headers=HTMX),
    "retros:retro_close": Policy(read=None, write=TEAM_WRITE),
    # --- the live board: the team's members write and vote; its facilitators run it ----------
    "retros:live_board": Policy(read=TEAM_READ, write=None),
    "retros:live_cards": Policy(read=TEAM_READ, write=TEAM_READ, headers=HTMX),
    "retros:live_stream": Policy(read=TEAM_READ, write=None),
    "retros:live_settings": Policy(read=None, write=TEAM_WRITE),
    "retros:live_phase": Policy(read=None, write=TEAM_WRITE),
    "retros:live_timer": Policy(read=None, write=TEAM_WRITE),
    # Only a card's writer edits it; the world's card was written by someone else.
    "retros:card_edit": Policy(read=None, write=frozenset()),
    "retros:card_remove": Policy(read=None, write=TEAM_WRITE),
    "retros:card_restore": Policy(read=None, write=TEAM_WRITE),
    "retros:card_group": Policy(read=None, write=TEAM_WRITE),
    "retros:card_vote": Policy(read=None, write=TEAM_READ),
    "retros:live_review": Policy(read=None, write=TEAM_WRITE),
    "retros:occurrence_create": Policy(read=None, write=TEAM_WRITE),
    "retros:occurrence_row": Policy(read=TEAM_READ, write=None, headers=HTMX),
    "retros:occurrence_edit": Policy(read=TEAM_WRITE, write=TEAM_WRITE),
    "retros:occurrence_vote": Policy(read=None, write=TEAM_WRITE),
    "retros:occurrence_archive": Policy(read=None, write=TEAM_WRITE),
    "retros:occurrence_restore": Policy(read=None, write=TEAM_WRITE),
    "retros:occurrence_link": Policy(read=TEAM_WRITE, write=TEAM_WRITE),
    "retros:occurrence_review": Policy(read=None, write=TEAM_WRITE),
    "retros:occurrence_type": Policy(read=None, write=TEAM_WRITE),
    "retros:fix_create": Policy(read=None, write=TEAM_WRITE),
    "retros:fix_kind_field": Policy(read=FACILITATING, write=None, headers=HTMX),
    "retros:fix_edit": Policy(read=TEAM_WRITE, write=TEAM_WRITE),
    "retros:fix_outcome": Policy(read=None, write=TEAM_WRITE),
    "retros:fix_status": Policy(read=None, write=TEAM_WRITE),
    "retros:issue_list": Policy(read=ALL, write=None),
    "retros:issue_detail": Policy(read=ALL, write=None),
    "retros:issue_rename": Policy(read=None, write=FACILITATING),
    "retros:issue_merge": Policy(read=None, write=FACILITATING),
    "retros:merge_undo": Policy(read=None, write=FACILITATING),
    # --- the link review queue: facilitators see their teams' pairs, leaders all ------------
    "review:queue": Policy(read=FACILITATING, write=None),
    "review:decide": Policy(read=None, write=FACILITATING),
    "review:undo": Policy(read=None, write=FACILITATING),
    # --- history import in the browser: leaders and admins, into their own organisation -----
    "imports:start": Policy(read=LEADERS, write=LEADERS),
    "imports:detail": Policy(read=LEADERS, write=None),
    "imports:confirm": Policy(read=None, write=LEADERS),
    "imports:undo": Policy(read=None, write=LEADERS),
    # --- the leader dashboard (diagnosis): leaders and admins only --------------------------
    "diagnosis:overview": Policy(read=LEADERS, write=None),
    "diagnosis:export_csv": Policy(read=LEADERS, write=None),
    "diagnosis:export_json": Policy(read=LEADERS, write=None),
    # Only leaders receive the digest; the view answers an admin's switch with 404.
    "diagnosis:digest_toggle": Policy(
        read=None, write=LEADERS, exceptions={("admin", "POST"): 404}
    ),
    "diagnosis:team_health": Policy(read=LEADERS, write=None),
    "diagnosis:finding": Policy(read=LEADERS, write=None),
    "diagnosis:finding_acknowledge": Policy(read=None, write=LEADERS),
    "diagnosis:finding_confirm": Policy(read=None, write=LEADERS),
    "diagnosis:finding_override": Policy(read=None, write=LEADERS),
    "diagnosis:finding_dismiss": Policy(read=None, write=LEADERS),
    "diagnosis:finding_restore": Policy(read=None, write=LEADERS),
    "diagnosis:finding_owner": Policy(read=None, write=LEADERS),
    "diagnosis:finding_fix": Policy(read=None, write=LEADERS),
    "diagnosis:finding_group": Policy(read=None, write=LEADERS),
    "diagnosis:hypothesis_list": Policy(read=LEADERS, write=None),
    "diagnosis:hypothesis_create": Policy(read=None, write=LEADERS),
    "diagnosis:hypothesis_detail": Policy(read=LEADERS, write=None),
    "diagnosis:hypothesis_remove_issue": Policy(read=None, write=LEADERS),
}

ENTRIES = url_entries()


def test_every_url_of_the_project_has_a_declared_access_policy():
    names = {entry.name for entry in ENTRIES}
    undeclared = sorted(names - POLICIES.keys())
    assert not undeclared, "declare the access policy of view(s): " + ", ".join(undeclared)
    stale = sorted(POLICIES.keys() - names)
    assert not stale, "POLICIES names URLs that no longer exist: " + ", ".join(stale)


def test_the_matrix_walks_object_urls_of_every_kind():
    kwargs = {k for entry in ENTRIES for k in entry.kwargs}
    assert {"team_id", "retro_id", "issue_id", "occurrence_id", "fix_id"} <= kwargs


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry.name for entry in ENTRIES])
def test_access_matrix(world, entry):
    violations = check_url(world, entry, POLICIES.get(entry.name))
    assert not violations, "\n".join(violations)


# --- the test of the test -------------------------------------------------------------------


@override_settings(ROOT_URLCONF="tests.trust.open_urls")
def test_the_matrix_reports_a_view_that_skips_the_access_checks(world):
    leaky = next(e for e in url_entries() if e.name == "leaky_issue")
    violations = check_url(world, leaky, Policy(read=LEADERS, write=None))
    text = "\n".join(violations)
    assert "as member: expected [403], got 200" in text
    assert "as outsider: expected [404], got 200" in text
    assert "the response contains the other organisation's data" in text


@override_settings(ROOT_URLCONF="tests.trust.open_urls")
def test_the_matrix_reports_undeclared_views_and_unknown_url_keywords(world):
    entries = {e.name: e for e in url_entries()}
    assert (
        "declare the access policy of view leaky_issue"
        in check_url(world, entries["leaky_issue"], None)[0]
    )
    problems = check_url(world, entries["widget"], Policy(read=LEADERS, write=None))
    assert "unknown URL keyword 'widget_id'" in problems[0]
    assert "add it to KWARG_OBJECTS" in problems[0]
