import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from yunshu.enterprises.importer import import_enterprises


class Command(BaseCommand):
    help = (
        "Import an enterprise list (.xlsx or .csv) as officials write it. All-or-nothing unless "
        "--skip-invalid. Exit code 0 when no row is invalid, 1 otherwise."
    )
    # A data command: the system checks (run by the server and `make lint`) would add half a
    # second of loading every view to each import.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and count, write nothing"
        )
        parser.add_argument("--skip-invalid", action="store_true", help="write the valid rows only")
        parser.add_argument("--report", metavar="PATH.json", help="write the full report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.exists():
            raise CommandError(f"no such file: {path}")

        def progress(phase: str, done: int, total: int) -> None:
            if options["verbosity"] > 1:
                self.stderr.write(f"{phase} {done}/{total}")

        report, _rejected = import_enterprises(
            path,
            skip_invalid=options["skip_invalid"],
            dry_run=options["dry_run"],
            progress=progress,
        )
        data = report.as_dict()
        if options["report"]:
            Path(options["report"]).write_text(
                json.dumps(data, ensure_ascii=False, indent=2), "utf-8"
            )
        for message in report.file_errors:
            self.stderr.write(f"file: {message}")
        for e in report.errors[:50]:
            self.stderr.write(f"row {e.row}, {e.column}: {e.message} [{e.code}]")
        if len(report.errors) > 50:
            self.stderr.write(f"... and {len(report.errors) - 50} more errors (see --report)")
        state = (
            "written"
            if report.written
            else ("dry run, nothing written" if options["dry_run"] else "nothing written")
        )
        self.stdout.write(
            f"rows {report.rows_total}: valid {report.rows_valid}, invalid {report.rows_invalid}; "
            f"created {report.created}, updated {report.updated}, "
            f"unchanged {report.unchanged} ({state})"
        )
        if report.rows_invalid or report.file_errors:
            sys.exit(1)
