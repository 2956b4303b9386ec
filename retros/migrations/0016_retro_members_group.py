from django.db import migrations, models

from retros.db_rules import install_sql, remove_sql


def remove_sqlite_rules(apps, schema_editor):
    """SQLite rebuilds retros_retrospective to add the column; the other tables' triggers
    that read it would fail while it is renamed: they are removed first."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in remove_sql(vendor):
            schema_editor.execute(statement)


def install_sqlite_rules(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in remove_sql(vendor) + install_sql(vendor):
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("retros", "0015_live_board"),
    ]

    operations = [
        migrations.RunPython(remove_sqlite_rules, install_sqlite_rules),
        migrations.AddField(
            model_name="retrospective",
            name="members_group",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(install_sqlite_rules, remove_sqlite_rules),
    ]
