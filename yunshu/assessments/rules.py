"""Replacing the level rule: validate, preview the effect, activate, re-score in the background.

Signed official results keep the rule they were signed under and are never re-scored.
Self and diagnosis results get a new result version; the old one stays.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models.fields.json import KeyTransform
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from yunshu.core.audit import audit_record, audit_record_many
from yunshu.core.errors import check
from yunshu.core.jobs import progress_database, reap_stale
from yunshu.core.versions import data_changed

from . import engine
from .definitions import engine_questionnaire, engine_rule
from .models import Assessment, AssessmentResult, LevelRule, Questionnaire, RescoreJob
from .permissions import can_manage_rules

log = logging.getLogger(__name__)
RESCORED_SOURCES = (Assessment.Source.SELF, Assessment.Source.DIAGNOSIS)


def parse_rule_text(questionnaire: Questionnaire, text: str) -> engine.LevelRule:
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ValidationError(_("规则文件不是有效的 JSON：%(e)s") % {"e": exc}) from None
    if not isinstance(data, dict):
        raise ValidationError(_("规则文件的最外层应为对象"))
    try:
        rule = engine.load_rule(data, engine_questionnaire(questionnaire))
    except engine.QuestionnaireError as exc:
        raise ValidationError(str(exc)) from None
    if LevelRule.objects.filter(key=rule.key).exists():
        raise ValidationError(_("规则标识 %(k)s 已存在，请在文件中使用新的 key") % {"k": rule.key})
    return rule


def rescorable(questionnaire: Questionnaire) -> Any:
    return AssessmentResult.objects.filter(
        is_current=True,
        assessment__questionnaire=questionnaire,
        assessment__source__in=RESCORED_SOURCES,
        assessment__status=Assessment.Status.SUBMITTED,
    )


def rule_preview(*, questionnaire: Questionnaire, text: str, by: Any) -> dict[str, Any]:
    """How many enterprises' current results would change level under the new rule."""
    check(can_manage_rules(by))
    rule = parse_rule_text(questionnaire, text)
    q = engine_questionnaire(questionnaire)
    moves: Counter[tuple[int, int]] = Counter()
    enterprises: set[int] = set()
    count = 0
    rows = rescorable(questionnaire).values_list(
        "assessment__enterprise_id",
        "level",
        KeyTransform("dimensions", "computed"),
        KeyTransform("scene_levels", "computed"),
    )
    for enterprise_id, level, dimensions, scenes in rows.iterator(chunk_size=5000):
        count += 1
        new, _patch = _relevel_patch(q, rule, dimensions or {}, scenes or {})
        if new != level:
            moves[(level or 0, new)] += 1
            enterprises.add(enterprise_id)
    return {
        "rule": rule,
        "results": count,
        "changed": sum(moves.values()),
        "enterprises_changed": len(enterprises),
        "moves": sorted(
            ({"from": a, "to": b, "n": n} for (a, b), n in moves.items()),
            key=lambda m: -m["n"],
        ),
    }


@transaction.atomic
def rule_activate(*, questionnaire: Questionnaire, text: str, by: Any) -> RescoreJob:
    check(can_manage_rules(by))
    parsed = parse_rule_text(questionnaire, text)
    previous = (
        LevelRule.objects.select_for_update()
        .filter(questionnaire=questionnaire, is_active=True)
        .first()
    )
    LevelRule.objects.filter(questionnaire=questionnaire, is_active=True).update(is_active=False)
    try:
        with transaction.atomic():
            rule = LevelRule.objects.create(
                key=parsed.key,
                questionnaire=questionnaire,
                definition=text,
                sha256=hashlib.sha256(text.encode()).hexdigest(),
                provisional=parsed.provisional,
                is_active=True,
                created_by=by,
            )
    except IntegrityError:
        raise ValidationError(_("规则标识 %(k)s 已存在") % {"k": parsed.key}) from None
    audit_record(
        actor=by,
        action="level_rule.activate",
        obj=rule,
        before={"active": previous.key if previous else None},
        after={"active": rule.key, "provisional": rule.provisional},
    )
    job = RescoreJob.objects.create(rule=rule, created_by=by)
    transaction.on_commit(lambda: rescore_run.enqueue(job.pk))
    return job


PATCH_TABLE = "yunshu_rescore_patch"


def _relevel_patch(
    q: engine.Questionnaire,
    rule: engine.LevelRule,
    dimensions: dict[str, Any],
    scenes: dict[str, Any],
) -> tuple[int, dict[str, Any]]:
    """The new level and the keys of the stored result that change with it."""
    base = sum((Decimal(str(dimensions.get(k, 0))) for k in rule.base_dimensions), Decimal(0))
    reached, checks, next_level = engine.level_for(q, rule, base, scenes)
    return reached, {
        "rule": rule.key,
        "rule_provisional": rule.provisional,
        "level": reached,
        "level_label": engine.level_label(reached),
        "level_checks": checks,
        "next_level": next_level,
    }


