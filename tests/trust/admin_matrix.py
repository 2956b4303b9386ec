"""The Django admin's access matrix: every URL of every registered model admin, walked as
Northwind's organisation admin with Contoso's objects.

`admin_entries(site)` lists each model admin's URL patterns (and the site's autocomplete);
`check_admin(world, site)` requests each one as Northwind's admin, GET and POST, with
Contoso's ids, and returns the violations as sentences:

- a response that contains Contoso's marker text;
- a server error;
- a GET of one of Contoso's objects that is answered at all (anything but a refusal: 302 to
  the admin index, 403, 404 or 405);
- a POST that changes any of Contoso's rows. Each POST sends the form a superuser would see
  for that page, every text edited, so a view that saves would save; it runs in a savepoint
  that is rolled back after Contoso's rows were compared.

As a control, the same pages of Northwind's own objects must answer 200, so a walk that
reaches nothing cannot pass. A model admin whose model the walk cannot fill with one of
Contoso's objects is a violation too: adding an admin means saying which object tests it.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin import AdminSite
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import models, transaction
from django.test import Client
from django.urls import URLPattern, reverse

from retros.models import Fix, Issue, Membership, Occurrence, Organization, Retrospective, Team
from tests.trust.conftest import OrgObjects, World

User = get_user_model()

# Model → how to find one object of an organisation's (OrgObjects) for the walk.
ADMIN_OBJECTS: Mapping[type[models.Model], Callable[[OrgObjects], models.Model]] = {
    Organization: lambda o: o.org,
    Team: lambda o: o.team,
    Retrospective: lambda o: o.retro,
    Issue: lambda o: o.issue,
    Occurrence: lambda o: o.occurrence,
    Fix: lambda o: o.fix,
    Membership: lambda o: Membership.objects.filter(organization=o.org).earliest("pk"),
    User: lambda o: User.objects.filter(membership__organization=o.org).earliest("pk"),
    # Rows of no organisation: an organisation admin may not use their admins at all.
    Group: lambda o: Group.objects.get_or_create(name=f"Group {o.marker}")[0],
    AccessAttempt: lambda o: AccessAttempt.objects.get_or_create(
        username=f"guess-{o.marker}", defaults={"failures_since_start": 1, "ip_address": "::1"}
    )[0],
    AccessLog: lambda o: AccessLog.objects.get_or_create(
        username=f"login-{o.marker}", defaults={"ip_address": "::1"}
    )[0],
    AccessFailureLog: lambda o: AccessFailureLog.objects.get_or_create(
        username=f"failed-{o.marker}", defaults={"ip_address": "::1", "locked_out": False}
    )[0],
}
GLOBAL_MODELS = frozenset({Group, AccessAttempt, AccessLog, AccessFailureLog})

REFUSED = frozenset({302, 403, 404, 405})


@dataclass(frozen=True)
class AdminEntry:
    model: type[models.Model]
    name: str  # the URL name inside the site's namespace
    kwargs: tuple[str, ...]
    positional: bool = False  # a regular expression with unnamed groups


def _pattern_keywords(pattern: URLPattern) -> tuple[tuple[str, ...], bool]:
    converters = getattr(pattern.pattern, "converters", None)
    if converters:
        return tuple(converters), False
    regex = pattern.pattern.regex
    if regex.groupindex:
        return tuple(regex.groupindex), False
    if regex.groups:
        # Unnamed groups fill the view's parameters after the request, in order.
        parameters = list(inspect.signature(pattern.callback).parameters)[1:]
        return tuple(parameters[: regex.groups]), True
    return (), False


def admin_entries(site: AdminSite) -> list[AdminEntry]:
    entries = []
    for model, model_admin in site._registry.items():
        for pattern in model_admin.get_urls():
            if isinstance(pattern, URLPattern) and pattern.name:
                kwargs, positional = _pattern_keywords(pattern)
                entries.append(AdminEntry(model, pattern.name, kwargs, positional))
    return sorted(entries, key=lambda e: e.name)


class _FormReader(HTMLParser):
    """The fields of the change form as a browser would post them, every text that carries
    `marker` edited."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id", "").endswith("_form"):
            self._in_form = True
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            value = a.get("value", "on" if kind == "checkbox" else "")
            if self.marker in value:
                value += " edited"
            self.data.setdefault(name, []).append(value)
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea][0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = self.data[self._textarea][0].strip("\n")
            self.data[self._textarea] = [text + " edited" if self.marker in text else text]
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def form_data(html: str, marker: str) -> dict[str, list[str]]:
    reader = _FormReader(marker)
    reader.feed(html)
    data = reader.data
    data["_save"] = ["Save"]
    return data


def snapshot(org: Organization) -> dict[str, list[dict[str, Any]]]:
    """Every row of `org` the admin can reach, as values."""
    rows = {
        "organization": Organization.objects.filter(pk=org.pk),
        "team": Team.objects.filter(organization=org),
        "membership": Membership.objects.filter(organization=org),
        "retro": Retrospective.objects.filter(organization=org),
        "issue": Issue.objects.filter(organization=org),
        "occurrence": Occurrence.objects.filter(organization=org),
        "fix": Fix.objects.filter(organization=org),
        "user": User.objects.filter(membership__organization=org),
        "team_members": Membership.teams.through.objects.filter(team__organization=org),
    }
    return {name: list(qs.order_by("pk").values()) for name, qs in rows.items()}


class _Rollback(Exception):
    pass


def _url(site: AdminSite, entry: AdminEntry, obj: models.Model) -> str | None:
    kwargs: dict[str, Any] = {}
    for kwarg in entry.kwargs:
        if kwarg in ("object_id", "id"):
            kwargs[kwarg] = obj.pk
        elif kwarg == "version_id":
            history = getattr(obj, "history", None)
            if history is None:
                return None
            kwargs[kwarg] = history.order_by("history_id").first().history_id
        else:
            return None
    name = f"{site.name}:{entry.name}"
    if entry.positional:
        return reverse(name, args=list(kwargs.values()))
    return reverse(name, kwargs=kwargs)


def _foreign_key_query(model: type[models.Model], objects: OrgObjects) -> str:
    """`?field=<id>` for every foreign key of `model` to a model the walk knows: what a
    raw-id or autocomplete widget renders as a label."""
    params = []
    for field in model._meta.get_fields():
        if isinstance(field, models.ForeignKey) and field.related_model in ADMIN_OBJECTS:
            related = ADMIN_OBJECTS[field.related_model](objects)
            params.append(f"{field.name}={related.pk}")
    return "?" + "&".join(params) if params else ""


def check_admin(world: World, site: AdminSite, superuser_client: Client) -> list[str]:
    """Every violation of the admin's tenancy, as sentences (empty: all is well)."""
    violations: list[str] = []
    admin_client = world.clients["admin"]
    north, contoso = world.north, world.contoso
    own_pages_answered = 0

    def request(client: Client, method: str, url: str, data: Any = None):
        saved = copy.copy(client.cookies)
        response = None
        try:
            with transaction.atomic():
                before = snapshot(contoso.org)
                if method == "GET":
                    response = client.get(url)
                else:
                    response = client.post(url, data or {})
                response.body = response.content
                response.changed = snapshot(contoso.org) != before
                raise _Rollback
        except _Rollback:
            pass
        finally:
            client.cookies = saved
            cache.clear()
        return response

    for entry in admin_entries(site):
        if entry.model not in ADMIN_OBJECTS:
            violations.append(
                f"{site.name}:{entry.name}: the admin of {entry.model.__name__} is not walked; "
                "add the model to ADMIN_OBJECTS in tests/trust/admin_matrix.py"
            )
            continue
        theirs = ADMIN_OBJECTS[entry.model](contoso)
        ours = ADMIN_OBJECTS[entry.model](north)
        url = _url(site, entry, theirs)
        if url is None:
            violations.append(f"{site.name}:{entry.name}: URL keywords {entry.kwargs} unknown")
            continue
        if not entry.kwargs and entry.name.endswith("_add"):
            url += _foreign_key_query(entry.model, contoso)
        label = f"{entry.name} {url} as Northwind's admin"

        page = request(admin_client, "GET", url)
        if page.status_code >= 500:
            violations.append(f"{label}: GET server error {page.status_code}")
        if contoso.marker in page.body.decode("utf-8", "replace"):
            violations.append(f"GET {label}: the response contains Contoso's data")
        if (entry.kwargs or entry.model in GLOBAL_MODELS) and page.status_code not in REFUSED:
            violations.append(f"GET {label}: Contoso's object answered {page.status_code}")

        # The form a superuser sees on this page, every text edited, posted as the admin.
        shown = request(superuser_client, "GET", url)
        data = (
            form_data(shown.body.decode("utf-8", "replace"), contoso.marker)
            if shown.status_code == 200
            else {}
        )
        posted = request(admin_client, "POST", url, data)
        if posted.status_code >= 500:
            violations.append(f"POST {label}: server error {posted.status_code}")
        if posted.changed:
            violations.append(f"POST {label}: Contoso's rows changed")
        if contoso.marker in posted.body.decode("utf-8", "replace"):
            violations.append(f"POST {label}: the response contains Contoso's data")

        # The control: the same page of Northwind's own object answers.
        if entry.kwargs and entry.model not in GLOBAL_MODELS:
            own_url = _url(site, entry, ours)
            if own_url and not entry.name.endswith("_delete"):
                own = request(admin_client, "GET", own_url)
                if own.status_code == 200:
                    own_pages_answered += 1
                else:
                    violations.append(f"GET {own_url}: own object answered {own.status_code}")
    if own_pages_answered == 0:
        violations.append("no page of Northwind's own objects answered: the walk reached nothing")
    violations.extend(_check_autocomplete(world, site, request))
    return violations


def _check_autocomplete(world: World, site: AdminSite, request) -> Iterator[str]:
    """The autocomplete of every autocomplete field lists no row of Contoso's."""
    url = reverse(f"{site.name}:autocomplete")
    for model, model_admin in site._registry.items():
        for field in model_admin.autocomplete_fields:
            query = {
                "app_label": model._meta.app_label,
                "model_name": model._meta.model_name,
                "field_name": field,
                "term": "",
            }
            full = url + "?" + "&".join(f"{k}={v}" for k, v in query.items())
            response = request(world.clients["admin"], "GET", full)
            body = response.body.decode("utf-8", "replace")
            if world.contoso.marker in body:
                yield f"GET {full}: the autocomplete lists Contoso's rows"
            if response.status_code == 200 and world.north.marker not in body:
                yield f"GET {full}: the autocomplete lists none of Northwind's own rows"
