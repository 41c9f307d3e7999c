"""The certificate job, run by `yunshu tick` with the clock moved by time_machine.

Warning at 30 days (not 31), hidden the day after expiry (not on the day), restored when a
new certificate is approved or the tick finds one; every tick is idempotent; hiding is a
visibility state and never a vetting change.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from yunshu.accounts.models import Role
from yunshu.core import schedule
from yunshu.core.models import AuditEntry, Notification
from yunshu.factories import product, provider, provider_user, user_for
from yunshu.providers import trust, vetting
from yunshu.providers.models import Certificate, CertificateType, Product, VettingState
from yunshu.providers.selectors import catalogue_products

pytestmark = pytest.mark.django_db

EXPIRES = dt.date(2026, 6, 30)
TZ = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai, the project's TIME_ZONE


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=TZ)


def days_before(n: int) -> dt.date:
    return EXPIRES - dt.timedelta(days=n)


def tick(day: dt.date) -> dict[str, int]:
    """One run of `yunshu tick` on that day (the real command), its certificate counts."""
    out = io.StringIO()
    with time_machine.travel(at(day), tick=False):
        call_command("tick", "--json", stdout=out)
    [job] = [j for j in json.loads(out.getvalue())["jobs"] if j["name"] == "certificates"]
    assert job["ok"], job
    return job["counts"]


@pytest.fixture
def world():
    record = provider(state=VettingState.APPROVED)
    admin = provider_user(record, is_org_admin=True)
    city = user_for(Role.CITY)
    dengbao = CertificateType.objects.get(key="dengbao")
    with time_machine.travel(at(dt.date(2024, 7, 1)), tick=False):
        cert = Certificate.objects.create(
            provider=record,
            type=dengbao,
            level="三级",
            number="44190013-2024-0001",
            issued_on=dt.date(2024, 7, 1),
            expires_on=EXPIRES,
            status=Certificate.Status.APPROVED,
        )
    published = product(record)
    draft = product(record, status=Product.Status.DRAFT)
    return {
        "provider": record,
        "admin": admin,
        "city": city,
        "cert": cert,
        "published": published,
        "draft": draft,
        "dengbao": dengbao,
    }


def notes(user, words: str) -> int:
    return Notification.objects.filter(recipient=user, subject__contains=words).count()


def test_the_warning_goes_out_30_days_before_expiry_not_31_and_only_once(world):
    admin, cert = world["admin"], world["cert"]
    assert tick(days_before(31))["warned"] == 0
    assert notes(admin, "到期") == 0
    assert tick(days_before(30))["warned"] == 1
    cert.refresh_from_db()
    assert cert.expiry_warned_on == days_before(30)
    [note] = Notification.objects.filter(recipient=admin, subject__contains="到期")
    assert "2026-06-30" in note.subject and "30" in note.subject and "隐藏" in note.body
    assert not any(tick(days_before(30)).values())  # a second tick sends nothing
    assert notes(admin, "到期") == 1
    assert AuditEntry.objects.filter(action="certificate.expiry_warn").count() == 1


def test_a_missed_warning_still_goes_out_before_expiry(world):
    assert tick(days_before(3))["warned"] == 1
    assert tick(EXPIRES + dt.timedelta(days=1))["warned"] == 0  # never after expiry


def test_no_warning_when_a_later_certificate_already_replaces_it(world):
    Certificate.objects.create(
        provider=world["provider"],
        type=world["dengbao"],
        level="三级",
        number="44190013-2026-0002",
        issued_on=dt.date(2026, 5, 1),
        expires_on=dt.date(2029, 5, 1),
        status=Certificate.Status.APPROVED,
    )
    assert tick(days_before(30))["warned"] == 0


def test_products_stay_on_the_expiry_day_and_are_hidden_the_day_after(world):
    record, admin, item, draft = (
        world["provider"],
        world["admin"],
        world["published"],
        world["draft"],
    )
    assert tick(EXPIRES)["hidden_products"] == 0
    item.refresh_from_db()
    assert item.visibility == Product.Visibility.VISIBLE and item in catalogue_products()

    counts = tick(EXPIRES + dt.timedelta(days=1))
    assert counts["hidden_products"] == 1 and counts["hidden_providers"] == 1
    item.refresh_from_db()
    draft.refresh_from_db()
    assert item.visibility == Product.Visibility.HIDDEN_CERTIFICATE
    assert timezone.localdate(item.hidden_at) == EXPIRES + dt.timedelta(days=1)
    assert item.status == Product.Status.PUBLISHED  # still published: only its visibility changed
    assert draft.visibility == Product.Visibility.VISIBLE  # drafts are not shown anyway
    assert item not in catalogue_products()
    record.refresh_from_db()
    assert record.vetting_state == VettingState.APPROVED  # hiding is not a vetting change
    assert not record.vetting_events.exists()
    [note] = Notification.objects.filter(recipient=admin, subject__contains="隐藏")
    assert "2026-06-30" in note.body and "44190013-2024-0001" in note.body

    again = tick(EXPIRES + dt.timedelta(days=1))
    assert again["hidden_products"] == 0 and again["warned"] == 0
    assert notes(admin, "隐藏") == 1
    assert AuditEntry.objects.filter(action="provider.products_hidden").count() == 1


def test_a_new_certificate_approved_by_the_city_brings_the_products_back(world):
    admin, city, item = world["admin"], world["city"], world["published"]
    tick(EXPIRES + dt.timedelta(days=1))
    with time_machine.travel(at(EXPIRES + dt.timedelta(days=3)), tick=False):
        new = vetting.certificate_add(
            provider=world["provider"],
            by=admin,
            type=world["dengbao"],
            level="三级",
            number="44190013-2026-0009",
            issued_on=EXPIRES + dt.timedelta(days=2),
            expires_on=dt.date(2029, 7, 1),
        )
        item.refresh_from_db()
        assert (
            item.visibility == Product.Visibility.HIDDEN_CERTIFICATE
        )  # pending counts for nothing
        vetting.certificate_review(certificate=new, approve=True, by=city)
    item.refresh_from_db()
    assert item.visibility == Product.Visibility.VISIBLE and item.hidden_at is None
    assert item in catalogue_products()
    assert notes(admin, "恢复") == 1
    assert tick(EXPIRES + dt.timedelta(days=3))["restored_products"] == 0  # nothing left to do


def test_the_tick_restores_products_when_it_finds_a_valid_certificate(world):
    tick(EXPIRES + dt.timedelta(days=1))
    # Entered by a superuser in the admin, say: no review service ran.
    Certificate.objects.create(
        provider=world["provider"],
        type=world["dengbao"],
        level="二级",
        number="ADMIN-1",
        issued_on=dt.date(2026, 7, 1),
        expires_on=dt.date(2028, 7, 1),
        status=Certificate.Status.APPROVED,
    )
    counts = tick(EXPIRES + dt.timedelta(days=5))
    assert counts["restored_products"] == 1 and counts["restored_providers"] == 1
    world["published"].refresh_from_db()
    assert world["published"].visibility == Product.Visibility.VISIBLE


def test_a_product_published_while_the_certificate_is_lapsed_is_hidden_at_once(world):
    from yunshu.providers import catalogue

    tick(EXPIRES + dt.timedelta(days=1))
    with time_machine.travel(at(EXPIRES + dt.timedelta(days=2)), tick=False):
        draft = world["draft"]
        catalogue.product_publish(product=draft, by=world["admin"])
        draft.refresh_from_db()
        assert draft.status == Product.Status.PUBLISHED
        assert draft.visibility == Product.Visibility.HIDDEN_CERTIFICATE  # no gap until a tick
        assert draft not in catalogue_products()
    assert tick(EXPIRES + dt.timedelta(days=2))["hidden_products"] == 0  # nothing left to do


def test_a_provider_that_never_held_its_mandatory_certificate_is_hidden_by_the_tick():
    record = provider(state=VettingState.APPROVED)
    admin = provider_user(record, is_org_admin=True)
    item = product(record)
    counts = tick(EXPIRES)
    assert counts["hidden_products"] == 1 and counts["hidden_providers"] == 1
    item.refresh_from_db()
    assert item.visibility == Product.Visibility.HIDDEN_CERTIFICATE
    assert record.vetting_events.count() == 0  # a visibility state, not vetting
    [note] = Notification.objects.filter(recipient=admin, subject__contains="缺少有效的必备证书")
    assert "没有经市工信局认可的有效证书" in note.body
    entry = AuditEntry.objects.get(action="provider.products_hidden")
    assert entry.after["missing"] == ["dengbao"] and entry.after["certificates"] == []
    assert tick(EXPIRES)["hidden_products"] == 0  # once


def test_the_provider_reads_that_its_certificate_is_missing_not_expired(client):
    record = provider(state=VettingState.APPROVED)
    admin = provider_user(record, is_org_admin=True)
    product(record)
    tick(EXPIRES)
    client.force_login(admin)
    with time_machine.travel(at(EXPIRES), tick=False):
        page = client.get("/providers/application/").content.decode()
    assert "1 个产品因缺少有效的必备证书未在目录中展示" in page
    assert (
        "尚无经市工信局认可的有效证书" in page
        and "到期" not in page.split("visibility-banner")[1][:400]
    )


def test_an_optional_certificate_expiring_hides_nothing(world):
    Certificate.objects.filter(pk=world["cert"].pk).update(expires_on=dt.date(2030, 1, 1))
    Certificate.objects.create(
        provider=world["provider"],
        type=CertificateType.objects.get(key="iso27001"),
        number="ISMS-1",
        issued_on=dt.date(2023, 7, 1),
        expires_on=EXPIRES,
        status=Certificate.Status.APPROVED,
    )
    assert tick(EXPIRES + dt.timedelta(days=1))["hidden_products"] == 0


def test_another_valid_certificate_of_the_same_type_keeps_the_products_shown(world):
    Certificate.objects.create(
        provider=world["provider"],
        type=world["dengbao"],
        level="二级",
        number="SECOND",
        issued_on=dt.date(2025, 1, 1),
        expires_on=dt.date(2027, 1, 1),
        status=Certificate.Status.APPROVED,
    )
    assert tick(EXPIRES + dt.timedelta(days=1))["hidden_products"] == 0


def test_a_pending_or_rejected_certificate_does_not_count_as_valid(world):
    for status in (Certificate.Status.PENDING, Certificate.Status.REJECTED):
        Certificate.objects.create(
            provider=world["provider"],
            type=world["dengbao"],
            level="二级",
            number=f"NOT-{status}",
            issued_on=dt.date(2025, 1, 1),
            expires_on=dt.date(2027, 1, 1),
            status=status,
        )
    assert tick(EXPIRES + dt.timedelta(days=1))["hidden_products"] == 1


def test_trust_is_refreshed_once_a_day_for_providers_whose_certificates_expired(world, monkeypatch):
    seen = []
    real = trust.provider_trust_refresh

    def spy(*, provider):
        seen.append(provider.pk)
        return real(provider=provider)

    monkeypatch.setattr(trust, "provider_trust_refresh", spy)
    tick(EXPIRES)
    assert seen == []
    assert tick(EXPIRES + dt.timedelta(days=1))["trust_refreshed"] == 1
    assert tick(EXPIRES + dt.timedelta(days=1))["trust_refreshed"] == 0
    assert tick(EXPIRES + dt.timedelta(days=2))["trust_refreshed"] == 0  # already handed over
    assert seen == [world["provider"].pk]


def test_the_provider_sees_why_its_products_are_hidden(client, world):
    tick(EXPIRES + dt.timedelta(days=1))
    client.force_login(world["admin"])
    with time_machine.travel(at(EXPIRES + dt.timedelta(days=2)), tick=False):
        page = client.get("/providers/application/").content.decode()
    assert 'data-testid="visibility-banner"' in page
    assert "44190013-2024-0001" in page and "2026-06-30" in page
    assert "1 个产品因必备证书过期已从目录中隐藏" in page


def test_the_provider_is_reminded_on_its_page_before_expiry(client, world):
    client.force_login(world["admin"])
    with time_machine.travel(at(days_before(10)), tick=False):
        page = client.get("/providers/application/").content.decode()
    assert 'data-testid="expiry-banner"' in page and "2026-06-30" in page


# -- the registry and the commands ------------------------------------------------------------


def test_tick_lists_its_jobs():
    out = io.StringIO()
    call_command("tick", "--list", stdout=out)
    assert "certificates" in out.getvalue()


def failing_job(today):
    raise RuntimeError("boom")


def counting_job(today):
    return {"ran": 1}


def test_a_failing_job_is_reported_and_does_not_stop_the_others(settings):
    settings.SCHEDULED_JOBS = [
        ("bad", f"{__name__}.failing_job", "fails"),
        ("good", f"{__name__}.counting_job", "counts"),
    ]
    outcomes = schedule.tick()
    assert [(o.name, o.ok) for o in outcomes] == [("bad", False), ("good", True)]
    assert "boom" in outcomes[0].error and outcomes[1].counts == {"ran": 1}
    with pytest.raises(CommandError, match="failed: bad"):
        call_command("tick", stdout=io.StringIO())


def test_an_unknown_job_name_is_an_error():
    with pytest.raises(CommandError, match="unknown job"):
        call_command("tick", "--job", "nope", stdout=io.StringIO())


def test_the_scheduler_ticks_every_interval_until_stopped(settings):
    settings.SCHEDULED_JOBS = [("good", f"{__name__}.counting_job", "counts")]
    slept: list[float] = []
    reports = []
    ran = schedule.run_forever(interval=2, max_ticks=3, report=reports.append, sleep=slept.append)
    assert ran == 3 and len(reports) == 3
    assert all(o.ok for batch in reports for o in batch)


def test_the_scheduler_command_runs_the_given_number_of_ticks(settings):
    settings.SCHEDULED_JOBS = [("good", f"{__name__}.counting_job", "counts")]
    out = io.StringIO()
    call_command("scheduler", "--ticks", "1", "--interval", "1", stdout=out)
    assert "good: ran=1" in out.getvalue() and "every 1s" in out.getvalue()


def test_the_interval_defaults_to_five_minutes():
    assert schedule.interval_seconds() == 300
