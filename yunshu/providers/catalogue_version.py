"""A counter that every write matching depends on bumps (products, scenes, visibility,
vetting, trust, ratings), so an in-process snapshot of the catalogue knows when to reload."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone

from yunshu.core.prepared import Prepared
from yunshu.core.versions import data_changed

from .models import CatalogueVersion


def catalogue_bump() -> None:
    # Also the data version the catalogue page's totals are cached under (core.versions).
    data_changed("catalogue")
    updated = CatalogueVersion.objects.filter(pk=1).update(
        number=F("number") + 1, changed_at=timezone.now()
    )
    if not updated:
        CatalogueVersion.objects.get_or_create(pk=1, defaults={"number": 1})


def catalogue_stamp() -> tuple[int, Any]:
    """The version and when it moved: the pair tells apart two numbers that a rolled-back
    transaction (a test's) made equal."""
    rows = _STAMP.rows()
    return (int(rows[0][0]), rows[0][1]) if rows else (0, None)


# Read by every catalogue page: compiled once (yunshu.core.prepared).
_STAMP = Prepared(
    lambda: CatalogueVersion.objects.filter(pk=1).values_list("number", "changed_at")[:1]
)


def catalogue_version() -> int:
    row = CatalogueVersion.objects.filter(pk=1).values_list("number", flat=True).first()
    return int(row or 0)
