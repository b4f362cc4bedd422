# The task functions moved from generation/tasks.py to generation/worker/tasks.py (docs/architecture.md
# §1): django-q2's Schedule rows name them by dotted path. generation/tasks.py stays as an alias for
# tasks a broker still holds under the old name.
from django.db import migrations

OLD, NEW = "generation.tasks.", "generation.worker.tasks."


def rename(apps, old: str, new: str) -> None:
    Schedule = apps.get_model("django_q", "Schedule")
    for schedule in Schedule.objects.filter(func__startswith=old):
        Schedule.objects.filter(pk=schedule.pk).update(func=new + schedule.func[len(old):])


def forward(apps, schema_editor):
    rename(apps, OLD, NEW)


def backward(apps, schema_editor):
    rename(apps, NEW, OLD)


class Migration(migrations.Migration):

    dependencies = [
        ('generation', '0016_rate'),
        ('django_q', '0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more'),
    ]

    operations = [migrations.RunPython(forward, backward)]
