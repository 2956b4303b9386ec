"""The leaders' actions are one table (diagnosis.views.LEADER_ACTIONS): each row must have its
URL, and its form's fields must be exactly the keywords its service takes besides the issue
and the actor, so that posting a valid form can never call the service wrongly."""

from __future__ import annotations

import inspect

import pytest
from django.urls import resolve, reverse

from diagnosis import views
from retros.models import Organization


@pytest.mark.parametrize("name", sorted(views.LEADER_ACTIONS))
def test_every_action_has_its_url_and_reaches_the_one_view(name):
    url = reverse(f"diagnosis:finding_{name}", args=[7])
    match = resolve(url)
    assert match.func is views.finding_action
    assert match.kwargs == {"issue_id": 7, "action": name}


def _keywords(service) -> set[str]:
    return {
        p.name
        for p in inspect.signature(service).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(views.LEADER_ACTIONS))
def test_the_form_fields_are_the_service_keywords(name):
    action = views.LEADER_ACTIONS[name]
    fields: set[str] = set()
    if action.form is not None:
        scope = {"organization": Organization.objects.create(name="Acme")} if action.scoped else {}
        fields = set(action.form(prefix=name, **scope).fields)
    assert _keywords(action.service) == {"issue", "actor", *fields}


def test_the_urls_are_those_the_finding_page_posts_to():
    routes = {name: reverse(f"diagnosis:finding_{name}", args=[1]) for name in views.LEADER_ACTIONS}
    assert routes["fix"] == "/dashboard/findings/1/fixes/"
    assert routes["acknowledge"] == "/dashboard/findings/1/acknowledge/"
