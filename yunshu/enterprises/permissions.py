"""Plain predicates: can_<verb>_<object>(user, obj) -> (allowed, reason)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from yunshu.accounts.models import Role

from .models import DataGrant, Enterprise, EnterpriseClaim

Decision = tuple[bool, str]


def _role(user: Any) -> str | None:
    if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return None
    return str(user.organisation.kind)


def can_edit_enterprise(user: Any, enterprise: Enterprise) -> Decision:
    if _role(user) == Role.ENTERPRISE and user.organisation.enterprise_id == enterprise.pk:
        return True, ""
    return False, _("只有企业自己的用户可以修改企业信息")


def can_export_enterprises(user: Any) -> Decision:
    if _role(user) in (Role.CITY, Role.TOWN, Role.ENTERPRISE):
        return True, ""
    return False, _("无权导出企业名单")


def can_import_enterprises(user: Any) -> Decision:
    if _role(user) == Role.CITY:
        return True, ""
    return False, _("只有市工信局可以导入企业名单")


def can_view_enterprise_history(user: Any, enterprise: Enterprise) -> Decision:
    if _role(user) == Role.CITY:
        return True, ""
    return False, _("只有市工信局可以查看修改历史")


def can_verify_enterprise(user: Any, enterprise: Enterprise) -> Decision:
    role = _role(user)
    if role == Role.CITY or (role == Role.TOWN and user.organisation.town_id == enterprise.town_id):
        return True, ""
    return False, _("只有本镇街或市工信局可以核验企业")


def can_decide_claim(user: Any, claim: EnterpriseClaim) -> Decision:
    if claim.status != EnterpriseClaim.Status.PENDING:
        return False, _("该认领已处理")
    return can_verify_enterprise(user, claim.enterprise)


def can_grant_access(user: Any, enterprise: Enterprise) -> Decision:
    if _role(user) == Role.ENTERPRISE and user.organisation.enterprise_id == enterprise.pk:
        return True, ""
    return False, _("只有企业自己可以授权服务商查看数据")


def can_assign_diagnosis(user: Any, enterprise: Enterprise) -> Decision:
    if _role(user) != Role.CITY:
        return False, _("只有市工信局可以指派诊断服务商")
    if not enterprise.on_transformation_list:
        return False, _("该企业不在改造名单中")
    return True, ""


def can_revoke_grant(user: Any, grant: DataGrant) -> Decision:
    role = _role(user)
    if role == Role.ENTERPRISE and user.organisation.enterprise_id == grant.enterprise_id:
        return True, ""
    if role == Role.CITY and grant.source == DataGrant.Source.CITY_ASSIGNMENT:
        return True, ""
    return False, _("无权撤销该授权")
