"""Views of the cluster supply and demand table and of matchmaking events (thin: parse,
call one selector or service, render)."""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yunshu.accounts.models import Role
from yunshu.assessments.templatetags.assessment_tags import level_name
from yunshu.core.errors import check, is_htmx
from yunshu.core.models import Town
from yunshu.enterprises.models import AccessLogEntry
from yunshu.enterprises.selectors import enterprises_visible_to
from yunshu.enterprises.services import access_record
from yunshu.providers.selectors import providers_visible_to

from . import events as ev
from . import supply
from .exports_supply import XLSX, write_event_totals_xlsx, write_heatmap_xlsx, write_offline_xlsx
from .forms_supply import (
    METRIC_LABELS,
    AttendanceForm,
    CellForm,
    EventFilterForm,
    EventForm,
    HeatmapForm,
    InviteForm,
    OutcomeForm,
    RegistrationForm,
)
from .models import MatchmakingEvent

CANDIDATE_LIMIT = 200


def _xlsx(buffer: io.BytesIO, name: str) -> FileResponse:
    buffer.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        buffer, as_attachment=True, filename=f"{name}-{stamp}.xlsx", content_type=XLSX
    )


def _scope(user: Any) -> str:
    org = getattr(user, "organisation", None)
    if org is not None and org.kind == Role.TOWN and org.town is not None:
        return _("%(town)s企业（供给为全市产品目录）") % {"town": org.town.name}
    return _("全市企业")


def _form_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _total(shown: list[Any], qs: Any, limit: int) -> int:
    return len(shown) if len(shown) < limit else int(qs.count())


# --- heat map ---------------------------------------------------------------------------------


@login_required
def supply_heatmap(request: HttpRequest) -> HttpResponse:
    check(supply.can_view_supply(request.user))
    metric = HeatmapForm(request.GET).metric_value()
    heatmap = supply.supply_demand(request.user)
    return render(
        request,
        "matching/supply/heatmap.html",
        {
            "heatmap": heatmap,
            "metric": metric,
            "metrics": [(m, METRIC_LABELS[m]) for m in supply.METRICS],
            "heatmap_chart": heatmap.chart(metric),
            "scope": _scope(request.user),
        },
    )


@login_required
def supply_cell(request: HttpRequest) -> HttpResponse:
    check(supply.can_view_supply(request.user))
    form = CellForm(request.GET)
    if not form.is_valid():
        raise Http404
    cluster, key = form.cleaned_data["cluster"], form.cleaned_data["scene"]
    scene = next((s for s in supply.maturity_scenes() if s.key == key), None)
    if scene is None:
        raise Http404
    products = supply.cell_products(cluster, key)
    enterprises = None
    if supply.can_list_cell_enterprises(request.user)[0]:
        enterprises = supply.cell_enterprises(request.user, cluster, key)
    shown_products = list(products[:100])
    for p in shown_products:
        p.lifts_label = level_name(p.lifts_to)  # type: ignore[attr-defined]
    shown_enterprises = None
    if enterprises is not None:
        en = (get_language() or "").startswith("en")
        shown_enterprises = [
            {
                **e,
                "town": e["town_en"] if en else e["town_zh"],
                "level_label": level_name(e["scene_level"]),
            }
            for e in enterprises[:200]
        ]
    context = {
        "cluster": cluster,
        "scene": scene,
        "products": shown_products,
        "product_count": _total(shown_products, products, 100),
        "enterprises": shown_enterprises,
        "enterprise_count": _total(shown_enterprises or [], enterprises, 200)
        if enterprises is not None
        else 0,
        "target_label": supply.target_label(),
    }
    template = "matching/supply/_cell.html" if is_htmx(request) else "matching/supply/cell.html"
    return render(request, template, context)


@login_required
def supply_export(request: HttpRequest) -> HttpResponseBase:
    check(supply.can_view_supply(request.user))
    buffer = io.BytesIO()
    write_heatmap_xlsx(supply.supply_demand(request.user), buffer, scope=_scope(request.user))
    return _xlsx(buffer, "supply-demand")


# --- events: list and create ------------------------------------------------------------------


