"""Cluster supply and demand for officials: the cluster × maturity-scene table.

Demand is the number of enterprises in a cluster whose current level in a scene is below
the target level (settings.MATCHING_TARGET_LEVEL, 二级 by default: the city pilot's target);
a scene an enterprise marked not applicable does not count. Supply is the number of
catalogue products that lift the scene to the target or above and are for the cluster
(they list it, or list no cluster at all), and the distinct providers behind them.

Everything is counted in the database: a fixed handful of queries, however many
enterprises and products there are.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from yunshu.accounts.models import Role
from yunshu.assessments.definitions import engine_questionnaire
from yunshu.assessments.models import LevelRule, Questionnaire
from yunshu.assessments.selectors import latest_results_visible_to
from yunshu.assessments.templatetags.assessment_tags import level_name
from yunshu.core.models import Cluster
from yunshu.enterprises.models import OperatingStatus
from yunshu.enterprises.selectors import enterprises_visible_to
from yunshu.providers.models import Product, ProductScene, Provider, VettingState
from yunshu.providers.selectors import catalogue_products

from . import snapshot
from .models import MatchRun, Recommendation

Decision = tuple[bool, str]
METRICS = ("demand", "supply", "gap")
# Enterprises no longer operating in the city are not invited.
GONE = (OperatingStatus.CANCELLED, OperatingStatus.REVOKED, OperatingStatus.MOVED_OUT)


def target_level() -> int:
    """The level below which a scene is a gap (差距): the same one matching and the provider's
    inbox use (settings.MATCHING_TARGET_LEVEL)."""
    return snapshot.target_level()


def target_label() -> str:
    """The target level's name in the active language (二级, "Level 2")."""
    return level_name(target_level())


# --- permissions ------------------------------------------------------------------------------


def _role(user: Any) -> str | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.CITY
    org = user.organisation
    if org is None or not org.is_active:
        return None
    return str(org.kind)


def can_view_supply(user: Any) -> Decision:
    if _role(user) in (Role.CITY, Role.TOWN):
        return True, ""
    return False, _("只有市工信局和镇街可以查看供需热力图")


def can_list_cell_enterprises(user: Any) -> Decision:
    """Officers see the enterprises behind a cell (a town officer its own town's only)."""
    return can_view_supply(user)


# --- scenes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SceneInfo:
    key: str
    name_zh: str
    name_en: str
    mandatory: bool

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


def active_maturity_questionnaire() -> Questionnaire | None:
    """The maturity version levels are currently given by (the one with an active rule)."""
    active = Exists(LevelRule.objects.filter(questionnaire=OuterRef("pk"), is_active=True))
    return (
        Questionnaire.objects.filter(kind=Questionnaire.Kind.MATURITY)
        .annotate(active=active)
        .order_by("-active", "-loaded_at", "-key")
        .first()
    )


def _scenes_of(q: Questionnaire | None) -> list[SceneInfo]:
    if q is None:
        return []
    return [
        SceneInfo(s.key, s.name_zh, s.name_en, s.mandatory) for s in engine_questionnaire(q).scenes
    ]


def maturity_scenes() -> list[SceneInfo]:
    return _scenes_of(active_maturity_questionnaire())


def _level(key: str) -> Case:
    """The scene's level in a result; NULL for "not applicable" (JSON null) or a scene it
    lacks. (SQLite would read a JSON null as the text 'null' and cast it to 0.)"""
    path = f"computed__scene_levels__{key}"
    known = Q(**{f"{path}__isnull": False}) & ~Q(**{path: None})
    return Case(
        When(known, then=Cast(KT(path), IntegerField())),
        default=Value(None),
        output_field=IntegerField(),
    )


def _levels(scenes: list[SceneInfo]) -> dict[str, Case]:
    return {f"lv_{i}": _level(s.key) for i, s in enumerate(scenes)}


# --- the table --------------------------------------------------------------------------------


@dataclass
class Cell:
    scene: SceneInfo
    demand: int = 0
    products: int = 0
    providers: int = 0

    @property
    def no_supply(self) -> bool:
        return self.demand > 0 and self.products == 0

    @property
    def gap(self) -> float:
        """Enterprises below target per covering product (with no product: per one)."""
        return round(self.demand / max(self.products, 1), 1)

    def value(self, metric: str) -> float:
        return {"demand": self.demand, "supply": self.products, "gap": self.gap}[metric]


