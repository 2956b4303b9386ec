"""The matcher's indexes in a web process: a lock per organisation, a memory budget kept by
recent use, and structural changes applied in place in every process."""

import threading

import pytest
from django.db import connection

from matching import lexical
from retros import search, services
from tests.factories import (
    FixFactory,
    OrganizationFactory,
    RetrospectiveFactory,
    TeamFactory,
    UserFactory,
    embedded_occurrence,
)
from tests.matching.texts import RAISINGS

TEXTS = RAISINGS


def _organization(name):
    organization = OrganizationFactory(name=name)
    retro = RetrospectiveFactory(team=TeamFactory(organization=organization, name="Routing"))
    return organization, retro, [embedded_occurrence(retro, text) for text in TEXTS]


def _suggestions(cache, monkeypatch, organization, text):
    """What `suggest` answers in the process whose indexes `cache` holds."""
    with monkeypatch.context() as patch:
        patch.setattr(search, "_cache", cache)
        found = search.suggest(organization=organization, text=text, min_score=0)
    return [(s.issue.pk, round(s.score, 5), s.reasons, s.teams) for s in found]


def _store_profiles(*organizations):
    """A first load stores what it computed: the loads in threads below then only read (the
    in-memory SQLite database of the tests locks whole tables for a writer)."""
    for organization in organizations:
        search.IndexCache().index(organization.pk)


@pytest.mark.django_db(transaction=True)
def test_a_load_never_holds_up_another_organisations_suggestions(monkeypatch):
    slow, _, _ = _organization("Slow Org")
    fast, _, fast_rows = _organization("Fast Org")
    _store_profiles(slow, fast)
    cache = search.IndexCache()
    loading, release = threading.Event(), threading.Event()
    original = search._load_rows

    def load_rows(index, organization_id, *args, **kwargs):
        if organization_id == slow.pk:
            loading.set()
            assert release.wait(60), "the slow load was never released"
        return original(index, organization_id, *args, **kwargs)

    monkeypatch.setattr(search, "_load_rows", load_rows)
    monkeypatch.setattr(search, "_cache", cache)
    answered = threading.Event()
    found: list = []

    def in_thread(work):
        def run():
            try:
                work()
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    slow_thread = in_thread(lambda: search.org_index(slow.pk))
    assert loading.wait(60)

    def ask_fast():
        found.extend(search.suggest(organization=fast, text="Builds keep timing out"))
        answered.set()

    fast_thread = in_thread(ask_fast)
    try:
        # The slow organisation is still loading (held until released below), yet the other
        # organisation's suggestion comes back.
        assert answered.wait(60)
        assert not release.is_set() and slow.pk not in cache.indexes
        assert found[0].issue.pk == fast_rows[0].issue_id
    finally:
        release.set()
        slow_thread.join(60)
        fast_thread.join(60)
    assert set(cache.indexes) == {slow.pk, fast.pk}


