import pytest
from django.core.management import call_command

from matching import embedding
from retros.models import Occurrence
from tests.factories import OccurrenceFactory

pytestmark = pytest.mark.django_db


def test_embed_all_fills_missing_and_stale_vectors_only(capsys):
    fresh = OccurrenceFactory(text="Staging was down")
    stale = OccurrenceFactory(
        text="Builds are slow", embedding=b"\x00" * 1536, embedding_model="old-model@0"
    )
    missing = OccurrenceFactory(text="Nobody owns the release")
    Occurrence.objects.filter(pk=fresh.pk).update(
        embedding=embedding.to_bytes(embedding.encode_one(fresh.text)),
        embedding_model=embedding.MODEL_ID,
    )
    call_command("embed_all")
    output = capsys.readouterr().out
    assert sum(int(line.split(": ")[1].split()[0]) for line in output.splitlines()) == 2
    for occurrence in Occurrence.objects.filter(pk__in=[stale.pk, missing.pk]):
        assert occurrence.embedding_model == embedding.MODEL_ID
        vector = embedding.from_bytes(bytes(occurrence.embedding))
        assert vector.shape == (embedding.DIMENSION,)
        assert abs(float(vector @ embedding.encode_one(occurrence.text)) - 1) < 1e-4
