"""Reference rows the providers app needs (seeded by migration, restored after test flushes)."""

from __future__ import annotations

from typing import Any

# Which certificates are mandatory is the city's call; the default (等保 filing only) is
# this project's assumption and editable by a superuser.
TYPES = [
    (
        "dengbao",
        "网络安全等级保护备案（等保）",
        "MLPS 2.0 filing (Dengbao)",
        True,
        True,
        ["二级", "三级", "四级"],
        10,
    ),
    (
        "iso27001",
        "ISO/IEC 27001 信息安全管理体系认证",
        "ISO/IEC 27001 certification",
        False,
        False,
        [],
        20,
    ),
    ("trusted_cloud", "可信云评估", "Trusted Cloud (可信云) assessment", False, False, [], 30),
    (
        "iso20000",
        "ISO/IEC 20000 IT服务管理体系认证",
        "ISO/IEC 20000 certification",
        False,
        False,
        [],
        40,
    ),
    ("cmmi", "CMMI 能力成熟度评估", "CMMI appraisal", False, True, ["3级", "4级", "5级"], 50),
    ("other", "其他证书", "Other certificate", False, False, [], 90),
]


# Trust points of a valid certificate (docs/trust-rating.md): (points, {level: points}).
# Types not named earn nothing; a city edits these on the type, not in code.
TRUST_POINTS: dict[str, tuple[int, dict[str, int]]] = {
    "dengbao": (10, {"四级": 30, "三级": 30, "二级": 20}),  # 10: a filing without a level
    "iso27001": (12, {}),
    "trusted_cloud": (8, {}),
}


def certificate_types_seed(CertificateType: Any, CatalogueVersion: Any) -> None:
    # Older migrations call this with a model that has no trust points yet.
    fields = {f.name for f in CertificateType._meta.get_fields()}
    for key, zh, en, mandatory, has_level, levels, order in TYPES:
        defaults: dict[str, Any] = {
            "name_zh": zh,
            "name_en": en,
            "mandatory": mandatory,
            "has_level": has_level,
            "levels": levels,
            "sort_order": order,
        }
        if "trust_points" in fields:
            points, by_level = TRUST_POINTS.get(key, (0, {}))
            defaults |= {"trust_points": points, "level_points": by_level}
        CertificateType.objects.update_or_create(key=key, defaults=defaults)
    CatalogueVersion.objects.get_or_create(pk=1)


def certificate_trust_points_seed(CertificateType: Any) -> None:
    """Give the seeded types the points trust.py used to hard-code (other types keep 0)."""
    for key, (points, by_level) in TRUST_POINTS.items():
        CertificateType.objects.filter(key=key).update(trust_points=points, level_points=by_level)
