"""`yunshu scheduler`: run the scheduled jobs every SCHEDULER_INTERVAL seconds (default 300).

The jobs run in this process rather than as queued tasks: each tick is short and idempotent,
so there is nothing to gain from the queue, and a stopped or slow worker cannot pile up a
backlog of identical ticks that would all run at once when it comes back. Several
schedulers (one per app server) may run side by side: every job decides from the data what
is due and claims its work with conditional updates, so nothing is done twice.
"""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from yunshu.core.schedule import Outcome, interval_seconds, run_forever


class Command(BaseCommand):
    help = "Run the scheduled jobs in a loop (started next to the worker by `make run`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=int,
            default=None,
            help="seconds between ticks (default: settings.SCHEDULER_INTERVAL, 300)",
        )
        parser.add_argument("--ticks", type=int, default=None, help="stop after this many ticks")

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = {"now": False}

        def stop(signum: int, _frame: Any) -> None:
            stopping["now"] = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        every = options["interval"] or interval_seconds()
        self.stdout.write(f"scheduler: running the scheduled jobs every {every}s")

        def report(outcomes: list[Outcome]) -> None:
            stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
            for outcome in outcomes:
                stream = self.stdout if outcome.ok else self.stderr
                stream.write(f"[{stamp}] {outcome.line()}")
            self.stdout.flush()

        try:
            run_forever(
                interval=every,
                max_ticks=options["ticks"],
                report=report,
                stop=lambda: stopping["now"],
            )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("scheduler: stopped")
