"""The django-q2 queue: hand a request's turn to the workers, and see which tasks the broker still holds."""
import logging
from generation.models import GenerationRequest

log = logging.getLogger(__name__)

TASK = "generation.worker.tasks.run_generation"


def enqueue(request) -> str:
    """Queue a turn for `request` (the worker runs the oldest waiting request; see jobs.claim_next)."""
    from django_q.tasks import async_task

    task_id = async_task(TASK, request.pk, task_name=f"generation-{request.pk}", group="generation") or ""
    GenerationRequest.objects.filter(pk=request.pk).update(task_id=task_id)
    request.task_id = task_id
    return task_id


def waiting_task_ids() -> set[str] | None:
    """Ids of the generation tasks the broker still holds (ORM: also in-flight ones); None if unknown."""
    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    broker = get_broker()
    try:
        if hasattr(broker, "connection") and hasattr(broker.connection, "lrange"):  # Redis
            payloads = broker.connection.lrange(broker.list_key, 0, -1)
        else:  # ORM: a row stays until acknowledged, and is re-delivered after its lock expires
            from django_q.models import OrmQ

            payloads = OrmQ.objects.filter(key=broker.list_key).values_list("payload", flat=True)
        return {SignedPackage.loads(payload)["id"] for payload in payloads}
    except Exception as exc:  # a broker we cannot read: assume nothing is lost
        log.warning("Cannot list the broker's tasks: %s", exc)
        return None
