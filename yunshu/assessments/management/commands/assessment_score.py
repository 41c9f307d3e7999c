import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from yunshu.assessments import engine
from yunshu.assessments.definitions import (
    QUESTIONNAIRE_DIR,
    RULE_DIR,
    questionnaire_from_file,
    rule_from_file,
)


class Command(BaseCommand):
    help = (
        "Score an answer file with the same engine as the web and print the result as JSON. "
        "Needs no database: questionnaires and rules are read from their files."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("answers", type=Path, help="answer file (docs/questionnaires.md)")
        parser.add_argument(
            "--questionnaire", required=True, help="e.g. maturity-2024, security-2024"
        )
        parser.add_argument(
            "--dir", type=Path, default=QUESTIONNAIRE_DIR, help="questionnaire folder"
        )
        parser.add_argument(
            "--rule", type=Path, help="level rule file (default: <key>-default.json)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        key = options["questionnaire"]
        path = options["dir"] / f"{key}.json"
        if not path.exists():
            raise CommandError(f"no questionnaire {key!r} in {options['dir']}")
        try:
            questionnaire, _text = questionnaire_from_file(path)
            data = json.loads(Path(options["answers"]).read_text(encoding="utf-8"))
            if data.get("questionnaire") not in (None, key):
                raise CommandError(f"the answers are for {data['questionnaire']}, not {key}")
            answers = data.get("answers", {})
            if questionnaire.kind == "security":
                result = engine.score_security(questionnaire, answers).as_dict()
            else:
                rule_path = options["rule"] or RULE_DIR / f"{key}-default.json"
                if not rule_path.exists():
                    raise CommandError(f"no level rule file {rule_path}")
                rule, _ = rule_from_file(rule_path, questionnaire)
                result = engine.score_maturity(
                    questionnaire, rule, answers, data.get("scenes", {})
                ).as_dict()
        except (engine.QuestionnaireError, engine.AnswerError, json.JSONDecodeError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