def _is_officer(user: Any) -> bool:
    return ev.can_create_event(user)[0]


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    check(ev.can_see_events(request.user))
    form = EventFilterForm(request.GET or None)
    events = ev.events_visible_to(request.user).filter(**form.filters())
    officer = _is_officer(request.user)
    listed = ev.with_counts(events)
    if not officer:
        listed = ev.with_my_invitation(listed, request.user)
    page = Paginator(listed.order_by("-starts_at", "-pk"), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "matching/supply/event_list.html",
        {
            "form": form,
            "page": page,
            "officer": officer,
            "totals": ev.cluster_totals(events) if officer else None,
            "query": query.urlencode(),
        },
    )


@login_required
def event_export(request: HttpRequest) -> HttpResponseBase:
    check(ev.can_create_event(request.user))
    form = EventFilterForm(request.GET or None)
    events = ev.events_visible_to(request.user).filter(**form.filters())
    buffer = io.BytesIO()
    write_event_totals_xlsx(
        ev.cluster_totals(events), ev.with_counts(events).order_by("-starts_at", "-pk"), buffer
    )
    return _xlsx(buffer, "matchmaking-events")


def _event_fields(form: EventForm) -> dict[str, Any]:
    d = form.cleaned_data
    return {
        "cluster": d["cluster"],
        "title": d["title"],
        "description": d.get("description") or "",
        "starts_at": d["starts_at"],
        "venue": d["venue"],
        "town": d.get("town"),
        "capacity": d["capacity"],
    }


@login_required
def event_create(request: HttpRequest) -> HttpResponse:
    check(ev.can_create_event(request.user))
    initial = {}
    if request.GET.get("cluster", "").isdigit():
        initial["cluster"] = int(request.GET["cluster"])
    form = EventForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            event = ev.event_create(by=request.user, **_event_fields(form))
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("对接会已创建，请邀请企业和服务商"))
            return redirect("matching:event_invite", pk=event.pk)
    return render(request, "matching/supply/event_form.html", {"form": form, "event": None})


def _managed(request: HttpRequest, pk: int) -> MatchmakingEvent:
    event = get_object_or_404(ev.events_visible_to(request.user), pk=pk)
    check(ev.can_manage_event(request.user, event))
    return event


@login_required
def event_edit(request: HttpRequest, pk: int) -> HttpResponse:
    event = _managed(request, pk)
    form = EventForm(request.POST or None, user=request.user, initial=EventForm.initial_for(event))
    if request.method == "POST" and form.is_valid():
        try:
            ev.event_update(event=event, by=request.user, **_event_fields(form))
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("matching:event_detail", pk=event.pk)
    return render(request, "matching/supply/event_form.html", {"form": form, "event": event})


# --- events: detail and what happens on it ----------------------------------------------------


def _outcome_form(
    request: HttpRequest,
    event: MatchmakingEvent,
    data: Any = None,
    invitations: list[Any] | None = None,
) -> OutcomeForm:
    if invitations is None:
        invitations = list(ev.invitations_visible_to(request.user, event))
    enterprises = sorted(
        {
            (i.organisation.enterprise.pk, i.organisation.enterprise.name)
            for i in invitations
            if i.organisation.kind == Role.ENTERPRISE and i.organisation.enterprise is not None
        },
        key=lambda x: x[1],
    )
    providers = sorted(
        {
            (p.pk, p.name)
            for i in invitations
            if i.organisation.kind == Role.PROVIDER
            and (p := getattr(i.organisation, "provider", None)) is not None
        },
        key=lambda x: x[1],
    )
    return OutcomeForm(data, enterprises=enterprises, providers=providers)


