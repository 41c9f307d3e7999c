"""The vetting pages: a permission matrix (7 roles + anonymous × actions) and each page's
behaviour: registration, apply, profile, queue filters, counts, export, query counts."""

from __future__ import annotations

import datetime as dt
import io
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from yunshu.accounts.models import Organisation, Role, User
from yunshu.core.demo import make_uscc
from yunshu.core.models import Cluster, Town
from yunshu.factories import provider, provider_user, user_for, valid_certificate
from yunshu.providers import vetting
from yunshu.providers.catalogue_version import catalogue_version
from yunshu.providers.models import (
    Certificate,
    CertificateType,
    Provider,
    ProviderDocument,
    VettingEvent,
    VettingState,
)

pytestmark = pytest.mark.django_db
S = VettingState
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
_rng = random.Random(77)

SUBJECTS = ["anonymous", *Role.values]  # the provider subject is the reviewed provider's admin


@pytest.fixture
def world():
    record = provider(state=S.SUBMITTED, name="东莞市受审云科技有限公司")
    admin = provider_user(record, is_org_admin=True)
    approved = provider(state=S.APPROVED)
    document = vetting.document_upload(
        provider=record, kind="licence", upload=SimpleUploadedFile("l.pdf", PDF), by=admin
    )
    today = timezone.localdate()
    cert = vetting.certificate_add(
        provider=record,
        by=admin,
        type=CertificateType.objects.get(key="iso27001"),
        number="ISMS-77",
        issued_on=today - dt.timedelta(days=10),
        expires_on=today + dt.timedelta(days=700),
        upload=SimpleUploadedFile("c.pdf", PDF),
    )
    users = {role: user_for(role) for role in Role.values if role != Role.PROVIDER}
    users[Role.PROVIDER] = admin
    return {
        "provider": record,
        "approved": approved,
        "document": document,
        "cert": cert,
        "users": users,
    }


# (name, method, url, data) — the url and data are built from the world.
ACTIONS = {
    "register": ("get", lambda w: "/providers/register/", None),
    "application": ("get", lambda w: "/providers/application/", None),
    "apply": ("get", lambda w: "/providers/apply/", None),
    "profile_edit": ("get", lambda w: "/providers/profile/edit/", None),
    "certificate_add": ("get", lambda w: "/providers/certificates/add/", None),
    "queue": ("get", lambda w: "/providers/vetting/", None),
    "export": ("get", lambda w: "/providers/vetting/export.xlsx", None),
    "detail": ("get", lambda w: f"/providers/vetting/{w['provider'].pk}/", None),
    "transition": (
        "post",
        lambda w: f"/providers/vetting/{w['provider'].pk}/transition/",
        {"action": "start_review", "expected_state": "submitted"},
    ),
    "lead": ("post", lambda w: f"/providers/vetting/{w['approved'].pk}/lead/", {"lead": "1"}),
    "certificate_queue": ("get", lambda w: "/providers/vetting/certificates/", None),
    "certificate_review": (
        "post",
        lambda w: f"/providers/certificates/{w['cert'].pk}/review/",
        {"decision": "approve"},
    ),
    "document": ("get", lambda w: f"/providers/documents/{w['document'].pk}/download/", None),
    "document_upload": (
        "post",
        lambda w: "/providers/documents/upload/",
        lambda: {"kind": "case", "file": SimpleUploadedFile("case.pdf", PDF + b"case")},
    ),
    "document_withdraw": (
        "post",
        lambda w: f"/providers/documents/{w['document'].pk}/withdraw/",
        {"reason": "传错了"},
    ),
    "resubmit": ("post", lambda w: "/providers/application/resubmit/", {}),
    "certificate_levels": ("get", lambda w: "/providers/certificates/levels/?type=1", None),
    "certificate_file": ("get", lambda w: f"/providers/certificates/{w['cert'].pk}/file/", None),
}

