"""The matcher over the database: the index loads occurrences and fixes, follows new ones
without a rebuild, and reads what the first load stored when a moved stamp rebuilds it."""

import numpy as np
import pytest

from matching import embedding
from retros import search
from retros.search import ProfileCache, org_index, suggest
from tests.factories import (
    FixFactory,
    OrganizationFactory,
    RetrospectiveFactory,
    TeamFactory,
    embedded_occurrence,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    organization = OrganizationFactory(name="Search Org")
    retro = RetrospectiveFactory(team=TeamFactory(organization=organization, name="Routing"))
    builds = embedded_occurrence(retro, "Builds keep timing out")
    embedded_occurrence(retro, "Release notes are written the night before launch")
    FixFactory(issue=builds.issue, text="Replace the old build runners", kind="infrastructure")
    return organization, retro, builds


def test_fix_texts_count_for_their_issue(org):
    organization, retro, builds = org

    # Ranked without the display floor: one shared word of two is a faint likeness.
    found = suggest(
        organization=organization, text="The runners crashed again", team=retro.team, min_score=0
    )

    assert found[0].issue.pk == builds.issue_id
    assert found[0].lexical > 0  # "runners" is only in the fix
    assert "runner" in org_index(organization.pk).terms.fix_only_terms_of(builds.issue_id)


def test_new_occurrences_and_fixes_join_without_a_rebuild(org):
    organization, retro, _ = org
    index = org_index(organization.pk)
    later = embedded_occurrence(retro, "Geocoding quota exhausted by noon")
    FixFactory(issue=later.issue, text="Cache geocoding results", kind="tooling")

    again = org_index(organization.pk)

    assert again is index
    assert later.issue_id in again
    assert "cach" in again.terms.terms_of(later.issue_id)


def test_a_rebuild_reads_the_profiles_and_words_the_first_load_stored(org, monkeypatch):
    from matching import lexical

    organization, _, _ = org
    first = org_index(organization.pk)
    assert len(first.occurrence_profiles) == 2 and len(first.fix_profiles) == 1
    search.invalidate(organization.pk)
    calls = []
    original, terms = search.rootcause.text_profile, lexical.terms
    monkeypatch.setattr(
        search.rootcause, "text_profile", lambda text: calls.append(text) or original(text)
    )
    monkeypatch.setattr(lexical, "terms", lambda text: calls.append(text) or terms(text))

    rebuilt = org_index(organization.pk)

    assert rebuilt is not first
    assert calls == []
    assert rebuilt.terms.terms_of(org[2].issue_id) == first.terms.terms_of(org[2].issue_id)


def test_the_profile_cache_reads_an_edited_text_again():
    profiles = ProfileCache()
    profiles.put(7, "Staging down", np.ones(4, dtype=np.float32))
    profiles.freeze()

    assert profiles.get(7, "Staging down") is not None
    assert profiles.get(7, "Staging down again") is None
    assert profiles.get(8, "Staging down") is None


def test_an_issue_archived_since_the_index_loaded_makes_room_for_the_next_one(org):
    from django.utils import timezone

    from retros.models import Issue

    organization, retro, _ = org
    for n in range(8):  # more issues than are listed, all alike
        embedded_occurrence(retro, f"Builds keep timing out on runner {n}")
    listed = suggest(organization=organization, text="Builds keep timing out", limit=5)
    first = listed[0].issue.pk

    # Archived behind the index's back (no rebuild signalled): the database still says so.
    Issue.objects.filter(pk=first).update(archived_at=timezone.now())
    again = suggest(organization=organization, text="Builds keep timing out", limit=5)

    assert first not in [s.issue.pk for s in again]
    assert len(again) == 5
    assert [s.issue.pk for s in again][:4] == [s.issue.pk for s in listed][1:]


def test_an_edited_text_keeps_its_row_when_the_model_cannot_load(org, monkeypatch):
    from retros.search import embed_occurrence

    _, _, builds = org

    def unavailable(text):
        raise embedding.EmbeddingUnavailable("embedding file model.onnx is missing")

    monkeypatch.setattr(embedding, "encode_one", unavailable)
    builds.text = "Builds keep timing out on the new runners"

    embed_occurrence(builds)  # no error: the vector waits for embed_all

    builds.refresh_from_db()
    assert builds.embedding_model == embedding.MODEL_ID  # the earlier vector is kept


def test_an_issue_raised_only_in_the_retro_being_captured_is_not_suggested_for_it():
    """Two items of one retro are one discussion: the board does not offer the first as an
    earlier raising of the second. Raised in another retro too, it is offered again."""
    organization = OrganizationFactory(name="One Retro Org")
    team = TeamFactory(organization=organization, name="Payments")
    today = RetrospectiveFactory(team=team)
    logged = embedded_occurrence(today, "The staging environment was down all afternoon")
    text = "Staging environment down again"

    anywhere = suggest(organization=organization, text=text, team=team, min_score=0)
    here = suggest(organization=organization, text=text, team=team, min_score=0, retro=today)

    assert [s.issue.pk for s in anywhere] == [logged.issue_id]
    assert here == []
    earlier = RetrospectiveFactory(team=team, held_on=today.held_on.replace(year=2025))
    embedded_occurrence(earlier, "Staging was down for a day", issue=logged.issue)
    again = suggest(organization=organization, text=text, team=team, min_score=0, retro=today)
    assert [s.issue.pk for s in again] == [logged.issue_id]


def test_the_rows_added_since_a_query_are_read_by_statements_compiled_once(org):
    """What an index reads after a write, from statements compiled once, is what the ORM
    reads: live problems and live fixes of live issues, newer than the ids given."""
    from retros.models import Fix, Occurrence

    organization, retro, _ = org
    after = Occurrence.objects.order_by("-id").values_list("id", flat=True).first()
    fixes_after = Fix.objects.order_by("-id").values_list("id", flat=True).first()
    later = embedded_occurrence(retro, "Geocoding quota exhausted by noon")
    embedded_occurrence(retro, "Standups ran long", item_type="appreciation")
    archived = embedded_occurrence(retro, "Printer jammed")
    Occurrence.objects.filter(pk=archived.pk).update(archived_at="2026-01-20T10:00:00Z")
    other = embedded_occurrence(RetrospectiveFactory(), "Another organisation's raising")
    fix = FixFactory(issue=later.issue, text="Cache geocoding results", kind="tooling")

    rows = search._NEWER_OCCURRENCES.rows(organization=organization.pk, after=after)
    fix_rows = search._NEWER_FIXES.rows(organization=organization.pk, after=fixes_after)

    expected = list(search._newer_occurrences(organization.pk, after))
    assert [row[:4] for row in rows] == [row[:4] for row in expected]
    assert [row[0] for row in rows] == [later.pk] and other.pk not in [r[0] for r in rows]
    assert bytes(rows[0][4]) == bytes(later.embedding)
    assert fix_rows == list(search._newer_fixes(organization.pk, fixes_after))
    assert [row[0] for row in fix_rows] == [fix.pk]


def test_a_prepared_query_refuses_a_value_that_is_not_one_parameter():
    from retros.models import Occurrence
    from retros.sql import Prepared

    doubled = Prepared(
        lambda after: Occurrence.objects.filter(id__gt=after, issue_id__gt=after), "after"
    )
    with pytest.raises(ValueError, match="one parameter"):
        doubled.rows(after=1)
