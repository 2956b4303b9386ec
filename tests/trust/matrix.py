"""The access matrix: every URL of the project, every role, both organisations.

`url_entries()` walks the URL resolver (the Django admin and static files excepted).
`check_url()` requests one URL as every person, with real objects of both organisations,
and returns the violations of its declared `Policy` as sentences (empty: all is well).
Each request runs in a savepoint that is rolled back, so a write never changes what the
next request sees.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter

from tests.trust.conftest import ROLES, OrgObjects, World

# URL keyword → the attribute of OrgObjects that fills it.
KWARG_OBJECTS: Mapping[str, str] = {
    "team_id": "team",
    "retro_id": "retro",
    "issue_id": "issue",
    "occurrence_id": "occurrence",
    "fix_id": "fix",
    "finding_id": "finding",
    "hypothesis_id": "hypothesis",
    "merge_id": "merge",
    "review_id": "review",
    "job_id": "job",
    "card_id": "card",
}

GET_OK = frozenset({200})
POST_OK = frozenset({200, 204, 302, 400, 422})


@dataclass(frozen=True)
class Policy:
    """Who may read (GET) and write (POST) one URL.

    `read`/`write` hold role names of ROLES (and "anonymous" for public URLs); None means the
    view does not answer that method (405). Roles outside the set get 403; people of the
    other organisation get 404 on URLs that name an object.
    """

    read: frozenset[str] | None
    write: frozenset[str] | None
    public: bool = False
    get_ok: frozenset[int] = GET_OK
    post_ok: frozenset[int] = POST_OK
    headers: Mapping[str, str] = field(default_factory=dict)
    # (role, method) → status, for a deliberate exception to the rules above.
    exceptions: Mapping[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class UrlEntry:
    name: str  # "namespace:name"
    route: str
    kwargs: tuple[str, ...]
    problems: tuple[str, ...] = ()

    @property
    def names_an_object(self) -> bool:
        return bool(self.kwargs)


def url_entries(urlconf: str | None = None) -> list[UrlEntry]:
    return sorted(
        _walk(get_resolver(urlconf).url_patterns, "", "", {}), key=lambda e: (e.name, e.route)
    )


def _walk(patterns, namespace: str, prefix: str, converters: dict) -> Iterator[UrlEntry]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        own = {**converters, **getattr(pattern.pattern, "converters", {})}
        if isinstance(pattern, URLResolver):
            if "admin" in (pattern.namespace, pattern.app_name):
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, inner, route, own)
        elif isinstance(pattern, URLPattern):
            if route.lstrip("^/").startswith(settings.STATIC_URL.strip("/")):
                continue
            if not pattern.name:
                yield UrlEntry(
                    f"<unnamed {route}>",
                    route,
                    (),
                    (f"the URL pattern {route!r} has no name: name it and declare its policy",),
                )
                continue
            problems = []
            for kwarg, converter in own.items():
                if kwarg not in KWARG_OBJECTS:
                    problems.append(
                        f"{namespace}{pattern.name}: unknown URL keyword {kwarg!r}; add it to "
                        "KWARG_OBJECTS in tests/trust/matrix.py and create the object in the "
                        "world fixture (tests/trust/conftest.py)"
                    )
                elif not isinstance(converter, IntConverter):
                    problems.append(
                        f"{namespace}{pattern.name}: {kwarg!r} is not an <int:…> keyword; "
                        "teach tests/trust/matrix.py how to fill it"
                    )
            yield UrlEntry(f"{namespace}{pattern.name}", route, tuple(own), tuple(problems))


def _url_for(entry: UrlEntry, objects: OrgObjects) -> str:
    kwargs = {k: getattr(objects, KWARG_OBJECTS[k]).pk for k in entry.kwargs}
    return reverse(entry.name, kwargs=kwargs)


class _Rollback(Exception):
    pass


def _request(client: Client, method: str, url: str, headers: Mapping[str, str]):
    """One request inside a savepoint that is rolled back; the client's cookies are kept."""
    saved = copy.copy(client.cookies)
    response = None
    try:
        with transaction.atomic():
            if method == "GET":
                response = client.get(url, headers=headers)
            else:
                response = client.post(url, {}, headers=headers)
            # Read a streaming body inside the savepoint, while its rows still exist.
            if response.streaming:
                response.body = b"".join(response.streaming_content)
            else:
                response.body = response.content
            raise _Rollback
    except _Rollback:
        pass
    finally:
        client.cookies = saved
        if method != "GET":
            cache.clear()
    return response