def _write_versions(rule_id: int, patches: list[tuple[int, int, str]]) -> None:
    """Mark the old results not current and insert their next versions, merging each stored
    result with its patch inside the database (the scores themselves do not change, so the
    large result documents never travel to Python and back)."""
    data_changed("assessments")  # raw SQL sends no signals
    table = connection.ops.quote_name(AssessmentResult._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {PATCH_TABLE} "
                "(result_id bigint PRIMARY KEY, level smallint, patch jsonb) ON COMMIT DELETE ROWS"
            )
            # Empty it here too: inside an outer transaction no commit has cleared it.
            cursor.execute(f"DELETE FROM {PATCH_TABLE}")
            raw = connection.connection
            assert raw is not None
            with (
                raw.cursor() as copy_cursor,
                copy_cursor.copy(
                    f"COPY {PATCH_TABLE} (result_id, level, patch) FROM STDIN"
                ) as copy,
            ):
                for row in patches:
                    copy.write_row(row)
            merged = "r.computed || p.patch"
        else:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {PATCH_TABLE} "
                "(result_id integer PRIMARY KEY, level integer, patch text)"
            )
            cursor.execute(f"DELETE FROM {PATCH_TABLE}")
            cursor.executemany(f"INSERT INTO {PATCH_TABLE} VALUES (%s, %s, %s)", patches)
            merged = "json_patch(r.computed, p.patch)"
        cursor.execute(
            f"UPDATE {table} SET is_current = %s WHERE id IN (SELECT result_id FROM {PATCH_TABLE})",
            [False],
        )
        cursor.execute(
            f"INSERT INTO {table} (assessment_id, version, rule_id, computed, level, total, "
            "risk_grade, is_current, created_at) "
            f"SELECT r.assessment_id, r.version + 1, %s, {merged}, p.level, r.total, r.risk_grade, "
            f"%s, %s FROM {table} r JOIN {PATCH_TABLE} p ON r.id = p.result_id",
            [rule_id, True, timezone.now()],
        )


def rescore(rule: LevelRule, *, batch: int = 5000, on_progress: Any = None) -> tuple[int, int]:
    """Add a result version under `rule` for every current self and diagnosis result of its
    questionnaire made under another rule. Each batch commits on its own, so a stopped job
    resumes where it was. Returns (re-scored, level changed)."""
    q = engine_questionnaire(rule.questionnaire)
    parsed = engine_rule(rule)
    pending = list(
        rescorable(rule.questionnaire)
        .exclude(rule=rule)
        .order_by("id")
        .values_list("id", flat=True)
    )
    done = changed = 0
    for start in range(0, len(pending), batch):
        with transaction.atomic():
            rows = list(
                AssessmentResult.objects.select_for_update(skip_locked=True)
                .filter(id__in=pending[start : start + batch], is_current=True)
                .exclude(rule=rule)
                .values_list(
                    "id",
                    "level",
                    KeyTransform("dimensions", "computed"),
                    KeyTransform("scene_levels", "computed"),
                )
            )
            patches = []
            for result_id, old_level, dimensions, scenes in rows:
                level, patch = _relevel_patch(q, parsed, dimensions or {}, scenes or {})
                changed += level != old_level
                patches.append((result_id, level, json.dumps(patch, ensure_ascii=False)))
            if patches:
                _write_versions(rule.pk, patches)
                audit_record_many(
                    actor=None,
                    entries=[
                        {
                            "action": "assessment.rescore",
                            "object_type": "assessments.levelrule",
                            "object_id": str(rule.pk),
                            "object_label": rule.key,
                            "after": {"batch_size": len(patches), "first_result": patches[0][0]},
                        }
                    ],
                )
        done += len(rows)
        if on_progress:
            on_progress(done, changed)
    return done, changed


@task()
def rescore_run(job_id: int) -> dict[str, int]:
    job = RescoreJob.objects.select_related("rule__questionnaire").get(pk=job_id)
    total = rescorable(job.rule.questionnaire).exclude(rule=job.rule).count()
    RescoreJob.objects.filter(pk=job_id).update(
        status=RescoreJob.Status.RUNNING, total=total, heartbeat_at=timezone.now()
    )

    def progress(done: int, changed: int) -> None:
        RescoreJob.objects.using(progress_database()).filter(pk=job_id).update(
            done=done, changed=changed, heartbeat_at=timezone.now()
        )

    try:
        done, changed = rescore(job.rule, on_progress=progress)
    except Exception as exc:
        log.exception("rescore job %s failed", job_id)
        RescoreJob.objects.filter(pk=job_id).update(
            status=RescoreJob.Status.FAILED,
            failure=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
        raise
    RescoreJob.objects.filter(pk=job_id).update(
        status=RescoreJob.Status.SUCCEEDED, done=done, changed=changed, finished_at=timezone.now()
    )
    return {"rescored": done, "changed": changed}


def rescore_jobs_reap_stale() -> int:
    """A rescore whose worker died shows as failed; its finished batches are kept, and
    running it again (rescore_resume) carries on where it stopped."""
    return reap_stale(
        RescoreJob,
        failure=_("后台任务中断；已完成的批次已保存，可点击“继续”接着重新定级"),
    )


@transaction.atomic
def rescore_resume(*, job: RescoreJob, by: Any) -> RescoreJob:
    check(can_manage_rules(by))
    job = RescoreJob.objects.select_for_update().get(pk=job.pk)
    if job.status != RescoreJob.Status.FAILED or not job.rule.is_active:
        raise ValidationError(_("只有失败的、规则仍在生效的任务可以继续"))
    job.status, job.failure, job.finished_at = RescoreJob.Status.QUEUED, "", None
    job.save(update_fields=["status", "failure", "finished_at"])
    audit_record(actor=by, action="rescore_job.resume", obj=job, after={"rule": job.rule.key})
    transaction.on_commit(lambda: rescore_run.enqueue(job.pk))
    return job
