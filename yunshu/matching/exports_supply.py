"""Excel out: the supply and demand table, per-cluster event totals, offline invitations."""

from __future__ import annotations

from decimal import Decimal
from typing import IO, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from .supply import Heatmap, SceneInfo, gap_scene_names

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _yuan(value: Decimal | None) -> Any:
    if value is None:
        return None
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else format(value, "f")


def write_heatmap_xlsx(heatmap: Heatmap, out: IO[bytes], *, scope: str) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("供需明细"))
    ws.append(
        [
            _("产业集群"),
            _("场景"),
            _("约束性场景"),
            _("集群企业数"),
            _("已评估企业数"),
            _("未达标企业数"),
            _("可用产品数"),
            _("服务商数"),
            _("每个产品对应的企业数"),
            _("无产品覆盖"),
        ]
    )
    for row in heatmap.rows:
        for cell in row.cells:
            ws.append(
                [
                    row.cluster.name_zh,
                    cell.scene.name_zh,
                    _("是") if cell.scene.mandatory else _("否"),
                    row.enterprises,
                    row.assessed,
                    cell.demand,
                    cell.products,
                    cell.providers,
                    cell.gap,
                    _("是") if cell.no_supply else "",
                ]
            )
    notes = wb.create_sheet(_("说明"))
    label = heatmap.target_label
    for line in [
        [_("项目"), _("说明")],
        [_("目标等级"), label],
        [_("范围"), scope],
        [_("问卷版本"), heatmap.questionnaire],
        [_("导出时间"), timezone.localtime().strftime("%Y-%m-%d %H:%M")],
        [_("集群企业数"), _("该集群内的企业总数（在您的查看范围内）")],
        [
            _("已评估企业数"),
            _("有已提交数字化水平评估的企业数；每家企业按最近一次已提交的评估计入"),
        ],
        [
            _("未达标企业数"),
            _("该场景当前等级低于目标等级（%(label)s）的企业数；标为“不适用”的场景不计入")
            % {"label": label},
        ],
        [
            _("可用产品数"),
            _(
                "产品目录中展示的、可将该场景提升至%(label)s或以上、且适用于该集群"
                "（列明该集群或未限定集群）的产品数"
            )
            % {"label": label},
        ],
        [_("服务商数"), _("上述产品背后的不同服务商数")],
        [
            _("每个产品对应的企业数"),
            _("未达标企业数 ÷ 可用产品数（没有产品时按 1 计），数值越大缺口越大"),
        ],
        [_("无产品覆盖"), _("有未达标企业但没有可用产品")],
    ]:
        notes.append(line)
    wb.save(out)


def write_event_totals_xlsx(rows: list[dict[str, Any]], events: Any, out: IO[bytes]) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("按集群汇总"))
    ws.append(
        [
            _("产业集群"),
            _("对接会场次"),
            _("邀请"),
            _("报名"),
            _("到场"),
            _("合作意向"),
            _("签约"),
            _("签约金额（元）"),
        ]
    )
    for r in rows:
        ws.append(
            [
                r["cluster"].name_zh,
                r["events"],
                r["invited"],
                r["registered"],
                r["attended"],
                r["intentions"],
                r["contracts"],
                _yuan(r["amount"]),
            ]
        )
    detail = wb.create_sheet(_("对接会"))
    detail.append(
        [
            _("活动名称"),
            _("产业集群"),
            _("开始时间"),
            _("地点"),
            _("举办镇街"),
            _("状态"),
            _("名额"),
            _("邀请"),
            _("报名"),
            _("到场"),
            _("合作意向"),
            _("签约"),
            _("签约金额（元）"),
        ]
    )
    for e in events:
        detail.append(
            [
                e.title,
                e.cluster.name_zh,
                timezone.localtime(e.starts_at).strftime("%Y-%m-%d %H:%M"),
                e.venue,
                e.town.name_zh if e.town else "",
                e.get_state_display(),
                e.capacity,
                e.n_invited,
                e.n_registered,
                e.n_attended,
                e.n_intentions,
                e.n_contracts,
                _yuan(e.contract_amount),
            ]
        )
    notes = wb.create_sheet(_("说明"))
    notes.append([_("汇总不含已取消的对接会；“报名”含已到场；签约金额为已登记签约金额之和。")])
    wb.save(out)


def write_offline_xlsx(
    event: Any, rows: list[dict[str, Any]], scenes: list[SceneInfo], out: IO[bytes]
) -> list[int]:
    """Enterprises to phone (no platform account); returns their ids for the access log."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("线下邀请名单"))
    ws.append(
        [
            _("企业名称"),
            _("统一社会信用代码"),
            _("镇街"),
            _("联系人"),
            _("联系电话"),
            _("地址"),
            _("未达标场景数"),
            _("未达标场景"),
            _("电话邀请结果"),
        ]
    )
    ids = []
    for r in rows:
        ids.append(r["enterprise_id"])
        ws.append(
            [
                r["name"],
                r["uscc"],
                r["town_zh"],
                r["contact_name"],
                r["contact_phone"],
                r["address"],
                r["gaps"],
                "、".join(gap_scene_names(r, scenes)),
                "",
            ]
        )
    notes = wb.create_sheet(_("说明"))
    notes.append([_("对接会"), event.title])
    notes.append([_("开始时间"), timezone.localtime(event.starts_at).strftime("%Y-%m-%d %H:%M")])
    notes.append([_("地点"), event.venue])
    notes.append(
        [
            _("名单说明"),
            _("本集群中有未达标场景、但尚未注册平台账号的企业，无法在线邀请，请镇街电话邀请。"),
        ]
    )
    wb.save(out)
    return ids
