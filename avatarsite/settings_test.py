"""The test suite's settings: the production settings with DEBUG on.

Set in the environment (not only here) because tests start real workers and servers as subprocesses,
which inherit it.
"""
import os

os.environ.setdefault("DEBUG", "1")
# A fixed key, long enough for production mode too: a test may start the site with DEBUG off
# (tests/server.py) and it must read the sessions this process signs.
os.environ.setdefault("SECRET_KEY", "test-suite-only-key-0123456789-abcdefghijklmnopqrstuvwxyz")

from avatarsite.settings import *  # noqa: E402,F401,F403

# Hashing passwords at full strength makes every login in the tests take ~0.3 s; the lockout tests log
# in dozens of times. The algorithm is not what they test.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
