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
from yunshu.factories import provider, provider_user, user_for, valid_certificate
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
    colleague = user_for(Role.CITY)
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
    # The other officers are told; the one who acted is not told of what they just did.
    assert Notification.objects.filter(recipient=colleague).count() == len(steps)
    assert not Notification.objects.filter(recipient=city).exists()


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


@pytest.mark.parametrize("state", [s for s in S.values if s not in (S.REJECTED, S.RETURNED)])
def test_a_provider_can_resubmit_only_from_rejected_or_returned(state):
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
    valid_certificate(record)
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


# -- return for correction ----------------------------------------------------------------------


def test_returning_for_correction_needs_a_reason_and_the_provider_resubmits_at_once(city):
    record = provider(state=S.UNDER_REVIEW)
    admin = _admin(record)
    with pytest.raises(ValidationError) as exc:
        vetting.provider_transition(provider=record, action="return", by=city, reason=" ")
    assert "reason" in exc.value.message_dict
    record = vetting.provider_transition(
        provider=record, action="return", by=city, reason="请补充近一年的服务案例"
    )
    assert record.vetting_state == S.RETURNED
    assert vetting.reapply_allowed_from(record) is None  # no waiting after a return
    note = Notification.objects.get(recipient=admin)
    assert "退回补充材料" in note.subject and "服务案例" in note.body
    assert AuditEntry.objects.get(action="provider.return").after["vetting_state"] == S.RETURNED
    # The provider may still edit its profile while it is returned, and sends it straight back.
    vetting.provider_profile_update(provider=record, by=admin, data={"summary": "补充后的简介"})
    record = vetting.provider_transition(provider=record, action="resubmit", by=admin)
    assert record.vetting_state == S.SUBMITTED
    history = list(record.vetting_events.values_list("action", flat=True))
    assert history == ["return", "resubmit"]


def test_the_year_long_wait_follows_only_a_final_rejection(city, settings):
    settings.PROVIDER_REAPPLY_WAIT_DAYS = 365
    returned = provider(state=S.UNDER_REVIEW)
    vetting.provider_transition(provider=returned, action="return", by=city, reason="补材料")
    vetting.provider_transition(provider=returned, action="resubmit", by=_admin(returned))
    rejected = provider(state=S.UNDER_REVIEW)
    vetting.provider_transition(provider=rejected, action="reject", by=city, reason="不符合")
    with pytest.raises(ValidationError):
        vetting.provider_transition(provider=rejected, action="resubmit", by=_admin(rejected))


def test_a_profile_edit_while_rejected_does_not_restart_the_wait(city):
    start = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        record = provider(state=S.UNDER_REVIEW)
        vetting.provider_transition(provider=record, action="reject", by=city, reason="材料不全")
    with time_machine.travel(start + dt.timedelta(days=100), tick=False):
        vetting.provider_profile_update(
            provider=record, by=_admin(record), data={"name": "东莞市改名科技有限公司"}
        )
    record.refresh_from_db()
    assert vetting.reapply_allowed_from(record) == dt.date(2027, 3, 1)


# -- wording of what people are told -----------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "action", "words"),
    [
        (S.UNDER_REVIEW, "reject", "的入库申请未通过"),
        (S.APPROVED, "suspend", "的入库资格已暂停"),
        (S.SUSPENDED, "revoke", "已从服务商资源池除名"),
    ],
)
def test_notifications_say_what_happened_once_without_repeating_the_state(
    city, state, action, words
):
    record = provider(state=state, name="东莞市测字科技有限公司")
    admin = _admin(record)
    vetting.provider_transition(provider=record, action=action, by=city, reason="理由")
    subject = Notification.objects.get(recipient=admin).subject
    assert subject == f"东莞市测字科技有限公司{words}"


def test_a_refused_action_is_named_by_its_button_words(city):
    with pytest.raises(ValidationError) as exc:
        vetting.provider_transition(
            provider=provider(state=S.SUBMITTED), action="reject", by=city, reason="x"
        )
    assert "“不予通过”" in exc.value.messages[0]


# -- approval -------------------------------------------------------------------------------


def test_approval_computes_the_trust_rating_at_once(city):
    from yunshu.providers.models import Platform

    record = provider(state=S.UNDER_REVIEW)
    Platform.objects.create(
        provider=record, name="云平台", datacentre_location="东莞", encryption_in_transit=True
    )
    valid_certificate(record, level="三级")
    assert record.trust_grade == ""
    record = vetting.provider_transition(provider=record, action="approve", by=city)
    record.refresh_from_db()
    assert record.trust_grade and record.trust_score == 10 + 10 + 30
    assert any(r["code"] == "certificate_level" for r in record.trust_reasons)