@dataclass
class ClusterRow:
    cluster: Cluster
    enterprises: int = 0
    assessed: int = 0
    cells: list[Cell] = field(default_factory=list)

    @property
    def demand(self) -> int:
        return sum(c.demand for c in self.cells)


@dataclass
class Heatmap:
    target: int
    questionnaire: str
    scenes: list[SceneInfo]
    rows: list[ClusterRow]

    @property
    def target_label(self) -> str:
        return level_name(self.target)

    def chart(self, metric: str) -> dict[str, Any]:
        """The ECharts data: [scene index, cluster index, value] per cell, for every metric."""
        en = (get_language() or "").startswith("en")
        return {
            "scenes": [s.name for s in self.scenes],
            "scene_keys": [s.key for s in self.scenes],
            "clusters": [r.cluster.name_en if en else r.cluster.name_zh for r in self.rows],
            "cluster_ids": [r.cluster.pk for r in self.rows],
            "metric": metric,
            "values": {
                m: [
                    [x, y, cell.value(m)]
                    for y, row in enumerate(self.rows)
                    for x, cell in enumerate(row.cells)
                ]
                for m in METRICS
            },
            "cells": [
                [[c.demand, c.products, c.providers, c.gap] for c in row.cells] for row in self.rows
            ],
        }


def _demand(user: Any, scenes: list[SceneInfo], target: int) -> dict[int, dict[str, int]]:
    """{cluster id: {"assessed": n, "d_<i>": enterprises below target in scene i}}: one query."""
    if not scenes:
        return {}
    counts = {
        f"d_{i}": Count("id", filter=Q(**{f"lv_{i}__lt": target})) for i in range(len(scenes))
    }
    rows = (
        latest_results_visible_to(user, kind=Questionnaire.Kind.MATURITY)
        .filter(assessment__enterprise__cluster__isnull=False)
        .alias(**_levels(scenes))
        .values(cl=F("assessment__enterprise__cluster_id"))
        .annotate(assessed=Count("id"), **counts)
        .order_by()
    )
    return {r["cl"]: r for r in rows}


def _covering(target: int) -> QuerySet[ProductScene]:
    return ProductScene.objects.filter(
        lifts_to__gte=target, product__in=catalogue_products().values("pk")
    )


def _supply(scenes: list[SceneInfo], target: int) -> dict[tuple[int | None, str], dict[str, int]]:
    """{(cluster id or None for general products, scene): counts}: one query.

    A provider with both a general and a cluster product in a scene counts once: "extra" is
    the cluster's providers that have no general product in that scene.
    """
    through = Product.clusters.through
    general = ~Exists(through.objects.filter(product_id=OuterRef("product_id")))
    provider_has_general = Exists(
        _covering(target)
        .filter(scene=OuterRef("scene"), product__provider_id=OuterRef("product__provider_id"))
        .filter(general)
    )
    rows = (
        _covering(target)
        .filter(scene__in=[s.key for s in scenes])
        .alias(provider_has_general=provider_has_general)
        .values("scene", cl=F("product__clusters"))
        .annotate(
            products=Count("product_id", distinct=True),
            providers=Count("product__provider_id", distinct=True),
            extra=Count(
                "product__provider_id", distinct=True, filter=Q(provider_has_general=False)
            ),
        )
        .order_by()
    )
    return {(r["cl"], r["scene"]): r for r in rows}


