from typing import Any

from django.core.management.base import BaseCommand, CommandError

from yunshu.core.demo import DEMO_PASSWORD, SCALES, build_demo_world, demo_users
from yunshu.enterprises.models import Enterprise


def scale_arg(value: str) -> str | int:
    if value in SCALES:
        return value
    try:
        n = int(value)
    except ValueError:
        raise CommandError(f"--scale must be one of {', '.join(SCALES)} or a number") from None
    if n < 1:
        raise CommandError("--scale must be positive")
    return n


class Command(BaseCommand):
    help = "Build the seeded demo world: enterprises in every town and cluster, a user per role."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--scale", default="small", help="small (2,000), city (200,000) or a number"
        )
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if enterprises exist"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Enterprise.objects.exists():
            self.stdout.write("demo world already present; nothing to do")
            users = demo_users()
        else:
            made, users = build_demo_world(scale=scale_arg(options["scale"]), seed=options["seed"])
            self.stdout.write(f"created {made} enterprises (seed {options['seed']})")
        if users:
            self.stdout.write(f"demo logins (password for all: {DEMO_PASSWORD}):")
        for u in users:
            self.stdout.write(f"  {u.username:<11} {u.role:<8} {u.organisation}")
