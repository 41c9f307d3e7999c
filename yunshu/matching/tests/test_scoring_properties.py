"""Properties of the matching score, over random enterprises and catalogues (hypothesis).

The one the issue names: when an enterprise rises a level in a scene s, a product that covers
only s (and lifts it above the old level) never climbs the ranking, counted after the
per-provider cap. And the numpy fast path ranks exactly as the reference, always.
"""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from yunshu.matching import scoring
from yunshu.matching.scoring import EnterpriseFacts, ProductFacts, SceneInfo
from yunshu.matching.snapshot import Snapshot

SCENES = (
    SceneInfo("quality", "质量管理", "Quality", True),
    SceneInfo("equipment", "设备管理", "Equipment", True),
    SceneInfo("energy", "能耗管理", "Energy", True),
    SceneInfo("collaboration", "协同办公", "Collaboration", False),
    SceneInfo("after_sales", "售后服务", "After-sales", False),
)
KEYS = [s.key for s in SCENES]
MANDATORY = {s.key: s.mandatory for s in SCENES}
CLUSTERS = [1, 2, 3]
INDUSTRIES = ["13", "18", "39"]
TOWNS = [10, 11, 12]

levels = st.one_of(st.none(), st.integers(0, 4))
enterprises = st.builds(
    EnterpriseFacts,
    levels=st.fixed_dictionaries({k: levels for k in KEYS}),
    cluster_id=st.one_of(st.none(), st.sampled_from(CLUSTERS)),
    industry_id=st.sampled_from(INDUSTRIES),
    size_class=st.sampled_from([*scoring.SIZE_CLASSES, "unknown"]),
    town_id=st.sampled_from(TOWNS),
)


@st.composite
def bands(draw):
    out = {}
    for size in scoring.SIZE_CLASSES:
        if draw(st.booleans()):
            low = draw(st.sampled_from([0, 10_000, 30_000, 100_000, 300_000, 1_000_000]))
            out[size] = (low, low + draw(st.sampled_from([0, 20_000, 200_000, 900_000])))
    return out


def product(pid: int, provider: int, draw, lifts=None):
    return ProductFacts(
        id=pid,
        provider_id=provider,
        lifts=lifts
        if lifts is not None
        else draw(st.dictionaries(st.sampled_from(KEYS), st.integers(1, 4), max_size=3)),
        clusters=frozenset(draw(st.sets(st.sampled_from(CLUSTERS), max_size=2))),
        industries=frozenset(draw(st.sets(st.sampled_from(INDUSTRIES), max_size=2))),
        price_bands=draw(bands()),
        trust_score=draw(st.integers(0, 100)),
        rating_average=draw(
            st.sampled_from([None, Decimal("1.00"), Decimal("3.50"), Decimal("4.49")])
        ),
        rating_count=draw(st.integers(0, 5)),
        towns=frozenset(draw(st.sets(st.sampled_from(TOWNS), max_size=2))),
    )


@st.composite
def catalogues(draw, max_products=12):
    n = draw(st.integers(0, max_products))
    providers = draw(st.integers(1, 6))
    ids = draw(st.lists(st.integers(1, 10_000), min_size=n, max_size=n, unique=True))
    return [product(pid, draw(st.integers(1, providers)), draw) for pid in ids]


def rank_of(ranked: list[int], pid: int) -> float:
    return ranked.index(pid) + 1 if pid in ranked else float("inf")


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(enterprises, catalogues(), st.integers(1, 3), st.integers(1, 4), st.data())
def test_closing_a_gap_never_lifts_a_product_that_covers_only_that_scene(
    e, products, cap, bar, data
):
    applicable = [k for k in KEYS if e.levels[k] is not None and e.levels[k] < 4]
    assume(applicable)
    scene = data.draw(st.sampled_from(applicable))
    level = e.levels[scene]
    used = {p.id for p in products}
    pid = data.draw(st.integers(1, 10_000).filter(lambda i: i not in used))
    provider = data.draw(st.integers(1, 7))
    target = product(pid, provider, data.draw, lifts={scene: data.draw(st.integers(level + 1, 4))})
    catalogue = [*products, target]
    risen = EnterpriseFacts(**{**e.__dict__, "levels": {**e.levels, scene: level + 1}})

    def ranking(who):
        ranked = scoring.rank_products(who, catalogue, MANDATORY, cap=cap, top=None, target=bar)
        return [r.product.id for r in ranked]

    before, after = ranking(e), ranking(risen)
    assert rank_of(after, pid) >= rank_of(before, pid)
    # The fast path agrees with the reference on both sides.
    snap = Snapshot(key=0, scenes=SCENES, products=catalogue, target=bar)
    for who, want in ((e, before), (risen, after)):
        got = [snap.products[j].id for j in snap.rank_one(who, top=len(catalogue), cap=cap)]
        assert got == want


