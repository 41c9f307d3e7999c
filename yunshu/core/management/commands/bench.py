import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the benchmark suite (bench/) on the DATABASE_URL database and write JSON."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--quick", action="store_true", help="smaller scale, about 2 minutes")
        parser.add_argument("--json", dest="json_path", help="write the results to this file")
        parser.add_argument("--only", action="append", help="run only this benchmark (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        # bench/ lives next to the package in the repository, not inside it.
        sys.path.insert(0, str(Path(settings.BASE_DIR)))
        from bench.suite import run

        path = Path(options["json_path"]) if options["json_path"] else None
        result = run(quick=options["quick"], json_path=path, only=options["only"])
        if path is None:
            import json

            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
