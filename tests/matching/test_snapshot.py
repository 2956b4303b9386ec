"""Snapshots of the matcher's indexes: saved as plain arrays, restored to the same index,
brought up to date with what came after, ignored when stale; and the rebuild after a moved
stamp, in the background while the old index answers."""

import threading

import numpy as np
import pytest
from django.db import connection

from matching import int8scan, lexical, wordindex
from matching.ranker import MatrixIndex
from retros import search, services, snapshot
from retros.models import MatcherSnapshot
from tests import factories
from tests.matching.texts import RAISINGS

TEXTS = [*RAISINGS, "The builds timed out again on the release branch"]
QUERIES = [
    "The builds time out again",
    "Staging deploys fail on Fridays",
    "Release notes written late",
    "pull reqests wait for review",  # a typo: read through the vocabulary
]


def _organization(name="Snapshot Org"):
    organization = factories.OrganizationFactory(name=name)
    routing = factories.TeamFactory(organization=organization, name="Routing")
    payments = factories.TeamFactory(organization=organization, name="Payments")
    retro = factories.RetrospectiveFactory(team=routing)
    other = factories.RetrospectiveFactory(team=payments)
    rows = [factories.embedded_occurrence(retro, text) for text in TEXTS[:3]]
    rows += [factories.embedded_occurrence(other, text) for text in TEXTS[3:]]
    factories.FixFactory(issue=rows[0].issue, text="Replace the build runners", kind="tooling")
    return organization, retro, rows


def _answers(cache, monkeypatch, organization):
    with monkeypatch.context() as patch:
        patch.setattr(search, "_cache", cache)
        return [
            [
                (s.issue.pk, round(s.score, 5), s.reasons, s.teams)
                for s in search.suggest(organization=organization, text=query, min_score=0)
            ]
            for query in QUERIES
        ]


def _from_rows(monkeypatch, organization):
    """What a process that reads every row answers (no snapshot used)."""
    with monkeypatch.context() as patch:
        patch.setattr(snapshot, "restore", lambda organization_id, stamp: None)
        cache = search.IndexCache()
        cache.index(organization.pk)
    assert cache.snapshot_loads == 0
    return _answers(cache, monkeypatch, organization), cache.index(organization.pk)


def _same_index(restored, built, *, changed=False):
    assert len(restored) == len(built)
    assert set(restored.issue_ids()) == set(built.issue_ids())
    for issue_id in built.issue_ids():
        assert restored.terms.terms_of(issue_id) == built.terms.terms_of(issue_id)
        assert restored.terms.fix_only_terms_of(issue_id) == built.terms.fix_only_terms_of(issue_id)
        assert restored.teams_of(issue_id) == built.teams_of(issue_id)
        assert restored.occurrences_of(issue_id) == built.occurrences_of(issue_id)
        np.testing.assert_allclose(restored.profile_of(issue_id), built.profile_of(issue_id))
    if changed:  # words of archived texts stay in a vocabulary changed in place
        assert restored.vocabulary._words >= built.vocabulary._words
    else:
        assert restored.vocabulary._words == built.vocabulary._words


# --- the arrays, without a database ------------------------------------------------------


