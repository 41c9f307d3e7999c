from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """mapping[key] in a template; None when absent."""
    if not hasattr(mapping, "get"):
        return None
    return mapping.get(key)


LEVEL_NAMES = {
    0: _("未达一级"),
    1: _("一级"),
    2: _("二级"),
    3: _("三级"),
    4: _("四级"),
}
RISK_NAMES = {"high": _("高"), "medium": _("中"), "low": _("低")}


@register.filter
def level_name(level: Any) -> str:
    """一级 … 四级 (or 未达一级) in the active language."""
    try:
        return str(LEVEL_NAMES[int(level)])
    except (KeyError, TypeError, ValueError):
        return "—"


@register.filter
def risk_name(grade: Any) -> str:
    return str(RISK_NAMES.get(grade, "—"))