def _detail(request: HttpRequest, event: MatchmakingEvent, **extra: Any) -> HttpResponse:
    user = request.user
    counted: Any = ev.with_counts(MatchmakingEvent.objects.filter(pk=event.pk)).get()
    manage = ev.can_manage_event(user, event)[0]
    context: dict[str, Any] = {
        "event": event,
        "counts": counted,
        "seats_left": max(0, event.capacity - counted.n_registered),
        "manage": manage,
        "transitions": ev.transitions_for(user, event),
    }
    if manage:
        invitations = list(ev.invitations_visible_to(user, event))
        context |= {
            "invitations": invitations,
            # Invitees of other towns (a city event held in this town): counted, not shown.
            "invitations_hidden": counted.n_invited - len(invitations),
            "outcomes": list(ev.outcomes_visible_to(user, event)),
            "can_invite": event.state in ev.INVITE_STATES,
            "can_attend": event.state in ev.ATTENDANCE_STATES,
            "can_outcome": event.state in ev.OUTCOME_STATES,
            "can_edit": event.state in ev.EDIT_STATES,
            "outcome_form": extra.pop("outcome_form", None)
            or _outcome_form(request, event, invitations=invitations),
        }
    else:
        mine = ev.my_invitation(user, event)
        initial = {}
        if mine is not None and mine.attendee_name:
            initial = {"attendee_name": mine.attendee_name, "attendee_phone": mine.attendee_phone}
        else:
            initial = {
                "attendee_name": getattr(user, "display_name", "") or "",
                "attendee_phone": getattr(user, "phone", "") or "",
            }
        registered = mine is not None and mine.status in ev.TAKEN
        context |= {
            "mine": mine,
            "can_register": event.state == MatchmakingEvent.State.OPEN
            and ev.can_register_event(user, event)[0],
            # With no seat left only those already registered see the form (to change the
            # attendee); everyone else is told it is full.
            "full": context["seats_left"] == 0 and not registered,
            "registration_form": extra.pop("registration_form", None)
            or RegistrationForm(initial=initial),
        }
    context |= extra
    return render(request, "matching/supply/event_detail.html", context)


@login_required
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(ev.events_visible_to(request.user), pk=pk)
    return _detail(request, event)


@login_required
@require_POST
def event_transition(request: HttpRequest, pk: int) -> HttpResponse:
    event = _managed(request, pk)
    try:
        ev.event_transition(event=event, action=request.POST.get("action", ""), by=request.user)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("状态已更新"))
    return redirect("matching:event_detail", pk=pk)


def _candidates(
    request: HttpRequest, event: MatchmakingEvent, selected: frozenset[int] = frozenset()
) -> dict[str, Any]:
    run = supply.newest_run()
    town = request.GET.get("town", "")
    town_id = int(town) if town.isdigit() else None
    scenes = supply.maturity_scenes()
    invited = set(event.invitations.values_list("organisation_id", flat=True))

    def rows(account: bool) -> tuple[list[dict[str, Any]], int]:
        qs = supply.enterprises_with_gaps(
            request.user, event.cluster, run=run, town=town_id, account=account
        )
        listed = list(qs[:CANDIDATE_LIMIT])
        en = (get_language() or "").startswith("en")
        for r in listed:
            r["town"] = r["town_en"] if en else r["town_zh"]
            r["gap_scenes"] = supply.gap_scene_names(r, scenes)
            r["invited"] = r["organisation_id"] in invited
        total = len(listed) if len(listed) < CANDIDATE_LIMIT else qs.count()
        return listed, total

    online, online_total = rows(True)
    offline, offline_total = rows(False)
    unassessed_qs = supply.enterprises_unassessed(request.user, event.cluster, town=town_id)
    unassessed = list(unassessed_qs[:CANDIDATE_LIMIT])
    en = (get_language() or "").startswith("en")
    for r in unassessed:
        r["town"] = r["town_en"] if en else r["town_zh"]
        r["invited"] = r["organisation_id"] in invited
    providers = list(supply.providers_for_cluster(event.cluster, run=run)[:CANDIDATE_LIMIT])
    for p in providers:
        p.invited = p.organisation_id in invited  # type: ignore[attr-defined]
    org = getattr(request.user, "organisation", None)
    return {
        "run": run,
        "online": online,
        "online_total": online_total,
        "offline": offline,
        "offline_total": offline_total,
        "unassessed": unassessed,
        "unassessed_total": _total(unassessed, unassessed_qs, CANDIDATE_LIMIT),
        "providers": providers,
        # What was ticked before an error, so it need not be ticked again.
        "selected": selected,
        "towns": Town.objects.order_by("sort_order")
        if org is None or org.kind != Role.TOWN
        else None,
        "town": town_id,
        "limit": CANDIDATE_LIMIT,
        "target_label": supply.target_label(),
    }


@login_required
def event_invite(request: HttpRequest, pk: int) -> HttpResponse:
    event = _managed(request, pk)
    ids: list[int] = []
    if request.method == "POST":
        ids = [int(i) for i in request.POST.getlist("organisations") if i.isdigit()]
        form = InviteForm(request.POST, choices=ids)
        if form.is_valid():
            try:
                new = ev.event_invite(
                    event=event,
                    organisation_ids=form.cleaned_data["organisations"],
                    by=request.user,
                )
            except ValidationError as exc:
                messages.error(request, "；".join(exc.messages))
            else:
                messages.success(request, _("已邀请 %(n)d 家") % {"n": len(new)})
                return redirect("matching:event_detail", pk=pk)
        else:
            messages.error(request, _("请至少选择一家企业或服务商"))
    context = {"event": event, **_candidates(request, event, frozenset(ids))}
    return render(request, "matching/supply/event_invite.html", context)


