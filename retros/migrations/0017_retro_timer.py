from django.db import migrations, models

from retros.db_rules import install_sqlite_rules, remove_sqlite_rules


class Migration(migrations.Migration):
    dependencies = [
        ("retros", "0016_retro_members_group"),
    ]

    # SQLite rebuilds retros_retrospective to add the column: the other tables' triggers
    # that read it are removed first and installed again after.
    operations = [
        migrations.RunPython(remove_sqlite_rules, install_sqlite_rules),
        migrations.AddField(
            model_name="retrospective",
            name="timer_ends_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(install_sqlite_rules, remove_sqlite_rules),
    ]
