"""A small cast shared by the tests: one organisation with two teams and a person in each
role, and an outsider from another organisation with data of their own."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from retros.models import Organization, Role, Team
from tests.factories import (
    IssueFactory,
    MembershipFactory,
    OccurrenceFactory,
    OrganizationFactory,
    RetrospectiveFactory,
    TeamFactory,
    UserFactory,
    signed_in_client,
)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """The test database, as pytest-django makes it; at the end, the live boards' listener
    (a connection of its own, on PostgreSQL) stops first, so the database can be dropped."""
    yield
    from retros import live

    live.stop_listener()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests create many people; the production hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_matcher_indexes():
    """Each web process keeps its organisations' matcher indexes in memory, keyed by the
    organisation's id. Tests roll back or flush the database, and SQLite then hands out the
    same ids again: an index left by an earlier test would answer for a different
    organisation."""
    from retros import search

    search._indexes.clear()
    yield
    search._indexes.clear()


@pytest.fixture(autouse=True)
def _fresh_live_versions():
    """Live boards' versions heard by this process are keyed by retro id, which SQLite hands
    out again after a rollback (see above)."""
    from retros import live

    live._versions.clear()
    yield
    live._versions.clear()


@pytest.fixture(autouse=True)
def _empty_cache():
    """The cache outlives a test's database, and its keys name rows by id (see above)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _tasks_in_process(request, settings):
    """Tasks run in-process after commit, as in the embedded default, so a test sees the
    effect of the work its request enqueued. Tests marked `worker` keep the configured
    broker and prove the wiring with a real worker."""
    if request.node.get_closest_marker("worker"):
        yield
        return
    from config.celery import app

    # Read Celery's value before overriding Django's: Celery reads its configuration from
    # the Django settings on first use.
    previous = app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@dataclass
class Cast:
    org: Organization
    team: Team
    other_team: Team
    clients: dict[str, Client]
    users: dict[str, object]
    outsider_org: Organization
    outsider_team: Team


@pytest.fixture
def cast(db) -> Cast:
    org = OrganizationFactory(name="Northwind")
    team = TeamFactory(organization=org, name="Payments")
    other_team = TeamFactory(organization=org, name="Checkout")
    outsider_org = OrganizationFactory(name="Contoso")
    outsider_team = TeamFactory(organization=outsider_org, name="Engine")
    people = {
        "admin": MembershipFactory(
            organization=org, role=Role.ADMIN, user=UserFactory(username="ada", is_staff=True)
        ),
        "leader": MembershipFactory(
            organization=org, role=Role.LEADER, user=UserFactory(username="lee")
        ),
        "facilitator": MembershipFactory(
            organization=org,
            role=Role.FACILITATOR,
            user=UserFactory(username="fay"),
            teams=[team],
        ),
        "member": MembershipFactory(
            organization=org, role=Role.MEMBER, user=UserFactory(username="mo"), teams=[team]
        ),
        "outsider": MembershipFactory(
            organization=outsider_org,
            role=Role.LEADER,
            user=UserFactory(username="oz"),
            teams=[outsider_team],
        ),
    }
    users = {role: membership.user for role, membership in people.items()}
    clients = {role: signed_in_client(user) for role, user in users.items()}
    clients["anonymous"] = Client()
    return Cast(org, team, other_team, clients, users, outsider_org, outsider_team)


@pytest.fixture
def outsider_data(cast: Cast):
    """Objects of the outsider's organisation, with text that must never leak."""
    retro = RetrospectiveFactory(team=cast.outsider_team, title="Contoso secret retro")
    issue = IssueFactory(organization=cast.outsider_org, title="Contoso secret issue")
    occurrence = OccurrenceFactory(retro=retro, issue=issue, text="Contoso secret text")
    return {"retro": retro, "issue": issue, "occurrence": occurrence, "team": cast.outsider_team}
