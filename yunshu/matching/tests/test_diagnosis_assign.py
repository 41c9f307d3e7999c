"""The city assigns a diagnosis to a lead provider (牵引单位) from the pool, for an enterprise on
the transformation list; the assignment shows in the provider's inbox (诊断指派)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yunshu.accounts.models import Role
from yunshu.core.models import AuditEntry, Notification
from yunshu.enterprises.models import DataGrant
from yunshu.factories import EnterpriseFactory, provider, provider_user, user_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def firm():
    return EnterpriseFactory(on_transformation_list=True)


@pytest.fixture
def lead():
    return provider(name="东莞牵引数字科技有限公司", lead=True)


def _url(enterprise) -> str:
    return f"/matching/diagnoses/{enterprise.pk}/"


def _day(days: int) -> str:
    return str(timezone.localdate() + dt.timedelta(days=days))


def test_the_city_assigns_a_lead_provider_and_the_assignment_shows_in_its_inbox(client, firm, lead):
    city = user_for(Role.CITY)
    lead_user = provider_user(lead)
    client.force_login(city)
    detail = client.get(f"/enterprises/{firm.pk}/").content.decode()
    assert f'href="{_url(firm)}"' in detail
    page = client.get(_url(firm))
    assert page.status_code == 200
    response = client.post(_url(firm), {"provider": lead.pk, "expires_on": _day(60)})
    assert response.status_code == 302
    grant = DataGrant.objects.get()
    assert (grant.enterprise, grant.provider, grant.source) == (
        firm,
        lead.organisation,
        DataGrant.Source.CITY_ASSIGNMENT,
    )
    assert grant.scope_profile and grant.scope_assessments and grant.granted_by == city
    assert AuditEntry.objects.filter(action="grant.assign_diagnosis").count() == 1
    assert Notification.objects.filter(recipient=lead_user).exists()
    client.force_login(lead_user)
    inbox = client.get("/matching/inbox/?tab=assignments")
    assert [g.enterprise_id for g in inbox.context["page"]] == [firm.pk]
    assert inbox.context["counts"]["assignments"] == 1
    assert f'data-testid="diagnose-{firm.pk}"' in inbox.content.decode()


def test_only_lead_providers_in_the_pool_are_offered_or_accepted(client, firm, lead):
    suspended = provider(name="已暂停的牵引单位", lead=True, state="suspended")
    ordinary = provider(name="普通服务商")
    client.force_login(user_for(Role.CITY))
    choices = client.get(_url(firm)).context["form"].fields["provider"].queryset
    assert list(choices) == [lead]
    for other in (suspended, ordinary):
        response = client.post(_url(firm), {"provider": other.pk, "expires_on": _day(60)})
        assert response.status_code == 200 and response.context["form"].errors["provider"]
    assert not DataGrant.objects.exists()


def test_a_double_click_assigns_once_and_a_bad_expiry_is_refused(client, firm, lead):
    client.force_login(user_for(Role.CITY))
    for _click in range(2):
        client.post(_url(firm), {"provider": lead.pk, "expires_on": _day(30)})
    assert DataGrant.objects.count() == 1
    response = client.post(_url(firm), {"provider": lead.pk, "expires_on": _day(400)})
    assert "有效期最长一年" in response.content.decode()
    assert DataGrant.objects.count() == 1


def test_the_city_revokes_an_assignment_and_the_provider_loses_it(client, firm, lead):
    client.force_login(user_for(Role.CITY))
    client.post(_url(firm), {"provider": lead.pk, "expires_on": _day(30)})
    grant = DataGrant.objects.get()
    assert client.post(f"{_url(firm)}{grant.pk}/revoke/").status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    client.force_login(provider_user(lead))
    assert list(client.get("/matching/inbox/?tab=assignments").context["page"]) == []


@pytest.mark.parametrize(
    "role", [Role.TOWN, Role.ENTERPRISE, Role.PROVIDER, Role.EXPERT, Role.ASSESSOR, None]
)
def test_only_the_city_may_assign_a_diagnosis(client, firm, lead, role):
    if role == Role.PROVIDER:
        user = provider_user(lead)
    elif role == Role.ENTERPRISE:
        user = user_for(role, enterprise=firm)
    elif role is not None:
        user = user_for(role, town_name=firm.town.name_zh)
    if role is not None:
        client.force_login(user)
    response = client.post(_url(firm), {"provider": lead.pk, "expires_on": _day(30)})
    assert response.status_code == (302 if role is None else 404)
    assert not DataGrant.objects.filter(source=DataGrant.Source.CITY_ASSIGNMENT).exists()


def test_an_enterprise_off_the_transformation_list_gets_the_same_404(client, lead):
    off = EnterpriseFactory(on_transformation_list=False)
    client.force_login(user_for(Role.CITY))
    assert client.get(_url(off)).status_code == 404
    assert client.get("/matching/diagnoses/999999/").status_code == 404
    assert (
        'data-testid="diagnosis-assign-link"'
        not in client.get(f"/enterprises/{off.pk}/").content.decode()
    )
