"""Scheduled jobs: a small registry, run once by `yunshu tick` and repeatedly by `yunshu scheduler`.

A job is a function `job(today: date) -> dict[str, int] | object with as_dict()` that is
idempotent and decides from the data what is due (never from "when did I last run"), so
running it twice, late, or from two schedulers at once does no harm.

The registry is a list of dotted paths, so apps need no start-up hook to add a job; the
setting SCHEDULED_JOBS (same shape) replaces it for a deployment.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django.utils.module_loading import import_string

log = logging.getLogger("yunshu.schedule")

# (name, dotted path of the job function, one line on what it does)
JOBS: list[tuple[str, str, str]] = [
    (
        "certificates",
        "yunshu.providers.vetting.certificates_tick",
        "warn 30 days before a certificate expires; hide and restore products for lapsed "
        "mandatory certificates; refresh trust ratings after expiries",
    ),
    (
        "trust",
        "yunshu.providers.trust.trust_tick",
        "once a day (later ticks that day do nothing): refresh trust ratings; resolved "
        "incidents age out after 12 months",
    ),
]


@dataclass(frozen=True)
class Job:
    name: str
    path: str
    help: str

    def load(self) -> Callable[[dt.date], Any]:
        return import_string(self.path)  # type: ignore[no-any-return]


@dataclass
class Outcome:
    name: str
    ok: bool
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    error: str = ""

    def line(self) -> str:
        if not self.ok:
            return f"{self.name}: FAILED after {self.seconds:.2f}s: {self.error}"
        parts = ", ".join(f"{k}={v}" for k, v in self.counts.items()) or "nothing to do"
        return f"{self.name}: {parts} ({self.seconds:.2f}s)"


def registered_jobs() -> list[Job]:
    rows = getattr(settings, "SCHEDULED_JOBS", None) or JOBS
    return [Job(name, path, help_) for name, path, help_ in rows]


def interval_seconds() -> int:
    return max(1, int(getattr(settings, "SCHEDULER_INTERVAL", 300)))


def _counts(value: Any) -> dict[str, int]:
    if value is None:
        return {}
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if isinstance(value, dict):
        return {str(k): int(v) for k, v in value.items()}
    return {"result": int(value)}


def tick(*, today: dt.date | None = None, only: list[str] | None = None) -> list[Outcome]:
    """Run every registered job once. One job failing does not stop the others."""
    today = today or timezone.localdate()
    outcomes: list[Outcome] = []
    for job in registered_jobs():
        if only and job.name not in only:
            continue
        started = time.monotonic()
        try:
            counts = _counts(job.load()(today))
        except Exception as exc:  # a job's failure is reported, the next job still runs
            log.exception("scheduled job %s failed", job.name)
            outcomes.append(
                Outcome(job.name, False, time.monotonic() - started, error=repr(exc)[:500])
            )
        else:
            outcomes.append(Outcome(job.name, True, time.monotonic() - started, counts))
    return outcomes


def run_forever(
    *,
    interval: int | None = None,
    max_ticks: int | None = None,
    report: Callable[[list[Outcome]], None] | None = None,
    stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Tick, then wait `interval` seconds, until stopped. Returns the number of ticks run."""
    every = interval or interval_seconds()
    ticks = 0
    while not stop():
        close_old_connections()  # a database restart between ticks must not kill the loop
        outcomes = tick()
        close_old_connections()
        ticks += 1
        if report is not None:
            report(outcomes)
        if max_ticks is not None and ticks >= max_ticks:
            break
        deadline = time.monotonic() + every
        while not stop() and time.monotonic() < deadline:
            sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    return ticks
