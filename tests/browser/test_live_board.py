"""The whole team in the retro, live: a facilitator and two members, each in their own
browser, see every step of the others within 2 seconds without reloading."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from retros import cards, services
from retros.models import Card, CardVote, Occurrence, Role
from tests.browser.conftest import log_in, screenshot
from tests.factories import (
    PASSWORD,
    IssueFactory,
    MembershipFactory,
    OccurrenceFactory,
    RetrospectiveFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _long_streams(settings):
    """Streams as in production, long and quiet. Several browsers with open streams need a
    database that serves concurrent connections: the test server's in-memory SQLite runs in
    shared-cache mode, whose table locks are not retried, and under load a sign-in or a
    session read then fails. These run on PostgreSQL (CI runs the suite on both)."""
    if connection.vendor == "sqlite":
        pytest.skip("concurrent browsers with live streams need PostgreSQL's connections")
    settings.RECUR_LIVE_STREAM_SECONDS = 60
    settings.RECUR_LIVE_TICK_SECONDS = 30


LIVE = 2_000  # ms: every change reaches every open board within this


def _open(browser, live_server, username, width=1280):
    context = browser.new_context(
        viewport={"width": width, "height": 900}, base_url=live_server.url
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    log_in(page, username, PASSWORD)
    return page


def _live_retro(cast, format, anonymity, *, private, votes):
    """Today's retro of the team, held live as the facilitator set it up."""
    retro = services.retro_start(
        team=cast.team,
        held_on=timezone.localdate(),
        title=f"Live {anonymity}",
        format=format,
        user=cast.users["facilitator"],
    )
    return cards.board_settings(
        retro=retro, anonymity=anonymity, private_until_reveal=private, vote_budget=votes
    )


def _until(press, done) -> None:
    """``press`` until ``done`` holds, as a person would: the board may be redrawn by a
    change just as a button is pressed, and then they press it again on the new one."""
    for _ in range(3):
        press()
        try:
            done()
            return
        except AssertionError:
            continue
    done()


def _click_until(button, done) -> None:
    """Click ``button`` (when it is on the board) until ``done`` holds."""
    _until(lambda: button.click() if button.count() else None, done)


def _until_all_see(press, boards, selector: str, text: str) -> None:
    """``press`` on the first board until it shows ``text``; then every board shows it."""
    _until(press, lambda: expect(boards[0].locator(selector)).to_contain_text(text, timeout=LIVE))
    for page in boards:
        expect(page.locator(selector)).to_contain_text(text, timeout=LIVE)


def _next_phase(page, phase: str) -> None:
    button = page.get_by_role("button", name=f"Next: {phase}")
    _click_until(
        button,
        lambda: expect(page.locator(".phases .current")).to_have_text(phase, timeout=LIVE),
    )


def _vote(page, card_text):
    card = page.locator(".card-item", has_text=card_text)
    button = card.get_by_role("button", name="○ Vote")
    _click_until(
        button,
        lambda: expect(card.get_by_role("button", name="● Voted · take back")).to_be_visible(
            timeout=LIVE
        ),
    )


def _write(page, column, text):
    page.get_by_label("Column").select_option(column)
    field = page.get_by_label("Your card")
    field.fill(text)
    field.press("Enter")
    expect(field).to_have_value("")


