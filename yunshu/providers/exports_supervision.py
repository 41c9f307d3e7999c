"""Excel out for officials: annual reviews of a year, complaints, the trust overview and
security incidents. Each writes exactly the rows of the queryset it is given (the page's
filter), in its order."""

from __future__ import annotations

from typing import IO

from django.db.models import QuerySet
from django.utils import timezone
from openpyxl import Workbook

from .models import AnnualReview, Complaint, Incident, Provider, VettingState

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHECK_KEYS = ("satisfied_customers", "open_complaints", "mandatory_certificates", "delivered")
CHECK_HEADERS = ("满意客户数", "未解决投诉数", "有效必备证书种数", "验收交付方案数")


def _when(value: object) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""  # type: ignore[arg-type]


def write_reviews_xlsx(qs: QuerySet[AnnualReview], out: IO[bytes]) -> int:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("年度复核")
    header = ["年度", "服务商", "统一社会信用代码", "结论", "整改条件或说明"]
    for title in CHECK_HEADERS:
        header += [title, f"{title}是否达标"]
    ws.append([*header, "复核人", "复核时间"])
    count = 0
    for r in qs.select_related("provider", "reviewed_by").iterator(chunk_size=1000):
        items = {i.get("key"): i for i in r.checklist or []}
        row: list[object] = [
            r.year,
            r.provider.name,
            r.provider.uscc,
            r.get_verdict_display(),
            r.conditions,
        ]
        for key in CHECK_KEYS:
            item = items.get(key, {})
            row += [item.get("figure"), "是" if item.get("passed") else "否"]
        row += [str(r.reviewed_by or ""), _when(r.created_at)]
        ws.append(row)
        count += 1
    wb.save(out)
    return count


def write_complaints_xlsx(qs: QuerySet[Complaint], out: IO[bytes]) -> int:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("投诉")
    ws.append(
        [
            "编号",
            "提交时间",
            "企业",
            "企业统一社会信用代码",
            "服务商",
            "产品",
            "主题",
            "投诉内容",
            "状态",
            "服务商答复",
            "提请市局处理的理由",
            "处理结果",
            "结案时间",
        ]
    )
    count = 0
    for c in qs.select_related("enterprise", "provider", "product").iterator(chunk_size=1000):
        ws.append(
            [
                c.pk,
                _when(c.created_at),
                c.enterprise.name,
                c.enterprise.uscc,
                c.provider.name,
                c.product.name if c.product else "",
                c.subject,
                c.body,
                c.get_state_display(),
                c.provider_response,
                c.escalation_reason,
                c.resolution,
                _when(c.closed_at),
            ]
        )
        count += 1
    wb.save(out)
    return count


def write_trust_overview_xlsx(qs: QuerySet[Provider], out: IO[bytes]) -> int:
    """The supervision overview: grade, score, platforms, open incidents and the reasons."""
    from .catalogue import trust_reason_texts

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("可信评级")
    ws.append(
        [
            "服务商",
            "统一社会信用代码",
            "可信等级",
            "评分",
            "平台数",
            "未处置事件",
            "入库状态",
            "评分依据",
        ]
    )
    labels = dict(VettingState.choices)
    count = 0
    for p in qs.iterator(chunk_size=1000):
        ws.append(
            [
                p.name,
                p.uscc,
                p.trust_grade,
                p.trust_score,
                getattr(p, "platform_count", None),
                getattr(p, "unresolved_count", None),
                str(labels.get(p.vetting_state, p.vetting_state)),
                "\n".join(trust_reason_texts(p)),
            ]
        )
        count += 1
    wb.save(out)
    return count


def write_incidents_xlsx(qs: QuerySet[Incident], out: IO[bytes]) -> int:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("安全事件")
    ws.append(
        [
            "编号",
            "发生时间",
            "服务商",
            "统一社会信用代码",
            "平台",
            "严重程度",
            "事件概述",
            "涉及客户数据",
            "登记方",
            "处置状态",
            "处置完成时间",
            "处置情况",
            "服务商提交的处置情况（待确认）",
        ]
    )
    count = 0
    for i in qs.select_related("platform__provider").iterator(chunk_size=1000):
        ws.append(
            [
                i.pk,
                _when(i.occurred_at),
                i.platform.provider.name,
                i.platform.provider.uscc,
                i.platform.name,
                i.get_severity_display(),
                i.summary,
                "是" if i.data_affected else "否",
                i.get_source_display(),
                "已处置" if i.resolved_at else "未处置",
                _when(i.resolved_at),
                i.resolution,
                "" if i.resolved_at else i.proposed_resolution,
            ]
        )
        count += 1
    wb.save(out)
    return count
