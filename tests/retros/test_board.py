"""The retro board: logging issues, suggestions, votes, edits, archive and undo, closing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from retros import services
from retros.models import LinkSource, Occurrence, RetroStatus
from tests.retros.conftest import build_board, htmx, opened_at

pytestmark = pytest.mark.django_db


def board_url(board) -> str:
    return reverse("retros:retro_board", args=[board.retro.pk])


def test_the_board_shows_raised_issues_recurrences_and_fixes_to_review(cast, board):
    response = cast.clients["facilitator"].get(board_url(board))
    html = response.content.decode()
    assert response.status_code == 200
    for occ in board.occurrences:
        assert occ.text in html
    assert "Raised again" in html and "2nd time" in html
    assert "1 band-aid fix already tried since January 2026" in html
    for fix in board.review_fixes:
        assert f'id="fix-{fix.pk}"' in html
    assert "New runners 0" in html, "a fix completed within 60 days is reviewed too"
    assert "Checklist 0" in html, "the fixes decided in this retro are listed under the issue"
    assert 'id="entry-text"' in html and "<kbd>/</kbd>" in html
    assert "4 issues raised" in html


def test_the_board_query_count_does_not_grow_with_the_data(cast, django_assert_num_queries):
    small, large = build_board(cast, 1), build_board(cast, 6)
    client = cast.clients["facilitator"]
    for board in (small, large):
        # session, user, membership with its teams, retro with team and facilitator,
        # occurrences with issues (live and archived), earlier raisings of those issues,
        # their fixes, fixes to review with issues, pending possible recurrences of the
        # raisings, the titles the facilitator may read (retros.visibility)
        with django_assert_num_queries(10):
            response = client.get(board_url(board))
        assert response.status_code == 200


def test_a_long_list_of_fixes_to_review_shows_the_oldest_ten_and_offers_the_rest(cast):
    from retros.views import REVIEW_SHOWN

    board = build_board(cast, 6)  # 12 fixes to review: 6 open, 6 done within 60 days
    client = cast.clients["facilitator"]
    html = client.get(board_url(board)).content.decode()
    assert html.count('class="review-fix"') == REVIEW_SHOWN
    assert "Show all 12 fixes" in html
    html = client.get(board_url(board), {"review": "all"}).content.decode()
    assert html.count('class="review-fix"') == 12
    assert all(f'id="fix-{fix.pk}"' in html for fix in board.review_fixes)
    assert "Show all" not in html
    assert f"Show the oldest {REVIEW_SHOWN} only" in html


def test_enter_adds_a_new_issue_without_reloading(cast, board):
    response = cast.clients["facilitator"].post(
        reverse("retros:occurrence_create", args=[board.retro.pk]),
        {"text": "  Standups run long  "},
        **htmx(target="entry-form"),
    )
    html = response.content.decode()
    occurrence = Occurrence.objects.get(text="Standups run long")
    assert response.status_code == 200
    assert occurrence.link_source == LinkSource.NEW
    assert occurrence.issue.title == "Standups run long"
    assert occurrence.created_by == cast.users["facilitator"]
    assert 'id="entry-form"' in html and 'value=""' in html, "an empty field for the next one"
    assert "autofocus" in html
    assert 'hx-swap-oob="beforeend:#occurrence-list"' in html
    assert f'id="occ-{occurrence.pk}"' in html
    assert '<span id="raised-count" hx-swap-oob="true">5 issues raised</span>' in html
    assert "<html" not in html
    assert response["HX-Trigger"].startswith('{"occurrence-added"')


def test_without_javascript_adding_redirects_back_to_the_board(cast, board):
    response = cast.clients["facilitator"].post(
        reverse("retros:occurrence_create", args=[board.retro.pk]), {"text": "Standups run long"}
    )
    occurrence = Occurrence.objects.get(text="Standups run long")
    assert response.status_code == 302
    assert response["Location"] == f"{board_url(board)}?focus=entry#occ-{occurrence.pk}"
    page = cast.clients["facilitator"].get(response["Location"])
    assert b"Added \xe2\x80\x9cStandups run long\xe2\x80\x9d as a new issue." in page.content


@pytest.mark.parametrize("headers", [{}, htmx()], ids=["plain", "htmx"])
@pytest.mark.parametrize(
    ("text", "message"),
    [("   ", "The issue cannot be empty."), ("y" * 2001, "the limit is 2000")],
    ids=["blank", "too-long"],
)
def test_invalid_text_comes_back_with_the_message_and_what_was_typed(
    cast, board, headers, text, message
):
    before = Occurrence.objects.count()
    response = cast.clients["facilitator"].post(
        reverse("retros:occurrence_create", args=[board.retro.pk]), {"text": text}, **headers
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert message in html
    assert f'value="{text}"' in html
    assert 'aria-invalid="true"' in html
    assert ("<html" in html) == (not headers), "htmx gets the form alone, a browser the page"
    assert Occurrence.objects.count() == before


def test_a_suggestion_links_the_new_raising_to_the_earlier_issue(cast, board):
    earlier_issue = board.issues[0]
    response = cast.clients["facilitator"].post(
        reverse("retros:occurrence_create", args=[board.retro.pk]),
        {"text": "Deploys are slow yet again", "link_to": f"{earlier_issue.pk}:0.912"},
        **htmx(),
    )
    occurrence = Occurrence.objects.get(text="Deploys are slow yet again")
    assert occurrence.issue_id == earlier_issue.pk
    assert (occurrence.link_source, occurrence.link_score) == (LinkSource.SUGGESTION, 0.912)
    assert "Raised again" in response.content.decode()
    assert response["HX-Trigger"].startswith('{"issue-linked"')


def test_a_suggestion_of_another_organisation_is_not_found(cast, board, outsider_data):
    response = cast.clients["facilitator"].post(
        reverse("retros:occurrence_create", args=[board.retro.pk]),
        {"text": "Sneaky", "link_to": f"{outsider_data['issue'].pk}:0.9"},
    )
    assert response.status_code == 404
    assert not Occurrence.objects.filter(text="Sneaky").exists()


def test_suggestions_list_this_teams_issues_first_with_history(cast, board):
    from tests.factories import IssueFactory, OccurrenceFactory, RetrospectiveFactory

    elsewhere = IssueFactory(organization=cast.org, title="Deploys fail in Checkout")
    OccurrenceFactory(retro=RetrospectiveFactory(team=cast.other_team), issue=elsewhere)
    services.issue_refresh_stats(issue_ids=[elsewhere.pk])
    response = cast.clients["facilitator"].get(
        reverse("retros:retro_suggestions", args=[board.retro.pk]),
        {"text": "deploys are slow"},
        **htmx(target="suggestions"),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("This team") < html.index("Deploys are slow 0") < html.index("Other teams")
    # Another team's issue is suggested under a title of counts and teams, not its words.
    assert html.index("Other teams") < html.index("Issue raised once in Checkout")
    assert "Deploys fail in Checkout" not in html
    assert 'data-suggestion="1"' in html and 'aria-keyshortcuts="Alt+1"' in html
    assert f'name="link_to" value="{board.issues[0].pk}:' in html
    assert "Raised 2 times in Payments" in html
    assert "3 fixes tried" in html and "2 band-aids" in html
    assert "<html" not in html


def test_weaker_matches_are_listed_apart_after_the_likely_ones(cast, board, monkeypatch):
    import dataclasses

    from tests.retros.conftest import fake_suggest

    def scored(**kwargs):
        found = fake_suggest(**kwargs)[:2]
        # The first as a likely match, the second below the review band.
        return [
            dataclasses.replace(found[0], score=0.61),
            dataclasses.replace(found[1], score=0.14),
        ]

    monkeypatch.setattr("retros.views.suggest", scored)
    response = cast.clients["facilitator"].get(
        reverse("retros:retro_suggestions", args=[board.retro.pk]),
        {"text": "deploys are slow"},
        **htmx(target="suggestions"),
    )
    html = response.content.decode()

    likely = html.index(f'value="{board.issues[0].pk}:0.610"')
    heading = html.index("Weaker matches, probably not the same")
    weak = html.index(":0.140")
    assert likely < heading < weak
    assert html.count('class="suggestion weak"') == 1
    assert 'class="suggestion weak" id="suggestion-2" data-suggestion="2"' in html
    assert 'aria-keyshortcuts="Alt+2"' in html  # still chosen by key


def test_short_text_gets_no_suggestions(cast, board):
    response = cast.clients["facilitator"].get(
        reverse("retros:retro_suggestions", args=[board.retro.pk]), {"text": "de"}, **htmx()
    )
    assert response.status_code == 200 and b"suggestion" not in response.content


def test_suggestions_without_htmx_go_back_to_the_board(cast, board):
    response = cast.clients["facilitator"].get(
        reverse("retros:retro_suggestions", args=[board.retro.pk]), {"text": "deploys"}
    )
    assert response.status_code == 302 and response["Location"].startswith(board_url(board))


def test_votes_change_by_one_and_not_below_zero(cast, board):
    occ = board.occurrences[1]
    url = reverse("retros:occurrence_vote", args=[occ.pk])
    client = cast.clients["facilitator"]
    response = client.post(url, {"delta": "1"}, **htmx())
    assert response.status_code == 200
    assert f'id="vote-up-{occ.pk}" aria-label="Add a vote" autofocus' in response.content.decode()
    assert Occurrence.objects.get(pk=occ.pk).votes == 1
    client.post(url, {"delta": "-1"}, **htmx())
    response = client.post(url, {"delta": "-1"}, **htmx())
    assert response.status_code == 422
    assert "Votes cannot go below zero." in response.content.decode()
    assert Occurrence.objects.get(pk=occ.pk).votes == 0
    response = client.post(url, {"delta": "7"})
    assert response.status_code == 302 and Occurrence.objects.get(pk=occ.pk).votes == 0
    response = client.post(url, {"delta": "1"})
    assert response["Location"] == f"{board_url(board)}#occ-{occ.pk}"


def test_inline_edit_with_htmx_and_as_a_plain_page(cast, board):
    occ = board.occurrences[1]
    url = reverse("retros:occurrence_edit", args=[occ.pk])
    client = cast.clients["facilitator"]
    fragment = client.get(url, **htmx()).content.decode()
    assert f'id="edit-text-{occ.pk}"' in fragment and "<html" not in fragment
    assert "autofocus" in fragment and f'value="{occ.text}"' in fragment
    page = client.get(url).content.decode()
    assert "<html" in page and f'id="edit-text-{occ.pk}"' in page

    response = client.post(url, {"text": "Flaky test everywhere"}, **htmx())
    assert response.status_code == 200 and "Flaky test everywhere" in response.content.decode()
    occ.refresh_from_db()
    assert occ.text == "Flaky test everywhere"

    response = client.post(url, {"text": "  "}, **htmx())
    assert response.status_code == 422
    assert "The issue cannot be empty." in response.content.decode()
    response = client.post(url, {"text": "z" * 2001})
    assert response.status_code == 422 and "<html" in response.content.decode()
    assert f'value="{"z" * 2001}"' in response.content.decode()
    response = client.post(url, {"text": "Flaky tests"})
    assert response.status_code == 302


def test_cancelling_an_edit_brings_the_row_back(cast, board):
    occ = board.occurrences[0]
    response = cast.clients["facilitator"].get(
        reverse("retros:occurrence_row", args=[occ.pk]), **htmx()
    )
    assert f'id="occ-{occ.pk}"' in response.content.decode()
    assert f'id="edit-{occ.pk}"' in response.content.decode()


def test_archive_then_undo(cast, board):
    occ = board.occurrences[1]
    client = cast.clients["facilitator"]
    response = client.post(reverse("retros:occurrence_archive", args=[occ.pk]), **htmx())
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="undo-{occ.pk}"' in html and "autofocus" in html
    assert "3 issues raised" in html
    assert Occurrence.objects.get(pk=occ.pk).archived_at is not None
    assert occ.text not in client.get(board_url(board)).content.decode().split("Archived in")[0]

    response = client.post(reverse("retros:occurrence_restore", args=[occ.pk]), **htmx())
    html = response.content.decode()
    assert Occurrence.objects.get(pk=occ.pk).archived_at is None
    assert f'id="archive-{occ.pk}"' in html and "4 issues raised" in html


def test_archive_and_restore_without_javascript(cast, board):
    occ = board.occurrences[1]
    client = cast.clients["facilitator"]
    response = client.post(reverse("retros:occurrence_archive", args=[occ.pk]))
    assert response.status_code == 302 and response["Location"].endswith("#archived")
    page = client.get(board_url(board)).content.decode()
    assert "Archived in this retro (1)" in page
    assert reverse("retros:occurrence_restore", args=[occ.pk]) in page
    response = client.post(reverse("retros:occurrence_restore", args=[occ.pk]))
    assert response.status_code == 302
    assert Occurrence.objects.get(pk=occ.pk).archived_at is None


def test_closing_shows_a_summary_to_copy(cast, board):
    client = cast.clients["facilitator"]
    response = client.post(reverse("retros:retro_close", args=[board.retro.pk]))
    assert response.status_code == 302 and response["Location"].endswith("#summary")
    board.retro.refresh_from_db()
    assert board.retro.status == RetroStatus.CLOSED
    html = client.get(board_url(board)).content.decode()
    assert 'data-copy-target="summary-md"' in html and 'id="summary-md"' in html
    assert "<dd>4</dd>" in html and "<dd>2</dd>" in html
    assert "**4 issues raised (2 recurrences), 2 fixes decided.**" in html
    assert 'id="entry-text"' not in html, "a closed retro takes no new issues"
    response = client.post(
        reverse("retros:occurrence_create", args=[board.retro.pk]), {"text": "Late"}
    )
    assert response.status_code == 422 and "This retro is closed" in response.content.decode()
    response = client.post(
        reverse("retros:occurrence_vote", args=[board.occurrences[0].pk]), {"delta": "1"}
    )
    assert response.status_code == 302
    assert Occurrence.objects.get(pk=board.occurrences[0].pk).votes == 0


def test_the_summary_markdown_is_escaped_in_the_page(cast, board):
    client = cast.clients["facilitator"]
    client.post(
        reverse("retros:occurrence_create", args=[board.retro.pk]),
        {"text": "<script>alert(1)</script> *stars*"},
    )
    client.post(reverse("retros:retro_close", args=[board.retro.pk]))
    html = client.get(board_url(board)).content.decode()
    assert "<script>alert(1)" not in html
    assert r"\&lt;script\&gt;alert(1)\&lt;/script\&gt; \*stars\*" in html


def test_the_real_matcher_suggests_an_earlier_raising(cast, board, real_matcher):
    response = cast.clients["facilitator"].get(
        reverse("retros:retro_suggestions", args=[board.retro.pk]),
        {"text": "Our deploys are really slow"},
        **htmx(),
    )
    assert response.status_code == 200
    assert "Deploys are slow" in response.content.decode()


def test_a_suggestion_keystroke_costs_the_same_queries_whatever_the_data(
    cast, real_matcher, django_assert_num_queries
):
    client = cast.clients["facilitator"]
    for board in (build_board(cast, 1), build_board(cast, 6)):
        url = reverse("retros:retro_suggestions", args=[board.retro.pk])
        client.get(url, {"text": "Deploys are slow again"}, **htmx())  # loads the new rows
        # session, user, membership with its teams, retro with team and facilitator,
        # the newest occurrence and fix ids, the candidate issues with their counts and
        # what decides the titles the facilitator may read (retros.visibility)
        with django_assert_num_queries(6):
            response = client.get(url, {"text": "Our deploys are really slow"}, **htmx())
        assert "Deploys are slow" in response.content.decode()


def test_a_logged_raising_is_stored_with_its_vector(cast, board, real_matcher):
    import numpy as np

    from matching import embedding

    response = cast.clients["facilitator"].post(
        reverse("retros:occurrence_create", args=[board.retro.pk]),
        {"text": "Flaky end-to-end tests block merges"},
        **htmx(),
    )

    assert response.status_code == 200
    logged = Occurrence.objects.get(retro=board.retro, text="Flaky end-to-end tests block merges")
    assert logged.embedding_model == embedding.MODEL_ID
    np.testing.assert_array_equal(
        embedding.from_bytes(bytes(logged.embedding)),
        embedding.encode_one("Flaky end-to-end tests block merges"),
    )


def test_a_raising_is_logged_even_when_the_model_cannot_load(
    cast, board, real_matcher, monkeypatch
):
    from matching import embedding

    def unavailable(text):
        raise embedding.EmbeddingUnavailable("embedding file model.onnx is missing")

    monkeypatch.setattr(embedding, "encode_one", unavailable)
    monkeypatch.setattr(embedding, "encode", unavailable)
    monkeypatch.setattr(embedding, "read_query", lambda text, vocabulary: unavailable(text))

    response = cast.clients["facilitator"].post(
        reverse("retros:occurrence_create", args=[board.retro.pk]),
        {"text": "Nobody reviews the design docs"},
        **htmx(),
    )

    assert response.status_code == 200
    logged = Occurrence.objects.get(retro=board.retro, text="Nobody reviews the design docs")
    assert logged.embedding is None and logged.embedding_model == ""


def test_editing_an_item_archived_in_another_tab_keeps_the_text_and_can_restore(cast, board):
    occ = board.occurrences[1]
    url = reverse("retros:occurrence_edit", args=[occ.pk])
    tab = cast.clients["facilitator"]
    assert tab.get(url, **htmx()).status_code == 200  # the form is open in this tab
    archive = reverse("retros:occurrence_archive", args=[occ.pk])
    assert cast.clients["leader"].post(archive, **htmx()).status_code == 200

    typed = "Flaky tests on Fridays, every Friday"
    response = tab.post(url, {"text": typed}, **htmx())
    html = response.content.decode()
    occ.refresh_from_db()
    assert response.status_code == 422
    assert occ.text == "Flaky test 0" and occ.archived_at is not None, "nothing saved"
    at = timezone.localtime(occ.archived_at)
    by = cast.users["leader"].get_full_name()
    assert f"This item was archived at {at:%H:%M} on {at.day} {at:%b %Y} by {by}" in html
    assert "Your text was not saved" in html and f'value="{typed}"' in html
    assert 'name="restore" value="1"' in html

    response = tab.post(url, {"text": typed, "version": opened_at(response), "restore": "1"})
    occ.refresh_from_db()
    assert response.status_code == 302
    assert (occ.text, occ.archived_at) == (typed, None)


def test_editing_an_item_changed_in_another_tab_shows_both_texts(cast, board):
    occ = board.occurrences[1]
    url = reverse("retros:occurrence_edit", args=[occ.pk])
    mine, theirs = cast.clients["facilitator"], cast.clients["leader"]
    version = opened_at(mine.get(url, **htmx()))
    other = theirs.post(url, {"text": "Flaky UI tests", "version": opened_at(theirs.get(url))})
    assert other.status_code == 302

    response = mine.post(url, {"text": "Flaky API tests", "version": version}, **htmx())
    html = response.content.decode()
    occ.refresh_from_db()
    assert response.status_code == 422 and occ.text == "Flaky UI tests"
    assert "changed elsewhere while you were editing it" in html
    assert "Saved now: <q" in html and "Flaky UI tests" in html
    assert 'value="Flaky API tests"' in html

    # Saving again, having seen the other text, replaces it.
    response = mine.post(url, {"text": "Flaky API tests", "version": opened_at(response)})
    occ.refresh_from_db()
    assert response.status_code == 302 and occ.text == "Flaky API tests"


def test_the_board_lists_the_last_ten_archived_items_newest_first_apart_from_the_live_ones(
    cast,
):
    from retros.selectors import BOARD_ARCHIVED_SHOWN, retro_board

    board = build_board(cast, 6)  # 12 raisings in the open retro
    first, *archived = board.occurrences
    start = timezone.now()
    for minutes, occ in enumerate(archived):
        Occurrence.objects.filter(pk=occ.pk).update(
            archived_at=start + dt.timedelta(minutes=minutes)
        )
    shown = retro_board(board.retro)
    assert [row.occurrence.pk for row in shown.rows] == [first.pk]
    newest_first = [occ.pk for occ in reversed(archived)][:BOARD_ARCHIVED_SHOWN]
    assert BOARD_ARCHIVED_SHOWN < len(archived)
    assert [occ.pk for occ in shown.archived] == newest_first
    html = cast.clients["facilitator"].get(board_url(board)).content.decode()
    assert f"Archived in this retro ({BOARD_ARCHIVED_SHOWN})" in html