def test_three_people_write_reveal_group_vote_and_discuss_live(browser, live_server, cast):
    MembershipFactory(
        organization=cast.org, role=Role.MEMBER, user=UserFactory(username="mia"), teams=[cast.team]
    )
    earlier = RetrospectiveFactory(
        team=cast.team, held_on=timezone.localdate() - dt.timedelta(days=28)
    )
    issue = IssueFactory(organization=cast.org, title="Staging environment keeps breaking")
    for text in ("Staging environment keeps breaking", "Staging was broken for two days"):
        OccurrenceFactory(retro=earlier, issue=issue, text=text)
    services.issue_refresh_stats(issue_ids=[issue.pk])
    retro = _live_retro(cast, "start_stop_continue", "named", private=True, votes=2)
    facilitator = _open(browser, live_server, "fay")
    first = _open(browser, live_server, "mo")
    second = _open(browser, live_server, "mia", width=390)
    boards = (facilitator, first, second)
    for page in boards:
        page.goto(f"/retros/{retro.pk}/live/")
        expect(page.locator(".phases .current")).to_have_text("Write")

    # Write: private until revealed; the others see only that cards exist.
    _write(first, "Stop", "Staging env was broken again for two days")
    _write(second, "Stop", "Staging environment down again, could not test")
    _write(second, "Continue", "Pairing on reviews worked well")
    expect(facilitator.locator(".hidden-count").first).to_contain_text(
        "2 cards hidden", timeout=LIVE
    )
    expect(first.locator("#live-cards")).not_to_contain_text("could not test")
    screenshot(second, "live-board-write-390")

    # Reveal: everyone sees every card.
    reveal = facilitator.get_by_role("button", name="Reveal cards")
    _until_all_see(
        lambda: reveal.click() if reveal.count() else None, boards, "#live-cards", "could not test"
    )

    # Group: Recur proposes the duplicate; the facilitator groups it with one key press.
    _next_phase(facilitator, "Group")
    for page in boards:
        expect(page.locator(".phases .current")).to_have_text("Group", timeout=LIVE)
    proposal = facilitator.get_by_role("button", name="Group with “Staging env was broken")

    def group_by_keyboard() -> None:
        if proposal.count():
            proposal.focus()
            facilitator.keyboard.press("Enter")

    _until_all_see(group_by_keyboard, boards, ".grouped", "could not test")
    screenshot(facilitator, "live-board-group")

    # Vote: within each person's budget, hidden until the vote ends.
    _next_phase(facilitator, "Vote")
    for page in boards:
        expect(page.locator(".phases .current")).to_have_text("Vote", timeout=LIVE)
    for page in (first, second):
        _vote(page, "Staging env was broken")
    _vote(second, "Pairing")
    expect(second.locator("#phase-help")).to_contain_text("0 of 2 votes left")
    expect(second.get_by_role("button", name="○ Vote")).to_have_count(0)
    assert CardVote.objects.filter(retro=retro).count() == 3
    expect(first.locator(".card-meta strong")).to_have_count(0)  # nobody's totals yet

    # Discuss: most votes first, each group a raising that meets Recur's memory.
    _next_phase(facilitator, "Discuss")
    for page in boards:
        expect(page.locator(".card-item").first).to_contain_text("2 votes", timeout=LIVE)
    lead = Card.objects.get(text__startswith="Staging env was broken")
    raising = Occurrence.objects.get(pk=lead.occurrence_id)
    assert raising.votes == 2 and Occurrence.objects.filter(retro=retro).count() == 2

    # Recur's memory offers the earlier issue to the facilitator, who links the group from
    # the live board; both members' boards show it without reloading.
    offer = facilitator.locator(".card-item", has_text="Staging env was broken").locator(
        ".possible-link"
    )
    expect(offer).to_contain_text("Looks like “Staging environment keeps breaking”")
    expect(first.locator(".possible-link")).to_have_count(0)
    screenshot(facilitator, "live-board-discuss-offer")
    offer.get_by_role("button", name="Link it").click()
    for page in boards:
        expect(page.locator("#live-cards")).to_contain_text("Raised before", timeout=LIVE)
    # On the retro board the facilitator records a fix; the members' boards show it too.
    scribe = facilitator.context.new_page()
    scribe.goto(f"/retros/{retro.pk}/")
    row = scribe.locator(f"#occ-{raising.pk}")
    expect(row).to_contain_text("Raised again")
    row.get_by_text("Record a fix").click()
    row.get_by_label("What will be done").fill("Rebuild staging from code every night")
    row.get_by_label("Kind").select_option("infrastructure")
    row.get_by_role("button", name="Record fix").click()
    for page in (first, second):
        expect(page.locator("#live-cards")).to_contain_text(
            "Rebuild staging from code every night", timeout=LIVE
        )
    screenshot(first, "live-board-discuss")
    screenshot(second, "live-board-discuss-390")
    for page in boards:
        assert not page.errors  # type: ignore[attr-defined]
        page.context.close()


