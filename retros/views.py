"""Facilitator and member pages. Every lookup goes through retros.access.

Each write is a plain form POST that redirects back; the same URL answers an htmx request
with the fragment it changed (a partial of the page's template). Invalid input comes back
with status 422, the message and what was typed (board.js lets htmx swap 422 responses).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from matching.fixkind import infer_fix_kind
from matching.weights import DEFAULT_WEIGHTS
from retros import access as acl
from retros import review, selectors, services, visibility
from retros.forms import (
    KIND_SOURCE_INFERRED,
    KIND_SOURCE_PERSON,
    FixEditForm,
    FixForm,
    FixOutcomeForm,
    FixStatusForm,
    IssueFilterForm,
    IssueRenameForm,
    MergeForm,
    OccurrenceForm,
    OccurrenceReviewForm,
    OccurrenceTextForm,
    RelinkForm,
    RetroStartForm,
    VoteForm,
    kind_explanations,
)
from retros.models import (
    Fix,
    FixOutcome,
    Issue,
    ItemType,
    LinkSource,
    Occurrence,
    Retrospective,
)
from retros.partials import HtmxRequest, render_page
from retros.review import rejected_issue_ids
from retros.search import IssueSuggestion, suggest
from vocabulary.fixkinds import FIX_KINDS
from vocabulary.itemtype import infer_item_type

INVALID = 422
SUGGESTION_LIMIT = 5
ISSUE_PAGE_SIZE = 50


def _messages_of(error: ValidationError) -> str:
    return " ".join(error.messages)


def _next_url(request: HttpRequest, default: str) -> str:
    """Where to go back to: a same-site `next` path, else `default`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate.startswith("/") and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _posted(request: HttpRequest) -> Any:
    """The posted data for a form that a GET shows unbound (an empty POST is still a POST)."""
    return request.POST if request.method == "POST" else None


def _board_url(retro_id: int, anchor: str = "") -> str:
    url = reverse("retros:retro_board", args=[retro_id])
    return f"{url}#{anchor}" if anchor else url


# --- Home and teams ----------------------------------------------------------------------------


@require_GET
def home(request: HtmxRequest) -> HttpResponse:
    try:
        access = acl.access_for(request)
    except Http404:
        if request.user.is_superuser:  # first run: no organisation exists for them yet
            return redirect("retros:organization_create")
        raise
    if access.is_leader:
        return redirect("diagnosis:overview")
    teams = list(acl.teams_visible(access)[:2])
    if len(teams) == 1:
        return redirect("retros:team_home", team_id=teams[0].pk)
    return redirect("retros:team_list")


@require_GET
def team_list(request: HtmxRequest) -> HttpResponse:
    access = acl.access_for(request)
    return render(request, "retros/team_list.html", {"teams": selectors.team_list(access)})


def _team_home_response(
    request: HtmxRequest, team_id: int, *, form: RetroStartForm | None = None, status: int = 200
) -> HttpResponse:
    access = acl.access_for(request)
    team = acl.team_for(access, team_id)
    retros = Paginator(selectors.team_retros(team), 15).get_page(request.GET.get("page"))
    issues = selectors.team_issue_page(team, request.GET.get("issues_page"))
    open_fixes = list(selectors.team_open_fixes(team))
    # An issue this team raised may carry another team's words (retros.visibility).
    visibility.show_titles(access, [*issues.object_list, *(fix.issue for fix in open_fixes)])
    can_facilitate = access.facilitates_team(team.pk)
    context = {
        "team": team,
        "retros": retros,
        "issues": issues,
        "open_fixes": open_fixes,
        "went_well": selectors.team_went_well(team),
        "can_facilitate": can_facilitate,
        "start_form": form or (RetroStartForm() if can_facilitate else None),
        "retros_query": f"issues_page={issues.number}" if issues.number > 1 else "",
        "issues_query": f"page={retros.number}" if retros.number > 1 else "",
    }
    if request.htmx and request.htmx.target == "team-issues":
        return render(request, "retros/team_home.html#team-issues", context, status=status)
    return render(request, "retros/team_home.html", context, status=status)


@require_GET
def team_home(request: HtmxRequest, team_id: int) -> HttpResponse:
    return _team_home_response(request, team_id)


