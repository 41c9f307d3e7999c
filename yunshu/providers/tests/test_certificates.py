"""Documents and certificates: type and size checks, review, and what approval changes."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from yunshu.accounts.models import Role
from yunshu.core.models import AuditEntry, Notification
from yunshu.factories import product, provider, provider_user, user_for
from yunshu.providers import trust, vetting
from yunshu.providers.models import (
    Certificate,
    CertificateType,
    Product,
    ProviderDocument,
    VettingState,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def upload(name="licence.pdf", content=PDF):
    return SimpleUploadedFile(name, content)


def dengbao():
    return CertificateType.objects.get(key="dengbao")


def iso27001():
    return CertificateType.objects.get(key="iso27001")


@pytest.fixture
def city():
    return user_for(Role.CITY)


@pytest.fixture
def record():
    return provider(state=VettingState.APPROVED)


@pytest.fixture
def admin(record):
    return provider_user(record, is_org_admin=True)


def _add(record, by, **kw):
    today = timezone.localdate()
    fields = {
        "type": dengbao(),
        "level": "三级",
        "number": f"44190013{today:%m%d}-0001",
        "issuer": "东莞市公安局",
        "issued_on": today - dt.timedelta(days=300),
        "expires_on": today + dt.timedelta(days=400),
        "upload": upload("dengbao.pdf"),
    }
    fields.update(kw)
    return vetting.certificate_add(provider=record, by=by, **fields)


# -- documents --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,content", [("licence.pdf", PDF), ("case.PNG", PNG), ("photo.jpg", JPG), ("a.jpeg", JPG)]
)
def test_pdf_jpeg_and_png_are_stored_with_their_sha256_and_audited(record, admin, name, content):
    doc = vetting.document_upload(
        provider=record, kind="licence", upload=upload(name, content), by=admin
    )
    assert doc.original_name == name and doc.size == len(content)
    assert doc.sha256 == hashlib.sha256(content).hexdigest()
    with doc.file.open("rb") as handle:
        assert handle.read() == content
    entry = AuditEntry.objects.get(action="provider.document_upload")
    assert entry.after["sha256"] == doc.sha256 and entry.actor_id == admin.pk


@pytest.mark.parametrize(
    "name,content,words",
    [
        ("licence.docx", PDF, "只接受"),
        ("licence", PDF, "只接受"),
        ("licence.exe.pdf", b"MZ\x90\x00" + b"\x00" * 40, "内容不是 PDF"),
        ("photo.png", JPG, "内容不是 PNG"),
        ("scan.pdf", PNG, "内容不是 PDF"),
        ("empty.pdf", b"", "是空的"),
    ],
)
def test_a_file_whose_extension_or_content_is_wrong_is_refused(record, admin, name, content, words):
    with pytest.raises(ValidationError) as exc:
        vetting.document_upload(
            provider=record, kind="licence", upload=upload(name, content), by=admin
        )
    assert words in exc.value.message_dict["file"][0]
    assert not ProviderDocument.objects.exists()


def test_a_file_over_the_size_limit_is_refused(record, admin, settings):
    settings.PROVIDER_DOCUMENT_MAX_BYTES = 1024
    big = PDF + b"0" * 2048
    with pytest.raises(ValidationError) as exc:
        vetting.document_upload(
            provider=record, kind="case", upload=upload("big.pdf", big), by=admin
        )
    assert "超过上限" in exc.value.message_dict["file"][0]
    assert not ProviderDocument.objects.exists()


def test_the_default_limit_is_ten_megabytes():
    assert vetting.document_max_bytes() == 10 * 1024 * 1024


def test_the_same_file_sent_twice_is_kept_once(record, admin):
    first = vetting.document_upload(provider=record, kind="licence", upload=upload(), by=admin)
    again = vetting.document_upload(provider=record, kind="licence", upload=upload(), by=admin)
    assert first.pk == again.pk and ProviderDocument.objects.count() == 1


def test_an_unknown_kind_is_refused(record, admin):
    with pytest.raises(ValidationError) as exc:
        vetting.document_upload(provider=record, kind="selfie", upload=upload(), by=admin)
    assert "kind" in exc.value.message_dict


def test_only_the_providers_own_people_upload(record, city):
    for user in (city, provider_user(provider()), user_for(Role.ENTERPRISE)):
        with pytest.raises(Http404):
            vetting.document_upload(provider=record, kind="licence", upload=upload(), by=user)
    # Any member of the provider may upload, not only its admin.
    vetting.document_upload(
        provider=record, kind="licence", upload=upload(), by=provider_user(record)
    )


def test_a_document_under_review_tells_the_city(city):
    waiting = provider(state=VettingState.UNDER_REVIEW)
    vetting.document_upload(
        provider=waiting, kind="licence", upload=upload(), by=provider_user(waiting)
    )
    assert Notification.objects.filter(recipient=city, subject__contains="licence.pdf").exists()


@pytest.mark.parametrize(
    "who,status",
    [
        ("owner", 200),
        ("colleague", 200),
        ("city", 200),
        ("other_provider", 404),
        ("enterprise", 404),
        ("town", 404),
        ("expert", 404),
        ("assessor", 404),
        ("college", 404),
    ],
)
def test_a_document_downloads_for_its_provider_and_the_city_only(
    client, record, admin, who, status
):
    doc = vetting.document_upload(provider=record, kind="licence", upload=upload(), by=admin)
    users = {
        "owner": admin,
        "colleague": provider_user(record),
        "other_provider": provider_user(provider()),
    }
    user = users.get(who) or user_for(who)
    client.force_login(user)
    response = client.get(f"/providers/documents/{doc.pk}/download/")
    assert response.status_code == status
    if status == 200:
        assert b"".join(response.streaming_content) == PDF
        assert "licence.pdf" in response["Content-Disposition"]


def test_anonymous_downloads_are_sent_to_sign_in(client, record, admin):
    doc = vetting.document_upload(provider=record, kind="licence", upload=upload(), by=admin)
    response = client.get(f"/providers/documents/{doc.pk}/download/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_wrong_upload_is_withdrawn_kept_for_the_city_and_can_be_sent_again(record, admin):
    doc = vetting.document_upload(provider=record, kind="licence", upload=upload(), by=admin)

    vetting.document_withdraw(document=doc, by=provider_user(record), reason="传错了文件")

    doc.refresh_from_db()
    assert doc.withdrawn_at is not None and doc.withdraw_reason == "传错了文件"
    assert doc.file.storage.exists(doc.file.name)  # the city may have read it: nothing deleted
    entry = AuditEntry.objects.get(action="provider.document_withdraw")
    assert entry.before["withdrawn"] is False and entry.after["reason"] == "传错了文件"
    # The same file again is a new upload, not the withdrawn one handed back.
    again = vetting.document_upload(provider=record, kind="licence", upload=upload(), by=admin)
    assert again.pk != doc.pk and again.withdrawn_at is None


def test_a_second_withdrawal_is_told_it_was_done_and_changes_nothing(record, admin):
    doc = vetting.document_upload(provider=record, kind="licence", upload=upload(), by=admin)
    vetting.document_withdraw(document=doc, by=admin)
    with pytest.raises(ValidationError) as exc:
        vetting.document_withdraw(document=doc, by=admin, reason="again")
    assert "已撤回" in exc.value.messages[0]
    assert AuditEntry.objects.filter(action="provider.document_withdraw").count() == 1


def test_an_approved_providers_withdrawal_tells_the_city_too(record, admin, city):
    doc = vetting.document_upload(provider=record, kind="licence", upload=upload(), by=admin)
    vetting.document_withdraw(document=doc, by=admin, reason="执照已换新")
    assert Notification.objects.filter(
        recipient=city, subject__contains="撤回", body__contains="执照已换新"
    ).exists()


def test_only_the_providers_own_people_withdraw_and_a_long_reason_is_refused(record, admin, city):
    doc = vetting.document_upload(provider=record, kind="licence", upload=upload(), by=admin)
    for user in (city, provider_user(provider()), user_for(Role.ENTERPRISE)):
        with pytest.raises(Http404):
            vetting.document_withdraw(document=doc, by=user)
    with pytest.raises(ValidationError):
        vetting.document_withdraw(document=doc, by=admin, reason="长" * 201)
    doc.refresh_from_db()
    assert doc.withdrawn_at is None


def test_a_withdrawal_under_review_tells_the_city_and_shows_struck_through(client, city):
    waiting = provider(state=VettingState.UNDER_REVIEW)
    owner = provider_user(waiting)
    doc = vetting.document_upload(provider=waiting, kind="licence", upload=upload(), by=owner)
    client.force_login(owner)
    page = client.get("/providers/application/").content.decode()
    assert 'data-testid="withdraw-form"' in page

    response = client.post(f"/providers/documents/{doc.pk}/withdraw/", {"reason": "旧执照"})

    assert response.status_code == 302
    assert Notification.objects.filter(recipient=city, subject__contains="撤回").exists()
    page = client.get("/providers/application/").content.decode()
    assert 'data-withdrawn="1"' in page and 'data-testid="withdraw-form"' not in page
    again = client.post(
        f"/providers/documents/{doc.pk}/withdraw/", {"reason": "再点一次"}, follow=True
    )
    assert "该材料已撤回" in again.content.decode() and "再点一次" not in again.content.decode()
    assert AuditEntry.objects.filter(action="provider.document_withdraw").count() == 1
    client.force_login(city)
    detail = client.get(f"/providers/vetting/{waiting.pk}/").content.decode()
    assert 'data-withdrawn="1"' in detail and "旧执照" in detail


# -- certificates -----------------------------------------------------------------------------


def test_a_certificate_is_recorded_pending_with_its_file_and_the_city_is_told(record, admin, city):
    cert = _add(record, admin)
    assert cert.status == Certificate.Status.PENDING and cert.level == "三级"
    assert cert.sha256 == hashlib.sha256(PDF).hexdigest() and cert.original_name == "dengbao.pdf"
    assert AuditEntry.objects.filter(action="certificate.add", object_id=str(cert.pk)).exists()
    assert Notification.objects.filter(recipient=city, subject__contains="待审核证书").exists()


def test_a_type_with_levels_needs_one_of_its_levels(record, admin):
    with pytest.raises(ValidationError) as exc:
        _add(record, admin, level="")
    assert "level" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        _add(record, admin, level="五级")
    assert "二级" in exc.value.message_dict["level"][0]
    assert _add(record, admin, level="二级").level == "二级"


def test_a_type_without_levels_takes_none(record, admin):
    with pytest.raises(ValidationError) as exc:
        _add(record, admin, type=iso27001(), level="三级", number="ISMS-1")
    assert "level" in exc.value.message_dict
    assert _add(record, admin, type=iso27001(), level="", number="ISMS-1").level == ""


def test_the_city_can_add_a_type_with_its_own_levels(record, admin):
    custom = CertificateType.objects.create(
        key="dsmm", name_zh="数据安全能力成熟度", name_en="DSMM", has_level=True, levels=["3级"]
    )
    assert _add(record, admin, type=custom, level="3级", number="DSMM-9").type == custom


@pytest.mark.parametrize(
    "dates,field",
    [
        ({"issued_on": dt.date(2030, 1, 1)}, "issued_on"),
        ({"expires_on": "issued"}, "expires_on"),
        ({"expires_on": "yesterday"}, "expires_on"),
    ],
)
def test_impossible_dates_are_refused_by_field(record, admin, dates, field):
    today = timezone.localdate()
    issued = today - dt.timedelta(days=300)
    values = {
        "issued_on": dates.get("issued_on", issued),
        "expires_on": {
            "issued": issued,
            "yesterday": today - dt.timedelta(days=1),
        }.get(dates.get("expires_on"), today + dt.timedelta(days=30)),
    }
    with pytest.raises(ValidationError) as exc:
        _add(record, admin, **values)
    assert field in exc.value.message_dict
    assert not Certificate.objects.exists()


def test_the_same_certificate_sent_twice_is_kept_once(record, admin):
    first = _add(record, admin)
    assert _add(record, admin).pk == first.pk
    assert Certificate.objects.count() == 1


def test_a_certificate_file_is_checked_like_a_document(record, admin):
    with pytest.raises(ValidationError) as exc:
        _add(record, admin, upload=upload("cert.png", PDF))
    assert "file" in exc.value.message_dict


def test_approval_is_for_the_city_once_and_tells_the_provider(record, admin, city):
    cert = _add(record, admin)
    for user in (admin, user_for(Role.TOWN), user_for(Role.ENTERPRISE)):
        with pytest.raises(Http404):
            vetting.certificate_review(certificate=cert, approve=True, by=user)
    vetting.certificate_review(certificate=cert, approve=True, by=city)
    cert.refresh_from_db()
    assert cert.status == Certificate.Status.APPROVED and cert.reviewed_by == city
    with pytest.raises(ValidationError):  # a double click
        vetting.certificate_review(certificate=cert, approve=True, by=city)
    assert AuditEntry.objects.filter(action="certificate.approve").count() == 1
    assert Notification.objects.filter(recipient=admin, subject__contains="证书已认可").exists()


def test_rejection_needs_a_reason_which_the_provider_reads(record, admin, city):
    cert = _add(record, admin)
    with pytest.raises(ValidationError) as exc:
        vetting.certificate_review(certificate=cert, approve=False, by=city)
    assert "reason" in exc.value.message_dict
    vetting.certificate_review(certificate=cert, approve=False, by=city, reason="扫描件不清晰")
    cert.refresh_from_db()
    assert cert.status == Certificate.Status.REJECTED and cert.review_reason == "扫描件不清晰"
    note = Notification.objects.get(recipient=admin, subject__contains="未获认可")
    assert "扫描件不清晰" in note.body
    # A rejected certificate may be sent again under the same number.
    assert _add(record, admin).pk != cert.pk


def test_an_expired_certificate_cannot_be_approved(record, admin, city):
    cert = _add(record, admin, expires_on=timezone.localdate() + dt.timedelta(days=1))
    Certificate.objects.filter(pk=cert.pk).update(expires_on=timezone.localdate() - dt.timedelta(1))
    with pytest.raises(ValidationError):
        vetting.certificate_review(certificate=cert, approve=True, by=city)


def test_approval_refreshes_the_trust_rating(record, admin, city, monkeypatch):
    seen = []
    real = trust.provider_trust_refresh

    def spy(*, provider):
        seen.append(provider.pk)
        return real(provider=provider)

    monkeypatch.setattr(trust, "provider_trust_refresh", spy)
    cert = _add(record, admin)
    vetting.certificate_review(certificate=cert, approve=False, by=city, reason="不清晰")
    assert seen == []
    vetting.certificate_review(certificate=_add(record, admin), approve=True, by=city)
    assert seen == [record.pk]


def test_approving_a_valid_mandatory_certificate_restores_hidden_products(record, admin, city):
    item = product(record)
    Product.objects.filter(pk=item.pk).update(
        visibility=Product.Visibility.HIDDEN_CERTIFICATE, hidden_at=timezone.now()
    )
    Certificate.objects.create(
        provider=record,
        type=dengbao(),
        level="二级",
        number="OLD",
        issued_on=dt.date(2020, 1, 1),
        expires_on=dt.date(2021, 1, 1),
        status=Certificate.Status.APPROVED,
    )
    vetting.certificate_review(certificate=_add(record, admin), approve=True, by=city)
    item.refresh_from_db()
    assert item.visibility == Product.Visibility.VISIBLE and item.hidden_at is None
    assert Notification.objects.filter(recipient=admin, subject__contains="恢复").exists()


@pytest.mark.parametrize(
    "who,status", [("owner", 200), ("city", 200), ("other", 404), ("enterprise", 404)]
)
def test_a_certificate_file_opens_for_its_provider_and_the_city_only(
    client, record, admin, who, status
):
    cert = _add(record, admin)
    user = {"owner": admin, "other": provider_user(provider())}.get(who) or user_for(who)
    client.force_login(user)
    assert client.get(f"/providers/certificates/{cert.pk}/file/").status_code == status


# -- renewals and duplicates ------------------------------------------------------------------


def test_a_renewed_filing_with_the_same_number_and_a_new_expiry_is_recorded(record, admin, city):
    today = timezone.localdate()
    old = _add(record, admin, expires_on=today + dt.timedelta(days=20))
    vetting.certificate_review(certificate=old, approve=True, by=city)
    renewed = _add(
        record,
        admin,
        issued_on=today - dt.timedelta(days=1),
        expires_on=today + dt.timedelta(days=3 * 365),
        upload=upload("renewed.pdf", PDF + b"renewed"),
    )
    assert renewed.pk != old.pk and renewed.number == old.number
    assert renewed.status == Certificate.Status.PENDING


def test_the_same_type_number_and_expiry_already_approved_is_a_duplicate(record, admin, city):
    first = _add(record, admin)
    vetting.certificate_review(certificate=first, approve=True, by=city)
    with pytest.raises(ValidationError) as exc:
        _add(record, admin)
    assert "该证书已登记" in exc.value.message_dict["number"][0]
    assert Certificate.objects.count() == 1


def test_every_problem_of_a_certificate_is_reported_at_once(record, admin):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as exc:
        _add(
            record,
            admin,
            level="",
            issued_on=today + dt.timedelta(days=3),
            expires_on=today + dt.timedelta(days=1),
            upload=upload("scan.png", PDF),
        )
    assert {"level", "issued_on", "expires_on", "file"} <= set(exc.value.message_dict)
    assert not Certificate.objects.exists()


def test_the_certificate_form_shows_level_date_and_file_errors_together(client, record, admin):
    client.force_login(admin)
    today = timezone.localdate()
    response = client.post(
        "/providers/certificates/add/",
        {
            "type": dengbao().pk,
            "level": "",
            "number": "44190013-0001",
            "issued_on": today.isoformat(),
            "expires_on": (today - dt.timedelta(days=10)).isoformat(),
            "file": upload("scan.png", PDF),
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    for field in ("level", "expires_on", "file"):
        assert f'data-testid="error-{field}"' in page, field
    assert not Certificate.objects.exists()
