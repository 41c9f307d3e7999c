"""Provider registration and the vetting workflow: one table, one service, every path."""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.http import Http404

from yunshu.accounts.models import Organisation, Role, User
from yunshu.core.demo import make_uscc
from yunshu.core.models import AuditEntry, Cluster, Notification, Town
from yunshu.factories import provider, provider_user, user_for
from yunshu.providers import vetting
from yunshu.providers.catalogue_version import catalogue_version
from yunshu.providers.models import Provider, VettingEvent, VettingState
from yunshu.providers.selectors import catalogue_products

pytestmark = pytest.mark.django_db
S = VettingState
_rng = random.Random(404)


def _profile(**overrides):
    data = {
        "name": "东莞市新云数字科技有限公司",
        "summary": "面向电子制造的 MES 和设备上云",
        "description": "十年制造业信息化经验",
        "website": "https://example.com",
        "contact_name": "李工",
        "contact_phone": "13800000000",
        "address": "东莞市松山湖",
        "towns_served": list(Town.objects.filter(name_zh__in=["虎门", "长安"])),
        "clusters_served": list(Cluster.objects.all()[:2]),
    }
    data.update(overrides)
    return data


def _register(**overrides):
    fields = {
        "uscc": make_uscc(_rng),
        "username": f"newprov{_rng.randint(0, 10**9)}",
        "email": "boss@example.test",
        "password": "a-long-pass-phrase-9",
        **_profile(),
    }
    fields.update(overrides)
    return vetting.provider_register(**fields)


@pytest.fixture
def city():
    return user_for(Role.CITY)


def _admin(record):
    return provider_user(record, is_org_admin=True)


# -- registration -----------------------------------------------------------------------------


def test_registration_creates_organisation_admin_and_a_submitted_application(city):
    version = catalogue_version()
    user, record = _register()
    assert user.is_org_admin and user.check_password("a-long-pass-phrase-9")
    org = user.organisation
    assert org.kind == Role.PROVIDER and org.uscc == record.uscc and org.name == record.name
    assert record.vetting_state == S.SUBMITTED and record.organisation == org
    assert {t.name_zh for t in record.towns_served.all()} == {"虎门", "长安"}
    assert record.clusters_served.count() == 2
    [event] = record.vetting_events.all()
    assert (event.action, event.from_state, event.to_state, event.by) == (
        "submit",
        "",
        S.SUBMITTED,
        user,
    )
    assert AuditEntry.objects.filter(action="provider.register", object_id=str(record.pk)).exists()
    assert Notification.objects.filter(recipient=city, subject__contains=record.name).exists()
    assert catalogue_version() == version  # not in the pool yet: matching has nothing new


def test_registration_with_a_bad_credit_code_names_the_field_and_creates_nothing():
    before = (Organisation.objects.count(), User.objects.count(), Provider.objects.count())
    with pytest.raises(ValidationError) as exc:
        _register(uscc="91441900MA4UXXXXX1")
    assert "uscc" in exc.value.message_dict
    assert (Organisation.objects.count(), User.objects.count(), Provider.objects.count()) == before


def test_a_credit_code_registers_once_and_the_second_attempt_changes_nothing():
    _user, first = _register()
    before = (Organisation.objects.count(), User.objects.count())
    with pytest.raises(ValidationError) as exc:
        _register(uscc=first.uscc)
    assert "uscc" in exc.value.message_dict
    assert (Organisation.objects.count(), User.objects.count()) == before


def test_a_taken_username_is_refused_before_anything_is_written():
    user, _record = _register()
    count = Provider.objects.count()
    with pytest.raises(ValidationError) as exc:
        _register(username=user.username)
    assert "username" in exc.value.message_dict
    assert Provider.objects.count() == count


def test_an_existing_provider_organisation_without_a_record_applies_once():
    org = Organisation.objects.create(kind=Role.PROVIDER, name="东莞云启数字科技有限公司")
    admin = User.objects.create_user(username="provadmin", organisation=org, is_org_admin=True)
    record = vetting.provider_apply(by=admin, uscc=make_uscc(_rng), **_profile())
    org.refresh_from_db()
    assert record.vetting_state == S.SUBMITTED and org.uscc == record.uscc
    with pytest.raises(ValidationError):  # a second click
        vetting.provider_apply(by=admin, uscc=record.uscc, **_profile())
    assert Provider.objects.filter(organisation=org).count() == 1