def supply_demand(user: Any) -> Heatmap:
    """The cluster × scene table for an officer: demand from the enterprises the user may see
    (a town officer: its own town), supply from the whole catalogue."""
    q = active_maturity_questionnaire()
    scenes = _scenes_of(q)
    target = target_level()
    clusters = list(Cluster.objects.order_by("sort_order", "pk"))
    enterprises = dict(
        enterprises_visible_to(user)
        .filter(cluster__isnull=False)
        .values_list("cluster_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    demand = _demand(user, scenes, target)
    supply = _supply(scenes, target)
    rows = []
    for cluster in clusters:
        d = demand.get(cluster.pk, {})
        row = ClusterRow(
            cluster=cluster,
            enterprises=enterprises.get(cluster.pk, 0),
            assessed=d.get("assessed", 0),
        )
        for i, scene in enumerate(scenes):
            g = supply.get((None, scene.key), {})
            s = supply.get((cluster.pk, scene.key), {})
            row.cells.append(
                Cell(
                    scene=scene,
                    demand=d.get(f"d_{i}", 0),
                    products=g.get("products", 0) + s.get("products", 0),
                    providers=g.get("providers", 0) + s.get("extra", 0),
                )
            )
        rows.append(row)
    return Heatmap(target=target, questionnaire=q.key if q else "", scenes=scenes, rows=rows)


# --- one cell ---------------------------------------------------------------------------------


def _for_cluster(cluster: Cluster) -> Q:
    through = Product.clusters.through
    listed = Exists(through.objects.filter(product_id=OuterRef("pk"), cluster_id=cluster.pk))
    lists_any = Exists(through.objects.filter(product_id=OuterRef("pk")))
    return Q(listed) | ~Q(lists_any)


def cell_products(cluster: Cluster, scene: str) -> QuerySet[Product]:
    """The catalogue products counted in a cell, with the level each lifts the scene to."""
    target = target_level()
    lifts = ProductScene.objects.filter(product_id=OuterRef("pk"), scene=scene)
    return (
        catalogue_products()
        .filter(Exists(lifts.filter(lifts_to__gte=target)))
        .filter(_for_cluster(cluster))
        .annotate(lifts_to=Subquery(lifts.values("lifts_to")[:1]))
        .order_by("-lifts_to", "name", "pk")
    )


def cell_enterprises(user: Any, cluster: Cluster, scene: str) -> QuerySet[Any]:
    """Rows (enterprise id, name, town, level) behind a cell's demand, as the user may see."""
    return (
        latest_results_visible_to(user, kind=Questionnaire.Kind.MATURITY)
        .filter(assessment__enterprise__cluster=cluster)
        .annotate(scene_level=_level(scene))
        .filter(scene_level__lt=target_level())
        .values(
            "scene_level",
            enterprise_id=F("assessment__enterprise_id"),
            name=F("assessment__enterprise__name"),
            town_zh=F("assessment__enterprise__town__name_zh"),
            town_en=F("assessment__enterprise__town__name_en"),
        )
        .order_by("scene_level", "assessment__enterprise__name")
    )


# --- who to invite to a cluster's matchmaking event -------------------------------------------


def newest_run() -> MatchRun | None:
    return MatchRun.objects.filter(status=MatchRun.Status.SUCCEEDED).order_by("-created_at").first()


def enterprises_with_gaps(
    user: Any,
    cluster: Cluster,
    *,
    run: MatchRun | None = None,
    town: int | None = None,
    account: bool | None = None,
) -> QuerySet[Any]:
    """The cluster's enterprises (as the user may see them) with at least one scene below
    target, ranked by their best recommendation in the newest succeeded batch run where there
    is one, then by the number of gaps. Rows carry the enterprise's organisation id (None:
    no platform account, to invite offline) and contact details for the offline list."""
    scenes = maturity_scenes()
    target = target_level()
    below = [
        Case(When(**{f"lv_{i}__lt": target}, then=Value(1)), default=Value(0))
        for i in range(len(scenes))
    ]
    gaps = reduce(operator.add, below) if below else Value(0)
    qs = (
        latest_results_visible_to(user, kind=Questionnaire.Kind.MATURITY)
        .filter(assessment__enterprise__cluster=cluster)
        .annotate(**_levels(scenes))
        .annotate(gaps=gaps)
        .filter(gaps__gt=0)
    )
    if town:
        qs = qs.filter(assessment__enterprise__town_id=town)
    reachable = reachable_account("assessment__enterprise_id")
    if account is True:
        qs = qs.filter(reachable)
    elif account is False:
        qs = qs.exclude(reachable)
    if run is not None:
        recs = Recommendation.objects.filter(
            run=run, enterprise_id=OuterRef("assessment__enterprise_id")
        ).order_by("rank")
        qs = qs.annotate(
            top_score=Subquery(recs.values("score")[:1]),
            top_product=Subquery(recs.values("product__name")[:1]),
        )
    else:
        qs = qs.annotate(top_score=Value(None, IntegerField()), top_product=Value(""))
    return qs.values(
        "gaps",
        "top_score",
        "top_product",
        *_levels(scenes),
        enterprise_id=F("assessment__enterprise_id"),
        name=F("assessment__enterprise__name"),
        uscc=F("assessment__enterprise__uscc"),
        town_zh=F("assessment__enterprise__town__name_zh"),
        town_en=F("assessment__enterprise__town__name_en"),
        contact_name=F("assessment__enterprise__contact_name"),
        contact_phone=F("assessment__enterprise__contact_phone"),
        address=F("assessment__enterprise__address"),
        organisation_id=F("assessment__enterprise__organisation__id"),
    ).order_by(F("top_score").desc(nulls_last=True), "-gaps", "assessment__enterprise__name")


def reachable_account(enterprise_ref: str) -> Exists:
    """The enterprise has a platform account an invitation reaches: an active organisation
    with at least one active user (an organisation without users reaches nobody)."""
    from yunshu.accounts.models import User

    return Exists(
        User.objects.filter(
            is_active=True,
            organisation__is_active=True,
            organisation__enterprise_id=OuterRef(enterprise_ref),
        )
    )


def enterprises_unassessed(
    user: Any, cluster: Cluster, *, town: int | None = None, account: bool = True
) -> QuerySet[Any]:
    """The cluster's enterprises (as the user may see them) with no submitted maturity
    assessment: they cannot be ranked by their gaps, but may be invited all the same."""
    assessed = latest_results_visible_to(user, kind=Questionnaire.Kind.MATURITY).filter(
        assessment__enterprise_id=OuterRef("pk")
    )
    qs = (
        enterprises_visible_to(user)
        .filter(cluster=cluster)
        .exclude(status__in=GONE)
        .filter(~Exists(assessed))
    )
    if town:
        qs = qs.filter(town_id=town)
    reachable = reachable_account("pk")
    qs = qs.filter(reachable) if account else qs.exclude(reachable)
    return qs.values(
        "name",
        "uscc",
        enterprise_id=F("pk"),
        town_zh=F("town__name_zh"),
        town_en=F("town__name_en"),
        organisation_id=F("organisation__id"),
    ).order_by("name", "pk")


def gap_scene_names(row: dict[str, Any], scenes: list[SceneInfo]) -> list[str]:
    target = target_level()
    return [
        s.name
        for i, s in enumerate(scenes)
        if row.get(f"lv_{i}") is not None and row[f"lv_{i}"] < target
    ]


def providers_for_cluster(cluster: Cluster, *, run: MatchRun | None = None) -> QuerySet[Provider]:
    """Approved providers that serve the cluster or have catalogue products for it (listing it
    or general), ranked: serving it first, then by how often the newest batch run recommends
    them to the cluster's enterprises, then by products for it."""

    def count(qs: QuerySet[Any]) -> Coalesce:
        return Coalesce(
            Subquery(
                qs.order_by().values("provider_id").annotate(n=Count("pk")).values("n")[:1],
                output_field=IntegerField(),
            ),
            0,
        )

    mine = catalogue_products().filter(provider_id=OuterRef("pk"))
    through = Product.clusters.through
    listed = Exists(through.objects.filter(product_id=OuterRef("pk"), cluster_id=cluster.pk))
    lists_any = Exists(through.objects.filter(product_id=OuterRef("pk")))
    served = Provider.clusters_served.through
    qs = Provider.objects.filter(vetting_state=VettingState.APPROVED).annotate(
        serves=Exists(served.objects.filter(provider_id=OuterRef("pk"), cluster_id=cluster.pk)),
        cluster_products=count(mine.filter(listed)),
        general_products=count(mine.filter(~lists_any)),
    )
    if run is not None:
        recs = Recommendation.objects.filter(
            run=run, provider_id=OuterRef("pk"), enterprise__cluster=cluster
        )
        qs = qs.annotate(recommended=count(recs))
    else:
        qs = qs.annotate(recommended=Value(0, IntegerField()))
    return (
        qs.filter(Q(serves=True) | Q(cluster_products__gt=0) | Q(general_products__gt=0))
        .select_related("organisation")
        .order_by("-serves", "-recommended", "-cluster_products", "-general_products", "name")
    )
