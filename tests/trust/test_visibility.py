"""Inside one organisation, a person reads a raising's words only if they may open its team's
retros, or are a leader or an admin (retros.visibility). Checkout's texts below carry the
marker; Payments' member and facilitator must never receive it, on any page that shows
text, and read a neutral title of counts and teams instead of words they may not read."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.urls import reverse

from diagnosis.digest import digest_send_weekly
from diagnosis.services import finding_recompute_many
from retros import services, views, visibility
from retros.access import Access
from retros.models import Issue, LinkReview, Occurrence, Retrospective, Role
from retros.search import suggest
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

MARKER = "CHECKOUTONLY"
CHECKOUT_WORDS = f"Priya and Marco argued through the architecture review again {MARKER}"
SHARED_WORDS = f"Hand-offs from Checkout stall for days {MARKER}"
PAYMENTS_WORDS = "Hand-offs to Checkout stall again"
CHECKOUT_FIX = f"Marco pairs with Priya on reviews {MARKER}"
PAYMENTS_ONLY = ("member", "facilitator")


class Org:
    """Checkout's own issue (raised only there), an issue first raised in Checkout and then
    in Payments (titled with Checkout's words), and Payments' open retro."""

    def __init__(self, cast):
        self.checkout_retro = Retrospective.objects.create(
            organization=cast.org, team=cast.other_team, title="Checkout 7"
        )
        self.retro = Retrospective.objects.create(
            organization=cast.org, team=cast.team, title="Payments 7"
        )
        self.private = services.occurrence_record(
            retro=self.checkout_retro, text=CHECKOUT_WORDS, user=None
        ).issue
        shared = services.occurrence_record(
            retro=self.checkout_retro, text=SHARED_WORDS, user=None
        ).issue
        self.mine = services.occurrence_record(
            retro=self.retro, text=PAYMENTS_WORDS, user=None, link_to_issue=shared
        )
        self.shared = self.mine.issue
        services.fix_apply(
            issue=self.shared,
            retro=self.checkout_retro,
            text=CHECKOUT_FIX,
            kind="process",
            kind_inferred=False,
            owner="",
            due_on=None,
            user=None,
        )
        finding_recompute_many([self.private.pk, self.shared.pk])
        self.private.refresh_from_db()
        self.shared.refresh_from_db()


@pytest.fixture
def org(cast):
    return Org(cast)


def _get(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _htmx(**extra):
    return {"HTTP_HX_REQUEST": "true", **extra}


def test_the_stored_titles_are_checkouts_words(org):
    # The leak the rule closes: both titles are Checkout's text as written.
    assert MARKER in org.private.title and MARKER in org.shared.title


@pytest.mark.parametrize("role", PAYMENTS_ONLY)
def test_the_issue_list_shows_neutral_or_own_titles(cast, org, role):
    html = _get(cast.clients[role], reverse("retros:issue_list"))
    assert MARKER not in html, f"a {role} of Payments reads Checkout's words on /issues/"
    assert "Issue raised once in Checkout" in html
    assert PAYMENTS_WORDS in html  # the shared issue, by the raising they may read


@pytest.mark.parametrize("role", PAYMENTS_ONLY)
def test_the_issue_list_search_finds_only_words_one_may_read(cast, org, role):
    client = cast.clients[role]
    # Checkout's words find nothing, not even a neutral title that would confirm them.
    hidden = _get(client, reverse("retros:issue_list"), q=MARKER.lower())
    assert "Showing 0:" in hidden and "Issue raised once in Checkout" not in hidden
    mine = _get(client, reverse("retros:issue_list"), q="hand-offs to")
    assert "Showing 1:" in mine and PAYMENTS_WORDS in mine
    assert MARKER in _get(cast.clients["leader"], reverse("retros:issue_list"), q=MARKER)


@pytest.mark.parametrize("role", PAYMENTS_ONLY)
def test_the_issue_page_shows_team_and_date_but_not_words(cast, org, role):
    private = _get(cast.clients[role], reverse("retros:issue_detail", args=[org.private.pk]))
    assert MARKER not in private
    assert "<h1>Issue raised once in Checkout</h1>" in private
    assert "What Checkout wrote stays with its members and leaders." in private
    shared = _get(cast.clients[role], reverse("retros:issue_detail", args=[org.shared.pk]))
    assert MARKER not in shared, f"a {role} reads Checkout's raising or fix on the issue page"
    assert f"<h1>{PAYMENTS_WORDS}</h1>" in shared
    assert "<strong>Checkout</strong>" in shared  # the other team's entries: team and date


def test_leaders_and_checkout_read_checkouts_words(cast, org):
    for role in ("leader", "admin"):
        html = _get(cast.clients[role], reverse("retros:issue_detail", args=[org.shared.pk]))
        assert f"<h1>{SHARED_WORDS}</h1>" in html and CHECKOUT_FIX in html
    checkout = MembershipFactory(
        organization=cast.org,
        role=Role.MEMBER,
        user=UserFactory(username="cho"),
        teams=[cast.other_team],
    )
    cast.clients["member"].force_login(checkout.user)
    html = _get(cast.clients["member"], reverse("retros:issue_list"))
    assert CHECKOUT_WORDS in html and SHARED_WORDS in html


def test_a_renamed_title_is_read_by_everyone_who_may_read_a_raising(cast, org):
    client = cast.clients["facilitator"]
    client.post(reverse("retros:issue_rename", args=[org.shared.pk]), {"title": "Slow hand-offs"})
    client.post(reverse("retros:issue_rename", args=[org.private.pk]), {"title": "Arguments"})
    html = _get(cast.clients["member"], reverse("retros:issue_list"))
    assert "Slow hand-offs" in html
    assert "Arguments" not in html  # Payments may read none of its raisings
    assert "Arguments" in _get(cast.clients["leader"], reverse("retros:issue_list"))


def test_the_rename_form_never_holds_words_the_person_may_not_read(cast, org):
    html = _get(cast.clients["facilitator"], reverse("retros:issue_detail", args=[org.shared.pk]))
    assert 'name="title" maxlength="200" value=""' in html


@pytest.mark.parametrize("role", PAYMENTS_ONLY)
def test_the_team_home_names_issues_by_words_the_team_may_read(cast, org, role):
    services.fix_apply(
        issue=org.shared,
        retro=org.retro,
        text="Payments writes the hand-off checklist",
        kind="process",
        kind_inferred=False,
        owner="",
        due_on=None,
        user=None,
    )
    html = _get(cast.clients[role], reverse("retros:team_home", args=[cast.team.pk]))
    assert MARKER not in html
    assert PAYMENTS_WORDS in html


def test_the_board_links_issues_by_words_the_team_may_read(cast, org):
    html = _get(cast.clients["facilitator"], reverse("retros:retro_board", args=[org.retro.pk]))
    assert MARKER not in html
    assert PAYMENTS_WORDS in html


def test_suggestions_offer_other_teams_issues_without_their_words(cast, org):
    client = cast.clients["facilitator"]
    html = client.get(
        reverse("retros:retro_suggestions", args=[org.retro.pk]),
        {"text": "Priya and Marco argued through the architecture review"},
        **_htmx(),
    ).content.decode()
    assert MARKER not in html, "a Payments facilitator reads Checkout's words in suggestions"
    assert "Issue raised once in Checkout" in html
    assert f'value="{org.private.pk}:' in html  # still offered across teams
    response = client.post(
        reverse("retros:occurrence_create", args=[org.retro.pk]),
        {"text": "Architecture reviews end in arguments", "link_to": f"{org.private.pk}:0.9"},
        follow=True,
    )
    assert response.status_code == 200
    assert Occurrence.objects.filter(issue=org.private, team=cast.team).exists()
    assert MARKER not in response.content.decode()  # the confirmation names it neutrally


@pytest.mark.parametrize("team_ids", [(), ("team",), ("other_team",), ("team", "other_team")])
@pytest.mark.parametrize("role", [Role.MEMBER, Role.FACILITATOR, Role.LEADER])
def test_suggestions_read_the_titles_show_titles_gives(cast, org, role, team_ids):
    """The suggestion list reads each title's provenance with its counts (one query less on
    every keystroke): the titles it shows are those of show_titles, whatever the person's
    teams, with an archived raising, a renamed issue and another team's words among them."""
    archived = services.occurrence_record(
        retro=org.checkout_retro, text=f"Release notes are always late {MARKER}", user=None
    )
    services.occurrence_record(
        retro=org.retro, text="Release notes late again", user=None, link_to_issue=archived.issue
    )
    services.occurrence_archive(occurrence=archived, user=None)  # Checkout's words: gone
    services.issue_rename(issue=org.private, title="Architecture reviews go badly", user=None)
    access = Access(
        user_id=cast.users["member"].pk,
        organization=cast.org,
        role=role,
        team_ids=frozenset(getattr(cast, name).pk for name in team_ids),
    )
    found = suggest(
        organization=cast.org,
        text="Hand-offs stall, release notes are late, architecture reviews end in arguments",
        team=cast.team,
        limit=10,
        readable_teams=visibility.readable_teams(access),
    )
    assert {s.issue.pk for s in found} >= {org.private.pk, org.shared.pk, archived.issue_id}
    read_with = [s.issue for s in found]
    views._show_titles(access, found)
    fresh = visibility.show_titles(access, Issue.objects.filter(pk__in=[i.pk for i in read_with]))
    expected = {i.pk: (i.display_title, i.sees_raisings) for i in fresh}
    assert {i.pk: (i.display_title, i.sees_raisings) for i in read_with} == expected
    if role != Role.LEADER and cast.other_team.pk not in access.team_ids:
        assert all(MARKER not in title for title, _ in expected.values())


