"""The matching score (docs/matching.md): pure functions over plain values, whole points out.

No database here. The fast path (snapshot.py, numpy) must rank exactly as `rank_products`
does; the tests hold the two together.

    total = coverage + fit + price + trust + outcomes + local + ratings

    coverage  Σ over the scenes that apply to the enterprise, of every level k the product
              lifts it through (level_s < k ≤ lifts_to_s): w_s × (2 if k ≤ target else 1).
              w_s = 4 for a mandatory (约束性) scene, 1 otherwise; target is the programme's
              target level (二级): a level up to it closes a gap (差距) and counts double, a
              level above it is further uplift (提升). No cap, no normalisation.
    fit       +15 the product lists the enterprise's cluster, +15 its industry; a product that
              lists no cluster and no industry (general purpose) gets 15; one that lists only
              other clusters and industries gets 0.
    price     15 / 8 / 0 as the size class's band is within / straddles / above the reference
              budget (after the subsidy of an open programme: none yet, so 0); 0 without a band.
    trust     by the provider's trust grade (可信等级, from its score): A 20, B 14, C 7, D 0.
    outcomes  5 (neutral) until programmes record delivered level gains.
    local     5 if the provider serves the enterprise's town.
    ratings   round half up (average stars) with at least 3 ratings, else 3 (neutral).

Ranked by (−total, product id); a provider keeps at most `cap` places in the list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from yunshu.providers.trust import grade_for

# -- the formula's constants ------------------------------------------------------------------

LEVEL_MIN, LEVEL_MAX = 0, 4
DEFAULT_TARGET_LEVEL = 2  # the city pilot's bar (settings.MATCHING_TARGET_LEVEL)
MANDATORY_WEIGHT = 4  # points per level of a mandatory (约束性) scene, above the target
OPTIONAL_WEIGHT = 1
GAP_FACTOR = 2  # a level up to the target closes a gap: it counts this many times
FIT_CLUSTER = 15
FIT_INDUSTRY = 15
FIT_GENERAL = 15
PRICE_WITHIN = 15
PRICE_STRADDLES = 8
PRICE_ABOVE = 0
PRICE_NO_BAND = 0
TRUST_BY_GRADE: Mapping[str, int] = {"A": 20, "B": 14, "C": 7, "D": 0}
TRUST_MAX = max(TRUST_BY_GRADE.values())
OUTCOMES_NEUTRAL = 5
LOCAL_POINTS = 5
RATINGS_NEUTRAL = 3
RATINGS_MIN_COUNT = 3
RATINGS_MAX = 5
TYPICAL_FALLBACK_LEVEL = 1

SIZE_CLASSES = ("micro", "small", "medium", "large")
UNKNOWN_SIZE_AS = "small"
# This project's assumption of what a firm of each size can spend on one product a year
# (settings.MATCHING_REFERENCE_BUDGET_YUAN overrides it).
DEFAULT_BUDGETS_YUAN: Mapping[str, int] = {
    "micro": 30_000,
    "small": 100_000,
    "medium": 300_000,
    "large": 1_000_000,
}
DEFAULT_PER_PROVIDER_CAP = 2
DEFAULT_TOP = 10

PART_KEYS = ("coverage", "fit", "price", "trust", "outcomes", "local", "ratings")
PART_MAX: Mapping[str, int | None] = {
    "coverage": None,  # no cap: it grows with the gaps a product closes
    "fit": max(FIT_CLUSTER + FIT_INDUSTRY, FIT_GENERAL),
    "price": PRICE_WITHIN,
    "trust": TRUST_MAX,
    "outcomes": 10,
    "local": LOCAL_POINTS,
    "ratings": RATINGS_MAX,
}
PART_LABELS: Mapping[str, Any] = {
    "coverage": gettext_lazy("场景提升"),
    "fit": gettext_lazy("行业与集群匹配"),
    "price": gettext_lazy("价格适配"),
    "trust": gettext_lazy("服务商可信评级"),
    "outcomes": gettext_lazy("交付成效"),
    "local": gettext_lazy("本地服务"),
    "ratings": gettext_lazy("用户评价"),
}
LEVEL_NAMES: Mapping[int, Any] = {
    0: gettext_lazy("未达一级"),
    1: gettext_lazy("一级"),
    2: gettext_lazy("二级"),
    3: gettext_lazy("三级"),
    4: gettext_lazy("四级"),
}
SIZE_NAMES: Mapping[str, Any] = {
    "micro": gettext_lazy("微型企业"),
    "small": gettext_lazy("小型企业"),
    "medium": gettext_lazy("中型企业"),
    "large": gettext_lazy("大型企业"),
}


# -- plain facts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SceneInfo:
    key: str
    name_zh: str
    name_en: str
    mandatory: bool

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh

    @property
    def weight(self) -> int:
        return MANDATORY_WEIGHT if self.mandatory else OPTIONAL_WEIGHT


def level_points(weight: int, level: int, target: int = DEFAULT_TARGET_LEVEL) -> int:
    """What lifting a scene of this weight into `level` earns: double up to the target."""
    return weight * (GAP_FACTOR if level <= target else 1)


@dataclass(frozen=True)
class EnterpriseFacts:
    """levels: every scene key → current level 0–4, or None where the scene does not apply."""

    levels: Mapping[str, int | None]
    cluster_id: int | None = None
    industry_id: str | None = None
    size_class: str = "unknown"
    town_id: int | None = None
    assessed: bool = True


@dataclass(frozen=True)
class ProductFacts:
    id: int
    provider_id: int
    lifts: Mapping[str, int]  # scene key → the level the product lifts it to (1–4)
    clusters: frozenset[int] = frozenset()
    industries: frozenset[str] = frozenset()
    price_bands: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    trust_score: int = 0
    rating_average: Decimal | None = None
    rating_count: int = 0
    towns: frozenset[int] = frozenset()

    @property
    def general_purpose(self) -> bool:
        return not self.clusters and not self.industries


@dataclass(frozen=True)
class Closed:
    """One scene a product lifts: from the current level to the product's level. The levels
    up to the target close a gap (差距); those above it are further uplift (提升)."""

    scene: str
    from_level: int
    to_level: int
    weight: int
    target: int = DEFAULT_TARGET_LEVEL

    @property
    def gap_points(self) -> int:
        top = min(self.to_level, self.target)
        return sum(
            level_points(self.weight, k, self.target) for k in range(self.from_level + 1, top + 1)
        )

    @property
    def uplift_points(self) -> int:
        bottom = max(self.from_level, self.target)
        return sum(
            level_points(self.weight, k, self.target) for k in range(bottom + 1, self.to_level + 1)
        )

    @property
    def points(self) -> int:
        return self.gap_points + self.uplift_points


@dataclass(frozen=True)
class Parts:
    coverage: int
    fit: int
    price: int
    trust: int
    outcomes: int
    local: int
    ratings: int
    # Why, for the words: the closed gaps, and a code per part.
    closed: tuple[Closed, ...] = ()
    fit_reason: str = ""
    price_reason: str = ""
    size_class: str = ""
    band: tuple[int, int] | None = None
    budget: int = 0
    subsidy: int = 0

    @property
    def total(self) -> int:
        return sum(self.as_dict().values())

    def as_dict(self) -> dict[str, int]:
        return {k: int(getattr(self, k)) for k in PART_KEYS}


# -- the parts --------------------------------------------------------------------------------


def coverage_points(
    levels: Mapping[str, int | None],
    lifts: Mapping[str, int],
    mandatory: Mapping[str, bool],
    target: int = DEFAULT_TARGET_LEVEL,
) -> tuple[int, tuple[Closed, ...]]:
    """Σ over the levels l_s < k ≤ L_ps of w_s × (2 if k ≤ target else 1), over the scenes
    that apply (level not None) and that the questionnaire knows (`mandatory` has the key).

    Every (scene, level) step has a fixed value, the same for every enterprise and product:
    that is what keeps "closing a gap never lifts a single-scene product" true."""
    closed = []
    for scene, to_level in lifts.items():
        if scene not in mandatory:
            continue
        level = levels.get(scene)
        if level is None or to_level <= level:
            continue
        weight = MANDATORY_WEIGHT if mandatory[scene] else OPTIONAL_WEIGHT
        closed.append(Closed(scene, int(level), int(to_level), weight, target))
    closed.sort(key=lambda c: (-c.points, c.scene))
    return sum(c.points for c in closed), tuple(closed)


def fit_points(
    cluster_id: int | None,
    industry_id: str | None,
    clusters: frozenset[int],
    industries: frozenset[str],
) -> tuple[int, str]:
    if not clusters and not industries:
        return FIT_GENERAL, "general"
    in_cluster = cluster_id is not None and cluster_id in clusters
    in_industry = industry_id is not None and industry_id in industries
    points = (FIT_CLUSTER if in_cluster else 0) + (FIT_INDUSTRY if in_industry else 0)
    reason = {
        (True, True): "cluster_industry",
        (True, False): "cluster",
        (False, True): "industry",
        (False, False): "other",
    }[(in_cluster, in_industry)]
    return points, reason


def sized(size_class: str) -> str:
    """The size class prices are read for: an unknown size counts as small."""
    return size_class if size_class in SIZE_CLASSES else UNKNOWN_SIZE_AS


def budget_for(size_class: str, budgets: Mapping[str, int] = DEFAULT_BUDGETS_YUAN) -> int:
    return int(budgets[sized(size_class)])


def band_for(price_bands: Mapping[str, Any], size_class: str) -> tuple[int, int] | None:
    band = price_bands.get(sized(size_class)) if price_bands else None
    if not band or len(band) != 2:
        return None
    try:
        low, high = int(band[0]), int(band[1])
    except (TypeError, ValueError):
        return None
    if low < 0 or high < low:
        return None
    return low, high


def price_points(band: tuple[int, int] | None, budget: int, subsidy: int = 0) -> tuple[int, str]:
    """15 if the whole band (after subsidy) fits the budget, 8 if it straddles it, else 0."""
    if band is None:
        return PRICE_NO_BAND, "no_band"
    low, high = max(0, band[0] - subsidy), max(0, band[1] - subsidy)
    if high <= budget:
        return PRICE_WITHIN, "within"
    if low <= budget:
        return PRICE_STRADDLES, "straddles"
    return PRICE_ABOVE, "above"


def half_up(value: Decimal | int | float) -> int:
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def trust_grade(trust_score: int) -> str:
    """The provider's trust grade A–D from its score (the providers' thresholds)."""
    return grade_for(max(0, min(100, int(trust_score))))


def trust_points(trust_score: int) -> int:
    return TRUST_BY_GRADE[trust_grade(trust_score)]


def outcomes_points() -> int:
    """Neutral until the programmes issue records delivered level gains."""
    return OUTCOMES_NEUTRAL


def local_points(town_id: int | None, towns: frozenset[int]) -> int:
    return LOCAL_POINTS if town_id is not None and town_id in towns else 0


def ratings_points(average: Decimal | None, count: int) -> int:
    if count < RATINGS_MIN_COUNT or average is None:
        return RATINGS_NEUTRAL
    return max(0, min(RATINGS_MAX, half_up(average)))


def score(
    enterprise: EnterpriseFacts,
    product: ProductFacts,
    mandatory: Mapping[str, bool],
    *,
    budgets: Mapping[str, int] = DEFAULT_BUDGETS_YUAN,
    subsidy: int = 0,
    target: int = DEFAULT_TARGET_LEVEL,
) -> Parts:
    coverage, closed = coverage_points(enterprise.levels, product.lifts, mandatory, target)
    fit, fit_reason = fit_points(
        enterprise.cluster_id, enterprise.industry_id, product.clusters, product.industries
    )
    band = band_for(product.price_bands, enterprise.size_class)
    budget = budget_for(enterprise.size_class, budgets)
    price, price_reason = price_points(band, budget, subsidy)
    return Parts(
        coverage=coverage,
        fit=fit,
        price=price,
        trust=trust_points(product.trust_score),
        outcomes=outcomes_points(),
        local=local_points(enterprise.town_id, product.towns),
        ratings=ratings_points(product.rating_average, product.rating_count),
        closed=closed,
        fit_reason=fit_reason,
        price_reason=price_reason,
        size_class=sized(enterprise.size_class),
        band=band,
        budget=budget,
        subsidy=subsidy,
    )


# -- ranking ----------------------------------------------------------------------------------

T = TypeVar("T")


def capped(
    ordered: Iterable[tuple[int, T]], *, cap: int, top: int | None = None
) -> Iterator[tuple[int, T]]:
    """Walk (provider id, item) in rank order; skip an item whose provider already has `cap`
    places; stop after `top` items (None: walk to the end)."""
    taken: dict[int, int] = {}
    n = 0
    for provider_id, item in ordered:
        if top is not None and n >= top:
            return
        if taken.get(provider_id, 0) >= cap:
            continue
        taken[provider_id] = taken.get(provider_id, 0) + 1
        n += 1
        yield provider_id, item


@dataclass(frozen=True)
class Ranked:
    rank: int
    product: ProductFacts
    parts: Parts

    @property
    def total(self) -> int:
        return self.parts.total


def rank_products(
    enterprise: EnterpriseFacts,
    products: Sequence[ProductFacts],
    mandatory: Mapping[str, bool],
    *,
    budgets: Mapping[str, int] = DEFAULT_BUDGETS_YUAN,
    cap: int = DEFAULT_PER_PROVIDER_CAP,
    top: int | None = DEFAULT_TOP,
    target: int = DEFAULT_TARGET_LEVEL,
) -> list[Ranked]:
    """The reference ranking: every candidate scored, ordered by (−total, id), capped."""
    scored = [
        (score(enterprise, p, mandatory, budgets=budgets, target=target), p) for p in products
    ]
    scored.sort(key=lambda sp: (-sp[0].total, sp[1].id))
    walk = capped(((p.provider_id, (parts, p)) for parts, p in scored), cap=cap, top=top)
    return [Ranked(i, p, parts) for i, (_prov, (parts, p)) in enumerate(walk, start=1)]


def typical_levels(
    assessed: Iterable[Mapping[str, int | None]], scene_keys: Sequence[str]
) -> dict[str, int]:
    """Per scene, the floor of the mean current level among the assessed enterprises it
    applies to; 1 where none."""
    sums = dict.fromkeys(scene_keys, 0)
    counts = dict.fromkeys(scene_keys, 0)
    for levels in assessed:
        for key in scene_keys:
            level = levels.get(key)
            if level is not None:
                sums[key] += int(level)
                counts[key] += 1
    return {
        key: (sums[key] // counts[key]) if counts[key] else TYPICAL_FALLBACK_LEVEL
        for key in scene_keys
    }


# -- the words --------------------------------------------------------------------------------


def yuan(amount: int) -> str:
    return f"¥{amount:,}"


@dataclass(frozen=True)
class Words:
    key: str
    label: str
    points: int
    lines: tuple[str, ...]


def explain(
    parts: Parts,
    scenes: Mapping[str, SceneInfo],
    *,
    product: ProductFacts,
    cluster_name: str = "",
    industry_name: str = "",
    town_name: str = "",
    size_known: bool = True,
    typical: bool = False,
) -> list[Words]:
    """Each part in plain words (Chinese msgids, translated where a translation exists).
    typical: the levels are the cluster's typical ones (no assessment), and the words say so."""
    out = []

    cov_lines = []
    for c in parts.closed:
        scene = scenes.get(c.scene)
        name = scene.name if scene else c.scene
        if c.weight == MANDATORY_WEIGHT:
            name = _("%(scene)s（约束性场景）") % {"scene": name}
        facts = {
            "scene": name,
            "a": LEVEL_NAMES[c.from_level],
            "b": LEVEL_NAMES[c.to_level],
            "target": LEVEL_NAMES[min(max(c.target, LEVEL_MIN), LEVEL_MAX)],
            "g": c.gap_points,
            "u": c.uplift_points,
        }
        if c.gap_points and c.uplift_points:
            text = _("%(scene)s %(a)s→%(b)s：补齐到%(target)s的差距 +%(g)d，再提升 +%(u)d")
        elif c.gap_points:
            text = _("%(scene)s %(a)s→%(b)s：补齐到%(target)s的差距 +%(g)d")
        else:
            text = _("%(scene)s %(a)s→%(b)s：已达%(target)s，再提升 +%(u)d")
        cov_lines.append(text % facts)
    if not cov_lines:
        cov_lines.append(_("不能再提升本企业在任何适用场景的等级"))
    if typical:
        cov_lines.append(_("（等级按集群典型水平假设，并非本企业的评估结果）"))
    out.append(Words("coverage", str(PART_LABELS["coverage"]), parts.coverage, tuple(cov_lines)))

    fit_text = {
        "cluster_industry": _("适用于本企业所在的%(cluster)s集群（+15）和%(industry)s行业（+15）"),
        "cluster": _("适用于本企业所在的%(cluster)s集群 +15"),
        "industry": _("适用于本企业所在的%(industry)s行业 +15"),
        "general": _("通用产品，不限行业和集群 +15"),
        "other": _("只面向其他行业或集群，不适用于本企业 +0（通用产品得 15）"),
    }[parts.fit_reason] % {"cluster": cluster_name or "—", "industry": industry_name or "—"}
    out.append(Words("fit", str(PART_LABELS["fit"]), parts.fit, (fit_text,)))

    size = str(SIZE_NAMES[parts.size_class])
    price_lines = []
    if not size_known:
        price_lines.append(_("企业规模未知，按小型企业计"))
    if parts.band is None:
        price_lines.append(_("未标注该规模报价 +0"))
    else:
        facts = {
            "size": size,
            "low": yuan(parts.band[0]),
            "high": yuan(parts.band[1]),
            "budget": yuan(parts.budget),
        }
        price_lines.append(
            {
                "within": _("%(size)s报价 %(low)s–%(high)s/年，全部在参考预算 %(budget)s 以内 +15"),
                "straddles": _(
                    "%(size)s报价 %(low)s–%(high)s/年，参考预算 %(budget)s 落在区间内 +8"
                ),
                "above": _("%(size)s报价 %(low)s–%(high)s/年，最低价超出参考预算 %(budget)s +0"),
            }[parts.price_reason]
            % facts
        )
    if parts.subsidy:
        price_lines.append(_("已扣除补贴 %(s)s") % {"s": yuan(parts.subsidy)})
    else:
        price_lines.append(_("暂无可申请的开放补贴项目，补贴按 0 元计（中性）"))
    out.append(Words("price", str(PART_LABELS["price"]), parts.price, tuple(price_lines)))

    out.append(
        Words(
            "trust",
            str(PART_LABELS["trust"]),
            parts.trust,
            (
                _("服务商可信等级 %(g)s（可信评分 %(s)d/100）+%(p)d")
                % {
                    "g": trust_grade(product.trust_score),
                    "s": product.trust_score,
                    "p": parts.trust,
                },
                _("可信等级 A +%(a)d，B +%(b)d，C +%(c)d，D +%(d)d")
                % {k.lower(): v for k, v in TRUST_BY_GRADE.items()},
            ),
        )
    )
    out.append(
        Words(
            "outcomes",
            str(PART_LABELS["outcomes"]),
            parts.outcomes,
            (_("待补贴项目上线后按交付成效（等级提升）计分，目前按中性计 +5"),),
        )
    )
    if parts.local:
        local_text = _("服务商为%(town)s提供本地服务 +5") % {"town": town_name or "—"}
    else:
        local_text = _("服务商未登记为%(town)s提供服务 +0") % {"town": town_name or "—"}
    out.append(Words("local", str(PART_LABELS["local"]), parts.local, (local_text,)))
    if product.rating_count >= RATINGS_MIN_COUNT and product.rating_average is not None:
        rating_text = _("平均 %(avg)s 星（%(n)d 条评价）+%(p)d") % {
            "avg": product.rating_average,
            "n": product.rating_count,
            "p": parts.ratings,
        }
    else:
        rating_text = _("评价不足3条，按中性计分 +3")
    out.append(Words("ratings", str(PART_LABELS["ratings"]), parts.ratings, (rating_text,)))
    return out
