"""Errors become codes (users see a translated message per code; the old text stays as staff detail),
jobs get a heartbeat, uploads get server-chosen names and their validated format, videos a poster,
synchronous waits are counted; the one-minute reaper schedule gives way to the workers' watchdog."""
import django.db.models.deletion
import generation.uploads
from django.conf import settings
from django.db import migrations, models


def codes_from_old_messages(apps, schema_editor):
    Request = apps.get_model("generation", "GenerationRequest")
    Request.objects.filter(status="cancelled").update(error_code="cancelled")
    failed = Request.objects.filter(status="failed")
    failed.filter(error_detail__contains="worker stopped").update(error_code="worker_lost")
    failed.filter(error_code="").update(error_code="pipeline_failed")


def drop_reaper_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="reap-stale-generations").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("generation", "0005_i18n_labels"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField(model_name="generationrequest", old_name="error", new_name="error_detail"),
        migrations.AlterField(
            model_name="generationrequest",
            name="error_detail",
            field=models.TextField(blank=True, help_text="for staff and logs only: may name files or hosts"),
        ),
        migrations.AddField(
            model_name="generationrequest",
            name="error_code",
            field=models.CharField(blank=True, help_text="what users are told (see generation.errors)", max_length=40),
        ),
        migrations.RunPython(codes_from_old_messages, migrations.RunPython.noop),
        migrations.AddField(
            model_name="generationrequest",
            name="audio_format",
            field=models.CharField(blank=True, help_text="the demuxer validation detected", max_length=40),
        ),
        migrations.AddField(
            model_name="generationrequest",
            name="audio_sha256",
            field=models.CharField(blank=True, help_text="of the bytes validation accepted", max_length=64),
        ),
        migrations.AddField(
            model_name="generationrequest",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, help_text="last sign of life of the worker running it", null=True),
        ),
        migrations.AddField(
            model_name="video",
            name="poster",
            field=models.FileField(blank=True, help_text="JPEG of the first frame", upload_to="videos/%Y/%m/"),
        ),
        migrations.AlterField(
            model_name="generationrequest",
            name="audio",
            field=models.FileField(blank=True, help_text="the user's own recording, spoken instead of synthesized text",
                                   upload_to=generation.uploads.audio_upload_to),
        ),
        migrations.CreateModel(
            name="SyncWait",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("started_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("owner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                            to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.RunPython(drop_reaper_schedule, migrations.RunPython.noop),
    ]
