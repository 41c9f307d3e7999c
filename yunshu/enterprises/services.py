"""Every write to enterprises, grants and claims: one transaction, one audit entry each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yunshu.accounts.models import Organisation, Role
from yunshu.core import uscc as uscc_rules
from yunshu.core.audit import audit_record, changed, snapshot
from yunshu.core.errors import check
from yunshu.core.models import Cluster, Industry, Town
from yunshu.core.notifications import notify
from yunshu.core.size_class import size_class
from yunshu.core.versions import data_changed

from . import permissions
from .models import AccessLogEntry, DataGrant, Enterprise, EnterpriseClaim, Verification

AUDITED_FIELDS = (
    "uscc",
    "name",
    "town",
    "industry",
    "cluster",
    "cluster_overridden",
    "employees",
    "employees_year",
    "revenue",
    "revenue_year",
    "size_class",
    "registered_on",
    "status",
    "above_scale",
    "specialised",
    "contact_name",
    "contact_phone",
    "address",
    "verification",
    "on_transformation_list",
)
EDITABLE_BY_ENTERPRISE = (
    "name",
    "industry",
    "cluster",
    "cluster_overridden",
    "employees",
    "employees_year",
    "revenue",
    "revenue_year",
    "registered_on",
    "above_scale",
    "specialised",
    "contact_name",
    "contact_phone",
    "address",
)


def _create_user(**fields: Any) -> Any:
    """create_user, with a username taken at the same moment reported like any other."""
    try:
        with transaction.atomic():
            return get_user_model().objects.create_user(**fields)
    except IntegrityError:
        raise ValidationError({"username": _("该用户名已被使用")}) from None


def default_cluster_for(industry: Industry) -> Cluster | None:
    return Cluster.objects.filter(industries=industry).order_by("sort_order").first()


def _derive(enterprise: Enterprise) -> None:
    """Size class and (unless overridden) cluster follow from the other fields."""
    enterprise.size_class = size_class(enterprise.employees, enterprise.revenue)
    if not enterprise.cluster_overridden:
        enterprise.cluster = default_cluster_for(enterprise.industry)


def _officers_of(enterprise: Enterprise) -> list[Any]:
    User = get_user_model()
    return list(
        User.objects.filter(
            is_active=True, organisation__kind=Role.TOWN, organisation__town_id=enterprise.town_id
        )
    )


@transaction.atomic
def enterprise_create(*, by: Any, **fields: Any) -> Enterprise:
    result = uscc_rules.validate(fields.pop("uscc"))
    if not result.ok:
        raise ValidationError({"uscc": [str(e.message) for e in result.errors]})
    enterprise = Enterprise(uscc=result.code, **fields)
    _derive(enterprise)
    enterprise.full_clean()
    try:
        with transaction.atomic():
            enterprise.save()
    except IntegrityError:
        raise ValidationError({"uscc": [_("该统一社会信用代码已登记")]}) from None
    audit_record(
        actor=by,
        action="enterprise.create",
        obj=enterprise,
        after=snapshot(enterprise, AUDITED_FIELDS),
    )
    return enterprise


@transaction.atomic
def enterprise_update(*, enterprise: Enterprise, by: Any, data: dict[str, Any]) -> Enterprise:
    check(permissions.can_edit_enterprise(by, enterprise))
    locked = Enterprise.objects.select_for_update().get(pk=enterprise.pk)
    before = snapshot(locked, AUDITED_FIELDS)
    for name, value in data.items():
        if name not in EDITABLE_BY_ENTERPRISE:
            raise ValidationError({name: _("该字段不可修改")})
        setattr(locked, name, value)
    _derive(locked)
    locked.full_clean()
    after = snapshot(locked, AUDITED_FIELDS)
    if before == after:
        return locked
    locked.updated_at = timezone.now()
    locked.save()
    old, new = changed(before, after)
    audit_record(actor=by, action="enterprise.update", obj=locked, before=old, after=new)
    return locked


@transaction.atomic
def enterprise_verify(*, enterprise: Enterprise, by: Any) -> Enterprise:
    check(permissions.can_verify_enterprise(by, enterprise))
    enterprise = Enterprise.objects.select_for_update().get(pk=enterprise.pk)
    if enterprise.verification == Verification.VERIFIED:
        return enterprise
    Enterprise.objects.filter(pk=enterprise.pk).update(verification=Verification.VERIFIED)
    data_changed("enterprises")
    audit_record(
        actor=by,
        action="enterprise.verify",
        obj=enterprise,
        before={"verification": enterprise.verification},
        after={"verification": Verification.VERIFIED},
    )
    enterprise.verification = Verification.VERIFIED
    members = (
        list(enterprise.organisation.members.all()) if hasattr(enterprise, "organisation") else []
    )
    notify(recipients=members, subject=_("企业信息已核验：%(n)s") % {"n": enterprise.name})
    return enterprise


@transaction.atomic
def enterprise_signup(
    *,
    uscc: str,
    name: str,
    town: Town,
    industry: Industry,
    contact_name: str,
    contact_phone: str,
    username: str,
    email: str,
    password: str,
) -> tuple[Any, EnterpriseClaim | None]:
    """A new enterprise user signs up. A known credit code becomes a claim for an officer to
    approve; an unknown one creates a record that waits for verification."""
    User = get_user_model()
    result = uscc_rules.validate(uscc)
    if not result.ok:
        raise ValidationError({"uscc": [str(e.message) for e in result.errors]})
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": _("该用户名已被使用")})
    existing = Enterprise.objects.filter(uscc=result.code).first()
    org = Organisation.objects.create(kind=Role.ENTERPRISE, name=name, uscc=result.code)
    user = _create_user(
        username=username,
        email=email,
        password=password,
        organisation=org,
        display_name=contact_name,
        phone=contact_phone,
        is_org_admin=True,
    )
    audit_record(actor=user, action="organisation.create", obj=org, after={"kind": org.kind})
    if existing is None:
        enterprise = enterprise_create(
            by=user,
            uscc=result.code,
            name=name,
            town=town,
            industry=industry,
            contact_name=contact_name,
            contact_phone=contact_phone,
            verification=Verification.PENDING,
        )
        org.enterprise = enterprise
        org.save(update_fields=["enterprise"])
        notify(
            recipients=_officers_of(enterprise),
            subject=_("新企业注册待核验：%(n)s") % {"n": name},
            url=f"/enterprises/{enterprise.pk}/",
        )
        return user, None
    if Organisation.objects.filter(enterprise=existing).exists():
        raise ValidationError({"uscc": _("该企业已有账号，请联系贵企业的管理员邀请您加入")})
    claim = EnterpriseClaim.objects.create(enterprise=existing, organisation=org, applicant=user)
    audit_record(actor=user, action="claim.create", obj=claim, after={"enterprise": existing.pk})
    notify(
        recipients=_officers_of(existing),
        subject=_("企业认领待审核：%(n)s") % {"n": existing.name},
        url="/enterprises/claims/",
    )
    return user, claim


@transaction.atomic
def claim_decide(
    *, claim: EnterpriseClaim, by: Any, approve: bool, reason: str = ""
) -> EnterpriseClaim:
    claim = (
        EnterpriseClaim.objects.select_for_update().select_related("enterprise").get(pk=claim.pk)
    )
    check(permissions.can_decide_claim(by, claim))
    # Two claims on one enterprise approved at once: the second waits here, then is refused.
    Enterprise.objects.select_for_update().filter(pk=claim.enterprise_id).first()
    if approve and Organisation.objects.filter(enterprise=claim.enterprise).exists():
        raise ValidationError(_("该企业已被其他账号认领"))
    claim.status = EnterpriseClaim.Status.APPROVED if approve else EnterpriseClaim.Status.REJECTED
    claim.decided_by, claim.decided_at, claim.reason = by, timezone.now(), reason
    claim.save()
    if approve:
        org = claim.organisation
        org.enterprise = claim.enterprise
        org.save(update_fields=["enterprise"])
    audit_record(
        actor=by,
        action="claim.approve" if approve else "claim.reject",
        obj=claim,
        before={"status": "pending"},
        after={"status": claim.status, "reason": reason},
    )
    notify(
        recipients=[claim.applicant],
        subject=(_("企业认领已通过") if approve else _("企业认领未通过"))
        + f"：{claim.enterprise.name}",
        body=reason,
    )
    return claim


def _validate_grant(provider: Organisation, expires_at: dt.datetime) -> None:
    if provider.kind != Role.PROVIDER or not provider.is_active:
        raise ValidationError({"provider": _("请选择一家服务商")})
    record = getattr(provider, "provider", None)
    if record is None or record.vetting_state != "approved":
        raise ValidationError({"provider": _("该服务商不在资源池中（未入库或已暂停），不能授权")})
    if expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("有效期必须晚于现在")})


@transaction.atomic
def grant_create(
    *,
    enterprise: Enterprise,
    provider: Organisation,
    by: Any,
    expires_at: dt.datetime,
    scope_profile: bool = True,
    scope_assessments: bool = False,
    purpose: str = "",
) -> DataGrant:
    check(permissions.can_grant_access(by, enterprise))
    _validate_grant(provider, expires_at)
    if not (scope_profile or scope_assessments):
        raise ValidationError(_("请至少选择一项授权范围"))
    grant = DataGrant.objects.create(
        enterprise=enterprise,
        provider=provider,
        scope_profile=scope_profile,
        scope_assessments=scope_assessments,
        expires_at=expires_at,
        purpose=purpose,
        granted_by=by,
    )
    audit_record(
        actor=by,
        action="grant.create",
        obj=grant,
        after=snapshot(
            grant, ("enterprise", "provider", "scope_profile", "scope_assessments", "expires_at")
        ),
    )
    notify(
        recipients=provider.members.all(),
        subject=_("%(e)s 向贵单位授权查看数据") % {"e": enterprise.name},
    )
    return grant


@transaction.atomic
def diagnosis_assign(
    *, enterprise: Enterprise, provider: Organisation, by: Any, expires_at: dt.datetime
) -> DataGrant:
    """The city assigns a lead provider to diagnose an enterprise on its transformation list.
    Only a lead provider in the pool (_validate_grant: not suspended, revoked or pending)."""
    check(permissions.can_assign_diagnosis(by, enterprise))
    _validate_grant(provider, expires_at)
    if not provider.is_lead_provider:
        raise ValidationError({"provider": _("只能指派牵引单位进行诊断")})
    grant = DataGrant.objects.create(
        enterprise=enterprise,
        provider=provider,
        scope_profile=True,
        scope_assessments=True,
        source=DataGrant.Source.CITY_ASSIGNMENT,
        purpose=_("市局指派诊断"),
        expires_at=expires_at,
        granted_by=by,
    )
    audit_record(
        actor=by,
        action="grant.assign_diagnosis",
        obj=grant,
        after=snapshot(grant, ("enterprise", "provider", "expires_at")),
    )
    recipients = list(provider.members.all())
    if hasattr(enterprise, "organisation"):
        recipients += list(enterprise.organisation.members.all())
    notify(recipients=recipients, subject=_("市局指派诊断：%(e)s") % {"e": enterprise.name})
    return grant


@transaction.atomic
def grant_revoke(*, grant: DataGrant, by: Any) -> DataGrant:
    grant = DataGrant.objects.select_for_update().get(pk=grant.pk)
    check(permissions.can_revoke_grant(by, grant))
    if grant.revoked_at is not None:
        return grant
    grant.revoked_at, grant.revoked_by = timezone.now(), by
    grant.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        actor=by,
        action="grant.revoke",
        obj=grant,
        before={"revoked_at": None},
        after={"revoked_at": grant.revoked_at},
    )
    notify(
        recipients=grant.provider.members.all(),
        subject=_("数据授权已撤销：%(e)s") % {"e": grant.enterprise.name},
    )
    return grant


def access_record(*, enterprise_ids: Iterable[int], by: Any, what: str) -> int:
    """Log views of enterprise data by anyone outside the enterprise, officers included."""
    org = getattr(by, "organisation", None)
    own = getattr(org, "enterprise_id", None)
    rows = [
        AccessLogEntry(
            enterprise_id=pk,
            viewer=by,
            viewer_label=str(by)[:150],
            viewer_organisation=org,
            viewer_organisation_label=str(org or "")[:200],
            what=what,
        )
        for pk in enterprise_ids
        if pk != own
    ]
    AccessLogEntry.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def list_access_record(*, enterprise_ids: Iterable[int], by: Any, what: str) -> int:
    """The rows of a list page a provider saw: each provider view of what an enterprise
    shared is logged for the enterprise, lists included. Officers' list rows are not
    (their detail views, assessments and exports are)."""
    if getattr(by, "role", None) != Role.PROVIDER:
        return 0
    return access_record(enterprise_ids=sorted(set(enterprise_ids)), by=by, what=what)
