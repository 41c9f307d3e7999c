"""Template filters for the trust panel: a stored reason in plain words, signed points, colour."""

from __future__ import annotations

from typing import Any

from django import template

from yunshu.providers.trust import basis_text, reason_basis, reason_text

register = template.Library()

GRADE_COLOURS = {"A": "green", "B": "teal", "C": "yellow", "D": "red"}


@register.filter
def trust_reason(reason: Any) -> str:
    return reason_text(reason) if isinstance(reason, dict) else str(reason)


@register.filter
def trust_basis(reason: Any) -> str:
    """ "self_declared", "verified" or "" (the badge's key)."""
    return reason_basis(reason) if isinstance(reason, dict) else ""


@register.filter
def trust_basis_text(reason: Any) -> str:
    return basis_text(reason) if isinstance(reason, dict) else ""


@register.filter
def signed_points(points: Any) -> str:
    try:
        value = int(points)
    except (TypeError, ValueError):
        return ""
    if value > 0:
        return f"+{value}"
    if value < 0:
        return f"−{-value}"
    return "0"


@register.filter
def grade_colour(grade: Any) -> str:
    return GRADE_COLOURS.get(str(grade or ""), "secondary")
