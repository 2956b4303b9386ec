"""A URL configuration for testing the access matrix itself: the project's URLs plus a view
that forgets every access check, and one with a URL keyword the matrix does not know."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from retros.models import Issue


def leaky_issue(request: HttpRequest, issue_id: int) -> HttpResponse:
    """Deliberately wrong: any signed-in person reads any organisation's issue."""
    issue = Issue.objects.get(pk=issue_id)
    return HttpResponse(f"<h1>{issue.title}</h1>")


def widget(request: HttpRequest, widget_id: int) -> HttpResponse:
    return HttpResponse("widget")


urlpatterns = [
    path("trust-open/issues/<int:issue_id>/", leaky_issue, name="leaky_issue"),
    path("trust-open/widgets/<int:widget_id>/", widget, name="widget"),
    path("", include("config.urls")),
]
