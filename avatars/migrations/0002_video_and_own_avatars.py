"""Avatars become a photo or a video, shared (staff's) or a user's own, and are prepared in the worker:
status, progress, the reason of a failure, notes, a preview and (video) per-frame files."""
import django.db.models.deletion
import generation.uploads
from django.conf import settings
from django.db import migrations, models


def existing_photos_are_ready(apps, schema_editor):
    Avatar = apps.get_model("avatars", "Avatar")
    Avatar.objects.filter(face_box__isnull=False).update(status="ready", progress=100)
    Avatar.objects.filter(face_box__isnull=True).update(status="failed", error_code="face_not_found")


class Migration(migrations.Migration):

    dependencies = [
        ("avatars", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField("avatar", "image", "source"),
        migrations.AlterField(
            model_name="avatar", name="source",
            field=models.FileField(help_text="the photo or video as uploaded",
                                   upload_to=generation.uploads.avatar_upload_to),
        ),
        migrations.RenameField("avatar", "image_width", "width"),
        migrations.RenameField("avatar", "image_height", "height"),
        migrations.RenameField("avatar", "analysed_at", "prepared_at"),
        migrations.AddField(
            model_name="avatar", name="kind",
            field=models.CharField(choices=[("photo", "Photo"), ("video", "Video")], default="photo", max_length=5),
        ),
        migrations.AddField(
            model_name="avatar", name="owner",
            field=models.ForeignKey(blank=True, help_text="empty: shared with every user (managed by staff)",
                                    null=True, on_delete=django.db.models.deletion.CASCADE, related_name="avatars",
                                    to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name="avatar", name="status",
            field=models.CharField(choices=[("preparing", "Preparing"), ("ready", "Ready"), ("failed", "Failed")],
                                   db_index=True, default="preparing", max_length=10),
        ),
        migrations.AddField(model_name="avatar", name="progress", field=models.PositiveSmallIntegerField(default=0)),
        migrations.AddField(model_name="avatar", name="error_code",
                            field=models.CharField(blank=True, max_length=40)),
        migrations.AddField(model_name="avatar", name="error_params", field=models.JSONField(blank=True, default=dict)),
        migrations.AddField(model_name="avatar", name="error_detail",
                            field=models.TextField(blank=True, help_text="for staff and logs only")),
        migrations.AddField(model_name="avatar", name="notes",
                            field=models.JSONField(blank=True, default=list,
                                                   help_text="what preparation dropped or noticed")),
        migrations.AddField(model_name="avatar", name="task_id", field=models.CharField(blank=True, max_length=64)),
        migrations.AddField(model_name="avatar", name="duration",
                            field=models.FloatField(blank=True, editable=False, help_text="seconds of usable video",
                                                    null=True)),
        migrations.AddField(model_name="avatar", name="frame_count",
                            field=models.PositiveIntegerField(blank=True, editable=False, null=True)),
        migrations.AddField(model_name="avatar", name="preview",
                            field=models.FileField(blank=True, editable=False,
                                                   help_text="first frame with the face box and landmarks",
                                                   upload_to="avatars/prepared/")),
        migrations.AddField(model_name="avatar", name="clip_data",
                            field=models.FileField(blank=True, editable=False,
                                                   help_text="per-frame landmarks and boxes (.npz)",
                                                   upload_to="avatars/prepared/")),
        migrations.AddField(model_name="avatar", name="clip_frames",
                            field=models.FileField(blank=True, editable=False,
                                                   help_text="the prepared frames (JPEGs, random access)",
                                                   upload_to="avatars/prepared/")),
        migrations.RunPython(existing_photos_are_ready, migrations.RunPython.noop),
    ]