@pytest.mark.parametrize("role", ["facilitator", "leader"])
def test_a_logged_raising_offers_its_likely_issue_by_words_the_person_may_read(cast, org, role):
    """A raising logged as new whose likely earlier issue is Checkout's: the row offers the
    link, named neutrally for Payments' facilitator and by its words for a leader."""
    response = cast.clients[role].post(
        reverse("retros:occurrence_create", args=[org.retro.pk]),
        {"text": "Priya and Marco argued through the architecture review"},
        **_htmx(),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert LinkReview.objects.filter(candidate=org.private).exists()
    if role == "facilitator":
        assert MARKER not in html
        assert "Issue raised once in Checkout" in html
    else:
        assert CHECKOUT_WORDS in html


def test_searching_by_title_never_matches_words_the_person_may_not_read(cast, org):
    client = cast.clients["facilitator"]
    merge = _get(client, reverse("retros:issue_detail", args=[org.mine.issue_id]), merge_q="Priya")
    assert "No other issue title contains" in merge and MARKER not in merge
    link = _get(client, reverse("retros:occurrence_link", args=[org.mine.pk]), q="Priya")
    assert "No issue title contains" in link and MARKER not in link
    leader = _get(
        cast.clients["leader"], reverse("retros:occurrence_link", args=[org.mine.pk]), q="Priya"
    )
    assert CHECKOUT_WORDS in leader


def test_the_review_queue_names_candidates_neutrally(cast, org):
    LinkReview.objects.create(
        organization=cast.org, occurrence=org.mine, candidate=org.private, score=0.7
    )
    html = _get(cast.clients["facilitator"], reverse("review:queue"))
    assert MARKER not in html
    assert "Issue raised once in Checkout" in html and PAYMENTS_WORDS in html
    assert CHECKOUT_WORDS in _get(cast.clients["leader"], reverse("review:queue"))


def test_a_merged_issue_keeps_its_words_from_the_targets_other_readers(cast, org):
    client = cast.clients["leader"]
    response = client.post(
        reverse("retros:issue_merge", args=[org.private.pk]), {"target": org.shared.pk}
    )
    assert response.status_code == 302
    html = _get(cast.clients["member"], reverse("retros:issue_detail", args=[org.shared.pk]))
    assert MARKER not in html
    assert "An issue raised once" in html
    old = _get(cast.clients["member"], reverse("retros:issue_detail", args=[org.private.pk]))
    assert MARKER not in old


@pytest.mark.parametrize("role", PAYMENTS_ONLY)
def test_the_leader_pages_and_exports_are_closed_to_people_of_one_team(cast, org, role):
    for name in ("diagnosis:overview", "diagnosis:export_csv", "diagnosis:export_json"):
        assert cast.clients[role].get(reverse(name)).status_code == 403


def test_leaders_read_every_teams_words_in_exports_and_dashboard(cast, org):
    response = cast.clients["leader"].get(reverse("diagnosis:export_json"))
    document = json.loads(
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    titles = {issue["title"] for issue in document["issues"]}
    assert CHECKOUT_WORDS in titles
    finding = _get(cast.clients["leader"], reverse("diagnosis:finding", args=[org.private.pk]))
    assert CHECKOUT_WORDS in finding


def test_the_digest_goes_only_to_people_who_read_every_teams_words(cast, org, settings):
    settings.SITE_URL = "https://recur.example"
    for role in ("member", "facilitator", "leader"):
        user = cast.users[role]
        user.email = f"{role}@example.com"
        user.save(update_fields=["email"])
    digest_send_weekly()
    recipients = {address for message in mail.outbox for address in message.to}
    assert "leader@example.com" in recipients
    assert not recipients & {"member@example.com", "facilitator@example.com"}