def test_only_the_organisations_admin_may_apply_and_the_code_must_match_its_own():
    org = Organisation.objects.create(kind=Role.PROVIDER, name="甲", uscc=make_uscc(_rng))
    member = User.objects.create_user(username="member", organisation=org)
    with pytest.raises(Http404):
        vetting.provider_apply(by=member, uscc=org.uscc, **_profile())
    admin = User.objects.create_user(username="admin1", organisation=org, is_org_admin=True)
    with pytest.raises(ValidationError) as exc:
        vetting.provider_apply(by=admin, uscc=make_uscc(_rng), **_profile())
    assert "uscc" in exc.value.message_dict
    with pytest.raises(Http404):
        vetting.provider_apply(by=user_for(Role.ENTERPRISE), uscc=org.uscc, **_profile())
    assert not Provider.objects.filter(organisation=org).exists()


# -- the transition table ---------------------------------------------------------------------


def test_the_whole_path_writes_state_history_audit_and_tells_both_sides(city):
    record = provider(state=S.SUBMITTED)
    admin = _admin(record)
    steps = [
        ("start_review", "", S.UNDER_REVIEW),
        ("approve", "", S.APPROVED),
        ("suspend", "两家客户投诉未处理", S.SUSPENDED),
        ("reinstate", "", S.APPROVED),
        ("suspend", "等保备案过期", S.SUSPENDED),
        ("revoke", "整改期满未整改", S.REVOKED),
    ]
    for action, reason, target in steps:
        version = catalogue_version()
        record = vetting.provider_transition(provider=record, action=action, by=city, reason=reason)
        assert record.vetting_state == target and record.vetting_reason == reason
        assert catalogue_version() == version + 1
        entry = AuditEntry.objects.filter(action=f"provider.{action}").latest("seq")
        assert entry.after["vetting_state"] == target and entry.actor_id == city.pk
        assert Notification.objects.filter(recipient=admin, subject__contains=record.name).exists()
    history = list(record.vetting_events.values_list("action", "to_state", "reason"))
    assert history == [(a, t, r) for a, r, t in steps]
    assert vetting.ACTION_LABELS["reinstate"] == "已恢复"
    assert Notification.objects.filter(recipient=admin).count() == len(steps)
    assert Notification.objects.filter(recipient=city).count() == len(steps)


def test_approval_puts_the_provider_in_the_pool_and_stamps_the_time(city):
    record = provider(state=S.UNDER_REVIEW)
    assert not record.is_in_pool
    record = vetting.provider_transition(provider=record, action="approve", by=city)
    assert record.is_in_pool and record.approved_at is not None


ALL_ACTIONS = sorted({action for _state, action in vetting.TRANSITIONS})


@pytest.mark.parametrize("state", S.values)
@pytest.mark.parametrize("action", [a for a in ALL_ACTIONS if a != "resubmit"])
def test_an_action_outside_the_table_is_refused_and_changes_nothing(city, state, action):
    if (state, action) in vetting.TRANSITIONS:
        return
    record = provider(state=state)
    with pytest.raises(ValidationError) as exc:
        vetting.provider_transition(provider=record, action=action, by=city, reason="理由")
    assert "不能执行" in exc.value.messages[0]
    record.refresh_from_db()
    assert record.vetting_state == state and not record.vetting_events.exists()
    assert not AuditEntry.objects.filter(action=f"provider.{action}").exists()


@pytest.mark.parametrize("state", [s for s in S.values if s != S.REJECTED])
def test_a_provider_can_resubmit_only_from_rejected(state):
    record = provider(state=state)
    with pytest.raises(ValidationError):
        vetting.provider_transition(provider=record, action="resubmit", by=_admin(record))


