"""The link review queue page: confirm or reject possible recurrences, one or in bulk."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from retros import access as acl
from retros import review, visibility

PAGE_SIZE = 25


def _reviewer(request: HttpRequest) -> acl.Access:
    access = acl.access_for(request)
    if not access.can_facilitate:
        raise PermissionDenied("Only facilitators and leaders review possible recurrences.")
    return access


@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    access = _reviewer(request)
    page = Paginator(review.pending_reviews(access), PAGE_SIZE).get_page(request.GET.get("page"))
    _show_titles(access, page)
    template = "retros/review_queue.html"
    if getattr(request, "htmx", False):
        template += "#queue"
    return render(request, template, {"reviews": page})


@require_POST
def review_decide(request: HttpRequest) -> HttpResponse:
    """Confirm or reject the selected reviews (one button, or bulk with checkboxes)."""
    access = _reviewer(request)
    decision = request.POST.get("decision")
    ids = [int(v) for v in request.POST.getlist("review") if v.isdigit()]
    single = request.POST.get("single", "")
    if ":" in single:  # the per-row buttons decide one pair, whatever is selected
        decision, _, review_id = single.partition(":")
        ids = [int(review_id)] if review_id.isdigit() else []
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


def _back(request: HttpRequest) -> HttpResponse:
    if getattr(request, "htmx", False):
        return review_queue_fragment(request)
    return redirect("review:queue")


def review_queue_fragment(request: HttpRequest) -> HttpResponse:
    access = _reviewer(request)
    page = Paginator(review.pending_reviews(access), PAGE_SIZE).get_page(1)
    _show_titles(access, page)
    return render(request, "retros/review_queue.html#queue", {"reviews": page})


def _show_titles(access: acl.Access, page: Page) -> None:
    """Candidates with the titles the reviewer may read (retros.visibility): a facilitator
    reviews their team's raisings against issues of any team."""
    page.object_list = list(page.object_list)
    visibility.show_titles(access, [item.candidate for item in page.object_list])
