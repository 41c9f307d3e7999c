"""Matchmaking events (对接会): one transition table, and the services for invitations,
registrations, attendance and outcomes. Every write locks the event row first, so
registrations never exceed the capacity and a double click never writes twice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, DecimalField, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yunshu.accounts.models import Organisation, Role
from yunshu.core.audit import audit_record, snapshot
from yunshu.core.errors import check
from yunshu.core.models import Cluster, Town
from yunshu.core.notifications import notify
from yunshu.enterprises.models import Enterprise
from yunshu.enterprises.selectors import enterprises_visible_to
from yunshu.providers.models import Provider, VettingState

from .models import EventInvitation, EventOutcome, MatchmakingEvent

Decision = tuple[bool, str]
State = MatchmakingEvent.State
Status = EventInvitation.Status
OFFICERS = frozenset({Role.CITY, Role.TOWN})
TAKEN = (Status.REGISTERED, Status.ATTENDED)  # statuses that hold a seat


def _not_before_it_starts(event: MatchmakingEvent) -> str:
    """An event can be marked held only once its start time has come."""
    if event.starts_at > timezone.now():
        return _("对接会 %(when)s 才开始，举办后才能标记已举办") % {
            "when": timezone.localtime(event.starts_at).strftime("%Y-%m-%d %H:%M")
        }
    return ""


class Transition(NamedTuple):
    target: str
    roles: frozenset[str]
    label: Any
    notify_invitees: bool
    # Why the step cannot be taken now ("" when it can), beyond state and role.
    guard: Callable[[MatchmakingEvent], str] | None = None


# (from state, action): what it does. A town officer acts only on its own town's events.
TRANSITIONS: dict[tuple[str, str], Transition] = {
    (State.DRAFT, "open"): Transition(State.OPEN, OFFICERS, gettext_lazy("开放报名"), True),
    (State.OPEN, "close"): Transition(State.CLOSED, OFFICERS, gettext_lazy("截止报名"), False),
    (State.CLOSED, "finish"): Transition(
        State.DONE, OFFICERS, gettext_lazy("标记已举办"), False, _not_before_it_starts
    ),
    (State.DRAFT, "cancel"): Transition(State.CANCELLED, OFFICERS, gettext_lazy("取消活动"), True),
    (State.OPEN, "cancel"): Transition(State.CANCELLED, OFFICERS, gettext_lazy("取消活动"), True),
    (State.CLOSED, "cancel"): Transition(State.CANCELLED, OFFICERS, gettext_lazy("取消活动"), True),
}
INVITE_STATES = (State.DRAFT, State.OPEN)
ATTENDANCE_STATES = (State.CLOSED, State.DONE)
OUTCOME_STATES = (State.DONE,)
EDIT_STATES = (State.DRAFT, State.OPEN)
PHONE = re.compile(r"^\+?[0-9][0-9\- ]{5,28}[0-9]$")
EVENT_FIELDS = ("cluster", "title", "description", "starts_at", "venue", "town", "capacity")
OUTCOME_FIELDS = ("kind", "amount_yuan", "note", "enterprise", "provider")
# The same outcome sent again inside this window is the same click, not a second outcome.
DOUBLE_SUBMIT_SECONDS = 10


def event_url(event: MatchmakingEvent) -> str:
    return f"/matching/events/{event.pk}/"


# --- permissions ------------------------------------------------------------------------------


def _org(user: Any) -> Organisation | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    org = user.organisation
    return org if org is not None and org.is_active else None


def _role(user: Any) -> str | None:
    if getattr(user, "is_superuser", False) and user.is_active:
        return Role.CITY
    org = _org(user)
    return str(org.kind) if org is not None else None


def can_see_events(user: Any) -> Decision:
    if _role(user) in (Role.CITY, Role.TOWN, Role.ENTERPRISE, Role.PROVIDER):
        return True, ""
    return False, _("无权查看对接会")


def can_create_event(user: Any) -> Decision:
    if _role(user) in OFFICERS:
        return True, ""
    return False, _("只有市工信局和镇街可以组织对接会")


def can_manage_event(user: Any, event: MatchmakingEvent) -> Decision:
    role = _role(user)
    if role == Role.CITY:
        return True, ""
    org = _org(user)
    if role == Role.TOWN and org is not None and event.town_id == org.town_id:
        return True, ""
    return False, _("只有市工信局或举办镇街可以管理该对接会")


def can_transition_event(user: Any, event: MatchmakingEvent, action: str) -> Decision:
    step = TRANSITIONS.get((event.state, action))
    if step is None:
        return False, _("当前状态下不能执行该操作")
    if _role(user) not in step.roles:
        return False, _("无权执行该操作")
    return can_manage_event(user, event)


def can_register_event(user: Any, event: MatchmakingEvent) -> Decision:
    """An enterprise or provider that sees the event may register while it is open."""
    if _role(user) not in (Role.ENTERPRISE, Role.PROVIDER) or getattr(user, "is_superuser", False):
        return False, _("只有企业和服务商可以报名")
    if not events_visible_to(user).filter(pk=event.pk).exists():
        return False, _("未找到该对接会")
    return True, ""


def transitions_for(user: Any, event: MatchmakingEvent) -> list[tuple[str, Transition]]:
    return [
        (action, step)
        for (state, action), step in TRANSITIONS.items()
        if state == event.state and can_transition_event(user, event, action)[0]
    ]


# --- selectors --------------------------------------------------------------------------------


def events_visible_to(user: Any) -> QuerySet[MatchmakingEvent]:
    """The city sees every event, a town office its own town's; an enterprise or provider the
    events it is invited to (once they leave draft) and the open events of its cluster (an
    enterprise) or of the clusters it serves (a provider in the pool)."""
    qs = MatchmakingEvent.objects.select_related("cluster", "town")
    role = _role(user)
    org = _org(user)
    if role == Role.CITY:
        return qs
    if org is None:
        return qs.none()
    invited = Q(pk__in=EventInvitation.objects.filter(organisation=org).values("event_id"))
    clusters: QuerySet[Any, Any]
    match role:
        case Role.TOWN:
            return qs.filter(town_id=org.town_id) if org.town_id else qs.none()
        case Role.ENTERPRISE:
            if org.enterprise_id is None:  # a claim still pending
                return qs.none()
            clusters = Enterprise.objects.filter(pk=org.enterprise_id).values("cluster_id")
        case Role.PROVIDER:
            clusters = Provider.clusters_served.through.objects.filter(
                provider__organisation=org, provider__vetting_state=VettingState.APPROVED
            ).values("cluster_id")
        case _:
            return qs.none()
    return qs.exclude(state=State.DRAFT).filter(
        invited | Q(state=State.OPEN, cluster_id__in=clusters)
    )


def _count(qs: QuerySet[Any]) -> Coalesce:
    return Coalesce(
        Subquery(
            qs.order_by().values("event_id").annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def with_counts(qs: QuerySet[MatchmakingEvent]) -> QuerySet[MatchmakingEvent]:
    """Each event with its invitation and outcome counts, in the same query."""
    inv = EventInvitation.objects.filter(event_id=OuterRef("pk"))
    out = EventOutcome.objects.filter(event_id=OuterRef("pk"))
    amount = Subquery(
        out.filter(kind=EventOutcome.Kind.CONTRACT)
        .order_by()
        .values("event_id")
        .annotate(s=Sum("amount_yuan"))
        .values("s")[:1],
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )
    return qs.annotate(
        n_invited=_count(inv),
        n_registered=_count(inv.filter(status__in=TAKEN)),
        n_declined=_count(inv.filter(status=Status.DECLINED)),
        n_attended=_count(inv.filter(status=Status.ATTENDED)),
        n_intentions=_count(out.filter(kind=EventOutcome.Kind.INTENTION)),
        n_contracts=_count(out.filter(kind=EventOutcome.Kind.CONTRACT)),
        contract_amount=Coalesce(amount, Decimal(0), output_field=DecimalField()),
    )


def with_my_invitation(qs: QuerySet[MatchmakingEvent], user: Any) -> QuerySet[MatchmakingEvent]:
    org = _org(user)
    mine = EventInvitation.objects.filter(event_id=OuterRef("pk"), organisation=org)
    return qs.annotate(my_status=Subquery(mine.values("status")[:1]))


def cluster_totals(events: QuerySet[MatchmakingEvent]) -> list[dict[str, Any]]:
    """Per cluster: events, invited, registered, attended, intentions, contracts and contract
    amount, over the given events except cancelled ones. Three queries."""
    held = events.exclude(state=State.CANCELLED)
    ids = held.values("pk")
    base = {
        r["cluster_id"]: {"events": r["n"]}
        for r in held.order_by().values("cluster_id").annotate(n=Count("pk"))
    }
    for r in (
        EventInvitation.objects.filter(event_id__in=ids)
        .order_by()
        .values("event__cluster_id")
        .annotate(
            invited=Count("pk"),
            registered=Count("pk", filter=Q(status__in=TAKEN)),
            attended=Count("pk", filter=Q(status=Status.ATTENDED)),
        )
    ):
        base.setdefault(r["event__cluster_id"], {"events": 0}).update(r)
    for r in (
        EventOutcome.objects.filter(event_id__in=ids)
        .order_by()
        .values("event__cluster_id")
        .annotate(
            intentions=Count("pk", filter=Q(kind=EventOutcome.Kind.INTENTION)),
            contracts=Count("pk", filter=Q(kind=EventOutcome.Kind.CONTRACT)),
            amount=Sum("amount_yuan", filter=Q(kind=EventOutcome.Kind.CONTRACT)),
        )
    ):
        base.setdefault(r["event__cluster_id"], {"events": 0}).update(r)
    clusters = Cluster.objects.filter(pk__in=base).order_by("sort_order", "pk")
    keys = ("invited", "registered", "attended", "intentions", "contracts")
    rows = []
    for cluster in clusters:
        r = base[cluster.pk]
        rows.append(
            {
                "cluster": cluster,
                "events": r.get("events", 0),
                **{k: r.get(k, 0) for k in keys},
                "amount": r.get("amount") or Decimal(0),
            }
        )
    return rows


def _reach(user: Any, enterprise_path: str) -> Q | None:
    """Rows about enterprises the user may see (a town officer: its own town's); None for the
    city, which sees them all. A city event held in a town invites firms of other towns too:
    their officers see those, this town's officer does not."""
    if _role(user) == Role.CITY:
        return None
    return Q(**{f"{enterprise_path}__in": enterprises_visible_to(user).values("pk")})


def invitations_visible_to(user: Any, event: MatchmakingEvent) -> QuerySet[EventInvitation]:
    """The event's invitations the user may see: every provider's, and the enterprises' the
    user may see (an officer manages only those)."""
    qs = event.invitations.all()
    reach = _reach(user, "organisation__enterprise")
    if reach is not None:
        qs = qs.filter(Q(organisation__kind=Role.PROVIDER) | reach)
    return qs.select_related(
        "organisation", "organisation__enterprise", "organisation__provider"
    ).order_by("organisation__kind", "organisation__name", "pk")


def outcomes_visible_to(user: Any, event: MatchmakingEvent) -> QuerySet[EventOutcome]:
    """The event's outcomes about enterprises the user may see."""
    qs = event.outcomes.all()
    reach = _reach(user, "enterprise")
    if reach is not None:
        qs = qs.filter(reach)
    return qs.select_related("enterprise", "provider").order_by("pk")


def my_invitation(user: Any, event: MatchmakingEvent) -> EventInvitation | None:
    org = _org(user)
    if org is None:
        return None
    return EventInvitation.objects.filter(event=event, organisation=org).first()


# --- services ---------------------------------------------------------------------------------


def _locked(event: MatchmakingEvent) -> MatchmakingEvent:
    return (
        MatchmakingEvent.objects.select_for_update(of=("self",))
        .select_related("cluster", "town")
        .get(pk=event.pk)
    )


def _members(org_ids: Iterable[int]) -> list[Any]:
    from yunshu.accounts.models import User

    return list(User.objects.filter(organisation_id__in=list(org_ids), is_active=True))


def _validate_fields(
    *, by: Any, title: str, venue: str, capacity: int, town: Town | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors["title"] = [_("请填写活动名称")]
    if not venue.strip():
        errors["venue"] = [_("请填写活动地点")]
    if capacity is None or capacity < 1:
        errors["capacity"] = [_("名额至少为 1")]
    org = _org(by)
    if _role(by) == Role.TOWN and org is not None and (town is None or town.pk != org.town_id):
        errors["town"] = [_("镇街只能为本镇街组织对接会")]
    return errors


@transaction.atomic
def event_create(
    *,
    cluster: Cluster,
    title: str,
    starts_at: dt.datetime,
    venue: str,
    capacity: int,
    by: Any,
    description: str = "",
    town: Town | None = None,
) -> MatchmakingEvent:
    """A new event in draft. The same event sent twice (same cluster, title and start) is
    returned, not made again."""
    check(can_create_event(by))
    org = _org(by)
    if _role(by) == Role.TOWN and town is None and org is not None:
        town = org.town
    errors = _validate_fields(by=by, title=title, venue=venue, capacity=capacity, town=town)
    if starts_at is None or starts_at <= timezone.now():
        errors["starts_at"] = [_("开始时间须晚于现在")]
    if errors:
        raise ValidationError(errors)
    # Creating events of one cluster one at a time makes the duplicate check hold.
    Cluster.objects.select_for_update().get(pk=cluster.pk)
    same = (
        MatchmakingEvent.objects.filter(cluster=cluster, title=title.strip(), starts_at=starts_at)
        .exclude(state=State.CANCELLED)
        .first()
    )
    if same is not None:
        if same.created_by_id == by.pk:
            return same
        raise ValidationError({"title": [_("该集群在同一时间已有同名对接会")]})
    event = MatchmakingEvent.objects.create(
        cluster=cluster,
        title=title.strip(),
        description=description.strip(),
        starts_at=starts_at,
        venue=venue.strip(),
        town=town,
        capacity=capacity,
        created_by=by,
    )
    audit_record(actor=by, action="event.create", obj=event, after=snapshot(event, EVENT_FIELDS))
    return event


@transaction.atomic
def event_update(
    *,
    event: MatchmakingEvent,
    by: Any,
    cluster: Cluster,
    title: str,
    starts_at: dt.datetime,
    venue: str,
    capacity: int,
    description: str = "",
    town: Town | None = None,
) -> MatchmakingEvent:
    locked = _locked(event)
    check(can_manage_event(by, locked))
    if locked.state not in EDIT_STATES:
        raise ValidationError(_("只有筹备中或报名中的对接会可以修改"))
    errors = _validate_fields(by=by, title=title, venue=venue, capacity=capacity, town=town)
    taken = locked.invitations.filter(status__in=TAKEN).count()
    if capacity is not None and capacity < taken:
        errors.setdefault("capacity", []).append(
            _("已有 %(n)d 家报名，名额不能少于报名数") % {"n": taken}
        )
    if locked.state == State.OPEN and cluster.pk != locked.cluster_id:
        errors["cluster"] = [_("报名开始后不能更换产业集群")]
    if starts_at is None:
        errors["starts_at"] = [_("请填写开始时间")]
    if errors:
        raise ValidationError(errors)
    before = snapshot(locked, EVENT_FIELDS)
    locked.cluster, locked.title, locked.description = cluster, title.strip(), description.strip()
    locked.starts_at, locked.venue, locked.town, locked.capacity = (
        starts_at,
        venue.strip(),
        town,
        capacity,
    )
    locked.save(update_fields=list(EVENT_FIELDS))
    after = snapshot(locked, EVENT_FIELDS)
    if before != after:
        audit_record(actor=by, action="event.update", obj=locked, before=before, after=after)
    return locked


@transaction.atomic
def event_transition(*, event: MatchmakingEvent, action: str, by: Any) -> MatchmakingEvent:
    """Apply one row of TRANSITIONS: check, write, audit, notify the invitees."""
    locked = _locked(event)
    check(can_manage_event(by, locked))
    step = TRANSITIONS.get((locked.state, action))
    if step is None:
        raise ValidationError(
            _("“%(state)s”状态下不能执行该操作") % {"state": locked.get_state_display()}
        )
    check(can_transition_event(by, locked, action))
    refused = step.guard(locked) if step.guard else ""
    if refused:
        raise ValidationError(refused)
    before = locked.state
    locked.state = step.target
    locked.save(update_fields=["state"])
    audit_record(
        actor=by,
        action=f"event.{action}",
        obj=locked,
        before={"state": before},
        after={"state": locked.state},
    )
    if step.notify_invitees:
        invitees = locked.invitations.exclude(status=Status.DECLINED).values_list(
            "organisation_id", flat=True
        )
        if step.target == State.OPEN:
            subject = _("对接会邀请：%(title)s") % {"title": locked.title}
            body = _("%(when)s 于 %(venue)s 举行，请在平台上报名。") % {
                "when": timezone.localtime(locked.starts_at).strftime("%Y-%m-%d %H:%M"),
                "venue": locked.venue,
            }
        else:
            subject = _("对接会已取消：%(title)s") % {"title": locked.title}
            body = ""
        notify(recipients=_members(invitees), subject=subject, body=body, url=event_url(locked))
    return locked


def invitable_organisations(by: Any, ids: Iterable[int]) -> tuple[list[Organisation], list[int]]:
    """(organisations the user may invite, ids that are not): active enterprise organisations of
    enterprises the user may see, and organisations of providers in the pool."""
    wanted = sorted(set(ids))
    visible = enterprises_visible_to(by).values("pk")
    orgs = list(
        Organisation.objects.filter(pk__in=wanted, is_active=True).filter(
            Q(kind=Role.ENTERPRISE, enterprise__in=visible)
            | Q(kind=Role.PROVIDER, provider__vetting_state=VettingState.APPROVED)
        )
    )
    found = {o.pk for o in orgs}
    return orgs, [i for i in wanted if i not in found]


def refused_names(by: Any, ids: Iterable[int]) -> tuple[list[str], int]:
    """Names of refused invitees the user may know of (a provider of the pool's list, an
    enterprise the user may see), and how many others there are: an organisation the user
    may not see stays unnamed, as if it did not exist."""
    from yunshu.providers.selectors import providers_visible_to

    visible = enterprises_visible_to(by).values("pk")
    known = providers_visible_to(by).values("organisation_id")
    rows = list(
        Organisation.objects.filter(pk__in=list(ids))
        .filter(
            Q(kind=Role.PROVIDER, pk__in=known) | Q(kind=Role.ENTERPRISE, enterprise__in=visible)
        )
        .order_by("name", "pk")
        .values_list("pk", "name")
    )
    return [name for _pk, name in rows], len(set(ids)) - len(rows)


@transaction.atomic
def event_invite(
    *, event: MatchmakingEvent, organisation_ids: Iterable[int], by: Any
) -> list[EventInvitation]:
    """Invite organisations; those already invited are left as they are. While the event is
    open the new invitees are told at once; in draft they are told when it opens."""
    locked = _locked(event)
    check(can_manage_event(by, locked))
    if locked.state not in INVITE_STATES:
        raise ValidationError(_("只有筹备中或报名中的对接会可以发出邀请"))
    orgs, refused = invitable_organisations(by, organisation_ids)
    if refused:
        names, others = refused_names(by, refused)
        problems = []
        if names:
            problems.append(
                _("以下机构现在不能邀请（服务商不在资源池中，或企业账号已停用）：%(names)s")
                % {"names": "、".join(names)}
            )
        if others:
            problems.append(_("另有 %(n)d 家机构不存在或无权邀请") % {"n": others})
        problems.append(_("未发出任何邀请，请修改勾选后重试"))
        raise ValidationError(problems)
    if not orgs:
        raise ValidationError(_("请至少选择一家企业或服务商"))
    already = set(locked.invitations.values_list("organisation_id", flat=True))
    new = [EventInvitation(event=locked, organisation=o) for o in orgs if o.pk not in already]
    EventInvitation.objects.bulk_create(new)
    if new:
        audit_record(
            actor=by,
            action="event.invite",
            obj=locked,
            after={"organisations": [i.organisation_id for i in new]},
        )
        if locked.state == State.OPEN:
            notify(
                recipients=_members(i.organisation_id for i in new),
                subject=_("对接会邀请：%(title)s") % {"title": locked.title},
                body=_("%(when)s 于 %(venue)s 举行，请在平台上报名。")
                % {
                    "when": timezone.localtime(locked.starts_at).strftime("%Y-%m-%d %H:%M"),
                    "venue": locked.venue,
                },
                url=event_url(locked),
            )
    return new


@transaction.atomic
def event_register(
    *, event: MatchmakingEvent, attendee_name: str, attendee_phone: str, by: Any
) -> EventInvitation:
    """Register the user's organisation (one seat each). The event row is locked, so
    concurrent registrations queue and the capacity is never exceeded; registering again only
    updates the attendee."""
    check(can_register_event(by, event))
    locked = _locked(event)
    if locked.state != State.OPEN:
        raise ValidationError(_("该对接会当前不接受报名"))
    name, phone = attendee_name.strip(), attendee_phone.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["attendee_name"] = [_("请填写参会人姓名")]
    if not PHONE.match(phone):
        errors["attendee_phone"] = [_("请填写有效的联系电话（7–30 位数字）")]
    if errors:
        raise ValidationError(errors)
    org = _org(by)
    assert org is not None
    invitation = EventInvitation.objects.filter(event=locked, organisation=org).first()
    if invitation is not None and invitation.status in TAKEN:
        before = snapshot(invitation, ["attendee_name", "attendee_phone"])
        invitation.attendee_name, invitation.attendee_phone = name, phone
        after = snapshot(invitation, ["attendee_name", "attendee_phone"])
        if before != after:
            invitation.save(update_fields=["attendee_name", "attendee_phone"])
            audit_record(
                actor=by, action="event.register", obj=invitation, before=before, after=after
            )
        return invitation
    taken = locked.invitations.filter(status__in=TAKEN).count()
    if taken >= locked.capacity:
        raise ValidationError(_("名额已满（%(n)d 个）") % {"n": locked.capacity})
    before_status = invitation.status if invitation is not None else None
    if invitation is None:
        invitation = EventInvitation(event=locked, organisation=org)
    invitation.status = Status.REGISTERED
    invitation.attendee_name, invitation.attendee_phone = name, phone
    invitation.responded_at = timezone.now()
    invitation.save()
    audit_record(
        actor=by,
        action="event.register",
        obj=invitation,
        before={"status": before_status},
        after={"status": invitation.status, "attendee_name": name, "attendee_phone": phone},
    )
    return invitation


@transaction.atomic
def event_decline(*, event: MatchmakingEvent, by: Any) -> EventInvitation:
    """An invitee says it will not come (a registered one gives its seat back)."""
    check(can_register_event(by, event))
    locked = _locked(event)
    if locked.state != State.OPEN:
        raise ValidationError(_("该对接会当前不接受报名变更"))
    invitation = EventInvitation.objects.filter(event=locked, organisation=_org(by)).first()
    if invitation is None:
        raise ValidationError(_("贵单位未受邀参加该对接会"))
    if invitation.status == Status.DECLINED:
        return invitation
    before = invitation.status
    invitation.status = Status.DECLINED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    audit_record(
        actor=by,
        action="event.decline",
        obj=invitation,
        before={"status": before},
        after={"status": invitation.status},
    )
    return invitation


@transaction.atomic
def event_attendance_mark(*, event: MatchmakingEvent, attended_ids: Iterable[int], by: Any) -> int:
    """Set who came, among the invitations the user may see: the given ones are marked
    attended, the others are not (those of firms outside the user's reach are left as they
    are). Returns how many changed."""
    locked = _locked(event)
    check(can_manage_event(by, locked))
    if locked.state not in ATTENDANCE_STATES:
        raise ValidationError(_("截止报名后才能登记到场情况"))
    present = set(attended_ids)
    visible = invitations_visible_to(by, locked).values("pk")
    invitations = list(
        EventInvitation.objects.filter(pk__in=visible)
        .select_related("organisation")
        .select_for_update(of=("self",))
    )
    unknown = present - {i.pk for i in invitations}
    if unknown:
        raise ValidationError(
            _("到场名单中有 %(n)d 条邀请不属于该对接会或无权登记，未作任何修改")
            % {"n": len(unknown)}
        )
    came, left = [], []
    for inv in invitations:
        if inv.pk in present and inv.status != Status.ATTENDED:
            inv.status = Status.ATTENDED
            came.append(inv)
        elif inv.pk not in present and inv.status == Status.ATTENDED:
            inv.status = Status.REGISTERED if inv.attendee_name else Status.INVITED
            left.append(inv)
    EventInvitation.objects.bulk_update([*came, *left], ["status"])
    if came or left:
        audit_record(
            actor=by,
            action="event.attendance",
            obj=locked,
            before={"attended": [i.organisation_id for i in left]},
            after={"attended": [i.organisation_id for i in came]},
        )
    return len(came) + len(left)


@transaction.atomic
def event_outcome_record(
    *,
    event: MatchmakingEvent,
    enterprise: Enterprise,
    provider: Provider,
    kind: str,
    by: Any,
    amount_yuan: Decimal | None = None,
    note: str = "",
) -> EventOutcome:
    """Record an intention or a contract between an enterprise and a provider. Each one is its
    own row, so two contracts of the same pair both count and their amounts add up; the
    same outcome sent twice in a few seconds (a double click) is recorded once."""
    locked = _locked(event)
    check(can_manage_event(by, locked))
    if locked.state not in OUTCOME_STATES:
        raise ValidationError(_("对接会举办后才能登记对接成果"))
    errors: dict[str, list[str]] = {}
    if kind not in EventOutcome.Kind.values:
        errors["kind"] = [_("请选择成果类型")]
    if amount_yuan is not None:
        if not isinstance(amount_yuan, Decimal) or not amount_yuan.is_finite():
            errors["amount_yuan"] = [_("金额须为数字")]
        elif amount_yuan < 0:
            errors["amount_yuan"] = [_("金额不能为负数")]
        elif amount_yuan != amount_yuan.quantize(Decimal("0.01")) or amount_yuan >= 10**12:
            errors["amount_yuan"] = [_("金额最多两位小数且小于一万亿元")]
    if not enterprises_visible_to(by).filter(pk=enterprise.pk).exists():
        errors["enterprise"] = [_("无权为该企业登记成果")]
    if errors:
        raise ValidationError(errors)
    note = note.strip()
    same = EventOutcome.objects.filter(
        event=locked,
        enterprise=enterprise,
        provider=provider,
        kind=kind,
        amount_yuan=amount_yuan,
        note=note,
        recorded_by=by,
        recorded_at__gte=timezone.now() - dt.timedelta(seconds=DOUBLE_SUBMIT_SECONDS),
    ).first()
    if same is not None:
        return same
    outcome = EventOutcome.objects.create(
        event=locked,
        enterprise=enterprise,
        provider=provider,
        kind=kind,
        amount_yuan=amount_yuan,
        note=note,
        recorded_by=by,
    )
    audit_record(
        actor=by, action="event.outcome", obj=outcome, after=snapshot(outcome, OUTCOME_FIELDS)
    )
    return outcome


def earlier_outcomes(outcome: EventOutcome) -> QuerySet[EventOutcome]:
    """Other outcomes of the same kind between the same enterprise and provider at the same
    event (what the officer is told when one more is recorded)."""
    return EventOutcome.objects.filter(
        event_id=outcome.event_id,
        enterprise_id=outcome.enterprise_id,
        provider_id=outcome.provider_id,
        kind=outcome.kind,
    ).exclude(pk=outcome.pk)


@transaction.atomic
def event_outcome_delete(*, outcome: EventOutcome, by: Any) -> None:
    locked = _locked(outcome.event)
    check(can_manage_event(by, locked))
    if locked.state not in OUTCOME_STATES:
        raise ValidationError(_("对接会举办后才能修改对接成果"))
    row = outcomes_visible_to(by, locked).filter(pk=outcome.pk).first()
    if row is None:
        # Gone already, or about a firm outside the user's reach: the same answer.
        if EventOutcome.objects.filter(pk=outcome.pk).exists():
            raise Http404
        return
    before = snapshot(row, OUTCOME_FIELDS)
    audit_record(actor=by, action="event.outcome_delete", obj=row, before=before)
    row.delete()
