"""Questionnaire and level-rule versions: files in the repository, rows in the database."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db import transaction

from yunshu.core.audit import audit_record

from . import engine
from .models import LevelRule, Questionnaire

HERE = Path(__file__).resolve().parent
QUESTIONNAIRE_DIR = HERE / "questionnaires"
RULE_DIR = HERE / "rules"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text, parse_float=engine.Decimal)
    except json.JSONDecodeError as exc:
        raise engine.QuestionnaireError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise engine.QuestionnaireError(f"{where}: the top level must be an object")
    return data


@lru_cache(maxsize=64)
def _questionnaire(sha: str, text: str) -> engine.Questionnaire:
    return engine.load_questionnaire(_parse(text, "questionnaire"))


@lru_cache(maxsize=64)
def _rule(sha: str, text: str, questionnaire_sha: str, questionnaire_text: str) -> engine.LevelRule:
    return engine.load_rule(
        _parse(text, "rule"), _questionnaire(questionnaire_sha, questionnaire_text)
    )


def engine_questionnaire(q: Questionnaire) -> engine.Questionnaire:
    """The parsed form of a stored version (cached by content, so safe across processes)."""
    return _questionnaire(q.sha256, q.definition)


def engine_rule(rule: LevelRule) -> engine.LevelRule:
    q = rule.questionnaire
    return _rule(rule.sha256, rule.definition, q.sha256, q.definition)


def active_rule(q: Questionnaire) -> LevelRule | None:
    return LevelRule.objects.filter(questionnaire=q, is_active=True).first()


def questionnaire_from_file(path: Path) -> tuple[engine.Questionnaire, str]:
    text = path.read_text(encoding="utf-8")
    return engine.load_questionnaire(_parse(text, path.name)), text


def rule_from_file(
    path: Path, questionnaire: engine.Questionnaire | None
) -> tuple[engine.LevelRule, str]:
    text = path.read_text(encoding="utf-8")
    return engine.load_rule(_parse(text, path.name), questionnaire), text


@transaction.atomic
def questionnaires_load(
    *, directory: Path = QUESTIONNAIRE_DIR, rules_directory: Path = RULE_DIR, by: Any = None
) -> list[str]:
    """Store every questionnaire and rule file not stored yet. A stored version never
    changes: a file whose key exists with other content is refused (add a new key)."""
    loaded: list[str] = []
    for path in sorted(directory.glob("*.json")):
        parsed, text = questionnaire_from_file(path)
        existing = Questionnaire.objects.filter(key=parsed.key).first()
        if existing is not None:
            if existing.sha256 != _sha(text):
                raise engine.QuestionnaireError(
                    f"{path.name}: version {parsed.key} is already stored with other content; "
                    "a changed questionnaire needs a new key"
                )
            continue
        q = Questionnaire.objects.create(
            key=parsed.key,
            kind=parsed.kind,
            title_zh=parsed.title_zh,
            title_en=parsed.title_en,
            definition=text,
            sha256=_sha(text),
        )
        audit_record(actor=by, action="questionnaire.load", obj=q, after={"sha256": q.sha256})
        loaded.append(q.key)
    for path in sorted(rules_directory.glob("*.json")) if rules_directory.exists() else []:
        text = path.read_text(encoding="utf-8")
        data = _parse(text, path.name)
        owner = Questionnaire.objects.filter(key=data.get("questionnaire")).first()
        if owner is None:
            raise engine.QuestionnaireError(
                f"{path.name}: no questionnaire {data.get('questionnaire')!r}"
            )
        parsed_rule = engine.load_rule(data, engine_questionnaire(owner))
        existing_rule = LevelRule.objects.filter(key=parsed_rule.key).first()
        if existing_rule is not None:
            if existing_rule.sha256 != _sha(text):
                raise engine.QuestionnaireError(
                    f"{path.name}: rule {parsed_rule.key} is already stored with other content"
                )
            continue
        rule = LevelRule.objects.create(
            key=parsed_rule.key,
            questionnaire=owner,
            definition=text,
            sha256=_sha(text),
            provisional=parsed_rule.provisional,
            is_active=not LevelRule.objects.filter(questionnaire=owner, is_active=True).exists(),
            created_by=by,
        )
        audit_record(actor=by, action="level_rule.load", obj=rule, after={"active": rule.is_active})
        loaded.append(rule.key)
    return loaded
