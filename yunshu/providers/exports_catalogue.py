"""The filtered catalogue as an xlsx workbook, for officials who exchange lists in Excel."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from .catalogue import LEVEL_LABELS, SIZE_CLASSES, SceneInfo, scene_names
from .models import SECURITY_FEATURES, Product

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def write_catalogue_xlsx(
    qs: QuerySet[Product], out: IO[bytes], *, scenes: Iterable[SceneInfo]
) -> int:
    """Write every row of qs (no pagination); returns how many."""
    names = scene_names(scenes)
    features = dict(SECURITY_FEATURES)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("产品目录"))
    headers = [
        _("产品名称"),
        _("服务商"),
        _("牵引单位"),
        _("可信等级"),
        _("一句话介绍"),
        _("覆盖场景（可提升至）"),
        _("适用产业集群"),
        _("适用行业"),
        _("部署方式"),
        _("计费方式"),
    ]
    for _size, label in SIZE_CLASSES:
        headers += [
            _("%(label)s最低价（元/年）") % {"label": label},
            _("%(label)s最高价（元/年）") % {"label": label},
        ]
    headers += [_("实施周期（周）"), _("数据存储位置"), _("安全特性"), _("更新时间")]
    ws.append(headers)
    count = 0
    rows = qs.prefetch_related("industries", "clusters").iterator(chunk_size=1000)
    for p in rows:
        bands = p.price_bands or {}
        prices: list[int | None] = []
        for size, _label in SIZE_CLASSES:
            band = bands.get(size)
            prices += [band[0], band[1]] if band else [None, None]
        ws.append(
            [
                p.name,
                p.provider.name,
                _("是") if p.provider.organisation.is_lead_provider else _("否"),
                p.provider.trust_grade or "",
                p.summary,
                "、".join(
                    f"{names.get(s.scene, s.scene)}{LEVEL_LABELS.get(s.lifts_to, s.lifts_to)}"
                    for s in p.scenes.all()
                ),
                "、".join(c.name_zh for c in p.clusters.all()) or _("通用"),
                "、".join(f"{i.code} {i.name_zh}" for i in p.industries.all()) or _("通用"),
                p.get_deployment_display(),
                p.get_price_model_display(),
                *prices,
                p.implementation_weeks,
                p.get_data_residency_display(),
                "、".join(str(features[k]) for k in p.security_features or [] if k in features),
                timezone.localtime(p.updated_at).strftime("%Y-%m-%d %H:%M"),
            ]
        )
        count += 1
    wb.save(out)
    return count
