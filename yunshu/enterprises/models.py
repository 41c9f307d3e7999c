from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yunshu.core.size_class import SizeClass


class OperatingStatus(models.TextChoices):
    ACTIVE = "active", _("存续")
    SUSPENDED = "suspended", _("停业")
    LIQUIDATING = "liquidating", _("清算")
    MOVED_OUT = "moved_out", _("迁出")
    CANCELLED = "cancelled", _("注销")
    REVOKED = "revoked", _("吊销")


class Verification(models.TextChoices):
    VERIFIED = "verified", _("已核验")
    PENDING = "pending", _("待核验")


class Enterprise(models.Model):
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    name = models.CharField(_("企业名称"), max_length=200)
    # No index of their own: (town, name) and (cluster, name) below serve every lookup, and
    # each index is one more write per row of a 200,000-row import.
    town = models.ForeignKey(
        "core.Town",
        on_delete=models.PROTECT,
        related_name="enterprises",
        verbose_name=_("所属镇街"),
        db_index=False,
    )
    # Nothing looks enterprises up by industry (matching reads whole rows); an index, and the
    # pattern index Django adds for a text key, would only slow imports.
    industry = models.ForeignKey(
        "core.Industry",
        on_delete=models.PROTECT,
        related_name="enterprises",
        verbose_name=_("行业大类"),
        db_index=False,
    )
    cluster = models.ForeignKey(
        "core.Cluster",
        on_delete=models.PROTECT,
        related_name="enterprises",
        null=True,
        blank=True,
        verbose_name=_("产业集群"),
        db_index=False,
    )
    cluster_overridden = models.BooleanField(
        _("集群为人工指定"), default=False, help_text=_("否则按行业大类自动归入集群")
    )
    employees = models.PositiveIntegerField(_("从业人员"), null=True, blank=True)
    employees_year = models.PositiveSmallIntegerField(_("从业人员统计年度"), null=True, blank=True)
    revenue = models.DecimalField(
        _("营业收入（元）"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    revenue_year = models.PositiveSmallIntegerField(_("营业收入统计年度"), null=True, blank=True)
    size_class = models.CharField(
        _("企业规模"), max_length=10, choices=SizeClass.choices, default=SizeClass.UNKNOWN
    )
    registered_on = models.DateField(_("成立日期"), null=True, blank=True)
    status = models.CharField(
        _("经营状态"),
        max_length=20,
        choices=OperatingStatus.choices,
        default=OperatingStatus.ACTIVE,
    )
    above_scale = models.BooleanField(_("规上企业"), default=False)
    specialised = models.BooleanField(_("专精特新"), default=False)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    verification = models.CharField(
        _("核验状态"), max_length=10, choices=Verification.choices, default=Verification.VERIFIED
    )
    on_transformation_list = models.BooleanField(_("列入改造名单"), default=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("企业")
        verbose_name_plural = _("企业")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["town", "name"]),
            models.Index(fields=["cluster", "name"]),
            models.Index(fields=["size_class", "name"]),
            models.Index(fields=["name"]),
            models.Index(fields=["-revenue", "id"], name="enterprise_revenue_desc"),
            models.Index(fields=["-employees", "id"], name="enterprise_employees_desc"),
            # Officials rank firms of one size class by headcount: without it, that page walked
            # the headcount index past every larger firm (4 ms a page at city scale).
            models.Index(
                fields=["size_class", "-employees", "id"], name="enterprise_size_employees"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(revenue__isnull=True) | Q(revenue__gte=0), name="revenue_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class EnterpriseClaim(models.Model):
    """A sign-up whose credit code is already in the registry asks to manage that record."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已通过")
        REJECTED = "rejected", _("已驳回")

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="claims")
    organisation = models.OneToOneField(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="claim"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("理由"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("企业认领")
        verbose_name_plural = _("企业认领")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.enterprise} ← {self.organisation}"


class DataGrant(models.Model):
    """An enterprise lets a provider see its profile and/or assessments until it expires."""

    class Source(models.TextChoices):
        ENTERPRISE = "enterprise", _("企业授权")
        CITY_ASSIGNMENT = "city_assignment", _("市局指派诊断")

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="grants")
    provider = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.CASCADE,
        related_name="grants_received",
        verbose_name=_("服务商"),
    )
    scope_profile = models.BooleanField(_("企业档案"), default=True)
    scope_assessments = models.BooleanField(_("评估结果"), default=False)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.ENTERPRISE)
    purpose = models.CharField(_("用途"), max_length=200, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("有效期至"))
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("数据授权")
        verbose_name_plural = _("数据授权")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["provider", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope_profile=True) | Q(scope_assessments=True),
                name="grant_has_a_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} → {self.provider}"

    def is_active(self, at: object = None) -> bool:
        moment = at or timezone.now()
        return self.revoked_at is None and self.expires_at > moment  # type: ignore[operator]


class AccessLogEntry(models.Model):
    """Someone outside the enterprise looked at its detail, assessments or export."""

    class What(models.TextChoices):
        PROFILE = "profile", _("查看企业档案")
        ASSESSMENTS = "assessments", _("查看评估结果")
        EXPORT = "export", _("导出")

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="access_log")
    at = models.DateTimeField(default=timezone.now)
    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    viewer_label = models.CharField(max_length=150)
    viewer_organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    viewer_organisation_label = models.CharField(max_length=200, blank=True)
    what = models.CharField(max_length=20, choices=What.choices)

    class Meta:
        verbose_name = _("数据访问记录")
        verbose_name_plural = _("数据访问记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["enterprise", "-at"])]

    def __str__(self) -> str:
        return f"{self.viewer_label} {self.what} {self.enterprise_id}"


class ImportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("进行中")
        SUCCEEDED = "succeeded", _("已完成")
        FAILED = "failed", _("失败")

    class Phase(models.TextChoices):
        WAITING = "waiting", _("等待")
        READING = "reading", _("读取文件")
        VALIDATING = "validating", _("校验")
        WRITING = "writing", _("写入")
        DONE = "done", _("结束")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    skip_invalid = models.BooleanField(_("跳过无效行"), default=False)
    dry_run = models.BooleanField(_("仅校验不写入"), default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=12, choices=Phase.choices, default=Phase.WAITING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True)
    rejected_file = models.CharField(max_length=300, blank=True)
    failure = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(self.rows_done * 100 / self.rows_total))
