"""Pages for platform security profiles, incidents, trust, annual reviews and complaints."""

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
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yunshu.accounts.models import Role
from yunshu.core.errors import check, is_htmx

from . import complaints as complaint_svc
from . import permissions_supervision as perms
from . import review as review_svc
from . import supervision as svc
from .exports_supervision import (
    XLSX,
    write_complaints_xlsx,
    write_incidents_xlsx,
    write_reviews_xlsx,
    write_trust_overview_xlsx,
)
from .forms_supervision import (
    ComplaintActionForm,
    ComplaintFilterForm,
    ComplaintForm,
    IncidentFilterForm,
    IncidentForm,
    IncidentResolveForm,
    PlatformForm,
    ReviewDecisionForm,
    products_of,
)
from .models import AnnualReview, Provider
from .selectors import provider_for

PAGE_SIZE = 50


def _role(request: HttpRequest) -> str | None:
    return getattr(request.user, "role", None)


def _require_supervision(request: HttpRequest) -> None:
    check(perms.can_view_supervision(request.user))


def _page(request: HttpRequest, qs: Any) -> tuple[Any, str]:
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()


def _form_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")


# -- supervision overview and trust ------------------------------------------------------------


@login_required
def supervision_overview(request: HttpRequest) -> HttpResponse:
    """The city's list of providers with trust grade, platforms and open incidents."""
    _require_supervision(request)
    if not perms.is_city(request.user):
        mine = provider_for(request.user)
        if mine is None:
            raise Http404
        return redirect("providers:supervision_provider", pk=mine.pk)
    grade, q = _overview_filters(request)
    qs = svc.supervision_overview_filter(
        svc.providers_supervised_by(request.user), grade=grade, q=q
    )
    page, query = _page(request, qs)
    return render(
        request,
        "providers/supervision/overview.html",
        {
            "page": page,
            "query": query,
            "grade": grade,
            "q": q,
            "can_export": perms.can_export_supervision(request.user)[0],
        },
    )


def _overview_filters(request: HttpRequest) -> tuple[str, str]:
    grade = request.GET.get("grade", "")
    return (grade if grade in svc.GRADE_FILTERS else ""), (request.GET.get("q") or "").strip()


@login_required
def supervision_export(request: HttpRequest) -> HttpResponseBase:
    """The overview's rows (all pages of the current filter) as Excel."""
    check(perms.can_export_supervision(request.user))
    grade, q = _overview_filters(request)
    qs = svc.supervision_overview_filter(
        svc.providers_supervised_by(request.user), grade=grade, q=q
    )
    buffer = io.BytesIO()
    write_trust_overview_xlsx(qs, buffer)
    buffer.seek(0)
    return FileResponse(
        buffer, as_attachment=True, filename=f"trust-overview-{_stamp()}.xlsx", content_type=XLSX
    )


@login_required
def supervision_provider(request: HttpRequest, pk: int) -> HttpResponse:
    provider = get_object_or_404(svc.providers_supervised_by(request.user), pk=pk)
    platforms = svc.platforms_visible_to(request.user).filter(provider=provider)
    incidents = svc.incidents_visible_to(request.user).filter(platform__provider=provider)[:20]
    return render(
        request,
        "providers/supervision/provider.html",
        {
            "provider": provider,
            "platforms": platforms,
            "incidents": incidents,
            "can_add": perms.can_create_platform(request.user, provider)[0],
            "open_complaints": complaint_svc.open_complaints_count(provider),
        },
    )


# -- platforms ---------------------------------------------------------------------------------


@login_required
def platform_list(request: HttpRequest) -> HttpResponse:
    _require_supervision(request)
    qs = svc.platforms_visible_to(request.user)
    provider_id = request.GET.get("provider", "")
    if perms.is_city(request.user) and provider_id.isdigit():
        qs = qs.filter(provider_id=int(provider_id))
    page, query = _page(request, qs.order_by("provider__name", "name", "id"))
    mine = provider_for(request.user)
    return render(
        request,
        "providers/supervision/platform_list.html",
        {
            "page": page,
            "query": query,
            "provider": mine,
            "can_add": perms.can_create_platform(request.user, mine)[0],
        },
    )


@login_required
def platform_create(request: HttpRequest) -> HttpResponse:
    mine = provider_for(request.user)
    check(perms.can_create_platform(request.user, mine))
    assert mine is not None
    form = PlatformForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            platform = svc.platform_create(provider=mine, by=request.user, data=form.changes())
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("平台安全档案已保存"))
            return redirect("providers:platform_detail", pk=platform.pk)
    return render(
        request, "providers/supervision/platform_form.html", {"form": form, "platform": None}
    )


