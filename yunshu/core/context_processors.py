from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from yunshu.accounts.models import Role

from .notifications import notifications_unread_count

# (label, url name, roles that see it); None means every signed-in user.
NAV: list[tuple[Any, str, set[str] | None]] = [
    (_("工作台"), "home", None),
    (_("企业库"), "enterprises:list", {Role.CITY, Role.TOWN}),
    (_("我的企业"), "enterprises:mine", {Role.ENTERPRISE}),
    (_("数据授权"), "enterprises:grants", {Role.ENTERPRISE, Role.PROVIDER}),
    (_("授权企业"), "enterprises:list", {Role.PROVIDER}),
    (
        _("评估"),
        "assessments:list",
        {Role.ENTERPRISE, Role.PROVIDER, Role.ASSESSOR, Role.CITY, Role.TOWN},
    ),
    (_("水平分布"), "assessments:distribution", {Role.CITY, Role.TOWN}),
    (_("第三方评估"), "assessments:official", {Role.ASSESSOR}),
    (_("定级规则"), "assessments:rules", {Role.CITY}),
    (_("认领审核"), "enterprises:claims", {Role.CITY, Role.TOWN}),
    (_("导入名单"), "enterprises:import", {Role.CITY}),
    (_("成员管理"), "accounts:members", None),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {"nav_items": [], "unread_count": 0}
    role = getattr(user, "role", None)
    items = []
    for label, name, roles in NAV:
        if roles is not None and role not in roles:
            continue
        if name == "accounts:members" and not (user.is_org_admin or role in (Role.CITY, Role.TOWN)):  # type: ignore[union-attr]
            continue
        url = reverse(name)
        items.append(
            {
                "label": label,
                "url": url,
                "active": request.path == url or (url != "/" and request.path.startswith(url)),
            }
        )
    return {
        "nav_items": items,
        "unread_count": notifications_unread_count(user),
        "user_role": role,
        "user_role_label": Role(role).label if role else _("系统管理员"),
    }
