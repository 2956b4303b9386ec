"""Database-level integrity rules (retros.db_rules) and, on PostgreSQL, the trigram index
behind recurrence suggestions."""

from django.db import migrations

from retros.db_rules import install_sql, remove_sql

# Suggestions while typing: the nearest occurrence texts of one organisation by trigram
# distance (`text <-> query` ordered, GiST supports nearest-neighbour ordering; btree_gist
# lets organization_id share the index).
TRGM_INDEX = (
    "CREATE INDEX IF NOT EXISTS occurrence_text_trgm ON retros_occurrence "
    "USING gist (organization_id, text gist_trgm_ops)"
)


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        schema_editor.execute(TRGM_INDEX)
    for statement in install_sql(vendor):
        schema_editor.execute(statement)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in remove_sql(vendor):
        schema_editor.execute(statement)
    if vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS occurrence_text_trgm")


class Migration(migrations.Migration):
    dependencies = [("retros", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
