"""The weekly digest e-mail to leaders: new and escalating band-aid loops, fixes coming due
and issues resolved in the past week, with absolute links to the finding pages.

Delivery is at most once per leader per ISO week. For each leader a DigestDelivery row is
inserted and committed *before* the message is sent; the unique constraint (user, week) makes a
second run of the task, or a concurrent one, skip that leader. When sending raises, the row is
deleted again so that a retry sends it. The one case that loses a digest is a worker killed
between the commit and the SMTP hand-over: we prefer a rare missing digest to a leader
receiving the same digest twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from diagnosis.models import DigestDelivery, Finding, FindingStatus
from retros.access import ORG_WIDE_ROLES
from retros.models import Fix, FixStatus, Membership, Organization, Role
from vocabulary.dates import day_text

logger = logging.getLogger(__name__)

DAYS = 7
LIMIT = 20


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


@dataclass(frozen=True)
class DigestItem:
    title: str
    url: str
    detail: str


@dataclass(frozen=True)
class Digest:
    organization: str
    week: str
    since: date
    new_flags: tuple[DigestItem, ...]
    escalating: tuple[DigestItem, ...]
    fixes_due: tuple[DigestItem, ...]
    resolved: tuple[DigestItem, ...]
    dashboard_url: str

    @property
    def is_quiet(self) -> bool:
        return not (self.new_flags or self.escalating or self.fixes_due or self.resolved)


def _previous(field: str) -> Subquery:
    return Subquery(
        Finding.objects.filter(issue_id=OuterRef("issue_id"), is_current=False)
        .filter(created_at__lt=OuterRef("created_at"))
        .order_by("-created_at", "-id")
        .values(field)[:1]
    )


def _finding_url(issue_id: int) -> str:
    return absolute_url(reverse("diagnosis:finding", args=[issue_id]))


def _teams(count: int) -> str:
    return f"{count} team{'s' if count != 1 else ''}"


def build_digest(organization: Organization, *, now: datetime | None = None) -> Digest:
    """The organisation's digest for the week ending `now` (three queries)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    since = now - timedelta(days=DAYS)
    changed = list(
        Finding.objects.filter(organization=organization, is_current=True, created_at__gte=since)
        .select_related("issue")
        .annotate(
            prev_flagged=_previous("flagged"),
            prev_status=_previous("status"),
            prev_occurrences=_previous("occurrence_count"),
            prev_teams=_previous("team_count"),
        )
        .order_by("-occurrence_count", "-id")
    )
    new_flags, escalating, resolved = [], [], []
    for f in changed:
        url = _finding_url(f.issue_id)
        times = f"raised {f.occurrence_count} times in {_teams(f.team_count)}"
        detail = f"{f.get_category_display()}, {times}, {f.band_aid_fixes} band-aid fixes"
        if f.flagged and not f.prev_flagged:
            new_flags.append(DigestItem(f.issue.title, url, detail))
        elif f.flagged and (
            f.occurrence_count > (f.prev_occurrences or 0) or f.team_count > (f.prev_teams or 0)
        ):
            escalating.append(DigestItem(f.issue.title, url, detail))
        elif f.status == FindingStatus.RESOLVED and f.prev_status != FindingStatus.RESOLVED:
            resolved.append(DigestItem(f.issue.title, url, f"{f.get_category_display()}, {times}"))
    fixes = (
        Fix.objects.live()
        .filter(
            organization=organization,
            status=FixStatus.OPEN,
            due_on__isnull=False,
            due_on__lte=today + timedelta(days=DAYS),
        )
        .select_related("issue", "team")
        .order_by("due_on", "id")[:LIMIT]
    )
    fixes_due = [
        DigestItem(
            fix.text,
            _finding_url(fix.issue_id),
            f"{'overdue since' if fix.due_on and fix.due_on < today else 'due'} "
            f"{day_text(fix.due_on) if fix.due_on else ''}"
            f"{', ' + fix.team.name if fix.team else ''}"
            f"{', owner ' + fix.owner if fix.owner else ''} (issue: {fix.issue.title})",
        )
        for fix in fixes
    ]
    return Digest(
        organization=organization.name,
        week=iso_week(today),
        since=timezone.localdate(since),
        new_flags=tuple(new_flags[:LIMIT]),
        escalating=tuple(escalating[:LIMIT]),
        fixes_due=tuple(fixes_due),
        resolved=tuple(resolved[:LIMIT]),
        dashboard_url=absolute_url(reverse("diagnosis:overview")),
    )


def digest_message(digest: Digest, *, to: str, name: str) -> EmailMultiAlternatives:
    """The e-mail: plain text and an HTML alternative (user text escaped in the HTML)."""
    context = {"digest": digest, "name": name}
    subject = f"Recur weekly digest for {digest.organization}, {digest.week}"
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("diagnosis/email/digest.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(
        render_to_string("diagnosis/email/digest.html", context), "text/html"
    )
    return message


# The digest is built once per organisation and names every team's issues by their stored
# titles: only roles that read every team's words (retros.visibility) receive it.
DIGEST_ROLES = frozenset({Role.LEADER}) & ORG_WIDE_ROLES


def _recipients() -> dict[int, list[Membership]]:
    by_organization: dict[int, list[Membership]] = defaultdict(list)
    for membership in (
        Membership.objects.filter(role__in=DIGEST_ROLES, digest_enabled=True, user__is_active=True)
        .exclude(user__email="")
        .select_related("user", "organization")
        .order_by("organization_id", "user_id")
    ):
        by_organization[membership.organization_id].append(membership)
    return by_organization


def digest_send_weekly(*, now: datetime | None = None) -> int:
    """Send this ISO week's digest to every leader who wants it; returns how many were sent.
    Safe to run twice: a leader who already has this week's DigestDelivery is skipped."""
    now = now or timezone.now()
    week = iso_week(timezone.localdate(now))
    sent = 0
    failed = 0
    for memberships in _recipients().values():
        digest = build_digest(memberships[0].organization, now=now)
        for membership in memberships:
            user = membership.user
            try:
                with transaction.atomic():
                    DigestDelivery.objects.create(user=user, week=week, sent_at=now)
            except IntegrityError:
                continue  # already sent this week
            name = user.get_full_name() or user.get_username()
            try:
                digest_message(digest, to=user.email, name=name).send()
            except Exception:
                logger.exception("Weekly digest to user %s failed; it will be retried", user.pk)
                DigestDelivery.objects.filter(user=user, week=week).delete()
                failed += 1
                continue
            sent += 1
    if failed:
        raise RuntimeError(f"{failed} weekly digest(s) could not be sent; retry the task.")
    return sent