LOGIN = "login"  # a redirect to the sign-in page
# Expected answer per action; subjects not named get 404, anonymous gets LOGIN unless named.
MATRIX: dict[str, dict[str, int | str]] = {
    "register": {s: 302 for s in Role.values} | {"anonymous": 200},
    "application": {Role.PROVIDER: 200},
    "apply": {Role.PROVIDER: 302},  # it has a record already: sent to its application
    "profile_edit": {Role.PROVIDER: 200},
    "certificate_add": {Role.PROVIDER: 200},
    "queue": {Role.CITY: 200},
    "export": {Role.CITY: 200},
    "detail": {Role.CITY: 200},
    "transition": {Role.CITY: 302},
    "lead": {Role.CITY: 302},
    "certificate_queue": {Role.CITY: 200},
    "certificate_review": {Role.CITY: 302},
    "document": {Role.CITY: 200, Role.PROVIDER: 200},
    "document_upload": {Role.PROVIDER: 302},
    "document_withdraw": {Role.PROVIDER: 302},
    "resubmit": {Role.PROVIDER: 302},  # refused with a message: it is not rejected
    "certificate_levels": {Role.PROVIDER: 200},
    "certificate_file": {Role.CITY: 200, Role.PROVIDER: 200},
}


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_permission_matrix(client, world, subject, action):
    method, url, data = ACTIONS[action]
    if subject != "anonymous":
        client.force_login(world["users"][subject])
    payload = data() if callable(data) else data
    response = getattr(client, method)(url(world), payload or {})
    default = LOGIN if subject == "anonymous" else 404
    expected = MATRIX[action].get(subject, default)
    if expected == LOGIN:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == expected, (action, subject)
    # A refused write changed nothing.
    if action == "transition" and expected != 302:
        world["provider"].refresh_from_db()
        assert world["provider"].vetting_state == S.SUBMITTED
    if action == "certificate_review" and expected != 302:
        world["cert"].refresh_from_db()
        assert world["cert"].status == Certificate.Status.PENDING
    if action == "document_upload":
        assert ProviderDocument.objects.count() == (2 if expected == 302 else 1)
    if action == "document_withdraw":
        world["document"].refresh_from_db()
        assert (world["document"].withdrawn_at is not None) == (expected == 302)
    if action == "resubmit":
        world["provider"].refresh_from_db()
        assert world["provider"].vetting_state == S.SUBMITTED
    if action == "lead" and expected != 302:
        world["approved"].organisation.refresh_from_db()
        assert not world["approved"].organisation.is_lead_provider


def test_a_provider_cannot_open_another_providers_vetting_page_or_files(client, world):
    client.force_login(provider_user(world["approved"], is_org_admin=True))
    assert client.get(f"/providers/vetting/{world['provider'].pk}/").status_code == 404
    assert client.get(f"/providers/documents/{world['document'].pk}/download/").status_code == 404
    assert client.get(f"/providers/certificates/{world['cert'].pk}/file/").status_code == 404


# -- registration and apply -------------------------------------------------------------------


def _register_form(**overrides):
    clusters = list(Cluster.objects.values_list("pk", flat=True)[:2])
    data = {
        "uscc": make_uscc(_rng),
        "name": "东莞市表单云科技有限公司",
        "summary": "设备联网与能耗管理",
        "contact_name": "王经理",
        "contact_phone": "13900000000",
        "website": "yun.example.com",
        "all_towns": "on",
        "clusters_served": clusters,
        "email": "w@example.test",
        "username": "formprov",
        "password": "a-long-pass-phrase-9",
    }
    data.update(overrides)
    return data


def test_the_public_registration_form_signs_the_provider_in_and_shows_its_application(client):
    response = client.post("/providers/register/", _register_form(), follow=True)
    assert response.redirect_chain[-1][0] == "/providers/application/"
    record = Provider.objects.get(name="东莞市表单云科技有限公司")
    assert record.towns_served.count() == Town.objects.count()  # 服务全市所有镇街
    assert record.website == "https://yun.example.com"
    page = response.content.decode()
    assert "已提交" in page and "我的入库申请" in page


def test_registration_errors_are_shown_by_field_and_nothing_is_created(client):
    data = _register_form(uscc="123", all_towns="", clusters_served=[])
    response = client.post("/providers/register/", data)
    assert response.status_code == 200
    page = response.content.decode()
    for field in ("uscc", "towns_served", "clusters_served"):
        assert f'data-testid="error-{field}"' in page
    assert not Provider.objects.exists() and not User.objects.filter(username="formprov").exists()


