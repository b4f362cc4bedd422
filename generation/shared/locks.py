"""A lock held until the end of the current transaction, for check-then-insert caps that must hold
under concurrency (several web processes, several machines)."""
import hashlib

from django.db import connection


def hold(name: str) -> None:
    """Inside `transaction.atomic()`: wait until no other transaction holds `name`; released at its end."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    elif connection.vendor != "sqlite":
        raise NotImplementedError(f"No transaction lock for {connection.vendor}; use PostgreSQL or SQLite.")
    # SQLite: the settings open every transaction with BEGIN IMMEDIATE, which takes the database's
    # write lock at once, so transactions that write are already one at a time.
