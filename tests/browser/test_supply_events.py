"""Cluster supply and demand and a matchmaking event, walked in a real browser.

The city opens the heat map (ECharts), switches what colours the cells, opens a cell from
the chart and from the table, creates an event for the cluster, invites the proposed
enterprise and a provider and opens registration; the demo enterprise registers; the city
closes the event, marks attendance and records a contract. Desktop and phone (375 px)
screenshots land in var/screenshots/.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_roles import assert_no_horizontal_scroll, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_for_chart(page: Any) -> None:
    page.wait_for_function(
        "() => Array.isArray(window.yunshuCharts) && window.yunshuCharts.length === 1"
    )


@pytest.fixture
def world(demo_world: Any) -> Any:
    """The demo world with maturity results for every enterprise (the demo enterprise below
    二级 in 质量管理) and a small catalogue."""
    from yunshu.assessments.definitions import questionnaires_load
    from yunshu.enterprises.models import Enterprise
    from yunshu.factories import product, provider
    from yunshu.matching.tests.supply_factories import SCENES, assess

    questionnaires_load()
    rng = random.Random(4)
    own = Enterprise.objects.select_related("cluster").get(pk=demo_world.own_enterprise_id)
    for e in Enterprise.objects.exclude(pk=own.pk).select_related("organisation"):
        assess(e, {key: rng.choice([0, 1, 1, 2, 2, 3, "na"]) for key in SCENES})
    assess(own, {"quality": 1, "energy": 0})
    cloud = provider(name="东莞织云数字科技有限公司")
    cloud.clusters_served.add(own.cluster)
    product(
        cloud, name="织云质量管家", scenes={"quality": 3, "equipment": 2}, clusters=[own.cluster]
    )
    product(provider(name="松湖工业互联网有限公司"), name="松湖能耗云", scenes={"energy": 2})
    product(
        provider(name="厚街智造云服务有限公司"), name="智造排程", scenes={"planning_scheduling": 2}
    )
    return {"own": own, "cluster": own.cluster, "provider": cloud}


def test_city_matches_a_cluster_at_an_event_the_enterprise_registers_and_a_contract_is_recorded(
    world: Any, live_server: Any, new_page: Any, screenshot: Any
) -> None:
    from yunshu.matching.models import EventInvitation, EventOutcome, MatchmakingEvent

    base = live_server.url
    own, cluster, cloud = world["own"], world["cluster"], world["provider"]

    # -- the city reads the heat map --------------------------------------------------------
    city = new_page("desktop")
    sign_in(city, base, "city")
    city.goto(f"{base}/matching/supply/")
    wait_for_chart(city)
    expect(city.locator("[data-testid=chart-heatmap] canvas").first).to_be_visible()
    cell = city.locator(f"[data-testid=cell-{cluster.pk}-quality]")
    assert cell.locator("[data-part=products]").inner_text() == "1"
    assert int(cell.locator("[data-part=demand]").inner_text()) >= 1
    screenshot(city, "city", "desktop", "supply-heatmap")

    # What colours the cells changes without a reload.
    city.evaluate("window.__sameDocument = true")
    city.click("[data-testid=metric-gap]")
    expect(city.locator("[data-testid=metric-gap]")).to_have_class(
        __import__("re").compile(r"\bactive\b")
    )
    assert city.evaluate("document.getElementById('chart-heatmap').dataset.metric") == "gap"
    assert city.evaluate("window.__sameDocument === true")
    assert city.url.endswith("?metric=gap")

    # Clicking a cell of the chart lists what is behind it.
    box = city.locator("[data-testid=chart-heatmap]").bounding_box()
    x, y = city.evaluate(
        """([cluster, scene]) => {
             const d = JSON.parse(document.getElementById("heatmap-data").textContent);
             return window.yunshuCharts[0].convertToPixel({seriesIndex: 0},
               [d.scene_keys.indexOf(scene), d.cluster_ids.indexOf(cluster)]);
           }""",
        [cluster.pk, "energy"],
    )
    city.mouse.click(box["x"] + x, box["y"] + y)
    card = city.locator("[data-testid=cell-card]")
    expect(card).to_have_attribute("data-scene", "energy")
    expect(card.locator("[data-testid=cell-products] a")).to_have_count(1)
    # And so does a cell of the table.
    cell.locator("a").click()
    expect(card).to_have_attribute("data-scene", "quality")
    expect(card.locator("[data-testid=cell-products]")).to_contain_text("织云质量管家")
    expect(card.locator("[data-testid=cell-enterprises]")).to_contain_text(own.name)
    screenshot(city, "city", "desktop", "supply-heatmap-cell")

    # -- the city creates an event for the cluster and invites ------------------------------
    card.locator("[data-testid=cell-create-event]").click()
    expect(city.locator("#id_cluster")).to_have_value(str(cluster.pk))
    city.fill("#id_title", "纺织服装质量管理数字化对接会")
    city.fill("#id_starts_at", "2031-05-20T14:30")
    city.fill("#id_venue", "虎门镇电商产业园报告厅")
    city.fill("#id_capacity", "30")
    city.click("[data-testid=save]")
    event = MatchmakingEvent.objects.get()
    city.wait_for_url(f"{base}/matching/events/{event.pk}/invite/")
    expect(city.locator("[data-testid=no-run]")).to_be_visible()
    own_org = own.organisation.pk
    expect(city.locator(f"[data-testid=invite-org-{own_org}]")).to_be_visible()
    expect(city.locator("[data-testid=offline-enterprises] tbody tr").first).to_be_visible()
    city.check(f"[data-testid=invite-org-{own_org}]")
    city.check(f"[data-testid=invite-org-{cloud.organisation_id}]")
    screenshot(city, "city", "desktop", "event-invite")
    city.click("[data-testid=send-invitations]")
    city.wait_for_url(f"{base}/matching/events/{event.pk}/")
    city.click("[data-testid=transition-open]")
    expect(city.locator("[data-testid=event-state]")).to_have_text("报名中")
    assert EventInvitation.objects.filter(event=event).count() == 2

    # -- the enterprise registers -----------------------------------------------------------
    ent = new_page("desktop")
    sign_in(ent, base, "enterprise")
    ent.goto(f"{base}/matching/events/")
    ent.click(f"text={event.title}")
    ent.wait_for_url(f"{base}/matching/events/{event.pk}/")
    ent.fill("#id_attendee_name", "陈志强")
    ent.fill("#id_attendee_phone", "13912345678")
    ent.click("[data-testid=register]")
    expect(ent.locator("[data-testid=my-status]")).to_contain_text("已报名")
    screenshot(ent, "enterprise", "desktop", "event-registered")
    assert EventInvitation.objects.get(organisation_id=own_org).status == "registered"

    phone = new_page("phone", signed_in_as=ent)
    phone.goto(f"{base}/matching/events/{event.pk}/")
    expect(phone.locator("[data-testid=my-status]")).to_contain_text("已报名")
    assert_no_horizontal_scroll(phone, "event page, enterprise")
    screenshot(phone, "enterprise", "phone", "event-registered")

    # -- after the event the city records who came and what was signed ----------------------
    city.reload()
    expect(city.locator("[data-testid=event-counts] [data-count=registered]")).to_have_text("1")
    city.click("[data-testid=transition-close]")
    expect(city.locator("[data-testid=event-state]")).to_have_text("报名截止")
    city.check(f"[data-testid=attended-{own_org}]")
    city.click("[data-testid=save-attendance]")
    expect(city.locator(f"[data-testid=status-{own_org}]")).to_have_text("已到场")
    # Before its start time it cannot be marked held.
    city.click("[data-testid=transition-finish]")
    expect(city.locator("body")).to_contain_text("举办后才能标记已举办")
    expect(city.locator("[data-testid=event-state]")).to_have_text("报名截止")
    from yunshu.matching.tests.supply_factories import held

    held(event)
    city.reload()
    city.click("[data-testid=transition-finish]")
    expect(city.locator("[data-testid=event-state]")).to_have_text("已举办")
    # Both the list and a credit code: refused, and what was typed stays in the form.
    city.select_option("#id_enterprise", str(own.pk))
    city.fill("#id_enterprise_uscc", "91441900MA00000000")
    city.select_option("#id_provider", str(cloud.pk))
    city.select_option("#id_kind", "contract")
    city.fill("#id_amount_yuan", "86000")
    city.click("[data-testid=record-outcome]")
    expect(city.locator("[data-testid=error-enterprise_uscc]")).to_contain_text("请只保留其中一项")
    expect(city.locator("#id_amount_yuan")).to_have_value("86000")
    city.fill("#id_enterprise_uscc", "")
    city.click("[data-testid=record-outcome]")
    expect(city.locator("[data-testid=outcome-table]")).to_contain_text("织云")
    expect(city.locator("[data-testid=outcome-table]")).to_contain_text("¥86,000")
    expect(city.locator("[data-testid=event-counts] [data-count=contracts]")).to_have_text("1")
    screenshot(city, "city", "desktop", "event-outcomes")
    outcome = EventOutcome.objects.get()
    assert (outcome.enterprise_id, outcome.provider_id, str(outcome.amount_yuan)) == (
        own.pk,
        cloud.pk,
        "86000.00",
    )
    city.goto(f"{base}/matching/events/")
    row = city.locator(f"[data-testid=cluster-totals] tr[data-cluster='{cluster.pk}']")
    expect(row.locator("[data-col=contracts]")).to_have_text("1")
    expect(row.locator("[data-col=attended]")).to_have_text("1")
    screenshot(city, "city", "desktop", "events")

    # -- the same pages at phone width --------------------------------------------------------
    city_phone = new_page("phone", signed_in_as=city)
    city_phone.goto(f"{base}/matching/supply/")
    wait_for_chart(city_phone)
    assert_no_horizontal_scroll(city_phone, "supply heat map")
    screenshot(city_phone, "city", "phone", "supply-heatmap")
    city_phone.goto(f"{base}/matching/events/{event.pk}/")
    assert_no_horizontal_scroll(city_phone, "event page, city")
    screenshot(city_phone, "city", "phone", "event-outcomes")
    city_phone.goto(f"{base}/matching/events/")
    assert_no_horizontal_scroll(city_phone, "event list")
    screenshot(city_phone, "city", "phone", "events")
