"""The weekly digest: one e-mail per leader per ISO week, even when the task runs twice;
nothing for leaders who switched it off; plain text and HTML with user text escaped."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from diagnosis import digest as digest_module
from diagnosis.digest import build_digest, iso_week
from diagnosis.models import DigestDelivery, Finding
from diagnosis.tasks import send_weekly_digests
from retros.models import FixStatus, Membership, Role
from tests.diagnosis.stories import band_aid_loop, months_ago, raise_issue, recompute
from tests.factories import FixFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.usefixtures("cold_cache")


SITE = "https://recur.example"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def week(cast):
    """A week's events: a new loop (with markup in its title), an escalating loop, a fix
    coming due, a resolved issue; a second leader, and a leader who switched the digest off."""
    org = cast.org
    escalating = band_aid_loop(org, [cast.other_team], title="Hand-offs stall", start=7)
    recompute(escalating)
    Finding.objects.filter(issue=escalating).update(
        created_at=timezone.now() - dt.timedelta(days=30)
    )
    from tests.factories import OccurrenceFactory, RetrospectiveFactory

    OccurrenceFactory(
        retro=RetrospectiveFactory(team=cast.team, held_on=timezone.localdate()),
        issue=escalating,
        text="Hand-offs stalled again",
    )
    new = band_aid_loop(org, [cast.team, cast.other_team], title="<script>alert(1)</script> churn")
    resolved = raise_issue(
        org,
        [(cast.team, months_ago(8))],
        title="Flaky CI builds",
        text="CI builds flaky",
        fixes=[(cast.team, months_ago(8, day=12), "tooling")],
    )
    for n in range(4):
        RetrospectiveFactory(team=cast.team, held_on=months_ago(6 - n))
    FixFactory(
        issue=new,
        team=cast.team,
        kind="incentives",
        status=FixStatus.OPEN,
        text="Reward cross-team help",
        due_on=timezone.localdate() + dt.timedelta(days=3),
        owner="Dana",
    )
    recompute(new, escalating, resolved)
    second = MembershipFactory(
        organization=org,
        role=Role.LEADER,
        user=UserFactory(username="liv", email="liv@example.com"),
    )
    off = MembershipFactory(
        organization=org,
        role=Role.LEADER,
        digest_enabled=False,
        user=UserFactory(username="quiet", email="quiet@example.com"),
    )
    return {
        "new": new,
        "escalating": escalating,
        "resolved": resolved,
        "second": second,
        "off": off,
    }


def test_the_digest_lists_new_and_escalating_loops_fixes_due_and_resolved_issues(cast, week):
    digest = build_digest(cast.org)
    assert [i.title for i in digest.new_flags] == ["<script>alert(1)</script> churn"]
    assert [i.title for i in digest.escalating] == ["Hand-offs stall"]
    assert [i.title for i in digest.fixes_due] == ["Reward cross-team help"]
    assert [i.title for i in digest.resolved] == ["Flaky CI builds"]
    assert digest.new_flags[0].url == f"{SITE}/dashboard/findings/{week['new'].pk}/"
    assert digest.week == iso_week(timezone.localdate())


def test_each_leader_gets_one_email_a_week_even_when_the_task_runs_twice(cast, week):
    assert send_weekly_digests() == 3  # lee and liv of Northwind, oz of Contoso
    assert send_weekly_digests() == 0
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["lee@example.com", "liv@example.com", "oz@example.com"]
    week_id = iso_week(timezone.localdate())
    assert DigestDelivery.objects.filter(week=week_id).count() == 3
    assert not DigestDelivery.objects.filter(user=week["off"].user).exists()

    message = next(m for m in mail.outbox if m.to == ["lee@example.com"])
    assert message.subject == f"Recur weekly digest for Northwind, {week_id}"
    text = message.body
    assert "NEW BAND-AID LOOPS" in text and "<script>alert(1)</script> churn" in text
    assert f"{SITE}/dashboard/findings/{week['new'].pk}/" in text
    assert "ESCALATING" in text and "Hand-offs stall" in text
    assert "Reward cross-team help" in text and "owner Dana" in text
    assert "RESOLVED" in text and "Flaky CI builds" in text
    assert f"{SITE}/dashboard/" in text
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "&lt;script&gt;alert(1)&lt;/script&gt; churn" in html
    assert "<script>" not in html
    assert f'href="{SITE}/dashboard/findings/{week["new"].pk}/"' in html
    outsider = next(m for m in mail.outbox if m.to == ["oz@example.com"])
    assert "Hand-offs stall" not in outsider.body  # only their own organisation


def test_next_week_brings_a_new_digest(cast, week):
    send_weekly_digests()
    count = len(mail.outbox)
    digest_module.digest_send_weekly(now=timezone.now() + dt.timedelta(days=7))
    assert len(mail.outbox) == 2 * count


def test_a_failed_send_is_retried_and_not_marked_as_sent(cast, week, monkeypatch):
    real_send = digest_module.EmailMultiAlternatives.send
    calls = {"n": 0}

    def flaky_send(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("SMTP down")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(digest_module.EmailMultiAlternatives, "send", flaky_send)
    with pytest.raises(RuntimeError):
        send_weekly_digests()
    assert len(mail.outbox) == 2
    assert DigestDelivery.objects.count() == 2
    assert send_weekly_digests() == 1  # the retry sends the one that failed, only it
    assert len(mail.outbox) == 3
    assert len({m.to[0] for m in mail.outbox}) == 3


def test_leaders_switch_the_digest_off_and_on_from_the_dashboard(cast, week):
    client = cast.clients["leader"]
    membership = Membership.objects.get(user=cast.users["leader"])
    assert 'aria-pressed="true"' in client.get(reverse("diagnosis:overview")).content.decode()
    response = client.post(
        reverse("diagnosis:digest_toggle"), {"enabled": "off"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert 'aria-pressed="false"' in response.content.decode()
    assert response.content.decode().lstrip().startswith('<form id="digest-toggle"')
    membership.refresh_from_db()
    assert membership.digest_enabled is False
    send_weekly_digests()
    assert "lee@example.com" not in [m.to[0] for m in mail.outbox]
    client.post(reverse("diagnosis:digest_toggle"), {"enabled": "on"})
    membership.refresh_from_db()
    assert membership.digest_enabled is True


def test_admins_have_no_digest_switch(cast):
    html = cast.clients["admin"].get(reverse("diagnosis:overview")).content.decode()
    assert "digest-toggle" not in html
    assert cast.clients["admin"].post(reverse("diagnosis:digest_toggle")).status_code == 404
