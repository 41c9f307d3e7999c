from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from yunshu.accounts.models import Role

from .notifications import notifications_unread_count

# (label, url name, roles that see it, menu group); None roles means every signed-in user.
# A group with one visible entry shows as a plain link, otherwise as a dropdown.
# Menu group names are short in every language (context "nav"): the top bar must fit 1024 px.
ENTERPRISES = pgettext_lazy("nav", "企业")
ASSESS = pgettext_lazy("nav", "评估")
MATCH = pgettext_lazy("nav", "供需对接")
POOL = pgettext_lazy("nav", "服务商")
NAV: list[tuple[Any, str, set[str] | None, Any]] = [
    (_("工作台"), "home", None, None),
    (_("企业库"), "enterprises:list", {Role.CITY, Role.TOWN}, ENTERPRISES),
    (_("认领审核"), "enterprises:claims", {Role.CITY, Role.TOWN}, ENTERPRISES),
    (_("导入名单"), "enterprises:import", {Role.CITY}, ENTERPRISES),
    (_("我的企业"), "enterprises:mine", {Role.ENTERPRISE}, None),
    (
        _("评估"),
        "assessments:list",
        {Role.ENTERPRISE, Role.PROVIDER, Role.ASSESSOR, Role.CITY, Role.TOWN},
        ASSESS,
    ),
    (_("水平分布"), "assessments:distribution", {Role.CITY, Role.TOWN}, ASSESS),
    (_("第三方评估"), "assessments:official", {Role.ASSESSOR}, ASSESS),
    (_("定级规则"), "assessments:rules", {Role.CITY}, ASSESS),
    (_("为我推荐"), "matching:recommendations", {Role.ENTERPRISE}, MATCH),
    (_("需求收件箱"), "matching:inbox", {Role.PROVIDER}, MATCH),
    (_("服务方案"), "matching:proposals", {Role.ENTERPRISE, Role.PROVIDER}, MATCH),
    (_("数据授权"), "enterprises:grants", {Role.ENTERPRISE, Role.PROVIDER}, MATCH),
    (_("授权服务商"), "matching:share", {Role.ENTERPRISE}, MATCH),
    (_("谁看过我的数据"), "matching:access_log", {Role.ENTERPRISE}, MATCH),
    (_("授权企业"), "enterprises:list", {Role.PROVIDER}, MATCH),
    (_("供需热力图"), "matching:supply_heatmap", {Role.CITY, Role.TOWN}, MATCH),
    (
        _("对接会"),
        "matching:event_list",
        {Role.CITY, Role.TOWN, Role.ENTERPRISE, Role.PROVIDER},
        MATCH,
    ),
    (_("批量匹配"), "matching:runs", {Role.CITY}, MATCH),
    (_("产品目录"), "catalogue:list", None, POOL),
    (_("我的产品"), "catalogue:mine", {Role.PROVIDER}, POOL),
    (_("入库申请"), "providers:application", {Role.PROVIDER}, POOL),
    (_("平台安全档案"), "providers:platform_list", {Role.PROVIDER}, POOL),
    (_("服务商入库"), "providers:vetting_queue", {Role.CITY}, POOL),
    (_("平台监管"), "providers:supervision", {Role.CITY}, POOL),
    (_("年度复核"), "providers:review_list", {Role.CITY, Role.PROVIDER}, POOL),
    (_("投诉"), "providers:complaint_list", {Role.CITY, Role.ENTERPRISE, Role.PROVIDER}, POOL),
    (_("成员管理"), "accounts:members", None, None),
]


def _nav_items(role: str | None, admin: bool, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    for label, name, roles, group in NAV:
        if roles is not None and role not in roles:
            continue
        if name == "accounts:members" and not admin:
            continue
        url = _url(name)
        entry = {
            "label": label,
            "url": url,
            "active": path == url or (url != "/" and path.startswith(url)),
        }
        if group is None:
            items.append(entry)
            continue
        key = str(group)
        if key not in groups:
            groups[key] = {"label": group, "children": [], "active": False}
            items.append(groups[key])
        groups[key]["children"].append(entry)
        groups[key]["active"] = groups[key]["active"] or entry["active"]
    # A group with a single entry is just that link.
    return [i["children"][0] if "children" in i and len(i["children"]) == 1 else i for i in items]


# The menu depends only on the role, the admin flag, the language and which entry is active:
# rendered once per process for each, instead of reversing ~30 URLs and looping the template
# on every page.
_menus: dict[tuple[Any, ...], str] = {}
_urls: dict[tuple[str, str], str] = {}


def _url(name: str) -> str:
    key = (name, get_script_prefix())
    if key not in _urls:
        _urls[key] = reverse(name)
    return _urls[key]


def _menu(role: str | None, admin: bool, path: str) -> str:
    active = tuple(
        url
        for _label, name, _roles, _group in NAV
        if (url := _url(name)) == path or (url != "/" and path.startswith(url))
    )
    key = (role, admin, get_language(), get_script_prefix(), active)
    if key not in _menus:
        _menus[key] = render_to_string(
            "core/_nav.html", {"nav_items": _nav_items(role, admin, path)}
        )
    return _menus[key]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {"nav_html": "", "unread_count": 0}
    role = getattr(user, "role", None)
    admin = bool(user.is_org_admin or role in (Role.CITY, Role.TOWN))  # type: ignore[union-attr]
    return {
        "nav_html": _menu(role, admin, request.path),
        "unread_count": notifications_unread_count(user),
        "user_role": role,
        "user_role_label": Role(role).label if role else _("系统管理员"),
    }
