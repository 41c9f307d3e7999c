"""Product services: validation names the field and changes nothing; publishing rules; audit."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from yunshu.core.models import AuditEntry, Cluster, Industry
from yunshu.factories import product, provider, provider_user, valid_certificate
from yunshu.providers import catalogue as cat
from yunshu.providers.catalogue_version import catalogue_version
from yunshu.providers.models import Platform, Product, ProductScene
from yunshu.providers.selectors import catalogue_products

pytestmark = pytest.mark.django_db


def good_data(**overrides):
    data = {
        "name": "轻量 MES",
        "summary": "四周上线的车间管控",
        "description": "",
        "deployment": "saas",
        "price_model": "subscription",
        "price_bands": {"micro": [5_000, 10_000], "small": [12_000, 30_000]},
        "implementation_weeks": 4,
        "data_residency": "guangdong",
        "security_features": ["mfa", "encryption_transit"],
        "platform": None,
        "scenes": {"production_control": 3, "quality": 2},
        "clusters": list(Cluster.objects.filter(key="textile")),
        "industries": list(Industry.objects.filter(code="18")),
    }
    data.update(overrides)
    return data


@pytest.fixture
def owner():
    prov = provider(name="东莞测试数字科技有限公司")
    valid_certificate(prov)  # 等保: without it a published product would be hidden
    return prov, provider_user(prov)


def _nothing_changed(prov, audit_before, version_before):
    assert not Product.objects.filter(provider=prov).exists()
    assert AuditEntry.objects.count() == audit_before
    assert catalogue_version() == version_before


def test_create_writes_the_product_its_scenes_and_targeting_with_one_audit_entry(owner):
    prov, user = owner
    version = catalogue_version()
    made = cat.product_create(provider=prov, data=good_data(), by=user)
    assert made.status == "draft" and made.provider == prov
    assert dict(made.scenes.values_list("scene", "lifts_to")) == {
        "production_control": 3,
        "quality": 2,
    }
    assert [c.key for c in made.clusters.all()] == ["textile"]
    assert [i.code for i in made.industries.all()] == ["18"]
    # Stored in the canonical order, whatever order the form sent.
    assert made.security_features == ["encryption_transit", "mfa"]
    entry = AuditEntry.objects.get(action="product.create", object_id=str(made.pk))
    assert entry.after["scenes"] == {"production_control": 3, "quality": 2}
    assert catalogue_version() == version  # a draft is not in the catalogue


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price_bands": {"small": [30_000, 12_000]}}, "price_small_low"),
        ({"price_bands": {"micro": [-1, 10_000]}}, "price_micro_low"),
        ({"price_bands": {"medium": [1_000, 2_000.5]}}, "price_medium_high"),
        ({"price_bands": {"large": ["a", 5]}}, "price_large_low"),
        ({"price_bands": {"micro": [1_000]}}, "price_micro_low"),
        ({"price_bands": {"huge": [1, 2]}}, "price_bands"),
        ({"implementation_weeks": 0}, "implementation_weeks"),
        ({"implementation_weeks": 105}, "implementation_weeks"),
        ({"name": "  "}, "name"),
        ({"summary": ""}, "summary"),
        ({"deployment": "cloud"}, "deployment"),
        ({"data_residency": "moon"}, "data_residency"),
        ({"security_features": ["mfa", "magic"]}, "security_features"),
        ({"scenes": {"teleportation": 2}}, "scenes"),
        ({"scenes": {"quality": 5}}, "scene_quality"),
    ],
)
def test_bad_input_is_refused_with_the_field_named_and_nothing_changes(owner, overrides, field):
    prov, user = owner
    audit_before, version_before = AuditEntry.objects.count(), catalogue_version()
    with pytest.raises(ValidationError) as exc:
        cat.product_create(provider=prov, data=good_data(**overrides), by=user)
    assert field in exc.value.message_dict
    _nothing_changed(prov, audit_before, version_before)


def test_low_above_high_message_names_the_size_class_and_both_figures(owner):
    prov, user = owner
    with pytest.raises(ValidationError) as exc:
        cat.product_create(
            provider=prov, data=good_data(price_bands={"small": [30_000, 12_000]}), by=user
        )
    message = exc.value.message_dict["price_small_low"][0]
    assert "小型企业" in message and "30,000" in message and "12,000" in message


def test_another_providers_platform_cannot_be_chosen(owner):
    prov, user = owner
    theirs = Platform.objects.create(
        provider=provider(), name="别家平台", datacentre_location="广州"
    )
    with pytest.raises(ValidationError) as exc:
        cat.product_create(provider=prov, data=good_data(platform=theirs), by=user)
    assert "platform" in exc.value.message_dict
    mine = Platform.objects.create(provider=prov, name="自家平台", datacentre_location="东莞")
    assert (
        cat.product_create(provider=prov, data=good_data(platform=mine), by=user).platform == mine
    )


def test_publishing_needs_a_scene_and_a_price_band(owner):
    prov, user = owner
    draft = cat.product_create(provider=prov, data=good_data(scenes={}, price_bands={}), by=user)
    with pytest.raises(ValidationError) as exc:
        cat.product_publish(product=draft, by=user)
    assert {"scenes", "price_bands"} <= set(exc.value.message_dict)
    draft.refresh_from_db()
    assert draft.status == "draft"
    with pytest.raises(ValidationError):
        cat.product_create(
            provider=prov, data=good_data(name="直接发布", scenes={}, status="published"), by=user
        )
    assert not Product.objects.filter(name="直接发布").exists()


def test_publish_shows_it_in_the_catalogue_and_a_double_click_records_once(owner):
    prov, user = owner
    draft = cat.product_create(provider=prov, data=good_data(), by=user)
    assert not catalogue_products().filter(pk=draft.pk).exists()
    cat.product_publish(product=draft, by=user)
    cat.product_publish(product=draft, by=user)
    assert catalogue_products().filter(pk=draft.pk).exists()
    assert AuditEntry.objects.filter(action="product.publish", object_id=str(draft.pk)).count() == 1
    cat.product_withdraw(product=draft, by=user)
    assert not catalogue_products().filter(pk=draft.pk).exists()
    draft.refresh_from_db()
    assert draft.status == "withdrawn"


def test_a_published_product_cannot_lose_all_its_scenes(owner):
    prov, user = owner
    item = cat.product_create(provider=prov, data=good_data(status="published"), by=user)
    with pytest.raises(ValidationError):
        cat.product_scenes_set(product=item, scenes={}, by=user)
    assert item.scenes.count() == 2
    cat.product_scenes_set(product=item, scenes={"quality": 4}, by=user)
    assert dict(item.scenes.values_list("scene", "lifts_to")) == {"quality": 4}


def test_update_records_only_what_changed(owner):
    prov, user = owner
    item = cat.product_create(provider=prov, data=good_data(), by=user)
    cat.product_update(product=item, data=good_data(implementation_weeks=6), by=user)
    entry = AuditEntry.objects.get(action="product.update", object_id=str(item.pk))
    assert entry.before == {"implementation_weeks": 4} and entry.after == {
        "implementation_weeks": 6
    }
    # Saving the same values again writes no entry.
    cat.product_update(product=item, data=good_data(implementation_weeks=6), by=user)
    assert AuditEntry.objects.filter(action="product.update").count() == 1


def test_bad_update_changes_nothing(owner):
    prov, user = owner
    item = cat.product_create(provider=prov, data=good_data(), by=user)
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError):
        cat.product_update(
            product=item,
            data=good_data(name="新名字", price_bands={"micro": [9, 1]}),
            by=user,
        )
    item.refresh_from_db()
    assert item.name == "轻量 MES" and item.price_bands["micro"] == [5_000, 10_000]
    assert AuditEntry.objects.count() == before


def test_a_second_product_with_the_same_name_is_refused(owner):
    prov, user = owner
    cat.product_create(provider=prov, data=good_data(), by=user)
    with pytest.raises(ValidationError) as exc:
        cat.product_create(provider=prov, data=good_data(), by=user)
    assert "name" in exc.value.message_dict
    assert Product.objects.filter(provider=prov).count() == 1


def test_another_providers_user_cannot_touch_the_product(owner):
    prov, _user = owner
    item = product(prov)
    stranger = provider_user(provider())
    for call in (
        lambda: cat.product_update(product=item, data={"name": "偷改"}, by=stranger),
        lambda: cat.product_withdraw(product=item, by=stranger),
        lambda: cat.product_scenes_set(product=item, scenes={"quality": 2}, by=stranger),
        lambda: cat.product_create(provider=prov, data=good_data(name="冒名"), by=stranger),
    ):
        with pytest.raises(Http404):
            call()
    item.refresh_from_db()
    assert item.status == "published" and item.name != "偷改"
    assert not Product.objects.filter(name="冒名").exists()


@pytest.mark.parametrize("state", ["suspended", "revoked", "rejected"])
def test_a_provider_out_of_the_pool_cannot_create_or_publish(state):
    prov = provider(state=state)
    user = provider_user(prov)
    item = product(prov, status="draft")
    with pytest.raises(Http404):
        cat.product_create(provider=prov, data=good_data(), by=user)
    with pytest.raises(Http404):
        cat.product_publish(product=item, by=user)


@pytest.mark.parametrize("state", ["submitted", "under_review"])
def test_a_pending_provider_prepares_products_that_stay_out_of_the_catalogue(state):
    prov = provider(state=state)
    user = provider_user(prov)
    item = cat.product_create(provider=prov, data=good_data(status="published"), by=user)
    assert item.status == "published"
    assert not catalogue_products().filter(pk=item.pk).exists()


def test_hidden_products_never_show_in_the_catalogue_search():
    prov = provider()
    shown = product(prov, name="看得见")
    product(prov, name="证书过期", visibility="hidden_certificate")
    product(prov, name="草稿", status="draft")
    product(provider(state="suspended"), name="暂停")
    assert [p.name for p in cat.catalogue_search()] == [shown.name]


def test_compare_list_holds_four_and_refuses_a_fifth():
    items = [product(name=f"产品{i}") for i in range(5)]
    session: dict = {}
    for item in items[:4]:
        assert cat.compare_toggle(session, item.pk)[0] == "added"
    outcome, message = cat.compare_toggle(session, items[4].pk)
    assert outcome == "refused" and "4" in message
    assert cat.compare_ids(session) == [i.pk for i in items[:4]]
    assert cat.compare_toggle(session, items[0].pk)[0] == "removed"
    assert cat.compare_toggle(session, items[4].pk)[0] == "added"


def test_scene_rows_and_compare_rows_mark_differences():
    a = product(scenes={"quality": 3}, implementation_weeks=4)
    b = product(scenes={"quality": 3, "energy": 2}, implementation_weeks=4)
    rows = {
        r.label: r
        for r in cat.compare_rows(cat.compare_products([a.pk, b.pk]), cat.catalogue_scenes())
    }
    assert not rows["实施周期（周）"].differs
    assert rows["场景：能耗管理"].differs and rows["场景：能耗管理"].values == ["—", "二级"]
    assert not rows["场景：质量管理"].differs
    assert ProductScene.objects.count() == 3


def test_saving_a_draft_never_bumps_the_catalogue_version_but_publishing_does(owner):
    prov, user = owner
    version = catalogue_version()
    draft = cat.product_create(provider=prov, data=good_data(), by=user)
    cat.product_update(product=draft, data={"summary": "改了一句话"}, by=user)
    assert catalogue_version() == version
    cat.product_publish(product=draft, by=user)
    assert catalogue_version() == version + 1
    cat.product_update(product=draft, data={"summary": "发布后再改"}, by=user)
    assert catalogue_version() == version + 2
    other = cat.product_create(provider=prov, data=good_data(name="另一个草稿"), by=user)
    cat.product_withdraw(product=other, by=user)  # draft → withdrawn: never in the catalogue
    assert catalogue_version() == version + 2


def test_publishing_without_a_valid_mandatory_certificate_hides_the_product_at_once():
    prov = provider()
    user = provider_user(prov)
    item = cat.product_create(provider=prov, data=good_data(status="published"), by=user)
    assert item.status == "published" and item.visibility == "hidden_certificate"
    assert not catalogue_products().filter(pk=item.pk).exists()
    entry = AuditEntry.objects.get(action="provider.products_hidden")
    assert entry.after["missing"] == ["dengbao"]


def test_saas_with_on_premises_data_is_refused_by_the_service_too(owner):
    prov, user = owner
    with pytest.raises(ValidationError) as exc:
        cat.product_create(provider=prov, data=good_data(data_residency="on_premises"), by=user)
    assert "data_residency" in exc.value.message_dict
    assert not Product.objects.filter(provider=prov).exists()


def test_a_negative_price_ceiling_is_refused_by_the_search():
    with pytest.raises(ValidationError):
        list(cat.catalogue_search(price_max=-1))