def test_an_unknown_action_is_a_404_like_any_forbidden_one(city):
    with pytest.raises(Http404):
        vetting.provider_transition(provider=provider(state=S.SUBMITTED), action="bless", by=city)


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.CITY])
def test_only_the_city_vets(role):
    record = provider(state=S.SUBMITTED)
    user = _admin(record) if role == Role.PROVIDER else user_for(role)
    with pytest.raises(Http404):
        vetting.provider_transition(provider=record, action="start_review", by=user)
    record.refresh_from_db()
    assert record.vetting_state == S.SUBMITTED


@pytest.mark.parametrize(
    "state,action", [(S.UNDER_REVIEW, "reject"), (S.APPROVED, "suspend"), (S.SUSPENDED, "revoke")]
)
def test_reject_suspend_and_revoke_need_a_reason(city, state, action):
    record = provider(state=state)
    with pytest.raises(ValidationError) as exc:
        vetting.provider_transition(provider=record, action=action, by=city, reason="   ")
    assert "reason" in exc.value.message_dict
    record.refresh_from_db()
    assert record.vetting_state == state


def test_a_double_click_acts_once(city):
    record = provider(state=S.UNDER_REVIEW)
    vetting.provider_transition(provider=record, action="approve", by=city)
    with pytest.raises(ValidationError):
        vetting.provider_transition(provider=record, action="approve", by=city)
    assert VettingEvent.objects.filter(provider=record, action="approve").count() == 1
    assert AuditEntry.objects.filter(action="provider.approve").count() == 1


def test_a_page_left_open_does_not_act_on_a_state_it_did_not_show(city):
    record = provider(state=S.UNDER_REVIEW)
    vetting.provider_transition(provider=record, action="approve", by=city)
    vetting.provider_transition(provider=record, action="suspend", by=city, reason="投诉")
    # A second officer still looking at the approved page presses “suspend” again.
    with pytest.raises(ValidationError) as exc:
        vetting.provider_transition(
            provider=record, action="suspend", by=city, reason="投诉", expected_state=S.APPROVED
        )
    assert "已变为" in exc.value.messages[0]
    assert VettingEvent.objects.filter(provider=record, action="suspend").count() == 1


@pytest.mark.parametrize("wait", [365, 10])
def test_a_rejected_provider_waits_the_configured_days_before_resubmitting(city, settings, wait):
    settings.PROVIDER_REAPPLY_WAIT_DAYS = wait
    start = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        record = provider(state=S.UNDER_REVIEW)
        vetting.provider_transition(provider=record, action="reject", by=city, reason="材料不全")
        record.refresh_from_db()
        assert vetting.reapply_allowed_from(record) == dt.date(2026, 3, 1) + dt.timedelta(wait)
    admin = _admin(record)
    with time_machine.travel(start + dt.timedelta(days=wait - 1), tick=False):
        with pytest.raises(ValidationError) as exc:
            vetting.provider_transition(provider=record, action="resubmit", by=admin)
        assert str(wait) in exc.value.messages[0]
    with time_machine.travel(start + dt.timedelta(days=wait), tick=False):
        record = vetting.provider_transition(provider=record, action="resubmit", by=admin)
    assert record.vetting_state == S.SUBMITTED
    assert record.submitted_at == start + dt.timedelta(days=wait)


def test_the_default_wait_is_a_year():
    assert vetting.reapply_wait_days() == 365


def test_revoking_a_lead_provider_takes_the_title_away(city):
    record = provider(state=S.SUSPENDED, lead=True)
    vetting.provider_transition(provider=record, action="revoke", by=city, reason="除名")
    record.organisation.refresh_from_db()
    assert not record.organisation.is_lead_provider
    assert AuditEntry.objects.get(action="provider.revoke").after["is_lead_provider"] is False


def test_suspension_takes_products_out_of_the_catalogue_and_reinstatement_brings_them_back(city):
    from yunshu.factories import product

    record = provider(state=S.APPROVED)
    item = product(record)
    assert item in catalogue_products()
    vetting.provider_transition(provider=record, action="suspend", by=city, reason="投诉")
    assert item not in catalogue_products()
    vetting.provider_transition(provider=record, action="reinstate", by=city)
    assert item in catalogue_products()


# -- lead provider and profile ----------------------------------------------------------------


