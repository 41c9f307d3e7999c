"""Money reads the same everywhere: yuan with thousands separators, 万元 where the registry
counts in 万元, whatever the language (Django's zh-hans format groups no digits)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from yunshu.factories import EnterpriseFactory, grant, provider, provider_user
from yunshu.matching.templatetags.money_tags import wan, yuan


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_yuan_has_thousands_separators_and_cents_only_when_there_are_any(language):
    with translation.override(language):
        assert yuan(Decimal("68000.00")) == "¥68,000"
        assert yuan(Decimal("1234567.5")) == "¥1,234,567.50"
        assert yuan(0) == "¥0"
        assert yuan(None) == yuan("") == yuan("x") == "—"


def test_wan_shows_yuan_in_wan_yuan_as_the_registry_does():
    assert wan(Decimal("43097900.00")) == "4,309.79"
    assert wan(Decimal("5000000")) == "500"
    assert wan(None) == "—"


@pytest.mark.django_db
def test_a_providers_view_of_a_shared_profile_shows_revenue_in_wan_yuan(client):
    firm = EnterpriseFactory(revenue=Decimal("43097900.00"))
    viewer = provider_user(provider())
    grant(firm, viewer)
    client.force_login(viewer)
    html = client.get(f"/enterprises/{firm.pk}/").content.decode()
    revenue = html[html.index('data-testid="revenue"') :].split("</dd>")[0]
    assert "4,309.79" in revenue and "43097900" not in html
    assert "营业收入（万元）" in html
