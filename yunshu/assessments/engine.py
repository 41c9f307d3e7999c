"""Scoring engine for questionnaires: pure functions over plain data, no database.

A questionnaire and a level rule are data files (docs/questionnaires.md). The same engine
scores answers from the web wizard, the CLI and the bulk re-scoring job.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any

ZERO = Decimal(0)
SEVERITY_FACTOR = {"high": 3, "medium": 2, "low": 1}
FORMULAS = ("ratio_percent", "ratio", "change_percent")
ITEM_TYPES = ("single", "multi", "band", "computed")
NOT_APPLICABLE = "na"


class QuestionnaireError(ValueError):
    """A questionnaire or rule file that cannot be used; the message names the place."""


class AnswerError(ValueError):
    """An answer that does not fit its question. `code` lets a UI word it in its language."""

    def __init__(self, key: str, message: str, code: str = "invalid", **params: Any) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message
        self.code = code
        self.params = params


def _dec(value: Any, where: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise QuestionnaireError(f"{where}: {value!r} is not a number") from None
    if not number.is_finite():
        raise QuestionnaireError(f"{where}: {value!r} is not a finite number")
    return number


def read_json(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        data = json.load(f, parse_float=Decimal)
    if not isinstance(data, dict):
        raise QuestionnaireError(f"{path.name}: the top level must be an object")
    return data


# --- questionnaire -------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    key: str
    label_zh: str
    label_en: str
    points: Decimal
    na: bool = False


@dataclass(frozen=True)
class Band:
    min: Decimal
    max: Decimal | None
    points: Decimal

    def contains(self, value: Decimal) -> bool:
        return value >= self.min and (self.max is None or value < self.max)


@dataclass(frozen=True)
class Item:
    key: str
    name_zh: str
    name_en: str
    type: str
    max_points: Decimal
    dimension: str
    section: str = ""
    options: tuple[Option, ...] = ()
    bands: tuple[Band, ...] = ()
    inputs: tuple[dict[str, Any], ...] = ()
    formula: str = ""
    unit: str = ""
    help_zh: str = ""
    verified: bool = False
    weight: Decimal = ZERO
    severity: str = ""
    remediation_zh: str = ""
    part: str = ""
    area: str = ""

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.key == key), None)


@dataclass(frozen=True)
class Scene:
    key: str
    name_zh: str
    name_en: str
    group: str
    mandatory: bool
    levels: Mapping[int, str]
    verified: bool = False


@dataclass(frozen=True)
class Dimension:
    key: str
    name_zh: str
    name_en: str
    max_points: Decimal
    graded_by_scene: bool = False
    items: tuple[Item, ...] = ()
    scenes: tuple[Scene, ...] = ()
    sections: tuple[tuple[str, str, str], ...] = ()  # (key, name_zh, name_en)


@dataclass(frozen=True)
class Questionnaire:
    key: str
    kind: str
    title_zh: str
    title_en: str
    source: str
    dimensions: tuple[Dimension, ...]
    grading: Mapping[str, Any] = field(default_factory=dict)

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(i for d in self.dimensions for i in d.items)

    @property
    def scenes(self) -> tuple[Scene, ...]:
        return tuple(s for d in self.dimensions for s in d.scenes)

    def item(self, key: str) -> Item:
        for i in self.items:
            if i.key == key:
                return i
        raise KeyError(key)

    @property
    def max_points(self) -> Decimal:
        return sum((d.max_points for d in self.dimensions if not d.graded_by_scene), ZERO)


def _item(raw: Mapping[str, Any], dimension: str, section: str, where: str) -> Item:
    key = str(raw.get("key") or "")
    if not key:
        raise QuestionnaireError(f"{where}: an item has no key")
    where = f"{where} item {key}"
    kind = raw.get("type")
    if kind not in ITEM_TYPES:
        raise QuestionnaireError(f"{where}: type must be one of {', '.join(ITEM_TYPES)}")
    options = tuple(
        Option(
            key=str(o["key"]),
            label_zh=str(o.get("label_zh", o["key"])),
            label_en=str(o.get("label_en", o.get("label_zh", o["key"]))),
            points=_dec(o.get("points", 0), f"{where} option {o.get('key')}"),
            na=bool(o.get("na", False)),
        )
        for o in raw.get("options", [])
    )
    bands = tuple(
        Band(
            min=_dec(b["min"], f"{where} band"),
            max=_dec(b["max"], f"{where} band") if b.get("max") is not None else None,
            points=_dec(b["points"], f"{where} band"),
        )
        for b in raw.get("bands", [])
    )
    if kind in ("single", "multi") and not options:
        raise QuestionnaireError(f"{where}: a {kind} item needs options")
    if len({o.key for o in options}) != len(options):
        raise QuestionnaireError(f"{where}: option keys repeat")
    if kind in ("band", "computed"):
        if not bands:
            raise QuestionnaireError(f"{where}: a {kind} item needs bands")
        for a, b in pairwise(bands):
            if a.max is None or a.max != b.min:
                raise QuestionnaireError(f"{where}: bands must follow each other without gaps")
    if kind == "computed":
        if raw.get("formula") not in FORMULAS:
            raise QuestionnaireError(f"{where}: formula must be one of {', '.join(FORMULAS)}")
        if len(raw.get("inputs", [])) != 2:
            raise QuestionnaireError(f"{where}: a computed item takes exactly two inputs")
    max_points = _dec(raw.get("max_points"), f"{where} max_points")
    if kind == "multi":
        achievable = min(max_points, sum((o.points for o in options), ZERO))
    elif kind == "single":
        achievable = max(o.points for o in options)
    else:
        achievable = max(b.points for b in bands)
    if achievable != max_points:
        raise QuestionnaireError(
            f"{where}: max_points is {max_points} but the answers can reach {achievable}"
        )
    return Item(
        key=key,
        name_zh=str(raw.get("name_zh", key)),
        name_en=str(raw.get("name_en", raw.get("name_zh", key))),
        type=str(kind),
        max_points=max_points,
        dimension=dimension,
        section=section,
        options=options,
        bands=bands,
        inputs=tuple(raw.get("inputs", [])),
        formula=str(raw.get("formula", "")),
        unit=str(raw.get("unit", "")),
        help_zh=str(raw.get("help_zh", "")),
        # Checked against the official text only when both the rule and its wording are.
        verified=bool(raw.get("verified", False)) and bool(raw.get("wording_verified", True)),
        weight=_dec(raw.get("weight", 0), f"{where} weight"),
        severity=str(raw.get("severity", "")),
        remediation_zh=str(raw.get("remediation_zh", "")),
        part=str(raw.get("part", "")),
        area=str(raw.get("area", "")),
    )


def load_questionnaire(data: Mapping[str, Any]) -> Questionnaire:
    """Build and check a questionnaire from its file's data."""
    key = str(data.get("key") or "")
    if not key:
        raise QuestionnaireError("the questionnaire has no key")
    if data.get("kind") not in ("maturity", "security"):
        raise QuestionnaireError(f"{key}: kind must be maturity or security")
    dimensions = []
    seen: set[str] = set()
    for d in data.get("dimensions", []):
        dkey = str(d.get("key") or "")
        where = f"{key} dimension {dkey}"
        if d.get("graded_by_scene"):
            scenes = tuple(
                Scene(
                    key=str(s["key"]),
                    name_zh=str(s["name_zh"]),
                    name_en=str(s.get("name_en", s["name_zh"])),
                    group=str(s.get("group", "")),
                    mandatory=bool(s.get("mandatory", False)),
                    levels={int(k): str(v) for k, v in s.get("levels", {}).items()},
                    verified=bool(s.get("verified", False)),
                )
                for s in d.get("scenes", [])
            )
            for s in scenes:
                if set(s.levels) != {1, 2, 3, 4}:
                    raise QuestionnaireError(f"{where} scene {s.key}: needs levels 1 to 4")
                if s.key in seen:
                    raise QuestionnaireError(f"{where}: key {s.key} repeats")
                seen.add(s.key)
            dimensions.append(
                Dimension(
                    dkey, str(d["name_zh"]), str(d.get("name_en", "")), ZERO, True, scenes=scenes
                )
            )
            continue
        items: list[Item] = []
        sections: list[tuple[str, str, str]] = []
        groups = d.get("sections") or [{"key": "", "items": d.get("items", [])}]
        for sec in groups:
            skey = str(sec.get("key", ""))
            if skey:
                sections.append((skey, str(sec.get("name_zh", skey)), str(sec.get("name_en", ""))))
            for raw in sec.get("items", []):
                item = _item(raw, dkey, skey, where)
                if item.key in seen:
                    raise QuestionnaireError(f"{where}: key {item.key} repeats")
                seen.add(item.key)
                items.append(item)
        max_points = _dec(d.get("max_points", 0), f"{where} max_points")
        total = sum((i.max_points for i in items), ZERO)
        if data.get("kind") == "maturity" and total != max_points:
            raise QuestionnaireError(f"{where}: items add up to {total}, not {max_points}")
        dimensions.append(
            Dimension(
                dkey,
                str(d["name_zh"]),
                str(d.get("name_en", "")),
                total if data.get("kind") == "security" else max_points,
                False,
                items=tuple(items),
                sections=tuple(sections),
            )
        )
    if not dimensions:
        raise QuestionnaireError(f"{key}: no dimensions")
    return Questionnaire(
        key=key,
        kind=str(data["kind"]),
        title_zh=str(data.get("title_zh", key)),
        title_en=str(data.get("title_en", key)),
        source=str(data.get("source", "")),
        dimensions=tuple(dimensions),
        grading=dict(data.get("grading") or {}),
    )


