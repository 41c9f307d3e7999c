"""Consent, the provider's inbox, proposals and ratings, walked in a real browser.

An enterprise searches the provider pool and shares its profile and assessments; the provider
finds it under 匹配需求 with its gap scenes and sends a proposal; the enterprise accepts,
confirms delivery (验收) and rates; then revokes the grant and the provider loses access.
Desktop and phone (375 px) screenshots land in var/screenshots/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_roles import assert_no_horizontal_scroll, sign_in
from yunshu.core.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@dataclass
class World:
    enterprise_id: int
    enterprise_name: str
    provider_id: int
    provider_name: str


@pytest.fixture
def world(reference_data: None) -> World:
    from yunshu.accounts.models import Role
    from yunshu.assessments.definitions import questionnaires_load
    from yunshu.factories import EnterpriseFactory, product, provider, provider_user, user_for
    from yunshu.matching.tests.consent_world import maturity_result

    questionnaires_load()
    enterprise = EnterpriseFactory(name="东莞市虎门锦绣服装有限公司")
    owner = user_for(Role.ENTERPRISE, enterprise=enterprise, username="ent")
    prov = provider(name="东莞云启数字科技有限公司")
    provider(name="广东智造云服务有限公司")
    product(prov, name="云启质量追溯 SaaS", scenes={"quality": 3})
    staff = provider_user(prov, username="prov", display_name="云启 张工")
    for user in (owner, staff):
        user.set_password(DEMO_PASSWORD)
        user.save()
    maturity_result(enterprise)
    return World(enterprise.pk, enterprise.name, prov.pk, prov.name)


def _accept_dialogs(page: Any) -> list[str]:
    """Accept every confirmation dialog; returns the list their messages are kept in."""
    seen: list[str] = []

    def accept(dialog: Any) -> None:
        seen.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    return seen


def test_share_propose_accept_deliver_rate_and_revoke(
    world: World, live_server: Any, new_page: Any, screenshot: Any
) -> None:
    from yunshu.enterprises.models import AccessLogEntry, DataGrant
    from yunshu.matching.models import Proposal, Rating
    from yunshu.providers.models import Provider

    base = live_server.url

    # The enterprise finds the provider by searching the pool and shares with it.
    ent = new_page("desktop")
    dialogs = _accept_dialogs(ent)
    sign_in(ent, base, "ent")
    ent.goto(f"{base}/matching/share/")
    expect(ent.locator("[data-testid=share-explainer]")).to_contain_text("服务商看不到")
    ent.fill("[data-testid=provider-search]", "云启")
    expect(ent.locator("#id_provider option")).to_have_count(2)  # the prompt and the one match
    ent.select_option("#id_provider", value=str(world.provider_id))
    ent.check("#id_scope_assessments")
    ent.fill("#id_purpose", "数字化诊断与报价")
    screenshot(ent, "enterprise", "desktop", "consent-share")
    ent.click("[data-testid=share-submit]")
    expect(ent.locator("[data-testid=grant-table] tbody tr")).to_have_count(1)
    expect(ent.locator("[data-testid=grant-status]")).to_have_text("生效中")
    grant = DataGrant.objects.get(enterprise_id=world.enterprise_id)
    assert grant.scope_profile and grant.scope_assessments

    # The provider sees it in its inbox, with the gap scenes, and sends a proposal.
    prov = new_page("desktop")
    sign_in(prov, base, "prov")
    prov.goto(f"{base}/matching/inbox/")
    expect(prov.locator("[data-testid=count-grants]")).to_have_text("1")
    expect(prov.locator("[data-testid=inbox-grants]")).to_contain_text(world.enterprise_name)
    prov.evaluate("window.__sameDocument = true")
    prov.click("[data-testid=tab-demand]")
    row = prov.locator(f"[data-testid=demand-{world.enterprise_id}]")
    expect(row).to_contain_text("质量管理")
    assert prov.evaluate("window.__sameDocument === true"), "the tab reloaded the whole page"
    assert prov.url.endswith("?tab=demand")
    screenshot(prov, "provider", "desktop", "consent-inbox")
    prov.click(f"[data-testid=propose-{world.enterprise_id}]")
    prov.fill("#id_title", "质量追溯上云方案")
    prov.fill("#id_body", "部署云启质量追溯 SaaS，打通来料检验与成品检验数据。")
    prov.select_option("#id_product", label="云启质量追溯 SaaS")
    prov.fill("#id_price_yuan", "68000")
    prov.fill("#id_weeks", "6")
    prov.click("[data-testid=proposal-submit]")
    expect(prov.locator("[data-testid=proposal-state]")).to_have_text("待企业答复")
    expect(prov.locator("[data-testid=proposal-price]")).to_have_text("¥68,000")
    proposal = Proposal.objects.get()

    # The enterprise accepts, confirms delivery and rates.
    ent.goto(f"{base}/matching/proposals/")
    ent.click(f"[data-testid=proposal-{proposal.pk}]")
    ent.fill("[data-testid=decision-note]", "请下周启动")
    ent.click("[data-testid=action-accept]")
    expect(ent.locator("[data-testid=proposal-state]")).to_have_text("已接受")
    assert dialogs == []  # accepting asks nothing
    ent.click("[data-testid=action-deliver]")
    expect(ent.locator("[data-testid=proposal-state]")).to_have_text("已验收")
    # Confirming delivery cannot be undone: it asked first.
    assert dialogs == ["确认服务商已按方案交付、验收合格？确认验收后不能撤销。"]
    ent.check("[data-testid=star-5]")
    ent.fill("#id_comment", "交付及时，效果明显")
    ent.click("[data-testid=rating-submit]")
    expect(ent.locator("[data-testid=rating]")).to_contain_text("★★★★★")
    screenshot(ent, "enterprise", "desktop", "consent-proposal-rated")
    assert Rating.objects.get().stars == 5
    assert Provider.objects.get(pk=world.provider_id).rating_count == 1

    # Phone width: the share page, the proposal and the inbox fit 375 px.
    ent_phone = new_page("phone", signed_in_as=ent)
    ent_phone.goto(f"{base}/matching/share/")
    assert_no_horizontal_scroll(ent_phone, "share page")
    screenshot(ent_phone, "enterprise", "phone", "consent-share")
    ent_phone.goto(f"{base}/matching/proposals/{proposal.pk}/")
    assert_no_horizontal_scroll(ent_phone, "proposal page")
    screenshot(ent_phone, "enterprise", "phone", "consent-proposal-rated")
    prov_phone = new_page("phone", signed_in_as=prov)
    prov_phone.goto(f"{base}/matching/inbox/?tab=demand")
    assert_no_horizontal_scroll(prov_phone, "inbox")
    screenshot(prov_phone, "provider", "phone", "consent-inbox")

    # The enterprise revokes; the provider loses access at once.
    prov.goto(f"{base}/enterprises/{world.enterprise_id}/")
    expect(prov.locator("[data-testid=enterprise-detail]")).to_be_visible()
    ent.goto(f"{base}/matching/share/")
    ent.click(f"[data-testid=revoke-{grant.pk}]")
    expect(ent.locator("[data-testid=grant-status]")).to_have_text("已撤销")
    response = prov.goto(f"{base}/enterprises/{world.enterprise_id}/")
    assert response is not None and response.status == 404
    prov.goto(f"{base}/matching/inbox/?tab=demand")
    expect(prov.locator(f"[data-testid=demand-{world.enterprise_id}]")).to_have_count(0)
    expect(prov.locator("[data-testid=count-demand]")).to_have_text("0")

    # 谁看过我的数据 lists the provider's views.
    ent.click("[data-testid=access-log-link]")
    expect(ent.locator("[data-testid=access-log]")).to_contain_text(world.provider_name)
    screenshot(ent, "enterprise", "desktop", "consent-access-log")
    whats = set(
        AccessLogEntry.objects.filter(enterprise_id=world.enterprise_id).values_list(
            "what", flat=True
        )
    )
    assert whats == {"profile", "assessments"}
