"""Suggestions no longer ask PostgreSQL for the nearest occurrence texts by trigram distance:
the matcher's in-memory index gives the candidates by wording on every database, and the
GiST index over 100k texts cost 66-85 ms a keystroke. Dropping it also lightens every
insert of a raising."""

from django.db import migrations

# As 0002 created it.
TRGM_INDEX = (
    "CREATE INDEX IF NOT EXISTS occurrence_text_trgm ON retros_occurrence "
    "USING gist (organization_id, text gist_trgm_ops)"
)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS occurrence_text_trgm")


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRGM_INDEX)


class Migration(migrations.Migration):
    dependencies = [("retros", "0003_occurrence_team_issue_live")]

    operations = [migrations.RunPython(drop, restore)]