@pytest.mark.django_db(transaction=True)
def test_one_organisations_load_waits_for_its_own_running_load(monkeypatch):
    """Two requests of the same organisation at once load it once."""
    organization, _, _ = _organization("Busy Org")
    _store_profiles(organization)
    cache = search.IndexCache()
    loading, release = threading.Event(), threading.Event()
    original = search._load_rows
    loads = []

    def load_rows(index, organization_id, *args, **kwargs):
        loads.append(organization_id)
        loading.set()
        assert release.wait(60)
        return original(index, organization_id, *args, **kwargs)

    monkeypatch.setattr(search, "_load_rows", load_rows)
    results: list = []

    def run():
        try:
            results.append(cache.index(organization.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    threads[0].start()
    assert loading.wait(60)
    threads[1].start()
    release.set()
    for thread in threads:
        thread.join(60)

    assert loads == [organization.pk]
    assert results[0] is results[1]


@pytest.mark.django_db
def test_an_evicted_organisation_reloads_with_identical_suggestions(monkeypatch):
    first, _, _ = _organization("First Org")
    second, _, _ = _organization("Second Org")
    cache = search.IndexCache(budget_bytes=1)  # room for the one index in use only
    before = _suggestions(cache, monkeypatch, first, "The builds time out again")
    assert before

    _suggestions(cache, monkeypatch, second, "The builds time out again")

    assert list(cache.indexes) == [second.pk]
    assert cache.evictions == 1
    assert _suggestions(cache, monkeypatch, first, "The builds time out again") == before
    assert list(cache.indexes) == [first.pk]


@pytest.mark.django_db
def test_indexes_are_kept_by_recent_use_within_the_budget(monkeypatch):
    organizations = [_organization(f"Org {n}")[0] for n in range(3)]
    sizing = search.IndexCache()
    sizes = [sizing.index(org.pk).estimate for org in organizations]
    assert all(size > 0 for size in sizes)
    # Room for the two largest, not for all three.
    cache = search.IndexCache(budget_bytes=sum(sorted(sizes)[1:]))
    first, second, third = (org.pk for org in organizations)
    cache.index(first)
    cache.index(second)
    cache.index(first)  # used again: the second is now the least recent

    cache.index(third)

    assert list(cache.indexes) == [first, third]
    status = cache.status()
    assert status["organizations"] == 2
    assert status["used_bytes"] <= status["budget_bytes"]
    assert [held["organization_id"] for held in status["held"]] == [third, first]


def test_the_budget_is_the_setting(settings):
    settings.RECUR_MATCHER_MEMORY_MB = 64

    assert search.IndexCache().budget == 64 * 1024 * 1024


@pytest.mark.django_db
def test_changes_through_one_process_reach_another_without_a_rebuild(
    monkeypatch, django_capture_on_commit_callbacks
):
    organization, _, rows = _organization("Changing Org")
    builds, notes, staging, reviews = rows
    user = UserFactory()
    staging.issue = builds.issue  # logged against the wrong issue
    staging.save(update_fields=["issue"])
    this, other = search.IndexCache(), search.IndexCache()  # two web processes
    query = "Staging deploys fail on Fridays"
    assert _suggestions(other, monkeypatch, organization, query)[0][0] == builds.issue_id
    this.index(organization.pk)

    def changed_through_this_process(change):
        with django_capture_on_commit_callbacks(execute=True):
            change()
        fresh = search.IndexCache()  # a process that loads from scratch
        assert _suggestions(other, monkeypatch, organization, query) == _suggestions(
            fresh, monkeypatch, organization, query
        )

    changed_through_this_process(
        lambda: services.occurrence_relink(occurrence=staging, issue=None, user=user)
    )
    staging.refresh_from_db()
    assert _suggestions(other, monkeypatch, organization, query)[0][0] == staging.issue_id

    changed_through_this_process(
        lambda: services.issue_merge(source=notes.issue, target=reviews.issue, user=user)
    )
    merged = _suggestions(other, monkeypatch, organization, "Release notes written late")
    assert merged[0][0] == reviews.issue_id

    changed_through_this_process(lambda: services.occurrence_archive(occurrence=staging, user=user))
    ids = [s[0] for s in _suggestions(other, monkeypatch, organization, query)]
    assert staging.issue_id not in ids

    assert other.loads == 1  # applied in place: never rebuilt
    assert other.index(organization.pk).stamp == 0


@pytest.mark.django_db
def test_a_model_change_still_rebuilds(monkeypatch):
    organization, _, _ = _organization("Stamped Org")
    cache = search.IndexCache()
    first = cache.index(organization.pk)

    search.invalidate(organization.pk)

    assert cache.index(organization.pk) is not first
    assert cache.loads == 2


@pytest.mark.django_db
def test_the_status_command_shows_the_budget_and_each_index(settings):
    from io import StringIO

    from django.core.management import call_command

    settings.RECUR_MATCHER_MEMORY_MB = 48
    _organization("Measured Org")
    out = StringIO()

    call_command("matcher_status", "--load", stdout=out)

    text = out.getvalue()
    assert "Budget per web process: 48 MB" in text
    assert "Measured Org: 4 live raising(s), index" in text
    assert "Kept within the budget: 1 index(es)" in text


@pytest.mark.django_db
def test_a_cold_load_reads_the_profiles_and_words_an_earlier_load_computed(monkeypatch):
    from retros.models import TextProfile

    organization, _, rows = _organization("Stored Org")
    fix = FixFactory(issue=rows[0].issue, text="Replace the build runners", kind="tooling")
    search.IndexCache().index(organization.pk)
    assert TextProfile.objects.filter(organization=organization).count() == len(rows) + 1
    rows[1].text = "Release notes are written on launch day"  # edited behind the store's back
    rows[1].save(update_fields=["text"])
    computed, stemmed = [], []
    profile, terms = search.rootcause.text_profile, lexical.terms
    cache = search.IndexCache()
    with monkeypatch.context() as patch:
        patch.setattr(
            search.rootcause, "text_profile", lambda text: computed.append(text) or profile(text)
        )
        patch.setattr(lexical, "terms", lambda text: stemmed.append(text) or terms(text))
        cache.index(organization.pk)

    assert computed == [rows[1].text]  # only the edited text is read again
    assert set(stemmed) == {rows[1].text}
    query = "The builds time out again"
    stored = _suggestions(cache, monkeypatch, organization, query)
    TextProfile.objects.all().delete()
    computed_afresh = search.IndexCache()
    assert stored == _suggestions(computed_afresh, monkeypatch, organization, query)
    read, afresh = cache.index(organization.pk), computed_afresh.index(organization.pk)
    for row in rows:
        assert read.terms.terms_of(row.issue_id) == afresh.terms.terms_of(row.issue_id)
        assert read.terms.fix_only_terms_of(row.issue_id) == afresh.terms.fix_only_terms_of(
            row.issue_id
        )
        assert read.profile_of(row.issue_id).tolist() == afresh.profile_of(row.issue_id).tolist()
    assert read.vocabulary._words == afresh.vocabulary._words
    assert fix.pk in TextProfile.objects.filter(kind="f").values_list("row_id", flat=True)


@pytest.mark.django_db
def test_an_edited_fix_counts_with_its_new_words(monkeypatch, django_capture_on_commit_callbacks):
    organization, _, rows = _organization("Fixing Org")
    fix = FixFactory(issue=rows[0].issue, text="Replace the build runners", kind="tooling")
    cache = search.IndexCache()
    assert "runner" in cache.index(organization.pk).terms.terms_of(rows[0].issue_id)

    with django_capture_on_commit_callbacks(execute=True):
        services.fix_update(fix=fix, text="Cache the dependencies", kind="tooling", user=None)

    index = cache.index(organization.pk)
    assert "runner" not in index.terms.terms_of(rows[0].issue_id)
    assert "cach" in index.terms.fix_only_terms_of(rows[0].issue_id)
    assert cache.loads == 1
