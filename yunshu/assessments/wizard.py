"""The wizard's steps and the translation between form posts and answers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import QueryDict

from . import engine

SCENE_GROUPS = {
    "product_lifecycle": ("产品全生命周期", "Product lifecycle"),
    "production": ("生产执行", "Production"),
    "supply_chain": ("供应链管理", "Supply chain"),
    "management": ("综合管理", "Management"),
}


@dataclass(frozen=True)
class Step:
    key: str
    name_zh: str
    name_en: str
    dimension: str
    items: tuple[engine.Item, ...] = ()
    scenes: tuple[engine.Scene, ...] = ()


def steps(q: engine.Questionnaire) -> list[Step]:
    out: list[Step] = []
    for d in q.dimensions:
        if d.graded_by_scene:
            groups: dict[str, list[engine.Scene]] = {}
            for s in d.scenes:
                groups.setdefault(s.group, []).append(s)
            for group, scenes in groups.items():
                zh, en = SCENE_GROUPS.get(group, (group, group))
                out.append(
                    Step(
                        f"{d.key}-{group}",
                        f"{d.name_zh} · {zh}",
                        f"{d.name_en} · {en}",
                        d.key,
                        scenes=tuple(scenes),
                    )
                )
        elif d.sections:
            for key, zh, en in d.sections:
                items = tuple(i for i in d.items if i.section == key)
                out.append(
                    Step(
                        f"{d.key}-{key}",
                        f"{d.name_zh} · {zh}",
                        f"{d.name_en} · {en}",
                        d.key,
                        items=items,
                    )
                )
        else:
            out.append(Step(d.key, d.name_zh, d.name_en, d.key, items=d.items))
    return out


def _number_or_text(value: str) -> Any:
    """A typed number as a JSON number (as answer files have them); anything else as typed."""
    try:
        number = Decimal(value.replace(",", ""))
    except InvalidOperation:
        return value
    if not number.is_finite() or abs(number.adjusted()) > 15:
        return value  # the engine refuses it with a message; never build a huge number
    return int(number) if number == number.to_integral_value() else float(number)


def parse_post(step: Step, data: QueryDict) -> tuple[dict[str, Any], dict[str, Any]]:
    """Answers from a posted step form. Empty fields clear the answer (None)."""
    answers: dict[str, Any] = {}
    for item in step.items:
        name = f"item-{item.key}"
        if item.type == "multi":
            answers[item.key] = data.getlist(name)
        elif item.type == "computed":
            values = {
                str(i["key"]): data.get(f"{name}-{i['key']}", "").strip() for i in item.inputs
            }
            answers[item.key] = values if all(values.values()) else None
        elif item.type == "band":
            value = data.get(name, "").strip()
            answers[item.key] = _number_or_text(value) if value else None
        else:
            value = data.get(name, "").strip()
            answers[item.key] = value or None
    scenes: dict[str, Any] = {}
    for scene in step.scenes:
        value = data.get(f"scene-{scene.key}", "").strip()
        scenes[scene.key] = value or None
    return answers, scenes


def step_done(step: Step, answers: dict[str, Any], scenes: dict[str, Any]) -> bool:
    return all(answers.get(i.key) is not None for i in step.items) and all(
        scenes.get(s.key) not in (None, "") for s in step.scenes
    )