def test_approving_a_provider_without_its_mandatory_certificate_hides_its_products(city):
    from yunshu.factories import product

    record = provider(state=S.UNDER_REVIEW)
    item = product(record)
    vetting.provider_transition(provider=record, action="approve", by=city)
    item.refresh_from_db()
    assert item.visibility == "hidden_certificate"
    assert item not in catalogue_products()
    [lapse] = vetting.certificate_lapses(record)
    assert lapse.missing and lapse.type.key == "dengbao"


# -- profile changes reach the vetting history -------------------------------------------------


def test_renaming_an_approved_provider_is_recorded_in_its_history_and_the_city_is_told(city):
    record = provider(state=S.APPROVED, name="东莞市旧名科技有限公司")
    admin = _admin(record)
    vetting.provider_profile_update(
        provider=record,
        by=admin,
        data={"name": "东莞市新名科技有限公司", "contact_phone": "0769-22123456", "summary": "x"},
    )
    event = record.vetting_events.get(action="profile_change")
    assert event.changes == {
        "name": ["东莞市旧名科技有限公司", "东莞市新名科技有限公司"],
        "contact_phone": ["", "0769-22123456"],
    }
    assert event.from_state == event.to_state == S.APPROVED and event.by == admin
    note = Notification.objects.get(recipient=city)
    assert "东莞市旧名科技有限公司" in note.subject and "东莞市新名科技有限公司" in note.body
    assert not Notification.objects.filter(recipient=admin).exists()


def test_a_summary_edit_is_not_an_identity_change_and_stays_out_of_the_history(city):
    record = provider(state=S.APPROVED)
    vetting.provider_profile_update(provider=record, by=_admin(record), data={"summary": "新"})
    assert not record.vetting_events.exists()
    assert not Notification.objects.filter(recipient=city).exists()


def test_the_lead_flag_changes_appear_in_the_vetting_history(city):
    record = provider(state=S.APPROVED)
    vetting.lead_provider_set(provider=record, lead=True, by=city)
    vetting.lead_provider_set(provider=record, lead=False, by=city)
    events = list(record.vetting_events.values_list("action", "changes"))
    assert events == [
        ("lead_set", {"is_lead_provider": [False, True]}),
        ("lead_unset", {"is_lead_provider": [True, False]}),
    ]


# -- what a provider declares --------------------------------------------------------------


@pytest.mark.parametrize(
    "phone", ["13800138000", "+86 138 0013 8000", "0769-22123456", "076922123456", "400-123-4567"]
)
def test_phone_numbers_in_the_usual_forms_are_accepted(phone):
    assert vetting.phone_problem(phone) == ""


@pytest.mark.parametrize("phone", ["1", "1380013800", "abc", "23800138000", "0769-123"])
def test_a_malformed_phone_number_is_refused_with_a_clear_message(phone):
    assert "11 位手机号" in vetting.phone_problem(phone)
    with pytest.raises(ValidationError) as exc:
        _register(contact_phone=phone)
    assert "contact_phone" in exc.value.message_dict
    assert not Provider.objects.exists()


def test_the_vetting_page_warns_of_a_code_registered_under_another_name_outside_the_city():
    from yunshu.factories import EnterpriseFactory

    code = make_uscc(_rng, area="440300")  # Shenzhen
    EnterpriseFactory(uscc=code, name="深圳市另一家制造有限公司")
    record = provider(state=S.SUBMITTED, name="东莞市同名科技有限公司")
    Provider.objects.filter(pk=record.pk).update(uscc=code)
    provider(state=S.REJECTED, name="东莞市同名科技有限公司")
    record.refresh_from_db()
    warnings = vetting.registration_warnings(record)
    assert len(warnings) == 3
    assert "深圳市另一家制造有限公司" in warnings[0]
    assert "440300" in warnings[1] and "441900" in warnings[1]
    assert "另有服务商使用相同名称" in warnings[2]


def test_a_plain_local_registration_raises_no_warning():
    from yunshu.factories import EnterpriseFactory

    record = provider(state=S.SUBMITTED)
    EnterpriseFactory(uscc=record.uscc, name=record.name)
    assert vetting.registration_warnings(record) == []


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
