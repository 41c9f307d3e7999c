from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yunshu.accounts.models import Role
from yunshu.core.errors import check, is_htmx
from yunshu.core.versions import VersionedPaginator
from yunshu.matching.permissions_recommend import can_view_recommendations

from . import permissions, selectors, services
from .exports import (
    XLSX,
    write_enterprises_xlsx,
)
from .forms import ClaimDecisionForm, EnterpriseEditForm, EnterpriseFilterForm, ImportUploadForm
from .jobs import import_job_create, import_jobs_reap_stale
from .listing import list_rows, list_values
from .models import AccessLogEntry


def _filtered(request: HttpRequest) -> tuple[EnterpriseFilterForm, Any]:
    form = EnterpriseFilterForm(request.GET or None, user=request.user)
    qs = selectors.enterprise_filter(
        selectors.enterprises_visible_to(request.user), **form.filters()
    )
    return form, qs.order_by(*form.ordering())


def _count_key(request: HttpRequest, form: EnterpriseFilterForm) -> str | None:
    """The total depends on the user's reach and the filters (None: not cached)."""
    reach = selectors.reach_key(request.user)
    return None if reach is None else f"enterprises|{reach}|{sorted(form.filters().items())}"


LIST_ROLES = (Role.CITY, Role.TOWN, Role.ENTERPRISE, Role.PROVIDER)


@login_required
def enterprise_list(request: HttpRequest) -> HttpResponse:
    if getattr(request.user, "role", None) not in LIST_ROLES and not request.user.is_superuser:
        raise Http404
    form, qs = _filtered(request)
    paginator = VersionedPaginator(
        list_values(qs), form.page_size(), versions=["enterprises"], key=_count_key(request, form)
    )
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = list_rows(page.object_list)
    services.list_access_record(
        enterprise_ids=[e.pk for e in page], by=request.user, what=AccessLogEntry.What.PROFILE
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows_html": mark_safe("".join(row.html for row in page)),  # each row is escaped
        "query": query.urlencode(),
        "can_export": permissions.can_export_enterprises(request.user)[0],
        "can_import": permissions.can_import_enterprises(request.user)[0],
    }
    template = "enterprises/_list_table.html" if is_htmx(request) else "enterprises/list.html"
    return render(request, template, context)


@login_required
def enterprise_export(request: HttpRequest) -> HttpResponseBase:
    check(permissions.can_export_enterprises(request.user))
    _form, qs = _filtered(request)
    buffer = io.BytesIO()
    ids = write_enterprises_xlsx(qs, buffer)
    services.access_record(enterprise_ids=ids, by=request.user, what=AccessLogEntry.What.EXPORT)
    buffer.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        buffer, as_attachment=True, filename=f"enterprises-{stamp}.xlsx", content_type=XLSX
    )


@login_required
def enterprise_mine(request: HttpRequest) -> HttpResponse:
    org = request.user.organisation  # type: ignore[union-attr]
    if org is None or org.kind != Role.ENTERPRISE:
        raise Http404
    if org.enterprise_id is None:
        return render(
            request, "enterprises/pending_claim.html", {"claim": getattr(org, "claim", None)}
        )
    return redirect("enterprises:detail", pk=org.enterprise_id)


@login_required
def enterprise_detail(request: HttpRequest, pk: int) -> HttpResponse:
    enterprise = get_object_or_404(selectors.enterprises_visible_to(request.user), pk=pk)
    services.access_record(
        enterprise_ids=[enterprise.pk], by=request.user, what=AccessLogEntry.What.PROFILE
    )
    history = None
    if permissions.can_view_enterprise_history(request.user, enterprise)[0]:
        history = selectors.enterprise_history(enterprise)
    access_log = selectors.access_log_for(request.user, enterprise).select_related(None)[:20]
    return render(
        request,
        "enterprises/detail.html",
        {
            "e": enterprise,
            "history": history,
            "access_log": access_log,
            "can_edit": permissions.can_edit_enterprise(request.user, enterprise)[0],
            "can_see_recommendations": getattr(request.user, "role", None) in (Role.CITY, Role.TOWN)
            and can_view_recommendations(request.user, enterprise)[0],
            "can_verify": enterprise.verification == "pending"
            and permissions.can_verify_enterprise(request.user, enterprise)[0],
            "grants": selectors.grants_visible_to(request.user).filter(enterprise=enterprise)[:20]
            if permissions.can_grant_access(request.user, enterprise)[0]
            else None,
        },
    )


