from django.db import migrations, models

from retros.db_rules import install_sqlite_rules, remove_sqlite_rules


class Migration(migrations.Migration):
    dependencies = [
        ("retros", "0015_live_board"),
    ]

    # SQLite rebuilds retros_retrospective to add the column: the other tables' triggers
    # that read it are removed first and installed again after.
    operations = [
        migrations.RunPython(remove_sqlite_rules, install_sqlite_rules),
        migrations.AddField(
            model_name="retrospective",
            name="members_group",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(install_sqlite_rules, remove_sqlite_rules),
    ]