def _expected(policy: Policy, role: str, method: str) -> frozenset[int]:
    if (role, method) in policy.exceptions:
        return frozenset({policy.exceptions[(role, method)]})
    allowed = policy.read if method == "GET" else policy.write
    if allowed is None:
        return frozenset({405})
    if role in allowed:
        return policy.get_ok if method == "GET" else policy.post_ok
    return frozenset({403})


def check_url(world: World, entry: UrlEntry, policy: Policy | None) -> list[str]:
    """Every violation of `policy` by `entry`, as sentences."""
    if entry.problems:
        return list(entry.problems)
    if policy is None:
        return [
            f"declare the access policy of view {entry.name} ({entry.route}) in POLICIES of "
            "tests/trust/test_access_matrix.py"
        ]
    violations: list[str] = []
    north, contoso = world.north, world.contoso
    login = reverse("login")

    def run(who: str, client: Client, objects: OrgObjects, foreign: str | None, method: str):
        url = _url_for(entry, objects)
        response = _request(client, method, url, policy.headers)
        body = response.body.decode("utf-8", "replace")
        label = f"{entry.name} {method} {url} as {who}"
        if response.status_code >= 500:
            violations.append(f"{label}: server error {response.status_code}")
        if foreign is not None and foreign in body:
            violations.append(f"{label}: the response contains the other organisation's data")
        if response.status_code in (403, 404) and objects.marker in body:
            violations.append(f"{label}: a refusal ({response.status_code}) shows object text")
        return response, label

    def expect(response, label: str, statuses: frozenset[int]) -> None:
        if response.status_code not in statuses:
            violations.append(f"{label}: expected {sorted(statuses)}, got {response.status_code}")

    for method in ("GET", "POST"):
        # Anonymous: the login page, unless the URL is public.
        response, label = run("anonymous", world.clients["anonymous"], north, None, method)
        if policy.public:
            expect(response, label, _expected(policy, "anonymous", method))
        elif not _sends_to_login(response, login):
            violations.append(f"{label}: expected a redirect to the login page")

        # Northwind's people on Northwind's objects: the declared policy.
        for role in ROLES:
            response, label = run(role, world.clients[role], north, contoso.marker, method)
            expect(response, label, _expected(policy, role, method))

        # Contoso's leader: their own objects as a leader; Northwind's never found.
        outsider = world.clients["outsider"]
        response, label = run("outsider (own org)", outsider, contoso, north.marker, method)
        expect(response, label, _expected(policy, "leader", method))
        if entry.names_an_object:
            response, label = run("outsider", outsider, north, north.marker, method)
            expect(response, label, _never_found(policy, "leader", method))
            # The reverse direction: Northwind's people on Contoso's objects.
            for role in ROLES:
                response, label = run(role, world.clients[role], contoso, contoso.marker, method)
                expect(response, label, _never_found(policy, role, method))
    return violations


def _never_found(policy: Policy, role: str, method: str) -> frozenset[int]:
    """Another organisation's object is never found (404). A role refused the URL whatever
    the object (a member on the dashboard) may be refused first (403): that answer does not
    depend on the object, so it reveals nothing. 405 when the view does not take the method.
    """
    refused = _expected(policy, role, method)
    if refused == {405}:
        return refused
    return frozenset({403, 404}) if refused == {403} else frozenset({404})


def _sends_to_login(response, login: str) -> bool:
    """A page gets a redirect; an htmx request gets 401 with HX-Redirect (the browser leaves
    the page rather than swapping the login form into a fragment)."""
    if response.status_code == 302:
        return response["Location"].startswith(login)
    return response.status_code == 401 and response.get("HX-Redirect", "").startswith(login)
