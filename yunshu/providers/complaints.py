"""Complaints (投诉): an enterprise complains about a provider in the pool; the provider answers,
the enterprise accepts or escalates (saying why), the city settles: it may close or dismiss a
complaint from any open state. ONE transition table, one service; every step is a row of the
complaint's timeline (ComplaintEvent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yunshu.accounts.models import Role
from yunshu.core.audit import audit_record, snapshot
from yunshu.core.errors import check
from yunshu.core.notifications import notify
from yunshu.enterprises.models import Enterprise

from . import permissions_supervision as perms
from .models import Complaint, ComplaintEvent, Product, Provider, VettingState
from .selectors import provider_for
from .supervision import city_people, enterprise_people, provider_people

S = Complaint.State


@dataclass(frozen=True)
class Step:
    target: str
    role: str  # the side that may take it: enterprise, provider or city
    label: Any
    text_field: str = ""  # the field the action's text goes into; required when set
    prompt: Any = ""  # what the text box asks for


RESPONSE = gettext_lazy("答复内容")
ESCALATION = gettext_lazy("提请市局处理的理由")
RESOLUTION = gettext_lazy("处理结果")
DISMISSAL = gettext_lazy("驳回理由")

# (from state, action) → the step. A new state is a new row here, not a new `if` in a view.
# The city can close or dismiss a complaint from every open state, so none stays open forever.
TRANSITIONS: dict[tuple[str, str], Step] = {
    (S.SUBMITTED, "respond"): Step(
        S.RESPONDED, Role.PROVIDER, gettext_lazy("答复"), "provider_response", RESPONSE
    ),
    (S.SUBMITTED, "escalate"): Step(
        S.ESCALATED, Role.ENTERPRISE, gettext_lazy("提请市局处理"), "escalation_reason", ESCALATION
    ),
    (S.SUBMITTED, "resolve"): Step(
        S.RESOLVED, Role.CITY, gettext_lazy("直接处理解决"), "resolution", RESOLUTION
    ),
    (S.SUBMITTED, "dismiss"): Step(
        S.DISMISSED, Role.CITY, gettext_lazy("驳回投诉"), "resolution", DISMISSAL
    ),
    (S.RESPONDED, "escalate"): Step(
        S.ESCALATED,
        Role.ENTERPRISE,
        gettext_lazy("不满意，提请市局处理"),
        "escalation_reason",
        ESCALATION,
    ),
    (S.RESPONDED, "accept"): Step(S.RESOLVED, Role.ENTERPRISE, gettext_lazy("接受答复，结束投诉")),
    (S.RESPONDED, "resolve"): Step(
        S.RESOLVED, Role.CITY, gettext_lazy("认定已解决，结案"), "resolution", RESOLUTION
    ),
    (S.RESPONDED, "dismiss"): Step(
        S.DISMISSED, Role.CITY, gettext_lazy("驳回投诉"), "resolution", DISMISSAL
    ),
    (S.ESCALATED, "resolve"): Step(
        S.RESOLVED, Role.CITY, gettext_lazy("认定解决"), "resolution", RESOLUTION
    ),
    (S.ESCALATED, "dismiss"): Step(
        S.DISMISSED, Role.CITY, gettext_lazy("驳回投诉"), "resolution", DISMISSAL
    ),
}
OPEN_STATES = (S.SUBMITTED, S.RESPONDED, S.ESCALATED)
CLOSED_STATES = (S.RESOLVED, S.DISMISSED)
AUDITED = ("state", "provider_response", "escalation_reason", "resolution", "closed_at")

# How each step reads on the complaint's timeline.
EVENT_LABELS: dict[str, Any] = {
    "file": gettext_lazy("提交投诉"),
    "respond": gettext_lazy("服务商答复"),
    "escalate": gettext_lazy("提请市工信局处理"),
    "accept": gettext_lazy("企业接受答复，投诉结束"),
    "resolve": gettext_lazy("市工信局认定解决，结案"),
    "dismiss": gettext_lazy("市工信局驳回投诉"),
}
SIDE_LABELS: dict[str, Any] = {
    Role.ENTERPRISE: gettext_lazy("企业"),
    Role.PROVIDER: gettext_lazy("服务商"),
    Role.CITY: gettext_lazy("市工信局"),
}


# -- selectors --------------------------------------------------------------------------------


def complaints_visible_to(user: Any) -> QuerySet[Complaint]:
    """The city sees every complaint; a provider those against it; an enterprise its own."""
    qs = Complaint.objects.select_related("enterprise", "provider", "product", "created_by")
    if perms.is_city(user):
        return qs
    org = getattr(user, "organisation", None) if getattr(user, "is_authenticated", False) else None
    if org is not None and org.is_active and user.is_active:
        if org.kind == Role.ENTERPRISE and org.enterprise_id is not None:
            return qs.filter(enterprise_id=org.enterprise_id)
        if org.kind == Role.PROVIDER:
            mine = provider_for(user)
            if mine is not None:
                return qs.filter(provider=mine)
    return qs.none()


def complaint_filter(
    qs: QuerySet[Complaint],
    *,
    state: str = "",
    provider: int | None = None,
    q: str = "",
    open_only: bool = False,
) -> QuerySet[Complaint]:
    if state:
        qs = qs.filter(state=state)
    if open_only:
        qs = qs.filter(state__in=OPEN_STATES)
    if provider:
        qs = qs.filter(provider_id=provider)
    if q:
        qs = qs.filter(
            Q(subject__icontains=q)
            | Q(enterprise__name__icontains=q)
            | Q(provider__name__icontains=q)
        )
    return qs


def complaint_providers() -> QuerySet[Provider]:
    """Who an enterprise may complain about: providers in the pool."""
    return Provider.objects.filter(vetting_state=VettingState.APPROVED).order_by("name", "id")


def complaint_actions(user: Any, complaint: Complaint) -> list[tuple[str, Step]]:
    """The actions this user may take on the complaint now, in table order."""
    side = perms.complaint_party(user, complaint)
    return [
        (action, step)
        for (state, action), step in TRANSITIONS.items()
        if state == complaint.state and step.role == side
    ]


def complaint_timeline(user: Any, complaint: Complaint) -> list[dict[str, Any]]:
    """Who did what when, oldest first. The city sees the person; the parties see the side."""
    city = perms.is_city(user)
    rows = []
    for e in complaint.events.select_related("by__organisation").order_by("at", "id"):
        kind = str(getattr(getattr(e.by, "organisation", None), "kind", ""))
        side = SIDE_LABELS.get(kind, "")
        names: dict[str, Any] = {
            Role.ENTERPRISE: complaint.enterprise.name,
            Role.PROVIDER: complaint.provider.name,
        }
        who = names.get(kind, side)
        rows.append(
            {
                "at": e.at,
                "label": EVENT_LABELS.get(e.action, e.action),
                "side": side,
                "who": who,
                "person": str(e.by) if city and e.by else "",
                "text": e.text,
                "to_state": S(e.to_state).label if e.to_state in S.values else "",
            }
        )
    return rows


def open_complaints_count(provider: Provider) -> int:
    return Complaint.objects.filter(provider=provider, state__in=OPEN_STATES).count()


# -- services ---------------------------------------------------------------------------------


@transaction.atomic
def complaint_file(
    *,
    by: Any,
    provider: Provider,
    subject: str,
    body: str,
    product: Product | None = None,
) -> Complaint:
    check(perms.can_file_complaint(by))
    enterprise_id = by.organisation.enterprise_id
    subject, body = subject.strip(), body.strip()
    errors: dict[str, str] = {}
    if not subject:
        errors["subject"] = _("请填写主题")
    if not body:
        errors["body"] = _("请填写投诉内容")
    if provider.vetting_state != VettingState.APPROVED:
        errors["provider"] = _("只能投诉资源池中的服务商")
    if product is not None and product.provider_id != provider.pk:
        errors["product"] = _("所选产品不属于该服务商")
    if errors:
        raise ValidationError(errors)
    # One complaint at a time per enterprise: a double click finds the first.
    Enterprise.objects.select_for_update().filter(pk=enterprise_id).first()
    same = Complaint.objects.filter(
        enterprise_id=enterprise_id,
        provider=provider,
        subject=subject,
        body=body,
        state__in=OPEN_STATES,
    ).first()
    if same is not None:
        return same
    complaint = Complaint(
        enterprise_id=enterprise_id,
        provider=provider,
        product=product,
        subject=subject,
        body=body,
        created_by=by,
    )
    complaint.full_clean()
    complaint.save()
    ComplaintEvent.objects.create(
        complaint=complaint, action="file", to_state=complaint.state, by=by, at=complaint.created_at
    )
    audit_record(
        actor=by,
        action="complaint.file",
        obj=complaint,
        after=snapshot(complaint, ("enterprise", "provider", "product", "subject", "state")),
    )
    notify(
        recipients=provider_people(provider.pk),
        subject=_("收到新的投诉：%(subject)s") % {"subject": subject},
        body=body[:500],
        url=reverse("providers:complaint_detail", args=[complaint.pk]),
    )
    return complaint


@transaction.atomic
def complaint_transition(
    *, complaint: Complaint, action: str, by: Any, text: str = ""
) -> Complaint:
    """Apply one row of TRANSITIONS: check the side, write the state, audit, tell the others."""
    locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
    side = perms.complaint_party(by, locked)
    check((side is not None, ""))
    step = TRANSITIONS.get((locked.state, action))
    if step is None or step.role != side:
        raise ValidationError(
            _("投诉当前状态为「%(state)s」，不能执行该操作") % {"state": locked.get_state_display()}
        )
    text = text.strip()
    if step.text_field and not text:
        raise ValidationError({"text": _("请填写%(what)s") % {"what": step.prompt}})
    before = snapshot(locked, AUDITED)
    from_state = locked.state
    locked.state = step.target
    if step.text_field:
        setattr(locked, step.text_field, text)
    now = timezone.now()
    locked.updated_at = now
    if step.target in CLOSED_STATES:
        locked.closed_at = now
    locked.save()
    ComplaintEvent.objects.create(
        complaint=locked,
        action=action,
        from_state=from_state,
        to_state=step.target,
        text=text,
        by=by,
        at=now,
    )
    audit_record(
        actor=by,
        action=f"complaint.{action}",
        obj=locked,
        before=before,
        after=snapshot(locked, AUDITED),
    )
    _tell_the_others(locked, side=side, step=step, text=text)
    return locked


def _tell_the_others(complaint: Complaint, *, side: str, step: Step, text: str) -> None:
    people: list[Any] = []
    if side != Role.ENTERPRISE:
        people += enterprise_people(complaint.enterprise_id)
    if side != Role.PROVIDER:
        people += provider_people(complaint.provider_id)
    if step.target == S.ESCALATED:
        people += city_people()
    notify(
        recipients=people,
        subject=_("投诉「%(subject)s」：%(state)s")
        % {"subject": complaint.subject, "state": complaint.get_state_display()},
        body=text[:500],
        url=reverse("providers:complaint_detail", args=[complaint.pk]),
    )
