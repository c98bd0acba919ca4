"""The database cache's table (the cache when there is no ``REDIS_URL``: allauth's rate limits
and the API's throttles need one every process shares), made by ``migrate`` so the standard
deploy steps give a working site. ``createcachetable`` skips a table that exists and does
nothing when every cache is elsewhere (Redis)."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("loyalty_site", "0003_staff_models_moved")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
