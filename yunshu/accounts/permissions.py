from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from .models import Organisation, Role


def can_manage_members(user: Any, organisation: Organisation) -> tuple[bool, str]:
    """An organisation's admin manages its members; officers manage their own office."""
    if not getattr(user, "is_authenticated", False) or user.organisation_id != organisation.pk:
        return False, _("只能管理本机构的成员")
    if user.is_org_admin or organisation.kind in (Role.CITY, Role.TOWN):
        return True, ""
    return False, _("只有机构管理员可以管理成员")
