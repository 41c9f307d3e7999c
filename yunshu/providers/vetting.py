"""Provider registration and vetting (服务商入库), documents, certificates, and the
certificate-expiry job.

Vetting (is this provider in the pool?) is ONE transition table, TRANSITIONS, applied by ONE
service, provider_transition. Product visibility (is this product shown right now?) is a
separate state that only the certificate job and certificate approval change: hiding a
product for an expired mandatory certificate never touches the provider's vetting state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yunshu.accounts.models import Organisation, Role
from yunshu.core import uscc as uscc_rules
from yunshu.core.audit import audit_record, changed, snapshot
from yunshu.core.errors import check
from yunshu.core.models import AuditEntry
from yunshu.core.notifications import notify

from . import permissions
from .catalogue_version import catalogue_bump
from .models import (
    Certificate,
    CertificateType,
    Product,
    Provider,
    ProviderDocument,
    VettingEvent,
    VettingState,
)
from .selectors import provider_for

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

S = VettingState
CITY = frozenset({Role.CITY.value})
PROVIDER = frozenset({Role.PROVIDER.value})


# -- the one transition table -----------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    target: str
    roles: frozenset[str]
    reason_required: bool
    label: StrOrPromise  # the button
    style: str  # the button's colour (Tabler btn-<style>)


TRANSITIONS: dict[tuple[str, str], Transition] = {
    # (from state,     action):        target,         who,      reason?, button
    (S.SUBMITTED, "start_review"): Transition(
        S.UNDER_REVIEW, CITY, False, gettext_lazy("开始审核"), "primary"
    ),
    (S.UNDER_REVIEW, "approve"): Transition(
        S.APPROVED, CITY, False, gettext_lazy("审核通过，纳入资源池"), "success"
    ),
    (S.UNDER_REVIEW, "return"): Transition(
        S.RETURNED, CITY, True, gettext_lazy("退回补充材料"), "warning"
    ),
    (S.UNDER_REVIEW, "reject"): Transition(
        S.REJECTED, CITY, True, gettext_lazy("不予通过"), "danger"
    ),
    (S.APPROVED, "suspend"): Transition(S.SUSPENDED, CITY, True, gettext_lazy("暂停"), "warning"),
    (S.SUSPENDED, "reinstate"): Transition(
        S.APPROVED, CITY, False, gettext_lazy("恢复入库"), "success"
    ),
    (S.SUSPENDED, "revoke"): Transition(S.REVOKED, CITY, True, gettext_lazy("除名"), "danger"),
    # Back for more material: the provider edits and sends it again at once, no waiting.
    (S.RETURNED, "resubmit"): Transition(
        S.SUBMITTED, PROVIDER, False, gettext_lazy("材料已补充，重新提交"), "primary"
    ),
    # A final rejection: the provider may apply again after reapply_wait_days().
    (S.REJECTED, "resubmit"): Transition(
        S.SUBMITTED, PROVIDER, False, gettext_lazy("重新申请入库"), "primary"
    ),
}

# Who may take an action, whatever the state (the permission check; the state is checked after).
ACTION_ROLES: dict[str, frozenset[str]] = {}
for (_state, _action), _t in TRANSITIONS.items():
    ACTION_ROLES[_action] = ACTION_ROLES.get(_action, frozenset()) | _t.roles

# How each recorded action reads in the history ("submit" is the first application; the last
# three change no state: a profile edit and the lead-provider flag).
ACTION_LABELS: dict[str, StrOrPromise] = {
    "submit": gettext_lazy("提交入库申请"),
    "start_review": gettext_lazy("开始审核"),
    "approve": gettext_lazy("审核通过"),
    "return": gettext_lazy("退回补充材料"),
    "reject": gettext_lazy("未通过"),
    "suspend": gettext_lazy("已暂停"),
    "reinstate": gettext_lazy("已恢复"),
    "revoke": gettext_lazy("已除名"),
    "resubmit": gettext_lazy("重新提交申请"),
    "profile_change": gettext_lazy("修改资料"),
    "lead_set": gettext_lazy("设为牵引单位"),
    "lead_unset": gettext_lazy("取消牵引单位"),
}

# The notification each action sends (to the provider, and to the other city officers).
NOTICES: dict[str, StrOrPromise] = {
    "start_review": gettext_lazy("%(n)s的入库申请已开始审核"),
    "approve": gettext_lazy("%(n)s已通过审核，纳入服务商资源池"),
    "return": gettext_lazy("%(n)s的入库申请被退回补充材料"),
    "reject": gettext_lazy("%(n)s的入库申请未通过"),
    "suspend": gettext_lazy("%(n)s的入库资格已暂停"),
    "reinstate": gettext_lazy("%(n)s的入库资格已恢复"),
    "revoke": gettext_lazy("%(n)s已从服务商资源池除名"),
    "resubmit": gettext_lazy("%(n)s重新提交了入库申请"),
}

# What the person who pressed the button reads afterwards.
DONE_MESSAGES: dict[str, StrOrPromise] = {
    "start_review": gettext_lazy("已开始审核"),
    "approve": gettext_lazy("审核通过，已纳入资源池"),
    "return": gettext_lazy("已退回补充材料，服务商会收到通知"),
    "reject": gettext_lazy("已作出不予通过的决定，服务商会收到通知"),
    "suspend": gettext_lazy("已暂停该服务商的入库资格"),
    "reinstate": gettext_lazy("已恢复该服务商的入库资格"),
    "revoke": gettext_lazy("已将该服务商除名"),
    "resubmit": gettext_lazy("已重新提交入库申请"),
}

# What the provider should do next, per state (shown on “我的入库申请”).
NEXT_STEPS: dict[str, StrOrPromise] = {
    S.SUBMITTED: gettext_lazy(
        "申请已提交，等待市工信局开始审核。请上传营业执照、资质证明和服务案例，并登记等保备案等证书，便于审核。"
    ),
    S.UNDER_REVIEW: gettext_lazy(
        "市工信局正在审核，可能与您联系核实材料、回访已服务的客户或请您演示产品。请保持联系方式畅通。"
    ),
    S.RETURNED: gettext_lazy(
        "市工信局退回了申请，请按下方意见修改资料、上传材料或登记证书，"
        "完成后点“材料已补充，重新提交”，无需等待。"
    ),
    S.APPROVED: gettext_lazy(
        "已纳入资源池，可以发布产品。请保持必备证书有效：到期前 30 天会提醒您，"
        "过期后产品将暂时从目录中隐藏，新证书认可后自动恢复。"
    ),
    S.REJECTED: gettext_lazy(
        "申请未通过，这是最终结论，理由见下。等待期满后可以重新申请，请按理由完善后再申请。"
    ),
    S.SUSPENDED: gettext_lazy(
        "入库资格已暂停，产品不在目录中展示。请按暂停理由整改并告知市工信局，核实后予以恢复。"
    ),
    S.REVOKED: gettext_lazy("已从资源池除名。如有异议，请与市工信局联系。"),
}

STATE_BADGES: dict[str, str] = {
    S.SUBMITTED: "bg-blue-lt",
    S.UNDER_REVIEW: "bg-yellow-lt",
    S.RETURNED: "bg-orange-lt",
    S.APPROVED: "bg-green-lt",
    S.REJECTED: "bg-red-lt",
    S.SUSPENDED: "bg-orange-lt",
    S.REVOKED: "bg-secondary-lt",
}

PROFILE_FIELDS = (
    "name",
    "summary",
    "description",
    "website",
    "contact_name",
    "contact_phone",
    "address",
)
AUDITED_FIELDS = ("uscc", *PROFILE_FIELDS, "vetting_state", "vetting_reason")
# Who the provider says it is: a change is written into its vetting history and the city told.
IDENTITY_FIELDS = ("name", "website", "contact_name", "contact_phone", "address")


def reapply_wait_days() -> int:
    """Days a rejected provider waits before applying again (PSG practice: one year)."""
    return int(getattr(settings, "PROVIDER_REAPPLY_WAIT_DAYS", 365))


def document_max_bytes() -> int:
    return int(getattr(settings, "PROVIDER_DOCUMENT_MAX_BYTES", 10 * 1024 * 1024))


def certificate_warn_days() -> int:
    return int(getattr(settings, "CERTIFICATE_WARN_DAYS", 30))


def actions_for(provider: Provider, user: Any) -> list[tuple[str, Transition]]:
    """The buttons this user gets for this provider now (state and role both fit)."""
    out = []
    for (state, action), transition in TRANSITIONS.items():
        if (
            state == provider.vetting_state
            and permissions.can_transition_provider(user, provider, action)[0]
        ):
            out.append((action, transition))
    return out


# -- people to tell ---------------------------------------------------------------------------


def city_officers() -> list[Any]:
    return list(
        get_user_model().objects.filter(
            is_active=True, organisation__kind=Role.CITY, organisation__is_active=True
        )
    )


def provider_members(provider: Provider) -> list[Any]:
    return list(
        get_user_model().objects.filter(is_active=True, organisation=provider.organisation_id)
    )


def _without(people: list[Any], actor: Any) -> list[Any]:
    """Nobody is told of what they just did themselves."""
    actor_id = getattr(actor, "pk", None)
    return [u for u in people if actor_id is None or u.pk != actor_id]


def _tell_provider(provider: Provider, subject: str, body: str = "", *, actor: Any = None) -> None:
    notify(
        recipients=_without(provider_members(provider), actor),
        subject=subject,
        body=body,
        url=reverse("providers:application"),
    )


def _tell_city(
    provider: Provider, subject: str, body: str = "", url: str = "", *, actor: Any = None
) -> None:
    notify(
        recipients=_without(city_officers(), actor),
        subject=subject,
        body=body,
        url=url or reverse("providers:vetting_detail", args=[provider.pk]),
    )


# -- checks on what a provider declares (pure) ------------------------------------------------

MOBILE = re.compile(r"1[3-9]\d{9}")
LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(-\d{1,6})?")
SERVICE_LINE = re.compile(r"[48]00-?\d{3}-?\d{4}")


def phone_problem(value: str) -> str:
    """Why a contact phone number is not one (empty when it is): a mobile, a landline with its
    area code, or a 400/800 service line; spaces and a +86 prefix are allowed."""
    number = re.sub(r"[\s()（）]", "", str(value or ""))
    number = re.sub(r"^(\+?86)-?(?=1\d{10}$)", "", number)
    if any(p.fullmatch(number) for p in (MOBILE, LANDLINE, SERVICE_LINE)):
        return ""
    return str(
        _(
            "联系电话格式不正确：请填写 11 位手机号（如 13800138000）"
            "或带区号的固定电话（如 0769-22123456）"
        )
    )


def _same_name(a: str, b: str) -> bool:
    def norm(text: str) -> str:
        return "".join(unicodedata.normalize("NFKC", text or "").split())

    return norm(a) == norm(b)


def registration_warnings(provider: Provider) -> list[str]:
    """What the city should check before it approves: the credit code names a registered
    enterprise under another name, was issued outside the city, or another provider uses
    the same name. Warnings, not errors: a branch office or a rename can explain each."""
    from yunshu.enterprises.models import Enterprise

    out: list[str] = []
    registered = Enterprise.objects.filter(uscc=provider.uscc).values_list("name", flat=True)
    for name in registered[:1]:
        if not _same_name(name, provider.name):
            out.append(
                _(
                    "该统一社会信用代码在企业名录中登记的名称是「%(e)s」，"
                    "与申请名称「%(p)s」不一致，请核实是否更名或冒用"
                )
                % {"e": name, "p": provider.name}
            )
    city = getattr(settings, "YUNSHU_CITY", {}) or {}
    home = str(city.get("area_code") or uscc_rules.DONGGUAN_AREA)
    area = provider.uscc[2:8]
    if len(provider.uscc) == uscc_rules.LENGTH and area != home:
        out.append(
            _(
                "信用代码的登记机关行政区划为 %(area)s，不是%(city)s（%(home)s）："
                "该单位在外地登记，请核实其在本地的服务能力"
            )
            % {"area": area, "city": city.get("name") or "", "home": home}
        )
    namesakes = Provider.objects.exclude(pk=provider.pk).filter(name__iexact=provider.name.strip())
    for other in namesakes.order_by("pk")[:5]:
        out.append(
            _("另有服务商使用相同名称：%(n)s（信用代码 %(c)s，%(s)s）")
            % {"n": other.name, "c": other.uscc, "s": S(other.vetting_state).label}
        )
    return out


# -- registration and profile -----------------------------------------------------------------


def _validated_uscc(code: str) -> str:
    result = uscc_rules.validate(code)
    if not result.ok:
        raise ValidationError({"uscc": [str(e.message) for e in result.errors]})
    return result.code


def _create_user(**fields: Any) -> Any:
    try:
        with transaction.atomic():
            return get_user_model().objects.create_user(**fields)
    except IntegrityError:
        raise ValidationError({"username": _("该用户名已被使用")}) from None


def _m2m_ids(values: Iterable[Any]) -> list[int]:
    return sorted(int(getattr(v, "pk", v)) for v in values)


def _provider_create(
    *,
    organisation: Organisation,
    uscc: str,
    by: Any,
    towns_served: Iterable[Any],
    clusters_served: Iterable[Any],
    profile: dict[str, Any],
) -> Provider:
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: _("该字段不可填写")})
    if profile.get("contact_phone") and phone_problem(profile["contact_phone"]):
        raise ValidationError({"contact_phone": phone_problem(profile["contact_phone"])})
    now = timezone.now()
    provider = Provider(
        organisation=organisation,
        uscc=uscc,
        vetting_state=S.SUBMITTED,
        submitted_at=now,
        created_at=now,
        updated_at=now,
        **profile,
    )
    provider.full_clean(exclude=["uscc", "organisation"])
    try:
        with transaction.atomic():
            provider.save()
    except IntegrityError:
        raise ValidationError(
            {"uscc": _("该统一社会信用代码已注册为服务商，请联系贵单位管理员邀请您加入")}
        ) from None
    towns, clusters = list(towns_served), list(clusters_served)
    provider.towns_served.set(towns)
    provider.clusters_served.set(clusters)
    VettingEvent.objects.create(
        provider=provider, action="submit", from_state="", to_state=S.SUBMITTED, by=by, at=now
    )
    audit_record(
        actor=by,
        action="provider.register",
        obj=provider,
        after={
            **snapshot(provider, AUDITED_FIELDS),
            "towns_served": _m2m_ids(towns),
            "clusters_served": _m2m_ids(clusters),
        },
    )
    _tell_city(provider, _("新服务商申请入库：%(n)s") % {"n": provider.name})
    return provider


@transaction.atomic
def provider_register(
    *,
    uscc: str,
    username: str,
    email: str,
    password: str,
    towns_served: Iterable[Any],
    clusters_served: Iterable[Any],
    **profile: Any,
) -> tuple[Any, Provider]:
    """A new provider signs up: its organisation, its administrator and its pool application."""
    code = _validated_uscc(uscc)
    if get_user_model().objects.filter(username=username).exists():
        raise ValidationError({"username": _("该用户名已被使用")})
    if (
        Provider.objects.filter(uscc=code).exists()
        or Organisation.objects.filter(kind=Role.PROVIDER, uscc=code).exists()
    ):
        raise ValidationError(
            {"uscc": _("该统一社会信用代码已注册为服务商，请联系贵单位管理员邀请您加入")}
        )
    name = str(profile.get("name", "")).strip()
    if not name:
        raise ValidationError({"name": _("请填写服务商名称")})
    org = Organisation.objects.create(kind=Role.PROVIDER, name=name[:200], uscc=code)
    user = _create_user(
        username=username,
        email=email,
        password=password,
        organisation=org,
        display_name=str(profile.get("contact_name", ""))[:100],
        phone=str(profile.get("contact_phone", ""))[:30],
        is_org_admin=True,
    )
    audit_record(actor=user, action="organisation.create", obj=org, after={"kind": org.kind})
    provider = _provider_create(
        organisation=org,
        uscc=code,
        by=user,
        towns_served=towns_served,
        clusters_served=clusters_served,
        profile=profile,
    )
    return user, provider


@transaction.atomic
def provider_apply(
    *,
    by: Any,
    uscc: str,
    towns_served: Iterable[Any],
    clusters_served: Iterable[Any],
    **profile: Any,
) -> Provider:
    """A provider organisation that already has accounts (no pool record yet) applies."""
    own = getattr(by, "organisation", None)
    if own is not None and own.kind == Role.PROVIDER:
        # Two clicks of “提交申请”: the second waits here, then finds the first's record.
        Organisation.objects.select_for_update().filter(pk=own.pk).first()
        if Provider.objects.filter(organisation=own).exists():
            raise ValidationError(_("本单位已提交入库申请"))
    check(permissions.can_apply_to_pool(by))
    org = Organisation.objects.get(pk=by.organisation_id)
    code = _validated_uscc(uscc)
    if org.uscc and org.uscc != code:
        raise ValidationError(
            {"uscc": _("与本单位登记的统一社会信用代码（%(c)s）不一致") % {"c": org.uscc}}
        )
    if not org.uscc:
        org.uscc = code
        org.save(update_fields=["uscc"])
    return _provider_create(
        organisation=org,
        uscc=code,
        by=by,
        towns_served=towns_served,
        clusters_served=clusters_served,
        profile=profile,
    )


@transaction.atomic
def provider_profile_update(*, provider: Provider, by: Any, data: dict[str, Any]) -> Provider:
    """The provider's administrator edits its profile; towns and clusters feed matching.

    A change of identity (name, website, contact, address) is written into the vetting
    history with before and after, and the city is told: the pool vetted who it was."""
    check(permissions.can_edit_provider_profile(by, provider))
    locked = Provider.objects.select_for_update().get(pk=provider.pk)
    towns_before = _m2m_ids(locked.towns_served.all())
    clusters_before = _m2m_ids(locked.clusters_served.all())
    before = {
        **snapshot(locked, PROFILE_FIELDS),
        "towns_served": towns_before,
        "clusters_served": clusters_before,
    }
    towns = data.pop("towns_served", None)
    clusters = data.pop("clusters_served", None)
    for name, value in data.items():
        if name not in PROFILE_FIELDS:
            raise ValidationError({name: _("该字段不可修改")})
        setattr(locked, name, value)
    if "contact_phone" in data and locked.contact_phone and phone_problem(locked.contact_phone):
        raise ValidationError({"contact_phone": phone_problem(locked.contact_phone)})
    locked.full_clean(exclude=["uscc", "organisation"])
    after = {
        **snapshot(locked, PROFILE_FIELDS),
        "towns_served": towns_before if towns is None else _m2m_ids(towns),
        "clusters_served": clusters_before if clusters is None else _m2m_ids(clusters),
    }
    old, new = changed(before, after)
    if not new:
        return locked
    now = timezone.now()
    locked.updated_at = now
    locked.save()
    if towns is not None:
        locked.towns_served.set(towns)
    if clusters is not None:
        locked.clusters_served.set(clusters)
    if "name" in new:
        Organisation.objects.filter(pk=locked.organisation_id).update(name=locked.name[:200])
    audit_record(actor=by, action="provider.update", obj=locked, before=old, after=new)
    identity = {f: [old[f], new[f]] for f in IDENTITY_FIELDS if f in new}
    if identity:
        VettingEvent.objects.create(
            provider=locked,
            action="profile_change",
            from_state=locked.vetting_state,
            to_state=locked.vetting_state,
            changes=identity,
            by=by,
            at=now,
        )
        _tell_city(
            locked,
            _("%(n)s修改了资料：%(fields)s")
            % {
                "n": old.get("name") or locked.name,
                "fields": "、".join(str(field_label(f)) for f in identity),
            },
            "\n".join(
                f"{field_label(f)}：{b or '—'} → {a or '—'}" for f, (b, a) in identity.items()
            ),
            actor=by,
        )
    if {"towns_served", "clusters_served", "name"} & set(new):
        catalogue_bump()
    return locked


def field_label(name: str) -> StrOrPromise:
    """A history change's field in the reader's words."""
    if name == "is_lead_provider":
        return gettext_lazy("牵引单位")
    try:
        field = Provider._meta.get_field(name)
    except Exception:  # an old history row may name a field that no longer exists
        return name
    return getattr(field, "verbose_name", name)  # type: ignore[no-any-return]


@transaction.atomic
def lead_provider_set(*, provider: Provider, lead: bool, by: Any) -> Provider:
    """The city names a provider a lead provider (牵引单位) or takes the title away."""
    check(permissions.can_set_lead_provider(by, provider))
    locked = Provider.objects.select_for_update().select_related("organisation").get(pk=provider.pk)
    org = Organisation.objects.select_for_update().get(pk=locked.organisation_id)
    if org.is_lead_provider == lead:
        return locked
    if lead and locked.vetting_state != S.APPROVED:
        raise ValidationError(_("只有已入库的服务商可以设为牵引单位"))
    Organisation.objects.filter(pk=org.pk).update(is_lead_provider=lead)
    audit_record(
        actor=by,
        action="provider.lead_set" if lead else "provider.lead_unset",
        obj=locked,
        before={"is_lead_provider": org.is_lead_provider},
        after={"is_lead_provider": lead},
    )
    VettingEvent.objects.create(
        provider=locked,
        action="lead_set" if lead else "lead_unset",
        from_state=locked.vetting_state,
        to_state=locked.vetting_state,
        changes={"is_lead_provider": [org.is_lead_provider, lead]},
        by=by,
    )
    _tell_provider(
        locked,
        _("贵单位已被设为牵引单位") if lead else _("贵单位的牵引单位资格已取消"),
        actor=by,
    )
    catalogue_bump()
    locked.organisation.is_lead_provider = lead
    return locked


# -- the one service that applies the table ---------------------------------------------------


def reapply_allowed_from(provider: Provider) -> dt.date | None:
    """The first day a rejected provider may apply again (None unless rejected)."""
    if provider.vetting_state != S.REJECTED:
        return None
    rejected_at = (
        VettingEvent.objects.filter(provider=provider, action="reject")
        .order_by("-at", "-id")
        .values_list("at", flat=True)
        .first()
    ) or provider.updated_at
    return timezone.localdate(rejected_at) + dt.timedelta(days=reapply_wait_days())


@transaction.atomic
def provider_transition(
    *,
    provider: Provider,
    action: str,
    by: Any,
    reason: str = "",
    expected_state: str | None = None,
) -> Provider:
    """Apply one row of TRANSITIONS: state, history, audit entry, notifications, catalogue.

    expected_state is the state the person saw when they pressed the button: a page left
    open while someone else acted (or a second click) is refused instead of acting twice.
    """
    check(permissions.can_transition_provider(by, provider, action))
    locked = Provider.objects.select_for_update().select_related("organisation").get(pk=provider.pk)
    current = locked.vetting_state
    if expected_state and expected_state != current:
        raise ValidationError(
            _("该服务商的状态已变为“%(s)s”，本次操作未执行，请查看最新状态。")
            % {"s": S(current).label}
        )
    transition = TRANSITIONS.get((current, action))
    if transition is None:
        raise ValidationError(
            _("服务商当前状态为“%(s)s”，不能执行“%(a)s”。")
            % {"s": S(current).label, "a": action_verb(action)}
        )
    reason = (reason or "").strip()
    if transition.reason_required and not reason:
        raise ValidationError({"reason": _("请填写理由（将告知服务商）")})
    if len(reason) > 500:
        raise ValidationError({"reason": _("理由不能超过 500 字")})
    if action == "resubmit":
        allowed_from = reapply_allowed_from(locked)
        if allowed_from is not None and timezone.localdate() < allowed_from:
            raise ValidationError(
                _("未通过后需等待 %(d)s 天才能重新申请，%(day)s 起可以重新申请。")
                % {"d": reapply_wait_days(), "day": allowed_from.isoformat()}
            )
    now = timezone.now()
    before: dict[str, Any] = {"vetting_state": current, "vetting_reason": locked.vetting_reason}
    locked.vetting_state = transition.target
    locked.vetting_reason = reason
    locked.updated_at = now
    fields = ["vetting_state", "vetting_reason", "updated_at"]
    if action == "approve":
        locked.approved_at = now
        fields.append("approved_at")
    if action == "resubmit":
        locked.submitted_at = now
        fields.append("submitted_at")
    locked.save(update_fields=fields)
    after: dict[str, Any] = {"vetting_state": transition.target, "vetting_reason": reason}
    if action == "revoke" and locked.organisation.is_lead_provider:
        # A provider removed from the pool cannot stay a lead provider.
        Organisation.objects.filter(pk=locked.organisation_id).update(is_lead_provider=False)
        locked.organisation.is_lead_provider = False
        before["is_lead_provider"], after["is_lead_provider"] = True, False
    VettingEvent.objects.create(
        provider=locked,
        action=action,
        from_state=current,
        to_state=transition.target,
        reason=reason,
        changes={"is_lead_provider": [True, False]} if "is_lead_provider" in after else {},
        by=by,
        at=now,
    )
    audit_record(actor=by, action=f"provider.{action}", obj=locked, before=before, after=after)
    subject = str(NOTICES[action]) % {"n": locked.name}
    body = _("理由：%(r)s") % {"r": reason} if reason else ""
    _tell_provider(locked, subject, body, actor=by)
    _tell_city(locked, subject, body, actor=by)
    if transition.target == S.APPROVED:
        # In the pool now: its rating is shown at once, and products without a valid
        # mandatory certificate are hidden at once (not at the next tick).
        provider_visibility_refresh(provider=locked, by=by, bump=False)
        _trust_refresh(locked, bump=False)
    catalogue_bump()
    return locked


def action_verb(action: str) -> StrOrPromise:
    """The button's words for an action (the history's words are ACTION_LABELS)."""
    for (_from, name), transition in TRANSITIONS.items():
        if name == action:
            return transition.label
    return ACTION_LABELS.get(action, action)


# -- uploads: documents and certificate files -------------------------------------------------

# Extension → the bytes such a file starts with (its “magic number”).
FILE_SIGNATURES: dict[str, tuple[str, bytes]] = {
    "pdf": ("pdf", b"%PDF-"),
    "jpg": ("jpeg", b"\xff\xd8\xff"),
    "jpeg": ("jpeg", b"\xff\xd8\xff"),
    "png": ("png", b"\x89PNG\r\n\x1a\n"),
}


@dataclass(frozen=True)
class CheckedUpload:
    name: str
    size: int
    sha256: str


def upload_check(upload: Any, *, field_name: str = "file") -> CheckedUpload:
    """Extension and content must both be PDF, JPEG or PNG, within the size limit."""
    name = PurePath(str(getattr(upload, "name", "") or "")).name
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in FILE_SIGNATURES:
        raise ValidationError(
            {field_name: _("只接受 PDF、JPG 或 PNG 文件（“%(n)s”不是）") % {"n": name or "?"}}
        )
    size = int(getattr(upload, "size", 0) or 0)
    limit = document_max_bytes()
    if size <= 0:
        raise ValidationError({field_name: _("文件“%(n)s”是空的") % {"n": name}})
    if size > limit:
        raise ValidationError(
            {
                field_name: _("文件“%(n)s”有 %(s).1f MB，超过上限 %(m).0f MB")
                % {"n": name, "s": size / 1024 / 1024, "m": limit / 1024 / 1024}
            }
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    kind, magic = FILE_SIGNATURES[ext]
    if not head.startswith(magic):
        raise ValidationError(
            {
                field_name: _("文件“%(n)s”的内容不是 %(k)s 格式，与扩展名不符")
                % {"n": name, "k": kind.upper()}
            }
        )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(name=name[:255], size=size, sha256=digest.hexdigest())


@transaction.atomic
def document_upload(*, provider: Provider, kind: str, upload: Any, by: Any) -> ProviderDocument:
    check(permissions.can_upload_document(by, provider))
    if kind not in ProviderDocument.Kind.values:
        raise ValidationError({"kind": _("请选择材料类型")})
    checked = upload_check(upload)
    locked = Provider.objects.select_for_update().get(pk=provider.pk)
    # The same file sent twice (a double click, a retry) is kept once.
    existing = ProviderDocument.objects.filter(
        provider=locked, kind=kind, sha256=checked.sha256, withdrawn_at=None
    ).first()
    if existing is not None:
        return existing
    document = ProviderDocument(
        provider=locked,
        kind=kind,
        original_name=checked.name,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=by,
    )
    document.file.save(checked.name, upload, save=False)
    document.save()
    audit_record(
        actor=by,
        action="provider.document_upload",
        obj=locked,
        after={
            "document": document.pk,
            "kind": kind,
            "name": checked.name,
            "size": checked.size,
            "sha256": checked.sha256,
        },
    )
    if locked.vetting_state in (S.SUBMITTED, S.UNDER_REVIEW):
        _tell_city(
            locked,
            _("%(n)s 上传了入库材料：%(f)s") % {"n": locked.name, "f": checked.name},
        )
    return document


WITHDRAW_REASON_MAX = 200


@transaction.atomic
def document_withdraw(*, document: ProviderDocument, by: Any, reason: str = "") -> ProviderDocument:
    """Take back a wrong upload. The file stays, marked withdrawn, for the city and the audit:
    the city may already have read it. A second click is told it was done."""
    locked = (
        ProviderDocument.objects.select_for_update().select_related("provider").get(pk=document.pk)
    )
    check(permissions.can_upload_document(by, locked.provider))
    allowed, why = permissions.can_withdraw_document(by, locked)
    if not allowed:
        raise ValidationError(why)
    reason = (reason or "").strip()
    if len(reason) > WITHDRAW_REASON_MAX:
        raise ValidationError(_("撤回原因不能超过 200 字"))
    locked.withdrawn_at = timezone.now()
    locked.withdrawn_by = by
    locked.withdraw_reason = reason
    locked.save(update_fields=["withdrawn_at", "withdrawn_by", "withdraw_reason"])
    audit_record(
        actor=by,
        action="provider.document_withdraw",
        obj=locked.provider,
        before={"document": locked.pk, "name": locked.original_name, "withdrawn": False},
        after={"document": locked.pk, "withdrawn": True, "reason": reason},
    )
    # Whatever the state: an approval may rest on the document taken back.
    _tell_city(
        locked.provider,
        _("%(n)s 撤回了入库材料：%(f)s") % {"n": locked.provider.name, "f": locked.original_name},
        reason,
        actor=by,
    )
    return locked


# -- certificates -----------------------------------------------------------------------------


def certificate_problems(
    *,
    type: CertificateType | None,
    level: str,
    number: str,
    issued_on: dt.date | None,
    expires_on: dt.date | None,
    today: dt.date | None = None,
) -> dict[str, list[str]]:
    """Everything wrong with a certificate's fields, by field (empty when it may be recorded).
    Pure apart from the clock; the form and the service share it."""
    today = today or timezone.localdate()
    problems: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        problems.setdefault(name, []).append(message)

    if not number.strip():
        add("number", _("请填写证书编号"))
    if type is not None:
        if type.has_level:
            if level not in [str(lv) for lv in type.levels]:
                add("level", _("请选择级别：%(l)s") % {"l": "、".join(map(str, type.levels))})
        elif level:
            add("level", _("该类证书没有级别"))
    if issued_on is not None and issued_on > today:
        add("issued_on", _("发证日期不能晚于今天"))
    if expires_on is not None:
        if issued_on is not None and expires_on <= issued_on:
            add("expires_on", _("有效期至必须晚于发证日期"))
        elif expires_on < today:
            add("expires_on", _("该证书已过期，请登记有效的证书"))
    return problems


@transaction.atomic
def certificate_add(
    *,
    provider: Provider,
    by: Any,
    type: CertificateType,
    number: str,
    issued_on: dt.date,
    expires_on: dt.date,
    level: str = "",
    issuer: str = "",
    upload: Any = None,
) -> Certificate:
    """The provider records a certificate; it counts once the city has approved it.

    Every problem is reported at once (level, dates, file). A renewal keeps its number (a
    等保 filing number stays the same): only the same type, number and expiry is a duplicate.
    """
    check(permissions.can_add_certificate(by, provider))
    number, level, issuer = number.strip(), (level or "").strip(), (issuer or "").strip()
    problems = certificate_problems(
        type=type, level=level, number=number, issued_on=issued_on, expires_on=expires_on
    )
    checked = None
    if upload is not None:
        try:
            checked = upload_check(upload)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                problems.setdefault(name, []).extend(messages)
    if problems:
        raise ValidationError(problems)
    locked = Provider.objects.select_for_update().get(pk=provider.pk)
    duplicate = (
        Certificate.objects.filter(provider=locked, type=type, number=number, expires_on=expires_on)
        .exclude(status=Certificate.Status.REJECTED)
        .first()
    )
    if duplicate is not None:
        if duplicate.status == Certificate.Status.PENDING:
            return duplicate  # the same form sent twice
        raise ValidationError(
            {
                "number": _("该证书已登记（编号 %(n)s，有效期至 %(d)s）")
                % {"n": number, "d": expires_on.isoformat()}
            }
        )
    certificate = Certificate(
        provider=locked,
        type=type,
        level=level,
        number=number[:100],
        issuer=issuer[:200],
        issued_on=issued_on,
        expires_on=expires_on,
    )
    if checked is not None:
        certificate.original_name, certificate.sha256 = checked.name, checked.sha256
        certificate.file.save(checked.name, upload, save=False)
    certificate.save()
    audit_record(
        actor=by,
        action="certificate.add",
        obj=certificate,
        after={
            "provider": locked.pk,
            "type": type.key,
            "level": level,
            "number": certificate.number,
            "issued_on": issued_on,
            "expires_on": expires_on,
            "sha256": certificate.sha256,
        },
    )
    _tell_city(
        locked,
        _("待审核证书：%(n)s %(t)s") % {"n": locked.name, "t": type.name_zh},
        url=reverse("providers:certificate_queue"),
    )
    return certificate


@transaction.atomic
def certificate_review(
    *, certificate: Certificate, approve: bool, by: Any, reason: str = ""
) -> Certificate:
    """The city approves (it then counts) or rejects (with a reason) a certificate."""
    check(permissions.can_review_certificate(by, certificate))
    locked = (
        Certificate.objects.select_for_update()
        .select_related("provider", "type")
        .get(pk=certificate.pk)
    )
    if locked.status != Certificate.Status.PENDING:
        raise ValidationError(
            _("该证书已审核（%(s)s），本次操作未执行。") % {"s": locked.get_status_display()}
        )
    reason = (reason or "").strip()[:300]
    if not approve and not reason:
        raise ValidationError({"reason": _("不予认可时请填写理由")})
    if approve and locked.expires_on < timezone.localdate():
        raise ValidationError(_("该证书已过期，不能认可"))
    locked.status = Certificate.Status.APPROVED if approve else Certificate.Status.REJECTED
    locked.reviewed_by, locked.reviewed_at, locked.review_reason = by, timezone.now(), reason
    locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_reason"])
    audit_record(
        actor=by,
        action="certificate.approve" if approve else "certificate.reject",
        obj=locked,
        before={"status": Certificate.Status.PENDING},
        after={"status": locked.status, "reason": reason},
    )
    provider = locked.provider
    subject = (_("证书已认可：%(t)s %(n)s") if approve else _("证书未获认可：%(t)s %(n)s")) % {
        "t": locked.type.name_zh,
        "n": locked.number,
    }
    _tell_provider(provider, subject, _("理由：%(r)s") % {"r": reason} if reason else "")
    if approve:
        provider_visibility_refresh(provider=provider, by=by)
        _trust_refresh(provider)
    return locked


def _trust_refresh(provider: Provider, *, bump: bool = True) -> None:
    from .trust import provider_trust_refresh

    if bump:
        provider_trust_refresh(provider=provider)
    else:
        provider_trust_refresh(provider=provider, bump=False)


# -- visibility: hidden while a mandatory certificate has lapsed ------------------------------


@dataclass(frozen=True)
class Lapse:
    """A mandatory certificate type the provider holds no valid certificate of: its latest
    approved certificate has expired, or none was ever approved (certificate is None)."""

    type: CertificateType
    certificate: Certificate | None
    expired_on: dt.date | None

    @property
    def missing(self) -> bool:
        return self.certificate is None


def certificate_lapses(provider: Provider | int, *, today: dt.date | None = None) -> list[Lapse]:
    """Mandatory types the provider holds no valid (approved, unexpired) certificate of.

    A certificate is valid through its expires_on day; it has lapsed from the day after. A
    type never held counts as missing: without it the provider's products are not shown,
    exactly as after a lapse (the vetting page warns the city before it approves).
    """
    today = today or timezone.localdate()
    provider_id = provider.pk if isinstance(provider, Provider) else int(provider)
    latest: dict[int, Certificate] = {}
    for cert in (
        Certificate.objects.filter(
            provider_id=provider_id, status=Certificate.Status.APPROVED, type__mandatory=True
        )
        .select_related("type")
        .order_by("type_id", "expires_on", "id")
    ):
        latest[cert.type_id] = cert  # ordered by expiry, so the last one wins
    out: list[Lapse] = []
    for ctype in CertificateType.objects.filter(mandatory=True).order_by("sort_order", "key"):
        held = latest.get(ctype.pk)
        if held is None:
            out.append(Lapse(type=ctype, certificate=None, expired_on=None))
        elif held.expires_on < today:
            out.append(Lapse(type=ctype, certificate=held, expired_on=held.expires_on))
    return out


def _lapse_text(lapses: list[Lapse]) -> str:
    return "；".join(
        _("%(t)s：没有经市工信局认可的有效证书") % {"t": lapse.type.name_zh}
        if lapse.certificate is None
        else _("%(t)s（编号 %(n)s）已于 %(d)s 到期")
        % {"t": lapse.type.name_zh, "n": lapse.certificate.number, "d": lapse.expired_on}
        for lapse in lapses
    )


@transaction.atomic
def provider_visibility_refresh(
    *, provider: Provider | int, by: Any = None, today: dt.date | None = None, bump: bool = True
) -> tuple[int, int]:
    """Hide the provider's published products while it lacks a valid mandatory certificate
    (lapsed or never held), show them again once it has one. Returns (hidden, restored).
    Vetting is not touched. bump=False: the caller bumps the catalogue version itself."""
    today = today or timezone.localdate()
    locked = Provider.objects.select_for_update().get(pk=getattr(provider, "pk", provider))
    lapses = certificate_lapses(locked, today=today)
    now = timezone.now()
    hidden = restored = 0
    if lapses:
        ids = list(
            Product.objects.select_for_update()
            .filter(
                provider=locked,
                status=Product.Status.PUBLISHED,
                visibility=Product.Visibility.VISIBLE,
            )
            .values_list("pk", flat=True)
        )
        if ids:
            hidden = Product.objects.filter(pk__in=ids).update(
                visibility=Product.Visibility.HIDDEN_CERTIFICATE, hidden_at=now, updated_at=now
            )
            why = _lapse_text(lapses)
            audit_record(
                actor=by,
                action="provider.products_hidden",
                obj=locked,
                before={"visibility": Product.Visibility.VISIBLE, "products": ids},
                after={
                    "visibility": Product.Visibility.HIDDEN_CERTIFICATE,
                    "certificates": [lapse.certificate.pk for lapse in lapses if lapse.certificate],
                    "missing": [lapse.type.key for lapse in lapses if lapse.missing],
                },
            )
            subject = (
                _("缺少有效的必备证书，%(n)s 个产品暂不在目录中展示")
                if all(lapse.missing for lapse in lapses)
                else _("必备证书已过期，%(n)s 个产品已暂时从目录中隐藏")
            )
            _tell_provider(
                locked,
                subject % {"n": hidden},
                _("%(why)s。请登记证书，市工信局认可后产品自动恢复展示。") % {"why": why},
            )
    else:
        ids = list(
            Product.objects.select_for_update()
            .filter(provider=locked, visibility=Product.Visibility.HIDDEN_CERTIFICATE)
            .values_list("pk", flat=True)
        )
        if ids:
            restored = Product.objects.filter(pk__in=ids).update(
                visibility=Product.Visibility.VISIBLE, hidden_at=None, updated_at=now
            )
            audit_record(
                actor=by,
                action="provider.products_restored",
                obj=locked,
                before={"visibility": Product.Visibility.HIDDEN_CERTIFICATE, "products": ids},
                after={"visibility": Product.Visibility.VISIBLE},
            )
            _tell_provider(
                locked,
                _("必备证书已有效，%(n)s 个产品已恢复在目录中展示") % {"n": restored},
            )
    if (hidden or restored) and bump:
        catalogue_bump()
    return hidden, restored


# -- the scheduled certificate job ------------------------------------------------------------

EXPIRY_MARKER = "certificate-expiry"  # object_id of the job's daily audit entry


@dataclass
class CertificateTickResult:
    warned: int = 0
    hidden_providers: int = 0
    hidden_products: int = 0
    restored_providers: int = 0
    restored_products: int = 0
    trust_refreshed: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "warned": self.warned,
            "hidden_providers": self.hidden_providers,
            "hidden_products": self.hidden_products,
            "restored_providers": self.restored_providers,
            "restored_products": self.restored_products,
            "trust_refreshed": self.trust_refreshed,
        }


def _replacement() -> QuerySet[Certificate]:
    """An approved certificate of the same provider and type that runs longer."""
    return Certificate.objects.filter(
        status=Certificate.Status.APPROVED,
        provider=OuterRef("provider"),
        type=OuterRef("type"),
        expires_on__gt=OuterRef("expires_on"),
    )


def _warn(certificate_id: int, today: dt.date) -> bool:
    """Warn once: only the tick that sets expiry_warned_on sends the notice."""
    with transaction.atomic():
        won = Certificate.objects.filter(pk=certificate_id, expiry_warned_on=None).update(
            expiry_warned_on=today
        )
        if not won:
            return False
        cert = Certificate.objects.select_related("provider", "type").get(pk=certificate_id)
        days = (cert.expires_on - today).days
        audit_record(
            actor=None,
            action="certificate.expiry_warn",
            obj=cert,
            after={"expiry_warned_on": today, "expires_on": cert.expires_on},
        )
        consequence = (
            _("这是必备证书：过期后贵单位的产品将从目录中隐藏，直到新证书获认可。")
            if cert.type.mandatory
            else ""
        )
        _tell_provider(
            cert.provider,
            _("证书将于 %(d)s 到期（还有 %(n)s 天）：%(t)s")
            % {
                "d": cert.expires_on,
                "n": days,
                "t": cert.type.name_zh,
            },
            (_("证书编号 %(num)s。请及时续期并登记新证书。") % {"num": cert.number}) + consequence,
        )
        return True


def _expiry_window_start(today: dt.date) -> dt.date | None:
    """The first expiry day not yet handed to the trust rating (None: done for today)."""
    last = (
        AuditEntry.objects.filter(object_type="schedule", object_id=EXPIRY_MARKER)
        .order_by("-seq")
        .values_list("after", flat=True)
        .first()
    )
    if last and isinstance(last, dict) and last.get("day"):
        last_day = dt.date.fromisoformat(str(last["day"]))
        if last_day >= today:
            return None
        return last_day  # certificates that expired on last_day were still valid then
    return today - dt.timedelta(days=certificate_warn_days())


class _Lapsed:
    """Membership test for "lacks a valid certificate of some mandatory type" (no query)."""

    def __init__(self, mandatory: set[int], valid: set[tuple[int, int]]) -> None:
        self.mandatory, self.valid = mandatory, valid

    def __contains__(self, provider_id: object) -> bool:
        return any((provider_id, t) not in self.valid for t in self.mandatory)


def providers_without_valid_mandatory(today: dt.date) -> _Lapsed:
    """Which providers lack a valid certificate of a mandatory type today (expired or never
    held), read in two queries whatever the number of providers."""
    mandatory = set(CertificateType.objects.filter(mandatory=True).values_list("pk", flat=True))
    valid = set(
        Certificate.objects.filter(
            status=Certificate.Status.APPROVED, type_id__in=mandatory, expires_on__gte=today
        )
        .values_list("provider_id", "type_id")
        .distinct()
    )
    return _Lapsed(mandatory, valid)


def certificates_tick(today: dt.date | None = None) -> CertificateTickResult:
    """One run of the certificate job. Idempotent: a second run on the same day does nothing.

    1. warn the provider once, certificate_warn_days() (30) before an approved certificate
       expires, unless a later approved certificate of the same type already replaces it;
    2. hide the published products of providers without a valid mandatory certificate
       (lapsed or never held), restore those whose lapse is over (a certificate approved
       since, or a tick finding one);
    3. once a day, recompute the trust rating of providers whose certificates expired.
    """
    today = today or timezone.localdate()
    result = CertificateTickResult()
    approved = Certificate.objects.filter(status=Certificate.Status.APPROVED)

    due = (
        approved.filter(
            expiry_warned_on=None,
            expires_on__gte=today,
            expires_on__lte=today + dt.timedelta(days=certificate_warn_days()),
        )
        .exclude(Exists(_replacement()))
        .order_by("expires_on", "id")
        .values_list("pk", flat=True)
    )
    for pk in list(due):
        result.warned += _warn(pk, today)

    lapsed = providers_without_valid_mandatory(today)
    to_hide = {
        pk
        for pk in Product.objects.filter(
            status=Product.Status.PUBLISHED, visibility=Product.Visibility.VISIBLE
        )
        .values_list("provider_id", flat=True)
        .distinct()
        if pk in lapsed
    }
    to_restore = {
        pk
        for pk in Product.objects.filter(visibility=Product.Visibility.HIDDEN_CERTIFICATE)
        .values_list("provider_id", flat=True)
        .distinct()
        if pk not in lapsed
    }
    for provider_id in sorted(to_hide | to_restore):
        hidden, restored = provider_visibility_refresh(provider=provider_id, today=today)
        result.hidden_products += hidden
        result.hidden_providers += bool(hidden)
        result.restored_products += restored
        result.restored_providers += bool(restored)

    start = _expiry_window_start(today)
    if start is not None:
        with transaction.atomic():
            expired_providers = list(
                approved.filter(expires_on__gte=start, expires_on__lt=today)
                .values_list("provider_id", flat=True)
                .distinct()
                .order_by("provider_id")
            )
            for provider in Provider.objects.filter(pk__in=expired_providers):
                _trust_refresh(provider)
            result.trust_refreshed = len(expired_providers)
            audit_record(
                actor=None,
                action="schedule.certificate_expiry",
                object_type="schedule",
                object_id=EXPIRY_MARKER,
                object_label=str(today),
                after={"day": today, "providers": expired_providers},
            )
    return result


# -- reads ------------------------------------------------------------------------------------


def _count_of(qs: QuerySet[Any]) -> Any:
    """A per-provider count as a subquery (no GROUP BY on the outer list)."""
    return Coalesce(
        Subquery(qs.order_by().values("provider").annotate(n=Count("pk")).values("n")[:1]),
        0,
    )


def vetting_queue(user: Any, *, state: str = "", q: str = "", lead: str = "") -> QuerySet[Provider]:
    """Providers for the city's vetting pages (nothing for anyone else), filtered."""
    if not permissions.can_view_vetting_queue(user)[0]:
        return Provider.objects.none()
    qs = Provider.objects.select_related("organisation").annotate(
        pending_certificates=_count_of(
            Certificate.objects.filter(provider=OuterRef("pk"), status=Certificate.Status.PENDING)
        ),
        hidden_products=_count_of(
            Product.objects.filter(
                provider=OuterRef("pk"), visibility=Product.Visibility.HIDDEN_CERTIFICATE
            )
        ),
        document_count=_count_of(
            ProviderDocument.objects.filter(provider=OuterRef("pk"), withdrawn_at=None)
        ),
    )
    if state:
        qs = qs.filter(vetting_state=state)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(uscc__icontains=q.upper()))
    if lead in ("1", "0"):
        qs = qs.filter(organisation__is_lead_provider=lead == "1")
    return qs.order_by("submitted_at", "id")


