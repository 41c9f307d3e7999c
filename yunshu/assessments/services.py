"""Every write to assessments: one transaction and one audit entry each."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from yunshu.core.audit import audit_record
from yunshu.core.errors import check
from yunshu.core.notifications import notify
from yunshu.enterprises.models import Enterprise

from . import engine, permissions
from .definitions import active_rule, engine_questionnaire, engine_rule
from .models import Assessment, AssessmentResult, LevelRule, Questionnaire

DERIVED_KEYS = {"item_next_steps", "scene_next_steps"}


def answer_error_message(exc: engine.AnswerError) -> str:
    """The engine's reason, worded for the person filling in the form."""
    messages = {
        "not_a_number": _("请填写数字"),
        "negative": _("不能为负数"),
        "zero_denominator": _("作分母的数值必须大于 0"),
        "below_min": _("不能小于 %(minimum)s"),
        "over_100": _("百分比不能超过 100%"),
        "unknown_option": _("请从选项中选择"),
        "bad_level": _("请选择 0–4 级或“不适用”"),
    }
    template = messages.get(exc.code, _("答案格式不正确"))
    return template % exc.params if "%(" in template else template


def answer_errors(
    q: engine.Questionnaire, answers: dict[str, Any], scenes: dict[str, Any]
) -> dict[str, list[str]]:
    """Each answer that does not fit its question, by key, with a message to show."""
    errors: dict[str, list[str]] = {}
    items = {i.key: i for i in q.items}
    scene_map = {s.key: s for s in q.scenes}
    for key, value in answers.items():
        if key not in items:
            errors[key] = [_("不是本问卷的题目")]
            continue
        try:
            engine.item_points(items[key], value)
        except engine.AnswerError as exc:
            errors[key] = [answer_error_message(exc)]
    for key, value in scenes.items():
        if key not in scene_map:
            errors[key] = [_("不是本问卷的场景")]
            continue
        try:
            engine.scene_level(scene_map[key], value)
        except engine.AnswerError as exc:
            errors[key] = [answer_error_message(exc)]
    return errors


@transaction.atomic
def assessment_start(
    *, enterprise: Enterprise, questionnaire: Questionnaire, source: str, by: Any
) -> Assessment:
    check(permissions.can_start_assessment(by, enterprise, source))
    if source == Assessment.Source.OFFICIAL and questionnaire.kind != Questionnaire.Kind.MATURITY:
        raise ValidationError(_("第三方评估使用数字化水平问卷"))
    # One open draft per enterprise, questionnaire and assessor: a double click resumes it.
    Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
    draft = Assessment.objects.filter(
        enterprise=enterprise,
        questionnaire=questionnaire,
        source=source,
        organisation=by.organisation,
        status=Assessment.Status.DRAFT,
    ).first()
    if draft is not None:
        return draft
    assessment = Assessment.objects.create(
        enterprise=enterprise,
        questionnaire=questionnaire,
        source=source,
        organisation=by.organisation,
        created_by=by,
    )
    audit_record(
        actor=by,
        action="assessment.start",
        obj=assessment,
        after={"questionnaire": questionnaire.key, "source": source, "enterprise": enterprise.pk},
    )
    return assessment


@transaction.atomic
def assessment_save(
    *,
    assessment: Assessment,
    by: Any,
    answers: dict[str, Any] | None = None,
    scenes: dict[str, Any] | None = None,
) -> Assessment:
    """Save some answers of a draft (the wizard saves section by section)."""
    locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
    check(permissions.can_edit_assessment(by, locked))
    q = engine_questionnaire(locked.questionnaire)
    answers, scenes = dict(answers or {}), dict(scenes or {})
    errors = answer_errors(q, answers, scenes)
    if errors:
        raise ValidationError(errors)
    before = {k: locked.answers.get(k) for k in answers} | {
        f"scene:{k}": locked.scenes.get(k) for k in scenes
    }
    # None clears an answer; the draft keeps only what was given.
    merged_answers = {**locked.answers, **answers}
    merged_scenes = {**locked.scenes, **scenes}
    locked.answers = {k: v for k, v in merged_answers.items() if v is not None}
    locked.scenes = {k: v for k, v in merged_scenes.items() if v not in (None, "")}
    locked.updated_at = timezone.now()
    locked.save(update_fields=["answers", "scenes", "updated_at"])
    after = {k: answers[k] for k in answers} | {f"scene:{k}": scenes[k] for k in scenes}
    if before != after:
        audit_record(actor=by, action="assessment.save", obj=locked, before=before, after=after)
    return locked


def compute(assessment: Assessment, rule: LevelRule | None) -> dict[str, Any]:
    q = engine_questionnaire(assessment.questionnaire)
    if q.kind == "security":
        return engine.score_security(q, assessment.answers).as_dict()
    if rule is None:
        raise ValidationError(_("该问卷没有生效的定级规则"))
    return engine.score_maturity(
        q, engine_rule(rule), assessment.answers, assessment.scenes
    ).as_dict()


