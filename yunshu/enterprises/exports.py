"""Excel out: the registry export (its headers are the import's) and rejected import rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db.models import QuerySet
from openpyxl import Workbook

from .importer import EXPORT_HEADERS, STATUS_WRITTEN, read_rows
from .models import Enterprise, OperatingStatus

WAN = Decimal(10000)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _yes_no(value: bool) -> str:
    return "是" if value else "否"


def enterprise_export_row(e: dict[str, Any]) -> list[Any]:
    revenue = e["revenue"]
    values = {
        "uscc": e["uscc"],
        "name": e["name"],
        "town": e["town__name_zh"],
        "industry": e["industry_id"],
        "employees": e["employees"],
        "revenue": (revenue / WAN).normalize() if revenue is not None else None,
        # 统计年度 dates the revenue; 从业人员年度 dates the headcount when it differs.
        "stats_year": e["revenue_year"],
        "employees_year": e["employees_year"],
        "above_scale": _yes_no(e["above_scale"]),
        "specialised": _yes_no(e["specialised"]),
        "contact_name": e["contact_name"],
        "contact_phone": e["contact_phone"],
        "address": e["address"],
        "registered_on": e["registered_on"].isoformat() if e["registered_on"] else None,
        "status": STATUS_WRITTEN[OperatingStatus(e["status"])] if e["status"] else None,
    }
    return [_cell(values[key]) for key, _header in EXPORT_HEADERS]


def _cell(value: Any) -> Any:
    """Numbers stay numbers in Excel; a Decimal that a float cannot carry exactly goes as text."""
    if isinstance(value, Decimal):
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else format(value, "f")
    return value


EXPORT_VALUES = (
    "id",
    "uscc",
    "name",
    "town__name_zh",
    "industry_id",
    "employees",
    "employees_year",
    "revenue",
    "revenue_year",
    "above_scale",
    "specialised",
    "contact_name",
    "contact_phone",
    "address",
    "registered_on",
    "status",
)


def write_enterprises_xlsx(qs: QuerySet[Enterprise], out: IO[bytes]) -> list[int]:
    """Write exactly the rows of qs; returns their ids (for the access log)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("企业名单")
    ws.append([header for _key, header in EXPORT_HEADERS])
    ids: list[int] = []
    for e in qs.values(*EXPORT_VALUES).iterator(chunk_size=2000):
        ids.append(e["id"])
        ws.append(enterprise_export_row(e))
    wb.save(out)
    return ids


def write_rejected_rows(
    source: Path, rejected: Iterable[tuple[list[Any], str]], *, job_id: int
) -> str:
    """The rows that failed, as they were, plus an error column; path relative to MEDIA_ROOT."""
    header = next(iter(read_rows(source)), [])
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("未导入的行")
    ws.append([*(str(h) if h is not None else "" for h in header), "错误说明"])
    for cells, message in rejected:
        row = [c.isoformat() if isinstance(c, dt.date) else c for c in cells]
        row += [None] * (len(header) - len(row))
        ws.append([*row, message])
    relative = f"imports/rejected/job-{job_id}.xlsx"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return relative
