"""Annual review (年度复核): the computed checklist, the verdict, one per year, pages, export."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from yunshu.accounts.models import Role
from yunshu.core.models import AuditEntry, Notification
from yunshu.factories import EnterpriseFactory, provider, provider_user, user_for
from yunshu.matching.models import Proposal, Rating
from yunshu.providers.models import AnnualReview, Certificate, CertificateType, Complaint
from yunshu.providers.review import AlreadyReviewed, review_checklist, review_decide

YEAR = timezone.localdate().year


def delivered(prov, enterprise, *, stars=None, when=None):
    when = when or timezone.now()
    proposal = Proposal.objects.create(
        provider=prov,
        enterprise=enterprise,
        title=f"方案{Proposal.objects.count()}",
        body="实施 MES",
        price_yuan=100000,
        weeks=8,
        state=Proposal.State.DELIVERED,
        delivered_at=when,
    )
    if stars is not None:
        Rating.objects.create(
            proposal=proposal, enterprise=enterprise, provider=prov, stars=stars, created_at=when
        )
    return proposal


def valid_dengbao(prov, *, expires=None):
    today = timezone.localdate()
    return Certificate.objects.create(
        provider=prov,
        type=CertificateType.objects.get(key="dengbao"),
        level="三级",
        number="44190000000-1",
        issued_on=today - dt.timedelta(days=200),
        expires_on=expires or today + dt.timedelta(days=200),
        status="approved",
    )


@pytest.fixture
def world(db):
    prov = provider(name="云启数字")
    valid_dengbao(prov)
    enterprises = [EnterpriseFactory() for _ in range(6)]
    for e in enterprises:
        delivered(prov, e, stars=5)
    users = {
        "city": user_for(Role.CITY),
        "provider": provider_user(prov),
        "other_provider": provider_user(provider(name="别家")),
        "enterprise": user_for(Role.ENTERPRISE, enterprise=enterprises[0]),
        "town": user_for(Role.TOWN),
        "expert": user_for(Role.EXPERT),
    }
    return {"prov": prov, "enterprises": enterprises, "users": users}


def items(prov, year=YEAR):
    return {i.key: i for i in review_checklist(prov, year)}


def test_a_provider_meeting_everything_passes_every_check(world):
    checks = items(world["prov"])
    assert all(i.passed for i in checks.values())
    assert checks["satisfied_customers"].figure == 6 and checks["satisfied_customers"].required == 6
    assert checks["delivered"].figure == 6
    assert (
        checks["mandatory_certificates"].figure == 1
        and checks["mandatory_certificates"].required == 1
    )


def test_satisfied_customers_are_distinct_enterprises_rating_4_or_more_in_the_year(world):
    prov, enterprises = world["prov"], world["enterprises"]
    Rating.objects.filter(enterprise=enterprises[0]).update(stars=3)
    delivered(prov, enterprises[1], stars=5)  # the same enterprise again: still one
    delivered(prov, EnterpriseFactory(), stars=4, when=timezone.now() - dt.timedelta(days=400))
    check = items(prov)["satisfied_customers"]
    assert (check.figure, check.passed) == (5, False)


def test_the_threshold_follows_the_setting(world, settings):
    settings.PROVIDER_REVIEW_MIN_SATISFIED = 7
    check = items(world["prov"])["satisfied_customers"]
    assert (check.required, check.passed) == (7, False)


def test_an_open_complaint_fails_the_check_and_a_closed_one_does_not(world):
    prov, e = world["prov"], world["enterprises"][0]
    Complaint.objects.create(enterprise=e, provider=prov, subject="a", body="b", state="resolved")
    assert items(prov)["open_complaints"].passed
    Complaint.objects.create(enterprise=e, provider=prov, subject="c", body="d", state="escalated")
    check = items(prov)["open_complaints"]
    assert (check.figure, check.passed) == (1, False)


def test_an_expired_or_unapproved_mandatory_certificate_fails_the_check(world):
    prov = world["prov"]
    Certificate.objects.update(expires_on=timezone.localdate() - dt.timedelta(days=1))
    check = items(prov)["mandatory_certificates"]
    assert not check.passed and check.missing == ["网络安全等级保护备案（等保）"]
    Certificate.objects.update(
        expires_on=timezone.localdate() + dt.timedelta(days=9), status="pending"
    )
    assert not items(prov)["mandatory_certificates"].passed


def test_delivered_outcomes_count_only_delivered_proposals_in_the_year(world):
    prov = world["prov"]
    Proposal.objects.update(state=Proposal.State.ACCEPTED)
    assert items(prov)["delivered"].figure == 0 and not items(prov)["delivered"].passed


# -- the verdict ------------------------------------------------------------------------------


def test_the_verdict_is_stored_with_the_checklist_audited_and_notified(world):
    city, prov = world["users"]["city"], world["prov"]
    review = review_decide(provider=prov, year=YEAR, verdict="pass", by=city)
    assert review.reviewed_by == city
    assert {i["key"] for i in review.checklist} == {
        "satisfied_customers",
        "open_complaints",
        "mandatory_certificates",
        "delivered",
    }
    assert AuditEntry.objects.filter(action="review.decide", object_id=str(review.pk)).exists()
    note = Notification.objects.get(recipient=world["users"]["provider"])
    assert note.url == f"/providers/reviews/{review.pk}/"


def test_conditional_needs_conditions_and_nothing_is_saved_without_them(world):
    with pytest.raises(ValidationError) as exc:
        review_decide(
            provider=world["prov"],
            year=YEAR,
            verdict="conditional",
            conditions=" ",
            by=world["users"]["city"],
        )
    assert {"conditions", "deadline"} <= set(exc.value.message_dict)
    assert not AnnualReview.objects.exists()
    deadline = timezone.localdate() + dt.timedelta(days=90)
    review = review_decide(
        provider=world["prov"],
        year=YEAR,
        verdict="conditional",
        conditions="三个月内补充 2 家客户评价",
        deadline=deadline,
        by=world["users"]["city"],
    )
    assert review.conditions == "三个月内补充 2 家客户评价" and review.deadline == deadline
    note = Notification.objects.get(recipient=world["users"]["provider"])
    assert deadline.isoformat() in note.body


def test_one_review_per_provider_per_year(world):
    city = world["users"]["city"]
    first = review_decide(provider=world["prov"], year=YEAR, verdict="pass", by=city)
    with pytest.raises(AlreadyReviewed) as exc:
        review_decide(provider=world["prov"], year=YEAR, verdict="fail", by=city)
    assert exc.value.review.pk == first.pk
    assert AnnualReview.objects.get().verdict == "pass"
    review_decide(
        provider=world["prov"],
        year=YEAR - 1,
        verdict="pass",
        override_reason="上一年度尚未开展评价，按入库审核结论",
        by=city,
    )
    assert AnnualReview.objects.count() == 2


def test_only_the_city_reviews_and_only_providers_in_the_pool(world):
    for who in ("provider", "enterprise", "town", "expert"):
        with pytest.raises(Http404):
            review_decide(provider=world["prov"], year=YEAR, verdict="pass", by=world["users"][who])
    applicant = provider(name="申请中", state="submitted")
    with pytest.raises(Http404):
        review_decide(provider=applicant, year=YEAR, verdict="pass", by=world["users"]["city"])


@pytest.mark.parametrize("year", [YEAR + 1, 1999])
def test_a_year_outside_the_range_is_refused(world, year):
    with pytest.raises(ValidationError) as exc:
        review_decide(provider=world["prov"], year=year, verdict="pass", by=world["users"]["city"])
    assert "year" in exc.value.message_dict


def test_a_fail_verdict_suspends_the_provider_through_vetting_and_says_so(client, world):
    city, prov = world["users"]["city"], world["prov"]
    review = review_decide(
        provider=prov, year=YEAR, verdict="fail", conditions="投诉未解决", by=city
    )
    prov.refresh_from_db()
    assert prov.vetting_state == "suspended" and prov.vetting_reason == "年度复核未通过"
    assert review.provider_suspended
    event = prov.vetting_events.get()
    assert (event.action, event.reason, event.by) == ("suspend", "年度复核未通过", city)
    assert AuditEntry.objects.filter(action="provider.suspend").count() == 1
    client.force_login(city)
    page = client.get(f"/providers/reviews/{review.pk}/").content.decode()
    assert 'data-testid="fail-next-step"' in page and "已据此暂停该服务商的入库资格" in page
    assert f'href="/providers/vetting/{prov.pk}/"' in page
    client.force_login(world["users"]["provider"])
    page = client.get(f"/providers/reviews/{review.pk}/").content.decode()
    assert "已据此暂停该服务商的入库资格" in page


def test_failing_an_already_suspended_provider_does_not_suspend_it_twice(world):
    city, prov = world["users"]["city"], world["prov"]
    from yunshu.providers.vetting import provider_transition

    provider_transition(provider=prov, action="suspend", by=city, reason="投诉")
    review = review_decide(provider=prov, year=YEAR, verdict="fail", by=city)
    assert not review.provider_suspended
    assert prov.vetting_events.filter(action="suspend").count() == 1


def test_a_pass_against_failed_checks_needs_a_reason_which_is_recorded(world):
    city = world["users"]["city"]
    bare = provider(name="空白服务商")  # no customers, no certificate, nothing delivered
    with pytest.raises(ValidationError) as exc:
        review_decide(provider=bare, year=YEAR, verdict="pass", by=city)
    assert "满意客户" in exc.value.message_dict["override_reason"][0]
    assert not AnnualReview.objects.exists()
    review = review_decide(
        provider=bare, year=YEAR, verdict="pass", override_reason="新入库，次年再核", by=city
    )
    assert review.override_reason == "新入库，次年再核"
    entry = AuditEntry.objects.get(action="review.decide")
    assert entry.after["override_reason"] == "新入库，次年再核"


def test_a_pass_with_every_check_passed_needs_no_reason(world):
    review = review_decide(
        provider=world["prov"], year=YEAR, verdict="pass", by=world["users"]["city"]
    )
    assert review.override_reason == ""


@pytest.mark.parametrize(("days", "ok"), [(0, False), (-5, False), (400, False), (30, True)])
def test_a_conditional_pass_needs_a_deadline_after_today_and_within_a_year(world, days, ok):
    kwargs = {
        "provider": world["prov"],
        "year": YEAR,
        "verdict": "conditional",
        "conditions": "补充评价",
        "deadline": timezone.localdate() + dt.timedelta(days=days),
        "by": world["users"]["city"],
    }
    if ok:
        assert review_decide(**kwargs).deadline == kwargs["deadline"]
    else:
        with pytest.raises(ValidationError) as exc:
            review_decide(**kwargs)
        assert "deadline" in exc.value.message_dict


# -- pages ------------------------------------------------------------------------------------


def test_the_officer_opens_a_review_sees_figures_and_a_double_click_makes_one_record(client, world):
    prov = world["prov"]
    Complaint.objects.create(
        enterprise=world["enterprises"][0], provider=prov, subject="s", body="b"
    )
    client.force_login(world["users"]["city"])
    url = f"/providers/reviews/open/{prov.pk}/{YEAR}/"
    page = client.get(url).content.decode()
    assert 'data-testid="check-open_complaints"' in page and "1 件" in page
    assert "新加坡 PSG" in page and "等级提升" in page
    response = client.post(url, {"verdict": "conditional", "conditions": ""})
    assert response.status_code == 200
    assert 'data-testid="error-conditions"' in response.content.decode()
    assert 'data-testid="error-deadline"' in response.content.decode()
    response = client.post(url, {"verdict": "pass"})  # the complaint check failed
    assert 'data-testid="error-override_reason"' in response.content.decode()
    deadline = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    data = {"verdict": "conditional", "conditions": "一个月内处理投诉", "deadline": deadline}
    first = client.post(url, data)
    second = client.post(url, data)
    review = AnnualReview.objects.get()
    assert first.url == second.url == f"/providers/reviews/{review.pk}/"
    assert next(i for i in review.checklist if i["key"] == "open_complaints")["passed"] is False


@pytest.mark.parametrize(
    ("who", "status"),
    [("city", 200), ("provider", 200), ("other_provider", 404), ("enterprise", 404), ("town", 404)],
)
def test_who_may_read_a_review(client, world, who, status):
    review = review_decide(
        provider=world["prov"], year=YEAR, verdict="pass", by=world["users"]["city"]
    )
    client.force_login(world["users"][who])
    assert client.get(f"/providers/reviews/{review.pk}/").status_code == status


@pytest.mark.parametrize(
    ("who", "list_status", "open_status"),
    [
        ("city", 200, 200),
        ("provider", 200, 404),
        ("other_provider", 200, 404),
        ("enterprise", 404, 404),
        ("town", 404, 404),
        ("expert", 404, 404),
    ],
)
def test_permission_matrix_for_review_pages(client, world, who, list_status, open_status):
    client.force_login(world["users"][who])
    assert client.get("/providers/reviews/").status_code == list_status
    assert (
        client.get(f"/providers/reviews/open/{world['prov'].pk}/{YEAR}/").status_code == open_status
    )
    export = client.get("/providers/reviews/export/").status_code
    assert export == (200 if who == "city" else 404)


def test_the_list_by_year_shows_reviewed_and_due_providers_and_exports_them(client, world):
    city = world["users"]["city"]
    waiting = provider(name="待复核服务商")
    review_decide(provider=world["prov"], year=YEAR, verdict="pass", by=city)
    review_decide(provider=world["prov"], year=YEAR - 1, verdict="fail", by=city)
    client.force_login(city)
    response = client.get("/providers/reviews/", {"year": YEAR})
    assert [r.provider.name for r in response.context["page"]] == ["云启数字"]
    assert waiting in list(response.context["due"]) and world["prov"] not in list(
        response.context["due"]
    )
    xlsx = client.get("/providers/reviews/export/", {"year": YEAR})
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("年度", "服务商", "统一社会信用代码", "结论")
    assert len(rows) == 2 and rows[1][1] == "云启数字" and rows[1][3] == "通过"
    assert rows[1][5] == 6 and rows[1][6] == "是"


def test_a_provider_sees_only_its_own_reviews(client, world):
    city = world["users"]["city"]
    review_decide(provider=world["prov"], year=YEAR, verdict="pass", by=city)
    client.force_login(world["users"]["other_provider"])
    assert list(client.get("/providers/reviews/").context["page"]) == []
    client.force_login(world["users"]["provider"])
    assert len(client.get("/providers/reviews/").context["page"]) == 1


def test_the_review_list_runs_a_constant_number_of_queries(client, world):
    city = world["users"]["city"]
    client.force_login(city)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/providers/reviews/").status_code == 200
        return len(ctx.captured_queries)

    review_decide(provider=world["prov"], year=YEAR, verdict="pass", by=city)
    first = count()
    for n in range(8):
        review_decide(provider=provider(name=f"p{n}"), year=YEAR, verdict="fail", by=city)
        provider(name=f"due{n}")
    assert count() == first


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_officers_deciding_at_once_make_one_review(reference_data):
    prov = provider(name="并发")
    city_a, city_b = user_for(Role.CITY), user_for(Role.CITY)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def decide(user, verdict):
        try:
            barrier.wait()
            review_decide(
                provider=prov, year=YEAR, verdict=verdict, override_reason="并发测试", by=user
            )
            results.append("made")
        except AlreadyReviewed:
            results.append("already")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=decide, args=(city_a, "pass")),
        threading.Thread(target=decide, args=(city_b, "fail")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["already", "made"]
    assert AnnualReview.objects.filter(provider=prov).count() == 1