def _store_result(
    assessment: Assessment, rule: LevelRule | None, computed: dict[str, Any]
) -> AssessmentResult:
    # The next steps are derived from the answers when shown; storing them would triple
    # the size of every result and of every re-scored version.
    computed = {k: v for k, v in computed.items() if k not in DERIVED_KEYS}
    version = (assessment.results.aggregate(v=Max("version"))["v"] or 0) + 1
    assessment.results.filter(is_current=True).update(is_current=False)
    return AssessmentResult.objects.create(
        assessment=assessment,
        version=version,
        rule=rule,
        computed=computed,
        level=computed.get("level"),
        total=Decimal(str(computed["total"]))
        if "total" in computed
        else Decimal(str(computed["score"])),
        risk_grade=computed.get("risk_grade", ""),
    )


@transaction.atomic
def assessment_submit(*, assessment: Assessment, by: Any) -> AssessmentResult:
    """Lock the answers and score them. Every question must be answered."""
    locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
    if locked.organisation_id == getattr(by, "organisation_id", None) and locked.is_locked:
        raise ValidationError(_("该评估已经提交"))
    check(permissions.can_edit_assessment(by, locked))
    q = engine_questionnaire(locked.questionnaire)
    missing = [i for i in q.items if locked.answers.get(i.key) is None]
    missing_scenes = [s for s in q.scenes if locked.scenes.get(s.key) in (None, "")]
    if missing or missing_scenes:
        names = [i.name_zh for i in missing] + [s.name_zh for s in missing_scenes]
        raise ValidationError(
            _("还有 %(n)d 题未作答：%(names)s") % {"n": len(names), "names": "、".join(names[:8])}
        )
    rule = active_rule(locked.questionnaire) if q.kind == "maturity" else None
    computed = compute(locked, rule)
    locked.status = Assessment.Status.SUBMITTED
    locked.submitted_at = timezone.now()
    locked.save(update_fields=["status", "submitted_at"])
    result = _store_result(locked, rule, computed)
    audit_record(
        actor=by,
        action="assessment.submit",
        obj=locked,
        before={"status": "draft"},
        after={
            "status": "submitted",
            "level": result.level,
            "total": result.total,
            "risk_grade": result.risk_grade,
        },
    )
    org = getattr(locked.enterprise, "organisation", None)
    if org is not None and org.pk != locked.organisation_id:
        notify(
            recipients=org.members.filter(is_active=True),
            subject=_("%(who)s 提交了对贵企业的%(what)s")
            % {"who": locked.organisation.name, "what": locked.get_source_display()},
            url=f"/assessments/{locked.pk}/",
        )
    return result


@transaction.atomic
def assessment_sign(*, assessment: Assessment, by: Any) -> Assessment:
    """An assessor signs an official result; from then on it is the level of record."""
    locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
    check(permissions.can_sign_assessment(by, locked))
    if locked.status == Assessment.Status.SIGNED:
        raise ValidationError(_("该评估已经签发"))
    if locked.status != Assessment.Status.SUBMITTED:
        raise ValidationError(_("提交后才能签发"))
    if not locked.evidence.exists():
        raise ValidationError(_("签发前请先上传佐证材料"))
    locked.status = Assessment.Status.SIGNED
    locked.signed_at, locked.signed_by = timezone.now(), by
    locked.save(update_fields=["status", "signed_at", "signed_by"])
    audit_record(
        actor=by,
        action="assessment.sign",
        obj=locked,
        before={"status": "submitted"},
        after={"status": "signed"},
    )
    org = getattr(locked.enterprise, "organisation", None)
    if org is not None:
        notify(
            recipients=org.members.filter(is_active=True),
            subject=_("第三方评估结果已签发：%(e)s") % {"e": locked.enterprise.name},
            url=f"/assessments/{locked.pk}/",
        )
    return locked


@transaction.atomic
def assessment_correct(*, original: Assessment, by: Any) -> Assessment:
    """A signed official result is never changed: a correction is a new assessment."""
    if original.status != Assessment.Status.SIGNED or original.source != Assessment.Source.OFFICIAL:
        raise ValidationError(_("只能更正已签发的第三方评估"))
    org = getattr(by, "organisation", None)
    check((org is not None and org.pk == original.organisation_id, ""))
    correction = Assessment.objects.create(
        enterprise=original.enterprise,
        questionnaire=original.questionnaire,
        source=original.source,
        organisation=original.organisation,
        created_by=by,
        answers=dict(original.answers),
        scenes=dict(original.scenes),
        corrects=original,
    )
    audit_record(
        actor=by, action="assessment.correct", obj=correction, after={"corrects": original.pk}
    )
    return correction
