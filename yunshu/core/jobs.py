from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils import timezone


def progress_database() -> str:
    """The connection a long job writes its progress through.

    On PostgreSQL a second connection, so progress shows while the job's own transaction is
    open; SQLite has one writer at a time, so there progress shows at commit.
    """
    configured = getattr(settings, "JOB_PROGRESS_DATABASE", None)
    if configured:
        return str(configured)
    return "progress" if connections["default"].vendor == "postgresql" else "default"


def reap_stale(model: Any, *, failure: str, now: dt.datetime | None = None, **extra: Any) -> int:
    """Show a running job whose heartbeat stopped (its worker died) as failed."""
    moment = now or timezone.now()
    cutoff = moment - dt.timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)
    return int(
        model.objects.filter(status="running", heartbeat_at__lt=cutoff).update(
            status="failed", finished_at=moment, failure=failure, **extra
        )
    )
