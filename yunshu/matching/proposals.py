"""Proposals (服务方案): a provider answers an enterprise's matched demand; the enterprise decides
and, after the work, confirms delivery (验收). One transition table, one service applies it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yunshu.accounts.models import Role, User
from yunshu.core.audit import audit_record, snapshot
from yunshu.core.errors import check
from yunshu.core.notifications import notify
from yunshu.enterprises.models import Enterprise
from yunshu.enterprises.selectors import enterprises_visible_to
from yunshu.providers.models import Product, Provider, VettingState
from yunshu.providers.selectors import provider_for

from .models import Proposal

Decision = tuple[bool, str]
S = Proposal.State

# (from state, action): (to state, the party that may do it). "" is "no proposal yet".
TRANSITIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("", "send"): (S.SENT, Role.PROVIDER),
    (S.SENT, "accept"): (S.ACCEPTED, Role.ENTERPRISE),
    (S.SENT, "decline"): (S.DECLINED, Role.ENTERPRISE),
    (S.SENT, "withdraw"): (S.WITHDRAWN, Role.PROVIDER),
    (S.ACCEPTED, "deliver"): (S.DELIVERED, Role.ENTERPRISE),
}
ACTION_LABELS = {
    "send": gettext_lazy("发送方案"),
    "accept": gettext_lazy("接受方案"),
    "decline": gettext_lazy("婉拒"),
    "withdraw": gettext_lazy("撤回方案"),
    "deliver": gettext_lazy("确认验收"),
}
# Steps that cannot be undone ask first (the page shows this in a confirmation dialog).
ACTION_CONFIRMATIONS = {
    "decline": gettext_lazy("确定婉拒该方案？婉拒后不能撤销，服务商会收到通知。"),
    "withdraw": gettext_lazy("确定撤回该方案？撤回后不能撤销，企业会收到通知。"),
    "deliver": gettext_lazy("确认服务商已按方案交付、验收合格？确认验收后不能撤销。"),
}
_PARTY_FOR_ACTION = {action: who for (_s, action), (_t, who) in TRANSITIONS.items()}
_TARGETS_OF_ACTION = {
    action: {to for (_s, a), (to, _w) in TRANSITIONS.items() if a == action}
    for action in _PARTY_FOR_ACTION
}
# Actions whose note the enterprise writes as its answer (答复说明).
NOTED_ACTIONS = {"accept", "decline"}
MAX_PRICE = Decimal("9999999999.99")
MAX_WEEKS = 104
AUDITED = ("provider", "enterprise", "product", "title", "price_yuan", "weeks", "state")


def _org(user: Any) -> Any:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    org = user.organisation
    return org if org is not None and org.is_active else None


def party_of(user: Any, proposal: Proposal) -> str | None:
    """Which side of the proposal the user is on: enterprise, provider, or neither."""
    org = _org(user)
    if org is None:
        return None
    if org.kind == Role.ENTERPRISE and org.enterprise_id == proposal.enterprise_id:
        return Role.ENTERPRISE
    if org.kind == Role.PROVIDER and org.pk == proposal.provider.organisation_id:
        return Role.PROVIDER
    return None


def proposals_visible_to(user: Any) -> QuerySet[Proposal]:
    """Each side sees its own proposals; the city reads all (annual review, outcomes)."""
    qs = Proposal.objects.select_related("provider", "enterprise", "product", "rating")
    if getattr(user, "is_superuser", False) and user.is_active:
        return qs
    org = _org(user)
    if org is None:
        return qs.none()
    match org.kind:
        case Role.CITY:
            return qs
        case Role.ENTERPRISE:
            return qs.filter(enterprise_id=org.enterprise_id) if org.enterprise_id else qs.none()
        case Role.PROVIDER:
            return qs.filter(provider__organisation=org)
        case _:
            return qs.none()


def can_send_proposal(user: Any, enterprise: Enterprise) -> Decision:
    """A provider in the pool, to an enterprise whose profile grant to it is in force."""
    org = _org(user)
    if org is None or org.kind != Role.PROVIDER:
        return False, _("只有服务商可以发送方案")
    if not enterprises_visible_to(user, scope="profile").filter(pk=enterprise.pk).exists():
        return False, _("企业未授权贵单位查看其档案")
    return True, ""


def actions_for(user: Any, proposal: Proposal) -> list[str]:
    """The actions the table allows this user on this proposal now (for the buttons)."""
    party = party_of(user, proposal)
    return [
        action
        for (state, action), (_to, who) in TRANSITIONS.items()
        if state == proposal.state and who == party
    ]


def _members_of_enterprise(enterprise_id: int) -> QuerySet[User]:
    return User.objects.filter(organisation__enterprise_id=enterprise_id, is_active=True)


def _members_of_provider(provider: Provider) -> QuerySet[User]:
    return User.objects.filter(organisation_id=provider.organisation_id, is_active=True)


def _clean(
    provider: Provider, title: str, body: str, price_yuan: Any, weeks: Any, product: Any
) -> tuple[str, str, Decimal, int]:
    errors: dict[str, list[str]] = {}
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        errors["title"] = [_("请填写方案标题")]
    elif len(title) > 200:
        errors["title"] = [_("方案标题最多 200 字")]
    if not body:
        errors["body"] = [_("请填写方案内容")]
    try:
        price = Decimal(str(price_yuan))
        if not price.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["price_yuan"] = [_("报价必须是数字（元）")]
        price = Decimal(0)
    else:
        if price < 0:
            errors["price_yuan"] = [_("报价不能为负数")]
        elif price > MAX_PRICE:
            errors["price_yuan"] = [_("报价过大")]
        elif price != price.quantize(Decimal("0.01")):
            errors["price_yuan"] = [_("报价最多保留两位小数（分）")]
    try:
        weeks_n = int(weeks)
    except (TypeError, ValueError):
        errors["weeks"] = [_("实施周期必须是整数周")]
        weeks_n = 0
    else:
        if not 1 <= weeks_n <= MAX_WEEKS:
            errors["weeks"] = [_("实施周期应在 1 到 %(n)d 周之间") % {"n": MAX_WEEKS}]
    if product is not None and product.provider_id != provider.pk:
        errors["product"] = [_("只能选择贵单位自己的产品")]
    if errors:
        raise ValidationError(errors)
    return title, body, price.quantize(Decimal("0.01")), weeks_n


@transaction.atomic
def proposal_send(
    *,
    enterprise: Enterprise,
    by: Any,
    title: str,
    body: str,
    price_yuan: Any,
    weeks: Any,
    product: Product | None = None,
) -> Proposal:
    """Send a proposal. A second identical submit returns the first, never a second row."""
    check(can_send_proposal(by, enterprise))
    to_state, who = TRANSITIONS[("", "send")]
    check((_org(by).kind == who, ""))
    provider = provider_for(by)
    if provider is None or provider.vetting_state != VettingState.APPROVED:
        raise ValidationError(_("贵单位尚未进入服务商资源池，暂不能发送方案"))
    title, body, price, weeks_n = _clean(provider, title, body, price_yuan, weeks, product)
    fields = {"title": title, "body": body, "price_yuan": price, "weeks": weeks_n}
    try:
        with transaction.atomic():
            proposal = Proposal.objects.create(
                provider=provider,
                enterprise=enterprise,
                product=product,
                state=to_state,
                created_by=by,
                **fields,
            )
    except IntegrityError:
        # The open-proposal constraint: the same title is already waiting for an answer.
        existing = Proposal.objects.filter(
            provider=provider, enterprise=enterprise, title=title, state=S.SENT
        ).first()
        if existing is not None and _same(existing, fields, product):
            return existing
        raise ValidationError(
            {"title": [_("已有同名方案在等待企业答复，请修改标题或先撤回原方案")]}
        ) from None
    audit_record(actor=by, action="proposal.send", obj=proposal, after=snapshot(proposal, AUDITED))
    notify(
        recipients=_members_of_enterprise(enterprise.pk),
        subject=_("%(p)s 发来服务方案：%(t)s") % {"p": provider.name, "t": title},
        url=reverse("matching:proposal", args=[proposal.pk]),
    )
    return proposal


def _same(existing: Proposal, fields: dict[str, Any], product: Product | None) -> bool:
    return all(getattr(existing, k) == v for k, v in fields.items()) and existing.product_id == (
        product.pk if product else None
    )


@transaction.atomic
def proposal_transition(*, proposal: Proposal, action: str, by: Any, note: str = "") -> Proposal:
    """Apply one row of TRANSITIONS. Repeating an action already applied (a double click)
    changes nothing; any other move the table lacks is refused with the reason."""
    locked = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("provider", "enterprise")
        .get(pk=proposal.pk)
    )
    party = party_of(by, locked)
    check((party is not None, ""))
    if action not in ACTION_LABELS or action == "send":
        raise ValidationError(_("未知操作"))
    # Each action belongs to one party whatever the state, so check that before anything else.
    check((party == _PARTY_FOR_ACTION[action], ""))
    step = TRANSITIONS.get((locked.state, action))
    if step is None:
        if locked.state in _TARGETS_OF_ACTION[action]:
            return locked  # a double click: the action is already applied
        raise ValidationError(
            _("方案当前为「%(s)s」，不能%(a)s")
            % {"s": locked.get_state_display(), "a": ACTION_LABELS[action]}
        )
    to_state, _who = step
    note = (note or "").strip()
    if len(note) > 300:
        raise ValidationError({"note": [_("说明最多 300 字")]})
    before = {"state": locked.state}
    locked.state = to_state
    now = timezone.now()
    update = ["state"]
    if action in NOTED_ACTIONS:
        locked.decision_note, locked.decided_at = note, now
        update += ["decision_note", "decided_at"]
    if action == "deliver":
        locked.delivered_at = now
        update.append("delivered_at")
    locked.save(update_fields=update)
    audit_record(
        actor=by,
        action=f"proposal.{action}",
        obj=locked,
        before=before,
        after={"state": to_state, **({"note": note} if note else {})},
    )
    subject = {
        "accept": _("%(e)s 接受了方案：%(t)s"),
        "decline": _("%(e)s 婉拒了方案：%(t)s"),
        "deliver": _("%(e)s 已确认验收：%(t)s"),
        "withdraw": _("%(p)s 撤回了方案：%(t)s"),
    }[action] % {"e": locked.enterprise.name, "p": locked.provider.name, "t": locked.title}
    recipients = (
        _members_of_enterprise(locked.enterprise_id)
        if party == Role.PROVIDER
        else _members_of_provider(locked.provider)
    )
    notify(
        recipients=recipients,
        subject=subject,
        body=note,
        url=reverse("matching:proposal", args=[locked.pk]),
    )
    return locked


def products_for_proposal(user: Any) -> QuerySet[Product]:
    """The sending provider's own products that are not withdrawn."""
    provider = provider_for(user)
    if provider is None:
        return Product.objects.none()
    return Product.objects.filter(provider=provider).exclude(status=Product.Status.WITHDRAWN)
