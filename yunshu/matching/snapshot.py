"""The catalogue as numpy arrays, for ranking one enterprise in milliseconds and every
enterprise in one pass (docs/matching.md, "How it is computed").

Every part of the score is linear in one-hot facts about the enterprise, so a whole ranking is
one matrix product:

    key[e, p] = (E @ P)[e, p] + base[p] = scale · total[e, p] + (n − 1 − p)

E's columns are the enterprise's facts, P's rows what each product earns for them:
  (scene s, level k), k = 1..4   E = v_sk·scale if k > level_s (scene applies), P = 1 if L_ps ≥ k
                                 with v_sk = w_s × (2 if k ≤ target else 1): Σ_k gives the
                                 coverage, level by level
  cluster c                      E = 15·scale for the enterprise's cluster, P = 1 if listed
  industry i                     E = 15·scale, P = 1 if listed
  size class z                   E = scale, P = the price points for that size's band
  town t                         E = scale, P = 5 if the provider serves t
and base[p] = scale·(general·15 + trust + outcomes + ratings) + (n − 1 − p). With scale = n the
product index breaks ties (lower id first) inside the key, so ordering by key is ordering by
(−total, id), exactly, in float32 while keys stay below 2**24 (float64 beyond).

The snapshot is cached in-process and keyed by the catalogue version row, which every service
that changes what matching reads bumps; one cheap query per request checks it.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings

from . import scoring
from .scoring import EnterpriseFacts, ProductFacts, SceneInfo

FLOAT32_EXACT = 2**24
CANDIDATES_PER_ITEM = 4  # top × this many best products are walked for the provider cap
MIN_CANDIDATES = 40


def budgets() -> dict[str, int]:
    configured = getattr(settings, "MATCHING_REFERENCE_BUDGET_YUAN", None) or {}
    return {k: int(configured.get(k, v)) for k, v in scoring.DEFAULT_BUDGETS_YUAN.items()}


def per_provider_cap() -> int:
    return int(getattr(settings, "MATCHING_PER_PROVIDER_CAP", scoring.DEFAULT_PER_PROVIDER_CAP))


def target_level() -> int:
    """The programme's target level (二级 by default): below it a scene is a gap (差距), for
    matching, the heat map and the provider's inbox alike."""
    configured = getattr(settings, "MATCHING_TARGET_LEVEL", scoring.DEFAULT_TARGET_LEVEL)
    return max(1, min(scoring.LEVEL_MAX, int(configured)))


@dataclass
class Encoded:
    """Enterprises as rows: levels (−1 where a scene does not apply) and column indices
    (−1 where the fact has no column: no product lists that cluster, industry or town)."""

    levels: np.ndarray  # (R, S) int8
    cluster: np.ndarray  # (R,) int32
    industry: np.ndarray
    size: np.ndarray  # (R,) int32, index into SIZE_CLASSES
    town: np.ndarray

    def __len__(self) -> int:
        return int(self.levels.shape[0])


