"""The registry export: its headers are the import's, so an exported file imports back unchanged."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from openpyxl import load_workbook

from yunshu.core.audit import audit_verify
from yunshu.core.demo import generate_enterprises
from yunshu.core.models import AuditEntry, Cluster
from yunshu.enterprises.exports import write_enterprises_xlsx
from yunshu.enterprises.importer import EXPORT_HEADERS, import_enterprises, map_columns
from yunshu.enterprises.models import Enterprise, OperatingStatus
from yunshu.enterprises.tests.test_importer import code
from yunshu.factories import EnterpriseFactory, industry, town

pytestmark = pytest.mark.django_db

OFFICIAL_HEADERS = [
    "统一社会信用代码",
    "企业名称",
    "所属镇街",
    "行业代码",
    "从业人员",
    "营业收入（万元）",
    "是否规上",
    "是否专精特新",
    "联系人",
    "联系电话",
    "地址",
]
# Everything the import may write, plus what it must leave alone.
SNAPSHOT_FIELDS = (
    "uscc",
    "name",
    "town_id",
    "industry_id",
    "cluster_id",
    "cluster_overridden",
    "employees",
    "employees_year",
    "revenue",
    "revenue_year",
    "size_class",
    "above_scale",
    "specialised",
    "contact_name",
    "contact_phone",
    "address",
    "registered_on",
    "status",
    "updated_at",
)


def export_to(path: Path, qs: Any = None) -> list[int]:
    with path.open("wb") as f:
        return write_enterprises_xlsx(qs if qs is not None else Enterprise.objects.all(), f)


def sheet_rows(path: Path) -> list[list[Any]]:
    ws = load_workbook(path, read_only=True).worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def snapshot() -> dict[str, dict[str, Any]]:
    return {r["uscc"]: r for r in Enterprise.objects.values(*SNAPSHOT_FIELDS)}


def varied_registry() -> list[Enterprise]:
    """Enterprises exercising every exported column, including blanks and edge values."""
    return [
        EnterpriseFactory(uscc=code(300)),  # factory defaults: no years, no contact
        EnterpriseFactory(
            uscc=code(301),
            name="东莞市华盛精密电子有限公司",
            town=town("松山湖"),
            industry=industry("39"),
            cluster=Cluster.objects.get(key="electronics"),
            employees=1250,
            employees_year=2024,
            revenue=Decimal("456789012.34"),
            revenue_year=2024,
            size_class="large",
            above_scale=True,
            specialised=True,
            contact_name="陈经理",
            contact_phone="13800138000",
            address="松山湖科技路1号A栋",
            registered_on=dt.date(2003, 7, 15),
            status=OperatingStatus.ACTIVE,
        ),
        EnterpriseFactory(
            uscc=code(302),
            name="东莞市鸿达纸品厂",
            town=town("麻涌"),
            industry=industry("22"),
            employees=None,
            revenue=None,
            size_class="unknown",
            status=OperatingStatus.REVOKED,
            registered_on=dt.date(1999, 1, 1),
        ),
        EnterpriseFactory(
            uscc=code(303),
            name="东莞市零收入模具有限公司",
            town=town("长安"),
            industry=industry("33"),
            employees=0,
            revenue=Decimal("0.00"),
            size_class="micro",
            contact_phone="0769-85551234",
            status=OperatingStatus.SUSPENDED,
        ),
        EnterpriseFactory(
            uscc=code(304),
            name="东莞市一分钱五金有限公司",
            industry=industry("33"),
            employees=21,
            revenue=Decimal("3000000.01"),
            size_class="small",
            employees_year=2023,
            revenue_year=2023,
        ),
        # A pinned cluster that differs from the division's.
        EnterpriseFactory(
            uscc=code(305),
            industry=industry("18"),
            cluster=Cluster.objects.get(key="equipment"),
            cluster_overridden=True,
            status=OperatingStatus.LIQUIDATING,
        ),
        EnterpriseFactory(uscc=code(306, area="440300"), status=OperatingStatus.MOVED_OUT),
        EnterpriseFactory(uscc=code(307), status=OperatingStatus.CANCELLED),
        # A very large revenue with cents (more digits than any real firm's).
        EnterpriseFactory(
            uscc=code(308),
            employees=5000,
            revenue=Decimal("1234567890123.45"),
            size_class="large",
        ),
    ]


def test_export_headers_are_the_official_import_headers(tmp_path: Path) -> None:
    EnterpriseFactory(uscc=code(310))
    path = tmp_path / "out.xlsx"
    export_to(path)
    header = sheet_rows(path)[0]
    assert header == [h for _key, h in EXPORT_HEADERS]
    assert set(OFFICIAL_HEADERS) <= set(header)
    assert {"成立日期", "经营状态", "统计年度"} <= set(header)
    columns, _headers, problems = map_columns(header)
    assert problems == []
    assert columns == {key: i for i, (key, _h) in enumerate(EXPORT_HEADERS)}


def test_export_writes_exactly_the_rows_of_the_queryset_and_returns_their_ids(
    tmp_path: Path,
) -> None:
    humen = [EnterpriseFactory(uscc=code(311 + i), town=town("虎门")) for i in range(3)]
    EnterpriseFactory(uscc=code(320), town=town("长安"))
    path = tmp_path / "out.xlsx"
    ids = export_to(path, Enterprise.objects.filter(town__name_zh="虎门"))
    assert sorted(ids) == sorted(e.pk for e in humen)
    rows = sheet_rows(path)[1:]
    assert sorted(r[0] for r in rows) == sorted(e.uscc for e in humen)
    assert {r[2] for r in rows} == {"虎门"}


def test_export_cells_are_what_an_official_would_type(tmp_path: Path) -> None:
    e = varied_registry()[1]
    path = tmp_path / "out.xlsx"
    export_to(path, Enterprise.objects.filter(pk=e.pk))
    header, row = sheet_rows(path)
    cells = dict(zip(header, row, strict=True))
    assert cells["统一社会信用代码"] == code(301)
    assert cells["所属镇街"] == "松山湖"
    assert cells["行业代码"] == "39"
    assert cells["从业人员"] == 1250
    # Revenue in 万元: a number, or text when a float cannot carry it exactly.
    revenue = cells["营业收入（万元）"]
    assert isinstance(revenue, float | str)
    assert Decimal(str(revenue)) == Decimal("45678.901234")
    assert cells["统计年度"] == 2024
    assert (cells["是否规上"], cells["是否专精特新"]) == ("是", "是")
    assert cells["联系电话"] == "13800138000"
    assert cells["成立日期"] == "2003-07-15"
    assert cells["经营状态"] == "存续"


def test_exported_file_imports_back_unchanged(tmp_path: Path) -> None:
    varied_registry()
    before = snapshot()
    audit_count = AuditEntry.objects.count()
    path = tmp_path / "out.xlsx"
    export_to(path)
    report, rejected = import_enterprises(path)
    assert report.errors == [] and rejected == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, len(before))
    assert snapshot() == before
    assert AuditEntry.objects.filter(action="enterprise.update").count() == 0
    assert AuditEntry.objects.count() == audit_count + 1  # the import itself
    assert audit_verify()[1] is None


def test_exported_demo_world_imports_back_unchanged(tmp_path: Path) -> None:
    made = generate_enterprises(300, seed=11)
    before = snapshot()
    path = tmp_path / "demo.xlsx"
    export_to(path)
    report, _rejected = import_enterprises(path)
    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, made)
    assert snapshot() == before


def test_exported_file_recreates_the_same_records_in_an_empty_registry(tmp_path: Path) -> None:
    varied_registry()
    ignore = {"updated_at", "cluster_id", "cluster_overridden"}
    before = {k: {f: v for f, v in r.items() if f not in ignore} for k, r in snapshot().items()}
    path = tmp_path / "out.xlsx"
    export_to(path)
    Enterprise.objects.all().delete()
    report, _rejected = import_enterprises(path)
    assert report.created == len(before) and report.errors == []
    after = {k: {f: v for f, v in r.items() if f not in ignore} for k, r in snapshot().items()}
    assert after == before
    # Recreated, the pinned cluster cannot be known: it follows the division again.
    assert Enterprise.objects.get(uscc=code(305)).cluster.key == "textile"


def test_export_made_in_the_english_interface_imports_back_unchanged(tmp_path: Path) -> None:
    varied_registry()
    path = tmp_path / "out.xlsx"
    with translation.override("en"):
        export_to(path)
    report, _rejected = import_enterprises(path)
    assert report.errors == []
    assert (report.created, report.updated) == (0, 0)


def test_export_and_reimport_keep_full_width_brackets_in_official_names(tmp_path: Path) -> None:
    # BUG: importer._text() applies NFKC to every cell, so the official name
    # "东莞市华盛电子（集团）有限公司" comes back as "东莞市华盛电子(集团)有限公司": the
    # round trip reports an update and rewrites the registered name.
    e = EnterpriseFactory(uscc=code(330), name="东莞市华盛电子（集团）有限公司")
    path = tmp_path / "out.xlsx"
    export_to(path)
    report, _rejected = import_enterprises(path)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    e.refresh_from_db()
    assert e.name == "东莞市华盛电子（集团）有限公司"


def test_export_round_trip_keeps_separate_employee_and_revenue_years(tmp_path: Path) -> None:
    # BUG: the export has one 统计年度 column (revenue_year or employees_year) and the import
    # writes it to both years, so a record whose two years differ (the edit form allows it)
    # comes back updated: employees_year 2023 becomes 2024.
    e = EnterpriseFactory(uscc=code(331), employees_year=2023, revenue_year=2024)
    path = tmp_path / "out.xlsx"
    export_to(path)
    report, _rejected = import_enterprises(path)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    e.refresh_from_db()
    assert (e.employees_year, e.revenue_year) == (2023, 2024)


def test_export_to_a_stream_is_a_valid_workbook() -> None:
    EnterpriseFactory(uscc=code(332))
    buffer = io.BytesIO()
    ids = write_enterprises_xlsx(Enterprise.objects.all(), buffer)
    assert len(ids) == 1
    buffer.seek(0)
    ws = load_workbook(buffer, read_only=True).worksheets[0]
    assert ws.title == "企业名单"
    assert len(list(ws.iter_rows(values_only=True))) == 2
