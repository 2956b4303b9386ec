"""Leaders' actions on a finding: kept beside the engine's view, recorded with who and when,
refused without a CSRF token, and shown on the finding page."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from diagnosis import actions
from diagnosis.models import Assessment, Finding, Hypothesis, LeaderAction
from diagnosis.services import finding_recompute_many
from retros import services
from retros.models import Fix
from tests.diagnosis.stories import band_aid_loop, finding_action_urls, recompute
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("cold_cache")


def _url(name: str, issue) -> str:
    return reverse(f"diagnosis:{name}", args=[issue.pk])


def _finding(issue) -> Finding:
    return Finding.objects.get(issue=issue, is_current=True)


@pytest.fixture
def leader(cast):
    return cast.clients["leader"]


@pytest.fixture
def post(leader, django_capture_on_commit_callbacks):
    """POST as the leader and run what the action queued for after its commit (the
    recompute), as a real request would."""

    def _post(url: str, data: dict | None = None, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return leader.post(url, data or {}, **kwargs)

    return _post


def _other_category(category: str) -> str:
    return next(c for c in ("interpersonal", "culture", "strategy") if c != category)


# --- The leader's category beside the engine's --------------------------------------------


def test_an_override_is_kept_beside_the_engines_view_and_survives_recomputes(cast, loops, post):
    issue = loops["wide"]
    engine_category = _finding(issue).category
    chosen = _other_category(engine_category)
    response = post(
        _url("finding_override", issue),
        {"override-category": chosen, "override-note": "Two leads disagree"},
    )
    assert response.status_code == 302
    assert Assessment.objects.get(issue=issue).category_override == chosen
    assert _finding(issue).category == chosen
    finding_recompute_many([issue.pk])  # the nightly run, or a new raising
    finding_recompute_many([issue.pk])
    assert _finding(issue).category == chosen
    assert Assessment.objects.get(issue=issue).category_override == chosen
    page = cast.clients["leader"].get(_url("finding", issue))
    assert page.context["page"].engine_category == engine_category
    assert page.context["page"].leader_category == chosen
    html = page.content.decode()
    assert "The engine's view" in html and "The leader's view" in html
    assert "overrides the engine" in html
    action = LeaderAction.objects.get(issue=issue, kind="override")
    assert action.actor == cast.users["leader"]
    assert "Two leads disagree" in action.detail


def test_clearing_the_override_follows_the_engine_again(cast, loops, post):
    issue = loops["wide"]
    engine_category = _finding(issue).category
    post(_url("finding_override", issue), {"override-category": _other_category(engine_category)})
    post(_url("finding_override", issue), {"override-category": ""})
    assert Assessment.objects.get(issue=issue).category_override == ""
    assert _finding(issue).category == engine_category


def test_confirming_pins_the_engines_category_as_the_leaders(cast, loops, post):
    issue = loops["wide"]
    category = _finding(issue).category
    post(_url("finding_confirm", issue), {"confirm-category": category})
    assessment = Assessment.objects.get(issue=issue)
    assert assessment.category_confirmed and assessment.category_override == category
    assert "A leader confirmed the category" in str(_finding(issue).reasons)
    assert LeaderAction.objects.filter(issue=issue, kind="confirm").exists()


def test_an_unknown_category_is_refused(cast, loops, post):
    issue = loops["wide"]
    response = post(
        _url("finding_override", issue),
        {"override-category": "astrology"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Assessment.objects.filter(issue=issue).exists()
    with pytest.raises(ValidationError):
        actions.assessment_override_category(
            issue=issue, actor=cast.users["leader"], category="astrology"
        )


# --- Flags ----------------------------------------------------------------------------------


def test_dismissing_a_flag_needs_a_note_and_can_be_restored(cast, loops, post):
    issue = loops["wide"]
    assert _finding(issue).flagged
    empty = post(
        _url("finding_dismiss", issue), {"dismiss-note": "  "}, headers={"HX-Request": "true"}
    )
    assert empty.status_code == 200
    assert "Say why the flag is dismissed." in empty.content.decode()
    assert empty.content.decode().lstrip().startswith('<div id="finding-body"')
    assert _finding(issue).flagged

    response = post(
        _url("finding_dismiss", issue),
        {"dismiss-note": "Known; reorg planned"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "finding-changed"
    assert not _finding(issue).flagged
    assert "Known; reorg planned" in response.content.decode()
    finding_recompute_many([issue.pk])
    assert not _finding(issue).flagged  # a recompute keeps the leader's dismissal
    assert response.context["page"].engine_flagged  # the engine still sees a loop

    post(_url("finding_restore", issue))
    assert _finding(issue).flagged
    assert Assessment.objects.get(issue=issue).dismiss_note == ""
    kinds = list(LeaderAction.objects.filter(issue=issue).values_list("kind", flat=True))
    assert kinds == ["restore", "dismiss"]


def test_a_dismissed_flag_leaves_the_dashboard_list(cast, loops, post):
    issue = loops["wide"]
    post(_url("finding_dismiss", issue), {"dismiss-note": "Handled by the reorg"})
    titles = [
        r.finding.issue.title
        for r in cast.clients["leader"].get(reverse("diagnosis:overview")).context["loops"]
    ]
    assert "Priorities churn" not in titles


# --- Acknowledge and owner ----------------------------------------------------------------


def test_acknowledging_records_who_and_when(cast, loops, post):
    issue = loops["wide"]
    post(_url("finding_acknowledge", issue))
    assessment = Assessment.objects.get(issue=issue)
    assert assessment.acknowledged_by == cast.users["leader"]
    assert assessment.acknowledged_at is not None
    html = cast.clients["leader"].get(_url("finding", issue)).content.decode()
    assert f"Acknowledged by {cast.users['leader'].get_full_name()}" in html


def test_the_owner_must_be_a_person_of_the_organisation(cast, loops, post):
    issue = loops["wide"]
    facilitator = cast.users["facilitator"]
    post(_url("finding_owner", issue), {"owner-owner": facilitator.pk})
    assert Assessment.objects.get(issue=issue).owner == facilitator
    outsider = cast.users["outsider"]
    response = post(_url("finding_owner", issue), {"owner-owner": outsider.pk})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert Assessment.objects.get(issue=issue).owner == facilitator
    with pytest.raises(ValidationError):
        actions.assessment_assign_owner(issue=issue, actor=cast.users["leader"], owner=outsider)
    nobody = UserFactory(username="nobody")
    with pytest.raises(ValidationError):
        actions.assessment_assign_owner(issue=issue, actor=cast.users["leader"], owner=nobody)


# --- Structural fix -------------------------------------------------------------------------


def test_recording_a_structural_fix_creates_an_open_fix_and_recomputes(
    cast, loops, post, monkeypatch
) -> None:
    issue = loops["wide"]
    scheduled: list[list[int]] = []
    monkeypatch.setattr(actions, "schedule_recompute", lambda ids: scheduled.append(list(ids)))
    response = post(
        _url("finding_fix", issue),
        {
            "fix-text": "Reward cross-team help in reviews",
            "fix-kind": "incentives",
            "fix-team": cast.team.pk,
            "fix-owner": "Dana",
            "fix-due_on": "2027-01-31",
        },
    )
    assert response.status_code == 302
    fix = Fix.objects.get(issue=issue, kind="incentives")
    assert fix.status == "open" and fix.team == cast.team and fix.owner == "Dana"
    assert fix.created_by == cast.users["leader"]
    assert fix.organization == cast.org
    assert scheduled == [[issue.pk]]
    assert LeaderAction.objects.filter(issue=issue, kind="fix").exists()


def test_a_structural_fix_must_be_structural_and_of_the_organisation(cast, loops, post):
    issue = loops["wide"]
    response = post(_url("finding_fix", issue), {"fix-text": "Weekly sync", "fix-kind": "meeting"})
    assert response.status_code == 200
    assert not Fix.objects.filter(issue=issue, text="Weekly sync").exists()
    response = post(
        _url("finding_fix", issue),
        {"fix-text": "Coach", "fix-kind": "coaching", "fix-team": cast.outsider_team.pk},
    )
    assert "Select a valid choice" in response.content.decode()
    with pytest.raises(ValidationError):
        actions.fix_record_structural(
            issue=issue,
            actor=cast.users["leader"],
            text="x",
            kind="coaching",
            team=cast.outsider_team,
        )


# --- Hypotheses -----------------------------------------------------------------------------


def test_grouping_issues_under_a_hypothesis_lists_them_across_teams(cast, loops, post):
    wide, narrow = loops["wide"], loops["narrow"]
    post(_url("finding_group", wide), {"group-new_title": "Own OKRs only"})
    hypothesis = Hypothesis.objects.get(organization=cast.org, title="Own OKRs only")
    assert hypothesis.created_by == cast.users["leader"]
    post(_url("finding_group", narrow), {"group-hypothesis": hypothesis.pk})
    assert set(hypothesis.issues.all()) == {wide, narrow}
    page = cast.clients["leader"].get(reverse("diagnosis:hypothesis_detail", args=[hypothesis.pk]))
    html = page.content.decode()
    assert "Priorities churn" in html and "Hand-offs stall" in html
    assert "Across 2 teams: Checkout, Payments" in html
    listing = cast.clients["leader"].get(reverse("diagnosis:hypothesis_list")).content.decode()
    assert "Own OKRs only" in listing and "2 issues" in listing

    response = post(
        reverse("diagnosis:hypothesis_remove_issue", args=[hypothesis.pk, narrow.pk]),
        headers={"HX-Request": "true"},
    )
    assert response.content.decode().lstrip().startswith('<section id="hypothesis-issues"')
    assert list(hypothesis.issues.all()) == [wide]
    assert LeaderAction.objects.filter(issue=narrow, kind="ungroup").exists()
    assert LeaderAction.objects.filter(issue=narrow, kind="group").exists()


def test_grouping_needs_a_hypothesis_and_never_one_of_another_organisation(cast, loops, post):
    issue = loops["wide"]
    response = post(_url("finding_group", issue), {})
    assert "Choose a hypothesis or name a new one." in response.content.decode()
    foreign = Hypothesis.objects.create(organization=cast.outsider_org, title="Theirs")
    response = post(_url("finding_group", issue), {"group-hypothesis": foreign.pk})
    assert "Select a valid choice" in response.content.decode()
    assert not foreign.issues.exists()
    with pytest.raises(ValidationError):
        actions.hypothesis_add_issue(hypothesis=foreign, issue=issue, actor=cast.users["leader"])


def test_creating_a_hypothesis_from_its_list(cast, leader):
    url = reverse("diagnosis:hypothesis_create")
    response = leader.post(url, {"title": "Blame culture", "category": "culture"})
    hypothesis = Hypothesis.objects.get(title="Blame culture")
    assert response["Location"] == reverse("diagnosis:hypothesis_detail", args=[hypothesis.pk])
    again = leader.post(url, {"title": "Blame culture"})
    assert again.status_code == 200
    assert "already exists" in again.content.decode()


# --- The log, and CSRF ------------------------------------------------------------------------


def test_every_action_is_shown_on_the_finding_page_with_who_and_when(cast, loops, post):
    issue = loops["wide"]
    post(_url("finding_acknowledge", issue))
    post(_url("finding_dismiss", issue), {"dismiss-note": "Reorg <b>planned</b>"})
    page = cast.clients["leader"].get(_url("finding", issue))
    html = page.content.decode()
    assert "Acknowledged" in html and "Dismissed the flag" in html
    assert "Reorg &lt;b&gt;planned&lt;/b&gt;" in html and "<b>planned</b>" not in html
    for action in LeaderAction.objects.filter(issue=issue):
        assert action.actor == cast.users["leader"]
        assert action.created_at.strftime("%Y-%m-%d %H:%M") in html


def test_csrf_is_enforced_on_every_action(cast, loops):
    issue = loops["wide"]
    hypothesis = Hypothesis.objects.create(organization=cast.org, title="H")
    hypothesis.issues.add(issue)
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.users["leader"])
    urls = [
        *finding_action_urls(issue.pk),
        reverse("diagnosis:hypothesis_create"),
        reverse("diagnosis:hypothesis_remove_issue", args=[hypothesis.pk, issue.pk]),
        reverse("diagnosis:digest_toggle"),
    ]
    for url in urls:
        assert client.post(url, {}).status_code == 403, url
    assert not LeaderAction.objects.exists()
    # With the token (as htmx sends it from <body hx-headers>) the same request goes through.
    client.get(_url("finding", issue))
    token = client.cookies["csrftoken"].value
    response = client.post(_url("finding_acknowledge", issue), headers={"X-CSRFToken": token})
    assert response.status_code == 302
    assert LeaderAction.objects.filter(kind="acknowledge").count() == 1


def test_recompute_before_and_after_a_new_loop_keeps_every_assessment(cast, loops, post):
    issue = loops["wide"]
    chosen = _other_category(_finding(issue).category)
    post(_url("finding_override", issue), {"override-category": chosen})
    more = band_aid_loop(cast.org, [cast.team], title="Another loop", start=8)
    recompute(more, issue)
    assert _finding(issue).category == chosen


def test_the_engines_own_view_is_stored_beside_a_leaders_override(db):
    from diagnosis.models import Assessment, Finding
    from diagnosis.services import finding_recompute_many
    from tests.factories import OccurrenceFactory

    occurrence = OccurrenceFactory(text="Staging was down")
    finding_recompute_many([occurrence.issue_id])
    engine_view = Finding.objects.get(issue_id=occurrence.issue_id, is_current=True).category
    Assessment.objects.create(
        issue_id=occurrence.issue_id,
        organization=occurrence.organization,
        category_override="culture",
    )
    finding_recompute_many([occurrence.issue_id])
    current = Finding.objects.get(issue_id=occurrence.issue_id, is_current=True)
    assert current.category == "culture"
    assert current.engine_category == engine_view


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("text", "x" * 2001, "the limit is 2000"),
        ("owner", "o" * 101, "limited to 100 characters"),
        ("text", "   ", "cannot be empty"),
    ],
)
def test_a_leaders_fix_is_held_to_the_same_limits_as_the_boards(cast, loops, field, value, message):
    """One validation per field: what the board refuses, a leader's fix refuses too — never
    cut silently."""
    issue = loops["wide"]
    fields = {"text": "Give the platform team an on-call budget", "owner": "Lee"} | {field: value}
    with pytest.raises(ValidationError, match=message):
        actions.fix_record_structural(
            issue=issue, actor=cast.users["leader"], kind="incentives", **fields
        )
    with pytest.raises(ValidationError, match=message):
        services.fix_apply(
            issue=issue,
            retro=issue.occurrences.first().retro,
            kind="incentives",
            user=cast.users["facilitator"],
            **fields,
        )
    assert not Fix.objects.filter(issue=issue, owner__startswith="o" * 50).exists()