def random_catalogue(rng, n: int, providers: int) -> list[ProductFacts]:
    """A quick random catalogue (hypothesis picks the seed: drawing each field is slow)."""
    out = []
    for pid in rng.sample(range(1, 10_000), n):
        sizes = [z for z in scoring.SIZE_CLASSES if rng.random() < 0.6]
        lows = {z: rng.choice([0, 10_000, 100_000, 300_000]) for z in sizes}
        out.append(
            ProductFacts(
                id=pid,
                provider_id=rng.randint(1, providers),
                lifts={k: rng.randint(1, 4) for k in rng.sample(KEYS, rng.randint(0, 3))},
                clusters=frozenset(rng.sample(CLUSTERS, rng.randint(0, 2))),
                industries=frozenset(rng.sample(INDUSTRIES, rng.randint(0, 2))),
                price_bands={
                    z: (low, low + rng.choice([0, 50_000, 900_000])) for z, low in lows.items()
                },
                trust_score=rng.randint(0, 100),
                rating_average=rng.choice([None, Decimal("2.50"), Decimal("4.49")]),
                rating_count=rng.randint(0, 5),
                towns=frozenset(rng.sample(TOWNS, rng.randint(0, 2))),
            )
        )
    return out


@settings(max_examples=150, deadline=None)
@given(
    st.lists(enterprises, min_size=1, max_size=6),
    st.integers(0, 2**32),
    st.integers(0, 70),
    st.integers(1, 6),
    st.integers(1, 3),
    st.integers(1, 4),
)
def test_the_numpy_path_equals_the_reference_for_whole_batches(
    people, seed, n, providers, cap, target
):
    # Up to 70 products from at most 6 providers: more than the 40 candidates the fast path
    # walks first, so rows where the cap skips most of them take the full walk.
    products = random_catalogue(random.Random(seed), n, providers)
    snap = Snapshot(key=0, scenes=SCENES, products=products, target=target)
    top = 10
    enc = snap.encode(people)
    idx, totals, counts = snap.rank_rows(enc, top=top, cap=cap)
    split = snap.parts_rows(enc, idx)
    for row, e in enumerate(people):
        want = scoring.rank_products(e, products, MANDATORY, cap=cap, top=top, target=target)
        assert int(counts[row]) == len(want)
        for k, r in enumerate(want):
            assert snap.products[idx[row, k]].id == r.product.id
            assert int(totals[row, k]) == r.total
            assert {p: int(split[p][row, k]) for p in scoring.PART_KEYS} == r.parts.as_dict()


def test_float64_takes_over_when_keys_would_not_be_exact_in_float32():
    # 16 mandatory scenes: a total can reach 16 × (8 + 8 + 4 + 4) + 30 + 15 + 20 + 5 + 5 + 5
    # = 464; 465 × 40,000 > 2**24.
    scenes = [SceneInfo(f"s{i}", f"场景{i}", f"Scene {i}", True) for i in range(16)]
    many = [ProductFacts(id=i, provider_id=i, lifts={"s0": 4}) for i in range(1, 40_001)]
    snap = Snapshot(key=0, scenes=scenes, products=many)
    assert snap.dtype.__name__ == "float64"
    e = EnterpriseFacts(levels={s.key: 0 for s in scenes}, industry_id="13")
    assert [snap.products[j].id for j in snap.rank_one(e, top=3, cap=2)] == [1, 2, 3]
