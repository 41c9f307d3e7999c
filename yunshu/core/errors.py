from __future__ import annotations

from django.http import Http404


def check(decision: tuple[bool, str]) -> None:
    """Refuse with the same 404 a missing record gives, so nothing leaks that it exists."""
    allowed, _reason = decision
    if not allowed:
        raise Http404


def is_htmx(request: object) -> bool:
    """True for a request htmx sent (django-htmx's middleware sets request.htmx)."""
    return bool(getattr(request, "htmx", False))
