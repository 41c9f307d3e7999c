"""The matching score by hand: three enterprises × four products, every part written out.

Scenes used here: quality 质量管理 and equipment 设备管理 are mandatory (w = 4),
collaboration 协同办公 and after_sales 售后服务 are not (w = 1). The target level is 二级:
lifting a scene into a level up to 二级 earns 2·w (it closes a gap), into 三级 or 四级 w.
So a mandatory scene earns 8, 8, 4, 4 for levels 1–4, an optional one 2, 2, 1, 1.
Trust by grade: A (≥ 85) 20, B (≥ 65) 14, C (≥ 45) 7, D 0. Budgets are the defaults
(micro ¥30,000, small ¥100,000, medium ¥300,000, large ¥1,000,000).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from yunshu.matching import scoring
from yunshu.matching.scoring import EnterpriseFacts, ProductFacts, SceneInfo
from yunshu.matching.snapshot import Snapshot

SCENES = (
    SceneInfo("quality", "质量管理", "Quality management", True),
    SceneInfo("equipment", "设备管理", "Equipment management", True),
    SceneInfo("collaboration", "协同办公", "Collaboration", False),
    SceneInfo("after_sales", "售后服务", "After-sales service", False),
)
MANDATORY = {s.key: s.mandatory for s in SCENES}

# A: cluster 1, industry 39, small, town 10; after-sales does not apply to it.
A = EnterpriseFacts(
    levels={"quality": 1, "equipment": 2, "collaboration": 0, "after_sales": None},
    cluster_id=1,
    industry_id="39",
    size_class="small",
    town_id=10,
)
# B: cluster 4, industry 18, size unknown (priced as small), town 11.
B = EnterpriseFacts(
    levels={"quality": 3, "equipment": 0, "collaboration": 2, "after_sales": 1},
    cluster_id=4,
    industry_id="18",
    size_class="unknown",
    town_id=11,
)
# C: no cluster, industry 13, micro, town 12; almost everything at 四级 already.
C = EnterpriseFacts(
    levels={"quality": 4, "equipment": 4, "collaboration": None, "after_sales": 4},
    cluster_id=None,
    industry_id="13",
    size_class="micro",
    town_id=12,
)

P1 = ProductFacts(
    id=101,
    provider_id=1,
    lifts={"quality": 3, "collaboration": 2},
    clusters=frozenset({1}),
    industries=frozenset({"39"}),
    price_bands={"micro": (5_000, 20_000), "small": (20_000, 60_000)},
    trust_score=85,
    rating_average=Decimal("4.50"),
    rating_count=4,
    towns=frozenset({10}),
)
P2 = ProductFacts(  # general purpose: lists no cluster and no industry
    id=102,
    provider_id=2,
    lifts={"equipment": 4, "after_sales": 3},
    price_bands={"small": (80_000, 150_000), "medium": (150_000, 300_000)},
    trust_score=64,
    rating_average=Decimal("2.40"),
    rating_count=2,
    towns=frozenset({11, 12}),
)
P3 = ProductFacts(  # same provider as P1; no price bands at all
    id=103,
    provider_id=1,
    lifts={"collaboration": 4},
    industries=frozenset({"18"}),
    trust_score=100,
)
P4 = ProductFacts(
    id=104,
    provider_id=3,
    lifts={"quality": 2, "equipment": 1},
    clusters=frozenset({4}),
    industries=frozenset({"18", "39"}),
    price_bands={"micro": (40_000, 50_000), "small": (120_000, 200_000)},
    trust_score=45,
    rating_average=Decimal("3.50"),
    rating_count=3,
    towns=frozenset({12}),
)
PRODUCTS = [P1, P2, P3, P4]


def parts(e: EnterpriseFacts, p: ProductFacts) -> dict[str, int]:
    return scoring.score(e, p, MANDATORY).as_dict()


CASES = [
    # A × P1: quality 一级→三级: level 2 closes the gap 8, level 3 is uplift 4 → 12;
    # collaboration 0→2: levels 1, 2 at 2 each → 4. Coverage 16. Fit: cluster 1 listed +15,
    # industry 39 listed +15 → 30; small band 20k–60k ≤ 100k → 15; trust 85 is grade A → 20;
    # outcomes neutral 5; serves town 10 → 5; 4.50 stars with 4 ratings → 5. Total 96.
    (A, P1, dict(coverage=16, fit=30, price=15, trust=20, outcomes=5, local=5, ratings=5), 96),
    # A × P2: equipment 二级→四级: levels 3, 4 are uplift, 4 + 4 = 8; after-sales is N/A for A.
    # Coverage 8; general purpose 15; small band 80k–150k straddles 100k → 8; trust 64 is
    # grade C → 7; outcomes 5; towns 11, 12 not 10 → 0; only 2 ratings → neutral 3. Total 46.
    (A, P2, dict(coverage=8, fit=15, price=8, trust=7, outcomes=5, local=0, ratings=3), 46),
    # A × P3: collaboration 0→4: 2 + 2 (up to 二级) + 1 + 1 = 6; lists industry 18 only, so it
    # is aimed elsewhere → 0; no band → 0; trust 100 → A → 20; outcomes 5; local 0; no
    # ratings → 3. Total 34.
    (A, P3, dict(coverage=6, fit=0, price=0, trust=20, outcomes=5, local=0, ratings=3), 34),
    # A × P4: quality 1→2: 8; equipment lifts to 1 ≤ 2 → 0. Coverage 8; industry 39 listed
    # → 15 (cluster 4 is not A's); small band 120k–200k, low > 100k → 0; trust 45 → C → 7;
    # outcomes 5; local 0; 3.50 with 3 ratings → 4. Total 39.
    (A, P4, dict(coverage=8, fit=15, price=0, trust=7, outcomes=5, local=0, ratings=4), 39),
    # B × P1: quality lifts to 3 = B's 3 → 0, collaboration to 2 = B's 2 → 0; fit 0;
    # unknown size priced as small: 20k–60k → 15; trust A 20; outcomes 5; local 0;
    # ratings 5. Total 45.
    (B, P1, dict(coverage=0, fit=0, price=15, trust=20, outcomes=5, local=0, ratings=5), 45),
    # B × P2: equipment 0→4: 8 + 8 + 4 + 4 = 24; after-sales 1→3: 2 (level 2) + 1 (level 3)
    # = 3 → 27; general 15; straddles → 8; trust C 7; outcomes 5; serves town 11 → 5;
    # ratings 3. Total 70.
    (B, P2, dict(coverage=27, fit=15, price=8, trust=7, outcomes=5, local=5, ratings=3), 70),
    # B × P3: collaboration 2→4: uplift 1 + 1 = 2; industry 18 listed → 15; no band 0;
    # trust A 20; outcomes 5; local 0; ratings 3. Total 45.
    (B, P3, dict(coverage=2, fit=15, price=0, trust=20, outcomes=5, local=0, ratings=3), 45),
    # B × P4: quality lifts to 2 < 3 → 0, equipment 0→1: 8; cluster 4 +15 and industry 18 +15
    # → 30; low 120k > 100k → 0; trust C 7; outcomes 5; local 0; ratings 4. Total 54.
    (B, P4, dict(coverage=8, fit=30, price=0, trust=7, outcomes=5, local=0, ratings=4), 54),
    # C × P1: quality lifts to 3 < 4, collaboration N/A → 0; no cluster, industry 13 → 0;
    # micro band 5k–20k ≤ 30k → 15; trust A 20; outcomes 5; local 0; ratings 5. Total 45.
    (C, P1, dict(coverage=0, fit=0, price=15, trust=20, outcomes=5, local=0, ratings=5), 45),
    # C × P2: nothing to lift; general 15; no micro band → 0; trust C 7; outcomes 5;
    # serves town 12 → 5; ratings 3. Total 35.
    (C, P2, dict(coverage=0, fit=15, price=0, trust=7, outcomes=5, local=5, ratings=3), 35),
    # C × P3: collaboration N/A → 0; industry 18 ≠ 13 → 0; no band 0; trust A 20; outcomes 5;
    # local 0; ratings 3. Total 28.
    (C, P3, dict(coverage=0, fit=0, price=0, trust=20, outcomes=5, local=0, ratings=3), 28),
    # C × P4: 0; fit 0; micro band 40k–50k, low > 30k → 0; trust C 7; outcomes 5;
    # serves town 12 → 5; ratings 4. Total 21.
    (C, P4, dict(coverage=0, fit=0, price=0, trust=7, outcomes=5, local=5, ratings=4), 21),
]


@pytest.mark.parametrize(("enterprise", "product", "expected", "total"), CASES)
def test_each_part_matches_the_hand_computation(enterprise, product, expected, total):
    got = scoring.score(enterprise, product, MANDATORY)
    assert got.as_dict() == expected
    assert got.total == total


def test_rank_orders_by_total_then_id_and_the_cap_keeps_providers_apart():
    # A: P1 96, P2 46, P4 39, P3 34; B: P2 70, P4 54, P1 45, P3 45 (tie: lower id first);
    # C: P1 45, P2 35, P3 28, P4 21.
    ranked = {
        name: [r.product.id for r in scoring.rank_products(e, PRODUCTS, MANDATORY, cap=2)]
        for name, e in (("A", A), ("B", B), ("C", C))
    }
    assert ranked == {
        "A": [101, 102, 104, 103],
        "B": [102, 104, 101, 103],
        "C": [101, 102, 103, 104],
    }
    # Cap 1: provider 1 keeps only its better product (P1 for A, so P3 drops out).
    capped = scoring.rank_products(A, PRODUCTS, MANDATORY, cap=1)
    assert [r.product.id for r in capped] == [101, 102, 104]
    assert [r.rank for r in capped] == [1, 2, 3]
    assert [r.product.id for r in scoring.rank_products(A, PRODUCTS, MANDATORY, top=2)] == [
        101,
        102,
    ]


def test_a_tie_goes_to_the_lower_product_id():
    twin = ProductFacts(**{**P3.__dict__, "id": 100, "provider_id": 9})  # also 34 for A
    ranked = scoring.rank_products(A, [*PRODUCTS, twin], MANDATORY, cap=2)
    assert [(r.product.id, r.total) for r in ranked][3:5] == [(100, 34), (103, 34)]


def test_zero_coverage_products_stay_in_the_ranking():
    # C has no gap any product closes, yet every product is ranked.
    assert len(scoring.rank_products(C, PRODUCTS, MANDATORY, top=None)) == 4


def test_price_bands_and_budgets():
    assert scoring.price_points((10, 100_000), 100_000) == (15, "within")  # high = budget
    assert scoring.price_points((100_000, 100_001), 100_000) == (8, "straddles")  # low = budget
    assert scoring.price_points((100_001, 200_000), 100_000) == (0, "above")
    assert scoring.price_points(None, 100_000) == (0, "no_band")
    # A subsidy comes off both ends (programmes are not wired in yet, so callers pass 0).
    assert scoring.price_points((120_000, 150_000), 100_000, subsidy=50_000) == (15, "within")
    budgets = {"micro": 1, "small": 200_000, "medium": 1, "large": 1}
    assert scoring.score(A, P4, MANDATORY, budgets=budgets).price == 15  # 120k–200k ≤ 200k
    assert scoring.band_for({"small": [5, 1]}, "small") is None  # high below low: no band
    assert scoring.budget_for("unknown") == 100_000


def test_trust_follows_the_grade_and_ratings_round_half_up():
    scores = (0, 44, 45, 64, 65, 84, 85, 100)
    assert [scoring.trust_grade(s) for s in scores] == ["D", "D", "C", "C", "B", "B", "A", "A"]
    assert [scoring.trust_points(s) for s in scores] == [0, 0, 7, 7, 14, 14, 20, 20]
    assert scoring.ratings_points(Decimal("2.50"), 3) == 3
    assert scoring.ratings_points(Decimal("2.49"), 3) == 2
    assert scoring.ratings_points(Decimal("5.00"), 2) == scoring.RATINGS_NEUTRAL
    assert scoring.ratings_points(None, 10) == scoring.RATINGS_NEUTRAL


def test_typical_levels_are_the_floor_of_the_mean_with_one_where_nobody_answered():
    assessed = [
        {"quality": 1, "equipment": 2, "collaboration": None},
        {"quality": 2, "equipment": 2, "collaboration": None},
        {"quality": 2, "equipment": 3},
    ]
    # quality (1+2+2)/3 = 1.67 → 1; equipment 7/3 → 2; collaboration nobody → 1; after_sales → 1
    assert scoring.typical_levels(assessed, [s.key for s in SCENES]) == {
        "quality": 1,
        "equipment": 2,
        "collaboration": 1,
        "after_sales": 1,
    }


def test_the_words_say_each_part_in_plain_chinese():
    product = P1
    parts = scoring.score(A, product, MANDATORY)
    words = {
        w.key: w
        for w in scoring.explain(
            parts,
            {s.key: s for s in SCENES},
            product=product,
            cluster_name="电子信息",
            industry_name="计算机",
            town_name="虎门",
        )
    }
    assert words["coverage"].lines == (
        "质量管理（约束性场景） 一级→三级：补齐到二级的差距 +8，再提升 +4",
        "协同办公 未达一级→二级：补齐到二级的差距 +4",
    )
    assert words["fit"].lines == ("适用于本企业所在的电子信息集群（+15）和计算机行业（+15）",)
    assert words["trust"].lines[0] == "服务商可信等级 A（可信评分 85/100）+20"
    assert "全部在参考预算 ¥100,000 以内 +15" in words["price"].lines[0]
    assert "补贴按 0 元计（中性）" in words["price"].lines[1]
    assert words["outcomes"].lines == (
        "待补贴项目上线后按交付成效（等级提升）计分，目前按中性计 +5",
    )
    assert words["local"].lines == ("服务商为虎门提供本地服务 +5",)
    assert sum(w.points for w in words.values()) == parts.total
    few = scoring.explain(
        scoring.score(A, P2, MANDATORY), {s.key: s for s in SCENES}, product=P2, size_known=False
    )
    lines = {w.key: w.lines for w in few}
    assert lines["ratings"] == ("评价不足3条，按中性计分 +3",)
    assert lines["price"][0] == "企业规模未知，按小型企业计"


def test_the_numpy_snapshot_ranks_and_splits_parts_exactly_as_the_reference():
    snap = Snapshot(key=1, scenes=SCENES, products=PRODUCTS)
    for e in (A, B, C):
        for cap in (1, 2):
            want = [r.product.id for r in scoring.rank_products(e, PRODUCTS, MANDATORY, cap=cap)]
            got = [snap.products[j].id for j in snap.rank_one(e, top=10, cap=cap)]
            assert got == want
    enc = snap.encode([A, B, C])
    idx, totals, counts = snap.rank_rows(enc, top=4, cap=2)
    split = snap.parts_rows(enc, idx)
    for row, e in enumerate((A, B, C)):
        for k in range(int(counts[row])):
            product = snap.products[idx[row, k]]
            want_parts = parts(e, product)
            assert {name: int(split[name][row, k]) for name in scoring.PART_KEYS} == want_parts
            assert int(totals[row, k]) == sum(want_parts.values())


# -- the balance between the parts ------------------------------------------------------------

# D: every scene at 未达一级, cluster 1, industry 39, small, town 10.
D = EnterpriseFacts(
    levels={"quality": 0, "equipment": 0, "collaboration": 0, "after_sales": 0},
    cluster_id=1,
    industry_id="39",
    size_class="small",
    town_id=10,
)


def facts(pid: int, provider: int, **kw) -> ProductFacts:
    return ProductFacts(id=pid, provider_id=provider, trust_score=90, **kw)


def test_a_product_aimed_only_at_other_industries_ranks_below_a_general_one_that_closes_less():
    general = facts(301, 1, lifts={"quality": 2})  # 8 + 8 = 16
    # One mandatory gap level more (24), but it lists only cluster 9 and industry 13.
    elsewhere = facts(
        302, 2, lifts={"quality": 2, "equipment": 1}, clusters=frozenset({9}), industries={"13"}
    )
    g, o = (scoring.score(D, p, MANDATORY) for p in (general, elsewhere))
    assert (g.coverage, g.fit, o.coverage, o.fit) == (16, 15, 24, 0)
    # 16 + 15 = 31 beats 24 + 0 = 24: being aimed elsewhere costs more than a gap level earns.
    ranked = scoring.rank_products(D, [elsewhere, general], MANDATORY)
    assert [r.product.id for r in ranked] == [301, 302]
    words = scoring.explain(o, {s.key: s for s in SCENES}, product=elsewhere)
    assert words[1].lines == ("只面向其他行业或集群，不适用于本企业 +0（通用产品得 15）",)


def test_a_grade_d_provider_ranks_below_a_grade_a_one_that_closes_two_gap_levels_less():
    strong = ProductFacts(id=311, provider_id=1, lifts={"quality": 1}, trust_score=90)  # A
    weak = ProductFacts(id=312, provider_id=2, lifts={"quality": 2, "equipment": 1}, trust_score=40)
    s, w = (scoring.score(D, p, MANDATORY) for p in (strong, weak))
    # Coverage 8 against 24 (two mandatory gap levels more), trust 20 against 0 (grade D).
    assert (s.coverage, s.trust, w.coverage, w.trust) == (8, 20, 24, 0)
    assert s.total - w.total == (8 + 20) - (24 + 0) == 4
    assert scoring.trust_grade(40) == "D"
    assert [r.product.id for r in scoring.rank_products(D, [weak, strong], MANDATORY)] == [311, 312]
    # Only three mandatory gap levels more (8 + 8 + 8 + 8 = 32) make up for grade D.
    wider = ProductFacts(
        id=313, provider_id=3, lifts={"quality": 2, "equipment": 2}, trust_score=40
    )
    assert [r.product.id for r in scoring.rank_products(D, [wider, strong], MANDATORY)] == [
        313,
        311,
    ]


def test_a_mandatory_scene_comes_before_optional_ones_and_the_gap_to_the_target_counts_double():
    # One mandatory level up to 二级 (8) outweighs three optional levels up to 二级 (2 + 2 + 2).
    mandatory = facts(321, 1, lifts={"quality": 1})
    optional = facts(322, 2, lifts={"collaboration": 2, "after_sales": 1})
    assert scoring.score(D, mandatory, MANDATORY).coverage == 8
    assert scoring.score(D, optional, MANDATORY).coverage == 6
    assert [r.product.id for r in scoring.rank_products(D, [optional, mandatory], MANDATORY)] == [
        321,
        322,
    ]
    # Level by level: up to the target a gap is closed (2·w), above it the scene is lifted (w).
    assert [scoring.level_points(4, k) for k in (1, 2, 3, 4)] == [8, 8, 4, 4]
    assert [scoring.level_points(1, k) for k in (1, 2, 3, 4)] == [2, 2, 1, 1]
    assert [scoring.level_points(4, k, target=3) for k in (1, 2, 3, 4)] == [8, 8, 8, 4]
