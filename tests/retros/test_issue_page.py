"""The issue page: its timeline across teams, its finding, and renaming, merging, splitting."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from diagnosis.models import Finding
from retros import services
from retros.models import Issue, IssueMerge, LinkSource, Occurrence
from retros.selectors import TIMELINE_PAGE_SIZE, issue_timeline_entries
from tests.factories import FixFactory, IssueFactory, OccurrenceFactory, RetrospectiveFactory
from tests.retros.conftest import build_board, htmx

pytestmark = pytest.mark.django_db


def issue_url(issue) -> str:
    return reverse("retros:issue_detail", args=[issue.pk])


@pytest.fixture
def thread(cast, board):
    """The first board issue, also raised by Checkout, with a current finding."""
    issue = board.issues[0]
    other = RetrospectiveFactory(team=cast.other_team, held_on=dt.date(2026, 1, 28))
    OccurrenceFactory(retro=other, issue=issue, text="Checkout deploys are slow too")
    services.issue_refresh_stats(issue_ids=[issue.pk])
    Finding.objects.create(
        organization=cast.org,
        issue=issue,
        category="culture",
        confidence=0.72,
        flagged=True,
        status="active",
        reasons=[{"text": "Came back after two band-aid fixes.", "cites": []}],
        next_step="Change incentives so that helping other teams is rewarded.",
        rules_version="test",
    )
    return issue


def test_the_timeline_lists_raisings_and_fixes_in_date_order(cast, thread):
    entries = issue_timeline_entries(thread)
    described = [
        (e.on, e.kind, (e.occurrence or e.fix).text)
        for e in entries  # type: ignore[union-attr]
    ]
    assert described == [
        (dt.date(2026, 1, 14), "occurrence", "Deploys are slow 0"),
        (dt.date(2026, 1, 14), "fix", "Weekly sync 0"),
        (dt.date(2026, 1, 14), "fix", "New runners 0"),
        (dt.date(2026, 1, 28), "occurrence", "Checkout deploys are slow too"),
        (dt.date(2026, 2, 11), "occurrence", "Deploys still slow 0"),
        (dt.date(2026, 2, 11), "fix", "Checklist 0"),
    ]
    assert (entries[3].after_fixes, entries[3].after_band_aids) == (2, 1)
    assert all(e.can_open and not e.can_edit for e in entries)


def test_the_issue_page_shows_the_thread_and_the_finding(cast, thread):
    html = cast.clients["leader"].get(issue_url(thread)).content.decode()
    assert "Raised 3 times in 2 teams" in html
    # Newest first (the quotes set raisings apart from the title, the first one's text).
    assert html.index("“Deploys still slow 0”") < html.index("“Checkout deploys are slow too”")
    assert html.index("“Checkout deploys are slow too”") < html.index("“Deploys are slow 0”")
    assert "Came back after 2 fixes, 1 of them band-aid." in html
    assert "Culture" in html and "72% confidence" in html and "Band-aid loop" in html
    assert "Came back after two band-aid fixes." in html
    assert "Change incentives so that helping other teams is rewarded." in html
    # A facilitator of Payments sees the finding but neither Checkout's words nor the
    # reasons that quote them.
    html = cast.clients["facilitator"].get(issue_url(thread)).content.decode()
    assert "Culture" in html and "Band-aid loop" in html
    assert "Change incentives so that helping other teams is rewarded." in html
    assert "Checkout deploys are slow too" not in html
    assert "Came back after two band-aid fixes." not in html
    checkout_occ = Occurrence.objects.get(text="Checkout deploys are slow too")
    assert reverse("retros:retro_board", args=[checkout_occ.retro_id]) not in html, (
        "a facilitator of Payments cannot open Checkout's retro"
    )
    assert reverse("retros:occurrence_link", args=[checkout_occ.pk]) not in html


def test_leaders_may_open_every_retro_of_the_thread(cast, thread):
    html = cast.clients["leader"].get(issue_url(thread)).content.decode()
    checkout_occ = Occurrence.objects.get(text="Checkout deploys are slow too")
    assert reverse("retros:retro_board", args=[checkout_occ.retro_id]) in html


def test_members_read_the_thread_without_actions(cast, thread):
    html = cast.clients["member"].get(issue_url(thread)).content.decode()
    assert "Deploys still slow 0" in html
    assert "Split off" not in html and "Rename" not in html and "Merge" not in html


def test_the_issue_page_query_count_does_not_grow_with_the_data(cast, django_assert_num_queries):
    client = cast.clients["facilitator"]
    for size in (1, 6):
        board = build_board(cast, size)
        issue = board.issues[0]
        for n in range(size):
            OccurrenceFactory(retro=board.earlier, issue=issue, text=f"More {n}")
            FixFactory(issue=issue, team=cast.team, text=f"More fixes {n}")
        # session, user, membership with its teams, issue, the timeline's raisings and
        # fixes (ids and dates), the page's occurrences with teams and retros, the page's
        # fixes with teams, current finding, the merges into and out of it with their issues
        # and people, the titles the facilitator may read (retros.visibility)
        with django_assert_num_queries(11):
            response = client.get(issue_url(issue))
        assert response.status_code == 200


def test_rename(cast, board):
    issue = board.issues[0]
    url = reverse("retros:issue_rename", args=[issue.pk])
    client = cast.clients["facilitator"]
    response = client.post(url, {"title": "Slow deploys"})
    assert response.status_code == 302 and Issue.objects.get(pk=issue.pk).title == "Slow deploys"
    response = client.post(url, {"title": "   "})
    assert response.status_code == 422
    assert "The title cannot be empty." in response.content.decode()
    response = client.post(url, {"title": "t" * 201})
    assert response.status_code == 422 and f'value="{"t" * 201}"' in response.content.decode()
    assert Issue.objects.get(pk=issue.pk).title == "Slow deploys"


def test_merge_search_then_merge_then_undo(cast, board):
    source, target = board.issues[1], board.issues[3]
    client = cast.clients["facilitator"]
    fragment = client.get(
        issue_url(source), {"merge_q": "flaky"}, **htmx(target="merge-candidates")
    ).content.decode()
    assert fragment.lstrip().startswith('<div id="merge-candidates"')
    assert "Flaky test 1" in fragment and "Flaky test 0" not in fragment
    page = client.get(issue_url(source), {"merge_q": "flaky"}).content.decode()
    assert "<html" in page and "Flaky test 1" in page

    response = client.post(
        reverse("retros:issue_merge", args=[source.pk]), {"target": str(target.pk)}
    )
    assert response["Location"] == issue_url(target)
    merge = IssueMerge.objects.get()
    target_page = client.get(issue_url(target)).content.decode()
    assert "Merged into this issue" in target_page and "Undo merge" in target_page
    assert "Flaky test 0" in target_page
    source_page = client.get(issue_url(source)).content.decode()
    assert "This issue was merged into" in source_page

    response = client.post(reverse("retros:merge_undo", args=[merge.pk]))
    assert response["Location"] == issue_url(source)
    assert Occurrence.objects.filter(issue=source).count() == 1
    assert Issue.objects.get(pk=source.pk).merged_into_id is None
    response = client.post(reverse("retros:merge_undo", args=[merge.pk]), follow=True)
    assert "already undone" in response.content.decode()


def test_merging_into_itself_or_elsewhere_is_refused(cast, board, outsider_data):
    issue = board.issues[0]
    url = reverse("retros:issue_merge", args=[issue.pk])
    client = cast.clients["facilitator"]
    response = client.post(url, {"target": str(issue.pk)})
    assert response.status_code == 422
    assert "cannot be merged into itself" in response.content.decode()
    assert client.post(url, {"target": "x"}).status_code == 422
    assert client.post(url, {"target": str(outsider_data["issue"].pk)}).status_code == 404
    assert not IssueMerge.objects.exists()


def test_split_an_occurrence_off_from_the_issue_page(cast, thread):
    occ = Occurrence.objects.get(text="Deploys still slow 0")
    client = cast.clients["facilitator"]
    html = client.get(issue_url(thread)).content.decode()
    assert reverse("retros:occurrence_link", args=[occ.pk]) in html
    response = client.post(
        reverse("retros:occurrence_link", args=[occ.pk]),
        {"split": "1", "next": issue_url(thread)},
    )
    assert response["Location"] == issue_url(thread)
    occ.refresh_from_db()
    assert occ.issue_id != thread.pk and occ.issue.title == "Deploys still slow 0"
    assert occ.link_source == LinkSource.NEW
    assert Issue.objects.get(pk=thread.pk).occurrence_count == 2


def test_relink_page_says_what_each_suggestion_rests_on(cast, board, monkeypatch):
    import dataclasses

    from tests.retros.conftest import fake_suggest

    def scored(**kwargs):
        likely = fake_suggest(**kwargs)[0]
        weak = ("a few words in common", "last raised 5 Jan 2026")
        return [
            dataclasses.replace(likely, score=0.66, reasons=("similar meaning", "same team")),
            dataclasses.replace(likely, issue=board.issues[0], score=0.12, reasons=weak),
        ]

    monkeypatch.setattr("retros.views.suggest", scored)
    occ = board.occurrences[1]  # "Flaky test 0": the stand-in suggests "Flaky test 1"
    html = cast.clients["facilitator"].get(reverse("retros:occurrence_link", args=[occ.pk]))
    html = html.content.decode()

    assert "similar meaning · same team" in html
    assert html.count("Weaker match") == 1
    assert html.index("similar meaning") < html.index("Weaker match") < html.index("a few words")


def test_relink_page_suggests_searches_and_links(cast, board):
    occ = board.occurrences[1]  # "Flaky test 0", an issue of its own
    url = reverse("retros:occurrence_link", args=[occ.pk])
    client = cast.clients["facilitator"]
    html = client.get(url, {"q": "deploys"}).content.decode()
    assert "Flaky test 1" in html, "the stand-in matcher suggests the other flaky test"
    assert "Deploys are slow 0" in html, "the title search finds it"
    assert "only raising of its issue" in html, "nothing to split off"
    target = board.issues[3]
    response = client.post(url, {"issue": f"{target.pk}:0.700"})
    assert response["Location"].endswith(f"#occ-{occ.pk}")
    occ.refresh_from_db()
    assert occ.issue_id == target.pk
    assert (occ.link_source, occ.link_score) == (LinkSource.SUGGESTION, 0.7)
    assert Issue.objects.get(pk=board.issues[1].pk).archived_at is not None
    response = client.post(url, {"issue": str(target.pk)})
    assert response.status_code == 422
    assert "already linked to that issue" in response.content.decode()
    assert client.post(url, {}).status_code == 422


def test_relinking_to_an_issue_of_another_organisation_is_not_found(cast, board, outsider_data):
    occ = board.occurrences[0]
    response = cast.clients["facilitator"].post(
        reverse("retros:occurrence_link", args=[occ.pk]),
        {"issue": str(outsider_data["issue"].pk)},
    )
    assert response.status_code == 404
    assert Occurrence.objects.get(pk=occ.pk).issue_id == occ.issue_id


def test_an_unknown_issue_is_not_found(cast):
    missing = IssueFactory(organization=cast.org)
    url = issue_url(missing)
    missing.delete()
    assert cast.clients["facilitator"].get(url).status_code == 404


def test_leaders_get_a_link_to_the_finding_page_and_facilitators_do_not(cast):
    from django.urls import reverse

    from diagnosis.services import finding_recompute_many
    from tests.factories import OccurrenceFactory, RetrospectiveFactory

    occurrence = OccurrenceFactory(retro=RetrospectiveFactory(team=cast.team))
    finding_recompute_many([occurrence.issue_id])
    url = reverse("retros:issue_detail", args=[occurrence.issue_id])
    finding_url = reverse("diagnosis:finding", args=[occurrence.issue_id])
    assert finding_url in cast.clients["leader"].get(url).content.decode()
    assert finding_url not in cast.clients["facilitator"].get(url).content.decode()


def test_a_split_raising_takes_the_fixes_decided_for_it_and_can_be_undone(cast, thread):
    occ = Occurrence.objects.get(text="Deploys still slow 0")
    own_fix = thread.fixes.get(text="Checklist 0")
    others = set(thread.fixes.exclude(pk=own_fix.pk).values_list("pk", flat=True))
    assert own_fix.retro_id == occ.retro_id and others
    client = cast.clients["facilitator"]
    client.post(reverse("retros:occurrence_link", args=[occ.pk]), {"split": "1"})
    occ.refresh_from_db()
    own_fix.refresh_from_db()
    new_issue = occ.issue
    assert new_issue.pk != thread.pk and new_issue.split_from_id == thread.pk
    assert own_fix.issue_id == new_issue.pk
    assert set(thread.fixes.values_list("pk", flat=True)) == others

    page = client.get(issue_url(new_issue)).content.decode()
    assert "Undo split" in page and thread.title in page
    response = client.post(
        reverse("retros:issue_merge", args=[new_issue.pk]), {"target": str(thread.pk)}
    )
    assert response.status_code == 302
    occ.refresh_from_db()
    own_fix.refresh_from_db()
    assert occ.issue_id == thread.pk and own_fix.issue_id == thread.pk
    assert "Undo split" not in client.get(issue_url(thread)).content.decode()


def test_fixes_stay_when_another_raising_of_the_issue_shares_the_retro(cast, thread):
    occ = Occurrence.objects.get(text="Deploys still slow 0")
    OccurrenceFactory(retro=occ.retro, issue=thread, text="Deploys slow for us as well")
    fix = thread.fixes.get(text="Checklist 0")
    services.occurrence_relink(occurrence=occ, issue=None, user=cast.users["facilitator"])
    fix.refresh_from_db()
    assert fix.issue_id == thread.pk


def test_the_undo_of_a_split_is_offered_to_facilitators_only(cast, thread):
    occ = Occurrence.objects.get(text="Deploys still slow 0")
    services.occurrence_relink(occurrence=occ, issue=None, user=cast.users["facilitator"])
    occ.refresh_from_db()
    assert "Undo split" not in cast.clients["member"].get(issue_url(occ.issue)).content.decode()


PAGE_ENTRY = re.compile(r'class="tl-text">“Builds are flaky, day (\d{3})')


def test_a_long_timeline_is_paginated_newest_first(cast):
    """An issue raised a few hundred times renders a page of its timeline, not all of it;
    the next page holds the older entries and the last one the first raising."""
    issue = IssueFactory(organization=cast.org, title="Builds are flaky")
    start = dt.date(2025, 1, 6)
    raisings = TIMELINE_PAGE_SIZE * 2 + 30
    for n in range(raisings):
        retro = RetrospectiveFactory(team=cast.team, held_on=start + dt.timedelta(days=n))
        OccurrenceFactory(retro=retro, issue=issue, text=f"Builds are flaky, day {n:03}")
    FixFactory(issue=issue, team=cast.team, decided_on=start, text="Retry it", kind="meeting")
    services.issue_refresh_stats(issue_ids=[issue.pk])
    client = cast.clients["facilitator"]

    def days_on(page: int) -> list[int]:
        response = client.get(issue_url(issue), {"page": page})
        assert response.status_code == 200
        html = response.content.decode()
        assert html.count('class="tl-entry tl-occurrence"') <= TIMELINE_PAGE_SIZE
        return [int(day) for day in PAGE_ENTRY.findall(html)]

    first, second, last = days_on(1), days_on(2), days_on(3)
    assert len(first) == len(second) == TIMELINE_PAGE_SIZE
    assert first == sorted(first, reverse=True) and first[0] == raisings - 1
    assert max(second) < min(first), "page 2 holds the older entries"
    assert max(last) < min(second) and min(last) == 0
    html = client.get(issue_url(issue), {"page": 3}).content.decode()
    assert html.count("First raised") == 1 and "Came back after 1 fix" in html
    assert "Page 3 of 3" in html and 'rel="prev"' in html