# --- level rule ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelThreshold:
    level: int
    min_base: Decimal
    min_scenes: int
    min_mandatory: int


@dataclass(frozen=True)
class LevelRule:
    key: str
    questionnaire: str
    provisional: bool
    source: str
    base_dimensions: tuple[str, ...]
    scale_with_applicable: bool
    levels: tuple[LevelThreshold, ...]  # from the top level down


def load_rule(data: Mapping[str, Any], questionnaire: Questionnaire | None = None) -> LevelRule:
    key = str(data.get("key") or "")
    if not key:
        raise QuestionnaireError("the rule has no key")
    try:
        levels = tuple(
            sorted(
                (
                    LevelThreshold(
                        level=int(row["level"]),
                        min_base=_dec(row["min_base"], f"{key} level {row.get('level')}"),
                        min_scenes=int(row["min_scenes"]),
                        min_mandatory=int(row["min_mandatory"]),
                    )
                    for row in data.get("levels", [])
                ),
                key=lambda t: -t.level,
            )
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise QuestionnaireError(
            f"{key}: each level needs level, min_base, min_scenes, min_mandatory ({exc})"
        ) from None
    if not levels or [t.level for t in levels] != list(range(len(levels), 0, -1)):
        raise QuestionnaireError(f"{key}: levels must be 1 to N, each once")
    for upper, lower in pairwise(levels):
        if (
            upper.min_base < lower.min_base
            or upper.min_scenes < lower.min_scenes
            or upper.min_mandatory < lower.min_mandatory
        ):
            raise QuestionnaireError(
                f"{key}: level {upper.level} asks less than level {lower.level}"
            )
    base = tuple(str(b) for b in data.get("base_dimensions", []))
    rule = LevelRule(
        key=key,
        questionnaire=str(data.get("questionnaire", "")),
        provisional=bool(data.get("provisional", True)),
        source=str(data.get("source", "")),
        base_dimensions=base,
        scale_with_applicable=bool(data.get("scale_with_applicable", True)),
        levels=levels,
    )
    if questionnaire is not None:
        if rule.questionnaire != questionnaire.key:
            raise QuestionnaireError(
                f"{key}: written for {rule.questionnaire}, not {questionnaire.key}"
            )
        known = {d.key for d in questionnaire.dimensions if not d.graded_by_scene}
        if not base or not set(base) <= known:
            raise QuestionnaireError(
                f"{key}: base_dimensions must name dimensions of {questionnaire.key}"
            )
    return rule


# --- answers -------------------------------------------------------------------------------


def _number(key: str, value: Any) -> Decimal:
    value = value if not isinstance(value, str) else value[:50]
    if isinstance(value, bool):
        raise AnswerError(key, "expected a number", "not_a_number", value=value)
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise AnswerError(key, f"{value!r} is not a number", "not_a_number", value=value) from None
    if not number.is_finite() or abs(number.adjusted()) > 15:
        raise AnswerError(key, f"{value!r} is not a number", "not_a_number", value=value)
    return number


def computed_value(item: Item, value: Any) -> Decimal:
    if not isinstance(value, Mapping):
        raise AnswerError(item.key, "expected an object of inputs", "invalid")
    names = [str(i["key"]) for i in item.inputs]
    a, b = (_number(f"{item.key}.{n}", value.get(n)) for n in names)
    if a < 0 or b < 0:
        raise AnswerError(item.key, "inputs cannot be negative", "negative")
    if b == 0:
        raise AnswerError(item.key, f"{names[1]} must be greater than 0", "zero_denominator")
    if item.formula == "ratio_percent":
        return a / b * 100
    if item.formula == "ratio":
        return a / b
    return (a - b) / b * 100


def _band_points(item: Item, number: Decimal) -> Decimal:
    if number < item.bands[0].min:
        raise AnswerError(
            item.key,
            f"{number} is below {item.bands[0].min}",
            "below_min",
            minimum=item.bands[0].min,
        )
    for band in item.bands:
        if band.contains(number):
            return band.points
    return item.bands[-1].points if item.bands[-1].max is None else ZERO


def item_points(item: Item, answer: Any) -> Decimal:
    """Points for one answer; raises AnswerError when the answer does not fit the item."""
    if answer is None:
        return ZERO
    if item.type == "single":
        option = item.option(str(answer))
        if option is None:
            raise AnswerError(item.key, f"unknown option {answer!r}", "unknown_option")
        return option.points
    if item.type == "multi":
        if not isinstance(answer, list | tuple):
            raise AnswerError(item.key, "expected a list of options", "invalid")
        chosen = set()
        for key in answer:
            option = item.option(str(key))
            if option is None:
                raise AnswerError(item.key, f"unknown option {key!r}", "unknown_option")
            chosen.add(option.key)
        return min(item.max_points, sum((o.points for o in item.options if o.key in chosen), ZERO))
    if item.type == "band":
        number = _number(item.key, answer)
        if item.unit == "%" and number > 100:
            raise AnswerError(item.key, f"{number}% is more than 100%", "over_100")
        return _band_points(item, number)
    return _band_points(item, computed_value(item, answer))


def _is_na(item: Item, answer: Any) -> bool:
    if item.type != "single" or answer is None:
        return False
    option = item.option(str(answer))
    return option is not None and option.na


def next_step(item: Item, answer: Any) -> str:
    """What would raise this item's points, in plain words (empty when it is at its maximum)."""
    try:
        points = item_points(item, answer)
    except AnswerError:
        points = ZERO
    if points >= item.max_points or _is_na(item, answer):
        return ""
    if item.type == "single":
        better = sorted((o for o in item.options if o.points > points), key=lambda o: o.points)
        return f"达到“{better[0].label_zh}”（+{better[0].points - points}分）" if better else ""
    if item.type == "multi":
        chosen = {str(k) for k in (answer or [])}
        missing = [o for o in item.options if o.key not in chosen and o.points > 0]
        missing.sort(key=lambda o: -o.points)
        return "补齐：" + "、".join(o.label_zh for o in missing[:3]) if missing else ""
    higher = [b for b in item.bands if b.points > points]
    if not higher:
        return ""
    target = min(higher, key=lambda b: b.points)
    unit = item.unit or ""
    return f"提高到 {target.min}{unit} 以上（+{target.points - points}分）"


# --- maturity --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaturityResult:
    questionnaire: str
    rule: str
    rule_provisional: bool
    total: Decimal
    base: Decimal
    dimensions: Mapping[str, Decimal]
    items: Mapping[str, Decimal]
    scene_levels: Mapping[str, int | None]  # None: not applicable
    level: int  # 0 is 未达一级
    level_checks: tuple[Mapping[str, Any], ...]
    next_level: Mapping[str, Any] | None
    item_next_steps: Mapping[str, str]
    scene_next_steps: Mapping[str, str]
    unanswered: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "questionnaire": self.questionnaire,
            "kind": "maturity",
            "rule": self.rule,
            "rule_provisional": self.rule_provisional,
            "level": self.level,
            "level_label": level_label(self.level),
            "total": to_number(self.total),
            "base": to_number(self.base),
            "dimensions": {k: to_number(v) for k, v in self.dimensions.items()},
            "items": {k: to_number(v) for k, v in self.items.items()},
            "scene_levels": dict(self.scene_levels),
            "level_checks": [dict(c) for c in self.level_checks],
            "next_level": self.next_level,
            "item_next_steps": dict(self.item_next_steps),
            "scene_next_steps": dict(self.scene_next_steps),
            "unanswered": list(self.unanswered),
        }


