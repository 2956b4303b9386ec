"""factory_boy factories for Recur's models."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.test import Client

from matching import embedding
from retros import models

PASSWORD = "correct-horse-battery-staple"


def signed_in_client(user, **options) -> Client:
    """A test client signed in as `user`; `options` go to Client (e.g. enforce_csrf_checks)."""
    client = Client(**options)
    client.force_login(user)
    return client


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Organization
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Organisation {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Team

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    first_name = factory.Sequence(lambda n: f"Person{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Membership
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = models.Role.MEMBER

    @factory.post_generation
    def teams(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.teams.set(extracted)


class RetrospectiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Retrospective

    team = factory.SubFactory(TeamFactory)
    organization = factory.LazyAttribute(lambda o: o.team.organization)
    held_on = factory.LazyFunction(lambda: dt.date(2026, 1, 14))
    title = factory.Sequence(lambda n: f"Sprint {n}")


class IssueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Issue

    organization = factory.SubFactory(OrganizationFactory)
    title = factory.Sequence(lambda n: f"Issue {n}")


class OccurrenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Occurrence

    retro = factory.SubFactory(RetrospectiveFactory)
    organization = factory.LazyAttribute(lambda o: o.retro.organization)
    team = factory.LazyAttribute(lambda o: o.retro.team)
    held_on = factory.LazyAttribute(lambda o: o.retro.held_on)
    issue = factory.SubFactory(IssueFactory, organization=factory.SelfAttribute("..organization"))
    text = factory.Sequence(lambda n: f"Problem number {n}")


def embedded_occurrence(retro, text, **fields):
    """A raising of `text` in `retro` with its sentence vector, as the matcher reads it."""
    return OccurrenceFactory(
        retro=retro,
        text=text,
        embedding=embedding.to_bytes(embedding.encode_one(text)),
        embedding_model=embedding.MODEL_ID,
        **fields,
    )


class FixFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Fix

    issue = factory.SubFactory(IssueFactory)
    organization = factory.LazyAttribute(lambda o: o.issue.organization)
    decided_on = factory.LazyFunction(lambda: dt.date(2026, 1, 14))
    text = "Weekly sync"
    kind = "meeting"
