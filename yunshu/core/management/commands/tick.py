"""`yunshu tick`: run every scheduled job once (idempotent: a second run does nothing new)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yunshu.core.schedule import registered_jobs, tick


class Command(BaseCommand):
    help = "Run the scheduled jobs once (certificate expiry, ...). Safe to run again at any time."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--job", action="append", dest="jobs", help="run only this job (repeatable)"
        )
        parser.add_argument("--list", action="store_true", help="list the registered jobs")
        parser.add_argument("--json", action="store_true", help="print the outcome as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = registered_jobs()
        if options["list"]:
            for job in jobs:
                self.stdout.write(f"{job.name:<16} {job.help}")
            return
        unknown = set(options["jobs"] or []) - {job.name for job in jobs}
        if unknown:
            raise CommandError(f"unknown job(s): {', '.join(sorted(unknown))}")
        outcomes = tick(only=options["jobs"])
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "at": dt.datetime.now(dt.UTC).isoformat(),
                        "jobs": [o.__dict__ for o in outcomes],
                    },
                    ensure_ascii=False,
                )
            )
        else:
            for outcome in outcomes:
                self.stdout.write(outcome.line())
        failed = [o.name for o in outcomes if not o.ok]
        if failed:
            raise CommandError(f"failed: {', '.join(failed)}")