def vetting_state_counts(user: Any) -> dict[str, int]:
    if not permissions.can_view_vetting_queue(user)[0]:
        return {}
    counts = dict(Provider.objects.values_list("vetting_state").annotate(n=Count("id")).order_by())
    return {state: counts.get(state, 0) for state in S.values}


def vetting_provider_for(user: Any, pk: int) -> Provider | None:
    """One provider for the city's detail page (None when missing or not allowed)."""
    if not permissions.can_view_vetting_queue(user)[0]:
        return None
    return (
        Provider.objects.select_related("organisation")
        .prefetch_related("towns_served", "clusters_served")
        .filter(pk=pk)
        .first()
    )


def vetting_events_for(provider: Provider) -> QuerySet[VettingEvent]:
    return VettingEvent.objects.filter(provider=provider).select_related("by").order_by("at", "id")


def documents_visible_to(user: Any) -> QuerySet[ProviderDocument]:
    """The city sees every provider's documents; a provider its own; nobody else any."""
    qs = ProviderDocument.objects.select_related("provider")
    if permissions.is_city(user):
        return qs
    own = provider_for(user)
    return qs.filter(provider=own) if own is not None else qs.none()


def certificate_files_visible_to(user: Any) -> QuerySet[Certificate]:
    """Certificates whose file the user may open: the city's, or the provider's own."""
    qs = Certificate.objects.select_related("provider", "type")
    if permissions.is_city(user):
        return qs
    own = provider_for(user)
    return qs.filter(provider=own) if own is not None else qs.none()


