"""The link review queue page: confirm or reject possible recurrences, one or in bulk."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from retros import access as acl
from retros import review, visibility


def _reviewer(request: HttpRequest) -> acl.Access:
    access = acl.access_for(request)
    if not access.can_facilitate:
        raise PermissionDenied("Only facilitators and leaders review possible recurrences.")
    return access


GROUPS_PER_PAGE = 20


@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    template = "retros/review_queue.html"
    if getattr(request, "htmx", False):
        template += "#queue"
    return render(request, template, _queue(request, request.GET.get("page")))


def _queue(request: HttpRequest, page_number: Any) -> dict[str, Any]:
    """The queue grouped by candidate issue, a page of groups at a time."""
    access = _reviewer(request)
    page = Paginator(review.pending_candidates(access), GROUPS_PER_PAGE).get_page(page_number)
    groups = review.review_groups(access, [row["candidate_id"] for row in page.object_list])
    visibility.show_titles(access, [group.candidate for group in groups])
    return {
        "page": page,
        "groups": groups,
        # Raisings, not pairs: one raising may wait on a close second issue too.
        "waiting": review.pending_reviews(access)
        .order_by()
        .values("occurrence_id")
        .distinct()
        .count(),
    }


@require_POST
def review_decide(request: HttpRequest) -> HttpResponse:
    """Confirm or reject the selected reviews (one button, or bulk with checkboxes)."""
    access = _reviewer(request)
    decision = request.POST.get("decision")
    ids = _ids(request.POST.getlist("review"))
    single = request.POST.get("single", "")
    group = request.POST.get("group", "")
    if ":" in single:  # the per-row buttons decide one pair, whatever is selected
        decision, _, review_id = single.partition(":")
        ids = _ids([review_id])
    elif ":" in group:  # a group's buttons decide the pairs it showed, whatever is selected
        decision, _, listed = group.partition(":")
        ids = _ids(listed.split(","))
    if decision not in ("confirm", "reject"):
        messages.error(request, "Choose whether the selected pairs are the same issue or not.")
        return redirect("review:queue")
    chosen = review.reviews_for(access, ids)
    if not chosen:
        messages.warning(request, "Select at least one possible recurrence first.")
        return _back(request)
    confirmed: set[int] = set()
    for item in chosen:
        if decision == "confirm":
            if item.occurrence_id in confirmed:
                continue  # one occurrence joins one issue; the first choice wins
            review.review_confirm(review=item, user=request.user)
            confirmed.add(item.occurrence_id)
        else:
            review.review_reject(review=item, user=request.user)
    verb = "Linked" if decision == "confirm" else "Kept apart"
    messages.success(request, f"{verb}: {len(chosen)} possible recurrence(s).")
    return _back(request)


def _ids(values: list[str]) -> list[int]:
    """The review ids among posted values: plain ASCII digits of a size a key can have
    ("²" and "٣" are digits to str.isdigit, and a 30-digit number overflows the database)."""
    return [int(v) for v in values if v.isascii() and v.isdigit() and len(v) <= 18]


def _back(request: HttpRequest) -> HttpResponse:
    if getattr(request, "htmx", False):
        return review_queue_fragment(request)
    return redirect("review:queue")


def review_queue_fragment(request: HttpRequest) -> HttpResponse:
    """The queue after a decision: the page the person was on (or the last one left)."""
    page_number = request.POST.get("page") or request.GET.get("page")
    return render(request, "retros/review_queue.html#queue", _queue(request, page_number))
