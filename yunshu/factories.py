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
    if role == Role.PROVIDER:
        fields["is_lead_provider"] = kw.pop("lead", False)
    org = OrganisationFactory(**fields)
    user = UserFactory(organisation=org, **kw)
    return user  # type: ignore[no-any-return,return-value]


def grant(enterprise: Enterprise, provider_user: User, **kw: Any) -> DataGrant:
    return DataGrant.objects.create(
        enterprise=enterprise,
        provider=provider_user.organisation,  # type: ignore[misc]
        expires_at=kw.pop("expires_at", timezone.now() + dt.timedelta(days=30)),
        **kw,
    )
