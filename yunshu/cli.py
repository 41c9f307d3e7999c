"""`yunshu`: the project's command. Each subcommand is a Django management command."""

from __future__ import annotations

import os
import sys

# Subcommand → (management command, one-line help).
COMMANDS = {
    "import-enterprises": ("import_enterprises", "import an enterprise list (.xlsx/.csv)"),
    "audit-verify": ("audit_verify", "verify the audit log's hash chain"),
    "assessment-score": ("assessment_score", "score an answer file (maturity-2024, security-2024)"),
    "load-questionnaires": ("load_questionnaires", "store new questionnaire and rule versions"),
    "demo": ("demo", "build the deterministic demo world (--scale small|city|N)"),
    "recommend": (
        "recommend",
        "ranked products for one enterprise (--enterprise USCC --top 10 --json)",
    ),
    "match-all": ("match_all", "recommendations for every enterprise, stored as one run"),
    "tick": ("tick", "run the scheduled jobs once (certificate expiry, ...)"),
    "scheduler": ("scheduler", "run the scheduled jobs every few minutes (started by make run)"),
    "bench": ("bench", "run the benchmark suite (--quick, --json PATH)"),
    "serve": ("runserver", "serve the site (development server)"),
    "worker": ("db_worker", "run the background job worker"),
    "manage": (None, "any Django management command: yunshu manage migrate ..."),
}


def usage() -> str:
    lines = ["usage: yunshu <command> [options]", "", "commands:"]
    lines += [f"  {name:<20} {help_}" for name, (_cmd, help_) in COMMANDS.items()]
    lines += ["", "`yunshu <command> --help` shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"yunshu: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        sys.exit(2)
    command = COMMANDS[name][0]
    from django.core.management import execute_from_command_line

    if command is None:
        execute_from_command_line(["yunshu manage", *rest])
    else:
        execute_from_command_line([f"yunshu {name}", command, *rest])


if __name__ == "__main__":
    main()
