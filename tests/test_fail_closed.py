"""Fail closed: DEBUG is off unless asked for, and then the site refuses to start without a real SECRET_KEY."""
import os
import subprocess
import sys

import pytest

from tests.worker import ROOT

PRINT_DEBUG = "from django.conf import settings; print('DEBUG', settings.DEBUG)"


def run_settings(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    clean.update(DJANGO_SETTINGS_MODULE="avatarsite.settings", **env)
    return subprocess.run([sys.executable, "manage.py", "shell", "-c", PRINT_DEBUG], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=60)


def test_default_is_production_and_refuses_to_start_without_a_secret_key():
    result = run_settings()
    assert result.returncode != 0 and "Set SECRET_KEY" in result.stderr


@pytest.mark.parametrize("key", ["short", "dev-only-insecure-key-do-not-use-in-production",
                                 "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz"])
def test_weak_or_known_keys_are_refused(key):
    assert run_settings(SECRET_KEY=key).returncode != 0


def test_a_real_key_starts_with_debug_off():
    result = run_settings(SECRET_KEY="x7Kq2-" * 9)
    assert result.returncode == 0, result.stderr
    assert "DEBUG False" in result.stdout


def test_debug_on_allows_the_dev_key():
    result = run_settings(DEBUG="1")
    assert result.returncode == 0 and "DEBUG True" in result.stdout
