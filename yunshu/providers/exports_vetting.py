"""The vetting queue as an Excel sheet (the rows of the current filter)."""

from __future__ import annotations

from typing import IO

from django.db.models import QuerySet
from django.utils import timezone
from openpyxl import Workbook

from .models import Provider, VettingState

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = [
    "服务商名称",
    "统一社会信用代码",
    "入库状态",
    "牵引单位",
    "提交时间",
    "入库时间",
    "理由",
    "联系人",
    "联系电话",
    "服务镇街",
    "服务产业集群",
    "待审核证书",
    "隐藏的产品",
]


def _when(value: object) -> str:
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")  # type: ignore[arg-type]


def write_vetting_xlsx(qs: QuerySet[Provider], out: IO[bytes]) -> int:
    """Write exactly the rows of qs (a vetting_queue queryset); returns the row count."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("服务商入库")
    ws.append(HEADERS)
    labels = dict(VettingState.choices)
    count = 0
    rows = qs.prefetch_related("towns_served", "clusters_served").iterator(chunk_size=1000)
    for p in rows:
        ws.append(
            [
                p.name,
                p.uscc,
                str(labels.get(p.vetting_state, p.vetting_state)),
                "是" if p.organisation.is_lead_provider else "否",
                _when(p.submitted_at),
                _when(p.approved_at),
                p.vetting_reason,
                p.contact_name,
                p.contact_phone,
                "、".join(t.name_zh for t in p.towns_served.all()),
                "、".join(c.name_zh for c in p.clusters_served.all()),
                getattr(p, "pending_certificates", 0),
                getattr(p, "hidden_products", 0),
            ]
        )
        count += 1
    wb.save(out)
    return count
