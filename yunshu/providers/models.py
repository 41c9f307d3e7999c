"""The provider pool (资源池): providers, their vetting, certificates, platforms and products.

Vetting (is this provider in the pool?) and visibility (is this product shown in the
catalogue right now?) are separate states: an expired mandatory certificate hides the
products without touching the provider's vetting.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class VettingState(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    UNDER_REVIEW = "under_review", _("审核中")
    RETURNED = "returned", _("待补充材料")
    APPROVED = "approved", _("已入库")
    REJECTED = "rejected", _("未通过")
    SUSPENDED = "suspended", _("已暂停")
    REVOKED = "revoked", _("已除名")


class Provider(models.Model):
    """A provider organisation's pool record. Grants and users hang off the organisation."""

    organisation = models.OneToOneField(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="provider"
    )
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    name = models.CharField(_("服务商名称"), max_length=200)
    summary = models.CharField(_("简介"), max_length=300, blank=True)
    description = models.TextField(_("详细介绍"), blank=True)
    website = models.URLField(_("网站"), blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    towns_served = models.ManyToManyField(
        "core.Town", related_name="providers", blank=True, verbose_name=_("服务镇街")
    )
    clusters_served = models.ManyToManyField(
        "core.Cluster", related_name="providers", blank=True, verbose_name=_("服务产业集群")
    )
    vetting_state = models.CharField(
        _("入库状态"),
        max_length=20,
        choices=VettingState.choices,
        default=VettingState.SUBMITTED,
        db_index=True,
    )
    vetting_reason = models.CharField(_("理由"), max_length=500, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    approved_at = models.DateTimeField(_("入库时间"), null=True, blank=True)
    # Supervision figures kept on the row so matching and the catalogue read them without joins.
    trust_score = models.PositiveSmallIntegerField(_("可信评分"), default=0)
    trust_grade = models.CharField(_("可信等级"), max_length=2, blank=True)
    trust_reasons = models.JSONField(_("评分依据"), default=list, blank=True)
    rating_count = models.PositiveIntegerField(_("评价数"), default=0)
    rating_average = models.DecimalField(
        _("平均评分"), max_digits=3, decimal_places=2, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("服务商")
        verbose_name_plural = _("服务商")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_in_pool(self) -> bool:
        return self.vetting_state == VettingState.APPROVED


class VettingEvent(models.Model):
    """One row per vetting transition: the history the provider and the city read."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="vetting_events")
    action = models.CharField(max_length=20)
    from_state = models.CharField(max_length=20)
    to_state = models.CharField(max_length=20)
    reason = models.CharField(_("理由"), max_length=500, blank=True)
    # Profile and lead-flag changes: {field: [before, after]} (the state does not move).
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.provider_id} {self.from_state}→{self.to_state}"


class ProviderDocument(models.Model):
    class Kind(models.TextChoices):
        LICENCE = "licence", _("营业执照")
        QUALIFICATION = "qualification", _("资质证明")
        CASE = "case", _("服务案例")
        OTHER = "other", _("其他")

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    file = models.FileField(upload_to="providers/documents/%Y/%m/")
    original_name = models.CharField(_("文件名"), max_length=255)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    # A wrong upload is withdrawn, not deleted: the city may have read it already.
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    withdraw_reason = models.CharField(_("撤回原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("服务商材料")
        verbose_name_plural = _("服务商材料")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class CertificateType(models.Model):
    """Configurable list (data migration seeds 等保, ISO/IEC 27001, 可信云 ...)."""

    key = models.SlugField(_("标识"), max_length=40, unique=True)
    name_zh = models.CharField(_("中文名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=200)
    mandatory = models.BooleanField(
        _("必备"),
        default=False,
        help_text=_("缺少有效证书（过期或从未登记）时该服务商的产品从目录中隐藏"),
    )
    has_level = models.BooleanField(_("有级别"), default=False)
    levels = models.JSONField(_("可选级别"), default=list, blank=True)
    # What a valid (approved, unexpired) certificate adds to the trust rating; see
    # docs/trust-rating.md. level_points overrides it per level, e.g. {"三级": 30}.
    trust_points = models.PositiveSmallIntegerField(
        _("可信评级加分"),
        default=0,
        help_text=_("有效证书在可信评级中的加分；有级别的证书，未在“各级别加分”中列出的级别按此计"),
    )
    level_points = models.JSONField(
        _("各级别加分"),
        default=dict,
        blank=True,
        help_text=_('例如 {"三级": 30, "二级": 20}'),
    )
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("证书类型")
        verbose_name_plural = _("证书类型")
        ordering = ["sort_order", "key"]

    def __str__(self) -> str:
        return self.name_zh

    @property
    def name(self) -> str:
        from django.utils.translation import get_language

        return self.name_en if (get_language() or "").startswith("en") else self.name_zh

    def points_for(self, level: str = "") -> int:
        """Trust points of a valid certificate of this type at this level."""
        table = self.level_points if isinstance(self.level_points, dict) else {}
        value = table.get(str(level or "").strip(), self.trust_points)
        try:
            return max(0, int(value))
        except (TypeError, ValueError):
            return int(self.trust_points)

    @property
    def earns_points(self) -> bool:
        return self.trust_points > 0 or any(
            isinstance(v, int) and v > 0 for v in (self.level_points or {}).values()
        )


class Certificate(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已认可")
        REJECTED = "rejected", _("未认可")

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="certificates")
    type = models.ForeignKey(CertificateType, on_delete=models.PROTECT, related_name="+")
    level = models.CharField(_("级别"), max_length=20, blank=True)
    number = models.CharField(_("证书编号"), max_length=100)
    issuer = models.CharField(_("发证机构"), max_length=200, blank=True)
    issued_on = models.DateField(_("发证日期"))
    expires_on = models.DateField(_("有效期至"), db_index=True)
    file = models.FileField(upload_to="providers/certificates/%Y/%m/", blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.CharField(_("审核意见"), max_length=300, blank=True)
    expiry_warned_on = models.DateField(_("到期提醒日期"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("证书")
        verbose_name_plural = _("证书")
        ordering = ["expires_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__gt=models.F("issued_on")),
                name="certificate_expires_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.number}"


class Platform(models.Model):
    """A cloud or SaaS platform a provider runs, with the facts behind its trust rating."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="platforms")
    name = models.CharField(_("平台名称"), max_length=200)
    datacentre_location = models.CharField(_("数据中心所在地"), max_length=200)
    datacentre_mainland = models.BooleanField(_("数据中心位于中国大陆"), default=True)
    encryption_in_transit = models.BooleanField(_("传输加密"), default=False)
    encryption_at_rest = models.BooleanField(_("存储加密"), default=False)
    backup_rpo_hours = models.PositiveIntegerField(
        _("恢复点目标 RPO（小时）"), null=True, blank=True
    )
    backup_rto_hours = models.PositiveIntegerField(
        _("恢复时间目标 RTO（小时）"), null=True, blank=True
    )
    exit_plan = models.TextField(_("退出与数据返还方案"), blank=True)
    data_return_days = models.PositiveIntegerField(_("数据返还期限（天）"), null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # The facts above are the provider's own word until the city checks them; a later edit by
    # the provider clears the check.
    verified_at = models.DateTimeField(_("核实时间"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("核实人"),
    )

    class Meta:
        verbose_name = _("平台安全档案")
        verbose_name_plural = _("平台安全档案")
        ordering = ["provider", "name"]

    def __str__(self) -> str:
        return self.name


class Incident(models.Model):
    class Severity(models.TextChoices):
        LOW = "low", _("一般")
        MEDIUM = "medium", _("较大")
        HIGH = "high", _("重大")
        CRITICAL = "critical", _("特别重大")

    class Source(models.TextChoices):
        PROVIDER = "provider", _("服务商报告")
        CITY = "city", _("市工信局登记")

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="incidents")
    # Who recorded it decides who may close it: the city closes what the city recorded.
    source = models.CharField(
        _("登记方"), max_length=10, choices=Source.choices, default=Source.PROVIDER
    )
    occurred_at = models.DateTimeField(_("发生时间"))
    severity = models.CharField(_("严重程度"), max_length=10, choices=Severity.choices)
    summary = models.CharField(_("事件概述"), max_length=300)
    data_affected = models.BooleanField(_("涉及客户数据"), default=False)
    resolved_at = models.DateTimeField(_("处置完成时间"), null=True, blank=True)
    resolution = models.TextField(_("处置情况"), blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reported_at = models.DateTimeField(default=timezone.now)
    # A provider's account of how it handled a city-recorded incident, for the city to confirm.
    proposed_resolution = models.TextField(_("服务商提交的处置情况"), blank=True)
    proposed_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("安全事件")
        verbose_name_plural = _("安全事件")
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return self.summary


class AnnualReview(models.Model):
    class Verdict(models.TextChoices):
        PASS = "pass", _("通过")
        CONDITIONAL = "conditional", _("有条件通过")
        FAIL = "fail", _("不通过")

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="reviews")
    year = models.PositiveSmallIntegerField(_("年度"))
    checklist = models.JSONField(_("复核清单"), default=list)
    verdict = models.CharField(_("结论"), max_length=12, choices=Verdict.choices)
    conditions = models.TextField(_("整改条件"), blank=True)
    deadline = models.DateField(_("整改期限"), null=True, blank=True)
    # Why the officer passed a provider the checklist did not pass (required then).
    override_reason = models.TextField(_("不按清单结论的理由"), blank=True)
    # A fail suspends the provider through the vetting table; recorded for the review page.
    provider_suspended = models.BooleanField(_("已据此暂停入库资格"), default=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("年度复核")
        verbose_name_plural = _("年度复核")
        ordering = ["-year", "provider"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "year"], name="one_review_per_year"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.year}"


class DeploymentMode(models.TextChoices):
    SAAS = "saas", _("公有云 SaaS")
    PRIVATE = "private", _("私有化部署")
    HYBRID = "hybrid", _("混合部署")
    EDGE = "edge", _("边缘部署")


class PriceModel(models.TextChoices):
    SUBSCRIPTION = "subscription", _("按年订阅")
    PER_USER = "per_user", _("按用户数订阅")
    ONE_OFF = "one_off", _("一次性买断")
    USAGE = "usage", _("按用量计费")
    PROJECT = "project", _("按项目报价")


class DataResidency(models.TextChoices):
    ON_PREMISES = "on_premises", _("数据留在企业本地")
    GUANGDONG = "guangdong", _("广东省内机房")
    MAINLAND = "mainland", _("中国大陆境内")
    OVERSEAS = "overseas", _("含境外存储")


SECURITY_FEATURES: list[tuple[str, Any]] = [
    ("encryption_transit", _("传输加密")),
    ("encryption_rest", _("存储加密")),
    ("mfa", _("多因素登录")),
    ("audit_log", _("操作审计日志")),
    ("backup", _("定期备份")),
    ("tenant_isolation", _("租户隔离")),
    ("data_export", _("数据可导出")),
    ("ot_isolation", _("工控网络隔离")),
]


class Product(models.Model):
    """A catalogue entry (小快轻准). Prices are whole yuan per year for one enterprise."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        WITHDRAWN = "withdrawn", _("已下架")

    class Visibility(models.TextChoices):
        VISIBLE = "visible", _("展示中")
        HIDDEN_CERTIFICATE = "hidden_certificate", _("因缺少有效必备证书隐藏")

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(_("产品名称"), max_length=200)
    summary = models.CharField(_("一句话介绍"), max_length=300)
    description = models.TextField(_("详细介绍"), blank=True)
    industries = models.ManyToManyField(
        "core.Industry", related_name="products", blank=True, verbose_name=_("适用行业")
    )
    clusters = models.ManyToManyField(
        "core.Cluster", related_name="products", blank=True, verbose_name=_("适用产业集群")
    )
    deployment = models.CharField(_("部署方式"), max_length=10, choices=DeploymentMode.choices)
    price_model = models.CharField(_("计费方式"), max_length=20, choices=PriceModel.choices)
    # {"micro": [low, high], "small": [...], "medium": [...], "large": [...]} in yuan per year;
    # a size class missing from the dict has no published price.
    price_bands = models.JSONField(_("分规模报价（元/年）"), default=dict, blank=True)
    implementation_weeks = models.PositiveSmallIntegerField(_("实施周期（周）"))
    data_residency = models.CharField(
        _("数据存储位置"), max_length=20, choices=DataResidency.choices
    )
    security_features = models.JSONField(_("安全特性"), default=list, blank=True)
    platform = models.ForeignKey(
        Platform,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="products",
        verbose_name=_("运行平台"),
    )
    status = models.CharField(
        _("发布状态"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    visibility = models.CharField(
        _("展示状态"), max_length=20, choices=Visibility.choices, default=Visibility.VISIBLE
    )
    hidden_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("产品")
        verbose_name_plural = _("产品")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["status", "visibility", "name"]),
            models.Index(fields=["provider", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(implementation_weeks__gte=1) & Q(implementation_weeks__lte=104),
                name="product_weeks_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProductScene(models.Model):
    """A maturity scene the product covers and the level it lifts an enterprise to."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="scenes")
    scene = models.CharField(_("场景"), max_length=40)
    lifts_to = models.PositiveSmallIntegerField(_("可提升至等级"))

    class Meta:
        ordering = ["product", "scene"]
        constraints = [
            models.UniqueConstraint(fields=["product", "scene"], name="product_scene_once"),
            models.CheckConstraint(
                condition=Q(lifts_to__gte=1) & Q(lifts_to__lte=4), name="lifts_to_1_to_4"
            ),
        ]
        indexes = [models.Index(fields=["scene", "lifts_to"])]

    def __str__(self) -> str:
        return f"{self.product_id}:{self.scene}→{self.lifts_to}"


class CatalogueVersion(models.Model):
    """One row; every service that changes what matching reads bumps it, so in-process
    snapshots of the catalogue know when to reload."""

    number = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("目录版本")
        verbose_name_plural = _("目录版本")

    def __str__(self) -> str:
        return str(self.number)


class Complaint(models.Model):
    """An enterprise's complaint about a provider; the workflow lives in providers.complaints."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("已提交")
        RESPONDED = "responded", _("服务商已答复")
        ESCALATED = "escalated", _("已提请市局处理")
        RESOLVED = "resolved", _("已解决")
        DISMISSED = "dismissed", _("已驳回")

    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="complaints"
    )
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="complaints")
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="complaints"
    )
    subject = models.CharField(_("主题"), max_length=200)
    body = models.TextField(_("投诉内容"))
    state = models.CharField(
        _("状态"), max_length=12, choices=State.choices, default=State.SUBMITTED, db_index=True
    )
    provider_response = models.TextField(_("服务商答复"), blank=True)
    escalation_reason = models.TextField(_("提请市局处理的理由"), blank=True)
    resolution = models.TextField(_("处理结果"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("投诉")
        verbose_name_plural = _("投诉")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_open(self) -> bool:
        return self.state not in (self.State.RESOLVED, self.State.DISMISSED)


class ComplaintEvent(models.Model):
    """One row per step of a complaint: the timeline of who did what, when."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=20)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12)
    text = models.TextField(_("说明"), blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("投诉处理记录")
        verbose_name_plural = _("投诉处理记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.action}"
