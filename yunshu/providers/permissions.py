"""Plain predicates for the provider pool: can_<verb>_<object>(user, obj) -> (allowed, reason).

Which role may apply which vetting action is read from the one transition table in
vetting.py, so a new action never needs a new predicate here.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from yunshu.accounts.models import Role

from .models import Certificate, Provider, ProviderDocument, VettingState

Decision = tuple[bool, str]
OK: Decision = (True, "")


def _org(user: Any) -> Any:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return None
    org = getattr(user, "organisation", None)
    return org if org is not None and org.is_active else None


def _role(user: Any) -> str | None:
    org = _org(user)
    return str(org.kind) if org is not None else None


def is_city(user: Any) -> bool:
    return _role(user) == Role.CITY


def is_member_of(user: Any, provider: Provider) -> bool:
    """The user belongs to the provider's own organisation."""
    org = _org(user)
    return org is not None and org.kind == Role.PROVIDER and org.pk == provider.organisation_id


def can_apply_to_pool(user: Any) -> Decision:
    """A provider organisation without a pool record; its administrator applies."""
    org = _org(user)
    if org is None or org.kind != Role.PROVIDER:
        return False, _("只有服务商可以申请入库")
    if not user.is_org_admin:
        return False, _("只有本单位管理员可以申请入库")
    if Provider.objects.filter(organisation=org).exists():
        return False, _("本单位已提交入库申请")
    return OK


def can_edit_provider_profile(user: Any, provider: Provider) -> Decision:
    if not is_member_of(user, provider) or not user.is_org_admin:
        return False, _("只有服务商本单位管理员可以修改资料")
    if provider.vetting_state == VettingState.REVOKED:
        return False, _("已除名的服务商不能修改资料")
    return OK


def can_transition_provider(user: Any, provider: Provider, action: str) -> Decision:
    """The role may take this action at all (the state is checked by the service)."""
    from .vetting import ACTION_ROLES

    roles = ACTION_ROLES.get(action)
    if not roles:
        return False, _("未知操作")
    role = _role(user)
    if role not in roles:
        return False, _("无权执行该操作")
    if role == Role.PROVIDER and not (is_member_of(user, provider) and user.is_org_admin):
        return False, _("只有服务商本单位管理员可以执行该操作")
    return OK


def can_view_vetting_queue(user: Any) -> Decision:
    if is_city(user):
        return OK
    return False, _("只有市工信局可以审核服务商入库")


def can_set_lead_provider(user: Any, provider: Provider) -> Decision:
    if not is_city(user):
        return False, _("只有市工信局可以设定牵引单位")
    return OK


def can_upload_document(user: Any, provider: Provider) -> Decision:
    if not is_member_of(user, provider):
        return False, _("只有服务商本单位可以上传材料")
    if provider.vetting_state == VettingState.REVOKED:
        return False, _("已除名的服务商不能上传材料")
    return OK


def can_withdraw_document(user: Any, document: ProviderDocument) -> Decision:
    """The provider's own users take back a wrong upload; the city keeps seeing it, marked."""
    allowed, reason = can_upload_document(user, document.provider)
    if not allowed:
        return allowed, reason
    if document.withdrawn_at is not None:
        return False, _("该材料已撤回")
    return OK


def can_download_document(user: Any, document: ProviderDocument) -> Decision:
    if is_city(user) or is_member_of(user, document.provider):
        return OK
    return False, _("无权下载该材料")


def can_add_certificate(user: Any, provider: Provider) -> Decision:
    if not is_member_of(user, provider):
        return False, _("只有服务商本单位可以登记证书")
    if provider.vetting_state == VettingState.REVOKED:
        return False, _("已除名的服务商不能登记证书")
    return OK


def can_review_certificate(user: Any, certificate: Certificate) -> Decision:
    if not is_city(user):
        return False, _("只有市工信局可以审核证书")
    return OK
