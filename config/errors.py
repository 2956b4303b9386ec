"""Error pages with a way back: the page the person came from (when it is on this site) and
their start page. They render without the request's context processors, so none of them reads
the database; the 500 page is Django's own handler with templates/500.html, rendered the same
way."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme


def _on_this_site(request: HttpRequest, url: str) -> bool:
    try:
        host = request.get_host()
    except DisallowedHost:  # no way back to offer
        return False
    return bool(url) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={host}, require_https=request.is_secure()
    )


def _back(request: HttpRequest) -> str:
    """The referring page when it is on this site and not this very page, else ""."""
    referer = request.headers.get("referer", "")
    if not _on_this_site(request, referer) or referer == request.build_absolute_uri():
        return ""
    return referer


def _page(template: str, status: int, **context: str) -> HttpResponse:
    return HttpResponse(render_to_string(template, context), status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    # The request may be what is wrong (its host, its headers): offer no referer.
    return _page("400.html", 400, back="")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    # The views' messages say what the role allows ("You can read this team's retros but
    # not change them."); other denials get the template's general sentence.
    reason = str(exception) if exception.args else ""
    return _page("403.html", 403, back=_back(request), reason=reason)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _page("404.html", 404, back=_back(request))


def same_site_page(request: HttpRequest) -> str:
    """The path of the page the request came from — htmx names it in HX-Current-URL, a plain
    form in Referer — when that page is on this site, else ""."""
    for url in (request.headers.get("hx-current-url", ""), request.headers.get("referer", "")):
        if _on_this_site(request, url):
            parts = urlsplit(url)
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return ""


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid security token (cookies cleared, a page open for days).
    Nothing was saved. From the board (htmx), the browser reloads the page it is on, which
    signs in again if needed and then puts back what was being typed (board.js keeps it); a
    plain form gets a page that says so and leads back."""
    page = same_site_page(request)
    if request.headers.get("hx-request") == "true":
        response = HttpResponse(status=403)
        response["HX-Redirect"] = page or "/"
        return response
    return _page("403_csrf.html", 403, back=page)
