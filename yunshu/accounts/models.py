from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A user's role is the kind of organisation they belong to."""

    ENTERPRISE = "enterprise", _("企业")
    PROVIDER = "provider", _("服务商")
    TOWN = "town", _("镇街")
    CITY = "city", _("市工信局")
    EXPERT = "expert", _("评审专家")
    ASSESSOR = "assessor", _("评估机构")
    COLLEGE = "college", _("院校")


class Organisation(models.Model):
    kind = models.CharField(_("类型"), max_length=20, choices=Role.choices)
    name = models.CharField(_("名称"), max_length=200)
    town = models.ForeignKey(
        "core.Town",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offices",
        verbose_name=_("所属镇街"),
        help_text=_("镇街办公室必填"),
    )
    enterprise = models.OneToOneField(
        "enterprises.Enterprise",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisation",
        verbose_name=_("企业"),
    )
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    is_lead_provider = models.BooleanField(_("牵引单位"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("机构")
        verbose_name_plural = _("机构")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="town") | Q(town__isnull=False), name="town_office_has_town"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("所属机构"),
    )
    display_name = models.CharField(_("姓名"), max_length=100, blank=True)
    phone = models.CharField(_("手机"), max_length=30, blank=True)
    is_org_admin = models.BooleanField(_("机构管理员"), default=False)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    @property
    def role(self) -> str | None:
        return self.organisation.kind if self.organisation_id else None  # type: ignore[union-attr]

    def __str__(self) -> str:
        return self.display_name or self.username


class Invitation(models.Model):
    """An organisation admin or officer invites a person to join their organisation."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("邮箱"))
    token = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("邀请")
        verbose_name_plural = _("邀请")

    def __str__(self) -> str:
        return f"{self.email} → {self.organisation}"
