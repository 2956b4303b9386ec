"""Recording fixes from the board, and reviewing earlier fixes at the top of a retro."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from retros.models import Fix, FixOutcome, FixStatus
from tests.factories import FixFactory
from tests.retros.conftest import htmx, opened_at
from vocabulary.fixkinds import FIX_KINDS

pytestmark = pytest.mark.django_db


def fix_url(occurrence) -> str:
    return reverse("retros:fix_create", args=[occurrence.pk])


def kind_field(client, text: str, *, trigger: str = "f7-text", **params: str) -> str:
    """The kind field that fix form `f7` fetches as the person types (`f7-text`) or chooses
    a kind (`f7-kind`)."""
    query = {"text": text, "prefix": "f7", **params}
    return client.get(
        reverse("retros:fix_kind_field"), query, **htmx(trigger=trigger)
    ).content.decode()


def test_a_fix_with_an_untouched_inferred_kind_is_marked_inferred(cast, board):
    occ = board.occurrences[0]
    response = cast.clients["facilitator"].post(
        fix_url(occ),
        {
            "text": "Add a weekly sync with Platform",
            "kind": "meeting",
            "kind_source": "inferred",
            "owner": "Sam",
            "due_on": "2026-02-25",
        },
        **htmx(target=f"occ-{occ.pk}"),
    )
    fix = Fix.objects.get(text="Add a weekly sync with Platform")
    assert response.status_code == 200
    assert (fix.kind, fix.kind_inferred, fix.owner) == ("meeting", True, "Sam")
    assert (fix.retro_id, fix.team_id, fix.issue_id) == (board.retro.pk, cast.team.pk, occ.issue_id)
    assert fix.due_on == dt.date(2026, 2, 25) and fix.decided_on == board.retro.held_on
    html = response.content.decode()
    assert f'id="occ-{occ.pk}"' in html and "Add a weekly sync with Platform" in html
    assert f'id="fix-toggle-{occ.pk}" autofocus' in html
    assert response["HX-Trigger"].startswith('{"fix-applied"')


def test_a_kind_the_person_chose_is_not_marked_inferred(cast, board):
    occ = board.occurrences[0]
    client = cast.clients["facilitator"]
    client.post(
        fix_url(occ), {"text": "Add a weekly sync", "kind": "meeting", "kind_source": "person"}
    )
    assert not Fix.objects.get(text="Add a weekly sync").kind_inferred
    client.post(
        fix_url(occ),
        {"text": "Add a monthly sync", "kind": "coaching", "kind_source": "inferred"},
    )
    fix = Fix.objects.get(text="Add a monthly sync")
    assert (fix.kind, fix.kind_inferred) == ("coaching", False), "not what the text suggests"


def test_without_javascript_an_empty_kind_is_inferred_from_the_text(cast, board):
    occ = board.occurrences[0]
    response = cast.clients["facilitator"].post(
        fix_url(occ), {"text": "Replace the old build servers", "kind": ""}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"#occ-{occ.pk}")
    fix = Fix.objects.get(text="Replace the old build servers")
    assert (fix.kind, fix.kind_inferred) == ("infrastructure", True)


@pytest.mark.parametrize("headers", [{}, htmx()], ids=["plain", "htmx"])
def test_an_invalid_fix_comes_back_with_the_message_and_what_was_typed(cast, board, headers):
    occ = board.occurrences[0]
    response = cast.clients["facilitator"].post(
        fix_url(occ),
        {"text": "   ", "kind": "meeting", "owner": "Priya", "due_on": "2026-03-01"},
        **headers,
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "The fix cannot be empty." in html
    assert 'value="Priya"' in html and 'value="2026-03-01"' in html
    assert '<option value="meeting" selected>' in html
    assert '<details class="fix-details" open>' in html
    assert ("<html" in html) == (not headers)

    response = cast.clients["facilitator"].post(
        fix_url(occ), {"text": "Sync", "kind": "meeting", "due_on": "2026-01-01"}, **headers
    )
    assert response.status_code == 422
    assert "The due date is before the retro." in response.content.decode()
    assert not Fix.objects.filter(text="Sync").exists()


def test_the_board_says_how_many_band_aids_were_already_tried(cast, board):
    occ = board.occurrences[0]
    FixFactory(
        issue=occ.issue, team=cast.other_team, decided_on=dt.date(2025, 11, 3), kind="reminder"
    )
    html = (
        cast.clients["facilitator"]
        .get(reverse("retros:retro_board", args=[board.retro.pk]))
        .content.decode()
    )
    assert "2 band-aid fixes already tried since November 2025." in html


def test_the_kind_field_suggests_a_kind_from_the_text(cast):
    html = kind_field(cast.clients["facilitator"], "Weekly sync with Platform")
    assert 'id="f7-kind-field"' in html
    assert '<option value="meeting" selected>' in html
    assert 'name="kind_source" value="inferred"' in html
    assert "Band-aid</span> Adds or changes a meeting" in html
    assert "Suggested from the text" in html


def test_the_kind_field_keeps_a_kind_the_person_chose(cast):
    client = cast.clients["facilitator"]
    chosen = kind_field(
        client, "Weekly sync", trigger="f7-kind", kind="coaching", kind_source="inferred"
    )
    assert '<option value="coaching" selected>' in chosen
    assert 'name="kind_source" value="person"' in chosen
    assert "Structural</span> A leader coaches" in chosen
    assert "Suggested from the text" not in chosen
    typed = kind_field(client, "Weekly sync again", kind="coaching", kind_source="person")
    assert '<option value="coaching" selected>' in typed


def test_the_kind_field_refuses_odd_prefixes(cast):
    html = (
        cast.clients["facilitator"]
        .get(reverse("retros:fix_kind_field"), {"text": "sync", "prefix": '"><script>'})
        .content.decode()
    )
    assert 'id="fix-kind-field"' in html and "<script>" not in html


def test_one_click_outcome_and_status_for_an_earlier_fix(cast, board):
    fix = board.review_fixes[0]
    client = cast.clients["facilitator"]
    response = client.post(
        reverse("retros:fix_outcome", args=[fix.pk]),
        {"outcome": "did_not_work"},
        **htmx(target=f"fix-{fix.pk}"),
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert f'id="fix-{fix.pk}-outcome-did_not_work" name="outcome" value="did_not_work"' in html
    assert 'aria-pressed="true">Did not work' in html
    assert Fix.objects.get(pk=fix.pk).outcome == FixOutcome.DID_NOT_WORK

    response = client.post(
        reverse("retros:fix_status", args=[fix.pk]), {"status": "dropped"}, **htmx()
    )
    fix.refresh_from_db()
    assert (fix.status, fix.completed_on is not None) == (FixStatus.DROPPED, True)
    assert "Reopen" in response.content.decode()

    board_url = reverse("retros:retro_board", args=[board.retro.pk])
    response = client.post(
        reverse("retros:fix_outcome", args=[fix.pk]), {"outcome": "worked", "next": board_url}
    )
    assert response.status_code == 302 and response["Location"] == board_url
    response = client.post(
        reverse("retros:fix_outcome", args=[fix.pk]),
        {"outcome": "worked", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("retros:issue_detail", args=[fix.issue_id])
    response = client.post(
        reverse("retros:fix_outcome", args=[fix.pk]), {"outcome": "great"}, **htmx()
    )
    assert response.status_code == 422 and "Choose worked" in response.content.decode()
    response = client.post(reverse("retros:fix_status", args=[fix.pk]), {"status": "finished"})
    assert response.status_code == 302
    assert Fix.objects.get(pk=fix.pk).status == FixStatus.DROPPED


def test_old_completed_fixes_are_not_reviewed_again(cast, board):
    old = FixFactory(
        issue=board.issues[0],
        team=cast.team,
        text="Done long ago",
        status=FixStatus.DONE,
        decided_on=dt.date(2025, 6, 1),
        completed_on=dt.date(2025, 7, 1),
    )
    html = (
        cast.clients["facilitator"]
        .get(reverse("retros:retro_board", args=[board.retro.pk]))
        .content.decode()
    )
    assert f'id="fix-{old.pk}"' not in html


def test_editing_a_fix(cast, board):
    fix = board.review_fixes[0]
    url = reverse("retros:fix_edit", args=[fix.pk])
    client = cast.clients["facilitator"]
    page = client.get(url).content.decode()
    assert 'value="Weekly sync 0"' in page and '<option value="meeting" selected>' in page
    response = client.post(url, {"text": "", "kind": "meeting", "owner": "Kim"})
    assert response.status_code == 422
    assert "The fix cannot be empty." in response.content.decode()
    assert 'value="Kim"' in response.content.decode()
    response = client.post(url, {"text": "Fortnightly sync", "kind": "meeting", "owner": "Kim"})
    assert response.status_code == 302
    fix.refresh_from_db()
    assert (fix.text, fix.owner) == ("Fortnightly sync", "Kim")


@pytest.mark.parametrize(
    "text",
    [
        "Route chargeback emails into the payments on-call queue automatically",
        "Set up an on-call rotation so payments issues have an owner",
    ],
)
def test_a_structural_fix_text_is_not_pre_selected_as_a_band_aid(cast, text):
    html = kind_field(cast.clients["facilitator"], text)
    band_aids = ("meeting", "process", "reminder", "workaround", "escalation")
    assert not any(f'<option value="{kind}" selected>' in html for kind in band_aids)


def test_when_the_text_does_not_say_what_the_fix_changes_the_form_asks(cast, board):
    client = cast.clients["facilitator"]
    html = kind_field(client, "Fix flaky test in CI")
    assert '<option value="" selected>Choose a kind…</option>' in html
    assert "Not sure from the text" in html
    assert 'name="kind_source" value=""' in html

    occ = board.occurrences[0]
    response = client.post(fix_url(occ), {"text": "Fix flaky test in CI", "kind": ""})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Choose a kind: the text does not make clear what this fix changes" in page
    assert 'value="Fix flaky test in CI"' in page, "the typed text is kept"
    assert not Fix.objects.filter(text="Fix flaky test in CI").exists()


def test_an_unsure_kind_is_offered_but_not_chosen(cast):
    # No mechanism word; the meaning reads as a change of ownership between teams.
    html = kind_field(cast.clients["facilitator"], "Hand the billing service to the payments team")
    assert '<option value="" selected>Choose a kind…</option>' in html
    assert "it reads most like reorganisation, structural" in html
    assert not any(f'value="{kind}" selected' in html for kind in FIX_KINDS)


def test_a_pre_selected_kind_says_how_sure_the_inference_is(cast):
    html = kind_field(cast.clients["facilitator"], "Weekly sync with Platform")
    assert "% sure" in html


def test_editing_a_fix_archived_meanwhile_keeps_the_text_and_says_who(cast, board):
    fix = board.review_fixes[0]
    url = reverse("retros:fix_edit", args=[fix.pk])
    client = cast.clients["facilitator"]
    assert client.get(url).status_code == 200  # the form is open in this tab
    # An admin archives it meanwhile (the admin's change form saves the row like this).
    fix.archived_at = timezone.now()
    fix._history_user = cast.users["admin"]
    fix.save()

    typed = {"text": "Sync every other week", "kind": "meeting", "owner": "Kim"}
    response = client.post(url, typed)
    html = response.content.decode()
    fix.refresh_from_db()
    assert response.status_code == 422
    assert (fix.text, fix.owner) == ("Weekly sync 0", ""), "nothing saved into the archived fix"
    at = timezone.localtime(fix.archived_at)
    by = cast.users["admin"].get_full_name()
    assert f"This fix was archived at {at:%H:%M} on {at.day} {at:%b %Y} by {by}" in html
    assert 'value="Sync every other week"' in html and 'value="Kim"' in html
    assert "Copy your text to keep it" in html


def test_editing_a_fix_changed_meanwhile_shows_both_versions(cast, board):
    fix = board.review_fixes[0]
    url = reverse("retros:fix_edit", args=[fix.pk])
    mine, theirs = cast.clients["facilitator"], cast.clients["leader"]
    version = opened_at(mine.get(url))
    other = {"text": "Daily sync", "kind": "meeting", "owner": "Lee"}
    assert theirs.post(url, {**other, "version": opened_at(theirs.get(url))}).status_code == 302

    response = mine.post(url, {"text": "Async updates", "kind": "process", "version": version})
    html = response.content.decode()
    fix.refresh_from_db()
    assert response.status_code == 422 and (fix.text, fix.owner) == ("Daily sync", "Lee")
    assert "changed elsewhere while you were editing it" in html
    assert "Daily sync" in html and "owner Lee" in html and 'value="Async updates"' in html

    again = {"text": "Async updates", "kind": "process", "version": opened_at(response)}
    response = mine.post(url, again)
    fix.refresh_from_db()
    assert response.status_code == 302 and fix.text == "Async updates"
