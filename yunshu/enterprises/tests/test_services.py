import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from yunshu.accounts.models import Organisation, Role, User
from yunshu.core.audit import audit_verify
from yunshu.core.models import AuditEntry, Cluster, Industry, Notification
from yunshu.core.size_class import SizeClass
from yunshu.enterprises import selectors, services
from yunshu.enterprises.models import AccessLogEntry, DataGrant, Enterprise, EnterpriseClaim
from yunshu.factories import EnterpriseFactory, grant, town, user_for

pytestmark = pytest.mark.django_db


def test_editing_employees_recomputes_size_class_and_audits_before_and_after():
    e = EnterpriseFactory(employees=50, revenue=Decimal("8000000"))
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    assert e.size_class == SizeClass.SMALL
    services.enterprise_update(enterprise=e, by=owner, data={"employees": 10})
    e.refresh_from_db()
    assert e.size_class == SizeClass.MICRO
    entry = AuditEntry.objects.filter(action="enterprise.update", object_id=str(e.pk)).get()
    assert entry.before == {"employees": 50, "size_class": "small"}
    assert entry.after == {"employees": 10, "size_class": "micro"}
    assert entry.actor_id == owner.pk
    assert audit_verify()[1] is None


def test_cluster_follows_the_division_unless_overridden():
    e = EnterpriseFactory(industry=Industry.objects.get(code="18"))
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    services.enterprise_update(
        enterprise=e, by=owner, data={"industry": Industry.objects.get(code="39")}
    )
    e.refresh_from_db()
    assert e.cluster.key == "electronics"
    toys = Cluster.objects.get(key="toys")
    services.enterprise_update(
        enterprise=e, by=owner, data={"cluster": toys, "cluster_overridden": True}
    )
    services.enterprise_update(
        enterprise=e, by=owner, data={"industry": Industry.objects.get(code="33")}
    )
    e.refresh_from_db()
    assert e.cluster == toys


def test_someone_else_cannot_update_an_enterprise_and_nothing_changes():
    e = EnterpriseFactory(name="原名")
    for role in (Role.CITY, Role.TOWN, Role.PROVIDER):
        with pytest.raises(Http404):
            services.enterprise_update(enterprise=e, by=user_for(role), data={"name": "新名"})
    e.refresh_from_db()
    assert e.name == "原名"
    assert not AuditEntry.objects.filter(action="enterprise.update").exists()


def test_update_refuses_fields_the_enterprise_may_not_change():
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    with pytest.raises(ValidationError):
        services.enterprise_update(enterprise=e, by=owner, data={"uscc": "91441900000000000X"})


def _signup(**kw):
    data = {
        "uscc": "9144190061816318 6q",
        "name": "广东生益科技股份有限公司",
        "town": town("松山湖"),
        "industry": Industry.objects.get(code="39"),
        "contact_name": "张三",
        "contact_phone": "13800000000",
        "username": "shengyi",
        "email": "it@example.test",
        "password": "a-long-password-1",
    }
    return services.enterprise_signup(**(data | kw))


def test_signup_with_a_new_code_creates_a_record_awaiting_verification_and_tells_the_town():
    officer = user_for(Role.TOWN, town_name="松山湖")
    user, claim = _signup()
    assert claim is None
    e = Enterprise.objects.get(uscc="91441900618163186Q")
    assert e.verification == "pending" and user.organisation.enterprise == e
    assert Notification.objects.filter(recipient=officer).exists()
    services.enterprise_verify(enterprise=e, by=officer)
    e.refresh_from_db()
    assert e.verification == "verified"