def test_the_city_sets_and_unsets_the_lead_flag_with_an_audit_entry(city):
    record = provider(state=S.APPROVED)
    admin = _admin(record)
    version = catalogue_version()
    vetting.lead_provider_set(provider=record, lead=True, by=city)
    record.organisation.refresh_from_db()
    assert record.organisation.is_lead_provider
    assert catalogue_version() == version + 1
    vetting.lead_provider_set(provider=record, lead=True, by=city)  # again: nothing new
    assert AuditEntry.objects.filter(action="provider.lead_set").count() == 1
    vetting.lead_provider_set(provider=record, lead=False, by=city)
    record.organisation.refresh_from_db()
    assert not record.organisation.is_lead_provider
    assert AuditEntry.objects.filter(action="provider.lead_unset").count() == 1
    assert Notification.objects.filter(recipient=admin).count() == 2
    with pytest.raises(Http404):
        vetting.lead_provider_set(provider=record, lead=True, by=admin)


def test_only_a_provider_in_the_pool_can_become_a_lead_provider(city):
    record = provider(state=S.SUBMITTED)
    with pytest.raises(ValidationError):
        vetting.lead_provider_set(provider=record, lead=True, by=city)


def test_changing_towns_served_bumps_the_catalogue_and_is_audited():
    record = provider(state=S.APPROVED)
    admin = _admin(record)
    version = catalogue_version()
    humen = Town.objects.get(name_zh="虎门")
    vetting.provider_profile_update(provider=record, by=admin, data={"towns_served": [humen]})
    assert list(record.towns_served.all()) == [humen]
    assert catalogue_version() == version + 1
    entry = AuditEntry.objects.get(action="provider.update")
    assert entry.before == {"towns_served": []} and entry.after == {"towns_served": [humen.pk]}
    # The same towns again: nothing written, nothing bumped.
    vetting.provider_profile_update(provider=record, by=admin, data={"towns_served": [humen]})
    assert catalogue_version() == version + 1
    assert AuditEntry.objects.filter(action="provider.update").count() == 1


def test_a_summary_edit_is_audited_without_bumping_the_catalogue():
    record = provider(state=S.APPROVED)
    version = catalogue_version()
    vetting.provider_profile_update(
        provider=record, by=_admin(record), data={"summary": "新的简介"}
    )
    record.refresh_from_db()
    assert record.summary == "新的简介" and catalogue_version() == version


def test_profile_edits_are_for_the_providers_admin_only(city):
    record = provider(state=S.APPROVED)
    for user in (city, provider_user(record), _admin(provider())):
        with pytest.raises(Http404):
            vetting.provider_profile_update(provider=record, by=user, data={"summary": "x"})
    with pytest.raises(ValidationError) as exc:
        vetting.provider_profile_update(
            provider=record, by=_admin(record), data={"vetting_state": "approved"}
        )
    assert "vetting_state" in exc.value.message_dict


# -- concurrency (PostgreSQL) -----------------------------------------------------------------


def _race(n, work):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run(k):
        try:
            barrier.wait()
            results.append(work(k))
        except ValidationError as exc:
            errors.append(exc)
        except BaseException as exc:  # pragma: no cover - reported by the assertion
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_officers_approving_at_once_approve_once(reference_data):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL")
    city = user_for(Role.CITY)
    record = provider(state=S.UNDER_REVIEW)
    results, errors = _race(
        8, lambda k: vetting.provider_transition(provider=record, action="approve", by=city)
    )
    assert len(results) == 1 and len(errors) == 7
    assert all(isinstance(e, ValidationError) for e in errors)
    assert VettingEvent.objects.filter(provider=record, action="approve").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_credit_code_registered_at_once_makes_one_provider(reference_data):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL")
    code = make_uscc(_rng)
    results, errors = _race(6, lambda k: _register(uscc=code, username=f"racer{k}"))
    assert len(results) == 1, errors
    assert all(isinstance(e, ValidationError) for e in errors)
    assert Provider.objects.filter(uscc=code).count() == 1
    assert Organisation.objects.filter(uscc=code).count() == 1
    assert User.objects.filter(username__startswith="racer").count() == 1
