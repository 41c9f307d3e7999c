"""Demo assessments: plausible answers for a share of the demo enterprises, scored by the
real engine and written in bulk (one audit entry per batch, naming its size and seed)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from yunshu.accounts.models import Organisation, Role
from yunshu.core.audit import audit_record_many
from yunshu.core.bulk import analyze, bulk_insert
from yunshu.enterprises.models import Enterprise

from . import engine
from .definitions import active_rule, engine_questionnaire, engine_rule
from .models import Assessment, AssessmentResult, Questionnaire
from .services import DERIVED_KEYS

SIZE_SKILL = {"large": 0.75, "medium": 0.6, "small": 0.4, "micro": 0.25, "unknown": 0.3}


def _answer(item: engine.Item, skill: float, rng: random.Random) -> Any:
    if item.type == "single":
        ordered = sorted(item.options, key=lambda o: o.points)
        ordered = [o for o in ordered if not o.na] or ordered
        index = min(len(ordered) - 1, max(0, round(rng.gauss(skill, 0.2) * (len(ordered) - 1))))
        return ordered[index].key
    if item.type == "multi":
        return [o.key for o in item.options if rng.random() < skill]
    if item.type == "band":
        top = 100 if item.unit == "%" else float(item.bands[-1].min) * 1.5
        low = float(item.bands[0].min)
        if item.key == "pass_rate":
            low = 70
        return round(
            min(top, max(low, rng.gauss(low + skill * (top - low), (top - low) * 0.15))), 1
        )
    first, second = (str(i["key"]) for i in item.inputs)
    if item.formula == "change_percent":
        previous = round(rng.uniform(20, 80), 1)
        return {first: round(previous * (1 + rng.gauss(skill * 0.1, 0.06)), 1), second: previous}
    base = round(rng.uniform(500, 20000), 1)
    return {first: round(base * max(0.0, rng.gauss(skill * 0.04, 0.01)), 2), second: base}


def demo_answers(
    q: engine.Questionnaire, skill: float, rng: random.Random
) -> tuple[dict[str, Any], dict[str, Any]]:
    answers = {i.key: _answer(i, skill, rng) for i in q.items}
    scenes: dict[str, Any] = {}
    for s in q.scenes:
        if not s.mandatory and rng.random() < 0.08:
            scenes[s.key] = "na"
        else:
            scenes[s.key] = max(0, min(4, round(rng.gauss(skill * 4, 0.8))))
    return answers, scenes


@transaction.atomic
def generate_assessments(
    count: int,
    *,
    seed: int = 2026,
    batch: int = 2000,
    kinds: tuple[str, ...] = ("maturity", "security"),
) -> int:
    """Submitted self-assessments (by default maturity and security) for `count` enterprises."""
    rng = random.Random(seed)
    maturity = Questionnaire.objects.get(key="maturity-2024")
    security = Questionnaire.objects.get(key="security-2024")
    qm, qs = engine_questionnaire(maturity), engine_questionnaire(security)
    rule = active_rule(maturity)
    assert rule is not None
    parsed_rule = engine_rule(rule)
    ids = list(Enterprise.objects.order_by("id").values_list("id", "size_class"))
    picked = rng.sample(ids, min(count, len(ids)))
    # A self-assessment belongs to the enterprise's own organisation; demo enterprises that
    # have none get one (with no users), as a firm that registered and assessed would.
    has_org = set(
        Organisation.objects.filter(enterprise_id__in=[pk for pk, _size in picked]).values_list(
            "enterprise_id", flat=True
        )
    )
    new_orgs = [
        Organisation(kind=Role.ENTERPRISE, name=name, uscc=code, enterprise_id=pk)
        for pk, name, code in Enterprise.objects.filter(
            pk__in=[pk for pk, _size in picked if pk not in has_org]
        ).values_list("pk", "name", "uscc")
    ]
    bulk_insert(Organisation, new_orgs)
    orgs = dict(
        Organisation.objects.filter(enterprise_id__in=[pk for pk, _size in picked]).values_list(
            "enterprise_id", "id"
        )
    )
    now = timezone.now()
    made = 0
    for start in range(0, len(picked), batch):
        chunk = picked[start : start + batch]
        assessments: list[Assessment] = []
        computed: list[tuple[dict[str, Any], Questionnaire]] = []
        for enterprise_id, size in chunk:
            skill = min(0.95, max(0.05, rng.gauss(SIZE_SKILL.get(size, 0.3), 0.15)))
            when = now - dt.timedelta(days=rng.randint(1, 300))
            for q, engine_q in ((maturity, qm), (security, qs)):
                if q.kind not in kinds:
                    continue
                if engine_q.kind == "maturity":
                    answers, scenes = demo_answers(engine_q, skill, rng)
                    result = engine.score_maturity(engine_q, parsed_rule, answers, scenes).as_dict()
                    result = {k: v for k, v in result.items() if k not in DERIVED_KEYS}
                else:
                    answers = {
                        i.key: ("yes" if rng.random() < skill else rng.choice(["partial", "no"]))
                        for i in engine_q.items
                    }
                    scenes = {}
                    result = engine.score_security(engine_q, answers).as_dict()
                assessments.append(
                    Assessment(
                        enterprise_id=enterprise_id,
                        questionnaire=q,
                        source=Assessment.Source.SELF,
                        status=Assessment.Status.SUBMITTED,
                        answers=answers,
                        scenes=scenes,
                        organisation_id=orgs[enterprise_id],
                        created_at=when,
                        updated_at=when,
                        submitted_at=when,
                    )
                )
                computed.append((result, q))
        bulk_insert(Assessment, assessments)
        bulk_insert(
            AssessmentResult,
            [
                AssessmentResult(
                    assessment=a,
                    version=1,
                    rule=rule if q.kind == "maturity" else None,
                    computed=result,
                    level=result.get("level"),
                    total=Decimal(str(result.get("total", result.get("score")))),
                    risk_grade=result.get("risk_grade", ""),
                )
                for a, (result, q) in zip(assessments, computed, strict=True)
            ],
        )
        audit_record_many(
            actor=None,
            entries=[
                {
                    "action": "demo.generate_assessments",
                    "object_type": "assessments.assessment",
                    "object_id": f"{assessments[0].pk}..{assessments[-1].pk}",
                    "object_label": f"{len(assessments)} assessments",
                    "after": {"batch_size": len(assessments), "seed": seed},
                }
            ],
        )
        made += len(assessments)
    analyze(Assessment, AssessmentResult, Organisation)
    return made