def test_signup_with_a_known_code_becomes_a_claim_that_the_town_approves():
    e = EnterpriseFactory(town=town("虎门"))
    officer = user_for(Role.TOWN, town_name="虎门")
    other_town = user_for(Role.TOWN, town_name="长安")
    user, claim = _signup(uscc=e.uscc, username="claimer")
    assert claim is not None and user.organisation.enterprise is None
    assert list(selectors.enterprises_visible_to(user)) == []
    assert claim not in selectors.claims_reviewable_by(other_town)
    with pytest.raises(Http404):
        services.claim_decide(claim=claim, by=other_town, approve=True)
    services.claim_decide(claim=claim, by=officer, approve=True)
    user.refresh_from_db()
    assert list(selectors.enterprises_visible_to(user)) == [e]
    assert Notification.objects.filter(recipient=user, subject__contains="通过").exists()


def test_a_second_claim_on_an_already_claimed_enterprise_is_refused():
    e = EnterpriseFactory()
    user_for(Role.ENTERPRISE, enterprise=e)
    with pytest.raises(ValidationError):
        _signup(uscc=e.uscc, username="late")
    assert not User.objects.filter(username="late").exists()
    assert not EnterpriseClaim.objects.exists()


def test_signup_with_an_invalid_code_is_refused_with_the_reason_and_creates_nothing():
    with pytest.raises(ValidationError) as exc:
        _signup(uscc="91441900618163186A")
    assert "uscc" in exc.value.message_dict
    assert not Organisation.objects.filter(kind=Role.ENTERPRISE).exists()


def test_grant_lets_the_provider_see_the_profile_until_revoked():
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    provider = user_for(Role.PROVIDER)
    expires = timezone.now() + dt.timedelta(days=10)
    g = services.grant_create(
        enterprise=e, provider=provider.organisation, by=owner, expires_at=expires
    )
    assert list(selectors.enterprises_visible_to(provider)) == [e]
    assert list(selectors.enterprises_visible_to(provider, scope="assessments")) == []
    services.grant_revoke(grant=g, by=owner)
    assert list(selectors.enterprises_visible_to(provider)) == []
    assert AuditEntry.objects.filter(action__in=["grant.create", "grant.revoke"]).count() == 2


def test_grant_expires_by_itself():
    e = EnterpriseFactory()
    provider = user_for(Role.PROVIDER)
    g = grant(e, provider, expires_at=timezone.now() + dt.timedelta(seconds=5))
    assert selectors.enterprises_visible_to(provider).count() == 1
    later = timezone.now() + dt.timedelta(seconds=10)
    assert not selectors.active_grants(at=later).filter(pk=g.pk).exists()


def test_only_the_enterprise_may_grant_access_to_its_data():
    e = EnterpriseFactory()
    provider = user_for(Role.PROVIDER)
    expires = timezone.now() + dt.timedelta(days=10)
    for role in (Role.CITY, Role.TOWN, Role.PROVIDER):
        with pytest.raises(Http404):
            services.grant_create(
                enterprise=e, provider=provider.organisation, by=user_for(role), expires_at=expires
            )
    other = user_for(Role.ENTERPRISE)
    with pytest.raises(Http404):
        services.grant_create(
            enterprise=e, provider=provider.organisation, by=other, expires_at=expires
        )
    assert not DataGrant.objects.exists()


def test_city_assigns_a_lead_provider_only_for_an_enterprise_on_the_transformation_list():
    from yunshu.factories import provider, provider_user

    e = EnterpriseFactory(on_transformation_list=False)
    city = user_for(Role.CITY)
    lead = provider_user(provider(lead=True))
    ordinary = provider_user(provider())
    expires = timezone.now() + dt.timedelta(days=60)
    with pytest.raises(Http404):
        services.diagnosis_assign(
            enterprise=e, provider=lead.organisation, by=city, expires_at=expires
        )
    Enterprise.objects.filter(pk=e.pk).update(on_transformation_list=True)
    e.refresh_from_db()
    with pytest.raises(ValidationError):
        services.diagnosis_assign(
            enterprise=e, provider=ordinary.organisation, by=city, expires_at=expires
        )
    g = services.diagnosis_assign(
        enterprise=e, provider=lead.organisation, by=city, expires_at=expires
    )
    assert g.source == DataGrant.Source.CITY_ASSIGNMENT
    assert list(selectors.enterprises_visible_to(lead, scope="assessments")) == [e]


