"""Create the database cache table (CACHE_URL=db://..., the default) as part of migrate.

The rate limits live in the cache; with the database as the cache they are shared by
every process, and `manage.py migrate` stays the only set-up step.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("listening", "0005_order_by_key_columns")]

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
