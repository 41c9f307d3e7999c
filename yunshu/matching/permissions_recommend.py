"""Who may see recommendations and run the batch: can_<verb>_<object>(user, obj) -> (ok, why)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from yunshu.accounts.models import Role

Decision = tuple[bool, str]


def _role(user: Any) -> str | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.CITY
    org = user.organisation
    if org is None or not org.is_active:
        return None
    return str(org.kind)


def can_view_recommendations(user: Any, enterprise: Any) -> Decision:
    """The enterprise itself; its town's office and the city (who can see it anyway).
    Providers never see another firm's shortlist."""
    role = _role(user)
    if role == Role.ENTERPRISE and user.organisation.enterprise_id == enterprise.pk:
        return True, ""
    if role == Role.TOWN and user.organisation.town_id == enterprise.town_id:
        return True, ""
    if role == Role.CITY:
        return True, ""
    return False, _("只有企业本身、所在镇街和市工信局可以查看推荐")


def can_share_from_recommendations(user: Any, enterprise: Any) -> Decision:
    if _role(user) == Role.ENTERPRISE and user.organisation.enterprise_id == enterprise.pk:
        return True, ""
    return False, _("只有企业本身可以向服务商分享资料")


def can_run_matching(user: Any) -> Decision:
    if _role(user) == Role.CITY:
        return True, ""
    return False, _("只有市工信局可以运行批量匹配")