@login_required
def event_offline_export(request: HttpRequest, pk: int) -> HttpResponseBase:
    event = _managed(request, pk)
    scenes = supply.maturity_scenes()
    rows = list(supply.enterprises_with_gaps(request.user, event.cluster, account=False))
    buffer = io.BytesIO()
    ids = write_offline_xlsx(event, rows, scenes, buffer)
    access_record(enterprise_ids=ids, by=request.user, what=AccessLogEntry.What.EXPORT)
    return _xlsx(buffer, f"event-{event.pk}-offline")


@login_required
@require_POST
def event_register(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(ev.events_visible_to(request.user), pk=pk)
    form = RegistrationForm(request.POST)
    if form.is_valid():
        try:
            ev.event_register(event=event, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("报名成功"))
            return redirect("matching:event_detail", pk=pk)
    return _detail(request, event, registration_form=form)


@login_required
@require_POST
def event_decline(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(ev.events_visible_to(request.user), pk=pk)
    try:
        ev.event_decline(event=event, by=request.user)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已告知主办方不参加"))
    return redirect("matching:event_detail", pk=pk)


@login_required
@require_POST
def event_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    event = _managed(request, pk)
    form = AttendanceForm(
        request.POST,
        choices=list(ev.invitations_visible_to(request.user, event).values_list("pk", flat=True)),
    )
    if not form.is_valid():
        messages.error(request, _("到场名单有误，请刷新后重试"))
        return redirect("matching:event_detail", pk=pk)
    try:
        ev.event_attendance_mark(
            event=event, attended_ids=form.cleaned_data["attended"], by=request.user
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("到场情况已保存"))
    return redirect("matching:event_detail", pk=pk)


@login_required
@require_POST
def event_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    event = _managed(request, pk)
    form = _outcome_form(request, event, request.POST)
    if form.is_valid():
        d = form.cleaned_data
        enterprises = enterprises_visible_to(request.user)
        enterprise = (
            enterprises.filter(pk=d["enterprise"]).first()
            if d.get("enterprise")
            else enterprises.filter(uscc=d["enterprise_uscc"]).first()
        )
        providers = providers_visible_to(request.user)
        provider = (
            providers.filter(pk=d["provider"]).first()
            if d.get("provider")
            else providers.filter(uscc=d["provider_uscc"]).first()
        )
        if enterprise is None:
            form.add_error("enterprise_uscc", _("找不到该统一社会信用代码对应的企业"))
        if provider is None:
            form.add_error("provider_uscc", _("找不到该统一社会信用代码对应的服务商"))
        if enterprise is not None and provider is not None:
            try:
                outcome = ev.event_outcome_record(
                    event=event,
                    enterprise=enterprise,
                    provider=provider,
                    kind=d["kind"],
                    amount_yuan=d.get("amount_yuan"),
                    note=d.get("note") or "",
                    by=request.user,
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                earlier = ev.earlier_outcomes(outcome).count()
                if earlier:
                    messages.success(
                        request,
                        _(
                            "对接成果已登记。%(e)s 与 %(p)s 在本次对接会已有 %(n)d 条“%(kind)s”"
                            "记录，本条另计一条，合计时一并计入"
                        )
                        % {
                            "e": enterprise.name,
                            "p": provider.name,
                            "n": earlier,
                            "kind": outcome.get_kind_display(),
                        },
                    )
                else:
                    messages.success(request, _("对接成果已登记"))
                return redirect("matching:event_detail", pk=pk)
    return _detail(request, event, outcome_form=form)


@login_required
@require_POST
def event_outcome_delete(request: HttpRequest, pk: int, outcome_pk: int) -> HttpResponse:
    event = _managed(request, pk)
    outcome = get_object_or_404(ev.outcomes_visible_to(request.user, event), pk=outcome_pk)
    try:
        ev.event_outcome_delete(outcome=outcome, by=request.user)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已删除"))
    return redirect("matching:event_detail", pk=pk)
