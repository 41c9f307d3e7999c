"""Test settings: the same database engine as DATABASE_URL, fast hashing, immediate tasks."""

import os

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
    # A real queue, for tests that run a worker in another process (the kill test).
    "db": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
}
# One test database per test process, so parallel runs never share one.
_run = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a worker in another process (the kill test) sees the same data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{_run}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_run}"}
AXES_ENABLED = os.environ.get("AXES_ENABLED", "1") == "1"
DEBUG = False
JOB_PROGRESS_DATABASE = os.environ.get("JOB_PROGRESS_DATABASE", "default")
