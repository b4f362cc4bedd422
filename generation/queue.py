"""What the django-q2 broker still holds, so lost tasks can be told from waiting ones."""
import logging

log = logging.getLogger(__name__)


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
