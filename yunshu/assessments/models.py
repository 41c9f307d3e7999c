from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Questionnaire(models.Model):
    """One version of a questionnaire, loaded from its data file; never edited afterwards."""

    class Kind(models.TextChoices):
        MATURITY = "maturity", _("数字化水平")
        SECURITY = "security", _("安全")

    key = models.SlugField(_("版本标识"), max_length=60, unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    title_zh = models.CharField(_("中文名称"), max_length=200)
    title_en = models.CharField(_("英文名称"), max_length=200)
    definition = models.TextField(_("定义（JSON 原文）"))
    sha256 = models.CharField(max_length=64)
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("问卷版本")
        verbose_name_plural = _("问卷版本")
        ordering = ["kind", "-key"]

    def __str__(self) -> str:
        return self.key


class LevelRule(models.Model):
    """A version of the rule that turns points and scene levels into an overall level."""

    key = models.SlugField(_("版本标识"), max_length=80, unique=True)
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="rules")
    definition = models.TextField(_("定义（JSON 原文）"))
    sha256 = models.CharField(max_length=64)
    provisional = models.BooleanField(_("待核对"), default=True)
    is_active = models.BooleanField(_("当前生效"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("定级规则")
        verbose_name_plural = _("定级规则")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire"], condition=Q(is_active=True), name="one_active_rule"
            )
        ]

    def __str__(self) -> str:
        return self.key


class Assessment(models.Model):
    class Source(models.TextChoices):
        SELF = "self", _("企业自评")
        DIAGNOSIS = "diagnosis", _("服务商诊断")
        OFFICIAL = "official", _("第三方评估")

    class Status(models.TextChoices):
        DRAFT = "draft", _("填写中")
        SUBMITTED = "submitted", _("已提交")
        SIGNED = "signed", _("已签发")

    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="assessments"
    )
    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.PROTECT, related_name="assessments"
    )
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    answers = models.JSONField(_("答案"), default=dict, blank=True)
    scenes = models.JSONField(_("场景等级"), default=dict, blank=True)
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="assessments_made",
        verbose_name=_("评估方"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    signed_at = models.DateTimeField(_("签发时间"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    batch = models.CharField(_("批量上传批次"), max_length=32, blank=True, db_index=True)
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("更正的评估"),
    )

    class Meta:
        verbose_name = _("评估")
        verbose_name_plural = _("评估")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["enterprise", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.enterprise} · {self.questionnaire} · {self.get_source_display()}"

    @property
    def is_locked(self) -> bool:
        return self.status != self.Status.DRAFT


class AssessmentResult(models.Model):
    """A scored version of an assessment. Re-scoring adds a version; old ones stay."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="results")
    version = models.PositiveIntegerField()
    rule = models.ForeignKey(
        LevelRule, on_delete=models.PROTECT, null=True, blank=True, related_name="results"
    )
    computed = models.JSONField()
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    total = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    risk_grade = models.CharField(max_length=10, blank=True)
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("评估结果")
        verbose_name_plural = _("评估结果")
        ordering = ["assessment", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "version"], name="result_version_unique"),
            models.UniqueConstraint(
                fields=["assessment"], condition=Q(is_current=True), name="one_current_result"
            ),
        ]
        indexes = [models.Index(fields=["is_current", "level"])]

    def __str__(self) -> str:
        return f"{self.assessment_id} v{self.version}"


class RescoreJob(models.Model):
    """Re-scoring stored self and diagnosis results under a new level rule, in the background."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("进行中")
        SUCCEEDED = "succeeded", _("已完成")
        FAILED = "failed", _("失败")

    rule = models.ForeignKey(LevelRule, on_delete=models.PROTECT, related_name="rescore_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    failure = models.TextField(blank=True)

    class Meta:
        verbose_name = _("重新定级任务")
        verbose_name_plural = _("重新定级任务")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.rule} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        return min(99, int(self.done * 100 / self.total)) if self.total else 0


class Evidence(models.Model):
    """A file that backs an official result (photos, reports, system screenshots)."""

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="evidence")
    file = models.FileField(upload_to="evidence/%Y/%m/")
    original_name = models.CharField(_("文件名"), max_length=255)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("佐证材料")
        verbose_name_plural = _("佐证材料")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name
