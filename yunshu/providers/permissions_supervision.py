"""Plain predicates for supervision, annual review and complaints: (allowed, reason)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from yunshu.accounts.models import Role

from .models import Complaint, Incident, Platform, Provider, VettingState

Decision = tuple[bool, str]


def _role(user: Any) -> str | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    org = user.organisation
    if org is None or not org.is_active:
        return None
    return str(org.kind)


def is_city(user: Any) -> bool:
    return _role(user) == Role.CITY


def _own_provider(user: Any, provider: Provider) -> bool:
    """The user belongs to the provider's own organisation (no query)."""
    return _role(user) == Role.PROVIDER and user.organisation_id == provider.organisation_id


def can_view_supervision(user: Any) -> Decision:
    if _role(user) in (Role.CITY, Role.PROVIDER):
        return True, ""
    return False, _("只有市工信局和服务商可以查看平台安全档案")


def can_create_platform(user: Any, provider: Provider | None) -> Decision:
    if provider is not None and _own_provider(user, provider):
        return True, ""
    return False, _("只有服务商自己可以填报平台安全档案")


def can_edit_platform(user: Any, platform: Platform) -> Decision:
    if _own_provider(user, platform.provider):
        return True, ""
    return False, _("只有服务商自己可以修改平台安全档案")


def can_report_incident(user: Any, platform: Platform) -> Decision:
    if is_city(user) or _own_provider(user, platform.provider):
        return True, ""
    return False, _("只有该平台的服务商或市工信局可以登记安全事件")


def can_resolve_incident(user: Any, incident: Incident) -> Decision:
    """The city closes any incident; a provider only those it reported itself (closing one
    the city recorded would cut its own penalty on its own word)."""
    if incident.resolved_at is not None:
        return False, _("该事件已处置完毕")
    if is_city(user):
        return True, ""
    if _own_provider(user, incident.platform.provider):
        if incident.source == Incident.Source.PROVIDER:
            return True, ""
        return False, _(
            "该事件由市工信局登记，须由市工信局认定处置完毕；您可以提交处置情况供其确认"
        )
    return False, _("只有该平台的服务商或市工信局可以登记处置情况")


def can_propose_incident_resolution(user: Any, incident: Incident) -> Decision:
    if incident.resolved_at is not None:
        return False, _("该事件已处置完毕")
    if incident.source != Incident.Source.CITY or not _own_provider(
        user, incident.platform.provider
    ):
        return False, _("只有该平台的服务商可以为市工信局登记的事件提交处置情况")
    return True, ""


def can_verify_platform(user: Any, platform: Platform) -> Decision:
    if is_city(user):
        return True, ""
    return False, _("只有市工信局可以核实平台安全档案")


def can_export_supervision(user: Any) -> Decision:
    if is_city(user):
        return True, ""
    return False, _("只有市工信局可以导出监管数据")


def can_review_providers(user: Any) -> Decision:
    if is_city(user):
        return True, ""
    return False, _("只有市工信局可以开展年度复核")


def can_review_provider(user: Any, provider: Provider) -> Decision:
    allowed, reason = can_review_providers(user)
    if not allowed:
        return allowed, reason
    if provider.vetting_state not in (VettingState.APPROVED, VettingState.SUSPENDED):
        return False, _("只有已入库或已暂停的服务商需要年度复核")
    return True, ""


def can_file_complaint(user: Any) -> Decision:
    if _role(user) == Role.ENTERPRISE and user.organisation.enterprise_id is not None:
        return True, ""
    return False, _("只有企业用户可以提交投诉")


def can_export_complaints(user: Any) -> Decision:
    if is_city(user):
        return True, ""
    return False, _("只有市工信局可以导出投诉")


def complaint_party(user: Any, complaint: Complaint) -> str | None:
    """Which side of the complaint the user is on: enterprise, provider, city or None."""
    role = _role(user)
    if role == Role.CITY:
        return Role.CITY
    if role == Role.ENTERPRISE and user.organisation.enterprise_id == complaint.enterprise_id:
        return Role.ENTERPRISE
    if role == Role.PROVIDER and _own_provider(user, complaint.provider):
        return Role.PROVIDER
    return None
