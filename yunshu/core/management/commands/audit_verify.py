from typing import Any

from django.core.management.base import BaseCommand, CommandError

from yunshu.core.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exits non-zero and names the first bad entry."

    def handle(self, *args: Any, **options: Any) -> None:
        count, problem = audit_verify()
        if problem is not None:
            raise CommandError(f"audit chain broken at entry #{problem.seq}: {problem.reason}")
        self.stdout.write(f"audit chain intact: {count} entries verified")
