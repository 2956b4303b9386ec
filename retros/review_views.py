"""The link review queue page: confirm or reject possible recurrences, one or in bulk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.text import Truncator
from django.views.decorators.http import require_GET, require_POST

from retros import access as acl
from retros import review, visibility
from retros.models import ReviewStatus


def _reviewer(request: HttpRequest) -> acl.Access:
    access = acl.access_for(request)
    if not access.can_facilitate:
        raise PermissionDenied("Only facilitators and leaders review possible recurrences.")
    return access


GROUPS_PER_PAGE = 20


@dataclass(frozen=True)
class Outcome:
    """What the last decision did, said above the queue, with the pairs "Undo" takes back."""

    text: str
    undo: str = ""  # review ids, comma-separated
    error: bool = False

    @property
    def undo_ids(self) -> list[str]:
        return self.undo.split(",") if self.undo else []


@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    template = "retros/review_queue.html"
    if getattr(request, "htmx", False):
        template += "#queue"
    access = _reviewer(request)
    # After a decision without htmx, the address names the pairs decided: Undo stays offered.
    decided = review.decided_reviews_for(access, _ids(request.GET.get("undo", "").split(",")))
    outcome = _outcome(access, decided) if decided else None
    return render(request, template, _queue(request, request.GET.get("page"), outcome))


def _outcome(access: acl.Access, decided: list[Any]) -> Outcome:
    undo = ",".join(str(r.pk) for r in decided)
    if len(decided) == 1:  # one pair: say which, with the title this person may read
        (one,) = decided
        text = Truncator(one.occurrence.text).chars(80)
        title = visibility.display_title(access, one.candidate)
        if one.status == ReviewStatus.CONFIRMED:
            return Outcome(f"Linked “{text}” to “{title}”.", undo=undo)
        return Outcome(f"Kept “{text}” apart from “{title}”.", undo=undo)
    linked = sum(1 for r in decided if r.status == ReviewStatus.CONFIRMED)
    apart = len(decided) - linked
    said = []
    if linked:
        said.append(f"Linked {linked} raising{pluralize(linked)} to the issue chosen.")
    if apart:
        said.append(f"Kept {apart} pair{pluralize(apart)} apart.")
    return Outcome(" ".join(said), undo=undo)


def _queue(
    request: HttpRequest, page_number: Any, outcome: Outcome | None = None
) -> dict[str, Any]:
    """The queue grouped by candidate issue, a page of groups at a time."""
    access = _reviewer(request)
    page = Paginator(review.pending_candidates(access), GROUPS_PER_PAGE).get_page(page_number)
    groups = review.review_groups(access, [row["candidate_id"] for row in page.object_list])
    visibility.show_titles(access, [group.candidate for group in groups])
    return {
        "outcome": outcome,
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
        return _back(
            request,
            Outcome("Choose whether the selected pairs are the same issue or not.", error=True),
        )
    chosen = review.reviews_for(access, ids)
    if not chosen:
        return _back(request, Outcome("Select at least one possible recurrence first.", error=True))
    confirmed: set[int] = set()
    decided = []
    for item in chosen:
        if decision == "confirm":
            if item.occurrence_id in confirmed:
                continue  # one occurrence joins one issue; the first choice wins
            decided.append(review.review_confirm(review=item, user=request.user))
            confirmed.add(item.occurrence_id)
        else:
            decided.append(review.review_reject(review=item, user=request.user))
    return _back(request, _outcome(access, decided))


@require_POST
def review_undo(request: HttpRequest) -> HttpResponse:
    """Take the decisions on the posted pairs back: they wait in the queue again."""
    access = _reviewer(request)
    chosen = review.decided_reviews_for(access, _ids(request.POST.getlist("review")))
    if not chosen:
        return _back(
            request, Outcome("Nothing to undo: those pairs wait for a decision.", error=True)
        )
    undone = 0
    chosen_ids = {r.pk for r in chosen}
    for item in chosen:
        if item.settled_by_id in chosen_ids:
            continue  # undoing the confirmation that settled it brings it back
        try:
            review.review_undo(review=item, user=request.user)
        except ValidationError as error:
            return _back(request, Outcome(" ".join(error.messages), error=True))
        undone += 1
    return _back(
        request,
        Outcome(
            f"Undone: {undone} decision{pluralize(undone)}; the pairs wait in the queue again."
        ),
    )


def _ids(values: list[str]) -> list[int]:
    """The review ids among posted values: plain ASCII digits of a size a key can have
    ("²" and "٣" are digits to str.isdigit, and a 30-digit number overflows the database)."""
    return [int(v) for v in values if v.isascii() and v.isdigit() and len(v) <= 18]


def _back(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    """The queue after a decision: with htmx, the page the person was on (or the last one
    left) with what was done above it; without, the same said once the queue is loaded
    again, its Undo named by the address."""
    page_number = request.POST.get("page") or request.GET.get("page")
    if getattr(request, "htmx", False):
        context = _queue(request, page_number, outcome)
        return render(request, "retros/review_queue.html#queue", context)
    if outcome.error:
        messages.error(request, outcome.text)
        return redirect("review:queue")
    if not outcome.undo:
        messages.success(request, outcome.text)
        return redirect("review:queue")
    query = {"undo": outcome.undo, **({"page": str(page_number)} if page_number else {})}
    return redirect(f"{reverse('review:queue')}?{urlencode(query)}")
