"""为我推荐 and the city's batch runs, walked in a browser.

The demo enterprise opens its recommendations before any assessment (cluster-typical levels and
the prompt to self-assess), then after one (its own gaps, in words), at desktop and 375 px.
The city opens the firm's shortlist (logged for the firm) and runs the batch from its page.
Screenshots land in var/screenshots/.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_roles import assert_no_horizontal_scroll, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(demo_world: Any) -> Any:
    """The demo world with questionnaires stored and a small catalogue (four providers)."""
    from yunshu.assessments.definitions import questionnaires_load
    from yunshu.enterprises.models import Enterprise
    from yunshu.factories import product, provider
    from yunshu.matching import snapshot
    from yunshu.providers.catalogue_version import catalogue_bump

    questionnaires_load()
    own = Enterprise.objects.get(pk=demo_world.own_enterprise_id)
    providers = [
        provider(name=n, trust_score=t)
        for n, t in (("东莞云帆数字科技有限公司", 88), ("广东智造云科技有限公司", 62))
    ]
    providers[0].towns_served.add(own.town)
    product(
        providers[0],
        name="质量追溯云",
        summary="来料、过程、成品检验和追溯",
        scenes={"quality": 3, "production_control": 2},
        clusters=[own.cluster] if own.cluster else [],
    )
    product(providers[0], name="设备点检小程序", summary="设备台账与点检", scenes={"equipment": 3})
    product(providers[0], name="能耗看板", summary="分项计量", scenes={"energy": 3})
    product(
        providers[1],
        name="轻量 MES",
        summary="排程、报工、看板",
        scenes={"planning_scheduling": 3, "production_control": 3},
        price_bands={"small": [80_000, 150_000]},
    )
    product(providers[1], name="财务云", summary="业财一体", scenes={"finance": 2}, price_bands={})
    catalogue_bump()
    snapshot.clear()
    return demo_world


def test_enterprise_sees_its_shortlist_with_parts_before_and_after_self_assessment(
    world: Any, live_server: Any, new_page: Any, screenshot: Any
) -> None:
    from yunshu.enterprises.models import Enterprise
    from yunshu.matching.tests.test_recommend import assess, levels

    base = live_server.url
    page = new_page("desktop")
    sign_in(page, base, "enterprise")
    page.goto(f"{base}/matching/recommendations/")
    expect(page.locator("[data-testid=not-assessed]")).to_be_visible()
    # The levels it assumed (the cluster's typical ones), so they are not read as its own.
    expect(page.locator("[data-testid=levels]")).to_be_visible()
    cards = page.locator("[data-testid=recommendation]")
    expect(cards).to_have_count(4)  # five products, at most two per provider
    expect(cards.first.locator("[data-testid=trust-grade]")).to_have_text("可信等级 A")
    screenshot(page, "enterprise", "desktop", "recommendations-unassessed")
    # The prompt starts the maturity self-assessment (a POST form, not a link that gets 405).
    form = page.locator("[data-testid=start-assessment-form]")
    assert form.get_attribute("action") == f"/assessments/start/{world.own_enterprise_id}/"
    page.click("[data-testid=start-assessment]")
    page.wait_for_url(f"{base}/assessments/*/")
    expect(page.locator("body")).not_to_contain_text("405")
    page.goto(f"{base}/matching/recommendations/")

    assess(Enterprise.objects.get(pk=world.own_enterprise_id), levels(2, quality=1, finance=0))
    page.reload()
    expect(page.locator("[data-testid=basis]")).to_be_visible()
    first = cards.first
    expect(first.locator("[data-testid=product-link]")).to_have_text("质量追溯云")
    expect(first.locator("[data-part=coverage]")).to_contain_text(
        "质量管理（约束性场景） 一级→三级：补齐到二级的差距 +8，再提升 +4"
    )
    expect(first.locator("[data-part=outcomes]")).to_contain_text("待补贴项目上线后")
    assert first.locator("[data-testid=parts-bar] .progress-bar").count() >= 4
    share = first.locator("[data-testid=share]")
    provider_id = share.get_attribute("href").split("provider=")[1]
    assert share.get_attribute("href") == f"/matching/share/?provider={provider_id}"
    totals = [int(t) for t in page.locator("[data-testid=total]").all_inner_texts()]
    assert totals == sorted(totals, reverse=True)
    screenshot(page, "enterprise", "desktop", "recommendations")

    phone = new_page("phone", signed_in_as=page)
    phone.goto(f"{base}/matching/recommendations/")
    expect(phone.locator("[data-testid=recommendation]").first).to_be_visible()
    assert_no_horizontal_scroll(phone, "recommendations")
    screenshot(phone, "enterprise", "phone", "recommendations")


def test_city_opens_a_firms_shortlist_and_runs_the_batch(
    world: Any, live_server: Any, new_page: Any, screenshot: Any
) -> None:
    from yunshu.enterprises.models import AccessLogEntry
    from yunshu.matching.models import MatchRun, Recommendation

    base = live_server.url
    page = new_page("desktop")
    sign_in(page, base, "city")
    page.goto(f"{base}/matching/recommendations/{world.own_enterprise_id}/")
    expect(page.locator("[data-testid=recommendation]").first).to_be_visible()
    expect(page.locator("[data-testid=share]")).to_have_count(0)
    # The firm has no assessment: the city read its profile, and the firm's log says so.
    assert AccessLogEntry.objects.filter(
        enterprise_id=world.own_enterprise_id, what="profile"
    ).exists()
    assert not AccessLogEntry.objects.filter(
        enterprise_id=world.own_enterprise_id, what="assessments"
    ).exists()

    page.goto(f"{base}/matching/runs/")
    page.fill("#id_top_n", "5")
    page.click("[data-testid=start-run]")
    page.wait_for_url(f"{base}/matching/runs/*/")
    expect(page.locator("[data-testid=run-status]")).to_have_attribute(
        "data-status", "succeeded", timeout=60_000
    )
    run = MatchRun.objects.get()
    assert run.enterprises_total >= 200 and run.rows == Recommendation.objects.count() > 0
    screenshot(page, "city", "desktop", "match-run")
    page.goto(f"{base}/matching/runs/")
    expect(page.locator("[data-testid=current-run]")).to_be_visible()
    expect(page.locator("[data-testid=run-history] tbody tr")).to_have_count(1)

    # A queued run: its page polls (htmx, every second) until the worker has finished it.
    from yunshu.matching import recommend

    queued = recommend.match_run_start(by=None, top_n=3, enqueue=False)
    page.goto(f"{base}/matching/runs/{queued.pk}/")
    status = page.locator("[data-testid=run-status]")
    expect(status).to_have_attribute("data-status", "queued")
    recommend.match_run_execute(queued.pk)  # the worker, here in the test's thread
    expect(status).to_have_attribute("data-status", "succeeded", timeout=10_000)
    expect(page.locator("[data-testid=run-rows]")).to_have_text(f"{3 * run.enterprises_total:,}")

    phone = new_page("phone", signed_in_as=page)
    phone.goto(f"{base}/matching/runs/")
    assert_no_horizontal_scroll(phone, "match runs")
    screenshot(phone, "city", "phone", "match-runs")