@login_required
def platform_detail(request: HttpRequest, pk: int) -> HttpResponse:
    platform = get_object_or_404(svc.platforms_visible_to(request.user), pk=pk)
    incidents = svc.incidents_visible_to(request.user).filter(platform=platform)
    return render(
        request,
        "providers/supervision/platform_detail.html",
        {
            "platform": platform,
            "provider": platform.provider,
            "incidents": incidents[:100],
            "can_edit": perms.can_edit_platform(request.user, platform)[0],
            "can_report": perms.can_report_incident(request.user, platform)[0],
            "can_verify": perms.can_verify_platform(request.user, platform)[0],
        },
    )


@login_required
def platform_edit(request: HttpRequest, pk: int) -> HttpResponse:
    platform = get_object_or_404(svc.platforms_visible_to(request.user), pk=pk)
    check(perms.can_edit_platform(request.user, platform))
    form = PlatformForm(request.POST or None, instance=platform)
    if request.method == "POST" and form.is_valid():
        try:
            svc.platform_update(platform=platform, by=request.user, data=form.changes())
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("平台安全档案已保存"))
            return redirect("providers:platform_detail", pk=platform.pk)
    return render(
        request, "providers/supervision/platform_form.html", {"form": form, "platform": platform}
    )


# -- incidents ---------------------------------------------------------------------------------


@login_required
def incident_create(request: HttpRequest, pk: int) -> HttpResponse:
    platform = get_object_or_404(svc.platforms_visible_to(request.user), pk=pk)
    check(perms.can_report_incident(request.user, platform))
    form = IncidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            incident = svc.incident_report(platform=platform, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("安全事件已登记"))
            return redirect("providers:incident_detail", pk=incident.pk)
    return render(
        request, "providers/supervision/incident_form.html", {"form": form, "platform": platform}
    )


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    _require_supervision(request)
    city = perms.is_city(request.user)
    form = IncidentFilterForm(request.GET or None, city=city)
    qs = svc.incident_filter(svc.incidents_visible_to(request.user), **form.filters())
    page, query = _page(request, qs)
    context = {
        "form": form,
        "page": page,
        "query": query,
        "city": city,
        "can_export": perms.can_export_supervision(request.user)[0],
    }
    template = (
        "providers/supervision/_incident_table.html"
        if is_htmx(request)
        else "providers/supervision/incident_list.html"
    )
    return render(request, template, context)


def _incident_page(
    request: HttpRequest,
    incident: Any,
    *,
    resolve_form: IncidentResolveForm | None = None,
    propose_form: IncidentResolveForm | None = None,
) -> HttpResponse:
    can_resolve, resolve_reason = perms.can_resolve_incident(request.user, incident)
    can_propose = perms.can_propose_incident_resolution(request.user, incident)[0]
    if can_resolve and resolve_form is None:
        resolve_form = IncidentResolveForm(initial={"resolution": incident.proposed_resolution})
    if can_propose and propose_form is None:
        propose_form = IncidentResolveForm(
            initial={"resolution": incident.proposed_resolution}, propose=True
        )
    return render(
        request,
        "providers/supervision/incident_detail.html",
        {
            "incident": incident,
            "form": resolve_form if can_resolve else None,
            "propose_form": propose_form if can_propose else None,
            "resolve_note": "" if can_resolve else resolve_reason,
        },
    )


@login_required
def incident_export(request: HttpRequest) -> HttpResponseBase:
    """The incident list's rows (all pages of the current filter) as Excel."""
    check(perms.can_export_supervision(request.user))
    form = IncidentFilterForm(request.GET or None, city=True)
    qs = svc.incident_filter(svc.incidents_visible_to(request.user), **form.filters())
    buffer = io.BytesIO()
    write_incidents_xlsx(qs, buffer)
    buffer.seek(0)
    return FileResponse(
        buffer, as_attachment=True, filename=f"incidents-{_stamp()}.xlsx", content_type=XLSX
    )


@login_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(svc.incidents_visible_to(request.user), pk=pk)
    return _incident_page(request, incident)