def test_a_matrix_restored_from_its_arrays_scores_as_the_saved_one():
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((11, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    saved = MatrixIndex(16, quantized=True, pack_rows=4)  # two full blocks and a tail
    saved.keep_codes()
    saved.add_rows(np.arange(11) // 2, list(range(100, 111)), vectors)
    saved.remove_issue(3)
    query = rng.standard_normal((2, 16)).astype(np.float32)
    query /= np.linalg.norm(query, axis=1, keepdims=True)

    released = []
    restored = MatrixIndex.from_arrays(
        **saved.arrays(), pack_rows=4, pack=False, release=released.append
    )

    # An index kept to be saved is not packed: numpy scores the same codes alike.
    np.testing.assert_array_equal(restored.scores(query), saved.scores(query))
    assert [codes.shape for codes in released] == [(4, 16), (4, 16)]  # each block, once read
    released.clear()
    np.testing.assert_array_equal(restored.scores(query), saved.scores(query))  # read again
    released.clear()
    restored.pack()
    assert all(type(block).__name__ == "PackedRows" for block in restored._rows.packed)
    assert [codes.shape for codes in released] == [(4, 16), (4, 16)]  # each block, once packed
    # Packed, onnxruntime quantizes the query too: within its rounding.
    np.testing.assert_allclose(restored.scores(query), saved.scores(query), atol=0.01)
    assert len(restored) == len(saved) == 9
    assert restored.issue_ids() == saved.issue_ids()
    restored.add(9, [200], vectors[0])  # it grows on as any index
    assert restored.top_k_issues(vectors[0], 1)[0][0] == 0


def test_keeping_codes_is_for_an_empty_index_only():
    index = MatrixIndex(4, quantized=True)
    index.add(1, [1], np.ones(4, dtype=np.float32))
    with pytest.raises(ValueError):
        index.keep_codes()
    with pytest.raises(ValueError):
        index.arrays()


def test_word_indexes_restored_from_their_arrays_are_the_same():
    terms = wordindex.term_index([(1, "Staging deploys fail"), (2, "Deploys to staging stall")])
    terms.add(1, "Pin the deploy scripts", fix=True)
    terms.remove_issue(2)
    terms.add(3, "Geocoding quota exhausted")
    vocabulary = lexical.Vocabulary(["Staging deploys fail", "Geocoding quota exhausted"])

    again = wordindex.TermIndex.from_arrays(terms.arrays())
    words = lexical.Vocabulary.from_arrays(vocabulary.arrays())

    assert len(again) == len(terms) == 2
    for issue_id in (1, 2, 3):
        assert again.terms_of(issue_id) == terms.terms_of(issue_id)
        assert again.fix_only_terms_of(issue_id) == terms.fix_only_terms_of(issue_id)
    assert again.terms_of(1) == lexical.terms("Staging deploys fail. Pin the deploy scripts")
    assert again.fix_only_terms_of(1) == {"pin", "script"}
    for word in ("stag", "deploy", "pin", "stall", "geocod"):
        assert again.df(word) == terms.df(word)
    assert again.df("stall") == 0 and again.df("deploy") == 1
    assert again.best_issues(lexical.terms("staging geocoding"), 5) == [1, 3]
    assert words._words == vocabulary._words and words._postings == vocabulary._postings
    assert words.closest("stagng") == vocabulary.closest("stagng") == "staging"


def test_a_blob_holds_plain_arrays_only():
    blob = snapshot.encode({"a": np.arange(3), "b": np.ones((2, 2), np.float32)}, {"n": 1})
    arrays, meta = snapshot.decode(blob)
    assert meta == {"n": 1}
    assert arrays["a"].tolist() == [0, 1, 2] and arrays["b"].shape == (2, 2)
    with pytest.raises(ValueError):
        snapshot.encode({"objects": np.array(["a", None], dtype=object)}, {})
    with pytest.raises(ValueError):
        snapshot.decode(b"not a snapshot at all")


# --- over the database ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_snapshot_load_answers_as_a_load_from_the_rows(monkeypatch):
    organization, _, _ = _organization()
    saved = snapshot.write(organization.pk)
    assert saved is not None and saved.rows == len(TEXTS)

    cache = search.IndexCache()
    answers = _answers(cache, monkeypatch, organization)

    assert cache.snapshot_loads == 1
    expected, built = _from_rows(monkeypatch, organization)
    assert answers == expected
    assert all(answers)
    _same_index(cache.index(organization.pk), built)


@pytest.mark.django_db
def test_a_snapshot_load_applies_what_changed_after_the_snapshot(
    monkeypatch, django_capture_on_commit_callbacks
):
    organization, retro, rows = _organization()
    snapshot.write(organization.pk)
    user = factories.UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.occurrence_relink(occurrence=rows[2], issue=rows[0].issue, user=user)
        services.issue_merge(source=rows[1].issue, target=rows[3].issue, user=user)
        services.occurrence_archive(occurrence=rows[4], user=user)
    factories.embedded_occurrence(retro, "Geocoding quota exhausted by noon")
    factories.FixFactory(issue=rows[3].issue, text="Pair on reviews every morning", kind="process")

    cache = search.IndexCache()
    answers = _answers(cache, monkeypatch, organization)

    assert cache.snapshot_loads == 1
    expected, built = _from_rows(monkeypatch, organization)
    assert answers == expected
    _same_index(cache.index(organization.pk), built, changed=True)


@pytest.mark.django_db
def test_a_stale_snapshot_is_ignored(monkeypatch):
    organization, _, _ = _organization()
    snapshot.write(organization.pk)
    search.invalidate(organization.pk)  # e.g. an import, or vectors of a new model

    cache = search.IndexCache()
    cache.index(organization.pk)

    assert cache.snapshot_loads == 0 and cache.loads == 1
    MatcherSnapshot.objects.update(stamp=search._freshness(organization.pk).stamp, layout=0)
    assert snapshot.restore(organization.pk, search._freshness(organization.pk).stamp) is None


@pytest.mark.django_db
def test_an_evicted_organisation_reloads_from_its_snapshot_with_identical_suggestions(
    monkeypatch,
):
    first, _, _ = _organization("First Org")
    second, _, _ = _organization("Second Org")
    cache = search.IndexCache(budget_bytes=1)  # room for the one index in use only
    before = _answers(cache, monkeypatch, first)
    snapshot.write(first.pk)
    _answers(cache, monkeypatch, second)
    assert list(cache.indexes) == [second.pk]

    assert _answers(cache, monkeypatch, first) == before
    assert cache.snapshot_loads == 1


@pytest.mark.django_db
def test_the_status_command_writes_snapshots():
    from io import StringIO

    from django.core.management import call_command

    organization, _, _ = _organization("Snapshotted Org")
    out = StringIO()

    call_command("matcher_status", "--snapshot", stdout=out)
    call_command("matcher_status", "--load", stdout=out)

    text = out.getvalue()
    assert f"snapshot of {len(TEXTS)} rows" in text
    assert "loaded from its snapshot" in text
    assert MatcherSnapshot.objects.get(organization=organization).rows == len(TEXTS)


@pytest.mark.django_db(transaction=True)
def test_a_load_from_the_rows_has_a_snapshot_written_in_the_background(settings):
    settings.RECUR_MATCHER_SNAPSHOTS = True
    organization, _, _ = _organization()

    search.IndexCache().index(organization.pk)
    snapshot.wait(60)

    saved = MatcherSnapshot.objects.get(organization=organization)
    assert saved.rows == len(TEXTS)
    assert saved.stamp == search._freshness(organization.pk).stamp
    cache = search.IndexCache()
    cache.index(organization.pk)
    assert cache.snapshot_loads == 1


@pytest.mark.django_db(transaction=True)
def test_after_a_moved_stamp_the_old_index_answers_while_the_new_one_builds(monkeypatch):
    organization, _, _ = _organization()
    cache = search.IndexCache(background=True)
    old = cache.index(organization.pk)
    before = _answers(cache, monkeypatch, organization)
    building, release = threading.Event(), threading.Event()
    original = search.build_index

    def held_build(*args, **kwargs):
        building.set()
        assert release.wait(60), "the rebuild was never released"
        return original(*args, **kwargs)

    monkeypatch.setattr(search, "build_index", held_build)
    search.invalidate(organization.pk)

    try:
        assert cache.index(organization.pk) is old  # starts the rebuild, answers at once
        assert building.wait(60)
        # The rebuild is held: the old index answers, with the same suggestions.
        assert _answers(cache, monkeypatch, organization) == before
        assert cache.status()["rebuilding"] == 1
    finally:
        release.set()
        cache.wait_for_rebuilds(60)
        connection.close()

    new = cache.index(organization.pk)
    assert new is not old
    assert new.stamp == old.stamp + 1
    assert _answers(cache, monkeypatch, organization) == before
    assert cache.loads == 2 and cache.status()["rebuilding"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_rebuilt_index_takes_the_rows_added_while_it_was_built(monkeypatch):
    organization, retro, _ = _organization()
    cache = search.IndexCache(background=True)
    cache.index(organization.pk)
    building, release = threading.Event(), threading.Event()
    original = search.build_index

    def held_build(*args, **kwargs):
        built = original(*args, **kwargs)
        building.set()
        assert release.wait(60)
        return built

    monkeypatch.setattr(search, "build_index", held_build)
    search.invalidate(organization.pk)
    cache.index(organization.pk)
    try:
        assert building.wait(60)
        later = factories.embedded_occurrence(retro, "Geocoding quota exhausted by noon")
    finally:
        release.set()
        cache.wait_for_rebuilds(60)
        connection.close()

    assert later.issue_id in cache.index(organization.pk)
    assert cache.loads == 2


@pytest.mark.django_db
def test_a_snapshot_read_once_is_mapped_from_this_hosts_copy_afterwards(
    monkeypatch, settings, tmp_path
):
    settings.RECUR_MATCHER_SNAPSHOT_DIR = str(tmp_path / "copies")
    organization, _, _ = _organization()
    snapshot.write(organization.pk)
    stamp = search._freshness(organization.pk).stamp
    expected = _answers(search.IndexCache(), monkeypatch, organization)  # read, then copied
    (copy,) = (tmp_path / "copies").iterdir()
    saved = MatcherSnapshot.objects.get(organization=organization)
    MatcherSnapshot.objects.filter(pk=saved.pk).update(data=b"not read again")

    assert _answers(search.IndexCache(), monkeypatch, organization) == expected

    copy.write_bytes(b"damaged")  # a damaged copy: read from the database again
    MatcherSnapshot.objects.filter(pk=saved.pk).update(data=saved.data)
    assert snapshot.restore(organization.pk, stamp) is not None
    assert copy.read_bytes() == bytes(saved.data)
    snapshot.write(organization.pk)  # a newer snapshot: a copy of its own, the old one gone
    snapshot.restore(organization.pk, stamp)
    (newer,) = (tmp_path / "copies").iterdir()
    assert newer.name != copy.name


@pytest.mark.django_db
def test_preloading_loads_the_organisations_and_leaves_no_thread_working():
    organization, _, _ = _organization()
    snapshot.write(organization.pk)

    assert search.preload([organization.pk]) == len(TEXTS)

    assert organization.pk in search._indexes
    assert search.matcher_status()["snapshot_loads"] >= 1
    assert not [t for t in threading.enumerate() if t.name.startswith("recur-matcher")]


def _resident_kb_of(path) -> int | None:
    """This process's resident kB of the file at ``path`` while mapped (None: not mapped)."""
    resident, mapped, current = 0, False, ""
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and not fields[0].endswith(":"):
                current = fields[-1] if len(fields) >= 6 else ""
            elif fields[0] == "Rss:" and current == str(path):
                mapped, resident = True, resident + int(fields[1])
    return resident if mapped else None


@pytest.mark.django_db
@pytest.mark.skipif(
    not hasattr(snapshot.mmap, "MADV_DONTNEED"), reason="needs Linux's /proc and madvise"
)
def test_a_load_from_this_hosts_copy_lets_the_pages_it_read_go(monkeypatch, settings, tmp_path):
    """The words and counts are copied out of the mapped copy while it loads: its pages go at
    once, not when the last block is packed, and the arrays still read from it come back."""
    settings.RECUR_MATCHER_SNAPSHOT_DIR = str(tmp_path / "copies")
    monkeypatch.setattr(int8scan, "ROWS", 4)  # blocks of 4 rows, read from the copy until packed
    organization, _, _ = _organization()
    snapshot.write(organization.pk)
    stamp = search._freshness(organization.pk).stamp
    expected = _answers(search.IndexCache(), monkeypatch, organization)  # read, then copied
    (copy,) = (tmp_path / "copies").iterdir()

    restored = snapshot.restore(organization.pk, stamp)
    assert restored is not None and restored.matrix._rows.packed  # blocks waiting to be packed
    assert _resident_kb_of(copy) == 0  # mapped, its pages let go

    def ranked(answers):  # packed and unpacked blocks score within 0.001 of each other
        return [[(issue, reasons) for issue, _, reasons, _ in answer] for answer in answers]

    assert ranked(_answers(search.IndexCache(), monkeypatch, organization)) == ranked(expected)
