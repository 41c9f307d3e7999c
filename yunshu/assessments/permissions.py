"""Who may start, fill, submit and sign assessments."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from yunshu.accounts.models import Role
from yunshu.enterprises.models import Enterprise
from yunshu.enterprises.selectors import enterprises_visible_to

from .models import Assessment

Decision = tuple[bool, str]
SOURCE_FOR_ROLE: dict[str | None, str] = {
    Role.ENTERPRISE: Assessment.Source.SELF,
    Role.PROVIDER: Assessment.Source.DIAGNOSIS,
    Role.ASSESSOR: Assessment.Source.OFFICIAL,
}


def _org(user: Any) -> Any:
    if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return None
    return user.organisation if user.organisation.is_active else None


def can_start_assessment(user: Any, enterprise: Enterprise, source: str) -> Decision:
    """The enterprise itself; a provider it granted the assessments scope (or the city
    assigned); an assessment body for an enterprise on the transformation list."""
    org = _org(user)
    if org is None or SOURCE_FOR_ROLE.get(org.kind) != source:
        return False, _("该角色不能发起这类评估")
    if not enterprises_visible_to(user, scope="assessments").filter(pk=enterprise.pk).exists():
        if org.kind == Role.PROVIDER:
            return False, _("诊断需要企业授权或市局指派")
        return False, _("不能评估这家企业")
    return True, ""


def can_edit_assessment(user: Any, assessment: Assessment) -> Decision:
    org = _org(user)
    if org is None or org.pk != assessment.organisation_id:
        return False, _("只有评估方可以填写")
    if assessment.is_locked:
        return False, _("已提交的评估不能修改")
    if assessment.source == Assessment.Source.DIAGNOSIS:
        return can_start_assessment(user, assessment.enterprise, assessment.source)
    return True, ""


def can_sign_assessment(user: Any, assessment: Assessment) -> Decision:
    """Whose signature counts; whether the result is ready is the service's question."""
    org = _org(user)
    if org is None or org.kind != Role.ASSESSOR or org.pk != assessment.organisation_id:
        return False, _("只有评估机构可以签发")
    if assessment.source != Assessment.Source.OFFICIAL:
        return False, _("只有第三方评估需要签发")
    return True, ""


def can_upload_official(user: Any) -> Decision:
    org = _org(user)
    if org is not None and org.kind == Role.ASSESSOR:
        return True, ""
    return False, _("只有评估机构可以上传第三方评估结果")


def can_manage_rules(user: Any) -> Decision:
    org = _org(user)
    if org is not None and org.kind == Role.CITY:
        return True, ""
    return False, _("只有市工信局可以更换定级规则")