LEVEL_LABELS = {0: "未达一级", 1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def level_label(level: int) -> str:
    return LEVEL_LABELS.get(level, f"{level}级")


def to_number(value: Decimal) -> float | int:
    """Decimal to a JSON number, exact for the point values questionnaires use."""
    normal = value.normalize()
    return int(normal) if normal == normal.to_integral_value() else float(normal)


def scene_level(scene: Scene, answer: Any) -> int | None:
    if answer == NOT_APPLICABLE:
        return None
    if answer is None or answer == "":
        return 0
    try:
        level = int(answer)
    except (TypeError, ValueError):
        raise AnswerError(
            scene.key, f"level must be 0–4 or 'na', not {answer!r}", "bad_level"
        ) from None
    if not 0 <= level <= 4:
        raise AnswerError(scene.key, f"level must be 0–4 or 'na', not {answer!r}", "bad_level")
    return level


def _scaled(threshold: int, applicable: int, full: int, scale: bool) -> int:
    if not scale or full == 0:
        return threshold
    return math.ceil(threshold * applicable / full)


def level_for(
    questionnaire: Questionnaire,
    rule: LevelRule,
    base: Decimal,
    levels: Mapping[str, int | None],
) -> tuple[int, list[dict[str, Any]], dict[str, Any] | None]:
    """The overall level from the base points and the scene levels (None: not applicable).

    Returns the level (0 is 未达一级), each level's check, and what the next level needs.
    Re-levelling under a new rule needs only these, not the item answers.
    """
    all_scenes = questionnaire.scenes
    applicable = [s for s in all_scenes if levels.get(s.key) is not None]
    mandatory_all = [s for s in all_scenes if s.mandatory]
    mandatory_applicable = [s for s in applicable if s.mandatory]
    checks: list[dict[str, Any]] = []
    reached = 0
    for t in rule.levels:
        need_scenes = _scaled(
            t.min_scenes, len(applicable), len(all_scenes), rule.scale_with_applicable
        )
        need_mandatory = _scaled(
            t.min_mandatory,
            len(mandatory_applicable),
            len(mandatory_all),
            rule.scale_with_applicable,
        )
        have_scenes = sum(1 for s in applicable if (levels[s.key] or 0) >= t.level)
        have_mandatory = sum(1 for s in mandatory_applicable if (levels[s.key] or 0) >= t.level)
        met = base >= t.min_base and have_scenes >= need_scenes and have_mandatory >= need_mandatory
        checks.append(
            {
                "level": t.level,
                "met": met,
                "base": {"have": to_number(base), "need": to_number(t.min_base)},
                "scenes": {"have": have_scenes, "need": need_scenes},
                "mandatory": {"have": have_mandatory, "need": need_mandatory},
            }
        )
        if met and not reached:
            reached = t.level
    next_level = None
    target = next((c for c in checks if c["level"] == reached + 1), None)
    if target is not None:
        base_gap = max(ZERO, Decimal(str(target["base"]["need"])) - base)
        next_level = {
            "level": target["level"],
            "level_label": level_label(target["level"]),
            "base_points_needed": to_number(base_gap),
            "scenes_needed": max(0, target["scenes"]["need"] - target["scenes"]["have"]),
            "mandatory_scenes_needed": max(
                0, target["mandatory"]["need"] - target["mandatory"]["have"]
            ),
        }
    return reached, checks, next_level


def next_steps(
    questionnaire: Questionnaire, answers: Mapping[str, Any], levels: Mapping[str, int | None]
) -> tuple[dict[str, str], dict[str, str]]:
    """What each item and each applicable scene needs next, in plain words. Derived from the
    answers and the (immutable) questionnaire version, so results need not store it."""
    items = {i.key: step for i in questionnaire.items if (step := next_step(i, answers.get(i.key)))}
    scenes = {}
    for s in questionnaire.scenes:
        current = levels.get(s.key)
        if current is not None and current < 4:
            scenes[s.key] = f"{level_label(current + 1)}：{s.levels[current + 1]}"
    return items, scenes


def score_maturity(
    questionnaire: Questionnaire,
    rule: LevelRule,
    answers: Mapping[str, Any],
    scenes: Mapping[str, Any],
) -> MaturityResult:
    unknown = (set(answers) - {i.key for i in questionnaire.items}) | (
        set(scenes) - {s.key for s in questionnaire.scenes}
    )
    if unknown:
        key = sorted(unknown)[0]
        raise AnswerError(key, f"not a question of {questionnaire.key}")
    items = {i.key: item_points(i, answers.get(i.key)) for i in questionnaire.items}
    dims = {
        d.key: sum((items[i.key] for i in d.items), ZERO)
        for d in questionnaire.dimensions
        if not d.graded_by_scene
    }
    total = sum(dims.values(), ZERO)
    base = sum((dims.get(k, ZERO) for k in rule.base_dimensions), ZERO)
    levels = {s.key: scene_level(s, scenes.get(s.key)) for s in questionnaire.scenes}
    reached, checks, next_level = level_for(questionnaire, rule, base, levels)
    item_steps, scene_steps = next_steps(questionnaire, answers, levels)
    unanswered = tuple(
        [i.key for i in questionnaire.items if answers.get(i.key) is None]
        + [s.key for s in questionnaire.scenes if scenes.get(s.key) in (None, "")]
    )
    return MaturityResult(
        questionnaire=questionnaire.key,
        rule=rule.key,
        rule_provisional=rule.provisional,
        total=total,
        base=base,
        dimensions=dims,
        items=items,
        scene_levels=levels,
        level=reached,
        level_checks=tuple(checks),
        next_level=next_level,
        item_next_steps=item_steps,
        scene_next_steps=scene_steps,
        unanswered=unanswered,
    )


# --- security --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecurityResult:
    questionnaire: str
    score: Decimal  # 0–100 over the applicable items
    grade: str  # "high" / "medium" / "low" risk
    areas: Mapping[str, Decimal]
    high_severity_failures: tuple[str, ...]
    remediation: tuple[Mapping[str, Any], ...]
    unanswered: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "questionnaire": self.questionnaire,
            "kind": "security",
            "score": to_number(self.score),
            "risk_grade": self.grade,
            "risk_grade_label": RISK_LABELS[self.grade],
            "areas": {k: to_number(v) for k, v in self.areas.items()},
            "high_severity_failures": list(self.high_severity_failures),
            "remediation": [dict(r) for r in self.remediation],
            "unanswered": list(self.unanswered),
        }


