"""Money as people read it, the same on every page and in every language: yuan with thousands
separators ("¥68,000", "¥68,000.50"), or 万元 where the registry counts in 万元.

Django's zh-hans number format does not group digits, so `intcomma` printed "68000.00" on
one page while the recommendations said "¥68,000"."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template

register = template.Library()

CENT = Decimal("0.01")
WAN = Decimal(10_000)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def grouped(number: Decimal) -> str:
    """Thousands separators, cents only when there are any: 68000 → 68,000; 0.5 → 0.50."""
    cents = number.quantize(CENT, rounding=ROUND_HALF_UP)
    if cents == cents.to_integral_value():
        return f"{cents:,.0f}"
    return f"{cents:,.2f}"


@register.filter
def yuan(value: Any) -> str:
    """¥68,000 (— when there is no amount)."""
    number = _decimal(value)
    return "—" if number is None else f"¥{grouped(number)}"


@register.filter
def wan(value: Any) -> str:
    """An amount in yuan shown in 万元, as the registry does: 43097900 → 4,309.79."""
    number = _decimal(value)
    return "—" if number is None else grouped(number / WAN)
