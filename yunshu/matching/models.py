"""Matching: stored recommendation runs, proposals, ratings and matchmaking events (对接会).

Consent itself is the foundation's DataGrant (yunshu.enterprises.models).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MatchRun(models.Model):
    """A batch of recommendations for every enterprise; the newest succeeded run is current."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("进行中")
        SUCCEEDED = "succeeded", _("已完成")
        FAILED = "failed", _("失败")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    top_n = models.PositiveSmallIntegerField(default=10)
    catalogue_version = models.BigIntegerField(default=0)
    enterprises_total = models.PositiveIntegerField(default=0)
    enterprises_done = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    failure = models.TextField(blank=True)

    class Meta:
        verbose_name = _("批量匹配")
        verbose_name_plural = _("批量匹配")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"MatchRun {self.pk} ({self.status})"


class Recommendation(models.Model):
    """One ranked product for one enterprise in a run. Score parts are whole points."""

    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="recommendations")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="recommendations"
    )
    rank = models.PositiveSmallIntegerField()
    product = models.ForeignKey(
        "providers.Product", on_delete=models.CASCADE, related_name="recommendations"
    )
    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.CASCADE, related_name="recommendations"
    )
    score = models.IntegerField()
    coverage = models.SmallIntegerField(default=0)
    fit = models.SmallIntegerField(default=0)
    price = models.SmallIntegerField(default=0)
    trust = models.SmallIntegerField(default=0)
    outcomes = models.SmallIntegerField(default=0)
    local = models.SmallIntegerField(default=0)
    ratings = models.SmallIntegerField(default=0)
    assessed = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("推荐结果")
        verbose_name_plural = _("推荐结果")
        ordering = ["run", "enterprise", "rank"]
        indexes = [
            models.Index(fields=["run", "enterprise", "rank"]),
            models.Index(fields=["run", "provider"]),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}#{self.rank}→{self.product_id}"


class Proposal(models.Model):
    """A provider's answer to an enterprise's matched demand; the enterprise decides."""

    class State(models.TextChoices):
        SENT = "sent", _("待企业答复")
        ACCEPTED = "accepted", _("已接受")
        DECLINED = "declined", _("已婉拒")
        WITHDRAWN = "withdrawn", _("已撤回")
        DELIVERED = "delivered", _("已验收")

    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.CASCADE, related_name="proposals"
    )
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="proposals"
    )
    product = models.ForeignKey(
        "providers.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="proposals",
        verbose_name=_("产品"),
    )
    title = models.CharField(_("方案标题"), max_length=200)
    body = models.TextField(_("方案内容"))
    price_yuan = models.DecimalField(_("报价（元）"), max_digits=12, decimal_places=2)
    weeks = models.PositiveSmallIntegerField(_("实施周期（周）"))
    state = models.CharField(
        _("状态"), max_length=10, choices=State.choices, default=State.SENT, db_index=True
    )
    decision_note = models.CharField(_("答复说明"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("服务方案")
        verbose_name_plural = _("服务方案")
        ordering = ["-created_at", "-id"]
        constraints = [
            # A double click never sends the same open proposal twice.
            models.UniqueConstraint(
                fields=["provider", "enterprise", "title"],
                condition=Q(state="sent"),
                name="one_open_proposal_per_title",
            ),
            models.CheckConstraint(
                condition=Q(price_yuan__gte=0), name="proposal_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Rating(models.Model):
    """An enterprise rates a provider once per delivered (accepted and 验收) proposal."""

    proposal = models.OneToOneField(Proposal, on_delete=models.CASCADE, related_name="rating")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="ratings_given"
    )
    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.CASCADE, related_name="ratings"
    )
    stars = models.PositiveSmallIntegerField(_("评分"))
    comment = models.CharField(_("评价"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("服务评价")
        verbose_name_plural = _("服务评价")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stars__gte=1) & Q(stars__lte=5), name="stars_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id} {self.stars}"


class MatchmakingEvent(models.Model):
    """对接会: a cluster's providers and enterprises meet; outcomes are recorded after."""

    class State(models.TextChoices):
        DRAFT = "draft", _("筹备中")
        OPEN = "open", _("报名中")
        CLOSED = "closed", _("报名截止")
        DONE = "done", _("已举办")
        CANCELLED = "cancelled", _("已取消")

    cluster = models.ForeignKey(
        "core.Cluster", on_delete=models.PROTECT, related_name="events", verbose_name=_("产业集群")
    )
    title = models.CharField(_("活动名称"), max_length=200)
    description = models.TextField(_("活动介绍"), blank=True)
    starts_at = models.DateTimeField(_("开始时间"))
    venue = models.CharField(_("地点"), max_length=200)
    town = models.ForeignKey(
        "core.Town",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("举办镇街"),
    )
    capacity = models.PositiveIntegerField(_("名额"), default=100)
    state = models.CharField(
        _("状态"), max_length=10, choices=State.choices, default=State.DRAFT, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("对接会")
        verbose_name_plural = _("对接会")
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return self.title


class EventInvitation(models.Model):
    class Status(models.TextChoices):
        INVITED = "invited", _("已邀请")
        REGISTERED = "registered", _("已报名")
        DECLINED = "declined", _("不参加")
        ATTENDED = "attended", _("已到场")

    event = models.ForeignKey(
        MatchmakingEvent, on_delete=models.CASCADE, related_name="invitations"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="event_invitations"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.INVITED)
    invited_at = models.DateTimeField(default=timezone.now)
    responded_at = models.DateTimeField(null=True, blank=True)
    attendee_name = models.CharField(_("参会人"), max_length=50, blank=True)
    attendee_phone = models.CharField(_("联系电话"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("对接会邀请")
        verbose_name_plural = _("对接会邀请")
        ordering = ["event", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "organisation"], name="invite_once"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}:{self.organisation_id}"


class EventOutcome(models.Model):
    class Kind(models.TextChoices):
        INTENTION = "intention", _("合作意向")
        CONTRACT = "contract", _("签约")

    event = models.ForeignKey(MatchmakingEvent, on_delete=models.CASCADE, related_name="outcomes")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="event_outcomes"
    )
    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.CASCADE, related_name="event_outcomes"
    )
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    amount_yuan = models.DecimalField(
        _("金额（元）"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    note = models.CharField(_("备注"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("对接成果")
        verbose_name_plural = _("对接成果")
        ordering = ["event", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_yuan__isnull=True) | Q(amount_yuan__gte=0),
                name="outcome_amount_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}:{self.enterprise_id}-{self.provider_id} {self.kind}"