def test_a_provider_organisation_without_a_record_gets_the_apply_form(client):
    org = Organisation.objects.create(kind=Role.PROVIDER, name="东莞云启数字科技有限公司")
    admin = User.objects.create_user(username="provider", organisation=org, is_org_admin=True)
    client.force_login(admin)
    assert client.get("/providers/application/")["Location"] == "/providers/apply/"
    page = client.get("/providers/apply/").content.decode()
    assert 'data-testid="apply-form"' in page and "东莞云启数字科技有限公司" in page
    data = _register_form(name="东莞云启数字科技有限公司")
    for key in ("email", "username", "password"):
        data.pop(key)
    response = client.post("/providers/apply/", data)
    assert response.status_code == 302 and response["Location"] == "/providers/application/"
    assert Provider.objects.get(organisation=org).vetting_state == S.SUBMITTED


def test_a_member_who_is_not_the_admin_is_told_to_ask_the_admin(client):
    org = Organisation.objects.create(kind=Role.PROVIDER, name="甲")
    member = User.objects.create_user(username="m", organisation=org)
    client.force_login(member)
    page = client.get("/providers/apply/").content.decode()
    assert 'data-testid="apply-not-allowed"' in page and "管理员" in page
    assert client.post("/providers/apply/", _register_form()).status_code == 200
    assert not Provider.objects.exists()


def test_the_profile_form_changes_towns_and_bumps_the_catalogue(client, world):
    record = world["provider"]
    client.force_login(world["users"][Role.PROVIDER])
    humen = Town.objects.get(name_zh="虎门")
    data = {
        "name": record.name,
        "summary": "新简介",
        "contact_name": "赵",
        "contact_phone": "13800000001",
        "towns_served": [humen.pk],
        "clusters_served": list(Cluster.objects.values_list("pk", flat=True)[:1]),
    }
    version = catalogue_version()
    assert client.post("/providers/profile/edit/", data).status_code == 302
    assert list(record.towns_served.all()) == [humen]
    assert catalogue_version() == version + 1


# -- the city's pages -------------------------------------------------------------------------


def test_the_queue_counts_each_state_filters_and_searches(client, world):
    for state in (S.SUBMITTED, S.UNDER_REVIEW, S.UNDER_REVIEW, S.REJECTED):
        provider(state=state)
    client.force_login(world["users"][Role.CITY])
    response = client.get("/providers/vetting/")
    counts = {t["state"]: t["n"] for t in response.context["tabs"]}
    assert counts[""] == 6 and counts[S.SUBMITTED] == 2 and counts[S.UNDER_REVIEW] == 2
    assert counts[S.APPROVED] == 1 and counts[S.REJECTED] == 1 and counts[S.REVOKED] == 0
    shown = client.get("/providers/vetting/?state=under_review").context["page"].object_list
    assert {p.vetting_state for p in shown} == {S.UNDER_REVIEW} and len(shown) == 2
    found = client.get("/providers/vetting/?q=受审云").context["page"].object_list
    assert [p.pk for p in found] == [world["provider"].pk]
    by_code = client.get(f"/providers/vetting/?q={world['provider'].uscc.lower()}")
    assert [p.pk for p in by_code.context["page"].object_list] == [world["provider"].pk]
    assert found[0].pending_certificates == 1 and found[0].document_count == 1


