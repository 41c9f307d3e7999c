"""The provider's inbox: grants received, matched demand (gaps only within scope, the newest
run's recommendations of its own products), event invitations and city-assigned diagnoses;
counts on the tabs, and a query count that does not grow with the rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yunshu.assessments.models import Assessment
from yunshu.core.models import Cluster
from yunshu.enterprises.models import AccessLogEntry
from yunshu.factories import EnterpriseFactory, product, provider_user
from yunshu.matching.consent import demand_rows
from yunshu.matching.models import (
    EventInvitation,
    MatchmakingEvent,
    MatchRun,
    Recommendation,
)
from yunshu.matching.snapshot import target_level

from .consent_world import make_world, maturity_result, proposal, share

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return make_world()


def _run(status="succeeded", **kw):
    return MatchRun.objects.create(status=status, **kw)


def _recommend(run, enterprise, item, rank=1):
    return Recommendation.objects.create(
        run=run, enterprise=enterprise, rank=rank, product=item, provider=item.provider, score=80
    )


def _event(state="open", title="纺织服装集群对接会"):
    return MatchmakingEvent.objects.create(
        cluster=Cluster.objects.first(),
        title=title,
        starts_at=timezone.now() + dt.timedelta(days=10),
        venue="虎门会展中心",
        state=state,
    )


def _inbox(client, user, tab):
    client.force_login(user)
    response = client.get(f"/matching/inbox/?tab={tab}")
    assert response.status_code == 200
    return response


def test_grants_tab_lists_only_active_grants_from_enterprises_to_this_provider(client, w):
    active = share(w, scope_assessments=True)
    share(w, enterprise=EnterpriseFactory(), expires_at=timezone.now() - dt.timedelta(days=1))
    share(w, enterprise=EnterpriseFactory(), revoked_at=timezone.now())
    share(w, enterprise=EnterpriseFactory(), source="city_assignment")
    other_user = provider_user(w.other_provider)
    from yunshu.factories import grant

    grant(EnterpriseFactory(), other_user)
    response = _inbox(client, w.provider_user, "grants")
    assert [g.pk for g in response.context["page"]] == [active.pk]
    # The city-assigned enterprise is under 诊断指派, not under matched demand.
    assert response.context["counts"] == {"grants": 1, "demand": 1, "events": 0, "assignments": 1}
    html = response.content.decode()
    assert f"/enterprises/{w.enterprise.pk}/" in html and w.enterprise.name in html


def test_demand_shows_gaps_only_when_the_assessments_scope_was_granted(client, w):
    maturity_result(w.enterprise)
    share(w, scope_assessments=True)
    profile_only = EnterpriseFactory(name="只授权档案的企业")
    maturity_result(profile_only)
    share(w, enterprise=profile_only)
    rows = {r.enterprise.pk: r for r in _inbox(client, w.provider_user, "demand").context["rows"]}
    full, partial = rows[w.enterprise.pk], rows[profile_only.pk]
    assert full.assessments_shared and full.assessed and full.level_label == "一级"
    # Mandatory gaps first (widest first), then optional ones; 三级 and n/a are no gap.
    assert [(g.key, g.level, g.mandatory) for g in full.gaps] == [
        ("quality", 0, True),
        ("production_control", 1, True),
        ("collaboration", 1, False),
    ]
    assert all(g.level < target_level() for g in full.gaps)
    assert not partial.assessments_shared and partial.gaps == []
    html = client.get("/matching/inbox/?tab=demand").content.decode()
    assert "只授权了企业档案" in html and "质量管理" in html


def test_demand_uses_the_newest_maturity_result(w):
    maturity_result(w.enterprise, levels={"quality": 0})
    newer = maturity_result(w.enterprise, levels={"quality": 1, "finance": 0}, level=2)
    Assessment.objects.filter(pk=newer.assessment_id).update(
        submitted_at=timezone.now() + dt.timedelta(minutes=1)
    )
    share(w, scope_assessments=True)
    [row] = demand_rows(w.provider_user, [w.enterprise])
    assert {g.key: g.level for g in row.gaps} == {"quality": 1, "finance": 0}
    assert row.level_label == "二级"


def test_demand_names_this_providers_products_from_the_newest_succeeded_run(client, w):
    share(w, scope_assessments=True)
    mine, also_mine = product(w.provider, name="质量云"), product(w.provider, name="设备云")
    theirs = product(w.other_provider, name="别家的产品")
    old = _run()
    _recommend(old, w.enterprise, also_mine)
    newest = _run()
    _recommend(newest, w.enterprise, mine, rank=1)
    _recommend(newest, w.enterprise, theirs, rank=2)
    failed = _run(status="failed")
    _recommend(failed, w.enterprise, also_mine)
    [row] = _inbox(client, w.provider_user, "demand").context["rows"]
    assert row.recommended == [mine]


def test_a_profile_only_grant_shows_no_recommendation_since_it_comes_from_the_assessment(client, w):
    share(w)  # profile only
    mine = product(w.provider, name="质量云")
    _recommend(_run(), w.enterprise, mine)
    response = _inbox(client, w.provider_user, "demand")
    [row] = response.context["rows"]
    assert row.recommended == []
    html = response.content.decode()
    assert "系统为该企业推荐了贵单位的产品" not in html and 'data-testid="profile-only"' in html
    assert not AccessLogEntry.objects.filter(enterprise=w.enterprise).exists()


def test_a_recommendation_shown_under_an_assessments_grant_is_logged_as_an_assessment_view(
    client, w
):
    share(w, scope_assessments=True)  # shared, but no assessment submitted
    mine = product(w.provider, name="质量云")
    _recommend(_run(), w.enterprise, mine)  # ranked by the enterprise's assessed levels
    html = _inbox(client, w.provider_user, "demand").content.decode()
    assert "系统为该企业推荐了贵单位的产品：" in html and "质量云" in html
    entry = AccessLogEntry.objects.get(enterprise=w.enterprise)
    assert entry.what == "assessments" and entry.viewer == w.provider_user


def test_inbox_gap_badges_name_the_levels_in_the_active_language(client, w):
    share(w, scope_assessments=True)
    maturity_result(w.enterprise, level=1)  # quality 0, production_control 1, equipment 3
    client.force_login(w.provider_user)
    client.cookies["django_language"] = "en"
    html = client.get("/matching/inbox/?tab=demand").content.decode()
    badges = html[html.index('data-testid="inbox-demand"') :]
    assert "Below Level 1" in badges and "Level 1" in badges
    for wrong in ("1级", "0级", "1/4", "一级", "未达一级"):
        assert wrong not in badges
    client.cookies["django_language"] = "zh-hans"
    html = client.get("/matching/inbox/?tab=demand").content.decode()
    assert "质量管理 未达一级" in html and "生产管控 一级" in html and "1级" not in html


def test_demand_lists_the_proposals_already_sent(client, w):
    share(w)
    p = proposal(w)
    [row] = _inbox(client, w.provider_user, "demand").context["rows"]
    assert row.proposals == [p]


def test_events_tab_lists_this_organisations_invitations_but_not_drafts(client, w):
    mine = EventInvitation.objects.create(event=_event(), organisation=w.provider.organisation)
    EventInvitation.objects.create(
        event=_event(state="draft"), organisation=w.provider.organisation
    )
    EventInvitation.objects.create(event=_event(), organisation=w.other_provider.organisation)
    response = _inbox(client, w.provider_user, "events")
    assert [i.pk for i in response.context["page"]] == [mine.pk]
    assert response.context["counts"]["events"] == 1
    assert f"/matching/events/{mine.event_id}/" in response.content.decode()


def test_assignments_tab_offers_to_start_the_diagnosis_and_starting_works(client, w):
    assigned = share(w, source="city_assignment", scope_assessments=True)
    response = _inbox(client, w.provider_user, "assignments")
    [(g, diagnoses)] = response.context["rows"]
    assert g.pk == assigned.pk and diagnoses == []
    assert f'action="/assessments/start/{w.enterprise.pk}/"' in response.content.decode()
    started = client.post(
        f"/assessments/start/{w.enterprise.pk}/", {"questionnaire": "maturity-2024"}
    )
    a = Assessment.objects.get(source="diagnosis")
    assert started.url == f"/assessments/{a.pk}/"
    [(_g, diagnoses)] = _inbox(client, w.provider_user, "assignments").context["rows"]
    assert diagnoses == [a]


def test_an_htmx_tab_switch_returns_only_the_card(client, w):
    client.force_login(w.provider_user)
    response = client.get("/matching/inbox/?tab=events", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'data-testid="inbox"' in html


def test_an_unknown_tab_falls_back_to_grants(client, w):
    assert _inbox(client, w.provider_user, "nonsense").context["tab"] == "grants"


def _world_rows(w, n):
    run = MatchRun.objects.filter(status="succeeded").first() or _run()
    item = product(w.provider)
    for i in range(n):
        e = EnterpriseFactory()
        maturity_result(e)
        share(w, enterprise=e, scope_assessments=True)
        share(w, enterprise=e, source="city_assignment", scope_assessments=True)
        _recommend(run, e, item)
        proposal(w, enterprise=e, title=f"方案{i}")
        EventInvitation.objects.create(
            event=_event(title=f"对接会{i}"), organisation=w.provider.organisation
        )


@pytest.mark.parametrize("tab", ["grants", "demand", "events", "assignments"])
def test_each_tab_costs_the_same_queries_for_3_and_20_rows(client, w, tab):
    client.force_login(w.provider_user)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/matching/inbox/?tab={tab}").status_code == 200
        return len(ctx.captured_queries)

    _world_rows(w, 3)
    few = count()
    _world_rows(w, 17)
    assert count() == few
