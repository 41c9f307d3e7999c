"""Platform supervision, complaints and the annual review, walked by the demo users.

The provider fills a platform security profile and reports an incident (its trust grade and
reasons appear), the enterprise files a complaint about it (the product list arrives by htmx),
the provider answers it, and the city runs the provider's annual review: the checklist shows
the open complaint, a pass against it needs a reason, a conditional verdict needs its
conditions and a deadline; then the city closes the complaint. Desktop and 375 px phone;
screenshots land in var/screenshots/.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.test_roles import assert_no_horizontal_scroll, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROVIDER_NAME = "东莞云启数字科技有限公司"


@pytest.fixture
def world(demo_world: Any) -> Any:
    """The demo provider as an approved pool member with a valid 等保 filing and a product."""
    from yunshu.accounts.models import Organisation, Role
    from yunshu.core.demo import make_uscc
    from yunshu.factories import product
    from yunshu.providers.models import Certificate, CertificateType, Provider

    org = Organisation.objects.get(kind=Role.PROVIDER, name=PROVIDER_NAME)
    record = Provider.objects.filter(organisation=org).first()
    if record is None:
        import random

        uscc = org.uscc or make_uscc(random.Random(3))
        record = Provider.objects.create(
            organisation=org,
            uscc=uscc,
            name=org.name,
            vetting_state="approved",
            approved_at=timezone.now(),
        )
    else:
        Provider.objects.filter(pk=record.pk).update(vetting_state="approved")
    today = timezone.localdate()
    Certificate.objects.create(
        provider=record,
        type=CertificateType.objects.get(key="dengbao"),
        level="三级",
        number="44190099999-00001",
        issued_on=today - dt.timedelta(days=100),
        expires_on=today + dt.timedelta(days=600),
        status="approved",
    )
    product(record, name="云启轻量 MES")
    return record


def test_platform_incident_complaint_and_annual_review(
    world: Any, live_server: Any, new_page: Any, screenshot: Any
) -> None:
    from yunshu.providers.models import AnnualReview, Complaint, Incident, Platform

    base = live_server.url
    year = timezone.localdate().year

    # -- the provider fills its platform profile ----------------------------------------------
    provider = new_page("desktop")
    sign_in(provider, base, "provider")
    provider.goto(f"{base}/providers/platforms/")
    provider.click("[data-testid=add-platform]")
    provider.fill("#id_name", "云启工业互联网平台")
    provider.fill("#id_datacentre_location", "广东省东莞市松山湖")
    provider.check("#id_encryption_in_transit")
    provider.fill("#id_backup_rpo_hours", "4")
    provider.fill("#id_backup_rto_hours", "8")
    provider.fill("#id_exit_plan", "企业可随时导出全部数据（CSV/SQL），返还后 30 天内删除")
    provider.fill("#id_data_return_days", "15")
    provider.click("[data-testid=save]")
    expect(provider.locator("[data-testid=platform-facts]")).to_contain_text("松山湖")
    platform = Platform.objects.get(name="云启工业互联网平台")
    # 10 + 10 + 0 + 5 + 3 + 6 + 4 = 38, 等保三级 30 → 68: grade B.
    expect(provider.locator("[data-testid=trust-grade]")).to_have_text("B")
    expect(provider.locator("[data-testid=trust-score]")).to_have_text("68")
    expect(provider.locator("[data-testid=trust-reasons]")).to_contain_text("未启用存储加密")

    # -- ... switches on encryption at rest, and the score follows ------------------------------
    provider.click("[data-testid=edit-platform]")
    provider.check("#id_encryption_at_rest")
    provider.click("[data-testid=save]")
    expect(provider.locator("[data-testid=trust-score]")).to_have_text("78")

    # -- ... and reports an incident -------------------------------------------------------------
    provider.click("[data-testid=report-incident]")
    when = (timezone.localtime() - dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    provider.fill("#id_occurred_at", when)
    provider.select_option("#id_severity", "high")
    provider.fill("#id_summary", "对象存储访问异常，部分客户报表延迟")
    provider.click("[data-testid=save]")
    expect(provider.locator("[data-testid=incident-state]")).to_contain_text("未处置")
    incident = Incident.objects.get(platform=platform)
    assert incident.reported_by.username == "provider"
    provider.goto(f"{base}/providers/platforms/{platform.pk}/")
    expect(provider.locator("[data-testid=trust-score]")).to_have_text("58")
    expect(provider.locator("[data-testid=trust-reasons]")).to_contain_text(
        "未处置完毕的重大安全事件"
    )
    screenshot(provider, "provider", "desktop", "platform-profile")

    # -- the enterprise files a complaint ------------------------------------------------------
    enterprise = new_page("desktop")
    sign_in(enterprise, base, "enterprise")
    enterprise.goto(f"{base}/providers/complaints/")
    enterprise.click("[data-testid=new-complaint]")
    enterprise.select_option("#id_provider", str(world.pk))
    expect(enterprise.locator("#id_product option", has_text="云启轻量 MES")).to_have_count(1)
    enterprise.select_option("#id_product", label="云启轻量 MES")
    enterprise.fill("#id_subject", "报表模块上线延期")
    enterprise.fill("#id_body", "合同约定 6 周上线报表模块，现已 10 周仍无法使用。")
    enterprise.click("[data-testid=submit-complaint]")
    expect(enterprise.locator("[data-testid=complaint-state]")).to_have_text("已提交")
    complaint = Complaint.objects.get()
    assert complaint.product.name == "云启轻量 MES" and complaint.provider_id == world.pk
    screenshot(enterprise, "enterprise", "desktop", "complaint")

    # -- the provider answers it ---------------------------------------------------------------
    provider.goto(f"{base}/providers/complaints/")
    provider.click(f"a[href='/providers/complaints/{complaint.pk}/']")
    provider.fill("#text-respond", "已增派实施人员，下周五前完成上线。")
    provider.click("[data-testid=do-respond]")
    expect(provider.locator("[data-testid=complaint-state]")).to_have_text("服务商已答复")
    expect(provider.locator("[data-testid=provider-response]")).to_contain_text("下周五前")

    # -- the city runs the annual review -------------------------------------------------------
    city = new_page("desktop")
    sign_in(city, base, "city")
    city.goto(f"{base}/providers/reviews/?year={year}")
    city.click(f"[data-testid=open-review-{world.pk}]")
    complaints_check = city.locator("[data-testid=check-open_complaints]")
    expect(complaints_check.locator("[data-testid=check-result]")).to_have_text("未达标")
    expect(complaints_check.locator("[data-testid=check-figure]")).to_have_text("1 件")
    certificates_check = city.locator("[data-testid=check-mandatory_certificates]")
    expect(certificates_check.locator("[data-testid=check-result]")).to_have_text("达标")
    expect(city.locator("[data-testid=check-satisfied_customers]")).to_contain_text("新加坡 PSG")
    expect(city.locator("[data-testid=check-delivered]")).to_contain_text("等级提升")
    city.check("input[name=verdict][value=pass]")
    city.click("[data-testid=decide]")  # a pass against a failed check needs a reason
    expect(city.locator("[data-testid=error-override_reason]")).to_be_visible()
    city.check("input[name=verdict][value=conditional]")
    city.click("[data-testid=decide]")
    expect(city.locator("[data-testid=error-conditions]")).to_be_visible()
    expect(city.locator("[data-testid=error-deadline]")).to_be_visible()
    screenshot(city, "city", "desktop", "annual-review")
    city.check("input[name=verdict][value=conditional]")
    city.fill("#id_conditions", "30 天内办结报表模块延期投诉")
    deadline = timezone.localdate() + dt.timedelta(days=30)
    city.fill("#id_deadline", deadline.isoformat())
    city.click("[data-testid=decide]")
    expect(city.locator("[data-testid=verdict]")).to_have_text("有条件通过")
    expect(city.locator("[data-testid=deadline]")).to_have_text(deadline.isoformat())
    review = AnnualReview.objects.get()
    assert (review.provider_id, review.year, review.verdict) == (world.pk, year, "conditional")
    screenshot(city, "city", "desktop", "annual-review-verdict")

    # -- the city closes the answered complaint; its timeline says who did what ----------------
    city.goto(f"{base}/providers/complaints/{complaint.pk}/")
    city.fill("#text-resolve", "核实已上线，结案")
    city.click("[data-testid=do-resolve]")
    expect(city.locator("[data-testid=complaint-state]")).to_have_text("已解决")
    expect(city.locator("[data-testid=timeline-step]")).to_have_count(3)
    expect(city.locator("[data-testid=complaint-timeline]")).to_contain_text("服务商答复")
    screenshot(city, "city", "desktop", "complaint-timeline")

    # -- the same pages on a phone -------------------------------------------------------------
    phone_city = new_page("phone", signed_in_as=city)
    for path, name in (
        (f"/providers/reviews/open/{world.pk}/{year - 1}/", "annual-review"),
        (f"/providers/reviews/?year={year}", "annual-reviews"),
        ("/providers/complaints/", "complaints"),
        ("/providers/supervision/", "supervision"),
    ):
        phone_city.goto(f"{base}{path}")
        assert_no_horizontal_scroll(phone_city, path)
        screenshot(phone_city, "city", "phone", name)
    phone_provider = new_page("phone", signed_in_as=provider)
    for path, name in (
        (f"/providers/platforms/{platform.pk}/", "platform-profile"),
        (f"/providers/incidents/{incident.pk}/", "incident"),
        (f"/providers/complaints/{complaint.pk}/", "complaint"),
    ):
        phone_provider.goto(f"{base}{path}")
        assert_no_horizontal_scroll(phone_provider, path)
        screenshot(phone_provider, "provider", "phone", name)
    expect(phone_provider.locator("[data-testid=complaint-state]")).to_have_text("已解决")
    phone_enterprise = new_page("phone", signed_in_as=enterprise)
    phone_enterprise.goto(f"{base}/providers/complaints/new/")
    assert_no_horizontal_scroll(phone_enterprise, "complaint form")
    screenshot(phone_enterprise, "enterprise", "phone", "complaint-form")
