"""A new provider registers, uploads its licence, the city returns it for more material, the
provider adds a case and resubmits at once, the city approves it (and names it a lead
provider), and the provider records its 等保 certificate — in a real browser, at desktop and
phone width. Screenshots land in var/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_roles import assert_no_horizontal_scroll, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NAME = "东莞市松湖智云科技有限公司"


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "营业执照.pdf"
    path.write_bytes(PDF)
    return path


def fresh_uscc() -> str:
    from yunshu.core.demo import make_uscc

    return make_uscc(random.Random(20260701))


def register(page: Any, base: str, uscc: str) -> None:
    page.goto(f"{base}/providers/register/")
    page.fill("#id_uscc", uscc)
    page.fill("#id_name", NAME)
    page.fill("#id_summary", "电子制造 MES 与设备上云，小快轻准")
    page.fill("#id_contact_name", "陈经理")
    page.fill("#id_contact_phone", "13800138000")
    page.fill("#id_website", "https://songhu-cloud.example.com")
    page.check("#id_all_towns")
    clusters = page.locator("[data-testid=choices-clusters_served] input[type=checkbox]")
    clusters.nth(0).check()
    clusters.nth(1).check()
    page.fill("#id_email", "chen@songhu-cloud.example.com")
    page.fill("#id_username", "songhu")
    page.fill("#id_password", "songhu-cloud-2026!")
    page.click("[data-testid=register-submit]")
    page.wait_for_url(f"{base}/providers/application/")


def test_a_new_provider_registers_is_approved_by_the_city_and_adds_a_certificate(
    demo_world: Any, live_server: Any, new_page: Any, screenshot: Any, pdf: Path, tmp_path: Path
) -> None:
    from yunshu.providers.models import Certificate, Provider

    base = live_server.url
    pdf_case = tmp_path / "服务案例.pdf"
    pdf_case.write_bytes(PDF + b"case")

    # 1. The provider signs up on the public page and lands on “我的入库申请”.
    prov = new_page("desktop")
    register(prov, base, fresh_uscc())
    expect(prov.locator("[data-testid=vetting-state]")).to_have_text("已提交")
    expect(prov.locator("[data-testid=vetting-history]")).to_contain_text("提交入库申请")
    expect(prov.locator("[data-testid=towns-served]")).to_contain_text("虎门")

    # 2. It uploads its business licence (PDF, checked by extension and content).
    prov.select_option("#id_kind", "licence")
    prov.set_input_files("#id_file", str(pdf))
    prov.click("[data-testid=upload-submit]")
    expect(prov.locator("[data-testid=documents]")).to_contain_text("营业执照.pdf")
    screenshot(prov, "provider", "desktop", "vetting-application")

    # 3. The city finds it in the queue, starts the review and approves it.
    city = new_page("desktop")
    sign_in(city, base, "city")
    city.goto(f"{base}/providers/vetting/")
    expect(city.locator("[data-testid=tab-submitted]")).to_contain_text("1")
    city.click("[data-testid=tab-submitted]")
    city.get_by_role("link", name=NAME).click()
    expect(city.locator("[data-testid=documents]")).to_contain_text("营业执照.pdf")
    city.click("[data-testid=action-start_review]")
    expect(city.locator("[data-testid=vetting-state]")).to_have_text("审核中")
    # Returning without a reason keeps the page, marks the field and changes nothing.
    city.click("[data-testid=action-return]")
    expect(city.locator("[data-testid=error-reason]")).to_be_visible()
    expect(city.locator("[data-testid=vetting-state]")).to_have_text("审核中")
    city.fill("[data-testid=transition-reason]", "请补充一份服务案例")
    city.click("[data-testid=action-return]")
    expect(city.locator("[data-testid=vetting-state]")).to_have_text("待补充材料")

    # 3b. The provider reads what to add, adds it and sends the application straight back.
    prov.reload()
    expect(prov.locator("[data-testid=vetting-reason]")).to_contain_text("服务案例")
    # It sends the licence again as the case by mistake, and takes it back.
    prov.select_option("#id_kind", "case")
    prov.set_input_files("#id_file", str(pdf))
    prov.click("[data-testid=upload-submit]")
    wrong = prov.locator("[data-testid=document]").filter(has_text="服务案例")
    wrong.locator("summary").click()
    wrong.locator("input[name=reason]").fill("传错了文件")
    wrong.locator("[data-testid=withdraw-document]").click()
    expect(prov.locator("[data-testid=document][data-withdrawn='1']")).to_contain_text("传错了文件")
    prov.select_option("#id_kind", "case")
    prov.set_input_files("#id_file", str(pdf_case))
    prov.click("[data-testid=upload-submit]")
    prov.click("[data-testid=resubmit]")
    expect(prov.locator("[data-testid=vetting-state]")).to_have_text("已提交")
    screenshot(prov, "provider", "desktop", "vetting-resubmitted")
    city.reload()
    expect(city.locator("[data-testid=document][data-withdrawn='1']")).to_contain_text("已撤回")
    city.click("[data-testid=action-start_review]")
    # No 等保 filing yet: the page warns before the officer approves.
    expect(city.locator("[data-testid=approval-warning]")).to_be_visible()
    city.fill("[data-testid=transition-reason]", "材料齐全，客户回访满意")
    city.click("[data-testid=action-approve]")
    expect(city.locator("[data-testid=vetting-state]")).to_have_text("已入库")
    city.click("[data-testid=lead-set]")
    expect(city.locator("[data-testid=lead-badge]")).to_be_visible()
    expect(city.locator("[data-testid=vetting-history]")).to_contain_text("审核通过")
    screenshot(city, "city", "desktop", "vetting-approved")
    record = Provider.objects.select_related("organisation").get(name=NAME)
    assert record.vetting_state == "approved" and record.organisation.is_lead_provider

    # 4. The provider sees the result and records its 等保 filing (levels come by htmx).
    prov.reload()
    expect(prov.locator("[data-testid=vetting-state]")).to_have_text("已入库")
    expect(prov.locator("[data-testid=vetting-history]")).to_contain_text("审核通过")
    prov.click("[data-testid=certificate-add]")
    prov.select_option(
        "[data-testid=certificate-type]", label="网络安全等级保护备案（等保）（必备）"
    )
    expect(prov.locator("[data-testid=certificate-level] option")).to_have_count(4)
    prov.select_option("[data-testid=certificate-level]", "三级")
    prov.fill("#id_number", "44190013-2026-0815")
    prov.fill("#id_issuer", "东莞市公安局网络安全保卫支队")
    today = dt.date.today()
    prov.fill("#id_issued_on", (today - dt.timedelta(days=30)).isoformat())
    prov.fill("#id_expires_on", (today + dt.timedelta(days=3 * 365)).isoformat())
    prov.set_input_files("#id_file", str(pdf))
    prov.click("[data-testid=certificate-submit]")
    prov.wait_for_url(f"{base}/providers/application/")
    expect(prov.locator("[data-testid=certificates]")).to_contain_text("待审核")
    expect(prov.locator("[data-testid=certificates]")).to_contain_text("三级")
    screenshot(prov, "provider", "desktop", "vetting-certificate")
    cert = Certificate.objects.get(number="44190013-2026-0815")
    assert cert.level == "三级" and cert.status == "pending" and cert.sha256

    # 5. The city approves the certificate from its queue.
    city.goto(f"{base}/providers/vetting/certificates/")
    city.get_by_role("button", name="认可", exact=True).click()
    expect(city.locator("[data-testid=certificate-queue-table]")).to_contain_text("没有待审核")
    cert.refresh_from_db()
    assert cert.status == "approved"

    # 6. Both at phone width: no sideways scrolling.
    phone = new_page("phone", signed_in_as=prov)
    phone.goto(f"{base}/providers/application/")
    expect(phone.locator("[data-testid=vetting-state]")).to_have_text("已入库")
    assert_no_horizontal_scroll(phone, "provider application")
    screenshot(phone, "provider", "phone", "vetting-application")
    city_phone = new_page("phone", signed_in_as=city)
    city_phone.goto(f"{base}/providers/vetting/")
    assert_no_horizontal_scroll(city_phone, "vetting queue")
    screenshot(city_phone, "city", "phone", "vetting-queue")
    city_phone.goto(f"{base}/providers/vetting/{record.pk}/")
    assert_no_horizontal_scroll(city_phone, "vetting detail")
    screenshot(city_phone, "city", "phone", "vetting-detail")


def test_registration_on_a_phone_shows_errors_by_field(
    demo_world: Any, live_server: Any, new_page: Any, screenshot: Any
) -> None:
    base = live_server.url
    phone = new_page("phone")
    phone.goto(f"{base}/providers/register/")
    assert_no_horizontal_scroll(phone, "provider registration")
    phone.fill("#id_uscc", "91441900123")
    phone.click("[data-testid=register-submit]")
    expect(phone.locator("[data-testid=error-uscc]")).to_be_visible()
    expect(phone.locator("[data-testid=error-towns_served]")).to_be_visible()
    assert_no_horizontal_scroll(phone, "provider registration with errors")
    screenshot(phone, "public", "phone", "provider-register-errors")
    register(phone, base, fresh_uscc())
    expect(phone.locator("[data-testid=vetting-state]")).to_have_text("已提交")
    assert_no_horizontal_scroll(phone, "provider application")


def test_the_demo_provider_without_a_record_applies_to_the_pool(
    demo_world: Any, live_server: Any, new_page: Any, screenshot: Any
) -> None:
    from yunshu.providers.models import Provider

    base = live_server.url
    page = new_page("desktop")
    sign_in(page, base, "provider")
    page.goto(f"{base}/providers/application/")
    page.wait_for_url(f"{base}/providers/apply/")
    page.fill("#id_uscc", fresh_uscc())
    page.fill("#id_summary", "牵引单位：诊断与改造")
    page.fill("#id_contact_name", "周")
    page.fill("#id_contact_phone", "0769-22000000")
    page.check("#id_all_towns")
    page.locator("[data-testid=choices-clusters_served] input[type=checkbox]").first.check()
    screenshot(page, "provider", "desktop", "vetting-apply")
    page.click("[data-testid=apply-submit]")
    page.wait_for_url(f"{base}/providers/application/")
    expect(page.locator("[data-testid=vetting-state]")).to_have_text("已提交")
    assert Provider.objects.filter(organisation__members__username="provider").exists()
