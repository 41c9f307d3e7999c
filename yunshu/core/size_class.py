"""Enterprise size class for industry (统计上大中小微型企业划分办法, 2017).

The thresholds are data (``data/size_thresholds.json``), not code. The rule:

- large, medium and small each need *both* lower bounds (employees and revenue); a firm that
  misses either one drops to the next class down, until one whose two bounds it meets;
- micro needs only one: fewer than 20 employees *or* less than ¥3m revenue.

So the class is the highest one whose two lower bounds are both met, and micro otherwise
(e.g. 1,200 employees with ¥15m revenue is small: it misses the revenue bound of large and of
medium). Revenue is a :class:`~decimal.Decimal` amount in yuan, never a float.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = [
    "DEFAULT_THRESHOLDS_PATH",
    "SizeClass",
    "SizeThresholds",
    "Tier",
    "load_thresholds",
    "size_class",
]

DEFAULT_THRESHOLDS_PATH: Final = Path(__file__).resolve().parent / "data" / "size_thresholds.json"


class SizeClass(models.TextChoices):
    LARGE = "large", _("大型")
    MEDIUM = "medium", _("中型")
    SMALL = "small", _("小型")
    MICRO = "micro", _("微型")
    UNKNOWN = "unknown", _("未知")


#: The classes that have lower bounds, from the top down.
_TIERED: Final = (SizeClass.LARGE, SizeClass.MEDIUM, SizeClass.SMALL)


@dataclass(frozen=True)
class Tier:
    """The two lower bounds a firm must both meet to be in ``size``."""

    size: SizeClass
    employees_min: int
    revenue_min_yuan: Decimal


@dataclass(frozen=True)
class SizeThresholds:
    """Lower bounds for large, medium and small (in that order), and where they come from."""

    source: str
    tiers: tuple[Tier, ...]
    sector: str = "industry"

    def __post_init__(self) -> None:
        sizes = tuple(tier.size for tier in self.tiers)
        if sizes != _TIERED:
            raise ValueError(
                f"size thresholds must list large, medium, small in order; got {sizes}"
            )
        for upper, lower in zip(self.tiers, self.tiers[1:], strict=False):
            if (
                upper.employees_min < lower.employees_min
                or upper.revenue_min_yuan < lower.revenue_min_yuan
            ):
                raise ValueError(f"{upper.size} bounds must not be below {lower.size} bounds")
        for tier in self.tiers:
            if tier.employees_min < 0 or tier.revenue_min_yuan < 0:
                raise ValueError(f"{tier.size} bounds must not be negative")


def _as_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{field} must be an integer or a string of digits, got {value!r}")
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError(f"{field} must be a whole number, got {value!r}")
    return int(text)


def _as_decimal(value: Any, field: str) -> Decimal:
    # Strings (or integers) only: a JSON float would already have lost precision.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{field} must be a string (yuan), got {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{field} is not a number: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"{field} must be finite, got {value!r}")
    return amount


def _parse(data: Any) -> SizeThresholds:
    if not isinstance(data, dict):
        raise ValueError("size thresholds file must hold a JSON object")
    source = data.get("source")
    if not isinstance(source, str) or not source:
        raise ValueError("size thresholds need a non-empty 'source'")
    rows = data.get("classes")
    if not isinstance(rows, list):
        raise ValueError("size thresholds need a 'classes' list")
    tiers = []
    for row in rows:
        if not isinstance(row, dict):
            raise ValueError(f"each class must be an object, got {row!r}")
        size_value = row.get("size")
        if size_value not in _TIERED:
            raise ValueError(f"'size' must be one of large, medium, small; got {size_value!r}")
        size = SizeClass(str(size_value))
        tiers.append(
            Tier(
                size=size,
                employees_min=_as_int(row.get("employees_min"), f"{size}.employees_min"),
                revenue_min_yuan=_as_decimal(
                    row.get("revenue_min_yuan"), f"{size}.revenue_min_yuan"
                ),
            )
        )
    return SizeThresholds(source=source, tiers=tuple(tiers), sector=str(data.get("sector", "")))


@lru_cache(maxsize=1)
def _default_thresholds() -> SizeThresholds:
    return _read(DEFAULT_THRESHOLDS_PATH)


def _read(path: Path) -> SizeThresholds:
    with path.open(encoding="utf-8") as handle:
        return _parse(json.load(handle, parse_float=Decimal))


def load_thresholds(path: str | Path | None = None) -> SizeThresholds:
    """Read thresholds from ``path``, or the bundled 2017 industry table (cached) when None."""
    if path is None:
        return _default_thresholds()
    return _read(Path(path))


def size_class(
    employees: int | None,
    revenue_yuan: Decimal | None,
    thresholds: SizeThresholds | None = None,
) -> SizeClass:
    """The size class for a headcount and an annual revenue in yuan.

    Unknown when either input is missing. Raises ``TypeError`` for a float revenue (use
    :class:`~decimal.Decimal`) and ``ValueError`` for a negative headcount or a non-finite revenue.
    """
    if employees is None or revenue_yuan is None:
        return SizeClass.UNKNOWN
    if isinstance(employees, bool) or not isinstance(employees, int):
        raise TypeError(f"employees must be an int, got {type(employees).__name__}")
    if isinstance(revenue_yuan, bool) or not isinstance(revenue_yuan, Decimal | int):
        raise TypeError(f"revenue_yuan must be a Decimal, got {type(revenue_yuan).__name__}")
    if employees < 0:
        raise ValueError(f"employees must not be negative, got {employees}")
    revenue = Decimal(revenue_yuan)
    if not revenue.is_finite():
        raise ValueError(f"revenue_yuan must be finite, got {revenue_yuan}")

    table = thresholds if thresholds is not None else load_thresholds()
    for tier in table.tiers:
        if employees >= tier.employees_min and revenue >= tier.revenue_min_yuan:
            return tier.size
    return SizeClass.MICRO
