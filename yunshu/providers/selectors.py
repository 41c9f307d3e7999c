"""Reads of the provider pool that every part shares. Area-specific reads live with their
area (catalogue.py, supervision.py, vetting.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from yunshu.accounts.models import Role

from .models import Product, Provider, VettingState


def _org(user: Any) -> Any:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    org = user.organisation
    return org if org is not None and org.is_active else None


def provider_for(user: Any) -> Provider | None:
    """The pool record of the provider organisation the user belongs to, if any."""
    org = _org(user)
    if org is None or org.kind != Role.PROVIDER:
        return None
    return Provider.objects.filter(organisation=org).first()


def providers_visible_to(user: Any) -> QuerySet[Provider]:
    """The city sees every provider; a provider its own record; everyone else (the public
    included) only providers in the pool."""
    qs = Provider.objects.select_related("organisation")
    org = _org(user)
    if (org is not None and org.kind == Role.CITY) or getattr(user, "is_superuser", False):
        return qs
    approved = qs.filter(vetting_state=VettingState.APPROVED)
    if org is not None and org.kind == Role.PROVIDER:
        return qs.filter(organisation=org) | approved
    return approved


def catalogue_products() -> QuerySet[Product]:
    """What the public catalogue and matching may show: published, visible, provider in the pool."""
    return Product.objects.filter(
        status=Product.Status.PUBLISHED,
        visibility=Product.Visibility.VISIBLE,
        provider__vetting_state=VettingState.APPROVED,
    ).select_related("provider")