def certificates_of(provider: Provider) -> QuerySet[Certificate]:
    return (
        Certificate.objects.filter(provider=provider)
        .select_related("type", "reviewed_by")
        .order_by("type__sort_order", "-expires_on", "-id")
    )


def certificates_pending_review(user: Any) -> QuerySet[Certificate]:
    if not permissions.is_city(user):
        return Certificate.objects.none()
    return (
        Certificate.objects.filter(status=Certificate.Status.PENDING)
        .select_related("provider", "type")
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class VisibilityNotice:
    """Why a provider's products are hidden, for the banner on its pages."""

    hidden_products: int
    lapses: list[Lapse]
    expiring: list[Certificate]

    @property
    def all_missing(self) -> bool:
        """Every lapse is a type never held (the wording differs from an expiry)."""
        return bool(self.lapses) and all(lapse.missing for lapse in self.lapses)


def visibility_notice_for(user: Any, provider: Provider | None = None) -> VisibilityNotice | None:
    """The banner for the provider's own pages (None for anyone else, or nothing to say)."""
    own = provider_for(user)
    if own is None or (provider is not None and provider.pk != own.pk):
        return None
    today = timezone.localdate()
    hidden = Product.objects.filter(
        provider=own, visibility=Product.Visibility.HIDDEN_CERTIFICATE
    ).count()
    lapses = certificate_lapses(own, today=today)
    expiring = list(
        Certificate.objects.filter(
            provider=own,
            status=Certificate.Status.APPROVED,
            expires_on__gte=today,
            expires_on__lte=today + dt.timedelta(days=certificate_warn_days()),
        )
        .exclude(Exists(_replacement()))
        .select_related("type")
    )
    if not hidden and not lapses and not expiring:
        return None
    return VisibilityNotice(hidden_products=hidden, lapses=lapses, expiring=expiring)