def test_an_anonymous_board_leaves_no_author_anywhere(browser, live_server, cast):
    retro = _live_retro(cast, "mad_sad_glad", "anonymous", private=False, votes=3)
    member = _open(browser, live_server, "mo")
    facilitator = _open(browser, live_server, "fay")
    member.goto(f"/retros/{retro.pk}/live/")
    facilitator.goto(f"/retros/{retro.pk}/live/")
    expect(member.locator("#anonymity-note")).to_contain_text("No names are stored")
    _write(member, "Sad", "Feedback in reviews feels personal")
    card = facilitator.locator(".card-item", has_text="Feedback in reviews")
    expect(card).to_contain_text("A member of the team", timeout=LIVE)
    # A card removed by mistake comes back with one key (the focus is on "Undo"), on every
    # board.
    mine = member.locator(".card-item", has_text="Feedback in reviews")
    card.get_by_role("button", name="Remove").click()
    expect(facilitator.get_by_role("button", name="Undo")).to_be_focused()
    expect(mine).to_have_count(0, timeout=LIVE)
    screenshot(facilitator, "live-board-undo-remove")
    facilitator.keyboard.press("Enter")
    expect(mine).to_contain_text("A member of the team", timeout=LIVE)
    discuss = facilitator.get_by_role("button", name="Go to discuss")
    _click_until(
        discuss,
        lambda: expect(facilitator.locator(".phases .current")).to_have_text(
            "Discuss", timeout=LIVE
        ),
    )
    expect(member.locator(".phases .current")).to_have_text("Discuss", timeout=LIVE)
    stored = Card.objects.get()
    raising = Occurrence.objects.get(retro=retro)
    assert stored.author_id is None and raising.created_by_id is None
    assert not raising.history.exclude(history_user=None).exists()
    for page in (member, facilitator):
        page.context.close()


def test_members_group_by_dragging_a_card_onto_another_when_allowed(browser, live_server, cast):
    retro = _live_retro(cast, "mad_sad_glad", "named", private=False, votes=3)
    lead, other = (
        cards.card_add(retro=retro, text=text, column="Sad", user=cast.users["member"])
        for text in ("Deploys wait days for a QA slot", "Waiting on QA to release")
    )
    cards.board_settings(
        retro=retro, anonymity="named", private_until_reveal=False, vote_budget=3,
        members_group=True,
    )  # fmt: skip
    cards.phase_move(retro=retro, phase="group", user=cast.users["facilitator"])
    member = _open(browser, live_server, "mo")
    facilitator = _open(browser, live_server, "fay")
    for page in (member, facilitator):
        page.goto(f"/retros/{retro.pk}/live/")
    expect(member.locator("#phase-help")).to_contain_text("drag a card onto another")
    moved, target = member.locator(f"#card-{other.pk}"), member.locator(f"#card-{lead.pk}")
    _until_all_see(
        lambda: moved.drag_to(target) if moved.count() else None,
        (member, facilitator),
        ".grouped",
        "Waiting on QA to release",
    )
    other.refresh_from_db()
    assert other.lead_id == lead.pk
    screenshot(member, "live-board-drag-group")

    # A countdown the facilitator starts runs on every board.
    minutes = facilitator.get_by_label("Countdown")
    minutes.fill("2")
    minutes.press("Enter")
    clock = member.locator(".timer-clock")
    expect(clock).to_have_text(re.compile(r"^1:5\d$"), timeout=LIVE + 2_000)  # counting down
    member.set_viewport_size({"width": 390, "height": 900})
    screenshot(member, "live-board-timer-390")
    screenshot(facilitator, "live-board-timer")
    facilitator.set_viewport_size({"width": 390, "height": 900})
    screenshot(facilitator, "live-board-timer-facilitator-390")
    for page in (member, facilitator):
        assert not page.errors  # type: ignore[attr-defined]
        page.context.close()
