"""factory_boy factories shared by the tests of every app."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from yunshu.accounts.models import Organisation, Role, User
from yunshu.core.demo import make_uscc
from yunshu.core.models import Cluster, Industry, Town
from yunshu.core.size_class import size_class
from yunshu.enterprises.models import DataGrant, Enterprise

_rng = random.Random(7)


def town(name: str = "虎门") -> Town:
    return Town.objects.get(name_zh=name)


def industry(code: str = "18") -> Industry:
    return Industry.objects.get(code=code)


class EnterpriseFactory(factory.django.DjangoModelFactory[Enterprise]):
    class Meta:
        model = Enterprise

    uscc = factory.LazyFunction(lambda: make_uscc(_rng))
    name = factory.Sequence(lambda n: f"东莞市测试{n:04d}制造有限公司")
    town = factory.LazyFunction(town)
    industry = factory.LazyFunction(industry)
    cluster = factory.LazyAttribute(lambda o: Cluster.objects.filter(industries=o.industry).first())
    employees = 50
    revenue = Decimal("8000000.00")
    size_class = factory.LazyAttribute(lambda o: size_class(o.employees, o.revenue))


class OrganisationFactory(factory.django.DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    kind = Role.CITY
    name = factory.Sequence(lambda n: f"机构{n}")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")
    organisation = factory.SubFactory(OrganisationFactory)

    @classmethod
    def _after_postgeneration(cls, instance: Any, create: bool, results: Any = None) -> None:
        if create:
            instance.save()


def user_for(
    role: str, *, enterprise: Enterprise | None = None, town_name: str = "虎门", **kw: Any
) -> User:
    """A user of a fresh organisation of the given role."""
    fields: dict[str, Any] = {"kind": role}
    if role == Role.TOWN:
        fields["town"] = town(town_name)
    if role == Role.ENTERPRISE:
        fields["enterprise"] = enterprise or EnterpriseFactory()
        fields["name"] = fields["enterprise"].name
    pool_state = kw.pop("pool_state", "approved")
    if role == Role.PROVIDER:
        fields["is_lead_provider"] = kw.pop("lead", False)
    org: Organisation = OrganisationFactory(**fields)  # type: ignore[assignment]
    if role == Role.PROVIDER and pool_state is not None:
        # A provider reads shared data only while it is in the pool (pool_state=None: none).
        from yunshu.providers.models import Provider

        Provider.objects.create(
            organisation=org,
            uscc=make_uscc(_rng),
            name=org.name,
            vetting_state=pool_state,
            approved_at=timezone.now() if pool_state == "approved" else None,
        )
    user = UserFactory(organisation=org, **kw)
    return user  # type: ignore[no-any-return,return-value]


def grant(enterprise: Enterprise, provider_user: User, **kw: Any) -> DataGrant:
    return DataGrant.objects.create(
        enterprise=enterprise,
        provider=provider_user.organisation,  # type: ignore[misc]
        expires_at=kw.pop("expires_at", timezone.now() + dt.timedelta(days=30)),
        **kw,
    )


def provider(*, name: str = "", lead: bool = False, state: str = "approved", **kw: Any) -> Any:
    """A provider organisation with its pool record (approved unless told otherwise)."""
    from yunshu.providers.models import Provider

    org: Organisation = OrganisationFactory(  # type: ignore[assignment]
        kind=Role.PROVIDER,
        is_lead_provider=lead,
        uscc=make_uscc(_rng),
        **({"name": name} if name else {}),
    )
    record = Provider.objects.create(
        organisation=org,
        uscc=org.uscc,
        name=org.name,
        vetting_state=state,
        approved_at=timezone.now() if state == "approved" else None,
        **kw,
    )
    return record


def provider_user(record: Any, **kw: Any) -> User:
    return UserFactory(organisation=record.organisation, **kw)  # type: ignore[return-value]


def product(
    prov: Any = None,
    *,
    scenes: dict[str, int] | None = None,
    clusters: list[Any] | None = None,
    industries: list[Any] | None = None,
    bump: bool = True,
    **kw: Any,
) -> Any:
    """A published, visible product covering the given scenes ({scene_key: lifts_to}).
    bump=False leaves the catalogue version alone (to test snapshot caching)."""
    from yunshu.providers.models import Product, ProductScene

    prov = prov or provider()
    fields: dict[str, Any] = {
        "name": f"测试产品{_rng.randint(1000, 9999)}",
        "summary": "测试用产品",
        "deployment": "saas",
        "price_model": "subscription",
        "price_bands": {
            "micro": [5_000, 20_000],
            "small": [20_000, 60_000],
            "medium": [60_000, 200_000],
        },
        "implementation_weeks": 4,
        "data_residency": "mainland",
        "status": "published",
    }
    fields.update(kw)
    item = Product.objects.create(provider=prov, **fields)
    for key, level in (scenes or {"production_control": 2}).items():
        ProductScene.objects.create(product=item, scene=key, lifts_to=level)
    if clusters:
        item.clusters.set(clusters)
    if industries:
        item.industries.set(industries)
    if bump:
        from yunshu.providers.catalogue_version import catalogue_bump

        catalogue_bump()  # as the catalogue services do, so snapshots reload
    return item


def valid_certificate(
    prov: Any, *, key: str = "dengbao", level: str = "三级", days: int = 365, **kw: Any
) -> Any:
    """An approved certificate valid for `days` more days: by default the mandatory 等保
    filing, without which a provider's products are not shown in the catalogue."""
    from yunshu.providers.models import Certificate, CertificateType

    ctype = CertificateType.objects.get(key=key)
    today = timezone.localdate()
    fields: dict[str, Any] = {
        "number": f"{key}-{_rng.randint(10_000, 99_999)}",
        "issued_on": today - dt.timedelta(days=30),
        "expires_on": today + dt.timedelta(days=days),
        "status": Certificate.Status.APPROVED,
        "level": level if ctype.has_level else "",
    }
    fields.update(kw)
    return Certificate.objects.create(provider=prov, type=ctype, **fields)