def test_a_lead_provider_outside_the_pool_cannot_be_assigned_a_diagnosis():
    from yunshu.factories import provider

    e = EnterpriseFactory(on_transformation_list=True)
    city = user_for(Role.CITY)
    expires = timezone.now() + dt.timedelta(days=60)
    outside = [
        provider(lead=True, state="suspended").organisation,
        provider(lead=True, state="submitted").organisation,
        user_for(Role.PROVIDER, lead=True, pool_state=None).organisation,  # no pool record
    ]
    for org in outside:
        with pytest.raises(ValidationError):
            services.diagnosis_assign(enterprise=e, provider=org, by=city, expires_at=expires)
    assert not DataGrant.objects.exists()


def test_views_by_outsiders_are_logged_for_the_enterprise_but_its_own_views_are_not(client):
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    city = user_for(Role.CITY)
    provider = user_for(Role.PROVIDER)
    grant(e, provider)
    for user in (owner, city, provider):
        client.force_login(user)
        assert client.get(f"/enterprises/{e.pk}/").status_code == 200
    client.force_login(city)
    client.get("/enterprises/")  # list rows are not logged
    log = AccessLogEntry.objects.filter(enterprise=e)
    assert {entry.viewer_id for entry in log} == {city.pk, provider.pk}
    assert set(selectors.access_log_for(owner, e)) == set(log)
    assert list(selectors.access_log_for(provider, e)) == []
    client.force_login(owner)
    assert "谁看过我的数据" in client.get(f"/enterprises/{e.pk}/").content.decode()


def test_export_by_an_officer_is_logged_for_each_exported_enterprise(client):
    rows = [EnterpriseFactory(town=town("虎门")) for _ in range(3)]
    officer = user_for(Role.TOWN, town_name="虎门")
    client.force_login(officer)
    response = client.get("/enterprises/export.xlsx")
    b"".join(response.streaming_content)
    assert AccessLogEntry.objects.filter(what="export", viewer=officer).count() == len(rows)


def test_notify_sends_in_app_and_email():
    from yunshu.core.notifications import notifications_unread_count, notify

    user = user_for(Role.CITY)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        notify(recipients=[user], subject="测试通知", body="正文")
    assert notifications_unread_count(user) == 1
    assert mail.outbox[-1].subject == "测试通知"


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_a_suspended_or_revoked_provider_loses_what_enterprises_shared_with_it(action):
    from yunshu.assessments.selectors import assessments_visible_to
    from yunshu.enterprises.selectors import enterprises_visible_to
    from yunshu.factories import grant, provider, provider_user
    from yunshu.providers.models import VettingState

    record = provider()
    reader = provider_user(record)
    enterprise = EnterpriseFactory()
    grant(enterprise, reader, scope_assessments=True)
    assert enterprises_visible_to(reader).filter(pk=enterprise.pk).exists()
    record.vetting_state = VettingState.SUSPENDED if action == "suspend" else VettingState.REVOKED
    record.save()
    assert not enterprises_visible_to(reader).exists()
    assert not enterprises_visible_to(reader, scope="assessments").exists()
    assert not assessments_visible_to(reader).exists()
    if action == "suspend":
        # Reinstated before the grant expires: the grant is in force again.
        record.vetting_state = VettingState.APPROVED
        record.save()
        assert enterprises_visible_to(reader).filter(pk=enterprise.pk).exists()


def test_no_grant_can_be_made_to_a_provider_outside_the_pool():
    from yunshu.factories import provider

    enterprise = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=enterprise, is_org_admin=True)
    pending = provider(state="submitted")
    with pytest.raises(ValidationError) as exc:
        services.grant_create(
            enterprise=enterprise,
            provider=pending.organisation,
            by=owner,
            expires_at=timezone.now() + dt.timedelta(days=30),
        )
    assert "资源池" in str(exc.value)
    assert not DataGrant.objects.exists()
