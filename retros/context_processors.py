from __future__ import annotations

from django.http import Http404, HttpRequest

from retros.access import access_for


def access(request: HttpRequest) -> dict[str, object]:
    """`access` for templates (navigation by role); None for anonymous or org-less users."""
    if not request.user.is_authenticated:
        return {"access": None}
    try:
        return {"access": access_for(request)}
    except Http404:
        return {"access": None}
