"""The live board: the whole team writes, groups and votes from their own devices.

Members of the team (and those who facilitate it) add cards and vote; the facilitator sets
how the board works and moves its phases. Every change reaches every open board of the
retro through its event stream (``retro_stream``, server-sent events; retros.live), on which
each board fetches its cards again (``live_cards``): the form a person is typing in is never
replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retros import access as acl
from retros import cards, live, review, visibility
from retros.models import Anonymity, Card, LinkReview, Occurrence, RetroPhase, Retrospective


def _number[T](text: str, *, digits: int, otherwise: T) -> int | T:
    """A whole number as posted, of at most ``digits`` digits; ``otherwise`` for anything
    else. ``str.isdecimal``, not ``isdigit``: '²' is a digit but no number to ``int()``."""
    text = text.strip()
    return int(text) if text.isdecimal() and len(text) <= digits else otherwise


def _messages_of(error: ValidationError) -> str:
    return " ".join(error.messages)


def _card_for(request: Any, card_id: int) -> tuple[Card, Retrospective, acl.Access]:
    access = acl.access_for(request)
    card = get_object_or_404(
        Card.objects.select_related("retro", "retro__team"),
        pk=card_id,
        organization=access.organization,
    )
    retro = acl.retro_for(access, card.retro_id)  # 403 outside the team
    card.retro = retro
    return card, retro, access


def _context(request: Any, retro: Retrospective, **extra: Any) -> dict[str, Any]:
    access = acl.access_for(request)
    facilitates = cards.is_facilitating(access, retro)
    groups = cards.may_group(access, retro)
    columns = cards.board_columns(retro, user=request.user, facilitates=facilitates, propose=groups)
    if retro.phase == RetroPhase.DISCUSS:
        raisings = _raisings(access, retro, offers=facilitates)
        for column in columns:
            for item in column.cards:
                item.raising = raisings.get(item.card.occurrence_id or 0)
    left = cards.timer_left(retro)
    order = [value for value, _ in RetroPhase.choices]
    later = order[order.index(retro.phase) + 1 :] if retro.phase in order else []
    return {
        "retro": retro,
        "facilitates": facilitates,
        "may_group": groups,
        "groups": sum(len(column.cards) for column in columns),
        "next_phase": (later[0], RetroPhase(later[0]).label) if later else None,
        "columns": columns,
        "phases": RetroPhase.choices,
        "anonymities": Anonymity.choices,
        "hidden": cards.cards_hidden(retro),
        "votes_left": cards.votes_left(retro, request.user),
        "timer_left": left,
        "timer_clock": f"{left // 60}:{left % 60:02d}" if left is not None else "",
        "timer_max": cards.TIMER_MAX_MINUTES,
        "version": retro.live_version,
        "column_names": cards.columns_of(retro),
        **extra,
    }


@dataclass
class Raised:
    """A discussed group's raising: its issue (titled as the viewer may read it), the fixes
    decided for it in this retro and, for the facilitator, the earlier issue it looks like."""

    occurrence: Occurrence
    fixes: list[Any]
    offer: LinkReview | None = None


def _raisings(access: acl.Access, retro: Retrospective, *, offers: bool) -> dict[int, Raised]:
    raised = list(Occurrence.objects.filter(retro=retro).select_related("issue"))
    fixes: dict[int, list[Any]] = {}
    for fix in retro.fixes.order_by("id"):
        fixes.setdefault(fix.issue_id, []).append(fix)
    pending: dict[int, LinkReview] = {}
    if offers and raised:
        for offer in review.pending_reviews_for(raised):
            pending.setdefault(offer.occurrence_id, offer)
    issues = [o.issue for o in raised] + [offer.candidate for offer in pending.values()]
    visibility.show_titles(access, issues)
    return {o.pk: Raised(o, fixes.get(o.issue_id, []), pending.get(o.pk)) for o in raised}


@require_GET
def live_board(request: Any, retro_id: int) -> HttpResponse:
    access = acl.access_for(request)
    retro = acl.retro_for(access, retro_id)
    return render(request, "retros/live_board.html", _context(request, retro))


@require_http_methods(["GET", "POST"])
def live_cards(request: Any, retro_id: int) -> HttpResponse:
    """GET: the cards as the person sees them now (what an open board fetches on each
    change). POST: add a card; on an error the form comes back with the text kept."""
    access = acl.access_for(request)
    retro = acl.retro_for(access, retro_id)
    if request.method == "GET":
        if not request.htmx:
            return redirect("retros:live_board", retro_id=retro.pk)
        return render(request, "retros/live_board.html#cards", _context(request, retro))
    text, column = request.POST.get("text", ""), request.POST.get("column", "")
    error = ""
    try:
        cards.card_add(retro=retro, text=text, column=column, user=request.user)
    except ValidationError as failure:
        error = _messages_of(failure)
    retro.refresh_from_db()
    context = _context(
        request, retro, card_error=error, typed=text if error else "", chosen_column=column
    )
    if not request.htmx:
        return redirect("retros:live_board", retro_id=retro.pk)
    response = render(
        request, "retros/live_board.html#writer", context, status=422 if error else 200
    )
    response["X-Board-Version"] = str(retro.live_version)  # the board with this card in it
    return response


@require_GET
def retro_stream(request: Any, retro_id: int) -> StreamingHttpResponse:
    """Server-sent events: ``changed`` with the board's version after each change."""
    access = acl.access_for(request)
    retro = acl.retro_for(access, retro_id)
    seen_text = request.headers.get("Last-Event-ID") or request.GET.get("v", "")
    seen = _number(seen_text, digits=18, otherwise=None)
    response = StreamingHttpResponse(
        live.stream(retro.pk, seen), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # proxies pass each event on at once
    return response


def _facilitated(request: Any, retro_id: int) -> Retrospective:
    access = acl.access_for(request)
    return acl.retro_for(access, retro_id, write=True)


def _after(request: Any, retro: Retrospective, error: str = "") -> HttpResponse:
    if not request.htmx:
        return redirect("retros:live_board", retro_id=retro.pk)
    retro.refresh_from_db()
    context = _context(request, retro, control_error=error)
    return render(request, "retros/live_board.html#cards", context, status=422 if error else 200)


@require_POST
def live_settings(request: Any, retro_id: int) -> HttpResponse:
    retro = _facilitated(request, retro_id)
    budget = request.POST.get("vote_budget", "")
    try:
        cards.board_settings(
            retro=retro,
            anonymity=request.POST.get("anonymity", ""),
            private_until_reveal=request.POST.get("private_until_reveal") == "on",
            vote_budget=_number(budget, digits=9, otherwise=0),
            members_group=request.POST.get("members_group") == "on",
        )
    except ValidationError as failure:
        return _after(request, retro, _messages_of(failure))
    return _after(request, retro)


@require_POST
def live_phase(request: Any, retro_id: int) -> HttpResponse:
    retro = _facilitated(request, retro_id)
    try:
        if request.POST.get("reveal"):
            cards.reveal(retro=retro)
        else:
            cards.phase_move(retro=retro, phase=request.POST.get("phase", ""), user=request.user)
    except ValidationError as failure:
        return _after(request, retro, _messages_of(failure))
    return _after(request, retro)


@require_POST
def live_timer(request: Any, retro_id: int) -> HttpResponse:
    """Start the countdown every board shows (``minutes``), or stop it (``stop``)."""
    retro = _facilitated(request, retro_id)
    typed = request.POST.get("minutes", "").strip()
    if request.POST.get("stop"):
        minutes = 0
    else:
        minutes = _number(typed, digits=3, otherwise=-1)
    try:
        cards.timer_set(retro=retro, minutes=minutes)
    except ValidationError as failure:
        return _after(request, retro, _messages_of(failure))
    return _after(request, retro)


@require_POST
def card_edit(request: Any, card_id: int) -> HttpResponse:
    card, retro, _access = _card_for(request, card_id)
    if card.author_id is None or card.author_id != request.user.pk:
        raise PermissionDenied("Only the person who wrote a card can change its text.")
    text = request.POST.get("text", "")
    revision = request.POST.get("revision", "")
    return _card_change(
        request,
        retro,
        card,
        lambda: cards.card_edit(
            card=card,
            text=text,
            revision=_number(revision, digits=9, otherwise=-1),
            user=request.user,
        ),
        typed=text,
    )


def _may_remove(request: Any, card: Card, access: acl.Access, retro: Retrospective) -> None:
    mine = card.author_id is not None and card.author_id == request.user.pk
    if not (mine or cards.is_facilitating(access, retro)):
        raise PermissionDenied("Only its writer or the facilitator can remove a card.")


@require_POST
def card_remove(request: Any, card_id: int) -> HttpResponse:
    """Remove a card; the answer offers to undo it."""
    card, retro, access = _card_for(request, card_id)
    _may_remove(request, card, access, retro)
    try:
        cards.card_remove(card=card)
    except ValidationError as failure:
        return _after_card(request, retro, card, _messages_of(failure))
    if not request.htmx:
        return redirect("retros:live_board", retro_id=retro.pk)
    retro.refresh_from_db()
    return render(request, "retros/live_board.html#cards", _context(request, retro, removed=card))


@require_POST
def card_restore(request: Any, card_id: int) -> HttpResponse:
    """Undo a removal, for the person who may remove the card."""
    card, retro, access = _card_for(request, card_id)
    _may_remove(request, card, access, retro)
    return _card_change(request, retro, card, lambda: cards.card_restore(card=card))


@require_POST
def card_group(request: Any, card_id: int) -> HttpResponse:
    card, retro, access = _card_for(request, card_id)
    if not cards.may_group(access, retro):
        raise PermissionDenied("The facilitator groups the cards in this retro.")
    under_id = request.POST.get("under", "")
    under = None
    if under_id:
        under = _card_of(retro, under_id)
        if under is None:
            raise Http404
    return _card_change(request, retro, card, lambda: cards.card_group(card=card, under=under))


@require_POST
def live_review(request: Any, occurrence_id: int) -> HttpResponse:
    """Decide, from the live board, the earlier issue a discussed group looks like: link it,
    or keep it apart (never suggested again). As on the retro board's row."""
    access = acl.access_for(request)
    occurrence = acl.occurrence_for(access, occurrence_id, write=True)
    retro = occurrence.retro
    pending = review.pending_review_for(occurrence)
    decision, chosen = request.POST.get("decision"), request.POST.get("review", "")
    if pending is None or str(pending.pk) != chosen or decision not in {"confirm", "reject"}:
        error = "That possible recurrence was already decided; the board shows what is left."
        return _after(request, retro, error)
    if decision == "confirm":
        review.review_confirm(review=pending, user=request.user)
    else:
        review.review_reject(review=pending, user=request.user)
    return _after(request, retro)


@require_POST
def card_vote(request: Any, card_id: int) -> HttpResponse:
    card, retro, _access = _card_for(request, card_id)
    on = request.POST.get("on") != "0"
    return _card_change(
        request, retro, card, lambda: cards.vote(card=card, user=request.user, on=on)
    )


def _card_of(retro: Retrospective, card_id: str) -> Card | None:
    """The card ``card_id`` (as posted) of ``retro``, or None."""
    pk = _number(card_id, digits=9, otherwise=None)
    return None if pk is None else Card.objects.filter(pk=pk, retro=retro).first()


def _card_change(
    request: Any,
    retro: Retrospective,
    card: Card,
    change: Callable[[], object],
    *,
    typed: str = "",
) -> HttpResponse:
    """Make ``change``; then the cards again, with the reason when it was refused."""
    try:
        change()
    except ValidationError as failure:
        return _after_card(request, retro, card, _messages_of(failure), typed=typed)
    return _after_card(request, retro, card)


def _after_card(
    request: Any, retro: Retrospective, card: Card, error: str = "", typed: str = ""
) -> HttpResponse:
    """The cards again; an error names the card and keeps what the person typed."""
    if not request.htmx:
        return redirect("retros:live_board", retro_id=retro.pk)
    retro.refresh_from_db()
    context = _context(
        request, retro, card_error_id=card.pk if error else None, card_error=error, typed=typed
    )
    return render(request, "retros/live_board.html#cards", context, status=422 if error else 200)
