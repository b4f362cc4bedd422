"""Waiting for a page condition under the site's Content-Security-Policy.

Playwright's `page.wait_for_function` polls through a function built from a string inside the page,
which the pages' CSP (script-src 'self', no 'unsafe-eval') refuses. `page.evaluate` runs through the
DevTools protocol, which the CSP does not govern, so a poll from Python checks the same condition.
"""
import time

POLL_SECONDS = 0.1


def wait_until(page, expression: str, timeout: int = 30_000) -> None:
    """Poll `expression` (JavaScript) in the page until it is truthy; TimeoutError after `timeout` ms."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{expression!r} still false after {timeout} ms")
        time.sleep(POLL_SECONDS)