@require_POST
def retro_start(request: HtmxRequest, team_id: int) -> HttpResponse:
    access = acl.access_for(request)
    team = acl.team_for(access, team_id, write=True)
    form = RetroStartForm(request.POST)
    if form.is_valid():
        try:
            retro = services.retro_start(
                team=team,
                held_on=form.cleaned_data["held_on"],
                title=form.cleaned_data["title"],
                format=form.cleaned_data["format"],
                user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect(_board_url(retro.pk) + "?focus=entry")
    return _team_home_response(request, team.pk, form=form, status=INVALID)


# --- Retro board -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuggestionItem:
    number: int
    suggestion: Any  # retros.search.IssueSuggestion
    same_team: bool
    weak: bool = False  # scored below the review band: shown apart, muted


def _show_titles(access: acl.Access, suggestions: Sequence[IssueSuggestion]) -> None:
    """The titles of suggested issues this person may read (the teams they carry name the
    issues whose raisings the person may not see), from the provenance `suggest` read when
    asked with `readable_teams`, else in a query of their own."""
    teams = {s.issue.pk: s.teams for s in suggestions}
    read = {s.issue.pk: s.provenance for s in suggestions if s.provenance is not None}
    visibility.show_titles_read(access, [s.issue for s in suggestions], read, teams=teams)


def _suggestion_groups(
    access: acl.Access, retro: Retrospective, text: str
) -> list[tuple[str, list[SuggestionItem]]]:
    """Earlier issues like `text`: this team's first, then other teams', then the weaker
    matches (below the review band: what an import would not queue), numbered 1..5. Every
    team's issues are suggested, with the titles the person may read."""
    found = suggest(
        organization=retro.organization,
        text=text,
        team=retro.team,
        limit=SUGGESTION_LIMIT,
        on=retro.held_on,
        readable_teams=visibility.readable_teams(access),
        retro=retro,
    )
    _show_titles(access, found)
    likely = [s for s in found if s.score >= DEFAULT_WEIGHTS.review]
    mine = [s for s in likely if retro.team.name in s.teams]
    others = [s for s in likely if retro.team.name not in s.teams]
    weaker = [s for s in found if s.score < DEFAULT_WEIGHTS.review]
    groups: list[tuple[str, list[SuggestionItem]]] = []
    number = 0
    for label, items, weak in (
        ("This team", mine, False),
        ("Other teams", others, False),
        ("Weaker matches, probably not the same", weaker, True),
    ):
        if items:
            numbered = []
            for s in items:
                number += 1
                numbered.append(SuggestionItem(number, s, retro.team.name in s.teams, weak))
            groups.append((label, numbered))
    return groups


def _board_context(request: HtmxRequest, retro: Retrospective, **extra: Any) -> dict[str, Any]:
    access = acl.access_for(request)
    can_edit = access.facilitates_team(retro.team_id)
    return {
        "retro": retro,
        "can_edit": can_edit,
        "row_edit": can_edit and retro.is_open,
        "kinds": kind_explanations(),
        "outcomes": FixOutcome.choices,
        **extra,
    }


@require_GET
def retro_board(request: HtmxRequest, retro_id: int) -> HttpResponse:
    access = acl.access_for(request)
    retro = acl.retro_for(access, retro_id)
    return _board_page(request, retro)


# Earlier fixes listed at the top of the board until "Show all" is chosen: the oldest
# decisions first, as many as a retro can discuss.
REVIEW_SHOWN = 10


def _board_page(
    request: HtmxRequest, retro: Retrospective, *, status: int = 200, **extra: Any
) -> HttpResponse:
    board = selectors.retro_board(retro, access=acl.access_for(request))
    extra.setdefault("focus_entry", request.GET.get("focus") == "entry")
    review_all = request.GET.get("review") == "all"
    context = _board_context(
        request,
        retro,
        board=board,
        review_shown=board.review if review_all else board.review[:REVIEW_SHOWN],
        review_limit=REVIEW_SHOWN,
        raised=len(board.problems),
        went_well=len(board.went_well),
        summary=None if retro.is_open else selectors.retro_summary(board),
        **extra,
    )
    context.setdefault("entry_form", OccurrenceForm())
    return render(request, "retros/retro_board.html", context, status=status)


@require_GET
def retro_suggestions(request: HtmxRequest, retro_id: int) -> HttpResponse:
    access = acl.access_for(request)
    retro = acl.retro_for(access, retro_id, write=True)
    text = request.GET.get("text", "")
    if not request.htmx:
        return redirect(_board_url(retro.pk, "entry-form"))
    groups = _suggestion_groups(access, retro, text) if len(text.strip()) >= 3 else []
    praise = len(text.strip()) >= 3 and infer_item_type(text) == ItemType.APPRECIATION
    context = _board_context(request, retro, suggestion_groups=groups, reads_as_praise=praise)
    return render(request, "retros/retro_board.html#suggestion-list", context)


@require_POST
def retro_close(request: HtmxRequest, retro_id: int) -> HttpResponse:
    access = acl.access_for(request)
    retro = acl.retro_for(access, retro_id, write=True)
    try:
        services.retro_close(retro=retro, user=request.user)
    except ValidationError as error:
        messages.error(request, _messages_of(error))
    else:
        messages.success(request, "Retro closed. The summary is ready to copy.")
    return redirect(_board_url(retro.pk, "summary"))


# --- Occurrences -------------------------------------------------------------------------------


def _raised_count(retro: Retrospective) -> dict[str, int]:
    """The board's head counts: problems raised, and what went well (never a problem)."""
    counts = dict(
        retro.occurrences.live()
        .order_by()
        .values("item_type")
        .annotate(n=Count("id"))
        .values_list("item_type", "n")
    )
    return {
        "raised": counts.get(ItemType.PROBLEM.value, 0),
        "went_well": counts.get(ItemType.APPRECIATION.value, 0),
    }


def _added_status(access: acl.Access, occurrence: Occurrence, row: selectors.BoardRow) -> str:
    """What the board says after logging `occurrence` (its row's titles already shown)."""
    if occurrence.item_type == ItemType.APPRECIATION:
        return (
            f"Added “{occurrence.text}” as something that went well: kept, never matched or "
            "diagnosed as a problem. Alt+W on the board marks it as a problem if it is one."
        )
    if occurrence.link_source != LinkSource.NEW:
        title = visibility.display_title(access, occurrence.issue)
        return f"Added “{occurrence.text}”, raised again: linked to “{title}”."
    status = f"Added “{occurrence.text}” as a new issue."
    if row.pending_review is not None:
        status += (
            f" It looks like “{visibility.display_title(access, row.pending_review.candidate)}”:"
            " link it from its row, or it waits in the review queue."
        )
    return status


@require_POST
def occurrence_create(request: HtmxRequest, retro_id: int) -> HttpResponse:
    access = acl.access_for(request)
    retro = acl.retro_for(access, retro_id, write=True)
    form = OccurrenceForm(request.POST)
    occurrence = None
    if form.is_valid():
        link = form.cleaned_data["link_to"]
        item_type = form.cleaned_data["item_type"] or (
            ItemType.PROBLEM if link else infer_item_type(form.cleaned_data["text"])
        )
        try:
            target = acl.issue_for(access, link[0]) if link else None
            occurrence = services.occurrence_record(
                retro=retro,
                text=form.cleaned_data["text"],
                user=request.user,
                link_to_issue=target,
                link_source=LinkSource.SUGGESTION if link else LinkSource.NEW,
                link_score=link[1] if link else None,
                item_type=item_type,
            )
        except ValidationError as error:
            form.add_error("text", error)
    if occurrence is None:
        if request.htmx:
            context = _board_context(request, retro, entry_form=form, focus_entry=True)
            return render(request, "retros/retro_board.html#entry", context, status=INVALID)
        return _board_page(request, retro, status=INVALID, entry_form=form, focus_entry=True)
    # The row comes with the titles the status line names.
    if occurrence.link_source == LinkSource.NEW:
        queued = review.review_queue_from_board(occurrence=occurrence, access=access)
        row = selectors.new_issue_row(occurrence, queued=queued, access=access)
    else:
        row = selectors.board_row(occurrence, access=access)
    status = _added_status(access, occurrence, row)
    if not request.htmx:
        messages.success(request, status)
        return redirect(_board_url(retro.pk) + f"?focus=entry#occ-{occurrence.pk}")
    context = _board_context(
        request,
        retro,
        entry_form=OccurrenceForm(),
        focus_entry=True,
        entry_status=status,
        row=row,
        **_raised_count(retro),
    )
    response = render(request, "retros/_occurrence_added.html", context)
    event = "issue-linked" if occurrence.link_source != LinkSource.NEW else "occurrence-added"
    return trigger_client_event(response, event, {"occurrence": occurrence.pk})


def _row_response(
    request: HtmxRequest,
    occurrence: Occurrence,
    *,
    status: int = 200,
    error: str = "",
    focus: str = "",
    with_count: bool = False,
    **extra: Any,
) -> HttpResponse:
    """The changed row for htmx; for a plain POST, back to the board at that row."""
    retro = occurrence.retro
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(_board_url(retro.pk, f"occ-{occurrence.pk}"))
    context = _board_context(
        request,
        retro,
        row=selectors.board_row(occurrence, access=acl.access_for(request)),
        row_error=error,
        focus=focus,
        **extra,
    )
    if with_count:
        context.update(_raised_count(retro), count_oob=True)
    return render(request, "retros/_occurrence_row.html", context, status=status)


@require_GET
def occurrence_row(request: HtmxRequest, occurrence_id: int) -> HttpResponse:
    access = acl.access_for(request)
    occurrence = acl.occurrence_for(access, occurrence_id)
    return _row_response(request, occurrence, focus="edit")


@require_http_methods(["GET", "POST"])
def occurrence_edit(request: HtmxRequest, occurrence_id: int) -> HttpResponse:
    access = acl.access_for(request)
    occurrence = acl.occurrence_for(access, occurrence_id, write=True)
    retro = occurrence.retro
    form = OccurrenceTextForm(_posted(request), initial={"text": occurrence.text})
    conflict: services.EditConflict | None = None
    if request.method == "POST":
        if form.is_valid():
            try:
                _require_open(retro)
                services.occurrence_update_text(
                    occurrence=occurrence,
                    text=form.cleaned_data["text"],
                    user=request.user,
                    version=request.POST.get("version") or None,
                    restore=request.POST.get("restore") == "1",
                )
            except services.EditConflict as error:
                conflict = error
            except ValidationError as error:
                form.add_error("text", error)
            else:
                return _row_response(request, occurrence, focus="edit")
    status = INVALID if form.is_bound else 200
    version = services.occurrence_version(occurrence)
    context = _board_context(
        request,
        retro,
        occ=occurrence,
        edit_form=form,
        **_edit_state(request, occurrence, form, conflict, version, saved_text=occurrence.text),
    )
    if request.htmx:
        return render(request, "retros/retro_board.html#occ-edit", context, status=status)
    return render(request, "retros/occurrence_edit.html", context, status=status)


def _edit_state(
    request: HttpRequest,
    row: Occurrence | Fix,
    form: Any,
    conflict: services.EditConflict | None,
    version: str,
    *,
    saved_text: str,
) -> dict[str, Any]:
    """What an edit form shows besides the fields: the version it was opened at (what is
    saved now, after a conflict, so that saving again is a deliberate overwrite), and, when
    the row was archived or changed meanwhile, who archived it or what is saved now."""
    if form.is_bound and conflict is None and request.POST.get("version"):
        version = request.POST["version"]
    return {
        "edit_version": version,
        "edit_conflict": conflict,
        "archived": selectors.archived_record(row),
        "saved_text": saved_text if conflict is not None and not conflict.archived else "",
    }


def _require_open(retro: Retrospective) -> None:
    if not retro.is_open:
        raise ValidationError("This retro is closed; its issues can no longer be changed here.")


@require_POST
def occurrence_vote(request: HtmxRequest, occurrence_id: int) -> HttpResponse:
    access = acl.access_for(request)
    occurrence = acl.occurrence_for(access, occurrence_id, write=True)
    form = VoteForm(request.POST)
    if not form.is_valid():
        return _row_response(request, occurrence, status=INVALID, error="Vote up or down.")
    delta = form.cleaned_data["delta"]
    try:
        _require_open(occurrence.retro)
        services.occurrence_vote(occurrence=occurrence, delta=delta, user=request.user)
    except ValidationError as error:
        return _row_response(request, occurrence, status=INVALID, error=_messages_of(error))
    return _row_response(request, occurrence, focus="vote-up" if delta > 0 else "vote-down")


@require_POST
def occurrence_archive(request: HtmxRequest, occurrence_id: int) -> HttpResponse:
    access = acl.access_for(request)
    occurrence = acl.occurrence_for(access, occurrence_id, write=True)
    try:
        _require_open(occurrence.retro)
        services.occurrence_archive(occurrence=occurrence, user=request.user)
    except ValidationError as error:
        return _row_response(request, occurrence, status=INVALID, error=_messages_of(error))
    if not request.htmx:
        messages.success(request, f"Archived “{occurrence.text}”. Restore it below if needed.")
        return redirect(_board_url(occurrence.retro_id, "archived"))
    context = _board_context(
        request,
        occurrence.retro,
        occ=occurrence,
        **_raised_count(occurrence.retro),
        count_oob=True,
    )
    return render(request, "retros/_occurrence_archived.html", context)


@require_POST
def occurrence_restore(request: HtmxRequest, occurrence_id: int) -> HttpResponse:
    access = acl.access_for(request)
    occurrence = acl.occurrence_for(access, occurrence_id, write=True)
    try:
        _require_open(occurrence.retro)
        services.occurrence_restore(occurrence=occurrence, user=request.user)
    except ValidationError as error:
        if request.htmx:
            context = _board_context(request, occurrence.retro, occ=occurrence)
            context["row_error"] = _messages_of(error)
            return render(request, "retros/_occurrence_archived.html", context, status=INVALID)
        messages.error(request, _messages_of(error))
        return redirect(_board_url(occurrence.retro_id, "archived"))
    if not request.htmx:
        messages.success(request, f"Restored “{occurrence.text}”.")
    return _row_response(request, occurrence, focus="archive", with_count=True)


@require_http_methods(["GET", "POST"])
def occurrence_link(request: HtmxRequest, occurrence_id: int) -> HttpResponse:
    """Change which issue an occurrence belongs to, or split it off into a new issue."""
    access = acl.access_for(request)
    occurrence = acl.occurrence_for(access, occurrence_id, write=True)
    back = _next_url(request, _board_url(occurrence.retro_id, f"occ-{occurrence.pk}"))
    form = RelinkForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        issue_id = form.cleaned_data["issue_id"]
        score = form.cleaned_data["score"]
        try:
            target = acl.issue_for(access, issue_id) if issue_id is not None else None
            services.occurrence_relink(
                occurrence=occurrence,
                issue=target,
                user=request.user,
                link_source=LinkSource.SUGGESTION if score is not None else LinkSource.MANUAL,
                link_score=score,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            occurrence.refresh_from_db()
            title = visibility.display_title(access, occurrence.issue)
            if target is None:
                messages.success(
                    request,
                    f"Split off into a new issue: “{title}”, with the fixes decided for it. "
                    "Undo it from the new issue's page if that was wrong.",
                )
            else:
                messages.success(request, f"Linked to “{title}”.")
            return HttpResponseRedirect(back)
    query = request.GET.get("q", "")
    visibility.show_title(access, occurrence.issue)
    praise = occurrence.item_type == ItemType.APPRECIATION
    # The matcher knows problems only: praise is never offered one as its earlier raising.
    suggestions = (
        []
        if praise
        else suggest(
            organization=occurrence.retro.organization,
            text=occurrence.text,
            team=occurrence.retro.team,
            limit=SUGGESTION_LIMIT,
            # Never the issue it is already in, nor one a person said it is not.
            exclude_issue_ids={occurrence.issue_id} | rejected_issue_ids(occurrence.pk),
            on=occurrence.held_on,
            readable_teams=visibility.readable_teams(access),
        )
    )
    _show_titles(access, suggestions)
    context = {
        "praise": praise,
        "occ": occurrence,
        "form": form,
        "suggestions": suggestions,
        "query": query,
        "candidates": selectors.link_candidates(occurrence, query, access=access),
        "next": back,
        "can_split": occurrence.issue.occurrence_count > 1,
        "weak_below": DEFAULT_WEIGHTS.review,
    }
    return render(
        request, "retros/occurrence_link.html", context, status=INVALID if form.errors else 200
    )


@require_POST
def occurrence_type(request: HtmxRequest, occurrence_id: int) -> HttpResponse:
    """Mark a raising as a problem or as something that went well (one key on the board)."""
    access = acl.access_for(request)
    occurrence = acl.occurrence_for(access, occurrence_id, write=True)
    item_type = request.POST.get("item_type", "")
    try:
        services.occurrence_set_type(occurrence=occurrence, item_type=item_type, user=request.user)
    except ValidationError as error:
        return _row_response(request, occurrence, status=INVALID, error=_messages_of(error))
    occurrence.refresh_from_db()
    if not request.htmx:
        messages.success(request, f"Marked as {occurrence.get_item_type_display().lower()}.")
    return _row_response(request, occurrence, focus="type", with_count=True)


@require_POST
def occurrence_review(request: HtmxRequest, occurrence_id: int) -> HttpResponse:
    """Decide, from the board row, the possible recurrence the board queued for a raising:
    link it to the earlier issue, or keep it apart (never suggested again)."""
    access = acl.access_for(request)
    occurrence = acl.occurrence_for(access, occurrence_id, write=True)
    form = OccurrenceReviewForm(request.POST)
    pending = review.pending_review_for(occurrence)
    if not form.is_valid() or pending is None or pending.pk != form.cleaned_data["review"]:
        error = "That possible recurrence was already decided; the row shows what is left."
        return _row_response(request, occurrence, status=INVALID, error=error)
    if form.cleaned_data["decision"] == "confirm":
        review.review_confirm(review=pending, user=request.user)
        occurrence.refresh_from_db()
        if not request.htmx:
            messages.success(
                request, f"Linked to “{visibility.display_title(access, pending.candidate)}”."
            )
        return _row_response(request, occurrence, focus="fix", with_count=True)
    review.review_reject(review=pending, user=request.user)
    if not request.htmx:
        messages.success(request, "Kept apart: it will not be suggested again.")
    return _row_response(request, occurrence, focus="fix")


# --- Fixes -------------------------------------------------------------------------------------


@require_POST
def fix_create(request: HtmxRequest, occurrence_id: int) -> HttpResponse:
    access = acl.access_for(request)
    occurrence = acl.occurrence_for(access, occurrence_id, write=True)
    form = FixForm(request.POST)
    if form.is_valid():
        try:
            _require_open(occurrence.retro)
            services.fix_apply(
                issue=occurrence.issue,
                retro=occurrence.retro,
                text=form.cleaned_data["text"],
                kind=form.cleaned_data["kind"],
                kind_inferred=form.cleaned_data["kind_inferred"],
                owner=form.cleaned_data["owner"],
                due_on=form.cleaned_data["due_on"],
                user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if not request.htmx:
                messages.success(request, "Fix recorded.")
            response = _row_response(request, occurrence, focus="fix")
            return trigger_client_event(response, "fix-applied", {"issue": occurrence.issue_id})
    if not request.htmx:
        return _board_page(
            request,
            occurrence.retro,
            status=INVALID,
            fix_form=form,
            fix_form_for=occurrence.pk,
        )
    return _row_response(
        request, occurrence, status=INVALID, fix_form=form, fix_form_for=occurrence.pk
    )


_PREFIX = re.compile(r"^[a-z]+\d*$")


@require_GET
def fix_kind_field(request: HtmxRequest) -> HttpResponse:
    """The kind field of a fix form, with the kind inferred from the text until the person
    chooses one, and the chosen kind's explanation."""
    access = acl.access_for(request)
    if not access.can_facilitate:
        raise PermissionDenied
    prefix = request.GET.get("prefix", "fix")
    if not _PREFIX.match(prefix):
        prefix = "fix"
    text = request.GET.get("text", "")
    kind = request.GET.get("kind", "")
    kind = kind if kind in FIX_KINDS else ""
    source = request.GET.get("kind_source", "")
    trigger = request.htmx.trigger if request.htmx else None
    inferred = infer_fix_kind(text) if text.strip() else None
    if trigger == f"{prefix}-kind":
        source = KIND_SOURCE_PERSON if kind else ""
    elif source != KIND_SOURCE_PERSON:
        # A sure inference is pre-selected; an unsure one leaves the choice to the person.
        sure = inferred is not None and inferred.sure
        kind = inferred.kind if sure and inferred else ""
        source = KIND_SOURCE_INFERRED if sure else ""
    context = {
        "prefix": prefix,
        "kinds": kind_explanations(),
        "selected": kind,
        "kind_source": source,
        "unsure": inferred is not None and not inferred.sure and not kind,
        # What the text reads most like, offered but not chosen when the inference is unsure.
        "guess": FIX_KINDS[inferred.kind] if inferred and not inferred.sure and not kind else None,
        "confidence": inferred.confidence if inferred and source == KIND_SOURCE_INFERRED else None,
        "allow_blank": request.GET.get("allow_blank", "1") == "1",
    }
    return render(request, "retros/_fix_kind_field.html", context)


def _review_fix_response(
    request: HtmxRequest, fix: Fix, *, status: int = 200, error: str = ""
) -> HttpResponse:
    back = _next_url(request, reverse("retros:issue_detail", args=[fix.issue_id]))
    if not request.htmx:
        if error:
            messages.error(request, error)
        return HttpResponseRedirect(back)
    fix.refresh_from_db()
    visibility.show_title(acl.access_for(request), fix.issue)
    context = {
        "fix": fix,
        "can_edit": True,
        "outcomes": FixOutcome.choices,
        "fix_error": error,
        "next": back,
    }
    return render(request, "retros/retro_board.html#review-fix", context, status=status)


def _fix_reviewed(request: HtmxRequest, fix: Fix, message: str) -> HttpResponse:
    """After a one-click review of an earlier fix: its refreshed card for htmx, with a
    `fix-reviewed` event, else back with `message`."""
    if not request.htmx:
        messages.success(request, message)
    response = _review_fix_response(request, fix)
    return trigger_client_event(response, "fix-reviewed", {"fix": fix.pk})


@require_POST
def fix_outcome(request: HtmxRequest, fix_id: int) -> HttpResponse:
    access = acl.access_for(request)
    fix = acl.fix_for(access, fix_id, write=True)
    form = FixOutcomeForm(request.POST)
    if not form.is_valid():
        return _review_fix_response(
            request, fix, status=INVALID, error="Choose worked, did not work or too early."
        )
    try:
        services.fix_mark_outcome(fix=fix, outcome=form.cleaned_data["outcome"], user=request.user)
    except ValidationError as error:
        return _review_fix_response(request, fix, status=INVALID, error=_messages_of(error))
    return _fix_reviewed(request, fix, f"Outcome recorded for “{fix.text}”.")


@require_POST
def fix_status(request: HtmxRequest, fix_id: int) -> HttpResponse:
    access = acl.access_for(request)
    fix = acl.fix_for(access, fix_id, write=True)
    form = FixStatusForm(request.POST)
    if not form.is_valid():
        return _review_fix_response(
            request, fix, status=INVALID, error="Choose open, done or dropped."
        )
    services.fix_set_status(fix=fix, status=form.cleaned_data["status"], user=request.user)
    return _fix_reviewed(request, fix, f"“{fix.text}” is now {fix.get_status_display().lower()}.")


@require_http_methods(["GET", "POST"])
def fix_edit(request: HtmxRequest, fix_id: int) -> HttpResponse:
    access = acl.access_for(request)
    fix = acl.fix_for(access, fix_id, write=True)
    back = _next_url(request, reverse("retros:issue_detail", args=[fix.issue_id]))
    initial = {"text": fix.text, "kind": fix.kind, "owner": fix.owner, "due_on": fix.due_on}
    form = FixEditForm(_posted(request), initial=initial)
    conflict: services.EditConflict | None = None
    if request.method == "POST" and form.is_valid():
        try:
            services.fix_update(
                fix=fix,
                text=form.cleaned_data["text"],
                kind=form.cleaned_data["kind"],
                owner=form.cleaned_data["owner"],
                due_on=form.cleaned_data["due_on"],
                user=request.user,
                version=request.POST.get("version") or None,
            )
        except services.EditConflict as error:
            conflict = error
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Fix updated.")
            return HttpResponseRedirect(back)
    selected = form["kind"].value() or fix.kind
    visibility.show_title(access, fix.issue)
    context = {
        "fix": fix,
        "form": form,
        "next": back,
        "kinds": kind_explanations(),
        "selected": selected,
        "kind_source": "",
        "prefix": "fix",
        "allow_blank": False,
        **_edit_state(request, fix, form, conflict, services.fix_version(fix), saved_text=fix.text),
    }
    return render(
        request, "retros/fix_edit.html", context, status=INVALID if form.is_bound else 200
    )


# --- Issues ------------------------------------------------------------------------------------


@require_GET
def issue_list(request: HtmxRequest) -> HttpResponse:
    access = acl.access_for(request)
    teams = list(acl.teams_visible(access).order_by("name"))
    filters = IssueFilterForm(request.GET, teams=teams).filters()
    issues = selectors.issue_list(access, filters)
    page = Paginator(issues, ISSUE_PAGE_SIZE).get_page(request.GET.get("page", "")[:12])
    page.object_list = selectors.mark_flagged(visibility.show_titles(access, page.object_list))
    context = {
        "issues": page,
        "filters": filters,
        # Shown unbound with the filters in effect, so ignored values display as defaults.
        "form": IssueFilterForm(initial=filters.initial(), teams=teams),
        "query": filters.query(),
        "show_label": selectors.ISSUE_SHOW[filters.show],
        "team_name": next((t.name for t in teams if t.pk == filters.team_id), ""),
    }
    return render_page(request, "retros/issue_list.html", "issue-results", context)


def _issue_page(
    request: HtmxRequest,
    issue: Issue,
    *,
    status: int = 200,
    rename_form: IssueRenameForm | None = None,
    merge_error: str = "",
) -> HttpResponse:
    access = acl.access_for(request)
    merge_q = request.GET.get("merge_q", "")
    can_edit = access.can_facilitate
    origin = selectors.split_origin(issue) if can_edit else None
    context: dict[str, Any] = {
        "issue": issue,
        "can_edit": can_edit,
        "merge_q": merge_q,
        "candidates": (
            selectors.merge_candidates(issue, merge_q, access=access) if can_edit else []
        ),
        "merge_error": merge_error,
        "split_origin": visibility.show_titles(access, [origin])[0] if origin else None,
    }
    if request.htmx and request.htmx.target == "merge-candidates":
        return render(request, "retros/issue_detail.html#merge-candidates", context)
    page = selectors.issue_page(issue, access=access, timeline_page=request.GET.get("page"))
    # The form starts from the title the person reads, and only when it is the stored one:
    # otherwise it would hold words they may not read, or rename by saving it unchanged.
    shown = issue.display_title  # type: ignore[attr-defined]
    context.update(
        page=page,
        timeline=page.timeline,
        finding=page.finding,
        rename_form=rename_form
        or IssueRenameForm(initial={"title": shown if shown == issue.title else ""}),
        here=request.get_full_path(),
    )
    return render(request, "retros/issue_detail.html", context, status=status)


@require_GET
def issue_detail(request: HtmxRequest, issue_id: int) -> HttpResponse:
    access = acl.access_for(request)
    issue = acl.issue_for(access, issue_id)
    return _issue_page(request, issue)


@require_POST
def issue_rename(request: HtmxRequest, issue_id: int) -> HttpResponse:
    access = acl.access_for(request)
    issue = acl.issue_for(access, issue_id, write=True)
    form = IssueRenameForm(request.POST)
    if form.is_valid():
        try:
            services.issue_rename(issue=issue, title=form.cleaned_data["title"], user=request.user)
        except ValidationError as error:
            form.add_error("title", error)
        else:
            messages.success(request, "Issue renamed.")
            return redirect("retros:issue_detail", issue_id=issue.pk)
    issue.refresh_from_db()
    return _issue_page(request, issue, status=INVALID, rename_form=form)


@require_POST
def issue_merge(request: HtmxRequest, issue_id: int) -> HttpResponse:
    access = acl.access_for(request)
    source = acl.issue_for(access, issue_id, write=True)
    form = MergeForm(request.POST)
    if not form.is_valid():
        return _issue_page(request, source, status=INVALID, merge_error="Choose an issue.")
    target = acl.issue_for(access, form.cleaned_data["target"])
    title = visibility.display_title(access, source)  # before its raisings move
    try:
        services.issue_merge(source=source, target=target, user=request.user)
    except ValidationError as error:
        return _issue_page(request, source, status=INVALID, merge_error=_messages_of(error))
    messages.success(request, f"Merged “{title}” into this issue. Undo it below if that was wrong.")
    return redirect("retros:issue_detail", issue_id=target.pk)


@require_POST
def merge_undo(request: HtmxRequest, merge_id: int) -> HttpResponse:
    access = acl.access_for(request)
    merge = acl.merge_for(access, merge_id, write=True)
    try:
        services.issue_merge_undo(merge=merge, user=request.user)
    except ValidationError as error:
        messages.error(request, _messages_of(error))
        return redirect("retros:issue_detail", issue_id=merge.target_id)
    title = visibility.display_title(access, merge.source)
    messages.success(request, f"Merge undone: “{title}” is an issue of its own again.")
    return redirect("retros:issue_detail", issue_id=merge.source_id)
