"""Two rules for every response: a signed-in person's pages are never cached, and a session
that ends mid-work leads back to the page the person was on."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.cache import add_never_cache_headers, patch_cache_control

from config.errors import same_site_page


class PrivateNoStoreMiddleware:
    """Retro notes name people and conflicts, and a page restored from a cache (Back after an
    htmx change, a shared machine's disk cache, a proxy) would show what was true before, or
    to someone else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        return response


class SignInAgainMiddleware:
    """When a session ends mid-work, send the person to sign in and then back to the page they
    were on — not to the URL their form posted to, and never with the sign-in page swapped
    into a fragment of the board. An htmx request gets 401 with HX-Redirect (the browser
    leaves the page; board.js has kept what was being typed and puts it back on return); a
    plain form post is redirected to sign in with the referring page as `next`.

    Sits after HtmxMiddleware and before LoginRequiredMiddleware, whose redirect it rewrites.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 302 or request.user.is_authenticated:
            return response
        login_path = resolve_url(settings.LOGIN_URL)
        if urlsplit(response.get("Location", "")).path != login_path:
            return response
        htmx = request.headers.get("hx-request") == "true"
        if not htmx and request.method == "GET":
            return response  # LoginRequiredMiddleware's `next` is already this page
        page = same_site_page(request) or "/"
        url = f"{login_path}?{urlencode({'next': page}, safe='/')}"
        if htmx:
            signed_out = HttpResponse(status=401)
            signed_out["HX-Redirect"] = url
            return signed_out
        return HttpResponseRedirect(url)
