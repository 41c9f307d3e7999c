"""The demo provider pool: deterministic by seed, realistic shares, audited per batch."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from yunshu.accounts.models import Organisation, User
from yunshu.core import uscc
from yunshu.core.audit import audit_verify
from yunshu.core.demo import create_demo_users
from yunshu.core.models import AuditEntry
from yunshu.providers.catalogue import SIZE_KEYS, catalogue_scenes
from yunshu.providers.demo import demo_provider_setup, generate_providers, provider_scale_for
from yunshu.providers.models import Certificate, Product, ProductScene, Provider
from yunshu.providers.selectors import catalogue_products

pytestmark = pytest.mark.django_db


def fingerprint():
    providers = list(
        Provider.objects.order_by("id").values_list(
            "uscc", "name", "vetting_state", "trust_score", "organisation__is_lead_provider"
        )
    )
    products = list(
        Product.objects.order_by("id").values_list(
            "name", "provider__uscc", "price_bands", "implementation_weeks", "status", "visibility"
        )
    )
    scenes = list(
        ProductScene.objects.order_by("product_id", "scene").values_list(
            "product__name", "scene", "lifts_to"
        )
    )
    towns = list(Provider.towns_served.through.objects.order_by("id").values_list("town_id"))
    return providers, products, scenes, towns


def test_the_same_seed_gives_the_same_pool_and_another_seed_another():
    with transaction.atomic():
        assert generate_providers(30, 120, seed=5, batch=50) == (30, 120)
        first = fingerprint()
        transaction.set_rollback(True)
    with transaction.atomic():
        generate_providers(30, 120, seed=5, batch=50)
        assert fingerprint() == first
        transaction.set_rollback(True)
    generate_providers(30, 120, seed=6, batch=50)
    assert fingerprint()[0] != first[0]


@pytest.fixture
def pool():
    from yunshu.factories import EnterpriseFactory

    EnterpriseFactory.create_batch(60)  # the customers who rate
    before = AuditEntry.objects.count()
    made = generate_providers(200, 1_500, seed=11, batch=500)
    return made, AuditEntry.objects.count() - before


def test_counts_and_one_audit_entry_per_batch_keep_the_chain_verifiable(pool):
    (providers, products), entries = pool
    assert (providers, products) == (200, 1_500)
    assert Provider.objects.count() == 200 and Product.objects.count() == 1_500
    # 200 providers in one batch of 500; 1,500 products in three batches of 500.
    assert entries == 1 + 3
    batch = AuditEntry.objects.filter(action="demo.generate_products").first()
    assert batch.after == {"batch_size": 500, "seed": 11}
    assert audit_verify()[1] is None


def test_providers_are_realistic_dongguan_firms(pool):
    codes = list(Provider.objects.values_list("uscc", flat=True))
    assert len(set(codes)) == len(codes)
    assert all(uscc.validate(c).ok and c[2:8] == "441900" for c in codes)
    assert len(set(Provider.objects.values_list("name", flat=True))) == 200
    assert Provider.objects.filter(vetting_state="suspended").count() == 4  # ~2%
    leads = Organisation.objects.filter(provider__isnull=False, is_lead_provider=True)
    assert 2 <= leads.count() <= 6
    assert not leads.exclude(provider__vetting_state="approved").exists()
    assert not Provider.objects.filter(towns_served=None).exists()
    assert not Provider.objects.filter(clusters_served=None).exists()
    assert not Provider.objects.filter(platforms=None).exists()
    grades = set(Provider.objects.values_list("trust_grade", flat=True))
    assert len(grades) >= 3 and "" not in grades
    scores = list(Provider.objects.values_list("trust_score", flat=True))
    assert max(scores) - min(scores) >= 30
    reason = Provider.objects.first().trust_reasons[0]
    assert {"code", "points"} <= set(reason)


def test_every_provider_files_dengbao_some_expiring_some_expired_with_products_hidden(pool):
    today = timezone.localdate()
    dengbao = Certificate.objects.filter(type__key="dengbao")
    assert dengbao.values("provider").distinct().count() == 200
    expiring = dengbao.filter(expires_on__gte=today, expires_on__lte=today + dt.timedelta(days=30))
    expired = dengbao.filter(expires_on__lt=today, status="approved")
    assert expiring.count() >= 2 and expired.count() >= 2
    lapsed = Provider.objects.filter(certificates__in=expired)
    hidden = Product.objects.filter(provider__in=lapsed)
    assert hidden.exists()
    assert not hidden.exclude(visibility="hidden_certificate").exists()
    assert not hidden.filter(hidden_at=None).exists()
    # Elsewhere only a pending provider's published products are hidden: its filing is not
    # approved yet, exactly what the certificate job would decide.
    others = Product.objects.exclude(provider__in=lapsed).exclude(visibility="visible")
    assert not others.exclude(provider__vetting_state__in=["submitted", "under_review"]).exists()
    assert not others.exclude(status="published").exists()
    assert not catalogue_products().filter(provider__in=lapsed).exists()


def test_the_first_certificate_tick_after_the_demo_changes_no_visibility(pool):
    from yunshu.providers.vetting import certificates_tick

    result = certificates_tick(timezone.localdate())
    assert (result.hidden_products, result.restored_products) == (0, 0)


def test_most_approved_providers_stay_visible_in_the_catalogue(pool):
    approved = Provider.objects.filter(vetting_state="approved")
    shown = approved.filter(products__in=catalogue_products()).distinct().count()
    assert shown >= 0.9 * approved.count()


def test_rating_figures_have_rating_rows_behind_them_and_a_refresh_keeps_them(pool):
    from yunshu.matching.models import Proposal, Rating
    from yunshu.matching.ratings import provider_rating_refresh

    rated = list(Provider.objects.filter(rating_count__gt=0))
    assert len(rated) > 50
    assert Rating.objects.count() == sum(p.rating_count for p in rated)
    assert not Rating.objects.exclude(proposal__state=Proposal.State.DELIVERED).exists()
    for p in rated:
        assert provider_rating_refresh(p.pk) == (p.rating_count, p.rating_average)
    assert not Provider.objects.filter(rating_count=0).exclude(rating_average=None).exists()


def test_without_enterprises_no_provider_claims_ratings(db):
    from yunshu.enterprises.models import Enterprise

    Enterprise.objects.all().delete()
    generate_providers(30, 60, seed=5)
    assert not Provider.objects.filter(rating_count__gt=0).exists()


def test_products_have_scenes_rising_prices_and_sane_fields(pool):
    keys = {s.key for s in catalogue_scenes()}
    per_product: dict[int, list[int]] = {}
    for product_id, scene, level in ProductScene.objects.values_list(
        "product_id", "scene", "lifts_to"
    ):
        assert scene in keys and 2 <= level <= 4
        per_product.setdefault(product_id, []).append(level)
    assert len(per_product) == 1_500
    assert all(1 <= len(v) <= 4 for v in per_product.values())
    for bands, weeks in Product.objects.values_list("price_bands", "implementation_weeks"):
        assert 2 <= weeks <= 16 and bands
        lows = [bands[s][0] for s in SIZE_KEYS if s in bands]
        assert lows == sorted(lows)
        assert all(0 <= bands[s][0] <= bands[s][1] for s in bands)
    assert {"saas", "private", "hybrid", "edge"} == set(
        Product.objects.values_list("deployment", flat=True)
    )
    assert Product.objects.filter(clusters__isnull=False).exists()
    assert Product.objects.filter(industries__isnull=False).exists()
    shown = catalogue_products().count()
    assert 0.75 * 1_500 < shown < 1_500
    # Every provider that can sell has at least one product.
    assert not Provider.objects.exclude(vetting_state="suspended").filter(products=None).exists()


def test_scale_follows_the_demo_world():
    assert provider_scale_for(2_000) == (40, 300)
    assert provider_scale_for(200_000) == (1_100, 11_800)


def test_the_demo_providers_rating_survives_its_first_real_rating(client):
    from yunshu.factories import EnterpriseFactory
    from yunshu.matching.models import Proposal, Rating
    from yunshu.matching.ratings import provider_rating_refresh

    create_demo_users()
    EnterpriseFactory.create_batch(20)
    record = demo_provider_setup()
    assert (record.rating_count, str(record.rating_average)) == (15, "4.60")
    assert Rating.objects.filter(provider=record).count() == 15
    assert Rating.objects.filter(provider=record).values("enterprise").distinct().count() == 15
    assert provider_rating_refresh(record.pk) == (15, record.rating_average)
    # One more (five-star) rating: the history stays, (69 + 5) / 16 = 4.625 → 4.63.
    extra = Proposal.objects.create(
        provider=record,
        enterprise=EnterpriseFactory(),
        title="新方案",
        body="x",
        price_yuan=1,
        weeks=1,
        state=Proposal.State.DELIVERED,
        delivered_at=timezone.now(),
    )
    Rating.objects.create(proposal=extra, enterprise=extra.enterprise, provider=record, stars=5)
    assert str(provider_rating_refresh(record.pk)[1]) == "4.63"


def test_the_demo_provider_login_gets_an_approved_lead_record_with_products(client):
    create_demo_users()
    generate_providers(10, 30, seed=3)
    record = demo_provider_setup()
    assert record is not None and record.vetting_state == "approved"
    assert record.organisation.is_lead_provider
    assert record.platforms.count() == 1
    cert = record.certificates.get(type__key="dengbao")
    assert cert.level == "三级" and cert.status == "approved"
    assert cert.expires_on > timezone.localdate() + dt.timedelta(days=30)
    assert catalogue_products().filter(provider=record).count() == 6
    assert record.trust_grade == "A"
    # Idempotent: a second run adds nothing.
    before = AuditEntry.objects.count()
    demo_provider_setup()
    assert Product.objects.filter(provider=record).count() == 6
    assert AuditEntry.objects.count() == before
    assert audit_verify()[1] is None
    client.force_login(User.objects.get(username="provider"))
    response = client.get("/catalogue/mine/")
    assert len(response.context["products"]) == 6
    assert all(p.status == "published" for p in response.context["products"])


def test_without_the_demo_login_the_setup_does_nothing():
    assert demo_provider_setup() is None


def test_the_annual_review_counts_the_demo_ratings_as_satisfied_customers():
    import time_machine

    from yunshu.factories import EnterpriseFactory
    from yunshu.providers.review import review_checklist

    EnterpriseFactory.create_batch(40)
    with time_machine.travel(dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC), tick=False):
        generate_providers(40, 80, seed=21)
        figures = [
            {i.key: i.figure for i in review_checklist(p, 2026)}["satisfied_customers"]
            for p in Provider.objects.filter(rating_count__gt=0)
        ]
    assert figures and max(figures) > 0
