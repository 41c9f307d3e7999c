"""`yunshu match-all`: recommendations for every enterprise, stored as one run (synchronously)."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand

from yunshu.matching import recommend, scoring
from yunshu.matching.models import MatchRun


class Command(BaseCommand):
    help = (
        "Rank the catalogue for every enterprise and store the top N of each as one run "
        "(the newest succeeded run replaces the previous one). Exit code 1 when it fails or "
        "another run is in progress."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--top", type=int, default=scoring.DEFAULT_TOP, help="per enterprise")

    def handle(self, *args: Any, **options: Any) -> None:
        run = recommend.match_run_start(by=None, top_n=options["top"], enqueue=False)
        if run.status == MatchRun.Status.RUNNING:
            self.stderr.write(f"run #{run.pk} is already running; not starting another")
            sys.exit(1)
        t0 = time.perf_counter()
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            if now - last[0] >= 0.5 or done == total:
                last[0] = now
                self.stderr.write(
                    f"\rrun #{run.pk}: {done:,} / {total:,} enterprises ({now - t0:.1f} s)",
                    ending="",
                )

        try:
            run = recommend.match_run_execute(run.pk, on_progress=progress)
        except Exception as exc:
            self.stderr.write(f"\nrun #{run.pk} failed: {exc}")
            sys.exit(1)
        self.stderr.write("")
        if run.status != MatchRun.Status.SUCCEEDED:
            self.stderr.write(f"run #{run.pk} is {run.status}")
            sys.exit(1)
        self.stdout.write(
            f"run #{run.pk} succeeded: {run.enterprises_total:,} enterprises, {run.rows:,} rows, "
            f"{run.seconds:.1f} s, catalogue version {run.catalogue_version}"
        )