def test_the_queue_answers_htmx_with_the_table_only(client, world):
    client.force_login(world["users"][Role.CITY])
    response = client.get("/providers/vetting/?state=submitted", HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert 'data-testid="vetting-table"' in page and "<html" not in page


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_queue_makes_the_same_number_of_queries_for_5_or_45_providers(client, world):
    client.force_login(world["users"][Role.CITY])
    for _ in range(3):
        provider(state=S.SUBMITTED, lead=True)
    few = _queries(client, "/providers/vetting/")
    for _ in range(40):
        provider(state=S.SUBMITTED, lead=True)
    assert _queries(client, "/providers/vetting/") == few


def test_the_export_holds_the_filtered_rows(client, world):
    provider(state=S.REJECTED, vetting_reason="材料不全")
    client.force_login(world["users"][Role.CITY])
    response = client.get("/providers/vetting/export.xlsx?state=rejected")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("服务商名称", "统一社会信用代码", "入库状态")
    assert len(rows) == 2 and rows[1][2] == "未通过" and rows[1][6] == "材料不全"


def test_the_detail_page_offers_exactly_the_tables_actions(client, world):
    client.force_login(world["users"][Role.CITY])
    page = client.get(f"/providers/vetting/{world['provider'].pk}/").content.decode()
    assert 'data-testid="action-start_review"' in page
    assert 'data-testid="action-approve"' not in page
    assert 'data-testid="certificate-approve-' in page  # the pending certificate


def test_a_missing_reason_is_shown_on_the_page_and_changes_nothing(client, world):
    record = provider(state=S.UNDER_REVIEW)
    client.force_login(world["users"][Role.CITY])
    response = client.post(
        f"/providers/vetting/{record.pk}/transition/",
        {"action": "reject", "reason": "", "expected_state": "under_review"},
    )
    # The detail page again, its reason field marked, with the message: not a bare 400.
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="error-reason"' in page and "请填写理由" in page
    assert 'is-invalid" data-testid="transition-reason"' in page
    assert 'data-testid="transition-form"' in page
    record.refresh_from_db()
    assert record.vetting_state == S.UNDER_REVIEW and not record.vetting_events.exists()


def test_a_double_post_of_the_approve_button_approves_once(client, world):
    record = provider(state=S.UNDER_REVIEW)
    client.force_login(world["users"][Role.CITY])
    url = f"/providers/vetting/{record.pk}/transition/"
    data = {"action": "approve", "expected_state": "under_review"}
    assert client.post(url, data).status_code == 302
    second = client.post(url, data)
    assert second.status_code == 200 and "已变为" in second.content.decode()
    assert VettingEvent.objects.filter(provider=record, action="approve").count() == 1


def test_the_provider_resubmits_from_its_page_after_the_wait(client, settings):
    settings.PROVIDER_REAPPLY_WAIT_DAYS = 0
    record = provider(state=S.REJECTED)
    client.force_login(provider_user(record, is_org_admin=True))
    page = client.get("/providers/application/").content.decode()
    assert 'data-testid="resubmit"' in page and "新加坡 PSG" in page
    assert "市工信局可以调整" not in page  # no screen offers that
    assert client.post("/providers/application/resubmit/").status_code == 302
    record.refresh_from_db()
    assert record.vetting_state == S.SUBMITTED


def test_the_resubmit_button_is_hidden_during_the_wait(client):
    record = provider(state=S.REJECTED)
    client.force_login(provider_user(record, is_org_admin=True))
    page = client.get("/providers/application/").content.decode()
    assert 'data-testid="resubmit"' not in page and 'data-testid="reapply-note"' in page
    client.post("/providers/application/resubmit/")
    record.refresh_from_db()
    assert record.vetting_state == S.REJECTED


def test_the_certificate_form_offers_the_levels_of_the_chosen_type(client, world):
    client.force_login(world["users"][Role.PROVIDER])
    dengbao = CertificateType.objects.get(key="dengbao")
    levels = client.get(f"/providers/certificates/levels/?type={dengbao.pk}").content.decode()
    assert "二级" in levels and "三级" in levels and "required" in levels
    iso = CertificateType.objects.get(key="iso27001")
    assert "无级别" in client.get(f"/providers/certificates/levels/?type={iso.pk}").content.decode()


def test_the_certificate_form_records_a_certificate_with_its_file(client, world):
    client.force_login(world["users"][Role.PROVIDER])
    today = timezone.localdate()
    data = {
        "type": CertificateType.objects.get(key="dengbao").pk,
        "level": "二级",
        "number": "44190099",
        "issued_on": (today - dt.timedelta(days=5)).isoformat(),
        "expires_on": (today + dt.timedelta(days=365)).isoformat(),
        "file": SimpleUploadedFile("dengbao.pdf", PDF),
    }
    assert client.post("/providers/certificates/add/", data).status_code == 302
    cert = Certificate.objects.get(number="44190099")
    assert cert.level == "二级" and cert.status == Certificate.Status.PENDING
    data["level"], data["number"] = "", "X"
    data["file"] = SimpleUploadedFile("dengbao.pdf", PDF)
    response = client.post("/providers/certificates/add/", data)
    assert response.status_code == 200 and 'data-testid="error-level"' in response.content.decode()


def test_a_bad_upload_is_reported_on_the_application_page(client, world):
    client.force_login(world["users"][Role.PROVIDER])
    response = client.post(
        "/providers/documents/upload/",
        {"kind": "licence", "file": SimpleUploadedFile("x.png", PDF)},
        follow=True,
    )
    assert "内容不是 PNG" in response.content.decode()
    assert ProviderDocument.objects.count() == 1  # only the world's


def test_a_returned_application_shows_what_to_add_and_can_be_sent_back_at_once(client):
    record = provider(state=S.UNDER_REVIEW)
    city = user_for(Role.CITY)
    vetting.provider_transition(provider=record, action="return", by=city, reason="补充等保备案")
    client.force_login(provider_user(record, is_org_admin=True))
    page = client.get("/providers/application/").content.decode()
    assert "需要补充的材料" in page and "补充等保备案" in page
    assert 'data-testid="resubmit"' in page and 'data-testid="reapply-note"' not in page
    assert 'data-testid="profile-edit"' in page
    response = client.post(
        "/providers/application/resubmit/", {"expected_state": "returned"}, follow=True
    )
    assert "已重新提交入库申请" in response.content.decode()
    record.refresh_from_db()
    assert record.vetting_state == S.SUBMITTED


def test_the_city_returns_an_application_from_the_detail_page(client, world):
    record = provider(state=S.UNDER_REVIEW)
    client.force_login(world["users"][Role.CITY])
    page = client.get(f"/providers/vetting/{record.pk}/").content.decode()
    assert 'data-testid="action-return"' in page
    response = client.post(
        f"/providers/vetting/{record.pk}/transition/",
        {"action": "return", "reason": "缺营业执照", "expected_state": "under_review"},
        follow=True,
    )
    page = response.content.decode()
    assert "已退回补充材料" in page and "已执行" not in page
    record.refresh_from_db()
    assert record.vetting_state == S.RETURNED


def test_the_detail_page_warns_before_approving_a_provider_without_its_mandatory_certificate(
    client, world
):
    record = provider(state=S.UNDER_REVIEW)
    client.force_login(world["users"][Role.CITY])
    page = client.get(f"/providers/vetting/{record.pk}/").content.decode()
    assert 'data-testid="approval-warning"' in page and 'data-testid="lapses"' in page
    valid_certificate(record)
    page = client.get(f"/providers/vetting/{record.pk}/").content.decode()
    assert 'data-testid="approval-warning"' not in page


def test_the_detail_page_shows_registration_warnings(client, world):
    record = provider(state=S.SUBMITTED, name=world["provider"].name)  # a namesake
    client.force_login(world["users"][Role.CITY])
    page = client.get(f"/providers/vetting/{record.pk}/").content.decode()
    assert 'data-testid="registration-warnings"' in page and "另有服务商使用相同名称" in page


def test_the_history_shows_a_rename_with_before_and_after(client, world):
    record, admin = world["provider"], world["users"][Role.PROVIDER]
    vetting.provider_profile_update(
        provider=record, by=admin, data={"name": "东莞市更名云科技有限公司"}
    )
    client.force_login(world["users"][Role.CITY])
    page = client.get(f"/providers/vetting/{record.pk}/").content.decode()
    assert 'data-testid="history-change"' in page
    assert "东莞市受审云科技有限公司" in page and "东莞市更名云科技有限公司" in page


def test_the_registration_form_marks_towns_required_and_shows_the_password_rules(client):
    page = client.get("/providers/register/").content.decode()
    assert '<legend class="form-label required">服务镇街</legend>' in page
    assert "8" in page and "密码" in page and "<ul>" in page  # Django's password help list
    response = client.post("/providers/register/", _register_form(contact_phone="12345"))
    page = response.content.decode()
    assert 'data-testid="error-contact_phone"' in page and "11 位手机号" in page
    assert not Provider.objects.filter(name="东莞市表单云科技有限公司").exists()
