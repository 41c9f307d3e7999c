"""Enterprise size class for industry (统计上大中小微型企业划分办法, 2017). No database."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from yunshu.core.size_class import (
    DEFAULT_THRESHOLDS_PATH,
    SizeClass,
    SizeThresholds,
    Tier,
    load_thresholds,
    size_class,
)

RANK = {SizeClass.MICRO: 0, SizeClass.SMALL: 1, SizeClass.MEDIUM: 2, SizeClass.LARGE: 3}
M = Decimal(1_000_000)

employees_st = st.integers(min_value=0, max_value=5_000)
revenue_st = st.decimals(min_value=0, max_value=1_000 * M, places=2, allow_nan=False)


# --- the edges named in the domain reference -------------------------------------------------


def test_exactly_20_employees_and_exactly_3m_is_small() -> None:
    assert size_class(20, 3 * M) == SizeClass.SMALL


def test_19_employees_is_micro_even_with_large_revenue() -> None:
    assert size_class(19, 3 * M) == SizeClass.MICRO
    assert size_class(19, 500 * M) == SizeClass.MICRO


def test_revenue_one_cent_below_3m_is_micro_even_with_many_employees() -> None:
    assert size_class(20, Decimal("2999999.99")) == SizeClass.MICRO
    assert size_class(5_000, Decimal("2999999.99")) == SizeClass.MICRO


def test_1200_employees_with_15m_revenue_is_small() -> None:
    # Misses the revenue bound of large (¥400m) and of medium (¥20m), so drops to small.
    assert size_class(1_200, 15 * M) == SizeClass.SMALL


def test_1000_employees_with_400m_is_large() -> None:
    assert size_class(1_000, 400 * M) == SizeClass.LARGE


def test_999_employees_with_400m_is_medium() -> None:
    assert size_class(999, 400 * M) == SizeClass.MEDIUM


def test_1000_employees_one_cent_below_400m_is_medium() -> None:
    assert size_class(1_000, Decimal("399999999.99")) == SizeClass.MEDIUM


def test_exactly_300_employees_and_20m_is_medium_and_299_is_small() -> None:
    assert size_class(300, 20 * M) == SizeClass.MEDIUM
    assert size_class(299, 20 * M) == SizeClass.SMALL
    assert size_class(300, Decimal("19999999.99")) == SizeClass.SMALL


def test_zero_employees_and_zero_revenue_is_micro() -> None:
    assert size_class(0, Decimal(0)) == SizeClass.MICRO


@pytest.mark.parametrize(
    ("employees", "revenue"), [(None, 3 * M), (20, None), (None, None)], ids=str
)
def test_missing_employees_or_revenue_is_unknown(
    employees: int | None, revenue: Decimal | None
) -> None:
    assert size_class(employees, revenue) == SizeClass.UNKNOWN


# --- input checking --------------------------------------------------------------------------


def test_float_revenue_is_refused() -> None:
    with pytest.raises(TypeError):
        size_class(20, 3_000_000.0)  # type: ignore[arg-type]


def test_negative_employees_is_refused() -> None:
    with pytest.raises(ValueError):
        size_class(-1, 3 * M)


def test_non_finite_revenue_is_refused() -> None:
    with pytest.raises(ValueError):
        size_class(20, Decimal("NaN"))


# --- thresholds are data ---------------------------------------------------------------------


def test_bundled_thresholds_name_the_2017_source_and_hold_revenue_as_strings() -> None:
    raw = json.loads(DEFAULT_THRESHOLDS_PATH.read_text(encoding="utf-8"))
    assert raw["source"] == "统计上大中小微型企业划分办法（2017）"
    assert all(isinstance(row["revenue_min_yuan"], str) for row in raw["classes"])

    thresholds = load_thresholds()
    assert thresholds.source == "统计上大中小微型企业划分办法（2017）"
    assert [(t.size, t.employees_min, t.revenue_min_yuan) for t in thresholds.tiers] == [
        (SizeClass.LARGE, 1_000, 400 * M),
        (SizeClass.MEDIUM, 300, 20 * M),
        (SizeClass.SMALL, 20, 3 * M),
    ]


def test_default_thresholds_are_loaded_once_and_cached() -> None:
    assert load_thresholds() is load_thresholds()


def test_thresholds_from_another_file_change_the_result(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    path.write_text(
        json.dumps(
            {
                "source": "test table",
                "classes": [
                    {"size": "large", "employees_min": "100", "revenue_min_yuan": "1000"},
                    {"size": "medium", "employees_min": "50", "revenue_min_yuan": "500"},
                    {"size": "small", "employees_min": "10", "revenue_min_yuan": "100"},
                ],
            }
        ),
        encoding="utf-8",
    )
    custom = load_thresholds(path)
    assert custom.source == "test table"
    assert size_class(100, Decimal(1000), custom) == SizeClass.LARGE
    assert size_class(100, Decimal(1000)) == SizeClass.MICRO  # bundled table: under ¥3m


def test_thresholds_that_are_not_nested_are_refused() -> None:
    with pytest.raises(ValueError):
        SizeThresholds(
            source="bad",
            tiers=(
                Tier(SizeClass.LARGE, 10, 400 * M),
                Tier(SizeClass.MEDIUM, 300, 20 * M),
                Tier(SizeClass.SMALL, 20, 3 * M),
            ),
        )


def test_thresholds_file_with_float_revenue_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    path.write_text(
        '{"source": "x", "classes": ['
        '{"size": "large", "employees_min": 1000, "revenue_min_yuan": 4e8},'
        '{"size": "medium", "employees_min": 300, "revenue_min_yuan": "20000000"},'
        '{"size": "small", "employees_min": 20, "revenue_min_yuan": "3000000"}]}',
        encoding="utf-8",
    )
    with pytest.raises(ValueError):
        load_thresholds(path)


def test_labels_are_chinese() -> None:
    if not settings.configured:
        pytest.skip("rendering a translated label needs Django settings")
    with translation.override("zh-hans"):
        labels = [str(choice.label) for choice in SizeClass]
    assert labels == ["大型", "中型", "小型", "微型", "未知"]
    assert SizeClass.values == ["large", "medium", "small", "micro", "unknown"]


# --- properties ------------------------------------------------------------------------------


@given(employees_st, revenue_st, st.integers(min_value=0, max_value=2_000))
def test_size_class_never_goes_down_when_employees_go_up(
    employees: int, revenue: Decimal, more: int
) -> None:
    assert RANK[size_class(employees + more, revenue)] >= RANK[size_class(employees, revenue)]


@given(employees_st, revenue_st, st.decimals(min_value=0, max_value=500 * M, places=2))
def test_size_class_never_goes_down_when_revenue_goes_up(
    employees: int, revenue: Decimal, more: Decimal
) -> None:
    assert RANK[size_class(employees, revenue + more)] >= RANK[size_class(employees, revenue)]


@given(employees_st, revenue_st)
def test_micro_exactly_when_under_20_employees_or_under_3m(
    employees: int, revenue: Decimal
) -> None:
    is_micro = size_class(employees, revenue) == SizeClass.MICRO
    assert is_micro == (employees < 20 or revenue < 3 * M)


@given(employees_st, revenue_st)
def test_each_class_meets_both_of_its_lower_bounds(employees: int, revenue: Decimal) -> None:
    result = size_class(employees, revenue)
    bounds = {
        SizeClass.LARGE: (1_000, 400 * M),
        SizeClass.MEDIUM: (300, 20 * M),
        SizeClass.SMALL: (20, 3 * M),
    }
    if result in bounds:
        min_employees, min_revenue = bounds[result]
        assert employees >= min_employees
        assert revenue >= min_revenue
