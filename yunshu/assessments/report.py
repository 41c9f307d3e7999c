"""What a result page, a comparison and the PDF report show, from a stored result."""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from . import engine
from .definitions import engine_questionnaire
from .models import Assessment
from .selectors import current_result
from .templatetags.assessment_tags import level_name


def _en() -> bool:
    return (get_language() or "").startswith("en")


def _name(obj: Any) -> str:
    return str(obj.name_en if _en() and obj.name_en else obj.name_zh)


def result_context(assessment: Assessment) -> dict[str, Any]:
    q = engine_questionnaire(assessment.questionnaire)
    result = current_result(assessment)
    computed: dict[str, Any] = result.computed if result else {}
    context: dict[str, Any] = {"a": assessment, "q": q, "result": result, "computed": computed}
    if q.kind == "maturity":
        context |= _maturity(q, computed, assessment.answers)
    else:
        context |= _security(q, computed)
    return context


def _maturity(
    q: engine.Questionnaire, computed: dict[str, Any], answers: dict[str, Any]
) -> dict[str, Any]:
    dims = [d for d in q.dimensions if not d.graded_by_scene]
    dimension_rows = [
        {
            "key": d.key,
            "name": _name(d),
            "points": computed.get("dimensions", {}).get(d.key, 0),
            "max": engine.to_number(d.max_points),
            "percent": round(
                100 * float(computed.get("dimensions", {}).get(d.key, 0)) / float(d.max_points)
            )
            if d.max_points
            else 0,
        }
        for d in dims
    ]
    levels = computed.get("scene_levels", {})
    item_steps, steps = engine.next_steps(q, answers, levels)
    scene_rows = [
        {
            "key": s.key,
            "name": _name(s),
            "group": s.group,
            "mandatory": s.mandatory,
            "level": levels.get(s.key),
            "next": steps.get(s.key, ""),
            "verified": s.verified,
        }
        for s in q.scenes
    ]
    item_rows = [
        {
            "key": i.key,
            "name": _name(i),
            "dimension": i.dimension,
            "points": computed.get("items", {}).get(i.key, 0),
            "max": engine.to_number(i.max_points),
            "next": item_steps.get(i.key, ""),
            "verified": i.verified,
        }
        for i in q.items
    ]
    chart = {
        "radar": {
            "indicators": [{"name": r["name"], "max": 100} for r in dimension_rows],
            "values": [r["percent"] for r in dimension_rows],
        },
        "heatmap": {
            "scenes": [r["name"] for r in scene_rows],
            "levels": [r["level"] if r["level"] is not None else -1 for r in scene_rows],
            "labels": {"na": str(_("不适用")), "none": str(_("未达一级"))},
        },
    }
    return {
        "dimension_rows": dimension_rows,
        "scene_rows": scene_rows,
        "item_rows": item_rows,
        "gaps": [r for r in item_rows if r["next"]],
        "chart_json": json.dumps(chart, ensure_ascii=False),
        # In the active language: the label stored with the result is the engine's Chinese.
        "level_label": level_name(computed.get("level", 0)) if computed else "",
    }


def _security(q: engine.Questionnaire, computed: dict[str, Any]) -> dict[str, Any]:
    area_rows = [
        {"key": d.key, "name": _name(d), "percent": computed.get("areas", {}).get(d.key, 0)}
        for d in q.dimensions
    ]
    chart = {
        "radar": {
            "indicators": [{"name": r["name"], "max": 100} for r in area_rows],
            "values": [r["percent"] for r in area_rows],
        }
    }
    return {
        "area_rows": area_rows,
        "remediation": computed.get("remediation", []),
        "chart_json": json.dumps(chart, ensure_ascii=False),
    }


def compare_context(before: Assessment, after: Assessment) -> dict[str, Any]:
    """Two results of the same enterprise side by side, with what changed."""
    a, b = result_context(before), result_context(after)
    rows: list[dict[str, Any]] = []
    if before.questionnaire.kind == "maturity":
        for label_key, key in (("dimension_rows", "points"),):
            pairs = zip(a[label_key], b[label_key], strict=False)
            rows += [
                {
                    "name": x["name"],
                    "before": x[key],
                    "after": y[key],
                    "delta": round(float(y[key]) - float(x[key]), 3),
                }
                for x, y in pairs
            ]
        scene_changes = [
            {"name": x["name"], "before": x["level"], "after": y["level"]}
            for x, y in zip(a["scene_rows"], b["scene_rows"], strict=False)
            if x["key"] == y["key"] and x["level"] != y["level"]
        ]
    else:
        rows = [
            {
                "name": x["name"],
                "before": x["percent"],
                "after": y["percent"],
                "delta": round(float(y["percent"]) - float(x["percent"]), 1),
            }
            for x, y in zip(a["area_rows"], b["area_rows"], strict=False)
        ]
        scene_changes = []
    return {
        "before": a,
        "after": b,
        "rows": rows,
        "scene_changes": scene_changes,
        "e": before.enterprise,
    }
