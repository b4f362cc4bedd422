"""Password-reset mail leaves in a thread of its own, after the answer.

Sending through SMTP takes a round trip or more, and only known addresses get a mail: done in the
request, the answer's timing would tell who has an account. The message is rendered in the request
(its language, its link) and only handed to the mail backend here; a failure is logged.
"""
import logging
import threading

log = logging.getLogger(__name__)
_pending: list[threading.Thread] = []
_lock = threading.Lock()


def _send(message) -> None:
    try:
        message.send()
    except Exception:  # the visitor was answered already; the log is the only place left to tell
        log.exception("A password-reset mail to %s could not be sent", ", ".join(message.to))


def send_in_background(message) -> None:
    """Send an EmailMessage without holding the request."""
    thread = threading.Thread(target=_send, args=(message,), daemon=True, name="reset-mail")
    with _lock:
        _pending[:] = [t for t in _pending if t.is_alive()] + [thread]
    thread.start()


def wait(timeout: float = 10) -> None:
    """Until the mails handed over so far are sent (tests; a graceful stop)."""
    with _lock:
        threads = list(_pending)
    for thread in threads:
        thread.join(timeout)
