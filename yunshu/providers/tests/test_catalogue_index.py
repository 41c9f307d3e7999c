"""The in-memory catalogue index gives what the database gives, and follows its changes."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yunshu.core.models import Cluster, Industry
from yunshu.factories import product, provider
from yunshu.providers.catalogue import SECURITY_KEYS, SIZE_KEYS, SORTS, catalogue_search
from yunshu.providers.catalogue_index import CatalogueIndex, catalogue_index
from yunshu.providers.models import DataResidency, DeploymentMode, Product

SCENES = ["production_control", "quality", "energy", "marketing", "warehousing_logistics"]
WORDS = ["MES", "mes", "Erp", "云", "纺织", "系统", "质量", "Ab", ""]


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    """A varied catalogue: equal names, mixed case, unrated providers, missing bands, and
    products that must not show (draft, hidden, a suspended provider's)."""
    rng = random.Random(7)
    clusters = list(Cluster.objects.all()[:4])
    industries = list(Industry.objects.all()[:4])
    providers = [
        provider(
            name=f"{rng.choice(['东莞', 'Dongguan ', 'dg'])}服务商{i}",
            lead=i % 3 == 0,
            trust_score=0 if i % 4 == 0 else rng.randint(20, 95),
            trust_grade="" if i % 4 == 0 else rng.choice("ABCD"),
        )
        for i in range(8)
    ]
    suspended = provider(name="暂停服务商", state="suspended")
    for i in range(45):
        bands = {
            size: [low, low + 5_000]
            for size in SIZE_KEYS
            if rng.random() < 0.6
            for low in [rng.choice([0, 5_000, 20_000, 60_000, 150_000])]
        }
        product(
            rng.choice(providers),
            name=f"{rng.choice(WORDS[:-1])}{rng.choice(['产品', '平台', ' Suite'])}{i % 15}",
            summary=f"{rng.choice(WORDS[:-1])}与{rng.choice(WORDS[:-1])}",
            scenes={s: rng.randint(1, 4) for s in rng.sample(SCENES, rng.randint(1, 3))},
            clusters=rng.sample(clusters, rng.randint(0, 2)),
            industries=rng.sample(industries, rng.randint(0, 2)),
            deployment=rng.choice(DeploymentMode.values),
            data_residency=rng.choice([DataResidency.MAINLAND, DataResidency.ON_PREMISES]),
            price_bands=bands,
            implementation_weeks=rng.randint(1, 20),
            security_features=rng.sample(list(SECURITY_KEYS), rng.randint(0, 3)),
        )
    product(providers[1], name="草稿产品", status="draft")
    product(providers[2], name="隐藏产品", visibility=Product.Visibility.HIDDEN_CERTIFICATE)
    product(suspended, name="MES 暂停")
    return {"clusters": [c.pk for c in clusters], "industries": [i.pk for i in industries]}


def filters(world: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "q": st.sampled_from([*WORDS, "服务商", "dongguan", " mes "]),
            "scene": st.sampled_from(SCENES),
            "cluster": st.sampled_from(world["clusters"]),
            "industry": st.sampled_from(world["industries"]),
            "deployment": st.sampled_from(DeploymentMode.values),
            "size_class": st.sampled_from(["", *SIZE_KEYS]),
            "price_max": st.sampled_from([0, 5_000, 30_000, 200_000]),
            "weeks_max": st.integers(1, 20),
            "residency": st.sampled_from(DataResidency.values),
            "security": st.sampled_from(["", "nonsense", *SECURITY_KEYS]),
            "lead_only": st.booleans(),
            "sort": st.sampled_from([*SORTS, "bogus"]),
        },
    )


@pytest.mark.django_db
def test_the_index_finds_what_the_database_finds_in_the_same_order(world: dict[str, Any]) -> None:
    index = CatalogueIndex.build()

    @settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(filters(world))
    def same(chosen: dict[str, Any]) -> None:
        expected = list(catalogue_search(**chosen).values_list("pk", flat=True))
        assert [e.pk for e in index.search(**chosen)] == expected

    same()
    # The edges, every time: a ceiling equal to a band's low end, each sort on its own.
    for size in ["", *SIZE_KEYS]:
        for ceiling in (0, 5_000, 20_000, 60_000):
            chosen = {"size_class": size, "price_max": ceiling, "sort": "price"}
            expected = list(catalogue_search(**chosen).values_list("pk", flat=True))
            assert [e.pk for e in index.search(**chosen)] == expected, chosen
    for sort in SORTS:
        expected = list(catalogue_search(sort=sort, q="mes").values_list("pk", flat=True))
        assert [e.pk for e in index.search(sort=sort, q="mes")] == expected, sort
    assert len(index.entries) == 45  # the draft, the hidden and the suspended are not there


@pytest.mark.django_db
def test_the_index_is_read_once_per_catalogue_version(
    world: dict[str, Any], django_assert_num_queries: Any
) -> None:
    first = catalogue_index()
    with django_assert_num_queries(1):  # the version, nothing else
        assert catalogue_index() is first
    product(name="新上架 MES")
    fresh = catalogue_index()
    assert fresh is not first and "新上架 MES" in {e.name for e in fresh.entries}


@pytest.mark.django_db
def test_a_page_slices_entries_by_position(world: dict[str, Any]) -> None:
    results = CatalogueIndex.build().search(sort="weeks")
    assert [e.pk for e in results[2:5]] == [e.pk for e in list(results)[2:5]]
    assert results[0].weeks == min(e.weeks for e in results)


@pytest.mark.django_db
def test_a_superusers_edit_in_the_admin_reaches_the_catalogue_at_once(admin_client: Any) -> None:
    gone = product(name="管理员下架 MES")
    kept = product(name="仍在目录 MES")
    assert {gone.pk, kept.pk} <= {e.pk for e in catalogue_index().entries}

    response = admin_client.post(f"/admin/providers/product/{gone.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    pks = {e.pk for e in catalogue_index().entries}
    assert gone.pk not in pks and kept.pk in pks


def test_search_folds_case_one_character_at_a_time_as_postgresql_does() -> None:
    from yunshu.providers.catalogue_index import fold

    assert fold("Mes 云") == "MES 云"
    assert fold("straße") == "STRAßE"  # not STRASSE: the database never matches "ss" here
    assert fold("ﬁle") == "ﬁLE"
