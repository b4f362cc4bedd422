"""The database cache table (throttle counters shared by every web process when there is no Redis),
made here so that `migrate` stays the only set-up step."""
from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("generation", "0006_error_codes_heartbeat_private_uploads")]
    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
