"""Platform security profiles and incidents: services, permission matrix, pages, query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yunshu.accounts.models import Role
from yunshu.core.models import AuditEntry, Notification
from yunshu.factories import provider, provider_user, user_for
from yunshu.providers.catalogue_version import catalogue_version
from yunshu.providers.models import Incident, Platform
from yunshu.providers.supervision import (
    incident_report,
    incident_resolve,
    platform_create,
    platform_update,
)
from yunshu.providers.trust import provider_trust_refresh

PLATFORM_DATA = {
    "name": "云启工业云",
    "datacentre_location": "广东省东莞市松山湖",
    "datacentre_mainland": True,
    "encryption_in_transit": True,
    "encryption_at_rest": False,
    "backup_rpo_hours": 4,
    "backup_rto_hours": 8,
    "exit_plan": "企业可随时导出全部数据，30 天内删除",
    "data_return_days": 30,
}


@pytest.fixture
def world(db):
    prov = provider(name="云启数字")
    other = provider(name="别家云")
    users = {
        "city": user_for(Role.CITY),
        "provider": provider_user(prov),
        "other_provider": provider_user(other),
        "town": user_for(Role.TOWN),
        "enterprise": user_for(Role.ENTERPRISE),
        "expert": user_for(Role.EXPERT),
        "assessor": user_for(Role.ASSESSOR),
        "college": user_for(Role.COLLEGE),
    }
    platform = Platform.objects.create(provider=prov, **PLATFORM_DATA)
    other_platform = Platform.objects.create(
        provider=other, **{**PLATFORM_DATA, "name": "别家平台"}
    )
    incident = Incident.objects.create(
        platform=platform,
        occurred_at=timezone.now() - dt.timedelta(days=3),
        severity="medium",
        summary="接口短暂中断",
    )
    return {
        "prov": prov,
        "other": other,
        "users": users,
        "platform": platform,
        "other_platform": other_platform,
        "incident": incident,
    }


ALL = ["city", "provider", "other_provider", "town", "enterprise", "expert", "assessor", "college"]

# (url builder, roles that get 200); everyone else gets 404.
MATRIX = {
    "platform_list": (lambda w: "/providers/platforms/", {"city", "provider", "other_provider"}),
    "platform_detail": (
        lambda w: f"/providers/platforms/{w['platform'].pk}/",
        {"city", "provider"},
    ),
    "platform_edit": (lambda w: f"/providers/platforms/{w['platform'].pk}/edit/", {"provider"}),
    "platform_create": (lambda w: "/providers/platforms/new/", {"provider", "other_provider"}),
    "incident_create": (
        lambda w: f"/providers/platforms/{w['platform'].pk}/incidents/new/",
        {"city", "provider"},
    ),
    "incident_list": (lambda w: "/providers/incidents/", {"city", "provider", "other_provider"}),
    "incident_detail": (
        lambda w: f"/providers/incidents/{w['incident'].pk}/",
        {"city", "provider"},
    ),
    "supervision_provider": (
        lambda w: f"/providers/supervision/{w['prov'].pk}/",
        {"city", "provider"},
    ),
}


@pytest.mark.parametrize("action", list(MATRIX))
@pytest.mark.parametrize("who", ALL)
def test_permission_matrix_for_supervision_pages(client, world, action, who):
    url, allowed = MATRIX[action]
    client.force_login(world["users"][who])
    status = client.get(url(world)).status_code
    assert status == (200 if who in allowed else 404), (action, who, status)


def test_supervision_overview_is_the_citys_and_sends_a_provider_to_its_own(client, world):
    client.force_login(world["users"]["city"])
    assert client.get("/providers/supervision/").status_code == 200
    client.force_login(world["users"]["provider"])
    response = client.get("/providers/supervision/")
    assert response.status_code == 302
    assert response.url == f"/providers/supervision/{world['prov'].pk}/"
    for who in ("enterprise", "town", "expert"):
        client.force_login(world["users"][who])
        assert client.get("/providers/supervision/").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    response = client.get("/providers/platforms/")
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_a_missing_platform_and_someone_elses_give_the_same_404(client, world):
    client.force_login(world["users"]["provider"])
    assert client.get(f"/providers/platforms/{world['other_platform'].pk}/").status_code == 404
    assert client.get("/providers/platforms/999999/").status_code == 404


def test_resolve_is_refused_to_other_providers(client, world):
    client.force_login(world["users"]["other_provider"])
    url = f"/providers/incidents/{world['incident'].pk}/resolve/"
    assert client.post(url, {"resolution": "x"}).status_code == 404
    world["incident"].refresh_from_db()
    assert world["incident"].resolved_at is None


# -- platform services ------------------------------------------------------------------------


def test_provider_creates_a_platform_which_is_audited_and_rates_the_provider(world):
    prov, user = world["prov"], world["users"]["provider"]
    Platform.objects.filter(provider=prov).delete()
    version = catalogue_version()
    platform = platform_create(provider=prov, by=user, data=PLATFORM_DATA)
    prov.refresh_from_db()
    # 10 + 10 + 0 + 5 + 3 + 6 + 4 = 38 platform points; no certificate: 等保 missing −20 → 18
    assert prov.trust_score == 18 and prov.trust_grade == "D"
    assert catalogue_version() > version
    entry = AuditEntry.objects.get(action="platform.create", object_id=str(platform.pk))
    assert entry.after["name"] == "云启工业云" and entry.actor_id == user.pk


def test_a_second_platform_with_the_same_name_is_refused(world):
    with pytest.raises(ValidationError) as exc:
        platform_create(provider=world["prov"], by=world["users"]["provider"], data=PLATFORM_DATA)
    assert "name" in exc.value.message_dict
    assert Platform.objects.filter(provider=world["prov"]).count() == 1


def test_the_city_cannot_edit_a_providers_platform(world):
    with pytest.raises(Http404):
        platform_update(
            platform=world["platform"], by=world["users"]["city"], data={"encryption_at_rest": True}
        )
    with pytest.raises(Http404):
        platform_create(provider=world["prov"], by=world["users"]["city"], data=PLATFORM_DATA)


def test_encrypting_at_rest_raises_the_score_and_audits_only_the_change(world):
    prov, user = world["prov"], world["users"]["provider"]
    provider_trust_refresh(provider=prov)
    platform_update(platform=world["platform"], by=user, data={"encryption_at_rest": False})
    prov.refresh_from_db()
    before = prov.trust_score
    assert not AuditEntry.objects.filter(action="platform.update").exists()  # nothing changed
    platform_update(platform=world["platform"], by=user, data={"encryption_at_rest": True})
    prov.refresh_from_db()
    assert prov.trust_score == before + 10
    entry = AuditEntry.objects.get(action="platform.update")
    assert entry.before == {"encryption_at_rest": False}
    assert entry.after == {"encryption_at_rest": True}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("backup_rpo_hours", 10**6),
        ("data_return_days", 9999),
        ("name", "  "),
        ("datacentre_location", ""),
    ],
)
def test_bad_platform_input_names_the_field_and_changes_nothing(world, field, value):
    with pytest.raises(ValidationError) as exc:
        platform_update(
            platform=world["platform"], by=world["users"]["provider"], data={field: value}
        )
    assert field in exc.value.message_dict
    world["platform"].refresh_from_db()
    assert getattr(world["platform"], field) == PLATFORM_DATA[field]


# -- incident services ------------------------------------------------------------------------


def test_a_provider_reports_an_incident_the_city_is_told_and_trust_drops(world):
    prov, user, city = world["prov"], world["users"]["provider"], world["users"]["city"]
    Incident.objects.all().delete()
    provider_trust_refresh(provider=prov)
    prov.refresh_from_db()
    before = prov.trust_score
    when = timezone.now() - dt.timedelta(hours=2)
    incident = incident_report(
        platform=world["platform"],
        by=user,
        occurred_at=when,
        severity="high",
        summary="数据库主节点宕机",
        data_affected=True,
    )
    prov.refresh_from_db()
    assert prov.trust_score == max(0, before - 28)
    assert Notification.objects.filter(
        recipient=city, url__endswith=f"/incidents/{incident.pk}/"
    ).exists()
    assert AuditEntry.objects.filter(action="incident.report", object_id=str(incident.pk)).exists()
    # A double click sends it twice: still one incident.
    again = incident_report(
        platform=world["platform"],
        by=user,
        occurred_at=when,
        severity="high",
        summary="数据库主节点宕机",
        data_affected=True,
    )
    assert again.pk == incident.pk and Incident.objects.count() == 1
    # Resolving it gives most of the points back (a resolved high incident costs 6 + 8).
    incident_resolve(incident=incident, by=user, resolution="已切换备用节点并修复")
    prov.refresh_from_db()
    assert prov.trust_score == max(0, before - 14)


def test_the_city_records_an_incident_and_the_provider_is_told(world):
    incident = incident_report(
        platform=world["platform"],
        by=world["users"]["city"],
        occurred_at=timezone.now() - dt.timedelta(days=1),
        severity="low",
        summary="巡查发现弱口令",
    )
    assert incident.reported_by == world["users"]["city"]
    assert Notification.objects.filter(recipient=world["users"]["provider"]).exists()
    assert not Notification.objects.filter(recipient=world["users"]["other_provider"]).exists()


def test_other_providers_cannot_report_on_a_platform_not_theirs(world):
    with pytest.raises(Http404):
        incident_report(
            platform=world["platform"],
            by=world["users"]["other_provider"],
            occurred_at=timezone.now(),
            severity="low",
            summary="x",
        )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"occurred_at": timezone.now() + dt.timedelta(days=2)}, "occurred_at"),
        (
            {"resolved_at": timezone.now() - dt.timedelta(days=30), "resolution": "ok"},
            "resolved_at",
        ),
        ({"resolved_at": timezone.now()}, "resolution"),
        ({"summary": "  "}, "summary"),
        ({"severity": "apocalyptic"}, "severity"),
    ],
)
def test_bad_incident_input_names_the_field_and_records_nothing(world, kwargs, field):
    data = {
        "occurred_at": timezone.now() - dt.timedelta(days=1),
        "severity": "low",
        "summary": "某事件",
        **kwargs,
    }
    count = Incident.objects.count()
    with pytest.raises(ValidationError) as exc:
        incident_report(platform=world["platform"], by=world["users"]["provider"], **data)
    assert field in exc.value.message_dict
    assert Incident.objects.count() == count


def test_an_incident_is_resolved_once_and_needs_a_resolution(world):
    user = world["users"]["provider"]
    with pytest.raises(ValidationError) as exc:
        incident_resolve(incident=world["incident"], by=user, resolution=" ")
    assert "resolution" in exc.value.message_dict
    incident_resolve(incident=world["incident"], by=user, resolution="已修复")
    with pytest.raises(ValidationError):
        incident_resolve(incident=world["incident"], by=user, resolution="再次")
    world["incident"].refresh_from_db()
    assert world["incident"].resolution == "已修复"


# -- pages ------------------------------------------------------------------------------------


def test_provider_fills_the_platform_form_and_reports_an_incident_through_the_pages(client, world):
    client.force_login(world["users"]["provider"])
    data = {**PLATFORM_DATA, "name": "边缘节点", "encryption_at_rest": "on"}
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    response = client.post("/providers/platforms/new/", data)
    assert response.status_code == 302
    platform = Platform.objects.get(name="边缘节点")
    assert platform.encryption_at_rest and platform.encryption_in_transit
    response = client.post(
        f"/providers/platforms/{platform.pk}/incidents/new/",
        {
            "occurred_at": (timezone.localtime() - dt.timedelta(hours=1)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "severity": "critical",
            "summary": "机房断电",
        },
    )
    incident = Incident.objects.get(summary="机房断电")
    assert response.status_code == 302 and response.url.endswith(f"/incidents/{incident.pk}/")
    page = client.get(f"/providers/platforms/{platform.pk}/").content.decode()
    assert "机房断电" in page and 'data-testid="trust-panel"' in page


def test_a_form_error_is_shown_next_to_the_field(client, world):
    client.force_login(world["users"]["provider"])
    response = client.post(
        f"/providers/platforms/{world['platform'].pk}/edit/",
        {**{k: v for k, v in PLATFORM_DATA.items() if v is not False}, "data_return_days": 9999},
    )
    assert response.status_code == 200
    assert 'data-testid="error-data_return_days"' in response.content.decode()


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url", ["/providers/platforms/", "/providers/incidents/", "/providers/supervision/"]
)
def test_list_pages_run_a_constant_number_of_queries(client, world, url):
    client.force_login(world["users"]["city"])
    first = _count_queries(client, url)
    for n in range(12):
        prov = provider(name=f"服务商{n}")
        p = Platform.objects.create(provider=prov, **{**PLATFORM_DATA, "name": f"平台{n}"})
        Incident.objects.create(
            platform=p, occurred_at=timezone.now(), severity="high", summary=f"事件{n}"
        )
    assert _count_queries(client, url) == first


def test_incident_filters_narrow_the_list(client, world):
    client.force_login(world["users"]["city"])
    Incident.objects.create(
        platform=world["other_platform"],
        occurred_at=timezone.now(),
        severity="critical",
        summary="别家事件",
        resolved_at=timezone.now(),
        resolution="ok",
    )
    page = client.get("/providers/incidents/", {"severity": "critical"}).context["page"]
    assert [i.summary for i in page] == ["别家事件"]
    page = client.get("/providers/incidents/", {"state": "open"}).context["page"]
    assert [i.summary for i in page] == ["接口短暂中断"]
    page = client.get("/providers/incidents/", {"provider": world["other"].pk}).context["page"]
    assert [i.summary for i in page] == ["别家事件"]
    client.force_login(world["users"]["provider"])
    page = client.get("/providers/incidents/").context["page"]
    assert [i.summary for i in page] == ["接口短暂中断"]


# -- who closes an incident ---------------------------------------------------------------------


def _city_incident(world, **kw):
    return incident_report(
        platform=world["platform"],
        by=world["users"]["city"],
        occurred_at=timezone.now() - dt.timedelta(days=2),
        severity="high",
        summary="巡查发现数据库对公网开放",
        **kw,
    )


def test_a_provider_cannot_close_an_incident_the_city_recorded(world):
    incident = _city_incident(world)
    assert incident.source == "city"
    prov = world["prov"]
    prov.refresh_from_db()
    before = prov.trust_score
    with pytest.raises(ValidationError) as exc:
        incident_resolve(incident=incident, by=world["users"]["provider"], resolution="已关闭端口")
    assert "市工信局" in exc.value.messages[0]
    incident.refresh_from_db()
    prov.refresh_from_db()
    assert incident.resolved_at is None and prov.trust_score == before


def test_the_provider_proposes_a_resolution_and_only_the_citys_confirmation_changes_the_rating(
    world,
):
    from yunshu.providers.supervision import incident_resolution_propose

    incident = _city_incident(world)
    prov = world["prov"]
    prov.refresh_from_db()
    open_score = prov.trust_score
    incident_resolution_propose(
        incident=incident, by=world["users"]["provider"], resolution="已关闭公网端口并加白名单"
    )
    incident.refresh_from_db()
    prov.refresh_from_db()
    assert incident.proposed_resolution == "已关闭公网端口并加白名单"
    assert incident.resolved_at is None and prov.trust_score == open_score
    assert Notification.objects.filter(
        recipient=world["users"]["city"], subject__contains="请确认"
    ).exists()
    assert AuditEntry.objects.filter(action="incident.propose_resolution").count() == 1
    incident_resolve(incident=incident, by=world["users"]["city"], resolution="核实已整改")
    prov.refresh_from_db()
    assert prov.trust_score > open_score


def test_a_provider_still_resolves_the_incidents_it_reported_itself(world):
    incident_resolve(incident=world["incident"], by=world["users"]["provider"], resolution="已恢复")
    world["incident"].refresh_from_db()
    assert world["incident"].resolved_at is not None


def test_the_incident_page_offers_the_provider_a_proposal_for_a_city_recorded_incident(
    client, world
):
    incident = _city_incident(world)
    client.force_login(world["users"]["provider"])
    page = client.get(f"/providers/incidents/{incident.pk}/").content.decode()
    assert 'data-testid="propose-form"' in page and 'data-testid="resolve-form"' not in page
    response = client.post(
        f"/providers/incidents/{incident.pk}/resolve/", {"resolution": "自行结案"}, follow=True
    )
    incident.refresh_from_db()
    assert incident.resolved_at is None and "市工信局" in response.content.decode()
    client.post(f"/providers/incidents/{incident.pk}/propose/", {"resolution": "已整改"})
    incident.refresh_from_db()
    assert incident.proposed_resolution == "已整改"
    client.force_login(world["users"]["city"])
    page = client.get(f"/providers/incidents/{incident.pk}/").content.decode()
    assert 'data-testid="proposed-resolution"' in page and "确认处置情况" in page


# -- self-declared or verified ------------------------------------------------------------------


def test_the_city_marks_a_platform_verified_and_a_later_edit_by_the_provider_clears_it(
    client, world
):
    from yunshu.providers.supervision import platform_update, platform_verify

    platform, city = world["platform"], world["users"]["city"]
    with pytest.raises(Http404):
        platform_verify(platform=platform, by=world["users"]["provider"])
    client.force_login(city)
    assert client.post(f"/providers/platforms/{platform.pk}/verify/").status_code == 302
    platform.refresh_from_db()
    assert platform.verified_at is not None and platform.verified_by == city
    assert AuditEntry.objects.filter(action="platform.verify").count() == 1
    prov = world["prov"]
    prov.refresh_from_db()
    assert all(r["params"].get("verified") for r in prov.trust_reasons if r["code"] == "mainland")
    platform_update(platform=platform, by=world["users"]["provider"], data={"exit_plan": "改了"})
    platform.refresh_from_db()
    assert platform.verified_at is None
    entry = AuditEntry.objects.filter(action="platform.update").last()
    assert entry.after["verified_at"] is None


def test_enterprises_read_which_trust_reasons_are_self_declared(client, world):
    from yunshu.providers.trust import provider_trust_refresh

    provider_trust_refresh(provider=world["prov"])
    page = client.get(f"/catalogue/providers/{world['prov'].pk}/").content.decode()
    assert 'data-testid="trust-basis-self_declared"' in page and "服务商自报" in page
    from yunshu.providers.supervision import platform_verify

    platform_verify(platform=world["platform"], by=world["users"]["city"])
    page = client.get(f"/catalogue/providers/{world['prov'].pk}/").content.decode()
    assert 'data-testid="trust-basis-verified"' in page
    assert 'data-testid="trust-basis-self_declared"' not in page


# -- exports --------------------------------------------------------------------------------


def _sheet(response):
    import io

    from openpyxl import load_workbook

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values)


def test_the_trust_overview_exports_exactly_the_rows_of_its_filter(client, world):
    from yunshu.providers.models import Provider

    Provider.objects.filter(pk=world["prov"].pk).update(trust_grade="B", trust_score=70)
    Provider.objects.filter(pk=world["other"].pk).update(trust_grade="D", trust_score=20)
    provider(name="另一家 B", trust_grade="B", trust_score=66)
    client.force_login(world["users"]["city"])
    shown = [p.name for p in client.get("/providers/supervision/?grade=B").context["page"]]
    assert 'data-testid="export"' in client.get("/providers/supervision/?grade=B").content.decode()
    rows = _sheet(client.get("/providers/supervision/export.xlsx?grade=B"))
    assert rows[0][:4] == ("服务商", "统一社会信用代码", "可信等级", "评分")
    assert [r[0] for r in rows[1:]] == shown == ["另一家 B", "云启数字"]
    assert rows[2][4] == 1  # one platform
    rows = _sheet(client.get("/providers/supervision/export.xlsx?q=别家"))
    assert [r[0] for r in rows[1:]] == ["别家云"]


def test_the_incident_list_exports_exactly_the_rows_of_its_filter(client, world):
    _city_incident(world)
    client.force_login(world["users"]["city"])
    query = "severity=high"
    shown = [i.summary for i in client.get(f"/providers/incidents/?{query}").context["page"]]
    rows = _sheet(client.get(f"/providers/incidents/export.xlsx?{query}"))
    assert [r[6] for r in rows[1:]] == shown == ["巡查发现数据库对公网开放"]
    assert rows[1][8] == "市工信局登记" and rows[1][9] == "未处置"
    everything = _sheet(client.get("/providers/incidents/export.xlsx"))
    assert len(everything) == 1 + Incident.objects.count()


@pytest.mark.parametrize("who", ["provider", "enterprise", "town"])
def test_only_the_city_exports_supervision_lists(client, world, who):
    client.force_login(world["users"][who])
    assert client.get("/providers/supervision/export.xlsx").status_code == 404
    assert client.get("/providers/incidents/export.xlsx").status_code == 404