@login_required
def enterprise_edit(request: HttpRequest, pk: int) -> HttpResponse:
    enterprise = get_object_or_404(selectors.enterprises_visible_to(request.user), pk=pk)
    check(permissions.can_edit_enterprise(request.user, enterprise))
    form = EnterpriseEditForm(request.POST or None, instance=enterprise)
    if request.method == "POST" and form.is_valid():
        try:
            services.enterprise_update(enterprise=enterprise, by=request.user, data=form.changes())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("enterprises:detail", pk=enterprise.pk)
    return render(request, "enterprises/edit.html", {"form": form, "e": enterprise})


@login_required
@require_POST
def enterprise_verify(request: HttpRequest, pk: int) -> HttpResponse:
    enterprise = get_object_or_404(selectors.enterprises_visible_to(request.user), pk=pk)
    services.enterprise_verify(enterprise=enterprise, by=request.user)
    messages.success(request, _("已核验"))
    return redirect("enterprises:detail", pk=pk)


@login_required
def claim_list(request: HttpRequest) -> HttpResponse:
    role = getattr(request.user, "role", None)
    if role not in (Role.CITY, Role.TOWN):
        raise Http404
    claims = selectors.claims_reviewable_by(request.user)
    return render(
        request,
        "enterprises/claims.html",
        {
            "pending": claims.filter(status="pending"),
            "decided": claims.exclude(status="pending")[:50],
            "unverified": selectors.enterprises_pending_verification(request.user)[:100],
        },
    )


@login_required
@require_POST
def claim_decide(request: HttpRequest, pk: int) -> HttpResponse:
    claim = get_object_or_404(selectors.claims_reviewable_by(request.user), pk=pk)
    form = ClaimDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择通过或驳回"))
        return redirect("enterprises:claims")
    try:
        services.claim_decide(
            claim=claim,
            by=request.user,
            approve=form.cleaned_data["approve"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已处理"))
    return redirect("enterprises:claims")


@login_required
def grant_list(request: HttpRequest) -> HttpResponse:
    role = getattr(request.user, "role", None)
    if role not in (Role.ENTERPRISE, Role.PROVIDER):
        raise Http404
    grants = selectors.grants_visible_to(request.user)
    return render(
        request, "enterprises/grants.html", {"grants": grants[:200], "now": timezone.now()}
    )


@login_required
@require_POST
def grant_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    grant = get_object_or_404(selectors.grants_visible_to(request.user), pk=pk)
    services.grant_revoke(grant=grant, by=request.user)
    messages.success(request, _("授权已撤销"))
    return redirect("enterprises:grants")


@login_required
def import_page(request: HttpRequest) -> HttpResponse:
    check(permissions.can_import_enterprises(request.user))
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = import_job_create(
                by=request.user,
                upload=form.cleaned_data["file"],
                skip_invalid=form.cleaned_data["skip_invalid"],
                dry_run=form.cleaned_data["dry_run"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("enterprises:import_job", pk=job.pk)
    import_jobs_reap_stale()
    jobs = selectors.import_jobs_visible_to(request.user)[:20]
    return render(request, "enterprises/import.html", {"form": form, "jobs": jobs})


@login_required
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    import_jobs_reap_stale()
    job = get_object_or_404(selectors.import_jobs_visible_to(request.user), pk=pk)
    report = job.report or {}
    partial = is_htmx(request)
    template = "enterprises/_import_progress.html" if partial else "enterprises/import_job.html"
    return render(
        request,
        template,
        {
            "job": job,
            "report": report,
            "errors": (report.get("errors") or [])[:500],
            "warnings": (report.get("warnings") or [])[:200],
        },
    )


@login_required
def import_job_rejected(request: HttpRequest, pk: int) -> HttpResponseBase:
    job = get_object_or_404(selectors.import_jobs_visible_to(request.user), pk=pk)
    if not job.rejected_file:
        raise Http404
    path = Path(settings.MEDIA_ROOT) / job.rejected_file
    return FileResponse(
        open(path, "rb"), as_attachment=True, filename=f"rejected-{job.pk}.xlsx", content_type=XLSX
    )