RISK_LABELS = {"high": "高", "medium": "中", "low": "低"}


def _percent(got: Decimal, possible: Decimal) -> Decimal:
    if possible == 0:
        return Decimal(100)
    return (got / possible * 100).quantize(Decimal("0.1"))


def score_security(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> SecurityResult:
    unknown = set(answers) - {i.key for i in questionnaire.items}
    if unknown:
        key = sorted(unknown)[0]
        raise AnswerError(key, f"not a question of {questionnaire.key}")
    got = possible = ZERO
    areas: dict[str, Decimal] = {}
    failures: list[str] = []
    todo: list[tuple[Decimal, Item, Decimal]] = []
    for d in questionnaire.dimensions:
        d_got = d_possible = ZERO
        for item in d.items:
            answer = answers.get(item.key)
            if _is_na(item, answer):
                continue
            points = item_points(item, answer)
            d_got += points
            d_possible += item.max_points
            if points < item.max_points:
                if item.severity == "high" and points == 0:
                    failures.append(item.key)
                priority = SEVERITY_FACTOR.get(item.severity, 1) * (item.weight or item.max_points)
                todo.append((priority, item, points))
        areas[d.key] = _percent(d_got, d_possible)
        got += d_got
        possible += d_possible
    score = _percent(got, possible)
    grading = questionnaire.grading
    low = grading.get("low", {})
    medium = grading.get("medium", {})
    if score >= _dec(low.get("min_score", 80), "grading") and len(failures) <= int(
        low.get("max_high_severity_failures", 0)
    ):
        grade = "low"
    elif score >= _dec(medium.get("min_score", 60), "grading"):
        grade = "medium"
    else:
        grade = "high"
    todo.sort(key=lambda t: (-t[0], t[1].key))
    remediation = tuple(
        {
            "item": item.key,
            "name_zh": item.name_zh,
            "severity": item.severity,
            "weight": to_number(item.weight),
            "priority": to_number(priority),
            "answered": answers.get(item.key),
            "remediation_zh": item.remediation_zh,
            "part": item.part,
            "area": item.area,
        }
        for priority, item, _points in todo
    )
    unanswered = tuple(i.key for i in questionnaire.items if answers.get(i.key) is None)
    return SecurityResult(
        questionnaire=questionnaire.key,
        score=score,
        grade=grade,
        areas=areas,
        high_severity_failures=tuple(failures),
        remediation=remediation,
        unanswered=unanswered,
    )
