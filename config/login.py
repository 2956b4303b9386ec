"""Login guessing limits on top of django-axes.

Axes locks an *address* for `AXES_COOLOFF_TIME` after `AXES_FAILURE_LIMIT` failed log-ins
from it, whatever the user names: that stops one address spraying guesses over many people.
This handler adds the per-*account* part axes cannot express next to it (one failure limit
serves all its lock-out parameters): once a user name has had more than
`RECUR_LOGIN_ACCOUNT_FAILURE_LIMIT` failures from any addresses within the cool-off, each
further attempt on it must wait 1 s, 2 s, 4 s ... up to `RECUR_LOGIN_ACCOUNT_MAX_WAIT` after
the last failure. A stranger can slow a person down by that much at most, never lock them out.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.http import HttpRequest
from django.utils import timezone


def client_address(request: HttpRequest) -> str | None:
    """The client's address: with `RECUR_TRUSTED_PROXIES=n`, the n-th from the right of
    X-Forwarded-For (what the outermost of our proxies saw), else REMOTE_ADDR."""
    hops: int = settings.RECUR_TRUSTED_PROXIES
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if hops and len(forwarded) >= hops:
        return forwarded[-hops][:45]
    return request.META.get("REMOTE_ADDR")


def account_wait_seconds(username: str | None) -> int:
    """Seconds before the account `username` may be tried again (0: now)."""
    if not username:
        return 0
    now = timezone.now()
    recent = AccessAttempt.objects.filter(
        username=username, attempt_time__gte=now - (get_cool_off() or timedelta(0))
    ).aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    excess = (recent["failures"] or 0) - settings.RECUR_LOGIN_ACCOUNT_FAILURE_LIMIT
    if excess <= 0:
        return 0
    wait = min(2 ** min(excess - 1, 30), settings.RECUR_LOGIN_ACCOUNT_MAX_WAIT)
    remaining = (recent["last"] + timedelta(seconds=wait) - now).total_seconds()
    return max(0, math.ceil(remaining))


class LoginAttemptsHandler(AxesDatabaseHandler):
    """Axes' database handler with the per-account wait, and a success that clears only the
    person's own failures from that address (not everyone's failures from it)."""

    def is_locked(self, request: Any, credentials: dict | None = None) -> bool:
        if super().is_locked(request, credentials):
            return True
        wait = account_wait_seconds(get_client_username(request, credentials))
        request.login_wait_seconds = wait
        return wait > 0

    def reset_user_attempts(self, request: Any, credentials: dict | None = None) -> int:
        count, _ = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
        ).delete()
        return count
