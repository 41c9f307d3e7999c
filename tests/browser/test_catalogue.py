"""The product catalogue in a real browser.

The demo provider signs in, is refused a price band whose low end is above its high end,
then creates and publishes a product; an anonymous visitor finds it by search, narrows the
list with filters (htmx, no page reload, the URL keeps them), puts three products side by
side and reads the highlighted differences, on a desktop and at 375 px (the comparison
scrolls sideways inside its own box, the page does not). Screenshots land in var/screenshots/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_roles import assert_no_horizontal_scroll, result_count, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PRODUCT = "云启 APS 排程助手"


@pytest.fixture
def pool(demo_world: Any) -> None:
    from yunshu.providers.demo import demo_provider_setup, generate_providers

    generate_providers(12, 60, seed=3)
    demo_provider_setup()


def wait_for_htmx(page: Any) -> None:
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def create_and_publish(page: Any, base: str, screenshot: Any) -> None:
    page.goto(f"{base}/catalogue/mine/")
    expect(page.locator("[data-testid=my-product]")).to_have_count(6)
    page.click("[data-testid=new-product]")
    page.fill("#id_name", NEW_PRODUCT)
    page.fill("#id_summary", "订单交期一键排程，2 周上线")
    page.select_option("#id_deployment", "saas")
    page.select_option("#id_price_model", "subscription")
    page.fill("#id_implementation_weeks", "2")
    page.select_option("#id_data_residency", "guangdong")
    page.fill("#id_price_small_low", "30000")
    page.fill("#id_price_small_high", "12000")
    page.select_option("#id_scene_planning_scheduling", "3")
    page.select_option("#id_scene_production_control", "2")
    page.get_by_label("纺织服装鞋帽").check()
    page.get_by_label("多因素登录").check()
    page.click("[data-testid=save-publish]")
    error = page.locator("[data-testid=error-price_small_low]")
    expect(error).to_contain_text("小型企业报价：最低价 30,000 元高于最高价 12,000 元")
    screenshot(page, "provider", "desktop", "catalogue-product-error")
    page.fill("#id_price_small_low", "12000")
    page.fill("#id_price_small_high", "30000")
    page.fill("#id_price_micro_low", "6000")
    page.fill("#id_price_micro_high", "9000")
    page.click("[data-testid=save-publish]")
    page.wait_for_url(f"{base}/catalogue/mine/")
    row = page.locator("[data-testid=my-product]", has_text=NEW_PRODUCT)
    expect(row.locator("[data-testid=status]")).to_have_text("已发布")
    screenshot(page, "provider", "desktop", "catalogue-mine")


def test_provider_publishes_and_a_visitor_searches_filters_and_compares(
    pool: None, live_server: Any, new_page: Any, screenshot: Any
) -> None:
    from yunshu.providers.catalogue import catalogue_search
    from yunshu.providers.models import Product

    base = live_server.url
    provider_page = new_page("desktop")
    sign_in(provider_page, base, "provider")
    create_and_publish(provider_page, base, screenshot)
    assert Product.objects.get(name=NEW_PRODUCT).status == "published"

    # -- an anonymous visitor ------------------------------------------------------------
    page = new_page("desktop")
    page.goto(f"{base}/catalogue/")
    total = result_count(page)
    assert total > 40
    page.evaluate("window.__sameDocument = true")
    page.fill("#id_q", "云启")
    page.click("[data-testid=filter-submit]")
    expect(page.locator("[data-testid=result-count]")).to_contain_text("共 7 个产品")
    expect(page.locator("[data-testid=product-name]", has_text=NEW_PRODUCT)).to_be_visible()
    page.select_option("#id_deployment", "saas")
    wait_for_htmx(page)
    saas = catalogue_search(q="云启", deployment="saas").count()
    expect(page.locator("[data-testid=result-count]")).to_contain_text(f"共 {saas} 个产品")
    page.select_option("#id_size_class", "small")
    page.fill("#id_price_max", "14000")
    page.click("[data-testid=filter-submit]")
    cheap = catalogue_search(q="云启", deployment="saas", size_class="small", price_max=14_000)
    assert 3 <= cheap.count() < saas
    expect(page.locator("[data-testid=result-count]")).to_contain_text(f"共 {cheap.count()} 个产品")
    wait_for_htmx(page)
    assert page.evaluate("window.__sameDocument === true"), "filtering reloaded the page"
    assert re.search(r"deployment=saas", page.url) and "price_max=14000" in page.url
    names = page.locator("[data-testid=product-name]").all_inner_texts()
    assert NEW_PRODUCT in names
    screenshot(page, "public", "desktop", "catalogue-filtered")

    # Three products into the comparison, from the filtered list.
    assert len(names) == cheap.count()
    for i in range(3):
        page.locator("[data-testid=compare-toggle]").nth(i).click()
        expect(page.locator("[data-testid=compare-tray]")).to_have_attribute(
            "data-count", str(i + 1)
        )
    expect(page.locator("[data-testid=compare-toggle][data-selected='1']")).to_have_count(3)
    page.click("[data-testid=compare-go]")
    page.wait_for_url(f"{base}/catalogue/compare/")
    expect(page.locator("[data-testid=compare-product]")).to_have_count(3)
    assert sorted(page.locator("[data-testid=compare-product]").all_inner_texts()) == sorted(names)
    differing = page.locator("[data-testid=compare-row][data-differs='1']")
    assert differing.count() >= 2  # at least the provider... and the prices differ
    expect(page.locator("[data-testid=compare-row]", has_text="服务商")).to_have_attribute(
        "data-differs", "0"
    )  # all three are the demo provider's
    screenshot(page, "public", "desktop", "catalogue-compare")
    same = page.locator("[data-testid=compare-row][data-differs='0']").first
    page.check("[data-testid=only-diff]")
    expect(same).to_be_hidden()

    # -- the same visitor on a phone (same session, so the same comparison) --------------
    phone = new_page("phone", signed_in_as=page)
    phone.goto(f"{base}/catalogue/compare/")
    expect(phone.locator("[data-testid=compare-product]")).to_have_count(3)
    assert_no_horizontal_scroll(phone, "comparison at 375 px")
    scroller = phone.locator("[data-testid=compare-scroll]")
    sizes = scroller.evaluate("el => ({scroll: el.scrollWidth, client: el.clientWidth})")
    assert sizes["scroll"] > sizes["client"], "the comparison should scroll inside its box"
    screenshot(phone, "public", "phone", "catalogue-compare")
    phone.goto(f"{base}/catalogue/?q=云启")
    expect(phone.locator("[data-testid=result-count]")).to_contain_text("共 7 个产品")
    assert_no_horizontal_scroll(phone, "catalogue at 375 px")
    screenshot(phone, "public", "phone", "catalogue")
    # A fourth is fine, a fifth is refused with a clear message.
    phone.goto(f"{base}/catalogue/")
    free = phone.locator("[data-testid=compare-toggle][data-selected='0']")
    free.first.click()
    expect(phone.locator("[data-testid=compare-tray]")).to_have_attribute("data-count", "4")
    phone.locator("[data-testid=compare-toggle][data-selected='0']").first.click()
    expect(phone.locator("[data-testid=compare-message]")).to_contain_text("最多同时对比 4 个产品")
    expect(phone.locator("[data-testid=compare-tray]")).to_have_attribute("data-count", "4")

    # The product page and the provider's public profile, with the trust panel.
    page.goto(f"{base}/catalogue/")
    page.fill("#id_q", NEW_PRODUCT)
    page.click("[data-testid=filter-submit]")
    expect(page.locator("[data-testid=result-count]")).to_contain_text("共 1 个产品")
    page.locator("[data-testid=product-name]").first.click()
    expect(page.locator("[data-testid=scene-levels]")).to_contain_text("计划排程")
    expect(page.locator("[data-testid=trust-panel]")).to_be_visible()
    page.click("[data-testid=provider-link]")
    expect(page.locator("[data-testid=lead-badge]")).to_be_visible()
    expect(
        page.locator("[data-testid=provider-products] [data-testid=product-card]")
    ).to_have_count(7)
    screenshot(page, "public", "desktop", "catalogue-provider")
    phone.goto(page.url)
    assert_no_horizontal_scroll(phone, "provider profile at 375 px")
    screenshot(phone, "public", "phone", "catalogue-provider")
