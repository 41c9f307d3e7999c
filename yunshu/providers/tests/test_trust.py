"""The trust rating: hand-computed cases, hypothesis properties, and the stored refresh."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yunshu.core.models import AuditEntry
from yunshu.factories import provider
from yunshu.providers.catalogue_version import catalogue_version
from yunshu.providers.models import Certificate, CertificateType, Incident, Platform
from yunshu.providers.trust import (
    CertificateFacts,
    IncidentFacts,
    PlatformFacts,
    grade_for,
    provider_trust_refresh,
    reason_text,
    trust_refresh_all,
    trust_score,
    trust_tick,
)

BEST_PLATFORM = PlatformFacts(
    name="云启工业云",
    mainland=True,
    location="东莞松山湖",
    encryption_in_transit=True,
    encryption_at_rest=True,
    rpo_hours=1,
    rto_hours=4,
    exit_plan=True,
    data_return_days=15,
)
# Points come with the facts (from CertificateType.trust_points / level_points in the database).
DENGBAO_3 = CertificateFacts(
    "dengbao", "等保备案", mandatory=True, valid=True, level="三级", points=30
)
DENGBAO_2 = CertificateFacts(
    "dengbao", "等保备案", mandatory=True, valid=True, level="二级", points=20
)
DENGBAO_EXPIRED = CertificateFacts("dengbao", "等保备案", mandatory=True, expired=True, points=1)
DENGBAO_NONE = CertificateFacts("dengbao", "等保备案", mandatory=True, points=1)
ISO = CertificateFacts("iso27001", "ISO/IEC 27001 认证", valid=True, points=12)
TRUSTED = CertificateFacts("trusted_cloud", "可信云评估", valid=True, points=8)


def score(platforms=(), incidents=(), certificates=()):
    return trust_score(platforms=platforms, incidents=incidents, certificates=certificates)


# -- hand-computed cases ----------------------------------------------------------------------


def test_a_provider_with_everything_scores_100_and_grade_a():
    result = score([BEST_PLATFORM], [], [DENGBAO_3, ISO, TRUSTED])
    assert (result.score, result.grade) == (100, "A")
    assert sum(r.points for r in result.reasons) == 100


def test_typical_provider_hand_computed():
    platform = PlatformFacts(
        name="P",
        mainland=True,
        encryption_in_transit=True,
        rpo_hours=12,  # ≤ 24 h: 3
        rto_hours=48,  # > 24 h: 0
    )
    # 10 mainland + 10 transit + 0 at rest + 3 RPO + 0 RTO + 0 exit = 23; 等保二级 20 → 43
    assert score([platform], [], [DENGBAO_2]).score == 43
    resolved_medium = IncidentFacts("medium", resolved=True, age_days=100)  # −3
    assert score([platform], [resolved_medium], [DENGBAO_2]).score == 40
    unresolved_high_data = IncidentFacts("high", resolved=False, data_affected=True)  # −20 −8
    result = score([platform], [resolved_medium, unresolved_high_data], [DENGBAO_2])
    assert (result.score, result.grade) == (12, "D")


def test_expired_mandatory_certificate_costs_40_and_missing_costs_20():
    assert score([BEST_PLATFORM], [], [DENGBAO_EXPIRED, ISO]).score == 50 + 12 - 40
    assert score([BEST_PLATFORM], [], [DENGBAO_NONE, ISO]).score == 50 + 12 - 20
    codes = [r.code for r in score([BEST_PLATFORM], [], [DENGBAO_EXPIRED]).reasons]
    assert "mandatory_expired" in codes and "certificate_missing" in codes


def test_the_weakest_platform_counts_and_is_named():
    weak = PlatformFacts(name="海外备份", mainland=False, rpo_hours=2, rto_hours=2, exit_plan=True)
    # 0 + 0 + 0 + 5 + 5 + 6 + 0 (no return days) = 16
    result = score([BEST_PLATFORM, weak], [], [DENGBAO_3])
    assert result.score == 16 + 30
    assert result.reasons[0].code == "worst_platform"
    assert result.reasons[0].params == {"count": 2, "platform": "海外备份"}
    assert result.reasons[1].params["platform"] == "海外备份"


def test_no_platform_earns_no_platform_points():
    result = score([], [], [DENGBAO_3, ISO, TRUSTED])
    assert result.score == 50
    assert result.reasons[0].code == "no_platform"


def test_resolved_incidents_age_out_after_a_year_but_unresolved_ones_never_do():
    old_resolved = IncidentFacts("critical", resolved=True, age_days=400)
    old_open = IncidentFacts("critical", resolved=False, age_days=400)
    base = score([BEST_PLATFORM], [], [DENGBAO_3]).score
    assert score([BEST_PLATFORM], [old_resolved], [DENGBAO_3]).score == base
    assert score([BEST_PLATFORM], [old_open], [DENGBAO_3]).score == base - 30


def test_score_never_goes_below_zero():
    many = [IncidentFacts("critical", resolved=False, data_affected=True)] * 10
    result = score([], many, [DENGBAO_EXPIRED])
    assert (result.score, result.grade) == (0, "D")


@pytest.mark.parametrize(
    ("value", "grade"),
    [(100, "A"), (85, "A"), (84, "B"), (65, "B"), (64, "C"), (45, "C"), (44, "D")],
)
def test_grade_boundaries(value, grade):
    assert grade_for(value) == grade


def test_reasons_read_as_plain_words():
    result = score(
        [BEST_PLATFORM],
        [IncidentFacts("high", resolved=False, data_affected=True)],
        [DENGBAO_3],
    )
    texts = [r.text for r in result.reasons]
    assert "「云启工业云」启用存储加密" in texts
    assert "有效的等保备案，三级" in texts
    assert "1 起未处置完毕的重大安全事件（其中 1 起涉及客户数据）" in texts
    assert reason_text({"code": "unknown-code"}) == "unknown-code"


# -- properties -------------------------------------------------------------------------------

platforms_st = st.builds(
    PlatformFacts,
    name=st.sampled_from(["甲", "乙", "丙"]),
    mainland=st.booleans(),
    encryption_in_transit=st.booleans(),
    encryption_at_rest=st.booleans(),
    rpo_hours=st.none() | st.integers(0, 200),
    rto_hours=st.none() | st.integers(0, 200),
    exit_plan=st.booleans(),
    data_return_days=st.none() | st.integers(0, 120),
)
incidents_st = st.builds(
    IncidentFacts,
    severity=st.sampled_from(["low", "medium", "high", "critical"]),
    resolved=st.booleans(),
    data_affected=st.booleans(),
    age_days=st.integers(0, 800),
)


@st.composite
def certificates_st(draw):
    out = []
    standing = draw(st.sampled_from(["valid", "expired", "none"]))
    level = draw(st.sampled_from(["二级", "三级", "四级", ""])) if standing == "valid" else ""
    out.append(
        CertificateFacts(
            "dengbao",
            "等保",
            mandatory=True,
            valid=standing == "valid",
            expired=standing == "expired",
            level=level,
            points={"二级": 20, "三级": 30, "四级": 30}.get(level, 10),
        )
    )
    for key, points in (("iso27001", 12), ("trusted_cloud", 8), ("later_type", 15)):
        standing = draw(st.sampled_from(["valid", "expired", "absent"]))
        if standing != "absent":
            out.append(
                CertificateFacts(
                    key,
                    key,
                    valid=standing == "valid",
                    expired=standing == "expired",
                    points=points,
                )
            )
    return out


world = st.tuples(
    st.lists(platforms_st, max_size=3), st.lists(incidents_st, max_size=6), certificates_st()
)


@settings(max_examples=300, deadline=None)
@given(world)
def test_score_is_within_0_and_100_and_matches_its_reasons_and_grade(w):
    platforms, incidents, certificates = w
    result = score(platforms, incidents, certificates)
    assert 0 <= result.score <= 100
    assert result.score == max(0, min(100, sum(r.points for r in result.reasons)))
    assert result.grade == grade_for(result.score)
    assert all(r.text for r in result.reasons)


@settings(max_examples=300, deadline=None)
@given(world, st.booleans(), st.integers(0, 800))
def test_adding_an_unresolved_critical_incident_never_raises_the_score(w, data, age):
    platforms, incidents, certificates = w
    before = score(platforms, incidents, certificates).score
    worse = [
        *incidents,
        IncidentFacts("critical", resolved=False, data_affected=data, age_days=age),
    ]
    assert score(platforms, worse, certificates).score <= before


@settings(max_examples=300, deadline=None)
@given(world, st.data())
def test_resolving_an_incident_never_lowers_the_score(w, data):
    platforms, incidents, certificates = w
    if not incidents:
        return
    i = data.draw(st.integers(0, len(incidents) - 1))
    fixed = list(incidents)
    fixed[i] = dataclasses.replace(fixed[i], resolved=True)
    assert (
        score(platforms, fixed, certificates).score
        >= score(platforms, incidents, certificates).score
    )


IMPROVEMENTS = [
    {"encryption_in_transit": True},
    {"encryption_at_rest": True},
    {"mainland": True},
    {"exit_plan": True},
]


@settings(max_examples=300, deadline=None)
@given(world, st.data())
def test_improving_a_platform_never_lowers_the_score(w, data):
    platforms, incidents, certificates = w
    if not platforms:
        return
    i = data.draw(st.integers(0, len(platforms) - 1))
    p = platforms[i]
    change = data.draw(
        st.sampled_from(
            [
                *IMPROVEMENTS,
                {"rpo_hours": 0 if p.rpo_hours is None else max(0, p.rpo_hours - 10)},
                {"rto_hours": 0 if p.rto_hours is None else max(0, p.rto_hours - 10)},
                {
                    "data_return_days": 0
                    if p.data_return_days is None
                    else max(0, p.data_return_days - 10)
                },
            ]
        )
    )
    better = list(platforms)
    better[i] = dataclasses.replace(p, **change)
    assert (
        score(better, incidents, certificates).score
        >= score(platforms, incidents, certificates).score
    )


@settings(max_examples=200, deadline=None)
@given(world, st.sampled_from(["dengbao", "iso27001", "trusted_cloud", "later_type"]))
def test_a_valid_certificate_never_lowers_the_score(w, key):
    platforms, incidents, certificates = w
    others = [c for c in certificates if c.type_key != key]
    old = next((c for c in certificates if c.type_key == key), None)
    points = {"dengbao": 30, "iso27001": 12, "trusted_cloud": 8, "later_type": 15}[key]
    valid = CertificateFacts(
        key,
        key,
        mandatory=key == "dengbao",
        valid=True,
        level="三级" if key == "dengbao" else "",
        points=points,
    )
    before = score(platforms, incidents, certificates).score
    assert score(platforms, incidents, [*others, valid]).score >= before
    if old is not None and old.valid and key == "dengbao":
        # Raising the 等保 level never lowers it either.
        lower = dataclasses.replace(old, level="二级", points=20)
        assert (
            score(platforms, incidents, [*others, lower]).score
            <= score(platforms, incidents, [*others, valid]).score
        )


# -- stored on the provider -------------------------------------------------------------------


def _platform(prov, **kw):
    fields = {
        "name": "云启工业云",
        "datacentre_location": "东莞",
        "datacentre_mainland": True,
        "encryption_in_transit": True,
        "encryption_at_rest": True,
        "backup_rpo_hours": 1,
        "backup_rto_hours": 4,
        "exit_plan": "导出 CSV 并删除",
        "data_return_days": 15,
    }
    fields.update(kw)
    return Platform.objects.create(provider=prov, **fields)


def _certificate(prov, key, *, status="approved", expires=None, level=""):
    today = dt.date.today()
    return Certificate.objects.create(
        provider=prov,
        type=CertificateType.objects.get(key=key),
        level=level,
        number=f"{key}-1",
        issued_on=today - dt.timedelta(days=400),
        expires_on=expires or today + dt.timedelta(days=300),
        status=status,
    )


@pytest.mark.django_db
def test_refresh_stores_score_grade_reasons_bumps_the_catalogue_and_audits():
    prov = provider()
    _platform(prov)
    _certificate(prov, "dengbao", level="三级")
    _certificate(prov, "iso27001")
    _certificate(prov, "trusted_cloud", status="pending")  # not yet approved: no points
    version = catalogue_version()
    provider_trust_refresh(provider=prov)
    prov.refresh_from_db()
    assert (prov.trust_score, prov.trust_grade) == (92, "A")
    iso = CertificateType.objects.get(key="iso27001")
    assert {
        "code": "certificate",
        "points": 12,
        "params": {"name": iso.name_zh, "name_en": iso.name_en},
    } in prov.trust_reasons
    assert catalogue_version() > version
    entry = AuditEntry.objects.filter(action="provider.trust_refresh").last()
    assert (entry.after["trust_score"], entry.after["trust_grade"]) == (92, "A")
    assert entry.after["trust_reasons"] == prov.trust_reasons


@pytest.mark.django_db
def test_an_expired_approved_mandatory_certificate_is_a_big_penalty():
    prov = provider()
    _platform(prov)
    _certificate(prov, "dengbao", level="三级", expires=dt.date.today() - dt.timedelta(days=1))
    provider_trust_refresh(provider=prov)
    prov.refresh_from_db()
    assert prov.trust_score == 50 - 40
    assert any(r["code"] == "mandatory_expired" for r in prov.trust_reasons)


@pytest.mark.django_db
def test_daily_refresh_lets_a_resolved_incident_age_out():
    prov = provider()
    platform = _platform(prov)
    _certificate(prov, "dengbao", level="三级")
    now = dt.datetime.now(dt.UTC)
    Incident.objects.create(
        platform=platform,
        occurred_at=now - dt.timedelta(days=364),
        severity="critical",
        summary="勒索",
        resolved_at=now - dt.timedelta(days=360),
        resolution="已恢复",
    )
    provider_trust_refresh(provider=prov)
    prov.refresh_from_db()
    assert prov.trust_score == 80 - 10
    Incident.objects.update(occurred_at=now - dt.timedelta(days=370))
    assert trust_refresh_all() == 1
    prov.refresh_from_db()
    assert prov.trust_score == 80
    assert trust_refresh_all() == 0  # nothing changed: nothing written
    assert trust_tick(dt.date.today())["trust_changed"] == 0


# -- certificate points are data on the type ----------------------------------------------------


@pytest.mark.django_db
def test_the_seeded_types_keep_the_points_the_code_used_to_hard_code():
    points = {
        t.key: (t.trust_points, t.level_points)
        for t in CertificateType.objects.filter(key__in=["dengbao", "iso27001", "trusted_cloud"])
    }
    assert points == {
        "dengbao": (10, {"四级": 30, "三级": 30, "二级": 20}),
        "iso27001": (12, {}),
        "trusted_cloud": (8, {}),
    }
    assert CertificateType.objects.get(key="cmmi").trust_points == 0


@pytest.mark.django_db
def test_a_certificate_type_added_later_earns_the_points_set_on_it():
    prov = provider()
    _platform(prov)
    _certificate(prov, "dengbao", level="三级")
    CertificateType.objects.create(
        key="dsmm", name_zh="数据安全能力成熟度认证", name_en="DSMM", trust_points=6
    )
    _certificate(prov, "dsmm")
    provider_trust_refresh(provider=prov)
    prov.refresh_from_db()
    assert prov.trust_score == 50 + 30 + 6
    [reason] = [r for r in prov.trust_reasons if r["params"].get("name_en") == "DSMM"]
    assert reason["points"] == 6 and reason_text(reason) == "有效的数据安全能力成熟度认证"


def test_certificate_points_never_add_up_to_more_than_50():
    many = [CertificateFacts(f"t{i}", f"证书{i}", valid=True, points=20) for i in range(4)]
    result = score([], [], many)
    assert result.score == 50
    assert result.reasons[-2].code == "certificates_capped" and result.reasons[-2].points == -30


# -- stored only when it changes ----------------------------------------------------------------


@pytest.mark.django_db
def test_an_unchanged_rating_neither_bumps_the_catalogue_nor_writes_an_audit_entry():
    prov = provider()
    _platform(prov)
    assert provider_trust_refresh(provider=prov) is True
    version, entries = catalogue_version(), AuditEntry.objects.count()
    assert provider_trust_refresh(provider=prov) is False
    assert catalogue_version() == version and AuditEntry.objects.count() == entries


@pytest.mark.django_db
def test_a_change_of_reasons_alone_is_stored_and_audited():
    prov = provider()
    platform = _platform(prov)
    provider_trust_refresh(provider=prov)
    prov.refresh_from_db()
    score_before = prov.trust_score
    Platform.objects.filter(pk=platform.pk).update(name="云启工业云二期")
    version = catalogue_version()
    assert provider_trust_refresh(provider=prov) is True
    prov.refresh_from_db()
    assert prov.trust_score == score_before
    entry = AuditEntry.objects.filter(action="provider.trust_refresh").last()
    assert entry.before["trust_score"] == entry.after["trust_score"]
    assert entry.before["trust_reasons"] != entry.after["trust_reasons"]
    assert catalogue_version() == version + 1


@pytest.mark.django_db
def test_the_trust_job_refreshes_once_a_day_however_often_the_scheduler_ticks(
    django_assert_max_num_queries,
):
    for _ in range(3):
        _platform(provider())
    day = dt.date(2026, 5, 4)
    first = trust_tick(day)
    assert first == {"trust_changed": 3, "trust_checked": 3}
    with django_assert_max_num_queries(2):
        assert trust_tick(day) == {"trust_changed": 0, "trust_checked": 0}
    assert trust_tick(day + dt.timedelta(days=1))["trust_checked"] == 3
    assert AuditEntry.objects.filter(action="schedule.trust_daily").count() == 2


# -- whose word a platform fact is ------------------------------------------------------------


def test_platform_reasons_say_self_declared_until_the_city_verifies_them():
    from yunshu.providers.trust import basis_text, reason_basis

    declared = score([BEST_PLATFORM], [], [DENGBAO_3]).reasons
    verified = score([dataclasses.replace(BEST_PLATFORM, verified=True)], [], [DENGBAO_3]).reasons
    mainland = next(r.as_json() for r in declared if r.code == "mainland")
    assert basis_text(mainland) == "服务商自报"
    assert basis_text(next(r.as_json() for r in verified if r.code == "mainland")) == (
        "市工信局已核实"
    )
    dengbao = next(r.as_json() for r in declared if r.code == "certificate_level")
    assert reason_basis(dengbao) == ""  # a certificate the city approved is not self-declared
