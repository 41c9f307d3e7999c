from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from yunshu.assessments.definitions import QUESTIONNAIRE_DIR, RULE_DIR, questionnaires_load
from yunshu.assessments.engine import QuestionnaireError


class Command(BaseCommand):
    help = "Store questionnaire and level-rule files that are not stored yet (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dir", type=Path, default=QUESTIONNAIRE_DIR)
        parser.add_argument("--rules-dir", type=Path, default=RULE_DIR)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            loaded = questionnaires_load(
                directory=options["dir"], rules_directory=options["rules_dir"]
            )
        except QuestionnaireError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"loaded: {', '.join(loaded)}" if loaded else "all versions already stored"
        )