@login_required
@require_POST
def incident_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(svc.incidents_visible_to(request.user), pk=pk)
    form = IncidentResolveForm(request.POST)
    if form.is_valid():
        try:
            svc.incident_resolve(incident=incident, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            if not perms.can_resolve_incident(request.user, incident)[0]:
                messages.error(request, "；".join(exc.messages))
                return redirect("providers:incident_detail", pk=pk)
            _form_errors(form, exc)
        else:
            messages.success(request, _("已登记处置情况"))
            return redirect("providers:incident_detail", pk=pk)
    city = perms.is_city(request.user)
    check((city or perms.can_edit_platform(request.user, incident.platform)[0], ""))
    incident.refresh_from_db()
    return _incident_page(request, incident, resolve_form=form)


@login_required
@require_POST
def incident_propose(request: HttpRequest, pk: int) -> HttpResponse:
    """A provider's account of a city-recorded incident, for the city to confirm."""
    incident = get_object_or_404(svc.incidents_visible_to(request.user), pk=pk)
    form = IncidentResolveForm(request.POST, propose=True)
    if form.is_valid():
        try:
            svc.incident_resolution_propose(
                incident=incident, by=request.user, resolution=form.cleaned_data["resolution"]
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("处置情况已提交，市工信局确认后事件才算处置完毕"))
            return redirect("providers:incident_detail", pk=pk)
    check(perms.can_edit_platform(request.user, incident.platform))
    incident.refresh_from_db()
    return _incident_page(request, incident, propose_form=form)


@login_required
@require_POST
def platform_verify(request: HttpRequest, pk: int) -> HttpResponse:
    platform = get_object_or_404(svc.platforms_visible_to(request.user), pk=pk)
    svc.platform_verify(platform=platform, by=request.user)
    messages.success(request, _("已标记为市工信局核实"))
    return redirect("providers:platform_detail", pk=pk)


# -- annual reviews ----------------------------------------------------------------------------


def _year(request: HttpRequest) -> int:
    this_year = timezone.localdate().year
    raw = request.GET.get("year", "")
    year = int(raw) if raw.isdigit() else this_year
    return year if review_svc.FIRST_YEAR <= year <= this_year else this_year


@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    role = _role(request)
    if role not in (Role.CITY, Role.PROVIDER):
        raise Http404
    year = _year(request)
    city = perms.is_city(request.user)
    qs = review_svc.reviews_visible_to(request.user)
    if city:
        qs = qs.filter(year=year)
    page, query = _page(request, qs.order_by("-year", "provider__name", "id"))
    this_year = timezone.localdate().year
    return render(
        request,
        "providers/supervision/review_list.html",
        {
            "page": page,
            "query": query,
            "year": year,
            "years": list(range(this_year, review_svc.FIRST_YEAR - 1, -1)),
            "city": city,
            "due": review_svc.providers_due_for_review(request.user, year)[:200] if city else [],
        },
    )


@login_required
def review_export(request: HttpRequest) -> HttpResponseBase:
    check(perms.can_review_providers(request.user))
    year = _year(request)
    buffer = io.BytesIO()
    write_reviews_xlsx(review_svc.reviews_visible_to(request.user).filter(year=year), buffer)
    buffer.seek(0)
    return FileResponse(
        buffer,
        as_attachment=True,
        filename=f"annual-reviews-{year}-{_stamp()}.xlsx",
        content_type=XLSX,
    )


@login_required
def review_open(request: HttpRequest, provider_pk: int, year: int) -> HttpResponse:
    """The computed checklist, and the officer's verdict."""
    check(perms.can_review_providers(request.user))
    provider = get_object_or_404(Provider, pk=provider_pk)
    check(perms.can_review_provider(request.user, provider))
    existing = AnnualReview.objects.filter(provider=provider, year=year).first()
    if existing is not None:
        return redirect("providers:review_detail", pk=existing.pk)
    if not (review_svc.FIRST_YEAR <= year <= timezone.localdate().year):
        raise Http404
    form = ReviewDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            review = review_svc.review_decide(
                provider=provider,
                year=year,
                verdict=form.cleaned_data["verdict"],
                conditions=form.cleaned_data["conditions"],
                deadline=form.cleaned_data["deadline"],
                override_reason=form.cleaned_data["override_reason"],
                by=request.user,
            )
        except review_svc.AlreadyReviewed as exc:
            messages.info(request, exc.messages[0])
            return redirect("providers:review_detail", pk=exc.review.pk)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            if review.provider_suspended:
                messages.warning(request, _("复核结论已保存：不通过，已暂停该服务商的入库资格"))
            else:
                messages.success(request, _("复核结论已保存"))
            return redirect("providers:review_detail", pk=review.pk)
    items = review_svc.review_checklist(provider, year)
    return render(
        request,
        "providers/supervision/review_open.html",
        {
            "provider": provider,
            "year": year,
            "rows": review_svc.checklist_rows(items, year),
            "all_passed": all(i.passed for i in items),
            "form": form,
        },
    )


@login_required
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(review_svc.reviews_visible_to(request.user), pk=pk)
    city = perms.is_city(request.user)
    return render(
        request,
        "providers/supervision/review_detail.html",
        {
            "review": review,
            "rows": review_svc.checklist_rows(review.checklist or [], review.year),
            "vetting_url": review_svc.vetting_url(review.provider)
            if city and review.verdict == AnnualReview.Verdict.FAIL
            else "",
            "city": city,
        },
    )


# -- complaints --------------------------------------------------------------------------------

LIST_TITLES: dict[str, Any] = {
    Role.ENTERPRISE: gettext_lazy("我的投诉"),
    Role.PROVIDER: gettext_lazy("收到的投诉"),
    Role.CITY: gettext_lazy("投诉处理"),
}


@login_required
def complaint_list(request: HttpRequest) -> HttpResponse:
    role = _role(request)
    if role not in LIST_TITLES:
        raise Http404
    city = role == Role.CITY
    form = ComplaintFilterForm(request.GET or None, city=city)
    qs = complaint_svc.complaint_filter(
        complaint_svc.complaints_visible_to(request.user), **form.filters()
    )
    page, query = _page(request, qs)
    context = {
        "form": form,
        "page": page,
        "query": query,
        "city": city,
        "role": role,
        "title": LIST_TITLES[role],
        "can_file": perms.can_file_complaint(request.user)[0],
        "can_export": perms.can_export_complaints(request.user)[0],
    }
    template = (
        "providers/supervision/_complaint_table.html"
        if is_htmx(request)
        else "providers/supervision/complaint_list.html"
    )
    return render(request, template, context)


@login_required
def complaint_export(request: HttpRequest) -> HttpResponseBase:
    check(perms.can_export_complaints(request.user))
    form = ComplaintFilterForm(request.GET or None, city=True)
    qs = complaint_svc.complaint_filter(
        complaint_svc.complaints_visible_to(request.user), **form.filters()
    )
    buffer = io.BytesIO()
    write_complaints_xlsx(qs, buffer)
    buffer.seek(0)
    return FileResponse(
        buffer, as_attachment=True, filename=f"complaints-{_stamp()}.xlsx", content_type=XLSX
    )


@login_required
def complaint_create(request: HttpRequest) -> HttpResponse:
    check(perms.can_file_complaint(request.user))
    initial = {}
    if request.GET.get("provider", "").isdigit():
        initial["provider"] = request.GET["provider"]
    if request.GET.get("product", "").isdigit():
        initial["product"] = request.GET["product"]
    form = ComplaintForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            complaint = complaint_svc.complaint_file(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("投诉已提交，服务商会收到通知"))
            return redirect("providers:complaint_detail", pk=complaint.pk)
    return render(request, "providers/supervision/complaint_form.html", {"form": form})


@login_required
def complaint_products(request: HttpRequest) -> HttpResponse:
    """The product options of the chosen provider (htmx swaps them into the form)."""
    check(perms.can_file_complaint(request.user))
    provider_id = request.GET.get("provider", "")
    in_pool = (
        complaint_svc.complaint_providers().filter(pk=provider_id).exists()
        if provider_id.isdigit()
        else False
    )
    products = products_of(provider_id) if in_pool else []
    return render(request, "providers/supervision/_product_options.html", {"products": products})


@login_required
def complaint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = get_object_or_404(complaint_svc.complaints_visible_to(request.user), pk=pk)
    return _complaint_page(request, complaint)


def _complaint_page(
    request: HttpRequest, complaint: Any, form: Any = None, status: int = 200
) -> HttpResponse:
    actions = complaint_svc.complaint_actions(request.user, complaint)
    return render(
        request,
        "providers/supervision/complaint_detail.html",
        {
            "complaint": complaint,
            "actions": [
                {
                    "action": a,
                    "label": s.label,
                    "needs_text": bool(s.text_field),
                    "prompt": s.prompt,
                    "role": s.role,
                }
                for a, s in actions
            ],
            "timeline": complaint_svc.complaint_timeline(request.user, complaint),
            "error_form": form,
        },
        status=status,
    )


@login_required
@require_POST
def complaint_act(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = get_object_or_404(complaint_svc.complaints_visible_to(request.user), pk=pk)
    form = ComplaintActionForm(request.POST)
    if form.is_valid():
        try:
            complaint_svc.complaint_transition(
                complaint=complaint,
                action=form.cleaned_data["action"],
                by=request.user,
                text=form.cleaned_data["text"],
            )
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
            complaint.refresh_from_db()
            return _complaint_page(request, complaint, form=form, status=400)
        messages.success(request, _("已处理"))
    return redirect("providers:complaint_detail", pk=pk)