class Snapshot:
    def __init__(
        self,
        *,
        key: Any,
        scenes: Sequence[SceneInfo],
        products: Sequence[ProductFacts],
        names: Sequence[str] = (),
        summaries: Sequence[str] = (),
        provider_names: Sequence[str] = (),
        budgets: Mapping[str, int] = scoring.DEFAULT_BUDGETS_YUAN,
        target: int = scoring.DEFAULT_TARGET_LEVEL,
    ) -> None:
        self.key = key
        self.target = target
        self.scenes = tuple(scenes)
        self.scene_by_key = {s.key: s for s in self.scenes}
        self.mandatory = {s.key: s.mandatory for s in self.scenes}
        self.budgets = dict(budgets)
        order = sorted(range(len(products)), key=lambda i: products[i].id)
        self.products = [products[i] for i in order]
        self.names = [names[i] if names else "" for i in order]
        self.summaries = [summaries[i] if summaries else "" for i in order]
        self.provider_names = [provider_names[i] if provider_names else "" for i in order]
        self.n = n = len(self.products)
        self.index = {p.id: i for i, p in enumerate(self.products)}
        self.product_ids = np.array([p.id for p in self.products], dtype=np.int64)
        self.provider_ids = np.array([p.provider_id for p in self.products], dtype=np.int64)
        self._reachable: dict[int, int] = {}
        s_count = len(self.scenes)
        scene_pos = {s.key: i for i, s in enumerate(self.scenes)}

        self.lifts = np.zeros((s_count, n), dtype=np.int8)
        for j, p in enumerate(self.products):
            for scene, level in p.lifts.items():
                if scene in scene_pos:
                    self.lifts[scene_pos[scene], j] = level
        self.weights = np.array([s.weight for s in self.scenes], dtype=np.int64)
        # steps[s, k − 1]: what lifting scene s into level k earns; cum[s, L] = Σ_{k ≤ L}.
        self.steps = np.array(
            [[scoring.level_points(int(w), k, target) for k in range(1, 5)] for w in self.weights],
            dtype=np.int64,
        ).reshape(s_count, 4)
        self.cum = np.concatenate(
            [np.zeros((s_count, 1), dtype=np.int64), np.cumsum(self.steps, axis=1)], axis=1
        )

        clusters = sorted({c for p in self.products for c in p.clusters})
        industries = sorted({i for p in self.products for i in p.industries})
        towns = sorted({t for p in self.products for t in p.towns})
        self.cluster_col: dict[int | None, int] = {c: k for k, c in enumerate(clusters)}
        self.industry_col: dict[str | None, int] = {i: k for k, i in enumerate(industries)}
        self.town_col: dict[int | None, int] = {t: k for k, t in enumerate(towns)}
        self.off_cluster = s_count * 4
        self.off_industry = self.off_cluster + len(clusters)
        self.off_size = self.off_industry + len(industries)
        self.off_town = self.off_size + len(scoring.SIZE_CLASSES)
        self.k = self.off_town + len(towns)

        self.max_total = (
            int(self.steps.sum())
            + max(scoring.FIT_CLUSTER + scoring.FIT_INDUSTRY, scoring.FIT_GENERAL)
            + scoring.PRICE_WITHIN
            + scoring.TRUST_MAX
            + scoring.OUTCOMES_NEUTRAL
            + scoring.LOCAL_POINTS
            + scoring.RATINGS_MAX
        )
        self.scale = max(1, n)
        exact32 = self.scale * (self.max_total + 1) < FLOAT32_EXACT
        self.dtype = np.float32 if exact32 else np.float64

        P = np.zeros((self.k, n), dtype=self.dtype)
        for level in range(1, 5):
            P[level - 1 : self.off_cluster : 4] = self.lifts >= level
        self.general = np.zeros(n, dtype=np.int64)
        self.trust = np.zeros(n, dtype=np.int64)
        self.ratings = np.zeros(n, dtype=np.int64)
        for j, p in enumerate(self.products):
            for c in p.clusters:
                P[self.off_cluster + self.cluster_col[c], j] = 1
            for i in p.industries:
                P[self.off_industry + self.industry_col[i], j] = 1
            for z, size in enumerate(scoring.SIZE_CLASSES):
                band = scoring.band_for(p.price_bands, size)
                P[self.off_size + z, j] = scoring.price_points(band, self.budgets[size])[0]
            for t in p.towns:
                P[self.off_town + self.town_col[t], j] = scoring.LOCAL_POINTS
            self.general[j] = scoring.FIT_GENERAL if p.general_purpose else 0
            self.trust[j] = scoring.trust_points(p.trust_score)
            self.ratings[j] = scoring.ratings_points(p.rating_average, p.rating_count)
        self.P = P
        self.outcomes = scoring.outcomes_points()
        self.rest = self.general + self.trust + self.outcomes + self.ratings
        self.base = (self.scale * self.rest + (n - 1 - np.arange(n))).astype(self.dtype)
        # E's coverage block: the weight of each (scene, level) column.
        self.coverage_weights = (self.steps.reshape(-1) * self.scale).astype(self.dtype)

    # -- encoding enterprises -----------------------------------------------------------------

    def encode(self, enterprises: Sequence[EnterpriseFacts]) -> Encoded:
        r = len(enterprises)
        levels = np.full((r, len(self.scenes)), -1, dtype=np.int8)
        for row, e in enumerate(enterprises):
            for i, s in enumerate(self.scenes):
                level = e.levels.get(s.key)
                if level is not None:
                    levels[row, i] = level
        return Encoded(
            levels=levels,
            cluster=np.array(
                [self.cluster_col.get(e.cluster_id, -1) for e in enterprises], dtype=np.int32
            ),
            industry=np.array(
                [self.industry_col.get(e.industry_id, -1) for e in enterprises], dtype=np.int32
            ),
            size=np.array([size_index(e.size_class) for e in enterprises], dtype=np.int32),
            town=np.array([self.town_col.get(e.town_id, -1) for e in enterprises], dtype=np.int32),
        )

    def features(self, enc: Encoded) -> np.ndarray:
        r = len(enc)
        E = np.zeros((r, self.k), dtype=self.dtype)
        levels = enc.levels.astype(np.int16)
        ks = np.arange(1, 5, dtype=np.int16)
        open_ = (levels[:, :, None] >= 0) & (ks[None, None, :] > levels[:, :, None])
        E[:, : self.off_cluster] = open_.reshape(r, -1) * self.coverage_weights
        rows = np.arange(r)
        for col, offset, value in (
            (enc.cluster, self.off_cluster, scoring.FIT_CLUSTER),
            (enc.industry, self.off_industry, scoring.FIT_INDUSTRY),
            (enc.size, self.off_size, 1),
            (enc.town, self.off_town, 1),
        ):
            has = col >= 0
            E[rows[has], offset + col[has]] = value * self.scale
        return E

    # -- ranking ------------------------------------------------------------------------------

    def keys(self, E: np.ndarray) -> np.ndarray:
        keys = E @ self.P
        keys += self.base
        return keys

    def rank_rows(
        self, enc: Encoded, *, top: int, cap: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(product indices (R, top), totals (R, top), how many per row). Rows with fewer
        products than `top` are padded with −1."""
        r, n = len(enc), self.n
        out_idx = np.full((r, top), -1, dtype=np.int64)
        out_total = np.zeros((r, top), dtype=np.int64)
        if n == 0 or r == 0 or top <= 0:
            return out_idx, out_total, np.zeros(r, dtype=np.int64)
        keys = self.keys(self.features(enc))
        m = min(n, max(MIN_CANDIDATES, top * CANDIDATES_PER_ITEM))
        if m < n:
            part = np.argpartition(keys, n - m, axis=1)[:, n - m :]
            vals = np.take_along_axis(keys, part, axis=1)
            cand = np.take_along_axis(part, np.argsort(-vals, axis=1), axis=1)
        else:
            cand = np.argsort(-keys, axis=1)
        prov = self.provider_ids[cand]
        earlier = np.triu(np.ones((m, m), dtype=bool), 1)  # [i, j]: i comes before j
        same = (prov[:, :, None] == prov[:, None, :]) & earlier
        keep = same.sum(axis=1) < cap
        pos = np.cumsum(keep, axis=1)
        sel = keep & (pos <= top)
        counts = sel.sum(axis=1)
        rows, cols = np.nonzero(sel)
        out_idx[rows, pos[rows, cols] - 1] = cand[rows, cols]
        # The cap skipped so many of the best m that fewer than `top` are left: walk the row.
        short = np.nonzero((counts < min(top, self.reachable(cap))) & (m < n))[0]
        for row in short:
            order = np.argsort(-keys[row])
            walk = scoring.capped(((int(self.provider_ids[j]), j) for j in order), cap=cap)
            picked = [j for _p, j in walk][:top]
            out_idx[row, :] = -1
            out_idx[row, : len(picked)] = picked
            counts[row] = len(picked)
        valid = out_idx >= 0
        chosen = np.take_along_axis(keys, np.where(valid, out_idx, 0), axis=1)
        out_total[valid] = chosen[valid].astype(np.int64) // self.scale
        return out_idx, out_total, counts

    def reachable(self, cap: int) -> int:
        """How many items a capped list can hold at most: Σ over providers of min(cap, count)."""
        if cap not in self._reachable:
            _ids, per = np.unique(self.provider_ids, return_counts=True)
            self._reachable[cap] = int(np.minimum(per, cap).sum())
        return self._reachable[cap]

    def parts_rows(self, enc: Encoded, idx: np.ndarray) -> dict[str, np.ndarray]:
        """Each part for each chosen (row, product) pair; the same numbers scoring.score gives."""
        if self.n == 0:
            return {k: np.zeros(idx.shape, dtype=np.int64) for k in scoring.PART_KEYS}
        safe = np.where(idx >= 0, idx, 0)
        lifts = self.lifts[:, safe].astype(np.int64)  # (S, R, top)
        levels = enc.levels.astype(np.int64).T[:, :, None]  # (S, R, 1)
        applies = levels >= 0
        base = np.where(applies, levels, 0)
        s_idx = np.arange(len(self.scenes))[:, None, None]
        earned = self.cum[s_idx, np.maximum(lifts, base)] - self.cum[s_idx, base]
        coverage = np.where(applies, earned, 0).sum(axis=0)

        def member(col: np.ndarray, offset: int) -> np.ndarray:
            has = (col >= 0)[:, None]
            row = np.where(col >= 0, offset + col, 0)[:, None]
            return np.where(has, self.P[row, safe], 0).astype(np.int64)

        fit = (
            scoring.FIT_CLUSTER * member(enc.cluster, self.off_cluster)
            + scoring.FIT_INDUSTRY * member(enc.industry, self.off_industry)
            + self.general[safe]
        )
        parts = {
            "coverage": coverage,
            "fit": fit,
            "price": member(enc.size, self.off_size),
            "trust": self.trust[safe],
            "outcomes": np.full(idx.shape, self.outcomes, dtype=np.int64),
            "local": member(enc.town, self.off_town),
            "ratings": self.ratings[safe],
        }
        return {k: np.where(idx >= 0, v, 0) for k, v in parts.items()}

    def rank_one(self, enterprise: EnterpriseFacts, *, top: int, cap: int) -> list[int]:
        idx, _totals, count = self.rank_rows(self.encode([enterprise]), top=top, cap=cap)
        return [int(j) for j in idx[0, : int(count[0])]]


def size_index(size_class: str) -> int:
    return scoring.SIZE_CLASSES.index(scoring.sized(size_class))


# -- building and caching ---------------------------------------------------------------------


def maturity_scenes() -> tuple[SceneInfo, ...]:
    """The scenes of the maturity questionnaire in force: the one with the active level rule,
    else the newest stored (the catalogue reads scenes the same way)."""
    from yunshu.assessments.definitions import engine_questionnaire
    from yunshu.assessments.models import Questionnaire

    maturity = Questionnaire.objects.filter(kind=Questionnaire.Kind.MATURITY)
    q = (
        maturity.filter(rules__is_active=True).order_by("-key").first()
        or maturity.order_by("-key").first()
    )
    if q is None:
        return ()
    return tuple(
        SceneInfo(s.key, s.name_zh, s.name_en, s.mandatory) for s in engine_questionnaire(q).scenes
    )


def version_key() -> tuple[Any, ...]:
    """The catalogue version row (number and when it changed), the budgets and the target
    level in force."""
    from yunshu.providers.catalogue_version import catalogue_stamp

    return (*catalogue_stamp(), tuple(sorted(budgets().items())), target_level())


def build(key: Any = None) -> Snapshot:
    from yunshu.providers.models import Product, ProductScene, Provider
    from yunshu.providers.selectors import catalogue_products

    key = version_key() if key is None else key
    scenes = maturity_scenes()
    rows = list(
        catalogue_products()
        .order_by("id")
        .values_list(
            "id",
            "provider_id",
            "name",
            "summary",
            "price_bands",
            "provider__name",
            "provider__trust_score",
            "provider__rating_average",
            "provider__rating_count",
        )
    )
    ids = catalogue_products().values("id")
    lifts: dict[int, dict[str, int]] = defaultdict(dict)
    for pid, scene, level in ProductScene.objects.filter(product_id__in=ids).values_list(
        "product_id", "scene", "lifts_to"
    ):
        lifts[pid][scene] = level
    clusters: dict[int, set[int]] = defaultdict(set)
    for pid, cid in Product.clusters.through.objects.filter(product_id__in=ids).values_list(
        "product_id", "cluster_id"
    ):
        clusters[pid].add(cid)
    industries: dict[int, set[str]] = defaultdict(set)
    for pid, iid in Product.industries.through.objects.filter(product_id__in=ids).values_list(
        "product_id", "industry_id"
    ):
        industries[pid].add(iid)
    towns: dict[int, set[int]] = defaultdict(set)
    for prov, tid in Provider.towns_served.through.objects.filter(
        provider_id__in={r[1] for r in rows}
    ).values_list("provider_id", "town_id"):
        towns[prov].add(tid)
    products = []
    for pid, prov, _name, _summary, bands, _pname, trust, avg, count in rows:
        products.append(
            ProductFacts(
                id=pid,
                provider_id=prov,
                lifts=lifts.get(pid, {}),
                clusters=frozenset(clusters.get(pid, ())),
                industries=frozenset(industries.get(pid, ())),
                price_bands=clean_bands(bands),
                trust_score=int(trust or 0),
                rating_average=Decimal(avg) if avg is not None else None,
                rating_count=int(count or 0),
                towns=frozenset(towns.get(prov, ())),
            )
        )
    return Snapshot(
        key=key,
        scenes=scenes,
        products=products,
        names=[r[2] for r in rows],
        summaries=[r[3] for r in rows],
        provider_names=[r[5] for r in rows],
        budgets=budgets(),
        target=target_level(),
    )


def clean_bands(raw: Any) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    if not isinstance(raw, dict):
        return out
    for size in scoring.SIZE_CLASSES:
        band = scoring.band_for(raw, size) if size in raw else None
        if band is not None:
            out[size] = band
    return out


_lock = threading.Lock()
_cached: Snapshot | None = None


def current() -> Snapshot:
    """The cached snapshot, rebuilt when the catalogue version (one cheap query) moved."""
    global _cached
    key = version_key()
    snap = _cached
    if snap is not None and snap.key == key:
        return snap
    with _lock:
        snap = _cached
        if snap is None or snap.key != key:
            snap = build(key)
            _cached = snap
    return snap


def clear() -> None:
    """Forget the cached snapshot (tests that create products without a catalogue bump)."""
    global _cached
    with _lock:
        _cached = None
