"""Look into and tamper with the django-q2 broker the suite runs on (ORM by default, Redis in CI's 2nd pass)."""
from django_q.brokers import get_broker
from django_q.signing import SignedPackage

from generation.queue import waiting_task_ids


def task_ids() -> set[str]:
    """Ids of the tasks the broker holds now."""
    ids = waiting_task_ids()
    assert ids is not None, "the broker could not be read"
    return ids


def drop(task_id: str) -> None:
    """Take one task out of the broker, as a worker that died after taking it would have."""
    broker = get_broker()
    if hasattr(broker.connection, "lrange"):  # Redis
        for payload in broker.connection.lrange(broker.list_key, 0, -1):
            if SignedPackage.loads(payload)["id"] == task_id:
                broker.connection.lrem(broker.list_key, 0, payload)
    else:
        from django_q.models import OrmQ

        OrmQ.objects.filter(pk__in=[q.pk for q in OrmQ.objects.all() if q.task_id() == task_id]).delete()


def purge() -> None:
    """Empty the queue (Redis keeps it between tests; the ORM queue is rolled back with the test)."""
    get_broker().purge_queue()
